"""Merging two customers and undoing it: everything moves, survivorship, exact restore, refusals."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import models
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.cases.models import Task
from loxodon.channels.chat.models import Chat
from loxodon.channels.web.models import WebVisitor
from loxodon.channels.web.services import create_web_property
from loxodon.core.errors import Conflict, InvalidInput, PermissionDenied
from loxodon.core.testing import Api, event
from loxodon.customers import services
from loxodon.customers.models import Customer, Identity, MatchReview, Merge
from loxodon.customers.resolution import ResolutionQuery, resolve
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event, register_asset

MERGE_KINDS = ("customer_merged", "customer_unmerged")
BOOKKEEPING = {"customers.Merge", "customers.MatchReview"}


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def customer_relations() -> list[tuple[Any, str, str]]:
    """(model, field, "app.Model.field") for every foreign key to Customer, hidden ones too,
    except merge bookkeeping; found independently of the code under test."""
    out = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        model: Any = rel.related_model
        field: str = rel.field.name  # type: ignore[union-attr]
        label = f"{model._meta.label}.{field}"
        if model._meta.label in BOOKKEEPING or label.startswith("customers.Customer."):
            continue
        out.append((model, field, label))
    return out


def snapshot(*customers: Customer) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row that points at these customers, with every column, plus the customers
    themselves; tasks through their cases."""
    ids = [c.pk for c in customers]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for model, field, label in customer_relations():
        for obj in model._default_manager.filter(**{f"{field}__in": ids}):
            if label == "timeline.Event.customer" and obj.kind in MERGE_KINDS:
                continue
            rows[(label, str(obj.pk))] = _row(obj)
    for task in Task.objects.filter(case__customer__in=ids):
        rows[("cases.Task", str(task.pk))] = _row(task)
    for c in Customer.objects.filter(pk__in=ids):
        rows[("customers.Customer", str(c.pk))] = _row(c)
    return rows


def owners(*customers: Customer) -> dict[str, int]:
    """Rows pointing at each customer, per relation (none may point at an absorbed one)."""
    out = {}
    for model, field, label in customer_relations():
        for c in customers:
            n = model._default_manager.filter(**{field: c}).count()
            if n:
                out[f"{c.name}:{label}"] = n
    return out


@pytest.fixture
def admin_api(supervisor: User) -> Api:
    return Api(create_api_token(username=supervisor.username))


@pytest.fixture
def pair(site: Site, agent: User, departments: dict[str, Department]) -> tuple[Customer, Customer]:
    """Jo (older, unverified profile) and Joanne (newer, verified profile): the same person
    known twice, with identifiers both have, cases, tasks, notes, events, assets, web and chat."""
    long_ago = timezone.now() - timedelta(days=400)
    jo = services.create_customer(
        name="Jo Bloggs",
        email="jo@example.com",
        verified=True,
        street="1 Old Road",
        city="Leeds",
        postcode="LS1 1AA",
        site=site,
    )
    services.add_identity(customer=jo, kind="phone", value="01632 960111")  # unverified here
    services.add_identity(customer=jo, kind="legacy", value="LON:77")
    Customer.objects.filter(pk=jo.pk).update(profile_updated_at=long_ago)
    joanne = services.create_customer(
        name="Joanne Bloggs",
        email="jo@example.com",  # unverified copy of Jo's verified email
        phone="01632 960111",
        verified=False,
        account_number="AC-555",
        date_of_birth=date(1980, 5, 17),
        street="9 New Street",
        city="York",
        postcode="YO17HH",
        site=site,
    )
    services.add_identity(customer=joanne, kind="phone", value="01632 960111", verified=True)
    services.add_identity(customer=joanne, kind="legacy", value="MAN:12")
    Customer.objects.filter(pk=joanne.pk).update(
        profile_verified=True, profile_updated_at=timezone.now() - timedelta(days=3)
    )
    jo.refresh_from_db()
    joanne.refresh_from_db()
    # Joanne's history: a case with a task and a note, events, an asset, a web visitor, a chat
    case = case_services.open_case(
        customer=joanne, problem="Printer jams", actor=agent, owner=agent
    )
    case_services.add_task(
        case=case, department=departments["parts"], title="Send a roller", actor=agent
    )
    case_services.add_note(case=case, body="Called twice already", actor=agent)
    register_asset(customer=joanne, product="LaserJet 5", serial="LJ-1", site=site)
    record_event(customer_id=joanne.pk, kind="message", summary="Email about the jam")
    prop = create_web_property(name="Shop", site_code="lon")
    WebVisitor.objects.create(
        web_property=prop, visitor_key="v-1", customer=joanne, last_seen_at=timezone.now()
    )
    chat_event = record_event(customer_id=joanne.pk, kind="chat", summary="Chat", channel="chat")
    Chat.objects.create(
        web_property=prop,
        visitor_id="v-1",
        customer=joanne,
        status="ended",
        event=chat_event,
        about="jam",
        started_at=timezone.now(),
        last_message_at=timezone.now(),
        ended_at=timezone.now(),
    )
    # Jo's own history
    case_services.open_case(customer=jo, problem="Invoice question", actor=agent)
    record_event(customer_id=jo.pk, kind="call", summary="Call about invoice", channel="phone")
    return jo, joanne


def test_merge_then_unmerge_restores_everything_exactly(
    pair: tuple[Customer, Customer], supervisor: User
) -> None:
    jo, joanne = pair
    before = snapshot(jo, joanne)
    assert len(before) > 15

    merge = services.merge_customers(
        survivor=jo, absorbed=joanne, by=supervisor, reason="same email, phone and address"
    )

    # Everything of Joanne now belongs to Jo; nothing points at Joanne
    assert not {k: v for k, v in owners(joanne).items()}
    moved = owners(jo)
    assert moved["Jo Bloggs:cases.Case.customer"] == 2
    assert moved["Jo Bloggs:timeline.Asset.customer"] == 1
    assert moved["Jo Bloggs:channels_web.WebVisitor.customer"] == 1
    assert moved["Jo Bloggs:channels_chat.Chat.customer"] == 1
    assert set(merge.moved) >= {
        "cases.Case.customer",
        "timeline.Event.customer",
        "timeline.Asset.customer",
        "customers.Identity.customer",
        "channels_chat.Chat.customer",
        "channels_web.WebVisitor.customer",
    }
    joanne.refresh_from_db()
    assert joanne.merged_into_id == jo.pk
    # identifiers both had are kept once; Joanne's verified phone verifies Jo's copy
    ids = {(i.kind, i.value): i.verified for i in Identity.objects.filter(customer=jo)}
    assert ids[("email", "jo@example.com")] is True
    assert ids[("phone", "+441632960111")] is True
    assert ("legacy", "man:12") in ids and ("account_number", "AC555") in ids
    assert Identity.objects.filter(kind="email", value="jo@example.com").count() == 1
    # a staff-only event says so on the survivor
    merged_event = Event.objects.get(customer=jo, kind="customer_merged")
    assert merged_event.internal and merged_event.payload["merge_id"] == str(merge.pk)

    _, absorbed = services.unmerge(merge=merge, by=supervisor, reason="different people")

    after = snapshot(jo, joanne)
    assert after == before
    assert absorbed.merged_into_id is None
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == supervisor
    assert merge.undo_reason == "different people"
    assert Event.objects.filter(customer=jo, kind="customer_unmerged").count() == 1


def test_survivorship_verified_profile_wins_and_losing_values_are_kept(
    pair: tuple[Customer, Customer], supervisor: User
) -> None:
    jo, joanne = pair  # Joanne's profile is verified, Jo's is not
    plan = services.plan_merge(survivor=jo, absorbed=joanne)
    assert plan.profile_after["street"] == "9 New Street"
    assert plan.profile_after["date_of_birth"] == "1980-05-17"
    assert any("verified" in w for w in plan.warnings)
    assert any("both have open cases" in w for w in plan.warnings)
    assert plan.moves["cases.Case.customer"] == 1
    assert Customer.objects.get(pk=jo.pk).street == "1 Old Road"  # the plan wrote nothing

    merge = services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="same")
    jo.refresh_from_db()
    assert (jo.name, jo.street, jo.city, jo.postcode) == (
        "Joanne Bloggs",
        "9 New Street",
        "York",
        "YO17HH",
    )
    assert jo.date_of_birth == date(1980, 5, 17)  # only Joanne had one: non-empty beats empty
    assert jo.profile_verified is True
    history = {(h["field"], h["value"]) for h in jo.profile_history}
    assert ("street", "1 Old Road") in history and ("name", "Jo Bloggs") in history
    assert all(h["merge_id"] == str(merge.pk) for h in jo.profile_history)
    assert {h["from_customer"] for h in jo.profile_history} == {str(jo.pk)}

    services.unmerge(merge=merge, by=supervisor, reason="wrong")
    jo.refresh_from_db()
    assert jo.street == "1 Old Road" and jo.profile_history == [] and not jo.profile_verified


def test_survivorship_most_recent_profile_wins_when_neither_is_verified(
    site: Site, supervisor: User
) -> None:
    old = services.create_customer(name="Sam Lee", street="1 A St", city="Hull")
    new = services.create_customer(name="Samuel Lee", street="2 B St")
    Customer.objects.filter(pk=old.pk).update(profile_updated_at=timezone.now())
    Customer.objects.filter(pk=new.pk).update(
        profile_updated_at=timezone.now() - timedelta(days=30)
    )
    old.refresh_from_db()
    new.refresh_from_db()
    services.merge_customers(survivor=new, absorbed=old, by=supervisor, reason="same")
    new.refresh_from_db()
    assert (new.name, new.street, new.city) == ("Sam Lee", "1 A St", "Hull")
    assert {(h["field"], h["value"], h["from_customer"]) for h in new.profile_history} == {
        ("name", "Samuel Lee", str(new.pk)),
        ("first_name", "Samuel", str(new.pk)),
        ("street", "2 B St", str(new.pk)),
    }


def test_choose_survivor_prefers_verified_then_busier_then_older(site: Site, agent: User) -> None:
    a = services.create_customer(name="A One")
    b = services.create_customer(name="B Two")
    assert services.choose_survivor(a, b) == (a, b)  # older
    assert services.choose_survivor(b, a) == (a, b)
    case_services.open_case(customer=b, problem="help", actor=agent)
    assert services.choose_survivor(a, b) == (b, a)  # more events and cases
    Customer.objects.filter(pk=a.pk).update(profile_verified=True)
    a.refresh_from_db()
    assert services.choose_survivor(b, a) == (a, b)  # verified profile


def test_refusals(pair: tuple[Customer, Customer], supervisor: User, agent: User) -> None:
    jo, joanne = pair
    with pytest.raises(InvalidInput, match="reason"):
        services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="  ")
    with pytest.raises(Conflict, match="itself"):
        services.merge_customers(survivor=jo, absorbed=jo, by=supervisor, reason="x")
    with pytest.raises(PermissionDenied):
        services.merge_customers(survivor=jo, absorbed=joanne, by=agent, reason="x")
    merge = services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="x")
    with pytest.raises(Conflict, match="already merged"):
        services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="x")
    with pytest.raises(Conflict, match="already merged"):
        services.merge_customers(survivor=joanne, absorbed=jo, by=supervisor, reason="x")
    with pytest.raises(PermissionDenied):
        services.unmerge(merge=merge, by=agent, reason="x")
    # a later merge into the survivor must be undone first
    third = services.create_customer(name="Jo B")
    later = services.merge_customers(survivor=jo, absorbed=third, by=supervisor, reason="y")
    with pytest.raises(Conflict, match="undo the later merge first"):
        services.unmerge(merge=merge, by=supervisor, reason="z")
    services.unmerge(merge=later, by=supervisor, reason="z")
    # the survivor itself merged away since
    fourth = services.create_customer(name="Jo Bloggs Sr")
    above = services.merge_customers(survivor=fourth, absorbed=jo, by=supervisor, reason="y")
    with pytest.raises(Conflict, match="merged into another customer since"):
        services.unmerge(merge=merge, by=supervisor, reason="z")
    services.unmerge(merge=above, by=supervisor, reason="z")
    services.unmerge(merge=merge, by=supervisor, reason="z")
    with pytest.raises(Conflict, match="already undone"):
        services.unmerge(merge=merge, by=supervisor, reason="z")
    # identifiers cannot be added to an absorbed customer
    services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="again")
    with pytest.raises(Conflict, match="was merged into another customer"):
        services.add_identity(customer=joanne, kind="email", value="new@example.com")


def test_after_a_merge_ingest_and_resolution_land_on_the_survivor(
    pair: tuple[Customer, Customer], supervisor: User, api: Api
) -> None:
    jo, joanne = pair
    services.merge_customers(survivor=jo, absorbed=joanne, by=supervisor, reason="same")
    # an email from Joanne's account number (an identifier that moved) lands on Jo
    response = api.post("/events", event("m-1", customer={"account_number": "AC555"}))
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == str(jo.pk)
    # an integrator still holding Joanne's id is followed to Jo
    response = api.post("/events", event("m-2", customer_id=str(joanne.pk)))
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == str(jo.pk)
    assert resolve(ResolutionQuery(account_number="AC555")).customer_id == jo.pk
    assert resolve(ResolutionQuery(email="jo@example.com")).customer_id == jo.pk
    assert not Event.objects.filter(customer=joanne).exists()


def test_decide_review_merge_and_not_same(site: Site, supervisor: User, agent: User) -> None:
    a, b, c = (services.create_customer(name=n) for n in ("Ann Ray", "Anne Ray", "Bob Ray"))
    a_b = MatchReview.objects.create(
        customer_a=min(a, b, key=lambda x: x.pk),
        customer_b=max(a, b, key=lambda x: x.pk),
        score=0.8,
    )
    b_c = MatchReview.objects.create(
        customer_a=min(b, c, key=lambda x: x.pk),
        customer_b=max(b, c, key=lambda x: x.pk),
        score=0.6,
    )
    with pytest.raises(PermissionDenied):
        services.decide_review(review=a_b, by=agent, decision="merge")

    decided = services.decide_review(review=a_b, by=supervisor, decision="merge", note="same")
    assert decided.status == MatchReview.Status.MERGED and decided.merge is not None
    assert decided.decided_by == supervisor and decided.note == "same"
    assert decided.merge.method == Merge.Method.REVIEW and decided.merge.score == 0.8
    assert decided.merge.survivor == a  # older, neither verified nor busier
    with pytest.raises(Conflict, match="already decided"):
        services.decide_review(review=a_b, by=supervisor, decision="not_same")
    # the other pair involving Anne no longer applies
    b_c.refresh_from_db()
    assert b_c.status == MatchReview.Status.OBSOLETE
    with pytest.raises(Conflict, match="no longer applies"):
        services.decide_review(review=b_c, by=supervisor, decision="merge")

    # undoing the merge makes the decided pair suggestible again
    services.unmerge(merge=decided.merge, by=supervisor, reason="no")
    decided.refresh_from_db()
    assert decided.status == MatchReview.Status.OBSOLETE

    d = services.create_customer(name="Ann Ray")
    pair_ad = MatchReview.objects.create(
        customer_a=min(a, d, key=lambda x: x.pk),
        customer_b=max(a, d, key=lambda x: x.pk),
        score=0.7,
    )
    not_same = services.decide_review(
        review=pair_ad, by=supervisor, decision="not_same", note="twins"
    )
    assert not_same.status == MatchReview.Status.NOT_SAME and not_same.merge is None
    assert Customer.objects.get(pk=d.pk).merged_into_id is None


def test_a_review_whose_customer_was_merged_meanwhile_becomes_obsolete(
    site: Site, supervisor: User
) -> None:
    a, b, c = (services.create_customer(name=n) for n in ("Ann Ray", "Anne Ray", "A Ray"))
    review = MatchReview.objects.create(
        customer_a=min(a, b, key=lambda x: x.pk),
        customer_b=max(a, b, key=lambda x: x.pk),
        score=0.8,
    )
    # merged by hand elsewhere, and the review left pending by a stale queue (e.g. a run
    # that wrote it after the merge)
    services.merge_customers(survivor=c, absorbed=b, by=supervisor, reason="same")
    MatchReview.objects.filter(pk=review.pk).update(status=MatchReview.Status.PENDING)
    with pytest.raises(Conflict, match="merged into another customer meanwhile"):
        services.decide_review(review=review, by=supervisor, decision="merge")
    review.refresh_from_db()
    assert review.status == MatchReview.Status.OBSOLETE


def test_merge_api(pair: tuple[Customer, Customer], admin_api: Api, api: Api) -> None:
    jo, joanne = pair
    url = f"/customers/{jo.pk}/merges"
    # agents may not merge
    response = api.post(url, {"absorbed_id": str(joanne.pk), "reason": "same"})
    assert response.status_code == 403
    assert "supervisor" in response.json()["detail"]
    # the reason is required and must say something
    response = admin_api.post(url, {"absorbed_id": str(joanne.pk), "reason": " "})
    assert response.status_code == 400 and "reason" in response.json()["detail"]
    assert admin_api.post(url, {"absorbed_id": str(joanne.pk)}).status_code == 422
    # unknown customers
    response = admin_api.post(
        url, {"absorbed_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "reason": "x"}
    )
    assert response.status_code == 404
    response = admin_api.post(
        f"/customers/{jo.pk}/merges", {"absorbed_id": str(jo.pk), "reason": "x"}
    )
    assert response.status_code == 409

    response = admin_api.post(url, {"absorbed_id": str(joanne.pk), "reason": "same phone"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["survivor_id"] == str(jo.pk) and body["absorbed_id"] == str(joanne.pk)
    assert body["merged_by"] == "sue" and body["method"] == "manual"
    assert body["moved"]["cases.Case.customer"] == 1
    # a second merge of the same record is a conflict
    again = admin_api.post(url, {"absorbed_id": str(joanne.pk), "reason": "same phone"})
    assert again.status_code == 409 and "already merged" in again.json()["detail"]

    # the absorbed record still answers, naming its survivor; lists and search hide it
    got = api.get(f"/customers/{joanne.pk}").json()
    assert got["merged_into"] == str(jo.pk)
    listed = {c["id"] for c in api.get("/customers").json()["items"]}
    assert str(joanne.pk) not in listed and str(jo.pk) in listed
    found = {c["id"] for c in api.get("/customers", q="Bloggs").json()["items"]}
    assert found == {str(jo.pk)}

    for who in (jo, joanne):
        merges = api.get(f"/customers/{who.pk}/merges").json()
        assert [m["id"] for m in merges] == [body["id"]]

    unmerge_url = f"/merges/{body['id']}/unmerge"
    assert api.post(unmerge_url, {"reason": "no"}).status_code == 403
    assert admin_api.post(unmerge_url, {"reason": ""}).status_code == 400
    assert admin_api.post("/merges/not-a-uuid/unmerge", {"reason": "x"}).status_code == 404
    response = admin_api.post(unmerge_url, {"reason": "different people"})
    assert response.status_code == 200, response.content
    assert response.json()["undone_by"] == "sue"
    assert response.json()["undo_reason"] == "different people"
    assert admin_api.post(unmerge_url, {"reason": "again"}).status_code == 409
    assert api.get(f"/customers/{joanne.pk}").json()["merged_into"] is None
