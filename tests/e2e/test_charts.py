"""The charts in the pages, in real headless Chromium against the real stack (uvicorn and a
Celery worker on the simulated market): a row's sparkline grows with each price and keeps the
ring's bound; an opened row draws today and then a month of daily bars; a symbol without bars
says "loading…" and fills in when `history_ready` comes over the socket; a portfolio's
performance chart draws an incomplete day as incomplete and a day with no value as a gap,
never as 0. Also makes docs/screenshots/charts.png and performance.png."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from apps.market.intraday import intraday_push
from apps.market.models import Asset, PriceBar
from apps.market.providers.base import Quote
from apps.market.providers.simulated import SimulatedProvider
from apps.market.series import SPARKLINE_POINTS
from apps.portfolios.holdings import portfolios_value_held
from apps.portfolios.models import (
    DailyValueSource,
    Portfolio,
    PortfolioDailyValue,
    Watchlist,
    WatchlistItem,
)
from apps.portfolios.value_ring import value_ring_push
from tests.conftest import LiveServer

# Fixtures, imported under their own names so that pytest finds them here.
from tests.e2e.test_pages import browser as browser
from tests.e2e.test_pages import demo_stack as demo_stack
from tests.e2e.test_portfolio_pages import db, no_sideways_scroll, signed_in
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A folder for the phone screenshots (looked at, not published); unset, the test's own.
PHONE_SCREENSHOTS = os.environ.get("CHARTS_PHONE_SCREENSHOTS")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
POINTS = "el => Number(el.dataset.points || 0)"
ALL_SPARKLINES_DRAWN = (
    "() => [...document.querySelectorAll('.spark')].every(el => Number(el.dataset.points) > 1)"
)
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"
# Every state a chart shows, in order, however briefly (kept in window.chartStates).
STATES_RECORDED = """el => {
  window.chartStates = [];
  const note = () => el.dataset.state + ':' + el.querySelector('.chart-state').textContent;
  new MutationObserver(() => window.chartStates.push(note()))
    .observe(el, {attributes: true, attributeFilter: ['data-state']});
}"""


def simulated_quotes(symbols: list[str], at: datetime) -> dict[str, Quote]:
    """The simulated market's quotes at a past moment (the same in every process)."""
    return SimulatedProvider(clock=lambda: at).quotes(symbols).quotes


def ring_fill(symbols: list[str], *, count: int, step_seconds: int = 60) -> None:
    """`count` past prices per symbol in the intraday ring, as the feed would have saved
    them, pushed by the ring's own code."""
    now = datetime.now(UTC).replace(microsecond=0)
    for back in range(count, 0, -1):
        moment = now - timedelta(seconds=back * step_seconds)
        intraday_push(list(simulated_quotes(symbols, moment).values()))


def value_ring_fill(portfolio_id: int, *, count: int, step_seconds: int = 60) -> None:
    """`count` past values of the portfolio in its ring: each position's value now moved by
    its simulated price then, pushed by the ring's own code."""
    held = portfolios_value_held([portfolio_id])[0]
    symbols = [h.symbol for h in held.holdings]
    now = datetime.now(UTC).replace(microsecond=0)
    latest = simulated_quotes(symbols, now)
    for back in range(count, 0, -1):
        moment = now - timedelta(seconds=back * step_seconds)
        then = simulated_quotes(symbols, moment)
        moved = (
            h.value * then[h.symbol].price / latest[h.symbol].price
            for h in held.holdings
            if h.value is not None
        )
        total = sum(moved, Decimal(0)).quantize(Decimal("0.01"))
        value_ring_push([replace(held, total_value=total, as_of=moment)])


def ticks_until(page: Any, condition: str, arg: Any, what: str) -> None:
    """Price ticks (what beat sends) until `condition(arg)` holds on the page. The simulated
    market moves once a second: a tick within the same second saves nothing new."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from workers.tasks import refresh_prices

    for _ in range(6):
        db(refresh_prices.delay)
        try:
            page.wait_for_function(condition, arg=arg, timeout=4_000)
        except PlaywrightTimeout:
            continue
        return
    raise AssertionError(f"6 ticks and still not: {what}")


def messages(text: str | bytes) -> list[dict[str, Any]]:
    """The messages of one frame (a batch is several)."""
    frame = json.loads(text)
    return list(frame["data"]["updates"]) if frame.get("type") == "batch" else [frame]


def points_of(locator: Any) -> int:
    return int(locator.evaluate(POINTS))


def requests_to(page: Any, path: str) -> list[str]:
    """Every URL the page asks for under `path`, from now on."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if path in request.url else None)
    return seen


def ready(page: Any, chart: Any, timeout: float = 30_000) -> Any:
    """The chart (`.chart`) once it has drawn a series."""
    chart.and_(page.locator('[data-state="ready"]')).wait_for(timeout=timeout)
    return chart


def opened(page: Any, symbol: str, scope: str = "") -> Any:
    """Opens the row of `symbol` by its chart button; its chart row once drawn."""
    page.locator(f'{scope} tr[data-symbol="{symbol}"] button.chart-toggle').click()
    panel = page.locator(f'tr.chart-row[data-chart-for="{symbol}"]')
    ready(page, panel.locator(".chart"))
    return panel


def bars_since(symbol: str, days: int) -> int:
    since = datetime.now(UTC).date() - timedelta(days=days)
    return db(PriceBar.objects.filter(asset__symbol=symbol, date__gte=since).count)


def bars_cover_a_month(symbol: str) -> None:
    """Daily bars for the last month (seed_demo may have fetched them already: kept then)."""
    asset = Asset.objects.get(symbol=symbol)
    today = datetime.now(UTC).date()
    for back in range(1, 31):
        price = Decimal(200 + back % 7)
        PriceBar.objects.get_or_create(
            asset=asset, date=today - timedelta(days=back),
            defaults={"open": price, "high": price + 2, "low": price - 2, "close": price + 1},
        )  # fmt: skip


@pytest.fixture
def watcher(demo_stack: LiveServer) -> User:
    """A user watching AAPL, MSFT and NFLX (a symbol with no daily bars), holding two."""
    user = user_create(username="wanda")
    asset_create("NFLX", name="Netflix, Inc.", currency="USD", asset_type="stock")
    watchlist = Watchlist.objects.create(owner=user)
    for position, symbol in enumerate(("AAPL", "MSFT", "NFLX")):
        WatchlistItem.objects.create(
            watchlist=watchlist, asset=Asset.objects.get(symbol=symbol), position=position
        )
    portfolio = portfolio_create(owner=user, name="Wanda's")
    for symbol in ("AAPL", "MSFT"):
        position_create(portfolio, Asset.objects.get(symbol=symbol))
    bars_cover_a_month("AAPL")
    return user


def test_a_rows_sparkline_grows_with_each_price_and_keeps_the_rings_bound(
    demo_stack: LiveServer, watcher: User, browser: Any
) -> None:
    bound = settings.REALTIME_INTRADAY_POINTS
    ring_fill(["MSFT"], count=30)
    ring_fill(["AAPL"], count=bound)  # a full day: the sparkline gets it thinned
    page = signed_in(browser, demo_stack, watcher, viewport=DESKTOP)
    asked = requests_to(page, "/api/market/sparklines/")
    page.goto(f"{demo_stack.http_url}/realtime/dashboard/")
    msft = page.locator('tr[data-symbol="MSFT"] .spark')
    aapl = page.locator('tr[data-symbol="AAPL"] .spark')
    page.wait_for_function(f"el => ({POINTS})(el) >= 30", arg=msft.element_handle())
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    before, label = points_of(msft), aapl.get_attribute("aria-label") or ""
    first = points_of(aapl)  # the thinned day, and the live prices since the page went live
    assert SPARKLINE_POINTS <= first <= SPARKLINE_POINTS + 3
    money = r"\$[\d,]+\.\d\d"
    assert re.fullmatch(rf"AAPL today: from {money} to {money}, [+-]?[\d.]+%", label)

    grown = f"el => ({POINTS})(el) > {before}"
    ticks_until(page, grown, msft.element_handle(), "MSFT's line to grow")
    assert points_of(msft) == before + 1
    # Each live price is added after the thinned day (the label may not change: it shows cents).
    grown = f"el => ({POINTS})(el) > {first}"
    ticks_until(page, grown, aapl.element_handle(), "AAPL's line to grow")
    drawn = msft.evaluate("el => el.querySelector('polyline').getAttribute('points')")
    assert len(drawn.split(" ")) == before + 1
    # One request for the page's rows; every price since came over the socket.
    assert len(asked) == 1
    assert "symbols=AAPL%2CMSFT%2CNFLX" in asked[0].replace(",", "%2C")
    assert page.errors == []


def test_an_opened_row_shows_today_and_then_a_month_of_daily_bars(
    demo_stack: LiveServer, watcher: User, browser: Any
) -> None:
    ring_fill(["AAPL"], count=40)
    page = signed_in(browser, demo_stack, watcher, viewport=DESKTOP)
    page.goto(f"{demo_stack.http_url}/realtime/dashboard/")
    toggle = page.locator('tr[data-symbol="AAPL"] button.chart-toggle')
    panel = opened(page, "AAPL")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.get_attribute("aria-controls") == panel.locator(".chart-panel").get_attribute(
        "id"
    )
    chart = panel.locator(".chart")
    assert points_of(chart) >= 40
    assert (panel.locator(".chart-reference text").text_content() or "").startswith("Prev close $")
    plot = panel.locator(".chart-plot")
    assert (plot.get_attribute("aria-label") or "").startswith("AAPL today: from $")
    alert = panel.locator("a.chart-alert")
    assert alert.get_attribute("href") == f"{reverse('alert-create')}?symbol=AAPL"

    # The pointer reads the value under it: a crosshair and a line of time and value.
    box = plot.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    assert panel.locator(".chart-cross").get_attribute("visibility") == "visible"
    readout = panel.locator(".chart-readout").inner_text()
    clock, money = r"\d\d:\d\d:\d\d( [AP]M)?", r"\$[\d,]+\.\d\d"
    assert re.fullmatch(rf"{clock} \u00b7 {money} \([+-]?[\d.]+% vs prev close\)", readout)
    # So do the arrow keys.
    plot.focus()
    page.keyboard.press("Home")
    first = panel.locator(".chart-readout").inner_text()
    page.keyboard.press("ArrowRight")
    assert panel.locator(".chart-readout").inner_text() != first

    panel.get_by_role("button", name="1M").click()
    assert panel.get_by_role("button", name="1M").get_attribute("aria-pressed") == "true"
    ready(page, chart)
    assert points_of(chart) == bars_since("AAPL", 30) >= 20
    assert panel.locator(".chart-reference").count() == 0  # the previous close is today's
    assert "AAPL 1 month: from $" in (plot.get_attribute("aria-label") or "")
    toggle.click()
    assert page.locator("tr.chart-row").count() == 0
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.errors == []


def test_a_symbol_without_bars_says_loading_then_fills_in_when_its_history_arrives(
    demo_stack: LiveServer, watcher: User, browser: Any
) -> None:
    assert bars_since("NFLX", 400) == 0
    page = signed_in(browser, demo_stack, watcher, viewport=DESKTOP)
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda t: frames.extend(messages(t))))
    answers: list[dict[str, Any]] = []
    month = "/assets/NFLX/series/?range=1m"
    page.on("response", lambda r: answers.append(r.json()) if month in r.url else None)
    page.goto(f"{demo_stack.http_url}/realtime/dashboard/")
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    page.locator('tr[data-symbol="NFLX"] button.chart-toggle').click()
    panel = page.locator('tr.chart-row[data-chart-for="NFLX"]')
    chart = panel.locator(".chart")
    chart.and_(page.locator('[data-state="empty"]')).wait_for()  # no prices today: not 0
    assert panel.locator(".chart-state").inner_text() == "No prices yet today."
    chart.evaluate(STATES_RECORDED)
    panel.get_by_role("button", name="1M").click()
    ready(page, chart, timeout=45_000)

    states = page.evaluate("window.chartStates")
    assert states[0] == "loading:loading\u2026"
    assert "loading:loading\u2026 (fetching the price history)" in states
    assert states[-1] == "ready:"
    assert [answer["status"] for answer in answers] == ["loading", "ready"]
    told = [f["data"] for f in frames if f.get("type") == "history_ready"]
    assert [(t["symbol"], "1m" in t["ranges"], t["error"]) for t in told] == [("NFLX", True, None)]
    assert points_of(chart) == len(answers[-1]["points"]) == bars_since("NFLX", 30) > 0
    assert page.errors == []


@pytest.fixture
def history_portfolio(demo_stack: LiveServer) -> Portfolio:
    """Twelve recorded days: one incomplete (KO had no price: a partial value), one with no
    value at all, the rest complete."""
    portfolio = portfolio_create(owner=user_create(username="hana"), name="History")
    for symbol in ("AAPL", "KO"):
        position_create(portfolio, Asset.objects.get(symbol=symbol), cost_basis="4000")
    today = datetime.now(UTC).date()
    for back in range(12, 0, -1):
        day = today - timedelta(days=back)
        value: Decimal | None = Decimal(10_000 + 80 * (12 - back))
        missing: list[str] = []
        if back == 8:
            value, missing = Decimal("6100.00"), ["KO: no price"]
        if back == 4:
            value, missing = None, ["AAPL: no price", "KO: no price"]
        PortfolioDailyValue.objects.create(
            portfolio=portfolio, date=day, currency="USD", total_value=value,
            cost_basis=Decimal("8000.00"), positions=2, complete=not missing, missing=missing,
            source=DailyValueSource.DAILY, as_of=datetime.combine(day, datetime.max.time(), UTC),
            recorded_at=datetime.now(UTC),
        )  # fmt: skip
    return Portfolio.objects.select_related("owner").get(pk=portfolio.pk)


def pointer_on(page: Any, chart: Any, day: date) -> float:
    """Moves the pointer along the plot until the readout is of `day`; its x in the chart."""
    box = chart.locator(".chart-plot").bounding_box()
    label = page.evaluate(f"Charts.whenFull(Charts.timeOf('{day.isoformat()}'), true)")
    for step in range(101):
        page.mouse.move(box["x"] + box["width"] * step / 100, box["y"] + box["height"] / 2)
        if chart.locator(".chart-readout").inner_text().startswith(label):
            return float(chart.locator(".chart-cross line").get_attribute("x1") or "nan")
    raise AssertionError(f"no point of {label} under the pointer")


def test_the_performance_chart_draws_an_incomplete_day_as_such_and_never_as_zero(
    demo_stack: LiveServer, history_portfolio: Portfolio, browser: Any
) -> None:
    portfolio = history_portfolio
    page = signed_in(browser, demo_stack, portfolio.owner, viewport=DESKTOP, locale="en-GB")
    page.goto(f"{demo_stack.http_url}/portfolios/{portfolio.pk}/")
    chart = ready(page, page.locator("#performance"), timeout=20_000)
    assert points_of(chart) == 12
    # The incomplete day: a hollow marker at its partial value, on dashed segments.
    assert chart.locator(".chart-markers .chart-incomplete").count() == 1
    dashed = chart.locator(".chart-main .chart-line-incomplete").get_attribute("d") or ""
    assert dashed.count("M") == 2  # from the day before to it, from it to the day after
    # No 0 on the axis: its lowest label is near the partial value.
    texts = chart.locator(".chart-grid text").all_text_contents()
    labels = [float(t.replace(",", "")) for t in texts if re.fullmatch(r"[\d,]+(\.\d+)?", t)]
    assert labels
    assert min(labels) > 5000

    today = datetime.now(UTC).date()
    pointer_on(page, chart, today - timedelta(days=8))
    readout = chart.locator(".chart-readout").inner_text()
    assert "6,100.00 USD" in readout
    assert readout.endswith("incomplete: KO: no price")
    # The day with no value is a gap: no line reaches it, and the pointer shows no dot there.
    gap = pointer_on(page, chart, today - timedelta(days=4))
    assert (
        chart.locator(".chart-readout")
        .inner_text()
        .endswith("value unknown: AAPL: no price; KO: no price")
    )
    assert chart.locator(".chart-cross circle").get_attribute("visibility") == "hidden"
    paths = chart.locator(".chart-main path").evaluate_all("ps => ps.map(p => p.getAttribute('d'))")
    xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+),", " ".join(paths))]
    assert xs
    assert all(abs(x - gap) > 1 for x in xs)
    described = chart.locator(".chart-plot").get_attribute("aria-label") or ""
    assert "(1 incomplete, 1 without a value)" in described

    page.get_by_role("button", name="Gain").click()
    ready(page, chart)
    assert chart.locator(".chart-reference text").text_content() == "Cost basis (no gain)"
    set_alert = page.locator("a.pf-button", has_text="Set alert")
    assert set_alert.get_attribute("href") == f"{reverse('alert-create')}?portfolio={portfolio.pk}"
    alerts = page.locator("a.pf-button", has_text="Alerts")
    assert alerts.get_attribute("href") == f"{reverse('alert-list')}?portfolio={portfolio.pk}"

    # Today's value chart grows with each portfolio_update whose total is known.
    today_chart = page.locator("#value-today")
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    grown = f"el => ({POINTS})(el) > {points_of(today_chart)}"
    ticks_until(page, grown, today_chart.element_handle(), "today's chart to grow")
    assert page.errors == []


def test_screenshots_of_the_charts(demo_stack: LiveServer, browser: Any, tmp_path: Path) -> None:
    db(lambda: call_command("seed_demo", stdout=StringIO()))  # with its year of history
    demo = db(lambda: User.objects.get(username="demo"))
    symbols = db(lambda: list(Asset.objects.values_list("symbol", flat=True)))
    ring_fill(symbols, count=settings.REALTIME_INTRADAY_POINTS, step_seconds=45)
    growth = db(lambda: Portfolio.objects.get(owner=demo, name="Growth Portfolio"))
    db(lambda: value_ring_fill(growth.pk, count=180, step_seconds=30))

    page = signed_in(browser, demo_stack, demo, viewport={"width": 1280, "height": 1180})
    page.goto(f"{demo_stack.http_url}/realtime/dashboard/")
    page.wait_for_function(ALL_SPARKLINES_DRAWN, timeout=20_000)
    page.wait_for_selector("#connection-state:text('live')", timeout=15_000)
    ticks_until(  # the cards' values: the seed's snapshot predates every price
        page, "() => [...document.querySelectorAll('.card [data-field=total_value]')]"
        ".every(el => /[0-9]/.test(el.textContent))", None, "the portfolio cards' values",
    )  # fmt: skip
    plot = opened(page, "AAPL").locator(".chart-plot").bounding_box()
    page.mouse.move(plot["x"] + plot["width"] * 0.62, plot["y"] + plot["height"] / 2)
    page.wait_for_function(SETTLED)  # no price cell caught mid-flash
    page.screenshot(path=str(SCREENSHOTS / "charts.png"), animations="disabled")

    page.goto(f"{demo_stack.http_url}/portfolios/{growth.pk}/")
    ready(page, page.locator("#performance"))
    page.get_by_role("button", name="6M").click()
    ready(page, page.locator("#performance"))
    ready(page, page.locator("#value-today"))
    opened(page, "NVDA", "#holdings")
    page.wait_for_function(SETTLED)
    page.screenshot(
        path=str(SCREENSHOTS / "performance.png"), full_page=True, animations="disabled"
    )
    assert page.errors == []

    # A phone: nothing scrolls sideways, an opened chart included.
    folder = Path(PHONE_SCREENSHOTS) if PHONE_SCREENSHOTS else tmp_path
    phone = signed_in(browser, demo_stack, demo, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"{demo_stack.http_url}/portfolios/{growth.pk}/")
    ready(phone, phone.locator("#performance"))
    opened(phone, "AAPL", "#holdings")
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(folder / "performance-390.png"), full_page=True)
    phone.goto(f"{demo_stack.http_url}/realtime/dashboard/")
    phone.wait_for_function(ALL_SPARKLINES_DRAWN, timeout=20_000)
    panel = opened(phone, "AAPL")
    panel.locator(".chart-plot").tap(position={"x": 60, "y": 40})  # a finger reads it too
    assert panel.locator(".chart-cross").get_attribute("visibility") == "visible"
    assert panel.locator(".chart-readout").inner_text().endswith("vs prev close)")
    assert phone.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(folder / "charts-390.png"), full_page=True)
    assert phone.errors == []
