"""The textbook setup: a consumer per socket in every group it watches, `send_json` per socket.

    uvicorn bench.fanout.textbook_app:application  (with the Procfile's flags)

What the Channels tutorial teaches: `group_add(group, self.channel_name)` for each
subscription, the publisher's `group_send` per symbol reaches every consumer's channel,
and a handler named after the message type writes it with `send_json`.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.fanout.textbook_settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from apps.streams.frames import wire_time  # noqa: E402
from apps.streams.groups import asset_group  # noqa: E402


class TextbookConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: set[str]

    async def connect(self) -> None:
        self.groups_joined = set()
        await self.accept()
        await self.send_json(self._message("connection", {"status": "connected"}))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content.get("type") == "subscribe_asset":
            symbol = str(content["data"]["symbol"])
            group = asset_group(symbol)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
            await self.send_json(self._message("subscribed", {"kind": "asset", "symbol": symbol}))

    async def asset_update(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])

    @staticmethod
    def _message(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "data": data, "timestamp": wire_time()}


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(
            URLRouter([path("ws/realtime/", TextbookConsumer.as_asgi())])
        ),
    }
)
