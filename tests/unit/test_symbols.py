"""Ticker symbols: real Yahoo tickers pass, anything else is refused."""

from __future__ import annotations

import pytest

from apps.market.symbols import InvalidSymbol, symbol_normalize


@pytest.mark.parametrize(
    "symbol",
    ["AAPL", "BRK-B", "^GSPC", "EURUSD=X", "BTC-USD", "SAP.DE", "0700.HK", "ES=F", "VWRL.AS"],
)
def test_real_tickers_are_admitted(symbol: str) -> None:
    assert symbol_normalize(symbol) == symbol


def test_symbols_are_upper_cased_and_trimmed() -> None:
    assert symbol_normalize("  brk-b ") == "BRK-B"


@pytest.mark.parametrize(
    "text", ["", "AAPL MSFT", "AAPL;DROP", "<script>", "A" * 33, "-AAPL", "AAPL.", "^^X", "a/b"]
)
def test_text_that_cannot_be_a_ticker_is_refused(text: str) -> None:
    with pytest.raises(InvalidSymbol):
        symbol_normalize(text)
