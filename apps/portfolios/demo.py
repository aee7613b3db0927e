"""The demo data set: a demo user, the catalog's assets and two portfolios. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min

from apps.market.catalog import DEMO_ASSETS
from apps.market.history import price_history_fetch
from apps.market.models import Asset, AssetType, PriceBar
from apps.market.selectors import fx_pair_symbols
from apps.portfolios.demo_login import DEMO_USERNAME
from apps.portfolios.models import Portfolio, Position
from apps.portfolios.value_backfill import CARRY_DAYS, portfolio_values_backfill

DEMO_HISTORY_DAYS = 365
# How long the sources may take for the demo's bars: the simulated market answers at once, and
# an unreachable real source must not hold `make run` up (charts then fetch bars on demand).
DEMO_HISTORY_BUDGET_SECONDS = 20
LONG_WEEKEND_DAYS = 4  # bars this much short of either end still count as the span

# (portfolio name, base currency, [(symbol, quantity, total cost in the asset's currency)])
DEMO_PORTFOLIOS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Growth Portfolio",
        "USD",
        (
            ("AAPL", "50", "8200.00"),
            ("MSFT", "30", "9450.00"),
            ("NVDA", "40", "3100.00"),
            ("TSLA", "10", "2300.00"),
            ("BTC-USD", "0.25", "9000.00"),
        ),
    ),
    (
        "Global Income",
        "EUR",
        (
            ("SAP.DE", "25", "3900.00"),
            ("VWRL.AS", "60", "6100.00"),
            ("KO", "80", "4700.00"),
            ("JPM", "20", "2900.00"),
            ("ETH-USD", "1.5", "3300.00"),
        ),
    ),
)


@dataclass
class DemoSeedResult:
    username: str
    user_created: bool
    assets_created: list[str] = field(default_factory=list)
    portfolios_created: list[str] = field(default_factory=list)
    positions_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.user_created
            or self.assets_created
            or self.portfolios_created
            or self.positions_created
        )


@transaction.atomic
def demo_seed(*, password: str) -> DemoSeedResult:
    """Create whatever of the demo set is missing; never touch rows that already exist."""
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(
        username=DEMO_USERNAME,
        defaults={"is_staff": True, "is_superuser": True, "email": "demo@example.com"},
    )
    if user_created:
        user.set_password(password)
        user.save(update_fields=["password"])
    result = DemoSeedResult(username=DEMO_USERNAME, user_created=user_created)

    assets: dict[str, Asset] = {}
    for item in DEMO_ASSETS:
        asset, created = Asset.objects.get_or_create(
            symbol=item.symbol,
            defaults={
                "name": item.name,
                "asset_type": item.asset_type,
                "exchange": item.exchange,
                "currency": item.currency,
                # The demo shows every catalog asset live, held or not.
                "always_refresh": True,
            },
        )
        assets[item.symbol] = asset
        if created:
            result.assets_created.append(item.symbol)

    for name, base_currency, holdings in DEMO_PORTFOLIOS:
        portfolio, created = Portfolio.objects.get_or_create(
            owner=user, name=name, defaults={"base_currency": base_currency}
        )
        if created:
            result.portfolios_created.append(name)
        for symbol, quantity, cost in holdings:
            _, created = Position.objects.get_or_create(
                portfolio=portfolio,
                asset=assets[symbol],
                defaults={"quantity": Decimal(quantity), "cost_basis": Decimal(cost)},
            )
            result.positions_created += created
    return result


@dataclass
class DemoHistoryResult:
    bars_saved: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # symbol -> why it has no bars
    days_written: int = 0  # past days of the demo portfolios' value recorded

    @property
    def changed(self) -> bool:
        return bool(self.bars_saved or self.days_written)


def demo_history_seed(
    *, days: int = DEMO_HISTORY_DAYS, source: str | None = None
) -> DemoHistoryResult:
    """A year of daily bars for what the demo portfolios hold and the FX pairs converting it
    (those lacking it, through the source chain), then the portfolios' past values from them
    (days already recorded are kept). Other assets' charts fetch their bars when first shown."""
    result = DemoHistoryResult()
    portfolio_ids = list(
        Portfolio.objects.filter(owner__username=DEMO_USERNAME).values_list("pk", flat=True)
    )
    lacking = demo_symbols_lacking_history(symbols=_symbols_valued(portfolio_ids), days=days)
    if lacking:
        # A few days more than the chart's: the first day's change needs the close before it.
        summary = price_history_fetch(
            symbols=lacking, days=days + CARRY_DAYS, source=source,
            budget_seconds=DEMO_HISTORY_BUDGET_SECONDS,
        )  # fmt: skip
        result.bars_saved, result.failed = summary.saved, summary.failed
    for backfilled in portfolio_values_backfill(days=days, portfolio_ids=portfolio_ids):
        result.days_written += backfilled.written
    return result


def _symbols_valued(portfolio_ids: list[int]) -> list[str]:
    """The symbols held, and the FX pairs among the assets that may convert them."""
    held = Position.objects.filter(portfolio_id__in=portfolio_ids).values_list(
        "asset__symbol", "asset__currency", "portfolio__base_currency"
    )
    symbols = {symbol for symbol, _, _ in held}
    pairs = {s for _, currency, base in held if currency != base
             for s in fx_pair_symbols(currency, base)}  # fmt: skip
    fx = Asset.objects.filter(symbol__in=pairs, asset_type=AssetType.FX)
    return sorted(symbols | set(fx.values_list("symbol", flat=True)))


def demo_symbols_lacking_history(*, symbols: list[str], days: int) -> list[str]:
    """The symbols whose bars do not span the last `days` days, give or take a long weekend."""
    today = datetime.now(UTC).date()
    start, slack = today - timedelta(days=days), timedelta(days=LONG_WEEKEND_DAYS)
    rows = (
        PriceBar.objects.filter(asset__symbol__in=symbols, date__gte=start - slack)
        .values("asset__symbol")
        .annotate(first=Min("date"), last=Max("date"))
        .order_by()
        .values_list("asset__symbol", "first", "last")
    )
    spanned = {symbol for symbol, first, last in rows
               if first <= start + slack and last >= today - slack}  # fmt: skip
    return [symbol for symbol in symbols if symbol not in spanned]
