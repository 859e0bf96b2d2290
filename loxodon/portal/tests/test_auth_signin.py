# ruff: noqa: F811 (pytest fixtures imported from auth_fixtures are redefined as arguments)
"""Portal sign-in through HTTP: magic links over a real SMTP server, passwords, rate limits,
sessions. The token must never reach a log, a Location or a Referer."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from loxodon.cases.services import open_case
from loxodon.core.testing import signed_in
from loxodon.customers.models import Account, Customer, Identity
from loxodon.customers.services import create_customer
from loxodon.org.models import User
from loxodon.portal.access import SESSION_KEY, cases_visible_to
from loxodon.portal.auth import create_portal_login, set_password
from loxodon.portal.models import MagicLink, PortalLogin
from loxodon.portal.tests.auth_fixtures import (  # noqa: F401 (fixtures)
    Mailbox,
    alice,
    alice_login,
    bob,
    fresh_rate_limits,
    sign_in_as,
    smtp,
)

pytestmark = pytest.mark.django_db(transaction=True)


def ask_link(client: Client, address: str, **extra: Any) -> Any:
    return client.post("/portal/sign-in/", {"method": "link", "link-email": address}, **extra)


# aiosmtpd's "mail.log" is the test's *receiving* mail server (the customer's provider), which
# logs whole messages at DEBUG; everything of ours (and Django's, smtplib's) is checked.
RECEIVING_SERVER = "mail.log"


def without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != RECEIVING_SERVER
    )


def test_magic_link_signs_in_once_and_the_token_is_never_logged(
    smtp: Mailbox, alice_login: PortalLogin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level, for the whole flow
    client = Client()
    client.get("/portal/sign-in/")
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None

    response = ask_link(client, "Alice@Example.com")
    assert response.status_code == 302
    assert response["Location"] == "/portal/sign-in/sent"

    mail = smtp.to("alice@example.com")
    assert len(mail) == 1
    body = smtp.body(mail[0])
    token = smtp.token_for("alice@example.com")
    assert f"https://help.example.test/portal/sign-in/link#{token}" in body
    assert f"\n{token}\r\n" in body  # the code, for when the link does not open
    # ≥ 256 bits of randomness; only the SHA-256 is stored
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32
    link = MagicLink.objects.get()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(v) for v in MagicLink.objects.values().get().values())
    assert token not in stored
    expiry = link.expires_at - link.created_at
    assert timedelta(minutes=14, seconds=59) < expiry <= timedelta(minutes=15, seconds=1)

    # the page the link opens carries no token (it is in the fragment, read by the page's JS)
    page = client.get("/portal/sign-in/link")
    assert page.status_code == 200
    assert b'name="code"' in page.content and b"portal/sign_in_code.js" in page.content
    assert page["Cache-Control"] == "private, no-store"

    used = client.post("/portal/sign-in/link", {"code": token})
    assert used.status_code == 302
    assert used["Location"] == "/portal/"
    assert token not in used["Location"]
    assert client.session[SESSION_KEY] == str(alice_login.pk)
    assert client.cookies["sessionid"].value != before
    assert client.get("/portal/account/").status_code == 200

    # single use: the same token again (another browser) is refused like a made-up one
    again = Client().post("/portal/sign-in/link", {"code": token})
    made_up = Client().post("/portal/sign-in/link", {"code": "x" * 43})
    assert again.status_code == made_up.status_code == 400
    assert b"did not work" in again.content
    assert without_csrf(again.content) == without_csrf(made_up.content)
    assert token.encode() not in again.content  # the refused code is not echoed back
    assert MagicLink.objects.get().used_at is not None

    logged = all_log_text(caplog)
    assert "sign-in link" in logged  # the flow was logged at all...
    assert token not in logged  # ...and never with the token
    assert link.token_digest not in logged


def test_expired_link_is_refused(smtp: Mailbox, alice_login: PortalLogin) -> None:
    ask_link(Client(), "alice@example.com")
    token = smtp.token_for("alice@example.com")
    MagicLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client = Client()
    response = client.post("/portal/sign-in/link", {"code": token})
    assert response.status_code == 400
    assert SESSION_KEY not in client.session
    assert MagicLink.objects.get().used_at is None


def test_unknown_address_gets_the_same_answer_and_no_mail(
    smtp: Mailbox, alice_login: PortalLogin, bob: Customer
) -> None:
    known = ask_link(Client(), "alice@example.com")
    unknown = ask_link(Client(), "nobody@example.com")
    no_login = ask_link(Client(), "bob@example.com")  # a customer, but no portal login
    assert known.status_code == unknown.status_code == no_login.status_code == 302
    assert known["Location"] == unknown["Location"] == no_login["Location"]
    assert len(smtp.messages()) == 1
    assert MagicLink.objects.count() == 1
    sent = Client().get(known["Location"]).content
    assert b"If that address is registered with us" in sent


def test_answer_takes_as_long_with_or_without_a_login(
    smtp: Mailbox, alice_login: PortalLogin
) -> None:
    """The mail goes out in the background: a slow SMTP server does not reveal the account."""
    smtp.delay = 1.5
    ask_link(Client(), "warm-up@example.com")
    timings = {}
    for address in ("alice@example.com", "nobody@example.com"):
        started = time.perf_counter()
        response = ask_link(Client(), address)
        timings[address] = time.perf_counter() - started
        assert response.status_code == 302
    assert timings["alice@example.com"] < 1.0, timings
    assert abs(timings["alice@example.com"] - timings["nobody@example.com"]) < 0.5, timings
    assert len(smtp.to("alice@example.com")) == 1  # delivered all the same


def test_link_requests_are_limited_per_address(smtp: Mailbox, alice_login: PortalLogin) -> None:
    for n in range(5):
        response = ask_link(Client(REMOTE_ADDR=f"10.0.0.{n}"), "alice@example.com")
        assert response.status_code == 302
    limited = ask_link(Client(REMOTE_ADDR="10.0.0.99"), "alice@example.com")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert b"Too many attempts" in limited.content
    assert len(smtp.messages()) == 5
    # another address from the same IP still works
    assert ask_link(Client(REMOTE_ADDR="10.0.0.99"), "other@example.com").status_code == 302


def test_link_requests_are_limited_per_ip(
    smtp: Mailbox, alice_login: PortalLogin, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(REMOTE_ADDR="192.0.2.7")
    for n in range(20):
        assert ask_link(client, f"person{n}@example.com").status_code == 302
    limited = ask_link(client, "alice@example.com")
    assert limited.status_code == 429
    assert "Retry-After" in limited
    assert not smtp.messages()  # alice's link was not sent
    assert "portal rate limit link_ip reached from 192.0.2.7" in caplog.text
    assert ask_link(Client(REMOTE_ADDR="192.0.2.8"), "alice@example.com").status_code == 302


def test_code_attempts_are_limited_per_ip(smtp: Mailbox, alice_login: PortalLogin) -> None:
    client = Client(REMOTE_ADDR="198.51.100.1")
    for n in range(10):
        assert client.post("/portal/sign-in/link", {"code": f"guess{n}" * 6}).status_code == 400
    ask_link(Client(), "alice@example.com")
    token = smtp.token_for("alice@example.com")
    limited = client.post("/portal/sign-in/link", {"code": token})
    assert limited.status_code == 429
    assert "Retry-After" in limited
    assert SESSION_KEY not in client.session


def test_password_sign_in_wrong_password_and_limits(alice_login: PortalLogin) -> None:
    set_password(alice_login, new_password="correct horse battery")
    form = {"method": "password", "pw-email": "alice@example.com", "pw-password": "nope nope"}
    wrong = Client().post("/portal/sign-in/", form)
    unknown = Client().post("/portal/sign-in/", {**form, "pw-email": "nobody@example.com"})
    assert wrong.status_code == unknown.status_code == 400
    assert b"do not match" in wrong.content and b"do not match" in unknown.content

    client = Client()
    ok = client.post(
        "/portal/sign-in/?next=/portal/account/",
        {**form, "pw-password": "correct horse battery", "next": "/portal/account/"},
    )
    assert ok.status_code == 302 and ok["Location"] == "/portal/account/"
    assert client.session[SESSION_KEY] == str(alice_login.pk)

    # an off-site next is ignored
    evil = Client().post(
        "/portal/sign-in/",
        {**form, "pw-password": "correct horse battery", "next": "https://evil.example/"},
    )
    assert evil["Location"] == "/portal/"

    # per address: 10 attempts an hour, from any IP
    for n in range(8):  # 3 attempts above, 8 more = 11th is refused
        Client(REMOTE_ADDR=f"10.1.0.{n}").post("/portal/sign-in/", form)
    limited = Client(REMOTE_ADDR="10.1.1.1").post(
        "/portal/sign-in/", {**form, "pw-password": "correct horse battery"}
    )
    assert limited.status_code == 429


def test_customer_without_password_cannot_use_one(alice_login: PortalLogin) -> None:
    response = Client().post(
        "/portal/sign-in/",
        {"method": "password", "pw-email": "alice@example.com", "pw-password": ""},
    )
    assert response.status_code == 400
    response = Client().post(
        "/portal/sign-in/",
        {"method": "password", "pw-email": "alice@example.com", "pw-password": "anything12"},
    )
    assert response.status_code == 400


def test_session_key_changes_at_sign_in_fixation(alice_login: PortalLogin) -> None:
    set_password(alice_login, new_password="correct horse battery")
    client = Client()
    session = client.session  # the attacker-planted session
    session["planted"] = "yes"
    session.save()
    planted_key = session.session_key
    assert planted_key is not None
    client.cookies["sessionid"] = planted_key
    response = client.post(
        "/portal/sign-in/",
        {
            "method": "password",
            "pw-email": "alice@example.com",
            "pw-password": "correct horse battery",
        },
    )
    assert response.status_code == 302
    new_key = client.cookies["sessionid"].value
    assert new_key != planted_key
    assert not SessionStore(session_key=planted_key).exists(planted_key)
    assert SessionStore(session_key=new_key).load().get(SESSION_KEY) == str(alice_login.pk)

    # sign-out is POST only, and ends the portal session under yet another key
    assert client.get("/portal/sign-out").status_code == 405
    out = client.post("/portal/sign-out")
    assert out.status_code == 302 and out["Location"] == "/portal/sign-in/"
    assert client.cookies["sessionid"].value != new_key
    assert client.get("/portal/account/")["Location"].startswith("/portal/sign-in/")


def test_staff_and_portal_sessions_do_not_cross(agent: User, alice_login: PortalLogin) -> None:
    staff = signed_in(agent)
    response = staff.get("/portal/account/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/sign-in/?next=/portal/account/"

    portal = sign_in_as(alice_login)
    assert portal.get("/portal/account/").status_code == 200
    case = open_case(customer=alice_login.customer, problem="Broken", actor=None)
    for path in (
        "/api/v1/customers",
        f"/api/v1/customers/{alice_login.customer_id}",
        f"/api/v1/cases/{case.pk}",
    ):
        assert portal.get(path).status_code in (401, 403, 404)
    desk = portal.get("/desk/")
    assert desk.status_code == 302
    assert "/portal/" not in desk["Location"]


def test_account_admin_sees_the_business_accounts_cases(db: None) -> None:
    account = Account.objects.create(name="Acme Ltd")
    admin = create_customer(name="Ada Admin", email="ada@acme.test", verified=True)
    colleague = create_customer(name="Colin Colleague", email="colin@acme.test")
    outsider = create_customer(name="Olga Outsider", email="olga@else.test")
    Customer.objects.filter(pk__in=[admin.pk, colleague.pk]).update(account=account)
    admin.refresh_from_db()
    own = open_case(customer=admin, problem="Printer jams", actor=None)
    theirs = open_case(customer=colleague, problem="Laptop battery", actor=None)
    other = open_case(customer=outsider, problem="Not acme", actor=None)

    login = create_portal_login(customer=admin, email="ada@acme.test")
    assert set(cases_visible_to(login)) == {own}
    login.is_account_admin = True
    assert set(cases_visible_to(login)) == {own, theirs}
    assert other not in set(cases_visible_to(login))


def test_create_portal_login_refuses_an_address_verified_for_someone_else(
    alice: Customer, bob: Customer
) -> None:
    from loxodon.core.errors import Conflict

    with pytest.raises(Conflict):
        create_portal_login(customer=bob, email="alice@example.com")
    assert not PortalLogin.objects.exists()
    assert not Identity.objects.filter(customer=bob, value="alice@example.com").exists()


def test_create_portal_login_command(alice: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", StringIO("correct horse battery\n"))
    out = StringIO()
    call_command(
        "create_portal_login",
        "ALICE@example.com",
        "--password-stdin",
        "--account-admin",
        stdout=out,
    )
    login = PortalLogin.objects.get()
    assert login.customer == alice and login.is_account_admin and login.password
    assert "password or emailed links" in out.getvalue()
    assert "correct horse" not in out.getvalue()
    with pytest.raises(CommandError, match="already has a portal login"):
        call_command("create_portal_login", "alice@example.com", stdout=StringIO())
    with pytest.raises(CommandError, match="no customer has"):
        call_command("create_portal_login", "ghost@example.com", stdout=StringIO())
    monkeypatch.setattr("sys.stdin", StringIO("123\n"))
    create_customer(name="Weak Pw", email="weak@example.com")
    with pytest.raises(CommandError, match="too short"):
        call_command(
            "create_portal_login", "weak@example.com", "--password-stdin", stdout=StringIO()
        )
    # the unverified address became verified only with a login
    assert not PortalLogin.objects.filter(identity__value="weak@example.com").exists()
