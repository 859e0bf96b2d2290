"""The desk through HTTP, as an agent's browser uses it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loxodon.cases.models import Case
from loxodon.core.testing import Api, event
from loxodon.org.models import User
from loxodon.org.services import create_staff
from loxodon.timeline.models import Event


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- sign-in -----------------------------------------------------------------------------------


def test_pages_need_sign_in(db: None) -> None:
    response = Client().get("/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/desk/login/?next=/desk/")


def test_sign_in_with_csrf_and_sign_out(agent: User) -> None:
    agent.set_password("correct horse battery")
    agent.save()
    browser = Client(enforce_csrf_checks=True)
    # Without the CSRF token the form post is refused
    assert browser.post("/desk/login/", {"username": "ann"}).status_code == 403
    page = browser.get("/desk/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    wrong = browser.post(
        "/desk/login/",
        {"username": "ann", "password": "nope", "csrfmiddlewaretoken": token.group(1)},
    )
    assert "do not match" in text(wrong)
    signed_in = browser.post(
        "/desk/login/",
        {"username": "ann", "password": "correct horse battery", "csrfmiddlewaretoken": token[1]},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/desk/"
    home = browser.get("/desk/")
    assert "Good to see you, Ann" in text(home)
    assert browser.cookies["sessionid"]["httponly"]
    token2 = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.content.decode())
    assert token2 is not None
    browser.post("/desk/logout/", {"csrfmiddlewaretoken": token2[1]})
    assert browser.get("/desk/").status_code == 302


def test_navigation_is_role_aware(desk: Client, site: Any) -> None:
    home = text(desk.get("/desk/"))
    assert "/desk/admin/staff/" not in home
    assert "/desk/kb/" in home and "/desk/kb/approvals/" not in home  # agents: read, no approvals
    assert desk.get("/desk/admin/staff/").status_code == 403
    admin = create_staff(username="root", role="admin", site=site)
    desk.force_login(admin)
    assert "/desk/admin/staff/" in text(desk.get("/desk/"))
    assert "/desk/kb/approvals/" in text(desk.get("/desk/"))
    staff_page = desk.get("/desk/admin/staff/")
    assert staff_page.status_code == 200 and "ann" in text(staff_page)


# --- queues ------------------------------------------------------------------------------------


def _cases(api: Api, customer: dict[str, Any], n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        api.post(
            "/cases", {"customer_id": customer["id"], "problem": f"Problem {k}", **extra}
        ).json()
        for k in range(n)
    ]


def test_queues_show_counts_and_empty_states(
    desk: Client, api: Api, customer: dict[str, Any], colleague: User
) -> None:
    page = text(desk.get("/desk/"))
    assert "You own no open cases" in page
    _cases(api, customer, 2, owner="ann")
    _cases(api, customer, 1, owner="carl", site="man")
    case = _cases(api, customer, 1, owner="ann", priority="urgent")[0]
    api.post(f"/cases/{case['id']}/tasks", {"department": "sales-business", "title": "Quote"})
    api.post(
        f"/cases/{case['id']}/tasks",
        {"department": "parts", "title": "Ship", "assignee": "ann"},
    )
    page = text(desk.get("/desk/"))
    assert re.search(r"My cases <span[^>]*>3</span>", page)
    assert re.search(r"My tasks <span[^>]*>1</span>", page)
    assert re.search(r"My department&#x27;s open tasks <span[^>]*>1</span>", page)
    assert re.search(r"My site&#x27;s cases <span[^>]*>3</span>", page)
    tasks = text(desk.get("/desk/", {"queue": "department"}))
    assert "Quote" in tasks and "Ship" not in tasks


def test_queue_filters_sorting_and_pages(desk: Client, api: Api, customer: dict[str, Any]) -> None:
    _cases(api, customer, 30, owner="ann")
    urgent = _cases(api, customer, 1, owner="ann", priority="urgent")[0]
    first = text(desk.get("/desk/"))
    assert "Page 1 of 2" in first and "31 items" in first
    second = text(desk.get("/desk/", {"page": 2}))
    assert "Page 2 of 2" in second
    by_priority = text(desk.get("/desk/", {"sort": "priority"}))
    assert by_priority.index(urgent["id"]) < by_priority.index("Problem 0")
    only_urgent = text(desk.get("/desk/", {"priority": "urgent"}))
    assert "1 item" in only_urgent and "Problem 3" not in only_urgent
    none = text(desk.get("/desk/", {"status": "waiting_on_customer"}))
    assert "No cases" in none or "You own no open cases" in none


def test_queue_htmx_request_returns_just_the_partial(desk: Client) -> None:
    response = desk.get("/desk/", {"queue": "site"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "No open cases at your site" in text(response)


def test_queue_page_query_count_does_not_grow(
    desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    def count() -> int:
        desk.get("/desk/")
        with CaptureQueriesContext(connection) as ctx:
            assert desk.get("/desk/").status_code == 200
        return len(ctx.captured_queries)

    _cases(api, customer, 2, owner="ann")
    few = count()
    _cases(api, customer, 20, owner="ann")
    assert count() == few


# --- the customer page -------------------------------------------------------------------------


def test_customer_page_shows_the_whole_customer(
    desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    cid = customer["id"]
    api.post("/cases", {"customer_id": cid, "problem": "Screen flickers", "owner": "ann"})
    api.post(
        "/assets",
        {"customer_id": cid, "product": "ProBook 450", "refurbished": True, "os": "Windows 7"},
    )
    api.post("/events", event("e1", customer_id=cid, summary="Asked about delivery", site="lon"))
    page = text(desk.get(f"/desk/customers/{cid}/"))
    assert "Jo Bloggs" in page
    assert "jo.bloggs@example.com" in page and "bi-patch-check-fill" in page  # verified
    assert "London" in page
    assert "1 open case: Screen flickers" in page
    assert "ProBook 450" in page and "Refurbished" in page and "Windows 7" in page
    assert "Asked about delivery" in page


def test_what_the_customer_already_told_us(
    desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    from django.utils import timezone

    cid = customer["id"]
    now = timezone.now().isoformat()
    assert "Nothing in the last 24 hours" in text(desk.get(f"/desk/customers/{cid}/"))
    api.post(
        "/events",
        event(
            "ivr-1",
            customer_id=cid,
            channel="ivr",
            kind="call",
            occurred_at=now,
            summary="IVR: verified",
            payload={
                "account_number_entered": "AC100200",
                "verified": True,
                "intent": "driver support",
                "menu_path": ["2", "1"],
            },
        ),
    )
    api.post(
        "/events",
        event(
            "web-1",
            customer_id=cid,
            channel="web",
            kind="web_configuration",
            occurred_at=now,
            summary="Configured ProBook 450 G10",
            payload={"product": "ProBook 450 G10", "memory": "32GB"},
        ),
    )
    page = text(desk.get(f"/desk/customers/{cid}/"))
    told = page[page.index("What the customer already told us") : page.index("Timeline")]
    assert "Verified by IVR" in told
    assert "AC100200" in told and "driver support" in told and "2, 1" in told
    assert "Configured ProBook 450 G10" in told and "32GB" in told


def test_customer_had_to_repeat_is_recorded(desk: Client, customer: dict[str, Any]) -> None:
    cid = customer["id"]
    response = desk.post(f"/desk/customers/{cid}/repeat", {"what": "account number"})
    assert response.status_code == 302
    repeat = Event.objects.get(customer_id=cid, kind="repeat")
    assert repeat.internal and repeat.actor is not None and repeat.actor.username == "ann"
    assert repeat.summary == "Customer had to repeat information: account number"
    assert desk.get(f"/desk/customers/{cid}/repeat").status_code == 405


def test_timeline_filters_and_load_more(desk: Client, api: Api, customer: dict[str, Any]) -> None:
    cid = customer["id"]
    events = [
        event(
            f"t{n:03d}",
            customer_id=cid,
            channel="phone" if n % 2 else "email",
            kind="call" if n % 2 else "message",
            occurred_at=f"2026-10-{1 + n // 24:02d}T{n % 24:02d}:00:00+00:00",
        )
        for n in range(70)
    ]
    api.post("/events/batch", {"events": events})
    page = desk.get(f"/desk/customers/{cid}/").content.decode()
    assert page.count('class="timeline-item') == 30
    cursor = re.search(r'hx-get="\?cursor=([^"&]+)', page)
    assert cursor is not None
    more = desk.get(f"/desk/customers/{cid}/", {"cursor": cursor[1]}, HTTP_HX_REQUEST="true")
    body = more.content.decode()
    assert "<html" not in body and body.count('class="timeline-item') == 30
    phone = desk.get(f"/desk/customers/{cid}/", {"channel": "phone"}, HTTP_HX_REQUEST="true")
    assert phone.content.decode().count("bi-telephone") == 30
    assert "Nothing matches" in text(
        desk.get(f"/desk/customers/{cid}/", {"channel": "letter"}, HTTP_HX_REQUEST="true")
    )


def test_unknown_customer_and_case_are_404(desk: Client) -> None:
    assert desk.get("/desk/customers/not-an-id/").status_code == 404
    assert desk.get("/desk/customers/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert desk.get("/desk/cases/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize("n_events", [10, 10_000])
def test_customer_and_case_pages_have_fixed_query_counts(
    desk: Client, api: Api, customer: dict[str, Any], n_events: int
) -> None:
    cid = customer["id"]
    case = api.post("/cases", {"customer_id": cid, "problem": "Broken", "owner": "ann"}).json()
    for dept in ("parts", "warranty"):
        api.post(f"/cases/{case['id']}/tasks", {"department": dept, "title": dept})
    api.post("/assets", {"customer_id": cid, "product": "Laptop"})
    for offset in range(0, n_events, 1000):
        batch = [
            event(
                f"q{k}",
                customer_id=cid,
                case_id=case["id"] if k % 3 == 0 else None,
                occurred_at=f"2025-{1 + k % 12:02d}-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}Z",
            )
            for k in range(offset, min(n_events, offset + 1000))
        ]
        assert api.post("/events/batch", {"events": batch}).status_code == 201

    def count(url: str) -> int:
        desk.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert desk.get(url).status_code == 200
        return len(ctx.captured_queries)

    # Customer page: session, user, the user's site and department (nav, time zone), the 360
    # view's 8 reads, "what the customer told us" and the merge history. Case page: session,
    # user, site, case, tasks, handoffs, stream, recent contacts, the choice lists of the action
    # forms, and the outbox of the "Message to the customer" panel (one query, whatever its
    # length).
    assert count(f"/desk/customers/{cid}/") == CUSTOMER_PAGE_QUERIES
    assert count(f"/desk/cases/{case['id']}/") == CASE_PAGE_QUERIES


CUSTOMER_PAGE_QUERIES = 15
CASE_PAGE_QUERIES = 13


# --- the case page -----------------------------------------------------------------------------


def test_case_page_offers_only_legal_actions(
    desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Broken", "owner": "ann"})
    cid = case.json()["id"]
    page = text(desk.get(f"/desk/cases/{cid}/"))
    offered = set(re.findall(r'data-action="([a-z_]+)"', page))
    assert offered == {
        "add_task",
        "note",
        "hand_off",
        "wait",
        "propose_resolution",
        "close_unconfirmed",
    }
    # The server refuses what is not offered: confirming an open case changes nothing
    response = desk.post(f"/desk/cases/{cid}/confirm", {"via": "phone"}, follow=True)
    assert "Not done: cannot confirm a case that is open" in text(response)
    assert Case.objects.get(pk=cid).status == "open"
    api.post(f"/cases/{cid}/propose-resolution", {"summary": "Fixed"})
    offered = set(re.findall(r'data-action="([a-z_]+)"', text(desk.get(f"/desk/cases/{cid}/"))))
    assert offered == {"add_task", "note", "hand_off", "confirm", "reopen", "close_unconfirmed"}


def test_case_actions_through_the_desk(
    desk: Client, api: Api, customer: dict[str, Any], colleague: User, departments: Any
) -> None:
    cid = api.post("/cases", {"customer_id": customer["id"], "problem": "No power"}).json()["id"]
    post = lambda action, data: desk.post(f"/desk/cases/{cid}/{action}", data, follow=True)  # noqa: E731
    ann = User.objects.get(username="ann")
    assert "Owner assigned" in text(post("assign", {"owner": ann.pk}))
    parts = departments["parts"].pk
    assert "Task added for Parts" in text(
        post("add_task", {"department": parts, "title": "Battery"})
    )
    assert "Note added" in text(post("note", {"body": "Sales: urgent for the customer"}))
    no_context = text(post("hand_off", {"to": User.objects.get(username="carl").pk, "context": ""}))
    assert "Not done" in no_context and "context" in no_context
    assert Case.objects.get(pk=cid).owner_id == ann.pk
    task = Case.objects.get(pk=cid).tasks.get()
    done = desk.post(f"/desk/tasks/{task.pk}/complete", {"note": "Fitted"}, follow=True)
    assert "Parts task completed" in text(done)
    assert Case.objects.get(pk=cid).status == "resolution_proposed"
    contact = api.post("/events", event("c1", customer_id=customer["id"], summary="Works!")).json()
    confirmed = text(post("confirm", {"via": "email", "event_id": contact["id"]}))
    assert "confirmation is recorded" in confirmed
    assert Case.objects.get(pk=cid).status == "resolved_confirmed"
    assert "Case reopened" in text(post("reopen", {"reason": "Dead again"}))
    assert "Closed without confirmation" in text(post("close_unconfirmed", {"reason": "Gone"}))
    assert desk.post(f"/desk/cases/{cid}/teleport", {}).status_code == 404


def test_receiver_sees_the_handoff_context_highlighted(
    desk: Client, api: Api, customer: dict[str, Any], colleague: User
) -> None:
    cid = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "No power", "owner": "ann"}
    ).json()["id"]
    context = "Customer is on a deadline; PSU replaced; needs battery news by Friday"
    desk.post(f"/desk/cases/{cid}/hand_off", {"to": colleague.pk, "context": context})
    assert "Handed to you by" not in text(desk.get(f"/desk/cases/{cid}/"))  # not for the sender
    receiver = Client()
    receiver.force_login(colleague)
    page = text(receiver.get(f"/desk/cases/{cid}/"))
    assert "handoff-for-me" in page and "Handed to you by Ann Agent" in page
    assert page.index(context) < page.index("The problem, in the customer")


# --- search ------------------------------------------------------------------------------------


def test_one_search_box_for_everything(desk: Client, api: Api, customer: dict[str, Any]) -> None:
    case = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "Flickering screen"}
    ).json()
    api.post("/customers", {"name": "Priya Raman", "account": {"name": "Northwind Haulage"}})
    for q in (
        "jo bloggs",
        "JO.BLOGGS@EXAMPLE.COM",
        "+44 1632 960001",
        "01632960001",
        "ac100200",
        "AC-100200",
    ):
        assert "Jo Bloggs" in text(desk.get("/desk/search", {"q": q})), q
    by_case = text(desk.get("/desk/search", {"q": case["id"]}))
    assert "Flickering screen" in by_case
    account = text(desk.get("/desk/search", {"q": "northwind"}))
    assert "Northwind Haulage" in account and "Priya Raman" in account
    nothing = text(desk.get("/desk/search", {"q": "zzzz-nobody"}))
    assert "Nobody matches" in nothing
    partial = desk.get("/desk/search", {"q": "jo"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial


# --- access ------------------------------------------------------------------------------------


def test_internal_events_can_be_excluded_for_customer_facing_outputs(
    api: Api, customer: dict[str, Any], agent: User
) -> None:
    from loxodon.timeline.selectors import timeline_page

    cid = customer["id"]
    case = api.post("/cases", {"customer_id": cid, "problem": "x", "owner": "ann"}).json()
    api.post(f"/cases/{case['id']}/notes", {"body": "Internal: customer was rude"})
    api.post("/events", event("pub", customer_id=cid, summary="Public reply"))
    public = timeline_page(agent, cid, include_internal=False).items
    assert "Public reply" in [e.summary for e in public]
    assert not any(e.internal for e in public)
    assert all(e.kind not in ("note", "handoff", "repeat") for e in public)


def test_search_query_count_does_not_grow_with_accounts(desk: Client, api: Api) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert desk.get("/desk/search", {"q": "haulage"}).status_code == 200
        return len(ctx.captured_queries)

    api.post("/customers", {"name": "A One", "account": {"name": "Haulage One"}})
    few = count()
    for n in range(5):
        api.post("/customers", {"name": f"B {n}", "account": {"name": f"Haulage {n}"}})
    assert count() == few


def test_case_stream_pages_its_history(desk: Client, api: Api, customer: dict[str, Any]) -> None:
    cid = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "Long story", "owner": "ann"}
    ).json()["id"]
    history = [
        event(
            f"h{n:03d}",
            customer_id=customer["id"],
            case_id=cid,
            occurred_at=f"2026-09-{1 + n // 24:02d}T{n % 24:02d}:00:00Z",
        )
        for n in range(70)
    ]
    api.post("/events/batch", {"events": history})
    page = desk.get(f"/desk/cases/{cid}/").content.decode()
    assert page.count('class="timeline-item') == 30
    seen = set(re.findall(r'id="event-([0-9a-f-]+)"', page))
    cursor = re.search(r'hx-get="\?cursor=([^"]+)"', page)
    while cursor:
        more = desk.get(f"/desk/cases/{cid}/", {"cursor": cursor[1]}, HTTP_HX_REQUEST="true")
        body = more.content.decode()
        assert "<html" not in body
        found = set(re.findall(r'id="event-([0-9a-f-]+)"', body))
        assert not found & seen
        seen |= found
        cursor = re.search(r'hx-get="\?cursor=([^"]+)"', body)
    assert len(seen) == 72  # 70 delivered + case opened + owner assigned


def test_bad_page_parameters_get_a_message_not_an_error(
    desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    cid = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "x", "owner": "ann"}
    ).json()["id"]
    for url in (f"/desk/cases/{cid}/", f"/desk/customers/{customer['id']}/"):
        response = desk.get(url, {"cursor": "garbage"}, follow=True)
        assert response.status_code == 200
        assert "cursor &#x27;garbage&#x27; is not valid" in response.content.decode()
    filtered = desk.get(f"/desk/customers/{customer['id']}/", {"channel": "pigeon"}, follow=True)
    assert "unknown channel" in filtered.content.decode()
