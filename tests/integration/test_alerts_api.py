"""The alert REST API against PostgreSQL: set, list (by symbol or portfolio), read, change,
pause and resume, delete, and the recent firings; only ever the caller's own alerts, every
bad input a 400 naming its field, and why an alert that cannot fire now is waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.market.models import Asset
from apps.portfolios.models import Portfolio
from tests.factories import asset_priced, portfolio_create, position_create, user_create

pytestmark = pytest.mark.django_db

URL = "/api/alerts/"
EVENTS = "/api/alerts/events/"


def api_for(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def fresh(symbol: str, price: str, previous: str | None = "100", **fields: Any) -> Asset:
    """An asset priced just now (not stale)."""
    return asset_priced(symbol, price, previous, last_updated=timezone.now(), **fields)


def fired(alert: Alert, value: str = "201") -> Alert:
    """As the pipeline leaves an alert that crossed (its own tests cover how)."""
    alert.state, alert.fired_at, alert.fired_value = (
        AlertState.FIRED,
        timezone.now(),
        Decimal(value),
    )
    alert.save()
    return alert


def alert_on(owner: User, target: Asset | Portfolio, **fields: Any) -> Alert:
    fields.setdefault("condition", "above")
    fields.setdefault("threshold", Decimal("200"))
    key = "asset" if isinstance(target, Asset) else "portfolio"
    return Alert.objects.create(owner=owner, **{key: target}, **fields)


@pytest.fixture
def ann() -> User:
    return user_create(username="ann")


@pytest.fixture
def aapl() -> Asset:
    return fresh("AAPL", "190.50", "185", name="Apple Inc.")


# --- set, read, list ---------------------------------------------------------------------------


def test_a_person_sets_an_alert_on_a_symbol_and_reads_it_back(ann: User, aapl: Asset) -> None:
    api = api_for(ann)

    created = api.post(URL, {"symbol": "aapl", "condition": "above", "threshold": "200"},
                       format="json")  # fmt: skip

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["symbol"] == "AAPL"
    assert body["target"] == "symbol"
    assert body["portfolio_id"] is None
    assert body["name"] == "Apple Inc."
    assert (body["condition"], body["threshold"], body["unit"]) == ("above", 200.0, "USD")
    assert body["rearm_margin_percent"] == 0.5
    assert (body["state"], body["status"], body["paused"]) == ("armed", "armed", False)
    assert body["waiting_reason"] is None
    assert body["description"] == "AAPL rises to or above 200.00 USD"
    assert body["value"] == 190.5
    assert body["change_percent"] == pytest.approx(2.97)
    assert body["created_at"].endswith("Z")
    alert = Alert.objects.get(pk=body["id"])
    assert (alert.owner, alert.asset, alert.threshold) == (ann, aapl, Decimal("200"))
    assert api.get(f"{URL}{alert.pk}/").json() == body
    assert api.get(URL).json() == [body]


def test_a_portfolio_alert_is_on_its_value_in_its_currency(ann: User, aapl: Asset) -> None:
    pension = portfolio_create(owner=ann, name="Pension", base_currency="USD")
    position_create(pension, aapl, quantity="10")

    created = api_for(ann).post(URL, {"portfolio_id": pension.pk, "condition": "below",
                                      "threshold": 1500}, format="json")  # fmt: skip

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["target"], body["portfolio_id"], body["symbol"]) == ("portfolio", pension.pk, None)
    assert body["name"] == "Pension"
    assert body["description"] == "Pension (value) falls to or below 1,500.00 USD"
    assert body["value"] == 1905.0
    assert body["status"] == "armed"


def test_the_list_filters_by_symbol_or_portfolio(ann: User, aapl: Asset) -> None:
    msft = fresh("MSFT", "400")
    pension = portfolio_create(owner=ann)
    on_apple = alert_on(ann, aapl)
    on_msft = alert_on(ann, msft)
    on_pension = alert_on(ann, pension, threshold=Decimal("1000"))
    api = api_for(ann)

    def ids(query: str) -> list[int]:
        response = api.get(URL + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()]

    assert ids("") == [on_pension.pk, on_msft.pk, on_apple.pk]  # newest first
    assert ids("?symbol=aapl") == [on_apple.pk]
    assert ids(f"?portfolio={pension.pk}") == [on_pension.pk]
    assert ids("?symbol=NFLX") == []
    bad = api.get(URL + "?symbol=no%20such")
    assert bad.status_code == 400
    assert "symbol" in bad.json()
    assert api.get(URL + "?portfolio=abc").status_code == 400


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"symbol": "AAPL", "condition": "above", "threshold": 0}, "threshold", "above 0"),
        ({"symbol": "AAPL", "condition": "below", "threshold": -5}, "threshold", "above 0"),
        ({"symbol": "AAPL", "condition": "move", "threshold": 150}, "threshold", "at most 100"),
        ({"symbol": "AAPL", "condition": "above", "threshold": 1, "rearm_margin_percent": -1},
         "rearm_margin_percent", "greater than or equal to 0"),
        ({"symbol": "AAPL", "condition": "sideways", "threshold": 1}, "condition", "not a valid"),
        ({"symbol": "AAPL", "condition": "above"}, "threshold", "required"),
        ({"symbol": "AAPL", "condition": "above", "threshold": "lots"}, "threshold", "valid"),
        ({"condition": "above", "threshold": 1}, "symbol", "Enter a symbol"),
        ({"symbol": "AAPL", "portfolio_id": 1, "condition": "above", "threshold": 1},
         "portfolio_id", "not both"),
        ({"symbol": "AA PL", "condition": "above", "threshold": 1}, "symbol", "not a ticker"),
        ({"portfolio_id": 2**70, "condition": "above", "threshold": 1}, "portfolio_id", "less"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(
    ann: User, aapl: Asset, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = api_for(ann).post(URL, body, format="json")

    assert response.status_code == 400
    assert fragment in " ".join(response.json()[field]), response.json()
    assert not Alert.objects.exists()


def test_another_persons_portfolio_cannot_be_alerted_and_is_not_told_apart(ann: User) -> None:
    theirs = portfolio_create(owner=user_create())

    response = api_for(ann).post(URL, {"portfolio_id": theirs.pk, "condition": "above",
                                       "threshold": 1}, format="json")  # fmt: skip
    missing = api_for(ann).post(URL, {"portfolio_id": theirs.pk + 1000, "condition": "above",
                                      "threshold": 1}, format="json")  # fmt: skip

    assert response.status_code == missing.status_code == 400
    assert (
        response.json()
        == missing.json()
        == {"portfolio_id": ["You have no portfolio with that id."]}
    )


def test_a_symbol_not_known_yet_is_sent_for_a_lookup_and_refused_for_now(ann: User) -> None:
    response = api_for(ann).post(URL, {"symbol": "NFLX", "condition": "above", "threshold": 1},
                                 format="json")  # fmt: skip

    assert response.status_code == 400
    message = response.json()["symbol"][0]
    assert message.startswith("NFLX is not a symbol known here yet.")
    assert "send this again in a few seconds" in message
    assert not Asset.objects.filter(symbol="NFLX").exists()


def test_an_inactive_symbol_is_refused(ann: User) -> None:
    fresh("OLD", "5", is_active=False)
    response = api_for(ann).post(URL, {"symbol": "OLD", "condition": "above", "threshold": 1},
                                 format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"symbol": ["OLD is switched off here: it gets no prices."]}


# --- only the owner ----------------------------------------------------------------------------


def test_another_persons_alert_is_a_404_for_every_method(ann: User, aapl: Asset) -> None:
    theirs = alert_on(user_create(), aapl)
    api = api_for(ann)
    url = f"{URL}{theirs.pk}/"
    answers = [
        api.get(url),
        api.patch(url, {"paused": True}, format="json"),
        api.put(url, {"symbol": "AAPL", "condition": "below", "threshold": 1}, format="json"),
        api.delete(url),
    ]
    assert [answer.status_code for answer in answers] == [404] * 4
    assert all(answer.json()["detail"] for answer in answers)
    assert api.get(URL).json() == []
    for no_id in (str(2**62), str(2**70), "-1", "1e3", "x"):
        missing = api.get(f"{URL}{no_id}/")
        assert (missing.status_code, missing.json()) == (404, {"detail": "No such alert."})
    theirs.refresh_from_db()
    assert (theirs.paused, theirs.condition) == (False, "above")


def test_anonymous_callers_get_json_and_a_token_works(ann: User, aapl: Asset) -> None:
    anonymous = APIClient().get(URL)
    assert anonymous.status_code in (401, 403)
    assert "detail" in anonymous.json()
    alert_on(ann, aapl)
    token = Token.objects.create(user=ann).key
    with_token = APIClient().get(URL, headers={"Authorization": f"Token {token}"})
    assert with_token.status_code == 200
    assert len(with_token.json()) == 1


# --- change, pause, delete ---------------------------------------------------------------------


def test_pausing_and_resuming_keep_a_fired_alert_fired(ann: User, aapl: Asset) -> None:
    alert = fired(alert_on(ann, aapl))
    api = api_for(ann)
    url = f"{URL}{alert.pk}/"

    paused = api.patch(url, {"paused": True}, format="json").json()
    assert (paused["paused"], paused["status"], paused["state"]) == (True, "paused", "fired")
    resumed = api.patch(url, {"paused": False}, format="json").json()
    assert (resumed["paused"], resumed["status"], resumed["state"]) == (False, "fired", "fired")
    assert resumed["fired_value"] == 201.0
    assert resumed["threshold"] == 200.0  # nothing else changed


def test_changing_the_rule_re_arms_and_a_note_alone_does_not(ann: User, aapl: Asset) -> None:
    alert = fired(alert_on(ann, aapl))
    api = api_for(ann)
    url = f"{URL}{alert.pk}/"

    noted = api.patch(url, {"note": "  earnings week "}, format="json").json()
    assert (noted["state"], noted["note"]) == ("fired", "earnings week")

    moved = api.patch(url, {"threshold": "210.5"}, format="json").json()
    assert (moved["state"], moved["fired_at"], moved["fired_value"]) == ("armed", None, None)
    assert moved["threshold"] == 210.5
    assert moved["note"] == "earnings week"


def test_a_patch_is_checked_against_the_rest_of_the_rule(ann: User, aapl: Asset) -> None:
    alert = alert_on(ann, aapl)  # above 200
    response = api_for(ann).patch(f"{URL}{alert.pk}/", {"condition": "move"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "threshold": ["A daily move is a percentage: enter more than 0 and at most 100."]
    }


def test_put_replaces_the_alert_and_may_move_it_to_a_portfolio(ann: User, aapl: Asset) -> None:
    alert = fired(alert_on(ann, aapl, note="old", rearm_margin_percent=Decimal("2")))
    pension = portfolio_create(owner=ann, name="Pension")

    response = api_for(ann).put(f"{URL}{alert.pk}/", {"portfolio_id": pension.pk,
                                "condition": "move", "threshold": 3}, format="json")  # fmt: skip

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["target"], body["portfolio_id"], body["symbol"]) == ("portfolio", pension.pk, None)
    assert (body["condition"], body["threshold"], body["unit"]) == ("move", 3.0, "%")
    assert (body["note"], body["rearm_margin_percent"], body["state"]) == ("", 0.5, "armed")
    assert body["description"] == "Pension (value) moves by at least \u00b13% in a day"
    assert body["status"] == "waiting"
    assert body["waiting_reason"] == "the portfolio has no positions to value"


def test_deleting_keeps_the_firings(ann: User, aapl: Asset) -> None:
    alert = alert_on(ann, aapl)
    event = AlertEvent.objects.create(
        alert=alert, owner=ann, target="AAPL", condition="above", threshold=Decimal(200),
        value=Decimal(201), currency="USD", message="AAPL rose to 201.00 USD, above 200.00",
        fired_at=timezone.now(),
    )  # fmt: skip
    api = api_for(ann)

    response = api.delete(f"{URL}{alert.pk}/")

    assert response.status_code == 204
    assert not Alert.objects.filter(pk=alert.pk).exists()
    events = api.get(EVENTS).json()
    assert [(e["id"], e["alert_id"], e["message"]) for e in events] == [
        (event.pk, None, "AAPL rose to 201.00 USD, above 200.00")
    ]


# --- why an alert waits, and the firings -------------------------------------------------------


def test_an_alert_that_cannot_fire_now_says_why(ann: User) -> None:
    stale = asset_priced("STALE", "10", "9", last_updated=timezone.now() - timedelta(hours=2))
    flagged = asset_priced("FLAG", "10", "9", last_updated=timezone.now(),
                           stale_reason="the source failed: timeout")  # fmt: skip
    unpriced = asset_priced("NEW", None)
    no_close = fresh("NOCLOSE", "10", previous=None)
    incomplete = portfolio_create(owner=ann, name="Mixed")
    position_create(incomplete, fresh("OK", "10"))
    position_create(incomplete, asset_priced("GONE", None))
    alerts = [
        alert_on(ann, stale), alert_on(ann, flagged), alert_on(ann, unpriced),
        alert_on(ann, no_close, condition="move", threshold=Decimal(5)),
        alert_on(ann, no_close),  # a price alert needs no previous close
        alert_on(ann, incomplete),
    ]  # fmt: skip

    rows = {row["id"]: row for row in api_for(ann).get(URL).json()}
    reasons = [(rows[a.pk]["status"], rows[a.pk]["waiting_reason"]) for a in alerts]

    assert reasons[0][0] == "waiting"
    assert reasons[0][1].startswith("the price of STALE is not current (last saved ")
    assert reasons[1:] == [
        ("waiting", "the price of FLAG is not current: the source failed: timeout"),
        ("waiting", "no price for NEW yet"),
        ("waiting", "no previous close for NOCLOSE, so no daily move yet"),
        ("armed", None),
        ("waiting", "its value is incomplete: 1 position(s) in USD have no price"),
    ]
    assert rows[alerts[2].pk]["value"] is None  # unknown is null, never 0


def test_the_recent_firings_are_the_callers_newest_first(ann: User, aapl: Asset) -> None:
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    for owner, minute in ((ann, 1), (ann, 3), (user_create(), 2), (ann, 2)):
        AlertEvent.objects.create(
            owner=owner, target="AAPL", condition="above", threshold=Decimal(200),
            value=Decimal("200.5"), change_percent=Decimal("1.25"), currency="USD",
            message=f"fired at minute {minute}", fired_at=start + timedelta(minutes=minute),
            as_of=start,
        )  # fmt: skip
    api = api_for(ann)

    events = api.get(EVENTS).json()

    assert [event["message"] for event in events] == [f"fired at minute {m}" for m in (3, 2, 1)]
    assert events[0]["fired_at"] == "2026-12-01T15:03:00Z"
    assert (events[0]["value"], events[0]["change_percent"]) == (200.5, 1.25)
    assert len(api.get(EVENTS + "?limit=1").json()) == 1
    assert api.get(EVENTS + "?limit=0").status_code == 400


def test_the_schema_documents_the_alert_api(ann: User) -> None:
    schema = api_for(ann).get("/api/schema/", headers={"Accept": "application/json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/alerts/"]) == {"get", "post"}
    assert set(paths["/api/alerts/{alert_id}/"]) >= {"get", "put", "patch", "delete"}
    assert set(paths["/api/alerts/events/"]) == {"get"}
    created = paths["/api/alerts/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/Alert")
    threshold = schema["components"]["schemas"]["AlertWrite"]["properties"]["threshold"]
    assert threshold["type"] == "number"  # a JSON number, as the answers carry it
