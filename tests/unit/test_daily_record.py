"""Which day a portfolio value record belongs to, and how past days find their closes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from apps.portfolios.value_backfill import CARRY_DAYS, backfill_days, closes_on_days
from apps.portfolios.value_history import record_day

NEW_YORK_WINTER = timezone(timedelta(hours=-5))
MONDAY = date(2026, 11, 30)


def test_the_scheduled_run_after_the_us_close_records_that_trading_day() -> None:
    assert record_day(datetime(2026, 11, 30, 22, 30, tzinfo=UTC)) == MONDAY


def test_a_record_belongs_to_the_utc_date_not_the_local_one() -> None:
    # 19:30 on Monday in New York is already Tuesday in UTC.
    evening = datetime(2026, 11, 30, 19, 30, tzinfo=NEW_YORK_WINTER)
    assert record_day(evening) == date(2026, 12, 1)


def test_two_runs_of_one_utc_day_share_the_day_so_the_second_replaces_the_first() -> None:
    afternoon = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    scheduled = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    after_midnight = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert record_day(afternoon) == record_day(scheduled)
    assert record_day(after_midnight) != record_day(scheduled)


def test_the_backfill_ends_the_day_before_today_which_is_the_daily_records() -> None:
    days = backfill_days(days=3, today=MONDAY)
    assert days == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert MONDAY not in days


def test_a_weekend_day_keeps_fridays_close_and_its_change() -> None:
    thursday, friday = date(2026, 11, 26), date(2026, 11, 27)
    bars = [(thursday, Decimal("100")), (friday, Decimal("104"))]
    saturday, sunday = date(2026, 11, 28), date(2026, 11, 29)
    assert closes_on_days(bars, [friday, saturday, sunday]) == [
        (Decimal("104"), Decimal("100")),
        (Decimal("104"), Decimal("100")),
        (Decimal("104"), Decimal("100")),
    ]


def test_no_close_within_the_carry_is_no_price_never_an_old_one() -> None:
    last = date(2026, 11, 2)
    bars = [(last, Decimal("50"))]
    within = last + timedelta(days=CARRY_DAYS)
    beyond = within + timedelta(days=1)
    before = last - timedelta(days=1)
    assert closes_on_days(bars, [before, within, beyond]) == [None, (Decimal("50"), None), None]


def test_a_close_after_a_long_gap_has_no_previous_close() -> None:
    early, late = date(2026, 10, 1), date(2026, 11, 2)
    bars = [(early, Decimal("10")), (late, Decimal("12"))]
    assert closes_on_days(bars, [late]) == [(Decimal("12"), None)]
