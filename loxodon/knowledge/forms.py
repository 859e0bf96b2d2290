"""Forms of the knowledge desk: they check shape; `services` decides what may be written."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from loxodon.core.errors import DomainError, InvalidInput
from loxodon.knowledge.models import Audience, Category, Tag
from loxodon.knowledge.policy import parse_policy
from loxodon.knowledge.rendering import VARIANT_CHANNELS

BODY_HELP = (
    "Markdown (headings, lists, **bold**, links, tables). A part that applies to some channels "
    "only goes between a line <code>:::phone in_person</code> and a line <code>:::</code>; "
    "channels: " + ", ".join(f"<code>{c}</code>" for c in VARIANT_CHANNELS) + ". "
    "Everything outside such a section is said on every channel."
)
POLICY_HELP = (
    "Leave empty unless this article is a policy. JSON: "
    '<code>{"parameters": [{"key": "return_window", "label": "Return window", '
    '"type": "days", "value": 30, "authority": {"agent": 15, "supervisor": 60}}]}</code>. '
    "Types: days, integer, list, boolean, text; authority is how far beyond the value each "
    "role may go (agent, supervisor; admins are not limited)."
)


class _Bootstrap(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            widget = bound.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class ArticleFilters(forms.Form):
    """The list's filters; a value that does not validate is simply dropped (see `filters`)."""

    category = forms.SlugField(required=False)
    tag = forms.SlugField(required=False)
    audience = forms.ChoiceField(choices=[("", "Any audience"), *Audience.choices], required=False)
    overdue = forms.BooleanField(required=False, label="Review overdue")
    policies = forms.BooleanField(required=False, label="Policies only")
    archived = forms.BooleanField(required=False, label="Include archived")

    def filters(self) -> dict[str, Any]:
        if self.is_valid():
            return dict(self.cleaned_data)
        return {
            name: self.cleaned_data.get(
                name, "" if name in ("category", "tag", "audience") else False
            )
            for name in self.fields
        }


class ArticleForm(_Bootstrap):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=120,
        required=False,
        label="Address (slug)",
        help_text="Optional: made from the title if empty. It cannot change later.",
    )
    audience = forms.ChoiceField(choices=Audience.choices, initial=Audience.INTERNAL)
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label="No category"
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. returns, refurbished",
    )
    review_by = forms.DateField(
        required=False,
        label="Review by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="After this date the article is flagged as needing review.",
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "class": "font-monospace"}),
        help_text=BODY_HELP,
        strip=False,
    )
    policy = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace"}),
        required=False,
        label="Policy parameters",
        help_text=POLICY_HELP,
    )
    change_note = forms.CharField(
        max_length=300, label="Change note", help_text="What changed and why (kept in the history)."
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, editing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["slug"]
        else:
            del self.fields["expected_version"]
            note = self.fields["change_note"]
            note.required = False
            note.help_text = "Optional for a new article (“First version” if empty)."

    def full_clean(self) -> None:
        """A preview saves nothing, so it does not ask for the change note yet."""
        note = self.fields["change_note"]
        required = note.required
        if self.data.get("preview"):
            note.required = False
        try:
            super().full_clean()
        finally:
            note.required = required

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        names = [n.strip() for n in raw.split(",") if n.strip()]
        for name in names:
            if len(name) > 50:
                raise forms.ValidationError(f"tag {name[:20]!r}… is longer than 50 characters")
        return names

    def clean_policy(self) -> dict[str, Any] | None:
        raw = (self.cleaned_data.get("policy") or "").strip()
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        try:
            return parse_policy(data).model_dump()
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from None

    def add_service_error(self, exc: DomainError) -> None:
        """A service's refusal on the field it names ("body: …"), else on the whole form."""
        name, sep, rest = exc.detail.partition(": ")
        if sep and name in self.fields and name != "expected_version":
            self.add_error(name, rest)
        else:
            self.add_error(None, exc.detail)

    @staticmethod
    def tag_text(tags: list[Tag]) -> str:
        return ", ".join(t.name for t in tags)
