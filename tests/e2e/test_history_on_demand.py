"""A chart missing its daily bars, end to end: real uvicorn answers `loading` and queues one
fetch however often it is asked; a real Celery worker fetches on the simulated source, and
the signed-in asker's socket hears `history_ready`; the series then answers `ready`."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from django.conf import settings

from apps.market.providers.simulated import SimulatedProvider
from apps.market.requests import PRICE_HISTORY_TASK
from config.redis_client import redis_client
from tests.conftest import LiveServer
from tests.e2e.ws import WsClient, session_cookie
from tests.factories import asset_priced, user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

QUEUE = f"{settings.REDIS_KEY_PREFIX}:celery:celery"
SERIES = "/api/market/assets/AAPL/series/?range=1m"


def queued_fetches() -> list[dict[str, Any]]:
    """The kwargs of every history fetch waiting for a worker."""
    messages = [orjson.loads(raw) for raw in redis_client().lrange(QUEUE, 0, -1)]
    return [
        orjson.loads(base64.b64decode(m["body"]))[1]
        for m in messages
        if m["headers"]["task"] == PRICE_HISTORY_TASK
    ]


def test_missing_bars_are_fetched_once_and_the_asker_hears_history_ready(
    web_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    user = user_create()
    asset_priced("AAPL", "190", "188")
    headers = session_cookie(user)

    async def scenario() -> tuple[list[Any], list[dict[str, Any]], dict[str, Any], Any]:
        socket = await WsClient.open(web_server.ws_url, additional_headers=headers)
        try:
            assert (await socket.recv_type("connection"))["data"]["user_id"] == user.pk
            async with httpx.AsyncClient(base_url=web_server.http_url, headers=headers) as http:
                # A page and its reload, both before any worker runs.
                asked = [(await http.get(SERIES)).json() for _ in range(2)]
                queued = queued_fetches()
                await asyncio.to_thread(request.getfixturevalue, "celery_worker_process")
                ready = await socket.recv_type("history_ready", timeout=60)
                after = (await http.get(SERIES)).json()
        finally:
            await socket.close()
        return asked, queued, ready, after

    (first, reload), queued, ready, after = asyncio.run(scenario())

    assert first["status"] == reload["status"] == "loading"
    assert first["points"] == []
    assert queued == [{"symbol": "AAPL", "days": 30, "user_ids": [user.pk]}]
    assert ready["data"] == {"symbol": "AAPL", "bars": 30, "ranges": ["1m"], "error": None}
    assert after["status"] == "ready"
    # The bars are the simulated market's own daily closes, oldest first, to yesterday.
    today = datetime.now(UTC).date()
    expected = SimulatedProvider().history(["AAPL"], 30).bars["AAPL"]
    assert [point["t"] for point in after["points"]] == [
        (today - timedelta(days=n)).isoformat() for n in range(30, 0, -1)
    ]
    assert [Decimal(str(point["v"])) for point in after["points"]] == [
        bar.close for bar in expected
    ]
    assert queued_fetches() == []
