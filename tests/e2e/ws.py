"""A small WebSocket test client over the real `websockets` library."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from django.contrib.auth.models import User
from django.test import Client


class WsClient:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str, **options: Any) -> WsClient:
        return cls(await websockets.connect(url, **options))

    async def send(self, message_type: str, data: Any = None, **extra: Any) -> None:
        body: dict[str, Any] = {"type": message_type, **extra}
        if data is not None:
            body["data"] = data
        await self.connection.send(json.dumps(body))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        return dict(json.loads(await asyncio.wait_for(self.connection.recv(), timeout)))

    async def recv_type(self, message_type: str, timeout: float = 15) -> dict[str, Any]:
        """The next message of this type, skipping others (updates may interleave)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message["type"] == message_type:
                    return message

    async def close(self) -> None:
        await self.connection.close()


async def first_event(url: str, headers: dict[str, str] | None = None) -> str:
    """Open a socket and say what came first: a message type, or `closed <code>`."""
    client = await WsClient.open(url, additional_headers=headers)
    try:
        return str((await client.recv())["type"])
    except websockets.ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else None}"
    finally:
        await client.close()


def session_cookie(user: User) -> dict[str, str]:
    """Headers for a socket logged in as `user` (a real session in the shared database)."""
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
