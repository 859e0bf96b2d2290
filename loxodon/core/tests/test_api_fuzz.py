"""Malformed input, generated from the OpenAPI schema: no route answers 5xx.

Schemathesis reads `/api/v1/openapi.json` from the app itself and, for every operation, draws
requests that fit the schema (positive) and requests that break it (negative: wrong types,
missing fields, junk strings, unknown fields). Each is sent in process through Django's WSGI
handler, with a staff token and anonymously, against a database holding one customer with a
case, a task and an event, so ids in paths sometimes exist. Every answer must be below 500;
schema-valid answers of 2xx must also match the documented response schema.

The figures (operations, requests, 5xx) are printed at the end (`pytest -s`) for
docs/reliability.md.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from loxodon.api import api as ninja_api
from loxodon.core.testing import Api
from loxodon.org.models import User
from loxodon.org.services import create_api_token

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Draws per operation and plan (staff valid / staff malformed / anonymous, and again with real
# ids where the path has ids): about 800 requests over ~76 operations. Raise it locally
# (LOXODON_FUZZ_EXAMPLES=50) to dig deeper.
EXAMPLES = int(os.environ.get("LOXODON_FUZZ_EXAMPLES", "3"))


def with_client_address(environ: dict[str, Any], start_response: Any) -> Any:
    """Django's WSGI app as a server runs it: werkzeug's test client sends no REMOTE_ADDR."""
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")
    return get_wsgi_application()(environ, start_response)


@pytest.fixture
def schema(world: dict[str, str]) -> Iterator[Any]:
    """The schema, loaded from the running app, whose requests go to that app in process.

    Like Django's test client, the connection is kept open across requests (the test's
    transaction holds every row the fuzzer may find). Django's test client reconnects these
    signals after each of its requests, so `world` is built first.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", with_client_address)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(api: Api, customer: dict[str, Any]) -> dict[str, str]:
    """Real ids for path parameters, so some requests reach past the lookup."""
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Laptop will not boot"})
    assert case.status_code == 201, case.content
    task = api.post(
        f"/cases/{case.json()['id']}/tasks", {"department": "parts", "title": "Send a battery"}
    )
    assert task.status_code == 201, task.content
    return {
        "customer_id": customer["id"],
        "case_id": case.json()["id"],
        "task_id": task.json()["id"],
    }


def operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) > 60, "the API's operations were not found in the schema"
    return found


def fuzz(
    operation: Any,
    *,
    mode: GenerationMode,
    headers: dict[str, str],
    path_parameters: dict[str, str] | None,
    tally: Counter[str],
    failures: list[str],
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same inputs on every run and both databases: a failure reproduces
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        tally["requests"] += 1
        tally[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.as_curl_command(headers=headers)}")
            return
        if mode is GenerationMode.POSITIVE and 200 <= response.status_code < 300:
            try:
                case.validate_response(
                    response,
                    checks=[response_schema_conformance],
                )
            except Exception as exc:
                failures.append(f"{case.method} {case.formatted_path}: {exc}")

    send()


def subset(path: str, world: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in world.items() if "{" + k + "}" in path}


def test_every_operation_answers_malformed_input_without_a_server_error(
    schema: Any, world: dict[str, str], agent: User, caplog: pytest.LogCaptureFixture
) -> None:
    token = create_api_token(username=agent.username)
    staff: dict[str, str] = {"Authorization": f"Bearer {token}"}
    anonymous: dict[str, str] = {}
    tally: Counter[str] = Counter()
    failures: list[str] = []
    ops = operations(schema)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        for operation in ops:
            real_ids = subset(operation.path, world)
            plans: list[tuple[dict[str, str], GenerationMode, dict[str, str] | None]] = [
                (staff, GenerationMode.POSITIVE, None),
                (staff, GenerationMode.NEGATIVE, None),
                # anonymous callers are refused before their input is read: one mode is enough
                (anonymous, GenerationMode.POSITIVE, None),
            ]
            if real_ids:  # past the lookup, into validation and the services
                plans += [
                    (staff, GenerationMode.POSITIVE, real_ids),
                    (staff, GenerationMode.NEGATIVE, real_ids),
                ]
            for headers, mode, path_parameters in plans:
                fuzz(
                    operation,
                    mode=mode,
                    headers=headers,
                    path_parameters=path_parameters,
                    tally=tally,
                    failures=failures,
                )
    errors = [r.getMessage() + "\n" + (r.exc_text or "") for r in caplog.records]
    print(f"\nAPI fuzz: {len(ops)} operations, {dict(tally)}")
    assert not failures, "\n".join(failures[:20]) + "\n" + "\n".join(errors[:5])
    assert tally["requests"] >= len(ops) * 3
    assert tally["5xx"] == 0


def test_closing_a_case_nobody_owns_is_refused_not_a_server_error(
    api: Api, customer: dict[str, Any]
) -> None:
    """Found by the fuzzer: closing a new, unowned case broke the one-owner constraint (500)."""
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Printer jams"}).json()
    assert case["status"] == "new" and case["owner"] is None
    refused = api.post(f"/cases/{case['id']}/close-unconfirmed", {"reason": "Gone quiet"})
    assert refused.status_code == 409, refused.content
    assert "close_unconfirmed" not in refused.json()["allowed_actions"]
    assert api.get(f"/cases/{case['id']}").json()["status"] == "new"


def test_every_request_body_is_documented_under_its_own_name(db: None) -> None:
    """Two input models of one name share one OpenAPI component, so one route is documented
    (and fuzzed) with the other's body: POST /cases had the chat's `CaseIn`, POST
    /cases/{id}/messages the chat's `MessageIn`, review decisions the exceptions' `DecisionIn`."""
    classes: dict[str, set[str]] = defaultdict(set)
    for router in ninja_api._get_bound_routers():
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    for field in model.model_fields.values():
                        for t in (field.annotation, *getattr(field.annotation, "__args__", ())):
                            if isinstance(t, type) and issubclass(t, BaseModel):
                                classes[t.__name__].add(f"{t.__module__}.{t.__qualname__}")
    shared = {name: sorted(where) for name, where in classes.items() if len(where) > 1}
    assert not shared, f"rename one of each: {shared}"
    documented = ninja_api.get_openapi_schema()["components"]["schemas"]
    assert set(documented["CaseIn"]["properties"]) >= {"customer_id", "problem", "owner"}
