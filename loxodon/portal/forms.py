"""Portal forms. Sign-in and account forms (auth_views) are prefixed `SignIn`/`Account`; the
other portal parts keep their forms in their own modules."""

from __future__ import annotations

from django import forms

# --- sign-in and account (auth_views.py) -------------------------------------------------------


def _email_field(label: str, required: str, autocomplete: str = "email") -> forms.EmailField:
    return forms.EmailField(
        label=label,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": autocomplete, "inputmode": "email"}),
        error_messages={
            "required": required,
            "invalid": "Enter an email address like name@example.com.",
        },
    )


class SignInLinkForm(forms.Form):
    email = _email_field("Email address", "Enter the email address you use with us.")


class SignInPasswordForm(forms.Form):
    email = _email_field("Email address", "Enter your email address.", autocomplete="username")
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password."},
    )


class SignInCodeForm(forms.Form):
    code = forms.CharField(
        label="Sign-in code from the email",
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"}
        ),
        error_messages={"required": "Paste the code from the email."},
    )


class AccountPhoneForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "Enter a phone number."},
    )


class AccountAddressForm(forms.Form):
    street = forms.CharField(
        label="Street and number",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        error_messages={"required": "Enter the street and number."},
    )
    city = forms.CharField(
        label="Town or city",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
        error_messages={"required": "Enter the town or city."},
    )
    postcode = forms.CharField(
        label="Postcode",
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.CharField(
        label="Country (e.g. GB)",
        max_length=2,
        min_length=2,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 3}),
        error_messages={"min_length": "Use the two-letter country code, e.g. GB."},
    )


class AccountEmailForm(forms.Form):
    email = _email_field("New email address", "Enter the new email address.")


class AccountPasswordForm(forms.Form):
    current_password = forms.CharField(
        label="Current password",
        required=False,
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="New password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common password, not only numbers.",
        error_messages={"required": "Enter a new password."},
    )


# --- end of sign-in and account forms ----------------------------------------------------------
