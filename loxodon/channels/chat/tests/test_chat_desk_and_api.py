"""Chats on the desk and through the API: the transcript on the timeline, cases, pages."""

from __future__ import annotations

from typing import Any

from django.test import Client

from loxodon.channels.chat import events, services
from loxodon.channels.chat.models import Chat, ChatMessage, ChatStatus, Sender
from loxodon.channels.chat.selectors import Visitor
from loxodon.channels.chat.tests.conftest import OTHER_VISITOR, VISITOR, token_for
from loxodon.channels.web.models import WebProperty
from loxodon.core.testing import Api
from loxodon.org.models import User
from loxodon.timeline.models import Event


def visitor_chat(
    shop: WebProperty, *lines: str, visitor_id: str = VISITOR, token: str | None = None
) -> Chat:
    """A visitor writes `lines` (as the widget would, minus the socket)."""
    visitor = services.greet_visitor(shop, visitor_id, token).visitor
    posted = None
    for n, body in enumerate(lines):
        posted = services.post_visitor_message(visitor, body=body, client_id=f"{visitor_id}-{n}")
    assert posted is not None
    return Chat.objects.select_related("customer").get(pk=posted.chat.pk)


def test_the_transcript_lands_on_the_customers_timeline(
    shop: WebProperty, api: Api, agent: User
) -> None:
    # Given a visitor's chat answered by Ann through the API
    chat = visitor_chat(shop, "My X1 will not\ncharge", "It is two years old")
    reply = api.post(f"/channels/chat/chats/{chat.pk}/messages", {"body": "Sorry! Which charger?"})
    assert reply.status_code == 201, reply.content
    # When the customer's timeline is read through the API
    timeline = api.get(f"/customers/{chat.customer_id}/timeline").json()
    # Then the whole chat is one event, kept up to date
    (item,) = [e for e in timeline["items"] if e["kind"] == "chat"]
    assert item["channel"] == "chat" and item["source"] == "chat"
    assert item["external_id"] == str(chat.pk)
    assert item["summary"] == "Chat with Ann · 3 messages · about: My X1 will not charge"
    assert item["body"] == (
        "Visitor: My X1 will not charge\n"
        "Visitor: It is two years old\n"
        "· Ann joined the chat\n"
        "Ann: Sorry! Which charger?"
    )
    assert item["payload"]["status"] == "active" and item["actor"] == "ann"
    detail = api.get(f"/channels/chat/chats/{chat.pk}").json()
    assert [m["sender"] for m in detail["messages"]] == ["visitor", "visitor", "system", "agent"]
    assert detail["messages"][0]["body"] == "My X1 will not\ncharge"  # the full text is kept


def test_open_a_case_from_the_chat_puts_the_chat_event_on_it(
    shop: WebProperty, api: Api, agent: User
) -> None:
    chat = visitor_chat(shop, "The screen of my laptop flickers", "Since the update")
    response = api.post(f"/channels/chat/chats/{chat.pk}/case", {})
    assert response.status_code == 200, response.content
    case_id = response.json()["case_id"]
    case = api.get(f"/cases/{case_id}").json()
    assert case["problem"] == "The screen of my laptop flickers"
    assert case["owner"] == "ann" and case["status"] == "open"
    event = Event.objects.get(source="chat")
    assert str(event.case_id) == case_id
    # a later message keeps the event on the case
    services.post_visitor_message(Visitor(shop, VISITOR), body="Any news?", client_id="later")
    assert str(Event.objects.get(source="chat").case_id) == case_id
    again = api.post(f"/channels/chat/chats/{chat.pk}/case", {"problem": "Another"})
    assert again.status_code == 409


def test_join_an_open_case_of_the_same_customer(
    shop: WebProperty, api: Api, customer: dict[str, Any]
) -> None:
    token = token_for(shop, email="jo.bloggs@example.com")
    chat = visitor_chat(shop, "About my warranty claim", token=token)
    assert str(chat.customer_id) == customer["id"]
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Warranty claim"}).json()
    other = api.post("/customers", {"name": "Someone Else", "email": "else@example.com"}).json()
    foreign = api.post("/cases", {"customer_id": other["id"], "problem": "Not Jo's"}).json()

    refused = api.post(f"/channels/chat/chats/{chat.pk}/case", {"case_id": foreign["id"]})
    assert refused.status_code == 400 and "another customer" in refused.json()["detail"]
    joined = api.post(f"/channels/chat/chats/{chat.pk}/case", {"case_id": case["id"]})
    assert joined.status_code == 200 and joined.json()["case_id"] == case["id"]
    assert str(Event.objects.get(source="chat").case_id) == case["id"]


def test_chat_api_lists_by_status_and_needs_staff(
    shop: WebProperty, api: Api, anonymous: Api
) -> None:
    waiting = visitor_chat(shop, "First")
    taken = visitor_chat(shop, "Second", visitor_id=OTHER_VISITOR)
    assert api.post(f"/channels/chat/chats/{taken.pk}/take").status_code == 200
    assert [c["id"] for c in api.get("/channels/chat/chats").json()] == [
        str(waiting.pk),
        str(taken.pk),
    ]
    assert [c["id"] for c in api.get("/channels/chat/chats", status="active").json()] == [
        str(taken.pk)
    ]
    assert api.get("/channels/chat/chats", status="bogus").status_code == 400
    assert api.post(f"/channels/chat/chats/{taken.pk}/take").status_code == 409
    assert api.post(f"/channels/chat/chats/{taken.pk}/end").json()["status"] == "ended"
    assert [c["id"] for c in api.get("/channels/chat/chats", status="ended").json()] == [
        str(taken.pk)
    ]
    assert anonymous.get("/channels/chat/chats").status_code == 401
    assert anonymous.get(f"/channels/chat/chats/{waiting.pk}").status_code == 401
    assert api.get("/channels/chat/chats/not-a-uuid").status_code == 404


def test_desk_chat_list_and_page(shop: WebProperty, desk: Client) -> None:
    empty = desk.get("/desk/chats/")
    assert empty.status_code == 200 and "No open chats" in empty.content.decode()
    chat = visitor_chat(shop, "Do you ship to Ireland? <b>bold</b>")
    listing = desk.get("/desk/chats/").content.decode()
    assert chat.customer.name in listing and "Waiting" in listing
    assert "&lt;b&gt;bold&lt;/b&gt;" in listing and "<b>bold</b>" not in listing
    partial = desk.get("/desk/chats/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and chat.customer.name in partial

    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert "Take this chat" in page and "End chat" in page and "Open a case" in page
    assert f"/desk/customers/{chat.customer_id}/" in page
    assert "Do you ship to Ireland? &lt;b&gt;" in page


def test_desk_actions_take_reply_case_and_end(shop: WebProperty, desk: Client, agent: User) -> None:
    chat = visitor_chat(shop, "Can I return a laptop after 40 days?")
    base = f"/desk/chats/{chat.pk}"
    assert desk.post(f"{base}/take").status_code == 302
    form = {"body": "Let me look at the policy.", "client_id": "form-1"}
    desk.post(f"{base}/reply", form)
    desk.post(f"{base}/reply", form)  # a double submit stores one reply
    assert ChatMessage.objects.filter(sender=Sender.AGENT).count() == 1
    response = desk.post(f"{base}/case", {"problem": ""}, follow=True)
    assert "Case opened" in response.content.decode()
    chat.refresh_from_db()
    assert chat.case is not None and chat.case.problem == "Can I return a laptop after 40 days?"
    assert chat.case.owner == agent
    page = desk.get(f"{base}/").content.decode()
    assert "On the case" in page and "Open a case" not in page
    desk.post(f"{base}/end")
    chat.refresh_from_db()
    assert chat.status == ChatStatus.ENDED
    refused = desk.post(f"{base}/reply", {"body": "Hello?"}, follow=True).content.decode()
    assert "Not done: this chat has ended" in refused


def test_desk_join_case_form(
    shop: WebProperty, desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    chat = visitor_chat(
        shop, "Update on my case?", token=token_for(shop, email="jo.bloggs@example.com")
    )
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Broken hinge"}).json()
    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert "Broken hinge" in page and "Join the case" in page
    desk.post(f"/desk/chats/{chat.pk}/join", {"case_id": case["id"]})
    assert str(Event.objects.get(source="chat").case_id) == case["id"]


def test_chat_pages_need_staff(shop: WebProperty) -> None:
    chat = visitor_chat(shop, "Hello")
    client = Client()
    for url in ("/desk/chats/", f"/desk/chats/{chat.pk}/", "/desk/chats/demo/"):
        response = client.get(url)
        assert response.status_code == 302 and "/desk/login/" in response["Location"]
    assert client.post(f"/desk/chats/{chat.pk}/take").status_code == 302
    assert Chat.objects.get().status == ChatStatus.WAITING


def test_the_timeline_shows_the_chat_compactly(shop: WebProperty, desk: Client) -> None:
    chat = visitor_chat(shop, "Hello <script>alert(1)</script>")
    services.post_agent_message(
        chat=chat, agent=User.objects.get(username="ann"), body="Hi, how can I help?"
    )
    page = desk.get(f"/desk/customers/{chat.customer_id}/").content.decode()
    assert "Chat with Ann · 2 messages" in page
    assert "<strong>Ann:</strong> Hi, how can I help?" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert f"/desk/chats/{chat.pk}/" in page


def test_demo_page_embeds_the_widget(shop: WebProperty, desk: Client) -> None:
    page = desk.get("/desk/chats/demo/", {"as": "jo@example.com"}).content.decode()
    assert "loxodon-chat/widget.js" in page and f'data-key="{shop.public_key}"' in page
    assert 'data-identity="' in page
    assert "does not allow this origin" in page  # the shop only allows shop.example.com


def test_a_long_transcript_is_capped_and_keeps_the_start_and_the_latest_lines(
    shop: WebProperty,
) -> None:
    chat = visitor_chat(shop, "The first question")
    visitor = Visitor(shop, VISITOR)
    for n in range(30):
        services.post_visitor_message(visitor, body=f"{n:02d} " + "x" * 1500, client_id=f"c{n}")
    body = Event.objects.get(source="chat").body
    assert len(body) <= events.MAX_TRANSCRIPT_CHARS
    lines = body.splitlines()
    assert lines[0] == "Visitor: The first question"
    assert "not shown here" in lines[1]
    assert lines[-1].startswith("Visitor: 29 ")
    chat.refresh_from_db()
    assert chat.message_count == 31
