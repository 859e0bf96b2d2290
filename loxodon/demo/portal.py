"""The demo's customer portal: story 5's Daniel signs in with a password, Priya administers
Northwind's account, Margaret uses emailed links only."""

from __future__ import annotations

from loxodon.customers.models import Customer
from loxodon.insights.models import InvitationChannel, Touchpoint
from loxodon.insights.services import invite_to_survey
from loxodon.portal.auth import create_portal_login
from loxodon.portal.models import PortalLogin
from loxodon.timeline.models import Event

# (story key, portal password or None for links only, account admin)
PORTAL_LOGINS = (("daniel", True, False), ("priya", True, True), ("margaret", False, False))


def seed_portal(people: dict[str, Customer], emails: dict[str, str], password: str) -> int:
    """Portal logins for the story customers, and Daniel's survey about his laptop order."""
    made: list[PortalLogin] = []
    for key, with_password, admin in PORTAL_LOGINS:
        made.append(
            create_portal_login(
                customer=people[key],
                email=emails[key],
                password=password if with_password else None,
                is_account_admin=admin,
            )
        )
    # Story 5: Daniel rates the earlier sales experience as well as the service.
    daniel = people["daniel"]
    order = Event.objects.filter(customer=daniel, kind="order").order_by("-occurred_at").first()
    if order is not None:
        invite_to_survey(
            daniel, Touchpoint.SALES, about_event=order, channel=InvitationChannel.PORTAL
        )
    return len(made)
