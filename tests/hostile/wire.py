"""The hostile side of a live server: a socket that sends anything, a watcher that must not
notice, and the server's memory as the kernel counts it."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from apps.realtime.protocol import CloseCode, ErrorCode
from apps.streams.frames import ServerType, frame_encode
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from tests.conftest import RunningProcess
from tests.hostile.messages import (
    ABUSE_LIMIT,
    CLOSE_TOO_BIG,
    Expect,
    Hostile,
    World,
    error,
    expected,
)

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UPDATES = {ServerType.ASSET_UPDATE, ServerType.PORTFOLIO_UPDATE, ServerType.BATCH}
CONTROLS = {ServerType.PONG, ServerType.SUBSCRIBED, ServerType.UNSUBSCRIBED, ServerType.ERROR}
REPLY_TIMEOUT = 10.0


def frame_problem(text: Any) -> str | None:
    """Why a server frame is not a documented message, or None."""
    if not isinstance(text, str):
        return f"a binary frame {text[:60]!r}"
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return f"not JSON: {text[:200]!r}"
    if not isinstance(frame, dict) or set(frame) != {"type", "data", "timestamp"}:
        return f"not the {{type, data, timestamp}} envelope: {text[:200]}"
    if frame["type"] not in set(ServerType) or not isinstance(frame["data"], dict):
        return f"undocumented type or data: {text[:200]}"
    if not ISO_Z.match(str(frame["timestamp"])):
        return f"timestamp not ISO 8601 UTC: {text[:200]}"
    if frame["type"] == ServerType.ERROR:
        data = frame["data"]
        if data.get("code") not in set(ErrorCode):
            return f"undocumented error code: {text[:200]}"
        if not isinstance(data.get("message"), str) or not data["message"]:
            return f"error without a message: {text[:200]}"
    return None


def outcome_of(frame: dict[str, Any]) -> str:
    if frame["type"] == ServerType.ERROR:
        return error(frame["data"]["code"])
    return str(frame["type"])


class HostileSocket:
    """A client that sends anything and checks each reply against the contract.

    Reconnects after a documented close (1009 over the frame cap, 4008 after repeated size
    refusals), so one socket object can run a whole fuzzing session.
    """

    def __init__(self, url: str, world: World, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.world = world
        self.headers = headers or {}
        self.connection: ClientConnection | None = None
        self.refusals = 0  # size refusals on this connection, as the server counts abuse
        self.sent = 0
        self.closes: dict[int, int] = {}
        self.updates = 0
        self.outcomes: Counter[str] = Counter()  # control replies seen, by kind or error code
        self.cut_short = False  # the last burst could not be sent whole: the server closed

    def _connect(self) -> ClientConnection:
        if self.connection is None:
            self.connection = connect(
                self.url, additional_headers=self.headers, max_size=None, open_timeout=15,
                close_timeout=2, legacy=True,
            )  # fmt: skip
            hello = self._next(self.connection)
            assert hello["type"] == ServerType.CONNECTION, hello
            assert hello["data"]["authenticated"] is self.world.authenticated, hello
            self.refusals = 0
        return self.connection

    def _next(self, connection: ClientConnection) -> dict[str, Any]:
        text = connection.recv(timeout=REPLY_TIMEOUT)
        problem = frame_problem(text)
        assert problem is None, problem
        return dict(orjson.loads(text))

    def _closed(self, closed: ConnectionClosed) -> int | None:
        self.connection = None
        code = closed.rcvd.code if closed.rcvd else None
        self.closes[code or 0] = self.closes.get(code or 0, 0) + 1
        return code

    def exchange(self, messages: list[Hostile]) -> None:
        """Send a burst, then read one control reply per message and check each."""
        try:
            self._exchange(messages)
        except BaseException:
            self.close()  # replies left unread would be taken for the next example's
            raise

    def _exchange(self, messages: list[Hostile]) -> None:
        connection = self._connect()
        expectations = [expected(message, self.world) for message in messages]
        sent = 0
        self.cut_short = False
        try:
            for message, expect in zip(messages, expectations, strict=True):
                frames = message.frames()
                # Over the frame cap the server may close while the frames still go out.
                closing = expect.outcomes == {CLOSE_TOO_BIG}
                sent += closing
                connection.send(frames[0] if len(frames) == 1 else iter(frames))  # type: ignore[arg-type]  # str or bytes fragments, never mixed
                sent += not closing
        except ConnectionClosed:
            self.cut_short = True  # the server closed; what it sent before that is read below
        self.sent += sent
        for message, expect in zip(messages[:sent], expectations[:sent], strict=True):
            if not self._reply_matches(message, expect):
                return  # closed as the contract allows: the rest of the burst is moot

    def _reply_matches(self, message: Hostile, expect: Expect) -> bool:
        """True if the connection is still open after the documented reply."""
        assert self.connection is not None
        try:
            while True:
                frame = self._next(self.connection)
                if frame["type"] in UPDATES:
                    self.updates += 1
                    continue
                break
        except ConnectionClosed as closed:
            code = self._closed(closed)
            assert expect.outcomes == {CLOSE_TOO_BIG}, (
                f"{message!r}: closed with {code}, expected {set(expect.outcomes)}"
            )
            # Past the cap uvicorn closes at once; a client still writing then may get the TCP
            # reset before the close frame (seen with fragments): no code, never a wrong one.
            allowed: set[int | None] = {CloseCode.MESSAGE_TOO_BIG}
            if self.cut_short:
                allowed.add(None)
            assert code in allowed, f"{message!r}: closed with {code}"
            return False
        except TimeoutError:
            raise AssertionError(f"{message!r}: no reply within {REPLY_TIMEOUT}s") from None
        outcome = outcome_of(frame)
        self.outcomes[outcome] += 1
        assert frame["type"] in CONTROLS, f"{message!r}: got {frame}"
        assert outcome in expect.outcomes, (
            f"{message!r}: got {outcome} {frame['data']}, expected one of {set(expect.outcomes)}"
        )
        if frame["type"] == ServerType.ERROR:
            assert frame["data"]["request_type"] == expect.request_type, (message, frame)
        if outcome == error("message_too_large"):
            self.refusals += 1
            if self.refusals >= ABUSE_LIMIT:
                self._expect_abuse_close(message)
                return False
        return True

    def _expect_abuse_close(self, message: Hostile) -> None:
        assert self.connection is not None
        try:
            while True:
                frame = self._next(self.connection)
                assert frame["type"] in UPDATES, f"{message!r}: {frame} after the abuse limit"
        except ConnectionClosed as closed:
            code = self._closed(closed)
        except TimeoutError:
            raise AssertionError(f"not closed after {ABUSE_LIMIT} size refusals") from None
        assert code == CloseCode.ABUSE, f"closed with {code} after {ABUSE_LIMIT} size refusals"

    def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            connection.close()


# --- ticks: a watcher that must keep getting them whatever the hostile socket does ----------


def tick_publish(symbol: str, seq: int) -> None:
    data = {
        "symbol": symbol, "price": Decimal("100") + Decimal(seq) / 100, "change": 0,
        "change_percent": 0, "volume": seq, "high": None, "low": None, "seq": seq,
        "sent_at": time.time(),
    }  # fmt: skip
    frames_publish_rollback_unsafe([(asset_group(symbol), frame_encode("asset_update", data))])


@dataclass
class TickWatch:
    """A well-behaved client subscribed to `symbol`, and a publisher ticking every `period`."""

    url: str
    symbol: str
    period: float = 0.1
    published: int = 0
    received: dict[int, float] = field(default_factory=dict)  # seq -> latency (s)
    problems: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _quiet: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> TickWatch:
        ready = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(ready,), daemon=True)
        watcher.start()
        assert ready.wait(20), f"the watcher never subscribed: {self.problems}"
        publisher = threading.Thread(target=self._publish, daemon=True)
        publisher.start()
        self._threads = [watcher, publisher]
        return self

    def _watch(self, ready: threading.Event) -> None:
        try:
            with connect(self.url, open_timeout=15) as connection:
                connection.recv(timeout=10)  # connection
                connection.send(
                    orjson.dumps(
                        {"type": "subscribe_asset", "data": {"symbol": self.symbol}}
                    ).decode()
                )
                ack = orjson.loads(connection.recv(timeout=10))
                if ack["type"] != "subscribed":
                    self.problems.append(f"watcher subscribe refused: {ack}")
                    return
                ready.set()
                while not self._stop.is_set():
                    try:
                        text = connection.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    frame = orjson.loads(text)
                    seq = frame["data"].get("seq") if frame["type"] == "asset_update" else None
                    if seq is not None:
                        self.received[seq] = time.time() - frame["data"]["sent_at"]
        except Exception as failure:  # reported by the test, not lost in a thread
            self.problems.append(f"watcher: {failure!r}")
            ready.set()

    def _publish(self) -> None:
        try:
            while not self._quiet.wait(self.period):
                tick_publish(self.symbol, self.published)
                self.published += 1
        except Exception as failure:
            self.problems.append(f"publisher: {failure!r}")

    def stop_publishing(self) -> None:
        self._quiet.set()
        self._threads[1].join(timeout=15)

    def __exit__(self, *exc: object) -> None:
        self._quiet.set()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def assert_every_tick_arrived(self, *, max_latency: float, at_least: int = 10) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.published < at_least and not self.problems:
            time.sleep(0.05)
        self.stop_publishing()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(self.received) < self.published:
            time.sleep(0.05)
        assert not self.problems, self.problems
        assert self.published > 0
        missing = sorted(set(range(self.published)) - set(self.received))
        assert not missing, f"the watcher missed ticks {missing[:20]} of {self.published}"
        worst = max(self.received.values())
        assert worst < max_latency, f"a tick took {worst:.3f}s to reach the watcher"


# --- the server process's memory --------------------------------------------------------------


def server_pid(process: RunningProcess) -> int:
    """The uvicorn (Python) process itself: the Procfile line runs under `sh -c`, which may
    exec it or keep it as its one child."""
    pid = process.popen.pid
    for _ in range(3):
        if "python" in os.path.basename(os.readlink(f"/proc/{pid}/exe")):
            return pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 1, f"expected one child of {pid}, found {children}"
        pid = int(children[0])
    raise AssertionError("no uvicorn process found under the web process")


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")
