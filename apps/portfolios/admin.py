from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.portfolios.models import (
    Portfolio,
    PortfolioDailyValue,
    Position,
    Watchlist,
    WatchlistItem,
)


class PositionInline(admin.TabularInline):
    model = Position
    extra = 1
    autocomplete_fields = ("asset",)
    fields = ("asset", "quantity", "cost_basis", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "base_currency", "position_count", "created_at")
    list_filter = ("base_currency",)
    search_fields = ("name", "owner__username", "positions__asset__symbol")
    autocomplete_fields = ("owner",)
    inlines = (PositionInline,)

    @admin.display(description="Positions", ordering="position_total")
    def position_count(self, portfolio: Portfolio) -> int:
        return int(getattr(portfolio, "position_total", 0))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Portfolio]:
        queryset = super().get_queryset(request).select_related("owner")
        return queryset.annotate(position_total=Count("positions"))


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("portfolio", "asset", "quantity", "cost_basis", "updated_at")
    list_filter = ("asset__asset_type", "portfolio__base_currency")
    search_fields = ("asset__symbol", "portfolio__name", "portfolio__owner__username")
    autocomplete_fields = ("portfolio", "asset")
    list_select_related = ("portfolio", "asset")


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    extra = 0
    autocomplete_fields = ("asset",)
    fields = ("position", "asset", "added_at")
    readonly_fields = ("added_at",)
    ordering = ("position",)


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ("owner", "symbol_count", "created_at")
    search_fields = ("owner__username", "items__asset__symbol")
    autocomplete_fields = ("owner",)
    inlines = (WatchlistItemInline,)

    @admin.display(description="Symbols", ordering="symbol_total")
    def symbol_count(self, watchlist: Watchlist) -> int:
        return int(getattr(watchlist, "symbol_total", 0))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Watchlist]:
        queryset = super().get_queryset(request).select_related("owner")
        return queryset.annotate(symbol_total=Count("items"))


@admin.register(PortfolioDailyValue)
class PortfolioDailyValueAdmin(admin.ModelAdmin):
    """Read-mostly: rows come from the daily task and the backfill. A wrong day may be deleted
    (the backfill, or the next run on that day, records it again); none is added or edited by
    hand, which would pass a made-up figure for a recorded one."""

    list_display = ("portfolio", "date", "total_value", "currency", "daily_change", "complete",
                    "source", "recorded_at")  # fmt: skip
    list_filter = ("complete", "source", "currency")
    search_fields = ("portfolio__name", "portfolio__owner__username")
    date_hierarchy = "date"
    list_select_related = ("portfolio",)
    raw_id_fields = ("portfolio",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PortfolioDailyValue | None = None
    ) -> bool:
        return False
