"""Start-up with bad settings stops at once, with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import ROOT


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REALTIME_BATCH_SIZE", "abc", "expected a whole number >= 1 and <= 1000"),
        ("REALTIME_BATCH_SIZE", "0", "expected a whole number >= 1 and <= 1000"),
        ("REALTIME_UPDATE_INTERVAL", "-1", "expected a whole number >= 1 and <= 86400"),
        ("MAX_CONNECTIONS_PER_USER", "five", "expected a whole number >= 1 and <= 10000"),
        ("DEBUG", "sometimes", "expected true or false"),
        ("REDIS_URL", "localhost:6379", "expected a URL starting with redis:// or rediss://"),
        (
            "DATABASE_URL",
            "mysql://x",
            "expected a URL starting with sqlite://, postgres://, postgresql:// or pgsql://",
        ),
    ],
)
def test_bad_value_stops_start_up_with_one_clear_line(
    variable: str, value: str, message: str
) -> None:
    result = run_manage("check", **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"Configuration error: Invalid setting {variable}={value!r}: {message}."]


def test_celery_refuses_a_bad_setting_the_same_way() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "REALTIME_BATCH_SIZE": "abc",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Configuration error: Invalid setting REALTIME_BATCH_SIZE='abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_key_refuses_to_start() -> None:
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="",
        ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: Missing setting SECRET_KEY: production needs a long random secret."
    )


def test_production_refuses_debug() -> None:
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="example.com",
        DEBUG="true",
    )
    assert result.returncode == 2
    assert "DEBUG" in result.stderr


def test_guide_settings_have_the_guides_defaults() -> None:
    assert settings.REALTIME_UPDATE_INTERVAL == 30
    assert settings.REALTIME_BATCH_SIZE == 50
    assert settings.REALTIME_CACHE_TIMEOUT == 300
    assert settings.WEBSOCKET_TIMEOUT == 300
    assert settings.MAX_CONNECTIONS_PER_USER == 5
    assert settings.MAX_SUBSCRIPTIONS_PER_CONNECTION == 50


def test_redis_roles_share_one_server_under_separate_prefixes() -> None:
    prefix = settings.REDIS_KEY_PREFIX
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    assert settings.CACHES["default"]["KEY_PREFIX"] == f"{prefix}:cache"
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    assert layers["default"]["CONFIG"]["prefix"] == f"{prefix}:ws"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == f"{prefix}:celery:"


def test_channel_layer_is_the_pubsub_layer_with_explicit_redis_options() -> None:
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    layer = layers["default"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    host = layer["CONFIG"]["hosts"][0]
    for option in (
        "socket_timeout",
        "socket_connect_timeout",
        "health_check_interval",
        "max_connections",
    ):
        assert option in host
