"""Bulk merges (`merge_clusters`): the same outcome as one merge_customers call per record,
undone exactly by unmerge, a fixed number of queries per chunk, refusals recorded."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.channels.chat.models import Chat
from loxodon.channels.web.models import WebVisitor
from loxodon.channels.web.services import create_web_property
from loxodon.core.errors import InvalidInput, PermissionDenied
from loxodon.customers import merging, services
from loxodon.customers.models import Customer, Identity, MatchReview, Merge
from loxodon.customers.tests.test_merge import snapshot
from loxodon.org.models import Department, Site, User
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event, register_asset

Clusters = list[tuple[Customer, list[tuple[Customer, float | None]]]]


def _review(a: Customer, b: Customer, status: str = MatchReview.Status.PENDING) -> None:
    x, y = sorted((a, b), key=lambda c: c.pk)
    MatchReview.objects.create(customer_a=x, customer_b=y, score=0.8, status=status)


def _world(site: Site, agent: User, departments: dict[str, Department]) -> dict[str, Customer]:
    """Two clusters and a bystander, with everything a merge has to get right: identifiers
    the survivor already has (verified on one side only), an identifier two absorbed records
    share, verified and newer profiles, carried-over history, cases, tasks, notes, events,
    assets, a web visitor, a chat, and pending, not-same and bystander reviews."""
    long_ago = timezone.now() - timedelta(days=400)
    jo = services.create_customer(
        name="Jo Bloggs", email="jo@example.com", verified=True, street="1 Old Road", site=site
    )
    services.add_identity(customer=jo, kind="phone", value="01632 960111")  # unverified
    services.add_identity(customer=jo, kind="legacy", value="LON:77")
    joanne = services.create_customer(
        name="Joanne Bloggs",
        email="jo@example.com",  # unverified copy of Jo's verified email: removed
        account_number="AC-555",
        date_of_birth=date(1980, 5, 17),
        street="9 New Street",
        city="York",
        postcode="YO17HH",
        site=site,
    )
    services.add_identity(customer=joanne, kind="phone", value="01632 960222", verified=True)
    jb = services.create_customer(name="J Bloggs", city="Leeds", site=site)
    # Joanne's verified phone, unverified here: a copy of what the survivor has by then
    services.add_identity(customer=jb, kind="phone", value="01632 960222")
    # Jo's phone, verified here: verifies Jo's copy
    services.add_identity(customer=jb, kind="phone", value="01632 960111", verified=True)
    services.add_identity(customer=jb, kind="legacy", value="MAN:12")
    sam = services.create_customer(name="Sam Lee", street="1 A St", site=site)
    samuel = services.create_customer(name="Samuel Lee", street="2 B St", email="sam@example.com")
    bystander = services.create_customer(name="Ola Nordmann", email="ola@example.com")
    now = timezone.now()
    Customer.objects.filter(pk=jo.pk).update(profile_updated_at=long_ago)
    Customer.objects.filter(pk=joanne.pk).update(
        profile_verified=True,
        profile_updated_at=now - timedelta(days=3),
        profile_history=[
            {
                "field": "city",
                "value": "Hull",
                "merge_id": "x",
                "at": "2020-01-01",
                "from_customer": "y",
            }
        ],
    )
    Customer.objects.filter(pk=jb.pk).update(profile_updated_at=now - timedelta(days=1))
    Customer.objects.filter(pk=samuel.pk).update(profile_updated_at=now - timedelta(days=30))

    case = case_services.open_case(customer=joanne, problem="Printer jams", actor=agent)
    case_services.add_task(
        case=case, department=departments["parts"], title="Send a roller", actor=agent
    )
    case_services.add_note(case=case, body="Called twice already", actor=agent)
    register_asset(customer=joanne, product="LaserJet 5", serial="LJ-1", site=site)
    record_event(customer_id=joanne.pk, kind="message", summary="Email about the jam")
    prop = create_web_property(name="Shop", site_code="lon")
    WebVisitor.objects.create(
        web_property=prop, visitor_key="v-1", customer=jb, last_seen_at=timezone.now()
    )
    chat_event = record_event(customer_id=jb.pk, kind="chat", summary="Chat", channel="chat")
    Chat.objects.create(
        web_property=prop,
        visitor_id="v-1",
        customer=jb,
        status="ended",
        event=chat_event,
        about="jam",
        started_at=now,
        last_message_at=now,
        ended_at=now,
    )
    case_services.open_case(customer=jo, problem="Invoice question", actor=agent)
    record_event(customer_id=jo.pk, kind="call", summary="Call about invoice", channel="phone")
    record_event(customer_id=samuel.pk, kind="message", summary="Hello from Samuel")

    _review(jo, joanne)  # → merged by the first merge
    _review(joanne, jb)  # → obsolete (Joanne is absorbed, not into Jb)
    _review(jb, bystander)  # → obsolete
    _review(jo, bystander)  # the survivor's own suggestion: stays pending
    _review(samuel, sam)  # → merged
    _review(samuel, bystander, MatchReview.Status.NOT_SAME)  # decisions are never touched
    return {
        "jo": jo,
        "joanne": joanne,
        "jb": jb,
        "sam": sam,
        "samuel": samuel,
        "bystander": bystander,
    }


def _clusters(w: dict[str, Customer]) -> Clusters:
    fresh = {k: Customer.objects.get(pk=c.pk) for k, c in w.items()}
    return [
        (fresh["jo"], [(fresh["joanne"], 0.995), (fresh["jb"], 0.9912)]),
        (fresh["sam"], [(fresh["samuel"], None)]),
    ]


def _sequentially(clusters: Clusters, by: User | None) -> list[Merge]:
    """What linkage did before bulk merges: one merge_customers call per absorbed record."""
    merges = []
    for survivor, absorbed in clusters:
        for a, score in absorbed:
            merges.append(
                services.merge_customers(
                    survivor=survivor,
                    absorbed=a,
                    by=by,
                    reason="linkage run 1",
                    method=Merge.Method.AUTOMATIC,
                    score=score,
                )
            )
    return merges


def _normalise(value: Any, since: datetime, names: dict[str, str]) -> Any:
    """Times written by the merge → "NOW", merge ids → "merge:<absorbed id>"."""
    if isinstance(value, dict):
        return {k: _normalise(v, since, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v, since, names) for v in value]
    if isinstance(value, uuid.UUID):
        return names.get(str(value), value)
    if isinstance(value, datetime):
        return "NOW" if value >= since else value
    if isinstance(value, str):
        if value in names:
            return names[value]
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        if when.tzinfo is not None and when >= since:
            return "NOW"
    return value


def _outcome(world: dict[str, Customer], merges: list[Merge], since: datetime) -> dict[str, Any]:
    """Everything a merge writes, comparable between two runs over the same world."""
    names = {str(m.pk): f"merge:{m.absorbed_id}" for m in merges}
    ids = [c.pk for c in world.values()]
    records = []
    for m in Merge.objects.filter(pk__in=[m.pk for m in merges]):
        records.append(
            {
                "survivor": m.survivor_id,
                "absorbed": m.absorbed_id,
                "method": m.method,
                "merged_by": m.merged_by_id,
                "reason": m.reason,
                "score": m.score,
                "moved": {label: sorted(pks) for label, pks in m.moved.items()},
                "survivor_before": m.survivor_before,
                "absorbed_before": m.absorbed_before,
                "undone_at": m.undone_at,
            }
        )
    events = [
        (e.customer_id, e.summary, e.body, e.internal, e.actor_id, e.channel, e.payload)
        for e in Event.objects.filter(
            customer_id__in=ids, kind="customer_merged", occurred_at__gte=since
        )
    ]
    reviews = [
        (r.customer_a_id, r.customer_b_id, r.status, r.merge_id, r.decided_by_id, r.decided_at)
        for r in MatchReview.objects.filter(customer_a_id__in=ids)
    ]
    out = {
        "rows": snapshot(*world.values()),
        "identities": sorted(
            (str(i.pk), str(i.customer_id), i.kind, i.value, i.verified)
            for i in Identity.objects.filter(customer_id__in=ids)
        ),
        "merges": sorted(records, key=lambda r: str(r["absorbed"])),
        "events": sorted(events, key=str),
        "reviews": sorted(reviews, key=str),
    }
    return dict(_normalise(out, since, names))


def test_bulk_merge_gives_exactly_what_sequential_merges_give(
    site: Site, agent: User, supervisor: User, departments: dict[str, Department]
) -> None:
    # Given a world merged one record at a time (as linkage did), then undone
    world = _world(site, agent, departments)
    since = timezone.now()
    one_by_one = _sequentially(_clusters(world), supervisor)
    expected = _outcome(world, one_by_one, since)
    for merge in reversed(one_by_one):
        services.unmerge(merge=merge, by=supervisor, reason="compare")
    # (unmerge leaves decided reviews obsolete: put the queue back as it was)
    MatchReview.objects.exclude(status=MatchReview.Status.NOT_SAME).update(
        status=MatchReview.Status.PENDING, merge=None, decided_by=None, decided_at=None
    )
    since = timezone.now()

    # When the same clusters are merged in bulk
    result = services.merge_clusters(
        _clusters(world), by=supervisor, reason="linkage run 1", method=Merge.Method.AUTOMATIC
    )

    # Then every row, merge record, profile, history entry, event and review is the same
    assert result.skipped == []
    assert [(m.survivor_id, m.absorbed_id) for m in result.merges] == [
        (m.survivor_id, m.absorbed_id) for m in one_by_one
    ]
    actual = _outcome(world, result.merges, since)
    assert actual == expected
    assert len(expected["merges"]) == 3 and len(expected["events"]) == 3
    jo = Customer.objects.get(pk=world["jo"].pk)
    assert jo.profile_verified and (jo.street, jo.city) == ("9 New Street", "York")
    assert Identity.objects.get(customer=jo, value="+441632960111").verified
    assert {(h["field"], h["value"]) for h in jo.profile_history} >= {
        ("city", "Hull"),  # carried over from Joanne's history
        ("street", "1 Old Road"),  # Jo's, lost to Joanne's verified profile
        ("city", "Leeds"),  # J Bloggs's, lost to the verified profile
    }
    name = {c.pk: c.name for c in world.values()}  # as they were before the merges
    by_pair = {
        frozenset((name[r.customer_a_id], name[r.customer_b_id])): r.status
        for r in MatchReview.objects.all()
    }
    assert by_pair == {
        frozenset(("Jo Bloggs", "Joanne Bloggs")): "merged",
        frozenset(("Joanne Bloggs", "J Bloggs")): "obsolete",
        frozenset(("J Bloggs", "Ola Nordmann")): "obsolete",
        frozenset(("Jo Bloggs", "Ola Nordmann")): "pending",
        frozenset(("Samuel Lee", "Sam Lee")): "merged",
        frozenset(("Samuel Lee", "Ola Nordmann")): "not_same",
    }


def test_bulk_merge_then_unmerge_newest_first_restores_every_row(
    site: Site, agent: User, supervisor: User, departments: dict[str, Department]
) -> None:
    world = _world(site, agent, departments)
    before = snapshot(*world.values())
    reviews_before = sorted(MatchReview.objects.values_list("customer_a", "customer_b", "status"))

    result = services.merge_clusters(_clusters(world), by=None, reason="linkage run 7")
    assert len(result.merges) == 3
    assert snapshot(*world.values()) != before
    assert Customer.objects.filter(merged_into__isnull=False).count() == 3
    for merge in reversed(result.merges):
        services.unmerge(merge=merge, by=supervisor, reason="wrong")

    assert snapshot(*world.values()) == before
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
    # merged reviews became obsolete (may be suggested again); the others are as they were
    after = sorted(MatchReview.objects.values_list("customer_a", "customer_b", "status"))
    changed = {(a, b) for (a, b, s), (_, _, t) in zip(reviews_before, after, strict=True) if s != t}
    assert len(changed) == 4  # two merged, two obsoleted by the merges
    assert Event.objects.filter(kind="customer_unmerged").count() == 3


def _people(n: int) -> Clusters:
    """n clusters of three records, each with identifiers (one shared), a case and an event."""
    clusters: Clusters = []
    for i in range(n):
        records = [
            services.create_customer(
                name=f"Person{i} Family", email=f"p{i}@example.com", phone=f"01632 96{i:04d}"
            )
            for _ in range(3)
        ]
        for r in records:
            record_event(customer_id=r.pk, kind="message", summary=f"hello from {i}")
        clusters.append((records[0], [(records[1], 0.999), (records[2], None)]))
    return clusters


def test_bulk_merge_queries_do_not_grow_with_the_number_of_merges(db: None) -> None:
    small, large = _people(2), _people(12)
    with CaptureQueriesContext(connection) as few:
        assert len(services.merge_clusters(small, by=None, reason="run").merges) == 4
    with CaptureQueriesContext(connection) as many:
        assert len(services.merge_clusters(large, by=None, reason="run").merges) == 24
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]
    # one UPDATE per table that points at customers, plus a fixed few
    assert len(few) <= 15 + len(merging.relations()), len(few)
    # and by chunks: three chunks of four records, three times the statements
    more = _people(6)
    with CaptureQueriesContext(connection) as chunked:
        services.merge_clusters(more, by=None, reason="run", chunk_size=4)
    assert len(chunked) == 3 * len(few)


def test_records_already_merged_are_skipped_with_the_reason(db: None, agent: User) -> None:
    (s1, [(a1, _), (b1, _)]), (s2, [(a2, _), (b2, _)]), (s3, [(a3, _), _]) = _people(3)
    services.merge_customers(survivor=s3, absorbed=a1, by=None, reason="earlier")
    services.merge_customers(survivor=s3, absorbed=s2, by=None, reason="earlier")

    result = services.merge_clusters(
        [(s1, [(a1, 0.99), (b1, 0.99)]), (s2, [(a2, None)]), (a3, [(b2, None)])],
        by=None,
        reason="run",
    )

    assert [(m.survivor_id, m.absorbed_id) for m in result.merges] == [
        (s1.pk, b1.pk),
        (a3.pk, b2.pk),
    ]
    skipped = {s.absorbed_id: s.reason for s in result.skipped}
    assert skipped.keys() == {a1.pk, a2.pk}
    assert f"({a1.pk}) was already merged into '{s3.pk}'" in skipped[a1.pk]
    assert f"({s2.pk}) was already merged into '{s3.pk}'" in skipped[a2.pk]  # its survivor
    assert Customer.objects.get(pk=a2.pk).merged_into_id is None
    # callers' mistakes are refused before anything is written
    with pytest.raises(InvalidInput, match="more than one place"):
        services.merge_clusters([(s1, [(b2, None)]), (b2, [(a2, None)])], by=None, reason="x")
    with pytest.raises(InvalidInput, match="reason"):
        services.merge_clusters([(s1, [(a2, None)])], by=None, reason=" ")
    with pytest.raises(PermissionDenied):
        services.merge_clusters([(s1, [(a2, None)])], by=agent, reason="x")
    assert Customer.objects.get(pk=a2.pk).merged_into_id is None


def test_a_unique_clash_falls_back_to_single_merges_with_their_exact_error(site: Site) -> None:
    # Two records of one person each have an open chat from the same visitor: merging both
    # into one survivor would give it two open chats from that visitor.
    (s1, [(a1, _), (b1, _)]), (s2, [(a2, _), (b2, _)]) = _people(2)
    prop = create_web_property(name="Shop", site_code="lon")
    now = timezone.now()
    for c in (a1, b1):
        Chat.objects.create(
            web_property=prop,
            visitor_id="v-9",
            customer=c,
            status="waiting",
            about="hi",
            started_at=now,
            last_message_at=now,
        )

    result = services.merge_clusters(
        [(s1, [(a1, None), (b1, None)]), (s2, [(a2, None), (b2, None)])], by=None, reason="run"
    )

    assert [m.absorbed_id for m in result.merges] == [a1.pk, a2.pk, b2.pk]
    assert [s.absorbed_id for s in result.skipped] == [b1.pk]
    assert "clash" in result.skipped[0].reason
    assert Chat.objects.get(customer=b1).status == "waiting"  # nothing of b1 moved
    assert Customer.objects.get(pk=b1.pk).merged_into_id is None
