from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loxodon.core.testing import Api
from loxodon.org.models import ApiToken, User
from loxodon.org.services import create_api_token, revoke_api_token


def test_lists_of_sites_departments_and_staff(api: Api, colleague: User) -> None:
    sites = api.get("/sites")
    assert sites.status_code == 200
    assert [s["code"] for s in sites.json()] == ["lon", "man"]
    assert sites.json()[0]["time_zone"] == "Europe/London"

    departments = {d["code"] for d in api.get("/departments").json()}
    assert {"finance", "parts", "warranty", "support-hardware"} <= departments

    staff = {s["username"]: s for s in api.get("/staff").json()}
    assert staff["carl"] == {
        "username": "carl",
        "name": "Carl Colleague",
        "role": "agent",
        "site": "man",
        "department": "support-hardware",
    }


def test_requests_without_a_valid_token_are_refused(anonymous: Api, agent: User) -> None:
    # Given no token, a wrong token, and a revoked one
    assert anonymous.get("/sites").status_code == 401
    assert "Bearer" in anonymous.get("/sites").json()["detail"]
    assert Api("lox_not-a-token").get("/customers").status_code == 401
    raw = create_api_token(username="ann")
    revoke_api_token(token=ApiToken.objects.get(prefix=raw[:12]))
    # Then each is 401
    assert Api(raw).get("/sites").status_code == 401


def test_inactive_staff_tokens_stop_working(agent: User) -> None:
    raw = create_api_token(username="ann")
    assert Api(raw).get("/sites").status_code == 200
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert Api(raw).get("/sites").status_code == 401


def test_tokens_are_stored_as_digests_only(agent: User) -> None:
    raw = create_api_token(username="ann", name="crm")
    token = ApiToken.objects.get()
    assert raw not in (token.digest, token.prefix)
    assert raw.startswith(token.prefix)
    assert len(raw) > 40


def test_create_api_token_command_prints_only_the_token(agent: User) -> None:
    out = StringIO()
    call_command("create_api_token", "ann", stdout=out)
    token = out.getvalue().strip()
    assert "\n" not in token and token.startswith("lox_")
    assert Api(token).get("/sites").status_code == 200


@pytest.mark.django_db
def test_create_api_token_for_unknown_user_fails_clearly() -> None:
    with pytest.raises(CommandError, match="no active staff user 'ghost'"):
        call_command("create_api_token", "ghost")


def test_only_the_admin_role_may_use_django_admin(site: object) -> None:
    from django.test import Client

    from loxodon.org.services import create_staff

    create_staff(username="root", password="pw-for-admin-1", role="admin")
    create_staff(username="plain", password="pw-for-agent-1", role="agent")
    admin_client, agent_client = Client(), Client()
    # through the sign-in page: django-axes wants the request (Client.login gives none)
    for client, username, password in (
        (admin_client, "root", "pw-for-admin-1"),
        (agent_client, "plain", "pw-for-agent-1"),
    ):
        signed_in = client.post("/desk/login/", {"username": username, "password": password})
        assert signed_in.status_code == 302, signed_in.content
    assert admin_client.get("/admin/org/site/").status_code == 200
    assert agent_client.get("/admin/org/site/").status_code == 302  # to the admin login


def test_token_use_is_stamped_at_most_once_a_minute(agent: User) -> None:
    raw = create_api_token(username="ann")
    api = Api(raw)
    api.get("/sites")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api.get("/sites")
    assert ApiToken.objects.get().last_used_at == first
