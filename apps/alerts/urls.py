"""The alert pages (/alerts/) and the alert API (/api/alerts/)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
