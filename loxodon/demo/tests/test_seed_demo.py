"""The demo loader: one small demo is seeded for the module (through the command, as `make demo`
does), then each test checks one promise against it inside its own rolled-back transaction."""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker, Settings

from loxodon.cases.models import Case, CaseStatus, Handoff, Task, TaskStatus
from loxodon.channels.chat.models import Chat
from loxodon.channels.email.models import InboundMail
from loxodon.channels.email.services import stored_text
from loxodon.channels.voice.models import VoiceIntegration
from loxodon.channels.web.models import WebProperty
from loxodon.core.event_types import Channel
from loxodon.customers.models import Account, Customer, Identity, MatchReview, Merge
from loxodon.demo import centres
from loxodon.demo.activity import event_counts
from loxodon.demo.stories import find_story_customers
from loxodon.org.models import ApiToken, Department, Role, Site, User
from loxodon.timeline.models import Asset, Event

pytestmark = pytest.mark.django_db

SMALL = ("--customers", "60", "--events", "2000")
KINDS = {
    "message", "call", "chat", "visit", "web_visit", "web_search", "web_configuration",
    "survey", "order", "return", "shipment", "warranty", "invoice",
}  # fmt: skip
# The demo password is public; hashing it 60 times with the production hasher would take ~15 s.
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def seeded(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    out = StringIO()
    spool = str(tmp_path_factory.mktemp("demo-mail"))
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER, LOXODON_MAIL_SPOOL=spool),
    ):
        call_command("seed_demo", *SMALL, stdout=out)
        yield out.getvalue()
        call_command("flush", interactive=False, verbosity=0)


def story_customer(name: str) -> Customer:
    return Customer.objects.get(name=name, identities__kind="account_number")


def counts() -> dict[str, int]:
    models = (Site, Department, User, Account, Customer, Identity, Event, Asset, Case, Task)
    return {m.__name__: m.objects.count() for m in models} | {"Handoff": Handoff.objects.count()}


def test_the_organisation_looks_real(seeded: str) -> None:
    assert "Loaded the demo" in seeded
    assert Site.objects.count() == 120
    zones = set(Site.objects.values_list("time_zone", flat=True))
    assert {"Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin"} <= zones
    assert set(Department.objects.values_list("code", flat=True)) == {
        "sales-business", "sales-consumer", "finance", "support-software", "support-hardware",
        "parts", "warranty",
    }  # fmt: skip
    staff = User.objects.all()
    assert staff.count() == 60
    assert {u.role for u in staff} == {Role.AGENT, Role.SUPERVISOR, Role.ADMIN}
    assert User.objects.get(username="agent").department.code == "support-hardware"  # type: ignore[union-attr]
    assert all(
        u.check_password("loxodon-demo")
        for u in User.objects.filter(username__in=["admin", "agent"])
    )


def test_customers_accounts_and_identities(seeded: str) -> None:
    # 60 planned customers, the anonymous visitor chatting on the shop, and story 4's twelve
    # centre records, six of which linkage merged away
    assert Customer.objects.count() == 61 + len(centres.RECORDS)
    assert Customer.objects.filter(merged_into__isnull=True).count() == 67
    assert Customer.objects.filter(name__startswith="Web visitor").count() == 1
    business = Customer.objects.filter(account__isnull=False).count()
    assert 6 <= business <= 16  # about 15%, plus the Northwind contacts
    # the planned accounts carry their context; the centres' imported firms have only a name
    imported = {r.company for r in centres.RECORDS if r.company}
    planned = Account.objects.exclude(name__in=imported | {"Northwind Haulage Ltd"})
    assert planned.exists()
    for account in planned:
        assert account.industry and account.key_contacts, account.name
        assert set(account.key_contacts[0]) == {"name", "role", "email", "phone"}
    phones = list(Identity.objects.filter(kind="phone").values_list("value", flat=True))
    assert len(phones) == len(set(phones)) > 40
    assert all(p.startswith("+44") for p in phones)
    numbers = (
        Identity.objects.filter(kind="account_number")
        .exclude(source__startswith="import:")  # the centres' own numbering (story 4)
        .values_list("value", flat=True)
    )
    assert all(re.fullmatch(r"AC\d{6}", n) for n in numbers)


def test_every_channel_kind_and_case_status_is_there(seeded: str) -> None:
    assert set(Event.objects.values_list("channel", flat=True).distinct()) >= set(Channel.ALL)
    assert set(Event.objects.values_list("kind", flat=True).distinct()) >= KINDS
    assert set(Case.objects.values_list("status", flat=True).distinct()) == set(CaseStatus.values)
    assert Case.objects.filter(reopen_count__gt=0).exists() or Case.objects.count() < 20
    assert Asset.objects.filter(refurbished=True, os__startswith="Windows 7").exists()


def test_cases_happened_over_time_not_all_today(seeded: str) -> None:
    now = timezone.now()
    stories = {c for _, c in find_story_customers() if c is not None}
    finished = Case.objects.filter(status=CaseStatus.RESOLVED_CONFIRMED).exclude(
        customer__in=stories
    )
    assert finished.filter(created_at__lt=now - timedelta(days=14)).exists()
    for case in finished[:20]:
        confirmed = Event.objects.get(case=case, kind="confirmation")
        assert case.created_at < confirmed.occurred_at <= now  # took time, never in the future
    assert not Event.objects.filter(occurred_at__gt=now).exists()
    still_open = Case.objects.filter(status=CaseStatus.OPEN).exclude(customer__in=stories)
    assert all(c.created_at > now - timedelta(days=21) for c in still_open)


def test_channels_are_wired_and_carry_live_traffic(seeded: str) -> None:
    shop = WebProperty.objects.get()
    assert shop.active and shop.public_key.startswith("pk_")
    assert VoiceIntegration.objects.filter(active=True).count() == 1
    daniel = Customer.objects.get(identities__value="AC100002")
    call = Event.objects.get(customer=daniel, kind="call", source__startswith="voice:")
    assert call.payload["verified"] is True and "routed to" in call.summary
    priya = Customer.objects.get(identities__value="AC100001")
    visit = Event.objects.get(customer=priya, kind="web_visit", source__startswith="web:")
    assert "configured ProBook 450 G10" in visit.summary
    assert {c.status for c in Chat.objects.all()} == {"waiting", "active"}
    answered = Chat.objects.get(status="active")
    assert answered.customer.identities.filter(kind="email", verified=True).exists()
    # a forged "Daniel" (DMARC fail at our mail server) waits for staff, on no timeline
    (held,) = InboundMail.objects.filter(status="quarantined")
    assert "daniel.okafor@example.com" in held.from_address
    assert held.event_id is None and "refunds@mail.example.net" in stored_text(held)
    assert not Event.objects.filter(body__icontains="refunds@mail.example.net").exists()


def test_activity_is_skewed_over_two_years(seeded: str) -> None:
    per_customer = list(
        Event.objects.filter(source="demo")
        .values("customer")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert 2000 <= sum(per_customer) <= 2010  # the asked-for number, plus Margaret's live call
    assert max(per_customer) >= 5 * statistics.median(per_customer)
    oldest = Event.objects.order_by("occurred_at").first()
    newest = Event.objects.order_by("-occurred_at").first()
    assert oldest is not None and newest is not None
    assert 600 <= (newest.occurred_at - oldest.occurred_at).days <= 731


def test_story_1_web_configuration_then_a_call_and_one_owned_case(seeded: str) -> None:
    priya = story_customer("Priya Raman")
    assert priya.account is not None and priya.account.name == "Northwind Haulage Ltd"
    assert priya.identities.filter(kind="account_number", value="AC100001").exists()
    config = Event.objects.get(customer=priya, kind="web_configuration")
    assert config.channel == "web"
    assert config.payload["configuration"] == "ProBook 450 G10, 32GB, 1TB"
    call = Event.objects.filter(customer=priya, channel="phone", kind="call").latest("occurred_at")
    assert config.occurred_at < call.occurred_at <= config.occurred_at + timedelta(minutes=60)
    (case,) = Case.objects.filter(customer=priya)
    assert case.status == CaseStatus.OPEN
    assert case.owner is not None and case.owner.username == "amelia.hughes"
    assert case.owner.department is not None and case.owner.department.code == "sales-business"
    assert {t.department.code for t in case.tasks.all()} == {"sales-consumer", "finance"}


def test_story_2_four_departments_one_owner(seeded: str) -> None:
    daniel = story_customer("Daniel Okafor")
    case = Case.objects.get(customer=daniel, problem="My laptop will not power on.")
    tasks = list(case.tasks.select_related("department"))
    assert len(tasks) == 4
    assert {t.department.code for t in tasks} == {
        "support-software", "support-hardware", "parts", "warranty",
    }  # fmt: skip
    assert {t.status for t in tasks} == {TaskStatus.DONE, TaskStatus.OPEN}
    assert case.status not in (CaseStatus.RESOLVED_CONFIRMED, CaseStatus.CLOSED_UNCONFIRMED)
    assert case.owner is not None and case.owner.username == "agent"
    assert not case.handoffs.exists()
    note_departments = set(
        Event.objects.filter(case=case, kind="note").values_list(
            "actor__department__code", flat=True
        )
    )
    assert len(note_departments) >= 3


def test_story_3_refurbished_windows_7_and_the_ivr(seeded: str) -> None:
    margaret = story_customer("Margaret Ellis")
    (laptop,) = Asset.objects.filter(customer=margaret)
    assert laptop.refurbished and "Windows 7" in laptop.os
    assert laptop.purchased_at and laptop.warranty_until
    assert Event.objects.filter(customer=margaret, channel="phone", kind="call").count() >= 2
    newest = Event.objects.filter(customer=margaret).latest("occurred_at")
    assert (newest.channel, newest.kind) == ("ivr", "call")
    assert newest.payload["account_number_entered"] == "AC100003"
    assert newest.payload["verified"] is True
    assert newest.payload["intent"] == "driver support"


def test_story4_centres_are_imported_and_linked(seeded: str) -> None:
    """Five centres' exports: Thomas's five records are one customer, his son waits for review."""
    thomas = Identity.objects.get(kind="legacy", value="leeds:L-1001").customer
    legacy = set(thomas.identities.filter(kind="legacy").values_list("value", flat=True))
    assert legacy == {f"{c}:{i}" for (c, i), who in centres.TRUTH.items() if who == centres.THOMAS}
    assert thomas.events.filter(kind="shipment").count() == 5
    assert Merge.objects.filter(method=Merge.Method.AUTOMATIC).count() == 6
    (pending,) = MatchReview.objects.filter(status=MatchReview.Status.PENDING)
    son = Identity.objects.get(kind="legacy", value="leeds:L-1002").customer
    assert {pending.customer_a_id, pending.customer_b_id} == {thomas.pk, son.pk}


def test_a_second_run_changes_nothing(seeded: str) -> None:
    before = counts()
    out = StringIO()
    call_command("seed_demo", *SMALL, stdout=out)
    assert f"Demo data already loaded (67 customers, {before['Event']} events)" in out.getvalue()
    assert "use --reset to reload" in out.getvalue()
    assert counts() == before


def test_reset_reloads_the_same_demo(seeded: str, settings: Settings) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHER
    # (an anonymous web visitor's name comes from the shop's fresh public key)
    people = Customer.objects.exclude(name__startswith="Web visitor")
    names = sorted(people.values_list("name", flat=True))
    before = counts()
    call_command("seed_demo", *SMALL, "--reset", verbosity=0, stdout=StringIO())
    assert sorted(people.values_list("name", flat=True)) == names
    assert counts() == before


def test_demo_logins_prints_a_working_token_and_the_story_urls(seeded: str) -> None:
    out = StringIO()
    call_command("demo_logins", "--host", "127.0.0.1", "--port", "8000", stdout=out)
    text = out.getvalue()
    for expected in (
        "http://127.0.0.1:8000/desk/",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/api/v1/docs",
        "loxodon-demo",
        "admin",
        "supervisor",
        "agent",
    ):
        assert expected in text
    token = re.search(r"lox_[A-Za-z0-9_\-]+", text)
    assert token is not None
    assert ApiToken.objects.filter(user__username="agent", name="demo").count() == 1
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token.group(0)}")
    sites = client.get("/api/v1/sites")
    assert sites.status_code == 200
    assert len(sites.json()) == 120
    for story, customer in find_story_customers():
        assert customer is not None
        url = f"/api/v1/customers/{customer.pk}/view"
        assert f"http://127.0.0.1:8000{url}" in text
        assert story.name in text
    priya = story_customer("Priya Raman")
    view = client.get(f"/api/v1/customers/{priya.pk}/view").json()
    assert view["account"]["name"] == "Northwind Haulage Ltd"


def test_demo_logins_without_demo_data_says_what_to_do(seeded: str) -> None:
    call_command("flush", interactive=False, verbosity=0)  # rolled back with the test
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_logins", stdout=StringIO())


def test_event_counts_add_up_with_a_long_tail() -> None:
    class P:
        business = False

    people = [P() for _ in range(1000)]
    got = event_counts(random.Random(1), people, 20_000)  # type: ignore[arg-type]
    assert sum(got) == 20_000
    assert min(got) >= 1
    assert statistics.median(got) < 15 < 150 < max(got)


def test_knowledge_base_for_story_3(seeded: str) -> None:
    from loxodon.knowledge.models import Article

    assert "knowledge articles" in seeded
    refurbished = Article.objects.get(slug="refurbished-computers")
    assert refurbished.is_policy and refurbished.audience == "public"
    assert refurbished.current is not None and refurbished.current.number == 2
    assert refurbished.versions.get(number=1).policy is None  # v1 was what departments quoted
    policy = refurbished.current.policy
    assert policy is not None
    os_rule = policy["parameters"][0]
    assert os_rule["key"] == "supported_os" and "Windows 7" not in os_rule["value"]
    assert Article.objects.filter(audience="internal").count() >= 3
    assert sum(a.is_stale() for a in Article.objects.filter(archived_at__isnull=True)) == 1
    assert Article.objects.filter(archived_at__isnull=False).count() == 1


def test_portal_logins_for_the_story_customers(seeded: str) -> None:
    from loxodon.insights.models import SurveyInvitation
    from loxodon.portal.models import PortalLogin

    out = StringIO()
    call_command("demo_logins", "--host", "127.0.0.1", "--port", "8000", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/portal/" in text
    assert "daniel.okafor@example.com" in text and "account admin" in text
    daniel = PortalLogin.objects.get(identity__value="daniel.okafor@example.com")
    assert daniel.customer.name == "Daniel Okafor" and daniel.password
    assert daniel.identity.verified and daniel.identity.customer_id == daniel.customer_id
    assert PortalLogin.objects.get(is_account_admin=True).customer.name == "Priya Raman"
    # story 5: he can rate the earlier sales experience from the portal
    sales = SurveyInvitation.objects.get(customer=daniel.customer, touchpoint="sales")
    assert sales.channel == "portal" and sales.about_event is not None
    # and his password signs him in to the portal (the demo password, as printed)
    client = Client()
    response = client.post(
        "/portal/sign-in/",
        {
            "method": "password",
            "pw-email": "daniel.okafor@example.com",
            "pw-password": "loxodon-demo",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert "Daniel" in client.get("/portal/").content.decode()
