"""Project settings: one module, read from the environment and an optional `.env`.

Profiles differ as data, not copies. The profile is `development` unless
`DJANGO_ENV` says otherwise or the settings module is `config.settings.production`
/ `config.settings.test` (the guide's systemd unit names the production one).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from dotenv import load_dotenv

from apps.market.providers.registry import SOURCES as PRICE_SOURCE_NAMES
from apps.market.symbols import SYMBOL_PATTERN
from config.env import Env, SettingError, setting_warning
from config.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _profile() -> str:
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    for name in ("production", "test"):
        if module.endswith(f".{name}"):
            return name
    return os.environ.get("DJANGO_ENV", "development").strip().lower() or "development"


PROFILE = _profile()
if PROFILE not in {"development", "production", "test"}:
    raise SettingError("DJANGO_ENV", PROFILE, "development, production or test")
if PROFILE != "test":
    # Tests must not pick up a developer's local `.env` (its database, its Redis).
    load_dotenv(BASE_DIR / ".env", override=False)

env = Env()


def _secret_key() -> str:
    """Production requires SECRET_KEY; dev keeps a random one on disk; tests share one per run."""
    if PROFILE == "production":
        return env.required("SECRET_KEY", "production needs a long random secret")
    if key := env.raw("SECRET_KEY"):
        return key
    if PROFILE == "test":
        # Exported so that the servers and workers a test starts sign cookies alike.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        return os.environ["SECRET_KEY"]
    key_file = BASE_DIR / ".dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# --- Core -----------------------------------------------------------------------------------

SECRET_KEY = _secret_key()
DEBUG = env.flag("DEBUG", PROFILE == "development")
ALLOWED_HOSTS = env.csv(
    "ALLOWED_HOSTS", [] if PROFILE == "production" else ["localhost", "127.0.0.1", "[::1]"]
)
if "*" in ALLOWED_HOSTS:
    # The WebSocket Origin check (apps/realtime/auth.py) trusts ALLOWED_HOSTS, so `*` also lets
    # any web page open sockets with its visitors' cookies.
    _ANY_HOST_RISK = "any Host header is accepted and any site's pages may open WebSockets"
    if PROFILE == "production" and not env.flag("ALLOW_ANY_HOST", False):
        raise SettingError(
            "ALLOWED_HOSTS",
            ",".join(ALLOWED_HOSTS),
            f"the site's host names, not * ({_ANY_HOST_RISK}; ALLOW_ANY_HOST=true accepts that)",
        )
    setting_warning("ALLOWED_HOSTS", ",".join(ALLOWED_HOSTS), _ANY_HOST_RISK)
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_celery_beat",
    "axes",
    "apps.accounts",
    "apps.market",
    "apps.portfolios",
    "apps.alerts",
    "apps.realtime",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into the answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Accounts -------------------------------------------------------------------------------
# Anyone with an account signs in at /accounts/ (apps/accounts); staff also reach /admin/.

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "realtime-dashboard"
LOGOUT_REDIRECT_URL = "realtime-dashboard"
# Self-service sign-up: off unless the operator opens the site to anyone. Either way
# `manage.py add_user NAME` adds someone.
ACCOUNTS_SIGNUP_ENABLED = env.flag("ACCOUNTS_SIGNUP_ENABLED", False)

# django-axes counts failed sign-ins (ours and the admin's) per username and client address
# and refuses that pair for the cool-off time once the limit is reached (HTTP 429).
AUTHENTICATION_BACKENDS = [
    "apps.accounts.backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.integer("ACCOUNTS_LOGIN_FAILURE_LIMIT", 5, maximum=1_000)
ACCOUNTS_LOCKOUT_MINUTES = env.integer("ACCOUNTS_LOCKOUT_MINUTES", 15, maximum=7 * 24 * 60)
AXES_COOLOFF_TIME = timedelta(minutes=ACCOUNTS_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client address uvicorn resolved (X-Forwarded-For only from FORWARDED_ALLOW_IPS).
AXES_CLIENT_IP_CALLABLE = "apps.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
# A right password before the limit forgives the typos before it.
AXES_RESET_ON_SUCCESS = True
# Tries while locked out are refused without a write, so a flood cannot grow the table (each
# counted failure stores up to 1 KiB of form data) and the wait never grows either.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Only the failures are kept, not a log of every sign-in; unlock with `manage.py
# axes_reset_username NAME` (or `axes_reset`), or wait out the cool-off.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env.url(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Real processes (uvicorn, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Test servers started by the suite must see the test database, so it is a file too.
    # Named after the database, so two SQLite runs with different files never share one.
    _sqlite_file = Path(str(DATABASES["default"]["NAME"]))
    DATABASES["default"]["TEST"] = {
        "NAME": str(_sqlite_file.with_name(f"test-{_sqlite_file.name}"))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# django-celery-beat stops running tasks after an edit without it (its #1063).
USE_TZ = True
USE_I18N = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
if PROFILE == "production":
    STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by `collectstatic` when the image is built
else:
    # Development and tests serve straight from the app folders, no collectstatic needed.
    WHITENOISE_USE_FINDERS = True

# --- Redis: one server, separate roles ------------------------------------------------------
# Broker, results, cache and channel layer share the database in REDIS_URL, each under a key
# prefix of its own (pub/sub channels are not scoped by database number anyway), so one
# REDIS_KEY_PREFIX keeps two deployments, or a test run and `make run`, apart on one server.

REDIS_URL = env.url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
if PROFILE == "test" and not env.raw("REDIS_KEY_PREFIX"):
    # One prefix per test run, exported so the servers and workers it starts share it.
    os.environ["REDIS_KEY_PREFIX"] = f"pftest{os.getpid()}"
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if (
    PROFILE == "test"
    and _xdist_worker
    and not env.text("REDIS_KEY_PREFIX", "").endswith(_xdist_worker)
):
    # Parallel test workers inherit the run's prefix: each takes its own, as it takes its own
    # database, so one worker's clean-up never deletes another's keys.
    os.environ["REDIS_KEY_PREFIX"] = f"{env.text('REDIS_KEY_PREFIX', 'pftest')}{_xdist_worker}"
REDIS_KEY_PREFIX = env.text("REDIS_KEY_PREFIX", "pf")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}

# redis-py 8 defaults to a 5 s socket timeout and a pool of 100: both set here on purpose.
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_connect_timeout": 5,
                    "socket_timeout": None,
                    "socket_keepalive": True,
                    "health_check_interval": 15,
                    "retry_on_timeout": True,
                    "max_connections": 1000,
                }
            ],
            "prefix": f"{REDIS_KEY_PREFIX}:ws",
        },
    }
}

# --- Celery -----------------------------------------------------------------------------------

# Every task's time limits (workers/base.py). The soft one is also a price batch's time
# budget: its sources stop in time to save what they priced. The hard one ends a task that
# ignores it.
TASK_SOFT_TIME_LIMIT = env.integer("TASK_SOFT_TIME_LIMIT", 60, minimum=5, maximum=3_600)
TASK_TIME_LIMIT = env.integer("TASK_TIME_LIMIT", 90, minimum=6, maximum=3_600)
if TASK_TIME_LIMIT <= TASK_SOFT_TIME_LIMIT:
    raise SettingError(
        "TASK_TIME_LIMIT",
        str(TASK_TIME_LIMIT),
        f"more than TASK_SOFT_TIME_LIMIT={TASK_SOFT_TIME_LIMIT}",
    )
# The longest a task waits before it is retried (backoff after an outage, a source's
# Retry-After): it bounds how long a retried message is held, see the visibility timeout.
TASK_RETRY_COUNTDOWN_MAX = env.integer("TASK_RETRY_COUNTDOWN_MAX", 60, maximum=3_600)

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    # Tasks ack late: a message stays unacknowledged in Redis while its task waits out a retry
    # countdown and runs. Redis gives it to a worker again only once it is older than this:
    # its 1 h default would leave the tasks of a worker killed outright (SIGKILL, a lost host)
    # unrun for an hour, and anything shorter than a task may hold its message would run it
    # twice. (A pool process killed alone is different: its worker requeues the task at once.)
    "visibility_timeout": TASK_TIME_LIMIT + TASK_RETRY_COUNTDOWN_MAX + 30,
    # Look for such messages every 10 s (kombu's default scans only every tenth time).
    "unacked_restore_throttle": 1,
}
# Reserve one message per pool process: what a killed worker had reserved but not started
# waits out the visibility timeout too.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:"}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Flower reads task events; they are cheap at our task rates.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Realtime (the guide's settings, with its defaults) ---------------------------------------

REALTIME_UPDATE_INTERVAL = env.integer("REALTIME_UPDATE_INTERVAL", 30, maximum=86_400)
REALTIME_BATCH_SIZE = env.integer("REALTIME_BATCH_SIZE", 50, maximum=1_000)
REALTIME_CACHE_TIMEOUT = env.integer("REALTIME_CACHE_TIMEOUT", 300, maximum=86_400)
WEBSOCKET_TIMEOUT = env.integer("WEBSOCKET_TIMEOUT", 300, maximum=86_400)
MAX_CONNECTIONS_PER_USER = env.integer("MAX_CONNECTIONS_PER_USER", 5, maximum=10_000)
MAX_SUBSCRIPTIONS_PER_CONNECTION = env.integer(
    "MAX_SUBSCRIPTIONS_PER_CONNECTION", 50, maximum=10_000
)

# A connection stops counting (per-user limit, status) this long after its process last
# renewed it: how soon a crashed server's sockets are forgotten.
REALTIME_CONNECTION_TTL = env.integer("REALTIME_CONNECTION_TTL", 60, maximum=3_600)
# Anonymous sockets may watch assets (never portfolios) unless this is off.
REALTIME_ALLOW_ANONYMOUS = env.flag("REALTIME_ALLOW_ANONYMOUS", True)
# The dashboard signed out: a public market view of these symbols (those that exist as active
# assets, in this order), or, with REALTIME_PUBLIC_MARKET=false, the sign-in page instead.
REALTIME_PUBLIC_MARKET = env.flag("REALTIME_PUBLIC_MARKET", True)
REALTIME_PUBLIC_SYMBOLS = [
    symbol.upper()
    for symbol in env.csv(
        "REALTIME_PUBLIC_SYMBOLS", ["AAPL", "MSFT", "NVDA", "SPY", "EURUSD=X", "BTC-USD", "ETH-USD"]
    )
]
if _bad_symbols := [s for s in REALTIME_PUBLIC_SYMBOLS if not SYMBOL_PATTERN.match(s)]:
    raise SettingError(
        "REALTIME_PUBLIC_SYMBOLS", ",".join(_bad_symbols), "a comma list of ticker symbols"
    )
# How long adding a new symbol (watchlist, position, CSV import) waits for a worker to look
# it up through the price sources before saying it could not be checked right now.
SYMBOL_LOOKUP_WAIT_SECONDS = env.integer("SYMBOL_LOOKUP_WAIT_SECONDS", 10, maximum=120)
# Open anonymous sockets per client address, across every server process (close code 4029).
REALTIME_MAX_ANONYMOUS_PER_ADDRESS = env.integer(
    "REALTIME_MAX_ANONYMOUS_PER_ADDRESS", 20, maximum=100_000
)
# Seconds one client message (or a handshake) may wait on Redis or the database before the
# client is told `unavailable` (or 1013 at connect), and between two probes of the hub's
# link to Redis. Real-time bounds: only a test on a sped-up clock has reason to change them.
REALTIME_BACKEND_TIMEOUT = env.integer("REALTIME_BACKEND_TIMEOUT", 10, maximum=86_400)
REALTIME_LINK_PROBE_SECONDS = env.integer("REALTIME_LINK_PROBE_SECONDS", 1, maximum=86_400)
# Client messages: a token bucket per socket, and a size cap below uvicorn's 64 KiB frame cap.
REALTIME_MESSAGE_RATE = env.integer("REALTIME_MESSAGE_RATE", 20, maximum=10_000)
REALTIME_MESSAGE_BURST = env.integer("REALTIME_MESSAGE_BURST", 40, maximum=10_000)
REALTIME_MAX_MESSAGE_BYTES = env.integer("REALTIME_MAX_MESSAGE_BYTES", 16_384, maximum=65_536)

# --- Price pipeline ---------------------------------------------------------------------------

# An ordered failover chain; `simulated` is the offline market (make run's default).
# Tests never reach the internet: their default is the simulated market.
PRICE_SOURCES = env.csv(
    "PRICE_SOURCES", ["simulated"] if PROFILE == "test" else ["yahoo", "coingecko", "frankfurter"]
)
if not PRICE_SOURCES or set(PRICE_SOURCES) - set(PRICE_SOURCE_NAMES):
    raise SettingError(
        "PRICE_SOURCES", ",".join(PRICE_SOURCES), "a comma list of " + ", ".join(PRICE_SOURCE_NAMES)
    )
# A source that failed 5 times in a row is skipped this long while the next one answers.
PRICE_SOURCE_BREAKER_SECONDS = env.integer("PRICE_SOURCE_BREAKER_SECONDS", 60, maximum=86_400)
# Where the keyless fallback sources answer (a proxy or mirror); empty: their public API.
COINGECKO_BASE_URL = env.text("COINGECKO_BASE_URL", "")
FRANKFURTER_BASE_URL = env.text("FRANKFURTER_BASE_URL", "")
# A quote not refreshed for this long is pushed flagged stale. 0: three refresh intervals of
# the live schedule (the beat row edited in /admin), never less than two (apps/market/feed.py).
REALTIME_STALE_AFTER = env.integer("REALTIME_STALE_AFTER", 0, minimum=0, maximum=7 * 86_400)
# Symbols whose market is closed are refreshed this often instead (saves the rate limit).
REALTIME_CLOSED_MARKET_INTERVAL = env.integer(
    "REALTIME_CLOSED_MARKET_INTERVAL", 1800, maximum=86_400
)
# Today's prices per symbol (sparklines, the 1-day chart): one point per step (the latest
# price in a step replaces the one before), at most this many: a day of minutes, ~40 KB per
# symbol in Redis.
REALTIME_INTRADAY_STEP_SECONDS = env.integer("REALTIME_INTRADAY_STEP_SECONDS", 60, minimum=1)
REALTIME_INTRADAY_POINTS = env.integer("REALTIME_INTRADAY_POINTS", 1440, maximum=10_000)
# Values kept per pushed portfolio for its 1-day chart, one per second at most: 2,880 are a day
# of 30 s ticks (about 100 bytes each in Redis; only portfolios someone watches are pushed).
PORTFOLIO_INTRADAY_POINTS = env.integer("PORTFOLIO_INTRADAY_POINTS", 2880, maximum=20_000)
# When the daily record of every portfolio's value runs (UTC, after the US close): the time the
# beat row gets when the migration creates it; after that, edit the row in /admin.
PORTFOLIO_VALUES_RECORD_HOUR = env.integer(
    "PORTFOLIO_VALUES_RECORD_HOUR", 22, minimum=0, maximum=23
)
PORTFOLIO_VALUES_RECORD_MINUTE = env.integer(
    "PORTFOLIO_VALUES_RECORD_MINUTE", 30, minimum=0, maximum=59
)
# Symbols and portfolios someone subscribed to within this many seconds count as watched.
REALTIME_WATCH_TTL = env.integer("REALTIME_WATCH_TTL", 90, maximum=86_400)

# --- REST ------------------------------------------------------------------------------------

# /realtime/status/ is public: throttled per client address, or per user when logged in, and
# its figures (three Redis commands per live connection) computed at most once per
# STATUS_CACHE_SECONDS however many callers ask (0: every call).
STATUS_ANON_RATE = env.rate("STATUS_ANON_RATE", "30/min")
STATUS_USER_RATE = env.rate("STATUS_USER_RATE", "120/min")
STATUS_CACHE_SECONDS = env.integer("STATUS_CACHE_SECONDS", 2, minimum=0, maximum=60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {
        "force_price_update": env.rate("FORCE_UPDATE_RATE", "10/min"),
        "realtime_status_anon": STATUS_ANON_RATE,
        "realtime_status_user": STATUS_USER_RATE,
    },
    # uvicorn already put the client's address in REMOTE_ADDR, trusting X-Forwarded-For only
    # from FORWARDED_ALLOW_IPS; reading the header again would let any client pick its
    # throttle key.
    "NUM_PROXIES": 0,
    "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Live portfolio realtime API",
    "DESCRIPTION": "REST endpoints of the realtime service; the WebSocket protocol is described "
    "at /realtime/websocket-info/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env.text("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise SettingError("LOG_LEVEL", LOG_LEVEL, "DEBUG, INFO, WARNING, ERROR or CRITICAL")
REALTIME_LOG_FILE = env.text("REALTIME_LOG_FILE", "")
LOGGING = logging_config(level=LOG_LEVEL, realtime_log_file=REALTIME_LOG_FILE or None)

# --- Production hardening ---------------------------------------------------------------------

if PROFILE == "production":
    if DEBUG:
        raise SettingError("DEBUG", "true", "false in production")
    if not ALLOWED_HOSTS:
        raise SettingError("ALLOWED_HOSTS", "", "the public host names of this site")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Read by uvicorn, not Django; checked here because this is where start-up speaks.
    if "*" in env.csv("FORWARDED_ALLOW_IPS", []):
        setting_warning(
            "FORWARDED_ALLOW_IPS",
            env.text("FORWARDED_ALLOW_IPS", ""),
            "any client that reaches the port may set its own address and scheme; "
            "list the proxy's address instead",
        )
    SESSION_COOKIE_SECURE = env.flag("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Django redirects to https and sends HSTS unless the operator says the proxy in front
    # terminates TLS and does both: only then may turning one off also silence its
    # `check --deploy` warning.
    TLS_TERMINATED_BY_PROXY = env.flag("TLS_TERMINATED_BY_PROXY", False)
    SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", True)
    # Load balancers and the container health checks probe over plain http from inside.
    SECURE_REDIRECT_EXEMPT = [r"^realtime/health/$"]
    SECURE_HSTS_SECONDS = env.integer(
        "SECURE_HSTS_SECONDS", 31_536_000, minimum=0, maximum=2 * 31_536_000
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.flag("SECURE_HSTS_PRELOAD", True)
    SILENCED_SYSTEM_CHECKS = [
        check
        for check, silenced in (
            ("security.W008", TLS_TERMINATED_BY_PROXY and not SECURE_SSL_REDIRECT),
            ("security.W004", TLS_TERMINATED_BY_PROXY and not SECURE_HSTS_SECONDS),
            # Explicitly false: the operator's decision, not a forgotten default.
            ("security.W005", env.raw("SECURE_HSTS_INCLUDE_SUBDOMAINS") is not None
             and not SECURE_HSTS_INCLUDE_SUBDOMAINS),
            ("security.W021", env.raw("SECURE_HSTS_PRELOAD") is not None
             and not SECURE_HSTS_PRELOAD),
        )
        if silenced
    ]  # fmt: skip
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
