"""A path under /api/ that no route matches answers JSON, like every other API error."""

from __future__ import annotations

from django.test import Client


def test_an_unmatched_api_path_is_a_json_404() -> None:
    response = Client(HTTP_HOST="localhost").get("/api/alerts/not-a-number/x/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unmatched_page_is_still_an_html_404() -> None:
    response = Client(HTTP_HOST="localhost").get("/no/such/page/")
    assert response.status_code == 404
    assert response["content-type"].startswith("text/html")
