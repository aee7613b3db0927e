"""The project's URL conf plus one endpoint that nobody put in the access matrix."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def unlisted(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"secret": "anyone can read this"})


urlpatterns = [*project_urlpatterns, path("api/unlisted/", unlisted)]
