"""Knowledge API routes (placeholder until this part lands)."""

from ninja import Router

router = Router(tags=["knowledge"])
