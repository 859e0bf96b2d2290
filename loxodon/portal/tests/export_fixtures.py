"""Customers with a portal login and one of everything, for the export, feedback and isolation
tests (built through the services, as the desk and integrations would)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from loxodon.cases.models import Case, Task
from loxodon.cases.services import add_note, add_task, open_case, propose_resolution
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.services import create_customer
from loxodon.insights.models import InvitationChannel, SurveyInvitation, Touchpoint
from loxodon.insights.services import invite_to_survey
from loxodon.org.models import Department, User
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.exports import build_export
from loxodon.portal.models import Attachment, DataExport, Label, Nickname, Pin, PortalLogin
from loxodon.timeline.models import Asset, Event
from loxodon.timeline.services import record_event, register_asset


def portal_customer(name: str, email: str) -> tuple[Customer, PortalLogin]:
    customer = create_customer(name=name, email=email, phone=None, verified=True)
    identity = Identity.objects.get(customer=customer, kind=IdentityKind.EMAIL)
    return customer, PortalLogin.objects.create(customer=customer, identity=identity)


def portal_client(login: PortalLogin) -> Client:
    """A browser signed in to the portal as `login` (the session key the portal sets)."""
    client = Client(raise_request_exception=False)
    session = client.session
    session[SESSION_KEY] = str(login.pk)
    session.save()
    return client


@dataclass
class Everything:
    customer: Customer
    login: PortalLogin
    case: Case
    task: Task
    message: Event
    note: Event
    order: Event
    asset: Asset
    attachment: Attachment
    export: DataExport
    invitation: SurveyInvitation
    label: Label
    pin: Pin
    nickname: Nickname


def one_of_everything(
    name: str, email: str, *, agent: User, department: Department, marker: str
) -> Everything:
    """A customer with a case (task, message, internal note), events of several kinds, an
    attachment, a product, an export, a survey invitation, a label, a pin and a nickname.
    `marker` is written into the customer's words so a leak is easy to find in a response."""
    customer, login = portal_customer(name, email)
    case = open_case(
        customer=customer, problem=f"{marker} laptop will not charge", actor=agent, owner=agent
    )
    task = add_task(case=case, department=department, title=f"{marker} battery", actor=agent)
    message = record_event(
        customer_id=customer.pk,
        kind="message",
        channel="web",
        case_id=case.pk,
        summary=f"Message from {name}",
        body=f"{marker} it still does not charge",
    )
    note = add_note(case=case, body=f"{marker} STAFF ONLY internal remark", actor=agent)
    order = record_event(
        customer_id=customer.pk,
        kind="order",
        channel="web",
        summary=f"Order {marker}-1",
        payload={"order_number": f"{marker}-1", "lines": [{"product": "Charger"}]},
        occurred_at=timezone.now() - timedelta(days=1),
    )
    record_event(customer_id=customer.pk, kind="web_visit", channel="web", summary="Visited")
    asset = register_asset(
        customer=customer,
        product=f"{marker} Laptop",
        serial=f"SN-{marker}",
        purchased_at=date(2025, 1, 10),
        warranty_until=date(2027, 1, 10),
    )
    content = f"{marker} photo".encode()
    stored = default_storage.save(f"portal-test/{uuid.uuid4().hex}.txt", ContentFile(content))
    attachment = Attachment.objects.create(
        customer=customer,
        case=case,
        event=message,
        filename="photo.txt",
        content_type="text/plain",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_name=stored,
    )
    invitation = invite_to_survey(
        customer, Touchpoint.SALES, about_event=order, channel=InvitationChannel.PORTAL
    )
    assert invitation is not None
    label = Label.objects.create(customer=customer, kind="case", object_id=case.pk, name="mine")
    pin = Pin.objects.create(customer=customer, case=case)
    nickname = Nickname.objects.create(customer=customer, asset=asset, name=f"{marker} old one")
    export = build_export(customer)
    return Everything(
        customer=customer,
        login=login,
        case=case,
        task=task,
        message=message,
        note=note,
        order=order,
        asset=asset,
        attachment=attachment,
        export=export,
        invitation=invitation,
        label=label,
        pin=pin,
        nickname=nickname,
    )


def with_proposed_resolution(case: Case, agent: User) -> Case:
    return propose_resolution(case=case, summary="New charger sent", actor=agent)
