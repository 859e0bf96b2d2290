"""ASGI entry point (uvicorn via `loxodon serve`, daphne via `loxodon runserver`).

HTTP goes to Django; WebSockets (the desk's live updates) to Channels, with the session user.
"""

from __future__ import annotations

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loxodon.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from loxodon.channels.chat.routing import (  # noqa: E402
    websocket_urlpatterns as chat_websockets,
)
from loxodon.desk.routing import websocket_urlpatterns as desk_websockets  # noqa: E402
from loxodon.insights.log_filters import RedactSurveyTokens  # noqa: E402

# uvicorn's access log has its own handlers (not LOGGING's): survey links carry their token in
# the path, so the filter sits on the logger itself, whatever handler prints it
logging.getLogger("uvicorn.access").addFilter(RedactSurveyTokens())

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # The chat widget is embedded in the company's own sites (other origins); its consumer
        # checks the origin against the web property itself, so it is routed before the
        # allowed-hosts validator that guards the desk's socket.
        "websocket": URLRouter(
            [
                *chat_websockets,
                re_path(
                    r"",
                    AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(desk_websockets))),
                ),
            ]
        ),
    }
)
