"""Every write to policy exceptions: grant (or request), decide, withdraw.

An agent departs from one parameter of one policy on a case. Within their role's authority
(`policy.authority_of`) the exception is `granted` at once; beyond it, it is `pending`: an approval
request in the supervisors' queue, which a supervisor or admin whose own authority covers the
excess approves or denies (with a note). Each exception records the policy version it departs from
and that version's value, so later revisions of the policy never rewrite what was granted.
Each function validates first, writes in one transaction and records its timeline event (internal,
staff only) on the case through `knowledge.events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.access import require_staff, require_supervisor
from loxodon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loxodon.knowledge import events
from loxodon.knowledge.models import Article, ArticleVersion, PolicyException
from loxodon.knowledge.policy import (
    Parameter,
    authority_of,
    covers,
    excess_of,
    parse_granted,
    parse_policy,
)
from loxodon.knowledge.selectors import articles_for
from loxodon.org.models import User

Status = PolicyException.Status
MAX_REASON = 2000


@dataclass(frozen=True)
class Departure:
    """What a grant would record, worked out before anything is written (also for previews)."""

    version: ArticleVersion
    parameter: Parameter
    granted_value: Any
    excess: Decimal
    within_authority: bool


def parameter_of(version: ArticleVersion, key: str) -> Parameter:
    """One parameter of a policy version, or InvalidInput naming the ones it has."""
    if not version.policy:
        raise InvalidInput(f"{version.title} v{version.number} is not a policy")
    return parse_policy(version.policy).parameter(key)


def _required_text(text: str | None, what: str, why: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidInput(f"{what}: {why}")
    if len(cleaned) > MAX_REASON:
        raise InvalidInput(f"{what}: at most {MAX_REASON} characters")
    return cleaned


def plan_departure(*, article: Article, parameter: str, granted_value: Any, by: User) -> Departure:
    """Check a requested departure against the policy's current version and `by`'s authority."""
    require_staff(by)
    policy = articles_for(by).filter(pk=article.pk).select_related("current").first()
    if policy is None:
        raise NotFound("article not found")
    if not policy.is_policy or policy.current is None or not policy.current.policy:
        raise InvalidInput(f"{policy.title} is not a policy: exceptions depart from policies")
    if policy.archived_at is not None:
        raise InvalidInput(f"{policy.title} is archived: no exceptions to it any more")
    version = policy.current
    spec = parameter_of(version, (parameter or "").strip())
    granted = parse_granted(spec, granted_value)
    excess = excess_of(spec, granted)
    return Departure(
        version=version,
        parameter=spec,
        granted_value=granted,
        excess=excess,
        within_authority=covers(spec, by, excess),
    )


@transaction.atomic
def grant_exception(
    *,
    case: Case,
    article: Article,
    parameter: str,
    granted_value: Any,
    reason: str,
    by: User,
) -> PolicyException:
    """Grant an exception on `case` (within `by`'s authority) or ask for approval (beyond it)."""
    departure = plan_departure(
        article=article, parameter=parameter, granted_value=granted_value, by=by
    )
    why = _required_text(reason, "reason", "say why the customer gets this exception")
    locked = Case.objects.select_for_update(of=("self",)).select_related("site").get(pk=case.pk)
    if locked.is_finished:
        raise Conflict(
            f"the case is {locked.get_status_display().lower()}: reopen it to grant an exception"
        )
    exception = PolicyException.objects.create(
        case=locked,
        customer_id=locked.customer_id,
        article_id=departure.version.article_id,
        version=departure.version,
        parameter=departure.parameter.key,
        policy_value=departure.parameter.value,
        granted_value=departure.granted_value,
        excess=departure.excess,
        reason=why,
        requested_by=by,
        site=locked.site or by.site,
        status=Status.GRANTED if departure.within_authority else Status.PENDING,
    )
    if departure.within_authority:
        events.exception_granted(exception, by)
    else:
        events.exception_requested(exception, by)
    return exception


def _locked(exception: PolicyException) -> PolicyException:
    return (
        PolicyException.objects.select_for_update(of=("self",))
        .select_related("version", "article", "site")
        .get(pk=exception.pk)
    )


@transaction.atomic
def decide_exception(
    *, exception: PolicyException, by: User, approve: bool, note: str = ""
) -> PolicyException:
    """A supervisor or admin approves or denies a pending request (a note is needed to deny).

    The row is locked, so of two supervisors deciding at once the second gets a Conflict."""
    require_supervisor(by, "only supervisors and admins decide on policy exceptions")
    note = (note or "").strip()
    if not approve:
        note = _required_text(note, "note", "say why the exception is denied")
    if len(note) > MAX_REASON:
        raise InvalidInput(f"note: at most {MAX_REASON} characters")
    locked = _locked(exception)
    if locked.status != Status.PENDING:
        raise Conflict(f"this exception is already {locked.get_status_display().lower()}")
    if locked.requested_by_id == by.pk:
        raise PermissionDenied("nobody decides their own request: another supervisor must")
    spec = parameter_of(locked.version, locked.parameter)
    excess = locked.excess if locked.excess is not None else Decimal(0)
    if not covers(spec, by, excess):
        limit = authority_of(spec, by)
        raise PermissionDenied(
            f"this goes {excess.normalize():f} beyond the policy and your authority covers "
            f"{limit:g}: an admin must decide"
        )
    locked.status = Status.APPROVED if approve else Status.DENIED
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.decision_note = note
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    if approve:
        events.exception_approved(locked, by)
    else:
        events.exception_denied(locked, by)
    return locked


@transaction.atomic
def withdraw_exception(*, exception: PolicyException, by: User, note: str = "") -> PolicyException:
    """The requester takes back a request that is still waiting for approval."""
    require_staff(by)
    locked = _locked(exception)
    if locked.requested_by_id != by.pk:
        raise PermissionDenied("only whoever asked for this exception may withdraw it")
    if locked.status != Status.PENDING:
        raise Conflict(f"this exception is already {locked.get_status_display().lower()}")
    locked.status = Status.WITHDRAWN
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.decision_note = (note or "").strip()[:MAX_REASON]
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    events.exception_withdrawn(locked, by)
    return locked
