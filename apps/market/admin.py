from django.contrib import admin

from apps.market.models import Asset, PriceBar


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "name",
        "asset_type",
        "exchange",
        "currency",
        "current_price",
        "previous_close",
        "quote_time",
        "last_updated",
        "source",
        "is_active",
    )
    list_filter = ("asset_type", "is_active", "currency", "exchange", "source")
    search_fields = ("symbol", "name")
    list_editable = ("is_active",)
    readonly_fields = ("last_updated",)
    fieldsets = (
        (None, {"fields": ("symbol", "name", "asset_type", "exchange", "currency", "is_active")}),
        (
            "Latest quote",
            {
                "fields": (
                    "current_price",
                    "previous_close",
                    "day_high",
                    "day_low",
                    "volume",
                    "quote_time",
                    "last_updated",
                    "source",
                )
            },
        ),
    )


@admin.register(PriceBar)
class PriceBarAdmin(admin.ModelAdmin):
    list_display = ("asset", "date", "open", "high", "low", "close", "volume", "source")
    list_filter = ("source", "asset__asset_type")
    search_fields = ("asset__symbol",)
    autocomplete_fields = ("asset",)
    date_hierarchy = "date"
    list_select_related = ("asset",)
