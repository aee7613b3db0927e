"""The `celery` command with the `yahoo` price source reaching a Yahoo stand-in.

    YAHOO_STANDIN_PORT=<port> python -m tests.standins.yahoo_worker -A config worker ...

A test runs `YahooStandin` in its own process and starts a real worker with this instead of
`celery`: the worker's `yahoo` source is the real `YahooProvider`, with yfinance's requests and
parsing, given the session yfinance accepts (`session=`) that sends every request to the
stand-in over HTTP on 127.0.0.1. The source registry's factory is the one thing replaced, as
the benchmarks replace the simulated one; pool processes forked from this one inherit it.
"""

from __future__ import annotations

import os
import sys

import django

PORT_VARIABLE = "YAHOO_STANDIN_PORT"
# The stand-in answers on loopback: a short request timeout lets a batch fit a short time
# budget (a symbol is started only while its requests could still time out within it).
REQUEST_TIMEOUT = 2.0


def yahoo_through_standin(port: int) -> None:
    """Make every `yahoo` source built from now on in this process ask the stand-in."""
    from apps.market.providers import registry
    from apps.market.providers.yahoo import YahooProvider
    from tests.standins.yahoo import loopback_session

    def yahoo() -> YahooProvider:
        return YahooProvider(session=loopback_session(port), timeout=REQUEST_TIMEOUT)

    registry.SOURCES["yahoo"] = yahoo


def main() -> None:
    django.setup()
    yahoo_through_standin(int(os.environ[PORT_VARIABLE]))
    from celery.__main__ import main as celery_main

    sys.argv[0] = "celery"
    celery_main()


if __name__ == "__main__":
    main()
