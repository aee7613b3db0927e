"""URL routes."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="realtime-dashboard", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("apps.realtime.urls")),
    path("", include("apps.market.urls")),
]
