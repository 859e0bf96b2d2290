"""API shapes of the knowledge base: articles, versions, search, citations and their report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from loxodon.core.schemas import StrictIn
from loxodon.knowledge.citations import CitationReport
from loxodon.knowledge.models import Article, ArticleVersion, Citation
from loxodon.knowledge.rendering import render

AudienceName = Literal["internal", "public"]
CiteChannel = Literal["phone", "email", "chat", "sms", "in_person", "web", "letter"]
RenderChannel = Literal["phone", "email", "chat", "web", "in_person", "sms", "letter"]


class ArticleOut(Schema):
    id: uuid.UUID = Field(description="the article's id (stable across versions)")
    slug: str = Field(description="stable address: /portal/help/<slug>/ for public articles")
    title: str = Field(description="title of the current version")
    audience: str = Field(description="`public` (customers too) or `internal` (staff only)")
    category: str | None = Field(description="category slug, if any")
    tags: list[str] = Field(description="tag names")
    version: int = Field(description="number of the current version (1, 2, …)")
    updated_at: datetime = Field(description="when the current version was written")
    review_by: date | None = Field(description="after this date the answer is flagged as stale")
    stale: bool = Field(description="true when `review_by` has passed: check before relying on it")
    is_policy: bool = Field(description="a policy with typed parameters and authority limits")


class ArticleDetailOut(ArticleOut):
    channel: str | None = Field(
        description="the channel `body_html` was rendered for (null: every section, labelled)"
    )
    policy: dict[str, Any] | None = Field(
        description="parameters and per-role authority limits of a policy (null otherwise)"
    )
    change_note: str = Field(description="why the current version was written")
    body_markdown: str = Field(
        description="the current version's Markdown as written, channel sections included"
    )
    body_html: str = Field(description="sanitised HTML of the current version for `channel`")


class ArticlePage(Schema):
    items: list[ArticleOut] = Field(description="one page of articles")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at end")


class VersionOut(Schema):
    number: int = Field(description="version number, 1 for the first")
    title: str = Field(description="the title in this version")
    audience: str = Field(description="`public` or `internal` in this version")
    change_note: str = Field(description="what changed and why")
    author: str | None = Field(description="username of whoever wrote this version")
    created_at: datetime = Field(description="when this version was written")
    review_by: date | None = Field(description="review date set by this version")
    policy: dict[str, Any] | None = Field(
        description="policy parameters of this version (null if not a policy)"
    )
    current: bool = Field(description="true for the version customers are given today")
    body_markdown: str = Field(description="this version's Markdown as written")
    body_html: str = Field(description="sanitised HTML, every channel section labelled")


class ArticleIn(StrictIn):
    title: str = Field(
        min_length=1, max_length=200, description="the article's title (also its first version's)"
    )
    body: str = Field(
        min_length=1, description="Markdown; `:::phone` … `:::` fences a channel-only section"
    )
    audience: AudienceName = Field(default="internal", description="`public` reaches customers")
    change_note: str = Field(
        default="First version", max_length=300, description="why this version was written"
    )
    slug: str | None = Field(default=None, description="default: made from the title")
    category: str | None = Field(default=None, description="category slug")
    tags: list[str] = Field(default_factory=list, description="tag names (created if new)")
    review_by: date | None = Field(default=None, description="date after which it is stale")
    policy: dict[str, Any] | None = Field(
        default=None, description="makes it a policy: `{parameters: [...]}` (see knowledge.policy)"
    )


class RevisionIn(StrictIn):
    change_note: str = Field(min_length=1, max_length=300, description="what changed and why")
    expected_version: int | None = Field(
        default=None,
        description="the version you edited; if another is current by now the answer is 409",
    )
    title: str | None = Field(default=None, max_length=200, description="omit: unchanged")
    body: str | None = Field(default=None, description="omit: unchanged")
    audience: AudienceName | None = Field(default=None, description="omit: unchanged")
    review_by: date | None = Field(default=None, description="omit: unchanged; null clears it")
    policy: dict[str, Any] | None = Field(
        default=None, description="omit: unchanged; null makes it an ordinary article"
    )
    category: str | None = Field(default=None, description="omit: unchanged; null clears it")
    tags: list[str] | None = Field(default=None, description="omit: unchanged")


class HitOut(Schema):
    article: ArticleOut = Field(description="the article found (current version)")
    rank: float = Field(description="higher is better; comparable within one result only")
    snippet_html: str = Field(description="matching text with `<mark>` around the terms")


class SearchOut(Schema):
    query: str = Field(description="the query as received")
    total: int = Field(description="matching articles (hits holds the first `limit`)")
    suggestion: str | None = Field(description="a spelling the index knows, when q looks mistyped")
    mode: str = Field(description="how the search ran, e.g. full-text or semantic")
    hits: list[HitOut] = Field(description="best first")


class CitationIn(StrictIn):
    case_id: uuid.UUID = Field(description="the case the customer was helped on")
    article: str = Field(min_length=1, description="article id or slug (public articles only)")
    channel: CiteChannel = Field(description="how the customer was given it; `email` sends it")
    note: str = Field(default="", max_length=2_000, description="what was said, optional")


class CitationOut(Schema):
    id: uuid.UUID = Field(description="the citation's id")
    article_id: uuid.UUID = Field(description="the article cited")
    slug: str = Field(description="the article's slug")
    title: str = Field(description="title of the version given")
    version: int = Field(description="the version the customer was given")
    current_version: int | None = Field(description="the article's current version today")
    outdated: bool = Field(description="a newer version exists than the one given")
    channel: str = Field(
        description="how it was given: phone, email, chat, sms, in_person, web or letter"
    )
    case_id: uuid.UUID | None = Field(description="the case it was given on")
    customer_id: uuid.UUID = Field(description="the customer who was given it")
    event_id: uuid.UUID = Field(description="the `article_cited` timeline event")
    cited_by: str | None = Field(description="username of the agent")
    note: str = Field(description="what the agent noted they said (may be empty)")
    created_at: datetime = Field(description="when it was given")


class CitationPageOut(Schema):
    items: list[CitationOut] = Field(description="citations, newest first")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class ReportRowOut(Schema):
    version: int = Field(description="version number given")
    channel: str = Field(description="channel it was given on")
    count: int = Field(description="how many times")


class ReportArticleOut(Schema):
    article_id: uuid.UUID = Field(description="the article")
    slug: str = Field(description="the article's slug")
    title: str = Field(description="the article's current title")
    current_version: int | None = Field(description="the article's current version today")
    total: int = Field(description="citations of this article in the period")
    versions_quoted: list[int] = Field(description="the versions given in the period")
    non_current_quoted: list[int] = Field(description="quoted versions no longer current")
    mixed_versions: bool = Field(description="answers given from different versions")
    rows: list[ReportRowOut] = Field(description="count per version and channel")


class ReportOut(Schema):
    since: date = Field(description="first day of the period")
    until: date = Field(description="last day of the period (inclusive)")
    total: int = Field(description="citations in the period")
    articles: list[ReportArticleOut] = Field(description="articles cited, most cited first")


# --- builders ---------------------------------------------------------------------------------


def article_out(a: Article) -> dict[str, Any]:
    current = a.current
    return {
        "id": a.pk,
        "slug": a.slug,
        "title": a.title,
        "audience": a.audience,
        "category": a.category.slug if a.category else None,
        "tags": sorted(t.name for t in a.tags.all()),
        "version": current.number if current else 0,
        "updated_at": current.created_at if current else a.updated_at,
        "review_by": a.review_by,
        "stale": a.is_stale(),
        "is_policy": a.is_policy,
    }


def article_detail_out(a: Article, channel: str | None) -> dict[str, Any]:
    current = a.current
    body = current.body if current else ""
    return {
        **article_out(a),
        "channel": channel,
        "policy": current.policy if current else None,
        "change_note": current.change_note if current else "",
        "body_markdown": body,
        "body_html": render(body, channel),
    }


def version_out(v: ArticleVersion, current_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "number": v.number,
        "title": v.title,
        "audience": v.audience,
        "change_note": v.change_note,
        "author": v.author.username if v.author else None,
        "created_at": v.created_at,
        "review_by": v.review_by,
        "policy": v.policy,
        "current": v.pk == current_id,
        "body_markdown": v.body,
        "body_html": render(v.body),
    }


def citation_out(c: Citation) -> dict[str, Any]:
    current = c.article.current
    return {
        "id": c.pk,
        "article_id": c.article_id,
        "slug": c.article.slug,
        "title": c.version.title,
        "version": c.version.number,
        "current_version": current.number if current else None,
        "outdated": current is not None and current.pk != c.version_id,
        "channel": c.channel,
        "case_id": c.case_id,
        "customer_id": c.customer_id,
        "event_id": c.event_id,
        "cited_by": c.cited_by.username if c.cited_by else None,
        "note": c.event.body,
        "created_at": c.created_at,
    }


def report_out(report: CitationReport) -> dict[str, Any]:
    return {
        "since": report.since,
        "until": report.until,
        "total": report.total,
        "articles": [
            {
                "article_id": a.article_id,
                "slug": a.slug,
                "title": a.title,
                "current_version": a.current_version,
                "total": a.total,
                "versions_quoted": a.versions_quoted,
                "non_current_quoted": a.non_current_quoted,
                "mixed_versions": a.mixed_versions,
                "rows": [
                    {"version": r.version, "channel": r.channel, "count": r.count} for r in a.rows
                ],
            }
            for a in report.articles
        ],
    }
