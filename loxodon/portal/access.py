"""Who is signed in to the portal, and the one way portal views get the customer's objects.

The portal keeps its own session key (a staff sign-in never opens the portal, nor the reverse).
Every portal read of customer data goes through `own_or_404`-style selectors built on
`customer_scope`: an object of another customer is a 404 exactly like one that does not exist,
and the attempt is logged (customer, kind, id — never tokens).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from loxodon.customers.models import Customer
from loxodon.portal.models import PortalLogin

if TYPE_CHECKING:
    from loxodon.cases.models import Case

SESSION_KEY = "portal_login_id"
log = logging.getLogger("loxodon.portal.access")
M = TypeVar("M", bound=Model)


class PortalRequest(HttpRequest):
    portal_login: PortalLogin
    customer: Customer


def current_login(request: HttpRequest) -> PortalLogin | None:
    login_id = request.session.get(SESSION_KEY)
    if not login_id:
        return None
    login = (
        PortalLogin.objects.select_related("customer", "identity")
        .filter(pk=login_id, is_active=True, identity__verified=True)
        .first()
    )
    if login is None:
        request.session.pop(SESSION_KEY, None)
        return None
    customer = login.customer
    # A customer merged into another signs in as the survivor.
    if customer.merged_into_id is not None:
        request.session.pop(SESSION_KEY, None)
        return None
    return login


def start_session(request: HttpRequest, login: PortalLogin) -> None:
    """Sign `login` in: a new session key (no fixation), the login remembered."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(login.pk)
    login.last_sign_in_at = timezone.now()
    login.save(update_fields=["last_sign_in_at", "updated_at"])


def end_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in customers only (others go to the sign-in page); sets request.customer."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        login = current_login(request)
        if login is None:
            return redirect(f"{reverse('portal:sign-in')}?next={request.path}")
        request.portal_login = login  # type: ignore[attr-defined]
        request.customer = login.customer  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "private, no-store")
        # same-origin, not no-referrer: with no-referrer browsers post forms with `Origin: null`,
        # which Django's CSRF check refuses; nothing secret is ever in a portal URL anyway.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return wrapped


def not_found(customer: Customer, kind: str, object_id: object) -> Http404:
    """The 404 for someone else's (or no) object, logged for the security trail."""
    log.warning(
        "portal: customer %s asked for %s %s: not theirs or does not exist",
        customer.pk,
        kind,
        str(object_id)[:64],
    )
    return Http404("not found")


def cases_visible_to(login: PortalLogin) -> QuerySet[Case]:
    """The cases this login may see: the customer's own, plus (for an account admin) every case
    of a customer of the same business account. Merged-away customers own nothing."""
    from loxodon.cases.models import Case

    customer = login.customer
    if login.is_account_admin and customer.account_id is not None:
        return Case.objects.filter(
            customer__account_id=customer.account_id, customer__merged_into__isnull=True
        )
    return Case.objects.filter(customer=customer)


def own_or_404(queryset: QuerySet[M], customer: Customer, object_id: object, kind: str) -> M:
    """One object from a queryset already scoped to the customer, or a logged 404."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        raise not_found(customer, kind, object_id) from None
    found = queryset.filter(pk=key).first()
    if found is None:
        raise not_found(customer, kind, object_id)
    return found
