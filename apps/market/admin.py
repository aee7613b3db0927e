from django.contrib import admin

from apps.market.models import Asset, PriceBar

QUOTE_FIELDS = (
    "current_price", "previous_close", "day_high", "day_low", "volume",
    "quote_time", "last_updated", "source", "market_state", "stale_reason",
)  # fmt: skip


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "symbol", "name", "asset_type", "exchange", "currency", "current_price",
        "previous_close", "quote_time", "source", "stale_reason", "is_active", "always_refresh",
    )  # fmt: skip
    list_filter = ("asset_type", "is_active", "always_refresh", "currency", "exchange", "source")
    search_fields = ("symbol", "name")
    list_editable = ("is_active", "always_refresh")
    readonly_fields = ("last_updated",)
    fieldsets = (
        (None, {"fields": ("symbol", "name", "asset_type", "exchange", "currency")}),
        ("Refresh", {"fields": ("is_active", "always_refresh")}),
        ("Latest quote", {"fields": QUOTE_FIELDS}),
    )


@admin.register(PriceBar)
class PriceBarAdmin(admin.ModelAdmin):
    list_display = ("asset", "date", "open", "high", "low", "close", "volume", "source")
    list_filter = ("source", "asset__asset_type")
    search_fields = ("asset__symbol",)
    autocomplete_fields = ("asset",)
    date_hierarchy = "date"
    list_select_related = ("asset",)
