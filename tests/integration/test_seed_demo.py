"""`manage.py seed_demo`: the demo set once, and nothing more on the second run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from apps.market.models import Asset, AssetType
from apps.portfolios.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from apps.portfolios.models import Portfolio, Position

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> tuple[list[tuple[object, ...]], ...]:
    return (
        list(Asset.objects.values_list("symbol", "name", "currency", "asset_type")),
        list(Portfolio.objects.values_list("id", "name", "base_currency", "owner__username")),
        list(
            Position.objects.values_list(
                "id", "portfolio_id", "asset__symbol", "quantity", "cost_basis", "updated_at"
            )
        ),
    )


def test_first_run_creates_the_demo_user_assets_and_two_portfolios() -> None:
    output = seed()
    assert f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}" in output
    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is not None
    assert Asset.objects.count() >= 18
    kinds = set(Asset.objects.values_list("asset_type", flat=True))
    assert {
        AssetType.STOCK,
        AssetType.ETF,
        AssetType.INDEX,
        AssetType.FX,
        AssetType.CRYPTO,
    } <= kinds
    portfolios = Portfolio.objects.filter(owner__username=DEMO_USERNAME)
    assert portfolios.count() == 2
    assert all(portfolio.positions.exists() for portfolio in portfolios)


def test_second_run_changes_nothing() -> None:
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "nothing changed" in output
    assert "password was not changed" in output


def test_second_run_keeps_a_changed_password_and_edited_positions() -> None:
    seed()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("my-own-password-123")
    user.save()
    Position.objects.filter(asset__symbol="AAPL").update(quantity=7)
    seed()
    assert authenticate(username=DEMO_USERNAME, password="my-own-password-123") is not None
    assert Position.objects.get(asset__symbol="AAPL").quantity == 7


def test_production_profile_refuses_a_demo_login(settings) -> None:
    settings.PROFILE = "production"
    with pytest.raises(CommandError, match="Refusing to create a demo login in production"):
        call_command("seed_demo", stdout=StringIO())
    assert not Asset.objects.exists()
