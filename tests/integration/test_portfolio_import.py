"""Importing positions from CSV and exporting them, through Django's test client against the
real database and Redis: owner only, a dry run that saves nothing, an apply that saves all or
nothing (a real database constraint refuses a row in the middle), the revaluation asked for
once committed, and an export that imports back unchanged.

No worker runs here: a symbol new to the site is looked up by a request nobody answers
(tests/e2e/test_import_page.py has the worker answer).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.market.models import Asset
from apps.market.requests import LOOKUP_ASSETS_TASK
from apps.portfolios.models import Portfolio, Position
from apps.portfolios.requests import REVALUE_PORTFOLIO_TASK
from config.redis_client import redis_client
from tests.conftest import redis_prefix_clear
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
QUEUE = f"{settings.REDIS_KEY_PREFIX}:celery:celery"
OURS = "symbol,quantity,cost_basis,currency\n"


@pytest.fixture
def assets() -> dict[str, Asset]:
    made = {symbol: asset_create(symbol, currency=currency) for symbol, currency in (
        ("AAPL", "USD"), ("MSFT", "USD"), ("SAP.DE", "EUR"), ("BTC-USD", "USD"), ("VOO", "USD"),
    )}  # fmt: skip
    return made


@pytest.fixture
def owner() -> User:
    return user_create(username="olga")


@pytest.fixture
def portfolio(owner: User, assets: dict[str, Asset]) -> Portfolio:
    """Holds AAPL (to be changed by the sample) and VOO (not in it: left alone)."""
    portfolio = portfolio_create(owner=owner, name="Pension")
    position_create(portfolio, assets["AAPL"], quantity="4", cost_basis="600")
    position_create(portfolio, assets["VOO"], quantity="1", cost_basis="400")
    return portfolio


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, portfolio: Portfolio, content: str | bytes, **fields: str) -> Any:
    data = content.encode() if isinstance(content, str) else content
    body = {"file": SimpleUploadedFile("mine.csv", data, "text/csv"), "mode": "replace", **fields}
    return client.post(reverse("portfolio-import", args=[portfolio.pk]), body)


def apply(client: Client, portfolio: Portfolio, token: str) -> Any:
    return client.post(reverse("portfolio-import-apply", args=[portfolio.pk]), {"token": token})


def token_of(response: Any) -> str:
    found = re.search(r'name="token" value="([^"]+)"', response.text)
    assert found, "the report offers no Apply button"
    return found.group(1)


def holdings(portfolio: Portfolio) -> dict[str, tuple[Decimal, Decimal]]:
    rows = Position.objects.filter(portfolio=portfolio).values_list(
        "asset__symbol", "quantity", "cost_basis"
    )
    return {symbol: (quantity, cost) for symbol, quantity, cost in rows}


def report_rows(html: str, table: str) -> list[str]:
    """The data-symbol of each row of one report table."""
    block = re.search(rf'<table class="pf-holdings" id="import-{table}">(.*?)</table>', html, re.S)
    return re.findall(r'data-symbol="([^"]+)"', block.group(1)) if block else []


def report_problems(html: str) -> list[tuple[int, str]]:
    found = re.findall(r'<tr data-row="(\d+)" data-code="[a-z_]+"><td class="num">\d+</td>'
                       r'<td class="problem">(.*?)</td>', html)  # fmt: skip
    return [(int(row), message) for row, message in found]


def queued(task: str) -> list[Any]:
    """The arguments of every `task` message waiting in the default queue (no worker runs)."""
    found = []
    for raw in redis_client().lrange(QUEUE, 0, -1):
        message = orjson.loads(raw)
        if message["headers"]["task"] == task:
            args, kwargs, _embed = orjson.loads(base64.b64decode(message["body"]))
            found.append(args or kwargs)
    return found


# --- who may -----------------------------------------------------------------------------------


def test_the_import_and_export_pages_are_the_owners_alone(portfolio: Portfolio) -> None:
    other = client_for(user_create())
    anonymous = Client()
    owner = client_for(portfolio.owner)
    csv = (SAMPLES / "positions.csv").read_text()
    pages = [
        reverse(name, args=[portfolio.pk]) for name in ("portfolio-import", "portfolio-export")
    ]
    apply_url = reverse("portfolio-import-apply", args=[portfolio.pk])

    for url in pages:
        assert owner.get(url).status_code == 200
        assert other.get(url).status_code == 404
        assert anonymous.get(url)["Location"].startswith(f"/accounts/login/?next={url}")
    assert upload(other, portfolio, csv).status_code == 404
    assert (
        other.post(apply_url, {"token": token_of(upload(owner, portfolio, csv))}).status_code == 404
    )
    assert other.get(apply_url).status_code == 404
    assert owner.get(apply_url).status_code == 405
    assert upload(anonymous, portfolio, csv).status_code == 302
    assert holdings(portfolio) == {"AAPL": (4, 600), "VOO": (1, 400)}


# --- the dry run -------------------------------------------------------------------------------


def test_a_dry_run_reports_every_change_and_saves_nothing(portfolio: Portfolio) -> None:
    before = holdings(portfolio)

    report = upload(
        client_for(portfolio.owner), portfolio, (SAMPLES / "positions.csv").read_bytes()
    )

    assert report.status_code == 200
    assert report_rows(report.text, "created") == ["BTC-USD", "MSFT", "SAP.DE"]
    assert report_rows(report.text, "changed") == ["AAPL"]
    assert re.search(r'data-symbol="AAPL">.*?<span class="old">4</span>.*?→</span>10<', report.text)
    assert re.search(
        r'<span class="old">600</span>.*?→</span>1,500 <small>USD</small>', report.text
    )
    assert 'id="import-left-alone"' in report.text
    assert 'data-symbol="VOO">VOO (1)' in report.text
    assert "Apply: create 3, change 1" in report.text
    assert holdings(portfolio) == before
    assert queued(REVALUE_PORTFOLIO_TASK) == []


def test_every_row_problem_is_listed_with_its_row_and_blocks_the_apply(
    portfolio: Portfolio, assets: dict[str, Asset]
) -> None:
    Asset.objects.filter(symbol="BTC-USD").update(is_active=False)
    rows = ["AAPL,10,1500,EUR", "MSFT,ten,700,USD", "SAP.DE,-1,5,EUR", "BTC-USD,1,5,",
            "AAPL,3,1,USD", "VOO,2,800,USD"]  # fmt: skip

    report = upload(client_for(portfolio.owner), portfolio, OURS + "\n".join(rows))

    assert report_problems(report.text) == [
        (2, "AAPL is priced in USD here, but this row&#x27;s amounts are in EUR: give them in "
            "USD, or leave the currency empty if they already are."),
        (3, "quantity “ten” is not a number."),
        (4, "quantity is -1: a position holds more than 0 (short positions are not held here; "
            "to remove a position, delete it on the portfolio page)."),
        (5, "BTC-USD is no longer priced here (its asset is inactive)."),
        (6, "AAPL is already on row 2: give each symbol one row."),
    ]  # fmt: skip
    assert "This file cannot be applied until every problem below is fixed" in report.text
    assert 'name="token"' not in report.text
    assert report_rows(report.text, "changed") == ["VOO"]  # what the good rows would do


# --- applying ----------------------------------------------------------------------------------


def test_applying_writes_every_position_and_asks_for_one_revaluation_once_committed(
    portfolio: Portfolio, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(portfolio.owner)
    token = token_of(upload(client, portfolio, (SAMPLES / "positions.csv").read_bytes()))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = apply(client, portfolio, token)

    assert done.status_code == 302
    assert done["Location"] == reverse("portfolio-detail", args=[portfolio.pk])
    assert holdings(portfolio) == {
        "AAPL": (10, 1500), "MSFT": (Decimal("2.5"), 700), "SAP.DE": (40, Decimal("4800.50")),
        "BTC-USD": (Decimal("0.25"), 9000), "VOO": (1, 400),
    }  # fmt: skip
    assert len(callbacks) == 2  # the revaluation, and the EUR->USD pair SAP.DE needs
    assert queued(REVALUE_PORTFOLIO_TASK) == [[portfolio.pk]]
    assert queued(LOOKUP_ASSETS_TASK) == [{"symbols": ["EURUSD=X"]}]
    page = client.get(done["Location"])
    assert "Imported mine.csv: 3 position(s) created, 1 changed." in page.text
    again = apply(client, portfolio, token)  # the token was used up
    assert "That report has expired" in again.text


def test_add_mode_adds_the_files_quantities_and_costs_to_held_positions(
    portfolio: Portfolio,
) -> None:
    client = client_for(portfolio.owner)
    report = upload(client, portfolio, OURS + "AAPL,6,900.5,\nMSFT,1,300,USD\n", mode="add")

    assert "Add the file&#x27;s quantity and cost to each position" in report.text
    apply(client, portfolio, token_of(report))

    assert holdings(portfolio) == {
        "AAPL": (10, Decimal("1500.5")), "MSFT": (1, 300), "VOO": (1, 400),
    }  # fmt: skip


@pytest.fixture
def quantities_under_1000() -> Iterator[None]:
    """A real CHECK constraint of the database, for one test: a quantity of 1000 or more is
    refused by PostgreSQL itself (committed tables: the test runs in real transactions)."""
    constraint = "import_test_quantity_under_1000"
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE portfolios_position ADD CONSTRAINT {constraint} CHECK (quantity < 1000)"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE portfolios_position DROP CONSTRAINT IF EXISTS {constraint}"
            )


@pytest.mark.django_db(transaction=True)
def test_apply_is_all_or_nothing_when_the_database_refuses_a_row_in_the_middle(
    portfolio: Portfolio, quantities_under_1000: None
) -> None:
    redis_prefix_clear()  # the fixture's positions asked for a revaluation when committed
    client = client_for(portfolio.owner)
    # SAP.DE's row is refused by the database after AAPL's UPDATE has run, in the same
    # INSERT as MSFT's.
    content = OURS + "AAPL,10,1500,USD\nMSFT,2,700,USD\nSAP.DE,5000,9000,EUR\n"
    token = token_of(upload(client, portfolio, content))

    refused = apply(client, portfolio, token)

    assert refused.status_code == 200
    assert "Nothing was saved: the database refused the import (IntegrityError)" in refused.text
    assert holdings(portfolio) == {"AAPL": (4, 600), "VOO": (1, 400)}
    assert queued(REVALUE_PORTFOLIO_TASK) == []  # nothing committed, nothing to push
    assert Position.objects.count() == 2
    again = apply(client, portfolio, token_of(refused))  # the report is kept to try again
    assert "Nothing was saved" in again.text
    assert holdings(portfolio) == {"AAPL": (4, 600), "VOO": (1, 400)}


def test_a_portfolio_changed_since_the_dry_run_is_not_overwritten_unseen(
    portfolio: Portfolio,
) -> None:
    client = client_for(portfolio.owner)
    token = token_of(upload(client, portfolio, OURS + "AAPL,6,900,USD\n", mode="add"))
    Position.objects.filter(portfolio=portfolio, asset__symbol="AAPL").update(quantity=5)

    stale = apply(client, portfolio, token)

    assert "Nothing was saved: the portfolio changed since the report you saw" in stale.text
    assert re.search(r'<span class="old">5</span>.*?→</span>11<', stale.text)
    assert holdings(portfolio)["AAPL"] == (5, 600)
    assert apply(client, portfolio, token_of(stale)).status_code == 302
    assert holdings(portfolio)["AAPL"] == (11, 1500)


def test_a_report_is_applied_only_by_its_own_session_and_portfolio(
    portfolio: Portfolio, owner: User
) -> None:
    first = client_for(owner)
    token = token_of(upload(first, portfolio, OURS + "MSFT,1,300,USD\n"))
    elsewhere = portfolio_create(owner=owner, name="Elsewhere")

    other_session = apply(client_for(owner), portfolio, token)
    other_portfolio = apply(first, elsewhere, token)
    made_up = apply(first, portfolio, "not-a-token")

    for response in (other_session, other_portfolio, made_up):
        assert response.status_code == 200
        assert "That report has expired (one is kept 15 minutes) or was applied already" in (
            response.text
        )
    assert "MSFT" not in holdings(portfolio)
    assert holdings(elsewhere) == {}
    assert apply(first, portfolio, token).status_code == 302


# --- activity files against a portfolio ---------------------------------------------------------


def test_an_activity_file_holds_the_net_and_leaves_a_position_it_closes_alone(
    portfolio: Portfolio, assets: dict[str, Asset]
) -> None:
    position_create(portfolio, assets["MSFT"], quantity="7", cost_basis="2000")
    client = client_for(portfolio.owner)

    report = upload(client, portfolio, (SAMPLES / "ghostfolio.csv").read_bytes())

    assert report_rows(report.text, "changed") == ["AAPL"]
    assert report_rows(report.text, "created") == ["SAP.DE"]
    assert "MSFT (rows 6, 7): the portfolio's position is left as it is" in report.text
    assert "DIVIDEND (no position): 1" in report.text
    apply(client, portfolio, token_of(report))
    assert holdings(portfolio) == {
        "AAPL": (9, Decimal("1651.2")), "SAP.DE": (4, Decimal("704.5")),
        "MSFT": (7, 2000), "VOO": (1, 400),
    }  # fmt: skip


# --- export, and back --------------------------------------------------------------------------


def test_an_export_imports_back_unchanged(portfolio: Portfolio, owner: User) -> None:
    client = client_for(owner)
    Position.objects.filter(portfolio=portfolio, asset__symbol="VOO").update(
        quantity=Decimal("0.1234567891"), cost_basis=Decimal("12345678.12345678")
    )
    exported = client.get(reverse("portfolio-export", args=[portfolio.pk]))

    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    assert exported["Content-Disposition"] == 'attachment; filename="pension-positions.csv"'
    assert exported.content.decode() == (
        "symbol,quantity,cost_basis,currency\n"
        "AAPL,4,600,USD\n"
        "VOO,0.1234567891,12345678.12345678,USD\n"
    )
    same = upload(client, portfolio, exported.content)
    assert report_rows(same.text, "created") == report_rows(same.text, "changed") == []
    assert 'id="import-nothing"' in same.text
    assert 'name="token"' not in same.text

    copy = portfolio_create(owner=owner, name="Copy")
    apply(client, copy, token_of(upload(client, copy, exported.content)))
    assert holdings(copy) == holdings(portfolio)
    assert client.get(reverse("portfolio-export", args=[copy.pk])).content == exported.content


# --- new symbols, and files that cannot be read --------------------------------------------------


def test_symbols_new_here_are_looked_up_in_one_request_and_unanswered_ones_reported(
    portfolio: Portfolio, settings: Any
) -> None:
    settings.SYMBOL_LOOKUP_WAIT_SECONDS = 0.5

    report = upload(
        client_for(portfolio.owner), portfolio, OURS + "NFLX,1,400,\nAAPL,1,1,\nZZZZ,2,2,\n"
    )

    assert queued(LOOKUP_ASSETS_TASK) == [{"symbols": ["NFLX", "ZZZZ"]}]
    assert report_problems(report.text) == [
        (2, "NFLX is not known here (it could not be looked up: no worker answered in time); "
            "add it first (Add position on the portfolio page), then import the file again."),
        (4, "ZZZZ is not known here (it could not be looked up: no worker answered in time); "
            "add it first (Add position on the portfolio page), then import the file again."),
    ]  # fmt: skip
    assert not Asset.objects.filter(symbol__in=["NFLX", "ZZZZ"]).exists()  # never priced 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The file is empty."),
        ("symbol;qty\nAAPL;1\n".encode("utf-16"), "The file is UTF-16 text"),
        ("symbol,quantity\nCAFÉ,1\n".encode("cp1252"), "The file is not UTF-8 text (byte 20"),
        (b"ticker,shares\nAAPL,1\n", "The header row (ticker, shares) is not one of the formats"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_beside_the_file_field(
    portfolio: Portfolio, content: bytes, expected: str
) -> None:
    page = upload(client_for(portfolio.owner), portfolio, content)

    assert page.status_code == 200
    error = re.search(r'<ul class="errorlist" id="id_file_error"><li>(.*?)</li>', page.text)
    assert error
    assert error.group(1).startswith(expected)
    assert 'id="import-form"' in page.text
    assert 'id="import-report"' not in page.text
    if "header row" in expected:
        assert "<code>Ghostfolio activities: Date,Code,Currency,Price,Quantity,Action,Fee,Note" \
            "</code>" in page.text  # fmt: skip


def test_a_file_over_the_limit_and_no_file_at_all_are_refused_by_the_form(
    portfolio: Portfolio,
) -> None:
    client = client_for(portfolio.owner)
    too_big = upload(client, portfolio, OURS + "AAPL,1,1,USD\n" * 90_000)
    nothing = client.post(reverse("portfolio-import", args=[portfolio.pk]), {"mode": "replace"})

    assert "The file is 1.1 MB; the limit is 1 MB (about 5,000 rows)." in too_big.text
    assert "Choose a CSV file to import." in nothing.text
    assert holdings(portfolio) == {"AAPL": (4, 600), "VOO": (1, 400)}
