"""Portal sign-in (magic link or password), sign-out, and the customer's own contact details.

Thin: rate limits and forms here, every write in `portal.auth` / `portal.profile`.

Secrets: a link's token lives in the URL fragment, which browsers never send to a server; the
link page copies it into a form with a few lines of JS and POSTs it (or the customer pastes the
code). Nothing here logs a token or an address; rate-limit hits log the limit's name and the IP.

Pages holding forms send `Referrer-Policy: same-origin` (the URLs carry no secret): with
`no-referrer` browsers post forms with `Origin: null`, which Django's CSRF check refuses. Every
page is `Cache-Control: no-store`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import get_usage

from loxodon.core.errors import DomainError
from loxodon.portal import auth, profile
from loxodon.portal.access import (
    PortalRequest,
    end_session,
    portal_view,
    safe_next,
    start_session,
)
from loxodon.portal.forms import (
    AccountAddressForm,
    AccountEmailForm,
    AccountPasswordForm,
    AccountPhoneForm,
    SignInCodeForm,
    SignInLinkForm,
    SignInPasswordForm,
)

log = logging.getLogger("loxodon.portal.auth_views")

NEXT_KEY = "portal_next"
GROUP = "loxodon.portal.sign-in"


# --- helpers -----------------------------------------------------------------------------------


def _private(response: HttpResponse, referrer_policy: str = "same-origin") -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = referrer_policy
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _client_ip(request: HttpRequest) -> str:
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    return str(request.META.get(meta_key) or request.META.get("REMOTE_ADDR") or "unknown")


def _over_limit(request: HttpRequest, name: str, key: str | Callable[..., str]) -> int | None:
    """Count one attempt against the named rate; seconds to wait when over it, else None."""
    rate = settings.LOXODON_PORTAL_RATES.get(name)
    if not rate:
        return None
    try:
        usage = get_usage(request, group=f"{GROUP}.{name}", key=key, rate=rate, increment=True)
    except Exception:
        log.warning("portal rate limit %s not checked: cache unavailable", name, exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    log.warning("portal rate limit %s reached from %s", name, _client_ip(request))
    return max(1, int(usage["time_left"]))


def _address_key(email: str) -> Callable[..., str]:
    value = email.strip().lower()
    return lambda group, request: value


def _limited(request: HttpRequest, seconds: int) -> HttpResponse:
    minutes = max(1, (seconds + 59) // 60)
    response = render(request, "portal/sign_in_limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return _private(response)


def _signed_in(request: HttpRequest, login: Any) -> HttpResponse:
    target = request.session.pop(NEXT_KEY, None) or reverse("portal:home")
    start_session(request, login)
    return _private(redirect(target))


# --- signing in --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Email me a link (`method=link`) or email + password (`method=password`)."""
    next_url = safe_next(request, reverse("portal:home"))
    link_form, password_form = SignInLinkForm(prefix="link"), SignInPasswordForm(prefix="pw")
    status = 200
    if request.method == "POST":
        method = request.POST.get("method")
        if method == "link":
            link_form = SignInLinkForm(request.POST, prefix="link")
            if link_form.is_valid():
                email = link_form.cleaned_data["email"]
                wait = _over_limit(request, "link_ip", "ip") or _over_limit(
                    request, "link_address", _address_key(email)
                )
                if wait:
                    return _limited(request, wait)
                auth.request_sign_in_link(email, ip=_client_ip(request))
                request.session[NEXT_KEY] = next_url
                return _private(redirect("portal:sign-in-sent"))
            status = 400
        elif method == "password":
            password_form = SignInPasswordForm(request.POST, prefix="pw")
            if password_form.is_valid():
                email = password_form.cleaned_data["email"]
                wait = _over_limit(request, "password_ip", "ip") or _over_limit(
                    request, "password_address", _address_key(email)
                )
                if wait:
                    return _limited(request, wait)
                try:
                    login = auth.sign_in_with_password(
                        email, password_form.cleaned_data["password"]
                    )
                except auth.SignInRefused:
                    password_form.add_error(
                        None,
                        "That email address and password do not match. Try again, "
                        "or ask for a sign-in link instead.",
                    )
                    status = 400
                else:
                    request.session[NEXT_KEY] = next_url
                    return _signed_in(request, login)
            else:
                status = 400
        else:
            status = 400
    context = {"link_form": link_form, "password_form": password_form, "next": next_url}
    return _private(render(request, "portal/sign_in.html", context, status=status))


def link_sent(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "portal/sign_in_sent.html", {}))


@require_http_methods(["GET", "POST"])
def use_link(request: HttpRequest) -> HttpResponse:
    """GET: the page that reads the fragment (or takes the pasted code); POST: sign in."""
    form, refusal = SignInCodeForm(), ""
    status = 200
    if request.method == "POST":
        form = SignInCodeForm(request.POST)
        wait = _over_limit(request, "code_ip", "ip")
        if wait:
            return _limited(request, wait)
        if form.is_valid():
            try:
                login = auth.use_sign_in_link(form.cleaned_data["code"])
            except auth.SignInRefused as exc:
                # a fresh form: the refused code is not echoed back into the page
                form, refusal = SignInCodeForm(), exc.detail
            else:
                return _signed_in(request, login)
        status = 400
    context = {"form": form, "refusal": refusal}
    page = render(request, "portal/sign_in_code.html", context, status=status)
    return _private(page)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    end_session(request)
    messages.info(request, "You are signed out.")
    return _private(redirect("portal:sign-in"))


# --- my details --------------------------------------------------------------------------------


def _account_page(request: PortalRequest, status: int = 200, **forms_: Any) -> HttpResponse:
    login = request.portal_login
    customer = request.customer
    phone = profile.current_phone(customer)
    context = {
        "login": login,
        "customer": customer,
        "email": login.identity.value,
        "phone": phone.value if phone else "",
        "address": profile.address_of(customer),
        "has_password": bool(login.password),
        "phone_form": forms_.get("phone_form")
        or AccountPhoneForm(prefix="phone", initial={"phone": phone.value if phone else ""}),
        "address_form": forms_.get("address_form")
        or AccountAddressForm(
            prefix="address",
            initial={
                "street": customer.street,
                "city": customer.city,
                "postcode": customer.postcode,
                "country": customer.country,
            },
        ),
        "email_form": forms_.get("email_form") or AccountEmailForm(prefix="email"),
        "password_form": forms_.get("password_form") or AccountPasswordForm(prefix="password"),
        "open": forms_.get("open", ""),
    }
    return _private(render(request, "portal/account.html", context, status=status))


@portal_view
@require_http_methods(["GET", "POST"])
def account(request: PortalRequest) -> HttpResponse:
    """My details; POST `form=phone` or `form=address` corrects one of them."""
    if request.method != "POST":
        return _account_page(request)
    which = request.POST.get("form")
    if which == "phone":
        phone_form = AccountPhoneForm(request.POST, prefix="phone")
        if phone_form.is_valid():
            try:
                profile.change_phone(request.portal_login, phone_form.cleaned_data["phone"])
            except DomainError as exc:
                phone_form.add_error("phone", exc.detail)
            else:
                messages.success(request, "Your phone number is updated.")
                return _private(redirect("portal:account"))
        return _account_page(request, 400, phone_form=phone_form, open="phone")
    if which == "address":
        address_form = AccountAddressForm(request.POST, prefix="address")
        if address_form.is_valid():
            try:
                profile.change_address(request.portal_login, **address_form.cleaned_data)
            except DomainError as exc:
                address_form.add_error(None, exc.detail)
            else:
                messages.success(request, "Your address is updated.")
                return _private(redirect("portal:account"))
        return _account_page(request, 400, address_form=address_form, open="address")
    messages.error(request, "That form was not recognised; nothing was changed.")
    return _account_page(request, 400)


@portal_view
@require_POST
def change_email(request: PortalRequest) -> HttpResponse:
    email_form = AccountEmailForm(request.POST, prefix="email")
    if email_form.is_valid():
        wait = _over_limit(request, "email_change", "ip")
        if wait:
            return _limited(request, wait)
        try:
            profile.request_email_change(request.portal_login, email_form.cleaned_data["email"])
        except DomainError as exc:
            email_form.add_error("email", exc.detail)
        else:
            messages.success(
                request,
                "We have sent a link to the new address. Your email changes when you open it "
                "(within 15 minutes). We also told your current address.",
            )
            return _private(redirect("portal:account"))
    return _account_page(request, 400, email_form=email_form, open="email")


@portal_view
@require_http_methods(["GET", "POST"])
def confirm_email(request: PortalRequest) -> HttpResponse:
    """Like the sign-in link page, for a confirm_email link of the signed-in login."""
    form, refusal = SignInCodeForm(), ""
    status = 200
    if request.method == "POST":
        wait = _over_limit(request, "code_ip", "ip")
        if wait:
            return _limited(request, wait)
        form = SignInCodeForm(request.POST)
        if form.is_valid():
            try:
                identity = profile.confirm_email_change(
                    request.portal_login, form.cleaned_data["code"]
                )
            except auth.SignInRefused:
                form, refusal = (
                    SignInCodeForm(),
                    "That link did not work: it may be used, expired, or for another "
                    "sign-in. Ask for a new one on your account page.",
                )
            except DomainError as exc:
                form, refusal = SignInCodeForm(), exc.detail
            else:
                messages.success(request, f"Your email address is now {identity.value}.")
                return _private(redirect("portal:account"))
        status = 400
    context = {"form": form, "refusal": refusal}
    page = render(request, "portal/account_confirm_email.html", context, status=status)
    return _private(page)


@portal_view
@require_POST
def set_password(request: PortalRequest) -> HttpResponse:
    password_form = AccountPasswordForm(request.POST, prefix="password")
    if password_form.is_valid():
        wait = _over_limit(request, "password_ip", "ip")
        if wait:
            return _limited(request, wait)
        try:
            auth.set_password(
                request.portal_login,
                new_password=password_form.cleaned_data["new_password"],
                current_password=password_form.cleaned_data["current_password"],
            )
        except DomainError as exc:
            password_form.add_error(None, exc.detail)
        else:
            messages.success(request, "Your password is set.")
            return _private(redirect("portal:account"))
    return _account_page(request, 400, password_form=password_form, open="password")
