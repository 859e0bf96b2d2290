"""The production process layout of docs/deploy.md, for real: PostgreSQL, Redis for the Channels
layer, two `loxodon serve` processes (as on two hosts behind a load balancer) and the task worker
`loxodon db_worker`, with mail going to a real SMTP server.

- A desk page open on web process A sees an event that arrived through web process B: the live
  update crosses processes through Redis (with the in-memory layer it would not).
- A customer message queued through B is sent by the task worker over SMTP, and the sent message
  appears live on the page open on A.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from websockets.sync.client import ClientConnection, connect

from loxodon.core.testing import Outbox, event, free_port
from loxodon.core.tests.processes import (
    background,
    pg_cluster,
    production_env,
    redis_server,
    run_loxodon,
    serve,
)

pytestmark = pytest.mark.slow

PASSWORD = "x-very-long-password-1"
SETUP = """
from loxodon.cases.services import open_case
from loxodon.customers.services import create_customer
from loxodon.org.services import create_api_token, create_site, create_staff
site = create_site(code='lon', name='London')
ann = create_staff(username='ann', password='{password}', site=site, first_name='Ann')
jo = create_customer(name='Jo Bloggs', email='jo@example.com', verified=True, site=site)
case = open_case(customer=jo, problem='Laptop will not charge', actor=ann, owner=ann)
print(create_api_token(username='ann'), jo.pk, case.pk)
"""


class Layout:
    def __init__(self, web: list[str], token: str, customer_id: str, case_id: str) -> None:
        self.web, self.token, self.customer_id, self.case_id = web, token, customer_id, case_id


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[tuple[Layout, Outbox]]:
    outbox = Outbox()
    smtp = Controller(outbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with ExitStack() as stack:
        stack.callback(smtp.stop)
        cluster = stack.enter_context(pg_cluster())
        redis_url = stack.enter_context(redis_server())
        env = production_env(
            cluster.url,
            tmp_path / "var",
            REDIS_URL=redis_url,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            LOXODON_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        )
        run_loxodon(env, "migrate", "--noinput")
        token, customer_id, case_id = run_loxodon(
            env, "shell", "-c", SETUP.format(password=PASSWORD)
        ).split()[-3:]
        web = [stack.enter_context(serve(env, tmp_path / f"web-{n}.log")) for n in "ab"]
        stack.enter_context(
            background(
                env, tmp_path / "worker.log", "db_worker", "--no-reload", "--interval", "0.5"
            )
        )
        yield Layout(web, token, customer_id, case_id), outbox


def _session_cookie(base_url: str) -> str:
    """Sign in on the desk like a browser; the session cookie to send (it is `Secure`)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/desk/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert csrf, form.text[:500]
        done = client.post(
            "/desk/login/",
            data={"username": "ann", "password": PASSWORD, "csrfmiddlewaretoken": csrf.group(1)},
            headers={  # the cookie is `Secure`: httpx would not send it over http://
                "Referer": f"{base_url}/desk/login/",
                "Cookie": f"csrftoken={form.cookies['csrftoken']}",
            },
        )
        assert done.status_code == 302, done.text[:500]
        return done.cookies["sessionid"]


def _live_page(base_url: str, session: str, customer_id: str) -> ClientConnection:
    """The desk's live connection for a customer page, as the page's script opens it."""
    return connect(
        base_url.replace("http://", "ws://") + f"/ws/desk/?customer={customer_id}",
        additional_headers={"Cookie": f"sessionid={session}", "Origin": base_url},
        open_timeout=30,
    )


def _next_event(page: ClientConnection) -> dict[str, Any]:
    message = json.loads(page.recv(timeout=30))
    assert message["type"] == "event", message
    return message


def test_live_updates_and_mail_cross_processes_through_redis_and_the_worker(
    layout: tuple[Layout, Outbox],
) -> None:
    setup, outbox = layout
    web_a, web_b = setup.web
    api = httpx.Client(
        base_url=web_b, headers={"Authorization": f"Bearer {setup.token}"}, timeout=30
    )
    with _live_page(web_a, _session_cookie(web_a), setup.customer_id) as page:
        # An event arrives through process B; the page open on process A shows it.
        body = event("layout-1", customer_id=setup.customer_id, summary="Called about charging")
        assert api.post("/api/v1/events", json=body).status_code == 201
        assert "Called about charging" in _next_event(page)["html"]

        # A reply queued through B is sent by the worker, and appears on A's page as sent.
        queued = api.post(
            f"/api/v1/cases/{setup.case_id}/messages", json={"body": "A new charger is on its way."}
        )
        assert queued.status_code == 201, queued.text
        sent = _next_event(page)
        assert "A new charger is on its way" in sent["html"]
    assert [e.rcpt_tos for e in outbox.envelopes] == [["jo@example.com"]]
    assert b"A new charger is on its way." in (outbox.envelopes[0].original_content or b"")
