"""Production profile, chosen by this module's name (the guide's systemd unit uses it)."""

from config.settings import *  # noqa: F403
