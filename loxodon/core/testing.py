"""Test helpers shared by every app's tests (imported by tests and by the root conftest)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class Api:
    """A JSON client for /api/v1 that authenticates with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(headers={"Authorization": f"Bearer {token}"} if token else None)

    def _url(self, path: str) -> str:
        return "/api/v1" + path

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(self._url(path), params)

    def post(self, path: str, data: Any = None) -> Any:
        body = data if isinstance(data, str | bytes) else json.dumps(data or {})
        return self.client.post(self._url(path), body, content_type="application/json")


def signed_in(user: Any) -> Client:
    """A browser session signed in as this member of staff (desk pages)."""
    client = Client()
    client.force_login(user)
    return client


def event(external_id: str, **fields: Any) -> dict[str, Any]:
    """A valid event body; override any field."""
    body: dict[str, Any] = {
        "source": "test",
        "external_id": external_id,
        "channel": "email",
        "kind": "message",
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "summary": f"Message {external_id}",
    }
    body.update(fields)
    return body
