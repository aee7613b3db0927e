"""Importing positions in real headless Chromium against the real stack (uvicorn and a Celery
worker on the simulated market): a user uploads a CSV with one bad row and a symbol new to
the site, reads the dry-run report naming the row (the new symbol looked up by the worker),
uploads the fixed file, applies it, and sees the positions; a socket watching the portfolio
gets its new value pushed at once."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from websockets.sync.client import ClientConnection, connect

from apps.market.models import Asset
from apps.portfolios.models import Portfolio, Position
from tests.conftest import LiveServer, wait_until

# Fixtures, imported under their own names so that pytest finds them here.
from tests.e2e.test_pages import browser as browser
from tests.e2e.test_pages import demo_stack as demo_stack
from tests.e2e.test_portfolio_pages import PHONE, db, no_sideways_scroll, rows_in_order, signed_in
from tests.e2e.ws import session_cookie
from tests.factories import user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "import-report.png"
HEADER = "symbol,quantity,cost_basis,currency\n"
BAD = HEADER + "AAPL,10,1500,USD\nMSFT,two,700,USD\nNFLX,3,2000,\n"
GOOD = HEADER + "AAPL,10,1500,USD\nMSFT,2,700,USD\nNFLX,3,2000,\n"


class Frames:
    """Every portfolio_update one socket receives, read in a thread so none is missed."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.updates: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for text in self.connection:
                frame = orjson.loads(text)
                if frame["type"] == "portfolio_update":
                    self.updates.append(frame["data"])
        except websockets.ConnectionClosed:
            pass


def choose_file(page: Any, content: str) -> None:
    page.set_input_files(
        "#id_file",
        files=[{"name": "holdings.csv", "mimeType": "text/csv", "buffer": content.encode()}],
    )
    page.click("button:text('Check the file')")
    page.wait_for_selector("#import-report", timeout=30_000)


@pytest.fixture
def importer(demo_stack: LiveServer) -> Portfolio:
    """A portfolio of a user who is not staff, holding AAPL (the file changes it) and KO (the
    file leaves it alone), made before the browser starts."""
    user = user_create(username="ines")
    portfolio = Portfolio.objects.create(owner=user, name="Imported", base_currency="USD")
    for symbol, quantity, cost in (("AAPL", "4", "600"), ("KO", "5", "250")):
        Position.objects.create(portfolio=portfolio, asset=Asset.objects.get(symbol=symbol),
                                quantity=Decimal(quantity), cost_basis=Decimal(cost))  # fmt: skip
    return Portfolio.objects.select_related("owner").get(pk=portfolio.pk)


def test_a_user_reads_the_dry_run_fixes_the_bad_row_and_applies_the_file(
    demo_stack: LiveServer, importer: Portfolio, browser: Any
) -> None:
    portfolio, user = importer, importer.owner
    page = signed_in(browser, demo_stack, user, viewport={"width": 1280, "height": 900})
    watcher = connect(demo_stack.ws_url, additional_headers=db(lambda: session_cookie(user)),
                      open_timeout=15, legacy=True)  # fmt: skip
    frames = Frames(watcher)
    watcher.send(orjson.dumps({"type": "subscribe_portfolio",
                               "data": {"portfolio_id": portfolio.pk}}).decode())  # fmt: skip

    page.goto(f"{demo_stack.http_url}/portfolios/{portfolio.pk}/import/")
    choose_file(page, BAD)

    problems = page.locator("#import-problems tbody tr")
    assert problems.count() == 1
    assert problems.first.get_attribute("data-row") == "3"
    assert page.inner_text("#import-problems tbody td.problem") == (
        "quantity “two” is not a number."
    )
    assert "This file cannot be applied until every problem below is fixed" in page.inner_text(
        "#import-blocked"
    )
    assert page.locator("#import-apply").count() == 0
    # NFLX was new here: the worker looked it up, so the report can already show it.
    created = page.eval_on_selector_all(
        "#import-created tbody tr", "rows => rows.map(r => r.dataset.symbol)"
    )
    assert created == ["NFLX"]
    assert page.inner_text('#import-changed tr[data-symbol="AAPL"] [data-field=quantity]') == (
        "4→10"
    )
    assert "KO (5)" in page.inner_text("#import-left-alone")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert db(lambda: Position.objects.filter(portfolio=portfolio).count()) == 2

    page.click("text=Upload another file")
    choose_file(page, GOOD)
    assert page.locator("#import-problems").count() == 0
    apply_button = page.locator("#import-apply button")
    assert apply_button.inner_text() == "Apply: create 2, change 1"
    apply_button.click()

    page.wait_for_url(f"**/portfolios/{portfolio.pk}/")
    page.wait_for_selector('#holdings tr[data-symbol="NFLX"]')
    assert rows_in_order(page) == ["AAPL", "KO", "MSFT", "NFLX"]
    assert "Imported holdings.csv: 2 position(s) created, 1 changed." in page.inner_text("main")
    quantities = page.eval_on_selector_all(
        "#holdings tbody [data-field=quantity]", "cells => cells.map(c => c.textContent.trim())"
    )
    assert quantities == ["10", "5", "2", "3"]
    held = db(lambda: sorted(Position.objects.filter(portfolio=portfolio).values_list(
        "asset__symbol", "quantity", "cost_basis")))  # fmt: skip
    assert held == [("AAPL", 10, 1500), ("KO", 5, 250), ("MSFT", 2, 700), ("NFLX", 3, 2000)]

    # The revaluation asked for on commit reaches the socket without waiting for a tick.
    pushed = wait_until(
        lambda: next((u for u in frames.updates if u.get("positions") == 4), None),
        timeout=20, what="the imported portfolio's value pushed to its socket",
    )  # fmt: skip
    watcher.close()
    assert Decimal(str(pushed["cost_basis"])) == Decimal("4450.00")  # 1500 + 250 + 700 + 2000
    assert Decimal(str(pushed["total_value"])) > 0
    assert page.errors == []


def test_the_import_pages_fit_a_390_px_phone_without_sideways_scrolling(
    demo_stack: LiveServer, importer: Portfolio, browser: Any
) -> None:
    page = signed_in(browser, demo_stack, importer.owner, viewport=PHONE, is_mobile=True,
                     has_touch=True)  # fmt: skip

    page.goto(f"{demo_stack.http_url}/portfolios/{importer.pk}/import/")
    assert no_sideways_scroll(page)
    choose_file(page, BAD.replace("NFLX", "AVeryLongTickerThatIsNotOne"))
    assert page.locator("#import-problems tbody tr").count() == 2
    assert no_sideways_scroll(page)
    assert page.errors == []
