from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _drop_stale_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from loxodon.knowledge.search import drop_index_if_articles_gone

    tables = set(connections[using].introspection.table_names())
    if using == "default" and {"knowledge_article", "knowledge_search_doc"} <= tables:
        drop_index_if_articles_gone()


class KnowledgeConfig(AppConfig):
    name = "loxodon.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base (articles, policies, exceptions)"

    def ready(self) -> None:
        # `flush` empties model tables, then sends post_migrate: the raw search tables follow.
        post_migrate.connect(_drop_stale_index, sender=self)
