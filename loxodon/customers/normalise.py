"""Normalising identifiers so that one person written ten ways is one value."""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from loxodon.core.errors import InvalidInput
from loxodon.customers.models import IdentityKind


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"'{value}' is not a valid email address") from None
    return email


def normalise_phone(value: str, region: str | None = None) -> str:
    """Any written form → E.164 (+441632960001). Numbers without a country code use `region`."""
    default_region = region or settings.LOXODON_DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"'{value}' is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"'{value}' is not a possible phone number") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_account_number(value: str) -> str:
    cleaned = re.sub(r"[\s\-]", "", value).upper()
    if not cleaned or not cleaned.isalnum():
        raise InvalidInput(f"'{value}' is not an account number (letters and digits)")
    return cleaned


def normalise_legacy(value: str) -> str:
    site, sep, legacy_id = value.partition(":")
    if not sep or not site.strip() or not legacy_id.strip():
        raise InvalidInput(f"legacy id '{value}' must be written SITE:id")
    return f"{site.strip().lower()}:{legacy_id.strip()}"


def normalise_identity(kind: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{kind} must not be empty")
    if kind == IdentityKind.EMAIL:
        return normalise_email(value)
    if kind == IdentityKind.PHONE:
        return normalise_phone(value)
    if kind == IdentityKind.ACCOUNT_NUMBER:
        return normalise_account_number(value)
    if kind == IdentityKind.LEGACY:
        return normalise_legacy(value)
    if kind in IdentityKind.values:
        return value.strip()
    raise InvalidInput(
        f"unknown identity kind '{kind}'; use one of: {', '.join(IdentityKind.values)}"
    )


def normalise_postcode(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()
