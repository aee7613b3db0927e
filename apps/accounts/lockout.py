"""How django-axes sees a client and what a locked-out person is shown (its two callables).

Failed sign-ins are counted per username and client address; after AXES_FAILURE_LIMIT of
them that pair is refused, whatever the password, until the cool-off time has passed since
the last counted failure. Tries while refused are not counted (not written either: a flood
of them costs reads only), so the wait never grows.
"""

from __future__ import annotations

import ipaddress
import math

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

# The sign-in pages a lockout can happen on: shown again, saying why.
SIGN_IN_VIEWS = frozenset({"accounts:login", "admin:login"})


def lockout_message(minutes: int) -> str:
    return f"Too many failed attempts; try again in {minutes} minute{'' if minutes == 1 else 's'}."


def minutes_left(request: HttpRequest) -> int:
    """Whole minutes until the username and address of this request may try again."""
    cool_off = settings.AXES_COOLOFF_TIME
    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request)
    times = [found.aggregate(last=Max("attempt_time"))["last"] for found in attempts]
    last = max((time for time in times if time is not None), default=timezone.now())
    return max(1, math.ceil((last + cool_off - timezone.now()).total_seconds() / 60))


def client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client uvicorn resolved, never a header read again.

    uvicorn already put the real client in REMOTE_ADDR, believing X-Forwarded-For only from
    FORWARDED_ALLOW_IPS; reading the header here would let any client pick its own address.
    IPv6 counts per /64 (one subscriber's block), else one host could rotate past the limit.
    """
    try:
        ip = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return None  # a Unix socket with no trusted proxy: counted by username alone
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address)
    return str(ip)


def lockout_response(request: HttpRequest, *_: object) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the same sign-in page again, saying why and for how long (429).

    axes passes (request, response, credentials) from sync middleware and (request,
    credentials) from async middleware, as under uvicorn; neither is needed here.
    """
    message = lockout_message(minutes_left(request))
    match = request.resolver_match
    if match is None or match.view_name not in SIGN_IN_VIEWS:
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    # The page as a GET has an empty form: rendering it authenticates (and counts) nothing.
    request.method = "GET"
    response = match.func(request, *match.args, **match.kwargs)
    if response.status_code != 200:  # staff already signed in: the admin would send them on
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    if isinstance(response, TemplateResponse):
        response.render()  # the middleware stage is past the point where Django renders it
    response.status_code = 429
    return response
