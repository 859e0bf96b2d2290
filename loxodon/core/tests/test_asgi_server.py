from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.server import ServerState

from loxodon.core.asgi_server import NoDelayH11Protocol


def test_every_accepted_connection_gets_tcp_nodelay() -> None:
    async def scenario() -> int:
        async def app(scope: object, receive: object, send: object) -> None:
            return None

        config = uvicorn.Config(app=app, lifespan="off")
        config.load()
        state = ServerState()
        made: list[NoDelayH11Protocol] = []

        def factory() -> NoDelayH11Protocol:
            protocol = NoDelayH11Protocol(config=config, server_state=state, app_state={})
            made.append(protocol)
            return protocol

        loop = asyncio.get_running_loop()
        # A listening socket re-created from its file descriptor, as uvicorn's workers receive
        # it: its proto is 0, so asyncio's own TCP_NODELAY (IPPROTO_TCP sockets only) is skipped.
        original = socket.socket()
        original.bind(("127.0.0.1", 0))
        original.listen()
        listener = socket.fromfd(original.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        original.close()
        server = await loop.create_server(factory, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if made and made[0].transport is not None:
                break
            await asyncio.sleep(0.01)
        sock = made[0].transport.get_extra_info("socket")
        nodelay = int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        server.close()
        return nodelay

    assert asyncio.run(scenario()) == 1
