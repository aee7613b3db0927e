"""The dashboard in headless Chromium shows an unknown value as "—" with its reason and a
stale one as stale; never 0, never NaN. With the Celery worker stopped (issue 14)."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from apps.portfolios.services import portfolio_revalue_now
from apps.realtime.snapshot_read import PRICES_CHANGED
from tests.conftest import LiveServer
from tests.e2e.test_pages import amount, browser, log_in  # noqa: F401  # the Chromium fixture
from tests.e2e.test_values_without_worker import (
    demo_valued_before_prices_then_priced_unwatched,
    hand_total,
)

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

EM_DASH = "\u2014"


@pytest.fixture
def growth_unknown(web_server: LiveServer) -> tuple[LiveServer, int, Decimal]:
    """The server, the demo portfolio valued before any price then priced unwatched, and its
    value by hand. Set up before the browser starts: Playwright's loop then owns the thread."""
    growth = demo_valued_before_prices_then_priced_unwatched()
    return web_server, growth.id, hand_total(growth)


def revalue_in_a_thread(portfolio_id: int) -> None:
    """What a worker would do once one runs (this thread stands in for it)."""

    def run() -> None:
        try:
            portfolio_revalue_now(portfolio_id=portfolio_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)


def test_an_unknown_value_shows_a_dash_with_why_and_a_stale_one_shows_stale(
    growth_unknown: tuple[LiveServer, int, Decimal],
    browser: Any,  # noqa: F811
) -> None:
    web_server, growth_id, expected = growth_unknown
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, web_server)
    card = page.locator("article.card", has_text="Growth Portfolio")
    total = card.locator('[data-field="total_value"]')

    page.wait_for_function(
        "el => el.textContent === '\u2014'", arg=total.element_handle(), timeout=15_000
    )

    flags = card.locator('[data-field="flags"]')
    assert flags.locator(".flag-unknown").inner_text() == (
        "value unknown: 5 position(s) in USD have no price"
    )
    assert flags.locator(".flag-stale").inner_text() == f"stale: {PRICES_CHANGED}"
    assert total.get_attribute("title") == "5 position(s) in USD have no price"
    assert "stale" in (card.get_attribute("class") or "")
    assert card.locator('[data-field="unrealised_gain"]').inner_text() == EM_DASH
    assert card.locator('[data-field="daily_change"]').inner_text() == f"{EM_DASH} today"
    text = card.inner_text()
    assert "NaN" not in text
    assert not re.search(r"(?<![\d,.])0\.00\b", text), text  # no zero anywhere on the card
    assert card.locator('[data-field="as_of"]').inner_text().startswith("as of ")

    revalue_in_a_thread(growth_id)

    page.wait_for_function(
        "el => /[0-9]/.test(el.textContent)", arg=total.element_handle(), timeout=15_000
    )
    assert total.inner_text().startswith("$")  # formatted for the portfolio's currency, USD
    assert amount(total.inner_text()) == expected
    assert "stale" not in (card.get_attribute("class") or "").split()
    assert flags.inner_text() == ""
    assert errors == []
