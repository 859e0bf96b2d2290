"""Mail held for staff: kept, on no customer's timeline, and sent no answer.

A message is quarantined (status `quarantined`, listed for supervisors at /desk/mail/, released
by reprocessing it there) when putting it on a timeline could help an attacker:

- **Sender authentication failed.** The mail server in front of us checked SPF/DKIM/DMARC and
  wrote its verdict in an `Authentication-Results` header (RFC 8601). A failure for a server
  we trust (`LOXODON_MAIL_AUTHSERV_IDS`, by default our support domain) means the From is
  forged. A verdict is only ever used against a message, never to trust one, so an
  attacker's own header gains them nothing.
- **A reply on a case copied to outsiders.** A correctly signed reply token from the case's
  customer's own address would be put on the case as their words. When that message is also
  addressed (To/Cc) to someone who is neither us nor that customer, it is how a forged reply
  looks (the attacker copies themselves in to see the conversation): staff decide.
- **Too much mail from one sender.** More than `LOXODON_MAIL_SENDER_RATE` ("count/period",
  e.g. "30/h") messages from one address put on a timeline within the period: the rest are
  kept for staff, so a flood or an auto-reply storm opens nothing and answers nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from loxodon.channels.email import loops
from loxodon.channels.email.parsing import ParsedMail
from loxodon.core.errors import InvalidInput
from loxodon.customers.models import Identity, IdentityKind
from loxodon.customers.normalise import normalise_email

_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)
_FAILED = frozenset({"fail", "softfail", "permerror"})
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def trusted_authserv_ids() -> frozenset[str]:
    """The mail servers whose Authentication-Results we act on (RFC 8601 authserv-id)."""
    configured = getattr(settings, "LOXODON_MAIL_AUTHSERV_IDS", None)
    if configured is None:
        configured = [loops.support_address().rpartition("@")[2]]
    elif isinstance(configured, str):
        configured = configured.split(",")
    return frozenset(str(v).strip().lower() for v in configured if str(v).strip())


def authentication_failure(mail: ParsedMail) -> str | None:
    """Why a trusted server says the sender is not who the From claims (None: no such verdict)."""
    trusted = trusted_authserv_ids()
    for value in mail.headers.get("authentication-results", []):
        server, _, results = value.partition(";")
        if server.strip().split(" ")[0].lower() not in trusted:
            continue
        verdicts: dict[str, str] = {}
        for method, result in _RESULT.findall(results):
            verdicts.setdefault(method.lower(), result.lower())
        if verdicts.get("dmarc") == "fail":
            return f"sender authentication failed at {server.strip()[:80]}: dmarc=fail"
        checked = [verdicts[m] for m in ("spf", "dkim") if m in verdicts]
        if checked and "pass" not in checked and _FAILED & set(checked):
            shown = ", ".join(f"{m}={verdicts[m]}" for m in ("spf", "dkim") if m in verdicts)
            return f"sender authentication failed at {server.strip()[:80]}: {shown}"
    return None


def outside_recipients(mail: ParsedMail, customer_id: uuid.UUID) -> list[str]:
    """Addresses the message was also sent to that are neither ours (any address at our
    support domain) nor the customer's."""
    own = set(
        Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.EMAIL).values_list(
            "value", flat=True
        )
    )
    our_domain = loops.support_address().rpartition("@")[2]
    outside: list[str] = []
    for address in [*mail.to, *mail.cc]:
        try:
            normalised = normalise_email(address)
        except InvalidInput:
            normalised = address.strip().lower()
        if normalised.rpartition("@")[2] == our_domain:  # any address of ours (sales@, ...)
            continue
        if normalised in own or normalised in outside:
            continue
        outside.append(normalised)
    return outside[:10]


def sender_rate() -> tuple[int, timedelta]:
    """LOXODON_MAIL_SENDER_RATE as (count, period)."""
    text = str(getattr(settings, "LOXODON_MAIL_SENDER_RATE", "30/h")).strip().lower()
    m = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([smhd])", text)
    if m is None or int(m[1]) < 1:
        raise ImproperlyConfigured(
            f"LOXODON_MAIL_SENDER_RATE must look like '30/h' (count/s, m, h or d), not '{text}'"
        )
    return int(m[1]), timedelta(seconds=int(m[2] or 1) * _PERIODS[m[3]])


def over_sender_rate(sender: str, *, exclude: uuid.UUID) -> str | None:
    """Why this sender's message is over their limit (None: within it)."""
    from loxodon.channels.email.models import InboundMail, InboundStatus

    limit, period = sender_rate()
    since = timezone.now() - period
    on_timelines = (
        InboundMail.objects.filter(
            from_address=sender, status=InboundStatus.PROCESSED, received_at__gte=since
        )
        .exclude(pk=exclude)
        .count()
    )
    if on_timelines < limit:
        return None
    return (
        f"more than {limit} messages from {sender} within {_period_words(period)}: "
        "kept for staff, on no timeline, no case opened, nothing sent"
    )


def _period_words(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}" if n != 1 else f"one {unit}"
    return f"{seconds} seconds"
