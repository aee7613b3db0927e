"""The alert pages through Django's test client: the list with each alert's state in words and
the recent firings, the form (prefilled from ?symbol= / ?portfolio=, errors beside each field),
edit, pause and resume, delete; another person's alert is a 404 for GET and POST alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.market.models import Asset
from tests.factories import asset_priced, portfolio_create, position_create, user_create

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(html: str, field: str) -> list[str]:
    """The messages rendered right after the field's input (templates/portfolios/_field.html)."""
    block = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S) if block else []


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def fresh(symbol: str, price: str, previous: str | None = "100") -> Asset:
    return asset_priced(symbol, price, previous, last_updated=timezone.now())


def form(**fields: Any) -> dict[str, Any]:
    return {"symbol": "", "portfolio": "", "condition": "above", "threshold": "200",
            "rearm_margin_percent": "0.5", "note": "", **fields}  # fmt: skip


@pytest.fixture
def ann() -> User:
    return user_create(username="ann")


@pytest.fixture
def aapl() -> Asset:
    return fresh("AAPL", "190.5", "185")


# --- the list ----------------------------------------------------------------------------------


def test_the_list_says_each_alerts_state_in_words(ann: User, aapl: Asset) -> None:
    stale = asset_priced("OLD", "10", "9", last_updated=timezone.now() - timedelta(hours=3))
    pension = portfolio_create(owner=ann, name="Pension", base_currency="EUR")
    Alert.objects.create(owner=ann, asset=aapl, condition="above", threshold=Decimal(200))
    Alert.objects.create(
        owner=ann, asset=aapl, condition="below", threshold=Decimal(190), state=AlertState.FIRED,
        fired_at=datetime(2026, 12, 1, 14, 30, 5, tzinfo=UTC), fired_value=Decimal("189.75"),
    )  # fmt: skip
    Alert.objects.create(owner=ann, asset=aapl, condition="move", threshold=Decimal(5),
                         paused=True)  # fmt: skip
    Alert.objects.create(owner=ann, asset=stale, condition="above", threshold=Decimal(11))
    Alert.objects.create(owner=ann, portfolio=pension, condition="below",
                         threshold=Decimal(40000), note="rebalance")  # fmt: skip
    Alert.objects.create(owner=user_create(), asset=aapl, condition="above",
                         threshold=Decimal("777"))  # fmt: skip

    page = client_for(ann).get("/alerts/")

    assert page.status_code == 200
    words = text_of(page.text)
    assert (
        "AAPL rises to or above 200.00 USD AAPL Inc. Armed Now: 190.50 USD (+2.97% today)" in words
    )
    assert (
        "AAPL falls to or below 190.00 USD AAPL Inc. Fired at 2026-12-01 14:30:05 UTC at 189.75 USD"
        in words
    )
    assert "AAPL moves by at least ±5% in a day AAPL Inc. Paused" in words
    assert (
        "OLD rises to or above 11.00 USD OLD Inc. Waiting : the price of OLD is not current"
        in words
    )
    assert "Pension (value) falls to or below 40,000.00 EUR Waiting : the portfolio has no " \
        "positions to value" in words  # fmt: skip
    assert "rebalance" in words
    assert "777" not in words  # another person's alert
    assert "None of your alerts has fired yet." in words


def test_the_list_shows_the_recent_firings_newest_first(ann: User) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for minute in (1, 5, 3):
        AlertEvent.objects.create(
            owner=ann, target="AAPL", condition="above", threshold=Decimal(1), value=Decimal(2),
            currency="USD", message=f"AAPL event {minute}", fired_at=start.replace(minute=minute),
        )  # fmt: skip
    AlertEvent.objects.create(
        owner=user_create(), target="MSFT", condition="above", threshold=Decimal(1),
        value=Decimal(2), currency="USD", message="someone else's", fired_at=start,
    )  # fmt: skip

    words = text_of(client_for(ann).get("/alerts/").text)

    assert re.findall(r"AAPL event \d", words) == ["AAPL event 5", "AAPL event 3", "AAPL event 1"]
    assert "2026-12-01 09:05:00 UTC AAPL event 5" in words
    assert "someone else's" not in words


def test_the_list_filters_by_symbol_and_by_ones_own_portfolio(ann: User, aapl: Asset) -> None:
    msft = fresh("MSFT", "400")
    pension = portfolio_create(owner=ann, name="Pension")
    Alert.objects.create(owner=ann, asset=aapl, condition="above", threshold=Decimal(200))
    Alert.objects.create(owner=ann, asset=msft, condition="above", threshold=Decimal(500))
    Alert.objects.create(owner=ann, portfolio=pension, condition="above", threshold=Decimal(9))
    client = client_for(ann)

    on_apple = text_of(client.get("/alerts/?symbol=aapl").text)
    on_pension = client.get(f"/alerts/?portfolio={pension.pk}")

    assert "Alerts on AAPL" in on_apple
    assert "AAPL rises" in on_apple
    assert "MSFT" not in on_apple.split("Your alerts")[1]
    assert 'href="/alerts/new/?symbol=AAPL"' in client.get("/alerts/?symbol=aapl").text
    assert "Pension (value)" in text_of(on_pension.text)
    assert "AAPL rises" not in text_of(on_pension.text)
    assert f'href="/alerts/new/?portfolio={pension.pk}"' in on_pension.text
    theirs = portfolio_create(owner=user_create())
    assert client.get(f"/alerts/?portfolio={theirs.pk}").status_code == 404
    assert client.get("/alerts/?portfolio=x").status_code == 404


def test_the_pages_ask_the_anonymous_to_sign_in() -> None:
    for url in ("/alerts/", "/alerts/new/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- the form ----------------------------------------------------------------------------------


def test_a_prefilled_form_says_where_the_price_is_now_and_sets_the_alert(
    ann: User, aapl: Asset
) -> None:
    client = client_for(ann)

    page = client.get("/alerts/new/?symbol=aapl")

    assert 'value="AAPL"' in page.text
    assert "AAPL is now 190.50 USD (+2.97% today)." in text_of(page.text)
    saved = client.post("/alerts/new/", form(symbol="aapl", condition="below", threshold="185"))
    assert saved.status_code == 302
    assert saved["Location"] == "/alerts/"
    alert = Alert.objects.get(owner=ann)
    assert (alert.asset, alert.condition, alert.threshold) == (aapl, "below", Decimal(185))
    assert (alert.state, alert.paused) == (AlertState.ARMED, False)
    listed = text_of(client.get("/alerts/").text)
    assert "Alert set: AAPL falls to or below 185.00 USD." in listed


def test_a_portfolio_is_prefilled_only_when_it_is_ones_own(ann: User, aapl: Asset) -> None:
    pension = portfolio_create(owner=ann, name="Pension")
    position_create(pension, aapl, quantity="10")
    theirs = portfolio_create(owner=user_create(), name="Theirs")
    client = client_for(ann)

    mine = client.get(f"/alerts/new/?portfolio={pension.pk}").text
    other = client.get(f"/alerts/new/?portfolio={theirs.pk}").text

    assert f'<option value="{pension.pk}" selected>Pension</option>' in mine
    assert "Pension is now 1,905.00 USD" in text_of(mine)
    assert "Theirs" not in other
    assert "selected>Pension" not in other
    saved = client.post("/alerts/new/", form(portfolio=pension.pk, condition="move", threshold="3"))
    assert saved.status_code == 302
    assert Alert.objects.get(owner=ann).portfolio == pension
    refused = client.post("/alerts/new/", form(portfolio=theirs.pk))
    assert field_errors(refused.text, "portfolio") == [
        f"Select a valid choice. {theirs.pk} is not one of the available choices."
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"symbol": "AAPL", "threshold": "0"}, "threshold", "Enter a threshold above 0."),
        ({"symbol": "AAPL", "threshold": "-3"}, "threshold", "Enter a threshold above 0."),
        ({"symbol": "AAPL", "condition": "move", "threshold": "101"}, "threshold",
         "A daily move is a percentage: enter more than 0 and at most 100."),
        ({"symbol": "AAPL", "threshold": "abc"}, "threshold", "Enter a number."),
        ({"symbol": "AAPL", "rearm_margin_percent": "-1"}, "rearm_margin_percent",
         "Enter a re-arm margin from 0 to 100 (percent)."),
        ({}, "symbol", "Enter a symbol, or choose one of your portfolios."),
        ({"symbol": "AA PL"}, "symbol",
         "“AA PL” is not a ticker: try AAPL, BRK-B, SAP.DE or BTC-USD."),
        ({"symbol": "AAPL", "portfolio": "PENSION"}, "portfolio",
         "Set an alert on a symbol or on a portfolio, not both."),
    ],
)  # fmt: skip
def test_each_mistake_is_shown_beside_its_field(
    ann: User, aapl: Asset, fields: dict[str, str], field: str, message: str
) -> None:
    pension = portfolio_create(owner=ann, name="Pension")
    if fields.get("portfolio") == "PENSION":
        fields["portfolio"] = str(pension.pk)

    response = client_for(ann).post("/alerts/new/", form(**fields))

    assert response.status_code == 200
    assert field_errors(response.text, field) == [message]
    assert f'id="id_{field}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert not Alert.objects.exists()


def test_a_symbol_nobody_could_check_is_refused_beside_the_field(ann: User, settings: Any) -> None:
    settings.SYMBOL_LOOKUP_WAIT_SECONDS = 1  # no worker runs here: nobody answers

    response = client_for(ann).post("/alerts/new/", form(symbol="NFLX"))

    assert field_errors(response.text, "symbol") == [
        "NFLX could not be checked right now (no worker answered in time). Nothing was saved: "
        "try again in a moment."
    ]
    assert not Alert.objects.exists()


# --- edit, pause, delete -----------------------------------------------------------------------


def test_editing_shows_the_rule_and_a_new_rule_re_arms(ann: User, aapl: Asset) -> None:
    alert = Alert.objects.create(
        owner=ann, asset=aapl, condition="above", threshold=Decimal(200), note="watch",
        state=AlertState.FIRED, fired_at=timezone.now(), fired_value=Decimal(201),
    )  # fmt: skip
    client = client_for(ann)

    page = client.get(f"/alerts/{alert.pk}/edit/")
    assert 'value="AAPL"' in page.text
    assert 'value="200"' in page.text
    assert 'value="watch"' in page.text
    saved = client.post(f"/alerts/{alert.pk}/edit/", form(symbol="AAPL", threshold="205",
                                                          note="watch"))  # fmt: skip

    assert saved.status_code == 302
    alert.refresh_from_db()
    assert (alert.threshold, alert.state, alert.fired_at) == (Decimal(205), "armed", None)


def test_pause_and_resume_come_back_to_the_page_they_were_on(ann: User, aapl: Asset) -> None:
    alert = Alert.objects.create(owner=ann, asset=aapl, condition="above", threshold=Decimal(1))
    client = client_for(ann)

    back_to = "/alerts/?symbol=AAPL"
    paused = client.post(f"/alerts/{alert.pk}/pause/", {"paused": "true", "next": back_to})
    assert (paused.status_code, paused["Location"]) == (303, "/alerts/?symbol=AAPL")
    alert.refresh_from_db()
    assert alert.paused
    assert "Resume" in client.get("/alerts/").text
    toggled = client.post(f"/alerts/{alert.pk}/pause/", {"next": "https://evil.example/"})
    assert toggled["Location"] == "/alerts/"  # only a path of this site
    alert.refresh_from_db()
    assert not alert.paused
    as_json = client.post(f"/alerts/{alert.pk}/pause/", {"paused": "1"},
                          headers={"Accept": "application/json"})  # fmt: skip
    assert as_json.json() == {"id": alert.pk, "paused": True}


def test_delete_asks_first_then_deletes(ann: User, aapl: Asset) -> None:
    alert = Alert.objects.create(owner=ann, asset=aapl, condition="above", threshold=Decimal(1))
    client = client_for(ann)

    asked = client.get(f"/alerts/{alert.pk}/delete/")
    assert "Delete the alert “AAPL rises to or above 1.00 USD”?" in text_of(asked.text)
    assert Alert.objects.filter(pk=alert.pk).exists()
    done = client.post(f"/alerts/{alert.pk}/delete/")
    assert (done.status_code, done["Location"]) == (302, "/alerts/")
    assert not Alert.objects.filter(pk=alert.pk).exists()


def test_another_persons_alert_is_a_404_on_every_page(ann: User, aapl: Asset) -> None:
    theirs = Alert.objects.create(owner=user_create(), asset=aapl, condition="above",
                                  threshold=Decimal(1))  # fmt: skip
    client = client_for(ann)
    pk = theirs.pk
    answers = [
        client.get(f"/alerts/{pk}/edit/"),
        client.post(f"/alerts/{pk}/edit/", form(symbol="AAPL")),
        client.get(f"/alerts/{pk}/delete/"),
        client.post(f"/alerts/{pk}/delete/"),
        client.post(f"/alerts/{pk}/pause/"),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    theirs.refresh_from_db()
    assert not theirs.paused


def test_every_page_of_a_signed_in_person_carries_the_notice_and_the_nav_link(ann: User) -> None:
    page = client_for(ann).get("/portfolios/").text
    assert '<a href="/alerts/">Alerts</a>' in page
    assert 'id="alert-notices"' in page
    assert "alerts/notice.js" in page
    anonymous = Client().get("/realtime/dashboard/").text
    assert "alert-notices" not in anonymous
