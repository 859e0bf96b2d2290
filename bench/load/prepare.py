"""The load test's database: the demo organisation at a chosen size, agent accounts, two heavy
customers, and the ids the simulated agents visit.

Written once per database and reused: `loxodon migrate`, `loxodon seed_demo` (through the
services, on SQLite or PostgreSQL alike: sites, departments, staff, customers with identities,
a long-tailed timeline, installed products, cases in every status with tasks and notes, the
knowledge base), then `loxodon shell` scripts (below) that

- create the agents `load-agent-001` ... through `create_staff` (agent role, spread over the
  demo's sites and departments, so their site and department queues have work in them);
- give the two customers with the most events 10,000 more each through `ingest_events`, the
  service behind the batch API (the demo's tail stops at a few hundred events per customer);
- write the sample: customer ids (typical and heavy), case ids (any, and not finished, for
  notes), search terms (names, emails, phone numbers, case numbers).

A marker file records what was prepared; a database without a matching marker is rebuilt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.config import loxodon_command
from bench.loader import log

AGENT_PREFIX = "load-agent-"
HEAVY_EXTRA_EVENTS = 10_000
HEAVY_CUSTOMERS = 2

SHELL_AGENTS = """
import os
from loxodon.org.models import Department, Role, Site, User
from loxodon.org.services import create_staff
wanted = int(os.environ["LOAD_AGENTS"])
prefix = os.environ["LOAD_AGENT_PREFIX"]
sites = list(Site.objects.order_by("code"))
departments = list(Department.objects.order_by("code"))
have = set(User.objects.filter(username__startswith=prefix).values_list("username", flat=True))
for i in range(1, wanted + 1):
    username = f"{prefix}{i:03d}"
    if username not in have:
        create_staff(
            username=username, role=Role.AGENT, site=sites[i % len(sites)],
            department=departments[i % len(departments)],
            first_name="Load", last_name=f"Agent {i:03d}",
            email=f"{username}@staff.loxodon.example",
        )
"""

SHELL_HEAVY = """
import os
from datetime import timedelta
from django.db.models import Count
from django.utils import timezone
from loxodon.customers.models import Customer
from loxodon.timeline.services import EventDraft, ingest_events
extra, count = int(os.environ["LOAD_HEAVY_EXTRA"]), int(os.environ["LOAD_HEAVY_COUNT"])
heavy = list(
    Customer.objects.filter(merged_into__isnull=True)
    .annotate(n=Count("events")).order_by("-n", "id").values_list("id", flat=True)[:count]
)
now = timezone.now()
kinds = (("email", "message", "Email: where is my parcel?"), ("chat", "chat", "Chat with support"))
for h, customer_id in enumerate(heavy):
    for start in range(0, extra, 1000):
        drafts = []
        for n in range(start, min(start + 1000, extra)):
            channel, kind, summary = kinds[n % 2]
            drafts.append(EventDraft(
                source="load-heavy", external_id=f"{customer_id}-{n}", channel=channel,
                kind=kind, occurred_at=now - timedelta(minutes=n * 97 + h), summary=summary,
                body="Hello, I am still waiting for my order. Could you tell me when it comes?",
                customer_id=customer_id,
            ))
        ingest_events(drafts)
"""

SHELL_SAMPLE = """
import json, os, random
from django.db.models import Count
from loxodon.cases.models import Case, CaseStatus
from loxodon.customers.models import Customer, Identity
from loxodon.org.models import User
rng = random.Random(int(os.environ["LOAD_SEED"]))
count = int(os.environ["LOAD_HEAVY_COUNT"])
live = Customer.objects.filter(merged_into__isnull=True)
heavy = [str(c) for c in live.annotate(n=Count("events")).order_by("-n", "id")
         .values_list("id", flat=True)[:count]]
ids = [str(c) for c in live.order_by("id").values_list("id", flat=True)]
typical = [c for c in ids if c not in set(heavy)]
cases = [str(c) for c in Case.objects.order_by("id").values_list("id", flat=True)]
finished = (CaseStatus.RESOLVED_CONFIRMED, CaseStatus.CLOSED_UNCONFIRMED)
open_cases = [str(c) for c in Case.objects.exclude(status__in=finished)
              .order_by("id").values_list("id", flat=True)]
some = rng.sample(typical, min(1000, len(typical)))
names = list(Customer.objects.filter(id__in=some[:400]).values_list("name", flat=True))
contacts = list(Identity.objects.filter(customer_id__in=some[400:], kind__in=("email", "phone"))
                .values_list("value", flat=True)[:500])
terms = [n for n in names if n] + contacts + rng.sample(cases, min(100, len(cases)))
sample = {
    "agents": sorted(User.objects.filter(username__startswith=os.environ["LOAD_AGENT_PREFIX"])
                     .values_list("username", flat=True)),
    "customers": rng.sample(typical, min(3000, len(typical))),
    "heavy_customers": heavy,
    "heavy_events": [Customer.objects.get(pk=c).events.count() for c in heavy],
    "cases": rng.sample(cases, min(3000, len(cases))),
    "open_cases": rng.sample(open_cases, min(2000, len(open_cases))),
    "search_terms": terms,
    "counts": {"customers": len(ids), "cases": len(cases), "open_cases": len(open_cases)},
}
with open(os.environ["LOAD_SAMPLE_OUT"], "w", encoding="utf-8") as f:
    json.dump(sample, f)
"""

SHELL_SET_LOGINS = """
import os
from django.contrib.auth.hashers import make_password
from loxodon.org.models import User
# One hash for every load agent: hashing 200 passwords would take a minute; each agent still
# signs in with its own account and session, and the server checks the hash at each sign-in.
User.objects.filter(username__startswith=os.environ["LOAD_AGENT_PREFIX"]).update(
    password=make_password(os.environ["LOAD_PASSWORD"])
)
"""


@dataclass(frozen=True)
class Fixture:
    database: str
    customers: int
    events: int
    seed: int
    agents: int
    heavy_customers: int = HEAVY_CUSTOMERS
    heavy_extra_events: int = HEAVY_EXTRA_EVENTS


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = "loxodon.settings"
    env["LOXODON_TASKS_IMMEDIATE"] = "0"
    env.update(extra)
    return env


def loxodon(database_url: str, *args: str, **env: str) -> None:
    subprocess.run(
        [*loxodon_command(), *args],
        env=_env(database_url, **env),
        check=True,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )


def _shell(database_url: str, script: str, **env: str) -> None:
    loxodon(database_url, "shell", "-v", "0", "-c", script, **env)


def migrations_pending(database_url: str) -> bool:
    done = subprocess.run(
        [*loxodon_command(), "migrate", "--check"],
        env=_env(database_url),
        capture_output=True,
    )
    return done.returncode != 0


def prepared(marker: Path, sample: Path, fixture: Fixture, database_url: str) -> bool:
    """True when the database holds exactly this fixture and no migration is pending."""
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded == asdict(fixture) and sample.exists() and not migrations_pending(database_url)


def prepare(database_url: str, fixture: Fixture, marker: Path, sample: Path) -> None:
    """Build the fixture into an EMPTY database (the caller made it empty)."""
    marker.unlink(missing_ok=True)
    log(f"load fixture: migrate, seed_demo {fixture.customers} customers / {fixture.events} events")
    loxodon(database_url, "migrate", "--noinput", "-v", "0")
    loxodon(
        database_url,
        "seed_demo",
        "--customers",
        str(fixture.customers),
        "--events",
        str(fixture.events),
        "--seed",
        str(fixture.seed),
        "-v",
        "0",
    )
    log(f"load fixture: {fixture.agents} agent accounts")
    _shell(
        database_url,
        SHELL_AGENTS,
        LOAD_AGENTS=str(fixture.agents),
        LOAD_AGENT_PREFIX=AGENT_PREFIX,
    )
    log(f"load fixture: {fixture.heavy_extra_events} more events for each of 2 customers")
    _shell(
        database_url,
        SHELL_HEAVY,
        LOAD_HEAVY_EXTRA=str(fixture.heavy_extra_events),
        LOAD_HEAVY_COUNT=str(fixture.heavy_customers),
    )
    write_sample(database_url, fixture, sample)
    marker.write_text(json.dumps(asdict(fixture)))


def write_sample(database_url: str, fixture: Fixture, sample: Path) -> None:
    _shell(
        database_url,
        SHELL_SAMPLE,
        LOAD_SEED=str(fixture.seed),
        LOAD_HEAVY_COUNT=str(fixture.heavy_customers),
        LOAD_AGENT_PREFIX=AGENT_PREFIX,
        LOAD_SAMPLE_OUT=str(sample),
    )


def set_agent_password(database_url: str, password: str) -> None:
    """A fresh random password for every load agent (travels in the environment)."""
    _shell(database_url, SHELL_SET_LOGINS, LOAD_AGENT_PREFIX=AGENT_PREFIX, LOAD_PASSWORD=password)


def read_sample(sample: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sample.read_text())
    return data
