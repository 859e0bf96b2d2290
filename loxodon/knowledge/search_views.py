"""Knowledge search in the desk: results page (and its live partial), typeahead, and the
suggested articles on a case page. Staff only (`desk_view`); what they may read is decided by
`knowledge.search`, which goes through the audience-checked selectors.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from loxodon.cases.selectors import get_case_for
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.knowledge.models import Audience, Category
from loxodon.knowledge.search import (
    MAX_OFFSET,
    articles_for_problem,
    search_articles,
)
from loxodon.knowledge.search import (
    suggest as suggest_titles,
)
from loxodon.knowledge.search.index import COUNT_CAP

PAGE_SIZE = 20
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
CASE_SUGGESTIONS = 5


def _page(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), MAX_PAGE))
    except ValueError:
        return 1


@desk_view
def search(request: DeskRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:1000]
    category = request.GET.get("category", "").strip() or None
    audience = request.GET.get("audience", "").strip() or None
    if audience not in Audience.values:
        audience = None
    page = _page(request.GET.get("page"))
    results = search_articles(
        request.user,
        q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        category=category,
        audience=audience,
    )
    shown_total = min(results.total, MAX_OFFSET + PAGE_SIZE)
    context = {
        "q": q,
        "results": results,
        "page": page,
        "has_previous": page > 1,
        "has_next": page * PAGE_SIZE < shown_total and page < MAX_PAGE,
        "first": (page - 1) * PAGE_SIZE + 1,
        "last": (page - 1) * PAGE_SIZE + len(results.hits),
        "capped": results.total >= COUNT_CAP,
        "filters": {"category": category or "", "audience": audience or ""},
        "categories": list(Category.objects.values_list("slug", "name")),
        "audiences": Audience.choices,
    }
    if request.htmx:
        return render(request, "knowledge/_search_results.html", context)
    return render(request, "knowledge/search.html", context)


@desk_view
def suggest(request: DeskRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    options = suggest_titles(q, viewer=request.user, limit=8) if q else []
    return render(request, "knowledge/_search_suggest.html", {"options": options})


@desk_view
def case_suggestions(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    hits = articles_for_problem(request.user, case.problem, limit=CASE_SUGGESTIONS)
    return render(request, "knowledge/_case_suggestions.html", {"case": case, "hits": hits})
