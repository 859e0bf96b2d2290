"""Issue 10, item 20: erasing a customer (right to be forgotten) leaves no personal value of
theirs in any table or file, keeps every figure, and cannot be undone by signing in, resolving
by their old address or restoring an older backup (the ledger; see core/tests/test_backup_restore).

Given Wilhelmina with data in every place (erasure_fixtures), when an admin erases her through
the API, then every text column of every table (raw SQL, FTS shadow tables included) and every
file under the media and spool folders is searched for each of her values: none is found.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count

from loxodon.cases.models import Case
from loxodon.core.errors import PermissionDenied
from loxodon.core.testing import Api
from loxodon.customers import erasure
from loxodon.customers.models import Customer, Erasure, Identity
from loxodon.customers.resolution import ResolutionQuery, resolve
from loxodon.customers.tests.erasure_fixtures import (
    ABSORBED_EMAIL,
    BYSTANDER_EMAIL,
    BYSTANDER_NAME,
    BYSTANDER_SENTENCE,
    EMAIL,
    PASSWORD,
    PERSONAL_VALUES,
    PHONE_E164,
    Subject,
    build_subject,
)
from loxodon.insights import figures
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.exceptions_fixtures import admin_user, returns_policy
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token
from loxodon.portal.auth import login_for_email, sign_in_with_password
from loxodon.portal.tests.export_fixtures import portal_client
from loxodon.timeline.models import Event

__all__ = ["admin_user", "returns_policy"]

pytestmark = pytest.mark.django_db
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def isolated_files(settings: Any, tmp_path: Path) -> Any:
    settings.LOXODON_MAIL_SPOOL = str(tmp_path / "spool")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LOXODON_ERASURE_LEDGER = str(tmp_path / "erasures.jsonl")
    settings.LOXODON_SUPPORT_EMAIL = "support@loxodon.test"
    settings.PASSWORD_HASHERS = FAST_HASHER
    settings.LOXODON_PORTAL_MAIL_IN_BACKGROUND = False
    return settings


@pytest.fixture
def subject(
    agent: User,
    supervisor: User,
    departments: dict[str, Department],
    site: Site,
    returns_policy: Article,
) -> Subject:
    return build_subject(
        agent=agent,
        supervisor=supervisor,
        department=departments["parts"],
        site=site,
        policy=returns_policy,
    )


@pytest.fixture
def admin_api(admin_user: User) -> Api:
    return Api(create_api_token(username=admin_user.username))


# --- looking everywhere --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def found_in_database(values: tuple[str, ...]) -> list[str]:
    """Every (table, column, value) where one of `values` occurs, over every table (raw SQL)."""
    wanted = [v.lower() for v in values]
    hits = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor, include_views=False)
        if connection.vendor == "sqlite":  # FTS shadow tables are real tables; also list virtual
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = sorted({*tables, *(r[0] for r in cursor.fetchall())})
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, cell in zip(columns, row, strict=True):
                    if cell is None:
                        continue
                    low = _text(cell).lower()
                    hits += [f"{table}.{column}: {v!r}" for v in wanted if v in low]
    return hits


def found_in_files(roots: list[Path], values: tuple[str, ...]) -> list[str]:
    wanted = [v.lower().encode() for v in values]
    hits = []
    for root in roots:
        for path in root.rglob("*") if root.exists() else []:
            if path.is_file():
                low = path.read_bytes().lower()
                hits += [f"{path}: {v!r}" for v in wanted if v in low]
    return hits


def statistics(supervisor: User) -> dict[str, Any]:
    """The insights figures without the case titles (the customer's words), plus counts."""
    board = figures.dashboard(supervisor, figures.filters_from({}))
    cases = [dataclasses.replace(c, title="") for c in board.cases]
    by_channel = Counter(
        {
            (r["channel"], r["kind"]): r["n"]
            for r in Event.objects.values("channel", "kind").annotate(n=Count("id"))
        }
    )
    return {
        "cases": cases,
        "total": board.total,
        "by_week": board.by_week,
        "by_site": board.by_site,
        "by_department": board.by_department,
        "csat": board.csat,
        "rings": board.rings,
        "events": by_channel,
        "case_statuses": sorted(Case.objects.values_list("id", "status", "priority")),
    }


# --- the item -------------------------------------------------------------------------------------


def test_erased_customer_leaves_no_personal_value_in_any_table_or_file(
    subject: Subject,
    admin_api: Api,
    supervisor: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    roots = [Path(settings.MEDIA_ROOT), Path(settings.LOXODON_MAIL_SPOOL)]
    # Given: her values are really there, in the database and in files (the search works).
    before = found_in_database(PERSONAL_VALUES)
    assert len(before) > 60, before
    tables_before = {hit.split(".")[0] for hit in before}
    assert len(tables_before) >= 20, sorted(tables_before)
    assert found_in_files(roots, PERSONAL_VALUES)
    for name in subject.storage_files + subject.spool_names:
        assert name
    figures_before = statistics(supervisor)
    portal = portal_client(subject.login)
    assert portal.get("/portal/").status_code == 200

    # When an admin erases her.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(
            f"/customers/{subject.customer.pk}/erase", {"reason": "GDPR request REQ-2026-114"}
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["covers"] == [str(subject.absorbed.pk)]

    # Then no value of hers is left in any table, column or file.
    assert found_in_database(PERSONAL_VALUES) == []
    assert found_in_files(roots, PERSONAL_VALUES) == []
    spool = Path(settings.LOXODON_MAIL_SPOOL)
    assert not any(p.name in subject.spool_names for p in spool.rglob("*"))
    from django.core.files.storage import default_storage

    assert not any(default_storage.exists(name) for name in subject.storage_files)

    # Her figures are unchanged: effort, resolution times, CSAT, contacts per channel.
    assert statistics(supervisor) == figures_before

    # The bystander is untouched.
    bystander = Customer.objects.get(pk=subject.bystander.pk)
    assert bystander.name == BYSTANDER_NAME
    assert Case.objects.get(pk=subject.bystander_case.pk).problem == BYSTANDER_SENTENCE
    assert Event.objects.filter(customer=bystander, body=BYSTANDER_SENTENCE).exists()
    assert Identity.objects.filter(customer=bystander, value=BYSTANDER_EMAIL).exists()

    # She is a pseudonym; nothing resolves to her; her portal is closed.
    erased = Customer.objects.get(pk=subject.customer.pk)
    assert erased.name == f"Erased customer {erased.pk.hex[:8]}"
    for query in (
        ResolutionQuery(email=EMAIL),
        ResolutionQuery(email=ABSORBED_EMAIL),
        ResolutionQuery(phone=PHONE_E164),
    ):
        found = resolve(query)
        assert found.customer_id is None and found.candidates == [], found
    assert login_for_email(EMAIL) is None
    with pytest.raises(Exception):  # noqa: B017 - whichever refusal, not a login
        sign_in_with_password(EMAIL, PASSWORD)
    assert portal.get("/portal/").status_code == 302

    # The erasure is recorded without personal data, here and in the ledger.
    record = Erasure.objects.get(erased_customer_id=subject.customer.pk)
    assert record.files_deleted >= len(subject.storage_files) + len(subject.spool_names)
    assert record.rows["timeline.Event"] >= 8
    ledger = erasure.read_ledger()
    assert [e["customer_id"] for e in ledger] == [str(subject.customer.pk)]
    ledger_text = Path(settings.LOXODON_ERASURE_LEDGER).read_text().lower()
    assert not [v for v in PERSONAL_VALUES if v.lower() in ledger_text]


def test_erasing_twice_changes_nothing(
    subject: Subject, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = erasure.erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="R1")
    snapshot = found_in_database(("erased",))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = erasure.erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="R2")
    assert again.pk == first.pk and again.reason == "R1"
    assert callbacks == []
    assert found_in_database(("erased",)) == snapshot
    assert Erasure.objects.count() == 1
    assert len(erasure.read_ledger()) == 1


def test_only_admins_erase_and_refusals_say_why(
    subject: Subject, api: Api, admin_api: Api, supervisor: User
) -> None:
    url = f"/customers/{subject.customer.pk}/erase"
    agent_try = api.post(url, {"reason": "please"})
    assert agent_try.status_code == 403, agent_try.content
    with pytest.raises(PermissionDenied):
        erasure.erase_customer(customer_id=subject.customer.pk, by=supervisor, reason="x")
    unknown = admin_api.post(
        "/customers/00000000-0000-4000-8000-000000000000/erase", {"reason": "x"}
    )
    assert unknown.status_code == 404
    absorbed = admin_api.post(f"/customers/{subject.absorbed.pk}/erase", {"reason": "x"})
    assert absorbed.status_code == 409
    assert str(subject.customer.pk) in absorbed.json()["detail"]
    empty = admin_api.post(url, {"reason": "  "})
    assert empty.status_code == 400 and "reason" in empty.json()["detail"]
    personal = admin_api.post(url, {"reason": "Wilhelmina asked by phone"})
    assert personal.status_code == 400 and "personal data" in personal.json()["detail"]
    assert not Erasure.objects.exists()
    assert Customer.objects.get(pk=subject.customer.pk).street  # nothing was changed


def test_a_reference_to_customer_without_a_rule_stops_erasure(
    subject: Subject, admin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(erasure.RULES, "channels_chat.Chat")
    with pytest.raises(RuntimeError, match=r"channels_chat\.Chat\.customer"):
        erasure.erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="R1")
    assert not Erasure.objects.exists()
    monkeypatch.undo()
    monkeypatch.setitem(erasure.KEPT, "timeline.Asset", frozenset({"product"}))
    with pytest.raises(RuntimeError, match=r"timeline\.Asset\.os"):
        erasure.erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="R1")


def test_erase_customer_command(
    subject: Subject, admin_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError, match="reason"):
        call_command("erase_customer", str(subject.customer.pk), "--by", "ada", stdout=out)
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "erase_customer", str(subject.customer.pk), "--by", "ada", "--reason", "REQ-7",
            stdout=out,
        )  # fmt: skip
    assert "Erased customer" in out.getvalue()
    assert json.loads(Path(erasure.ledger_path()).read_text().splitlines()[0])["customer_id"] == (
        str(subject.customer.pk)
    )
    assert found_in_database(PERSONAL_VALUES) == []


def test_admin_erases_from_the_customer_page_after_typing_the_name(
    subject: Subject, admin_user: User, agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    from loxodon.core.testing import signed_in

    page = f"/desk/customers/{subject.customer.pk}/"
    action = f"/desk/customers/{subject.customer.pk}/erase"
    admin, staff = signed_in(admin_user), signed_in(agent)
    assert b'id="erase-customer"' in admin.get(page).content
    assert b'id="erase-customer"' not in staff.get(page).content
    assert (
        staff.post(action, {"reason": "R", "confirm_name": subject.customer.name}).status_code
        == 403
    )

    wrong = admin.post(action, {"reason": "REQ-9", "confirm_name": "Someone Else"}, follow=True)
    assert b"does not match" in wrong.content
    assert not Erasure.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            action, {"reason": "REQ-9", "confirm_name": f"  {subject.customer.name.upper()} "},
            follow=True,
        )  # fmt: skip
    assert done.status_code == 200 and b"Customer erased" in done.content
    assert Erasure.objects.get().erased_by == admin_user
    assert found_in_database(PERSONAL_VALUES) == []


def test_a_merge_of_erased_customers_cannot_be_undone(
    subject: Subject, admin_user: User, supervisor: User
) -> None:
    from loxodon.core.errors import Conflict
    from loxodon.customers.models import Merge
    from loxodon.customers.services import unmerge

    erasure.erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="REQ-10")
    merge = Merge.objects.get(survivor=subject.customer)
    with pytest.raises(Conflict, match="erased"):
        unmerge(merge=merge, by=supervisor, reason="was wrong")
    assert Customer.objects.get(pk=subject.absorbed.pk).merged_into_id == subject.customer.pk
