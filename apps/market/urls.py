from django.urls import path

from apps.market.api import ForcePriceUpdateView

urlpatterns = [
    path(
        "api/realtime/force_price_update/",
        ForcePriceUpdateView.as_view(),
        name="force-price-update",
    ),
]
