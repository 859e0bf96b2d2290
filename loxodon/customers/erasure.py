"""Erasing a customer on request (the right to be forgotten).

`erase_customer` pseudonymises one person everywhere their personal data lives, in one
transaction: the profile gets a stable pseudonym ("Erased customer 7f3a09c1"), identities,
portal logins, magic links and portal pins/labels/nicknames are deleted, and the free text,
addresses and contacts on every row that belongs to them (timeline events, cases, tasks,
handoffs, mail, calls, chats, web visits, imports, outbound messages, policy exceptions, merge
records and review pairs) are replaced by "[erased]". Ids, timestamps, kinds, channels,
statuses, priorities, durations and scores are kept, so the figures (contacts per channel,
resolution times, effort and satisfaction) do not change. Files (mail spool, mail and portal
attachments, data-export zips) are deleted once the transaction has committed, and the
customer's id is appended to the erasure ledger outside the database (`var/erasures.jsonl`)
so that `loxodon restore` re-applies the erasure to an older backup.

Every model with a foreign key to Customer must have a rule in `RULES` (or be handled
explicitly): a new one without a rule makes erasure refuse to run rather than miss data.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from loxodon.core.access import require_admin
from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.customers.models import Account, Customer, Erasure, Identity, MatchReview, Merge

ERASED = "[erased]"
PSEUDONYM = "Erased customer {short}"

#: What happens to a field of a row that belongs to an erased customer.
#: text: free text -> "[erased]" ("" stays ""); json: strings that are not plain tokens ->
#: "[erased]", numbers and booleans kept; unique: replaced by "erased-<row id>" (the column is
#: unique or part of a unique key); clean: an identifier kept unless it contains a personal
#: value, then replaced like `unique`.
Action = Literal["text", "json", "clean", "unique"]

RULES: dict[str, dict[str, Action]] = {
    "timeline.Event": {
        "summary": "text",
        "body": "text",
        "payload": "json",
        "external_id": "clean",
    },
    "timeline.Asset": {"serial": "text"},
    "cases.Case": {
        "problem": "text",
        "resolution_summary": "text",
        "closed_reason": "text",
        "external_id": "clean",
    },
    "cases.Task": {"title": "text", "completion_note": "text"},
    "cases.Handoff": {"context": "text"},
    "channels_email.InboundMail": {
        "error": "text",
        "envelope_from": "text",
        "envelope_to": "json",
        "message_id": "clean",
        "spool_name": "unique",
        "subject": "text",
        "from_address": "text",
        "flags": "json",
        "defects": "json",
        "html": "text",
    },
    "channels_email.MailAttachment": {
        "filename": "text",
        "content_id": "clean",
        "storage_name": "unique",
    },
    "channels_voice.Call": {
        "caller": "text",
        "caller_raw": "text",
        "ivr_account_number": "text",
        "ivr_menu_path": "json",
        "ivr_intent": "clean",
        "routings": "json",
        "recording_url": "text",
        "transcript_ref": "text",
        "note": "text",
        "popped": "clean",
    },
    "channels_voice.CallStep": {"data": "json"},
    "channels_chat.Chat": {"visitor_id": "unique", "about": "text"},
    "channels_chat.ChatMessage": {"body": "text"},
    "channels_web.WebVisitor": {"visitor_key": "unique"},
    "channels_web.WebVisit": {},
    "channels_web.WebHit": {
        "url": "text",
        "title": "text",
        "referrer": "text",
        "query": "text",
        "options": "json",
    },
    "channels_imports.ImportedRecord": {"legacy_key": "unique", "values": "json"},
    "outbound.OutboundMessage": {
        "body": "text",
        "subject": "text",
        "to_address": "text",
        "error": "text",
        "message_id": "clean",
    },
    "insights.SurveyInvitation": {"send_error": "text"},
    "knowledge.PolicyException": {
        "reason": "text",
        "decision_note": "text",
        "policy_value": "json",
        "granted_value": "json",
    },
    "knowledge.Citation": {},
    "portal.Attachment": {"filename": "text", "storage_name": "unique"},
    "portal.DataExport": {"storage_name": "text"},
    "customers.Merge": {
        "reason": "text",
        "undo_reason": "text",
        "survivor_before": "json",
        "absorbed_before": "json",
    },
    "customers.MatchReview": {"comparison": "json", "note": "text"},
}
#: Text columns of those models that are kept as they are: kinds, product names, hashes,
#: delivery ids. A new text column must be added to a rule or here, or erasure refuses to run.
KEPT: dict[str, frozenset[str]] = {
    "timeline.Event": frozenset({"kind", "source", "content_hash"}),
    "timeline.Asset": frozenset({"product", "os"}),
    "cases.Case": frozenset({"source"}),
    "channels_email.InboundMail": frozenset({"sha256"}),
    "channels_email.MailAttachment": frozenset({"content_type", "sha256"}),
    "channels_voice.Call": frozenset({"call_id", "dialled"}),
    "channels_voice.CallStep": frozenset({"delivery_id", "type", "content_hash"}),
    "channels_chat.ChatMessage": frozenset({"client_id"}),
    "channels_web.WebHit": frozenset({"client_id", "product"}),
    "channels_imports.ImportedRecord": frozenset({"fingerprint"}),
    "insights.SurveyInvitation": frozenset({"token_digest"}),
    "knowledge.PolicyException": frozenset({"parameter"}),
    "knowledge.Citation": frozenset({"channel"}),
    "portal.Attachment": frozenset({"content_type", "sha256"}),
    "portal.DataExport": frozenset({"sha256"}),
    "customers.Merge": frozenset({"moved"}),
}
#: References to Customer handled by hand below (deleted, or the customer row itself).
HANDLED = frozenset(
    {
        "customers.Customer.merged_into",
        "customers.Identity.customer",
        "portal.PortalLogin.customer",
        "portal.Pin.customer",
        "portal.Label.customer",
        "portal.Nickname.customer",
    }
)

# Strings inside JSON kept as they are: lower-case tokens (kinds, statuses, ids, touchpoints)
# and ISO timestamps. Anything else (a sentence, a name, an address, an email) is erased.
_TOKEN = re.compile(r"[a-z0-9_.:/-]{0,64}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")


def ledger_path() -> Path:
    """The erasure ledger: one JSON line per erasure, customer ids only (no personal data)."""
    configured = getattr(settings, "LOXODON_ERASURE_LEDGER", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "erasures.jsonl"


def read_ledger(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or ledger_path()
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def _append_to_ledger(entry: dict[str, Any]) -> None:
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


@dataclass
class PersonalValues:
    """What identifies the person: used to catch personal data in otherwise kept strings."""

    values: set[str] = field(default_factory=set)

    def add(self, value: Any) -> None:
        if value is None:
            return
        text = str(value).strip().lower()
        if len(text) >= 3:
            self.values.add(text)
            digits = re.sub(r"\D", "", text)
            if len(digits) >= 7 and len(digits) >= len(text) - 4:  # phone numbers, any format
                self.values.add(digits[-9:])

    def found_in(self, text: str) -> bool:
        low = text.lower()
        if any(v in low for v in self.values):
            return True
        digits = re.sub(r"\D", "", low)
        return len(digits) >= 9 and any(v.isdigit() and v in digits for v in self.values)


class Scrubber:
    """Applies `RULES` to rows and collects the files to delete after commit."""

    def __init__(self, personal: PersonalValues) -> None:
        self.personal = personal
        self.rows: dict[str, int] = {}

    def text(self, value: str, max_length: int | None) -> str:
        if not value:
            return value
        return ERASED if max_length is None or max_length >= len(ERASED) else ""

    def json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            plain = _TOKEN.fullmatch(value) or _ISO_MOMENT.fullmatch(value)
            return value if plain and not self.personal.found_in(value) else ERASED
        return value

    def apply(self, model: type[models.Model], queryset: models.QuerySet[Any]) -> None:
        label = model._meta.label
        rules = RULES[label]
        if not rules:
            return
        changed: list[models.Model] = []
        names = list(rules)
        for row in queryset.only("pk", *names).iterator(chunk_size=500):
            dirty = False
            for name, action in rules.items():
                f = model._meta.get_field(name)
                old = getattr(row, name)
                new = self._new(action, old, row.pk, getattr(f, "max_length", None))
                if new != old:
                    setattr(row, name, new)
                    dirty = True
            if dirty:
                changed.append(row)
        if changed and label == "timeline.Event":
            # Events are append-only; erasure is the one sanctioned rewrite of their text.
            events = model._default_manager
            for row in changed:
                values = {name: getattr(row, name) for name in names}
                events.filter(pk=row.pk).pseudonymise_for_erasure(**values)  # type: ignore[attr-defined]
        elif changed:
            model._default_manager.bulk_update(changed, names, batch_size=500)
        if changed:
            self.rows[label] = self.rows.get(label, 0) + len(changed)

    def _new(self, action: Action, old: Any, pk: Any, max_length: int | None) -> Any:
        if action == "json":
            return self.json(old)
        if not isinstance(old, str) or not old:
            return old
        if action == "text":
            return self.text(old, max_length)
        if action == "unique" or self.personal.found_in(old):
            return f"erased-{uuid.UUID(str(pk)).hex}"[: max_length or None]
        return old


def _customer_relations() -> list[tuple[type[models.Model], str]]:
    found = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        fk = getattr(rel, "field", None)
        model = rel.related_model
        if fk is None or not fk.concrete or not isinstance(model, type):
            continue
        found.append((model, fk.name))
    return found


def check_rules() -> None:
    """Refuse to erase if a model points at Customer, or a text column of one has appeared,
    and no rule says what to do with it."""
    missing = [
        f"{model._meta.label}.{name}"
        for model, name in _customer_relations()
        if f"{model._meta.label}.{name}" not in HANDLED and model._meta.label not in RULES
    ]
    text_types = (models.CharField, models.TextField, models.JSONField)
    for label, rules in RULES.items():
        kept = KEPT.get(label, frozenset())
        missing += [
            f"{label}.{f.name}"
            for f in apps.get_model(label)._meta.concrete_fields
            if isinstance(f, text_types) and not f.choices and f.name not in {*rules, *kept}
        ]
    if missing:
        raise RuntimeError(f"no erasure rule for {', '.join(sorted(missing))}")


def _covered(customer: Customer) -> list[Customer]:
    """The customer and every customer merged into it (directly or through another merge)."""
    found = [customer]
    frontier = [customer.pk]
    while frontier:
        absorbed = list(Customer.objects.filter(merged_into_id__in=frontier))
        found.extend(absorbed)
        frontier = [c.pk for c in absorbed]
    return found


def _personal_values(customers: list[Customer], ids: list[uuid.UUID]) -> PersonalValues:
    personal = PersonalValues()
    for c in customers:
        for name in ("name", "first_name", "last_name", "street", "city", "postcode"):
            personal.add(getattr(c, name))
        if c.date_of_birth:
            personal.add(c.date_of_birth.isoformat())
        for entry in c.profile_history or []:
            if isinstance(entry, dict) and isinstance(entry.get("value"), str):
                personal.add(entry["value"])
    for value in Identity.objects.filter(customer_id__in=ids).values_list("value", flat=True):
        personal.add(value)
    for merge in Merge.objects.filter(Q(survivor_id__in=ids) | Q(absorbed_id__in=ids)):
        for snap in (merge.survivor_before, merge.absorbed_before):
            for name in ("name", "first_name", "last_name", "street", "city", "postcode"):
                personal.add(snap.get(name) if isinstance(snap, dict) else None)
            removed = snap.get("identities_removed", []) if isinstance(snap, dict) else []
            for identity in removed if isinstance(removed, list) else []:
                if isinstance(identity, dict):
                    personal.add(identity.get("value"))
    from loxodon.timeline.models import Asset

    for serial in Asset.objects.filter(customer_id__in=ids).values_list("serial", flat=True):
        personal.add(serial)
    return personal


def _erase_profile(customer: Customer, now: Any) -> None:
    customer.name = PSEUDONYM.format(short=customer.pk.hex[:8])
    for name in ("first_name", "last_name", "street", "city", "postcode"):
        setattr(customer, name, "")
    customer.date_of_birth = None
    customer.profile_history = []
    customer.profile_verified = False
    customer.profile_updated_at = now
    customer.save(
        update_fields=[
            "name",
            "first_name",
            "last_name",
            "street",
            "city",
            "postcode",
            "date_of_birth",
            "profile_history",
            "profile_verified",
            "profile_updated_at",
            "updated_at",
        ]
    )


def _erase_account_contacts(customers: list[Customer], personal: PersonalValues) -> int:
    changed = 0
    account_ids = {c.account_id for c in customers if c.account_id is not None}
    for account in Account.objects.select_for_update().filter(pk__in=account_ids):
        contacts = account.key_contacts if isinstance(account.key_contacts, list) else []
        kept = [c for c in contacts if not personal.found_in(json.dumps(c))]
        if len(kept) != len(contacts):
            account.key_contacts = kept
            account.save(update_fields=["key_contacts", "updated_at"])
            changed += 1
    return changed


def _delete_portal_and_identities(ids: list[uuid.UUID], emails: list[str]) -> dict[str, int]:
    from loxodon.portal.models import Label, MagicLink, Nickname, Pin, PortalLogin

    logins = PortalLogin.objects.filter(customer_id__in=ids)
    deleted = {
        "portal.MagicLink": MagicLink.objects.filter(
            Q(login__in=logins) | Q(email__in=emails)
        ).delete()[0],
        "portal.PortalLogin": logins.delete()[0],
        "portal.Pin": Pin.objects.filter(customer_id__in=ids).delete()[0],
        "portal.Label": Label.objects.filter(customer_id__in=ids).delete()[0],
        "portal.Nickname": Nickname.objects.filter(customer_id__in=ids).delete()[0],
        "customers.Identity": Identity.objects.filter(customer_id__in=ids).delete()[0],
    }
    return {label: n for label, n in deleted.items() if n}


@dataclass
class _Files:
    storage: list[str] = field(default_factory=list)
    spool: list[str] = field(default_factory=list)

    def delete(self) -> int:
        from loxodon.channels.email.mail_spool import spool_dir

        gone = 0
        for name in self.storage:
            if name and default_storage.exists(name):
                default_storage.delete(name)
                gone += 1
        root = spool_dir()
        for name in self.spool:
            for folder in ("tmp", "new", "work", "cur", "failed"):
                path = root / folder / name
                if path.exists():
                    path.unlink()
                    gone += 1
        return gone


def _scrub_rows(ids: list[uuid.UUID], scrubber: Scrubber, emails: list[str]) -> _Files:
    """Every row that belongs to the customers, rule by rule; returns their files."""
    from loxodon.cases.models import Case, Handoff, Task
    from loxodon.channels.chat.models import Chat, ChatMessage
    from loxodon.channels.email.models import InboundMail, MailAttachment
    from loxodon.channels.voice.models import Call, CallStep
    from loxodon.channels.web.models import WebHit, WebVisit, WebVisitor
    from loxodon.outbound.models import OutboundMessage
    from loxodon.portal.models import Attachment, DataExport
    from loxodon.timeline.models import Event

    files = _Files()
    case_ids = list(Case.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    inbound = InboundMail.objects.filter(
        Q(customer_id__in=ids)
        | Q(case_id__in=case_ids)
        | Q(from_address__in=emails)
        | Q(envelope_from__in=emails)
    )
    inbound_ids = list(inbound.values_list("pk", flat=True))
    files.spool = list(inbound.values_list("spool_name", flat=True))
    attachments = MailAttachment.objects.filter(inbound_id__in=inbound_ids)
    files.storage += list(attachments.values_list("storage_name", flat=True))
    portal_files = Attachment.objects.filter(customer_id__in=ids)
    files.storage += list(portal_files.values_list("storage_name", flat=True))
    exports = DataExport.objects.filter(customer_id__in=ids)
    files.storage += [n for n in exports.values_list("storage_name", flat=True) if n]

    done: set[tuple[str, str]] = set()
    for model, name in _customer_relations():
        label = f"{model._meta.label}.{name}"
        if label in HANDLED or model in (Merge, MatchReview, Event):
            continue
        scrubber.apply(model, model._default_manager.filter(**{f"{name}__in": ids}))
        done.add((model._meta.label, name))
    scrubber.apply(Event, Event.objects.filter(Q(customer_id__in=ids) | Q(case_id__in=case_ids)))
    scrubber.apply(Case, Case.objects.filter(pk__in=case_ids))
    scrubber.apply(Task, Task.objects.filter(case_id__in=case_ids))
    scrubber.apply(Handoff, Handoff.objects.filter(case_id__in=case_ids))
    scrubber.apply(OutboundMessage, OutboundMessage.objects.filter(case_id__in=case_ids))
    scrubber.apply(InboundMail, InboundMail.objects.filter(pk__in=inbound_ids))
    scrubber.apply(MailAttachment, attachments)
    chats = Chat.objects.filter(Q(customer_id__in=ids) | Q(case_id__in=case_ids))
    scrubber.apply(Chat, chats)
    scrubber.apply(ChatMessage, ChatMessage.objects.filter(chat__in=chats))
    calls = Call.objects.filter(Q(customer_id__in=ids) | Q(mismatch_customer_id__in=ids))
    scrubber.apply(CallStep, CallStep.objects.filter(call__in=calls))
    visitors = WebVisitor.objects.filter(customer_id__in=ids)
    scrubber.apply(WebVisit, WebVisit.objects.filter(visitor__in=visitors))
    scrubber.apply(WebHit, WebHit.objects.filter(visitor__in=visitors))
    merges = Merge.objects.filter(Q(survivor_id__in=ids) | Q(absorbed_id__in=ids))
    scrubber.apply(Merge, merges)
    pairs = MatchReview.objects.filter(Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids))
    scrubber.apply(MatchReview, pairs)
    return files


def erase_customer(
    *, customer_id: str | uuid.UUID, by: Any | None, reason: str, reapplied: bool = False
) -> Erasure:
    """Pseudonymise a customer and everyone merged into them; returns the erasure record.

    Admins only (`by=None` is the system, e.g. `loxodon restore` re-applying the ledger).
    Erasing an erased customer returns the first erasure and changes nothing. A customer
    merged into another is refused (Conflict): erase the surviving customer, which covers
    everyone merged into it. The reason is kept, so it must not contain personal data.
    """
    if by is not None:
        require_admin(by)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason must not be empty: say why (e.g. the request's reference)")
    try:
        pk = uuid.UUID(str(customer_id))
    except ValueError:
        raise NotFound(f"no customer with id '{customer_id}'") from None
    check_rules()
    with transaction.atomic():
        # FOR UPDATE (not NO KEY UPDATE): rows that reference the customer wait until the
        # erasure has committed, so none is written half-way through (SQLite: one writer).
        customer = Customer.objects.select_for_update().filter(pk=pk).first()
        if customer is None:
            raise NotFound(f"no customer with id '{customer_id}'")
        done = Erasure.objects.filter(erased_customer_id=pk).first()
        if done is not None:
            return done
        if customer.merged_into_id is not None:
            raise Conflict(
                f"customer {pk} was merged into {customer.merged_into_id}: erase that customer,"
                " which covers everyone merged into it",
                merged_into=str(customer.merged_into_id),
            )
        customers = _covered(customer)
        ids = [c.pk for c in customers]
        personal = _personal_values(customers, ids)
        if personal.found_in(reason):
            raise InvalidInput(
                "the reason must not contain the customer's personal data (it is kept)"
            )
        emails = list(
            Identity.objects.filter(customer_id__in=ids, kind="email").values_list(
                "value", flat=True
            )
        )
        scrubber = Scrubber(personal)
        files = _scrub_rows(ids, scrubber, emails)
        deleted = _delete_portal_and_identities(ids, emails)
        accounts = _erase_account_contacts(customers, personal)
        now = timezone.now()
        for c in customers:
            _erase_profile(c, now)
        rows = {**scrubber.rows, **deleted, "customers.Customer": len(customers)}
        if accounts:
            rows["customers.Account"] = accounts
        erasure = Erasure.objects.create(
            erased_customer_id=pk,
            covers=[str(i) for i in ids[1:]],
            erased_by=by,
            reason=reason,
            rows=rows,
            reapplied=reapplied,
        )
        entry = {
            "customer_id": str(pk),
            "covers": erasure.covers,
            "erasure_id": str(erasure.pk),
            "erased_at": now.isoformat(),
        }

        def after_commit() -> None:
            gone = files.delete()
            Erasure.objects.filter(pk=erasure.pk).update(files_deleted=gone)
            if not reapplied:
                _append_to_ledger(entry)

        transaction.on_commit(after_commit)
    return erasure


def _erased_ids() -> set[str]:
    ids: set[str] = set()
    for own, covers in Erasure.objects.values_list("erased_customer_id", "covers"):
        ids.add(str(own))
        ids.update(str(c) for c in covers or [])
    return ids


def reapply_ledger(entries: Iterable[dict[str, Any]]) -> list[str]:
    """Erase again everyone in the ledger who is back (after restoring an older backup).

    An entry names the erased customer and those merged into them at the time; in an older
    database some of them may not be merged yet, so each is erased on its own, or through
    its survivor when that survivor is one of the entry's customers. Returns the ids erased.
    """
    reapplied: list[str] = []
    for entry in entries:
        wanted = [str(entry.get("customer_id") or "")] + [str(c) for c in entry.get("covers", [])]
        wanted = [w for w in wanted if w]
        for customer_id in wanted:
            if customer_id in _erased_ids():
                continue
            customer = Customer.objects.filter(pk=customer_id).first()
            while customer is not None and customer.merged_into_id is not None:
                customer = Customer.objects.filter(pk=customer.merged_into_id).first()
            if customer is None or str(customer.pk) not in wanted:
                continue
            if str(customer.pk) in _erased_ids():
                continue
            erase_customer(
                customer_id=customer.pk,
                by=None,
                reason=f"re-applied from the erasure ledger (erasure {entry.get('erasure_id')})",
                reapplied=True,
            )
            reapplied.append(str(customer.pk))
    return reapplied
