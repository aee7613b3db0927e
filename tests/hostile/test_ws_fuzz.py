"""Hostile WebSocket clients against a real uvicorn: every reply documented, nobody else hurt.

The fuzzing server (`fuzz_server`) raises the per-socket message rate so that hypothesis's
messages reach the parser instead of the rate limiter; the rate limit itself is attacked at
its default below.
"""

from __future__ import annotations

import threading

import orjson
import pytest
from hypothesis import given, settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.realtime.protocol import CloseCode
from tests.conftest import LiveServer
from tests.hostile.conftest import WATCHED, known_assets, token_world
from tests.hostile.messages import (
    FUZZ,
    SIZE_BOUNDARIES,
    Hostile,
    World,
    bursts,
    examples_fixed,
    ping_of_size,
)
from tests.hostile.wire import HostileSocket, TickWatch

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

# Loopback, two cores shared with the fuzzer in this process: a tick that takes longer than
# this has waited behind hostile work in the server.
MAX_TICK_LATENCY = 1.0


def fuzz(socket: HostileSocket, max_examples: int) -> None:
    """Bursts of hostile messages on one socket; hypothesis shrinks a failing burst."""

    @settings(FUZZ, max_examples=max_examples)
    @given(burst=bursts)
    def hostile_bursts(burst: list[Hostile]) -> None:
        socket.exchange(burst)

    with examples_fixed():
        hostile_bursts()


def test_fuzzed_messages_get_documented_replies_and_a_watcher_keeps_its_ticks(
    fuzz_server: LiveServer,
) -> None:
    symbols = known_assets()
    anonymous = HostileSocket(fuzz_server.ws_url, World(symbols))
    world, headers = token_world(symbols)
    scripted = HostileSocket(fuzz_server.ws_url, world, headers)
    with TickWatch(fuzz_server.ws_url, WATCHED) as watch:
        fuzz(anonymous, max_examples=200)
        fuzz(scripted, max_examples=200)
        watch.assert_every_tick_arrived(max_latency=MAX_TICK_LATENCY)
    anonymous.close()
    scripted.close()
    replies = dict((anonymous.outcomes + scripted.outcomes).most_common())
    print(
        f"\nws fuzz: {anonymous.sent + scripted.sent} hostile messages, "
        f"{anonymous.updates + scripted.updates} updates to the hostile sockets, "
        f"closes {anonymous.closes | scripted.closes}; replies {replies}; watcher got "
        f"{len(watch.received)}/{watch.published} ticks, worst latency "
        f"{max(watch.received.values()) * 1000:.1f} ms"
    )
    assert fuzz_server.process.alive()


def test_messages_at_the_size_caps_get_an_error_or_the_documented_close(
    fuzz_server: LiveServer,
) -> None:
    symbols = known_assets()
    socket = HostileSocket(fuzz_server.ws_url, World(symbols))
    with TickWatch(fuzz_server.ws_url, WATCHED) as watch:
        for size in SIZE_BOUNDARIES:
            for message in (ping_of_size(size), ping_of_size(size, binary=True),
                            ping_of_size(size, fragments=9)):  # fmt: skip
                socket.exchange([message])
                socket.exchange([ping_of_size(100)])  # and the next message is answered
        watch.assert_every_tick_arrived(max_latency=MAX_TICK_LATENCY)
    socket.close()
    # 65,537 bytes and over, three ways each: uvicorn closed every time, with 1009 unless the
    # client was still writing (then it may see the reset first).
    assert sum(socket.closes.values()) == 6
    assert set(socket.closes) <= {CloseCode.MESSAGE_TOO_BIG, 0}


def test_twenty_oversized_messages_close_the_socket_as_abuse(fuzz_server: LiveServer) -> None:
    socket = HostileSocket(fuzz_server.ws_url, World(known_assets()))
    socket.exchange([ping_of_size(20_000)] * 25)  # the oracle expects 4008 after the 20th
    assert socket.closes == {CloseCode.ABUSE: 1}


def test_a_flood_at_the_default_rate_limit_is_refused_then_closed_and_the_watcher_is_fine(
    web_server: LiveServer,
) -> None:
    known_assets()
    codes: list[int | None] = []

    def flood() -> None:
        with connect(web_server.ws_url, open_timeout=15) as connection:
            connection.recv(timeout=10)
            ping = orjson.dumps({"type": "ping", "data": {}}).decode()
            replies: list[str] = []
            try:
                for _ in range(2_000):
                    connection.send(ping)
                while True:
                    replies.append(orjson.loads(connection.recv(timeout=10))["type"])
            except ConnectionClosed as closed:
                codes.append(closed.rcvd.code if closed.rcvd else None)
            assert set(replies) <= {"pong", "error"}

    with TickWatch(web_server.ws_url, WATCHED) as watch:
        floods = [threading.Thread(target=flood) for _ in range(5)]
        for thread in floods:
            thread.start()
        for thread in floods:
            thread.join(timeout=60)
        watch.assert_every_tick_arrived(max_latency=MAX_TICK_LATENCY)
    assert codes == [CloseCode.ABUSE] * 5


# --- bugs the fuzzer found, fixed: kept as regression tests ---------------------------------------


@pytest.mark.parametrize("raw", ["²", "1" * 4_301], ids=["superscript-two", "4301-digits"])
def test_a_digit_string_that_is_not_an_integer_is_invalid_data(
    fuzz_server: LiveServer, raw: str
) -> None:
    socket = HostileSocket(fuzz_server.ws_url, World(frozenset()))
    for kind in ("subscribe_portfolio", "unsubscribe_portfolio"):
        body = orjson.dumps({"type": kind, "data": {"portfolio_id": raw}}).decode()
        socket.exchange([Hostile(body)])  # the oracle expects error invalid_data
    socket.exchange([ping_of_size(100)])
    assert socket.closes == {}


def test_invalid_utf8_in_a_text_frame_closes_with_a_documented_code(web_server: LiveServer) -> None:
    codes = []
    for payload in (b"\xff\xfe", b'{"type":"ping"}\xc3', b'{"type":"subscribe_asset","data":'
                    b'{"symbol":"\xed\xa0\x80"}}'):  # fmt: skip
        with connect(web_server.ws_url, open_timeout=15) as connection:
            connection.recv(timeout=10)
            connection.send(payload, text=True)  # bytes as a text frame, not checked by the client
            with pytest.raises(ConnectionClosed) as closed:
                connection.recv(timeout=10)
        codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
    assert codes == [1007] * 3  # what RFC 6455 asks for, and what uvicorn sends
    assert 1007 in set(CloseCode)
