"""The test console (/realtime/test/) in real headless Chromium, against the real stack:
connect and disconnect, templates and raw frames, the frame log, ping latency, counters,
close codes with their meaning, the socket URL, and a 390 px wide screen."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import expect

from tests.conftest import (
    LiveServer,
    RunningProcess,
    procfile_command,
    wait_until,
    web_server_start,
)
from tests.e2e.test_pages import browser, demo_stack  # noqa: F401  # Chromium, the demo stack
from tests.e2e.test_websocket_protocol import priced

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CONSOLE = "/realtime/test/"
SEND = "#send-form button[type=submit]"
SEND_RAW = "#raw-form button[type=submit]"
MILLISECONDS = re.compile(r"^\d+(\.\d)? ms$")
CLOCK_MS = re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")
POSITIVE = re.compile(r"^[1-9]\d*$")
# A folder to keep the screenshots in (docs/screenshots/console.png is made this way);
# unset, they go to the test's own temporary folder.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@pytest.fixture
def priced_server(web_server: LiveServer) -> LiveServer:
    """The server with AAPL and MSFT priced. Set up before the browser starts: Playwright's
    loop then owns the thread, and the ORM refuses to run under it."""
    for symbol in ("AAPL", "MSFT"):
        priced(symbol)
    return web_server


def console_open(chromium: Any, server: LiveServer, **page_options: Any) -> tuple[Any, list[str]]:
    """A console page, live; the list collects the page's uncaught errors."""
    page = chromium.new_page(**page_options)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.http_url}{CONSOLE}")
    expect(page.locator("#console-state")).to_have_attribute("data-state", "live", timeout=15_000)
    return page, errors


def counter(page: Any, message_type: str) -> Any:
    return page.locator(f'#counters tr[data-type="{message_type}"] .count')


def template_send(page: Any, message_type: str, data: str | None = None) -> None:
    page.select_option("#message-type", message_type)
    if data is not None:
        page.fill("#message-data", data)
    page.click(SEND)


def raw_send(page: Any, text: str) -> None:
    page.fill("#raw-message", text)
    page.click(SEND_RAW)


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def publish_in_a_thread(symbols: list[str]) -> None:
    """What the pipeline does on a tick (Playwright's loop owns this thread)."""
    from apps.streams.frames import frame_encode
    from apps.streams.groups import asset_group
    from apps.streams.publish import frames_publish_rollback_unsafe

    frames = [
        (asset_group(s), frame_encode("asset_update", {"symbol": s, "price": 101})) for s in symbols
    ]

    def run() -> None:
        try:
            frames_publish_rollback_unsafe(frames)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)


def test_console_pings_subscribes_shows_errors_and_disconnects(
    demo_stack: LiveServer,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    page, errors = console_open(browser, demo_stack, viewport={"width": 1280, "height": 900})
    expect(page.locator("#connection-state")).to_have_text("live")
    expect(page.locator("#socket-url")).to_have_text(demo_stack.ws_url)
    expect(counter(page, "connection")).to_have_text("1")
    # No pong yet: the latency is unknown, shown as a dash, never as 0.
    expect(page.locator("#latency-last")).to_have_text("\u2014")

    page.select_option("#message-type", "ping")
    expect(page.locator("#message-data")).to_have_value("{}")
    page.click(SEND)
    expect(page.locator("#latency-last")).to_have_text(MILLISECONDS)
    expect(page.locator("#latency-median")).to_have_text(MILLISECONDS)
    expect(page.locator("#latency-count")).to_have_text("1")
    expect(counter(page, "pong")).to_have_text("1")

    page.select_option("#message-type", "subscribe_asset")
    assert json.loads(page.input_value("#message-data")) == {"symbol": "AAPL"}
    page.click(SEND)
    expect(counter(page, "subscribed")).to_have_text("1")
    expect(counter(page, "asset_update")).to_have_text(POSITIVE)
    expect(page.locator(".frame.in.type-asset_update").first).to_contain_text('"AAPL"')

    invalid = '{"type": "ping", "data": {'
    raw_send(page, invalid)
    newest = page.locator("#frames > .frame").first
    expect(newest).to_have_class(re.compile(r"\btype-error\b"))
    expect(newest).to_contain_text("invalid_json")
    expect(page.locator("#frames > .frame.out").first.locator(".frame-text")).to_have_text(invalid)
    expect(newest.locator("time")).to_have_text(CLOCK_MS)
    expect(counter(page, "error")).to_have_text("1")
    expect(page.locator("#latency-count")).to_have_text("1")  # an error is not a pong
    screenshot(page, tmp_path, "console.png")

    page.click("#disconnect")
    state = page.locator("#console-state")
    expect(state).to_have_attribute("data-state", "closed")
    expect(state).to_contain_text("1000")
    expect(state).to_contain_text("normal")
    expect(page.locator("#connection-state")).to_have_text("closed")
    expect(page.locator("#console-retry")).to_have_text("")
    expect(page.locator("#disconnect")).to_be_disabled()
    sent = page.locator("#frames > .frame.out").count()
    page.click(SEND)
    expect(page.locator("#send-problem")).to_contain_text("not connected")
    assert page.locator("#frames > .frame.out").count() == sent

    page.click("#connect")
    expect(state).to_have_attribute("data-state", "live")
    expect(counter(page, "connection")).to_have_text("2")
    expect(page.locator("#send-problem")).to_have_text("")
    assert errors == []


def test_a_batch_shows_as_one_entry_and_the_log_filters_and_pauses(
    priced_server: LiveServer,
    browser: Any,  # noqa: F811
) -> None:
    page, errors = console_open(browser, priced_server)
    page.select_option("#message-type", "set_batching")
    assert json.loads(page.input_value("#message-data")) == {"enabled": True}
    page.click(SEND)
    expect(page.locator(".frame.in.type-subscribed").first).to_contain_text('"batching"')
    template_send(page, "subscribe_asset", '{"symbol": "AAPL"}')
    template_send(page, "subscribe_asset", '{"symbol": "MSFT"}')
    expect(counter(page, "asset_update")).to_have_text("2")  # the two snapshots

    publish_in_a_thread(["AAPL", "MSFT"])
    batch = page.locator("#frames > .frame.in.type-batch")
    expect(batch).to_have_count(1)
    expect(batch).to_contain_text("2 updates")
    expect(batch.locator(".frame-part.type-asset_update")).to_have_count(2)
    expect(counter(page, "batch")).to_have_text("1")
    expect(counter(page, "asset_update")).to_have_text("4")

    frames = page.locator("#frames > .frame")
    shown = page.locator("#frames > .frame:visible")
    page.select_option("#log-filter", "batch")
    expect(shown).to_have_count(1)
    page.select_option("#log-filter", "asset_update")  # the snapshots and the batch
    expect(shown).to_have_count(3)
    page.select_option("#log-filter", "sent")
    expect(shown).to_have_count(3)
    for sent in shown.all():
        expect(sent).to_have_class(re.compile(r"\bout\b"))
    page.select_option("#log-filter", "")

    logged = frames.count()
    pause = page.locator("#log-pause")
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    template_send(page, "ping", "{}")
    expect(page.locator("#latency-count")).to_have_text("1")  # measured while paused
    expect(page.locator("#log-held")).to_have_text("2 held")
    assert frames.count() == logged
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "false")
    expect(frames).to_have_count(logged + 2)
    expect(frames.first).to_have_class(re.compile(r"\btype-pong\b"))
    assert errors == []


def test_reconnecting_counts_down_comes_back_live_and_can_be_cancelled(
    web_server: LiveServer,
    browser: Any,  # noqa: F811
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
) -> None:
    page, errors = console_open(browser, web_server)
    state = page.locator("#console-state")
    retry = page.locator("#console-retry")

    def server_again(name: str) -> RunningProcess:
        env = {**child_env, "PORT": str(web_server.port)}
        server = start_process(name, procfile_command("web"), env)
        wait_until(lambda: port_answers(web_server.port), timeout=30, what=f"{name} to listen")
        return server

    web_server.process.stop()
    expect(state).to_have_attribute("data-state", "reconnecting", timeout=15_000)
    expect(state).to_contain_text(re.compile(r"closed \d{4}: \w"))
    expect(retry).to_have_text(re.compile(r"^next try in \d+ s$"))
    expect(page.locator("#connection-state")).to_have_text("reconnecting")
    again = server_again("web-again")
    expect(state).to_have_attribute("data-state", "live", timeout=45_000)  # on its own
    expect(retry).to_have_text("")
    expect(counter(page, "connection")).to_have_text("2")

    again.stop()
    expect(retry).to_have_text(re.compile(r"^next try in \d+ s$"), timeout=15_000)
    page.click("#disconnect")
    expect(state).to_have_attribute("data-state", "closed")
    expect(state).to_contain_text(re.compile(r"reconnecting cancelled|you disconnected"))
    expect(retry).to_have_text("")
    server_again("web-third")
    # Nothing reconnects on its own any more (the button would be disabled if it had).
    page.click("#connect", timeout=5_000)
    expect(state).to_have_attribute("data-state", "live", timeout=15_000)
    expect(counter(page, "connection")).to_have_text("3")
    assert errors == []


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_refused_socket_shows_the_close_code_and_its_meaning_and_stays_closed(
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
    browser: Any,  # noqa: F811
) -> None:
    env = {**child_env, "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "1"}
    server = web_server_start(start_process, env)
    console_open(browser, server)

    second = browser.new_page()
    second.goto(f"{server.http_url}{CONSOLE}")
    state = second.locator("#console-state")
    expect(state).to_have_attribute("data-state", "closed", timeout=15_000)
    # The meaning comes from /realtime/websocket-info/'s close_codes.
    expect(state).to_contain_text("4029: too many connections")
    expect(second.locator("#console-retry")).to_have_text("")
    expect(second.locator("#connect")).to_be_enabled()


def test_the_socket_url_copies_with_the_clipboard_api_and_without_it(
    web_server: LiveServer,
    browser: Any,  # noqa: F811
) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{web_server.http_url}{CONSOLE}")
    page.click("#copy-url")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == web_server.ws_url

    page.evaluate("navigator.clipboard.writeText('something else')")
    bare = context.new_page()
    bare.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    bare.goto(f"{web_server.http_url}{CONSOLE}")
    bare.click("#copy-url")
    expect(bare.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == web_server.ws_url
    context.close()


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    '.console button, .console select, .console textarea, .console input')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML)"""


def test_the_console_fits_390_px_and_every_control_has_a_label(
    priced_server: LiveServer,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    page, errors = console_open(browser, priced_server, viewport={"width": 390, "height": 844})
    template_send(page, "subscribe_asset", '{"symbol": "AAPL"}')
    expect(counter(page, "asset_update")).to_have_text("1")
    raw_send(page, '{"type": "subscribe_asset", "data": {"symbol": "' + "X" * 300 + '"}}')
    expect(page.locator(".frame.in.type-error").first).to_contain_text("invalid_data")

    page.select_option("#raw-example", label="unknown_type")
    page.press("#raw-message", "Control+Enter")  # sends the form, like its button
    expect(page.locator(".frame.in.type-error").first).to_contain_text("unknown_type")

    template_send(page, "ping", '{"not json')
    expect(page.locator("#send-problem")).to_contain_text("not JSON")
    expect(page.locator("#message-data")).to_have_attribute("aria-invalid", "true")

    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert page.locator(".console a").count() == 0  # actions are buttons, not links
    assert page.locator("#console-state").get_attribute("role") == "status"
    screenshot(page, tmp_path, "console-390.png")
    assert errors == []


# Replies come in order, one per frame sent; a pong names no ping, and an error for a frame
# the server could not read (invalid JSON, rate limited) names no request at all.
PING_CLOCK_CASES = """() => {
  const ping = '{"type": "ping", "data": {}}';
  const clock = new PingClock();
  const seen = [];
  clock.sent(ping, 0);
  clock.sent('{"type": "ping", "data": {', 1);
  clock.sent('{"type": "subscribe_asset", "data": {"symbol": "AAPL"}}', 2);
  clock.sent(ping, 3);
  seen.push(clock.received({type: "pong", data: {}}, 10));
  seen.push(clock.received({type: "error", data: {code: "invalid_json", request_type: null}}, 11));
  seen.push(clock.received({type: "subscribed", data: {kind: "asset"}}, 12));
  seen.push(clock.received({type: "asset_update", data: {}}, 13));
  seen.push(clock.received({type: "pong", data: {}}, 18));
  clock.sent(ping, 20);
  clock.sent(ping, 30);
  seen.push(clock.received({type: "error", data: {code: "rate_limited", request_type: null}}, 31));
  seen.push(clock.received({type: "pong", data: {}}, 34));
  seen.push(clock.median());
  clock.sent(ping, 40);
  clock.reset();
  seen.push(clock.received({type: "pong", data: {}}, 50));
  return seen;
}"""


def test_each_pong_is_timed_against_its_own_ping(
    web_server: LiveServer,
    browser: Any,  # noqa: F811
) -> None:
    page = browser.new_page()
    page.goto(f"{web_server.http_url}{CONSOLE}")
    # 10 ms, not a reply, not a reply, not a reply, 15 ms; the rate-limited ping is never
    # timed and the next pong is 4 ms, not 14; median 10; a pong after a reconnect is not
    # timed against a ping sent on the old socket.
    assert page.evaluate(PING_CLOCK_CASES) == [10, None, None, None, 15, None, 4, 10, None]


# The console's own FrameLog, on elements of its own: 600 frames in, then 600 while paused.
FRAME_LOG_BOUND = """() => {
  const select = document.createElement("select");
  select.append(new Option("all", ""));
  const list = document.createElement("ol");
  const pause = document.createElement("button");
  const log = new FrameLog({
    list, filter: select, pause, held: document.createElement("span"),
    summary: document.createElement("span"),
  });
  const frame = (n) => `{"type": "pong", "data": {"n": ${n}}}`;
  for (let n = 1; n <= 600; n++) log.add("in", frame(n), JSON.parse(frame(n)));
  const kept = [list.children.length, list.firstElementChild.textContent.includes('"n": 600}')];
  pause.click();
  for (let n = 601; n <= 1200; n++) log.add("in", frame(n), JSON.parse(frame(n)));
  const held = [list.children.length, log.held.length];
  pause.click();
  return [...kept, ...held, list.children.length,
    list.firstElementChild.textContent.includes('"n": 1200}'),
    list.lastElementChild.textContent.includes('"n": 701}')];
}"""


def test_the_log_keeps_the_newest_500_frames_paused_or_not(
    web_server: LiveServer,
    browser: Any,  # noqa: F811
) -> None:
    page = browser.new_page()
    page.goto(f"{web_server.http_url}{CONSOLE}")
    assert page.evaluate(FRAME_LOG_BOUND) == [500, True, 500, 500, 500, True, True]
