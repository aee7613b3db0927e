"""Test profile, chosen by this module's name: no `.env`, a shared per-run SECRET_KEY."""

from config.settings import *  # noqa: F403
