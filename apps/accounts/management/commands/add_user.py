"""`manage.py add_user NAME`: the operator invites someone (sign-up may be off)."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.selectors import username_taken
from apps.accounts.services import UsernameTaken, user_create


class Command(BaseCommand):
    help = (
        "Create a user who can sign in at /accounts/login/ (not staff). The password is asked "
        "twice on the terminal, or read from the first line of standard input with "
        "--password-stdin. Exits 1 with the reason if the name is taken or the password weak."
    )
    # Tests hand the command their own standard input, as they do to createsuperuser.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="their email address (optional)")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (scripts; keeps it out of `ps`)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        stdin: TextIO = options.get("stdin") or sys.stdin
        if username_taken(username=username):
            raise CommandError(f"A user named {username!r} exists already.")
        if options["password_stdin"]:
            password = stdin.readline().rstrip("\r\n")
        else:
            password = password_prompt(stdin)
        try:
            user_create(username=username, password=password, email=options["email"])
        except UsernameTaken as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from None
        self.stdout.write(f"Created {username!r}: they can sign in at /accounts/login/.")


def password_prompt(stdin: TextIO) -> str:
    """Asked twice on the terminal, not echoed."""
    if not stdin.isatty():
        raise CommandError(
            "No terminal to ask for the password: pass it on standard input with --password-stdin."
        )
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("The two passwords differ; nothing was created.")
    if not password:
        raise CommandError("The password is empty; nothing was created.")
    return password
