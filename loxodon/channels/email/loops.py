"""Mail we must never answer automatically: auto-replies, lists, bounces, our own mail.

An out-of-office answering our acknowledgement, which answers it again, is how mail loops
start. Every inbound message is checked here once, and the reasons are stored with it
(`flags["no_reply"]`). Anything that sends an automatic message in answer to inbound mail
must ask `may_auto_reply(inbound)` first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from loxodon.channels.email import tokens
from loxodon.channels.email.parsing import ParsedMail

if TYPE_CHECKING:
    from loxodon.channels.email.models import InboundMail

_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_BULK = frozenset({"bulk", "junk", "list", "auto_reply"})
# At most one automatic answer per address within this window, whatever the headers say.
AUTO_REPLY_WINDOW = timedelta(hours=1)


def support_address() -> str:
    return str(settings.LOXODON_SUPPORT_EMAIL).strip().lower()


def is_our_address(address: str) -> bool:
    """Our support address, with or without a `+token` part."""
    ours_local, _, ours_domain = support_address().rpartition("@")
    local, _, domain = address.strip().lower().rpartition("@")
    return domain == ours_domain and local.split("+", 1)[0] == ours_local


def is_bounce(mail: ParsedMail) -> bool:
    """A delivery status notification (RFC 3464) or a message from a mailer daemon."""
    sender_local = mail.from_address.lower().rpartition("@")[0]
    return (
        mail.is_report
        or sender_local in _DAEMONS
        or bool(mail.headers.get("x-failed-recipients"))
        or mail.envelope_from.strip() in ("<>",)
    )


def no_reply_reasons(mail: ParsedMail) -> list[str]:
    """Why this message must never get an automatic answer (empty: it may)."""
    reasons: list[str] = []
    h = mail.headers
    for value in h.get("auto-submitted", []):
        if value.split(";")[0].strip().lower() != "no":
            reasons.append(f"auto-submitted: {value.strip()[:60]}")
            break
    if h.get("x-autoreply") or h.get("x-autorespond"):
        reasons.append("auto-reply header")
    for value in h.get("precedence", []):
        if value.strip().lower() in _BULK:
            reasons.append(f"precedence: {value.strip().lower()}")
            break
    ours = support_address()
    if any(ours in value.lower() for value in h.get("x-loop", [])):
        reasons.append("x-loop: already passed through us")
    if h.get("list-id") or h.get("list-unsubscribe"):
        reasons.append("mailing list")
    if is_bounce(mail):
        reasons.append("bounce")
    if tokens.is_our_message_id(mail.message_id):
        reasons.append("our own message came back")
    if mail.from_address and is_our_address(mail.from_address):
        reasons.append("sent from our own address")
    if not mail.from_address:
        reasons.append("no sender address")
    return reasons


def may_auto_reply(inbound: InboundMail) -> bool:
    """May we send an automatic answer to this inbound message?

    Only for a message that is on a timeline, carries none of the no-reply signs, comes from
    an outside address, and whose sender got no automatic answer from us in the last hour.
    """
    from loxodon.channels.email.models import InboundMail, InboundStatus

    if inbound.status != InboundStatus.PROCESSED or inbound.event_id is None:
        return False
    if inbound.no_reply_reasons or not inbound.from_address:
        return False
    if is_our_address(inbound.from_address):
        return False
    recent = timezone.now() - AUTO_REPLY_WINDOW
    return not (
        InboundMail.objects.filter(
            from_address=inbound.from_address, flags__auto_replied_at__gte=recent.isoformat()
        )
        .exclude(pk=inbound.pk)
        .exists()
    )
