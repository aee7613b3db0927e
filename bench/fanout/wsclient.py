"""A light WebSocket reader: raw frames, counted, never decoded on the hot path.

One asyncio Protocol per socket. During setup it reads acks and errors; after that a text
frame costs a header parse, a `count` of the timestamp mark (a batch frame carries many) and,
for sampled frames, one fixed-width integer: the publish time in microseconds.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from dataclasses import dataclass, field
from typing import cast

import orjson

from bench.fanout.common import TS_DIGITS, TS_MARK, Histogram, latency_bin

MAX_ERRORS = 20
_MARK_LEN = len(TS_MARK)


@dataclass
class Tally:
    """What the sockets of one load generator process saw."""

    updates: int = 0  # updates carrying a publish time (a batch frame counts each)
    frames: int = 0  # frames carrying at least one
    other: int = 0  # everything else: connection, snapshots, acks
    closed: int = 0
    close_codes: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    label: str | None = None  # latency is recorded under this label while it is set
    sample: int = 1  # record one frame in `sample`
    seen: int = 0
    hists: dict[str, dict[int, Histogram]] = field(default_factory=dict)
    # per tick (its publish stamp): updates received, and when the last of them arrived
    ticks: dict[int, list[int]] = field(default_factory=dict)

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text[:300])


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.3)."""
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    key = os.urandom(4)
    if not size:
        return header + key
    stream = (key * (size // 4 + 1))[:size]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")
    return header + key + masked.to_bytes(size, "big")


def text_frame(message: dict[str, object]) -> bytes:
    return client_frame(0x1, orjson.dumps(message))


class Client(asyncio.Protocol):
    """One socket: handshake, subscribe, then count what arrives."""

    def __init__(
        self,
        tally: Tally,
        *,
        host: str,
        port: int,
        path: str,
        symbols: list[str],
        batching: bool,
        tag: int,
        never_read: bool,
    ) -> None:
        self.tally = tally
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.symbols = symbols
        self.batching = batching
        self.tag = tag
        self.never_read = never_read
        self.expected_acks = len(symbols) + (1 if batching else 0)
        self.acks = 0
        self.open = False
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.tally.closed += 1
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        view: bytes | bytearray = data
        if self.buf:
            self.buf += data
            view = self.buf
        if not self.open:
            end = view.find(b"\r\n\r\n")
            if end < 0:
                self.buf = bytearray(view)
                return
            if b" 101 " not in view[: view.find(b"\r\n")]:
                self.tally.error(bytes(view[:120]).decode("latin-1"))
                self._close()
                return
            self.open = True
            self._subscribe()
            view = view[end + 4 :]
        used = self._frames(view, time.time_ns() // 1000)
        self.buf = bytearray(view[used:]) if used < len(view) else bytearray()

    # --- frames ----------------------------------------------------------------------------

    def _subscribe(self) -> None:
        assert self.transport is not None
        messages = [
            text_frame({"type": "subscribe_asset", "data": {"symbol": symbol}})
            for symbol in self.symbols
        ]
        if self.batching:
            messages.append(text_frame({"type": "set_batching", "data": {"enabled": True}}))
        self.transport.write(b"".join(messages))

    def _frames(self, data: bytes | bytearray, now: int) -> int:
        """Handle every complete frame in `data`; return how many bytes were used."""
        at = 0
        size = len(data)
        while size - at >= 2:
            first = data[at]
            length = data[at + 1] & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length = (data[at + 2] << 8) | data[at + 3]
                head = 4
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(data[at + 2 : at + 10], "big")
                head = 10
            end = at + head + length
            if end > size:
                break
            opcode = first & 0x0F
            if opcode <= 1:
                self._text(data, at + head, end, now)
            elif opcode == 9:
                self._pong(bytes(data[at + head : end]))
            elif opcode == 8:
                self._server_closed(bytes(data[at + head : end]))
            at = end
        return at

    def _text(self, data: bytes | bytearray, start: int, end: int, now: int) -> None:
        mark = data.find(TS_MARK, start, end)
        tally = self.tally
        if mark < 0:
            self._control(bytes(data[start:end]))
            return
        count = data.count(TS_MARK, mark, end)
        tally.updates += count
        tally.frames += 1
        at = mark + _MARK_LEN
        if data[at] == 32:  # json.dumps writes a space after the colon
            at += 1
        stamp = int(data[at : at + TS_DIGITS])
        record = tally.ticks.get(stamp)
        if record is None:
            tally.ticks[stamp] = [count, now]
        else:
            record[0] += count
            record[1] = now
        if tally.label is None:
            return
        tally.seen += 1
        if tally.seen % tally.sample:
            return
        hist = tally.hists.setdefault(tally.label, {}).setdefault(self.tag, {})
        index = latency_bin(now - stamp)
        hist[index] = hist.get(index, 0) + count

    def _control(self, payload: bytes) -> None:
        if b'"subscribed"' in payload:
            self.acks += 1
            if self.acks == self.expected_acks and not self.ready.done():
                self.ready.set_result(True)
                if self.never_read and self.transport is not None:
                    self.transport.pause_reading()
        elif b'"error"' in payload:
            self.tally.error(payload.decode(errors="replace"))
        else:
            self.tally.other += 1

    def _pong(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(0xA, payload))

    def _server_closed(self, payload: bytes) -> None:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        self.tally.close_codes[code] = self.tally.close_codes.get(code, 0) + 1
        self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def client_open(client: Client, host: str, port: int, *, small_rcvbuf: bool) -> None:
    """Connect `client`; a never-reading socket gets a small receive buffer before connecting."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if small_rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    await loop.create_connection(lambda: client, sock=sock)
