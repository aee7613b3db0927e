"""Sources by name, as `PRICE_SOURCES` and `--source` name them.

The pipeline takes its sources from `providers_shared`: built once per process, so each keeps
its HTTP client and connections from batch to batch instead of opening (and leaking) new ones
every batch, and closed by `providers_close` when the worker process exits.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.core.signals import setting_changed

from apps.market.providers.base import PriceProvider

logger = logging.getLogger("personal_finance.realtime.providers")


def _yahoo() -> PriceProvider:
    from apps.market.providers.yahoo import YahooProvider

    # The provider prepares yfinance (its own cache folder) once per process on first use.
    return YahooProvider()


def _coingecko() -> PriceProvider:
    from apps.market.providers.coingecko import DEFAULT_BASE_URL, CoinGeckoProvider

    return CoinGeckoProvider(base_url=_base_url("COINGECKO_BASE_URL", DEFAULT_BASE_URL))


def _frankfurter() -> PriceProvider:
    from apps.market.providers.frankfurter import DEFAULT_BASE_URL, FrankfurterProvider

    return FrankfurterProvider(base_url=_base_url("FRANKFURTER_BASE_URL", DEFAULT_BASE_URL))


def _base_url(setting: str, default: str) -> str:
    """A configured base URL (a proxy, a mirror, a test stand-in), else the source's own."""
    from django.conf import settings

    return str(getattr(settings, setting, "")) or default


def _simulated() -> PriceProvider:
    from apps.market.providers.simulated import SimulatedProvider

    return SimulatedProvider()


# Imports are deferred: the simulated demo must not pay for yfinance and pandas.
SOURCES: dict[str, Callable[[], PriceProvider]] = {
    "yahoo": _yahoo,
    "coingecko": _coingecko,
    "frankfurter": _frankfurter,
    "simulated": _simulated,
}


class UnknownSource(ValueError):
    """A source name that is not in SOURCES."""


def source_names_check(names: Sequence[str]) -> list[str]:
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise UnknownSource(
            f"unknown price source {', '.join(unknown)}; known: {', '.join(sorted(SOURCES))}"
        )
    return list(names)


def providers_build(names: Sequence[str]) -> list[PriceProvider]:
    return [SOURCES[name]() for name in source_names_check(names)]


Factory = Callable[[], PriceProvider]

_shared: dict[str, tuple[Factory, PriceProvider]] = {}
_shared_pid = os.getpid()
_shared_lock = threading.Lock()


def providers_shared(names: Sequence[str]) -> list[PriceProvider]:
    """This process's sources by name, each built on first use and reused after."""
    global _shared_pid
    checked = source_names_check(names)
    with _shared_lock:
        if _shared_pid != os.getpid():
            # A forked child must not use, nor close, the connections its parent holds.
            _shared.clear()
            _shared_pid = os.getpid()
        return [_shared_get(name) for name in checked]


def _shared_get(name: str) -> PriceProvider:
    factory = SOURCES[name]
    built = _shared.get(name)
    if built is not None and built[0] is factory:
        return built[1]
    if built is not None:  # the factory was replaced (a test or bench source): drop the old one
        built[1].close()
    provider = factory()
    _shared[name] = (factory, provider)
    return provider


def providers_close() -> int:
    """Close this process's shared sources (at worker process shutdown); returns how many."""
    with _shared_lock:
        built = [provider for _factory, provider in _shared.values()]
        _shared.clear()
    for provider in built:
        try:
            provider.close()
        except Exception:  # one source failing to close must not keep the others open
            logger.exception("closing the %s source failed", provider.name)
    return len(built)


def _sources_forget(*, setting: str, **_signal: Any) -> None:
    """A test that points a source elsewhere gets a source built for the new address."""
    if setting == "PRICE_SOURCES" or setting.endswith("_BASE_URL"):
        providers_close()


setting_changed.connect(_sources_forget)
