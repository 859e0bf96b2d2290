"""The customer portal's help pages (`/portal/help/`): no sign-in, public articles only.

Every read goes through the knowledge selectors and search as the public (viewer None), so an
internal or archived article is 404 here exactly like a missing one. An article page shows the
current version rendered for the `web` channel with its number and date, so a customer and an
agent can tell they are reading the same answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from loxodon.core.errors import NotFound
from loxodon.knowledge.models import Article, Category
from loxodon.knowledge.rendering import render as render_body
from loxodon.knowledge.search import search_articles
from loxodon.knowledge.selectors import articles_for, get_article_for

PER_CATEGORY = 8
PAGE_SIZE = 20
MAX_PAGE = 50


def help_centre(request: HttpRequest) -> HttpResponse:
    """Search box, then public articles by category (the few most recently updated of each)."""
    grouped: dict[Category | None, list[Article]] = defaultdict(list)
    counts: dict[Category | None, int] = defaultdict(int)
    for article in articles_for(None).order_by("title")[:2000]:
        counts[article.category] += 1
        if len(grouped[article.category]) < PER_CATEGORY:
            grouped[article.category].append(article)
    categories = sorted(
        grouped.items(), key=lambda kv: (kv[0] is None, kv[0].name if kv[0] else "")
    )
    context = {
        "categories": [
            {"category": c, "articles": items, "more": counts[c] - len(items)}
            for c, items in categories
        ],
        "total": sum(counts.values()),
    }
    return render(request, "portal/help.html", context)


def help_search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:200]
    try:
        page = max(1, min(int(request.GET.get("page") or 1), MAX_PAGE))
    except ValueError:
        page = 1
    context: dict[str, Any] = {"q": q, "page": page, "hits": [], "total": 0, "suggestion": None}
    if q:
        results = search_articles(None, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        context.update(
            hits=list(results.hits),
            total=results.total,
            suggestion=results.suggestion,
            corrected=results.corrected,
            more=results.total > page * PAGE_SIZE and page < MAX_PAGE,
        )
    return render(request, "portal/help_search.html", context)


def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = get_article_for(None, slug)
    except NotFound:
        raise Http404("article not found") from None
    version = article.current
    if version is None:
        raise Http404("article not found")
    context = {
        "article": article,
        "version": version,
        "body_html": render_body(version.body, "web"),
        "related": list(
            articles_for(None)
            .filter(category=article.category)
            .exclude(pk=article.pk)
            .order_by("title")[:5]
        )
        if article.category
        else [],
    }
    return render(request, "portal/help_article.html", context)
