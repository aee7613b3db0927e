"""URL routes."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="realtime-dashboard", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("", include("apps.realtime.urls")),
    path("", include("apps.market.urls")),
    path("", include("apps.portfolios.urls")),
    path("", include("apps.portfolios.imports.urls")),
    path("", include("apps.portfolios.watchlist_urls")),
    path("", include("apps.alerts.urls")),
]

handler404 = "config.errors.not_found"
