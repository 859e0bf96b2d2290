"""The timeline events the knowledge app writes: articles given to customers, policy exceptions."""

from __future__ import annotations

from typing import Any

from loxodon.core.errors import DomainError
from loxodon.knowledge.policy import describe_value, parse_policy
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event

# --- policy exceptions (knowledge/exceptions.py): internal, staff-only events ------------------

EXCEPTION_VERBS = {
    "exception_granted": "Policy exception granted",
    "exception_requested": "Policy exception requested (waiting for approval)",
    "exception_approved": "Policy exception approved",
    "exception_denied": "Policy exception denied",
    "exception_withdrawn": "Policy exception request withdrawn",
}


def _exception_event(kind: str, exception: Any, actor: Any, body: str) -> Event:
    """One event on the exception's case and customer, carrying what was departed from."""
    version = exception.version
    label, before, after = exception.parameter, exception.policy_value, exception.granted_value
    try:
        parameter = parse_policy(version.policy).parameter(exception.parameter)
    except DomainError:
        pass
    else:
        label = parameter.label
        before, after = describe_value(parameter, before), describe_value(parameter, after)
    summary = (
        f"{EXCEPTION_VERBS[kind]}: {label} {before} → {after} ({version.title} v{version.number})"
    )
    return record_event(
        customer_id=exception.customer_id,
        case_id=exception.case_id,
        kind=kind,
        actor=actor,
        site=exception.site,
        summary=summary,
        body=body,
        payload={
            "case_id": str(exception.case_id),
            "exception_id": str(exception.pk),
            "article_id": str(exception.article_id),
            "slug": exception.article.slug,
            "version": version.number,
            "parameter": exception.parameter,
            "policy_value": exception.policy_value,
            "granted_value": exception.granted_value,
            "reason": exception.reason,
            "status": exception.status,
            "decision_note": exception.decision_note,
        },
    )


def exception_granted(exception: Any, by: Any) -> Event:
    """Recorded at once: within the agent's own authority."""
    return _exception_event("exception_granted", exception, by, exception.reason)


def exception_requested(exception: Any, by: Any) -> Event:
    """Beyond the agent's authority: now in the supervisors' approvals queue."""
    return _exception_event("exception_requested", exception, by, exception.reason)


def exception_approved(exception: Any, by: Any) -> Event:
    return _exception_event("exception_approved", exception, by, exception.decision_note)


def exception_denied(exception: Any, by: Any) -> Event:
    return _exception_event("exception_denied", exception, by, exception.decision_note)


def exception_withdrawn(exception: Any, by: Any) -> Event:
    return _exception_event("exception_withdrawn", exception, by, exception.decision_note)


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
