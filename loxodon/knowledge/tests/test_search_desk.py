# ruff: noqa: F811 (pytest fixtures imported from search_fixtures are redefined as arguments)
"""The desk's search pages through the test client: results, live partial, typeahead, case panel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.core.testing import signed_in
from loxodon.customers.models import Customer
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.search_fixtures import (  # noqa: F401 (fixtures)
    fresh_search_caches,
    write,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db

Write = Callable[..., Article]
HX = {"HX-Request": "true"}


@pytest.fixture
def case(customer: dict[str, Any], agent: User) -> Case:
    return open_case(
        customer=Customer.objects.get(pk=customer["id"]),
        problem="My refurbished laptop will not charge any more, the battery light blinks",
        actor=agent,
        owner=agent,
    )


def test_search_page_shows_hits_with_badges_and_marked_snippet(write: Write, desk: Client) -> None:
    write("Refurbished warranty", "A refurbished <b>laptop</b> has ninety days of warranty.",
          audience="public", tags=["refurbished"], policy=None)  # fmt: skip
    write("Internal: warranty overrides", "When to extend a warranty.", audience="internal")
    response = desk.get(reverse("knowledge:search"), {"q": "warranty"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and "Refurbished warranty" in html
    assert "Internal: warranty overrides" in html  # staff see internal articles
    assert "<mark>warranty</mark>" in html
    assert "<b>laptop</b>" not in html
    assert "Public" in html and "Internal" in html and "version 1" in html
    assert "2 articles match" in html


def test_live_partial_and_did_you_mean(write: Write, desk: Client) -> None:
    write("Refurbished warranty", "Ninety days.", audience="public")
    response = desk.get(reverse("knowledge:search"), {"q": "refurbsihed"}, headers=HX)
    html = response.content.decode()
    assert "<html" not in html
    assert "Showing results for" in html and "refurbished" in html
    assert "Refurbished warranty" in html


def test_empty_query_and_no_results_show_tips(write: Write, desk: Client) -> None:
    write("Returns", "Thirty days.", audience="public")
    html = desk.get(reverse("knowledge:search")).content.decode()
    assert "Type a few words" in html
    html = desk.get(reverse("knowledge:search"), {"q": "xylophone"}).content.decode()
    assert "No article matches" in html


@pytest.mark.parametrize("q", ['"', "AND", "*", "-", "<script>alert(1)</script>", "x" * 1000])
def test_odd_queries_answer_200_and_are_escaped(write: Write, desk: Client, q: str) -> None:
    write("Returns", "Thirty days.", audience="public")
    params: dict[str, str] = {"q": q, "page": "abc"}
    response = desk.get(reverse("knowledge:search"), params)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_pagination_links(write: Write, desk: Client) -> None:
    for i in range(23):
        write(f"Returns note {i}", "About returns.", audience="public")
    first = desk.get(reverse("knowledge:search"), {"q": "returns"}).content.decode()
    assert "23 articles match" in first and "page=2" in first
    second = desk.get(reverse("knowledge:search"), {"q": "returns", "page": "2"}).content.decode()
    assert second.count('class="list-group-item kb-item') == 3


def test_suggest_lists_titles(write: Write, desk: Client) -> None:
    write("Refurbished warranty", "Ninety days.", audience="public")
    response = desk.get(reverse("knowledge:suggest"), {"q": "refurb"})
    assert response.status_code == 200
    assert '<option value="Refurbished warranty">' in response.content.decode()
    assert desk.get(reverse("knowledge:suggest"), {"q": ""}).content.strip() == b""


def test_search_needs_staff(client: Client) -> None:
    response = client.get(reverse("knowledge:search"), {"q": "x"})
    assert response.status_code == 302 and "login" in response["Location"]


def test_case_suggestions_panel(write: Write, desk: Client, case: Case) -> None:
    write("Laptop will not charge", "Check the battery light and the charger.", audience="public")
    write("Store opening hours", "Nine to five.", audience="public")
    response = desk.get(reverse("knowledge:case-suggestions", args=[case.pk]), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-3" id="kb-suggestions"')
    assert "Laptop will not charge" in html and "v1" in html
    assert reverse("knowledge:article", args=["laptop-will-not-charge"]) in html
    assert "Store opening hours" not in html


def test_case_suggestions_empty_state(desk: Client, case: Case) -> None:
    html = desk.get(reverse("knowledge:case-suggestions", args=[case.pk])).content.decode()
    assert 'id="kb-suggestions"' in html and "No article matches this problem" in html


def test_case_suggestions_unknown_case_is_404(desk: Client, case: Case) -> None:
    for case_id in (uuid.uuid4(), "not-a-uuid"):
        response = desk.get(reverse("knowledge:case-suggestions", args=[case_id]))
        assert response.status_code == 404


def test_case_page_lazy_loads_the_panel(write: Write, desk: Client, case: Case) -> None:
    page = desk.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert reverse("knowledge:case-suggestions", args=[case.pk]) in page


def test_inactive_staff_cannot_read_suggestions(case: Case, agent: User) -> None:
    browser = signed_in(agent)
    agent.is_active = False
    agent.save()
    response = browser.get(reverse("knowledge:case-suggestions", args=[case.pk]))
    assert response.status_code in (302, 403, 404)
