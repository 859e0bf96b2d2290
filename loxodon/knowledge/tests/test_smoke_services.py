import pytest

from loxodon.core.errors import Conflict, InvalidInput, PermissionDenied
from loxodon.knowledge import selectors, services
from loxodon.org.models import User

pytestmark = pytest.mark.django_db


def test_create_revise_and_audience() -> None:
    sup = User.objects.create_user("sup", role="supervisor")
    agent = User.objects.create_user("agent", role="agent")
    article = services.create_article(
        by=sup, title="Returns", body="Thirty days.", audience="public"
    )
    v2 = services.revise_article(article=article, by=sup, change_note="longer", body="Forty days.")
    assert v2.number == 2 and article.current_id == v2.pk
    assert article.versions.get(number=1).body == "Thirty days."
    with pytest.raises(Conflict):
        services.revise_article(article=article, by=sup, change_note="x", expected_version=1)
    with pytest.raises(PermissionDenied):
        services.revise_article(article=article, by=agent, change_note="x", body="y")
    with pytest.raises(InvalidInput):
        services.create_article(by=sup, title="Bad", body=":::phone\nunclosed")
    internal = services.create_article(by=sup, title="Internal", body="Staff only")
    assert set(selectors.articles_for(None)) == {article}
    assert set(selectors.articles_for(agent)) == {article, internal}
