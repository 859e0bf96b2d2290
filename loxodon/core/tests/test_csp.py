"""The Content-Security-Policy is enforced on every HTML page (issue 10, item 10).

Every page the URL configuration can reach without arguments, plus the pages of one customer,
case, article and chat, is fetched as an admin, as a signed-in portal customer and anonymously:
each HTML answer carries the enforcing header with `script-src 'self'` and nothing looser. And no
template or static page may bring inline script or inline event handlers back (they would be
refused by the browser and break the page)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from loxodon.cases.services import open_case
from loxodon.customers.services import create_customer
from loxodon.knowledge.models import Audience
from loxodon.knowledge.services import create_article
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_staff
from loxodon.portal.tests.picture_fixtures import make_person

ROOT = Path(__file__).resolve().parents[2]  # the loxodon package
LOOSE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:")


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_enforced(response: Any, where: str) -> None:
    header = response.get("Content-Security-Policy")
    assert header, f"{where}: no Content-Security-Policy header"
    policy = directives(header)
    scripts = policy.get("script-src") or policy.get("default-src")
    assert scripts, f"{where}: no script-src: {header}"
    assert not set(scripts) & set(LOOSE), f"{where}: script-src is loose: {scripts}"
    assert policy.get("object-src", policy.get("default-src")) in (["'none'"], ["'self'"]), where
    if "sandbox" not in policy:  # downloads are sandboxed with default-src 'none' instead
        assert policy.get("frame-ancestors") == ["'none'"], f"{where}: {header}"
        assert policy.get("base-uri") in (["'self'"], ["'none'"]), f"{where}: {header}"


def plain_paths() -> list[str]:
    """Every URL pattern without parameters, as a path (admin and API routes left out: the admin
    is Django's own and the API answers JSON; its docs page is checked on its own below)."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern) and "<" not in route and not route.startswith("^"):
                found.append("/" + prefix + route)

    walk(get_resolver().url_patterns, "")
    return sorted(
        {p for p in found if not p.startswith(("/admin/", "/api/")) and "logout" not in p}
    )


@pytest.fixture
def world(site: Site, departments: dict[str, Department], supervisor: User) -> dict[str, Any]:
    admin = create_staff(
        username="ada",
        first_name="Ada",
        last_name="Admin",
        role="admin",
        site=site,
        department=departments["support-hardware"],
    )
    person = make_person("Pat Portal", "pat@example.com")
    case = open_case(
        customer=person.customer, problem="Printer jams", actor=supervisor, owner=supervisor
    )
    article = create_article(
        by=supervisor, title="Clearing a jam", body="Open the tray.", audience=Audience.PUBLIC
    )
    other = create_customer(name="Olive Other", email="olive@example.com", verified=True)
    return {"admin": admin, "person": person, "case": case, "article": article, "other": other}


def test_every_html_page_carries_the_enforcing_policy(world: dict[str, Any]) -> None:
    staff = Client()
    staff.force_login(world["admin"])
    portal = world["person"].client
    anonymous = Client()
    case, person = world["case"], world["person"]
    paths = [
        *plain_paths(),
        f"/desk/customers/{person.customer.pk}/",
        f"/desk/customers/{world['other'].pk}/",
        f"/desk/cases/{case.pk}/",
        f"/desk/kb/{world['article'].slug}/",
        f"/desk/kb/{world['article'].slug}/versions/",
        f"/portal/cases/{case.pk}/",
        f"/portal/help/{world['article'].slug}/",
        "/desk/cases/00000000-0000-0000-0000-000000000000/",  # a 404 page
        "/portal/no-such-page/",
        "/api/v1/docs",
    ]
    html_pages = 0
    for client, who in ((staff, "admin"), (portal, "portal"), (anonymous, "anonymous")):
        for path in paths:
            response = client.get(path)
            where = f"{who} GET {path} -> {response.status_code}"
            if response.get("Content-Type", "").startswith("text/html"):
                html_pages += 1
            # every answer, HTML or not, redirect or error, carries the policy
            assert_enforced(response, where)
            assert "Content-Security-Policy-Report-Only" not in response, where
    assert len(paths) > 40, paths  # the walk found the app's pages
    assert html_pages > 60, html_pages


def test_the_api_docs_page_loads_swagger_from_our_own_static_files(client: Client) -> None:
    page = client.get("/api/v1/docs")
    assert_enforced(page, "docs")
    html = page.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    for attributes, content in scripts:
        if "application/json" in attributes:
            continue  # data, not script: the browser never runs it
        assert 'src="/static/' in attributes, attributes  # no CDN
        assert not content.strip(), content  # no inline script
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def test_no_template_has_inline_script_or_event_handlers() -> None:
    offenders: list[str] = []
    templates = [p for p in ROOT.rglob("templates/**/*.html") if "/tests/" not in str(p)]
    for path in templates:
        text = path.read_text()
        for rule in (INLINE_SCRIPT, INLINE_HANDLER, JS_URL):
            for match in rule.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)[:60]}")
        if re.search(r"\bhx-on[:-]|\bhx-vals=['\"]\s*(?:js|javascript):", text):
            offenders.append(f"{path.relative_to(ROOT)}: htmx code in an attribute (needs eval)")
    assert len(templates) > 100, len(templates)
    assert not offenders, "\n".join(offenders)
