"""GET /api/market/assets/<symbol>/series/ and /api/market/sparklines/: chart data from the
intraday ring and the daily bars, with missing bars asked for once (real Redis, no worker)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.market.intraday import intraday_push
from apps.market.models import Asset, PriceBar
from apps.market.providers.base import MarketState, Quote
from apps.market.requests import PRICE_HISTORY_TASK
from apps.market.series import SPARKLINE_POINTS
from config.celery import app
from config.redis_client import redis_client, redis_key
from tests.factories import asset_priced, user_create

pytestmark = pytest.mark.django_db

QUEUE = f"{settings.REDIS_KEY_PREFIX}:celery:celery"
TODAY = datetime.now(UTC).date()


def series_url(symbol: str, range_: str | None = None) -> str:
    return f"/api/market/assets/{symbol}/series/" + (
        f"?range={range_}" if range_ is not None else ""
    )


def queued_fetches() -> list[dict[str, Any]]:
    """The kwargs of every history fetch waiting in the default queue (no worker runs)."""
    messages = [orjson.loads(raw) for raw in redis_client().lrange(QUEUE, 0, -1)]
    return [
        orjson.loads(base64.b64decode(m["body"]))[1]
        for m in messages
        if m["headers"]["task"] == PRICE_HISTORY_TASK
    ]


def api_for(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def user() -> User:
    return user_create()


@pytest.fixture
def api(user: User) -> APIClient:
    return api_for(user)


@pytest.fixture
def aapl() -> Asset:
    """A freshly priced asset in USD."""
    now = datetime.now(UTC)
    return asset_priced("AAPL", "190.50", "188.00", quote_time=now, last_updated=now)


def bars_create(asset: Asset, first: date, last: date, start_price: str = "100") -> None:
    """One bar a day from `first` to `last`, closing 1 higher each day."""
    days = (last - first).days + 1
    PriceBar.objects.bulk_create(
        PriceBar(asset=asset, date=first + timedelta(days=n), open=Decimal(start_price),
                 high=Decimal(start_price) + n + 1, low=Decimal(start_price) - 1,
                 close=Decimal(start_price) + n)
        for n in range(days)
    )  # fmt: skip


def quote_at(symbol: str, price: str, moment: datetime) -> Quote:
    value = Decimal(price)
    return Quote(symbol, value, None, value, value, None, "USD", moment, "simulated",
                 MarketState.OPEN)  # fmt: skip


# --- 1d: the intraday ring ---------------------------------------------------------------------


def test_one_day_is_the_intraday_ring_oldest_first_with_the_quote_around_it(
    api: APIClient, aapl: Asset
) -> None:
    start = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    for offset, price in enumerate(["189.10", "189.75", "190.50"]):
        intraday_push([quote_at("AAPL", price, start + timedelta(minutes=offset))])

    response = api.get(series_url("aapl", "1d"))

    assert response.status_code == 200
    body = response.json()
    assert body["points"] == [
        {"t": "2026-03-02T14:30:00.000Z", "v": 189.1},
        {"t": "2026-03-02T14:31:00.000Z", "v": 189.75},
        {"t": "2026-03-02T14:32:00.000Z", "v": 190.5},
    ]
    assert body["symbol"] == "AAPL"
    assert body["range"] == "1d"
    assert body["currency"] == "USD"
    assert body["previous_close"] == 188.0
    assert body["status"] == "ready"
    assert body["stale"] is False
    assert body["reason"] is None
    assert body["as_of"].endswith("Z")
    assert queued_fetches() == []


def test_range_defaults_to_one_day(api: APIClient, aapl: Asset) -> None:
    assert api.get(series_url("AAPL")).json()["range"] == "1d"


def test_an_empty_ring_is_no_points_with_a_reason_never_a_zero(api: APIClient, aapl: Asset) -> None:
    body = api.get(series_url("AAPL", "1d")).json()

    assert body["points"] == []
    assert body["status"] == "ready"
    assert "no intraday prices" in body["reason"]


def test_a_stale_asset_says_so_and_why(api: APIClient) -> None:
    asset_priced("MSFT", "420", "410", stale_reason="no fresh quote: yahoo: HTTP 503")

    body = api.get(series_url("MSFT", "1d")).json()

    assert body["stale"] is True
    assert body["reason"].startswith("no fresh quote: yahoo: HTTP 503")


def test_a_never_priced_asset_has_null_prices_and_says_why(api: APIClient) -> None:
    asset_priced("NEWCO", None)

    body = api.get(series_url("NEWCO", "1d")).json()

    assert body["previous_close"] is None
    assert body["as_of"] is None
    assert body["stale"] is True
    assert "no quote saved yet" in body["reason"]


# --- daily ranges: bars, and the ones missing asked for once ---------------------------------


def test_a_covered_range_is_the_daily_closes_oldest_first(api: APIClient, aapl: Asset) -> None:
    bars_create(aapl, TODAY - timedelta(days=40), TODAY - timedelta(days=1))

    body = api.get(series_url("AAPL", "1m")).json()

    assert body["status"] == "ready"
    days = [point["t"] for point in body["points"]]
    assert days[0] == (TODAY - timedelta(days=30)).isoformat()  # the range's start, not before
    assert days[-1] == (TODAY - timedelta(days=1)).isoformat()
    assert days == sorted(days)
    assert body["points"][-1]["v"] == 139.0  # 100 + 39: the close of the last day
    assert queued_fetches() == []


def test_weekends_and_holidays_at_either_end_still_cover_the_range(
    api: APIClient, aapl: Asset
) -> None:
    bars_create(aapl, TODAY - timedelta(days=30 - 4), TODAY - timedelta(days=4))

    assert api.get(series_url("AAPL", "1m")).json()["status"] == "ready"
    assert queued_fetches() == []


@pytest.mark.parametrize(
    ("first_ago", "last_ago", "why"),
    [
        (None, None, "no bars at all"),
        (20, 1, "the oldest bar is well after the range's start"),
        (200, 8, "the newest bar is over five days old"),
    ],
)
def test_missing_bars_answer_loading_and_queue_one_fetch(
    api: APIClient, user: User, aapl: Asset, first_ago: int | None, last_ago: int | None, why: str
) -> None:
    if first_ago is not None and last_ago is not None:
        bars_create(aapl, TODAY - timedelta(days=first_ago), TODAY - timedelta(days=last_ago))

    body = api.get(series_url("AAPL", "6m")).json()

    assert body["status"] == "loading", why
    assert queued_fetches() == [{"symbol": "AAPL", "days": 182, "user_ids": [user.pk]}]


def test_reloads_and_other_viewers_while_in_flight_queue_nothing_more(
    api: APIClient, user: User, aapl: Asset
) -> None:
    other = user_create()
    answers = [api.get(series_url("AAPL", "1y")).json()["status"] for _ in range(3)]
    answers.append(api_for(other).get(series_url("AAPL", "1y")).json()["status"])

    assert answers == ["loading"] * 4
    assert queued_fetches() == [{"symbol": "AAPL", "days": 365, "user_ids": [user.pk]}]
    # Both askers will be told when the one fetch ends.
    askers = redis_client().smembers(redis_key("history", "askers", "AAPL", 365))
    assert askers == {str(user.pk), str(other.pk)}


def test_each_range_is_its_own_fetch(api: APIClient, aapl: Asset) -> None:
    for range_ in ("1m", "6m", "1y", "1m"):
        api.get(series_url("AAPL", range_))

    assert sorted(fetch["days"] for fetch in queued_fetches()) == [30, 182, 365]


def test_an_inactive_asset_is_never_fetched(api: APIClient) -> None:
    asset_priced("OLDCO", "5", is_active=False)

    body = api.get(series_url("OLDCO", "1m")).json()

    assert body["status"] == "ready"
    assert body["points"] == []
    assert "inactive" in body["reason"]
    assert queued_fetches() == []


def test_the_requested_task_name_is_a_registered_task() -> None:
    app.loader.import_default_modules()

    assert PRICE_HISTORY_TASK in app.tasks


# --- errors and authentication -----------------------------------------------------------------


@pytest.mark.parametrize("range_", ["5y", "1D", "max", "1d,1m"])
def test_a_bad_range_is_a_400_with_a_detail(api: APIClient, aapl: Asset, range_: str) -> None:
    response = api.get(series_url("AAPL", range_))

    assert response.status_code == 400
    assert "range" in response.json()["detail"]


@pytest.mark.parametrize("symbol", ["ZZZZ", "AA PL", "a%2Fb", "a%0Ab", "", "x" * 40])
def test_an_unknown_or_impossible_symbol_is_a_404_with_a_detail(
    api: APIClient, symbol: str
) -> None:
    response = api.get(series_url(symbol, "1d"))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "No asset" in response.json()["detail"]


def test_anonymous_callers_are_refused_with_json(aapl: Asset) -> None:
    for url in (series_url("AAPL", "1d"), "/api/market/sparklines/?symbols=AAPL"):
        response = APIClient().get(url)
        assert response.status_code in (401, 403)
        assert "detail" in response.json()
    assert queued_fetches() == []


def test_a_script_reads_a_series_with_its_token(aapl: Asset) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user_create()).key}")

    assert api.get(series_url("AAPL", "1d")).status_code == 200


# --- sparklines --------------------------------------------------------------------------------


def test_sparklines_give_each_known_symbols_day_in_one_request(api: APIClient, aapl: Asset) -> None:
    asset_priced("MSFT", "420", "410")
    moment = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    intraday_push([quote_at("AAPL", "190", moment), quote_at("MSFT", "421", moment)])

    response = api.get("/api/market/sparklines/?symbols=aapl,MSFT,NOPE,AAPL")

    assert response.status_code == 200
    series = response.json()["series"]
    assert set(series) == {"AAPL", "MSFT"}  # an unknown symbol is left out
    assert series["MSFT"]["points"] == [{"t": "2026-03-02T15:00:00.000Z", "v": 421.0}]
    assert series["MSFT"]["range"] == "1d"
    assert series["AAPL"]["previous_close"] == 188.0


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "symbols"),
        ("?symbols=", "symbols"),
        ("?symbols=,,", "at least one symbol"),
        ("?symbols=AAPL,AA PL", "not a valid ticker"),
        ("?symbols=" + ",".join(f"S{n}" for n in range(101)), "At most 100"),
    ],
)
def test_a_bad_symbol_list_is_a_400_with_a_detail(
    api: APIClient, query: str, fragment: str
) -> None:
    response = api.get("/api/market/sparklines/" + query)

    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_the_schema_documents_both_endpoints(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    series = schema["paths"]["/api/market/assets/{symbol}/series/"]["get"]
    assert {p["name"] for p in series["parameters"]} == {"symbol", "range"}
    assert {"200", "400", "404"} <= set(series["responses"])
    sparklines = schema["paths"]["/api/market/sparklines/"]["get"]
    assert [p["name"] for p in sparklines["parameters"]] == ["symbols"]


def test_prices_within_one_step_keep_one_point_the_latest(api: APIClient, aapl: Asset) -> None:
    start = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # a step (60 s) boundary
    for seconds, price in [(0, "189.10"), (20, "189.30"), (59, "189.50"), (60, "189.90")]:
        intraday_push([quote_at("AAPL", price, start + timedelta(seconds=seconds))])

    points = api.get(series_url("AAPL", "1d")).json()["points"]

    assert points == [
        {"t": "2026-03-02T14:30:59.000Z", "v": 189.5},
        {"t": "2026-03-02T14:31:00.000Z", "v": 189.9},
    ]


def test_a_sparkline_spreads_a_full_day_over_its_points_ending_on_the_latest(
    api: APIClient, aapl: Asset
) -> None:
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    quotes = [quote_at("AAPL", f"{180 + n / 100:.2f}", start + timedelta(minutes=n))
              for n in range(1440)]  # fmt: skip
    intraday_push(quotes)  # one batch: each point still lands in its own step

    day = api.get(series_url("AAPL", "1d")).json()["points"]
    spark = api.get("/api/market/sparklines/?symbols=AAPL").json()["series"]["AAPL"]["points"]

    assert len(day) == 1440
    assert len(spark) == SPARKLINE_POINTS
    assert spark[0] == day[0]
    assert spark[-1] == day[-1]


def test_one_day_is_in_time_order_even_when_prices_were_saved_out_of_order(
    api: APIClient, aapl: Asset
) -> None:
    start = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    for minutes, price in [(5, "190.00"), (1, "189.00"), (3, "189.50")]:  # a late worker
        intraday_push([quote_at("AAPL", price, start + timedelta(minutes=minutes))])

    points = api.get(series_url("AAPL", "1d")).json()["points"]

    assert [point["v"] for point in points] == [189.0, 189.5, 190.0]
