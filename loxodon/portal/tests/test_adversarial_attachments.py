"""Hostile files sent from the portal (issue 10, item 11).

Only allow-listed extensions are taken (the stored type comes from our table, never the
browser), at most 10 MB; a refused file gets a clear 400 and nothing is stored. What is taken is
kept as bytes and never unpacked (a .docx is a zip: a zip bomb named .docx is just bytes to us).
Every download, for the customer and for staff, can only be saved: attachment, octet-stream,
nosniff, `default-src 'none'; sandbox`. In Chromium, opening a download URL runs nothing."""
# ruff: noqa: F811 (pytest fixtures imported from other modules are redefined as arguments)

from __future__ import annotations

import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from playwright.sync_api import Browser, Dialog, Error, Page

from loxodon.cases import services as cases
from loxodon.cases.models import Case
from loxodon.channels.email.tests.attachment_fixtures import (
    HTML_PAGE,
    PNG_THEN_HTML,
    SVG_WITH_SCRIPT,
    assert_download_only,
    zip_bomb,
)
from loxodon.desk.tests.browser import LiveServer, chromium, in_worker, live_desk  # noqa: F401
from loxodon.org.models import User
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.models import Attachment
from loxodon.portal.tests.picture_fixtures import Person, alice, make_person  # noqa: F401
from loxodon.timeline.models import Event

MiB = 1 << 20


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path / "media"


@pytest.fixture
def no_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an archive was opened")

    monkeypatch.setattr(zipfile, "ZipFile", refuse)
    monkeypatch.setattr(zipfile, "is_zipfile", refuse)
    monkeypatch.setattr(tarfile, "open", refuse)


def send(person: Person, case: Case, name: str, data: bytes, declared: str) -> Any:
    upload = SimpleUploadedFile(name, data, content_type=declared)
    return person.client.post(
        f"/portal/cases/{case.pk}/message", {"text": f"Sending {name}", "attachment": upload}
    )


def stored_files(media: Path) -> list[Path]:
    return [p for p in (media / "portal").rglob("*") if p.is_file()] if media.exists() else []


REFUSED = {
    "drawing.svg": (SVG_WITH_SCRIPT, "image/svg+xml", "(.svg)"),
    "invoice.html": (HTML_PAGE, "text/html", "(.html)"),
    "invoice.htm": (HTML_PAGE, "image/png", "(.htm)"),
    "photo.png.html": (HTML_PAGE, "image/png", "(.html)"),
    "page.xhtml": (HTML_PAGE, "application/xhtml+xml", "(.xhtml)"),
    "backup.zip": (b"PK\x03\x04 not even read", "application/zip", "(.zip)"),
    "run.exe": (b"MZ", "image/png", "(.exe)"),
    "noextension": (HTML_PAGE, "text/plain", "(no extension)"),
}


def test_hostile_uploads_are_refused_or_kept_as_bytes(
    alice: Person, agent: User, media: Path, no_unpacking: None
) -> None:
    case = cases.open_case(customer=alice.customer, problem="Hinge broke", actor=agent, owner=agent)
    # refused by type, whatever the browser claims: a clear 400, nothing written
    for name, (data, declared, words) in REFUSED.items():
        refused = send(alice, case, name, data, declared)
        text = refused.content.decode()
        assert refused.status_code == 400, name
        assert f"cannot be attached {words}" in text and "you can attach: .csv" in text, name
    # refused by size: 50 MB
    big = send(alice, case, "scan.pdf", b"%PDF-1.7\n" + b"\x00" * (50 * MiB), "application/pdf")
    assert big.status_code == 400 and "too large: at most 10 MB" in big.content.decode()
    assert not Attachment.objects.exists() and not stored_files(media)
    assert not Event.objects.filter(case=case, kind="message").exists()

    # taken: a PNG that turns into HTML, and a zip bomb named .docx (3 MB, 3 GiB unpacked)
    bomb = zip_bomb()
    taken = {
        "hinge.png": (PNG_THEN_HTML, "text/html", "image/png"),
        "report.docx": (
            bomb,
            "application/zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    }
    for name, (data, declared, _) in taken.items():
        assert send(alice, case, name, data, declared).status_code == 302, name
    for name, (data, _, our_type) in taken.items():
        row = Attachment.objects.get(filename=name)
        assert row.content_type == our_type  # from our table, not the browser's claim
        assert row.size == len(data)
        for client, url in (
            (alice.client, f"/portal/attachments/{row.pk}/"),
            (staff_client(agent), f"/desk/portal-files/{row.event_id}"),
        ):
            response = client.get(url)
            assert_download_only(response, data)
    assert len(stored_files(media)) == 2
    # the case page links to the files, never embeds them
    page = alice.client.get(f"/portal/cases/{case.pk}/").content.decode()
    for row in Attachment.objects.all():
        assert f"/portal/attachments/{row.pk}/" in page
        assert f'src="/portal/attachments/{row.pk}/' not in page


def staff_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_request_with_a_hostile_file_is_refused_whole(alice: Person, media: Path) -> None:
    upload = SimpleUploadedFile("help.svg", SVG_WITH_SCRIPT, content_type="image/png")
    response = alice.client.post(
        "/portal/cases/new", {"problem": "My charger sparks", "attachment": upload}
    )
    assert response.status_code == 400
    assert "cannot be attached (.svg)" in response.content.decode()
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not stored_files(media)


@pytest.mark.browser
def test_opening_a_download_in_chromium_runs_nothing(
    live_desk: LiveServer, chromium: Browser, agent: User
) -> None:
    def plant() -> tuple[Person, list[str]]:
        person = make_person("Pat Hostile", f"pat-{uuid.uuid4().hex[:6]}@example.com")
        case = cases.open_case(customer=person.customer, problem="Hinge", actor=agent, owner=agent)
        for name, data in (("hinge.png", PNG_THEN_HTML), ("notes.txt", HTML_PAGE)):
            assert send(person, case, name, data, "text/html").status_code == 302
        urls = [f"/portal/attachments/{a.pk}/" for a in Attachment.objects.all()]
        return person, urls

    person, urls = in_worker(plant)
    session = SessionStore()
    session[SESSION_KEY] = str(person.login.pk)
    session.create()
    context = chromium.new_context(accept_downloads=True)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": live_desk.url,
            }
        ]
    )
    context.add_init_script("window.__pwned = null;")
    page: Page = context.new_page()
    dialogs: list[str] = []

    def dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    home = live_desk.url + "/portal/"
    page.goto(home)
    saved = 0
    for url in urls:
        with page.expect_download() as info:
            try:
                page.goto(live_desk.url + url)
            except Error as exc:  # Chromium turns the navigation into a download
                assert "Download is starting" in str(exc), exc
        download = info.value
        assert download.suggested_filename in ("hinge.png", "notes.txt")
        saved += 1
        assert page.url == home  # still on the page we came from: nothing was rendered
        assert page.evaluate("window.__pwned") is None
    # and put in a frame of our own page, a download still renders nothing
    page.evaluate(
        """(src) => { const f = document.createElement('iframe'); f.src = src;
                    document.body.appendChild(f); }""",
        urls[0],
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert saved == len(urls) == 2 and not dialogs
    context.close()
