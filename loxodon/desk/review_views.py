"""/desk/identity/reviews/: pairs of customers linkage was unsure about, for a person to decide.

Supervisors and admins only (agents get 403). The queue view serves the page or, for htmx,
its `_review_results` partial; the pair page shows both records side by side with what a merge
would change; decisions are POSTs that call `customers.services.decide_review`, then move on
to the next pending pair with a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from loxodon.core.errors import Conflict, InvalidInput
from loxodon.customers import services
from loxodon.customers.review_selectors import (
    BANDS,
    PROFILE_ROWS,
    STATUS_LABELS,
    ReviewFilters,
    decision_input,
    get_review_for,
    next_pending_review,
    require_reviewer,
    review_detail,
    review_queue,
)
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.org.models import Site

QUEUE_TABS = ("pending", "merged", "not_same")
PAGE_SIZE = 25


def _filters(request: DeskRequest, data: Any) -> ReviewFilters:
    """The filters asked for; a value the desk does not know is dropped with a message."""
    try:
        return ReviewFilters.parse(data.get("status"), data.get("site"), data.get("band"))
    except InvalidInput as exc:
        messages.warning(request, f"Filter ignored: {exc.detail}.")
        return ReviewFilters()


def _query(filters: ReviewFilters, **extra: str) -> str:
    params = {"site": filters.site, "band": filters.band, **extra}
    encoded = urlencode({k: v for k, v in params.items() if v})
    return f"?{encoded}" if encoded else ""


@desk_view
def reviews(request: DeskRequest) -> HttpResponse:
    require_reviewer(request.user)
    filters = _filters(request, request.GET)
    try:
        page = review_queue(
            request.user, filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except InvalidInput as exc:
        messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        return redirect(reverse("desk:identity-reviews") + _query(filters, status=filters.status))
    context = {
        "page": page,
        "filters": filters,
        "tabs": [(key, STATUS_LABELS[key]) for key in QUEUE_TABS],
        "status_label": STATUS_LABELS[filters.status],
        "bands": [(key, label) for key, (label, _, _) in BANDS.items()],
        "sites": list(Site.objects.order_by("name").values_list("code", "name")),
        "paged": bool(request.GET.get("cursor")),
    }
    template = "desk/_review_results.html" if request.htmx else "desk/reviews.html"
    return render(request, template, context)


@desk_view
def review_page(request: DeskRequest, review_id: str) -> HttpResponse:
    filters = _filters(request, request.GET)
    try:
        detail = review_detail(
            request.user, review_id, survivor_id=request.GET.get("survivor") or None
        )
    except InvalidInput as exc:
        if not request.GET.get("survivor"):
            raise
        messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        return redirect("desk:identity-review", review_id=review_id)
    plan = detail.plan
    context = {
        "detail": detail,
        "review": detail.review,
        "plan": plan,
        "plan_view": _plan_view(plan) if plan is not None else None,
        "filters": filters,
        "queue_url": reverse("desk:identity-reviews") + _query(filters),
        "score_percent": round(detail.review.score * 100, 1),
    }
    return render(request, "desk/review.html", context)


# How the rows a merge re-points are named on the page ("app_label.Model.field" → words).
MOVE_LABELS = {
    "Event": "timeline events",
    "Case": "cases",
    "Task": "tasks",
    "Asset": "installed products",
    "Identity": "identities",
    "MatchReview": "other review pairs",
    "Chat": "chats",
    "OutboundMessage": "messages to the customer",
    "SurveyInvitation": "survey invitations",
}
FIELD_LABELS = dict(PROFILE_ROWS)


def _move_label(label: str) -> str:
    parts = label.split(".")
    model = parts[1] if len(parts) >= 2 else label
    words = MOVE_LABELS.get(model, model)
    return (
        f"{words} ({parts[-1].replace('_', ' ')})"
        if len(parts) == 3 and parts[-1] not in ("customer", "customer_id")
        else words
    )


def _shown(field: str, value: Any, plan: services.MergePlan) -> str:
    """A plan value in words: foreign keys by name (they are one of the pair's), dates as dates."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field in ("home_site", "account"):
        for customer in (plan.survivor, plan.absorbed):
            related = getattr(customer, field)
            if related is not None and str(related.pk) == str(value):
                return str(related.name)
    return str(value)


def _plan_view(plan: services.MergePlan) -> dict[str, Any]:
    """The plan's parts ready to print: labelled fields and counted moves, nothing computed."""
    # Only fields of the kept customer that a merge really changes (the plan lists every
    # differing field; those where the kept value wins change nothing).
    changes = [
        {
            "label": FIELD_LABELS.get(c.field, c.field.replace("_", " ").capitalize()),
            "before": _shown(c.field, c.before, plan),
            "after": _shown(c.field, c.after, plan),
        }
        for c in plan.changes
        if c.before != c.after
    ]
    return {
        "profile": [
            (FIELD_LABELS.get(name, name.replace("_", " ").capitalize()), _shown(name, v, plan))
            for name, v in plan.profile_after.items()
        ],
        "changes": changes,
        "history": [
            (
                FIELD_LABELS.get(c.field, c.field.replace("_", " ").capitalize()),
                _shown(c.field, c.losing_value, plan),
            )
            for c in plan.conflicts
        ],
        "moves": [(_move_label(label), n) for label, n in plan.moves.items() if n],
    }


def _next_url(request: DeskRequest, filters: ReviewFilters) -> tuple[str, str]:
    """Where to go after a decision (the next pending pair, or the queue) and what to say."""
    nxt = next_pending_review(request.user, filters)
    if nxt is None:
        return reverse("desk:identity-reviews") + _query(filters), "No more pairs wait for review."
    url = reverse("desk:identity-review", kwargs={"review_id": nxt.pk}) + _query(filters)
    return url, "Here is the next pair."


@desk_view
@require_POST
def decide(request: DeskRequest, review_id: str) -> HttpResponse:
    review = get_review_for(request.user, review_id)
    filters = _filters(request, request.POST)
    back = reverse("desk:identity-review", kwargs={"review_id": review.pk}) + _query(filters)
    try:
        wanted = decision_input(
            review,
            request.POST.get("decision", ""),
            request.POST.get("note"),
            request.POST.get("survivor_id") or None,
        )
        decided = services.decide_review(
            review=review,
            by=request.user,
            decision="merge" if wanted.decision == "merge" else "not_same",
            note=wanted.note,
            survivor=wanted.survivor,
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"Not done: {exc.detail}")
        return redirect(back)
    a, b = review.customer_a, review.customer_b
    url, then = _next_url(request, filters)
    if decided.status == decided.Status.MERGED:
        merge = decided.merge
        if merge is not None:
            kept, gone = merge.survivor, merge.absorbed
        else:
            kept, gone = a, b
        messages.success(request, f"Merged: {gone.name} is now part of {kept.name}. {then}")
    else:
        messages.success(
            request,
            f"Remembered: {a.name} and {b.name} are not the same person; "
            f"they will not be suggested again. {then}",
        )
    return redirect(url)
