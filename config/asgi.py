"""ASGI entry point for uvicorn: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

from config.boot import settings_load_or_exit

settings_load_or_exit()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models (the WebSocket routes do).
django_asgi_app = get_asgi_application()

from apps.realtime.auth import SocketGate  # noqa: E402
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin first (refuse cross-site pages before touching the session), then the user:
        # a token when one is given, else the session login.
        "websocket": SocketGate(URLRouter(websocket_urlpatterns)),
    }
)
