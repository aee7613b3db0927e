"""The dashboard and the test console in real headless Chromium, against the real stack."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.portfolios.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from tests.conftest import LiveServer, RunningProcess

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CHROMIUM = (
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
)
# Flags for a headless browser on a machine with no network beyond loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def browser() -> Iterator[Any]:
    # A page test that skips is not a passing page test: no browser is a failure.
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `apt-get install chromium` (as .ci/run does)")
    import playwright.sync_api as playwright_api

    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_stack(web_server: LiveServer, celery_worker_process: RunningProcess) -> LiveServer:
    """Demo data, priced once by the real worker, served by the real uvicorn."""
    from django.core.management import call_command

    from apps.market.models import Asset
    from workers.tasks import refresh_prices

    # No year of history: a few seconds per test, and only the charts' screenshots want it.
    call_command("seed_demo", history_days=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    refresh_prices.delay().get(timeout=30)
    from tests.conftest import wait_until

    wait_until(
        lambda: not Asset.objects.filter(current_price__isnull=True).exists(),
        timeout=30, what="every demo asset to be priced",
    )  # fmt: skip
    return web_server


def amount(text: str) -> Decimal:
    """A figure as the page formats it for its currency ("$47,630.12", "-€1.50") as a number."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text.replace("\u2212", "-")))


def log_in(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.http_url}/admin/login/?next=/realtime/dashboard/")
    page.fill("#id_username", DEMO_USERNAME)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/realtime/dashboard/")


def test_dashboard_shows_live_prices_and_the_users_portfolio_values(
    demo_stack: LiveServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, demo_stack)
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    price = page.locator('tr[data-symbol="AAPL"] [data-field="price"]')
    page.wait_for_function(
        "el => /[0-9]/.test(el.textContent)", arg=price.element_handle(), timeout=15_000
    )
    assert page.locator('tr[data-symbol="AAPL"] [data-field="source"]').inner_text() == "simulated"
    card = page.locator("article.card", has_text="Growth Portfolio")
    total = card.locator('[data-field="total_value"]')
    page.wait_for_function(
        "el => parseFloat(el.textContent.replace(/[^0-9.]/g, '')) > 0",
        arg=total.element_handle(), timeout=20_000,
    )  # fmt: skip
    assert total.inner_text().startswith("$")  # the portfolio's currency, USD
    assert amount(total.inner_text()) > 0
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert errors == []


def test_anonymous_dashboard_shows_prices_and_invites_to_log_in(
    demo_stack: LiveServer, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{demo_stack.http_url}/")
    page.wait_for_url("**/realtime/dashboard/")
    assert "Log in" in page.locator("#portfolios").inner_text()
    price = page.locator('tr[data-symbol="BTC-USD"] [data-field="price"]')
    page.wait_for_function(
        "el => /[0-9]/.test(el.textContent)", arg=price.element_handle(), timeout=15_000
    )


def test_the_test_console_sends_messages_and_shows_the_frames(
    demo_stack: LiveServer, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{demo_stack.http_url}/realtime/test/")
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    page.select_option("#message-type", "subscribe_asset")
    page.fill("#message-data", '{"symbol": "MSFT"}')
    page.click("button[type=submit]")
    page.wait_for_selector(".frame.type-asset_update", timeout=15_000)
    page.select_option("#message-type", "subscribe_portfolio")
    page.fill("#message-data", '{"portfolio_id": 1}')
    page.click("button[type=submit]")
    error = page.wait_for_selector(".frame.type-error", timeout=15_000)
    assert "auth_required" in error.inner_text()
