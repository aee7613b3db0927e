"""Typed readers for environment variables.

Every setting that comes from the environment goes through here, so a bad value
stops start-up with one line naming the variable instead of a traceback deep
inside Celery or Django.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
# DRF reads only the first letter of the period, so "10/moon" would silently mean per minute.
RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


class SettingError(ImproperlyConfigured):
    """A variable from the environment has a value the project cannot use."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"Invalid setting {name}={value!r}: expected {expected}.")
        self.name = name


def setting_warning(name: str, value: str, risk: str) -> None:
    """One line on stderr at start-up for a value that works but is unsafe (same shape as
    the configuration errors, so it is found the same way)."""
    sys.stderr.write(f"Setting warning: {name}={value!r}: {risk}.\n")


class Env:
    """Reads variables from a mapping (the process environment by default)."""

    def __init__(self, source: Mapping[str, str] | None = None) -> None:
        self.source = os.environ if source is None else source

    def raw(self, name: str) -> str | None:
        value = self.source.get(name)
        return None if value is None else value.strip()

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None or value == "" else value

    def required(self, name: str, why: str) -> str:
        value = self.raw(name)
        if not value:
            raise ImproperlyConfigured(f"Missing setting {name}: {why}.")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise SettingError(name, value, "true or false")

    def integer(
        self, name: str, default: int, *, minimum: int = 1, maximum: int | None = None
    ) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        bounds = f"a whole number >= {minimum}" + (f" and <= {maximum}" if maximum else "")
        try:
            number = int(value)
        except ValueError:
            raise SettingError(name, value, bounds) from None
        if number < minimum or (maximum is not None and number > maximum):
            raise SettingError(name, value, bounds)
        return number

    def csv(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(self, name: str, default: str, *, schemes: tuple[str, ...]) -> str:
        value = self.text(name, default)
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in schemes:
            prefixes = [f"{s}://" for s in schemes]
            listed = (
                ", ".join(prefixes[:-1]) + " or " + prefixes[-1]
                if len(prefixes) > 1
                else prefixes[0]
            )
            raise SettingError(name, value, f"a URL starting with {listed}")
        return value

    def rate(self, name: str, default: str) -> str:
        """A DRF throttle rate, `<requests>/<period>` with the period spelled out."""
        value = self.text(name, default)
        if not RATE.fullmatch(value):
            raise SettingError(name, value, "a rate such as 30/min (per s, min, hour or day)")
        return value
