"""Knowledge search: one interface over SQLite FTS5 and PostgreSQL full-text (see backends)."""

from __future__ import annotations

from loxodon.knowledge.models import Article


def index_article(article: Article) -> None:
    """Bring the search index up to date with the article's current version (call on commit)."""
    # Filled in by the search work: FTS5 / tsvector rows, embeddings.
