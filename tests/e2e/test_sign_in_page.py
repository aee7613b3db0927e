"""Signing in, changing the password and signing out in real headless Chromium, and the
sign-in lockout as served by the real uvicorn (Django's async middleware path, and the
client address uvicorn resolved from trusted proxies)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer, RunningProcess, web_server_start
from tests.e2e.test_pages import browser  # noqa: F401  # Chromium
from tests.factories import user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
NEW_PASSWORD = "a-new-passphrase-for-kim-7"
LOCKED = "Too many failed attempts; try again in 15 minutes."
# A folder to keep the screenshot in (docs/screenshots/sign-in.png is made this way); unset,
# it goes to the test's own temporary folder.
SCREENSHOTS = os.environ.get("ACCOUNTS_SCREENSHOTS")


def sign_in_form(page: Any, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")


@pytest.fixture
def kims_server(web_server: LiveServer) -> LiveServer:
    """The server, with kim's account. Made before the browser starts: Playwright's loop then
    owns the thread, and the ORM refuses to run under it."""
    user_create(username="kim")
    return web_server


def test_someone_who_is_not_staff_signs_in_changes_their_password_and_signs_out(
    kims_server: LiveServer,
    browser: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    web_server = kims_server
    page = browser.new_page()
    errors: list[str] = []  # on the accounts pages (the others have tests of their own)

    def on_error(error: Any) -> None:
        if "/accounts/" in page.url:
            errors.append(str(error))

    page.on("pageerror", on_error)
    who = page.locator("header .account")

    # From the test console, through the header's link, and back to the console.
    page.goto(f"{web_server.http_url}/realtime/test/")
    page.click("header .account >> text=Sign in")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/realtime/test/$"))
    expect(page.locator("h2")).to_have_text("Sign in")
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "sign-in.png"), full_page=True)
    sign_in_form(page, "kim", "not-my-password")
    expect(page.locator("main .errorlist")).to_contain_text("Please enter a correct username")
    sign_in_form(page, "kim", PASSWORD)
    page.wait_for_url(f"{web_server.http_url}/realtime/test/")
    expect(who).to_contain_text("Signed in as kim")
    expect(page.locator("header nav >> text=Admin")).to_have_count(0)  # not staff

    page.click("header .account >> text=Change password")
    page.wait_for_url("**/accounts/password_change/")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/password_change/done/")
    expect(page.locator("main")).to_contain_text("Your password was changed")
    expect(who).to_contain_text("Signed in as kim")

    page.click("header .account >> text=Sign out")
    page.wait_for_url("**/realtime/dashboard/")
    expect(who).to_contain_text("Sign in")
    expect(who).not_to_contain_text("kim")

    # Only the new password opens the account now.
    page.goto(f"{web_server.http_url}/accounts/login/")
    sign_in_form(page, "kim", PASSWORD)
    expect(page.locator("main .errorlist")).to_contain_text("Please enter a correct username")
    sign_in_form(page, "kim", NEW_PASSWORD)
    page.wait_for_url("**/realtime/dashboard/")
    expect(who).to_contain_text("Signed in as kim")
    assert errors == []


def post_sign_in(
    server: LiveServer, url: str, username: str, password: str, forwarded_for: str
) -> httpx.Response:
    """A form POST as a browser behind a proxy at 127.0.0.1 sends it."""
    csrf = secrets.token_hex(16)
    with httpx.Client(base_url=server.http_url, timeout=30) as client:
        client.cookies.set("csrftoken", csrf)
        return client.post(
            url,
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"X-Forwarded-For": forwarded_for},
        )


def test_uvicorn_locks_the_address_it_resolved_and_says_why(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    user_create(username="lee")
    user_create(username="root", is_staff=True, is_superuser=True)
    # uvicorn trusts the proxy at 127.0.0.1 (FORWARDED_ALLOW_IPS' default): each forwarded
    # address is a client of its own.
    server = web_server_start(start_process, child_env)
    for url, username in (("/accounts/login/", "lee"), ("/admin/login/", "root")):
        statuses = [
            post_sign_in(server, url, username, "wrong", "203.0.113.7").status_code
            for _ in range(5)
        ]
        assert statuses == [200, 200, 200, 200, 429], url
        locked = post_sign_in(server, url, username, PASSWORD, "203.0.113.7")
        assert locked.status_code == 429
        assert LOCKED in locked.text
        assert "<form" in locked.text  # the sign-in page itself, saying why
        elsewhere = post_sign_in(server, url, username, PASSWORD, "198.51.100.9")
        assert elsewhere.status_code == 302, url

    # A server that does not trust its peer ignores the header: every try is 127.0.0.1's.
    untrusting = web_server_start(
        start_process, {**child_env, "FORWARDED_ALLOW_IPS": "192.0.2.254"}, "web-untrusting"
    )
    for number in range(5):
        post_sign_in(untrusting, "/accounts/login/", "lee", "wrong", f"192.0.2.{number}")
    refused = post_sign_in(untrusting, "/accounts/login/", "lee", PASSWORD, "192.0.2.99")
    assert refused.status_code == 429
