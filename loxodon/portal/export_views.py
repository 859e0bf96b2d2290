"""Taking it with me and telling how it went: 'download my data' and the feedback surveys.

Thin: the zip is built by `portal.exports`, answers are recorded by `insights.services`. Every
object is fetched through a queryset scoped to `request.customer` and `access.own_or_404`, so
another customer's export or invitation is a logged 404 exactly like one that does not exist.
"""

from __future__ import annotations

import logging
from typing import cast

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from loxodon.core.errors import InvalidInput, NotFound
from loxodon.insights.services import SurveyClosed, describe, record_portal_survey_response
from loxodon.insights.survey_views import SurveyForm
from loxodon.portal import exports
from loxodon.portal import feedback as surveys
from loxodon.portal.access import PortalRequest, not_found, own_or_404, portal_view
from loxodon.portal.models import DataExport

log = logging.getLogger(__name__)


def _same_origin(response: HttpResponse) -> HttpResponse:
    """Pages holding forms send `Referrer-Policy: same-origin` (these URLs carry no secret):
    with `portal_view`'s `no-referrer` browsers post forms with `Origin: null`, which Django's
    CSRF check refuses."""
    response["Referrer-Policy"] = "same-origin"
    return response


# --- download my data ---------------------------------------------------------------------------


@portal_view
@require_http_methods(["GET", "POST"])
def my_data(request: PortalRequest) -> HttpResponse:
    """What the download holds and my earlier downloads (GET); make a new one (POST)."""
    customer = request.customer
    if request.method == "POST":
        try:
            export = exports.build_export(customer)
        except exports.TooManyExports as exc:
            messages.error(request, exc.detail)
            return _my_data_page(request, status=429)
        messages.success(
            request,
            "Your download is ready. It works for 24 hours.",
        )
        log.info("portal: customer %s made data export %s", customer.pk, export.pk)
        return _same_origin(redirect("portal:my-data"))
    return _my_data_page(request)


def _my_data_page(request: PortalRequest, status: int = 200) -> HttpResponse:
    return _same_origin(
        render(
            request,
            "portal/my_data.html",
            {"exports": exports.exports_of(request.customer)},
            status=status,
        )
    )


@portal_view
@require_http_methods(["GET"])
def download(request: PortalRequest, export_id: str) -> HttpResponse:
    """The zip, as an attachment, only to its own customer and only until it expires."""
    customer = request.customer
    export = own_or_404(
        DataExport.objects.filter(customer=customer), customer, export_id, "data export"
    )
    if export.expires_at <= timezone.now() or not export.storage_name:
        return render(request, "portal/my_data_expired.html", status=410)
    try:
        handle = default_storage.open(export.storage_name, "rb")
    except FileNotFoundError:
        log.error("portal: data export %s has no stored file", export.pk)
        raise not_found(customer, "data export file", export_id) from None
    exports.mark_downloaded(export)
    stamp = timezone.localtime(export.created_at).strftime("%Y-%m-%d")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"my-data-{stamp}.zip",
        content_type="application/zip",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    # streamed, not an HttpResponse subclass; portal_view only sets headers on it
    return cast(HttpResponse, response)


# --- feedback -----------------------------------------------------------------------------------


@portal_view
@require_http_methods(["GET"])
def feedback(request: PortalRequest) -> HttpResponse:
    customer = request.customer
    return _same_origin(
        render(
            request,
            "portal/feedback.html",
            {
                "open_surveys": surveys.open_surveys(customer),
                "answered": surveys.answered_surveys(customer),
            },
        )
    )


@portal_view
@require_http_methods(["GET", "POST"])
def answer(request: PortalRequest, invitation_id: str) -> HttpResponse:
    """One survey: the form (GET), my answers (POST); a second answer gets a clear message."""
    customer = request.customer
    invitation = own_or_404(
        surveys.invitations_of(customer), customer, invitation_id, "survey invitation"
    )
    about = describe(invitation)
    now = timezone.now()
    if not invitation.can_answer(now):
        return _closed(request, "answered" if invitation.is_used() else "expired", about)
    form = SurveyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            record_portal_survey_response(customer, invitation.pk, form.answers())
        except SurveyClosed as exc:
            return _closed(request, str(exc.extra.get("reason", "answered")), about)
        except NotFound:
            raise not_found(customer, "survey invitation", invitation_id) from None
        except InvalidInput as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Thank you — your answers have reached the team.")
            return _same_origin(redirect("portal:feedback"))
    return _same_origin(
        render(
            request,
            "portal/feedback_answer.html",
            {
                "form": form,
                "invitation": invitation,
                "about": about,
                "satisfaction_labels": ("Very unhappy", "Very happy"),
                "effort_labels": ("Very little", "A great deal"),
            },
            status=400 if request.method == "POST" else 200,
        )
    )


def _closed(request: PortalRequest, reason: str, about: str) -> HttpResponse:
    return render(
        request,
        "portal/feedback_closed.html",
        {"reason": reason, "about": about},
        status=410,
    )
