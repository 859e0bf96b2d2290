"""A chat message's `client_id` is its idempotency key (issue 10, item 15): the same message
again is a replay (200, nothing new); the same key with other content is refused with 409 and
a message, never silently swallowed or stored twice."""

from __future__ import annotations

import pytest

from loxodon.channels.chat import services
from loxodon.channels.chat.models import ChatMessage, Sender
from loxodon.channels.chat.selectors import Visitor
from loxodon.channels.chat.tests.conftest import VISITOR
from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import Conflict
from loxodon.core.testing import Api


def test_an_agent_reply_key_reused_for_other_words_is_409(shop: WebProperty, api: Api) -> None:
    visitor = services.greet_visitor(shop, VISITOR, None).visitor
    chat = services.post_visitor_message(visitor, body="Where is my order?", client_id="m-1").chat
    url = f"/channels/chat/chats/{chat.pk}/messages"
    first = api.post(url, {"body": "Let me check.", "client_id": "r1"})
    assert first.status_code == 201, first.content
    assert api.post(url, {"body": "Let me check.", "client_id": "r1"}).status_code == 200
    changed = api.post(url, {"body": "It was lost, sorry.", "client_id": "r1"})
    assert changed.status_code == 409
    assert "client_id 'r1' was already used for a different message" in changed.json()["detail"]
    # The visitor's own key is not the agent's to reuse either (it is not "a replay" of it).
    stolen = api.post(url, {"body": "Where is my order?", "client_id": "m-1"})
    assert stolen.status_code == 409
    lines = ChatMessage.objects.exclude(sender=Sender.SYSTEM).order_by("seq")
    assert list(lines.values_list("sender", "body")) == [
        (Sender.VISITOR, "Where is my order?"),
        (Sender.AGENT, "Let me check."),
    ]


def test_a_visitor_message_key_reused_for_other_words_is_refused(shop: WebProperty) -> None:
    visitor = Visitor(shop, VISITOR)
    services.greet_visitor(shop, VISITOR, None)
    first = services.post_visitor_message(visitor, body="My X1 will not charge", client_id="v-1")
    again = services.post_visitor_message(visitor, body="My X1 will not charge", client_id="v-1")
    assert first.created and not again.created and again.message.pk == first.message.pk
    with pytest.raises(Conflict, match="already used for a different message"):
        services.post_visitor_message(visitor, body="Cancel my order", client_id="v-1")
    assert ChatMessage.objects.filter(sender=Sender.VISITOR).count() == 1
