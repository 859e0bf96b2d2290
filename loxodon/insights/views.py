"""The insights dashboard (`/desk/insights/`) and its CSV exports, for supervisors and admins.

Thin views: parse the filters, read the figures (access-checked in `figures`), render. One view
serves the whole page or, for htmx filter changes, just the results partial.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from loxodon.core.errors import InvalidInput, NotFound, PermissionDenied
from loxodon.core.spreadsheet import csv_cell
from loxodon.desk.views import DeskRequest
from loxodon.insights import figures


def _forbidden(request: DeskRequest, detail: str) -> HttpResponse:
    return render(request, "insights/dash_forbidden.html", {"detail": detail}, status=403)


def _chart_data(board: figures.Dashboard) -> dict[str, Any]:
    """What dashboard.js draws: labels and series per chart (read from json_script blocks)."""
    sla = board.sla or []
    return {
        "sla": {
            "labels": [row.site_name or row.site_code for row in sla],
            "series": [
                {"label": "% met", "data": [row.percent_met for row in sla]},
            ],
            "max": 100,
        },
        "effort": {
            "labels": [row.label.removeprefix("Week of ") for row in board.by_week],
            "series": [
                {
                    "label": "Contacts per case",
                    "data": [r.contacts_per_case for r in board.by_week],
                },
                {
                    "label": "Transfers per case",
                    "data": [r.transfers_per_case for r in board.by_week],
                },
            ],
        },
        "csat_touchpoint": {
            "labels": [r.label for r in board.csat.by_touchpoint],
            "series": [
                {"label": "CSAT %", "data": [r.csat_percent for r in board.csat.by_touchpoint]}
            ],
            "max": 100,
        },
        "csat_department": {
            "labels": [r.label for r in board.csat.by_department],
            "series": [
                {"label": "CSAT %", "data": [r.csat_percent for r in board.csat.by_department]}
            ],
            "max": 100,
        },
        "rings": {
            "labels": [f"Sales {c.sales} + service {c.service}" for c in board.rings.cells],
            "series": [
                {
                    "label": "Intend to buy again %",
                    "data": [c.intent_yes_percent for c in board.rings.cells],
                }
            ],
            "max": 100,
        },
    }


@login_required
def dashboard(request: DeskRequest) -> HttpResponse:
    try:
        filters = figures.filters_from(request.GET)
        error = ""
    except InvalidInput as exc:
        filters, error = figures.filters_from({}), exc.detail
    try:
        board = figures.dashboard(request.user, filters)
        sites, departments = figures.filter_choices(request.user)
    except (NotFound, PermissionDenied) as exc:
        return _forbidden(request, exc.detail)
    context = {
        "board": board,
        "filters": filters,
        "params": filters.as_params(),
        "error": error,
        "sites": sites,
        "departments": departments,
        "periods": [("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days")],
        "charts": _chart_data(board),
        "exports": [
            ("effort-by-case", "Effort by case"),
            ("effort-rollup", "Effort by site"),
            ("csat", "CSAT"),
            ("rings", "Rings"),
        ],
        "sla_decided": any(row.percent_met is not None for row in board.sla or []),
        "site_name": dict(sites).get(filters.site or "", filters.site),
        "department_name": dict(departments).get(filters.department or "", filters.department),
        "local_until": timezone.localtime(filters.until - timedelta(seconds=1)),
        "query": urlencode(filters.as_params()),
        "rollups": [
            ("By site", board.by_site),
            ("By department (case owner's)", board.by_department),
        ],
    }
    template = "insights/dash_results.html" if request.htmx else "insights/dash.html"
    return render(request, template, context)


@login_required
def export(request: DeskRequest, name: str) -> HttpResponse:
    if name not in figures.EXPORTS:
        raise Http404(f"no export '{name}'")
    try:
        filters = figures.filters_from(request.GET)
        header, rows = figures.export_table(
            request.user, name, filters, by=request.GET.get("by") or "site"
        )
    except (NotFound, PermissionDenied) as exc:
        return _forbidden(request, exc.detail)
    except InvalidInput as exc:
        return HttpResponse(exc.detail, status=400, content_type="text/plain; charset=utf-8")
    stamp = timezone.localdate(filters.until).isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="loxodon-{name}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return response
