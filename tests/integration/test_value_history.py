"""Portfolio value history on PostgreSQL: the daily record, the backfill from bars, the ring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.market.models import Asset, AssetType, PriceBar
from apps.portfolios.management.commands.backfill_portfolio_values import (
    Command as BackfillCommand,
)
from apps.portfolios.models import DailyValueSource, Portfolio, PortfolioDailyValue
from apps.portfolios.services import portfolio_revalue_now
from apps.portfolios.valuation import Valuation
from apps.portfolios.value_history import portfolio_values_record
from apps.portfolios.value_ring import (
    RING_EXPIRY_SECONDS,
    ring_key,
    value_ring_get,
    value_ring_push,
)
from config.redis_client import redis_client
from tests.factories import asset_create, asset_priced, portfolio_create, position_create
from tests.faults.outages import OwnRedis

pytestmark = pytest.mark.django_db

_owners = count(1)
TODAY = datetime.now(UTC).date()


def new_portfolio(**fields: Any) -> Portfolio:
    """A portfolio of a new owner without a password (hashing one costs a quarter second)."""
    owner = User.objects.create(username=f"history-owner-{next(_owners)}")
    return portfolio_create(owner, **fields)


def bars(asset: Asset, closes: dict[int, str]) -> None:
    """Daily bars `days ago -> close` (open, high and low at the close)."""
    for ago, close in closes.items():
        price = Decimal(close)
        PriceBar.objects.create(asset=asset, date=TODAY - timedelta(days=ago), open=price,
                                high=price, low=price, close=price)  # fmt: skip


def day_of(portfolio: Portfolio, ago: int) -> PortfolioDailyValue:
    return PortfolioDailyValue.objects.get(portfolio=portfolio, date=TODAY - timedelta(days=ago))


def backfill(*args: str) -> str:
    out = StringIO()
    call_command("backfill_portfolio_values", *args, stdout=out)
    return out.getvalue()


# --- the daily record ------------------------------------------------------------------------


def test_recording_twice_the_same_day_keeps_one_row_per_portfolio_with_the_later_figures() -> None:
    aapl = asset_priced("AAPL", "200.00", "190.00")
    first, second = new_portfolio(), new_portfolio()
    position_create(first, aapl, "10", "1500")
    position_create(second, aapl, "1", "150")

    portfolio_values_record()
    Asset.objects.filter(pk=aapl.pk).update(current_price=Decimal("210.00"))
    summary = portfolio_values_record()

    assert summary.portfolios == 2
    assert PortfolioDailyValue.objects.count() == 2
    record = day_of(first, 0)
    assert record.date == summary.day == TODAY
    assert (record.total_value, record.daily_change, record.cost_basis) == (
        Decimal("2100.00"), Decimal("200.00"), Decimal("1500.00"),
    )  # fmt: skip
    assert record.complete
    assert record.missing == []
    assert (record.currency, record.source) == ("USD", DailyValueSource.DAILY)


def test_a_portfolio_with_a_price_missing_is_recorded_incomplete_with_the_reason() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, asset_priced("AAPL", "200.00", "190.00"), "10", "1500")
    position_create(portfolio, asset_priced("NEWCO", None), "5", "100")

    portfolio_values_record()

    record = day_of(portfolio, 0)
    assert record.total_value == Decimal("2000.00")  # what was known
    assert not record.complete
    assert record.missing == ["1 position(s) in USD have no price"]


def test_a_portfolio_with_nothing_priced_is_recorded_with_a_null_value_never_zero() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, asset_priced("NEWCO", None), "5", "100")

    portfolio_values_record()

    record = day_of(portfolio, 0)
    assert record.total_value is None
    assert record.cost_basis is None
    assert not record.complete
    assert record.missing == ["1 position(s) in USD have no price"]


def test_a_portfolio_holding_nothing_is_recorded_as_worth_exactly_zero() -> None:
    portfolio = new_portfolio(base_currency="EUR")

    portfolio_values_record()

    record = day_of(portfolio, 0)
    assert (record.total_value, record.currency, record.complete) == (Decimal("0.00"), "EUR", True)


def test_every_portfolio_is_recorded_chunk_by_chunk_watched_or_not() -> None:
    aapl = asset_priced("AAPL", "100.00", "100.00")
    portfolios = [new_portfolio() for _ in range(5)]
    for portfolio in portfolios:
        position_create(portfolio, aapl, "1", "50")

    summary = portfolio_values_record(chunk_size=2)

    assert summary.portfolios == 5
    recorded = set(PortfolioDailyValue.objects.values_list("portfolio_id", flat=True))
    assert recorded == {portfolio.pk for portfolio in portfolios}


# --- the backfill ----------------------------------------------------------------------------


def eur_portfolio_holding_aapl() -> Portfolio:
    portfolio = new_portfolio(name="Euro", base_currency="EUR")
    aapl = asset_create("AAPL", currency="USD")
    position_create(portfolio, aapl, "10", "1500")
    bars(aapl, {3: "190", 2: "200", 1: "210"})
    return portfolio


def test_backfill_values_past_days_from_bars_converted_at_the_days_fx_close() -> None:
    portfolio = eur_portfolio_holding_aapl()
    bars(asset_create("EURUSD=X", currency="USD", asset_type=AssetType.FX), {2: "1.10", 1: "1.20"})

    output = backfill("--days", "2")

    two_ago, yesterday = day_of(portfolio, 2), day_of(portfolio, 1)
    # 10 x 200 USD at 1 EUR = 1.10 USD; the change against the close before (190).
    assert (two_ago.total_value, two_ago.daily_change, two_ago.cost_basis) == (
        Decimal("1818.18"), Decimal("90.91"), Decimal("1363.64"),
    )  # fmt: skip
    assert (yesterday.total_value, yesterday.daily_change, yesterday.cost_basis) == (
        Decimal("1750.00"), Decimal("83.33"), Decimal("1250.00"),
    )  # fmt: skip
    assert all(r.complete and r.currency == "EUR" for r in (two_ago, yesterday))
    assert yesterday.source == DailyValueSource.BACKFILL
    assert not PortfolioDailyValue.objects.filter(date=TODAY).exists()  # the daily task's
    assert "2 day(s) written, 0 incomplete, 0 kept" in output
    assert "1 portfolio(s), 2 day(s) each: 2 day(s) written (0 incomplete)" in output


def test_backfill_without_the_fx_rate_records_the_day_incomplete_never_at_a_rate_of_one() -> None:
    portfolio = eur_portfolio_holding_aapl()
    sap = asset_create("SAP.DE", currency="EUR")
    position_create(portfolio, sap, "2", "300")
    bars(sap, {2: "150", 1: "160"})

    output = backfill("--days", "1")

    record = day_of(portfolio, 1)
    assert record.total_value == Decimal("320.00")  # SAP alone: AAPL could not be converted
    assert not record.complete
    assert record.missing == ["no FX rate USD->EUR within 7 days"]
    assert "1 incomplete" in output
    assert "missing: no FX rate USD->EUR within 7 days" in output


def test_backfill_dry_run_writes_nothing() -> None:
    eur_portfolio_holding_aapl()
    bars(asset_create("EURUSD=X", currency="USD", asset_type=AssetType.FX), {3: "1.1"})

    output = backfill("--days", "3", "--dry-run")

    assert not PortfolioDailyValue.objects.exists()
    assert "3 day(s) to write" in output
    assert "nothing written" in output


def test_backfill_keeps_a_recorded_day_unless_told_to_overwrite() -> None:
    portfolio = new_portfolio()
    aapl = asset_create("AAPL")
    position_create(portfolio, aapl, "1", "100")
    bars(aapl, {3: "90", 2: "100", 1: "110"})
    recorded = PortfolioDailyValue.objects.create(
        portfolio=portfolio, date=TODAY - timedelta(days=1), currency="USD",
        total_value=Decimal("111.11"), complete=True, source=DailyValueSource.DAILY,
        as_of=datetime.now(UTC), recorded_at=datetime.now(UTC),
    )  # fmt: skip

    output = backfill("--days", "2")

    assert day_of(portfolio, 1).total_value == Decimal("111.11")
    assert day_of(portfolio, 2).total_value == Decimal("100.00")
    assert "1 day(s) written, 0 incomplete, 1 kept" in output

    backfill("--days", "2", "--overwrite")

    replaced = day_of(portfolio, 1)
    assert replaced.pk == recorded.pk
    assert (replaced.total_value, replaced.source) == (Decimal("110.00"), DailyValueSource.BACKFILL)


def test_backfill_writes_no_day_without_a_single_close_and_rebuilds_incomplete_days_later() -> None:
    portfolio = new_portfolio()
    aapl, msft = asset_create("AAPL"), asset_create("MSFT")
    position_create(portfolio, aapl, "1", "100")
    position_create(portfolio, msft, "1", "100")
    bars(aapl, {2: "100", 1: "110"})  # nothing three days ago; MSFT has no bars yet

    output = backfill("--days", "3")

    assert not PortfolioDailyValue.objects.filter(date=TODAY - timedelta(days=3)).exists()
    partial = day_of(portfolio, 1)
    assert (partial.total_value, partial.daily_change, partial.complete) == (
        Decimal("110.00"), Decimal("10.00"), False,
    )  # fmt: skip
    assert partial.missing == ["no daily close for MSFT within 7 days"]
    assert "2 day(s) written, 2 incomplete, 0 kept, 1 with no close at all" in output

    bars(msft, {3: "40", 2: "50", 1: "55"})
    bars(aapl, {3: "90"})
    backfill("--days", "3")  # no --overwrite: an incomplete backfilled day is rebuilt

    rebuilt = [day_of(portfolio, ago) for ago in (2, 1)]
    assert [(r.total_value, r.complete) for r in rebuilt] == [
        (Decimal("150.00"), True), (Decimal("165.00"), True),
    ]  # fmt: skip
    assert day_of(portfolio, 3).missing == [
        "no previous close for AAPL", "no previous close for MSFT",
    ]  # fmt: skip


def test_backfill_says_it_assumed_todays_positions_in_its_output_and_help() -> None:
    eur_portfolio_holding_aapl()
    parser = BackfillCommand().create_parser("manage.py", "backfill_portfolio_values")

    assert "Assumed today's positions for every past day" in backfill("--days", "1")
    assert "ASSUMES TODAY'S POSITIONS" in " ".join(parser.format_help().split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days must be between 1 and 3650"),
        (["--days", "4000"], "--days must be between 1 and 3650"),
        (["--portfolio", "987654"], "No portfolio with id 987654"),
    ],
)
def test_backfill_refuses_bad_input_with_a_message(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        backfill(*args)
    assert not PortfolioDailyValue.objects.exists()


def test_backfill_of_a_portfolio_holding_nothing_says_so_and_writes_nothing() -> None:
    portfolio = new_portfolio(name="Empty")

    output = backfill("--portfolio", str(portfolio.pk), "--days", "5")

    assert "'Empty' (USD): holds nothing today, skipped" in output
    assert not PortfolioDailyValue.objects.exists()


# --- the intraday ring -----------------------------------------------------------------------


def valuation(portfolio_id: int, at: datetime, value: str | None, *missing: str) -> Valuation:
    total = None if value is None else Decimal(value)
    return Valuation(portfolio_id, "P", "USD", total_value=total, cost_basis=Decimal("50.00"),
                     missing=list(missing), as_of=at)  # fmt: skip


def test_the_ring_keeps_one_point_per_second_the_latest_valuation_of_it() -> None:
    second = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
    value_ring_push([valuation(7, second, "100.00")])
    value_ring_push([valuation(7, second + timedelta(milliseconds=400), "101.00")])
    value_ring_push(
        [valuation(7, second + timedelta(seconds=1), None, "1 position(s) in USD have no price")]
    )

    points = value_ring_get(7)

    assert [(p.at, p.value, p.complete) for p in points] == [
        (second, Decimal("101.00"), True),
        (second + timedelta(seconds=1), None, False),
    ]
    assert points[1].missing == ("1 position(s) in USD have no price",)
    assert 0 < redis_client().ttl(ring_key(7)) <= RING_EXPIRY_SECONDS


def test_the_ring_keeps_only_its_bound_of_newest_points(settings: Any) -> None:
    settings.PORTFOLIO_INTRADAY_POINTS = 3
    start = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
    for offset in range(5):
        value_ring_push([valuation(8, start + timedelta(seconds=offset), f"{100 + offset}.00")])

    points = value_ring_get(8)

    assert [p.value for p in points] == [Decimal("102.00"), Decimal("103.00"), Decimal("104.00")]


def test_a_pushed_valuation_lands_in_its_portfolios_ring() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, asset_priced("AAPL", "200.00", "190.00"), "3", "450")

    portfolio_revalue_now(portfolio_id=portfolio.pk)

    [point] = value_ring_get(portfolio.pk)
    assert (point.value, point.cost_basis, point.currency) == (
        Decimal("600.00"), Decimal("450.00"), "USD",
    )  # fmt: skip
    assert point.complete


def test_the_ring_is_written_on_a_redis_that_never_saw_its_script_or_lost_it() -> None:
    own = OwnRedis()  # never the shared Redis: its scripts are not ours to lose
    own.start()
    try:
        with override_settings(REDIS_URL=own.url):
            redis_client.cache_clear()
            at = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
            value_ring_push([valuation(9, at, "100.00")])
            own.kill()  # a restart: every loaded script is gone
            own.start()
            value_ring_push([valuation(9, at + timedelta(seconds=1), "101.00")])

            assert [p.value for p in value_ring_get(9)] == [Decimal("101.00")]
    finally:
        redis_client.cache_clear()
        own.stop()
