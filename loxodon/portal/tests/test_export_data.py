"""Download my data: the zip's content, nothing internal, formula-safe CSV, expiry, own only."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from loxodon.cases.services import complete_task
from loxodon.org.models import Department, User
from loxodon.portal.exports import EXPORTS_PER_HOUR, build_export, write_csv
from loxodon.portal.models import DataExport
from loxodon.portal.tests.export_fixtures import (
    Everything,
    one_of_everything,
    portal_client,
    portal_customer,
)
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, ingest_events, record_event

pytestmark = pytest.mark.django_db

EXPECTED_FILES = {
    "README.txt",
    "profile.json",
    "timeline.json",
    "timeline.csv",
    "cases.json",
    "cases.csv",
    "products.json",
    "products.csv",
    "orders.csv",
    "surveys.csv",
    "my_labels.json",
}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def jo(agent: User, departments: dict[str, Department]) -> Everything:
    return one_of_everything(
        "Jo Bloggs",
        "jo@example.com",
        agent=agent,
        department=departments["parts"],
        marker="JOJO",
    )


@pytest.fixture
def bo(agent: User, departments: dict[str, Department]) -> Everything:
    return one_of_everything(
        "Bo Other", "bo@example.com", agent=agent, department=departments["parts"], marker="BOBO"
    )


def make_and_download(client: Any) -> zipfile.ZipFile:
    made = client.post(reverse("portal:my-data"))
    assert made.status_code == 302, made.content
    export = DataExport.objects.order_by("-created_at").first()
    assert export is not None
    response = client.get(reverse("portal:my-data-download", args=[export.pk]))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def read_csv(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = zf.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_page_explains_and_lists_my_downloads_with_their_expiry(jo: Everything) -> None:
    client = portal_client(jo.login)
    page = client.get(reverse("portal:my-data"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "What is included" in html and "Prepare my download" in html
    assert reverse("portal:my-data-download", args=[jo.export.pk]) in html
    assert f"available until {timezone.localtime(jo.export.expires_at):%-d %B %Y}" in html
    assert page["Cache-Control"] == "private, no-store"
    # a form page: no-referrer would make browsers post with Origin: null (CSRF refused)
    assert page["Referrer-Policy"] == "same-origin"


def test_signed_out_visitors_go_to_sign_in(jo: Everything) -> None:
    from django.test import Client

    response = Client().get(reverse("portal:my-data"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:sign-in"))
    download = Client().get(reverse("portal:my-data-download", args=[jo.export.pk]))
    assert download.status_code == 302


def test_the_zip_holds_everything_i_may_see_and_nothing_internal(
    jo: Everything, bo: Everything, agent: User
) -> None:
    complete_task(task=jo.task, note="SECRET completion note for staff", actor=agent)
    record_event(
        customer_id=jo.customer.pk,
        kind="message",
        channel="email",
        summary='=HYPERLINK("http://evil")',
        body="+cmd|' /C calc'!A0",
    )
    client = portal_client(jo.login)
    zf = make_and_download(client)
    assert set(zf.namelist()) == EXPECTED_FILES
    everything = b"".join(zf.read(n) for n in zf.namelist()).decode("utf-8")

    # never internal: staff notes, internal kinds, completion notes, identity sources, others
    assert "STAFF ONLY" not in everything
    assert "SECRET completion note" not in everything
    assert "BOBO" not in everything and "bo@example.com" not in everything
    timeline = json.loads(zf.read("timeline.json"))
    kinds = {row["kind"] for row in timeline}
    assert "note" not in kinds and "customer_created" not in kinds
    assert {"message", "order", "web_visit", "case_opened", "task_added"} <= kinds
    assert all(not Event.objects.get(pk=row["id"]).internal for row in timeline)
    assert len(read_csv(zf, "timeline.csv")) == len(timeline)

    profile = json.loads(zf.read("profile.json"))
    assert profile["name"] == "Jo Bloggs"
    assert {"kind": "Email", "value": "jo@example.com", "verified": True} in profile[
        "contact_details"
    ]
    assert "source" not in json.dumps(profile)
    assert profile["portal_sign_in"] == {"email": "jo@example.com", "password_set": False}

    [case] = json.loads(zf.read("cases.json"))
    assert case["id"] == str(jo.case.pk)
    assert case["progress"] == [
        f"Parts: JOJO battery — done on {timezone.localtime(timezone.now()):%-d %B %Y}"
    ]
    # the last task done proposes the resolution
    assert case["status"] == "We think it's fixed — please confirm"
    [case_row] = read_csv(zf, "cases.csv")
    assert case_row["progress"].startswith("Parts: JOJO battery — done on")

    [product] = json.loads(zf.read("products.json"))
    assert product["nickname"] == "JOJO old one"
    assert product["warranty"] == "Under warranty until 10 January 2027"
    assert read_csv(zf, "products.csv")[0]["serial"] == "SN-JOJO"
    [order] = read_csv(zf, "orders.csv")
    assert order["reference"] == "JOJO-1"
    [survey] = read_csv(zf, "surveys.csv")
    assert survey["about"] == "Sales" and survey["answered_at"] == ""
    mine = json.loads(zf.read("my_labels.json"))
    assert mine["pinned_cases"] == [str(jo.case.pk)]
    assert mine["labels"] == [{"on": "case", "id": str(jo.case.pk), "label": "mine"}]
    assert "apostrophe" in zf.read("README.txt").decode()

    # formula injection: the cells start with a quote, the JSON keeps the customer's text
    rows = read_csv(zf, "timeline.csv")
    [evil] = [r for r in rows if r["summary"].startswith("'=")]
    assert evil["summary"] == '\'=HYPERLINK("http://evil")'
    assert evil["text"] == "'+cmd|' /C calc'!A0"
    assert any(r["summary"] == '=HYPERLINK("http://evil")' for r in timeline)


def test_csv_writer_escapes_every_formula_start() -> None:
    out = io.StringIO()
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "", None, 5]
    write_csv(out, ["c"] * len(cells), [cells])
    [_, row] = list(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "", "", "5"]


def test_download_is_an_attachment_with_its_recorded_hash(jo: Everything) -> None:
    client = portal_client(jo.login)
    response = client.get(reverse("portal:my-data-download", args=[jo.export.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert hashlib.sha256(body).hexdigest() == jo.export.sha256
    assert len(body) == jo.export.size
    # stored under a random name, not the customer's
    assert "jo" not in jo.export.storage_name.lower()
    assert default_storage.exists(jo.export.storage_name)
    jo.export.refresh_from_db()
    assert jo.export.downloaded_at is not None


def test_an_expired_download_is_gone(jo: Everything) -> None:
    DataExport.objects.filter(pk=jo.export.pk).update(expires_at=timezone.now() - timedelta(1))
    client = portal_client(jo.login)
    response = client.get(reverse("portal:my-data-download", args=[jo.export.pk]))
    assert response.status_code == 410
    assert "This download has expired" in response.content.decode()
    page = client.get(reverse("portal:my-data")).content.decode()
    assert "Expired" in page
    assert reverse("portal:my-data-download", args=[jo.export.pk]) not in page


def test_the_export_expires_in_24_hours(jo: Everything) -> None:
    age = jo.export.expires_at - jo.export.created_at
    assert timedelta(hours=23, minutes=59) < age <= timedelta(hours=24)


def test_another_customers_download_is_a_logged_404_like_no_download(
    jo: Everything, bo: Everything, caplog: pytest.LogCaptureFixture
) -> None:
    client = portal_client(jo.login)
    with caplog.at_level(logging.WARNING, logger="loxodon.portal.access"):
        theirs = client.get(reverse("portal:my-data-download", args=[bo.export.pk]))
        missing = client.get(
            reverse("portal:my-data-download", args=["0190f5a2-0000-7000-8000-000000000000"])
        )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert str(bo.export.pk) in caplog.text
    assert "BOBO" not in theirs.content.decode()
    assert str(bo.export.pk) not in client.get(reverse("portal:my-data")).content.decode()


def test_making_exports_is_bounded_per_hour(jo: Everything) -> None:
    for _ in range(EXPORTS_PER_HOUR - 1):
        build_export(jo.customer)
    client = portal_client(jo.login)
    response = client.post(reverse("portal:my-data"))
    assert response.status_code == 429
    assert "in the last hour" in response.content.decode()
    assert DataExport.objects.filter(customer=jo.customer).count() == EXPORTS_PER_HOUR


def test_a_failed_record_leaves_no_file(
    jo: Everything, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = set(p.name for p in (media / "portal-exports").iterdir())

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(DataExport.objects, "create", boom)
    with pytest.raises(RuntimeError):
        build_export(jo.customer)
    assert set(p.name for p in (media / "portal-exports").iterdir()) == before


def test_thousands_of_events_stream_into_one_zip(agent: User) -> None:
    customer, _login = portal_customer("Many Events", "many@example.com")
    now = timezone.now()
    drafts = [
        EventDraft(
            source="test",
            external_id=f"e-{n}",
            channel="web",
            kind="web_visit",
            occurred_at=now - timedelta(minutes=n),
            summary=f"Visit {n}",
            customer_id=customer.pk,
        )
        for n in range(5000)
    ]
    for start in range(0, len(drafts), 1000):
        ingest_events(drafts[start : start + 1000], indexed=False)
    started = time.perf_counter()
    export = build_export(customer)
    seconds = time.perf_counter() - started
    with default_storage.open(export.storage_name, "rb") as handle:
        zf = zipfile.ZipFile(handle)
        timeline = json.loads(zf.read("timeline.json"))
        assert len(timeline) >= 5000
        assert len(read_csv(zf, "timeline.csv")) == len(timeline)
    print(f"5,000 events: export {export.size} bytes in {seconds:.2f} s")
    assert seconds < 30
