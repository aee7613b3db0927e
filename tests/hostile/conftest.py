"""What the hostile suites share: a fuzzing server, the assets and users the oracle knows."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from apps.market.models import Asset
from tests.conftest import LiveServer, RunningProcess, web_server_start
from tests.factories import asset_create, portfolio_create, user_create
from tests.hostile.messages import World

# Hypothesis's messages must reach the parser, not the rate limiter (attacked at its default
# in test_ws_fuzz.py): the fuzzing server allows 10,000 messages a second per socket.
FUZZ_ENV = {"REALTIME_MESSAGE_RATE": "10000", "REALTIME_MESSAGE_BURST": "10000"}
KNOWN = ("AAPL", "MSFT", "BRK-B", "^GSPC", "EURUSD=X")
WATCHED = "AAPL"


@pytest.fixture
def fuzz_server(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> LiveServer:
    return web_server_start(start_process, {**child_env, **FUZZ_ENV}, "web-fuzz")


def known_assets() -> frozenset[str]:
    """The active, priced assets the oracle counts as known symbols."""
    for symbol in KNOWN:
        asset = asset_create(symbol)
        Asset.objects.filter(pk=asset.pk).update(
            current_price=Decimal("100"), previous_close=Decimal("99"), source="simulated"
        )
    return frozenset(KNOWN)


def token_world(symbols: frozenset[str]) -> tuple[World, dict[str, str]]:
    """A script logged in by token, owning one portfolio; another user owns a second."""
    me = user_create()
    mine, theirs = portfolio_create(owner=me), portfolio_create()
    key = Token.objects.create(user=me).key
    world = World(symbols, authenticated=True, owned_portfolios=frozenset({mine.pk}),
                  other_portfolios=frozenset({theirs.pk}))  # fmt: skip
    return world, {"Authorization": f"Token {key}"}
