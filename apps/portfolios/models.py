"""Portfolios and the positions they hold; watchlists of the symbols a user follows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.market.models import Asset, currency_validator


class Portfolio(models.Model):
    """A named set of positions owned by one user, valued in its base currency."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios"
    )
    name = models.CharField(max_length=100)
    base_currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="portfolio_name_unique_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A holding of one asset in one portfolio."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="positions")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="positions")
    quantity = models.DecimalField(max_digits=28, decimal_places=10)  # fractional shares, crypto
    cost_basis = models.DecimalField(
        max_digits=24,
        decimal_places=8,
        default=0,
        help_text="Total paid for the quantity held, in the asset's currency.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "asset__symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "asset"], name="position_one_per_portfolio_asset"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="position_quantity_positive"),
            models.CheckConstraint(
                condition=Q(cost_basis__gte=0), name="position_cost_basis_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.asset_id} in {self.portfolio_id}"


class Watchlist(models.Model):
    """One user's symbols to follow on the dashboard.

    The row's existence says the user's list was materialised: until then the dashboard shows
    the demo's symbols, and the first change writes them here first (apps/portfolios/watchlist.py).
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"watchlist of {self.owner_id}"


class WatchlistItem(models.Model):
    """One symbol on a watchlist, at a position (0 first) unique within the list."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="watchlist_items")
    position = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["watchlist", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "asset"], name="watchlist_item_one_per_asset"
            ),
            models.UniqueConstraint(
                fields=["watchlist", "position"], name="watchlist_item_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} at {self.position} in {self.watchlist_id}"


class DailyValueSource(models.TextChoices):
    DAILY = "daily", "Daily record"  # the beat task, from the live prices after the close
    BACKFILL = "backfill", "Backfill"  # rebuilt from daily bars, assuming today's positions


class PortfolioDailyValue(models.Model):
    """A portfolio's closing value on one day (a UTC date), in the currency it was valued in.

    A figure none of whose inputs was known is null, and a day with anything missing is
    recorded incomplete with the reasons in `missing`: a chart shows the gap, never a 0.
    """

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="daily_values")
    date = models.DateField(help_text="The UTC date of the day the value closes.")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    total_value = models.DecimalField(max_digits=28, decimal_places=2, null=True, blank=True)
    daily_change = models.DecimalField(max_digits=28, decimal_places=2, null=True, blank=True)
    cost_basis = models.DecimalField(max_digits=28, decimal_places=2, null=True, blank=True)
    positions = models.PositiveIntegerField(default=0)
    complete = models.BooleanField()
    missing = models.JSONField(default=list, blank=True, help_text="What could not be valued.")
    source = models.CharField(max_length=16, choices=DailyValueSource)
    as_of = models.DateTimeField(help_text="When the prices it was valued with were read.")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["portfolio", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "date"], name="portfolio_daily_value_one_per_day"
            ),
            models.CheckConstraint(
                condition=Q(total_value__isnull=False) | Q(complete=False),
                name="portfolio_daily_value_unknown_is_incomplete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio_id} on {self.date}"
