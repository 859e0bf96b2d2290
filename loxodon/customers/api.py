from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from ninja import Router, Schema, Status
from pydantic import Field

from loxodon.cases.schemas import CaseOut, case_out
from loxodon.core.access import require_staff
from loxodon.core.errors import InvalidInput
from loxodon.core.schemas import ApiRequest, ErrorOut, StrictIn
from loxodon.customers import services
from loxodon.customers.models import Customer, Identity, Merge
from loxodon.customers.normalise import normalise_identity, normalise_postcode
from loxodon.customers.resolution import ResolutionQuery, resolve
from loxodon.customers.selectors import (
    customer_view,
    get_customer_for,
    get_merge_for,
    list_customers,
    merges_of,
)
from loxodon.org.selectors import get_site
from loxodon.timeline.schemas import AssetOut, TimelineOut, asset_out, event_out

router = Router(tags=["customers"])

IdentityKindName = Literal["email", "phone", "account_number", "legacy", "chat_visitor", "external"]


class AccountIn(StrictIn):
    id: uuid.UUID | None = None
    name: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    size: Literal["micro", "small", "medium", "large"] | None = None
    notes: str | None = None


class CustomerIn(StrictIn):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    phone: str | None = None
    account_number: str | None = None
    account: AccountIn | None = None
    site: str | None = None
    verified: bool = Field(default=False, description="email/phone were proven by the customer")
    date_of_birth: date | None = None
    street: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=16)


class IdentityIn(StrictIn):
    kind: IdentityKindName
    value: str = Field(min_length=1, max_length=254)
    verified: bool = False


class IdentityOut(Schema):
    id: uuid.UUID
    kind: str
    value: str
    verified: bool
    source: str
    site: str | None


class CustomerOut(Schema):
    id: uuid.UUID
    name: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    street: str
    city: str
    postcode: str
    account_id: uuid.UUID | None
    home_site: str | None
    created_at: datetime
    identities: list[IdentityOut]
    merged_into: uuid.UUID | None = Field(
        default=None, description="set when this record was merged into another customer"
    )


class CustomerPageOut(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class AccountOut(Schema):
    id: uuid.UUID
    name: str
    industry: str
    size: str
    key_contacts: list[dict[str, Any]]
    notes: str


class AlertOut(Schema):
    code: str
    level: str
    message: str


class CustomerViewOut(Schema):
    customer: CustomerOut
    account: AccountOut | None
    identities: list[IdentityOut]
    cases: list[CaseOut]
    assets: list[AssetOut]
    alerts: list[AlertOut]
    timeline: TimelineOut


class CandidateOut(Schema):
    customer_id: uuid.UUID
    score: float
    reason: str


class ResolutionOut(Schema):
    customer_id: uuid.UUID | None
    confidence: float
    candidates: list[CandidateOut]


def identity_out(i: Identity) -> dict[str, Any]:
    return {
        "id": i.id,
        "kind": i.kind,
        "value": i.value,
        "verified": i.verified,
        "source": i.source,
        "site": i.site.code if i.site_id and i.site else None,
    }


def customer_out(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "date_of_birth": c.date_of_birth,
        "street": c.street,
        "city": c.city,
        "postcode": c.postcode,
        "account_id": c.account_id,
        "home_site": c.home_site.code if c.home_site_id and c.home_site else None,
        "created_at": c.created_at,
        "identities": [identity_out(i) for i in c.identities.all()],
        "merged_into": c.merged_into_id,
    }


@router.post("/customers", response={201: CustomerOut})
def create_customer(request: ApiRequest, data: CustomerIn) -> Status[dict[str, Any]]:
    customer = services.create_customer(
        name=data.name,
        email=data.email,
        phone=data.phone,
        account_number=data.account_number,
        account=data.account.model_dump() if data.account else None,
        site=get_site(data.site) if data.site else None,
        verified=data.verified,
        date_of_birth=data.date_of_birth,
        street=data.street,
        city=data.city,
        postcode=data.postcode,
    )
    return Status(201, customer_out(get_customer_for(request.auth, customer.pk)))


@router.get("/customers", response=CustomerPageOut)
def customers(
    request: ApiRequest, q: str | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    page = list_customers(request.auth, q=q, cursor=cursor, limit=limit)
    return {"items": [customer_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/customers/resolve", response=ResolutionOut)
def resolve_customer(
    request: ApiRequest,
    email: str | None = None,
    phone: str | None = None,
    account_number: str | None = None,
    name: str | None = None,
    postcode: str | None = None,
    dob: date | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    street: str | None = None,
    city: str | None = None,
) -> dict[str, Any]:
    """Who is this? Strong identifiers first, then a fuzzy match scored with the trained model:
    a customer above the auto threshold, candidates with scores and reasons, or nothing."""
    require_staff(request.auth)  # resolution reveals customer ids: staff only
    if not any((email, phone, account_number, name, first_name, last_name)):
        raise InvalidInput(
            "give at least one of email, phone, account_number, name, first_name, last_name"
        )
    query = ResolutionQuery(
        email=normalise_identity("email", email) if email else None,
        phone=normalise_identity("phone", phone) if phone else None,
        account_number=normalise_identity("account_number", account_number)
        if account_number
        else None,
        name=name,
        postcode=normalise_postcode(postcode) if postcode else None,
        dob=dob,
        first_name=first_name or None,
        last_name=last_name or None,
        street=street or None,
        city=city or None,
    )
    result = resolve(query)
    return {
        "customer_id": result.customer_id,
        "confidence": result.confidence,
        "candidates": [
            {"customer_id": c.customer_id, "score": c.score, "reason": c.reason}
            for c in result.candidates
        ],
    }


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request: ApiRequest, customer_id: str) -> dict[str, Any]:
    return customer_out(get_customer_for(request.auth, customer_id))


@router.get("/customers/{customer_id}/view", response=CustomerViewOut)
def view(
    request: ApiRequest,
    customer_id: str,
    cursor: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The 360 view: everything about the customer in one call, in a fixed number of queries."""
    v = customer_view(
        request.auth, customer_id, cursor=cursor, channel=channel, kind=kind, limit=limit
    )
    account = v.account
    return {
        "customer": customer_out(v.customer),
        "account": None
        if account is None
        else {
            "id": account.id,
            "name": account.name,
            "industry": account.industry,
            "size": account.size,
            "key_contacts": account.key_contacts,
            "notes": account.notes,
        },
        "identities": [identity_out(i) for i in v.identities],
        "cases": [case_out(c) for c in v.cases],
        "assets": [asset_out(a) for a in v.assets],
        "alerts": [{"code": a.code, "level": a.level, "message": a.message} for a in v.alerts],
        "timeline": {
            "items": [event_out(e) for e in v.timeline.items],
            "next_cursor": v.timeline.next_cursor,
        },
    }


@router.post("/customers/{customer_id}/identities", response={200: IdentityOut, 201: IdentityOut})
def add_identity(request: ApiRequest, customer_id: str, data: IdentityIn) -> Status[dict[str, Any]]:
    customer = get_customer_for(request.auth, customer_id)
    identity, created = services.add_identity(
        customer=customer, kind=data.kind, value=data.value, verified=data.verified, source="api"
    )
    return Status(201 if created else 200, identity_out(identity))


# --- merges ---------------------------------------------------------------------------------------

MERGE_ERRORS: dict[int | tuple[int, ...], Any] = {
    400: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
}


class MergeIn(StrictIn):
    absorbed_id: uuid.UUID = Field(description="the customer to absorb (it is hidden afterwards)")
    reason: str = Field(description="why they are the same person (required)")


class UnmergeIn(StrictIn):
    reason: str = Field(description="why the merge was wrong (required)")


class MergeOut(Schema):
    id: uuid.UUID
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    method: str
    merged_by: str | None
    reason: str
    score: float | None
    moved: dict[str, int] = Field(description='rows re-pointed per "app.Model.field"')
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str


def merge_out(m: Merge) -> dict[str, Any]:
    return {
        "id": m.id,
        "survivor_id": m.survivor_id,
        "absorbed_id": m.absorbed_id,
        "method": m.method,
        "merged_by": m.merged_by.username if m.merged_by else None,
        "reason": m.reason,
        "score": m.score,
        "moved": {label: len(ids) for label, ids in m.moved.items()},
        "created_at": m.created_at,
        "undone_at": m.undone_at,
        "undone_by": m.undone_by.username if m.undone_by else None,
        "undo_reason": m.undo_reason,
    }


@router.post("/customers/{customer_id}/merges", response={201: MergeOut, **MERGE_ERRORS})
def merge(request: ApiRequest, customer_id: str, data: MergeIn) -> Status[dict[str, Any]]:
    """Absorb another customer into this one (supervisors and admins). Everything of the
    absorbed customer moves here; `POST /merges/{id}/unmerge` undoes it exactly."""
    survivor = get_customer_for(request.auth, customer_id)
    absorbed = get_customer_for(request.auth, data.absorbed_id)
    done = services.merge_customers(
        survivor=survivor, absorbed=absorbed, by=request.auth, reason=data.reason
    )
    return Status(201, merge_out(get_merge_for(request.auth, done.pk)))


@router.get("/customers/{customer_id}/merges", response=list[MergeOut])
def merges(request: ApiRequest, customer_id: str) -> list[dict[str, Any]]:
    """Merges into and out of this customer, newest first, including undone ones."""
    customer = get_customer_for(request.auth, customer_id)
    return [merge_out(m) for m in merges_of(request.auth, customer)]


@router.post("/merges/{merge_id}/unmerge", response={200: MergeOut, **MERGE_ERRORS})
def unmerge(request: ApiRequest, merge_id: str, data: UnmergeIn) -> Status[dict[str, Any]]:
    """Undo a merge: both customers exactly as before (supervisors and admins)."""
    done = get_merge_for(request.auth, merge_id)
    services.unmerge(merge=done, by=request.auth, reason=data.reason)
    return Status(200, merge_out(get_merge_for(request.auth, done.pk)))


# --- erasure (right to be forgotten) -------------------------------------------------------------


class ErasureIn(StrictIn):
    reason: str = Field(
        description="why (e.g. the request's reference); kept, so no personal data in it"
    )


class ErasureOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    covers: list[uuid.UUID] = Field(description="customers merged into this one, erased with it")
    erased_by: str | None
    reason: str
    rows: dict[str, int] = Field(description='rows pseudonymised or deleted per "app.Model"')
    created_at: datetime


@router.post("/customers/{customer_id}/erase", response={200: ErasureOut, **MERGE_ERRORS})
def erase(request: ApiRequest, customer_id: str, data: ErasureIn) -> Status[dict[str, Any]]:
    """Erase a customer's personal data everywhere (admins only; see docs/operations.md).

    Names, contacts, addresses and free text are pseudonymised or deleted, files removed; ids,
    timestamps, channels, statuses and scores stay, so figures are unchanged. Erasing again
    returns the first erasure. A customer merged into another: 409 (erase the survivor)."""
    from loxodon.customers.erasure import erase_customer

    customer = get_customer_for(request.auth, customer_id)
    done = erase_customer(customer_id=customer.pk, by=request.auth, reason=data.reason)
    return Status(
        200,
        {
            "id": done.pk,
            "customer_id": done.erased_customer_id,
            "covers": done.covers,
            "erased_by": done.erased_by.username if done.erased_by else None,
            "reason": done.reason,
            "rows": done.rows,
            "created_at": done.created_at,
        },
    )
