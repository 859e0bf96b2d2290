"""Every write to articles: create, revise (a new version each time), archive.

Each function validates first and writes in one transaction; the search index is brought up to
date on commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from loxodon.core.errors import Conflict, InvalidInput, PermissionDenied
from loxodon.knowledge import search
from loxodon.knowledge.models import Article, ArticleVersion, Audience, Category, Tag
from loxodon.knowledge.policy import parse_policy
from loxodon.knowledge.rendering import VariantError, split_sections
from loxodon.knowledge.selectors import can_edit_knowledge
from loxodon.org.models import User

# Words the desk's /desk/kb/<word> routes use: no article may take them as its slug.
RESERVED_SLUGS = frozenset(
    {"new", "search", "suggest", "for-case", "citations", "exceptions", "approvals"}
)
_UNSET: Any = object()


def _require_editor(by: User) -> None:
    if not can_edit_knowledge(by):
        raise PermissionDenied(
            "editing the knowledge base needs a supervisor, an admin or an editor"
        )


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("title: an article needs a title")
    if len(title) > 200:
        raise InvalidInput("title: at most 200 characters")
    return title


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("body: an article needs some text")
    try:
        split_sections(body)
    except VariantError as exc:
        raise InvalidInput(f"body: {exc}") from None
    return body


def _check_audience(audience: str) -> str:
    if audience not in Audience.values:
        raise InvalidInput(f"audience must be one of: {', '.join(Audience.values)}")
    return audience


def _check_note(change_note: str) -> str:
    note = (change_note or "").strip()
    if not note:
        raise InvalidInput("change_note: say what changed and why")
    return note[:300]


def _check_policy(policy: Any) -> dict[str, Any] | None:
    if policy is None:
        return None
    return parse_policy(policy).model_dump()


def _tags(names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({slugify(n)[:50] for n in names if slugify(n)})
    existing = {t.name: t for t in Tag.objects.filter(name__in=cleaned)}
    for name in cleaned:
        if name not in existing:
            existing[name] = Tag.objects.create(name=name)
    return [existing[n] for n in cleaned]


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "article"
    if base in RESERVED_SLUGS:
        base = f"{base}-article"
    slug, n = base, 2
    while Article.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _index_on_commit(article: Article) -> None:
    transaction.on_commit(lambda: search.index_article(article))


@transaction.atomic
def create_article(
    *,
    by: User,
    title: str,
    body: str,
    audience: str = Audience.INTERNAL,
    change_note: str = "First version",
    slug: str | None = None,
    category: Category | None = None,
    tags: Iterable[str] = (),
    review_by: date | None = None,
    policy: Any = None,
) -> Article:
    """A new article with its first version."""
    _require_editor(by)
    title, body = _check_title(title), _check_body(body)
    audience, note, spec = (
        _check_audience(audience),
        _check_note(change_note),
        _check_policy(policy),
    )
    if slug:
        slug = slugify(slug)
        if not slug or slug in RESERVED_SLUGS:
            raise InvalidInput(f"slug: {slug!r} is not allowed; choose another")
        if Article.objects.filter(slug=slug).exists():
            raise Conflict(f"slug: an article called {slug!r} already exists")
    article = Article.objects.create(
        slug=slug or _unique_slug(title),
        title=title,
        audience=audience,
        category=category,
        is_policy=spec is not None,
        review_by=review_by,
        owner=by,
    )
    article.tags.set(_tags(tags))
    version = ArticleVersion.objects.create(
        article=article,
        number=1,
        title=title,
        body=body,
        audience=audience,
        change_note=note,
        author=by,
        review_by=review_by,
        policy=spec,
    )
    article.current = version
    article.save(update_fields=["current", "updated_at"])
    _index_on_commit(article)
    return article


@transaction.atomic
def revise_article(
    *,
    article: Article,
    by: User,
    change_note: str,
    title: str | None = None,
    body: str | None = None,
    audience: str | None = None,
    review_by: date | None = _UNSET,
    policy: Any = _UNSET,
    category: Category | None = _UNSET,
    tags: Iterable[str] | None = None,
    expected_version: int | None = None,
) -> ArticleVersion:
    """A new version (the old ones stay as they were). `expected_version` guards lost updates."""
    _require_editor(by)
    locked = (
        Article.objects.select_for_update(of=("self",)).select_related("current").get(pk=article.pk)
    )
    current = locked.current
    if current is None:  # only while create_article's transaction is open
        raise Conflict(f"{locked.title} has no version yet")
    if expected_version is not None and expected_version != current.number:
        raise Conflict(
            f"{locked.title} changed while you edited it: version {current.number} is current, "
            f"you edited version {expected_version}. Reload and make your change again."
        )
    note = _check_note(change_note)
    new_title = _check_title(title) if title is not None else current.title
    new_body = _check_body(body) if body is not None else current.body
    new_audience = _check_audience(audience) if audience is not None else current.audience
    new_review_by = current.review_by if review_by is _UNSET else review_by
    new_policy = current.policy if policy is _UNSET else _check_policy(policy)
    version = ArticleVersion.objects.create(
        article=locked,
        number=current.number + 1,
        title=new_title,
        body=new_body,
        audience=new_audience,
        change_note=note,
        author=by,
        review_by=new_review_by,
        policy=new_policy,
    )
    locked.current = version
    locked.title = new_title
    locked.audience = new_audience
    locked.review_by = new_review_by
    locked.is_policy = new_policy is not None
    fields = ["current", "title", "audience", "review_by", "is_policy", "updated_at"]
    if category is not _UNSET:
        locked.category = category
        fields.append("category")
    locked.save(update_fields=fields)
    if tags is not None:
        locked.tags.set(_tags(tags))
    _index_on_commit(locked)
    article.refresh_from_db()
    return version


@transaction.atomic
def archive_article(*, article: Article, by: User, reason: str) -> Article:
    """Retire an article: staff still find it (marked archived), customers no longer do."""
    _require_editor(by)
    if not (reason or "").strip():
        raise InvalidInput("reason: say why the article is archived")
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if locked.archived_at is not None:
        raise Conflict(f"{locked.title} is already archived")
    locked.archived_at = timezone.now()
    locked.archived_by = by
    locked.archived_reason = reason.strip()[:300]
    locked.save(update_fields=["archived_at", "archived_by", "archived_reason", "updated_at"])
    _index_on_commit(locked)
    return locked
