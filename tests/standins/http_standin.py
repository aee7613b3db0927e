"""A real HTTP server on 127.0.0.1 that answers from a routing table each test sets.

Providers talk to it over real sockets through their `base_url`, so their HTTP handling
(timeouts, status codes, bodies) is exercised without patching httpx or our code.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[["StandinRequest"], Reply]


@dataclass(frozen=True)
class StandinRequest:
    """One request the stand-in received; `query` keeps the first value of each parameter."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer; pass the body as text to control exactly how numbers are written."""
    text = body if isinstance(body, str) else json.dumps(body)
    return status, {"Content-Type": "application/json", **(headers or {})}, text.encode()


class HttpStandin:
    """Context manager: serves `routes` (longest matching path prefix wins) and logs requests.

    With `keep_alive` it speaks HTTP/1.1 and keeps each connection open between requests, as
    real APIs do, so a client that reuses its connections opens one, and one that does not
    opens one per client: `connections_opened` and `connections_open` count them.
    """

    def __init__(self, *, keep_alive: bool = False) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[StandinRequest] = []
        self.connections_opened = 0
        self.connections_open = 0
        self._count_lock = threading.Lock()
        self._released = threading.Event()
        handler = _handler_class(self)
        handler.protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval keeps shutdown, and so each test's teardown, fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def requests_to(self, prefix: str) -> list[StandinRequest]:
        return [request for request in self.requests if request.path.startswith(prefix)]

    def delay(self, seconds: float) -> None:
        """Wait `seconds` in a handler, or less when the stand-in stops."""
        self._released.wait(seconds)

    def connection_counted(self, opened: bool) -> None:
        """Called by the handler as a client connects (True) and as it goes (False)."""
        with self._count_lock:
            self.connections_opened += opened
            self.connections_open += 1 if opened else -1

    def hang(self, seconds: float = 5.0) -> Handler:
        """A handler that answers only after `seconds`, or as soon as the stand-in stops."""

        def handler(_request: StandinRequest) -> Reply:
            self._released.wait(seconds)
            return json_reply({"late": True})

        return handler

    def reply_for(self, request: StandinRequest) -> Reply:
        self.requests.append(request)
        matches = [prefix for prefix in self.routes if request.path.startswith(prefix)]
        if not matches:
            return json_reply({"error": f"no stand-in route for {request.path}"}, status=404)
        return self.routes[max(matches, key=len)](request)

    def __enter__(self) -> HttpStandin:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._released.set()  # hanging handlers return now, so closing does not wait for them
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_class(standin: HttpStandin) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            standin.connection_counted(opened=True)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                standin.connection_counted(opened=False)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            request = StandinRequest("GET", url.path, query, dict(self.headers.items()))
            status, headers, body = standin.reply_for(request)
            # The client may have given up already (its timeout): that is what a hang test wants.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._write(status, headers, body)

        def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean; `standin.requests` is the log."""

    return RequestHandler
