"""Sources by name, as `PRICE_SOURCES` and `--source` name them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apps.market.providers.base import PriceProvider


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
