"""Alert writes a person makes: set, edit, pause, delete (the pipeline's checks that fire and
re-arm alerts are in `evaluation.py`).

Every rule a person can break is checked here, once, and raised as an `AlertInvalid` naming
the field; the forms and the REST serializers show the same message beside the same field.
A symbol that is not an asset yet raises `AlertSymbolNotKnown`: the caller asks a worker to
look it up (this module never waits on one) and tries again.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import Alert, AlertCondition, AlertState
from apps.market.models import Asset
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.portfolios.models import Portfolio

AlertTarget = Asset | Portfolio

MOVE_MAX_PERCENT = Decimal(100)
MARGIN_MAX_PERCENT = Decimal(100)
DEFAULT_MARGIN_PERCENT = Decimal("0.5")
# The fields whose change makes an alert a new rule: an edit of any of them re-arms it.
RULE_FIELDS = ("asset_id", "portfolio_id", "condition", "threshold", "rearm_margin_percent")


class AlertInvalid(Exception):
    """Input a person can correct: `message` is shown beside `field`."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AlertSymbolNotKnown(AlertInvalid):
    """No asset has this symbol yet: a lookup through the price sources may find it."""

    code = "symbol_not_known"

    def __init__(self, symbol: str) -> None:
        super().__init__("symbol", f"{symbol} is not a symbol known here yet.")
        self.symbol = symbol


# --- checks ----------------------------------------------------------------------------------


def alert_rule_problems(
    *, condition: str, threshold: Decimal | None, margin: Decimal | None
) -> dict[str, str]:
    """What is wrong with a rule, by field (empty when nothing is): a positive threshold, a
    move of 0 < N <= 100 %, a re-arm margin of 0 to 100 %."""
    problems: dict[str, str] = {}
    if condition not in AlertCondition.values:
        problems["condition"] = "Choose above, below or move."
    if threshold is not None and threshold <= 0:
        problems["threshold"] = "Enter a threshold above 0."
    elif threshold is not None and condition == AlertCondition.MOVE and threshold > 100:
        problems["threshold"] = "A daily move is a percentage: enter more than 0 and at most 100."
    if margin is not None and not 0 <= margin <= MARGIN_MAX_PERCENT:
        problems["rearm_margin_percent"] = "Enter a re-arm margin from 0 to 100 (percent)."
    return problems


def alert_target_resolve(
    *, owner_id: int, symbol: str | None, portfolio_id: int | None
) -> AlertTarget:
    """The asset or the owner's portfolio an alert is on: exactly one of them must be named.

    Another person's portfolio reads the same as one that does not exist.
    """
    symbol = (symbol or "").strip() or None
    if symbol is not None and portfolio_id is not None:
        raise AlertInvalid("portfolio", "Set an alert on a symbol or on a portfolio, not both.")
    if portfolio_id is not None:
        portfolio = Portfolio.objects.filter(pk=portfolio_id, owner_id=owner_id).first()
        if portfolio is None:
            raise AlertInvalid("portfolio", "You have no portfolio with that id.")
        return portfolio
    if symbol is None:
        raise AlertInvalid("symbol", "Enter a symbol, or choose one of your portfolios.")
    try:
        wanted = symbol_normalize(symbol)
    except InvalidSymbol:
        raise AlertInvalid(
            "symbol",
            f"\u201c{symbol[:40]}\u201d is not a ticker: try AAPL, BRK-B, SAP.DE or BTC-USD.",
        ) from None
    asset = Asset.objects.filter(symbol=wanted).first()
    if asset is None:
        raise AlertSymbolNotKnown(wanted)
    if not asset.is_active:
        raise AlertInvalid("symbol", f"{wanted} is switched off here: it gets no prices.")
    return asset


def _rule_checked(condition: str, threshold: Decimal, margin: Decimal) -> None:
    problems = alert_rule_problems(condition=condition, threshold=threshold, margin=margin)
    if problems:
        field, message = next(iter(problems.items()))
        raise AlertInvalid(field, message)


def _target_set(alert: Alert, target: AlertTarget) -> None:
    if isinstance(target, Asset):
        alert.asset, alert.portfolio = target, None
    else:
        if target.owner_id != alert.owner_id:
            raise AlertInvalid("portfolio", "You have no portfolio with that id.")
        alert.asset, alert.portfolio = None, target


# --- writes ------------------------------------------------------------------------------------


def alert_create(
    *,
    owner_id: int,
    target: AlertTarget,
    condition: str,
    threshold: Decimal,
    rearm_margin_percent: Decimal = DEFAULT_MARGIN_PERCENT,
    note: str = "",
    paused: bool = False,
) -> Alert:
    """A new alert, armed: it fires at the first fresh value past its threshold."""
    _rule_checked(condition, threshold, rearm_margin_percent)
    alert = Alert(
        owner_id=owner_id, condition=condition, threshold=threshold,
        rearm_margin_percent=rearm_margin_percent, note=note.strip(), paused=paused,
    )  # fmt: skip
    _target_set(alert, target)
    with transaction.atomic():
        alert.save()
    return alert


def alert_update(
    *,
    alert: Alert,
    target: AlertTarget,
    condition: str,
    threshold: Decimal,
    rearm_margin_percent: Decimal,
    note: str,
    paused: bool | None = None,
) -> Alert:
    """Change an alert (and pause or resume it, unless `paused` is None). A changed rule
    (target, condition, threshold or margin) re-arms it: it is a new rule, so it may fire at
    once. A changed note, or pausing, leaves its state."""
    _rule_checked(condition, threshold, rearm_margin_percent)
    with transaction.atomic():
        # The row locked: the pipeline's bulk update of its state cannot interleave.
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        before = [getattr(locked, name) for name in RULE_FIELDS]
        _target_set(locked, target)
        locked.condition, locked.threshold = condition, threshold
        locked.rearm_margin_percent, locked.note = rearm_margin_percent, note.strip()
        if paused is not None:
            locked.paused = paused
        if [getattr(locked, name) for name in RULE_FIELDS] != before:
            locked.state, locked.fired_at, locked.fired_value = AlertState.ARMED, None, None
        locked.save()
    return locked


def alert_pause(*, alert: Alert, paused: bool) -> Alert:
    """Pause (never checked, never fires) or resume an alert; its state is kept."""
    with transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(paused=paused, updated_at=timezone.now())
    alert.refresh_from_db()
    return alert


def alert_delete(*, alert: Alert) -> None:
    """Delete an alert; its past firings stay in the person's recent list."""
    with transaction.atomic():
        Alert.objects.filter(pk=alert.pk).delete()
