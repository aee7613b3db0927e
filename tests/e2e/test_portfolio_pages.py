"""The portfolio pages in real headless Chromium against the real stack (uvicorn and a Celery
worker on the simulated market): a user who is not staff creates a portfolio, adds positions
(a new symbol looked up by the worker, an unknown one refused beside its field), sees the
total move with the next tick, sorts the rows, and reads the page on a 390 px phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.db import connections

from apps.market.models import Asset
from apps.portfolios.models import Portfolio, Position
from tests.conftest import LiveServer

# Fixtures, imported under their own names so that pytest finds them here.
from tests.e2e.test_pages import browser as browser
from tests.e2e.test_pages import demo_stack as demo_stack
from tests.e2e.ws import session_cookie
from tests.factories import user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "portfolio.png"
PHONE = {"width": 390, "height": 844}


def amount(text: str) -> Decimal:
    """A figure as the page writes it ("47,630.12", "+1.50 (+0.2%)") as a number."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text.split("(")[0]))


T = TypeVar("T")


def db(read: Callable[[], T]) -> T:
    """Run an ORM call beside Playwright's event loop (Django refuses it on a loop's thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: _closing(read)).result()


def _closing(read: Callable[[], T]) -> T:
    try:
        return read()
    finally:
        connections.close_all()


def signed_in(chromium: Any, server: LiveServer, user: User, **options: Any) -> Any:
    """A page of a browser context carrying `user`'s session (a real one, in the database)."""
    context = chromium.new_context(**options)
    session = db(lambda: session_cookie(user))["Cookie"].split("=", 1)[1]
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.http_url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def add_position(page: Any, symbol: str, quantity: str, cost: str) -> None:
    page.click("text=Add position")
    page.fill("#id_symbol", symbol)
    page.fill("#id_quantity", quantity)
    page.fill("#id_cost_basis", cost)
    page.click(".pf-form button[type=submit]")


def rows_in_order(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#holdings tbody tr", "rows => rows.map(r => r.dataset.symbol)")
    )


def values_in_order(page: Any) -> list[Decimal]:
    texts = page.eval_on_selector_all(
        "#holdings tbody tr [data-field=value]", "cells => cells.map(c => c.textContent)"
    )
    return [amount(text) for text in texts]


def moves_with_the_next_tick(page: Any, figure: Any) -> None:
    """A tick (what beat sends every interval) changes the figure on screen. The simulated
    market moves once a second: a tick within the same second as the last saves nothing new,
    so one more is sent after a bounded wait."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from workers.tasks import refresh_prices

    before = figure.inner_text()
    for _ in range(5):
        db(refresh_prices.delay)
        try:
            page.wait_for_function(
                "([el, before]) => el.textContent !== before && /[0-9]/.test(el.textContent)",
                arg=[figure.element_handle(), before], timeout=4_000,
            )  # fmt: skip
        except PlaywrightTimeout:
            continue
        return
    raise AssertionError(f"the figure stayed {before} through 5 ticks")


def no_sideways_scroll(page: Any) -> bool:
    """Nothing sticks out of the 390 px: on a phone, innerWidth grows with what sticks out
    (the browser zooms out to show it), so the page's scroll width is held to clientWidth."""
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return bool(width[0] <= width[1] == PHONE["width"])


@pytest.fixture
def ines(demo_stack: LiveServer) -> User:
    """A user who is not staff (the admin is not hers), made before the browser starts."""
    return user_create(username="ines")


def test_a_user_builds_a_portfolio_and_watches_it_live(
    demo_stack: LiveServer, ines: User, browser: Any
) -> None:
    user = ines
    page = signed_in(browser, demo_stack, user, viewport={"width": 1280, "height": 900})

    page.goto(f"{demo_stack.http_url}/portfolios/")
    assert "You have no portfolios yet" in page.inner_text("main")
    page.click("text=New portfolio")
    page.fill("#id_name", "Retirement")
    page.fill("#id_base_currency", "usd")
    page.click(".pf-form button[type=submit]")
    page.wait_for_selector("h1:text('Retirement')")
    portfolio = db(lambda: Portfolio.objects.get(owner=user))
    assert page.url.endswith(f"/portfolios/{portfolio.pk}/")
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)

    add_position(page, "AAPL", "10", "1500")
    page.wait_for_selector('#holdings tr[data-symbol="AAPL"]')
    total = page.locator('#portfolio-summary [data-field="total_value"]')
    assert amount(total.inner_text()) > 0

    # An unknown symbol: the worker's lookup says so, beside the field; nothing is saved.
    add_position(page, "NOSUCHCO", "1", "1")
    error = page.wait_for_selector("#id_symbol_error", timeout=20_000)
    assert "NOSUCHCO is not a symbol our price sources know" in error.inner_text()
    assert page.get_attribute("#id_symbol", "aria-invalid") == "true"
    assert not db(Asset.objects.filter(symbol="NOSUCHCO").exists)
    page.click("text=Cancel")

    # A symbol new to the database, known to the sources: looked up, priced, added.
    add_position(page, "NFLX", "3", "2000")
    page.wait_for_selector('#holdings tr[data-symbol="NFLX"]', timeout=20_000)
    page.click("text=Add position")
    page.fill("#id_symbol", "sap.de")  # the cost basis is in the asset's currency: said so
    assert page.inner_text("#cost-currency") == "SAP.DE trades in EUR: enter the cost basis in EUR."
    page.click("text=Cancel")
    add_position(page, "MSFT", "2", "700")
    page.wait_for_selector('#holdings tr[data-symbol="MSFT"]')
    assert db(Position.objects.filter(portfolio=portfolio).count) == 3
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)

    # Sorting by a click; the order holds as values move.
    assert rows_in_order(page) == ["AAPL", "MSFT", "NFLX"]
    page.click("#holdings thead [data-sort=value]")
    values = values_in_order(page)
    assert values == sorted(values, reverse=True)
    assert page.get_attribute("#holdings th:has([data-sort=value])", "aria-sort") == "descending"
    page.click("#holdings thead [data-sort=value]")
    assert values_in_order(page) == sorted(values_in_order(page))

    # The next tick moves the total on screen (the simulated market moves every second).
    moves_with_the_next_tick(page, total)
    assert values_in_order(page) == sorted(values_in_order(page))
    weights = page.eval_on_selector_all(
        "#holdings tbody [data-field=weight]", "cells => cells.map(c => c.textContent)"
    )
    assert abs(sum((amount(w) for w in weights), Decimal(0)) - 100) <= Decimal("0.3")
    assert "NaN" not in page.inner_text("main")
    page.click("#holdings thead [data-sort=symbol]")
    page.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled")

    # The list shows the same total, live.
    shown = total.inner_text()
    page.goto(f"{demo_stack.http_url}/portfolios/")
    card = page.locator(f'.pf-card[data-portfolio-id="{portfolio.pk}"] [data-field=total_value]')
    assert amount(card.inner_text()) > 0
    assert abs(amount(card.inner_text()) - amount(shown)) < amount(shown) / 20
    moves_with_the_next_tick(page, card)
    assert page.errors == []


@pytest.fixture
def phone_portfolio(demo_stack: LiveServer) -> Portfolio:
    portfolio = Portfolio.objects.create(
        owner=user_create(), name="A portfolio with a rather long name, too"
    )
    for symbol, quantity in (("AAPL", "12.5"), ("BTC-USD", "0.25"), ("SAP.DE", "40")):
        Position.objects.create(
            portfolio=portfolio, asset=Asset.objects.get(symbol=symbol),
            quantity=Decimal(quantity), cost_basis=Decimal("1000"),
        )  # fmt: skip
    return Portfolio.objects.select_related("owner").get(pk=portfolio.pk)


def test_the_pages_fit_a_390_px_phone_without_sideways_scrolling(
    demo_stack: LiveServer, phone_portfolio: Portfolio, browser: Any, tmp_path: Path
) -> None:
    portfolio, user = phone_portfolio, phone_portfolio.owner
    page = signed_in(browser, demo_stack, user, viewport=PHONE, is_mobile=True, has_touch=True)

    for path in (f"/portfolios/{portfolio.pk}/", "/portfolios/", "/portfolios/new/",
                 f"/portfolios/{portfolio.pk}/positions/add/"):  # fmt: skip
        page.goto(f"{demo_stack.http_url}{path}")
        assert no_sideways_scroll(page), path
    page.goto(f"{demo_stack.http_url}/portfolios/{portfolio.pk}/")
    # The table scrolls in its own box, and every row is there.
    box = page.locator(".pf-table-box")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert rows_in_order(page) == ["AAPL", "BTC-USD", "SAP.DE"]
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    assert no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / "portfolio-390.png"), full_page=True, animations="disabled")
    assert page.errors == []


@pytest.fixture
def mixed_portfolio(web_server: LiveServer) -> Portfolio:
    """Priced, never priced, flagged stale long ago, and in a currency nothing converts."""
    now = datetime.now(UTC)
    long_ago = now - timedelta(minutes=47)
    portfolio = Portfolio.objects.create(owner=user_create(), name="Mixed", base_currency="USD")
    rows: tuple[tuple[str, str | None, dict[str, Any]], ...] = (
        ("AAPL", "231.50", {"last_updated": now}),
        ("NEWCO", None, {}),
        ("KO", "68.10", {"last_updated": long_ago, "stale_reason": "yahoo: HTTP 503"}),
        ("7203.T", "2800", {"last_updated": now, "currency": "JPY"}),
    )
    for symbol, price, fields in rows:
        asset = Asset.objects.create(
            symbol=symbol, current_price=price and Decimal(price),
            previous_close=price and Decimal(price) - 1, quote_time=fields.get("last_updated"),
            **fields,
        )  # fmt: skip
        Position.objects.create(
            portfolio=portfolio, asset=asset, quantity=Decimal(10), cost_basis=Decimal(500)
        )
    return Portfolio.objects.select_related("owner").get(pk=portfolio.pk)


def test_unknown_figures_show_a_dash_and_why_and_a_stale_price_its_age(
    web_server: LiveServer, mixed_portfolio: Portfolio, browser: Any
) -> None:
    page = signed_in(
        browser, web_server, mixed_portfolio.owner, viewport={"width": 1280, "height": 800}
    )

    page.goto(f"{web_server.http_url}/portfolios/{mixed_portfolio.pk}/")

    summary = page.locator("#portfolio-summary")
    assert summary.locator("[data-field=incomplete]").inner_text() == (
        "Incomplete: 7203.T: no FX rate JPY->USD; NEWCO: no price yet"
    )
    newco = page.locator('#holdings tr[data-symbol="NEWCO"]')
    assert newco.locator("[data-field=value]").inner_text() == "—"
    assert newco.locator("[data-field=value]").get_attribute("title") == "no price yet"
    assert newco.locator("[data-field=why]").inner_text() == "no price yet"
    toyota = page.locator('#holdings tr[data-symbol="7203.T"]')
    assert toyota.locator("[data-field=price]").inner_text() == "2,800.00"  # in yen: known
    assert toyota.locator("[data-field=weight]").inner_text() == "—"
    stale = page.locator('#holdings tr[data-symbol="KO"] [data-field=stale]')
    assert stale.is_visible()
    assert stale.inner_text() == "stale · 47 min old"
    assert stale.get_attribute("title") == "yahoo: HTTP 503"
    assert "NaN" not in page.inner_text("main")
    # 231.50 x 10 + 68.10 x 10 of known value; the unknown rows add nothing, and show no 0
    assert summary.locator("[data-field=total_value]").inner_text() == "2,996.00"
    values = page.eval_on_selector_all(
        "#holdings tbody [data-field=value]", "cells => cells.map(c => c.textContent)"
    )
    assert values == ["—", "2,315.00", "681.00", "—"]  # 7203.T, AAPL, KO, NEWCO: never 0
    assert page.errors == []
