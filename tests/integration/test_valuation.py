"""Portfolio valuation: exact Decimal values, FX, missing prices, batching; the full pass and
the pushed one (with positions) agree with each other and with the textbook loop.

Runs on PostgreSQL and on SQLite alike (tests/integration/test_valuation_sqlite.py runs this
module on SQLite): every figure must equal the Decimal hand computation to the cent on both.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import count
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.market.models import Asset, AssetType
from apps.portfolios.holdings import portfolios_value_held
from apps.portfolios.models import Portfolio
from apps.portfolios.selectors import portfolio_ids_affected, portfolio_ids_holding
from apps.portfolios.services import portfolios_revalue
from apps.portfolios.updates import (
    portfolio_frames_build,
)
from apps.portfolios.valuation import Valuation, portfolios_value, portfolios_value_every
from apps.streams.groups import FRAME_EVENT, portfolio_group
from apps.streams.snapshots import snapshot_get, snapshot_key
from apps.streams.watching import watch_touch, watched_portfolio_ids
from config.redis_client import redis_client, redis_key
from tests.factories import asset_priced as priced
from tests.factories import portfolio_create, position_create

pytestmark = pytest.mark.django_db

_owners = count(1)


def new_portfolio(**fields: Any) -> Portfolio:
    """A portfolio of a new owner without a password (hashing one costs a quarter second)."""
    owner = User.objects.create(username=f"valuation-owner-{next(_owners)}")
    return portfolio_create(owner, **fields)


def fx_pair(symbol: str, rate: str, **fields: Any) -> Asset:
    return priced(symbol, rate, rate, asset_type=AssetType.FX, currency=symbol[3:6], **fields)


def value_of(portfolio: Portfolio) -> Valuation:
    [valuation] = portfolios_value([portfolio.id])
    return valuation


def test_a_usd_portfolio_is_valued_to_the_cent() -> None:
    portfolio = new_portfolio(name="Tech")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("MSFT", "420.25", "425.00"), "3.2", "1400")

    valuation = value_of(portfolio)

    # 10 x 231.50 + 3.2 x 420.25 = 2315.00 + 1344.80
    assert valuation.total_value == Decimal("3659.80")
    # 10 x 2.50 + 3.2 x -4.75 = 25.00 - 15.20
    assert valuation.daily_change == Decimal("9.80")
    # 9.80 / (3659.80 - 9.80) x 100 = 0.26849...
    assert valuation.daily_change_percent == Decimal("0.2685")
    assert valuation.cost_basis == Decimal("3400.00")
    assert valuation.unrealised_gain == Decimal("259.80")
    assert valuation.base_currency == "USD"
    assert valuation.name == "Tech"
    assert valuation.positions == 2
    assert valuation.complete
    assert valuation.missing == []
    assert not valuation.stale


def test_values_are_rounded_to_the_cent() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("BTC-USD", "65432.10", "64000.00"), "0.0123", "700.005")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("804.81")  # 804.814830
    assert valuation.daily_change == Decimal("17.61")  # 0.0123 x 1432.10 = 17.61483
    assert valuation.cost_basis == Decimal("700.00")  # 700.005, half to even
    assert valuation.total_value.as_tuple().exponent == -2


def test_a_eur_portfolio_converts_usd_assets_with_the_inverse_of_eurusd() -> None:
    fx_pair("EURUSD=X", "1.25")  # 1 EUR = 1.25 USD, so 1 USD = 0.80 EUR
    portfolio = new_portfolio(base_currency="EUR")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("SAP.DE", "210.00", "200.00", currency="EUR"), "5", "900")

    valuation = value_of(portfolio)

    # AAPL 2315.00 USD = 1852.00 EUR; SAP 1050.00 EUR
    assert valuation.total_value == Decimal("2902.00")
    # AAPL 25.00 USD = 20.00 EUR; SAP 50.00 EUR
    assert valuation.daily_change == Decimal("70.00")
    assert valuation.daily_change_percent == Decimal("2.4718")  # 70 / 2832
    assert valuation.cost_basis == Decimal("2500.00")  # 1600.00 + 900.00
    assert valuation.base_currency == "EUR"
    assert valuation.complete


def test_an_inverse_rate_that_does_not_divide_evenly_is_exact_to_the_cent() -> None:
    fx_pair("EURUSD=X", "1.08")
    eur = new_portfolio(base_currency="EUR")
    usd = new_portfolio(base_currency="USD")
    aapl = priced("AAPL", "231.50", "229.00")
    sap = priced("SAP.DE", "210.00", "200.00", currency="EUR")
    position_create(eur, aapl, "10", "2000")
    position_create(usd, sap, "5", "900")

    by_id = {v.portfolio_id: v for v in portfolios_value([eur.id, usd.id])}

    assert by_id[eur.id].total_value == Decimal("2143.52")  # 2315 / 1.08 = 2143.5185...
    assert by_id[eur.id].cost_basis == Decimal("1851.85")  # 2000 / 1.08 = 1851.8518...
    assert by_id[usd.id].total_value == Decimal("1134.00")  # 1050 x 1.08, the direct rate
    assert by_id[usd.id].daily_change == Decimal("54.00")


def test_a_rate_between_two_non_usd_currencies_goes_through_usd() -> None:
    fx_pair("EURUSD=X", "1.25")
    fx_pair("GBPUSD=X", "1.60")
    portfolio = new_portfolio(base_currency="GBP")
    position_create(portfolio, priced("SAP.DE", "200.00", "200.00", currency="EUR"), "4", "800")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("625.00")  # 800 EUR x 1.25 / 1.60
    assert valuation.complete


def test_a_position_without_a_price_is_left_out_and_reported_not_valued_at_cost() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("NEWCO", None), "100", "5000")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("2315.00")  # not 7315.00: never valued at cost
    assert valuation.daily_change == Decimal("25.00")
    assert valuation.cost_basis == Decimal("2000.00")  # its cost is left out with its value
    assert valuation.unrealised_gain == Decimal("315.00")
    assert not valuation.complete
    assert valuation.missing == ["1 position(s) in USD have no price"]
    assert valuation.positions == 2


def test_a_position_without_a_previous_close_is_reported() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("IPO", "50.00", None), "2", "90")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("2415.00")
    assert valuation.daily_change == Decimal("25.00")
    assert valuation.missing == ["1 position(s) in USD have no previous close"]


def test_the_daily_percent_is_over_the_positions_whose_change_is_known() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("IPO", "50.00", None), "2", "90")

    valuation = value_of(portfolio)

    # 25.00 / (10 x 229.00) = 1.0917%; not 25.00 / (2415.00 - 25.00) = 1.0460%, which
    # counts the IPO's 100.00 as if it had not moved today
    assert valuation.daily_change_percent == Decimal("1.0917")


def test_a_portfolio_with_nothing_priced_is_null_with_the_reason_never_zero() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("NEWCO", None), "100", "5000")
    position_create(portfolio, priced("IPO", None), "3", "90")

    valuation = value_of(portfolio)

    assert valuation.total_value is None
    assert valuation.daily_change is None
    assert valuation.daily_change_percent is None
    assert valuation.cost_basis is None  # the cost of what is valued: unknown, not 0
    assert valuation.unrealised_gain is None
    assert not valuation.complete
    assert valuation.missing == ["2 position(s) in USD have no price"]
    assert valuation.positions == 2


def test_a_portfolio_with_nothing_convertible_is_null_never_converted_at_one() -> None:
    portfolio = new_portfolio(base_currency="USD")
    position_create(portfolio, priced("7203.T", "2800", "2750", currency="JPY"), "100", "270000")

    valuation = value_of(portfolio)

    assert (valuation.total_value, valuation.daily_change, valuation.cost_basis) == (
        None, None, None
    )  # fmt: skip
    assert valuation.missing == ["no FX rate JPY->USD"]


def test_a_daily_change_with_no_previous_close_at_all_is_null_not_zero() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("IPO", "50.00", None), "2", "90")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("100.00")
    assert valuation.unrealised_gain == Decimal("10.00")
    assert valuation.daily_change is None
    assert valuation.daily_change_percent is None
    assert valuation.missing == ["1 position(s) in USD have no previous close"]


def test_a_price_that_barely_moved_is_exact_to_the_cent() -> None:
    # In floats (SQLite's SUM over REAL columns) 10.007 - 9.992 = 0.014999999999998792,
    # which rounds to 0.01; in Decimal it is 0.015, which rounds to 0.02 either way.
    portfolio = new_portfolio()
    position_create(portfolio, priced("KO", "10.007", "9.992"), "1", "9")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("10.01")
    assert valuation.daily_change == Decimal("0.02")
    assert valuation.daily_change_percent == Decimal("0.2002")  # 0.02 / 9.99


def test_a_currency_without_any_fx_rate_is_reported_missing_never_converted_at_one() -> None:
    fx_pair("EURUSD=X", "1.25")  # a rate exists, but not for JPY
    portfolio = new_portfolio(base_currency="USD")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("7203.T", "2800", "2750", currency="JPY"), "100", "270000")

    valuation = value_of(portfolio)

    assert valuation.total_value == Decimal("2315.00")  # not 282315.00
    assert valuation.daily_change == Decimal("25.00")
    assert valuation.cost_basis == Decimal("2000.00")
    assert not valuation.complete
    assert valuation.missing == ["no FX rate JPY->USD"]


def test_a_stale_asset_makes_the_valuation_stale() -> None:
    fresh, stale = new_portfolio(), new_portfolio()
    aapl = priced("AAPL", "231.50", "229.00")
    position_create(fresh, aapl)
    position_create(stale, aapl)
    position_create(stale, priced("MSFT", "420.00", "425.00", stale_reason="source unavailable"))

    by_id = {v.portfolio_id: v for v in portfolios_value([fresh.id, stale.id])}

    assert by_id[fresh.id].stale is False
    assert by_id[fresh.id].stale_reason is None
    assert by_id[stale.id].stale is True
    assert by_id[stale.id].stale_reason == "1 price(s) in USD are not current"
    assert by_id[stale.id].complete  # stale prices are still prices


def test_a_stale_fx_rate_makes_the_valuation_stale() -> None:
    fx_pair("EURUSD=X", "1.25", stale_reason="source unavailable")
    portfolio = new_portfolio(base_currency="EUR")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"))

    valuation = value_of(portfolio)
    assert valuation.stale is True
    assert valuation.stale_reason == "the FX rate USD->EUR is not current"


def test_only_portfolios_holding_the_symbols_are_valued() -> None:
    aapl, msft, ko = priced("AAPL", "230", "229"), priced("MSFT", "420", "425"), priced("KO", "68")
    apple_only, microsoft_only, both, neither = (new_portfolio() for _ in range(4))
    position_create(apple_only, aapl)
    position_create(microsoft_only, msft)
    position_create(both, aapl)
    position_create(both, msft)
    position_create(neither, ko)

    valued = portfolios_value(portfolio_ids_holding(["AAPL"]))

    assert {v.portfolio_id for v in valued} == {apple_only.id, both.id}
    assert {v.portfolio_id: v.total_value for v in valued}[both.id] == Decimal("6500.00")
    assert {v.portfolio_id for v in portfolios_value(portfolio_ids_holding(["ZZZ"]))} == set()


def portfolios_with_positions(count: int, assets: list[Asset]) -> list[int]:
    ids = []
    for _ in range(count):
        portfolio = new_portfolio()
        for asset in assets:
            position_create(portfolio, asset)
        ids.append(portfolio.id)
    return ids


def test_the_query_count_does_not_grow_with_the_number_of_portfolios() -> None:
    fx_pair("EURUSD=X", "1.25")
    assets = [
        priced("AAPL", "230", "229"),
        priced("SAP.DE", "210", "200", currency="EUR"),
        priced("NEWCO", None),
    ]
    few = portfolios_with_positions(3, assets)
    many = portfolios_with_positions(30, assets)

    with CaptureQueriesContext(connection) as few_queries:
        assert len(portfolios_value(few)) == 3
    with CaptureQueriesContext(connection) as many_queries:
        assert len(portfolios_value(many)) == 30
    with CaptureQueriesContext(connection) as subquery_queries:
        assert len(portfolios_value(portfolio_ids_holding(["AAPL"]))) == 33

    def selects(context: CaptureQueriesContext) -> int:
        return sum(q["sql"].lstrip().upper().startswith("SELECT") for q in context)

    assert len(few_queries) == len(many_queries) == len(subquery_queries)
    # FX rates and the totals; on PostgreSQL also the per-currency detail of the portfolios
    # with something missing (NEWCO has no price, so all of them here): one query more.
    expected = 3 if connection.vendor == "postgresql" else 2
    assert selects(few_queries) == selects(many_queries) == selects(subquery_queries) == expected


def test_portfolios_with_nothing_missing_cost_two_queries() -> None:
    fx_pair("EURUSD=X", "1.25")
    assets = [priced("AAPL", "230", "229"), priced("SAP.DE", "210", "200", currency="EUR")]
    ids = portfolios_with_positions(5, assets)

    with CaptureQueriesContext(connection) as queries:
        assert len(portfolios_value(ids)) == 5

    assert sum(q["sql"].lstrip().upper().startswith("SELECT") for q in queries) == 2


@pytest.fixture
def watch_cleanup() -> Iterator[list[int]]:
    """Portfolio ids a test marks as watched; removed from the watch set afterwards."""
    watched: list[int] = []
    yield watched
    if watched:
        redis_client().zrem(redis_key("watch", "portfolio"), *map(str, watched))
        redis_client().delete(*(snapshot_key(portfolio_group(pid)) for pid in watched))


def test_revaluing_only_watched_portfolios_values_nothing_when_nobody_watches() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("AAPL", "230", "229"))
    assert portfolio.id not in watched_portfolio_ids()

    assert portfolios_revalue(symbols=["AAPL"], only_watched=True) == []
    assert snapshot_get(portfolio_group(portfolio.id)) is None


def test_revaluing_only_watched_portfolios_values_and_pushes_the_watched_one(
    watch_cleanup: list[int],
) -> None:
    aapl = priced("AAPL", "231.50", "229.00")
    watched, unwatched = new_portfolio(name="Watched"), new_portfolio()
    position_create(watched, aapl, "10", "2000")
    position_create(unwatched, aapl, "10", "2000")
    watch_cleanup.append(watched.id)
    watch_touch(kind="portfolio", members=[watched.id])

    async def revalue_while_listening() -> tuple[Sequence[Valuation], dict[str, Any]]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(portfolio_group(watched.id), channel)
        try:
            valued = await sync_to_async(portfolios_revalue)(symbols=["AAPL"], only_watched=True)
            message = await asyncio.wait_for(layer.receive(channel), timeout=10)
        finally:
            await layer.group_discard(portfolio_group(watched.id), channel)
        return valued, message

    valued, message = async_to_sync(revalue_while_listening)()

    assert [(v.portfolio_id, v.total_value) for v in valued] == [(watched.id, Decimal("2315.00"))]
    assert message["type"] == FRAME_EVENT
    pushed = orjson.loads(message["text"])
    assert pushed["type"] == "portfolio_update"
    assert pushed["data"]["portfolio_id"] == watched.id
    assert pushed["data"]["total_value"] == 2315.0
    assert snapshot_get(portfolio_group(watched.id)) == message["text"]
    assert snapshot_get(portfolio_group(unwatched.id)) is None


def test_the_portfolio_update_frame_has_the_guides_fields() -> None:
    portfolio = new_portfolio(name="Retirement", base_currency="USD")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("MSFT", "420.25", "425.00"), "3.2", "1400")
    position_create(portfolio, priced("NEWCO", None), "1", "10")

    [(group, text)] = portfolio_frames_build(portfolios_value([portfolio.id]))

    frame = orjson.loads(text)
    assert group == portfolio_group(portfolio.id)
    assert set(frame) == {"type", "data", "timestamp"}
    assert frame["type"] == "portfolio_update"
    assert frame["timestamp"].endswith("Z")
    data = frame["data"]
    assert {
        key: data[key]
        for key in (
            "portfolio_id",
            "name",
            "total_value",
            "daily_change",
            "daily_change_percent",
            "currency",
            "complete",
            "stale",
        )
    } == {
        "portfolio_id": portfolio.id,
        "name": "Retirement",
        "total_value": 3659.8,
        "daily_change": 9.8,
        "daily_change_percent": 0.2685,
        "currency": "USD",
        "complete": False,
        "stale": False,
    }
    assert data["missing"] == ["1 position(s) in USD have no price"]
    assert data["as_of"].endswith("Z")
    assert data["stale_reason"] is None


def test_the_frame_of_a_portfolio_with_nothing_priced_says_null_and_why_never_zero() -> None:
    portfolio = new_portfolio(name="Unpriced")
    position_create(portfolio, priced("NEWCO", None), "100", "5000")

    [(_, text)] = portfolio_frames_build(portfolios_value([portfolio.id]))

    data = orjson.loads(text)["data"]
    unknown = ("total_value", "daily_change", "daily_change_percent", "cost_basis",
               "unrealised_gain")  # fmt: skip
    assert {key: data[key] for key in unknown} == dict.fromkeys(unknown)
    assert data["complete"] is False
    assert data["missing"] == ["1 position(s) in USD have no price"]
    assert data["as_of"].endswith("Z")


def test_a_changed_fx_rate_revalues_the_watched_portfolios_it_converts(
    watch_cleanup: list[int],
) -> None:
    fx_pair("EURUSD=X", "1.25")
    aapl = priced("AAPL", "231.50", "229.00")
    in_eur, in_usd = new_portfolio(base_currency="EUR"), new_portfolio(base_currency="USD")
    position_create(in_eur, aapl, "10", "2000")
    position_create(in_usd, aapl, "10", "2000")
    watch_cleanup.extend([in_eur.id, in_usd.id])
    watch_touch(kind="portfolio", members=watch_cleanup)

    valued = portfolios_revalue(symbols=["EURUSD=X"])

    # the USD portfolio converts nothing: EURUSD=X leaves its value as it was
    assert [(v.portfolio_id, v.total_value) for v in valued] == [(in_eur.id, Decimal("1852.00"))]
    assert snapshot_get(portfolio_group(in_eur.id)) is not None


# --- exact to the cent against the textbook loop, on the full pass and the pushed one ----


CENT = Decimal("0.01")


def test_a_half_cent_rounds_to_even_as_decimal_does() -> None:
    # PostgreSQL's round() takes halves away from zero; Decimal (and the loop the bench
    # compares with) rounds them to the even cent.
    lower, upper, small = new_portfolio(), new_portfolio(), new_portfolio()
    position_create(lower, priced("HALF1", "10.005", "10.015"), "1", "0.125")
    position_create(upper, priced("HALF2", "10.015", "10.000"), "1", "0.135")
    position_create(small, priced("HALF3", "0.005", "0.010"), "3", "2.675")

    full = {v.portfolio_id: v for v in portfolios_value([lower.id, upper.id, small.id])}
    held = {v.portfolio_id: v for v in portfolios_value_held([lower.id, upper.id, small.id])}

    expected = {
        lower.id: (Decimal("10.00"), Decimal("-0.01"), Decimal("0.12")),  # 10.005, -0.01, 0.125
        upper.id: (Decimal("10.02"), Decimal("0.02"), Decimal("0.14")),  # 10.015, 0.015, 0.135
        small.id: (Decimal("0.02"), Decimal("-0.02"), Decimal("2.68")),  # 0.015, -0.015, 2.675
    }
    for path in (full, held):
        assert {
            pid: (v.total_value, v.daily_change, v.cost_basis) for pid, v in path.items()
        } == expected


def test_a_portfolio_with_no_positions_is_left_out_of_both_paths() -> None:
    empty, holding = new_portfolio(), new_portfolio()
    position_create(holding, priced("AAPL", "231.50", "229.00"), "10", "2000")

    assert [v.portfolio_id for v in portfolios_value([empty.id, holding.id])] == [holding.id]
    assert [v.portfolio_id for v in portfolios_value_held([empty.id, holding.id])] == [holding.id]


def test_what_is_missing_or_stale_reads_in_currency_order_on_both_paths() -> None:
    fx_pair("EURUSD=X", "1.25")
    portfolio = new_portfolio(base_currency="USD")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("NEWCO", None), "100", "5000")
    position_create(portfolio, priced("7203.T", "2800", "2750", currency="JPY"), "10", "27000")
    stale = priced("SAP.DE", "200.00", "190.00", currency="EUR", stale_reason="yahoo: HTTP 503")
    position_create(portfolio, stale, "2", "300")

    [full] = portfolios_value([portfolio.id])
    [held] = portfolios_value_held([portfolio.id])

    for valuation in (full, held):
        assert valuation.missing == ["no FX rate JPY->USD", "1 position(s) in USD have no price"]
        assert valuation.stale_reasons == ["1 price(s) in EUR are not current"]
        assert valuation.total_value == Decimal("2815.00")  # 2315.00 + 2 x 200 x 1.25
        assert valuation.cost_basis == Decimal("2375.00")  # 2000 + 300 x 1.25
        assert valuation.daily_change == Decimal("50.00")  # 25.00 + 2 x 10 x 1.25
        assert valuation.positions == 4


RATES = {"EURUSD=X": "1.0837", "GBPUSD=X": "1.2719"}


def loop_totals(portfolio: Portfolio) -> tuple[Decimal, Decimal, Decimal]:
    """The textbook loop: each position converted on its own, summed, then rounded."""
    direct = {(s[:3], s[3:6]): Decimal(rate) for s, rate in RATES.items()}
    rates = {**direct, **{(b, a): 1 / rate for (a, b), rate in direct.items()}}

    def rate(source: str, target: str) -> Decimal:
        if source == target:
            return Decimal(1)
        return rates.get((source, target)) or rates[(source, "USD")] * rates[("USD", target)]

    total = change = cost = Decimal(0)
    for position in portfolio.positions.select_related("asset"):
        asset, factor = position.asset, rate(position.asset.currency, portfolio.base_currency)
        assert asset.current_price is not None
        assert asset.previous_close is not None
        total += position.quantity * asset.current_price * factor
        change += position.quantity * (asset.current_price - asset.previous_close) * factor
        cost += position.cost_basis * factor
    return total.quantize(CENT), change.quantize(CENT), cost.quantize(CENT)


def random_portfolios(count: int, seed: int) -> list[Portfolio]:
    """Portfolios in three currencies over assets in two, with many-digit figures (15
    significant digits at most, so SQLite's REAL keeps them exactly)."""
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not a secret
    for symbol, rate in RATES.items():
        # A stale rate still converts: those portfolios take the detailed path.
        fx_pair(symbol, rate, stale_reason="source unavailable" if symbol[:3] == "GBP" else "")
    assets = []
    for n in range(8):
        price = Decimal(rng.randint(1, 99_999_999_999)).scaleb(-8)
        previous = Decimal(rng.randint(1, 99_999_999_999)).scaleb(-8)
        currency = "EUR" if n % 3 == 0 else "USD"
        assets.append(priced(f"R{n}", str(price), str(previous), currency=currency))
    portfolios = []
    for n in range(count):
        portfolio = new_portfolio(base_currency=("USD", "EUR", "GBP")[n % 3])
        for asset in rng.sample(assets, rng.randint(1, 6)):
            quantity = Decimal(rng.randint(1, 99_999_999_999_999)).scaleb(-10)
            cost = Decimal(rng.randint(0, 99_999_999_999_999)).scaleb(-8)
            position_create(portfolio, asset, str(quantity), str(cost))
        portfolios.append(portfolio)
    return portfolios


def test_random_portfolios_equal_the_loop_to_the_cent_on_both_paths() -> None:
    portfolios = random_portfolios(24, seed=17)
    ids = [p.id for p in portfolios]

    full = {v.portfolio_id: v for v in portfolios_value(ids)}
    held = {v.portfolio_id: v for v in portfolios_value_held(ids)}

    for portfolio in portfolios:
        expected = loop_totals(portfolio)
        for path in (full, held):
            valuation = path[portfolio.id]
            assert (valuation.total_value, valuation.daily_change, valuation.cost_basis) == (
                expected
            ), portfolio.base_currency
            assert valuation.complete
            assert valuation.stale == (portfolio.base_currency == "GBP")
        assert full[portfolio.id].stale_reasons == held[portfolio.id].stale_reasons


def test_affected_portfolios_can_be_limited_to_some_ids() -> None:
    aapl = priced("AAPL", "230", "229")
    watched, other = new_portfolio(), new_portfolio()
    position_create(watched, aapl)
    position_create(other, aapl)

    assert set(portfolio_ids_affected(["AAPL"], among=[watched.id])) == {watched.id}
    assert set(portfolio_ids_affected(["AAPL"], among=[])) == set()
    assert set(portfolio_ids_affected(["AAPL"])) == {watched.id, other.id}


def test_the_full_pass_values_every_portfolio_that_holds_something() -> None:
    portfolios = random_portfolios(6, seed=5)
    empty = new_portfolio()

    every = {v.portfolio_id: v for v in portfolios_value_every()}

    assert set(every) == {p.id for p in portfolios}  # not the empty one
    for portfolio in portfolios:
        valued = every[portfolio.id]
        assert (valued.total_value, valued.daily_change, valued.cost_basis) == loop_totals(
            portfolio
        )
    assert empty.id not in every
