"""Error pages: a script calling /api/ gets JSON, a browser gets Django's page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a path no route matches (say /api/alerts/-1/, where `<int:>` refuses the sign):
    an API client reads `{"detail": ...}` like every other API error, not an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
