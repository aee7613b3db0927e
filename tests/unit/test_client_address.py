"""The client address an anonymous socket is counted under."""

from __future__ import annotations

import pytest

from apps.realtime.auth import client_address


@pytest.mark.parametrize(
    ("client", "address"),
    [
        (("203.0.113.7", 50000), "203.0.113.7"),
        (("::ffff:203.0.113.7", 50000), "203.0.113.7"),  # IPv4 on a dual-stack socket
        (("2001:db8:1:2:aaaa::1", 50000), "2001:db8:1:2::/64"),  # one subscriber's block
        (("2001:db8:1:2:bbbb::9", 50000), "2001:db8:1:2::/64"),
        (None, "unknown"),  # a Unix socket with no trusted proxy header
    ],
)
def test_the_scope_client_names_the_address(client: tuple[str, int] | None, address: str) -> None:
    assert client_address({"type": "websocket", "client": client}) == address
