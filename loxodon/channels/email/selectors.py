"""Reads of inbound mail, each starting with an access check.

Failed, quarantined and ignored mail (the raw messages nobody has seen on a timeline) is for
supervisors and admins. An attachment or a message's cleaned HTML is readable by any member of
staff who may read the customer it belongs to; mail that reached no customer stays
supervisor-only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from loxodon.channels.email.models import InboundMail, InboundStatus, MailAttachment
from loxodon.core.access import require_staff
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput, NotFound, PermissionDenied
from loxodon.core.ids import parse_uuid
from loxodon.customers.selectors import get_customer_for
from loxodon.org.models import Role

LISTABLE = (InboundStatus.FAILED, InboundStatus.QUARANTINED, InboundStatus.IGNORED)


def require_mail_supervisor(user: Any) -> None:
    """Supervisors and admins look after mail that could not be put on a timeline."""
    require_staff(user)
    if not (user.role in (Role.SUPERVISOR, Role.ADMIN) or user.is_superuser):
        raise PermissionDenied("this needs the supervisor or admin role")


def _status(status: str) -> str:
    if status not in LISTABLE:
        raise InvalidInput(f"status must be one of: {', '.join(LISTABLE)}")
    return status


def unhandled_mail_for(user: Any, status: str = InboundStatus.FAILED) -> QuerySet[InboundMail]:
    """Failed (or quarantined, or ignored) mail, newest first."""
    require_mail_supervisor(user)
    return InboundMail.objects.filter(status=_status(status)).order_by("-received_at", "-id")


@dataclass(frozen=True)
class MailPage:
    items: list[InboundMail]
    next_cursor: str | None


def unhandled_mail_page(
    user: Any, *, status: str = InboundStatus.FAILED, cursor: str | None = None, limit: int = 50
) -> MailPage:
    qs = unhandled_mail_for(user, status)
    if cursor:
        at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(received_at__lt=at) | Q(received_at=at, id__lt=pk))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return MailPage(
        items=rows,
        next_cursor=encode_cursor(rows[-1].received_at, rows[-1].pk) if more and rows else None,
    )


def get_inbound_for(user: Any, inbound_id: str | uuid.UUID) -> InboundMail:
    """One inbound message with its raw file: supervisors and admins."""
    require_mail_supervisor(user)
    pk = parse_uuid(inbound_id, "message")
    inbound = InboundMail.objects.filter(pk=pk).first()
    if inbound is None:
        raise NotFound(f"no inbound message with id '{inbound_id}'")
    return inbound


def _require_reader(user: Any, inbound: InboundMail) -> None:
    if inbound.customer_id is not None:
        get_customer_for(user, inbound.customer_id)
    else:
        require_mail_supervisor(user)


def get_message_for(user: Any, inbound_id: str | uuid.UUID) -> InboundMail:
    """An inbound message as shown to staff (cleaned HTML, attachments)."""
    require_staff(user)
    pk = parse_uuid(inbound_id, "message")
    inbound = InboundMail.objects.filter(pk=pk).prefetch_related("attachments").first()
    if inbound is None:
        raise NotFound(f"no inbound message with id '{inbound_id}'")
    _require_reader(user, inbound)
    return inbound


def get_attachment_for(user: Any, attachment_id: str | uuid.UUID) -> MailAttachment:
    require_staff(user)
    pk = parse_uuid(attachment_id, "attachment")
    attachment = MailAttachment.objects.select_related("inbound").filter(pk=pk).first()
    if attachment is None:
        raise NotFound(f"no attachment with id '{attachment_id}'")
    try:
        _require_reader(user, attachment.inbound)
    except PermissionDenied:
        raise NotFound(f"no attachment with id '{attachment_id}'") from None
    return attachment


def message_for_event(user: Any, event_id: uuid.UUID) -> InboundMail | None:
    require_staff(user)
    return InboundMail.objects.filter(event_id=event_id).order_by("received_at").first()
