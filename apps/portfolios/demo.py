"""The demo data set: a demo user, the catalog's assets and two portfolios. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.market.catalog import DEMO_ASSETS
from apps.market.models import Asset
from apps.portfolios.demo_login import DEMO_USERNAME
from apps.portfolios.models import Portfolio, Position

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
