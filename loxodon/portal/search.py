"""The one search call the portal, the knowledge API and the cite panel make.

It is `loxodon.knowledge.search.search_articles` (which enforces the audience: a viewer that is
None or not staff gets public articles only). Until that module provides it, a plain title
match over the same audience-checked selector stands in, so these pages keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape

from loxodon.knowledge import search
from loxodon.knowledge.models import Article
from loxodon.knowledge.rendering import plain_text
from loxodon.knowledge.selectors import articles_for


@dataclass
class FallbackHit:
    article: Article
    rank: float
    snippet_html: str


@dataclass
class FallbackResults:
    hits: list[FallbackHit] = field(default_factory=list)
    total: int = 0
    suggestion: str | None = None
    mode: str = "title"


def search_articles(viewer: Any, q: str, *, limit: int = 20, offset: int = 0) -> Any:
    """Ranked hits for `q` that `viewer` may read (None: the public)."""
    real = getattr(search, "search_articles", None)
    if real is not None:
        return real(viewer, q, limit=limit, offset=offset)
    rows = articles_for(viewer).filter(title__icontains=q.strip()).order_by("title")
    total = rows.count()
    hits = [
        FallbackHit(
            article=a,
            rank=1.0,
            snippet_html=escape(plain_text(a.current.body)[:200]) if a.current else "",
        )
        for a in rows[offset : offset + limit]
    ]
    return FallbackResults(hits=hits, total=total)
