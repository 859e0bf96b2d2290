"""SQLite: audience, archived and category become tokens of an indexed `flags` column of the FTS5
table, so the audience filter is part of the MATCH (a posting-list intersection) instead of a
join to every matching row. PostgreSQL is unchanged."""

from typing import Any

from django.db import migrations

FLAGS_SQL = (
    "'kb' || audience || CASE WHEN archived THEN ' kbarchived' ELSE ' kblive' END || "
    "CASE WHEN category_slug != '' THEN ' kbcat' || lower(hex(category_slug)) ELSE '' END"
)


def _rebuild(with_flags: bool) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "sqlite":
            return
        columns = "title, tags, category, body" + (", flags" if with_flags else "")
        schema_editor.execute("DROP TABLE knowledge_search_fts")
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE knowledge_search_fts USING fts5({columns}, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        values = "title, tags, category, body" + (f", {FLAGS_SQL}" if with_flags else "")
        schema_editor.execute(
            f"INSERT INTO knowledge_search_fts (rowid, {columns}) "
            f"SELECT id, {values} FROM knowledge_search_doc"
        )

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_index")]

    operations = [migrations.RunPython(_rebuild(True), _rebuild(False))]
