from django.urls import path, register_converter

from apps.market.api import ForcePriceUpdateView
from apps.market.series_api import AssetSeriesView, SparklinesView


class AnyTextConverter:
    """Any text, "/", newlines and nothing included: a symbol that can be no ticker still
    reaches the API's view and gets its JSON 404, never Django's HTML one."""

    regex = r"[\s\S]*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyTextConverter, "anytext")

urlpatterns = [
    path(
        "api/realtime/force_price_update/",
        ForcePriceUpdateView.as_view(),
        name="force-price-update",
    ),
    path(
        "api/market/assets/<anytext:symbol>/series/",
        AssetSeriesView.as_view(),
        name="asset-series",
    ),
    path("api/market/sparklines/", SparklinesView.as_view(), name="asset-sparklines"),
]
