"""Desk pages for inbound mail: failed/ignored mail for supervisors (with reprocessing), one
message's cleaned HTML, and downloads (raw `.eml`, attachments) that browsers never render."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any, cast

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from loxodon.channels.email.models import InboundStatus
from loxodon.channels.email.parsing import sanitise_html
from loxodon.channels.email.selectors import (
    LISTABLE,
    get_attachment_for,
    get_inbound_for,
    get_message_for,
    message_for_event,
    unhandled_mail_for,
)
from loxodon.channels.email.services import locate_raw, reprocess_inbound, stored_text
from loxodon.core.errors import DomainError
from loxodon.desk.views import DeskRequest, desk_view

PAGE_SIZE = 25
# The cleaned HTML of a message is shown inside our page: no scripts, frames, plugins or
# remote content may load, whatever slipped through.
MESSAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A download name with no path, control characters or quotes, at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f"<>:|?*;]', "_", name).strip(" .")
    return name[-150:] or fallback


def download(handle: Any, filename: str) -> HttpResponse:
    """Always a download: octet-stream, attachment disposition, no sniffing."""
    response = FileResponse(handle, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        content_disposition_header(True, safe_filename(filename)) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return cast(HttpResponse, response)  # desk views are typed as returning HttpResponse


@desk_view
@require_GET
def mail_list(request: DeskRequest) -> HttpResponse:
    """Mail that is not on any timeline: failed (can be reprocessed) or ignored."""
    status = request.GET.get("status") or InboundStatus.FAILED
    if status not in LISTABLE:
        status = InboundStatus.FAILED
    page = Paginator(unhandled_mail_for(request.user, status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "desk/mail/list.html",
        {"page": page, "status": status, "statuses": InboundStatus, "listable": LISTABLE},
    )


@desk_view
@require_GET
def mail_detail(request: DeskRequest, inbound_id: uuid.UUID) -> HttpResponse:
    inbound = get_message_for(request.user, inbound_id)
    html = sanitise_html(inbound.html) if inbound.html else ""
    response = render(
        request,
        "desk/mail/detail.html",
        {
            "inbound": inbound,
            "attachments": list(inbound.attachments.all()),
            # stored cleaned; cleaned again on the way out, in case the rules have tightened
            "html": html,
            # on no timeline (held, ignored): the text from the raw file, for the decision
            "text": stored_text(inbound) if not html and inbound.event_id is None else "",
        },
    )
    response["Content-Security-Policy"] = MESSAGE_CSP
    return response


@desk_view
@require_GET
def mail_for_event(request: DeskRequest, event_id: uuid.UUID) -> HttpResponse:
    inbound = message_for_event(request.user, event_id)
    if inbound is None:
        raise Http404("no email for this event")
    return redirect("channels_email:detail", inbound_id=inbound.pk)


@desk_view
@require_GET
def raw_download(request: DeskRequest, inbound_id: uuid.UUID) -> HttpResponse:
    inbound = get_inbound_for(request.user, inbound_id)
    path = locate_raw(inbound.spool_name)
    if path is None:
        raise Http404("the raw file is missing from the mail spool")
    return download(path.open("rb"), f"message-{inbound.pk}.eml")


@desk_view
@require_POST
def reprocess(request: DeskRequest, inbound_id: uuid.UUID) -> HttpResponse:
    inbound = get_inbound_for(request.user, inbound_id)
    try:
        inbound = reprocess_inbound(inbound=inbound, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("channels_email:detail", inbound_id=inbound.pk)
    if inbound.status == InboundStatus.FAILED:
        messages.error(request, f"Still failing: {inbound.error}")
    else:
        messages.success(request, f"Reprocessed: {inbound.get_status_display()}.")
    return redirect("channels_email:detail", inbound_id=inbound.pk)


@desk_view
@require_GET
def attachment_download(request: DeskRequest, attachment_id: uuid.UUID) -> HttpResponse:
    attachment = get_attachment_for(request.user, attachment_id)
    try:
        handle = default_storage.open(attachment.storage_name, "rb")
    except FileNotFoundError:
        raise Http404("the attachment file is missing") from None
    return download(handle, attachment.filename)
