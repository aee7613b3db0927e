"""Start-up with bad settings stops at once, with one line naming the variable."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import ROOT

# Production choices a developer's shell may have set: the tests below name each they need.
HARDENING_VARIABLES = {
    "ALLOWED_HOSTS", "ALLOW_ANY_HOST", "DEBUG", "SECURE_SSL_REDIRECT", "TLS_TERMINATED_BY_PROXY",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE", "FORWARDED_ALLOW_IPS",
}  # fmt: skip


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in HARDENING_VARIABLES}
    environment = {**inherited, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env}
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
        ("TASK_TIME_LIMIT", "60", "expected more than TASK_SOFT_TIME_LIMIT=60"),
        ("REALTIME_MAX_ANONYMOUS_PER_ADDRESS", "0", "expected a whole number >= 1 and <= 100000"),
        ("DEBUG", "sometimes", "expected true or false"),
        ("STATUS_ANON_RATE", "lots", "expected a rate such as 30/min (per s, min, hour or day)"),
        ("STATUS_USER_RATE", "10/moon", "expected a rate such as 30/min (per s, min, hour or day)"),
        ("STATUS_CACHE_SECONDS", "-1", "expected a whole number >= 0 and <= 60"),
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


def run_production(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """manage.py with production settings: a real secret and host, everything else default."""
    production = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portfolio.example.com",
    }
    return run_manage(*args, **{**production, **env})


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    return run_production("check", "--deploy", "--fail-level", "WARNING", **env)


def test_production_defaults_pass_djangos_deploy_check() -> None:
    result = deploy_check()
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "off", "warning"),
    [
        ("SECURE_HSTS_SECONDS", "0", "security.W004"),
        ("SECURE_SSL_REDIRECT", "false", "security.W008"),
    ],
)
def test_turning_hsts_or_the_https_redirect_off_fails_the_deploy_check(
    variable: str, off: str, warning: str
) -> None:
    result = deploy_check(**{variable: off})
    assert result.returncode == 1
    assert warning in result.stderr


def test_a_proxy_that_terminates_tls_may_take_over_hsts_and_the_redirect() -> None:
    result = deploy_check(
        TLS_TERMINATED_BY_PROXY="true", SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="false"
    )
    assert result.returncode == 0, result.stderr


def test_production_refuses_any_host_in_one_line() -> None:
    result = run_production("check", ALLOWED_HOSTS="*")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: Invalid setting ALLOWED_HOSTS='*': expected the site's host names, "
        "not * (any Host header is accepted and any site's pages may open WebSockets; "
        "ALLOW_ANY_HOST=true accepts that)."
    ]


def test_production_takes_any_host_only_when_told_to_and_still_warns() -> None:
    result = run_production("check", ALLOWED_HOSTS="example.com,*", ALLOW_ANY_HOST="true")
    assert result.returncode == 0, result.stderr
    assert "Setting warning: ALLOWED_HOSTS='example.com,*': any Host header" in result.stderr


def test_development_warns_about_any_host_at_start_up() -> None:
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings", ALLOWED_HOSTS="*")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Setting warning: ALLOWED_HOSTS='*': any Host header is accepted and any site's pages "
        "may open WebSockets."
    ]


def test_production_sends_http_to_https_with_hsts_but_not_the_health_probe() -> None:
    script = (
        "import json; from django.test import Client; c = Client(); print(json.dumps(["
        "c.get('/realtime/websocket-info/').status_code, "
        "c.get('/realtime/websocket-info/', secure=True).headers['Strict-Transport-Security'], "
        "c.get('/realtime/health/?check=web').status_code]))"
    )
    result = run_production("shell", "-c", script, ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    redirect, hsts, probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert redirect == 301
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert probe in {200, 503}  # answered over http: the container health check needs that


def test_production_warns_when_uvicorn_believes_anyones_proxy_headers() -> None:
    result = run_production("check", FORWARDED_ALLOW_IPS="*")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Setting warning: FORWARDED_ALLOW_IPS='*': any client that reaches the port may set its "
        "own address and scheme; list the proxy's address instead."
    ]
