"""Policy parameters and authority limits: the typed shape of `ArticleVersion.policy`.

    {"parameters": [
        {"key": "return_window", "label": "Return window", "type": "days", "value": 30,
         "authority": {"agent": 15, "supervisor": 60}},
        {"key": "supported_os", "label": "Supported operating systems", "type": "list",
         "value": ["Windows 11", "Windows 10"], "authority": {"agent": 0, "supervisor": 1}},
        {"key": "refurbished_warranty", "label": "Refurbished warranty", "type": "days",
         "value": 90, "authority": {"agent": 0, "supervisor": 90}}]}

Types: `days` and `integer` (authority: how far beyond the value a role may go), `list` (how many
items a role may add), `boolean` (1: the role may grant the opposite), `text` (1: may grant other
text). A role missing from `authority` has none (0); admins are never limited.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from loxodon.core.errors import InvalidInput

ParameterType = Literal["days", "integer", "list", "boolean", "text"]
ROLES = ("agent", "supervisor", "admin")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class Parameter(BaseModel):
    key: str
    label: str = Field(min_length=1, max_length=120)
    type: ParameterType
    value: Any
    unit: str = ""
    authority: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError("key must be lower-case letters, digits and _ (e.g. return_window)")
        return key

    @field_validator("authority")
    @classmethod
    def _roles(cls, authority: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(authority) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role {', '.join(unknown)}; roles are {', '.join(ROLES)}")
        return authority

    @model_validator(mode="after")
    def _value_matches_type(self) -> Parameter:
        ok = {
            "days": isinstance(self.value, int) and not isinstance(self.value, bool),
            "integer": isinstance(self.value, int) and not isinstance(self.value, bool),
            "list": isinstance(self.value, list) and all(isinstance(v, str) for v in self.value),
            "boolean": isinstance(self.value, bool),
            "text": isinstance(self.value, str),
        }[self.type]
        if not ok:
            raise ValueError(f"{self.key}: a {self.type} parameter needs a {self.type} value")
        return self


class PolicySpec(BaseModel):
    parameters: list[Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> PolicySpec:
        keys = [p.key for p in self.parameters]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ValueError(f"parameter keys must be unique: {', '.join(duplicated)}")
        return self

    def parameter(self, key: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.key == key:
                return parameter
        raise InvalidInput(
            f"this policy has no parameter {key!r}; it has "
            + ", ".join(p.key for p in self.parameters)
        )


def parse_policy(data: Any) -> PolicySpec:
    """The validated policy, or InvalidInput naming every problem."""
    try:
        return PolicySpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"invalid policy: {problems}") from None


# --- authority: how far a member of staff may depart from a parameter ----------------------------

_TRUE = {"yes", "true", "1", "on", "y"}
_FALSE = {"no", "false", "0", "off", "n"}
MAX_TEXT = 500


def authority_of(parameter: Parameter, user: Any) -> float | None:
    """How far `user`'s role may go beyond `parameter` (None: without limit, i.e. admins).

    `days`/`integer`: extra units; `list`: extra items; `boolean`/`text`: ≥ 1 means may change it.
    A role the policy does not list has no authority (0).
    """
    if getattr(user, "is_admin_role", False):
        return None
    return float(parameter.authority.get(str(getattr(user, "role", "")), 0))


def covers(parameter: Parameter, user: Any, excess: Decimal) -> bool:
    """Does `user`'s own authority cover a departure of `excess`?"""
    limit = authority_of(parameter, user)
    return limit is None or Decimal(str(limit)) >= excess


def _amount(limit: float) -> str:
    return f"{limit:g}"


def describe_value(parameter: Parameter, value: Any) -> str:
    """A parameter value in words: "30 days", "Windows 11, Windows 10", "yes"."""
    if parameter.type == "days":
        return f"{value} day{'' if value == 1 else 's'}"
    if parameter.type == "integer":
        return f"{value} {parameter.unit}".strip()
    if parameter.type == "list":
        return ", ".join(str(v) for v in value) if value else "(none)"
    if parameter.type == "boolean":
        return "yes" if value else "no"
    return str(value)


def describe_authority(parameter: Parameter, user: Any) -> str:
    """What `user` may grant on their own, for the form: "You may extend by up to 15 days; …"."""
    limit = authority_of(parameter, user)
    if limit is None:
        return "You may grant any exception to this parameter yourself (admin)."
    amount = _amount(limit)
    if parameter.type in ("days", "integer"):
        unit = "days" if parameter.type == "days" else (parameter.unit or "")
        if limit <= 0:
            return f"Any extension goes to a supervisor for approval ({parameter.label})."
        return (
            f"You may extend by up to {amount} {unit}".rstrip()
            + "; more goes to a supervisor for approval."
        )
    if parameter.type == "list":
        if limit <= 0:
            return "Any addition goes to a supervisor for approval."
        return (
            f"You may add up to {amount} item{'' if limit == 1 else 's'}; "
            "more goes to a supervisor for approval."
        )
    if limit >= 1:
        return "You may change this yourself."
    return "Any change goes to a supervisor for approval."


def parse_granted(parameter: Parameter, raw: Any) -> Any:
    """The value to grant, typed like the parameter: "45" → 45 for days, "a, b" → ["a", "b"]
    for a list (the items to add, or the whole new list), "yes" → True. InvalidInput if not."""
    kind = parameter.type
    if kind in ("days", "integer"):
        if isinstance(raw, bool):
            raise InvalidInput(f"value: {parameter.label} needs a whole number")
        if isinstance(raw, int):
            return raw
        text = str(raw if raw is not None else "").strip().lower()
        if kind == "days":
            text = re.sub(r"\s*days?$", "", text)
        if not re.fullmatch(r"-?\d{1,9}", text):
            what = "number of days" if kind == "days" else "whole number"
            raise InvalidInput(
                f"value: {parameter.label} needs a {what}, e.g. 45; got {str(raw)[:40]!r}"
            )
        return int(text)
    if kind == "list":
        if isinstance(raw, list):
            items = [str(v).strip() for v in raw]
        else:
            items = [part.strip() for part in re.split(r"[,\n;]", str(raw or ""))]
        items = [i for i in items if i]
        if not items:
            raise InvalidInput(
                f"value: name the item(s) to add to {parameter.label}, separated by commas"
            )
        if any(len(i) > 200 for i in items):
            raise InvalidInput("value: each item at most 200 characters")
        merged = list(parameter.value)
        for item in items:
            if item not in merged:
                merged.append(item)
        return merged
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw if raw is not None else "").strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInput(f"value: {parameter.label} is yes or no; got {str(raw)[:40]!r}")
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise InvalidInput(f"value: say what {parameter.label} should be")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"value: at most {MAX_TEXT} characters")
    return text


def excess_of(parameter: Parameter, granted: Any) -> Decimal:
    """How far `granted` goes beyond the policy; InvalidInput if it does not go beyond it at all
    (granting less than the policy, or the same, is not an exception)."""
    kind, value = parameter.type, parameter.value
    if kind in ("days", "integer"):
        unit = "days" if kind == "days" else (parameter.unit or "")
        if granted <= value:
            raise InvalidInput(
                f"value: the policy already gives {describe_value(parameter, value)}; "
                f"{granted} {unit} is not more than that, so it is not an exception".replace(
                    "  ", " "
                )
            )
        return Decimal(granted - value)
    if kind == "list":
        added = [item for item in granted if item not in value]
        if not added:
            raise InvalidInput(
                f"value: every item is already in the policy ({describe_value(parameter, value)})"
                "; nothing to grant"
            )
        return Decimal(len(added))
    if granted == value:
        raise InvalidInput(
            f"value: the policy already says {describe_value(parameter, value)}; "
            "that is not an exception"
        )
    return Decimal(1)
