"""Erasing a customer from the customer page (admins): the form in `desk/_erase_customer.html`.

The admin types the customer's name to confirm; the POST calls `customers.erasure.erase_customer`,
the same service as the API and `loxodon erase_customer`, and returns to the (now pseudonymised)
customer page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from loxodon.core.access import require_admin
from loxodon.core.errors import Conflict, InvalidInput
from loxodon.customers.erasure import erase_customer
from loxodon.customers.selectors import get_customer_for
from loxodon.desk.views import DeskRequest, desk_view


@desk_view
@require_POST
def erase(request: DeskRequest, customer_id: str) -> HttpResponse:
    require_admin(request.user)
    customer = get_customer_for(request.user, customer_id)
    back = redirect("desk:customer", customer_id=customer.pk)
    typed = " ".join(request.POST.get("confirm_name", "").split())
    if typed.casefold() != " ".join(customer.name.split()).casefold():
        messages.error(request, "Not erased: the name typed does not match the customer's name.")
        return back
    try:
        done = erase_customer(
            customer_id=customer.pk, by=request.user, reason=request.POST.get("reason", "")
        )
    except (Conflict, InvalidInput) as exc:
        messages.error(request, f"Not erased: {exc.detail}")
        return back
    messages.success(
        request,
        f"Customer erased ({sum(done.rows.values())} records changed; erasure {done.pk}).",
    )
    return back
