"""One append-only timeline for every interaction and transaction, and installed products."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import connection, models
from uuid6 import uuid7

from loxodon.core.event_types import Channel
from loxodon.core.models import BaseModel


class AppendOnlyError(RuntimeError):
    pass


class EventQuerySet(models.QuerySet["Event"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("timeline events are append-only: record a new event instead")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("timeline events are append-only and cannot be deleted")

    def move_to_customer_for_merge(self, customer_id: Any) -> int:
        """The one sanctioned change to stored events: re-point them to another customer.

        Only `loxodon.customers.merging` calls this, inside a merge or an unmerge, which
        records exactly which events moved so that the move can be undone (ADR 0011). The
        content, times and fingerprints of the events stay as they were.
        """
        return super().update(customer_id=customer_id)

    def pseudonymise_for_erasure(self, **fields: Any) -> int:
        """The other sanctioned change: replace personal text of an erased customer's events.

        Only `loxodon.customers.erasure` calls this (the right to be forgotten outranks
        append-only); it replaces summary, body, payload strings and external ids, and keeps
        ids, times, kinds, channels, cases and fingerprints, so figures do not change.
        """
        allowed = {"summary", "body", "payload", "external_id"}
        if not set(fields) <= allowed:
            raise AppendOnlyError(f"erasure may only replace {', '.join(sorted(allowed))}")
        return super().update(**fields)

    def move_each_to_customer_for_merge(self, moves: list[list[Any]]) -> None:
        """The bulk sibling of `move_to_customer_for_merge` (`customers.merge_clusters`):
        for each [customer id, event id], that event goes to that customer (one statement,
        executed for every row).

        Same rules: called only by `loxodon.customers.merging`, which records which events
        moved; content, times and fingerprints stay.
        """
        table = connection.ops.quote_name(self.model._meta.db_table)
        customer = self.model._meta.get_field("customer")
        pk = self.model._meta.get_field("id")
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET customer_id = %s WHERE id = %s",  # noqa: S608 (no input)
                [
                    [
                        customer.get_db_prep_save(to, connection),
                        pk.get_db_prep_value(event_id, connection),
                    ]
                    for to, event_id in moves
                ],
            )


class Event(models.Model):
    """Something that happened with a customer, on any channel, at any site.

    `(source, external_id)` is the idempotency key: a repeat delivery finds the existing row.
    `content_hash` fingerprints what was delivered, so a reused key with other content is a
    conflict, not a silent overwrite.
    """

    # Time-ordered ids (UUIDv7): new rows append to the primary-key index instead of landing
    # at random pages, which keeps batch inserts fast as the table grows.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Foreign keys without their own single-column indexes: the composite indexes below lead
    # with customer and case; site and actor are only filtered on in rare admin deletions.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="events", db_index=False
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=16, choices=Channel.CHOICES)
    kind = models.CharField(max_length=32)
    internal = models.BooleanField(default=False, help_text="staff-only: never shown to customers")
    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    actor = models.ForeignKey(
        "org.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
    )
    summary = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="event_idempotency_key")
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="event_customer_recent"),
            models.Index(
                fields=["customer", "channel", "-occurred_at", "-id"], name="event_customer_channel"
            ),
            # "latest survey" alert: partial, so other events' inserts do not maintain it (a full
            # (customer, kind) index cost ~20% of batch-ingest throughput)
            models.Index(
                fields=["customer", "-occurred_at", "-id"],
                name="event_customer_survey",
                condition=models.Q(kind="survey"),
            ),
            models.Index(
                fields=["case", "-occurred_at", "-id"],
                name="event_case_recent",
                condition=models.Q(case__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.kind}: {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("timeline events are append-only: record a new event instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("timeline events are append-only and cannot be deleted")


class Asset(BaseModel):
    """An installed product the customer owns."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="assets"
    )
    product = models.CharField(max_length=200)
    serial = models.CharField(max_length=100, blank=True)
    purchased_at = models.DateField(null=True, blank=True)
    refurbished = models.BooleanField(default=False)
    os = models.CharField("operating system", max_length=100, blank=True)
    warranty_until = models.DateField(null=True, blank=True)
    site = models.ForeignKey("org.Site", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["customer", "-purchased_at"], name="asset_customer_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "serial"],
                condition=~models.Q(serial=""),
                name="asset_serial_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.serial}".strip()
