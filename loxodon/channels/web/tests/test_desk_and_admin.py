"""The visit on the agent's desk, the staff API, the commands and retention."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from loxodon.channels.web.models import WebHit, WebProperty, WebVisit, WebVisitor
from loxodon.channels.web.services import purge_anonymous_activity
from loxodon.channels.web.tests.conftest import Beacon, hit, token_for
from loxodon.core.testing import Api
from loxodon.org.models import Site, User
from loxodon.org.services import create_api_token, create_staff


def test_the_desk_customer_page_shows_the_visit_compactly(
    beacon: Beacon, shop: WebProperty, agent: User, customer: dict[str, Any], settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    start = timezone.now() - timedelta(minutes=15)
    beacon.hits(
        [
            hit(at=start, url="https://shop.example.com/latitude", title="Latitude 7440"),
            hit("search", at=start + timedelta(minutes=1), query="battery <b>"),
            hit(
                "configuration",
                at=start + timedelta(minutes=2),
                product="Latitude 7440",
                options={"ram": "32 GB"},
            ),
            hit(at=start + timedelta(minutes=3), url="javascript:alert(1)", title="Odd page"),
        ],
        identity=token_for(shop, email="jo.bloggs@example.com"),
    )
    desk = Client()
    desk.force_login(agent)
    response = desk.get(f"/desk/customers/{customer['id']}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Web visit · 2 pages · searched &#x27;battery &lt;b&gt;&#x27; · configured Latitude 7440"
        in html
    )
    assert '<a href="https://shop.example.com/latitude" rel="noopener noreferrer nofollow"' in html
    assert 'href="javascript:' not in html
    assert "Odd page" in html
    assert "ram 32 GB" in html
    assert "battery &lt;b&gt;" in html


def test_staff_api_lists_properties_for_admins_only(
    shop: WebProperty, api: Api, site: Site
) -> None:
    create_staff(username="root", role="admin", site=site)
    admin = Api(create_api_token(username="root"))
    response = admin.get("/channels/web/properties")
    assert response.status_code == 200, response.content
    (listed,) = response.json()
    assert listed == {
        "id": str(shop.pk),
        "name": "Shop",
        "site": "lon",
        "public_key": shop.public_key,
        "allowed_origins": ["https://shop.example.com"],
        "active": True,
    }
    assert shop.identity_secret not in response.content.decode()
    assert api.get("/channels/web/properties").status_code == 403
    assert Api(None).get("/channels/web/properties").status_code == 401


def test_create_web_property_prints_key_and_secret(site: Site) -> None:
    out = StringIO()
    call_command(
        "create_web_property",
        "Shop",
        "--site",
        "lon",
        "--origin",
        "https://Shop.Example.com/",
        "--origin",
        "https://www.example.com",
        stdout=out,
    )
    prop = WebProperty.objects.get()
    assert f"public key:      {prop.public_key}" in out.getvalue()
    assert f"identity secret: {prop.identity_secret}" in out.getvalue()
    assert prop.public_key.startswith("pk_")
    assert prop.allowed_origins.splitlines() == [
        "https://shop.example.com",
        "https://www.example.com",
    ]
    with pytest.raises(CommandError, match="not an origin"):
        call_command("create_web_property", "Blog", "--origin", "shop.example.com/path")
    with pytest.raises(CommandError, match="no site"):
        call_command("create_web_property", "Blog", "--site", "nowhere")


def test_anonymous_activity_is_purged_after_the_retention_period(
    beacon: Beacon, shop: WebProperty, customer: dict[str, Any]
) -> None:
    beacon.hits([hit()])  # anonymous
    Beacon(shop).send(
        beacon.body([hit()], identity=token_for(shop, email="jo.bloggs@example.com"))
        | {"visitor": "known-0123456789abcdef"}
    )
    assert purge_anonymous_activity(older_than_days=90) == 0  # both seen just now
    later = timezone.now() + timedelta(days=91)
    assert purge_anonymous_activity(older_than_days=90, now=later) == 1
    (kept,) = WebVisitor.objects.all()
    assert kept.customer_id is not None
    assert WebVisit.objects.count() == 1 and WebHit.objects.count() == 1
    out = StringIO()
    call_command("purge_web_activity", "--days", "1", stdout=out)
    assert "deleted 0 anonymous visitors" in out.getvalue()
