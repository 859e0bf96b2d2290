"""One voice: every write to the outbox, and the worker's job that sends it (ADR 0009).

Rules, enforced here under the case row lock (case first, then its messages):
- Nothing goes to the customer without an owner: a case without one is 409.
- Only the owner writes `reply`, `question` and `resolution_check` (403 for anyone else).
  Everyone else queues an `update`, which is never sent on its own: updates wait for the digest
  window (`LOXODON_DIGEST_WINDOW_SECONDS` from the first update) and then go out as one message
  from the owner — or earlier, folded into the owner's next message.
- An update that asks the customer to close or confirm (`CLOSE_REQUEST_PATTERNS`) is refused:
  the owner confirms resolution with the customer (a `resolution_check`).
- At most one open ask (question or resolution check) per case, also a partial unique index.
  `record_customer_reply` / `answer_question` close it.
- Sending claims rows with a status transition (`queued → sending`) under the case lock before
  any SMTP traffic, so a message goes out at most once whatever the number of workers. SMTP
  errors are retried with backoff (`RETRY_DELAYS`), then the message fails; so does one for a
  customer without an email address. A failure is shown on the case and noted on its stream.
- Every sent message is one `message` event (channel email) on the customer's timeline.
"""

from __future__ import annotations

import logging
import re
import smtplib
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.cases.models import Case, CaseStatus
from loxodon.channels.email import tokens
from loxodon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loxodon.core.event_types import Channel
from loxodon.customers.models import Identity, IdentityKind
from loxodon.org.models import Role, User
from loxodon.outbound import events, tasks
from loxodon.outbound.models import (
    ASK_KINDS,
    LIVE_STATUSES,
    OWNER_KINDS,
    MessageKind,
    MessageStatus,
    OutboundMessage,
)
from loxodon.sla.schedule import schedule_sla_check
from loxodon.timeline.models import Event

log = logging.getLogger(__name__)

MAX_BODY = 20_000
# After a failed SMTP attempt n (1-based) the next one waits RETRY_DELAYS[n-1] seconds; after
# len(RETRY_DELAYS) + 1 attempts the message fails for good.
RETRY_DELAYS = (60, 300, 1800, 7200)
# A message still "sending" this long after it was claimed belongs to a worker that died
# mid-send: we cannot know whether it went out, so it fails (never resent automatically).
STALE_SENDING = timedelta(minutes=15)
SMTP_TIMEOUT_SECONDS = 30  # unless settings.EMAIL_TIMEOUT says otherwise
# Department updates never ask the customer to close or confirm: only the owner does, with a
# resolution check. A deliberately small list of the phrasings we have seen; case-insensitive.
CLOSE_REQUEST_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(can|could|may|shall|should)\s+(i|we)\s+(now\s+)?close\b",
        r"\b(ok|okay|alright|fine)\s+(for\s+(us|me)\s+)?to\s+close\b",
        r"\bclose\s+(your|the|this|this\s+support)\s+(ticket|case|request|issue|enquiry|query)\b",
        r"\b(mark|set)\s+(it|this|the\s+\w+)\s+(as\s+)?(resolved|solved|closed|done)\b",
        r"\bconfirm\s+(that\s+)?(it|this|everything|the\s+\w+)\s+(is|has\s+been|was)\s+"
        r"(now\s+)?(resolved|solved|fixed|working)\b",
    )
)


# --- helpers ----------------------------------------------------------------------------------


def _lock_case(case_id: uuid.UUID) -> Case:
    """The case under a row lock: every outbox write for a case is serialised on it."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("owner", "customer", "site")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(f"no case with id '{case_id}'")
    return case


def _clean_body(body: str, what: str = "body") -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidInput(f"{what} is required and must not be empty")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"{what} is longer than {MAX_BODY} characters")
    return text


def asks_to_close(text: str) -> bool:
    """True when the text asks the customer to let us close / confirm the case."""
    return any(p.search(text) for p in CLOSE_REQUEST_PATTERNS)


def _open_ask(case: Case) -> OutboundMessage | None:
    return (
        OutboundMessage.objects.filter(
            case=case, kind__in=ASK_KINDS, status__in=LIVE_STATUSES, answered_at__isnull=True
        )
        .order_by("created_at")
        .first()
    )


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%d %b %H:%M")


def _wake_worker(when: datetime) -> None:
    """After commit, enqueue the sending job to run at `when` (now if it is already due)."""

    def enqueue() -> None:
        job = tasks.deliver_due_messages
        if when > timezone.now():
            if not job.get_backend().supports_defer:
                # The immediate backend (development) cannot wait: the next run sends it.
                return
            job = job.using(run_after=when)
        job.enqueue()

    # robust: a queue that is down must not undo a committed message (it stays queued and
    # goes out with the next run).
    transaction.on_commit(enqueue, robust=True)


# --- queueing ---------------------------------------------------------------------------------


@transaction.atomic
def queue_message(
    *, case: Case, author: User, body: str, kind: str | None = None
) -> OutboundMessage:
    """Queue a message to the case's customer.

    `kind` defaults to `reply` for the case owner and `update` for everyone else.
    """
    body = _clean_body(body)
    case = _lock_case(case.pk)
    if case.owner_id is None or case.owner is None:
        raise Conflict("assign an owner first: messages to the customer go out from the owner")
    owner = case.owner
    kind = kind or (MessageKind.REPLY if author.pk == owner.pk else MessageKind.UPDATE)
    if kind not in (*OWNER_KINDS, MessageKind.UPDATE):
        choices = ", ".join([*OWNER_KINDS, MessageKind.UPDATE])
        raise InvalidInput(f"kind must be one of: {choices}")
    if kind in OWNER_KINDS and author.pk != owner.pk:
        raise PermissionDenied(
            f"only the case owner ({owner.display_name}) writes to the customer directly; "
            "queue a department update instead: it goes out in the owner's next message"
        )
    now = timezone.now()
    send_after = now
    wake = True
    if kind == MessageKind.UPDATE:
        _check_update(case, body)
        window_start = (
            OutboundMessage.objects.filter(
                case=case, kind=MessageKind.UPDATE, status=MessageStatus.QUEUED
            )
            .order_by("send_after")
            .values_list("send_after", flat=True)
            .first()
        )
        # Updates join the window the first queued update opened; they all go out together.
        send_after = window_start or now + timedelta(seconds=settings.LOXODON_DIGEST_WINDOW_SECONDS)
        wake = window_start is None  # the window's opener already woke the worker
    elif kind in ASK_KINDS:
        _check_ask(case, kind, now)
    message = _create(
        case=case,
        author=author,
        kind=kind,
        body=body,
        send_after=send_after,
    )
    if kind == MessageKind.QUESTION and case.can_wait():
        case_services.set_waiting(
            case=case, on="customer", actor=author, reason=f"asked: {body.splitlines()[0][:200]}"
        )
    if wake:
        _wake_worker(send_after)
    return message


def _create(
    *, case: Case, author: User, kind: str, body: str, send_after: datetime
) -> OutboundMessage:
    try:
        with transaction.atomic():
            return OutboundMessage.objects.create(
                case=case,
                customer_id=case.customer_id,
                author=author,
                department_id=author.department_id,
                kind=kind,
                body=body,
                send_after=send_after,
            )
    except IntegrityError:
        # The partial unique index: a concurrent ask won (the case lock makes this rare).
        raise Conflict("this case already has an open question to the customer") from None


def _check_update(case: Case, body: str) -> None:
    if case.is_finished:
        raise Conflict(
            f"this case is {case.get_status_display().lower()}: department updates are no "
            "longer sent; the owner can still reply",
            status=case.status,
        )
    if asks_to_close(body):
        raise InvalidInput(
            "department updates cannot ask the customer to close or confirm the case: the "
            "case owner confirms resolution with the customer. Say what was done instead."
        )


def _check_ask(case: Case, kind: str, now: datetime) -> None:
    if kind == MessageKind.RESOLUTION_CHECK and not case.can_confirm():
        raise Conflict(
            "propose a resolution first: ask the customer whether it is solved once we "
            "believe it is",
            status=case.status,
        )
    if kind == MessageKind.QUESTION and case.is_finished:
        raise Conflict(
            f"this case is {case.get_status_display().lower()}: reopen it to ask the customer",
            status=case.status,
        )
    open_ask = _open_ask(case)
    if open_ask is None:
        return
    if (
        open_ask.kind == MessageKind.RESOLUTION_CHECK
        and case.status != CaseStatus.RESOLUTION_PROPOSED
    ):
        # "Is it solved?" no longer stands (confirmed, reopened or closed since): superseded.
        open_ask.answered_at = now
        open_ask.save(update_fields=["answered_at", "updated_at"])
        return
    raise Conflict(
        "there is already an open question to the customer on this case (asked "
        f"{_when(open_ask.created_at)}): wait for their answer, or mark it answered, before "
        "asking another",
        open_question_id=str(open_ask.pk),
    )


def ask_customer(*, case: Case, author: User, question: str) -> OutboundMessage:
    """The owner asks the customer something; the case waits on the customer. One at a time."""
    return queue_message(case=case, author=author, body=question, kind=MessageKind.QUESTION)


@transaction.atomic
def answer_question(
    *, case: Case, actor: User | None, event_id: uuid.UUID | None = None
) -> OutboundMessage:
    """Record that the customer answered the open question (e.g. by phone), optionally linking
    the contact event it came in. 409 when no question is open."""
    case = _lock_case(case.pk)
    ask = _open_ask(case)
    if ask is None:
        raise Conflict("there is no open question to the customer on this case")
    event = None
    if event_id is not None:
        event = Event.objects.filter(pk=event_id, customer_id=case.customer_id).first()
        if event is None:
            raise NotFound(f"no event '{event_id}' on this customer's timeline")
    ask.answered_at = timezone.now()
    ask.answer_event = event
    ask.save(update_fields=["answered_at", "answer_event", "updated_at"])
    if case.status == CaseStatus.WAITING_ON_CUSTOMER:
        case_services.set_waiting(case=case, on="us", actor=actor, reason="the customer answered")
    return ask


def record_customer_reply(case_id: uuid.UUID, event_id: uuid.UUID | None = None) -> None:
    """The customer wrote back on this case (any channel; the inbound channels call this after
    attaching their event): the open question, if any, is answered and, if we were waiting on
    them, it is our move again. Idempotent: a repeat changes nothing."""
    with transaction.atomic():
        case = _lock_case(case_id)
        if _open_ask(case) is not None:
            answer_question(case=case, actor=None, event_id=event_id)
        elif case.status == CaseStatus.WAITING_ON_CUSTOMER:
            case_services.set_waiting(case=case, on="us", actor=None, reason="the customer replied")


def _may_manage(message: OutboundMessage, case: Case, actor: User) -> bool:
    return actor.pk in (message.author_id, case.owner_id) or actor.role in (
        Role.SUPERVISOR,
        Role.ADMIN,
    )


@transaction.atomic
def cancel_message(*, message: OutboundMessage, actor: User) -> OutboundMessage:
    """Stop a queued message. Updates it was carrying go back to the queue (nothing lost)."""
    case = _lock_case(message.case_id)
    message = OutboundMessage.objects.select_for_update(of=("self",)).get(pk=message.pk)
    if not _may_manage(message, case, actor):
        raise PermissionDenied("only its author, the case owner or a supervisor may cancel it")
    if not message.can_cancel():
        raise Conflict(
            f"only a queued message can be cancelled; this one is {message.status}",
            status=message.status,
        )
    message.status = MessageStatus.CANCELLED
    message.cancelled_by = actor
    message.save(update_fields=["status", "cancelled_by", "updated_at"])
    now = timezone.now()
    carried = OutboundMessage.objects.filter(digest=message).update(
        status=MessageStatus.QUEUED, digest=None, send_after=now, updated_at=now
    )
    if carried:
        _wake_worker(now)
    return message


@transaction.atomic
def retry_message(*, message: OutboundMessage, actor: User) -> OutboundMessage:
    """Send a failed message again (e.g. once the customer has an email address)."""
    case = _lock_case(message.case_id)
    message = OutboundMessage.objects.select_for_update(of=("self",)).get(pk=message.pk)
    if case.owner_id is None or actor.pk != case.owner_id:
        raise PermissionDenied("only the case owner sends a failed message again")
    if not message.can_retry():
        raise Conflict(
            f"only a failed message can be sent again; this one is {message.status}",
            status=message.status,
        )
    now = timezone.now()
    if message.kind in ASK_KINDS:
        _check_ask(case, message.kind, now)
    message.status = MessageStatus.QUEUED
    message.send_after = now
    message.attempts = 0
    message.error = ""
    try:
        with transaction.atomic():
            message.save(update_fields=["status", "send_after", "attempts", "error", "updated_at"])
    except IntegrityError:
        raise Conflict("this case already has an open question to the customer") from None
    _wake_worker(now)
    return message


# --- sending (the worker) ----------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    folded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def send_due_messages(*, now: datetime | None = None, limit: int = 500) -> SendReport:
    """Send everything due at `now` (default: the current time), case by case.

    Department updates wait until their window has passed, unless an owner message to the same
    case is due: then they are folded into it. `now` lets tests move time without sleeping.
    """
    now = now or timezone.now()
    report = SendReport()
    _fail_stale(now, report)
    case_ids = list(
        OutboundMessage.objects.filter(status=MessageStatus.QUEUED, send_after__lte=now)
        .order_by("send_after")
        .values_list("case_id", flat=True)[:limit]
    )
    for case_id in dict.fromkeys(case_ids):  # distinct, oldest first
        for message_id in _claim(case_id, now, report):
            _deliver(message_id, report)
    return report


def _fail_stale(now: datetime, report: SendReport) -> None:
    stale = OutboundMessage.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lt=now - STALE_SENDING
    ).values_list("pk", flat=True)
    for message_id in list(stale):
        _finish_failed(
            message_id,
            "delivery unknown: the worker stopped while sending; check with the customer "
            "before sending it again",
            report,
            only_if=MessageStatus.SENDING,
        )


def _claim(case_id: uuid.UUID, now: datetime, report: SendReport) -> list[uuid.UUID]:
    """Under the case lock: fold due department updates into one carrier and move every due
    message from `queued` to `sending`. Whatever another worker claimed first is skipped."""
    with transaction.atomic():
        case = _lock_case(case_id)
        queued = list(
            OutboundMessage.objects.select_for_update(of=("self",))
            .filter(case=case, status=MessageStatus.QUEUED)
            .select_related("department", "author")
            .order_by("created_at", "id")
        )
        direct = [m for m in queued if m.kind != MessageKind.UPDATE and m.send_after <= now]
        updates = [m for m in queued if m.kind == MessageKind.UPDATE]
        if updates and (direct or min(u.send_after for u in updates) <= now):
            carrier = _carrier(case, direct, updates, now)
            if carrier is not None:
                for update in updates:
                    update.status = MessageStatus.FOLDED
                    update.digest = carrier
                    update.save(update_fields=["status", "digest", "updated_at"])
                report.folded += len(updates)
                if carrier not in direct:
                    direct.append(carrier)
        claimed_at = timezone.now()
        for message in direct:
            message.status = MessageStatus.SENDING
            message.claimed_at = claimed_at
            message.attempts += 1
            message.subject = _subject(case)
            message.message_id = tokens.message_id(case.pk, message.pk)
            message.save(
                update_fields=[
                    "status",
                    "claimed_at",
                    "attempts",
                    "subject",
                    "message_id",
                    "updated_at",
                ]
            )
        return [m.pk for m in direct]


def _carrier(
    case: Case,
    direct: list[OutboundMessage],
    updates: list[OutboundMessage],
    now: datetime,
) -> OutboundMessage | None:
    """The message department updates go out in: the owner's due message, else a digest."""
    for message in direct:
        if message.kind in OWNER_KINDS:
            return message
        if message.kind == MessageKind.DIGEST:  # a digest being retried takes the new ones too
            folded = [*message.folded.select_related("department", "author"), *updates]
            message.body = _digest_text(case, folded)
            message.save(update_fields=["body", "updated_at"])
            return message
    if case.owner is None:  # cannot happen past `new` (check constraint); keep them queued
        return None
    return OutboundMessage.objects.create(
        case=case,
        customer_id=case.customer_id,
        author=case.owner,
        department_id=case.owner.department_id,
        kind=MessageKind.DIGEST,
        body=_digest_text(case, updates),
        send_after=now,
    )


def _label(update: OutboundMessage) -> str:
    return update.department.name if update.department else update.author.display_name


def _updates_section(updates: list[OutboundMessage]) -> str:
    lines = "\n".join(f"- {_label(u)}: {u.body}" for u in updates)
    return f"Here is where things stand:\n\n{lines}"


def _digest_text(case: Case, updates: list[OutboundMessage]) -> str:
    name = case.customer.first_name or case.customer.name
    return f"Hello {name},\n\n{_updates_section(updates)}"


def _org_name() -> str:
    return str(getattr(settings, "LOXODON_ORG_NAME", "Loxodon"))


def _subject(case: Case) -> str:
    return f"{case.title} [case {case.pk.hex[:8]}]"


def _text(message: OutboundMessage, folded: list[OutboundMessage]) -> str:
    """The email body exactly as sent: the message (plus folded updates) and the signature."""
    text = message.body
    if folded and message.kind != MessageKind.DIGEST:
        text = f"{text}\n\n{_updates_section(folded)}"
    return f"{text}\n\n-- \n{message.author.display_name}\n{_org_name()}\n"


def _customer_email(customer_id: uuid.UUID) -> str | None:
    """The customer's best email: a verified one first, else the most recent unverified."""
    return (
        Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.EMAIL)
        .order_by("-verified", "-created_at")
        .values_list("value", flat=True)
        .first()
    )


def _latest_inbound_message_id(case_id: uuid.UUID) -> str | None:
    """The Message-ID of the customer's latest email on this case, to thread our answer."""
    payloads = (
        Event.objects.filter(case_id=case_id, channel=Channel.EMAIL, kind="message")
        .order_by("-occurred_at", "-id")
        .values_list("payload", flat=True)[:20]
    )
    for payload in payloads:
        if not isinstance(payload, dict) or payload.get("direction") in ("outbound", "out"):
            continue
        value = str(payload.get("message_id") or "").strip()
        if value and not tokens.is_our_message_id(value):
            return value
    return None


def _email(message: OutboundMessage, text: str, to: str) -> EmailMessage:
    case = message.case
    support = str(settings.LOXODON_SUPPORT_EMAIL)
    headers = {"Message-ID": message.message_id}
    in_reply_to = _latest_inbound_message_id(case.pk)
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
        headers["References"] = in_reply_to
    return EmailMessage(
        subject=message.subject,
        body=text,
        from_email=formataddr((f"{message.author.display_name} via {_org_name()}", support)),
        to=[to],
        reply_to=[tokens.reply_address(case.pk)],
        headers=headers,
    )


def _deliver(message_id: uuid.UUID, report: SendReport) -> None:
    """Send one claimed message over SMTP (outside any transaction), then record the outcome."""
    message = (
        OutboundMessage.objects.select_related("case__customer", "case__site", "author")
        .filter(pk=message_id, status=MessageStatus.SENDING)
        .first()
    )
    if message is None:
        return
    folded = list(message.folded.select_related("department", "author").order_by("created_at"))
    to = _customer_email(message.case.customer_id)
    if to is None:
        _finish_failed(
            message_id,
            "the customer has no email address: add one on the customer page, then send "
            "the message again",
            report,
        )
        return
    text = _text(message, folded)
    try:
        mail = _email(message, text, to)
        mail.message()  # render now: a header Django refuses (e.g. a newline) fails for good
    except (ValueError, UnicodeError) as exc:
        _finish_failed(message_id, f"could not be written as an email: {exc}", report)
        return
    try:
        timeout = settings.EMAIL_TIMEOUT or SMTP_TIMEOUT_SECONDS
        get_connection(fail_silently=False, timeout=timeout).send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        _finish_failed(message_id, f"the mail server refused {to}: {_smtp_reason(exc)}", report)
    except smtplib.SMTPResponseException as exc:
        reason = f"mail server said {exc.smtp_code} {_decode(exc.smtp_error)}"
        if 500 <= exc.smtp_code < 600:
            _finish_failed(message_id, reason, report)
        else:
            _retry_later(message_id, reason, report)
    except (smtplib.SMTPException, OSError) as exc:
        _retry_later(message_id, f"could not reach the mail server: {exc}", report)
    else:
        _finish_sent(message_id, text=text, to=to, folded=folded, report=report)


def _case_of(message_id: uuid.UUID) -> uuid.UUID:
    case_id: uuid.UUID = OutboundMessage.objects.values_list("case_id", flat=True).get(
        pk=message_id
    )
    return case_id


def _decode(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _smtp_reason(exc: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{code} {_decode(msg)}" for code, msg in exc.recipients.values())


def _finish_sent(
    message_id: uuid.UUID,
    *,
    text: str,
    to: str,
    folded: list[OutboundMessage],
    report: SendReport,
) -> None:
    with transaction.atomic():
        _lock_case(_case_of(message_id))
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("case__site", "author")
            .get(pk=message_id)
        )
        if message.status != MessageStatus.SENDING:  # failed as stale meanwhile: it did go out
            log.warning("message %s was sent while marked %s", message_id, message.status)
        sent_at = timezone.now()
        message.to_address = to
        message.event = events.message_sent(message, text=text, folded=folded, sent_at=sent_at)
        case_id = message.case_id
        transaction.on_commit(lambda: schedule_sla_check(case_id))  # a response meets a target
        message.status = MessageStatus.SENT
        message.sent_at = sent_at
        message.error = ""
        message.save(
            update_fields=["status", "sent_at", "to_address", "event", "error", "updated_at"]
        )
    report.sent += 1


def _retry_later(message_id: uuid.UUID, reason: str, report: SendReport) -> None:
    with transaction.atomic():
        _lock_case(_case_of(message_id))
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("case__site")
            .get(pk=message_id)
        )
        if message.status != MessageStatus.SENDING:
            return
        if message.attempts > len(RETRY_DELAYS):
            message.error = f"gave up after {message.attempts} attempts: {reason}"
            _mark_failed(message)
            report.failed += 1
            return
        retry_at = timezone.now() + timedelta(seconds=RETRY_DELAYS[message.attempts - 1])
        message.status = MessageStatus.QUEUED
        message.send_after = retry_at
        message.error = f"attempt {message.attempts} failed: {reason}"
        message.save(update_fields=["status", "send_after", "error", "updated_at"])
        _wake_worker(retry_at)
    report.retrying += 1


def _finish_failed(
    message_id: uuid.UUID,
    reason: str,
    report: SendReport,
    *,
    only_if: str = MessageStatus.SENDING,
) -> None:
    with transaction.atomic():
        _lock_case(_case_of(message_id))
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("case__site")
            .get(pk=message_id)
        )
        if message.status != only_if:
            return
        message.error = reason
        _mark_failed(message)
    report.failed += 1


def _mark_failed(message: OutboundMessage) -> None:
    message.status = MessageStatus.FAILED
    message.save(update_fields=["status", "error", "updated_at"])
    events.message_failed(message)
