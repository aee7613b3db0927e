"""GET /api/portfolios/<id>/series/: the owner's chart data from the intraday ring (1d) and the
daily records (1m, 6m, 1y, max); 404 for anyone else's, 400 for a bad range (real Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.portfolios.models import DailyValueSource, Portfolio, PortfolioDailyValue
from apps.portfolios.valuation import Valuation
from apps.portfolios.value_ring import value_ring_push
from tests.factories import portfolio_create, user_create

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
POINT_KEYS = {"t", "v", "cost_basis", "gain", "complete", "missing"}


def series_url(portfolio: Portfolio, range_: str | None = None) -> str:
    query = f"?range={range_}" if range_ is not None else ""
    return f"/api/portfolios/{portfolio.pk}/series/{query}"


def api_for(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def owner() -> User:
    return user_create()


@pytest.fixture
def portfolio(owner: User) -> Portfolio:
    return portfolio_create(owner, name="Growth", base_currency="USD")


def record(portfolio: Portfolio, ago: int, value: str | None, *missing: str, **fields: Any) -> None:
    day = TODAY - timedelta(days=ago)
    PortfolioDailyValue.objects.create(
        portfolio=portfolio, date=day, currency=fields.get("currency", "USD"),
        total_value=None if value is None else Decimal(value), cost_basis=Decimal("1000.00"),
        daily_change=Decimal("5.00"), complete=not missing, missing=list(missing),
        source=DailyValueSource.BACKFILL, as_of=datetime.combine(day, datetime.min.time(), UTC),
        recorded_at=NOW,
    )  # fmt: skip


def test_daily_ranges_answer_the_records_oldest_first_with_gain(
    owner: User, portfolio: Portfolio
) -> None:
    for ago in (400, 100, 20, 1):
        record(portfolio, ago, f"{1000 + ago}.50")

    month = api_for(owner).get(series_url(portfolio, "1m")).json()
    year = api_for(owner).get(series_url(portfolio, "1y")).json()
    everything = api_for(owner).get(series_url(portfolio, "max")).json()

    assert set(month) == {"portfolio_id", "range", "currency", "points", "as_of"}
    assert (month["portfolio_id"], month["range"], month["currency"]) == (portfolio.pk, "1m", "USD")
    assert month["points"] == [
        {"t": (TODAY - timedelta(days=20)).isoformat(), "v": 1020.5, "cost_basis": 1000.0,
         "gain": 20.5, "complete": True, "missing": []},
        {"t": (TODAY - timedelta(days=1)).isoformat(), "v": 1001.5, "cost_basis": 1000.0,
         "gain": 1.5, "complete": True, "missing": []},
    ]  # fmt: skip
    assert month["as_of"] == f"{TODAY - timedelta(days=1)}T00:00:00.000Z"
    assert [p["v"] for p in year["points"]] == [1100.5, 1020.5, 1001.5]
    assert [p["v"] for p in everything["points"]] == [1400.5, 1100.5, 1020.5, 1001.5]


def test_an_incomplete_day_says_what_was_missing_and_an_unknown_one_is_null_not_zero(
    owner: User, portfolio: Portfolio
) -> None:
    record(portfolio, 3, "900.00", "no daily close for NVDA within 7 days")
    record(portfolio, 2, None, "1 position(s) in USD have no price")
    record(portfolio, 1, "1.00", currency="EUR")  # before the portfolio's currency changed

    points = api_for(owner).get(series_url(portfolio, "6m")).json()["points"]

    assert [(p["v"], p["complete"]) for p in points] == [(900.0, False), (None, False),
                                                          (None, False)]  # fmt: skip
    assert points[0]["missing"] == ["no daily close for NVDA within 7 days"]
    assert points[1]["gain"] is None
    assert points[2]["missing"] == ["valued in EUR; the portfolio is now valued in USD"]


def test_the_1d_range_answers_the_intraday_ring_of_the_last_24_hours(
    owner: User, portfolio: Portfolio
) -> None:
    def pushed(at: datetime, value: str | None, *missing: str) -> Valuation:
        total = None if value is None else Decimal(value)
        return Valuation(portfolio.pk, "Growth", "USD", total_value=total,
                         cost_basis=Decimal("400.00"), missing=list(missing), as_of=at)  # fmt: skip

    value_ring_push([pushed(NOW - timedelta(hours=30), "450.00")])  # older than a day
    value_ring_push([pushed(NOW - timedelta(minutes=1), "500.25")])
    value_ring_push([pushed(NOW, None, "1 position(s) in USD have no price")])

    body = api_for(owner).get(series_url(portfolio)).json()  # 1d is the default

    assert body["range"] == "1d"
    assert body["points"] == [
        {"t": (NOW - timedelta(minutes=1)).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"), "v": 500.25, "cost_basis": 400.0, "gain": 100.25, "complete": True,
         "missing": []},
        {"t": NOW.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "v": None,
         "cost_basis": 400.0, "gain": None, "complete": False,
         "missing": ["1 position(s) in USD have no price"]},
    ]  # fmt: skip
    assert body["as_of"] == body["points"][-1]["t"]


def test_a_portfolio_with_no_history_yet_answers_no_points_and_no_time(
    owner: User, portfolio: Portfolio
) -> None:
    for range_ in ("1d", "1m", "max"):
        body = api_for(owner).get(series_url(portfolio, range_)).json()
        assert (body["points"], body["as_of"]) == ([], None)


def test_another_users_portfolio_is_a_404_whatever_the_range(portfolio: Portfolio) -> None:
    record(portfolio, 1, "1000.00")
    stranger = api_for(user_create())

    for range_ in ("1m", "bogus"):
        response = stranger.get(series_url(portfolio, range_))
        assert response.status_code == 404
        assert response.json() == {"detail": "No such portfolio."}


def test_a_bad_range_is_a_400_with_a_json_reason(owner: User, portfolio: Portfolio) -> None:
    response = api_for(owner).get(series_url(portfolio, "5y"))

    assert response.status_code == 400
    assert "range" in response.json()["detail"]
    assert '"5y" is not a valid choice' in response.json()["detail"]


def test_signed_out_callers_are_refused(portfolio: Portfolio) -> None:
    response = APIClient().get(series_url(portfolio, "1m"))
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_the_schema_documents_the_endpoint_its_ranges_and_its_errors(owner: User) -> None:
    schema = yaml.safe_load(api_for(owner).get("/api/schema/").content)
    operation = schema["paths"]["/api/portfolios/{portfolio_id}/series/"]["get"]
    [range_parameter] = [p for p in operation["parameters"] if p["name"] == "range"]
    assert range_parameter["schema"]["enum"] == ["1d", "1m", "6m", "1y", "max"]
    assert {"200", "400", "404"} <= set(operation["responses"])
