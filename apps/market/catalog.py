"""The demo universe: well-known assets across stocks, an ETF, indices, FX and crypto.

Reference prices are rough late-2025 levels: the simulated source starts its walks there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.market.models import AssetType


@dataclass(frozen=True)
class CatalogAsset:
    symbol: str
    name: str
    asset_type: AssetType
    exchange: str
    currency: str
    reference_price: Decimal


def _asset(
    symbol: str, name: str, kind: AssetType, exchange: str, currency: str, price: str
) -> CatalogAsset:
    return CatalogAsset(symbol, name, kind, exchange, currency, Decimal(price))


STOCK, ETF, INDEX, FX, CRYPTO = (
    AssetType.STOCK,
    AssetType.ETF,
    AssetType.INDEX,
    AssetType.FX,
    AssetType.CRYPTO,
)

DEMO_ASSETS: tuple[CatalogAsset, ...] = (
    _asset("AAPL", "Apple Inc.", STOCK, "NASDAQ", "USD", "230.00"),
    _asset("MSFT", "Microsoft Corporation", STOCK, "NASDAQ", "USD", "420.00"),
    _asset("GOOGL", "Alphabet Inc. Class A", STOCK, "NASDAQ", "USD", "170.00"),
    _asset("AMZN", "Amazon.com, Inc.", STOCK, "NASDAQ", "USD", "190.00"),
    _asset("NVDA", "NVIDIA Corporation", STOCK, "NASDAQ", "USD", "135.00"),
    _asset("TSLA", "Tesla, Inc.", STOCK, "NASDAQ", "USD", "250.00"),
    _asset("META", "Meta Platforms, Inc.", STOCK, "NASDAQ", "USD", "560.00"),
    _asset("JPM", "JPMorgan Chase & Co.", STOCK, "NYSE", "USD", "215.00"),
    _asset("BRK-B", "Berkshire Hathaway Inc. Class B", STOCK, "NYSE", "USD", "460.00"),
    _asset("KO", "The Coca-Cola Company", STOCK, "NYSE", "USD", "68.00"),
    _asset("SAP.DE", "SAP SE", STOCK, "XETRA", "EUR", "210.00"),
    _asset("SPY", "SPDR S&P 500 ETF Trust", ETF, "NYSE Arca", "USD", "570.00"),
    _asset(
        "VWRL.AS", "Vanguard FTSE All-World UCITS ETF", ETF, "Euronext Amsterdam", "EUR", "120.00"
    ),
    _asset("^GSPC", "S&P 500", INDEX, "SNP", "USD", "5700.00"),
    _asset("^IXIC", "NASDAQ Composite", INDEX, "NASDAQ", "USD", "18000.00"),
    _asset("EURUSD=X", "EUR/USD", FX, "CCY", "USD", "1.0800"),
    _asset("GBPUSD=X", "GBP/USD", FX, "CCY", "USD", "1.2900"),
    _asset("USDJPY=X", "USD/JPY", FX, "CCY", "JPY", "150.00"),
    _asset("BTC-USD", "Bitcoin USD", CRYPTO, "CCC", "USD", "65000.00"),
    _asset("ETH-USD", "Ethereum USD", CRYPTO, "CCC", "USD", "2600.00"),
)
