"""Chat sockets, routed by `loxodon.asgi` before the desk's (see consumers.py for the frames).

The visitor's socket is opened from the company's own sites (other origins): its consumer
checks the Origin against the web property itself and needs no session. The agent's socket is
the desk's: allowed hosts only, with the session user.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, path

from loxodon.channels.chat.consumers import AgentChatConsumer, VisitorChatConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/chat/", VisitorChatConsumer.as_asgi()),
    path(
        "ws/chat/agent/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(AgentChatConsumer.as_asgi())),
    ),
]
