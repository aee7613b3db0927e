"""ASGI entry point for uvicorn: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

from config.boot import settings_load_or_exit

settings_load_or_exit()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models (the WebSocket routes will).
django_asgi_app = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi_app})
