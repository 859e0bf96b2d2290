"""/desk/sla/: service standards, business hours and holidays, central against each site's own.
Supervisors edit their own site's rows, admins central and every site; every write goes through
`sla.services` (which also rechecks the clocks of the open cases a change touches)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from loxodon.cases.models import Priority
from loxodon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.org.models import Site
from loxodon.sla import services
from loxodon.sla.forms import CENTRAL, HolidayForm, HoursForm, StandardForm, scope_choices
from loxodon.sla.models import BusinessHours, Holiday, ServiceStandard
from loxodon.sla.selectors import open_cases_touched, standards_overview


def _editable(user: Any) -> list[tuple[str, str]]:
    """The scopes `user` may edit, for the selects (central first, then sites)."""
    sites = list(Site.objects.all())
    choices = scope_choices([s for s in sites if services.may_edit(user, s)], central=False)
    if services.may_edit(user, None):
        choices.insert(0, (CENTRAL, "Central (every site)"))
    return choices


def _scope(code: str | None) -> Site | None:
    if not code or code == CENTRAL:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site with code '{code}'")
    return site


def _overview_url(site: Site | None) -> str:
    url = reverse("sla:overview")
    return f"{url}?site={site.code}" if site is not None else url


def _rechecked(done: str, site: Site | None) -> str:
    count = open_cases_touched(site)
    if not count:
        return f"{done} No open cases to recheck."
    plural = "case" if count == 1 else "cases"
    return f"{done} Rechecking the clocks of {count} open {plural} now."


def _page(request: DeskRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The full page, or only its form for an HTMX request that is not a boosted navigation."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        context["partial"] = True
    return render(request, template, context)


@desk_view
def overview(request: DeskRequest) -> HttpResponse:
    user = request.user
    site = request.GET.get("site")
    if site is None:
        site = user.site.code if user.site else ""
    data = standards_overview(user, site=site or None)
    scope = _scope(site) if site else None
    overrides = {(s.priority, s.department_id): s for s in data.overrides}
    effective = [
        (label, overrides.get((value, None)), next(
            (s for s in data.central if s.priority == value and s.department_id is None), None
        ))
        for value, label in Priority.choices
    ]  # fmt: skip
    editable = {code for code, _ in _editable(user)}
    context = {
        "data": data,
        "site": site,
        "scope_code": site or CENTRAL,
        "effective": effective,
        "own_hours": bool(site and data.site_hours),
        "hours": (data.site_hours if site else []) or data.central_hours,
        "editable": editable,
        "can_edit_here": (site or CENTRAL) in editable,
        "can_add": bool(editable),
        "hours_scope_name": scope.name if scope else "Central",
        "holiday_form": HolidayForm(editable=_editable(user), initial={"scope": site or CENTRAL}),
    }
    return render(request, "sla/overview.html", context)


def _standard_form_page(
    request: DeskRequest, form: StandardForm, standard: ServiceStandard | None
) -> HttpResponse:
    return _page(request, "sla/standard_form.html", {"form": form, "standard": standard})


def _save_standard(
    request: DeskRequest, form: StandardForm, standard: ServiceStandard | None
) -> HttpResponse:
    if not form.is_valid():
        messages.error(request, "Not saved: please correct the errors below.")
        return _standard_form_page(request, form, standard)
    values = form.values()
    try:
        if standard is None:
            saved = services.add_standard(actor=request.user, **values)
        else:
            saved = services.edit_standard(actor=request.user, standard_id=standard.pk, **values)
    except (InvalidInput, Conflict) as exc:
        form.add_error(None, exc.detail[:1].upper() + exc.detail[1:] + ".")
        messages.error(request, "Not saved: please correct the errors below.")
        return _standard_form_page(request, form, standard)
    verb = "added" if standard is None else "saved"
    touched = saved.site if standard is None or standard.site == saved.site else None
    messages.success(request, _rechecked(f"Standard “{saved}” {verb}.", touched))
    return redirect(_overview_url(saved.site))


@desk_view
def add_standard(request: DeskRequest) -> HttpResponse:
    services.require_manager(request.user)
    editable = _editable(request.user)
    if not editable:
        raise PermissionDenied("you have no site whose standards you may edit")
    if request.method == "POST":
        form = StandardForm(request.POST, editable=editable)
        return _save_standard(request, form, None)
    scope = request.GET.get("site") or editable[0][0]
    initial = {"scope": scope, "priority": request.GET.get("priority") or "normal"}
    return _standard_form_page(request, StandardForm(editable=editable, initial=initial), None)


def _standard(request: DeskRequest, standard_id: uuid.UUID) -> ServiceStandard:
    """The standard, if the user may edit it (403 otherwise; 404 when unknown)."""
    standard = (
        ServiceStandard.objects.select_related("site", "department").filter(pk=standard_id).first()
    )
    if standard is None:
        raise NotFound("no such service standard")
    services.require_editor(request.user, standard.site)
    return standard


@desk_view
def edit_standard(request: DeskRequest, standard_id: uuid.UUID) -> HttpResponse:
    standard = _standard(request, standard_id)
    editable = _editable(request.user)
    if request.method == "POST":
        return _save_standard(request, StandardForm(request.POST, editable=editable), standard)
    initial = {
        "scope": standard.site.code if standard.site else CENTRAL,
        "priority": standard.priority,
        "department": standard.department_id,
        "name": standard.name,
        "first_response_minutes": standard.first_response_minutes,
        "next_response_minutes": standard.next_response_minutes,
        "resolution_minutes": standard.resolution_minutes,
        "warn_at_percent": standard.warn_at_percent,
        "reassign_on_breach": standard.reassign_on_breach,
    }
    form = StandardForm(editable=editable, initial=initial)
    return _standard_form_page(request, form, standard)


@desk_view
def delete_standard(request: DeskRequest, standard_id: uuid.UUID) -> HttpResponse:
    """GET: confirm; POST: delete."""
    standard = _standard(request, standard_id)
    if request.method != "POST":
        return _page(request, "sla/standard_delete.html", {"standard": standard})
    site, label = standard.site, str(standard)
    services.delete_standard(actor=request.user, standard_id=standard.pk)
    messages.success(request, _rechecked(f"Standard “{label}” deleted.", site))
    return redirect(_overview_url(site))


@desk_view
def hours(request: DeskRequest) -> HttpResponse:
    code = request.GET.get("site") or request.POST.get("scope") or CENTRAL
    site = _scope(code)
    services.require_editor(request.user, site)  # 403 before showing a form that cannot be saved
    central = site is None
    rows = list(BusinessHours.objects.filter(site=site).order_by("weekday", "opens"))
    split = sorted(
        {r.get_weekday_display() for r in rows if sum(x.weekday == r.weekday for x in rows) > 1}
    )
    if request.method == "POST":
        form = HoursForm(request.POST, central=central)
        if form.is_valid():
            try:
                services.set_business_hours(actor=request.user, site=site, spans=form.spans())
            except InvalidInput as exc:
                form.add_error(None, exc.detail)
            else:
                where = site.name if site else "Central"
                messages.success(request, _rechecked(f"{where} business hours saved.", site))
                return redirect(_overview_url(site))
        messages.error(request, "Hours not saved: please correct the errors below.")
    else:
        form = HoursForm(initial=HoursForm.initial_for(rows, central=central), central=central)
    context = {"form": form, "site": site, "scope_code": code, "split": split}
    return _page(request, "sla/hours_form.html", context)


@desk_view
@require_POST
def add_holiday(request: DeskRequest) -> HttpResponse:
    services.require_manager(request.user)
    form = HolidayForm(request.POST, editable=_editable(request.user))
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[f].label if f in form.fields else 'Holiday'}: {' '.join(map(str, e))}"
            for f, e in form.errors.items()
        )
        messages.error(request, f"Holiday not added. {problems}")
        return redirect(_overview_url(_scope(request.POST.get("scope"))))
    site = form.site()
    try:
        holiday = services.add_holiday(
            actor=request.user,
            site=site,
            day=form.cleaned_data["date"],
            name=form.cleaned_data["name"],
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"Holiday not added: {exc.detail}.")
    else:
        messages.success(
            request, _rechecked(f"Holiday {holiday.date:%-d %b %Y} “{holiday.name}” added.", site)
        )
    return redirect(_overview_url(site))


@desk_view
@require_POST
def remove_holiday(request: DeskRequest, holiday_id: uuid.UUID) -> HttpResponse:
    holiday = Holiday.objects.select_related("site").filter(pk=holiday_id).first()
    if holiday is None:
        raise NotFound("no such holiday")
    site, label = holiday.site, f"{holiday.date:%-d %b %Y} “{holiday.name}”"
    services.remove_holiday(actor=request.user, holiday_id=holiday.pk)
    messages.success(request, _rechecked(f"Holiday {label} removed.", site))
    return redirect(_overview_url(site))
