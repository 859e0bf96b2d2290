"""The desk's live connection: new timeline events on open pages, screen-pops for the agent."""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string
from django.urls import reverse

from loxodon.core import live
from loxodon.core.errors import DomainError
from loxodon.customers.selectors import get_customer_for
from loxodon.timeline.models import Event


class DeskConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/desk/?customer=<id>&case=<id>`: staff only; subscriptions are access-checked."""

    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not getattr(user, "is_staff_member", False):
            await self.close(code=4401)
            return
        self.user = user
        self.groups_joined = [live.agent_group(user.pk)]
        query = dict(
            part.split("=", 1)
            for part in self.scope.get("query_string", b"").decode().split("&")
            if "=" in part
        )
        if query.get("customer"):
            customer = await self._customer(query["customer"])
            if customer is None:
                await self.close(code=4404)
                return
            self.groups_joined.append(live.customer_group(customer))
        if query.get("case"):
            try:
                self.groups_joined.append(live.case_group(uuid.UUID(query["case"])))
            except ValueError:
                await self.close(code=4404)
                return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    @database_sync_to_async
    def _customer(self, customer_id: str) -> uuid.UUID | None:
        try:
            return get_customer_for(self.user, customer_id).pk
        except DomainError:
            return None

    @database_sync_to_async
    def _render_events(self, event_ids: list[str]) -> list[dict[str, str]]:
        events = (
            Event.objects.filter(pk__in=event_ids[-20:])
            .select_related("site", "actor")
            .order_by("-occurred_at", "-id")
        )
        return [
            {
                "id": str(e.pk),
                "html": render_to_string("desk/_event.html", {"event": e, "fresh": True}),
            }
            for e in events
        ]

    async def timeline_events(self, message: dict[str, Any]) -> None:
        for item in await self._render_events(message["event_ids"]):
            await self.send_json({"type": "event", **item})

    async def screen_pop(self, message: dict[str, Any]) -> None:
        url = reverse("desk:customer", kwargs={"customer_id": message["customer_id"]})
        name = await self._customer_name(message["customer_id"])
        html = render_to_string(
            "desk/_screen_pop.html",
            {
                "url": url,
                "name": name,
                "reason": message["reason"],
                "detail": message["detail"],
                "facts": message.get("facts") or {},
            },
        )
        await self.send_json({"type": "screen_pop", "url": url, "html": html})

    @database_sync_to_async
    def _customer_name(self, customer_id: str) -> str:
        try:
            return get_customer_for(self.user, customer_id).name
        except DomainError:
            return "Unknown customer"
