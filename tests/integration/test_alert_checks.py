"""The pipeline's alert checks against PostgreSQL: the set query fires an alert once per
crossing, re-arms it past its margin, leaves other people's alerts and stale prices alone,
and its firings reach the owner's group (and only theirs) once committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import product
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from apps.alerts.evaluation import (
    alerts_check_portfolios,
    alerts_check_symbols,
    portfolio_ids_alerted,
)
from apps.alerts.models import Alert, AlertEvent
from apps.alerts.rules import Decision, alert_decision, asset_reading
from apps.market.feed import stale_after_seconds
from apps.market.models import Asset
from apps.portfolios.models import Portfolio, Position
from apps.portfolios.services import portfolios_revalue
from apps.streams.groups import user_group
from tests.channel_layer import frames_heard
from tests.factories import asset_priced, portfolio_create, position_create, user_create

pytestmark = pytest.mark.django_db
D = Decimal


def priced(symbol: str, price: str | None, previous: str | None = None, **fields: Any) -> Asset:
    now = datetime.now(UTC)
    fields = {"last_updated": now, "quote_time": now - timedelta(seconds=5)} | fields
    return asset_priced(symbol, price, previous, **fields)


def reprice(asset: Asset, price: str, **fields: Any) -> None:
    now = datetime.now(UTC)
    fields = {"last_updated": now, "quote_time": now, "stale_reason": ""} | fields
    Asset.objects.filter(pk=asset.pk).update(current_price=D(price), **fields)


def alert_on(
    owner: User, target: Asset | Portfolio, condition: str, threshold: str, **fields: Any
) -> Alert:
    on: dict[str, Asset | Portfolio] = (
        {"asset": target} if isinstance(target, Asset) else {"portfolio": target}
    )
    return Alert.objects.create(
        owner=owner, condition=condition, threshold=D(threshold), **on, **fields
    )


def state(alert: Alert) -> str:
    alert.refresh_from_db()
    return alert.state


@pytest.fixture
def owner() -> User:
    return user_create(username="ada")


@pytest.fixture
def aapl() -> Asset:
    return priced("AAPL", "190", "199.00")


# --- symbol alerts -------------------------------------------------------------------------


def test_a_crossing_fires_once_and_records_what_crossed(owner: User, aapl: Asset) -> None:
    alert = alert_on(owner, aapl, "above", "200")
    reprice(aapl, "201.34")

    summary = alerts_check_symbols(symbols=["AAPL"])

    assert summary.fired == [alert.pk]
    event = AlertEvent.objects.get()
    aapl.refresh_from_db()
    assert event.message == "AAPL rose to 201.34 USD, above 200.00"
    assert (event.owner, event.alert, event.target) == (owner, alert, "AAPL")
    assert (event.value, event.currency, event.change_percent) == (D("201.34"), "USD", D("1.1759"))
    assert event.as_of == aapl.quote_time
    alert.refresh_from_db()
    assert (alert.state, alert.fired_value, alert.fired_at) == (
        "fired",
        D("201.34"),
        event.fired_at,
    )


def test_the_next_tick_still_beyond_the_threshold_fires_nothing(owner: User, aapl: Asset) -> None:
    alert_on(owner, aapl, "above", "200")
    reprice(aapl, "201.34")
    alerts_check_symbols(symbols=["AAPL"])
    reprice(aapl, "205")

    assert alerts_check_symbols(symbols=["AAPL"]).fired == []
    assert AlertEvent.objects.count() == 1


def test_it_rearms_only_past_the_margin_and_then_fires_again(owner: User, aapl: Asset) -> None:
    alert = alert_on(owner, aapl, "above", "200", rearm_margin_percent=D("0.5"))
    prices = ["201.34", "199.50", "200.10", "199.00", "199.90", "200.00"]
    fired, states = [], []
    for price in prices:
        reprice(aapl, price)
        fired.append(len(alerts_check_symbols(symbols=["AAPL"]).fired))
        states.append(state(alert))

    # 199.50 is inside the margin (back at 199.00 or lower): 200.10 must not fire again.
    assert fired == [1, 0, 0, 0, 0, 1]
    assert states == ["fired", "fired", "fired", "armed", "armed", "fired"]
    assert list(AlertEvent.objects.order_by("fired_at").values_list("value", flat=True)) == [
        D("201.34"), D("200.00"),
    ]  # fmt: skip


def test_other_peoples_alerts_and_other_symbols_are_untouched(owner: User, aapl: Asset) -> None:
    other = user_create(username="grace")
    mine = alert_on(owner, aapl, "above", "200")
    theirs_higher = alert_on(other, aapl, "above", "300")
    msft = priced("MSFT", "500")
    theirs_unchanged = alert_on(other, msft, "above", "400")
    reprice(aapl, "201.34")

    assert alerts_check_symbols(symbols=["AAPL"]).fired == [mine.pk]
    assert state(theirs_higher) == "armed"
    assert state(theirs_unchanged) == "armed"  # MSFT crosses, but was not in the batch
    assert not AlertEvent.objects.filter(owner=other).exists()


@pytest.mark.parametrize(
    "stale",
    [
        {"stale_reason": "yahoo: no data"},
        {"last_updated": "aged"},
    ],
    ids=["flagged stale", "older than the staleness threshold"],
)
def test_a_stale_price_never_fires_nor_rearms(
    owner: User, aapl: Asset, stale: dict[str, Any]
) -> None:
    if stale.get("last_updated") == "aged":
        stale = {"last_updated": datetime.now(UTC) - timedelta(seconds=stale_after_seconds() + 5)}
    armed = alert_on(owner, aapl, "above", "200")
    fired = alert_on(owner, aapl, "below", "250", state="fired")
    reprice(aapl, "220", **stale)

    summary = alerts_check_symbols(symbols=["AAPL"])

    assert (summary.fired, summary.rearmed) == ([], 0)
    assert (state(armed), state(fired)) == ("armed", "fired")


def test_a_paused_alert_never_fires(owner: User, aapl: Asset) -> None:
    alert_on(owner, aapl, "above", "200", paused=True)
    reprice(aapl, "250")
    assert alerts_check_symbols(symbols=["AAPL"]).fired == []


def test_a_move_alert_fires_on_the_days_move_with_its_percent(owner: User, aapl: Asset) -> None:
    alert = alert_on(owner, aapl, "move", "5")
    no_previous = alert_on(owner, priced("NEWCO", "10"), "move", "5")
    reprice(aapl, "188.05")  # -5.5 % from 199.00
    Asset.objects.filter(symbol="NEWCO").update(current_price=D("99"))

    assert alerts_check_symbols(symbols=["AAPL", "NEWCO"]).fired == [alert.pk]
    event = AlertEvent.objects.get()
    assert event.change_percent == D("-5.5025")
    assert event.message == "AAPL moved -5.50% today to 188.05 USD, beyond ±5%"
    assert state(no_previous) == "armed"


def test_the_set_query_decides_as_the_python_rules_do(owner: User) -> None:
    """Every condition x state x price around the threshold and its margin line: the SQL
    (fire and re-arm) and `alert_decision` agree alert by alert."""
    prices = ["90", "94.5", "94.6", "95", "99.5", "100", "100.5", "104.5", "105", "105.5", "110"]
    cases: dict[int, Decision] = {}
    now = datetime.now(UTC)
    for index, (price, condition, alert_state) in enumerate(
        product(prices, ["above", "below", "move"], ["armed", "fired"])
    ):
        threshold = "5" if condition == "move" else "100"
        asset = priced(f"G{index}", price, "100", last_updated=now)
        alert = alert_on(owner, asset, condition, threshold, state=alert_state,
                         rearm_margin_percent=D("0.5"))  # fmt: skip
        reading = asset_reading(asset, now=now, stale_after=stale_after_seconds())
        cases[alert.pk] = alert_decision(
            state=alert_state, paused=False, condition=condition, threshold=D(threshold),
            margin=D("0.5"), reading=reading,
        )  # fmt: skip
    before = dict(Alert.objects.values_list("pk", "state"))

    summary = alerts_check_symbols(symbols=list(Asset.objects.values_list("symbol", flat=True)))

    after = dict(Alert.objects.values_list("pk", "state"))
    sql = {
        pk: Decision.FIRE if pk in summary.fired
        else Decision.REARM if before[pk] == "fired" and after[pk] == "armed"
        else Decision.KEEP
        for pk in cases
    }  # fmt: skip
    assert sql == cases
    assert set(cases.values()) == {Decision.FIRE, Decision.REARM, Decision.KEEP}


# --- pushing -------------------------------------------------------------------------------


def test_a_firing_reaches_its_owners_group_only_after_commit(
    owner: User, aapl: Asset, django_capture_on_commit_callbacks: Any
) -> None:
    other = user_create(username="grace")
    alert = alert_on(owner, aapl, "above", "200")
    alert_on(other, aapl, "above", "300")
    reprice(aapl, "201.34")
    with django_capture_on_commit_callbacks() as callbacks:
        alerts_check_symbols(symbols=["AAPL"])
    assert len(callbacks) == 1  # nothing is published until the firing is committed

    mine, theirs = user_group(owner.pk), user_group(other.pk)

    def publish() -> None:
        for callback in callbacks:
            callback()

    heard = frames_heard([mine, theirs], publish)

    assert heard[theirs] == []
    [frame] = heard[mine]
    event = AlertEvent.objects.get()
    assert frame["type"] == "alert"
    assert frame["data"] | {"fired_at": None, "as_of": None} == {
        "alert_id": alert.pk, "event_id": event.pk, "target": "symbol", "symbol": "AAPL",
        "portfolio_id": None, "name": "AAPL Inc.", "condition": "above", "threshold": 200.0,
        "value": 201.34, "change_percent": 1.1759, "currency": "USD",
        "message": "AAPL rose to 201.34 USD, above 200.00", "fired_at": None, "as_of": None,
    }  # fmt: skip
    assert frame["data"]["fired_at"].endswith("Z")
    assert frame["data"]["as_of"].endswith("Z")


def test_a_check_that_fires_nothing_publishes_nothing(
    owner: User, aapl: Asset, django_capture_on_commit_callbacks: Any
) -> None:
    alert_on(owner, aapl, "above", "200")
    with django_capture_on_commit_callbacks() as callbacks:
        alerts_check_symbols(symbols=["AAPL"])
    assert callbacks == []


# --- portfolio alerts ----------------------------------------------------------------------


@pytest.fixture
def growth(owner: User, aapl: Asset) -> Portfolio:
    portfolio = portfolio_create(owner, name="Growth", base_currency="USD")
    position_create(portfolio, aapl, quantity="10", cost_basis="1500")
    return portfolio


def revalue_and_check(symbols: list[str]) -> list[int]:
    """What revalue_portfolios does: value the alerted portfolios (nobody watches them here)."""
    valuations = portfolios_revalue(symbols=symbols, also=portfolio_ids_alerted(symbols=symbols))
    return alerts_check_portfolios(valuations=valuations).fired


def test_a_portfolio_alert_fires_once_on_a_complete_current_value(
    owner: User, aapl: Asset, growth: Portfolio
) -> None:
    alert = alert_on(owner, growth, "above", "2000")
    reprice(aapl, "201.34")

    assert revalue_and_check(["AAPL"]) == [alert.pk]
    event = AlertEvent.objects.get()
    assert event.message == "Portfolio “Growth” rose to 2,013.40 USD, above 2,000.00"
    assert (event.target, event.value, event.change_percent) == (
        "Growth",
        D("2013.40"),
        D("1.1759"),
    )
    reprice(aapl, "202")
    assert revalue_and_check(["AAPL"]) == []
    reprice(aapl, "198")  # 1,980: past the 0.5 % margin (1,990)
    revalue_and_check(["AAPL"])
    assert state(alert) == "armed"


def test_a_portfolio_move_alert_reads_the_days_move_of_its_value(
    owner: User, aapl: Asset, growth: Portfolio
) -> None:
    alert_on(owner, growth, "move", "2")
    reprice(aapl, "203.00")  # +2.0101 % on 1,990.00
    assert len(revalue_and_check(["AAPL"])) == 1
    assert AlertEvent.objects.get().change_percent == D("2.0101")


def test_an_incomplete_or_stale_portfolio_value_never_fires(
    owner: User, aapl: Asset, growth: Portfolio
) -> None:
    alert_on(owner, growth, "above", "100")
    position_create(growth, priced("NEWCO", None))
    reprice(aapl, "250")
    assert revalue_and_check(["AAPL"]) == []

    Position.objects.filter(asset__symbol="NEWCO").delete()
    reprice(aapl, "250", stale_reason="yahoo: no data")
    assert revalue_and_check(["AAPL"]) == []


def test_only_portfolios_with_live_alerts_that_the_symbols_move_are_valued_for_alerts(
    owner: User, aapl: Asset, growth: Portfolio
) -> None:
    msft = priced("MSFT", "400")
    other = portfolio_create(owner, name="Other")
    position_create(other, msft)
    paused = portfolio_create(owner, name="Paused")
    position_create(paused, aapl)
    quiet = portfolio_create(owner, name="No alerts")
    position_create(quiet, aapl)
    alert_on(owner, growth, "above", "2000", state="fired")
    alert_on(owner, other, "above", "2000")
    alert_on(owner, paused, "above", "2000", paused=True)

    assert portfolio_ids_alerted(symbols=["AAPL"]) == {growth.pk}


# --- the one-off command -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_update_asset_prices_checks_alerts_after_saving() -> None:
    owner = user_create()
    aapl = priced("AAPL", None)
    alert = alert_on(owner, aapl, "above", "0.01")  # any price at all crosses it
    out = StringIO()
    call_command("update_asset_prices", "--symbols", "AAPL", "--source", "simulated", stdout=out)
    assert "Alerts fired: 1" in out.getvalue()
    assert state(alert) == "fired"
