"""The alert pages (/alerts/) and the alert API (/api/alerts/); names are what others link by."""

from django.urls import path, register_converter

from apps.alerts.api import AlertDetailApi, AlertEventsApi, AlertListApi
from apps.alerts.views import (
    AlertDeleteView,
    AlertFormPage,
    AlertListView,
    AlertPauseView,
)


class ApiIdConverter:
    """Any one path segment: an id that is no id (-1, 1e3, x) still reaches the API's view
    and gets its JSON 404, never Django's HTML one."""

    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(ApiIdConverter, "api_id")

urlpatterns = [
    path("alerts/", AlertListView.as_view(), name="alert-list"),
    path("alerts/new/", AlertFormPage.as_view(), name="alert-create"),
    path("alerts/<int:alert_id>/edit/", AlertFormPage.as_view(), name="alert-edit"),
    path("alerts/<int:alert_id>/delete/", AlertDeleteView.as_view(), name="alert-delete"),
    path("alerts/<int:alert_id>/pause/", AlertPauseView.as_view(), name="alert-pause"),
    path("api/alerts/", AlertListApi.as_view(), name="alert-api-list"),
    path("api/alerts/events/", AlertEventsApi.as_view(), name="alert-api-events"),
    # After events/: its segment would match too.
    path("api/alerts/<api_id:alert_id>/", AlertDetailApi.as_view(), name="alert-api-detail"),
]
