"""What the case page's "Message to the customer" panel shows (used by the desk's case page and
by the panel's own HTMX endpoints)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from loxodon.cases.models import Case
from loxodon.org.models import User
from loxodon.outbound.forms import ComposeForm
from loxodon.outbound.models import MessageKind, MessageStatus
from loxodon.outbound.selectors import messages_of_case


def compose_kinds(case: Case, user: User) -> list[str]:
    """The kinds this person may write on this case now (the services refuse the rest)."""
    if case.owner_id is None:
        return []
    if user.pk != case.owner_id:
        return [] if case.is_finished else [MessageKind.UPDATE]
    kinds: list[str] = [MessageKind.REPLY]
    if not case.is_finished:
        kinds.append(MessageKind.QUESTION)
    if case.can_confirm():
        kinds.append(MessageKind.RESOLUTION_CHECK)
    return kinds


def panel_context(user: User, case: Case, form: ComposeForm | None = None) -> dict[str, Any]:
    """One query: the case's outbox. Keys start with `outbox` (merged into the case page)."""
    outbox = messages_of_case(user, case)
    kinds = compose_kinds(case, user)
    return {
        "case": case,
        "outbox": outbox,
        "outbox_form": form or ComposeForm(kinds=kinds, auto_id="compose-%s"),
        "outbox_can_compose": bool(kinds),
        "outbox_is_owner": user.pk == case.owner_id,
        "outbox_open_question": next((m for m in outbox if m.is_open_ask), None),
        "outbox_failed": [m for m in outbox if m.status == MessageStatus.FAILED],
        "outbox_digest_minutes": settings.LOXODON_DIGEST_WINDOW_SECONDS // 60,
    }
