"""Citations: the timeline event and the row record article id and version; email also sends it."""
# ruff: noqa: F811 (pytest fixtures imported from citations_fixtures are redefined as arguments)

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.core.testing import Api, signed_in
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, Citation
from loxodon.knowledge.tests.citations_fixtures import (  # noqa: F401 (fixtures)
    case,
    category,
    fresh_search_caches,
    indexed,
    internal_article,
    public_article,
)
from loxodon.org.models import User
from loxodon.outbound.models import OutboundMessage
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, ingest_events

pytestmark = pytest.mark.django_db


def cite_on_desk(desk: Client, case: Case, article: Article, channel: str, note: str = "") -> str:
    response = desk.post(
        f"/desk/kb/for-case/{case.pk}/cite",
        {"article": str(article.pk), "channel": channel, "note": note},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_phone_citation_records_article_and_version(
    desk: Client, agent: User, case: Case, public_article: Article, supervisor: User
) -> None:
    services.revise_article(article=public_article, by=supervisor, change_note="v2", body="Text")
    page = cite_on_desk(desk, case, public_article, "phone", note="read it out")
    assert 'Recorded: "Returns policy" (v2) given on the phone.' in page
    citation = Citation.objects.get()
    assert (citation.article, citation.version.number, citation.channel) == (
        public_article,
        2,
        "phone",
    )
    assert (citation.case, citation.customer_id, citation.cited_by) == (
        case,
        case.customer_id,
        agent,
    )
    event = citation.event
    assert event.kind == "article_cited" and not event.internal
    assert event.case_id == case.pk and event.customer_id == case.customer_id
    assert event.channel == "phone" and event.body == "read it out"
    assert event.summary == 'Gave "Returns policy" (v2) on the phone'
    assert event.payload == {
        "article_id": str(public_article.pk),
        "slug": "returns-policy",
        "version": 2,
        "title": "Returns policy",
        "channel": "phone",
        "case_id": str(case.pk),
    }
    assert not OutboundMessage.objects.exists()  # a phone citation sends nothing
    # The panel lists it; once the article is revised it says a newer version exists.
    assert "a newer version exists" not in page
    services.revise_article(article=public_article, by=supervisor, change_note="v3", body="More")
    panel = desk.get(f"/desk/kb/for-case/{case.pk}/cite").content.decode()
    assert "Returns policy" in panel and "a newer version exists (v3)" in panel


def test_email_citation_queues_the_email_variant_with_portal_link(
    api: Api, case: Case, public_article: Article
) -> None:
    response = api.post(
        "/knowledge/citations",
        {"case_id": str(case.pk), "article": "returns-policy", "channel": "email"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["channel"] == "email" and not body["outdated"]
    citation = Citation.objects.get()
    assert str(citation.event_id) == body["event_id"]
    assert citation.event.payload["version"] == 1
    assert citation.event.payload["article_id"] == str(public_article.pk)
    message = OutboundMessage.objects.get()
    assert message.case_id == case.pk and message.kind == "reply"  # Ann owns the case
    assert "returns form attached" in message.body  # the email section…
    assert "order number back" not in message.body  # …not the phone one
    assert "/portal/help/returns-policy/" in message.body
    listed = api.get("/knowledge/citations", case_id=str(case.pk)).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]


def test_email_from_someone_else_is_an_update_and_no_owner_is_refused(
    colleague: User, case: Case, public_article: Article, agent: User
) -> None:
    cite_on_desk(signed_in(colleague), case, public_article, "email")
    assert OutboundMessage.objects.get().kind == "update"
    ownerless = open_case(customer=case.customer, problem="Another", actor=agent)
    page = cite_on_desk(signed_in(agent), ownerless, public_article, "email")
    assert "Assign an owner first" in page
    assert Citation.objects.filter(case=ownerless).count() == 0  # nothing half-written
    assert not Event.objects.filter(kind="article_cited", case_id=ownerless.pk).exists()


def test_internal_articles_cannot_be_given(
    desk: Client, api: Api, case: Case, internal_article: Article
) -> None:
    page = cite_on_desk(desk, case, internal_article, "phone")
    assert "Internal articles are for staff; cite a public one or publish it." in page
    refused = api.post(
        "/knowledge/citations",
        {"case_id": str(case.pk), "article": str(internal_article.pk), "channel": "chat"},
    )
    assert refused.status_code == 400 and "internal articles" in refused.json()["detail"]
    assert not Citation.objects.exists()
    assert not Event.objects.filter(kind="article_cited").exists()


def test_double_click_records_one_citation(
    desk: Client, api: Api, case: Case, public_article: Article
) -> None:
    cite_on_desk(desk, case, public_article, "phone")
    cite_on_desk(desk, case, public_article, "phone")
    assert Citation.objects.count() == 1
    cite_on_desk(desk, case, public_article, "chat")  # another channel is another citation
    assert Citation.objects.count() == 2
    Citation.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    cite_on_desk(desk, case, public_article, "phone")  # later: told again
    assert Citation.objects.count() == 3


def test_bad_input_is_explained(desk: Client, case: Case, public_article: Article) -> None:
    page = cite_on_desk(desk, case, public_article, "pigeon")
    assert "Channel must be one of" in page
    response = desk.post(f"/desk/kb/for-case/{case.pk}/cite", {"channel": "phone"})
    assert response.status_code == 302  # without htmx: back to the case with a message
    assert not Citation.objects.exists()
    unknown = "00000000-0000-0000-0000-000000000000"
    assert Client().get(f"/desk/kb/for-case/{case.pk}/cite").status_code == 302  # sign in
    assert desk.get(f"/desk/kb/for-case/{unknown}/cite").status_code == 404


def test_picker_offers_public_articles_only(
    desk: Client, case: Case, public_article: Article, internal_article: Article
) -> None:
    found = desk.get(f"/desk/kb/for-case/{case.pk}/cite", {"picker": "1", "q": "returns"})
    text = found.content.decode()
    assert "Returns policy" in text and "v1" in text and "Fraud checks" not in text
    recent = desk.get(f"/desk/kb/for-case/{case.pk}/cite", {"picker": "1"}).content.decode()
    assert "Returns policy" in recent and "Fraud checks" not in recent


def test_picker_keeps_the_article_ticked_while_the_search_was_on_its_way(
    desk: Client, case: Case, public_article: Article
) -> None:
    url = f"/desk/kb/for-case/{case.pk}/cite"
    ticked = desk.get(url, {"picker": "1", "q": "returns", "article": str(public_article.pk)})
    assert re.search(rf'value="{public_article.pk}" required checked', ticked.content.decode())
    plain = desk.get(url, {"picker": "1", "q": "returns"}).content.decode()
    assert f'value="{public_article.pk}" required>' in plain


def test_channel_defaults_to_the_customers_latest_contact(desk: Client, case: Case) -> None:
    def selected() -> str:
        text = desk.get(f"/desk/kb/for-case/{case.pk}/cite").content.decode()
        match = re.search(r'<option value="(\w+)" selected>', text)
        assert match
        return match.group(1)

    assert selected() == "phone"  # no contact yet
    ingest_events([EventDraft(source="test", external_id="c1", channel="chat", kind="chat",
                              occurred_at=timezone.now(), summary="Chat",
                              customer_id=case.customer_id)])  # fmt: skip
    assert selected() == "chat"
