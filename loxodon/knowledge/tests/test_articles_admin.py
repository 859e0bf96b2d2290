"""The Django admin shows articles, versions, exceptions and citations read-only."""

from __future__ import annotations

import pytest

from loxodon.core.testing import signed_in
from loxodon.knowledge import services
from loxodon.knowledge.models import Category
from loxodon.org.models import User

pytestmark = pytest.mark.django_db


def test_articles_are_read_only_in_the_admin(supervisor: User) -> None:
    article = services.create_article(by=supervisor, title="Returns", body="Thirty days.")
    admin = User.objects.create_superuser("root", password="x", role="admin")
    client = signed_in(admin)
    assert client.get("/admin/knowledge/article/").status_code == 200
    page = client.get(f"/admin/knowledge/article/{article.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "First version" in html  # the versions inline
    assert 'name="_save"' not in html
    posted = client.post(f"/admin/knowledge/article/{article.pk}/change/", {"title": "Hacked"})
    assert posted.status_code == 403
    article.refresh_from_db()
    assert article.title == "Returns"
    assert client.get("/admin/knowledge/article/add/").status_code == 403
    for model in ("articleversion", "policyexception", "citation"):
        assert client.get(f"/admin/knowledge/{model}/").status_code == 200
        assert client.get(f"/admin/knowledge/{model}/add/").status_code == 403
    added = client.post(
        "/admin/knowledge/category/add/", {"name": "Returns", "slug": "returns", "description": ""}
    )
    assert added.status_code == 302 and Category.objects.filter(slug="returns").exists()
