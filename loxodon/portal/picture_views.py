"""My picture: home, timeline, cases and acting on them, orders, products, conversations, chat.

Thin views: every object comes through `portal.selectors` (scoped to the signed-in customer,
someone else's id is a logged 404) and every write through `portal.services`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loxodon.core.errors import DomainError
from loxodon.core.event_types import KINDS, Channel
from loxodon.portal import selectors, services
from loxodon.portal.access import PortalRequest, portal_view
from loxodon.portal.models import Attachment, Label
from loxodon.portal.picture_forms import (
    LabelForm,
    MessageForm,
    NewRequestForm,
    NicknameForm,
    NotFixedForm,
)


def picture_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`portal_view`, with `Referrer-Policy: same-origin` (these URLs carry no secret): with
    `no-referrer` browsers post forms with `Origin: null`, which Django's CSRF check refuses."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        return response

    return portal_view(wrapped)


def _p(request: HttpRequest) -> PortalRequest:
    return cast(PortalRequest, request)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "please check the form"


@require_GET
@picture_view
def home(request: HttpRequest) -> HttpResponse:
    r = _p(request)
    open_cases = selectors.case_cards(r.portal_login, open_only=True, limit=10)
    products = selectors.products(r.customer)
    return render(
        request,
        "portal/home.html",
        {
            "customer": r.customer,
            "open_cases": open_cases,
            "recent": selectors.recent_items(r.customer),
            "products": products[:6],
            "more_products": len(products) > 6,
        },
    )


@require_GET
@picture_view
def timeline(request: HttpRequest) -> HttpResponse:
    r = _p(request)
    status = 200
    error = ""
    try:
        filters = selectors.timeline_filters(request.GET)
        page = selectors.timeline_page(
            r.customer, filters, cursor=request.GET.get("cursor") or None
        )
    except DomainError as exc:
        filters, page = selectors.TimelineFilters(), selectors.Page(items=[], next_cursor=None)
        error, status = exc.detail, 400
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "channels": [(c, selectors.CHANNEL_LABELS[c]) for c in Channel.ALL],
        "kinds": [(k, KINDS[k].label) for k in selectors.CUSTOMER_KINDS],
        "label_names": selectors.label_names(r.customer),
        "query": filters.as_query(),
        "more_url": _more_url(request, page.next_cursor),
    }
    if _is_htmx(request) and request.GET.get("cursor"):
        return render(request, "portal/_timeline_page.html", context, status=status)
    return render(request, "portal/timeline.html", context, status=status)


def _more_url(request: HttpRequest, cursor: str | None) -> str:
    if not cursor:
        return ""
    params = request.GET.copy()
    params["cursor"] = cursor
    return f"{request.path}?{params.urlencode()}"


@require_GET
@picture_view
def cases(request: HttpRequest) -> HttpResponse:
    r = _p(request)
    label = request.GET.get("label", "").strip()[:40]
    cards = selectors.case_cards(r.portal_login, label=label)
    return render(
        request,
        "portal/cases.html",
        {
            "open_cards": [c for c in cards if c.is_open or c.pinned],
            "done_cards": [c for c in cards if not c.is_open and not c.pinned],
            "label": label,
            "label_names": selectors.label_names(r.customer),
            "is_account_admin": r.portal_login.is_account_admin,
        },
    )


def _case_page(request: HttpRequest, case_id: str, status: int = 200, **extra: Any) -> HttpResponse:
    r = _p(request)
    case = selectors.get_case(r.portal_login, case_id)
    detail = selectors.case_detail(r.portal_login, case)
    context: dict[str, Any] = {
        "detail": detail,
        "case": detail.card.case,
        "message_form": MessageForm(),
        "not_fixed_form": NotFixedForm(),
        "survey_url": (
            reverse("portal:feedback")
            if request.session.pop(f"portal_survey_{case.pk}", False)
            else ""
        ),
        **extra,
    }
    return render(request, "portal/case.html", context, status=status)


@require_GET
@picture_view
def case(request: HttpRequest, case_id: str) -> HttpResponse:
    return _case_page(request, case_id)


ACTIONS = ("confirm", "not-fixed", "message", "pin", "unpin", "label")


@require_POST
@picture_view
def case_action(request: HttpRequest, case_id: str, action: str) -> HttpResponse:
    r = _p(request)
    case = selectors.get_case(r.portal_login, case_id)  # someone else's case: logged 404
    if action not in ACTIONS:
        raise Http404("no such action")
    here = reverse("portal:case", args=[case.pk])
    try:
        if action == "confirm":
            services.confirm_resolved(login=r.portal_login, case=case)
            request.session[f"portal_survey_{case.pk}"] = True
            return redirect(f"{here}?done=confirmed")
        if action == "not-fixed":
            form = NotFixedForm(request.POST)
            if not form.is_valid():
                return _case_page(
                    request, case_id, 400, not_fixed_form=form, error=_first_error(form)
                )
            services.still_not_fixed(
                login=r.portal_login, case=case, text=form.cleaned_data["text"]
            )
            return redirect(f"{here}?done=reopened")
        if action == "message":
            mform = MessageForm(request.POST, request.FILES)
            if not mform.is_valid():
                return _case_page(
                    request, case_id, 400, message_form=mform, error=_first_error(mform)
                )
            upload = services.check_upload(mform.cleaned_data.get("attachment"))
            services.post_message(
                login=r.portal_login, case=case, text=mform.cleaned_data["text"], upload=upload
            )
            return redirect(f"{here}?done=sent#messages")
        if action == "pin":
            services.pin(login=r.portal_login, case=case)
        elif action == "unpin":
            services.unpin(login=r.portal_login, case=case)
        elif action == "label":
            name = request.POST.get("name", "")
            if request.POST.get("op") == "remove":
                services.remove_label(
                    customer=r.customer, kind=Label.Kind.CASE, object_id=case.pk, name=name
                )
            else:
                services.add_label(
                    customer=r.customer, kind=Label.Kind.CASE, object_id=case.pk, name=name
                )
    except DomainError as exc:
        keep: dict[str, Any] = {}
        if action == "message":
            keep["message_form"] = MessageForm(request.POST)
        if action == "not-fixed":
            keep["not_fixed_form"] = NotFixedForm(request.POST)
        return _case_page(request, case_id, exc.status_code, error=exc.detail, **keep)
    return redirect(services_next(request, here))


def services_next(request: HttpRequest, fallback: str) -> str:
    from loxodon.portal.access import safe_next

    return safe_next(request, fallback)


@require_http_methods(["GET", "POST"])
@picture_view
def new_case(request: HttpRequest) -> HttpResponse:
    r = _p(request)
    form = NewRequestForm(request.POST or None, request.FILES or None)
    error = ""
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = services.check_upload(form.cleaned_data.get("attachment"))
                created = services.new_request(
                    login=r.portal_login, problem=form.cleaned_data["problem"], upload=upload
                )
            except DomainError as exc:
                error = exc.detail
            else:
                return redirect(f"{reverse('portal:case', args=[created.pk])}?done=opened")
        else:
            error = _first_error(form)
    return render(
        request,
        "portal/case_new.html",
        {"form": form, "error": error},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@picture_view
def attachment(request: HttpRequest, attachment_id: str) -> HttpResponse:
    r = _p(request)
    return file_download(selectors.get_attachment(r.portal_login, attachment_id))


def file_download(found: Attachment) -> HttpResponse:
    """A customer's file, only ever as a download: never rendered, sniffed or scripted."""
    try:
        data = services.open_attachment(found)
    except FileNotFoundError:
        raise Http404("the file is no longer stored") from None
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=found.filename or "attachment")
        or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Length"] = str(len(data))
    return response


@require_GET
@picture_view
def orders(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/orders.html", {"groups": selectors.orders(_p(request).customer)})


@require_GET
@picture_view
def products(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/products.html", {"products": selectors.products(_p(request).customer)}
    )


@require_POST
@picture_view
def nickname(request: HttpRequest, asset_id: str) -> HttpResponse:
    r = _p(request)
    asset = selectors.get_asset(r.customer, asset_id)
    form = NicknameForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "portal/products.html",
            {"products": selectors.products(r.customer), "error": _first_error(form)},
            status=400,
        )
    services.set_nickname(customer=r.customer, asset=asset, name=form.cleaned_data["name"])
    return redirect(f"{reverse('portal:products')}#asset-{asset.pk}")


@require_GET
@picture_view
def conversations(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/conversations.html",
        {"conversations": selectors.conversations(_p(request).customer)},
    )


@require_POST
@picture_view
def labels(request: HttpRequest) -> HttpResponse:
    """Add or remove one of my labels on a case, timeline item or product (HTMX or plain)."""
    r = _p(request)
    form = LabelForm(request.POST)
    if not form.is_valid():
        return HttpResponse(f"Label not saved: {_first_error(form)}", status=400)
    kind, object_id = form.cleaned_data["kind"], form.cleaned_data["object_id"]
    if kind == Label.Kind.CASE:
        selectors.get_case(r.portal_login, object_id)
    elif kind == Label.Kind.EVENT:
        selectors.get_event(r.customer, object_id)
    else:
        selectors.get_asset(r.customer, object_id)
    try:
        if form.cleaned_data.get("op") == "remove":
            services.remove_label(
                customer=r.customer, kind=kind, object_id=object_id, name=form.cleaned_data["name"]
            )
        else:
            services.add_label(
                customer=r.customer, kind=kind, object_id=object_id, name=form.cleaned_data["name"]
            )
    except DomainError as exc:
        return HttpResponse(f"Label not saved: {exc.detail}", status=exc.status_code)
    if _is_htmx(request):
        names = selectors.labels_for(r.customer, kind, [object_id]).get(object_id, [])
        return render(
            request, "portal/_labels.html", {"kind": kind, "object_id": object_id, "labels": names}
        )
    return redirect(services_next(request, reverse("portal:timeline")))


@require_GET
@picture_view
def chat(request: HttpRequest) -> HttpResponse:
    r = _p(request)
    prop = services.ensure_portal_property()
    return render(
        request,
        "portal/chat.html",
        {"prop": prop, "token": services.chat_identity_token(r.portal_login, prop)},
    )
