"""Entry points load settings through here: a bad setting is one line on stderr, exit 2."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

DEFAULT_SETTINGS_MODULE = "config.settings"


def settings_load_or_exit() -> None:
    """Import the settings now, so a bad value never surfaces later as a deep traceback."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS_MODULE)
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching it imports the settings module
    except ImproperlyConfigured as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        raise SystemExit(2) from None
