"""Failed sign-ins are throttled by django-axes: per username and client address, 5 failures
lock that pair for 15 minutes (HTTP 429 and a clear message), on our page and the admin's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

from tests.factories import user_create
from tests.integration.test_settings_startup import run_manage

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "a-long-test-password"
LOCKED = "Too many failed attempts; try again in 15 minutes."
WRONG = "Please enter a correct username and password"


def attempt(
    username: str,
    password: str = "wrong-password",  # noqa: S107 - a wrong one, on purpose
    *,
    address: str = "203.0.113.7",
    url: str = LOGIN,
    forwarded_for: str = "",
) -> tuple[int, str, Client]:
    """One POST of a sign-in form from `address`: its status, page and the client."""
    client = Client(REMOTE_ADDR=address, headers={"X-Forwarded-For": forwarded_for})
    response = client.post(url, {"username": username, "password": password, "next": "/"})
    return response.status_code, response.content.decode(), client


def fail(username: str, times: int, **options: str) -> list[int]:
    return [attempt(username, **options)[0] for _ in range(times)]


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_that_username_at_that_address_even_with_the_right_password() -> None:
    user_create(username="alice")
    assert fail("alice", 4) == [200] * 4
    status, page, _ = attempt("alice")  # the fifth
    assert status == 429
    assert LOCKED in page
    assert '<form method="post" action="/accounts/login/">' in page  # the form, to try later
    status, page, client = attempt("alice", PASSWORD)
    assert status == 429
    assert LOCKED in page
    assert WRONG not in page
    assert not signed_in(client)


def test_the_lock_is_per_username_and_address_pair() -> None:
    user_create(username="bob")
    user_create(username="carol")
    fail("bob", 5)
    status, _, client = attempt("bob", PASSWORD, address="198.51.100.9")  # bob, elsewhere
    assert status == 302
    assert signed_in(client)
    status, _, client = attempt("carol", PASSWORD)  # someone else, same address
    assert status == 302
    assert signed_in(client)


def test_the_admin_login_is_locked_out_too_and_says_why() -> None:
    user_create(username="root", is_staff=True, is_superuser=True)
    assert fail("root", 4, url=ADMIN_LOGIN) == [200] * 4
    status, page, _ = attempt("root", url=ADMIN_LOGIN)
    assert status == 429
    assert LOCKED in page
    assert 'id="login-form"' in page  # the admin's own page
    status, page, client = attempt("root", PASSWORD, url=ADMIN_LOGIN)
    assert status == 429
    assert not signed_in(client)
    # One count for both pages: the admin's failures lock our page as well.
    assert attempt("root", PASSWORD)[0] == 429


def test_a_forwarded_for_header_does_not_change_the_address_counted() -> None:
    """The address is REMOTE_ADDR, which uvicorn set from trusted proxies only."""
    user_create(username="dave")
    for number in range(5):
        attempt("dave", forwarded_for=f"192.0.2.{number}")
    assert attempt("dave", PASSWORD, forwarded_for="192.0.2.200")[0] == 429


def test_ipv6_addresses_count_per_64_block() -> None:
    user_create(username="erin")
    for host in range(1, 6):
        attempt("erin", address=f"2001:db8:1:2::{host}")
    assert attempt("erin", PASSWORD, address="2001:db8:1:2:ffff::1")[0] == 429
    assert attempt("erin", PASSWORD, address="2001:db8:1:3::1")[0] == 302


def test_a_right_password_before_the_limit_forgives_the_failures_before_it() -> None:
    user_create(username="frank")
    fail("frank", 4)
    assert attempt("frank", PASSWORD)[0] == 302
    assert fail("frank", 4) == [200] * 4  # counting starts again
    assert attempt("frank", PASSWORD)[0] == 302


def move_back(username: str, minutes: int) -> None:
    """As if the failures were `minutes` older (the cool-off is read from their time)."""
    for row in AccessAttempt.objects.filter(username=username):
        row.attempt_time -= timedelta(minutes=minutes)
        row.save(update_fields=["attempt_time"])


def test_tries_while_locked_are_not_written_and_the_message_counts_down() -> None:
    user_create(username="judy")
    fail("judy", 5)
    before = AccessAttempt.objects.values().get(username="judy")
    assert before["failures_since_start"] == 5
    assert [*fail("judy", 3), attempt("judy", PASSWORD)[0]] == [429] * 4
    assert AccessAttempt.objects.values().get(username="judy") == before  # no write, no reset
    move_back("judy", 10)
    status, page, _ = attempt("judy", PASSWORD)
    assert status == 429
    assert "Too many failed attempts; try again in 5 minutes." in page


def test_the_lock_ends_after_the_cool_off() -> None:
    user_create(username="grace")
    fail("grace", 5)
    assert attempt("grace", PASSWORD)[0] == 429
    move_back("grace", 16)
    assert attempt("grace", PASSWORD)[0] == 302


def test_the_operator_unlocks_a_user_with_axes_reset_username() -> None:
    user_create(username="heidi")
    fail("heidi", 5)
    assert attempt("heidi", PASSWORD)[0] == 429
    call_command("axes_reset_username", "heidi", stdout=open("/dev/null", "w"))  # noqa: SIM115
    status, _, client = attempt("heidi", PASSWORD)
    assert status == 302
    assert signed_in(client)


def test_the_password_is_never_stored_with_a_failed_attempt() -> None:
    user_create(username="ivan")
    attempt("ivan", "my-secret-guess-123")
    row = AccessAttempt.objects.get(username="ivan")
    assert row.ip_address == "203.0.113.7"
    assert "my-secret-guess-123" not in row.post_data


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"ACCOUNTS_SIGNUP_ENABLED": "maybe"}, "ACCOUNTS_SIGNUP_ENABLED='maybe': expected true"),
        (
            {"ACCOUNTS_LOGIN_FAILURE_LIMIT": "0"},
            "ACCOUNTS_LOGIN_FAILURE_LIMIT='0': expected a whole number >= 1 and <= 1000",
        ),
        (
            {"ACCOUNTS_LOCKOUT_MINUTES": "soon"},
            "ACCOUNTS_LOCKOUT_MINUTES='soon': expected a whole number >= 1 and <= 10080",
        ),
    ],
)
def test_a_bad_accounts_setting_stops_start_up_with_one_line(
    variables: dict[str, str], line: str
) -> None:
    result = run_manage("check", **variables)
    assert result.returncode == 2
    assert line in result.stderr
    assert "Traceback" not in result.stderr


def test_the_accounts_settings_come_from_the_environment() -> None:
    script = (
        "from django.conf import settings as s; print(s.ACCOUNTS_SIGNUP_ENABLED, "
        "s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds())"
    )
    defaults = run_manage("shell", "-v", "0", "-c", script)
    assert defaults.stdout.split() == ["False", "5", "900.0"], defaults.stderr
    chosen = run_manage(
        "shell", "-v", "0", "-c", script, ACCOUNTS_SIGNUP_ENABLED="true",
        ACCOUNTS_LOGIN_FAILURE_LIMIT="3", ACCOUNTS_LOCKOUT_MINUTES="60",
    )  # fmt: skip
    assert chosen.stdout.split() == ["True", "3", "3600.0"], chosen.stderr
