"""uvicorn's HTTP protocol with TCP_NODELAY on every connection.

With several workers, uvicorn 0.54 serves from a shared socket whose accepted connections do
not get TCP_NODELAY (uvicorn issue #3149): small keep-alive responses then wait ~40 ms for a
delayed ACK. Setting it per connection restores single-worker latency. Remove when fixed
upstream.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
