"""Signed reply tokens: the only way an inbound email is threaded onto a case.

Every message we send about a case carries the case in two places, each with an HMAC made from
the server's secret key: the Reply-To address (`support+<case>.<sig>@domain`) and our
Message-ID (`<m.<message>.<case>.<sig>@domain>`), which replies quote in In-Reply-To/References.
A subject line "[#1234]" is never trusted: anyone can type it. Tokens are lower-case base32 so
that mail systems that fold the case of addresses do not break them.
"""

from __future__ import annotations

import base64
import hmac
import re
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.utils.crypto import salted_hmac

_SALT = "loxodon.channels.email.reply-token"
_SIG_CHARS = 16  # 80 bits of HMAC-SHA256
_B32 = r"[a-z2-7]{26}"
_ADDRESS_TOKEN = re.compile(rf"\+(?P<case>{_B32})\.(?P<sig>[a-z2-7]{{{_SIG_CHARS}}})@", re.I)
_MESSAGE_ID_TOKEN = re.compile(
    rf"<m\.(?P<msg>{_B32})\.(?P<case>{_B32})\.(?P<sig>[a-z2-7]{{{_SIG_CHARS}}})@", re.I
)


def _b32(u: uuid.UUID) -> str:
    return base64.b32encode(u.bytes).decode().rstrip("=").lower()


def _unb32(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=base64.b32decode(text.upper() + "======"))


def _sig(value: str) -> str:
    digest = salted_hmac(_SALT, value, algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:_SIG_CHARS]


def _domain() -> str:
    return str(settings.LOXODON_SUPPORT_EMAIL).rpartition("@")[2]


def reply_address(case_id: uuid.UUID) -> str:
    """The Reply-To address for mail about this case."""
    local = str(settings.LOXODON_SUPPORT_EMAIL).rpartition("@")[0]
    token = _b32(case_id)
    return f"{local}+{token}.{_sig('case:' + token)}@{_domain()}"


def message_id(case_id: uuid.UUID, message: uuid.UUID) -> str:
    """A Message-ID for an outbound message about this case (angle brackets included)."""
    case_token, msg_token = _b32(case_id), _b32(message)
    sig = _sig(f"msg:{msg_token}:case:{case_token}")
    return f"<m.{msg_token}.{case_token}.{sig}@{_domain()}>"


def is_our_message_id(value: str) -> bool:
    """True for a Message-ID we generated and signed (mail loops back to us)."""
    m = _MESSAGE_ID_TOKEN.search(value or "")
    return m is not None and _valid_message_token(m)


def _valid_message_token(m: re.Match[str]) -> bool:
    msg, case = m["msg"].lower(), m["case"].lower()
    return hmac.compare_digest(m["sig"].lower(), _sig(f"msg:{msg}:case:{case}"))


def case_from_addresses(addresses: Iterable[str]) -> uuid.UUID | None:
    """The case named by a correctly signed reply address among the recipients, if any."""
    for address in addresses:
        m = _ADDRESS_TOKEN.search(address or "")
        if m is None:
            continue
        token = m["case"].lower()
        if hmac.compare_digest(m["sig"].lower(), _sig("case:" + token)):
            return _unb32(token)
    return None


def case_from_references(message_ids: Iterable[str]) -> uuid.UUID | None:
    """The case named by a correctly signed Message-ID of ours quoted in In-Reply-To/References."""
    for value in message_ids:
        for m in _MESSAGE_ID_TOKEN.finditer(value or ""):
            if _valid_message_token(m):
                return _unb32(m["case"].lower())
    return None
