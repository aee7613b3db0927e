"""A new symbol waits up to 10 s on a worker's lookup; the site must keep answering meanwhile.
Real uvicorn, and no worker at all, so the lookup waits its full bound. (Checked: with the
wait made on the event loop, every other page waited for it and this test failed.)"""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import pytest
from django.conf import settings

from apps.portfolios.models import Portfolio, Position
from tests.conftest import LiveServer, wait_until
from tests.e2e.ws import session_cookie
from tests.factories import asset_create, portfolio_create, user_create
from tests.integration.test_asset_lookup import queued_lookups

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def browser_like(server: LiveServer, session: str) -> httpx.Client:
    csrf = secrets.token_hex(16)
    client = httpx.Client(
        base_url=server.http_url, timeout=settings.SYMBOL_LOOKUP_WAIT_SECONDS + 20
    )
    client.cookies.set("sessionid", session)
    client.cookies.set("csrftoken", csrf)
    client.headers["X-CSRFToken"] = csrf
    return client


def test_other_pages_answer_while_a_new_symbol_waits_for_a_lookup_and_nothing_is_saved(
    web_server: LiveServer,
) -> None:
    user = user_create()
    asset_create("AAPL")
    portfolio = portfolio_create(owner=user, name="Waiting")
    session = session_cookie(user)["Cookie"].split("=", 1)[1]
    answers: dict[str, httpx.Response] = {}

    def add_new_symbol() -> None:
        with browser_like(web_server, session) as client:
            answers["add"] = client.post(
                f"/portfolios/{portfolio.pk}/positions/add/",
                data={"symbol": "NFLX", "quantity": "1", "cost_basis": "100"},
            )

    adding = threading.Thread(target=add_new_symbol)
    started = time.monotonic()
    adding.start()
    # The lookup task is queued: the add is waiting for a worker that never comes.
    wait_until(lambda: queued_lookups() == [["NFLX"]], timeout=10, what="the lookup queued")
    with browser_like(web_server, session) as client:
        took = []
        for path in ("/portfolios/", f"/portfolios/{portfolio.pk}/", "/realtime/status/"):
            asked = time.monotonic()
            response = client.get(path)
            took.append(time.monotonic() - asked)
            assert response.status_code == 200, path
    still_waiting = adding.is_alive()
    adding.join(timeout=settings.SYMBOL_LOOKUP_WAIT_SECONDS + 20)

    assert still_waiting, "the add answered before the other pages were asked"
    assert max(took) < 2, f"pages took {took} s while a lookup waited"
    add = answers["add"]
    assert time.monotonic() - started >= settings.SYMBOL_LOOKUP_WAIT_SECONDS
    assert add.status_code == 200
    assert "NFLX could not be checked right now (no worker answered in time)" in add.text
    assert 'id="id_symbol_error"' in add.text
    assert not Position.objects.filter(portfolio__in=Portfolio.objects.filter(owner=user)).exists()
