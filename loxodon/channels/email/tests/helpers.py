"""Test helpers: a minimal but valid TNEF (winmail.dat) writer, and corpus templating."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from loxodon.channels.email import tokens

CORPUS = Path(__file__).parent / "corpus"


def _tnef_object(level: int, attribute: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", checksum)


def tnef(files: list[tuple[str, bytes]], body: bytes = b"") -> bytes:
    """An Outlook winmail.dat holding `files` (what Outlook sends with 'Rich Text' mail)."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_object(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    if body:
        out += _tnef_object(1, 0x0002800C, body)  # attBody
    for name, data in files:
        out += _tnef_object(2, 0x00069002, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)
        out += _tnef_object(2, 0x00018010, name.encode("ascii") + b"\x00")  # attAttachTitle
        out += _tnef_object(2, 0x0006800F, data)  # attAttachData
    return out


def tampered(address: str) -> str:
    """A reply address whose signature has one character changed."""
    local, _, domain = address.rpartition("@")
    flipped = "a" if local[-1] != "a" else "b"
    return f"{local[:-1]}{flipped}@{domain}"


def render(name: str, *, case_id: uuid.UUID, customer_email: str) -> bytes:
    """A corpus message with its placeholders filled (tokens depend on the secret key)."""
    raw = (CORPUS / name).read_bytes()
    html_row = b"<tr><td>Order line</td><td>Laptop bag, black</td><td>12.00</td></tr>\n"
    values = {
        b"{{REPLY_ADDRESS}}": tokens.reply_address(case_id).encode(),
        b"{{TAMPERED_ADDRESS}}": tampered(tokens.reply_address(case_id)).encode(),
        b"{{OUR_MESSAGE_ID}}": tokens.message_id(case_id, uuid.uuid4()).encode(),
        b"{{CASE_ID}}": str(case_id).encode(),
        b"{{CUSTOMER_EMAIL}}": customer_email.encode(),
        b"{{HUGE_HTML_ROWS}}": html_row * (2 * 1024 * 1024 // len(html_row)),
        b"{{BIG_ATTACHMENT}}": _base64_lines(b"\x89PNG" + b"\x00" * (300 * 1024)),
    }
    for key, value in values.items():
        raw = raw.replace(key, value)
    return raw


def _base64_lines(data: bytes) -> bytes:
    import base64

    encoded = base64.b64encode(data)
    return b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
