"""The demo's standards seed cleanly, twice."""

from __future__ import annotations

import random

from django.utils import timezone

from loxodon.demo.standards import seed_standards
from loxodon.demo.world import DemoWorld
from loxodon.org.models import Site, User
from loxodon.org.services import create_site, create_staff
from loxodon.sla.models import BusinessHours, Holiday, ServiceStandard
from loxodon.sla.selectors import calendar_for


def test_seed_standards_is_idempotent(db: None) -> None:
    sites = {
        "london-city": create_site(code="london-city", name="London", time_zone="Europe/London"),
        "glasgow": create_site(code="glasgow", name="Glasgow", time_zone="Europe/London"),
        "dublin": create_site(
            code="dublin", name="Dublin", time_zone="Europe/Dublin", country="IE"
        ),
    }
    admin: User = create_staff(username="admin", role="admin")
    world = DemoWorld(rng=random.Random(1), seed=1, now=timezone.now(), sites=sites)
    world.staff["admin"] = admin
    first = seed_standards(world)
    assert seed_standards(world) == first
    assert ServiceStandard.objects.filter(site__isnull=True).count() == 4
    assert ServiceStandard.objects.filter(
        site__code="london-city", reassign_on_breach=True
    ).exists()
    assert BusinessHours.objects.filter(site__isnull=True).count() == 5
    glasgow = calendar_for(Site.objects.get(code="glasgow"))
    assert 5 in glasgow.hours and len(glasgow.holidays) > 10
    dublin = calendar_for(Site.objects.get(code="dublin"))
    assert 5 not in dublin.hours and dublin.time_zone == "Europe/Dublin"
    assert Holiday.objects.filter(site__code="dublin").count() == 0
