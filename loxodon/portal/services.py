"""The portal's own writes: pins, labels, nicknames, attachments, messages and new requests.

Case status changes go through `loxodon.cases.services` (confirm, reopen, open); what the
customer writes on a case becomes an inbound `message` event on the web channel that wakes the
case exactly like an emailed reply (`outbound.services.record_customer_reply`). Callers pass
objects they fetched through `portal.selectors` (scoped to the customer); each function still
checks ownership, validates first and writes in one transaction.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from loxodon.cases import services as case_services
from loxodon.cases.models import Case
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import Conflict, InvalidInput
from loxodon.customers.models import Customer
from loxodon.insights.models import InvitationChannel, SurveyInvitation, Touchpoint
from loxodon.insights.services import invite_to_survey
from loxodon.outbound.services import record_customer_reply
from loxodon.portal import events
from loxodon.portal.models import Attachment, Label, Nickname, Pin, PortalLogin
from loxodon.timeline.models import Asset, Event

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_MESSAGE_CHARS = 10_000
MAX_LABEL_CHARS = 40
MAX_NICKNAME_CHARS = 60
# What a customer may attach, by extension; the stored content type comes from this table,
# never from the browser.
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ALLOWED_LIST = ", ".join(sorted(ALLOWED_TYPES))


def _owns_case(login: PortalLogin, case: Case) -> None:
    from loxodon.portal.access import cases_visible_to

    if not cases_visible_to(login).filter(pk=case.pk).exists():
        raise InvalidInput("that case is not yours")


def _text(text: str, what: str, limit: int) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is too long: at most {limit:,} characters")
    return text


# --- attachments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    data: bytes


def check_upload(upload: UploadedFile | None) -> CheckedUpload | None:
    """Size and type first (nothing is stored for a refused file)."""
    if upload is None:
        return None
    filename = os.path.basename((upload.name or "").replace("\\", "/")).strip()[:200]
    ext = os.path.splitext(filename)[1].lower()
    if not filename or ext not in ALLOWED_TYPES:
        raise InvalidInput(
            f"files of this type cannot be attached ({ext or 'no extension'}); "
            f"you can attach: {ALLOWED_LIST}"
        )
    if upload.size is None or upload.size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput("the file is too large: at most 10 MB")
    if upload.size == 0:
        raise InvalidInput("the file is empty")
    data = upload.read(MAX_ATTACHMENT_BYTES + 1)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput("the file is too large: at most 10 MB")
    return CheckedUpload(filename=filename, content_type=ALLOWED_TYPES[ext], data=data)


def _store(
    customer: Customer, case: Case, event: Event | None, upload: CheckedUpload
) -> Attachment:
    """The bytes under a random name; if the transaction fails the file is removed again."""
    name = default_storage.save(
        f"portal/attachments/{secrets.token_hex(16)}", ContentFile(upload.data)
    )
    try:
        return Attachment.objects.create(
            customer=customer,
            case=case,
            event=event,
            filename=upload.filename,
            content_type=upload.content_type,
            size=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            storage_name=name,
        )
    except Exception:
        default_storage.delete(name)
        raise


def open_attachment(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data


# --- messages on a case -----------------------------------------------------------------------


def post_message(
    *, login: PortalLogin, case: Case, text: str, upload: CheckedUpload | None = None
) -> Event:
    """My words (and optionally a file) on my case: an inbound web message the desk sees,
    which wakes the case like an emailed reply."""
    text = (text or "").strip()
    if not text and upload is None:
        raise InvalidInput("write a message or choose a file to attach")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"the message is too long: at most {MAX_MESSAGE_CHARS:,} characters")
    _owns_case(login, case)
    if case.is_finished:
        raise Conflict(
            "this case is closed: if the problem is back, say it's still not fixed, "
            "or send a new request"
        )
    stored_name: list[str] = []
    try:
        with transaction.atomic():
            event = events.portal_message(
                case.customer,
                case,
                text or (f"(attached {upload.filename})" if upload else ""),
                attachment=(upload.filename, len(upload.data)) if upload else None,
                written_by=login.customer,
            )
            if upload is not None:
                attachment = _store(login.customer, case, event, upload)
                stored_name.append(attachment.storage_name)
            record_customer_reply(case.pk, event_id=event.pk)
    except Exception:
        for name in stored_name:
            default_storage.delete(name)
        raise
    return event


# --- acting on a case -------------------------------------------------------------------------


def confirm_resolved(*, login: PortalLogin, case: Case) -> SurveyInvitation | None:
    """I confirm the problem is solved: `resolved_confirmed` via web, then a portal survey
    invitation about this case (None when I was surveyed recently)."""
    _owns_case(login, case)
    if not case.can_confirm():
        raise Conflict("there is no proposed resolution to confirm on this case")
    with transaction.atomic():
        case = case_services.confirm_resolution(case=case, via="web", actor=None)
        return invite_to_survey(
            case.customer, Touchpoint.SERVICE, case=case, channel=InvitationChannel.PORTAL
        )


def still_not_fixed(*, login: PortalLogin, case: Case, text: str) -> Case:
    """The case reopens with my words as the reason, and my words are a message from me."""
    text = _text(text, "tell us what is still wrong", MAX_MESSAGE_CHARS)
    _owns_case(login, case)
    if not case.can_reopen():
        raise Conflict("this case is still open: add a message instead")
    with transaction.atomic():
        events.portal_message(case.customer, case, text, not_fixed=True, written_by=login.customer)
        return case_services.reopen_case(case=case, reason=text, actor=None)


def new_request(*, login: PortalLogin, problem: str, upload: CheckedUpload | None = None) -> Case:
    """My words become a new case's problem (and the file, if any, is on it)."""
    problem = _text(problem, "describe your problem", MAX_MESSAGE_CHARS)
    stored_name: list[str] = []
    try:
        with transaction.atomic():
            case = case_services.open_case(customer=login.customer, problem=problem, actor=None)
            if upload is not None:
                stored_name.append(_store(login.customer, case, None, upload).storage_name)
    except Exception:
        for name in stored_name:
            default_storage.delete(name)
        raise
    return case


# --- my own organisation: pins, labels, nicknames ---------------------------------------------


def pin(*, login: PortalLogin, case: Case) -> None:
    _owns_case(login, case)
    with transaction.atomic():
        Pin.objects.get_or_create(customer=login.customer, case=case)


def unpin(*, login: PortalLogin, case: Case) -> None:
    Pin.objects.filter(customer=login.customer, case=case).delete()


def add_label(*, customer: Customer, kind: str, object_id: uuid.UUID, name: str) -> Label:
    """The caller fetched the object through a customer-scoped selector."""
    if kind not in Label.Kind.values:
        raise InvalidInput(f"kind must be one of: {', '.join(Label.Kind.values)}")
    name = _text(name, "the label", MAX_LABEL_CHARS)
    try:
        with transaction.atomic():
            label, _ = Label.objects.get_or_create(
                customer=customer, kind=kind, object_id=object_id, name=name
            )
    except IntegrityError:  # the same label added twice at once
        label = Label.objects.get(customer=customer, kind=kind, object_id=object_id, name=name)
    return label


def remove_label(*, customer: Customer, kind: str, object_id: uuid.UUID, name: str) -> None:
    Label.objects.filter(customer=customer, kind=kind, object_id=object_id, name=name).delete()


def set_nickname(*, customer: Customer, asset: Asset, name: str) -> Nickname | None:
    """A nickname for my product; an empty name removes it."""
    if asset.customer_id != customer.pk:
        raise InvalidInput("that product is not yours")
    name = (name or "").strip()
    if len(name) > MAX_NICKNAME_CHARS:
        raise InvalidInput(f"the nickname is too long: at most {MAX_NICKNAME_CHARS} characters")
    with transaction.atomic():
        if not name:
            Nickname.objects.filter(customer=customer, asset=asset).delete()
            return None
        nickname, _ = Nickname.objects.update_or_create(
            asset=asset, defaults={"customer": customer, "name": name}
        )
    return nickname


# --- web chat as myself -----------------------------------------------------------------------

PORTAL_PROPERTY_NAME = "Customer portal"
CHAT_TOKEN_SECONDS = 3600


def ensure_portal_property() -> WebProperty:
    """The web property the portal's chat widget uses (created on first use, no migration)."""
    with transaction.atomic():
        prop = WebProperty.objects.filter(name=PORTAL_PROPERTY_NAME).order_by("created_at").first()
        if prop is None:
            prop = WebProperty.objects.create(name=PORTAL_PROPERTY_NAME)
    return prop


def chat_identity_token(login: PortalLogin, prop: WebProperty) -> str:
    """An identity token for my verified email, signed as the company's own site would."""
    return sign_identity(
        prop.identity_secret,
        {
            "email": login.identity.value,
            "name": login.customer.name,
            "exp": int(time.time()) + CHAT_TOKEN_SECONDS,
        },
    )
