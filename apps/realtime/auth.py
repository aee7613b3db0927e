"""Who may open a socket: an Origin check against hijacking, then the user (tokens for
scripts, the session cookie for pages), resolved once at the handshake.

A browser always sends Origin on a WebSocket handshake, so refusing a foreign Origin stops
cross-site socket hijacking with the user's cookie. A handshake with no Origin is not a
browser page (a script, the guide's client under Node, a probe) and is let through with
whatever credentials it carries. Channels' stock allowed-hosts origin validator refuses those.
"""

from __future__ import annotations

import ipaddress
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie
from django.http.request import split_domain_port, validate_host

Scope = dict[str, Any]
TOKEN_SUBPROTOCOL_PREFIX = "token."  # noqa: S105 - a prefix, not a secret
APP_SUBPROTOCOL = "realtime"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def client_address(scope: Scope) -> str:
    """Who is connecting, for the per-address limit on anonymous sockets: the scope's client.

    Behind a proxy that is the real client only when the server trusts the proxy: uvicorn
    (--proxy-headers, on by default) then takes it from X-Forwarded-For, for proxies listed in
    FORWARDED_ALLOW_IPS (127.0.0.1 by default). Otherwise every socket shares the proxy's
    address. IPv6 clients count per /64, the block one subscriber is usually given.
    """
    client = scope.get("client")
    host = str(client[0]) if client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"  # a Unix socket with no proxy header: one shared bucket
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def origin_allowed(origin: str) -> bool:
    """Same rules as Django's host and CSRF checks: ALLOWED_HOSTS or CSRF_TRUSTED_ORIGINS."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    domain, _port = split_domain_port(parts.netloc)
    allowed = settings.ALLOWED_HOSTS or (
        [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
    )
    return bool(domain) and validate_host(domain, allowed)


def token_from_scope(scope: Scope) -> str | None:
    """`Authorization: Token <key>`, or a `token.<key>` subprotocol (browsers set no headers)."""
    authorization = header(scope, b"authorization")
    if authorization and authorization.startswith("Token "):
        return authorization[6:].strip() or None
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return protocol[len(TOKEN_SUBPROTOCOL_PREFIX) :] or None
    return None


@database_sync_to_async
def _token_user(key: str) -> Any:
    """The active user of a DRF token, checked by DRF itself (as for the REST endpoints)."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        user, _token = TokenAuthentication().authenticate_credentials(key)
    except AuthenticationFailed:
        return None
    return user


async def _session_user(scope: Scope) -> Any:
    """The user of the session cookie, checked as Channels' auth middleware does it (its
    public `get_user`), or AnonymousUser when there is no cookie."""
    cookie = header(scope, b"cookie")
    key = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME) if cookie else None
    if not key:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    return await get_user({"session": session})


async def _scope_with_user(scope: Scope) -> Scope:
    """The scope plus `user` (and `token_rejected` when a token was given): a DRF token, when
    given, decides; else the session login."""
    key = token_from_scope(scope)
    if key is not None:
        user = await _token_user(key)
        return {**scope, "user": user or AnonymousUser(), "token_rejected": user is None}
    return {**scope, "user": await _session_user(scope)}


class SocketGate:
    """ASGI middleware for WebSockets: refuse a foreign Origin (close 4003 before accepting),
    then say who is asking, once, at the handshake.

    In place of Channels' cookie, session and auth middleware: each of those stays suspended
    for the socket's whole life holding its own copy of the scope, and the session one also
    its session store and a wrapper of every send, about 3.5 KiB per idle socket (issue 17).
    Nothing on a socket reads the session after the handshake: the consumer needs the user.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        origin = header(scope, b"origin")
        if origin is not None and not origin_allowed(origin):
            await receive()  # the websocket.connect event
            await send({"type": "websocket.close", "code": 4003})
            return None
        return await self.app(await _scope_with_user(scope), receive, send)
