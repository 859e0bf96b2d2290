"""The citations report: counts per article, version and channel; flags mixed and old versions."""
# ruff: noqa: F811 (pytest fixtures imported from citations_fixtures are redefined as arguments)

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.testing import Api, signed_in
from loxodon.knowledge import services
from loxodon.knowledge.citations import cite_article
from loxodon.knowledge.models import Article, Citation
from loxodon.knowledge.tests.citations_fixtures import (  # noqa: F401 (fixtures)
    case,
    category,
    editor_api,
    fresh_search_caches,
    indexed,
    public_article,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def quoted(case: Case, agent: User, supervisor: User, public_article: Article) -> dict[str, Any]:
    """Returns policy: v1 twice on the phone and once by email, then v2 once on the phone;
    Warranty: v1 once in chat (one version only: not flagged)."""

    def cite(article: Article, channel: str) -> Citation:
        citation = cite_article(case=case, article=article, by=agent, channel=channel)
        # Older than the double-click window, so the next identical one counts again.
        Citation.objects.filter(pk=citation.pk).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
        return citation

    cite(public_article, "phone")
    cite(public_article, "phone")
    cite(public_article, "email")
    services.revise_article(article=public_article, by=supervisor, change_note="v2", body="New")
    cite(public_article, "phone")
    warranty = services.create_article(
        by=supervisor, title="Warranty", body="One year.", audience="public"
    )
    cite(warranty, "chat")
    return {"returns": public_article, "warranty": warranty}


def test_report_counts_per_version_and_channel_and_flags_mixed_versions(
    editor_api: Api, quoted: dict[str, Any]
) -> None:
    report = editor_api.get("/knowledge/citations/report").json()
    assert report["total"] == 5
    returns, warranty = report["articles"]
    assert returns["slug"] == "returns-policy" and returns["current_version"] == 2
    assert [(r["version"], r["channel"], r["count"]) for r in returns["rows"]] == [
        (1, "email", 1),
        (1, "phone", 2),
        (2, "phone", 1),
    ]
    assert returns["versions_quoted"] == [1, 2] and returns["non_current_quoted"] == [1]
    assert returns["mixed_versions"] is True and returns["total"] == 4
    assert warranty["title"] == "Warranty" and warranty["mixed_versions"] is False
    assert warranty["non_current_quoted"] == [] and warranty["rows"][0]["channel"] == "chat"
    only = editor_api.get("/knowledge/citations/report", article="returns-policy").json()
    assert [a["slug"] for a in only["articles"]] == ["returns-policy"]
    assert editor_api.get("/knowledge/citations/report", site="lon").json()["total"] == 5
    assert editor_api.get("/knowledge/citations/report", site="xxx").status_code == 404


def test_period_and_bad_dates(editor_api: Api, quoted: dict[str, Any]) -> None:
    Citation.objects.filter(channel="chat").update(created_at=timezone.now() - timedelta(days=40))
    assert editor_api.get("/knowledge/citations/report").json()["total"] == 4
    old = (timezone.localdate() - timedelta(days=45)).isoformat()
    assert editor_api.get("/knowledge/citations/report", since=old).json()["total"] == 5
    reversed_period = editor_api.get(
        "/knowledge/citations/report", since="2026-02-01", until="2026-01-01"
    )
    assert reversed_period.status_code == 400 and "since" in reversed_period.json()["detail"]
    assert editor_api.get("/knowledge/citations/report", since="someday").status_code == 422


def test_agents_cannot_see_the_report(api: Api, desk: Client, quoted: dict[str, Any]) -> None:
    assert api.get("/knowledge/citations/report").status_code == 403
    assert desk.get("/desk/kb/citations/").status_code == 403


def test_report_page_flags_and_empty_state(supervisor: User, quoted: dict[str, Any]) -> None:
    client = signed_in(supervisor)
    text = html.unescape(client.get("/desk/kb/citations/").content.decode())
    assert "5 citations of 2 articles" in text and "1 flagged" in text
    assert "answers given from different versions" in text
    assert "old version still quoted: v1" in text
    assert text.count("not current") == 2  # the two v1 rows of the returns policy
    empty = html.unescape(
        client.get(
            "/desk/kb/citations/", {"since": "2020-01-01", "until": "2020-01-31"}
        ).content.decode()
    )
    assert "No article was given to a customer in this period" in empty
    bad = html.unescape(client.get("/desk/kb/citations/", {"since": "soon"}).content.decode())
    assert "is not a date" in bad and "5 citations" in bad


def test_citations_api_lists_and_pages(api: Api, case: Case, quoted: dict[str, Any]) -> None:
    first = api.get("/knowledge/citations", case_id=str(case.pk)).json()
    assert len(first["items"]) == 5 and first["next_cursor"] is None
    outdated = [c["outdated"] for c in first["items"] if c["slug"] == "returns-policy"]
    assert sorted(outdated) == [False, True, True, True]
    assert api.get("/knowledge/citations", cursor="nonsense").status_code == 400
    assert api.get("/knowledge/citations", case_id="nope").status_code in (400, 404)
    assert Api(None).get("/knowledge/citations").status_code == 401
