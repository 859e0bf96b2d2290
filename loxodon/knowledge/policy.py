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
