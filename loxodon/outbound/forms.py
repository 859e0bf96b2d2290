"""The desk's compose form: it offers only the kinds the signed-in person may write."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from loxodon.desk.forms import DeskForm
from loxodon.outbound.models import MessageKind

KIND_LABELS = {
    MessageKind.REPLY: "Reply to the customer",
    MessageKind.QUESTION: "Ask the customer a question (the case then waits on them)",
    MessageKind.RESOLUTION_CHECK: "Ask whether it is solved",
    MessageKind.UPDATE: "Department update (goes out in the owner's next message or digest)",
}


class ComposeForm(DeskForm):
    kind = forms.ChoiceField(label="What is it?")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000, label="Message"
    )

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["kind"])
        field.choices = [(k, KIND_LABELS[MessageKind(k)]) for k in kinds or []]
