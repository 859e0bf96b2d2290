"""Knowledge API (`/api/v1/knowledge/`): articles, versions, search, citations and their report.

Reading public articles needs no authentication: the GET routes accept a bearer token, a desk
session, or nobody at all (`anonymous`, only when no `Authorization` header was sent, so a bad
token is still 401). Whoever is not staff reads public, live articles only, through the
knowledge selectors; internal articles are 404 exactly like missing ones. Writes need staff:
editors create and revise articles, agents cite articles on their cases.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from ninja.security import HttpBearer, django_auth

from loxodon.cases.selectors import get_case_for
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput, NotFound
from loxodon.core.schemas import ApiRequest
from loxodon.knowledge import citations, selectors, services
from loxodon.knowledge.models import Category
from loxodon.knowledge.schemas import (
    ArticleDetailOut,
    ArticleIn,
    ArticlePage,
    CitationIn,
    CitationOut,
    CitationPageOut,
    RenderChannel,
    ReportOut,
    RevisionIn,
    SearchOut,
    VersionOut,
    article_detail_out,
    article_out,
    citation_out,
    report_out,
    version_out,
)
from loxodon.knowledge.search import search_articles
from loxodon.org.models import Site
from loxodon.org.selectors import user_for_token

router = Router(tags=["knowledge"])


class _Bearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return user_for_token(token)


class Anonymous:
    """`request.auth` of a caller who sent no credentials: reads public articles only."""

    is_authenticated = False

    def __bool__(self) -> bool:  # Ninja only needs a non-None value; keep truthiness honest
        return True


ANONYMOUS = Anonymous()


def anonymous(request: HttpRequest) -> Anonymous | None:
    """Let a caller without credentials through; one with a bad token still gets 401."""
    if "HTTP_AUTHORIZATION" in request.META:
        return None
    return ANONYMOUS


IdOrSlug = Annotated[str, Path(description="the article's id or its slug")]
VersionNumber = Annotated[int, Path(ge=1, description="version number, 1 for the first")]
PUBLIC_READ = [_Bearer(), django_auth, anonymous]
PAGE_SIZE = 50


def _viewer(request: ApiRequest) -> Any:
    return None if isinstance(request.auth, Anonymous) else request.auth


def _category(slug: str | None) -> Category | None:
    if not slug:
        return None
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise InvalidInput(f"category: no category called {slug!r}")
    return category


@router.get(
    "/articles",
    response=ArticlePage,
    auth=PUBLIC_READ,
    summary="List articles",
    description=(
        "Articles the caller may read, most recently updated first: staff see every article, "
        "anyone else (no credentials needed) public ones only. `q` matches the title or slug; "
        "use `/knowledge/search` for ranked full-text search."
    ),
)
def list_articles(
    request: ApiRequest,
    q: Annotated[str, Query(description="words in the title or slug")] = "",
    category: Annotated[str, Query(description="category slug")] = "",
    tag: Annotated[str, Query(description="tag name")] = "",
    audience: Annotated[str, Query(description="`public` or `internal` (staff only)")] = "",
    cursor: Annotated[str, Query(description="`next_cursor` of the previous page")] = "",
    limit: Annotated[int, Query(ge=1, le=200, description="articles per page")] = PAGE_SIZE,
) -> dict[str, Any]:
    rows = selectors.articles_for(_viewer(request)).prefetch_related("tags")
    if q.strip():
        rows = rows.filter(Q(title__icontains=q.strip()) | Q(slug__icontains=q.strip()))
    if category:
        rows = rows.filter(category__slug=category)
    if tag:
        rows = rows.filter(tags__name=tag)
    if audience:
        if audience not in ("public", "internal"):
            raise InvalidInput("audience must be public or internal")
        rows = rows.filter(audience=audience)
    rows = rows.order_by("-updated_at", "-id")
    if cursor:
        at, pk = decode_cursor(cursor)
        rows = rows.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=pk))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    return {
        "items": [article_out(a) for a in items],
        "next_cursor": encode_cursor(last.updated_at, last.pk) if more and last else None,
    }


@router.get(
    "/articles/{id_or_slug}",
    response=ArticleDetailOut,
    auth=PUBLIC_READ,
    summary="Read an article's current version",
    description=(
        "The current version, as the desk and the portal show it. `channel` renders the body "
        "for one channel (its sections only); without it every section is kept, labelled. "
        "Internal articles are 404 for anyone but staff, exactly like a missing one."
    ),
)
def get_article(
    request: ApiRequest,
    id_or_slug: IdOrSlug,
    channel: Annotated[RenderChannel | None, Query(description="render for this channel")] = None,
) -> dict[str, Any]:
    article = selectors.get_article_for(_viewer(request), id_or_slug)
    return article_detail_out(article, channel)


@router.get(
    "/articles/{id_or_slug}/versions",
    response=list[VersionOut],
    auth=PUBLIC_READ,
    summary="Version history (staff)",
    description="Every version, newest first, with author and change note. Staff only (404).",
)
def list_versions(request: ApiRequest, id_or_slug: IdOrSlug) -> list[dict[str, Any]]:
    viewer = _viewer(request)
    article = selectors.get_article_for(viewer, id_or_slug)
    return [version_out(v, article.current_id) for v in selectors.versions_for(viewer, article)]


@router.get(
    "/articles/{id_or_slug}/versions/{number}",
    response=VersionOut,
    auth=PUBLIC_READ,
    summary="One version (staff)",
    description="One version by number. Anyone but staff sees only the current one of a public "
    "article; any other is 404.",
)
def get_version(request: ApiRequest, id_or_slug: IdOrSlug, number: VersionNumber) -> dict[str, Any]:
    viewer = _viewer(request)
    article = selectors.get_article_for(viewer, id_or_slug)
    return version_out(selectors.get_version_for(viewer, article, number), article.current_id)


@router.post(
    "/articles",
    response={201: ArticleDetailOut},
    summary="Create an article (editors)",
    description="A new article with its first version. Supervisors, admins and editors only "
    "(403 otherwise).",
)
def create_article(request: ApiRequest, data: ArticleIn) -> Status[dict[str, Any]]:
    article = services.create_article(
        by=request.auth,
        title=data.title,
        body=data.body,
        audience=data.audience,
        change_note=data.change_note,
        slug=data.slug,
        category=_category(data.category),
        tags=data.tags,
        review_by=data.review_by,
        policy=data.policy,
    )
    fresh = selectors.get_article_for(request.auth, article.pk)
    return Status(201, article_detail_out(fresh, None))


@router.post(
    "/articles/{id_or_slug}/versions",
    response={201: VersionOut},
    summary="Revise an article (editors)",
    description=(
        "A new version; the old ones stay as they were. Omitted fields are unchanged. Send "
        "`expected_version` (the version you edited): if someone else revised it meanwhile the "
        "answer is 409 and nothing is written."
    ),
)
def revise_article(
    request: ApiRequest, id_or_slug: IdOrSlug, data: RevisionIn
) -> Status[dict[str, Any]]:
    article = selectors.get_article_for(request.auth, id_or_slug)
    given = data.model_fields_set
    extra: dict[str, Any] = {}
    if "review_by" in given:
        extra["review_by"] = data.review_by
    if "policy" in given:
        extra["policy"] = data.policy
    if "category" in given:
        extra["category"] = _category(data.category)
    version = services.revise_article(
        article=article,
        by=request.auth,
        change_note=data.change_note,
        title=data.title,
        body=data.body,
        audience=data.audience,
        tags=data.tags,
        expected_version=data.expected_version,
        **extra,
    )
    return Status(201, version_out(version, version.pk))


@router.get(
    "/search",
    response=SearchOut,
    auth=PUBLIC_READ,
    summary="Search articles",
    description=(
        "Ranked full-text search with highlighted snippets and a spelling suggestion. Public "
        "articles only for anyone but staff (no credentials needed)."
    ),
)
def search(
    request: ApiRequest,
    q: Annotated[str, Query(min_length=1, max_length=200, description="what to look for")],
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many hits")] = 20,
) -> dict[str, Any]:
    results = search_articles(_viewer(request), q, limit=limit)
    return {
        "query": q,
        "total": results.total,
        "suggestion": results.suggestion,
        "mode": results.mode,
        "hits": [
            {"article": article_out(h.article), "rank": h.rank, "snippet_html": h.snippet_html}
            for h in results.hits
        ],
    }


@router.post(
    "/citations",
    response={201: CitationOut},
    summary="Record an article given to a customer",
    description=(
        "Cites the article's current version on the case: a timeline event (kind "
        "`article_cited`, with article id and version) and a citation row. `email` also queues "
        "the message to the customer (the outbox's rules apply: 409 without an owner). Internal "
        "articles cannot be given to customers (400)."
    ),
)
def cite(request: ApiRequest, data: CitationIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, data.case_id)
    article = selectors.get_article_for(request.auth, data.article)
    citation = citations.cite_article(
        case=case, article=article, by=request.auth, channel=data.channel, note=data.note
    )
    return Status(201, citation_out(citations.get_citation(request.auth, citation.pk)))


@router.get(
    "/citations",
    response=CitationPageOut,
    summary="List citations",
    description="Articles given to customers, newest first; one case's with `case_id`. Staff.",
)
def list_citations(
    request: ApiRequest,
    case_id: Annotated[str, Query(description="only this case's citations")] = "",
    cursor: Annotated[str, Query(description="`next_cursor` of the previous page")] = "",
) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id) if case_id else None
    page = citations.citation_page(request.auth, case=case, cursor=cursor or None)
    return {"items": [citation_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/citations/report",
    response=ReportOut,
    summary="Which versions were quoted on which channels",
    description=(
        "For the period (default the last 30 days, dates inclusive): per article, the count per "
        "version and channel, the versions quoted, and flags where a non-current version was "
        "quoted or different versions were given. Supervisors and admins (403 for agents)."
    ),
)
def report(
    request: ApiRequest,
    since: Annotated[date | None, Query(description="first day (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(description="last day (YYYY-MM-DD), default today")] = None,
    site: Annotated[str, Query(description="site code: citations made there")] = "",
    article: Annotated[str, Query(description="article id or slug")] = "",
) -> dict[str, Any]:
    site_obj = None
    if site:
        site_obj = Site.objects.filter(code=site).first()
        if site_obj is None:
            raise NotFound(f"no site with code '{site}'")
    chosen = selectors.get_article_for(request.auth, article) if article else None
    return report_out(
        citations.citation_report(
            request.auth, since=since, until=until, site=site_obj, article=chosen
        )
    )
