"""My picture through the portal, as customers A (Alice) and B (Bob): isolation, no internal
content anywhere, plain-language progress, acting on cases, organising, paging."""
# ruff: noqa: F811 (pytest fixtures imported from picture_fixtures are redefined as arguments)

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.cases import services as cases
from loxodon.cases.models import Case, CaseStatus
from loxodon.channels.web.identity import verify_identity
from loxodon.insights.models import InvitationChannel, SurveyInvitation
from loxodon.org.models import Department, User
from loxodon.org.services import create_staff
from loxodon.portal import selectors
from loxodon.portal.models import Attachment, Label, Nickname
from loxodon.portal.services import ensure_portal_property
from loxodon.portal.tests.picture_fixtures import Person, alice, bob, make_person  # noqa: F401
from loxodon.timeline.models import Asset, Event
from loxodon.timeline.services import record_event, register_asset

pytestmark = pytest.mark.django_db

MARKER = "ZX-INTERNAL-7731"
PAGES = [
    "/portal/",
    "/portal/timeline/",
    "/portal/cases/",
    "/portal/orders/",
    "/portal/products/",
    "/portal/conversations/",
]


def get(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def picture(person: Person, agent: User, departments: dict[str, Department]) -> Case:
    """A case with a finished parts task (internal note in it), a staff note, an order, a
    product and messages both ways."""
    customer = person.customer
    case = cases.open_case(
        customer=customer, problem=f"{customer.name}: battery dies", actor=agent, owner=agent
    )
    task = cases.add_task(
        case=case, department=departments["parts"], title="replacement battery", actor=agent
    )
    agent = case.owner or agent
    cases.add_note(case=case, body=f"staff only {MARKER} note", actor=agent)
    other = User.objects.filter(username="hana").first() or create_staff(
        username="hana",
        first_name="Hana",
        last_name="Parts",
        role="agent",
        site=agent.site,
        department=departments["parts"],
    )
    cases.hand_off(case=case, to=other, context=f"handoff {MARKER}", actor=agent)
    cases.complete_task(task=task, note=f"courier {MARKER} completion note", actor=agent)
    record_event(
        customer_id=customer.pk,
        kind="order",
        channel="web",
        summary=f"Order A-{customer.name[:3]} placed",
        payload={"order_number": f"ORD-{customer.name[:3]}", "status": "placed"},
    )
    record_event(
        customer_id=customer.pk,
        kind="shipment",
        channel="system",
        summary="Shipped",
        payload={"order_number": f"ORD-{customer.name[:3]}", "status": "shipped"},
    )
    register_asset(
        customer=customer,
        product=f"{customer.name[:3]} Laptop 14",
        warranty_until=timezone.localdate() + timedelta(days=200),
    )
    register_asset(customer=customer, product="Old Phone", warranty_until=date(2020, 1, 1))
    record_event(
        customer_id=customer.pk,
        kind="message",
        channel="email",
        case_id=case.pk,
        summary="Re: battery",
        body=f"Hello from {customer.name}",
        payload={"direction": "inbound", "subject": "battery"},
    )
    return case


def test_anonymous_portal_is_the_sign_in_page(client: Client) -> None:
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/sign-in/")
    assert 'href="/portal/help/"' in get(client, response["Location"])  # help is one click away
    for url in PAGES:  # every page of my picture asks for sign-in first
        assert client.get(url)["Location"].startswith("/portal/sign-in/?next=")


def test_a_sees_only_their_own_picture(
    alice: Person, bob: Person, agent: User, departments: dict[str, Department]
) -> None:
    a_case, b_case = picture(alice, agent, departments), picture(bob, agent, departments)
    for url in PAGES:
        text = get(alice.client, url)
        assert "Bob" not in text and "ORD-Bob" not in text, url
    assert "Alice Adams: battery dies" in get(alice.client, "/portal/cases/")
    assert "ORD-Ali" in get(alice.client, "/portal/orders/")
    # B's ids are 404s exactly like ids that do not exist, and logged
    b_asset = Asset.objects.filter(customer=bob.customer).first()
    assert b_asset is not None
    b_event = Event.objects.filter(customer=bob.customer, kind="message").get()
    for url in (
        f"/portal/cases/{b_case.pk}/",
        "/portal/cases/00000000-0000-0000-0000-000000000000/",
        "/portal/cases/nonsense/",
    ):
        assert alice.client.get(url).status_code == 404
    for action in ("confirm", "not-fixed", "message", "pin", "label"):
        response = alice.client.post(f"/portal/cases/{b_case.pk}/{action}", {"text": "x"})
        assert response.status_code == 404
    assert (
        alice.client.post(f"/portal/products/{b_asset.pk}/nickname", {"name": "x"}).status_code
        == 404
    )
    for kind, object_id in (("case", b_case.pk), ("event", b_event.pk), ("asset", b_asset.pk)):
        response = alice.client.post(
            "/portal/labels", {"kind": kind, "object_id": object_id, "name": "mine"}
        )
        assert response.status_code == 404
    assert not Label.objects.exists() and not Nickname.objects.exists()
    assert a_case.pk != b_case.pk


def test_internal_notes_kinds_and_completion_notes_never_appear(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    case = picture(alice, agent, departments)
    urls = [
        *PAGES,
        f"/portal/cases/{case.pk}/",
        f"/portal/timeline/?q={MARKER}",
        "/portal/timeline/?q=courier",
        "/portal/timeline/?kind=task_completed",
    ]
    for url in urls:
        text = get(alice.client, url).replace(f'value="{MARKER}"', "")  # my own search words
        assert MARKER not in text, url
        assert "Internal note" not in text and "Handed off" not in text, url
    assert "Nothing matches" in get(alice.client, f"/portal/timeline/?q={MARKER}")
    assert get(alice.client, "/portal/timeline/?kind=note", 400)


def test_task_progress_in_plain_words(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    case = picture(alice, agent, departments)
    task = case.tasks.get()
    text = get(alice.client, f"/portal/cases/{case.pk}/")
    expected = f"Parts: replacement battery — done on {selectors.day(task.completed_at)}"
    assert expected in text
    # finishing the only task proposed the resolution: the customer is asked to confirm
    assert "We think it&#x27;s fixed — please confirm" in text, text[text.find('id="status"') :][
        :300
    ]
    assert "Yes, it's fixed" in text


def test_confirm_resolves_via_web_and_invites_to_the_survey(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    case = picture(alice, agent, departments)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLUTION_PROPOSED
    response = alice.client.post(f"/portal/cases/{case.pk}/confirm")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED_CONFIRMED
    assert case.confirmation_event is not None
    confirmation = case.confirmation_event
    assert confirmation.channel == "web" and confirmation.kind == "confirmation"
    invitation = SurveyInvitation.objects.get(case=case)
    assert invitation.channel == InvitationChannel.PORTAL
    text = get(alice.client, response["Location"])
    assert 'href="/portal/feedback/"' in text
    assert f"Resolved — you confirmed on {selectors.day(case.resolved_at)}" in text
    # confirming twice is refused in words, nothing changes
    again = alice.client.post(f"/portal/cases/{case.pk}/confirm")
    assert again.status_code == 409 and "no proposed resolution" in again.content.decode()


def test_still_not_fixed_reopens_with_my_words(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    case = picture(alice, agent, departments)
    empty = alice.client.post(f"/portal/cases/{case.pk}/not-fixed", {"text": "  "})
    assert empty.status_code == 400 and "Tell us what is still wrong" in empty.content.decode()
    words = "It still dies after ten minutes"
    response = alice.client.post(f"/portal/cases/{case.pk}/not-fixed", {"text": words})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.reopen_count == 1
    message = Event.objects.filter(case=case, kind="message", channel="web").get()
    assert message.body == words and message.payload["direction"] == "inbound"
    reopened = Event.objects.filter(case=case, kind="status_change").order_by("-occurred_at")[0]
    assert reopened.body == words
    # a finished case takes no more messages: the customer is told what to do instead
    cases.propose_resolution(case=case, summary="New battery fitted", actor=agent)
    cases.confirm_resolution(case=case, via="phone", actor=agent)
    closed = alice.client.post(f"/portal/cases/{case.pk}/message", {"text": "thanks"})
    assert closed.status_code == 409 and "this case is closed" in closed.content.decode()
    assert words in get(alice.client, f"/portal/cases/{case.pk}/")


def test_message_with_attachment_wakes_the_case_and_downloads_safely(
    alice: Person, bob: Person, agent: User
) -> None:
    case = cases.open_case(
        customer=alice.customer, problem="Screen flickers", actor=agent, owner=agent
    )
    cases.set_waiting(case=case, on="customer", actor=agent, reason="asked for a photo")
    photo = SimpleUploadedFile("flicker.png", b"\x89PNG fake image bytes", content_type="image/png")
    response = alice.client.post(
        f"/portal/cases/{case.pk}/message", {"text": "Here is a photo", "attachment": photo}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_ON_US  # woken like an emailed reply
    event = Event.objects.get(case=case, kind="message")
    assert event.channel == "web" and event.body == "Here is a photo"
    attachment = Attachment.objects.get(case=case)
    assert attachment.event_id == event.pk and attachment.size == 21
    assert attachment.storage_name.startswith("portal/attachments/")
    assert "flicker" not in attachment.storage_name and len(attachment.sha256) == 64
    download = alice.client.get(f"/portal/attachments/{attachment.pk}/")
    assert download.status_code == 200 and download.content == b"\x89PNG fake image bytes"
    assert download["Content-Disposition"] == 'attachment; filename="flicker.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "application/octet-stream"
    assert bob.client.get(f"/portal/attachments/{attachment.pk}/").status_code == 404
    assert "flicker.png" in get(alice.client, f"/portal/cases/{case.pk}/")
    # refused: wrong type, too large; clear words, nothing written
    before = (Event.objects.count(), Attachment.objects.count())
    bad = SimpleUploadedFile("run.exe", b"MZ", content_type="image/png")
    refused = alice.client.post(
        f"/portal/cases/{case.pk}/message", {"text": "x", "attachment": bad}
    )
    assert refused.status_code == 400 and "cannot be attached (.exe)" in refused.content.decode()
    big = SimpleUploadedFile(
        "big.pdf", b"0" * (10 * 1024 * 1024 + 1), content_type="application/pdf"
    )
    refused = alice.client.post(
        f"/portal/cases/{case.pk}/message", {"text": "x", "attachment": big}
    )
    assert refused.status_code == 400 and "too large: at most 10 MB" in refused.content.decode()
    nothing = alice.client.post(f"/portal/cases/{case.pk}/message", {"text": " "})
    assert nothing.status_code == 400 and "write a message" in nothing.content.decode()
    assert (Event.objects.count(), Attachment.objects.count()) == before
    # a file name in any script downloads under its own name, still as an attachment
    odd = SimpleUploadedFile('Фото "1".jpg', b"jpeg", content_type="image/jpeg")
    alice.client.post(f"/portal/cases/{case.pk}/message", {"text": "", "attachment": odd})
    latest = Attachment.objects.order_by("-created_at")[0]
    header = alice.client.get(f"/portal/attachments/{latest.pk}/")["Content-Disposition"]
    assert header.startswith("attachment; filename*=utf-8''") and '"1"' not in header


def test_new_request_becomes_a_case_in_my_words(alice: Person) -> None:
    assert "Describe your problem" in get(alice.client, "/portal/cases/new")
    empty = alice.client.post("/portal/cases/new", {"problem": ""})
    assert (
        empty.status_code == 400 and "Describe your problem, so we know" in empty.content.decode()
    )
    assert not Case.objects.exists()
    note = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")
    response = alice.client.post(
        "/portal/cases/new", {"problem": "My charger is broken\nIt sparks.", "attachment": note}
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"].startswith(
        f"/portal/cases/{case.pk}/"
    )
    assert case.customer == alice.customer and case.problem == "My charger is broken\nIt sparks."
    assert case.status == CaseStatus.NEW and case.opened_by is None
    assert Attachment.objects.get(case=case).filename == "receipt.pdf"
    text = get(alice.client, response["Location"])
    assert "My charger is broken" in text and "We received your request" in text


def test_pinned_cases_come_first(alice: Person, agent: User) -> None:
    older = cases.open_case(customer=alice.customer, problem="Older problem", actor=agent)
    cases.open_case(customer=alice.customer, problem="Newer problem", actor=agent)
    for url in ("/portal/", "/portal/cases/"):
        text = get(alice.client, url)
        assert text.index("Newer problem") < text.index("Older problem")
    assert alice.client.post(f"/portal/cases/{older.pk}/pin").status_code == 302
    for url in ("/portal/", "/portal/cases/"):
        text = get(alice.client, url)
        assert text.index("Older problem") < text.index("Newer problem"), url
    alice.client.post(f"/portal/cases/{older.pk}/unpin")
    text = get(alice.client, "/portal/cases/")
    assert text.index("Newer problem") < text.index("Older problem")


def test_labels_on_items_filter_the_timeline(alice: Person) -> None:
    keep = record_event(
        customer_id=alice.customer.pk,
        kind="invoice",
        channel="email",
        summary="Invoice 2026-001",
        payload={"order_number": "X1"},
    )
    record_event(
        customer_id=alice.customer.pk,
        kind="invoice",
        channel="email",
        summary="Invoice 2026-002",
        payload={"order_number": "X2"},
    )
    response = alice.client.post(
        "/portal/labels",
        {"kind": "event", "object_id": keep.pk, "name": "tax 2026"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "tax 2026" in response.content.decode()
    assert 'id="labels-event-' in response.content.decode()
    text = get(alice.client, "/portal/timeline/?label=tax+2026")
    assert "X1" in text and "X2" not in text
    too_long = alice.client.post(
        "/portal/labels", {"kind": "event", "object_id": keep.pk, "name": "x" * 41}
    )
    assert too_long.status_code == 400
    alice.client.post(
        "/portal/labels",
        {"kind": "event", "object_id": keep.pk, "name": "tax 2026", "op": "remove"},
    )
    assert not Label.objects.exists()


def test_product_nicknames_and_warranty(alice: Person) -> None:
    laptop = register_asset(
        customer=alice.customer, product="ThinkPad T14", warranty_until=date(2099, 5, 3)
    )
    register_asset(customer=alice.customer, product="Old Phone", warranty_until=date(2020, 1, 1))
    text = get(alice.client, "/portal/products/")
    assert "Under warranty until 3 May 2099" in text and "Warranty ended" in text
    response = alice.client.post(
        f"/portal/products/{laptop.pk}/nickname", {"name": "Office laptop"}
    )
    assert response.status_code == 302
    assert Nickname.objects.get(asset=laptop).name == "Office laptop"
    assert "Office laptop" in get(alice.client, "/portal/")
    alice.client.post(f"/portal/products/{laptop.pk}/nickname", {"name": ""})
    assert not Nickname.objects.exists()


def test_timeline_filter_search_and_keyset_pages(alice: Person) -> None:
    start = timezone.now() - timedelta(days=10)
    for i in range(60):
        record_event(
            customer_id=alice.customer.pk,
            kind="message",
            channel="email" if i % 2 else "sms",
            summary=f"msg {i:02d}",
            body=f"body word{i:02d}",
            occurred_at=start + timedelta(minutes=i),
            payload={"direction": "inbound"},
        )
    seen: list[str] = []
    url = "/portal/timeline/"
    while url:
        text = get(alice.client, url)
        seen += re.findall(r"body word(\d\d)", text)
        more = re.search(r'id="more">\s*<a class="btn btn-outline-primary" href="([^"]+)"', text)
        url = more.group(1).replace("&amp;", "&") if more else ""
    assert seen == [f"{i:02d}" for i in range(59, -1, -1)]  # newest first, no repeats, no gaps
    text = get(alice.client, "/portal/timeline/?channel=sms")
    assert "word58" in text and "word59" not in text
    text = get(alice.client, "/portal/timeline/?q=word07")
    assert re.findall(r"body word(\d\d)", text) == ["07"]
    bad = alice.client.get("/portal/timeline/?cursor=bad")
    assert bad.status_code == 400 and "cursor" in bad.content.decode()
    assert get(alice.client, "/portal/timeline/?channel=pigeon", 400)


def test_account_admin_sees_the_accounts_cases_only(agent: User) -> None:
    admin = make_person("Ada Admin", "ada@acme.example", account="Acme Ltd", admin=True)
    colleague = make_person("Cy Colleague", "cy@acme.example", account="Acme Ltd")
    outsider = make_person("Oz Other", "oz@other.example", account="Other plc")
    mine = cases.open_case(customer=colleague.customer, problem="Acme printer jammed", actor=agent)
    theirs = cases.open_case(customer=outsider.customer, problem="Other plc router", actor=agent)
    text = get(admin.client, "/portal/cases/")
    assert "Acme printer jammed" in text and "Other plc router" not in text
    assert admin.client.get(f"/portal/cases/{mine.pk}/").status_code == 200
    assert admin.client.get(f"/portal/cases/{theirs.pk}/").status_code == 404
    # a colleague who is not the admin sees only their own
    own = cases.open_case(customer=admin.customer, problem="Ada's own", actor=agent)
    assert colleague.client.get(f"/portal/cases/{own.pk}/").status_code == 404


def test_chat_page_embeds_the_widget_with_my_identity(alice: Person) -> None:
    text = get(alice.client, "/portal/chat/")
    prop = ensure_portal_property()
    assert ensure_portal_property().pk == prop.pk  # created once
    token = re.search(r'data-identity="([^"]+)"', text)
    assert token and f'data-key="{prop.public_key}"' in text and "loxodon-chat/widget.js" in text
    assert verify_identity(prop, token.group(1)).email == "alice@example.com"


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_history(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    case = picture(alice, agent, departments)
    urls = [
        "/portal/",
        "/portal/timeline/",
        f"/portal/cases/{case.pk}/",
        "/portal/cases/",
        "/portal/orders/",
        "/portal/conversations/",
        "/portal/products/",
    ]
    small = {url: _count(alice.client, url) for url in urls}
    for _ in range(3):
        picture(alice, agent, departments)
    for i in range(40):
        record_event(
            customer_id=alice.customer.pk,
            kind="message",
            channel="email",
            case_id=case.pk,
            summary=f"m{i}",
            payload={"direction": "inbound"},
        )
    large = {url: _count(alice.client, url) for url in urls}
    assert large == small, (small, large)
    assert small["/portal/timeline/"] <= 8, small


def test_account_admin_writes_on_a_colleagues_case(agent: User) -> None:
    admin = make_person("Ada Admin", "ada@acme.example", account="Acme Ltd", admin=True)
    colleague = make_person("Cy Colleague", "cy@acme.example", account="Acme Ltd")
    case = cases.open_case(customer=colleague.customer, problem="Acme printer jammed", actor=agent)
    response = admin.client.post(f"/portal/cases/{case.pk}/message", {"text": "Any news?"})
    assert response.status_code == 302
    event = Event.objects.get(case=case, kind="message")
    assert event.customer_id == colleague.customer.pk  # the case's customer's timeline
    assert event.payload["written_by"]["name"] == "Ada Admin"
    assert "Message from Ada Admin" in get(colleague.client, f"/portal/cases/{case.pk}/")


def test_my_web_chat_lands_on_my_conversations_with_its_transcript(
    alice: Person, bob: Person, agent: User
) -> None:
    from loxodon.channels.chat import services as chat

    text = get(alice.client, "/portal/chat/")
    token = re.search(r'data-identity="([^"]+)"', text)
    assert token
    hello = chat.greet_visitor(ensure_portal_property(), "v" * 24, token.group(1))
    assert hello.refusal is None and hello.visitor.customer == alice.customer
    posted = chat.post_visitor_message(hello.visitor, body="Is my order shipped?", client_id="c1")
    chat.take_chat(chat=posted.chat, agent=agent)
    chat.post_agent_message(chat=posted.chat, agent=agent, body="Yes, it left today")
    page = get(alice.client, "/portal/conversations/")
    assert "Is my order shipped?" in page and "Yes, it left today" in page
    assert "<strong>You:</strong> Is my order shipped?" in page
    assert "Is my order shipped?" not in get(bob.client, "/portal/conversations/")


def test_orders_are_grouped_by_order_reference(
    alice: Person, agent: User, departments: dict[str, Department]
) -> None:
    picture(alice, agent, departments)
    record_event(
        customer_id=alice.customer.pk, kind="return", channel="web", summary="Return of a cable"
    )  # no reference: a group of its own
    text = get(alice.client, "/portal/orders/")
    assert text.count('<h2 class="h6 mb-2">Order ORD-Ali</h2>') == 1
    group = text.split("Order ORD-Ali</h2>")[1].split("</section>")[0]
    assert "Order ORD-Ali — placed" in group and "Shipment ORD-Ali — shipped" in group
    assert "Return of a cable" in text and "Return of a cable" not in group


def test_case_label_through_the_case_action(alice: Person, agent: User) -> None:
    case = cases.open_case(customer=alice.customer, problem="Mouse double-clicks", actor=agent)
    response = alice.client.post(f"/portal/cases/{case.pk}/label", {"name": "office"})
    assert response.status_code == 302
    assert "Mouse double-clicks" in get(alice.client, "/portal/cases/?label=office")
    assert "Mouse double-clicks" not in get(alice.client, "/portal/cases/?label=home")
    alice.client.post(f"/portal/cases/{case.pk}/label", {"name": "office", "op": "remove"})
    assert not Label.objects.exists()
    assert alice.client.post(f"/portal/cases/{case.pk}/dance").status_code == 404
    assert alice.client.get(f"/portal/cases/{case.pk}/pin").status_code == 405


def test_staff_open_the_file_a_customer_sent_from_the_case_page(alice: Person, agent: User) -> None:
    case = cases.open_case(
        customer=alice.customer, problem="Cracked hinge", actor=agent, owner=agent
    )
    photo = SimpleUploadedFile("hinge.jpg", b"\xff\xd8\xff fake jpeg", content_type="image/jpeg")
    alice.client.post(f"/portal/cases/{case.pk}/message", {"text": "Photo", "attachment": photo})
    event = Event.objects.get(case=case, kind="message")
    desk = Client()
    desk.force_login(agent)
    link = f"/desk/portal-files/{event.pk}"
    assert link in desk.get(f"/desk/cases/{case.pk}/").content.decode()
    download = desk.get(link)
    assert download.status_code == 200 and download.content == b"\xff\xd8\xff fake jpeg"
    assert download["Content-Disposition"] == 'attachment; filename="hinge.jpg"'
    assert download["X-Content-Type-Options"] == "nosniff"
    # customers (a portal session is no staff sign-in) and unknown ids get nothing
    assert alice.client.get(link).status_code == 302
    assert desk.get(f"/desk/portal-files/{uuid.uuid4()}").status_code == 404
    assert desk.get("/desk/portal-files/not-an-id").status_code == 404
