"""An alert fires once when its value crosses and re-arms only past its margin: the pure rules
(`alert_decision`), what counts as a current value, and the sentence a firing carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.alerts.messages import alert_message, amount_text
from apps.alerts.rules import (
    Decision,
    Reading,
    alert_decision,
    asset_reading,
    valuation_reading,
)
from apps.market.models import Asset
from apps.portfolios.holdings import HeldValuation
from apps.portfolios.valuation import Valuation
from tests.unit.test_frames import AAPL_HELD

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
STALE_AFTER = 180.0
D = Decimal


def decide(
    state: str, condition: str, threshold: str, reading: Reading | None, *, margin: str = "0.5",
    paused: bool = False,
) -> Decision:  # fmt: skip
    return alert_decision(
        state=state, paused=paused, condition=condition, threshold=D(threshold),
        margin=D(margin), reading=reading,
    )  # fmt: skip


def price(value: str, previous: str | None = None) -> Reading:
    previous_close = None if previous is None else D(previous)
    change = None if previous_close is None else D(value) - previous_close
    return Reading(D(value), change, previous_close)


def walk(condition: str, threshold: str, margin: str, path: Sequence[Reading]) -> list[str]:
    """The decisions along a path of readings, carrying the state as the checks do."""
    state, seen = "armed", []
    for reading in path:
        decision = decide(state, condition, threshold, reading, margin=margin)
        seen.append(decision.value)
        if decision is Decision.FIRE:
            state = "fired"
        elif decision is Decision.REARM:
            state = "armed"
    return seen


# --- crossing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("above", "200", Decision.FIRE),  # exactly at the threshold: "rises to or above"
        ("above", "200.00000001", Decision.FIRE),
        ("above", "199.99999999", Decision.KEEP),
        ("below", "200", Decision.FIRE),
        ("below", "199.5", Decision.FIRE),
        ("below", "200.00000001", Decision.KEEP),
    ],
)
def test_a_price_alert_fires_at_or_beyond_its_threshold(
    condition: str, value: str, expected: Decision
) -> None:
    assert decide("armed", condition, "200", price(value)) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("105", Decision.FIRE),  # +5.00 % exactly
        ("95", Decision.FIRE),  # -5.00 % exactly: a move either way
        ("104.99", Decision.KEEP),
        ("95.01", Decision.KEEP),
    ],
)
def test_a_move_alert_fires_on_a_daily_move_of_at_least_its_percent(
    value: str, expected: Decision
) -> None:
    assert decide("armed", "move", "5", price(value, "100")) is expected


def test_a_move_alert_without_a_previous_close_never_fires() -> None:
    assert decide("armed", "move", "5", price("150")) is Decision.KEEP
    assert decide("armed", "move", "5", Reading(D("150"), D("150"), D("0"))) is Decision.KEEP


def test_a_fired_alert_does_not_fire_again_while_beyond_its_threshold() -> None:
    assert decide("fired", "above", "200", price("250")) is Decision.KEEP
    assert decide("fired", "move", "5", price("90", "100")) is Decision.KEEP


def test_a_paused_alert_neither_fires_nor_rearms() -> None:
    assert decide("armed", "above", "200", price("250"), paused=True) is Decision.KEEP
    assert decide("fired", "above", "200", price("100"), paused=True) is Decision.KEEP


def test_no_current_value_neither_fires_nor_rearms() -> None:
    assert decide("armed", "above", "200", None) is Decision.KEEP
    assert decide("fired", "above", "200", None) is Decision.KEEP


# --- re-arming -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        # above 200 with 0.5 % of margin: back at 199.00 or lower
        ("above", "199.01", Decision.KEEP),
        ("above", "199.00", Decision.REARM),  # on the margin's line counts
        ("above", "150", Decision.REARM),
        # below 200 with 0.5 %: back at 201.00 or higher
        ("below", "200.99", Decision.KEEP),
        ("below", "201.00", Decision.REARM),
    ],
)
def test_a_fired_price_alert_rearms_only_past_its_margin(
    condition: str, value: str, expected: Decision
) -> None:
    assert decide("fired", condition, "200", price(value), margin="0.5") is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("104.6", Decision.KEEP),  # +4.6 %: inside 5 but not by 0.5 points
        ("104.5", Decision.REARM),  # +4.5 %: 5 - 0.5 points
        ("95.5", Decision.REARM),  # -4.5 %
        ("100", Decision.REARM),
    ],
)
def test_a_fired_move_alert_rearms_past_its_margin_in_percentage_points(
    value: str, expected: Decision
) -> None:
    assert decide("fired", "move", "5", price(value, "100"), margin="0.5") is expected


def test_with_no_margin_a_value_on_the_threshold_does_not_rearm() -> None:
    assert decide("fired", "above", "200", price("200"), margin="0") is Decision.KEEP
    assert decide("fired", "above", "200", price("199.99999999"), margin="0") is Decision.REARM
    assert decide("fired", "move", "5", price("105", "100"), margin="0") is Decision.KEEP


def test_a_move_alert_whose_margin_covers_its_threshold_rearms_only_on_a_flat_day() -> None:
    assert decide("fired", "move", "1", price("100.5", "100"), margin="2") is Decision.KEEP
    assert decide("fired", "move", "1", price("100", "100"), margin="2") is Decision.REARM


def test_a_price_hovering_at_the_threshold_fires_once_per_crossing() -> None:
    path = [price(value) for value in
            ["199", "200", "201", "199.5", "200.5", "199.1", "198.99", "199.5", "200"]]  # fmt: skip
    assert walk("above", "200", "0.5", path) == [
        "keep", "fire", "keep", "keep", "keep", "keep", "rearm", "keep", "fire",
    ]  # fmt: skip


def test_comparisons_are_exact_for_large_values_with_eight_decimals() -> None:
    # Just above the re-arm line; rounded to Python's default 28 digits, the threshold x
    # (100 - margin) product would put it on the line and re-arm the alert.
    threshold, margin = "9436290725583534.93309679", "87.757"
    above_the_line = price("1155285073533192.18185904")
    assert decide("fired", "above", threshold, above_the_line, margin=margin) is Decision.KEEP
    assert decide("armed", "above", threshold, price("9436290725583534.93309678")) == "keep"


# --- what counts as a current value --------------------------------------------------------


def asset(**fields: object) -> Asset:
    values: dict[str, object] = {
        "symbol": "AAPL", "current_price": D("201.34"), "previous_close": D("199.00"),
        "last_updated": NOW - timedelta(seconds=30), "stale_reason": "",
    }  # fmt: skip
    return Asset(**(values | fields))


def test_a_fresh_saved_price_is_read_with_its_daily_move() -> None:
    reading = asset_reading(asset(), now=NOW, stale_after=STALE_AFTER)
    assert reading == Reading(D("201.34"), D("2.34"), D("199.00"))
    assert reading is not None
    assert reading.change_percent == D("1.1759")


@pytest.mark.parametrize(
    "fields",
    [
        {"stale_reason": "yahoo: rate limited"},
        {"last_updated": NOW - timedelta(seconds=STALE_AFTER + 1)},
        {"last_updated": None},
        {"current_price": None},
    ],
    ids=["flagged stale", "older than the threshold", "never saved", "no price"],
)
def test_a_stale_or_missing_price_is_no_reading(fields: dict[str, object]) -> None:
    assert asset_reading(asset(**fields), now=NOW, stale_after=STALE_AFTER) is None


def test_a_price_saved_exactly_at_the_threshold_age_is_still_current() -> None:
    on_the_line = asset(last_updated=NOW - timedelta(seconds=STALE_AFTER))
    assert asset_reading(on_the_line, now=NOW, stale_after=STALE_AFTER) is not None


def valuation(**fields: object) -> Valuation:
    values: dict[str, object] = {
        "total_value": D("50123.45"), "daily_change": D("123.45"), "cost_basis": D("40000.00"),
    }  # fmt: skip
    return Valuation(1, "Retirement", "EUR", **(values | fields))  # type: ignore[arg-type]


def test_a_complete_current_portfolio_value_is_read_with_its_opening_value() -> None:
    assert valuation_reading(valuation()) == Reading(D("50123.45"), D("123.45"), D("50000.00"))


def test_an_incomplete_or_stale_portfolio_value_is_no_reading() -> None:
    assert valuation_reading(valuation(missing=["1 position(s) in USD have no price"])) is None
    assert valuation_reading(valuation(stale_reasons=["1 price(s) in USD are not current"])) is None
    assert valuation_reading(valuation(total_value=None, daily_change=None)) is None


def test_a_portfolio_holding_a_price_older_than_the_threshold_is_no_reading() -> None:
    held = HeldValuation(1, "Retirement", "USD", total_value=D("2463.30"),
                         daily_change=D("21.30"), holdings=[AAPL_HELD])  # fmt: skip
    assert valuation_reading(held) is not None
    held.holdings = [replace(AAPL_HELD, stale=True, stale_reason="no fresh quote saved")]
    assert valuation_reading(held) is None


# --- the sentence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "threshold", "value", "percent", "expected"),
    [
        ("above", "200", "201.34", None, "AAPL rose to 201.34 USD, above 200.00"),
        ("above", "200", "200", None, "AAPL rose to 200.00 USD, at 200.00"),
        ("below", "0.5", "0.00012345", None, "AAPL fell to 0.00012345 USD, below 0.50"),
        ("move", "5", "105", "5.0000", "AAPL moved +5.00% today to 105.00 USD, beyond ±5%"),
        ("move", "2.5", "97.4", "-2.6000", "AAPL moved -2.60% today to 97.40 USD, beyond ±2.5%"),
    ],
)
def test_each_firing_reads_as_one_sentence(
    condition: str, threshold: str, value: str, percent: str | None, expected: str
) -> None:
    message = alert_message(
        target="AAPL", condition=condition, threshold=D(threshold), value=D(value),
        currency="USD", change_percent=None if percent is None else D(percent),
    )  # fmt: skip
    assert message == expected


def test_amounts_are_grouped_by_thousands() -> None:
    assert amount_text(D("50123.45000000")) == "50,123.45"
    assert amount_text(D("1234567.5")) == "1,234,567.50"
