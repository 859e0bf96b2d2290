"""Forms for the case actions: they validate shape; services decide what is allowed."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from loxodon.core.event_types import Channel
from loxodon.org.models import Department, User


class DeskForm(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else ("form-control form-control-sm")
            )
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        dept = f" · {obj.department.name}" if obj.department_id else ""
        return f"{obj.display_name} ({obj.username}){dept}"


def _staff() -> Any:
    return (
        User.objects.filter(is_active=True)
        .select_related("department")
        .order_by("first_name", "last_name")
    )


class AssignForm(DeskForm):
    owner = StaffChoice(queryset=_staff(), label="Owner")


class TaskForm(DeskForm):
    department = forms.ModelChoiceField(queryset=Department.objects.all(), label="Department")
    title = forms.CharField(max_length=200, label="What needs doing")
    assignee = StaffChoice(queryset=_staff(), required=False, label="Assignee (optional)")


class CompleteTaskForm(DeskForm):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What was done")


class NoteForm(DeskForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Internal note")


class HandoffForm(DeskForm):
    to = StaffChoice(queryset=_staff(), label="Hand off to")
    context = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Context for the receiver",
        help_text="Who the customer is, what they want, what was done, what is next.",
    )


class ProposeForm(DeskForm):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="What we did / what we believe fixed it"
    )


class ConfirmForm(DeskForm):
    via = forms.ChoiceField(
        choices=[(c, c.replace("_", " ").title()) for c in Channel.ALL if c != "system"],
        label="The customer confirmed by",
    )
    event_id = forms.ChoiceField(required=False, label="From this contact")

    def __init__(self, *args: Any, contacts: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["event_id"])
        field.choices = [("", "— not linked —")] + [
            (str(e.id), f"{e.occurred_at:%d %b %H:%M} · {e.channel} · {e.summary[:60]}")
            for e in contacts or []
        ]


class ReasonForm(DeskForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason")


class WaitingForm(DeskForm):
    on = forms.ChoiceField(
        choices=[
            ("customer", "Waiting on the customer"),
            ("us", "Waiting on us"),
            ("none", "Not waiting (open)"),
        ],
        label="Whose move is it?",
    )
    reason = forms.CharField(required=False, max_length=500, label="Why (optional)")


class RepeatForm(DeskForm):
    what = forms.CharField(required=False, max_length=200, label="What did they have to repeat?")


class OpenCaseForm(DeskForm):
    problem = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="The problem, in the customer's words",
        max_length=20_000,
    )
    priority = forms.ChoiceField(
        choices=[("normal", "Normal"), ("high", "High"), ("urgent", "Urgent"), ("low", "Low")],
        initial="normal",
        label="Priority",
    )
