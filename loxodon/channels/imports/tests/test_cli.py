"""The real `loxodon` console script: exit codes and what the operator sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from loxodon.core.testing import database_url
from loxodon.customers.models import Customer
from loxodon.org.services import create_site

ROWS = [
    ("C-1", "Priya", "Sharma", "priya@example.com"),
    ("C-2", "Daniel", "Okafor", "not-an-email"),
]
HEADER = ("legacy_id", "first_name", "last_name", "email")


def loxodon(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "LOXODON_VAR_DIR": str(cwd / "var"),
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
    }
    return subprocess.run(
        [script, *[str(a) for a in args]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_exit_codes_report_and_progress_of_the_real_command(
    transactional_db: None, centre_file: Callable[..., Path], tmp_path: Path
) -> None:
    create_site(code="lon", name="London", time_zone="Europe/London")
    path = centre_file(ROWS, header=HEADER)

    unknown = loxodon("import_customers", path, "--site", "nowhere", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "no site with code 'nowhere'" in unknown.stderr

    refused = loxodon("import_customers", path, "--site", "lon", cwd=tmp_path)
    assert refused.returncode == 1
    assert "1 invalid rows in centre.csv: nothing was imported" in refused.stderr
    assert "row 3, email: 'not-an-email' is not a valid email address" in refused.stderr
    assert "Checking" in refused.stderr and "2/2 rows" in refused.stderr
    assert path.with_name("centre.errors.csv").read_text().splitlines()[1].startswith("3,C-2,email")
    assert not Customer.objects.exists()

    skipped = loxodon("import_customers", path, "--site", "lon", "--skip-invalid", cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert "created 1, updated 0, unchanged 0, invalid 1" in skipped.stdout
    assert "Importing" in skipped.stderr and "rows/s" in skipped.stderr
    assert "warning: 1 invalid rows were skipped" in skipped.stderr
    assert list(Customer.objects.values_list("name", flat=True)) == ["Priya Sharma"]

    events = centre_file(
        [("C-1", "SHP-1", "shipment", "2025-06-03T09:15:00", "DPD", "collected")],
        name="events.csv",
        header=("legacy_id", "external_id", "kind", "occurred_at", "payload.carrier",
                "payload.status"),
    )  # fmt: skip
    imported = loxodon("import_events", events, "--site", "lon", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "events of lon from events.csv: created 1" in imported.stdout
