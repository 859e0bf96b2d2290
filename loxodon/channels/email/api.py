"""Inbound mail API (`/api/v1/channels/email/`): failed mail for supervisors, and reprocessing."""

from __future__ import annotations

from typing import Any

from ninja import Router

from loxodon.channels.email.models import InboundStatus
from loxodon.channels.email.schemas import InboundOut, InboundPageOut, inbound_out
from loxodon.channels.email.selectors import get_inbound_for, unhandled_mail_page
from loxodon.channels.email.services import reprocess_inbound
from loxodon.core.schemas import ApiRequest, ErrorOut

router = Router(tags=["email"])


@router.get("/failed", response={200: InboundPageOut, 400: ErrorOut, 403: ErrorOut})
def failed_mail(
    request: ApiRequest, status: str = InboundStatus.FAILED, cursor: str | None = None
) -> dict[str, Any]:
    """Inbound mail that is on no timeline, newest first: `failed` (default), `quarantined`
    or `ignored`.
    Supervisors and admins."""
    page = unhandled_mail_page(request.auth, status=status, cursor=cursor)
    return {"items": [inbound_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/failed/{inbound_id}/reprocess",
    response={200: InboundOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def reprocess(request: ApiRequest, inbound_id: str) -> dict[str, Any]:
    """Process a failed, ignored or quarantined message again from its raw file (a quarantined
    one is released: processed without the quarantine checks); answers its new state
    (`processed`, or `failed` with the reason)."""
    inbound = get_inbound_for(request.auth, inbound_id)
    return inbound_out(reprocess_inbound(inbound=inbound, actor=request.auth))
