"""`manage.py add_user`: the operator invites someone, with clear messages and exit status."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from tests.conftest import ROOT
from tests.factories import user_create

PASSWORD = "correct-horse-battery-9"


def add_user(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    call_command("add_user", *args, stdin=io.StringIO(stdin or ""), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_user_added_from_standard_input_signs_in_and_is_not_staff() -> None:
    said = add_user("alice", "--email", "Alice@EXAMPLE.com", "--password-stdin", stdin=PASSWORD)
    assert said.strip() == "Created 'alice': they can sign in at /accounts/login/."
    alice = User.objects.get(username="alice")
    assert alice.email == "Alice@example.com"  # the domain part normalised, as Django does
    assert (alice.is_active, alice.is_staff, alice.is_superuser) == (True, False, False)
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.headers["Location"] == "/realtime/dashboard/"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["bob", "BOB"])
def test_a_name_that_exists_already_in_any_case_is_refused(name: str) -> None:
    user_create(username="bob")
    with pytest.raises(CommandError, match=r"A user named '\w+' exists already\.") as refused:
        add_user(name, "--password-stdin", stdin=PASSWORD)
    assert refused.value.returncode == 1
    assert User.objects.filter(username__iexact="bob").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "password", "messages"),
    [
        (["carol"], "carol", ["This password is too short", "too similar to the username"]),
        (["carol"], "password123", ["This password is too common"]),
        (["carol"], "", ["This password is too short"]),
        (["bad name!"], PASSWORD, ["Enter a valid username"]),
        (["carol", "--email", "not-an-address"], PASSWORD, ["Enter a valid email address"]),
    ],
)
def test_a_weak_password_or_a_bad_name_gets_the_validators_messages(
    args: list[str], password: str, messages: list[str]
) -> None:
    with pytest.raises(CommandError) as refused:
        add_user(*args, "--password-stdin", stdin=password)
    for message in messages:
        assert message in str(refused.value)
    assert refused.value.returncode == 1
    assert not User.objects.exists()


@pytest.mark.django_db
def test_without_a_terminal_or_password_stdin_it_says_how_to_pass_the_password() -> None:
    with pytest.raises(CommandError, match="--password-stdin") as refused:
        add_user("dave")
    assert refused.value.returncode == 1
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_0_then_1_with_its_message_on_stderr(child_env: dict[str, str]) -> None:
    def run(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "add_user", "erin", "--password-stdin"],
            cwd=ROOT, env=child_env, input=f"{password}\n", capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip

    weak = run("erin")
    assert weak.returncode == 1
    assert "This password is too short" in weak.stderr
    created = run(PASSWORD)
    assert created.returncode == 0, created.stderr
    assert User.objects.get(username="erin").check_password(PASSWORD)
    again = run(PASSWORD)
    assert again.returncode == 1
    assert again.stderr.strip() == "CommandError: A user named 'erin' exists already."


def read_until(fd: int, text: bytes, timeout: float = 30) -> bytes:
    """What the terminal shows up to and including `text`."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {text!r} on the terminal, only {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            seen += os.read(fd, 1024)
    return seen


@pytest.mark.django_db(transaction=True)
def test_on_a_terminal_the_password_is_asked_twice_and_not_echoed(
    child_env: dict[str, str],
) -> None:
    def on_terminal(first: str, second: str) -> tuple[int, bytes]:
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "add_user", "frank"], cwd=ROOT, env=child_env,
            stdin=follower, stdout=follower, stderr=follower, start_new_session=True,
        )  # fmt: skip
        os.close(follower)
        try:
            shown = read_until(leader, b"Password: ")
            os.write(leader, f"{first}\n".encode())
            shown += read_until(leader, b"Password (again): ")
            os.write(leader, f"{second}\n".encode())
            status = process.wait(timeout=60)
            while select.select([leader], [], [], 0.2)[0]:
                try:
                    shown += os.read(leader, 1024)
                except OSError:  # the terminal closed with the process
                    break
        finally:
            os.close(leader)
        return status, shown

    status, shown = on_terminal(PASSWORD, "something-else-entirely")
    assert status == 1
    assert b"The two passwords differ; nothing was created." in shown
    assert not User.objects.filter(username="frank").exists()
    status, shown = on_terminal(PASSWORD, PASSWORD)
    assert status == 0, shown
    assert PASSWORD.encode() not in shown  # typed, never echoed
    assert User.objects.get(username="frank").check_password(PASSWORD)
