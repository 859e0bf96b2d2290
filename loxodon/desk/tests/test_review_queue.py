"""/desk/identity/reviews/: supervisors decide the pairs linkage was unsure about."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.core.testing import signed_in
from loxodon.customers import merging
from loxodon.customers.models import Customer, MatchReview
from loxodon.customers.tests.review_pairs import make_pair
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_staff

QUEUE = "/desk/identity/reviews/"


def text(response: Any) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def boss(supervisor: User) -> Client:
    return signed_in(supervisor)


@pytest.fixture
def admin(site: Site, departments: dict[str, Department]) -> User:
    return create_staff(
        username="ada", first_name="Ada", last_name="Admin", role="admin", site=site
    )


@pytest.fixture
def pair(site: Site, other_site: Site) -> MatchReview:
    return make_pair(site, other_site)


def page_url(review: MatchReview) -> str:
    return f"{QUEUE}{review.pk}/"


def decide(client: Client, review: MatchReview, **data: str) -> Any:
    return client.post(f"{QUEUE}{review.pk}/decision", data, follow=True)


# --- access ---------------------------------------------------------------------------------------


def test_agents_are_refused_and_do_not_see_the_link(
    desk: Client, boss: Client, admin: User, pair: MatchReview
) -> None:
    assert desk.get(QUEUE).status_code == 403
    assert desk.get(page_url(pair)).status_code == 403
    assert decide(desk, pair, decision="merge").status_code == 403
    pair.refresh_from_db()
    assert pair.status == "pending"
    assert "Duplicates" not in text(desk.get("/desk/"))
    assert ">Duplicates</a>" in boss.get("/desk/").content.decode()
    assert signed_in(admin).get(QUEUE).status_code == 200
    assert boss.get(page_url(pair)).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, pair: MatchReview) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/desk/login/" in response["Location"]
    response = client.post(f"{QUEUE}{pair.pk}/decision", {"decision": "merge"})
    assert response.status_code == 302 and "/desk/login/" in response["Location"]


def test_unknown_pairs_are_404(boss: Client) -> None:
    assert boss.get(f"{QUEUE}not-an-id/").status_code == 404
    assert boss.get(f"{QUEUE}00000000-0000-0000-0000-000000000000/").status_code == 404


# --- the queue ------------------------------------------------------------------------------------


def test_empty_queue_says_how_to_fill_it(boss: Client) -> None:
    page = text(boss.get(QUEUE))
    assert "0 pairs" in page
    assert "No pairs wait for review." in page and "loxodon link_customers" in page


def test_queue_lists_pending_pairs_highest_score_first_with_a_count(
    boss: Client, site: Site, other_site: Site
) -> None:
    low = make_pair(site, other_site, score=0.62, history=False, first=("Low Lowe", "L Lowe"))
    top = make_pair(site, other_site, score=0.96, history=False, first=("Top Tops", "T Tops"))
    page = boss.get(QUEUE).content.decode()
    assert page.index(str(top.pk)) < page.index(str(low.pk))
    words = text(boss.get(QUEUE))
    assert "2 pairs" in words and "96%" in words and "62%" in words
    assert "Top Tops" in words and "London" in words and "Manchester" in words


def test_filters_by_site_and_band_and_htmx_gets_the_results_only(
    boss: Client, site: Site, other_site: Site
) -> None:
    from loxodon.org.services import create_site

    leeds = create_site(code="lds", name="Leeds", time_zone="Europe/London")
    london = make_pair(site, other_site, score=0.91, history=False, first=("Ann Ames", "A Ames"))
    in_leeds = make_pair(leeds, leeds, score=0.72, history=False, first=("Lee Leeds", "L Leeds"))
    only_leeds = boss.get(QUEUE, {"site": "lds"}).content.decode()
    assert str(in_leeds.pk) in only_leeds and str(london.pk) not in only_leeds
    high = boss.get(QUEUE, {"band": "high"}).content.decode()
    assert str(london.pk) in high and str(in_leeds.pk) not in high
    nothing = text(boss.get(QUEUE, {"band": "low"}))
    assert "No pairs wait for review with these filters." in nothing
    partial = boss.get(QUEUE, {"site": "lds"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and str(in_leeds.pk) in partial and "1 pair" in partial
    # the status tabs come along out of band, so they keep the new filter
    assert 'hx-swap-oob="true"' in partial and "?status=merged&amp;site=lds" in partial
    ignored = text(boss.get(QUEUE, {"site": "atlantis"}))
    assert "Filter ignored: no site with code 'atlantis'." in ignored and "2 pairs" in ignored


def test_queue_pages_with_cursors(boss: Client, site: Site, other_site: Site) -> None:
    pairs = [
        make_pair(site, other_site, score=0.5 + i / 100, history=False, first=(f"P{i} X", "P Y"))
        for i in range(27)
    ]
    first = boss.get(QUEUE).content.decode()
    assert first.count("data-review=") == 25
    cursor = re.search(r'href="\?cursor=([^"&]+)"', first)
    assert cursor is not None and "Next page" in first
    second = boss.get(QUEUE, {"cursor": cursor.group(1)}).content.decode()
    assert second.count("data-review=") == 2
    assert str(pairs[0].pk) in second and str(pairs[0].pk) not in first  # the lowest score last
    assert "First page" in second and "Next page" not in second
    bad = boss.get(QUEUE, {"cursor": "garbage"}, follow=True)
    assert "Cursor 'garbage' is not valid" in text(bad)


def test_decided_tabs_show_who_decided_and_when(
    boss: Client, supervisor: User, site: Site, other_site: Site
) -> None:
    kept_apart = make_pair(site, other_site, history=False)
    kept_apart.status = MatchReview.Status.NOT_SAME
    kept_apart.decided_by = supervisor
    kept_apart.decided_at = timezone.now()
    kept_apart.note = "different people"
    kept_apart.save()
    pending = text(boss.get(QUEUE))
    assert "0 pairs" in pending
    decided = text(boss.get(QUEUE, {"status": "not_same"}))
    assert "1 pair" in decided and "Sue Supervisor" in decided and "Not the same person" in decided
    assert timezone.localtime(kept_apart.decided_at).strftime("%-d %b %Y") in decided
    assert "No merged pairs yet." in text(boss.get(QUEUE, {"status": "merged"}))


# --- one pair -------------------------------------------------------------------------------------


def test_pair_page_shows_both_records_the_evidence_and_the_plan(
    boss: Client, pair: MatchReview
) -> None:
    response = boss.get(page_url(pair))
    assert response.status_code == 200
    page = text(response)
    for name in ("Joanne Bloggs", "Jo Bloggs", "1 Old Road", "22 New Street", "SW1A1AA", "M11AE"):
        assert name in page
    assert "85.0%" in page
    html = response.content.decode()
    street = re.search(r'<tr class="field-(\w+)" data-field="street">', html)
    dob = re.search(r'<tr class="field-(\w+)" data-field="date_of_birth">', html)
    assert street and street.group(1) == "differs" and dob and dob.group(1) == "same"
    assert "Differs" in page  # in words, not by colour alone
    # identities with kind, value, verified and source site; counts and recent items
    assert "Legacy id (SITE:id)" in page and "man:" in page and "Manchester" in page
    assert "3 timeline events" in page and "1 case" in page and "1 installed product" in page
    assert "Legacy: return received" in page and "Called about the invoice" in page
    # the model's evidence in words
    assert "Jaro-Winkler >= 0.88" in page and "strong evidence of one person" in page
    assert "evidence of two people" in page and "no effect on the score" in page
    # what a merge would change
    assert "What a merge would change" in page and "is kept;" in page
    assert "Profile afterwards" in page and "Moving to the kept customer" in page
    assert re.search(r"\d+ timeline events", page)
    assert "Kept as history" in page
    assert 'name="decision" value="merge"' in html and 'value="not_same"' in html
    assert "csrfmiddlewaretoken" in html


def test_swap_chooses_the_other_survivor(boss: Client, pair: MatchReview) -> None:
    html = boss.get(page_url(pair)).content.decode()
    kept = re.search(r'name="survivor_id" value="([^"]+)"', html)
    swap = re.search(r'id="swap-survivor" href="\?survivor=([^"&#]+)', html)
    assert kept and swap and kept.group(1) != swap.group(1)
    swapped = boss.get(page_url(pair), {"survivor": swap.group(1)}).content.decode()
    now_kept = re.search(r'name="survivor_id" value="([^"]+)"', swapped)
    assert now_kept and now_kept.group(1) == swap.group(1)
    bogus = boss.get(
        page_url(pair), {"survivor": "00000000-0000-0000-0000-000000000001"}, follow=True
    )
    assert "Survivor_id must be one of the two customers" in text(bogus)


# --- decisions ------------------------------------------------------------------------------------


def test_merge_goes_to_the_next_pair_and_hides_the_absorbed_customer(
    boss: Client, supervisor: User, site: Site, other_site: Site
) -> None:
    first = make_pair(site, other_site, score=0.9)
    second = make_pair(site, other_site, score=0.8)
    keep = first.customer_a
    response = decide(boss, first, decision="merge", survivor_id=str(keep.pk), note="")
    assert response.redirect_chain[-1][0].startswith(page_url(second))
    page = text(response)
    assert "Merged: " in page and "Here is the next pair." in page
    first.refresh_from_db()
    assert first.status == "merged" and first.decided_by == supervisor and first.merge is not None
    absorbed = Customer.objects.get(pk=first.customer_b_id)
    assert absorbed.merged_into_id == keep.pk
    queue = boss.get(QUEUE).content.decode()
    assert str(first.pk) not in queue and str(second.pk) in queue
    outcome = text(boss.get(page_url(first)))
    assert "Merged" in outcome and "Decided by Sue Supervisor" in outcome
    assert "Open the surviving customer" in outcome and "Your decision" not in outcome


def test_not_the_same_person_needs_a_note_then_is_remembered(
    boss: Client, pair: MatchReview
) -> None:
    refused = decide(boss, pair, decision="not_same", note="  ")
    assert "Not done: say why they are not the same person" in text(refused)
    assert refused.redirect_chain[-1][0].startswith(page_url(pair))
    pair.refresh_from_db()
    assert pair.status == "pending"
    done = decide(boss, pair, decision="not_same", note="father and son")
    page = text(done)
    assert "are not the same person; they will not be suggested again." in page
    assert "No more pairs wait for review." in page and "No pairs wait for review." in page
    pair.refresh_from_db()
    assert pair.status == "not_same" and pair.note == "father and son"
    assert (
        Customer.objects.filter(pk__in=[pair.customer_a_id, pair.customer_b_id])
        .filter(merged_into__isnull=True)
        .count()
        == 2
    )
    decided = text(boss.get(QUEUE, {"status": "not_same"}))
    assert "Sue Supervisor" in decided


def test_deciding_twice_is_a_message_not_a_failure(boss: Client, pair: MatchReview) -> None:
    decide(boss, pair, decision="not_same", note="different people")
    again = decide(boss, pair, decision="merge")
    assert again.status_code == 200
    assert "Not done:" in text(again)
    pair.refresh_from_db()
    assert pair.status == "not_same"


def test_a_pair_merged_meanwhile_shows_why_and_refuses_a_decision(
    boss: Client, pair: MatchReview, site: Site
) -> None:
    from loxodon.customers.services import create_customer

    third = create_customer(name="Jo Bloggs", site=site)
    a, b = sorted((pair.customer_b, third), key=lambda c: c.pk)
    overlapping = MatchReview.objects.create(customer_a=a, customer_b=b, score=0.7)
    decide(boss, pair, decision="merge", survivor_id=str(pair.customer_a_id))
    page = text(boss.get(page_url(overlapping)))
    assert "No longer applies" in page and "was merged into another customer" in page
    assert "Your decision" not in page
    late = decide(boss, overlapping, decision="merge")
    assert late.status_code == 200 and "Not done:" in text(late)
    overlapping.refresh_from_db()
    assert overlapping.status != "merged"


def test_decisions_are_posts_with_csrf(supervisor: User, pair: MatchReview) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(supervisor)
    assert strict.get(f"{QUEUE}{pair.pk}/decision").status_code == 405
    assert strict.post(f"{QUEUE}{pair.pk}/decision", {"decision": "merge"}).status_code == 403
    pair.refresh_from_db()
    assert pair.status == "pending"


def test_unknown_decision_is_refused(boss: Client, pair: MatchReview) -> None:
    response = decide(boss, pair, decision="perhaps")
    assert "Not done: decision must be 'merge' or 'not_same'" in text(response)


# --- query counts ---------------------------------------------------------------------------------

QUEUE_PAGE_QUERIES = 9
# a fixed score for the page, plus one count per table that points at customers (merge plan)
REVIEW_PAGE_QUERIES = 21 + len(merging.relations())


def _queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_queue_page_query_count_is_pinned(boss: Client, site: Site, other_site: Site) -> None:
    make_pair(site, other_site, history=False)
    few = _queries(boss, QUEUE)
    for _ in range(8):
        make_pair(site, other_site, history=False)
    assert _queries(boss, QUEUE) == few == QUEUE_PAGE_QUERIES


def test_review_page_query_count_does_not_grow_with_history(
    boss: Client, pair: MatchReview, site: Site, agent: User
) -> None:
    """The page's own reads are fixed (pair, identities, counts, recent items); the merge plan
    counts rows per relation to Customer, so the ceiling covers the project's relations."""
    few = _queries(boss, page_url(pair))
    assert few <= REVIEW_PAGE_QUERIES
    from loxodon.cases.services import open_case
    from loxodon.customers.services import add_identity

    for i in range(5):
        open_case(customer=pair.customer_a, problem=f"Problem {i}", actor=agent)
        add_identity(customer=pair.customer_b, kind="email", value=f"extra{i}@example.net")
    assert _queries(boss, page_url(pair)) == few
