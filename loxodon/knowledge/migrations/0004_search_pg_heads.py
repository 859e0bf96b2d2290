"""PostgreSQL: a second tsvector of the title, tags and category ("heads") with its own GIN index,
so "rank the title matches first" for very common words is an index lookup (the weight-restricted
query on the whole document cannot use the GIN index). SQLite is unchanged (its FTS5 column
filter does this already)."""

from typing import Any

from django.db import migrations

UP = [
    "ALTER TABLE knowledge_search_doc ADD COLUMN heads tsvector",
    "UPDATE knowledge_search_doc SET heads = "
    "to_tsvector('english', title || ' ' || tags || ' ' || category)",
    "ALTER TABLE knowledge_search_doc ALTER COLUMN heads SET NOT NULL",
    "CREATE INDEX knowledge_search_doc_heads ON knowledge_search_doc USING GIN (heads)",
]
DOWN = [
    "DROP INDEX knowledge_search_doc_heads",
    "ALTER TABLE knowledge_search_doc DROP COLUMN heads",
]


def _run(statements: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_search_fts_flags")]

    operations = [migrations.RunPython(_run(UP), _run(DOWN))]
