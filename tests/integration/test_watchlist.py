"""The watchlist: services, selectors and views against the real database; the dashboard's
rows (what it subscribes to) for a signed-in user and for a visitor."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connections, transaction
from django.shortcuts import resolve_url
from django.test import Client
from pytest_django.fixtures import Settings

from apps.market.models import Asset
from apps.portfolios.models import Watchlist, WatchlistItem
from apps.portfolios.watchlist import (
    WATCHLIST_MAX,
    watchlist_rows,
    watchlist_symbol_add,
    watchlist_symbol_move,
)
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = pytest.mark.django_db
# Adding runs in a thread of its own (it may wait on a worker), with its own connection: the
# rows it must see are committed first.
committed = pytest.mark.django_db(transaction=True)

DASHBOARD = "/realtime/dashboard/"
JSON = {"Accept": "application/json"}
ROW = re.compile(r'<tr data-symbol="([^"]+)" data-kind="(\w+)"')


def login_url() -> str:
    return str(resolve_url(django_settings.LOGIN_URL))


def symbols(user: User) -> list[str]:
    return [row.symbol for row in watchlist_rows(user_id=user.pk)]


def page_rows(response: Any) -> list[tuple[str, str]]:
    """(symbol, kind) of every quote row the page renders (templates are not rows)."""
    html = re.sub(r"<template.*?</template>", "", response.content.decode(), flags=re.S)
    return ROW.findall(html)


def signed_in(user: User, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


@pytest.fixture
def market() -> dict[str, Asset]:
    """Three demo symbols (catalog order AAPL, MSFT, BTC-USD), one switched off, one extra."""
    assets = {symbol: asset_create(symbol) for symbol in ("BTC-USD", "MSFT", "AAPL", "ZZZ")}
    assets["TSLA"] = asset_create("TSLA", is_active=False)
    return assets


# --- selectors and services ----------------------------------------------------------------------


def test_a_new_user_sees_the_demo_symbols_that_exist_in_the_catalogs_order(market: Any) -> None:
    user = user_create()
    assert symbols(user) == ["AAPL", "MSFT", "BTC-USD"]
    assert not Watchlist.objects.filter(owner=user).exists()  # reading writes nothing


def test_the_first_change_writes_the_defaults_then_applies_itself(market: Any) -> None:
    user = user_create()
    row = watchlist_symbol_add(user_id=user.pk, symbol=" zzz ")
    assert (row.symbol, row.name) == ("ZZZ", "ZZZ Inc.")
    assert symbols(user) == ["AAPL", "MSFT", "BTC-USD", "ZZZ"]
    positions = WatchlistItem.objects.filter(watchlist__owner=user).order_by("position")
    assert [item.position for item in positions] == [0, 1, 2, 3]


def test_moving_swaps_with_the_neighbour_and_stops_at_either_end(market: Any) -> None:
    user = user_create()
    assert watchlist_symbol_move(user_id=user.pk, symbol="MSFT", direction="up") == [
        "MSFT", "AAPL", "BTC-USD",
    ]  # fmt: skip
    assert watchlist_symbol_move(user_id=user.pk, symbol="msft", direction="up") == [
        "MSFT", "AAPL", "BTC-USD",
    ]  # fmt: skip
    watchlist_symbol_move(user_id=user.pk, symbol="MSFT", direction="down")
    watchlist_symbol_move(user_id=user.pk, symbol="MSFT", direction="down")
    assert symbols(user) == ["AAPL", "BTC-USD", "MSFT"]
    assert watchlist_symbol_move(user_id=user.pk, symbol="MSFT", direction="down")[-1] == "MSFT"


def test_the_database_refuses_a_symbol_twice_and_two_rows_at_one_position(market: Any) -> None:
    watchlist = Watchlist.objects.create(owner=user_create())
    WatchlistItem.objects.create(watchlist=watchlist, asset=market["AAPL"], position=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistItem.objects.create(watchlist=watchlist, asset=market["AAPL"], position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistItem.objects.create(watchlist=watchlist, asset=market["MSFT"], position=0)


@pytest.mark.django_db(transaction=True)
def test_two_first_changes_at_once_write_the_defaults_once(market: Any) -> None:
    user = user_create()
    errors: list[BaseException] = []

    def add(symbol: str) -> None:
        try:
            watchlist_symbol_add(user_id=user.pk, symbol=symbol)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(s,)) for s in ("ZZZ", "ZZZ", "ZZZ")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert symbols(user) == ["AAPL", "MSFT", "BTC-USD", "ZZZ"]
    assert [type(error).__name__ for error in errors] == ["SymbolAlreadyWatched"] * 2


# --- views: changes ------------------------------------------------------------------------------


@committed
def test_adding_answers_the_row_in_json_and_a_plain_post_returns_to_the_dashboard(
    market: Any,
) -> None:
    user = user_create()
    client = signed_in(user)
    added = client.post("/watchlist/add/", {"symbol": "zzz"}, headers=JSON)
    assert added.status_code == 201
    assert added.json()["added"] == {
        "symbol": "ZZZ", "name": "ZZZ Inc.", "asset_type": "stock", "currency": "USD",
        "exchange": "",
    }  # fmt: skip
    client.post("/watchlist/ZZZ/remove/", headers=JSON)
    plain = client.post("/watchlist/add/", {"symbol": "ZZZ"})
    assert plain.status_code == 303
    assert plain["Location"] == "/realtime/dashboard/#watchlist"
    assert symbols(user)[-1] == "ZZZ"


@committed
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a symbol, such as AAPL or BTC-USD."),
        ("AA PL", "\u201cAA PL\u201d is not a ticker symbol"),
        ("TSLA", "TSLA is switched off here: it gets no prices."),
        ("aapl", "AAPL is already on your watchlist."),
    ],
)
def test_bad_input_gets_a_message_for_the_field_and_changes_nothing(
    market: Any, typed: str, message: str
) -> None:
    user = user_create()
    response = signed_in(user).post("/watchlist/add/", {"symbol": typed}, headers=JSON)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith(message)
    assert error["field"] == "symbol"
    assert symbols(user) == ["AAPL", "MSFT", "BTC-USD"]
    assert not Watchlist.objects.filter(owner=user).exists()  # rolled back with the refusal


@committed
def test_a_plain_form_post_shows_its_problem_beside_the_field_once(market: Any) -> None:
    client = signed_in(user_create())
    response = client.post("/watchlist/add/", {"symbol": "AA PL"}, follow=True)
    assert response.redirect_chain == [("/realtime/dashboard/#watchlist", 303)]
    html = response.content.decode()
    problem = re.search(r'<p id="watchlist-problem"[^>]*>([^<]*)</p>', html)
    assert problem is not None
    assert problem.group(1).startswith("\u201cAA PL\u201d is not a ticker symbol")
    assert re.search(r'value="AA PL" aria-invalid="true"', html)
    again = client.get(DASHBOARD).content.decode()
    assert "is not a ticker symbol" not in again


@committed
def test_a_full_watchlist_refuses_one_more(market: Any) -> None:
    user = user_create()
    for number in range(WATCHLIST_MAX - 3):
        watchlist_symbol_add(user_id=user.pk, symbol=asset_create(f"X{number}").symbol)
    response = signed_in(user).post("/watchlist/add/", {"symbol": "ZZZ"}, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "watchlist_full"
    assert len(symbols(user)) == WATCHLIST_MAX


def test_removing_says_whether_the_symbol_is_still_held(market: Any) -> None:
    user = user_create()
    position_create(portfolio_create(owner=user), market["MSFT"])
    client = signed_in(user)
    assert client.post("/watchlist/MSFT/remove/", headers=JSON).json() == {
        "removed": "MSFT", "held": True,
    }  # fmt: skip
    assert client.post("/watchlist/aapl/remove/", headers=JSON).json() == {
        "removed": "AAPL", "held": False,
    }  # fmt: skip
    assert client.post("/watchlist/AAPL/remove/", headers=JSON).status_code == 404
    assert symbols(user) == ["BTC-USD"]


def test_another_users_rows_are_never_changed_a_post_for_them_is_404(market: Any) -> None:
    owner, other = user_create(), user_create()
    watchlist_symbol_add(user_id=owner.pk, symbol="ZZZ")
    intruder = signed_in(other)
    for url, data in [
        ("/watchlist/ZZZ/remove/", {}),
        ("/watchlist/ZZZ/move/", {"direction": "up"}),
        ("/watchlist/ZZZ/move/", {"direction": "sideways"}),  # 404 first: nothing told
        ("/watchlist/%5EBAD%20/remove/", {}),
    ]:
        assert intruder.post(url, data, headers=JSON).status_code == 404, url
        assert intruder.post(url, data).status_code == 404, url
    assert symbols(owner) == ["AAPL", "MSFT", "BTC-USD", "ZZZ"]
    assert symbols(other) == ["AAPL", "MSFT", "BTC-USD"]


def test_moving_through_the_view(market: Any) -> None:
    user = user_create()
    client = signed_in(user)
    moved = client.post("/watchlist/BTC-USD/move/", {"direction": "up"}, headers=JSON)
    assert moved.json() == {"order": ["AAPL", "BTC-USD", "MSFT"]}
    refused = client.post("/watchlist/BTC-USD/move/", {"direction": "sideways"}, headers=JSON)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == 'Move a symbol "up" or "down".'
    assert symbols(user) == ["AAPL", "BTC-USD", "MSFT"]


def test_signed_out_posts_go_to_sign_in_and_scripts_get_401(market: Any) -> None:
    client = Client()
    for url in ("/watchlist/add/", "/watchlist/ZZZ/move/"):
        plain = client.post(url, {"symbol": "ZZZ"})
        assert plain.status_code == 302
        assert plain["Location"] == f"{login_url()}?next={url}"
    scripted = client.post("/watchlist/ZZZ/remove/", headers=JSON)
    assert scripted.status_code == 401
    assert scripted.json()["error"]["code"] == "login_required"
    assert signed_in(user_create()).get("/watchlist/add/").status_code == 405
    assert client.get("/watchlist/AAPL/remove/").status_code == 405


def test_a_post_without_the_csrf_token_is_refused(market: Any) -> None:
    user = user_create()
    response = signed_in(user, enforce_csrf_checks=True).post("/watchlist/add/", {"symbol": "ZZZ"})
    assert response.status_code == 403
    assert not Watchlist.objects.filter(owner=user).exists()


# --- the dashboard -------------------------------------------------------------------------------


def test_the_dashboard_lists_what_the_user_watches_and_holds_and_nothing_else(
    market: Any,
) -> None:
    user, other = user_create(), user_create()
    watchlist_symbol_add(user_id=user.pk, symbol="ZZZ")
    watchlist_symbol_move(user_id=user.pk, symbol="ZZZ", direction="up")
    held = asset_create("HELD")
    portfolio = portfolio_create(owner=user, name="Mine")
    position_create(portfolio, held)
    position_create(portfolio, market["AAPL"])  # watched and held: one row, on the watchlist
    position_create(portfolio_create(owner=other, name="Theirs"), asset_create("THEIRS"))
    watchlist_symbol_add(user_id=other.pk, symbol="ZZZ")
    response = signed_in(user).get(DASHBOARD)
    assert page_rows(response) == [
        ("AAPL", "watch"), ("MSFT", "watch"), ("ZZZ", "watch"), ("BTC-USD", "watch"),
        ("HELD", "held"),
    ]  # fmt: skip
    assert "Theirs" not in response.content.decode()
    assert response.context["portfolios"][0]["name"] == "Mine"


def test_a_visitor_sees_the_public_market_list_in_its_order(
    market: Any, settings: Settings
) -> None:
    settings.REALTIME_PUBLIC_SYMBOLS = ["BTC-USD", "NOPE", "TSLA", "AAPL"]
    response = Client().get(DASHBOARD)
    assert page_rows(response) == [("BTC-USD", "public"), ("AAPL", "public")]
    assert "Log in" in response.content.decode()


def test_with_the_public_market_off_a_visitor_is_sent_to_sign_in(
    market: Any, settings: Settings
) -> None:
    settings.REALTIME_PUBLIC_MARKET = False
    response = Client().get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == f"{login_url()}?next={DASHBOARD}"
    assert signed_in(user_create()).get(DASHBOARD).status_code == 200


def test_each_portfolio_card_links_to_its_page(market: Any) -> None:
    user = user_create()
    portfolio = portfolio_create(owner=user, name="Linked")
    html = signed_in(user).get(DASHBOARD).content.decode()
    assert f'<a href="/portfolios/{portfolio.pk}/">Linked</a>' in html


def test_the_admin_lists_watchlists_by_owner_and_symbol_with_items_in_order(
    market: Any,
) -> None:
    owner = user_create(username="watcher")
    watchlist_symbol_add(user_id=owner.pk, symbol="ZZZ")
    staff = signed_in(user_create(is_staff=True, is_superuser=True))
    listed = staff.get("/admin/portfolios/watchlist/?q=ZZZ").content.decode()
    assert "watcher" in listed
    assert '<td class="field-symbol_count">4</td>' in listed
    watchlist = Watchlist.objects.get(owner=owner)
    page = staff.get(f"/admin/portfolios/watchlist/{watchlist.pk}/change/").content.decode()
    shown = re.findall(r'<option value="\d+" selected>(\S+)</option>', page)
    assert shown == ["watcher", "AAPL", "MSFT", "BTC-USD", "ZZZ"]  # the owner, then the items
