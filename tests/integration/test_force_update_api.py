"""POST /api/realtime/force_price_update/: authenticated, validated, throttled, 202 + task id."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.market.models import Asset
from tests.factories import asset_create, user_create

pytestmark = pytest.mark.django_db

URL = "/api/realtime/force_price_update/"


@pytest.fixture
def client() -> APIClient:
    asset_create("AAPL")
    asset_create("MSFT")
    api = APIClient()
    api.force_authenticate(user_create())
    return api


def test_queues_a_refresh_and_answers_202_with_the_task_id(client: APIClient) -> None:
    response = client.post(URL, {"symbols": ["aapl", "MSFT", "AAPL"]}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["symbols"] == ["AAPL", "MSFT"]
    assert body["status"] == "queued"
    uuid.UUID(body["task_id"])


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"symbols": ["ZZZZ"]}, "unknown symbol(s): ZZZZ"),
        ({"symbols": ["AA PL"]}, "is not a valid ticker symbol"),
        ({"symbols": []}, "at least 1"),
        ({"symbols": ["AAPL"] * 51}, "no more than 50"),
        ({"symbols": "AAPL"}, "Expected a list"),
        ({}, "This field is required"),
    ],
)
def test_bad_input_is_a_400_with_a_json_reason(
    client: APIClient, payload: dict, fragment: str
) -> None:
    response = client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert fragment in str(response.json()["symbols"])
    assert Asset.objects.filter(current_price__isnull=False).count() == 0


def test_anonymous_callers_are_refused_with_json() -> None:
    response = APIClient().post(URL, {"symbols": ["AAPL"]}, format="json")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_token_authentication_works_for_scripts() -> None:
    asset_create("AAPL")
    token = Token.objects.create(user=user_create())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.post(URL, {"symbols": ["AAPL"]}, format="json").status_code == 202


def test_each_user_is_throttled(client: APIClient) -> None:
    statuses = [
        client.post(URL, {"symbols": ["AAPL"]}, format="json").status_code for _ in range(11)
    ]
    assert statuses[:10] == [202] * 10
    assert statuses[10] == 429
    throttled = client.post(URL, {"symbols": ["AAPL"]}, format="json")
    assert "detail" in throttled.json()
