"""The admin: every model listed, searchable and filterable; portfolios edit positions inline."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from apps.market.models import Asset
from apps.portfolios.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from apps.portfolios.models import Portfolio

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_demo() -> Client:
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = Client()
    assert client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/market/asset/?q=BTC",
        "/admin/market/asset/?asset_type__exact=crypto",
        "/admin/market/pricebar/",
        "/admin/portfolios/portfolio/?q=Growth",
        "/admin/portfolios/position/?q=AAPL",
        "/admin/django_celery_beat/periodictask/",
    ],
)
def test_admin_lists_answer(admin_client_demo: Client, url: str) -> None:
    assert admin_client_demo.get(url).status_code == 200


def test_asset_search_finds_by_symbol(admin_client_demo: Client) -> None:
    page = admin_client_demo.get("/admin/market/asset/?q=BTC").content.decode()
    assert "BTC-USD" in page
    assert "AAPL" not in page


def test_portfolio_page_shows_positions_inline(admin_client_demo: Client) -> None:
    portfolio = Portfolio.objects.get(name="Growth Portfolio")
    page = admin_client_demo.get(f"/admin/portfolios/portfolio/{portfolio.pk}/change/")
    assert page.status_code == 200
    assert b"positions-0-quantity" in page.content


def test_asset_added_in_lower_case_is_saved_upper_case(admin_client_demo: Client) -> None:
    response = admin_client_demo.post(
        "/admin/market/asset/add/",
        {
            "symbol": "brk-a",
            "name": "Berkshire A",
            "asset_type": "stock",
            "currency": "USD",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Asset.objects.filter(symbol="BRK-A").exists()


def test_admin_refuses_a_symbol_that_is_no_ticker(admin_client_demo: Client) -> None:
    response = admin_client_demo.post(
        "/admin/market/asset/add/",
        {"symbol": "AAPL; DROP", "asset_type": "stock", "currency": "USD"},
    )
    assert response.status_code == 200
    assert b"Enter a ticker such as" in response.content
    assert not Asset.objects.filter(symbol__contains=";").exists()
