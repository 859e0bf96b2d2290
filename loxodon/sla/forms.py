"""Forms of the service-standards page: they validate shape and explain mistakes; the services
decide what is allowed (who may edit which site) and write."""

from __future__ import annotations

from datetime import time
from typing import Any, cast

from django import forms

from loxodon.cases.models import Priority
from loxodon.desk.forms import DeskForm
from loxodon.org.models import Department, Site
from loxodon.sla.services import StandardTerms

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CENTRAL = "central"
MIDNIGHT = time(0)


def scope_choices(sites: list[Site], *, central: bool = True) -> list[tuple[str, str]]:
    head = [(CENTRAL, "Central (every site)")] if central else []
    return head + [(s.code, f"{s.name} ({s.code})") for s in sites]


class SlaForm(DeskForm):
    """Bootstrap's check class on checkboxes (DeskForm gives every widget form-control), and
    invalid fields marked for assistive technology (aria-invalid, described by the error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checkboxes()

    def _checkboxes(self) -> None:
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].id_for_label}-error"


class ScopedForm(SlaForm):
    """A form with a `scope` field: "central" or a site code. Every site is accepted (the
    service answers 403 for a scope the user may not edit); the select offers `editable`."""

    scope = forms.ChoiceField(label="Applies to")

    def __init__(self, *args: Any, editable: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sites = list(Site.objects.all())
        field = cast(forms.ChoiceField, self.fields["scope"])
        field.choices = scope_choices(sites)
        field.widget.choices = editable
        self.sites = {s.code: s for s in sites}

    def site(self) -> Site | None:
        code = self.cleaned_data["scope"]
        return None if code == CENTRAL else self.sites[code]


def _minutes(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=525_600,
        help_text="business minutes; empty = no target",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "data-sla-minutes": ""}),
    )


class StandardForm(ScopedForm):
    priority = forms.ChoiceField(choices=Priority.choices, label="Priority")
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label="Any department",
        label="Case type (owner's department)",
    )
    name = forms.CharField(max_length=120, required=False, label="Name")
    first_response_minutes = _minutes("First response")
    next_response_minutes = _minutes("Next response")
    resolution_minutes = _minutes("Resolution (customer confirmed)")
    warn_at_percent = forms.IntegerField(
        label="Warn at",
        min_value=1,
        max_value=100,
        initial=80,
        help_text="% of a target's business time used",
    )
    reassign_on_breach = forms.BooleanField(
        required=False, label="On a breach, hand the case to a supervisor of its site"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        if first is not None and resolution is not None and resolution < first:
            self.add_error("resolution_minutes", "Resolution must be at least the first response.")
        targets = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
        if not self.errors and all(data.get(t) is None for t in targets):
            raise forms.ValidationError("Set at least one target.")
        return data

    def values(self) -> dict[str, Any]:
        """Keyword arguments for `services.add_standard` / `edit_standard`."""
        data = self.cleaned_data
        return {
            "site": self.site(),
            "department": data["department"],
            "terms": StandardTerms(
                priority=data["priority"],
                name=data["name"],
                first_response_minutes=data["first_response_minutes"],
                next_response_minutes=data["next_response_minutes"],
                resolution_minutes=data["resolution_minutes"],
                warn_at_percent=data["warn_at_percent"],
                reassign_on_breach=data["reassign_on_breach"],
            ),
        }


class HoursForm(SlaForm):
    """A week of opening hours: one span per day, or closed; or 24/7; or (a site) the central
    hours. Closing at 00:00 means midnight at the end of the day."""

    MODES = (
        ("inherit", "Use the central hours"),
        ("always", "Open 24/7"),
        ("weekly", "These hours"),
    )
    mode = forms.ChoiceField(widget=forms.RadioSelect, label="Opening hours")

    def __init__(self, *args: Any, central: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mode = cast(forms.ChoiceField, self.fields["mode"])
        mode.choices = self.MODES[1:] if central else self.MODES
        mode.widget.attrs["class"] = "form-check-input"
        for day, label in enumerate(WEEKDAYS):
            self.fields[f"opens_{day}"] = forms.TimeField(
                required=False,
                label=f"{label} opens",
                widget=forms.TimeInput(
                    attrs={"type": "time", "class": "form-control form-control-sm"}
                ),
            )
            self.fields[f"closes_{day}"] = forms.TimeField(
                required=False,
                label=f"{label} closes",
                widget=forms.TimeInput(
                    attrs={"type": "time", "class": "form-control form-control-sm"}
                ),
            )
            self.fields[f"closed_{day}"] = forms.BooleanField(
                required=False, label=f"{label} closed"
            )
        self._checkboxes()

    def days(self) -> list[dict[str, Any]]:
        """Per weekday: its label and bound fields (for the table)."""
        return [
            {
                "label": label,
                "opens": self[f"opens_{day}"],
                "closes": self[f"closes_{day}"],
                "closed": self[f"closed_{day}"],
            }
            for day, label in enumerate(WEEKDAYS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") != "weekly":
            return data
        open_days = 0
        for day, label in enumerate(WEEKDAYS):
            if data.get(f"closed_{day}"):
                continue
            opens, closes = data.get(f"opens_{day}"), data.get(f"closes_{day}")
            if f"opens_{day}" in self.errors or f"closes_{day}" in self.errors:
                continue
            if opens is None or closes is None:
                self.add_error(
                    f"opens_{day}", f"{label}: set opening and closing times, or tick closed."
                )
                continue
            if not (closes > opens or closes == MIDNIGHT):
                self.add_error(
                    f"closes_{day}", f"{label}: closing must be after opening (00:00 = midnight)."
                )
                continue
            open_days += 1
        if not self.errors and open_days == 0:
            raise forms.ValidationError(
                "Every day is closed: open at least one day (or choose another option)."
            )
        return data

    def spans(self) -> list[tuple[int, time, time]]:
        """The spans for `services.set_business_hours` (empty: inherit / 24/7 centrally)."""
        data = self.cleaned_data
        if data["mode"] == "inherit":
            return []
        if data["mode"] == "always":
            return [(day, MIDNIGHT, MIDNIGHT) for day in range(7)]
        return [
            (day, data[f"opens_{day}"], data[f"closes_{day}"])
            for day in range(7)
            if not data.get(f"closed_{day}")
        ]

    @classmethod
    def initial_for(cls, rows: list[Any], *, central: bool) -> dict[str, Any]:
        """The form's initial values from the scope's own rows (one span per day shown)."""
        if not rows:
            return {"mode": "always" if central else "inherit"}
        by_day = {r.weekday: r for r in rows}
        if all(
            d in by_day and by_day[d].opens == MIDNIGHT and by_day[d].closes == MIDNIGHT
            for d in range(7)
        ):
            return {"mode": "always"}
        initial: dict[str, Any] = {"mode": "weekly"}
        for day in range(7):
            row = by_day.get(day)
            if row is None:
                initial[f"closed_{day}"] = True
            else:
                initial[f"opens_{day}"] = row.opens.strftime("%H:%M")
                initial[f"closes_{day}"] = row.closes.strftime("%H:%M")
        return initial


class HolidayForm(ScopedForm):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(max_length=120, label="Name")
