"""The case page's "Message to the customer" panel: thin views over the outbox services.

Forms post here (mounted at /desk/messages/); an HTMX request gets the refreshed panel back,
a plain post is redirected to the case page with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from loxodon.cases.models import Case
from loxodon.cases.selectors import get_case_for
from loxodon.core.errors import DomainError, NotFound
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.outbound import services
from loxodon.outbound.forms import ComposeForm
from loxodon.outbound.panel import compose_kinds, panel_context
from loxodon.outbound.selectors import get_message_for

PANEL = "outbound/_panel.html"


def _answer(
    request: DeskRequest,
    case: Case,
    *,
    ok: str = "",
    error: str = "",
    form: ComposeForm | None = None,
) -> HttpResponse:
    if request.htmx:
        case = get_case_for(request.user, case.pk)  # fresh status and owner after the write
        context = panel_context(request.user, case, form if error else None)
        context.update(outbox_notice=ok, outbox_problem=error)
        return render(request, PANEL, context)
    if error:
        messages.error(request, f"Not done: {error}")
    else:
        messages.success(request, ok)
    return redirect("desk:case", case_id=case.pk)


@desk_view
@require_GET
def panel(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    return render(request, PANEL, panel_context(request.user, case))


@desk_view
@require_POST
def compose(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    form = ComposeForm(request.POST, kinds=compose_kinds(case, request.user), auto_id="compose-%s")
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        return _answer(request, case, error=errors, form=form)
    try:
        message = services.queue_message(
            case=case,
            author=request.user,
            body=form.cleaned_data["body"],
            kind=form.cleaned_data["kind"],
        )
    except NotFound:
        raise
    except DomainError as exc:
        return _answer(request, case, error=exc.detail, form=form)
    if message.kind == "update":
        ok = "Update queued: it goes out in the owner's next message or digest."
    else:
        ok = "Message queued: it goes out from the case owner in a moment."
    return _answer(request, case, ok=ok)


def _message_action(request: DeskRequest, message_id: str, action: str) -> HttpResponse:
    message = get_message_for(request.user, message_id)
    case = get_case_for(request.user, message.case_id)
    try:
        if action == "cancel":
            services.cancel_message(message=message, actor=request.user)
            ok = "Message cancelled."
        elif action == "retry":
            services.retry_message(message=message, actor=request.user)
            ok = "Message queued again."
        else:
            services.answer_question(case=case, actor=request.user)
            ok = "Recorded: the customer answered."
    except NotFound:
        raise
    except DomainError as exc:
        return _answer(request, case, error=exc.detail)
    return _answer(request, case, ok=ok)


@desk_view
@require_POST
def cancel(request: DeskRequest, message_id: str) -> HttpResponse:
    return _message_action(request, message_id, "cancel")


@desk_view
@require_POST
def retry(request: DeskRequest, message_id: str) -> HttpResponse:
    return _message_action(request, message_id, "retry")


@desk_view
@require_POST
def answered(request: DeskRequest, message_id: str) -> HttpResponse:
    return _message_action(request, message_id, "answered")
