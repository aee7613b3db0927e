"""The alert pages in real headless Chromium against the real stack (uvicorn and a Celery
worker on the simulated market): a person sets an alert through the form that the current
price already satisfies; the next tick of the feed fires it; a notice shows on every page she
has open (the alerts page and another one); the tick after does not fire it again; another
signed-in person's page never gets a notice. And the pages read well on a 390 px phone, with
nothing serious for axe-core."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.alerts.models import Alert, AlertEvent
from apps.market.models import Asset
from tests.conftest import LiveServer, wait_until

# Fixtures, imported under their own names so that pytest finds them here.
from tests.e2e.test_dashboard_page import axe_problems
from tests.e2e.test_pages import browser as browser
from tests.e2e.test_pages import demo_stack as demo_stack
from tests.e2e.test_portfolio_pages import PHONE, db, no_sideways_scroll, signed_in
from tests.factories import user_create

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTICE = ".al-notice[role=alert]"
# Resolves once every socket the page opened answers a ping: the server handles a socket's
# messages one at a time, so by then it has joined its owner's group (connect has run).
SOCKETS_JOINED = """() => Promise.all([...(RealtimeSocket.opened || [])].map((s) =>
  new Promise((resolve) => {
    const before = s.onFrame;
    s.onFrame = (message, text) => {
      before(message, text);
      if (message.type === "pong") resolve();
    };
    s.send("ping", {});
  })))"""
SOCKETS_OPEN = """() => typeof RealtimeSocket !== "undefined" && RealtimeSocket.opened &&
  [...RealtimeSocket.opened].length > 0 &&
  [...RealtimeSocket.opened].every((s) => s.socket && s.socket.readyState === WebSocket.OPEN)"""


def sockets_joined(page: Any) -> None:
    page.wait_for_function(SOCKETS_OPEN, timeout=15_000)
    page.evaluate(SOCKETS_JOINED)


def tick(symbol: str) -> dict[str, Any]:
    """One tick of the feed for one symbol, through the real worker (what beat's tick fans
    out). The simulated market moves once a second: a tick within the same second as the last
    saves nothing, so it is sent again until one does (a bounded poll)."""
    from workers.tasks import fetch_price_batch

    def moved() -> dict[str, Any] | None:
        summary: dict[str, Any] = db(lambda: fetch_price_batch.delay([symbol]).get(timeout=30))
        return summary if symbol in summary["changed"] else None

    return dict(wait_until(moved, timeout=15, what=f"a tick that moves {symbol}"))


def count(read: Callable[[], int]) -> int:
    return db(read)


@pytest.fixture
def people(demo_stack: LiveServer) -> tuple[User, User]:
    """Two people who are not staff, made before the browser starts."""
    return user_create(username="ines"), user_create(username="bob")


def test_an_alert_set_on_the_page_fires_once_with_a_notice_on_each_open_page(
    demo_stack: LiveServer, people: tuple[User, User], browser: Any
) -> None:
    ines, bob = people
    url = demo_stack.http_url
    page = signed_in(browser, demo_stack, ines, viewport={"width": 1280, "height": 900})
    elsewhere = page.context.new_page()  # a second tab of hers, on another page
    elsewhere.errors = []
    elsewhere.on("pageerror", lambda error: elsewhere.errors.append(str(error)))
    bobs = signed_in(browser, demo_stack, bob)

    price = db(lambda: Asset.objects.get(symbol="AAPL").current_price)
    assert price is not None
    threshold = (price * Decimal("0.97")).quantize(Decimal("0.01"))  # already above it
    page.goto(f"{url}/realtime/dashboard/")
    page.click("nav >> text=Alerts")
    page.click("text=New alert")
    page.fill("#id_symbol", "AAPL")
    page.fill("#id_threshold", str(threshold))
    page.select_option("#id_condition", "above")
    page.click("#alert-form button[type=submit]")
    page.wait_for_url(f"{url}/alerts/")
    alert = db(lambda: Alert.objects.get(owner=ines))
    assert (alert.condition, alert.threshold, alert.state) == ("above", threshold, "armed")
    row = page.locator(f'.al-item[data-alert-id="{alert.pk}"]')
    assert f"AAPL rises to or above {threshold:,.2f} USD" in row.inner_text()
    assert "Armed" in row.locator('[data-field="state"]').inner_text()
    elsewhere.goto(f"{url}/portfolios/")
    bobs.goto(f"{url}/realtime/dashboard/")
    for tab in (page, elsewhere, bobs):
        sockets_joined(tab)

    tick("AAPL")  # its batch checks the alerts before it returns
    fired = count(AlertEvent.objects.filter(owner=ines).count)
    assert fired == 1

    for tab in (page, elsewhere):
        notice = tab.wait_for_selector(NOTICE, timeout=15_000)
        assert notice.inner_text().startswith("AAPL rose to ")
        assert f"above {threshold:,.2f}" in notice.inner_text()
        assert notice.query_selector("a[href='/alerts/']") is not None
        assert notice.query_selector("time") is not None
    assert page.locator("#alert-events li").count() == 1
    assert page.locator("#alert-events li .al-message").inner_text().startswith("AAPL rose to ")
    assert "Fired" in row.locator('[data-field="state"]').inner_text()

    # The next tick: AAPL moved, but it is still beyond the threshold, so nothing fires.
    tick("AAPL")
    assert count(AlertEvent.objects.filter(owner=ines).count) == 1
    page.reload()
    assert page.locator("#alert-events li").count() == 1
    assert "Fired at" in page.locator(f'.al-item[data-alert-id="{alert.pk}"]').inner_text()
    assert elsewhere.locator(NOTICE).count() == 1

    # Dismissed by its button.
    elsewhere.click(f"{NOTICE} button[aria-label='Dismiss this notice']")
    assert elsewhere.locator(NOTICE).count() == 0
    # Bob's page never got one.
    assert bobs.locator(".al-notice").count() == 0
    assert page.errors == elsewhere.errors == bobs.errors == []


def test_the_alert_pages_fit_a_phone(
    demo_stack: LiveServer, people: tuple[User, User], browser: Any
) -> None:
    ines, _ = people
    db(lambda: Alert.objects.create(
        owner=ines, asset=Asset.objects.get(symbol="BTC-USD"), condition="move",
        threshold=Decimal(5), note="a long note that must wrap on a narrow screen " * 3,
    ))  # fmt: skip
    page = signed_in(browser, demo_stack, ines, viewport=PHONE, is_mobile=True)

    page.goto(f"{demo_stack.http_url}/alerts/")
    assert "BTC-USD moves by at least ±5% in a day" in page.inner_text("#alert-list")
    assert no_sideways_scroll(page)
    assert axe_problems(page) == []
    page.click("text=New alert")
    page.fill("#id_threshold", "-1")
    page.click("#alert-form button[type=submit]")
    assert page.inner_text("#id_threshold_error") == "Enter a threshold above 0."
    assert page.locator("#id_symbol_error").count() == 0  # the rest waits for a valid rule
    assert no_sideways_scroll(page)
    assert axe_problems(page) == []
    # A notice at this width stays inside the screen.
    message = "BTC-USD moved +5.10% today to 101,234.56 USD, beyond ±5%"
    page.evaluate(
        """(message) => document.dispatchEvent(new CustomEvent("realtime:alert", {detail:
        {type: "alert", data: {event_id: 1, message, fired_at: new Date().toISOString()}}}))""",
        message,
    )
    box = page.locator(NOTICE).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page.inner_text(f"{NOTICE} .al-notice-text") == message
    assert no_sideways_scroll(page)
    assert axe_problems(page) == []
    assert page.errors == []
