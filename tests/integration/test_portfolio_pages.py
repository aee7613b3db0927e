"""The portfolio pages through Django's test client: forms and their errors beside each field,
the write services behind them, and owner-only access (404 for anyone else, GET and POST).

Symbols here already exist as assets, so no lookup runs (test_asset_lookup.py covers those).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.market.models import Asset, AssetType
from apps.portfolios.models import Portfolio, Position
from tests.factories import asset_create, portfolio_create, position_create, user_create
from tests.factories import asset_priced as priced

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(html: str, field: str) -> list[str]:
    """The messages rendered right after the field's input (templates/portfolios/_field.html)."""
    block = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S) if block else []


# --- portfolios --------------------------------------------------------------------------------


def test_a_user_creates_a_portfolio_and_lands_on_its_page() -> None:
    user = user_create()
    client = client_for(user)

    response = client.post("/portfolios/new/", {"name": "  Pension ", "base_currency": "eur"})

    portfolio = Portfolio.objects.get(owner=user)
    assert (portfolio.name, portfolio.base_currency) == ("Pension", "EUR")
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio-detail", args=[portfolio.pk])
    page = client.get(response["Location"])
    assert "Pension" in page.text
    assert "No positions yet" in page.text


def test_a_duplicate_name_and_a_made_up_currency_are_refused_beside_their_fields() -> None:
    user = user_create()
    portfolio_create(owner=user, name="Pension")
    portfolio_create(name="Taken elsewhere")  # another user's name is free for this one

    response = client_for(user).post(
        "/portfolios/new/", {"name": "Pension", "base_currency": "ABC"}
    )

    assert response.status_code == 200
    assert field_errors(response.text, "name") == [
        "You already have a portfolio named “Pension”: choose another name."
    ]
    assert field_errors(response.text, "base_currency") == [
        "“ABC” is not an ISO 4217 currency code: enter one such as USD, EUR or GBP."
    ]
    assert 'aria-invalid="true"' in response.text
    assert Portfolio.objects.filter(owner=user).count() == 1
    other = client_for(user).post(
        "/portfolios/new/", {"name": "Taken elsewhere", "base_currency": "USD"}
    )
    assert other.status_code == 302


def test_renaming_keeps_the_name_unique_but_allows_keeping_its_own_name() -> None:
    user = user_create()
    portfolio_create(owner=user, name="Pension")
    growth = portfolio_create(owner=user, name="Growth", base_currency="USD")
    client = client_for(user)
    url = reverse("portfolio-edit", args=[growth.pk])

    clash = client.post(url, {"name": "Pension", "base_currency": "USD"})
    same = client.post(url, {"name": "Growth", "base_currency": "GBP"})

    assert field_errors(clash.text, "name") == [
        "You already have a portfolio named “Pension”: choose another name."
    ]
    assert same.status_code == 302
    growth.refresh_from_db()
    assert (growth.name, growth.base_currency) == ("Growth", "GBP")


def test_deleting_a_portfolio_asks_first_then_deletes_it_with_its_positions() -> None:
    user = user_create()
    portfolio = portfolio_create(owner=user, name="Old")
    position_create(portfolio, asset_create("AAPL"))
    client = client_for(user)
    url = reverse("portfolio-delete", args=[portfolio.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Delete the portfolio “Old” and its 1 position(s)?" in confirm.text
    assert Portfolio.objects.filter(pk=portfolio.pk).exists()  # asking deletes nothing

    done = client.post(url)
    assert done.status_code == 302
    assert done["Location"] == reverse("portfolio-list")
    assert not Portfolio.objects.filter(pk=portfolio.pk).exists()
    assert not Position.objects.exists()
    assert Asset.objects.filter(symbol="AAPL").exists()


def test_the_list_shows_only_the_users_portfolios_with_their_totals() -> None:
    user = user_create()
    aapl = priced("AAPL", "200.00", "190.00")
    mine = portfolio_create(owner=user, name="Mine")
    position_create(mine, aapl, "3", "500")
    portfolio_create(owner=user, name="Empty")
    portfolio_create(name="Someone else's")

    page = client_for(user).get("/portfolios/")

    assert page.status_code == 200
    assert "Mine" in page.text
    assert "Empty" in page.text
    assert "Someone else" not in page.text
    assert "600.00" in page.text  # 3 x 200.00
    assert "+30.00 (+5.26%) today" in page.text  # 3 x 10.00 over 570.00
    assert reverse("portfolio-create") in page.text


def test_a_user_with_no_portfolio_is_invited_to_create_one() -> None:
    page = client_for(user_create()).get("/portfolios/")

    assert page.status_code == 200  # was a 500: the full pass failed on an empty id list
    assert "You have no portfolios yet" in page.text


# --- the portfolio page --------------------------------------------------------------------------


def test_the_page_renders_every_position_before_any_socket_connects() -> None:
    user = user_create()
    aapl = priced("AAPL", "200.00", "190.00")
    newco = asset_create("NEWCO")  # never priced
    portfolio = portfolio_create(owner=user, name="Growth")
    position_create(portfolio, aapl, "3", "500")
    position_create(portfolio, newco, "10", "100")

    page = client_for(user).get(reverse("portfolio-detail", args=[portfolio.pk]))

    assert page.status_code == 200
    html = page.text
    assert 'data-symbol="AAPL"' in html
    assert 'data-symbol="NEWCO"' in html
    row = re.search(r'<tr data-symbol="NEWCO".*?</tr>', html, re.S)
    assert row is not None
    assert 'data-field="value">—</td>' in row.group(0)  # unknown: a dash, never 0
    assert "no price yet" in row.group(0)
    assert "Incomplete: 1 position(s) in USD have no price" in html
    initial = re.search(r'<script id="portfolio-initial" type="application/json">(.*?)</script>',
                        html, re.S)  # fmt: skip
    assert initial is not None
    assert '"total_value":600.0' in initial.group(1).replace(" ", "")
    assert '"value":null' in initial.group(1).replace(" ", "")


# --- positions -----------------------------------------------------------------------------------


def test_adding_a_known_symbol_saves_the_position() -> None:
    user = user_create()
    priced("SAP.DE", "210.00", "200.00", currency="EUR")
    portfolio = portfolio_create(owner=user, base_currency="USD")
    client = client_for(user)

    form = client.get(reverse("position-add", args=[portfolio.pk]))
    response = client.post(
        reverse("position-add", args=[portfolio.pk]),
        {"symbol": " sap.de ", "quantity": "4.5", "cost_basis": "900"},
    )

    assert form.status_code == 200
    assert '"SAP.DE": "EUR"' in form.text  # the form can name the cost's currency
    assert response.status_code == 302
    position = Position.objects.get(portfolio=portfolio)
    assert (position.asset.symbol, position.quantity, position.cost_basis) == (
        "SAP.DE", Decimal("4.5"), Decimal("900")
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"symbol": "AAPL", "quantity": "0", "cost_basis": "10"}, "quantity",
         "Enter a quantity above 0."),
        ({"symbol": "AAPL", "quantity": "-2", "cost_basis": "10"}, "quantity",
         "Enter a quantity above 0."),
        ({"symbol": "AAPL", "quantity": "abc", "cost_basis": "10"}, "quantity", "Enter a number."),
        ({"symbol": "AAPL", "quantity": "NaN", "cost_basis": "10"}, "quantity", "Enter a number."),
        ({"symbol": "AAPL", "quantity": "1", "cost_basis": "-1"}, "cost_basis",
         "Enter what the quantity cost in total: 0 or more."),
        ({"symbol": "AAPL", "quantity": "1", "cost_basis": ""}, "cost_basis",
         "This field is required."),
        ({"symbol": "no way!", "quantity": "1", "cost_basis": "1"}, "symbol",
         "“no way!” cannot be a ticker: enter one such as AAPL, BRK-B, SAP.DE or BTC-USD."),
        ({"symbol": "MSFT", "quantity": "1", "cost_basis": "1"}, "symbol",
         "This portfolio already holds MSFT: change that position instead."),
        ({"symbol": "OLDCO", "quantity": "1", "cost_basis": "1"}, "symbol",
         "OLDCO is no longer priced here (its asset is inactive)."),
    ],
)  # fmt: skip
def test_a_bad_position_is_refused_beside_its_field_and_nothing_is_saved(
    data: dict[str, str], field: str, message: str
) -> None:
    user = user_create()
    asset_create("AAPL")
    asset_create("OLDCO", is_active=False)
    portfolio = portfolio_create(owner=user)
    position_create(portfolio, asset_create("MSFT"))

    response = client_for(user).post(reverse("position-add", args=[portfolio.pk]), data)

    assert response.status_code == 200
    assert field_errors(response.text, field) == [message]
    assert Position.objects.filter(portfolio=portfolio).count() == 1  # MSFT only


def test_editing_a_position_labels_its_cost_with_the_assets_currency() -> None:
    user = user_create()
    portfolio = portfolio_create(owner=user, base_currency="USD")
    position = position_create(portfolio, asset_create("SAP.DE", currency="EUR"), "4", "800")
    client = client_for(user)
    url = reverse("position-edit", args=[portfolio.pk, position.pk])

    form = client.get(url)
    bad = client.post(url, {"quantity": "0", "cost_basis": "800"})
    good = client.post(url, {"quantity": "6", "cost_basis": "1250.5"})

    assert '<label for="id_cost_basis">Cost basis (EUR)</label>' in form.text
    assert 'value="4"' in form.text  # as typed, not 4.0000000000
    assert field_errors(bad.text, "quantity") == ["Enter a quantity above 0."]
    assert good.status_code == 302
    position.refresh_from_db()
    assert (position.quantity, position.cost_basis) == (Decimal("6"), Decimal("1250.5"))


def test_removing_a_position_asks_first() -> None:
    user = user_create()
    portfolio = portfolio_create(owner=user, name="Growth")
    position = position_create(portfolio, asset_create("AAPL"), "10", "1000")
    client = client_for(user)
    url = reverse("position-delete", args=[portfolio.pk, position.pk])

    confirm = client.get(url)
    assert "Delete the position of 10 AAPL from “Growth”?" in confirm.text
    assert Position.objects.filter(pk=position.pk).exists()

    assert client.post(url).status_code == 302
    assert not Position.objects.filter(pk=position.pk).exists()


# --- who may see what ----------------------------------------------------------------------------


def owned_urls(portfolio: Portfolio, position: Position) -> list[str]:
    ids = [portfolio.pk]
    return [
        reverse("portfolio-detail", args=ids),
        reverse("portfolio-edit", args=ids),
        reverse("portfolio-delete", args=ids),
        reverse("position-add", args=ids),
        reverse("position-edit", args=[portfolio.pk, position.pk]),
        reverse("position-delete", args=[portfolio.pk, position.pk]),
    ]


def test_another_users_portfolio_and_positions_are_a_404_for_get_and_post() -> None:
    owner, other = user_create(), user_create()
    staff = user_create(is_staff=True, is_superuser=True)
    portfolio = portfolio_create(owner=owner, name="Secret-name-4711")
    position = position_create(portfolio, asset_create("AAPL"), "10", "1000")
    body = {"name": "Hijacked", "base_currency": "USD", "symbol": "AAPL", "quantity": "1",
            "cost_basis": "1"}  # fmt: skip

    for intruder in (other, staff):
        client = client_for(intruder)
        for url in owned_urls(portfolio, position):
            for response in (client.get(url), client.post(url, body)):
                assert response.status_code == 404, (url, response.request["REQUEST_METHOD"])
                assert "Secret-name-4711" not in response.text

    portfolio.refresh_from_db()
    assert portfolio.name == "Secret-name-4711"
    assert Position.objects.filter(pk=position.pk, quantity=Decimal("10")).exists()


def test_a_position_of_another_portfolio_is_a_404_even_under_ones_own_portfolio() -> None:
    owner, other = user_create(), user_create()
    mine = portfolio_create(owner=owner)
    theirs = position_create(portfolio_create(owner=other), asset_create("AAPL"))

    client = client_for(owner)
    url = reverse("position-edit", args=[mine.pk, theirs.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"quantity": "1", "cost_basis": "1"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_for_every_page() -> None:
    owner = user_create()
    portfolio = portfolio_create(owner=owner)
    position = position_create(portfolio, asset_create("AAPL"))
    client = Client()

    for url in ["/portfolios/", "/portfolios/new/", *owned_urls(portfolio, position)]:
        for response in (client.get(url), client.post(url, {})):
            assert response.status_code == 302, url
            assert "login" in response["Location"], url
    assert Portfolio.objects.count() == 1


def test_the_fx_pair_a_new_position_needs_is_asked_for_once_committed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A position in CHF in a USD portfolio needs CHF->USD: no pair exists, so one is asked
    for (queued for a worker on commit); EUR is converted by the EURUSD=X pair already there."""
    from tests.integration.test_asset_lookup import queued_lookups

    user = user_create()
    asset_create("EURUSD=X", asset_type=AssetType.FX)
    asset_create("SAP.DE", currency="EUR")
    asset_create("NESN.SW", currency="CHF")
    portfolio = portfolio_create(owner=user, base_currency="USD")
    client = client_for(user)
    url = reverse("position-add", args=[portfolio.pk])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"symbol": "SAP.DE", "quantity": "1", "cost_basis": "1"})
    assert queued_lookups() == []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"symbol": "NESN.SW", "quantity": "1", "cost_basis": "1"})
    assert queued_lookups() == [["CHFUSD=X"]]


# --- the services behind the forms ---------------------------------------------------------------


def test_a_name_taken_between_the_form_check_and_the_save_is_still_refused() -> None:
    from apps.portfolios.services import PortfolioNameTaken, PositionExists, position_add
    from apps.portfolios.services import portfolio_create as create

    user = user_create()
    portfolio = create(owner_id=user.pk, name="Twice", base_currency="USD")
    asset_create("AAPL")
    position_add(portfolio=portfolio, symbol="AAPL", quantity=Decimal(1), cost_basis=Decimal(1))

    with pytest.raises(PortfolioNameTaken):
        create(owner_id=user.pk, name="Twice", base_currency="EUR")
    with pytest.raises(PositionExists):
        position_add(portfolio=portfolio, symbol="AAPL", quantity=Decimal(2), cost_basis=Decimal(2))
    assert Portfolio.objects.filter(owner=user).count() == 1
    assert Position.objects.get(portfolio=portfolio).quantity == Decimal(1)


def test_a_rename_asks_for_the_portfolio_to_be_pushed_again_once_committed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.integration.test_revalue_requests import queued_tasks

    user = user_create()
    portfolio = portfolio_create(owner=user, name="Before")
    url = reverse("portfolio-edit", args=[portfolio.pk])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client_for(user).post(url, {"name": "After", "base_currency": "USD"})
        assert queued_tasks() == []  # nothing before the commit

    assert callbacks
    assert ("workers.tasks.revalue_portfolio", [portfolio.pk]) in queued_tasks()


def test_editing_a_round_position_shows_plain_digits_not_an_exponent() -> None:
    user = user_create()
    portfolio = portfolio_create(owner=user)
    position = position_create(portfolio, asset_create("KO"), "100", "1000")

    form = client_for(user).get(reverse("position-edit", args=[portfolio.pk, position.pk]))

    assert 'value="100"' in form.text
    assert 'value="1000"' in form.text
    assert "E+" not in form.text
