"""Writes about accounts: users added by the site's operator (sign-up uses Django's form)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction

from apps.accounts.selectors import username_taken


class UsernameTaken(Exception):
    """A user with this name (in any letter case) exists already."""

    def __init__(self, username: str) -> None:
        super().__init__(f"A user named {username!r} exists already.")
        self.username = username


def user_create(*, username: str, password: str, email: str = "") -> AbstractBaseUser:
    """An active user who can sign in (not staff), checked as sign-up checks one.

    Raises UsernameTaken, or ValidationError with the validators' messages (the name's
    characters and length, the email's form, a weak password).
    """
    User = get_user_model()
    if username_taken(username=username):
        raise UsernameTaken(username)
    user = User(username=username, email=BaseUserManager.normalize_email(email))
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # created by someone else since the check above
        raise UsernameTaken(username) from None
    return user
