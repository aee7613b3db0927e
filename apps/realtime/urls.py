from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from apps.realtime.pages import DashboardView, TestConsoleView
from apps.realtime.views import HealthView, StatusView, WebsocketInfoView

urlpatterns = [
    path("realtime/dashboard/", DashboardView.as_view(), name="realtime-dashboard"),
    path("realtime/test/", TestConsoleView.as_view(), name="realtime-test"),
    path("realtime/websocket-info/", WebsocketInfoView.as_view(), name="websocket-info"),
    path("realtime/status/", StatusView.as_view(), name="realtime-status"),
    path("realtime/health/", HealthView.as_view(), name="realtime-health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
]
