"""Every write of the voice channel: integrations, and the steps of a call's life.

A call is reported as steps (call.started → ivr.completed → call.routed … → call.ended), each a
signed webhook delivery, possibly repeated and possibly out of order. `apply_call_step` locks
the `Call` row, applies the step once, and keeps the call's one timeline event (kind "call",
ADR 0008) up to date: created through `ingest_events` once we know whose call it is, amended
through `amend_living_event` afterwards. Everything a step changes is written in one
transaction; the screen-pop is sent after commit.

Who is calling:
- an account number the IVR *verified* names the customer (account numbers are issued by us);
- otherwise the caller's number (a phone identity), if it names one customer;
- an unverified account number is shown to the agent but never used to pick a customer.
The event is created as soon as the customer is known. A caller nobody recognises gets the
event (and a new unverified customer for the number, through `ingest_events`) when the call is
routed or ends, whichever comes first, so the IVR has its chance to identify them first (and
not before call.started has told us the number, or that it was withheld: steps may arrive out
of order).
If the IVR verifies an account of another customer after the event exists, the event stays
where it is (events never move between customers); the call records the mismatch and the agent
sees both.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from django.db import IntegrityError, transaction

from loxodon.channels.voice.models import Call, CallStatus, CallStep, VoiceIntegration
from loxodon.channels.voice.schemas import (
    CallEndedIn,
    CallRoutedIn,
    CallStartedIn,
    IvrCompletedIn,
)
from loxodon.core import live
from loxodon.core.errors import Conflict, InvalidInput
from loxodon.core.event_types import Channel
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_account_number, normalise_phone
from loxodon.customers.resolution.exact import decide
from loxodon.customers.services import add_identity, create_customers_for_contacts
from loxodon.org.models import Site
from loxodon.org.selectors import get_active_staff, get_department
from loxodon.timeline.services import EventDraft, amend_living_event, ingest_events

CallStepIn = CallStartedIn | IvrCompletedIn | CallRoutedIn | CallEndedIn
# Each of these happens once in a call's life; call.routed may repeat (transfers).
ONCE_TYPES = frozenset({"call.started", "ivr.completed", "call.ended"})
MAX_STEPS_PER_CALL = 100
UNKNOWN_CALLER = "Unknown caller (number withheld)"


# --- integrations -----------------------------------------------------------------------------


def create_voice_integration(*, name: str, site: Site | None = None) -> VoiceIntegration:
    """A new integration with a fresh key id and secret (the caller shows the secret once)."""
    if not name.strip():
        raise InvalidInput("name must not be empty")
    return VoiceIntegration.objects.create(name=name.strip(), site=site)


# --- call steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    call: Call
    replayed: bool  # the delivery was applied before: nothing changed


def apply_call_step(integration: VoiceIntegration, step: CallStepIn) -> StepResult:
    """Apply one delivery to its call, exactly once.

    - The same delivery again (same `id`, same content) changes nothing and answers the call
      as it is now (`replayed`); the same `id` with other content is a Conflict (409).
    - A second call.started / ivr.completed / call.ended for one call under another id is a
      replay if it says the same, otherwise a Conflict.
    - call.routed to an unknown agent or department is NotFound; nothing is written.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _apply(integration, step)
        except IntegrityError:
            # A concurrent delivery created the same call or step between our read and write;
            # the second pass finds it and answers as for any repeat.
            if attempt == 2:
                raise Conflict(
                    "the call could not be updated: concurrent conflicting writes"
                ) from None
    raise AssertionError("unreachable")


def _content_hash(step: CallStepIn) -> str:
    content = step.model_dump(mode="json", exclude={"id"})
    content["occurred_at"] = step.occurred_at.astimezone(UTC).isoformat()
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _locked_call(integration: VoiceIntegration, call_id: str) -> Call:
    call = (
        Call.objects.select_for_update(of=("self",))
        .filter(integration=integration, call_id=call_id)
        .select_related("routed_agent", "routed_department")
        .first()
    )
    if call is not None:
        return call
    with transaction.atomic():  # a concurrent creator makes this fail; the caller retries
        return Call.objects.create(integration=integration, call_id=call_id)


def _apply(integration: VoiceIntegration, step: CallStepIn) -> StepResult:
    call = _locked_call(integration, step.call_id)
    content_hash = _content_hash(step)
    seen = (
        CallStep.objects.filter(integration=integration, delivery_id=step.id)
        .values_list("call_id", "content_hash")
        .first()
    )
    if seen is not None:
        if seen != (call.pk, content_hash):
            raise Conflict(
                f"delivery id '{step.id}' was already used for other content",
                call_id=step.call_id,
            )
        return StepResult(call, replayed=True)
    if step.type in ONCE_TYPES:
        prior = (
            CallStep.objects.filter(call=call, type=step.type)
            .values_list("delivery_id", "content_hash")
            .first()
        )
        if prior is not None:
            if prior[1] == content_hash:
                return StepResult(call, replayed=True)
            raise Conflict(
                f"call '{step.call_id}' already has a {step.type} (delivery '{prior[0]}') "
                "that says something else",
                call_id=step.call_id,
            )
    if CallStep.objects.filter(call=call).count() >= MAX_STEPS_PER_CALL:
        raise Conflict(f"call '{step.call_id}' already has {MAX_STEPS_PER_CALL} steps")

    CallStep.objects.create(
        integration=integration,
        call=call,
        delivery_id=step.id,
        type=step.type,
        occurred_at=step.occurred_at,
        content_hash=content_hash,
        data=step.model_dump(mode="json"),
    )
    if isinstance(step, CallStartedIn):
        _apply_started(call, step)
    elif isinstance(step, IvrCompletedIn):
        _apply_ivr(call, step)
    elif isinstance(step, CallRoutedIn):
        _apply_routed(call, step)
    else:
        _apply_ended(call, step)
    call.status = _status(call)
    _settle_event(integration, call, first_seen=step.occurred_at)
    _screen_pop_if_due(call)
    call.save()
    return StepResult(call, replayed=False)


def _apply_started(call: Call, step: CallStartedIn) -> None:
    call.caller_raw = step.caller or ""
    try:
        call.caller = normalise_phone(step.caller) if step.caller else ""
    except InvalidInput:
        call.caller = ""  # withheld or unusable ("anonymous", "unknown"): shown as delivered
    call.dialled = step.dialled
    call.started_at = step.occurred_at


def _apply_ivr(call: Call, step: IvrCompletedIn) -> None:
    account = step.account_number or ""
    with contextlib.suppress(InvalidInput):  # otherwise kept as entered: it names nobody
        account = normalise_account_number(account) if account else ""
    call.ivr_completed = True
    call.ivr_verified = step.verified
    call.ivr_account_number = account
    call.ivr_menu_path = list(step.menu_path)
    call.ivr_intent = step.intent


def _apply_routed(call: Call, step: CallRoutedIn) -> None:
    routing: dict[str, Any] = {"at": step.occurred_at.astimezone(UTC).isoformat()}
    agent = get_active_staff(step.to_agent) if step.to_agent else None
    department = None if agent is not None else get_department(step.to_department or "")
    if agent is not None:
        routing.update(agent=agent.username, agent_name=agent.display_name)
    elif department is not None:
        routing.update(department=department.code, department_name=department.name)
    call.routings = sorted([*call.routings, routing], key=lambda r: str(r["at"]))
    # The latest routing (by when it happened, not when it arrived) is where the call is now.
    if call.routings[-1] is routing:
        call.routed_agent, call.routed_department = agent, department


def _apply_ended(call: Call, step: CallEndedIn) -> None:
    call.ended_at = step.occurred_at
    call.duration_seconds = step.duration_seconds
    call.recording_url = step.recording_url or ""
    call.transcript_ref = step.transcript_ref or ""


def _status(call: Call) -> str:
    if call.ended_at is not None:
        return CallStatus.ENDED
    if call.routings:
        return CallStatus.ROUTED
    if call.ivr_completed:
        return CallStatus.IN_IVR
    if call.started_at is not None:
        return CallStatus.STARTED
    return CallStatus.PENDING


# --- whose call, and its timeline event ----------------------------------------------------


def _customer_by(kind: str, value: str) -> uuid.UUID | None:
    """The one customer an identifier names (verified first), or None if nobody or unclear."""
    if not value:
        return None
    rows = list(
        Identity.objects.filter(kind=kind, value=value).values_list("customer_id", "verified")
    )
    return decide(1, rows).customer_id


def _settle_event(integration: VoiceIntegration, call: Call, *, first_seen: datetime) -> None:
    verified_customer = (
        _customer_by(IdentityKind.ACCOUNT_NUMBER, call.ivr_account_number)
        if call.ivr_verified and call.ivr_account_number
        else None
    )
    if call.ivr_verified and call.ivr_account_number and verified_customer is None:
        call.note = f"The IVR verified account {call.ivr_account_number}, unknown to Loxodon"
    phone_customer = _customer_by(IdentityKind.PHONE, call.caller) if call.caller else None
    wanted = verified_customer or phone_customer

    if call.event_id is None:
        reached_someone = bool(call.routings) or call.ended_at is not None
        if wanted is None and not (reached_someone and call.started_at is not None):
            return  # wait: call.started or the IVR may still tell us who this is
        draft_customer: dict[str, str | None] | None = None
        if wanted is None and call.caller:
            draft_customer = {"phone": call.caller}  # a new unverified customer, if nobody has it
        elif wanted is None:
            (unknown,) = create_customers_for_contacts(
                [(UNKNOWN_CALLER, [])], source=integration.source, site=integration.site
            )
            wanted = unknown.pk
        occurred_at = call.started_at or min(first_seen, *(s.occurred_at for s in call.steps.all()))
        (result,) = ingest_events(
            [
                EventDraft(
                    source=integration.source,
                    external_id=call.call_id,
                    channel=Channel.PHONE,
                    kind="call",
                    occurred_at=occurred_at,
                    summary=_summary(call),
                    payload=_payload(call),
                    customer_id=wanted if draft_customer is None else None,
                    customer=draft_customer,
                    site=integration.site.code if integration.site else None,
                    actor=call.routed_agent.username if call.routed_agent else None,
                )
            ],
            indexed=False,
        )
        call.event = result.event
        call.customer_id = result.event.customer_id
    else:
        if verified_customer is not None and verified_customer != call.customer_id:
            call.mismatch_customer_id = verified_customer
            call.note = (
                f"IVR verified account {call.ivr_account_number}, which belongs to another "
                "customer than the one this number is on; the call stays on this timeline"
            )
        amend_living_event(
            call.event_id,
            summary=_summary(call),
            payload=_payload(call),
            actor=call.routed_agent,
        )
    # Learn the number when nobody has it: next time it names the customer before the IVR does.
    if (
        verified_customer is not None
        and call.caller
        and phone_customer is None
        and not Identity.objects.filter(kind=IdentityKind.PHONE, value=call.caller).exists()
    ):
        add_identity(
            customer=Customer.objects.get(pk=verified_customer),
            kind=IdentityKind.PHONE,
            value=call.caller,
            verified=False,
            source=integration.source,
            site=integration.site,
        )


# --- how the call reads on the timeline and on the screen-pop -------------------------------


def pretty_phone(e164: str) -> str:
    """+442079460001 → '+44 20 7946 0001' (as written for people)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def duration_text(seconds: int) -> str:
    """252 → '4 min 12 s'; 45 → '45 s'; 3720 → '1 h 2 min'."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _caller_text(call: Call) -> str:
    if call.caller:
        return pretty_phone(call.caller)
    return call.caller_raw or "withheld number"


def _routed_text(call: Call) -> str:
    if not call.routings:
        return ""
    latest = call.routings[-1]
    name = latest.get("agent_name") or latest.get("department_name") or ""
    transfers = len(call.routings) - 1
    return f"routed to {name}" + (
        f" ({transfers} transfer{'s' * (transfers > 1)})" if transfers else ""
    )


def _summary(call: Call) -> str:
    parts = [f"Call from {_caller_text(call)}"]
    if call.ivr_completed:
        if call.ivr_verified:
            parts.append(f"IVR verified {call.ivr_account_number}".strip())
        elif call.ivr_account_number:
            parts.append(f"IVR not verified ({call.ivr_account_number})")
        else:
            parts.append("IVR not verified")
    if call.routings:
        parts.append(_routed_text(call))
    if call.duration_seconds is not None:
        parts.append(duration_text(call.duration_seconds))
    elif call.ended_at is None:
        parts.append("in progress")
    return " · ".join(parts)


def _payload(call: Call) -> dict[str, Any]:
    """Everything the timeline shows about the call (`desk/events/call.html` reads only this).

    The IVR's answers use the keys the desk's "what the customer already told us" reads
    (`account_number_entered`, `verified`, `intent`, `menu_path`, `caller_number`,
    `dialled_line`); they are present only once the IVR has completed.
    """
    steps = sorted(
        (
            {"type": s.type, "at": s.occurred_at.astimezone(UTC).isoformat(), "id": s.delivery_id}
            for s in call.steps.all()
        ),
        key=lambda s: s["at"],
    )
    payload: dict[str, Any] = {
        "call_id": call.call_id,
        "status": call.status,
        "caller_number": _caller_text(call),
        "caller_e164": call.caller,
        "dialled_line": call.dialled,
        "ivr_completed": call.ivr_completed,
    }
    if call.ivr_completed:
        payload["verified"] = call.ivr_verified
        answers = {
            "account_number_entered": call.ivr_account_number,
            "menu_path": call.ivr_menu_path,
            "intent": call.ivr_intent,
        }
        payload.update({k: v for k, v in answers.items() if v})
    payload.update(
        routed_to=call.routings[-1] if call.routings else None,
        routings=call.routings,
        transfers=max(len(call.routings) - 1, 0),
        started_at=call.started_at.astimezone(UTC).isoformat() if call.started_at else None,
        ended_at=call.ended_at.astimezone(UTC).isoformat() if call.ended_at else None,
        duration_seconds=call.duration_seconds,
        duration=duration_text(call.duration_seconds) if call.duration_seconds is not None else "",
        recording_url=call.recording_url,
        transcript_ref=call.transcript_ref,
        note=call.note,
        steps=steps,
    )
    return payload


def screen_pop_facts(call: Call) -> dict[str, Any]:
    """What the IVR collected, for the agent's screen-pop (plain JSON for the channel layer)."""
    return {
        "caller": _caller_text(call),
        "dialled": call.dialled,
        "ivr_completed": call.ivr_completed,
        "verified": call.ivr_verified,
        "account_number": call.ivr_account_number,
        "menu_path": list(call.ivr_menu_path),
        "intent": call.ivr_intent,
        "note": call.note,
    }


def _screen_pop_if_due(call: Call) -> None:
    """Pop the customer on the routed agent's desk once per (agent, customer), after commit.

    Not for a call that has ended (the pop would be stale) nor for a department (no person).
    The customer shown is the one the IVR verified, if that differs from the timeline's.
    """
    if call.routed_agent_id is None or call.ended_at is not None or call.customer_id is None:
        return
    customer_id = call.mismatch_customer_id or call.customer_id
    key = f"{call.routed_agent_id.hex}:{customer_id.hex}"
    if call.popped == key:
        return
    call.popped = key
    user_id = call.routed_agent_id
    facts = screen_pop_facts(call)
    detail = f"Call from {facts['caller']}" + (f" on {call.dialled}" if call.dialled else "")
    transaction.on_commit(
        lambda: live.screen_pop(
            user_id,
            customer_id=customer_id,
            reason="Call routed to you",
            detail=detail,
            facts=facts,
        )
    )
