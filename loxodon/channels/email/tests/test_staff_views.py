"""Failed mail for supervisors (desk and API), reprocessing, downloads that are never rendered,
and the email event on the customer's timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loxodon.cases.models import Case
from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.channels.email.tests.conftest import JO, deliver, event_of
from loxodon.channels.email.tests.helpers import render
from loxodon.channels.email.views import safe_filename
from loxodon.core.testing import Api
from loxodon.org.models import User


def _failed(jo_case: Case) -> InboundMail:
    inbound = deliver(
        render("13_no_from_no_envelope.eml", case_id=jo_case.pk, customer_email=JO),
        mail_from="",
    )
    assert inbound.status == InboundStatus.FAILED
    return inbound


def _fixable_failure(settings: Any, tmp_path: Path, jo_case: Case) -> InboundMail:
    """A message that fails because attachments cannot be stored (the disk is broken)."""
    blocker = tmp_path / "broken-disk"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker / "media")
    inbound = deliver(render("16_nested_multipart.eml", case_id=jo_case.pk, customer_email=JO))
    assert inbound.status == InboundStatus.FAILED
    settings.MEDIA_ROOT = str(tmp_path / "media")  # repaired
    return inbound


# --- the failed-mail list ---------------------------------------------------------------------


def test_failed_mail_list_is_for_supervisors(
    jo_case: Case, supervisor_desk: Client, agent_desk: Client
) -> None:
    inbound = _failed(jo_case)
    anonymous = Client().get("/desk/mail/")
    assert anonymous.status_code == 302 and "/desk/login/" in anonymous["Location"]
    assert agent_desk.get("/desk/mail/").status_code == 403

    page = supervisor_desk.get("/desk/mail/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nobody sent this" in html
    assert "no sender address" in html
    assert f"/desk/mail/{inbound.pk}/raw/" in html
    assert f'action="/desk/mail/{inbound.pk}/reprocess/"' in html
    assert "csrfmiddlewaretoken" in html


def test_empty_states(supervisor_desk: Client) -> None:
    assert "No failed mail" in supervisor_desk.get("/desk/mail/").content.decode()
    assert "No ignored mail" in supervisor_desk.get("/desk/mail/?status=ignored").content.decode()


def test_ignored_mail_is_listed_separately(jo_case: Case, supervisor_desk: Client) -> None:
    deliver(render("34_dsn_bounce_unknown.eml", case_id=jo_case.pk, customer_email=JO))
    assert "No failed mail" in supervisor_desk.get("/desk/mail/").content.decode()
    ignored = supervisor_desk.get("/desk/mail/?status=ignored").content.decode()
    assert "Delivery Status Notification" in ignored


def test_raw_message_download(jo_case: Case, supervisor_desk: Client, agent_desk: Client) -> None:
    inbound = _failed(jo_case)
    response = supervisor_desk.get(f"/desk/mail/{inbound.pk}/raw/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"Subject: Nobody sent this" in response.getvalue()
    assert agent_desk.get(f"/desk/mail/{inbound.pk}/raw/").status_code == 403
    assert Client().get(f"/desk/mail/{inbound.pk}/raw/").status_code == 302


def test_reprocess_through_the_desk(
    jo_case: Case, settings: Any, tmp_path: Path, supervisor_desk: Client, agent_desk: Client
) -> None:
    inbound = _fixable_failure(settings, tmp_path, jo_case)
    assert "NotADirectoryError" in inbound.error or "FileExistsError" in inbound.error
    assert agent_desk.post(f"/desk/mail/{inbound.pk}/reprocess/").status_code == 403
    assert supervisor_desk.get(f"/desk/mail/{inbound.pk}/reprocess/").status_code == 405

    response = supervisor_desk.post(f"/desk/mail/{inbound.pk}/reprocess/", follow=True)
    assert response.status_code == 200
    assert "Reprocessed" in response.content.decode()
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.flags["reprocessed_by"] == "sue"
    assert event_of(inbound).case_id is None


def test_reprocess_needs_csrf(jo_case: Case, supervisor: User) -> None:
    inbound = _failed(jo_case)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor)
    assert browser.post(f"/desk/mail/{inbound.pk}/reprocess/").status_code == 403


# --- the API ----------------------------------------------------------------------------------


def test_failed_mail_api(jo_case: Case, supervisor_api: Api, api: Api, anonymous: Api) -> None:
    inbound = _failed(jo_case)
    assert anonymous.get("/channels/email/failed").status_code == 401
    assert api.get("/channels/email/failed").status_code == 403
    body = supervisor_api.get("/channels/email/failed").json()
    (item,) = body["items"]
    assert item["id"] == str(inbound.pk)
    assert item["status"] == "failed"
    assert "no sender address" in item["error"]
    assert item["raw_url"] == f"/desk/mail/{inbound.pk}/raw/"
    assert body["next_cursor"] is None
    bad = supervisor_api.get("/channels/email/failed", status="processed")
    assert bad.status_code == 400 and "status must be one of" in bad.json()["detail"]


def test_failed_mail_api_pages(jo_case: Case, supervisor_api: Api, settings: Any) -> None:
    for n in range(3):
        deliver(f"Subject: broken {n}\n\nno sender\n".encode(), mail_from="")
    first = supervisor_api.get("/channels/email/failed").json()
    assert len(first["items"]) == 3
    assert first["next_cursor"] is None
    assert supervisor_api.get("/channels/email/failed", cursor="nonsense").status_code == 400


def test_reprocess_api(
    jo_case: Case, settings: Any, tmp_path: Path, supervisor_api: Api, api: Api
) -> None:
    inbound = _fixable_failure(settings, tmp_path, jo_case)
    url = f"/channels/email/failed/{inbound.pk}/reprocess"
    assert api.post(url).status_code == 403
    response = supervisor_api.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processed"
    assert response.json()["event_id"]
    again = supervisor_api.post(url)
    assert again.status_code == 409
    assert "only failed, ignored or quarantined mail" in again.json()["detail"]
    unknown = supervisor_api.post(
        "/channels/email/failed/00000000-0000-0000-0000-000000000000/reprocess"
    )
    assert unknown.status_code == 404


def test_a_failure_that_persists_stays_failed(jo_case: Case, supervisor_api: Api) -> None:
    inbound = _failed(jo_case)
    response = supervisor_api.post(f"/channels/email/failed/{inbound.pk}/reprocess")
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert response.json()["attempts"] == 2


# --- attachments and the formatted message -----------------------------------------------------


def _attachment_ids(jo_case: Case, name: str) -> tuple[InboundMail, list[dict[str, Any]]]:
    inbound = deliver(render(name, case_id=jo_case.pk, customer_email=JO))
    event = event_of(inbound)
    return inbound, event.payload["attachments"]


def test_attachment_download_headers(jo_case: Case, agent_desk: Client) -> None:
    _, files = _attachment_ids(jo_case, "16_nested_multipart.eml")
    pdf = next(f for f in files if f["filename"] == "invoice-7781.pdf")
    response = agent_desk.get(f"/desk/mail/attachments/{pdf['id']}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-7781.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.getvalue() == b"%PDF-1.4 fake invoice 7781"


def test_attachment_names_are_made_safe(jo_case: Case, agent_desk: Client) -> None:
    _, (scan,) = _attachment_ids(jo_case, "39_only_attachment.eml")
    assert scan["filename"] == "scan 0001.pdf"  # "../../etc/" was dropped when reading
    response = agent_desk.get(f"/desk/mail/attachments/{scan['id']}/")
    assert response["Content-Disposition"] == 'attachment; filename="scan 0001.pdf"'
    assert safe_filename('a"b\r\nc;.html') == "a_b__c_.html"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("") == "attachment"


def test_attachments_are_not_for_anonymous_or_non_staff(jo_case: Case) -> None:
    _, files = _attachment_ids(jo_case, "17_winmail_dat.eml")
    url = f"/desk/mail/attachments/{files[0]['id']}/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/desk/login/" in anonymous["Location"]
    outsider = User.objects.create(username="visitor", role="")  # not a member of staff
    client = Client()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get("/desk/mail/attachments/not-a-uuid/").status_code == 404


def test_attachments_of_unattributed_mail_are_for_supervisors(
    jo_case: Case, agent_desk: Client, supervisor_desk: Client
) -> None:
    inbound, files = _attachment_ids(jo_case, "16_nested_multipart.eml")
    InboundMail.objects.filter(pk=inbound.pk).update(customer=None)
    url = f"/desk/mail/attachments/{files[0]['id']}/"
    assert agent_desk.get(url).status_code == 404
    assert supervisor_desk.get(url).status_code == 200


def test_formatted_message_is_sanitised_and_locked_down(jo_case: Case, agent_desk: Client) -> None:
    inbound = deliver(render("37_dangerous_html.eml", case_id=jo_case.pk, customer_email=JO))
    response = agent_desk.get(f"/desk/mail/events/{inbound.event_id}/", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "click me" in html
    assert 'href="https://example.net/help"' in html and "noopener" in html
    for bad in ("document.cookie", "onerror", "javascript:", "expression(", "<iframe", "onload"):
        assert bad not in html
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)" in html  # the subject, escaped


# --- the timeline ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["21_gmail_reply.eml", "37_dangerous_html.eml"])
def test_email_on_the_customer_page(name: str, jo_case: Case, agent_desk: Client) -> None:
    inbound = deliver(render(name, case_id=jo_case.pk, customer_email=JO))
    page = agent_desk.get(f"/desk/customers/{inbound.customer_id}/").content.decode()
    event = event_of(inbound)
    if name.startswith("21"):
        assert "It arrived today, thank you!" in page
        assert "Show quoted text" in page
        assert "&gt; We are checking with the carrier." in page
    else:
        assert "<script>alert" not in page
        assert "Email: &lt;script&gt;" in page
        assert f"/desk/mail/events/{event.pk}/" in page


def test_attachments_and_warnings_on_the_timeline(jo_case: Case, agent_desk: Client) -> None:
    inbound, files = _attachment_ids(jo_case, "17_winmail_dat.eml")
    page = agent_desk.get(f"/desk/customers/{inbound.customer_id}/").content.decode()
    for f in files:
        assert f"/desk/mail/attachments/{f['id']}/" in page
    assert "report.docx" in page and "from winmail.dat" in page

    mismatch = deliver(render("27_token_other_sender.eml", case_id=jo_case.pk, customer_email=JO))
    page = agent_desk.get(f"/desk/customers/{mismatch.customer_id}/").content.decode()
    assert "not that case's customer" in page
    assert f"/desk/cases/{jo_case.pk}/" in page


def test_forged_email_payload_from_the_api_still_renders(
    api: Api, customer: dict[str, Any], agent_desk: Client
) -> None:
    """Integrations can post message events; a hostile payload must not break the page."""
    posted = api.post(
        "/events",
        {
            "source": "crm",
            "external_id": "forged-1",
            "channel": "email",
            "kind": "message",
            "occurred_at": "2026-11-20T10:00:00+00:00",
            "summary": "Forged",
            "body": "hello",
            "customer_id": customer["id"],
            "payload": {
                "email": True,
                "quote_start": "x",
                "attachments": [{"id": "../../etc/passwd", "filename": "<b>x</b>"}, 5],
                "flags": {"sender_mismatch": {"case_id": "a/b"}, "no_reply": "<i>"},
            },
        },
    )
    assert posted.status_code == 201, posted.content
    page = agent_desk.get(f"/desk/customers/{customer['id']}/")
    assert page.status_code == 200
    assert "etc/passwd" not in page.content.decode()
