"""Reads about accounts."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def username_taken(*, username: str) -> bool:
    """True when a user has this name in any letter case (sign-up refuses those too)."""
    return get_user_model()._default_manager.filter(username__iexact=username).exists()
