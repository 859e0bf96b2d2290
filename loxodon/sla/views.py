"""/desk/sla/: service standards, business hours and holidays, central against each site's own
(supervisors and admins; read-only here, edited through /api/v1/sla/standards)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from loxodon.cases.models import Priority
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.sla.selectors import standards_overview


@desk_view
def overview(request: DeskRequest) -> HttpResponse:
    site = request.GET.get("site") or (request.user.site.code if request.user.site else None)
    data = standards_overview(request.user, site=site)
    overrides = {(s.priority, s.department_id): s for s in data.overrides}
    effective = [
        (label, overrides.get((value, None)), next(
            (s for s in data.central if s.priority == value and s.department_id is None), None
        ))
        for value, label in Priority.choices
    ]  # fmt: skip
    context = {
        "data": data,
        "site": site,
        "effective": effective,
        "own_hours": bool(data.site_hours),
    }
    return render(request, "sla/overview.html", context)
