# ruff: noqa: S608 - SQL is assembled from constants only; every value is a parameter
"""The index tables (see migration knowledge/0002) and the full-text match on each database.

SQLite: FTS5 (`porter unicode61`), ranked by bm25 with the title weighted above tags, category
and body. PostgreSQL: a weighted `tsvector` (title A, tags/category/body B) with a GIN index,
matched with `websearch_to_tsquery('english', …)` and ranked by `ts_rank_cd`. The audience and
archived filters are in the same SQL as the match. Callers pass words (see `text.query_words`),
never raw user input: each word is quoted for the engine.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from loxodon.knowledge.models import Audience
from loxodon.knowledge.search.text import vocabulary_terms

PG_BOUNDED = 1000  # see _pg_match
COUNT_CAP = 1000  # "1000+ results": counting every match of a common word costs more than it tells
TITLE_WEIGHT, TAGS_WEIGHT, CATEGORY_WEIGHT, BODY_WEIGHT = 10.0, 4.0, 2.0, 1.0


@dataclass(frozen=True)
class Doc:
    """What the index holds for one article: its current version as plain text."""

    article_id: uuid.UUID
    version: int
    title: str
    tags: str
    category: str
    category_slug: str
    body: str
    audience: str
    archived: bool
    embedding: bytes | None = None

    @property
    def terms(self) -> set[str]:
        return vocabulary_terms(self.title, self.tags, self.category, self.body)

    @property
    def is_public(self) -> bool:
        return self.audience == Audience.PUBLIC and not self.archived


@dataclass(frozen=True)
class Scope:
    """Which documents a search may return (derived from the viewer; see search_articles)."""

    public_only: bool
    audience: str | None = None  # staff narrowing to public/internal
    category: str | None = None  # category slug
    include_archived: bool = False


def flags(doc: Doc) -> str:
    """SQLite: audience, archived and category as tokens of the FTS5 `flags` column (see
    migration 0003), matched in the same MATCH as the words."""
    out = f"kb{doc.audience} {'kbarchived' if doc.archived else 'kblive'}"
    if doc.category_slug:
        out += f" kbcat{doc.category_slug.encode().hex()}"
    return out


def vendor() -> str:
    return connection.vendor


def _db_id(article_id: uuid.UUID) -> Any:
    return article_id.hex if vendor() == "sqlite" else article_id


def to_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def bump_generation(cursor: Any) -> int:
    """The next generation: +1, but never below the clock in microseconds, so a generation is
    never reused after a rollback (per-process caches patch "rows newer than what I saw")."""
    greatest = "GREATEST" if vendor() == "postgresql" else "max"
    cursor.execute(
        f"UPDATE knowledge_search_state SET generation = {greatest}(generation + 1, %s) "
        "WHERE id = 1 RETURNING generation",
        [time.time_ns() // 1000],
    )
    return int(cursor.fetchone()[0])


def generation() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation FROM knowledge_search_state WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- writing -------------------------------------------------------------------------------------


def _term_deltas(old: Doc | None, new: Doc | None) -> list[tuple[str, int, int]]:
    """(term, Δpublic_df, Δall_df) for the vocabulary, only for terms whose counts change."""
    delta: dict[str, list[int]] = {}
    for doc, sign in ((old, -1), (new, 1)):
        if doc is None or doc.archived:
            continue
        public = 1 if doc.is_public else 0
        for term in doc.terms:
            d = delta.setdefault(term, [0, 0])
            d[0] += sign * public
            d[1] += sign
    return [(t, p, a) for t, (p, a) in delta.items() if p or a]


def _write_terms(cursor: Any, deltas: Sequence[tuple[str, int, int]], gen: int) -> None:
    if not deltas:
        return
    cursor.executemany(
        "INSERT INTO knowledge_search_term (term, public_df, all_df, generation) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (term) DO UPDATE SET "
        "public_df = knowledge_search_term.public_df + excluded.public_df, "
        "all_df = knowledge_search_term.all_df + excluded.all_df, "
        "generation = excluded.generation",
        [(t, p, a, gen) for t, p, a in deltas],
    )


_DOC_COLUMNS = (
    "article_id, version, title, tags, category, category_slug, body, audience, archived, embedding"
)


def _old_doc(cursor: Any, article_id: uuid.UUID) -> tuple[int, Doc] | None:
    cursor.execute(
        f"SELECT id, {_DOC_COLUMNS} FROM knowledge_search_doc WHERE article_id = %s",
        [_db_id(article_id)],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return row[0], Doc(
        to_uuid(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9])
    )


def _doc_params(doc: Doc, gen: int) -> list[Any]:
    return [
        _db_id(doc.article_id), doc.version, doc.title, doc.tags, doc.category, doc.category_slug,
        doc.body, doc.audience, doc.archived, doc.embedding, gen,
    ]  # fmt: skip


_PG_DOCUMENT = (
    "setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'B')"
)
_PG_HEADS = "to_tsvector('english', %s)"  # title, tags and category (migration 0004)
_PG_VALUES = f"{', '.join(['%s'] * 11)}, {_PG_DOCUMENT}, {_PG_HEADS}"


def _pg_texts(doc: Doc) -> list[str]:
    return [
        doc.title,
        f"{doc.tags} {doc.category} {doc.body}",
        f"{doc.title} {doc.tags} {doc.category}",
    ]


def write(doc: Doc) -> None:
    """Insert or replace one article's row, its full-text entry and its vocabulary counts.
    Call inside a transaction (index_article does)."""
    with connection.cursor() as cursor:
        gen = bump_generation(cursor)
        found = _old_doc(cursor, doc.article_id)
        old_id, old = found if found else (None, None)
        _write_terms(cursor, _term_deltas(old, doc), gen)
        if vendor() == "postgresql":
            cursor.execute(
                f"INSERT INTO knowledge_search_doc ({_DOC_COLUMNS}, generation, document, heads) "
                f"VALUES ({_PG_VALUES}) "
                "ON CONFLICT (article_id) DO UPDATE SET version = excluded.version, "
                "title = excluded.title, tags = excluded.tags, category = excluded.category, "
                "category_slug = excluded.category_slug, body = excluded.body, "
                "audience = excluded.audience, archived = excluded.archived, "
                "embedding = excluded.embedding, generation = excluded.generation, "
                "document = excluded.document, heads = excluded.heads",
                [*_doc_params(doc, gen), *_pg_texts(doc)],
            )
            return
        if old_id is None:
            cursor.execute(
                f"INSERT INTO knowledge_search_doc ({_DOC_COLUMNS}, generation) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                _doc_params(doc, gen),
            )
            doc_id = cursor.lastrowid
        else:
            doc_id = old_id
            cursor.execute(
                "UPDATE knowledge_search_doc SET article_id = %s, version = %s, title = %s, "
                "tags = %s, category = %s, category_slug = %s, body = %s, audience = %s, "
                "archived = %s, embedding = %s, generation = %s WHERE id = %s",
                [*_doc_params(doc, gen), doc_id],
            )
            cursor.execute("DELETE FROM knowledge_search_fts WHERE rowid = %s", [doc_id])
        cursor.execute(
            "INSERT INTO knowledge_search_fts (rowid, title, tags, category, body, flags) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [doc_id, doc.title, doc.tags, doc.category, doc.body, flags(doc)],
        )


def remove(article_id: uuid.UUID) -> None:
    """Drop an article from the index (it was deleted); its words leave the vocabulary."""
    with connection.cursor() as cursor:
        found = _old_doc(cursor, article_id)
        if found is None:
            return
        doc_id, old = found
        gen = bump_generation(cursor)
        _write_terms(cursor, _term_deltas(old, None), gen)
        if vendor() == "sqlite":
            cursor.execute("DELETE FROM knowledge_search_fts WHERE rowid = %s", [doc_id])
        cursor.execute("DELETE FROM knowledge_search_doc WHERE id = %s", [doc_id])


def clear() -> None:
    with connection.cursor() as cursor:
        if vendor() == "sqlite":
            cursor.execute("DELETE FROM knowledge_search_fts")
        cursor.execute("DELETE FROM knowledge_search_doc")
        cursor.execute("DELETE FROM knowledge_search_term")


def write_many(
    docs: Iterable[Doc], gen: int, vocabulary: Counter[str], public: Counter[str]
) -> int:
    """Bulk insert into an index being rebuilt (after `clear`); counts terms into the Counters."""
    rows, n = [], 0
    with connection.cursor() as cursor:
        for doc in docs:
            n += 1
            if not doc.archived:
                terms = doc.terms
                vocabulary.update(terms)
                if doc.is_public:
                    public.update(terms)
            rows.append(doc)
        if vendor() == "postgresql":
            cursor.executemany(
                f"INSERT INTO knowledge_search_doc ({_DOC_COLUMNS}, generation, document, heads) "
                f"VALUES ({_PG_VALUES})",
                [[*_doc_params(d, gen), *_pg_texts(d)] for d in rows],
            )
            return n
        cursor.execute("SELECT coalesce(max(id), 0) FROM knowledge_search_doc")
        before = int(cursor.fetchone()[0])
        cursor.executemany(
            f"INSERT INTO knowledge_search_doc ({_DOC_COLUMNS}, generation) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [_doc_params(d, gen) for d in rows],
        )
        cursor.execute("SELECT id, article_id FROM knowledge_search_doc WHERE id > %s", [before])
        ids = {to_uuid(a): i for i, a in cursor.fetchall()}
        cursor.executemany(
            "INSERT INTO knowledge_search_fts (rowid, title, tags, category, body, flags) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [(ids[d.article_id], d.title, d.tags, d.category, d.body, flags(d)) for d in rows],
        )
    return n


def write_vocabulary(vocabulary: Counter[str], public: Counter[str], gen: int) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO knowledge_search_term (term, public_df, all_df, generation) "
            "VALUES (%s, %s, %s, %s)",
            [(t, public.get(t, 0), n, gen) for t, n in vocabulary.items() if len(t) <= 64],
        )


def analyze() -> None:
    """After a bulk load: merge FTS5 segments, refresh the planner's statistics. Without
    statistics SQLite reads "audience = 'public' AND id IN (…20 ids…)" through the audience
    index (every public article, ~30 ms at 50,000) instead of the primary key (~1 ms)."""
    with connection.cursor() as cursor:
        if vendor() == "sqlite":  # merge the segments a bulk load leaves (2x faster queries)
            cursor.execute(
                "INSERT INTO knowledge_search_fts (knowledge_search_fts) VALUES ('optimize')"
            )
        cursor.execute("ANALYZE knowledge_article")
        cursor.execute("ANALYZE knowledge_search_doc")


# --- reading -------------------------------------------------------------------------------------


def _filters(scope: Scope, alias: str = "d") -> tuple[str, list[Any]]:
    sql, params = [], []
    if scope.public_only:
        sql.append(f"{alias}.audience = %s AND {alias}.archived = %s")
        params += [Audience.PUBLIC.value, False]
    else:
        if not scope.include_archived:
            sql.append(f"{alias}.archived = %s")
            params.append(False)
        if scope.audience:
            sql.append(f"{alias}.audience = %s")
            params.append(scope.audience)
    if scope.category:
        sql.append(f"{alias}.category_slug = %s")
        params.append(scope.category)
    return "".join(f" AND {s}" for s in sql), params


def _fts5_query(
    words: Sequence[str], any_word: bool, prefix: bool, columns: str, scope: Scope
) -> str:
    """The FTS5 expression: the quoted words (in `columns` if given) AND the scope's flags."""
    phrases = [f'"{w}"*' if prefix else f'"{w}"' for w in words]
    joined = (" OR " if any_word else " AND ").join(phrases)
    expression = f"{{{columns or 'title tags category body'}}} : ({joined})"
    wanted = []
    if scope.public_only:
        wanted += ["kbpublic", "kblive"]
    else:
        if not scope.include_archived:
            wanted.append("kblive")
        if scope.audience in Audience.values:
            wanted.append(f"kb{scope.audience}")
    if scope.category:
        wanted.append(f"kbcat{scope.category.encode().hex()}")
    return " AND ".join([expression, *(f"flags : {w}" for w in wanted)])


_FTS5_WEIGHTS = f"{TITLE_WEIGHT}, {TAGS_WEIGHT}, {CATEGORY_WEIGHT}, {BODY_WEIGHT}, 0.0"


def _article_ids(cursor: Any, rowids: list[int]) -> dict[int, uuid.UUID]:
    if not rowids:
        return {}
    marks = ", ".join(["%s"] * len(rowids))
    cursor.execute(f"SELECT id, article_id FROM knowledge_search_doc WHERE id IN ({marks})", rowids)
    return {int(i): to_uuid(a) for i, a in cursor.fetchall()}


def _pg_query(words: Sequence[str], any_word: bool) -> str:
    return (" or " if any_word else " ").join(f'"{w}"' for w in words)


def match(
    words: Sequence[str],
    scope: Scope,
    *,
    limit: int,
    offset: int = 0,
    any_word: bool = False,
    count: bool = True,
) -> tuple[list[tuple[uuid.UUID, float]], int]:
    """Best `limit` (article id, rank: higher is better) after `offset`, and how many match
    (capped at COUNT_CAP; -1 when `count` is off)."""
    if not words:
        return [], 0
    with connection.cursor() as cursor:
        if vendor() == "postgresql":
            return _pg_match(cursor, words, scope, limit, offset, any_word, count)
        query = _fts5_query(words, any_word, prefix=False, columns="", scope=scope)
        total = -1
        if count:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM knowledge_search_fts "
                f"WHERE knowledge_search_fts MATCH %s LIMIT {COUNT_CAP}) t",
                [query],
            )
            total = int(cursor.fetchone()[0])
        rows: list[Any] = []
        if total >= COUNT_CAP or any_word:  # common words, or any of many (case text)
            # Very common words: rank the articles with them in the title, tags or category
            # (weighted far above the body, so they head the ranking anyway) before ranking
            # every match; fall through when they do not fill the page.
            heads = _fts5_query(words, any_word, False, "title tags category", scope)
            rows = _ranked(cursor, heads, limit, offset)
            if len(rows) < limit:
                rows = []
        if not rows:
            rows = _ranked(cursor, query, limit, offset)
        articles = _article_ids(cursor, [r[0] for r in rows])
        hits = [(articles[i], -float(r)) for i, r in rows if i in articles]
        return hits, total


def _pg_match(
    cursor: Any,
    words: Sequence[str],
    scope: Scope,
    limit: int,
    offset: int,
    any_word: bool,
    count: bool,
) -> tuple[list[tuple[uuid.UUID, float]], int]:
    where, params = _filters(scope)
    query = _pg_query(words, any_word)
    base = (
        "FROM knowledge_search_doc d, websearch_to_tsquery('english', %s) q "
        f"WHERE d.document @@ q{where}"
    )
    total = -1
    if count:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP}) t", [query, *params]
        )
        total = int(cursor.fetchone()[0])
    rows: list[Any] = []
    if total >= COUNT_CAP or any_word:  # common words, or any of many (case text)
        # Very common words: the articles with them in the title, tags or category first (their
        # own GIN-indexed tsvector), as on SQLite; if those do not fill the page, every match.
        # Either way only the first PG_BOUNDED rows found are ranked: ts_rank_cd reads each
        # row's whole tsvector, 100 ms for 30,000 rows on PostgreSQL.
        cursor.execute(
            "SELECT article_id, ts_rank_cd(document, q) AS r FROM (SELECT d.id, d.article_id, "
            "d.document, q FROM knowledge_search_doc d, websearch_to_tsquery('english', %s) q "
            f"WHERE d.heads @@ q{where} LIMIT {PG_BOUNDED}) m "
            "ORDER BY r DESC, id LIMIT %s OFFSET %s",
            [query, *params, limit, offset],
        )
        rows = cursor.fetchall()
        if len(rows) < limit:
            cursor.execute(
                "SELECT article_id, ts_rank_cd(document, q) AS r FROM (SELECT d.id, "
                f"d.article_id, d.document, q {base} LIMIT {PG_BOUNDED}) m "
                "ORDER BY r DESC, id LIMIT %s OFFSET %s",
                [query, *params, limit, offset],
            )
            rows = cursor.fetchall()
    else:
        cursor.execute(
            f"SELECT d.article_id, ts_rank_cd(d.document, q) AS r {base} "
            "ORDER BY r DESC, d.id LIMIT %s OFFSET %s",
            [query, *params, limit, offset],
        )
        rows = cursor.fetchall()
    return [(to_uuid(a), float(r)) for a, r in rows], total


def _ranked(cursor: Any, expression: str, limit: int, offset: int) -> list[Any]:
    cursor.execute(
        f"SELECT rowid, bm25(knowledge_search_fts, {_FTS5_WEIGHTS}) AS r "
        "FROM knowledge_search_fts WHERE knowledge_search_fts MATCH %s "
        "ORDER BY r LIMIT %s OFFSET %s",
        [expression, limit, offset],
    )
    return list(cursor.fetchall())


def title_prefix(words: Sequence[str], scope: Scope, limit: int) -> list[str]:
    """Titles with words starting with each of the query's words: typeahead."""
    if not words:
        return []
    where, params = _filters(scope)
    with connection.cursor() as cursor:
        if vendor() == "postgresql":
            terms = [f"'{w}':*A" for w in words]
            cursor.execute(
                "SELECT d.title FROM knowledge_search_doc d, to_tsquery('english', %s) q "
                f"WHERE d.document @@ q{where} "
                "ORDER BY ts_rank_cd(d.document, q) DESC, d.title LIMIT %s",
                [" & ".join(terms), *params, limit],
            )
        else:
            cursor.execute(
                "SELECT title FROM knowledge_search_fts WHERE knowledge_search_fts MATCH %s "
                "ORDER BY bm25(knowledge_search_fts, 1.0, 0.0, 0.0, 0.0, 0.0), title LIMIT %s",
                [_fts5_query(words, False, prefix=True, columns="title", scope=scope), limit],
            )
        return [t for (t,) in cursor.fetchall()]


def bodies(article_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = [_db_id(a) for a in article_ids]
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT article_id, body FROM knowledge_search_doc WHERE article_id IN ({marks})", ids
        )
        return {to_uuid(a): b for a, b in cursor.fetchall()}


def terms_since(gen: int) -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT term, public_df, all_df FROM knowledge_search_term WHERE generation > %s", [gen]
        )
        return [(t, int(p), int(a)) for t, p, a in cursor.fetchall()]


def embeddings_since(gen: int) -> list[tuple[uuid.UUID, str, bool, str, bytes | None]]:
    """(article id, audience, archived, category slug, float32 bytes) of rows changed after gen."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT article_id, audience, archived, category_slug, embedding "
            "FROM knowledge_search_doc WHERE generation > %s",
            [gen],
        )
        return [
            (to_uuid(a), aud, bool(arch), cat, bytes(e) if e is not None else None)
            for a, aud, arch, cat, e in cursor.fetchall()
        ]


def term_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_search_term")
        return int(cursor.fetchone()[0])


def doc_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_search_doc")
        return int(cursor.fetchone()[0])
