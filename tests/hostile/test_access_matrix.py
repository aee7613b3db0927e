"""Who may see what: anonymous, another user, the owner and staff, over every URL, form, REST
endpoint and WebSocket message, against a real uvicorn.

The routes come from the URL conf itself (every pattern, walked), so a new endpoint without
an entry here fails `test_every_route_has_an_access_entry` by name. The owner's portfolio
carries a unique name: no response or frame to anyone but the owner (and staff, in the
admin) may contain it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
import orjson
import pytest
import websockets
from django.contrib.admin import ModelAdmin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from apps.alerts.models import Alert, AlertEvent
from apps.market.models import Asset, PriceBar
from apps.portfolios.models import (
    Portfolio,
    PortfolioDailyValue,
    Position,
    Watchlist,
    WatchlistItem,
)
from apps.realtime.protocol import ClientType
from apps.realtime.routing import websocket_urlpatterns
from apps.streams.frames import frame_encode
from apps.streams.groups import portfolio_group
from apps.streams.publish import frames_publish_rollback_unsafe
from tests.conftest import LiveServer
from tests.e2e.ws import session_cookie
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    OTHER = "another user"
    OWNER = "the owner"
    STAFF = "staff"


ROLES = list(Role)
NON_STAFF = (Role.ANONYMOUS, Role.OTHER, Role.OWNER)

# What a response means to the caller (see `outcome_of`).
OK, ACCEPTED, REDIRECT, LOGIN = "ok", "accepted", "redirect", "login"
DENIED, NOT_FOUND, NOT_ALLOWED, INVALID = "denied", "not found", "not allowed", "invalid"
# Sent to sign in: the admin's own page, or the site's (settings.LOGIN_URL) for other pages.
LOGIN_PAGES = ("/admin/login/", "/accounts/login/")


def outcome_of(response: httpx.Response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.headers["location"]
        return LOGIN if any(page in location for page in LOGIN_PAGES) else REDIRECT
    return {200: OK, 202: ACCEPTED, 400: INVALID, 401: DENIED, 403: DENIED, 404: NOT_FOUND,
            405: NOT_ALLOWED}.get(status, f"HTTP {status}")  # fmt: skip


def every(outcome: str) -> dict[Role, str]:
    return dict.fromkeys(ROLES, outcome)


def staff_only(staff: str = OK, others: str = LOGIN) -> dict[Role, str]:
    return {**dict.fromkeys(NON_STAFF, others), Role.STAFF: staff}


def owner_only(owner: str = OK) -> dict[Role, str]:
    """A page of the owner's portfolio: the anonymous sign in, anyone else gets a 404."""
    return {Role.ANONYMOUS: LOGIN, Role.OTHER: NOT_FOUND, Role.OWNER: owner,
            Role.STAFF: NOT_FOUND}  # fmt: skip


def refused_owner() -> dict[Role, str]:
    """owner_only without the owner: a write tried only by those it must refuse."""
    return {role: outcome for role, outcome in owner_only().items() if role is not Role.OWNER}


@dataclass(frozen=True)
class Access:
    """One route's expected outcome per role, for GET and (where it takes one) POST."""

    get: dict[Role, str]
    post: dict[Role, str] = field(default_factory=dict)  # roles left out are not tried
    query: str = ""
    body: dict[str, Any] | None = None  # POSTed as JSON; else an empty form
    json_errors: bool = False  # a REST endpoint: every 4xx has a JSON body
    owner_data_for: frozenset[Role] = frozenset({Role.OWNER})  # who may see the owner's data


ADMIN_VIEW = frozenset({Role.STAFF})

OWNER_WATCHED = "OWNWATCH"  # on the owner's watchlist, nobody else's

# Every route of the project's own URL conf. The admin site's routes follow the rules below.
MATRIX: dict[str, Access] = {
    "": Access(get=every(REDIRECT)),
    "realtime/dashboard/": Access(get=every(OK)),
    "realtime/test/": Access(get=every(OK)),
    "realtime/websocket-info/": Access(get=every(OK), json_errors=True),
    "realtime/status/": Access(get=every(OK), json_errors=True),
    "realtime/health/": Access(get=every(OK), query="check=web", json_errors=True),
    "api/schema/": Access(get=every(OK), json_errors=True),
    # Accounts. Signing in is open to all, and trying it with an empty form is harmless;
    # signing out is tried only by the anonymous, so the other roles keep their sessions.
    "accounts/login/": Access(get=every(OK), post=every(OK)),
    "accounts/logout/": Access(get=every(NOT_ALLOWED), post={Role.ANONYMOUS: REDIRECT}),
    "accounts/password_change/": Access(
        get={**every(OK), Role.ANONYMOUS: LOGIN}, post={**every(OK), Role.ANONYMOUS: LOGIN}
    ),
    "accounts/password_change/done/": Access(get={**every(OK), Role.ANONYMOUS: LOGIN}),
    # Sign-up is off unless ACCOUNTS_SIGNUP_ENABLED (the test server leaves it off).
    "accounts/signup/": Access(get=every(NOT_FOUND), post=every(NOT_FOUND)),
    # The portfolio pages: the owner's alone; anyone else gets a 404, GET and POST alike. An
    # empty form POSTed is answered with its errors (200); deletes are tried only by those who
    # must be refused, so the owner's portfolio stays for the routes walked after them.
    "portfolios/": Access(get={**every(OK), Role.ANONYMOUS: LOGIN}),
    "portfolios/new/": Access(
        get={**every(OK), Role.ANONYMOUS: LOGIN}, post={**every(OK), Role.ANONYMOUS: LOGIN}
    ),
    "portfolios/<int:portfolio_id>/": Access(get=owner_only(), post=owner_only(NOT_ALLOWED)),
    "portfolios/<int:portfolio_id>/edit/": Access(get=owner_only(), post=owner_only()),
    "portfolios/<int:portfolio_id>/delete/": Access(get=owner_only(), post=refused_owner()),
    "portfolios/<int:portfolio_id>/positions/add/": Access(get=owner_only(), post=owner_only()),
    "portfolios/<int:portfolio_id>/positions/<int:position_id>/edit/": Access(
        get=owner_only(), post=owner_only()
    ),
    "portfolios/<int:portfolio_id>/positions/<int:position_id>/delete/": Access(
        get=owner_only(), post=refused_owner()
    ),
    # Import and export (apps/portfolios/imports): an empty upload is answered with its form
    # errors, an apply without a report's token with the upload form (200, nothing saved);
    # the export is a GET, and a CSV file of the owner's positions.
    "portfolios/<int:portfolio_id>/import/": Access(get=owner_only(), post=owner_only()),
    "portfolios/<int:portfolio_id>/import/apply/": Access(
        get=owner_only(NOT_ALLOWED), post=owner_only()
    ),
    "portfolios/<int:portfolio_id>/export.csv": Access(
        get=owner_only(), post=owner_only(NOT_ALLOWED)
    ),
    # The watchlist: POST only. The symbol in the URL is on the owner's list alone: anyone
    # else's POST is a 404 (their own list is theirs). An empty form is answered with a
    # redirect to the dashboard, the problem kept for it (a page asking JSON gets 400). Move
    # comes before remove in the URL conf, so the owner's symbol is still there to move.
    "watchlist/add/": Access(
        get=every(NOT_ALLOWED), post={**every(REDIRECT), Role.ANONYMOUS: LOGIN}
    ),
    "watchlist/<str:symbol>/move/": Access(get=every(NOT_ALLOWED), post=owner_only(REDIRECT)),
    "watchlist/<str:symbol>/remove/": Access(get=every(NOT_ALLOWED), post=owner_only(REDIRECT)),
    # Alerts: each person's own. The owner's alert (on the owner's portfolio) is a 404 to
    # anyone else, GET and POST alike; an empty form is answered with its errors (200); the
    # owner's POST to pause toggles it (303 back); delete is tried only by those refused.
    "alerts/": Access(get={**every(OK), Role.ANONYMOUS: LOGIN}),
    "alerts/new/": Access(
        get={**every(OK), Role.ANONYMOUS: LOGIN}, post={**every(OK), Role.ANONYMOUS: LOGIN}
    ),
    "alerts/<int:alert_id>/edit/": Access(get=owner_only(), post=owner_only()),
    "alerts/<int:alert_id>/delete/": Access(get=owner_only(), post=refused_owner()),
    "alerts/<int:alert_id>/pause/": Access(
        get={**every(NOT_ALLOWED), Role.ANONYMOUS: LOGIN}, post=owner_only(REDIRECT)
    ),
    "api/alerts/": Access(
        get={**every(OK), Role.ANONYMOUS: DENIED},
        post={**every(INVALID), Role.ANONYMOUS: DENIED},
        json_errors=True,
    ),
    "api/alerts/events/": Access(
        get={**every(OK), Role.ANONYMOUS: DENIED},
        post={**every(NOT_ALLOWED), Role.ANONYMOUS: DENIED},
        json_errors=True,
    ),
    "api/alerts/<api_id:alert_id>/": Access(
        get={**owner_only(), Role.ANONYMOUS: DENIED},
        post={**every(NOT_ALLOWED), Role.ANONYMOUS: DENIED},
        json_errors=True,
    ),
    # A portfolio's value series: the owner's alone (anyone else's is a JSON 404), reads only.
    "api/portfolios/<int:portfolio_id>/series/": Access(
        get={**owner_only(), Role.ANONYMOUS: DENIED},
        post={**every(NOT_ALLOWED), Role.ANONYMOUS: DENIED},
        query="range=1m",
        json_errors=True,
    ),
    "api/realtime/force_price_update/": Access(
        get={**every(NOT_ALLOWED), Role.ANONYMOUS: DENIED},
        post={**every(ACCEPTED), Role.ANONYMOUS: DENIED},
        body={"symbols": ["AAPL"]},
        json_errors=True,
    ),
    # Chart series: any signed-in caller (prices are public to them), reads only; a daily
    # range whose bars are missing answers `loading` and queues a fetch (no worker runs here).
    "api/market/assets/<anytext:symbol>/series/": Access(
        get={**every(OK), Role.ANONYMOUS: DENIED},
        post={**every(NOT_ALLOWED), Role.ANONYMOUS: DENIED},
        query="range=1m",
        json_errors=True,
    ),
    "api/market/sparklines/": Access(
        get={**every(OK), Role.ANONYMOUS: DENIED}, query="symbols=AAPL,OWNWATCH", json_errors=True
    ),
}

# The admin site, by kind of view: staff only, the rest sent to the login page. Writes are
# tried only by those who must be refused (staff writes are the admin's own business).
STAFF_PAGE = Access(get=staff_only(), post=dict.fromkeys(NON_STAFF, LOGIN),
                    owner_data_for=ADMIN_VIEW)  # fmt: skip
ADMIN_RULES: dict[str, Access] = {
    "index": STAFF_PAGE,
    "app_list": STAFF_PAGE,
    "changelist": STAFF_PAGE,
    "add": STAFF_PAGE,
    "change": STAFF_PAGE,
    "history": STAFF_PAGE,
    "delete": STAFF_PAGE,
    "password_change": STAFF_PAGE,
    "password_change_done": STAFF_PAGE,
    "auth_user_password_change": STAFF_PAGE,
    "jsi18n": STAFF_PAGE,
    "autocomplete": Access(get=staff_only(DENIED), post=dict.fromkeys(NON_STAFF, LOGIN)),
    "view_on_site": Access(get=staff_only(NOT_FOUND), owner_data_for=ADMIN_VIEW),
    # Anyone may see the login form; a logged-in staff member is sent on to the index.
    "login": Access(get={**every(OK), Role.STAFF: REDIRECT}, post=dict.fromkeys(NON_STAFF, OK)),
    # Logging out is a POST; those not logged in to the admin are sent to its index.
    "logout": Access(
        get={**dict.fromkeys(NON_STAFF, REDIRECT), Role.STAFF: NOT_ALLOWED},
        post=dict.fromkeys(NON_STAFF, REDIRECT),
    ),
    # A model whose rows only the system writes (recorded values): nobody may add one.
    "add_refused": Access(get=staff_only(DENIED), post=dict.fromkeys(NON_STAFF, LOGIN)),
    "object_redirect": Access(get=staff_only(REDIRECT)),  # <model>/<id>/ -> .../change/
    "catch_all": Access(get=staff_only(NOT_FOUND)),
}


# --- the URL conf, walked ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, as Django prints it
    name: str | None  # namespaced name, e.g. "admin:portfolios_portfolio_change"
    pattern: URLPattern

    @property
    def in_admin(self) -> bool:
        return self.route.startswith("admin/")


def routes_walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes_walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Route(prefix + str(entry.pattern), name, entry)


def all_routes() -> list[Route]:
    return list(routes_walk(get_resolver().url_patterns))


def admin_kind(route: Route) -> str | None:
    """Which of ADMIN_RULES covers an admin route, or None (a new kind: fails by name)."""
    callback = route.pattern.callback
    if route.name is None:
        view_class = getattr(callback, "view_class", None)
        if view_class is not None and view_class.__name__ == "RedirectView":
            return "object_redirect"
        return "catch_all" if callback.__name__ == "catch_all_view" else None
    short = route.name.removeprefix("admin:")
    if short in ADMIN_RULES:
        return short
    model_admin = getattr(callback, "model_admin", None)
    if model_admin is not None:
        meta = model_admin.model._meta
        kind = short.removeprefix(f"{meta.app_label}_{meta.model_name}_")
        # An admin that overrides the permission refuses adding outright (none does otherwise).
        refuses_adding = type(model_admin).has_add_permission is not ModelAdmin.has_add_permission
        if kind == "add" and refuses_adding:
            return "add_refused"
        return kind if kind in ADMIN_RULES and kind != short else None
    return None


def access_for(route: Route) -> Access | None:
    if route.in_admin:
        kind = admin_kind(route)
        return ADMIN_RULES[kind] if kind else None
    return MATRIX.get(route.route)


def routes_without_entry() -> list[str]:
    return [route.route for route in all_routes() if access_for(route) is None]


def test_every_route_has_an_access_entry() -> None:
    routes = all_routes()
    missing = routes_without_entry()
    assert not missing, f"routes without an entry in the access matrix: {missing}"
    stale = set(MATRIX) - {route.route for route in routes}
    assert not stale, f"access matrix entries for routes that no longer exist: {stale}"
    ws_routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert ws_routes == set(SOCKET_MATRIX), f"socket routes {ws_routes} vs {set(SOCKET_MATRIX)}"
    assert set(SOCKET_MATRIX["ws/realtime/"]) == set(ClientType), "a message type has no entry"


def test_a_new_endpoint_without_an_entry_is_named(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.hostile.extra_urls"
    assert routes_without_entry() == ["api/unlisted/"]


# --- the cast ------------------------------------------------------------------------------------


@dataclass
class Cast:
    users: dict[Role, User | None]
    portfolio: Portfolio
    position: Position
    marker: str
    cookies: dict[Role, dict[str, str]]
    token: str

    def object_id(self, model: type[Model]) -> str:
        """The owner's row of `model` where there is one: leaks show on those pages."""
        owner = self.users[Role.OWNER]
        assert owner is not None
        rows: dict[type[Model], Any] = {
            Portfolio: self.portfolio.pk, Position: self.position.pk, User: owner.pk,
        }  # fmt: skip
        if model in rows:
            return str(rows[model])
        if issubclass(model, Token):
            return str(owner.pk)  # DRF's admin proxy names a token by its user
        first = model._default_manager.order_by("pk").first()
        return str(first.pk) if first is not None else "1"


def admin_rows_create(asset: Asset) -> None:
    """A row in every other model the admin shows, so its object pages open for staff."""
    Group.objects.create(name="operators")
    interval = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.create()
    SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.create(name="a task", task="workers.tasks.none", interval=interval)
    price = Decimal("10")
    PriceBar.objects.create(asset=asset, date=date(2026, 1, 2), open=price, high=price,
                            low=price, close=price)  # fmt: skip


@pytest.fixture
def cast() -> Cast:
    asset = asset_create("AAPL")
    admin_rows_create(asset)
    owner, other = user_create(), user_create()
    staff = user_create(is_staff=True, is_superuser=True)
    marker = f"Owner-secret-{secrets.token_hex(6)}"
    portfolio = portfolio_create(owner=owner, name=marker)
    portfolio_create(owner=other, name="Someone else's")
    position = position_create(portfolio, asset)
    PortfolioDailyValue.objects.create(
        portfolio=portfolio, date=date(2026, 1, 2), total_value=Decimal("10"),
        cost_basis=Decimal("5"), currency="USD", complete=True, source="daily",
        as_of=timezone.now(), recorded_at=timezone.now(),
    )  # fmt: skip
    alert = Alert.objects.create(owner=owner, portfolio=portfolio, condition="above", threshold=1)
    AlertEvent.objects.create(alert=alert, owner=owner, target=marker, condition="above",
                              threshold=1, value=2, currency="USD", message=f"{marker} rose",
                              fired_at=timezone.now())  # fmt: skip
    watchlist = Watchlist.objects.create(owner=owner)  # the owner's alone: OWNER_WATCHED
    WatchlistItem.objects.create(watchlist=watchlist, asset=asset_create(OWNER_WATCHED), position=0)
    users: dict[Role, User | None] = {Role.ANONYMOUS: None, Role.OTHER: other,
                                      Role.OWNER: owner, Role.STAFF: staff}  # fmt: skip
    cookies = {role: session_cookie(user) if user else {} for role, user in users.items()}
    token = Token.objects.create(user=owner).key
    return Cast(users, portfolio, position, marker, cookies, token)


def concrete_url(route: Route, cast: Cast) -> str:
    """A real URL for a pattern, with the owner's objects in it."""
    callback = route.pattern.callback
    model_admin = getattr(callback, "model_admin", None)
    if route.name is None and route.in_admin:
        if route.route.endswith("(?P<url>.*)$"):
            return "/admin/no-such-page/"
        app, model = route.route.split("/")[1:3]  # admin/<app>/<model>/<path:object_id>/
        model_class = ContentType.objects.get(app_label=app, model=model).model_class()
        assert model_class is not None
        return f"/admin/{app}/{model}/{cast.object_id(model_class)}/"
    kwargs: dict[str, str] = {}
    for name in route.pattern.pattern.regex.groupindex:
        if name == "object_id" and model_admin is not None:
            kwargs[name] = cast.object_id(model_admin.model)
        elif name == "id":
            kwargs[name] = cast.object_id(User)
        elif name == "content_type_id":
            kwargs[name] = str(ContentType.objects.get_for_model(Portfolio).pk)
        elif name == "app_label":
            kwargs[name] = "portfolios"
        elif name == "portfolio_id":
            kwargs[name] = str(cast.portfolio.pk)
        elif name == "position_id":
            kwargs[name] = str(cast.position.pk)
        elif name == "symbol":
            kwargs[name] = OWNER_WATCHED
        elif name == "alert_id":  # the owner's alert (on the owner's portfolio)
            kwargs[name] = str(Alert.objects.filter(owner=cast.users[Role.OWNER]).get().pk)
    if route.name and "object_id" not in kwargs and "content_type_id" in kwargs:
        kwargs["object_id"] = str(cast.portfolio.pk)
    return reverse(route.name, kwargs=kwargs) if route.name else "/" + route.route


# --- HTTP --------------------------------------------------------------------------------------


def http_client(server: LiveServer, cast: Cast, role: Role) -> httpx.Client:
    """A browser-like client for `role`: its session, and a CSRF token it is entitled to."""
    csrf = secrets.token_hex(16)  # 32 characters: Django's unmasked secret
    client = httpx.Client(base_url=server.http_url, follow_redirects=False, timeout=30)
    client.cookies.set("csrftoken", csrf)
    if cast.cookies[role]:
        client.cookies.set("sessionid", cast.cookies[role]["Cookie"].split("=", 1)[1])
    client.headers["X-CSRFToken"] = csrf
    return client


def problems_of(
    route: Route, access: Access, role: Role, method: str, response: httpx.Response, cast: Cast
) -> list[str]:
    found = []
    expected = (access.get if method == "GET" else access.post)[role]
    got = outcome_of(response)
    where = f"{method} {response.request.url.path} as {role}"
    if got != expected:
        found.append(f"{where}: {got} ({response.status_code}), expected {expected}")
    if cast.marker in response.text and role not in access.owner_data_for:
        found.append(f"{where}: LEAK, the owner's portfolio is in the response")
    if access.json_errors and response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body:
            found.append(f"{where}: {response.status_code} without a JSON body")
    return found


def test_every_route_answers_each_role_as_the_matrix_says_and_leaks_nothing(
    web_server: LiveServer, cast: Cast
) -> None:
    problems: list[str] = []
    tried = 0
    shown_to: set[tuple[str, Role]] = set()  # where the owner's data was rightly shown
    clients = {role: http_client(web_server, cast, role) for role in ROLES}
    for route in all_routes():
        access = access_for(route)
        assert access is not None, route.route  # test_every_route_has_an_access_entry
        url = concrete_url(route, cast) + (f"?{access.query}" if access.query else "")
        for role in ROLES:
            methods = ["GET", "POST"] if role in access.post else ["GET"]
            for method in methods:
                if method == "GET":
                    response = clients[role].get(url)
                elif access.body is not None:
                    response = clients[role].post(url, json=access.body)
                else:
                    response = clients[role].post(url, data={})
                tried += 1
                problems += problems_of(route, access, role, method, response, cast)
                if cast.marker in response.text:
                    shown_to.add((route.route, role))
    for client in clients.values():
        client.close()
    print(f"\naccess matrix: {tried} HTTP requests over {len(all_routes())} routes x 4 roles")
    # The leak check is not vacuous: the pages that should show the portfolio do.
    assert ("realtime/dashboard/", Role.OWNER) in shown_to
    assert ("admin/portfolios/portfolio/<path:object_id>/change/", Role.STAFF) in shown_to
    assert not problems, "\n".join(problems)


def test_the_status_page_shows_only_the_callers_own_subscriptions(
    web_server: LiveServer, cast: Cast
) -> None:
    def user_stats(role: Role) -> Any:
        with http_client(web_server, cast, role) as client:
            return client.get("/realtime/status/").json()["user_stats"]

    with connect(web_server.ws_url, additional_headers=cast.cookies[Role.OWNER],
                 open_timeout=15) as owner:  # fmt: skip
        owner.recv(timeout=10)
        owner.send(message("subscribe_portfolio", portfolio_id=cast.portfolio.pk))
        assert orjson.loads(owner.recv(timeout=10))["type"] == "subscribed"
        # The registry is written in batches by the server (apps/realtime/book.py).
        wait_for(lambda: user_stats(Role.OWNER)["subscriptions"]["portfolios"] == [
            cast.portfolio.pk], "the owner's subscription in the registry")  # fmt: skip
        seen = {role: user_stats(role) for role in ROLES}
    assert seen[Role.ANONYMOUS] is None
    for role in (Role.OTHER, Role.STAFF):
        assert seen[role]["subscriptions"]["portfolios"] == [], role
        assert seen[role]["connection_count"] == 0, role


# --- cross-site requests -----------------------------------------------------------------------

FORCE_UPDATE = "/api/realtime/force_price_update/"


def test_a_cross_site_post_with_the_users_session_is_refused_with_json(
    web_server: LiveServer, cast: Cast
) -> None:
    session = cast.cookies[Role.OWNER]["Cookie"].split("=", 1)[1]
    body = {"symbols": ["AAPL"]}
    with httpx.Client(base_url=web_server.http_url, timeout=30) as client:
        client.cookies.set("sessionid", session)
        no_token = client.post(FORCE_UPDATE, json=body, headers={"Origin": "https://evil.example"})
        client.cookies.set("csrftoken", csrf := secrets.token_hex(16))
        # Even a page that somehow had the token is refused from a foreign Origin.
        foreign = client.post(
            FORCE_UPDATE, json=body, headers={"Origin": "https://evil.example", "X-CSRFToken": csrf}
        )
        own = client.post(
            FORCE_UPDATE, json=body, headers={"Origin": web_server.http_url, "X-CSRFToken": csrf}
        )
    for refused in (no_token, foreign):
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
    assert own.status_code == 202  # the same request from the site itself is accepted


FOREIGN_ORIGINS = [
    "https://evil.example",
    "null",  # a sandboxed frame or a file:// page
    "http://127.0.0.1.evil.example",
    "http://evil.example@127.0.0.1",
    "http://localhost.evil.example:8000",
    "ws://evil.example",
]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_cross_site_socket_is_refused_whatever_credentials_it_carries(
    web_server: LiveServer, cast: Cast, origin: str
) -> None:
    for credentials in ({}, cast.cookies[Role.OWNER]):
        with pytest.raises(InvalidStatus) as refused:
            connect(web_server.ws_url, additional_headers={**credentials, "Origin": origin},
                    open_timeout=15, legacy=True).close()  # fmt: skip
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        connect(web_server.ws_url, additional_headers={"Origin": origin}, open_timeout=15,
                legacy=True, subprotocols=[websockets.Subprotocol("realtime"),
                              websockets.Subprotocol(f"token.{cast.token}")]).close()  # fmt: skip
    assert refused.value.response.status_code == 403


# --- WebSocket subscriptions -------------------------------------------------------------------


def message(kind: str, **data: Any) -> str:
    return orjson.dumps({"type": kind, "data": data}).decode()


# The control reply each role gets, per message type; `portfolio_id` is always the owner's.
SOCKET_MATRIX: dict[str, dict[str, tuple[dict[str, Any], dict[Role, str]]]] = {
    "ws/realtime/": {
        ClientType.PING: ({}, every("pong")),
        ClientType.SET_BATCHING: ({"enabled": False}, every("subscribed")),
        ClientType.SUBSCRIBE_ASSET: ({"symbol": "AAPL"}, every("subscribed")),
        ClientType.UNSUBSCRIBE_ASSET: ({"symbol": "AAPL"}, every("unsubscribed")),
        ClientType.SUBSCRIBE_PORTFOLIO: ({"portfolio_id": "owner"}, {
            Role.ANONYMOUS: "error:auth_required", Role.OTHER: "error:forbidden",
            Role.OWNER: "subscribed", Role.STAFF: "error:forbidden",
        }),
        ClientType.UNSUBSCRIBE_PORTFOLIO: ({"portfolio_id": "owner"}, every("unsubscribed")),
    },
}  # fmt: skip
UPDATES = {"asset_update", "portfolio_update", "batch"}


class Reader:
    """Every frame one socket receives, read in a thread so none is missed."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for text in self.connection:
                self.frames.append(str(text))
        except websockets.ConnectionClosed:
            pass

    def controls(self) -> list[dict[str, Any]]:
        parsed = [orjson.loads(text) for text in self.frames]
        return [frame for frame in parsed if frame["type"] not in UPDATES | {"connection"}]


def reply_name(frame: dict[str, Any]) -> str:
    if frame["type"] == "error":
        return f"error:{frame['data']['code']}"
    return str(frame["type"])


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def send_each(connection: ClientConnection, kinds: list[str], cast: Cast) -> None:
    matrix = SOCKET_MATRIX["ws/realtime/"]
    for kind in kinds:
        data = matrix[kind][0]
        connection.send(message(kind, **{
            name: cast.portfolio.pk if value == "owner" else value for name, value in data.items()
        }))  # fmt: skip


def replies_check(reader: Reader, role: Role, kinds: list[str], start: int) -> list[str]:
    """The control replies from `start` on are the matrix's for `kinds`, in order."""
    matrix = SOCKET_MATRIX["ws/realtime/"]
    wait_for(lambda: len(reader.controls()) >= start + len(kinds), f"{role}'s replies")
    got = [reply_name(frame) for frame in reader.controls()[start : start + len(kinds)]]
    want = [matrix[kind][1][role] for kind in kinds]
    return [] if got == want else [f"{role}: replies {got}, expected {want} for {kinds}"]


def test_each_role_gets_the_documented_reply_to_every_message_and_no_one_elses_values(
    web_server: LiveServer, cast: Cast
) -> None:
    kinds = list(SOCKET_MATRIX["ws/realtime/"])
    subscribes = [kind for kind in kinds if not kind.startswith("unsub")]
    unsubscribes = [*(kind for kind in kinds if kind.startswith("unsub")), ClientType.PING]
    sockets = {role: connect(web_server.ws_url, additional_headers=cast.cookies[role],
                             open_timeout=15, legacy=True) for role in ROLES}  # fmt: skip
    readers = {role: Reader(connection) for role, connection in sockets.items()}
    problems: list[str] = []
    try:
        for role in ROLES:
            send_each(sockets[role], subscribes, cast)
            problems += replies_check(readers[role], role, subscribes, 0)
        # The owner's value, published while every role is (or tried to be) subscribed.
        update = {"portfolio_id": cast.portfolio.pk, "name": cast.marker, "total_value": 1}
        frames_publish_rollback_unsafe(
            [(portfolio_group(cast.portfolio.pk), frame_encode("portfolio_update", update))]
        )
        owner_frames = readers[Role.OWNER].frames
        wait_for(lambda: any(cast.marker in text for text in owner_frames), "the owner's value")
        for role in ROLES:  # the rest, then a ping: whatever was on its way has arrived
            send_each(sockets[role], unsubscribes, cast)
            problems += replies_check(readers[role], role, unsubscribes, len(subscribes))
            if role is not Role.OWNER and any(cast.marker in t for t in readers[role].frames):
                problems.append(f"{role}: LEAK, received the owner's portfolio value")
    finally:
        for connection in sockets.values():
            connection.close()
    assert not problems, "\n".join(problems)
