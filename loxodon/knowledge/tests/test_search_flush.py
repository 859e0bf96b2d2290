"""The search index lives in raw tables: a flushed database must not keep searching them."""

import pytest
from django.core.management import call_command

from loxodon.knowledge import search, services
from loxodon.knowledge.search import index
from loxodon.org.models import User


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_search_index() -> None:
    editor = User.objects.create_user("ed", role="supervisor")
    services.create_article(by=editor, title="Flushable", body="Ephemeral words", audience="public")
    assert index.doc_count() == 1
    assert search.search_articles(None, "ephemeral").total == 1
    call_command("flush", interactive=False, verbosity=0)
    assert index.doc_count() == 0
    assert search.search_articles(None, "ephemeral").total == 0
