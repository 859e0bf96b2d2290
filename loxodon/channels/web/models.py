"""A company web site that embeds Loxodon: the chat widget and the activity beacon."""

from __future__ import annotations

import secrets

from django.db import models

from loxodon.core.models import BaseModel


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


class WebProperty(BaseModel):
    """One web site of the company (e.g. the shop), as seen by the widget and the beacon.

    `public_key` is embedded in the site's pages: it names the property, it proves nothing.
    `identity_secret` stays on the company's own server, which signs identity tokens with it to
    say "this visitor is signed in as customer X" (see `identity.py`).
    """

    name = models.CharField(max_length=200)
    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key)
    identity_secret = models.CharField(max_length=128, default=new_identity_secret)
    allowed_origins = models.TextField(
        blank=True,
        help_text="one origin per line (https://shop.example.com); empty allows any origin",
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "web properties"

    def __str__(self) -> str:
        return self.name

    def origin_allowed(self, origin: str | None) -> bool:
        allowed = [o.strip().rstrip("/") for o in self.allowed_origins.splitlines() if o.strip()]
        if not allowed:
            return True
        return origin is not None and origin.rstrip("/") in allowed
