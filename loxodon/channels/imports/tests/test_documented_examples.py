"""The example files in docs/examples/imports/ import as docs/integrations/imports.md says."""

from __future__ import annotations

from pathlib import Path

import pytest

from loxodon.channels.imports.tests.files import run
from loxodon.customers.models import Identity
from loxodon.org.services import create_site
from loxodon.timeline.models import Event

EXAMPLES = Path(__file__).resolve().parents[4] / "docs" / "examples" / "imports"


@pytest.mark.django_db
def test_the_documented_example_files_import_cleanly() -> None:
    create_site(code="lon", name="London", time_zone="Europe/London")
    create_site(code="ham", name="Hamburg", time_zone="Europe/Berlin", country="DE")

    london, _ = run("import_customers", EXAMPLES / "centre-customers.csv", "--site", "lon")
    hamburg, _ = run(
        "import_customers", EXAMPLES / "hamburg-customers.csv", "--site", "ham",
        "--mapping", EXAMPLES / "hamburg-mapping.toml",
    )  # fmt: skip
    shipments, _ = run("import_events", EXAMPLES / "centre-shipments.csv", "--site", "lon")

    assert "created 4, updated 0, unchanged 0, invalid 0" in london
    assert "created 2, updated 0, unchanged 0, invalid 0" in hamburg
    assert "created 3, updated 0, unchanged 0, invalid 0" in shipments
    jurgen = Identity.objects.get(kind="legacy", value="ham:H-17").customer
    assert jurgen.name == "Jürgen Müller"
    assert set(jurgen.identities.values_list("kind", "value")) == {
        ("legacy", "ham:H-17"),
        ("email", "juergen.mueller@example.de"),
        ("phone", "+49401234567"),
        ("account_number", "KD4711"),
    }
    assert Event.objects.filter(source="import:lon", kind="shipment").count() == 3
