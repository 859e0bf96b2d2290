"""Knowledge search: one interface over SQLite FTS5 and PostgreSQL full-text, plus optional
semantic search (WordLlama) fused with it by reciprocal rank.

- `search_articles(viewer, q)`: ranked hits with highlighted, HTML-safe snippets, a "Did you
  mean" suggestion for misspelt queries (searched instead when the original finds nothing);
- `suggest(q, viewer=)`: typeahead (titles whose words start with what was typed);
- `articles_for_problem(viewer, text)`: the articles closest to a case's problem text;
- `index_article(article)` (on commit, from services) and `rebuild_index()`.

Audience isolation is in the index's SQL: anyone but staff matches public, non-archived rows
only; every hit is then loaded through `selectors.articles_for(viewer)` as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from loxodon.knowledge.models import Article, Audience
from loxodon.knowledge.rendering import plain_text
from loxodon.knowledge.search import index, semantic, vocabulary
from loxodon.knowledge.search.index import Doc, Scope
from loxodon.knowledge.search.text import problem_words, query_words, snippet
from loxodon.knowledge.selectors import articles_for, is_staff_reader

RRF_K = 60
MAX_LIMIT = 100
MAX_OFFSET = 2000
FEW = 3  # fewer hits than this: look for a spelling correction

__all__ = [
    "Hit",
    "SearchResults",
    "articles_for_problem",
    "index_article",
    "rebuild_index",
    "search_articles",
    "suggest",
]


@dataclass(frozen=True)
class Hit:
    article: Article  # with .current loaded
    rank: float  # higher is better
    snippet_html: str  # escaped text with <mark>…</mark> around matched terms


@dataclass(frozen=True)
class SearchResults:
    hits: list[Hit]
    total: int  # how many matched, capped at index.COUNT_CAP (see `capped`)
    suggestion: str | None  # "Did you mean …", None if the query looks fine
    mode: str  # "fulltext", "semantic" or "hybrid"
    corrected: bool = False  # hits are for `suggestion`: the query as typed found nothing
    query: str = ""

    @property
    def capped(self) -> bool:
        return self.total >= index.COUNT_CAP


EMPTY = SearchResults(hits=[], total=0, suggestion=None, mode="fulltext")


# --- indexing ------------------------------------------------------------------------------------


def _doc(article: Article) -> Doc | None:
    version = article.current
    if version is None:
        return None
    category = article.category
    return Doc(
        article_id=article.pk,
        version=version.number,
        title=version.title,
        tags=" ".join(t.name for t in article.tags.all()),
        category=category.name if category else "",
        category_slug=category.slug if category else "",
        body=plain_text(version.body),
        audience=version.audience,
        archived=article.archived_at is not None,
    )


def _with_embedding(doc: Doc, vector: bytes | None) -> Doc:
    return Doc(**{**doc.__dict__, "embedding": vector})


def index_article(article: Article) -> None:
    """Bring the index up to date with the article's current version (call on commit)."""
    fresh = (
        Article.objects.select_related("current", "category")
        .prefetch_related("tags")
        .filter(pk=article.pk)
        .first()
    )
    if fresh is None:  # deleted since: forget it
        with transaction.atomic():
            index.remove(article.pk)
        return
    doc = _doc(fresh)
    if doc is None:
        return
    if semantic.model() is not None:
        doc = _with_embedding(doc, semantic.embed_docs([doc])[0])
    with transaction.atomic():
        index.write(doc)


def _chunks(batch: int) -> Iterable[list[Article]]:
    ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        yield list(
            Article.objects.select_related("current", "category")
            .prefetch_related("tags")
            .filter(pk__in=ids[start : start + batch])
            .order_by("pk")
        )


def rebuild_index(progress: Callable[[int, int], None] | None = None, batch: int = 1000) -> int:
    """Index every article from scratch (one transaction); returns how many were indexed."""
    from collections import Counter

    total = Article.objects.count()
    done = 0
    with transaction.atomic():
        index.clear()
        from django.db import connection

        with connection.cursor() as cursor:
            gen = index.bump_generation(cursor)
        vocab: Counter[str] = Counter()
        public: Counter[str] = Counter()
        for articles in _chunks(batch):
            docs = [d for d in (_doc(a) for a in articles) if d is not None]
            if semantic.model() is not None:
                docs = [
                    _with_embedding(d, v)
                    for d, v in zip(docs, semantic.embed_docs(docs), strict=True)
                ]
            index.write_many(docs, gen, vocab, public)
            done += len(articles)
            if progress:
                progress(done, total)
        index.write_vocabulary(vocab, public, gen)
    index.analyze()
    return done


# --- searching -----------------------------------------------------------------------------------


def _scope(
    viewer: Any, category: str | None, audience: str | None, include_archived: bool
) -> Scope:
    if not is_staff_reader(viewer):
        return Scope(public_only=True, category=category or None)
    if audience not in Audience.values:
        audience = None
    return Scope(
        public_only=False,
        audience=audience,
        category=category or None,
        include_archived=include_archived,
    )


def _fuse(*rankings: list[tuple[uuid.UUID, float]]) -> list[tuple[uuid.UUID, float]]:
    """Reciprocal rank fusion: each list gives 1/(k + rank); ids sorted by the sum."""
    score: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for position, (article_id, _) in enumerate(ranking, start=1):
            score[article_id] = score.get(article_id, 0.0) + 1.0 / (RRF_K + position)
    return sorted(score.items(), key=lambda item: -item[1])


def _hits(viewer: Any, ranked: list[tuple[uuid.UUID, float]], words: list[str]) -> list[Hit]:
    """Load the ranked articles through the audience-checked selector, in rank order."""
    ids = [a for a, _ in ranked]
    if not ids:
        return []
    articles = {a.pk: a for a in articles_for(viewer).filter(pk__in=ids).order_by()}
    bodies = index.bodies(ids)
    return [
        Hit(article=articles[a], rank=rank, snippet_html=snippet(bodies.get(a, ""), words))
        for a, rank in ranked
        if a in articles
    ]


def _run(
    words: list[str], text: str, scope: Scope, limit: int, offset: int, use_semantic: bool
) -> tuple[list[tuple[uuid.UUID, float]], int, int, str]:
    """(ranked page, total, full-text total, mode)."""
    if not use_semantic:
        ranked, total = index.match(words, scope, limit=limit, offset=offset)
        return ranked, total, total, "fulltext"
    depth = max(50, 2 * (offset + limit))
    fulltext, ft_total = index.match(words, scope, limit=depth)
    near = semantic.nearest(text, scope, depth)
    fused = _fuse(fulltext, near)
    extra = len({a for a, _ in near} - {a for a, _ in fulltext})
    total = min(ft_total + extra, index.COUNT_CAP) if ft_total >= 0 else len(fused)
    return fused[offset : offset + limit], total, ft_total, "hybrid"


def search_articles(
    viewer: Any,
    q: str,
    *,
    limit: int = 20,
    offset: int = 0,
    category: str | None = None,
    audience: str | None = None,
    semantic: bool | None = None,
    include_archived: bool = False,
) -> SearchResults:
    """Articles for a query, best first. Anyone but staff: public, non-archived only."""
    words = query_words(q)
    if not words:
        return EMPTY
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    scope = _scope(viewer, category, audience, include_archived)
    use_semantic = _semantic_enabled(semantic)
    text = " ".join(words)
    ranked, total, ft_total, mode = _run(words, text, scope, limit, offset, use_semantic)
    suggestion, corrected = None, False
    if ft_total < FEW and offset == 0:
        suggestion = vocabulary.correct(words, scope.public_only)
        if suggestion and ft_total == 0:
            fixed = query_words(suggestion)
            ranked2, total2, ft2, mode2 = _run(fixed, suggestion, scope, limit, 0, use_semantic)
            if ft2 > 0:
                ranked, total, mode, words, corrected = ranked2, total2, mode2, fixed, True
    return SearchResults(
        hits=_hits(viewer, ranked, words),
        total=max(total, 0),
        suggestion=suggestion,
        mode=mode,
        corrected=corrected,
        query=q,
    )


def _semantic_enabled(requested: bool | None) -> bool:
    return semantic.enabled(requested)


def suggest(q: str, *, viewer: Any, limit: int = 5) -> list[str]:
    """Typeahead: titles whose words start with what was typed, then a spelling correction."""
    words = query_words(q)
    if not words:
        return []
    limit = max(1, min(int(limit), 20))
    scope = _scope(viewer, None, None, False)
    options = index.title_prefix(words, scope, limit)
    if len(options) < limit:
        fix = vocabulary.correct(words, scope.public_only)
        if fix:
            options += [
                t for t in index.title_prefix(query_words(fix), scope, limit) if t not in options
            ]
    return list(dict.fromkeys(options))[:limit]


def articles_for_problem(viewer: Any, text: str, *, limit: int = 5) -> list[Hit]:
    """The articles that best answer free text (a case's problem): any of its significant words
    (full text), fused with the nearest in meaning when semantic search is on."""
    words = problem_words(text)
    if not words:
        return []
    limit = max(1, min(int(limit), 20))
    scope = _scope(viewer, None, None, False)
    chosen = vocabulary.informative(words, scope.public_only)
    fulltext, _ = index.match(chosen, scope, limit=max(20, limit * 4), any_word=True, count=False)
    if semantic.enabled():
        ranked = _fuse(fulltext, semantic.nearest(text[:2000], scope, max(20, limit * 4)))
    else:
        ranked = fulltext
    return _hits(viewer, ranked[:limit], words)


def drop_index_if_articles_gone() -> bool:
    """Empty the index when the articles are gone but index rows remain (after `flush`).

    The index lives in raw tables Django's `flush` does not know about; `flush` sends
    `post_migrate`, whose handler (see apps.py) calls this, so a flushed database (the test
    suite's transactional tests, `seed_demo --reset`) never searches articles that no longer exist.
    """
    from django.db import connection

    if Article.objects.exists() or index.doc_count() == 0:
        return False
    with transaction.atomic():
        index.clear()
        with connection.cursor() as cursor:
            index.bump_generation(cursor)
    return True
