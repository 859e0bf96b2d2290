from __future__ import annotations

from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the production ASGI server (uvicorn) with N worker processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--log-level", default="warning")

    def handle(self, *args: Any, **options: Any) -> None:
        uvicorn.run(
            "loxodon.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            log_level=options["log_level"],
            lifespan="off",
            http="loxodon.core.asgi_server:NoDelayH11Protocol",
        )
