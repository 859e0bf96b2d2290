"""The timeline events the knowledge app writes: articles given to customers, policy exceptions."""

from __future__ import annotations

from typing import Any

from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event


# --- citations (knowledge/citations.py) -------------------------------------------------------

CITED_ON = {
    "phone": "on the phone",
    "email": "by email",
    "chat": "in chat",
    "sms": "by SMS",
    "in_person": "in person",
    "web": "on the web",
    "letter": "by letter",
}


def article_cited(
    *, case: Any, article: Any, version: Any, channel: str, by: Any, note: str = ""
) -> Event:
    """The customer was given this article version on `channel` (not internal: they received it)."""
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="article_cited",
        channel=channel,
        actor=by,
        site=case.site or getattr(by, "site", None),
        summary=f'Gave "{version.title}" (v{version.number}) {CITED_ON.get(channel, channel)}',
        body=note,
        payload={
            "article_id": str(article.pk),
            "slug": article.slug,
            "version": version.number,
            "title": version.title,
            "channel": channel,
            "case_id": str(case.pk),
        },
    )
