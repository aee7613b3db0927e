"""The login lockout as an authentication backend (django-axes), first in the chain."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginLockoutBackend(AxesStandaloneBackend):
    """axes' lockout check, skipped where there is no client to throttle.

    Every sign-in form (ours, the admin's) passes the request. `authenticate()` without one
    comes from a shell, a script or the test client's `login()`: stock axes raises there,
    yet it could not count such a failure anyway.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
