"""Accounts under /accounts/: anyone with an account signs in (not only staff), returns to the
page they came from, changes their password and signs out; sign-up only when it is on."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from apps.portfolios.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from tests.factories import user_create

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
PASSWORD_CHANGE = "/accounts/password_change/"
PASSWORD_DONE = "/accounts/password_change/done/"
SIGNUP = "/accounts/signup/"
DASHBOARD = "/realtime/dashboard/"
PASSWORD = "a-long-test-password"
NEW_PASSWORD = "another-long-passphrase-42"


def sign_in(client: Client, username: str, password: str = PASSWORD, next_url: str = "") -> str:
    """POST the sign-in form; the page it sends the browser to ("" if it stays)."""
    response = client.post(LOGIN, {"username": username, "password": password, "next": next_url})
    return str(response.headers.get("Location", ""))


def header(client: Client, url: str = DASHBOARD) -> str:
    html = client.get(url).content.decode()
    match = re.search(r"<header>.*</header>", html, re.S)
    assert match, html
    return match.group(0)


# --- signing in ---------------------------------------------------------------------------------


def test_a_user_who_is_not_staff_signs_in_and_is_sent_back_where_they_came_from() -> None:
    alice = user_create(username="alice")
    client = Client()
    page = client.get(LOGIN, {"next": "/realtime/test/"})
    assert page.status_code == 200
    assert b'name="next" value="/realtime/test/"' in page.content
    assert sign_in(client, "alice", next_url="/realtime/test/") == "/realtime/test/"
    top = header(client, "/realtime/test/")
    assert f'Signed in as <strong class="username">{alice.username}</strong>' in top
    assert "Change password" in top
    assert "Sign out" in top
    assert "/admin/" not in top  # the Admin link is for staff only


def test_signing_in_without_next_lands_on_the_dashboard() -> None:
    user_create(username="bob")
    assert sign_in(Client(), "bob") == DASHBOARD


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://127.0.0.1.evil.example/", "javascript:x"],
)
def test_a_next_to_another_site_is_ignored(next_url: str) -> None:
    user_create(username="carol")
    assert sign_in(Client(), "carol", next_url=next_url) == DASHBOARD


def test_a_wrong_password_and_an_inactive_user_are_refused_with_the_form_again() -> None:
    user_create(username="dave")
    user_create(username="erin", is_active=False)
    for username, password in (("dave", "not-the-password"), ("erin", PASSWORD)):
        client = Client()
        response = client.post(LOGIN, {"username": username, "password": password})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
        assert "_auth_user_id" not in client.session


def test_the_demo_login_works_on_the_sign_in_page_and_in_the_admin() -> None:
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = Client()
    assert sign_in(client, DEMO_USERNAME, DEMO_PASSWORD) == DASHBOARD
    assert "Growth Portfolio" in client.get(DASHBOARD).content.decode()
    assert '<a href="/admin/">Admin</a>' in header(client)  # the demo user is staff
    admin = Client()
    response = admin.post(
        "/admin/login/?next=/admin/",
        {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "next": "/admin/"},
    )
    assert response.headers["Location"] == "/admin/"
    assert admin.get("/admin/").status_code == 200


def test_signed_out_the_header_offers_sign_in_back_to_this_page() -> None:
    top = header(Client(), "/realtime/test/?tab=log")
    assert '<a href="/accounts/login/?next=/realtime/test/%3Ftab%3Dlog">Sign in</a>' in top
    assert "Sign up" not in top  # sign-up is off by default
    assert "/admin/" not in top
    dashboard = Client().get(DASHBOARD).content.decode()
    assert 'href="/accounts/login/?next=/realtime/dashboard/"' in dashboard  # its invitation
    assert "/admin/login/" not in dashboard


def test_pages_that_need_a_user_send_the_anonymous_to_the_sign_in_page() -> None:
    for url in (PASSWORD_CHANGE, PASSWORD_DONE):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"{LOGIN}?next={url}"


# --- signing out --------------------------------------------------------------------------------


def test_signing_out_is_a_post_and_ends_the_session() -> None:
    client = Client()
    client.force_login(user_create())
    assert client.get(LOGOUT).status_code == 405  # a link or an image cannot sign anyone out
    assert client.get(PASSWORD_CHANGE).status_code == 200
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response.headers["Location"] == DASHBOARD
    assert client.get(PASSWORD_CHANGE).status_code == 302
    assert "Sign in" in header(client)


def test_signing_out_needs_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_create())
    assert client.post(LOGOUT).status_code == 403
    assert client.get(PASSWORD_CHANGE).status_code == 200  # still signed in


# --- changing the password ----------------------------------------------------------------------


def test_a_user_changes_their_password_and_stays_signed_in() -> None:
    user = user_create(username="frank")
    client = Client()
    assert sign_in(client, "frank") == DASHBOARD
    form = client.get(PASSWORD_CHANGE)
    assert form.status_code == 200
    assert b'name="old_password"' in form.content
    response = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.headers["Location"] == PASSWORD_DONE
    done = client.get(PASSWORD_DONE)
    assert done.status_code == 200
    assert b"Your password was changed" in done.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert "Signed in as" in header(client)  # the session follows the new password
    request = HttpRequest()
    assert authenticate(request, username="frank", password=PASSWORD) is None
    assert authenticate(request, username="frank", password=NEW_PASSWORD) == user


def test_a_password_change_with_a_wrong_old_password_or_a_weak_new_one_says_why() -> None:
    client = Client()
    client.force_login(user_create())
    wrong_old = client.post(
        PASSWORD_CHANGE,
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong_old.status_code == 200
    assert b"Your old password was entered incorrectly" in wrong_old.content
    weak = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert weak.status_code == 200
    assert b"This password is too common" in weak.content


# --- sign-up ------------------------------------------------------------------------------------


def test_sign_up_is_off_by_default_and_answers_404_with_no_link() -> None:
    assert Client().get(SIGNUP).status_code == 404
    signup_post = {"username": "mallory", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert Client().post(SIGNUP, signup_post).status_code == 404
    assert not User.objects.filter(username="mallory").exists()
    assert SIGNUP not in Client().get(LOGIN).content.decode()
    assert SIGNUP not in header(Client())


@pytest.fixture
def signup_on(settings: object) -> None:
    settings.ACCOUNTS_SIGNUP_ENABLED = True  # type: ignore[attr-defined]


@pytest.mark.usefixtures("signup_on")
def test_with_sign_up_on_a_new_user_is_created_and_signed_in() -> None:
    assert f'<a href="{SIGNUP}">Sign up</a>' in header(Client())
    assert SIGNUP in Client().get(LOGIN).content.decode()
    client = Client()
    form = client.get(SIGNUP)
    assert form.status_code == 200
    assert b'name="password2"' in form.content
    response = client.post(
        SIGNUP, {"username": "grace", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.headers["Location"] == DASHBOARD
    grace = User.objects.get(username="grace")
    assert grace.is_active
    assert not grace.is_staff
    assert not grace.is_superuser
    assert 'Signed in as <strong class="username">grace</strong>' in header(client)


@pytest.mark.usefixtures("signup_on")
def test_sign_up_refuses_a_taken_name_in_any_case_and_a_weak_password() -> None:
    user_create(username="heidi")
    taken = Client().post(
        SIGNUP, {"username": "HEIDI", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert taken.status_code == 200
    assert b"A user with that username already exists" in taken.content
    weak = Client().post(SIGNUP, {"username": "ivan", "password1": "ivan", "password2": "ivan"})
    assert weak.status_code == 200
    assert b"This password is too short" in weak.content
    assert b"The password is too similar to the username" in weak.content
    assert not User.objects.filter(username__in=["HEIDI", "ivan"]).exists()
