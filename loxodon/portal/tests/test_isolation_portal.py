"""Isolation, proven by walking every route: customer A, signed in to the portal, asks for
customer B's things by id.

The routes are not listed by hand: every URL pattern of the `portal:` namespace and every path
operation of the Ninja API (`loxodon.api.api`) is enumerated, so a route added later is walked
too, and a route with a path parameter this test does not know how to fill fails it.

For each route with parameters, A asks with B's ids and with ids that exist nowhere, by GET
and POST (the API: the methods each operation accepts). Both answers must be 404 (or both 405:
the method is refused before any lookup), byte-identical in status and body, the B-id attempt
logged by `loxodon.portal.access`, and nothing written. Routes without parameters must never show
anything of B's, nor let a POST carrying B's ids in its form touch B's things. With A's portal
session the API never answers with B's data (401/403/404).
"""
# ruff: noqa: F811 (pytest fixtures imported from citations_fixtures are redefined as arguments)

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Model
from django.http import HttpResponseBase
from django.urls import URLPattern, get_resolver, reverse

from loxodon.api import api
from loxodon.cases.models import Case, Task
from loxodon.customers.models import Customer, Identity
from loxodon.insights.models import SurveyInvitation
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.citations_fixtures import (  # noqa: F401 (fixtures)
    category,
    fresh_search_caches,
    indexed,
    internal_article,
)
from loxodon.org.models import Department, User
from loxodon.portal.models import (
    Attachment,
    DataExport,
    Label,
    MagicLink,
    Nickname,
    Pin,
    PortalLogin,
)
from loxodon.portal.tests.export_fixtures import Everything, one_of_everything, portal_client
from loxodon.timeline.models import Asset, Event

pytestmark = pytest.mark.django_db

ACCESS_LOGGER = "loxodon.portal.access"
# `portal:case-action`'s actions (and a few that may come): each is walked with B's case.
CASE_ACTIONS = ("confirm", "not-fixed", "message", "pin", "unpin", "label", "unlabel", "reopen")
WRITE_MODELS: tuple[type[Model], ...] = (
    Customer,
    Identity,
    Case,
    Task,
    Event,
    Asset,
    Attachment,
    DataExport,
    Label,
    Pin,
    Nickname,
    PortalLogin,
    MagicLink,
    SurveyInvitation,
)
A_MARKER, B_MARKER = "ALPHAMARK", "ZEBRAMARK"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@dataclass
class World:
    a: Everything
    b: Everything
    internal_slug: str

    def b_secrets(self) -> list[str]:
        """Strings that would only be in a response that leaked B's data."""
        b = self.b
        return [
            B_MARKER,
            "bea@example.com",
            "Bea Bystander",
            *(
                str(x)
                for x in (
                    b.customer.pk,
                    b.case.pk,
                    b.task.pk,
                    b.message.pk,
                    b.order.pk,
                    b.asset.pk,
                    b.attachment.pk,
                    b.export.pk,
                    b.invitation.pk,
                )
            ),
        ]


@pytest.fixture
def world(
    agent: User,
    departments: dict[str, Department],
    internal_article: Article,
) -> World:
    a = one_of_everything(
        "Al Asker", "al@example.com", agent=agent, department=departments["parts"], marker=A_MARKER
    )
    b = one_of_everything(
        "Bea Bystander",
        "bea@example.com",
        agent=agent,
        department=departments["parts"],
        marker=B_MARKER,
    )
    return World(a=a, b=b, internal_slug=internal_article.slug)


def body(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return bytes(response.content)  # type: ignore[attr-defined]


def counts() -> dict[str, int]:
    return {m.__name__: m._default_manager.count() for m in WRITE_MODELS}


def b_state(world: World) -> tuple[Any, ...]:
    """B's things as they stand (anything A could change with a B id)."""
    b = world.b
    case = Case.objects.get(pk=b.case.pk)
    return (
        case.status,
        case.version,
        Event.objects.filter(customer=b.customer).count(),
        Event.objects.filter(case=b.case).count(),
        Pin.objects.filter(case=b.case).count(),
        Label.objects.filter(object_id__in=[b.case.pk, b.message.pk, b.asset.pk]).count(),
        list(Nickname.objects.filter(asset=b.asset).values_list("customer_id", "name")),
        Attachment.objects.filter(case=b.case).count(),
        SurveyInvitation.objects.get(pk=b.invitation.pk).used_at,
        DataExport.objects.get(pk=b.export.pk).downloaded_at,
    )


def is_placeholder(view: Callable[..., Any]) -> bool:
    """A view module not built yet (its docstring says so): it 404s without looking anything up."""
    module = sys.modules.get(getattr(view, "__module__", ""), None)
    return bool(module and (module.__doc__ or "").startswith("Placeholder"))


# --- the portal -----------------------------------------------------------------------------------


def portal_patterns() -> list[URLPattern]:
    """Every route under `portal:` (nested includes would have to be walked too: fail loudly)."""
    _, resolver = get_resolver().namespace_dict["portal"]
    patterns = []
    for entry in resolver.url_patterns:
        assert isinstance(entry, URLPattern), f"nested include under portal: {entry}; walk it"
        assert entry.name, f"unnamed portal route {entry.pattern}"
        patterns.append(entry)
    return patterns


def parameters(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.converters)


def portal_values(
    world: World, pattern: URLPattern
) -> Iterator[tuple[dict[str, str], dict[str, str], str | None]]:
    """(B's values, values that exist nowhere, the B id whose attempt must be logged)."""
    b = world.b
    objects = {
        "case_id": b.case.pk,
        "attachment_id": b.attachment.pk,
        "asset_id": b.asset.pk,
        "export_id": b.export.pk,
        "invitation_id": b.invitation.pk,
        "event_id": b.message.pk,
        "task_id": b.task.pk,
        "label_id": b.label.pk,
        "pin_id": b.pin.pk,
        "nickname_id": b.nickname.pk,
        "customer_id": b.customer.pk,
    }
    names = parameters(pattern)
    unknown = set(names) - set(objects) - {"slug", "action"}
    assert not unknown, (
        f"portal:{pattern.name} has path parameters {sorted(unknown)} this test cannot fill: "
        "add B's object for them to `portal_values`"
    )
    for action in CASE_ACTIONS if "action" in names else (None,):
        theirs: dict[str, str] = {}
        nowhere: dict[str, str] = {}
        logged: str | None = None
        for name in names:
            if name == "action":
                theirs[name] = nowhere[name] = str(action)
            elif name == "slug":  # the help centre: an internal article is no article
                theirs[name], nowhere[name] = world.internal_slug, "no-such-article-anywhere"
            else:
                theirs[name], nowhere[name] = str(objects[name]), str(uuid.uuid4())
                logged = logged or theirs[name]
        yield theirs, nowhere, logged


def post_data(world: World, kind: str) -> dict[str, str]:
    """A form naming B's things in every field a portal form might read."""
    b = world.b
    return {
        "kind": kind,
        "object_id": str({"case": b.case.pk, "event": b.message.pk, "asset": b.asset.pk}[kind]),
        "case_id": str(b.case.pk),
        "case": str(b.case.pk),
        "asset_id": str(b.asset.pk),
        "asset": str(b.asset.pk),
        "event_id": str(b.message.pk),
        "attachment_id": str(b.attachment.pk),
        "export_id": str(b.export.pk),
        "invitation_id": str(b.invitation.pk),
        "name": "taken",
        "label": "taken",
        "nickname": "taken",
        "body": "hello",
        "message": "hello",
        "problem": "hello",
        "reason": "hello",
        "satisfaction": "5",
        "effort": "1",
        "intent": "yes",
    }


def test_every_portal_route_answers_b_ids_as_no_such_id_logged_and_writes_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    walked: list[str] = []
    before_counts, before_b = counts(), b_state(world)
    for pattern in portal_patterns():
        if not parameters(pattern):
            continue
        name = f"portal:{pattern.name}"
        refused_by_lookup = False
        for theirs, nowhere, logged in portal_values(world, pattern):
            for method in ("get", "post"):
                client = portal_client(world.a.login)
                data = post_data(world, "case") if method == "post" else {}
                caplog.clear()
                with caplog.at_level(logging.WARNING, logger=ACCESS_LOGGER):
                    mine = getattr(client, method)(reverse(name, kwargs=theirs), data)
                attempt_logs = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
                none = getattr(client, method)(reverse(name, kwargs=nowhere), data)
                where = f"{method.upper()} {name} {theirs}"
                assert mine.status_code in (404, 405), (where, mine.status_code)
                assert mine.status_code == none.status_code, where
                assert body(mine) == body(none), where
                if mine.status_code == 404:
                    refused_by_lookup = True
                    if logged and not is_placeholder(pattern.callback):
                        assert any(logged in m and r"not theirs" in m for m in attempt_logs), (
                            f"{where}: B's id was refused but not logged by {ACCESS_LOGGER}"
                        )
                walked.append(where)
        assert refused_by_lookup, f"{name}: no method reached the lookup (all 405)"
    assert counts() == before_counts, "a request with B's ids (or none) wrote something"
    assert b_state(world) == before_b
    # every id-bearing route was walked (download, feedback answer, case, attachment, …)
    assert any("portal:my-data-download" in w for w in walked)
    assert any("portal:feedback-answer" in w for w in walked)
    assert any("portal:case-action" in w for w in walked)


def test_portal_pages_without_ids_show_nothing_of_b_and_posts_naming_b_change_nothing_of_b(
    world: World,
) -> None:
    secrets = world.b_secrets()
    before_b = b_state(world)
    walked = []
    for pattern in portal_patterns():
        if parameters(pattern):
            continue
        url = reverse(f"portal:{pattern.name}")
        page = portal_client(world.a.login).get(url)
        assert page.status_code < 500, (url, page.status_code)
        content = body(page).decode(errors="replace")
        leaked = [s for s in secrets if s in content]
        assert not leaked, f"GET {url} shows B's {leaked}"
        for kind in ("case", "event", "asset"):
            response = portal_client(world.a.login).post(url, post_data(world, kind))
            assert response.status_code < 500, (url, kind, response.status_code)
            content = body(response).decode(errors="replace")
            leaked = [s for s in secrets if s in content]
            assert not leaked, f"POST {url} ({kind}) shows B's {leaked}"
        walked.append(url)
    assert b_state(world) == before_b, "a POST naming B's things changed them"
    assert reverse("portal:labels") in walked and reverse("portal:my-data") in walked


def test_a_sees_their_own_things_so_the_walk_is_not_vacuous(world: World) -> None:
    """The same session does reach A's own objects (the 404s above are not a broken login)."""
    client = portal_client(world.a.login)
    own = client.get(reverse("portal:my-data-download", args=[world.a.export.pk]))
    assert own.status_code == 200
    own_survey = client.get(reverse("portal:feedback-answer", args=[world.a.invitation.pk]))
    assert own_survey.status_code == 200


# --- the API -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRoute:
    methods: tuple[str, ...]
    path: str  # with {params}


def api_routes() -> list[ApiRoute]:
    """Every path operation of the Ninja API, from its (bound) routers."""
    root = reverse("api:api-root").rstrip("/")
    routes = []
    for router in api._get_bound_routers():
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                full = re.sub(r"/+", "/", f"{root}/{router.prefix}/{path}")
                routes.append(ApiRoute(tuple(operation.methods), full))
    assert len(routes) > 30, "the API's routes were not found"
    return routes


def api_values(world: World) -> dict[str, tuple[str, str]]:
    """Path parameter → (B's id, an id that exists nowhere). Ids of staff-side objects the
    customer never owns (merges, reviews, standards…) take one of B's ids: any id must fail."""
    b = world.b
    nowhere = str(uuid.uuid4())
    b_any = str(b.customer.pk)
    return {
        "customer_id": (str(b.customer.pk), nowhere),
        "case_id": (str(b.case.pk), nowhere),
        "task_id": (str(b.task.pk), nowhere),
        "message_id": (str(b.message.pk), nowhere),
        "chat_id": (str(b.message.pk), nowhere),
        "inbound_id": (b_any, nowhere),
        "merge_id": (b_any, nowhere),
        "review_id": (b_any, nowhere),
        "standard_id": (b_any, nowhere),
        "exception_id": (b_any, nowhere),
        # a survey link carries a secret token, never an id: B's invitation id is no token
        "token": (str(b.invitation.pk), "x" * 43),
        "id_or_slug": (world.internal_slug, "no-such-article-anywhere"),
        "number": ("1", "1"),
    }


# A valid body where the API checks it before the id (so the id is what decides)
API_BODIES = {
    "/surveys/{token}/responses": {"satisfaction": 5, "effort": 1, "intent": "yes"},
}


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(?:\w+:)?(\w+)}", lambda m: values[m.group(1)], path)


def test_every_api_route_with_a_portal_session_never_answers_with_b_data(world: World) -> None:
    values = api_values(world)
    secrets = world.b_secrets()
    before_counts, before_b = counts(), b_state(world)
    walked = 0
    for route in api_routes():
        names = re.findall(r"{(?:\w+:)?(\w+)}", route.path)
        unknown = set(names) - set(values)
        assert not unknown, f"{route.path}: add B's object for {sorted(unknown)} to api_values"
        theirs = fill(route.path, {n: values[n][0] for n in names})
        nowhere = fill(route.path, {n: values[n][1] for n in names})
        for method in route.methods:
            client = portal_client(world.a.login)
            call = getattr(client, method.lower())
            payload = next((v for k, v in API_BODIES.items() if route.path.endswith(k)), {})
            mine = call(theirs, payload, content_type="application/json")
            where = f"{method} {theirs}"
            content = body(mine).decode(errors="replace")
            assert not [s for s in secrets if s in content], f"{where} shows B's data"
            if names:
                none = call(nowhere, payload, content_type="application/json")
                assert mine.status_code in (401, 403, 404), (where, mine.status_code)
                if names != ["number"]:
                    assert (mine.status_code, body(mine)) == (none.status_code, body(none)), where
            else:
                assert mine.status_code not in range(500, 600), (where, mine.status_code)
            walked += 1
    assert counts() == before_counts and b_state(world) == before_b
    assert walked > 60
