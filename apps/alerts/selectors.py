"""Alert reads for the pages and the API: a person's alerts, each with what it watches now and,
when it cannot fire now, why it is waiting; and the person's recent firings.

"Waiting" follows the pipeline's rules (`evaluation.py`): a symbol alert needs a fresh price
(`apps.market.updates.asset_is_stale`) and, for a daily move, a previous close; a portfolio
alert needs a value that is complete and current.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from django.db.models import QuerySet

from apps.alerts.messages import amount_text, percent_text
from apps.alerts.models import Alert, AlertCondition, AlertEvent, AlertState
from apps.market.feed import stale_after_seconds
from apps.market.models import Asset
from apps.market.updates import asset_is_stale
from apps.portfolios.models import Portfolio
from apps.portfolios.valuation import Valuation, portfolios_value

RECENT_EVENTS = 20


class AlertStatus(StrEnum):
    ARMED = "armed"
    FIRED = "fired"
    PAUSED = "paused"
    WAITING = "waiting"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRow:
    """One alert as a person reads it. `value` is the price or portfolio value now (in
    `currency`), `change_percent` the day's move; either is None when unknown. `waiting` says
    why the alert cannot fire now (None when it can)."""

    alert: Alert
    target: str  # "symbol" or "portfolio"
    label: str  # the symbol, or the portfolio's name
    name: str  # the asset's name ("" for a portfolio)
    currency: str
    value: Decimal | None
    change_percent: Decimal | None
    waiting: str | None

    @property
    def unit(self) -> str:
        return "%" if self.alert.condition == AlertCondition.MOVE else self.currency

    @property
    def status(self) -> str:
        if self.alert.paused:
            return AlertStatus.PAUSED
        if self.alert.state == AlertState.FIRED:
            return AlertStatus.FIRED
        return AlertStatus.WAITING if self.waiting else AlertStatus.ARMED

    @property
    def description(self) -> str:
        return alert_describe(self.alert)


def alert_target_label(alert: Alert) -> tuple[str, str]:
    """(the symbol or the portfolio's name, the currency its threshold is in)."""
    if alert.asset is not None:
        return alert.asset.symbol, alert.asset.currency
    if alert.portfolio is not None:
        return alert.portfolio.name, alert.portfolio.base_currency
    return "?", ""


def alert_describe(alert: Alert) -> str:
    """The rule in words: "AAPL rises to or above 200.00 USD", "AAPL moves by at least ±5% in
    a day", "Pension (value) falls to or below 40,000.00 EUR"."""
    label, currency = alert_target_label(alert)
    what = " (value)" if alert.portfolio is not None else ""
    if alert.condition == AlertCondition.MOVE:
        percent = percent_text(alert.threshold)
        return f"{label}{what} moves by at least \u00b1{percent}% in a day"
    verb = AlertCondition(alert.condition).label
    return f"{label}{what} {verb} {amount_text(alert.threshold)} {currency}"


# --- the person's alerts -----------------------------------------------------------------------


def alerts_of_user(
    *, user_id: int, symbol: str | None = None, portfolio_id: int | None = None
) -> QuerySet[Alert]:
    """The person's alerts, newest first, optionally those of one symbol or one portfolio."""
    alerts = Alert.objects.filter(owner_id=user_id).select_related("asset", "portfolio")
    if symbol is not None:
        alerts = alerts.filter(asset__symbol=symbol)
    if portfolio_id is not None:
        alerts = alerts.filter(portfolio_id=portfolio_id)
    return alerts.order_by("-created_at", "-id")


def alert_owned_get(*, user_id: int, alert_id: int) -> Alert | None:
    """The person's alert, or None: another person's alert and a missing one look the same."""
    return alerts_of_user(user_id=user_id).filter(pk=alert_id).first()


def alert_rows(alerts: Iterable[Alert], *, now: datetime | None = None) -> list[AlertRow]:
    """Each alert with its value now and why it waits; portfolios valued in one read."""
    alerts = list(alerts)
    now = now or datetime.now(UTC)
    stale_after = stale_after_seconds()
    portfolio_ids = {alert.portfolio_id for alert in alerts if alert.portfolio_id is not None}
    valued = portfolios_value(portfolio_ids) if portfolio_ids else []  # one read for them all
    valuations = {valuation.portfolio_id: valuation for valuation in valued}
    rows = []
    for alert in alerts:
        if alert.asset is not None:
            rows.append(_asset_row(alert, alert.asset, now=now, stale_after=stale_after))
        elif alert.portfolio is not None:
            valuation = valuations.get(alert.portfolio.pk)
            rows.append(_portfolio_row(alert, alert.portfolio, valuation))
    return rows


def _asset_row(alert: Alert, asset: Asset, *, now: datetime, stale_after: float) -> AlertRow:
    price, previous = asset.current_price, asset.previous_close
    change = (price - previous) / previous * 100 if price is not None and previous else None
    return AlertRow(
        alert=alert, target="symbol", label=asset.symbol, name=asset.name,
        currency=asset.currency, value=price,
        change_percent=change.quantize(Decimal("0.01")) if change is not None else None,
        waiting=_asset_waiting(alert, asset, now=now, stale_after=stale_after),
    )  # fmt: skip


def _asset_waiting(alert: Alert, asset: Asset, *, now: datetime, stale_after: float) -> str | None:
    symbol = asset.symbol
    if not asset.is_active:
        return f"{symbol} is switched off here and gets no prices"
    if asset.current_price is None:
        return f"no price for {symbol} yet"
    if asset_is_stale(asset, now=now, stale_after=stale_after):
        if asset.stale_reason:
            return f"the price of {symbol} is not current: {asset.stale_reason}"
        return f"the price of {symbol} is not current (last saved {_when(asset.last_updated)})"
    if alert.condition == AlertCondition.MOVE and not asset.previous_close:
        return f"no previous close for {symbol}, so no daily move yet"
    return None


def _portfolio_row(alert: Alert, portfolio: Portfolio, valuation: Valuation | None) -> AlertRow:
    return AlertRow(
        alert=alert, target="portfolio", label=portfolio.name, name="",
        currency=portfolio.base_currency,
        value=valuation.total_value if valuation else None,
        change_percent=valuation.daily_change_percent if valuation else None,
        waiting=_portfolio_waiting(alert, valuation),
    )  # fmt: skip


def _portfolio_waiting(alert: Alert, valuation: Valuation | None) -> str | None:
    if valuation is None or not valuation.positions:
        return "the portfolio has no positions to value"
    missing = "; ".join(valuation.missing)
    if valuation.total_value is None:
        return f"its value is not known: {missing or 'no prices yet'}"
    if not valuation.complete:
        return f"its value is incomplete: {missing}"
    if valuation.stale:
        return f"its value is not current: {valuation.stale_reason}"
    if alert.condition == AlertCondition.MOVE and valuation.daily_change_percent is None:
        return "no previous closes for its positions, so no daily move yet"
    return None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- firings -----------------------------------------------------------------------------------


def alert_events_recent(*, user_id: int, limit: int = RECENT_EVENTS) -> QuerySet[AlertEvent]:
    """The person's latest firings, newest first (also those of alerts deleted since)."""
    return AlertEvent.objects.filter(owner_id=user_id).order_by("-fired_at", "-id")[:limit]
