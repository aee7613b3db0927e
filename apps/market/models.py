"""Assets with their latest quote, and their daily price history."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from apps.market.fields import PriceField, SymbolField

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Enter an ISO 4217 code such as USD.")


class AssetType(models.TextChoices):
    STOCK = "stock", "Stock"
    ETF = "etf", "ETF"
    FUND = "fund", "Fund"
    INDEX = "index", "Index"
    FX = "fx", "Currency pair"
    CRYPTO = "crypto", "Crypto"
    OTHER = "other", "Other"


class Asset(models.Model):
    """A tradable symbol and its latest validated quote."""

    symbol = SymbolField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    exchange = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    asset_type = models.CharField(max_length=16, choices=AssetType, default=AssetType.STOCK)

    current_price = PriceField(null=True, blank=True)
    previous_close = PriceField(null=True, blank=True)
    day_high = PriceField(null=True, blank=True)
    day_low = PriceField(null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    quote_time = models.DateTimeField(null=True, blank=True, help_text="When the source priced it.")
    last_updated = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When we last saved a quote."
    )
    source = models.CharField(max_length=32, blank=True, help_text="Data source of the quote.")
    market_state = models.CharField(max_length=8, blank=True, help_text="As the source said.")
    stale_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why the saved quote is not current; empty when fresh.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive assets are never fetched.")
    always_refresh = models.BooleanField(
        default=False, help_text="Refresh even when nobody holds or watches it."
    )

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(symbol=Upper("symbol")), name="asset_symbol_upper"),
            models.CheckConstraint(
                condition=Q(current_price__isnull=True) | Q(current_price__gt=0),
                name="asset_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(day_high__isnull=True)
                | Q(day_low__isnull=True)
                | Q(day_high__gte=F("day_low")),
                name="asset_day_high_not_below_low",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol


class PriceBar(models.Model):
    """One trading day of OHLCV history for an asset (unadjusted close)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="bars")
    date = models.DateField()
    open = PriceField()
    high = PriceField()
    low = PriceField()
    close = PriceField()
    volume = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["asset", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "date"], name="pricebar_one_per_asset_day"),
            models.CheckConstraint(
                condition=Q(high__gte=F("low")), name="pricebar_high_not_below_low"
            ),
            models.CheckConstraint(condition=Q(low__gt=0), name="pricebar_prices_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.date}"
