"""Adding a symbol the database does not have: one lookup through the price sources, by a
real Celery worker on the simulated market (the web process never fetches)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.market.models import Asset
from apps.portfolios.watchlist import SymbolUncheckable, watchlist_rows, watchlist_symbol_add
from tests.conftest import RunningProcess
from tests.factories import asset_create, user_create

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Accept": "application/json"}


def client_of(user_id: int) -> Client:
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return client


@pytest.mark.stack
def test_a_new_symbol_is_looked_up_once_and_an_unknown_one_gets_a_message(
    celery_worker_process: RunningProcess,
) -> None:
    asset_create("AAPL")
    user = user_create()
    client = client_of(user.pk)

    unknown = client.post("/watchlist/add/", {"symbol": "NOSUCH"}, headers=JSON)
    assert unknown.status_code == 400
    assert unknown.json()["error"] == {
        "code": "unknown_symbol",
        "message": "NOSUCH was not found: no price source lists it.",
        "field": "symbol",
    }
    assert not Asset.objects.filter(symbol="NOSUCH").exists()  # never a row priced 0

    found = client.post("/watchlist/add/", {"symbol": "nflx"}, headers=JSON)
    assert found.status_code == 201
    assert found.json()["added"]["name"] == "Netflix, Inc."
    netflix = Asset.objects.get(symbol="NFLX")
    assert netflix.current_price is not None
    assert netflix.current_price > 0
    assert [row.symbol for row in watchlist_rows(user_id=user.pk)] == ["AAPL", "NFLX"]


def test_with_no_worker_answering_the_symbol_could_not_be_checked() -> None:
    user = user_create()
    with pytest.raises(SymbolUncheckable) as refused:
        watchlist_symbol_add(user_id=user.pk, symbol="NFLX", lookup_timeout=1)
    assert refused.value.message == (
        "Could not check NFLX right now (no worker answered in time): try again in a minute."
    )
    assert not Asset.objects.filter(symbol="NFLX").exists()
