"""Forms of "my picture": labelled fields, limits stated, errors in plain words."""

from __future__ import annotations

from django import forms

from loxodon.portal.services import (
    ALLOWED_LIST,
    MAX_LABEL_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_NICKNAME_CHARS,
)

ATTACH_HELP = f"Optional. Up to 10 MB; {ALLOWED_LIST}."


class MessageForm(forms.Form):
    text = forms.CharField(
        label="Your message",
        required=False,
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachment = forms.FileField(label="Attach a file", required=False, help_text=ATTACH_HELP)


class NotFixedForm(forms.Form):
    text = forms.CharField(
        label="What is still wrong?",
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Tell us what is still wrong, so we can pick it up."},
    )


class NewRequestForm(forms.Form):
    problem = forms.CharField(
        label="Describe your problem in your own words",
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Describe your problem, so we know how to help."},
    )
    attachment = forms.FileField(label="Attach a file", required=False, help_text=ATTACH_HELP)


class NicknameForm(forms.Form):
    name = forms.CharField(label="Nickname", required=False, max_length=MAX_NICKNAME_CHARS)


class LabelForm(forms.Form):
    kind = forms.ChoiceField(choices=[("case", "case"), ("event", "event"), ("asset", "asset")])
    object_id = forms.UUIDField()
    name = forms.CharField(label="Label", max_length=MAX_LABEL_CHARS)
    op = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")], required=False)
