"""Undoing a merge from the customer page's "Merge history" (supervisors and admins).

The section itself is rendered by the customer page (`desk/_merge_history.html`); this POST calls
`customers.services.unmerge`, the same service as the API, and returns to the survivor.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from loxodon.core.access import require_supervisor
from loxodon.core.errors import Conflict, InvalidInput
from loxodon.customers import services
from loxodon.customers.selectors import get_merge_for
from loxodon.desk.views import DeskRequest, desk_view


@desk_view
@require_POST
def unmerge(request: DeskRequest, merge_id: str) -> HttpResponse:
    require_supervisor(request.user, "undoing a merge needs a supervisor or an admin")
    merge = get_merge_for(request.user, merge_id)
    back = redirect("desk:customer", customer_id=merge.survivor_id)
    try:
        services.unmerge(merge=merge, by=request.user, reason=request.POST.get("reason", ""))
    except (Conflict, InvalidInput) as exc:
        messages.error(request, f"Merge not undone: {exc.detail}")
        return back
    messages.success(
        request,
        format_html(
            'Merge undone: <a href="{}">{}</a> is a separate customer again.',
            reverse("desk:customer", args=[merge.absorbed_id]),
            merge.absorbed.name,
        ),
    )
    return back
