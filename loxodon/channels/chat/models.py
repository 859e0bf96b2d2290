"""Web chat: a conversation between a visitor of the company's web site and the desk.

`Chat` is the authoritative state of one conversation (ADR 8): who the visitor is, whether an
agent has taken it, the case it belongs to, and the living timeline event that renders it on
the customer's timeline. `ChatMessage` rows are the transcript, in order (`seq`).
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q

from loxodon.core.models import BaseModel

MAX_MESSAGE_CHARS = 2000


class ChatStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for an agent"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


OPEN_CHAT_STATUSES = (ChatStatus.WAITING, ChatStatus.ACTIVE)


class Sender(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Chat(BaseModel):
    """One conversation. Created with the visitor's first message, so it always has a
    customer (the identity token's customer, or the visitor's own unverified "Web visitor"
    customer) and a timeline event."""

    web_property = models.ForeignKey(
        "channels_web.WebProperty", on_delete=models.PROTECT, related_name="chats"
    )
    visitor_id = models.CharField(max_length=64, help_text="random id the widget keeps")
    visitor_verified = models.BooleanField(
        default=False, help_text="the customer was named by a valid identity token"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="chats"
    )
    status = models.CharField(max_length=8, choices=ChatStatus.choices, default=ChatStatus.WAITING)
    agent = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="chats"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="chats"
    )
    event = models.OneToOneField(
        "timeline.Event",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the living timeline event (set in the transaction that creates the chat)",
    )
    about = models.CharField(max_length=200, help_text="the visitor's first message, shortened")
    message_count = models.PositiveIntegerField(
        default=0, help_text="visitor and agent messages (system lines not counted)"
    )
    last_seq = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open conversation per visitor scope (same browser, same person): two tabs
            # sending their first message at once cannot open two chats.
            models.UniqueConstraint(
                fields=["web_property", "visitor_id", "customer"],
                condition=Q(status__in=["waiting", "active"]),
                name="chat_one_open_per_visitor",
            ),
            models.CheckConstraint(
                condition=Q(status="waiting") | Q(agent__isnull=False) | Q(status="ended"),
                name="chat_active_has_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-last_message_at"], name="chat_status_recent"),
            models.Index(fields=["web_property", "visitor_id"], name="chat_visitor_idx"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CHAT_STATUSES

    # --- predicates: what may happen next (services enforce them, the desk offers only these)
    def can_take(self) -> bool:
        return self.status == ChatStatus.WAITING

    def can_reply(self) -> bool:
        return self.is_open

    def can_end(self) -> bool:
        return self.is_open

    def can_attach_case(self) -> bool:
        return self.case_id is None

    def visitor_group(self) -> str:
        return visitor_group(
            self.web_property_id,
            self.visitor_id,
            self.customer_id if self.visitor_verified else None,
        )


def visitor_group(property_id: object, visitor_id: str, verified_customer_id: object) -> str:
    """The channel-layer group of one visitor scope: a browser (visitor id) on one property,
    anonymous or signed in as one customer. Hashed: group names are short ASCII, and the
    visitor id (the visitor's only credential) never appears in layer traffic."""
    scope = f"{property_id}:{visitor_id}:{verified_customer_id or 'anonymous'}"
    return "chatv." + hashlib.sha256(scope.encode()).hexdigest()[:40]


class ChatMessage(BaseModel):
    """One line of the transcript. `client_id` makes a re-sent message idempotent."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=8, choices=Sender.choices)
    agent = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField()
    client_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["chat", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="chat_message_seq"),
            models.UniqueConstraint(
                fields=["chat", "client_id"],
                condition=~Q(client_id=""),
                name="chat_message_client_id",
            ),
            models.CheckConstraint(
                condition=~Q(sender="agent") | Q(agent__isnull=False),
                name="chat_agent_message_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.body[:40]}"

    def author_for_visitor(self) -> str:
        """How the visitor sees who wrote it: agents by first name only."""
        if self.sender == Sender.AGENT and self.agent is not None:
            return self.agent.first_name or "Agent"
        return "You" if self.sender == Sender.VISITOR else ""

    def author_for_staff(self) -> str:
        if self.sender == Sender.AGENT and self.agent is not None:
            return self.agent.display_name
        return "Visitor" if self.sender == Sender.VISITOR else ""
