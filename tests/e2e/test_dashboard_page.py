"""The dashboard a person keeps open all day, in real headless Chromium against the real stack
(uvicorn + a Celery worker on the simulated market): the watchlist (add, an unknown symbol,
remove, reorder), what the page subscribes to, a server restart, a phone's width and an
accessibility check by axe-core."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from apps.market.models import Asset
from apps.portfolios.models import Watchlist, WatchlistItem
from apps.portfolios.watchlist import watchlist_rows
from tests.conftest import (
    LiveServer,
    RunningProcess,
    procfile_command,
    wait_until,
    web_server_start,
)
from tests.e2e.test_console_page import port_answers
from tests.e2e.test_pages import browser, demo_stack  # noqa: F401  # Chromium, the demo stack
from tests.e2e.test_websocket_protocol import priced as priced_row
from tests.e2e.ws import session_cookie
from tests.factories import portfolio_create, position_create, user_create
from tests.faults.outages import TcpCut

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

DASHBOARD = "/realtime/dashboard/"
# A folder to keep the screenshots in (docs/screenshots/dashboard.png and phone.png are made
# this way); unset, they go to the test's own temporary folder.
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
DIGIT = "el => /[0-9]/.test(el.textContent)"


def session_of(user: User) -> str:
    """A real session of `user`. Made before the browser starts: Playwright's loop then owns
    the thread, and the ORM refuses to run under it."""
    return session_cookie(user)["Cookie"].split("=", 1)[1]


def signed_in_page(chromium: Any, server: LiveServer, session: str, **options: Any) -> Any:
    """A dashboard page signed in with the session, live."""
    context = chromium.new_context(**options)
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.http_url}])
    return dashboard_open(context, server)


def dashboard_open(context_or_browser: Any, server: LiveServer, **options: Any) -> Any:
    page = context_or_browser.new_page(**options)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{server.http_url}{DASHBOARD}")
    expect(page.locator("#feed-word")).to_have_text("Live", timeout=15_000)
    return page


def priced(page: Any, symbol: str) -> Any:
    price = page.locator(f'tr[data-symbol="{symbol}"] [data-field="price"]')
    page.wait_for_function(DIGIT, arg=price.element_handle(), timeout=20_000)
    return price


def row_symbols(page: Any, table: str = "#watch-rows") -> list[str]:
    return page.eval_on_selector_all(f"{table} tr", "rows => rows.map(r => r.dataset.symbol)")


@pytest.fixture
def demo_session(demo_stack: LiveServer) -> str:  # noqa: F811
    return session_of(User.objects.get(username="demo"))


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_adding_a_symbol_shows_its_live_price_and_an_unknown_one_gets_a_message(
    demo_stack: LiveServer,  # noqa: F811
    demo_session: str,
    browser: Any,  # noqa: F811
) -> None:
    page = signed_in_page(browser, demo_stack, demo_session)
    priced(page, "AAPL")
    expect(page.locator("#feed-source")).to_have_text("simulated")
    expect(page.locator("#feed-simulated")).to_be_visible()
    expect(page.locator("#feed-simulated")).to_have_text("Simulated market")
    expect(page.locator("#feed-updated")).to_have_text(re.compile(r"\d"))

    page.fill("#watchlist-symbol", "nflx")  # in the simulated market, not in the database
    page.press("#watchlist-symbol", "Enter")
    expect(page.locator("#watchlist-status")).to_have_text("NFLX added to your watchlist.",
                                                           timeout=20_000)  # fmt: skip
    assert row_symbols(page)[-1] == "NFLX"
    row = page.locator('tr[data-symbol="NFLX"]')
    expect(row.locator('[data-field="name"]')).to_have_text("Netflix, Inc.")
    price = priced(page, "NFLX")
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{2}", price.inner_text()), price.inner_text()
    expect(row.locator('[data-field="source"]')).to_have_text("simulated")
    expect(page.locator("#watchlist-symbol")).to_have_value("")

    page.fill("#watchlist-symbol", "NOSUCH")
    page.click("#watchlist-add button[type=submit]")
    problem = page.locator("#watchlist-problem")
    expect(problem).to_have_text("NOSUCH was not found: no price source lists it.",
                                 timeout=20_000)  # fmt: skip
    expect(page.locator("#watchlist-symbol")).to_have_attribute("aria-invalid", "true")
    assert page.locator('tr[data-symbol="NOSUCH"]').count() == 0
    page.fill("#watchlist-symbol", "")  # typing again clears the message
    page.type("#watchlist-symbol", "A")
    expect(problem).to_have_text("")
    page.reload()
    assert row_symbols(page)[-1] == "NFLX"  # kept on the server
    assert page.errors == []


def test_prices_are_formatted_for_their_currency_and_asset_type(
    demo_stack: LiveServer,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    page = dashboard_open(browser, demo_stack)  # signed out: the public market list
    shapes = {
        "AAPL": r"\$\d{3}\.\d{2}",  # a stock: its currency, 2 decimals
        "EURUSD=X": r"1\.\d{5}",  # a rate below 10: 5 decimals, no currency sign
        # crypto: up to 8 significant digits, at least 2 decimals (a trailing 0 is dropped)
        "BTC-USD": r"\$\d{2},\d{3}\.\d{2,3}",
        "ETH-USD": r"\$\d,\d{3}\.\d{2,4}",
    }
    for symbol, shape in shapes.items():
        text = priced(page, symbol).inner_text()
        assert re.fullmatch(shape, text), (symbol, text)
    change = page.locator('tr[data-symbol="AAPL"] [data-field="change"]')
    # Colour is never the only signal: a sign, and an arrow (hidden from screen readers).
    assert re.fullmatch(r"(\u25b2 \+|\u25bc -|)\$\d+\.\d{2}", change.inner_text()), (
        change.inner_text()
    )
    assert page.errors == []


def test_remove_and_reorder_with_the_keyboard_and_the_order_is_kept(
    demo_stack: LiveServer,  # noqa: F811
    demo_session: str,
    browser: Any,  # noqa: F811
) -> None:
    page = signed_in_page(browser, demo_stack, demo_session)
    priced(page, "MSFT")
    assert row_symbols(page)[:3] == ["AAPL", "MSFT", "GOOGL"]

    page.focus('tr[data-symbol="MSFT"] button[value="up"]')
    page.keyboard.press("Enter")
    expect(page.locator("#watchlist-status")).to_have_text("MSFT moved up.")
    assert row_symbols(page)[:3] == ["MSFT", "AAPL", "GOOGL"]
    # The focus stays on the button, so moving again is one more key press.
    assert page.evaluate("document.activeElement.closest('tr').dataset.symbol") == "MSFT"
    page.keyboard.press("Tab")  # to "down"
    page.keyboard.press("Enter")
    expect(page.locator("#watchlist-status")).to_have_text("MSFT moved down.")
    page.keyboard.press("Enter")
    expect(page.locator("#watch-rows tr").nth(2)).to_have_attribute("data-symbol", "MSFT")

    # GOOGL is not held: it goes. AAPL is held (Growth Portfolio): it moves to the holdings.
    page.click('tr[data-symbol="GOOGL"] button.remove')
    expect(page.locator("#watchlist-status")).to_have_text("GOOGL removed from your watchlist.")
    page.click('tr[data-symbol="AAPL"] button.remove')
    expect(page.locator("#watchlist-status")).to_have_text("AAPL removed from your watchlist.")
    assert "GOOGL" not in row_symbols(page) + row_symbols(page, "#held-rows")
    assert row_symbols(page, "#held-rows") == ["AAPL"]
    expect(page.locator("#held")).to_be_visible()
    priced(page, "AAPL")  # still live there
    expected = ["MSFT", "AMZN", "NVDA"]
    assert row_symbols(page)[:3] == expected

    page.reload()
    expect(page.locator("#feed-word")).to_have_text("Live", timeout=15_000)
    assert row_symbols(page)[:3] == expected
    assert row_symbols(page, "#held-rows") == ["AAPL"]
    page.click('tr[data-symbol="AAPL"] button:text("Watch")')  # back from the holdings
    expect(page.locator("#watchlist-status")).to_have_text("AAPL added to your watchlist.")
    assert row_symbols(page)[-1] == "AAPL"
    expect(page.locator("#held")).to_be_hidden()
    assert page.errors == []


def registry_assets(server: LiveServer, session: str) -> tuple[set[str], list[int]]:
    """What the server's registry says the user's sockets subscribed to."""
    with httpx.Client(base_url=server.http_url, cookies={"sessionid": session}) as client:
        stats = client.get("/realtime/status/").json()["user_stats"]["subscriptions"]
    return set(stats["assets"]), stats["portfolios"]


@dataclass
class SmallUser:
    session: str
    portfolio_id: int
    subscriptions: tuple[set[str], list[int]]  # what the dashboard should subscribe to


@pytest.fixture
def small_user(demo_stack: LiveServer) -> SmallUser:  # noqa: F811
    """A user watching AAPL and EURUSD=X and holding MSFT and AAPL in one portfolio."""
    user = user_create()
    watchlist = Watchlist.objects.create(owner=user)
    for position, symbol in enumerate(("AAPL", "EURUSD=X")):
        asset = Asset.objects.get(symbol=symbol)
        WatchlistItem.objects.create(watchlist=watchlist, asset=asset, position=position)
    portfolio = portfolio_create(owner=user, name="Small")
    for symbol in ("MSFT", "AAPL"):
        position_create(portfolio, Asset.objects.get(symbol=symbol))
    assert [row.symbol for row in watchlist_rows(user_id=user.pk)] == ["AAPL", "EURUSD=X"]
    wanted = ({"AAPL", "EURUSD=X", "MSFT"}, [portfolio.pk])
    return SmallUser(session_of(user), portfolio.pk, wanted)


def test_the_page_subscribes_to_what_the_user_watches_and_holds_only(
    demo_stack: LiveServer,  # noqa: F811
    small_user: SmallUser,
    browser: Any,  # noqa: F811
) -> None:
    page = signed_in_page(browser, demo_stack, small_user.session)
    assert row_symbols(page) == ["AAPL", "EURUSD=X"]
    assert row_symbols(page, "#held-rows") == ["MSFT"]
    wanted = small_user.subscriptions
    wait_until(lambda: registry_assets(demo_stack, small_user.session) == wanted, timeout=15,
               what="the page's subscriptions in the registry")  # fmt: skip
    assert page.errors == []


def test_after_the_server_restarts_the_page_resubscribes_with_no_duplicate_rows(
    demo_stack: LiveServer,  # noqa: F811
    small_user: SmallUser,
    browser: Any,  # noqa: F811
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
) -> None:
    page = signed_in_page(browser, demo_stack, small_user.session)
    priced(page, "EURUSD=X")
    before = row_symbols(page) + row_symbols(page, "#held-rows")

    demo_stack.process.stop()
    expect(page.locator("#feed-word")).to_have_text("Reconnecting", timeout=15_000)
    expect(page.locator("#feed-retry")).to_have_text(re.compile(r"^in \d+ s$"))
    expect(page.locator("#connection-state")).to_have_text("reconnecting")
    page.evaluate("document.getElementById('feed-updated').textContent = 'before'")

    env = {**child_env, "PORT": str(demo_stack.port)}
    start_process("web-again", procfile_command("web"), env)
    wait_until(lambda: port_answers(demo_stack.port), timeout=30, what="uvicorn to listen again")
    expect(page.locator("#feed-word")).to_have_text("Live", timeout=45_000)
    expect(page.locator("#feed-retry")).to_have_text("")
    # Resubscribed: the snapshots came again, and the registry has the same subscriptions.
    expect(page.locator("#feed-updated")).not_to_have_text("before", timeout=15_000)
    wait_until(
        lambda: registry_assets(demo_stack, small_user.session) == small_user.subscriptions,
        timeout=15, what="the subscriptions again after the restart",
    )  # fmt: skip
    after = row_symbols(page) + row_symbols(page, "#held-rows")
    assert after == before
    assert len(set(after)) == len(after)
    assert page.locator(f'[data-portfolio-id="{small_user.portfolio_id}"]').count() == 1
    assert page.errors == []


AXE_SERIOUS = ("serious", "critical")


def axe_problems(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in AXE_SERIOUS
    ]


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_at_390_px_nothing_scrolls_sideways_and_axe_finds_nothing_serious(
    demo_stack: LiveServer,  # noqa: F811
    demo_session: str,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    desktop = signed_in_page(
        browser, demo_stack, demo_session, viewport={"width": 1280, "height": 900}
    )
    priced(desktop, "ETH-USD")
    desktop.wait_for_function(  # the cards have their values
        "() => [...document.querySelectorAll('[data-field=total_value]')]"
        ".every(el => /[0-9]/.test(el.textContent))", timeout=20_000,
    )  # fmt: skip
    assert axe_problems(desktop) == []
    assert no_sideways_scroll(desktop)
    screenshot(desktop, tmp_path, "dashboard.png")

    phone = signed_in_page(browser, demo_stack, demo_session, viewport=PHONE)
    priced(phone, "ETH-USD")
    assert no_sideways_scroll(phone)
    assert axe_problems(phone) == []
    # The header wraps into at most three short lines; the feed line stays in view.
    assert phone.evaluate("document.querySelector('header').offsetHeight") <= 120
    phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert phone.evaluate("document.getElementById('feed').getBoundingClientRect().top") == 0
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, tmp_path, "phone.png")

    visitor = dashboard_open(browser, demo_stack, viewport=PHONE)
    priced(visitor, "BTC-USD")
    assert no_sideways_scroll(visitor)
    assert axe_problems(visitor) == []
    for page in (desktop, phone, visitor):
        assert page.errors == []


@pytest.fixture
def database_cut(child_env: dict[str, str]) -> Iterator[tuple[TcpCut, str]]:
    """A proxy in front of the test database, and the database URL through it."""
    database = urlsplit(child_env["DATABASE_URL"])
    if database.scheme == "sqlite":
        pytest.fail("a database outage through a proxy needs PostgreSQL")
    proxy = TcpCut(database.hostname or "127.0.0.1", database.port or 5432).start()
    address = database.netloc.split("@")[-1]
    yield proxy, child_env["DATABASE_URL"].replace(address, f"127.0.0.1:{proxy.port}")
    proxy.stop()


@pytest.fixture
def aapl_priced(web_server: LiveServer) -> None:
    priced_row("AAPL")


def test_a_subscribe_refused_as_unavailable_is_sent_again_until_it_is_taken(
    aapl_priced: None,
    database_cut: tuple[TcpCut, str],
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
    browser: Any,  # noqa: F811
) -> None:
    proxy, database_url = database_cut
    env = {**child_env, "DATABASE_URL": database_url, "REALTIME_PUBLIC_SYMBOLS": "AAPL"}
    server = web_server_start(start_process, env, name="web-through-proxy")
    page = dashboard_open(browser, server)  # signed out: no session to read
    market = page.locator('tr[data-symbol="AAPL"] [data-field="market_state"]')
    priced(page, "AAPL")
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda text: sent.append(str(text))))

    # A new server process knows no symbol yet: with the database away, the page's subscribe
    # after reconnecting is answered `unavailable`.
    proxy.cut()
    server.process.stop()
    start_process("web-again", procfile_command("web"), {**env, "PORT": str(server.port)})
    wait_until(lambda: port_answers(server.port), timeout=30, what="uvicorn to listen again")
    expect(market).to_have_text("not live: server busy, retrying", timeout=45_000)
    assert page.locator('tr[data-symbol="AAPL"] [data-field="price"]').inner_text() != "\u2014"

    proxy.restore()
    expect(market).not_to_have_text(re.compile("not live"), timeout=20_000)  # the snapshot
    expect(page.locator('tr[data-symbol="AAPL"]')).not_to_have_class(re.compile("not-live"))
    subscribes = [text for text in sent if '"subscribe_asset"' in text]
    assert len(subscribes) >= 2, sent  # the first was refused, a later one taken
    assert page.errors == []
