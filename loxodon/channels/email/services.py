"""Inbound email, from the spool to the customer's timeline. Nothing is ever lost.

The flow, for each raw message the SMTP listener or the IMAP poller spooled into `new/`:

1. **Claim** the file by renaming it into `work/` (only one process can win the rename).
   A file left in `work/` by a crash is put back into `new/` after ten minutes.
2. **One row per distinct message**: an `InboundMail` keyed by the SHA-256 of the bytes, so the
   same bytes delivered again (SMTP retry, IMAP re-fetch) are recognised at once.
3. **Read** it (`parsing.parse_message`), check the no-reply signs (`loops.py`) and the
   **threading**: only a correctly signed reply token (in a recipient address, or one of our
   Message-IDs quoted in In-Reply-To/References) names a case, and only if the sender's address
   is one of that case's customer's identities. Anyone else — a forwarded reply, a spoofed
   From, a stolen "[#1234]" subject — starts a new conversation on their own (possibly new,
   unverified) customer; the event notes that a case reference was present, so staff can see
   it, and the sender learns nothing about the case.
4. **Store** attachments within the size limits, then append the timeline event through
   `ingest_events` with `(source="email", external_id=<Message-ID>)`: a replay is one event.
   A Message-ID reused by a different message falls back to the message's SHA-256 as key.
5. The raw file moves to `cur/` (handled) or `failed/` (could not be processed). Failed mail is
   listed for supervisors, can be downloaded as `.eml` and reprocessed with the same code.

Some mail is **quarantined** instead (`quarantine.py`): kept and listed for supervisors, on no
timeline, answered by nothing — a From that the mail server in front of us found forged, a
customer's reply on their case that is also addressed to outsiders, and anything beyond
`LOXODON_MAIL_SENDER_RATE` from one sender. A supervisor releases it by reprocessing it.

Decisions on awkward mail: without a From address, the envelope sender stands in (and no
automatic answer is ever sent); without either the message is *failed* (kept, listed).
Bounces are put on the case they refer to (through our signed Message-ID) and otherwise
*ignored* (kept, listed under "ignored"); so is our own mail coming back to us.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.channels.email import events, loops, quarantine, tokens
from loxodon.channels.email.mail_spool import spool_dir
from loxodon.channels.email.models import InboundMail, InboundStatus, MailAttachment
from loxodon.channels.email.parsing import (
    ParsedMail,
    UnreadableMail,
    message_digest,
    parse_message,
    split_envelope,
)
from loxodon.core.errors import Conflict, DomainError, InvalidInput
from loxodon.core.faults import fault_point
from loxodon.customers.models import Identity, IdentityKind
from loxodon.customers.normalise import normalise_email
from loxodon.org.models import User
from loxodon.outbound.services import record_customer_reply
from loxodon.timeline.models import Event
from loxodon.timeline.services import ingest_events

log = logging.getLogger(__name__)

STALE_CLAIM_SECONDS = 600
MAX_ATTACHMENTS = 100
FOLDERS = ("new", "work", "cur", "failed")


# --- the spool -------------------------------------------------------------------------------


def _folder(name: str) -> Path:
    path = spool_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def locate_raw(spool_name: str) -> Path | None:
    """Where a spooled message's raw file is now (it moves between folders as it is handled)."""
    if not spool_name or "/" in spool_name or spool_name.startswith("."):
        return None
    for folder in FOLDERS:
        path = spool_dir() / folder / spool_name
        if path.is_file():
            return path
    return None


def _move(path: Path, folder: str) -> Path:
    target = _folder(folder) / path.name
    if path != target:
        os.replace(path, target)
    return target


def _claim(path: Path) -> Path | None:
    """Take a file from new/ for processing; None when another process was quicker."""
    try:
        return _move(path, "work")
    except FileNotFoundError:
        return None


def _recover_stale_claims() -> None:
    """Files a crashed process left in work/ go back to new/ (their rows say 'received')."""
    work = spool_dir() / "work"
    if not work.is_dir():
        return
    cutoff = time.time() - STALE_CLAIM_SECONDS
    for path in work.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                _move(path, "new")
        except FileNotFoundError:
            continue


def waiting_files() -> list[Path]:
    """Messages spooled and not yet handled, oldest first."""
    new = spool_dir() / "new"
    if not new.is_dir():
        return []
    found = []
    for path in new.iterdir():
        try:
            if path.is_file() and not path.name.startswith("."):
                found.append((path.stat().st_mtime, path.name, path))
        except FileNotFoundError:
            continue
    return [p for _, _, p in sorted(found)]


# --- processing ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What reading a message decided, before anything is written."""

    flags: dict[str, Any] = field(default_factory=dict)
    sender: str = ""
    case: Case | None = None
    attach_to_case: bool = False
    ignore_reason: str = ""
    quarantine_reason: str = ""


def process_spooled_mail(*, limit: int | None = None) -> list[InboundMail]:
    """Handle every message waiting in the spool (oldest first); returns their rows.

    Safe to run from several processes at once (the SMTP listener's worker, `process_mail`,
    `fetch_mail`): each file is claimed by one of them.
    """
    _recover_stale_claims()
    handled: list[InboundMail] = []
    for path in waiting_files():
        if limit is not None and len(handled) >= limit:
            break
        claimed = _claim(path)
        if claimed is None:
            continue
        handled.append(process_spool_file(claimed))
    return handled


def process_spool_file(path: Path) -> InboundMail:
    """Handle one claimed raw file (in work/): record it, put it on the timeline, file it away."""
    raw = path.read_bytes()
    envelope_from, envelope_to, message = split_envelope(raw)
    digest = message_digest(message)
    existing = InboundMail.objects.filter(sha256=digest).first()
    if existing is None:
        try:
            with transaction.atomic():
                inbound = InboundMail.objects.create(
                    received_at=timezone.now(),
                    spool_name=path.name,
                    sha256=digest,
                    size=len(message),
                    envelope_from=envelope_from[:500],
                    envelope_to=[a[:320] for a in envelope_to[:50]],
                )
        except IntegrityError:  # the same bytes arrived twice at the same moment
            existing = InboundMail.objects.get(sha256=digest)
    if existing is not None:
        return _repeat_delivery(existing, path, message)
    _apply(inbound, message)
    fault_point("mail.committed")
    _file_away(inbound, path)
    return inbound


def _repeat_delivery(existing: InboundMail, path: Path, message: bytes) -> InboundMail:
    """The same bytes again: one row, one event. Keep one raw copy (the first)."""
    if locate_raw(existing.spool_name) is None:
        existing.spool_name = path.name  # the first copy is gone: this one becomes the record
        existing.save(update_fields=["spool_name", "updated_at"])
    elif path.name != existing.spool_name:
        path.unlink(missing_ok=True)  # identical bytes are already kept
    if existing.status == InboundStatus.RECEIVED:  # a crash interrupted the first attempt
        _apply(existing, message)
    current = locate_raw(existing.spool_name)
    if current is not None:
        _file_away(existing, current)
    return existing


def _file_away(inbound: InboundMail, path: Path) -> None:
    _move(path, "failed" if inbound.status == InboundStatus.FAILED else "cur")


def _apply(inbound: InboundMail, message: bytes, *, release: bool = False) -> None:
    """Read the message and record the outcome on its row; never raises for bad mail.
    `release`: a supervisor let a quarantined message through (no quarantine checks)."""
    inbound.attempts += 1
    envelope_from, envelope_to = inbound.envelope_from, list(inbound.envelope_to or [])
    try:
        mail = parse_message(message)
    except UnreadableMail as exc:
        _fail(inbound, str(exc))
        return
    fault_point("mail.parsed")
    mail.envelope_from, mail.envelope_to = envelope_from, envelope_to
    # What staff need to recognise the message, kept even if processing fails below.
    inbound.message_id = mail.message_id[:500]
    inbound.subject = mail.subject[:500]
    inbound.from_address = mail.from_address[:320]
    inbound.defects = mail.defects[:50]
    stored: list[str] = []
    try:
        with transaction.atomic():
            _record(inbound, mail, stored, release=release)
            fault_point("mail.before_commit")
    except DomainError as exc:
        _forget_files(stored)
        _fail(inbound, exc.detail)
    except Exception as exc:  # one bad message must never stop the others: keep it, say why
        log.exception("inbound mail %s could not be processed", inbound.pk)
        _forget_files(stored)
        _fail(inbound, f"{type(exc).__name__}: {exc}")


def _fail(inbound: InboundMail, error: str) -> None:
    inbound.status = InboundStatus.FAILED
    inbound.error = error[:2000]
    inbound.processed_at = timezone.now()
    inbound.event = None
    inbound.save()


def _forget_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete stored attachment %s", name)


def _recipients(mail: ParsedMail) -> list[str]:
    return [*mail.envelope_to, *mail.to, *mail.cc, *mail.delivered_to]


def _bounce_case_id(mail: ParsedMail) -> uuid.UUID | None:
    """A bounce quotes the message that failed: look for our signed Message-ID in it."""
    quoted = [
        a.data[:200_000].decode("utf-8", "replace")
        for a in mail.attachments
        if a.content_type
        in ("message/rfc822", "text/rfc822-headers", "message/delivery-status", "text/plain")
    ]
    return tokens.case_from_references([*quoted, mail.text[:200_000]])


def _decide(mail: ParsedMail, *, release: bool = False) -> _Outcome:
    """Who sent it, which case it may belong to, and whether it goes on a timeline at all."""
    outcome = _Outcome()
    reasons = loops.no_reply_reasons(mail)
    if reasons:
        outcome.flags["no_reply"] = reasons
    bounce = loops.is_bounce(mail)
    if bounce:
        outcome.flags["bounce"] = True
    if mail.defects:
        outcome.flags["defects"] = mail.defects[:20]

    if tokens.is_our_message_id(mail.message_id) or (
        mail.from_address and loops.is_our_address(mail.from_address)
    ):
        outcome.ignore_reason = "our own mail came back to us (mail loop): not put on a timeline"
        return outcome

    case_id = tokens.case_from_addresses(_recipients(mail)) or tokens.case_from_references(
        [*mail.in_reply_to, *mail.references]
    )
    if case_id is None and bounce:
        case_id = _bounce_case_id(mail)
    case = Case.objects.filter(pk=case_id).first() if case_id else None
    if case_id is not None and case is None:
        outcome.flags["unknown_case"] = True

    if bounce:
        if case is None:
            outcome.ignore_reason = "a bounce that refers to none of our cases"
        else:
            outcome.case, outcome.attach_to_case = case, True
        return outcome

    raw_sender = mail.from_address
    if not raw_sender:
        envelope = mail.envelope_from.strip().strip("<>")
        if not envelope:
            raise InvalidInput(
                "no sender address (no From header and no envelope sender): "
                "whose message this is cannot be known"
            )
        raw_sender = envelope
        outcome.flags["from_missing"] = True
    try:
        outcome.sender = normalise_email(raw_sender)
    except InvalidInput:
        raise InvalidInput(f"the sender address '{raw_sender[:200]}' is not valid") from None

    if case is not None:
        outcome.case = case
        matches = Identity.objects.filter(
            customer_id=case.customer_id, kind=IdentityKind.EMAIL, value=outcome.sender
        ).exists()
        if matches:
            outcome.attach_to_case = True
        else:
            # Somebody else wrote with this case's reference: a new conversation, noted.
            outcome.flags["sender_mismatch"] = {"case_id": str(case.pk)}
    if not release:
        _check_authenticity(mail, outcome)
    return outcome


def _check_authenticity(mail: ParsedMail, outcome: _Outcome) -> None:
    """Hold mail whose From is forged, or a reply on a case that copies in outsiders."""
    failure = quarantine.authentication_failure(mail)
    if failure:
        outcome.flags["authentication_failed"] = failure
        outcome.quarantine_reason = failure
        return
    if outcome.case is not None and outcome.attach_to_case:
        outside = quarantine.outside_recipients(mail, outcome.case.customer_id)
        if outside:
            outcome.flags["outside_recipients"] = outside
            outcome.quarantine_reason = (
                "a reply on the case from the customer's address, also sent to "
                f"{', '.join(outside)}: held for staff (a forged reply looks like this)"
            )


def _occurred_at(mail: ParsedMail, inbound: InboundMail) -> datetime:
    date = mail.date
    if date is None or date > inbound.received_at + timedelta(days=1):
        return inbound.received_at
    return date


def _store_attachments(
    inbound: InboundMail, mail: ParsedMail, stored: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    per_file = int(getattr(settings, "LOXODON_MAX_ATTACHMENT_BYTES", 10 << 20))
    per_message = int(getattr(settings, "LOXODON_MAX_ATTACHMENTS_BYTES", 25 << 20))
    kept: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    total = 0
    for index, part in enumerate(mail.attachments):
        size = len(part.data)
        if index >= MAX_ATTACHMENTS:
            skipped.append(events.skipped_note(part.filename, size, "is one too many"))
            continue
        if size > per_file:
            skipped.append(events.skipped_note(part.filename, size, "exceeds the limit"))
            continue
        if total + size > per_message:
            skipped.append(
                events.skipped_note(part.filename, size, "exceeds the limit for one message")
            )
            continue
        total += size
        now = timezone.now()
        name = default_storage.save(
            f"mail/{now:%Y}/{now:%m}/{uuid.uuid4().hex}", ContentFile(part.data)
        )
        stored.append(name)
        row = MailAttachment.objects.create(
            inbound=inbound,
            filename=part.filename[:255] or "attachment",
            content_type=part.content_type[:255],
            size=size,
            sha256=message_digest(part.data),
            content_id=part.content_id[:255],
            storage_name=name,
        )
        entry: dict[str, Any] = {
            "id": str(row.pk),
            "filename": row.filename,
            "size": size,
            "content_type": row.content_type[:100],
        }
        if part.content_id:
            entry["inline"] = True
        if part.note:
            entry["note"] = part.note
        kept.append(entry)
    return kept, skipped


def _record(
    inbound: InboundMail, mail: ParsedMail, stored: list[str], *, release: bool = False
) -> None:
    outcome = _decide(mail, release=release)
    inbound.from_address = (outcome.sender or mail.from_address)[:320]
    inbound.html = mail.html
    inbound.flags = outcome.flags
    inbound.case = outcome.case
    inbound.error = ""
    inbound.processed_at = timezone.now()
    inbound.attachments.all().delete()  # an earlier failed attempt's rows (reprocessing)

    if outcome.ignore_reason:
        inbound.status = InboundStatus.IGNORED
        inbound.error = outcome.ignore_reason
        inbound.save()
        return

    key = events.external_id(mail, inbound.sha256)
    earlier = Event.objects.filter(source=events.SOURCE, external_id=key).first()
    if earlier is not None:
        if earlier.body == mail.text and earlier.payload.get("from") == mail.from_address:
            _mark_duplicate(inbound, earlier)
            return
        # Same Message-ID, different message (a careless or hostile sender): keep both.
        key = f"sha256:{inbound.sha256}"
        outcome.flags["message_id_reused"] = True

    if not release and not outcome.quarantine_reason and outcome.sender:
        over = quarantine.over_sender_rate(outcome.sender, exclude=inbound.pk)
        if over:
            outcome.flags["sender_rate"] = True
            outcome.quarantine_reason = over
    if outcome.quarantine_reason:
        inbound.status = InboundStatus.QUARANTINED
        inbound.error = outcome.quarantine_reason[:2000]
        inbound.save()
        return

    kept, skipped = _store_attachments(inbound, mail, stored)
    payload = events.payload_for(mail, attachments=kept, skipped=skipped, flags=outcome.flags)
    case = outcome.case if outcome.attach_to_case else None
    draft = events.message_draft(
        mail,
        key=key,
        occurred_at=_occurred_at(mail, inbound),
        payload=payload,
        case_id=case.pk if case else None,
        customer_id=case.customer_id if case else None,
        sender=outcome.sender,
    )
    try:
        (result,) = ingest_events([draft], indexed=False)
    except Conflict:
        # A concurrent worker stored this key first with other content: keep ours by hash.
        draft = events.message_draft(
            mail,
            key=f"sha256:{inbound.sha256}",
            occurred_at=draft.occurred_at,
            payload=payload,
            case_id=draft.case_id,
            customer_id=draft.customer_id,
            sender=outcome.sender,
        )
        (result,) = ingest_events([draft], indexed=False)
    if not result.created:  # a concurrent worker stored this very message first
        _forget_files_on_commit(stored)
        inbound.attachments.all().delete()
        _mark_duplicate(inbound, result.event)
        return
    inbound.status = InboundStatus.PROCESSED
    inbound.event = result.event
    inbound.customer_id = result.event.customer_id
    inbound.save()
    answered = not (outcome.flags.get("no_reply") or outcome.flags.get("bounce"))
    if result.event.case_id is not None and answered:
        # The customer wrote back on their case (an auto-reply or a bounce is not an answer):
        # the open question is answered and it is our move again.
        record_customer_reply(result.event.case_id, event_id=result.event.pk)


def _forget_files_on_commit(names: list[str]) -> None:
    copy = list(names)
    names.clear()
    transaction.on_commit(lambda: _forget_files(copy))


def _mark_duplicate(inbound: InboundMail, event: Event) -> None:
    inbound.status = InboundStatus.DUPLICATE
    inbound.event = event
    inbound.customer_id = event.customer_id
    inbound.case_id = event.case_id
    inbound.save()


def stored_text(inbound: InboundMail) -> str:
    """The plain text of a message that is on no timeline (held, ignored), read from its raw
    file for the supervisor deciding about it; "" when the file is gone or unreadable."""
    path = locate_raw(inbound.spool_name)
    if path is None:
        return ""
    try:
        return parse_message(split_envelope(path.read_bytes())[2]).text
    except UnreadableMail:
        return ""


def reprocess_inbound(*, inbound: InboundMail, actor: User | None) -> InboundMail:
    """Try a failed, ignored or quarantined message again with the current code and data; the
    raw file is read from the spool as it was received. A member of staff reprocessing a
    quarantined message releases it: it is processed without the quarantine checks."""
    with transaction.atomic():
        locked = InboundMail.objects.select_for_update().get(pk=inbound.pk)
        if not locked.can_reprocess():
            raise Conflict(
                f"this message is '{locked.status}': only failed, ignored or quarantined mail "
                "can be reprocessed"
            )
        release = locked.status == InboundStatus.QUARANTINED and actor is not None
        locked.status = InboundStatus.RECEIVED
        locked.save(update_fields=["status", "updated_at"])
    path = locate_raw(locked.spool_name)
    if path is None:
        _fail(locked, "the raw message file is missing from the spool")
        raise Conflict(f"the raw file {locked.spool_name} is missing from the mail spool")
    _, _, message = split_envelope(path.read_bytes())
    _apply(locked, message, release=release)
    if actor is not None:
        locked.flags = {**locked.flags, "reprocessed_by": actor.username}
        if release:
            locked.flags["released_by"] = actor.username
        locked.save(update_fields=["flags", "updated_at"])
    _file_away(locked, path)
    return locked
