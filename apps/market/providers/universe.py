"""The symbols the simulated market lists when asked to look one up: well-known tickers.

The simulated source prices any symbol (tests and benchmarks rely on that), but a lookup must
be able to say "unknown" for the offline demo to behave like a real source. Its universe is
the demo catalog plus this list: the S&P 100, major ETFs, a few indices, crypto and currency
pairs between major currencies. Names are what a new asset is called; the kind of asset is
read from the symbol's shape where it is not given.
"""

from __future__ import annotations

from itertools import permutations

# S&P 100 constituents (late 2025; both Alphabet classes), by ticker.
SP100: dict[str, str] = {
    "AAPL": "Apple Inc.", "ABBV": "AbbVie Inc.", "ABT": "Abbott Laboratories",
    "ACN": "Accenture plc", "ADBE": "Adobe Inc.", "AIG": "American International Group",
    "AMD": "Advanced Micro Devices", "AMGN": "Amgen Inc.", "AMT": "American Tower",
    "AMZN": "Amazon.com, Inc.", "AVGO": "Broadcom Inc.", "AXP": "American Express",
    "BA": "The Boeing Company", "BAC": "Bank of America", "BK": "BNY Mellon",
    "BKNG": "Booking Holdings", "BLK": "BlackRock, Inc.", "BMY": "Bristol-Myers Squibb",
    "BRK-B": "Berkshire Hathaway Inc. Class B", "C": "Citigroup Inc.",
    "CAT": "Caterpillar Inc.", "CHTR": "Charter Communications", "CL": "Colgate-Palmolive",
    "CMCSA": "Comcast Corporation", "COF": "Capital One Financial", "COP": "ConocoPhillips",
    "COST": "Costco Wholesale", "CRM": "Salesforce, Inc.", "CSCO": "Cisco Systems",
    "CVS": "CVS Health", "CVX": "Chevron Corporation", "DE": "Deere & Company",
    "DHR": "Danaher Corporation", "DIS": "The Walt Disney Company", "DUK": "Duke Energy",
    "EMR": "Emerson Electric", "F": "Ford Motor Company", "FDX": "FedEx Corporation",
    "GD": "General Dynamics", "GE": "GE Aerospace", "GILD": "Gilead Sciences",
    "GM": "General Motors", "GOOG": "Alphabet Inc. Class C", "GOOGL": "Alphabet Inc. Class A",
    "GS": "The Goldman Sachs Group", "HD": "The Home Depot", "HON": "Honeywell International",
    "IBM": "International Business Machines", "INTC": "Intel Corporation",
    "INTU": "Intuit Inc.", "ISRG": "Intuitive Surgical", "JNJ": "Johnson & Johnson",
    "JPM": "JPMorgan Chase & Co.", "KHC": "The Kraft Heinz Company",
    "KO": "The Coca-Cola Company", "LIN": "Linde plc", "LLY": "Eli Lilly and Company",
    "LMT": "Lockheed Martin", "LOW": "Lowe's Companies", "MA": "Mastercard Incorporated",
    "MCD": "McDonald's Corporation", "MDLZ": "Mondelez International", "MDT": "Medtronic plc",
    "MET": "MetLife, Inc.", "META": "Meta Platforms, Inc.", "MMM": "3M Company",
    "MO": "Altria Group", "MRK": "Merck & Co.", "MS": "Morgan Stanley",
    "MSFT": "Microsoft Corporation", "NEE": "NextEra Energy", "NFLX": "Netflix, Inc.",
    "NKE": "Nike, Inc.", "NOW": "ServiceNow, Inc.", "NVDA": "NVIDIA Corporation",
    "ORCL": "Oracle Corporation", "PEP": "PepsiCo, Inc.", "PFE": "Pfizer Inc.",
    "PG": "The Procter & Gamble Company", "PLTR": "Palantir Technologies",
    "PM": "Philip Morris International", "PYPL": "PayPal Holdings", "QCOM": "Qualcomm",
    "RTX": "RTX Corporation", "SBUX": "Starbucks Corporation", "SCHW": "Charles Schwab",
    "SO": "The Southern Company", "SPG": "Simon Property Group", "T": "AT&T Inc.",
    "TGT": "Target Corporation", "TMO": "Thermo Fisher Scientific", "TMUS": "T-Mobile US",
    "TSLA": "Tesla, Inc.", "TXN": "Texas Instruments", "UBER": "Uber Technologies",
    "UNH": "UnitedHealth Group", "UNP": "Union Pacific", "UPS": "United Parcel Service",
    "USB": "U.S. Bancorp", "V": "Visa Inc.", "VZ": "Verizon Communications",
    "WFC": "Wells Fargo & Company", "WMT": "Walmart Inc.", "XOM": "Exxon Mobil",
}  # fmt: skip

ETFS: dict[str, str] = {
    "SPY": "SPDR S&P 500 ETF Trust", "VOO": "Vanguard S&P 500 ETF",
    "IVV": "iShares Core S&P 500 ETF", "QQQ": "Invesco QQQ Trust",
    "VTI": "Vanguard Total Stock Market ETF", "VEA": "Vanguard FTSE Developed Markets ETF",
    "VWO": "Vanguard FTSE Emerging Markets ETF", "VXUS": "Vanguard Total International Stock ETF",
    "IWM": "iShares Russell 2000 ETF", "DIA": "SPDR Dow Jones Industrial Average ETF",
    "EFA": "iShares MSCI EAFE ETF", "AGG": "iShares Core U.S. Aggregate Bond ETF",
    "BND": "Vanguard Total Bond Market ETF", "TLT": "iShares 20+ Year Treasury Bond ETF",
    "GLD": "SPDR Gold Shares", "SLV": "iShares Silver Trust",
    "VNQ": "Vanguard Real Estate ETF", "SCHD": "Schwab U.S. Dividend Equity ETF",
    "VIG": "Vanguard Dividend Appreciation ETF", "XLK": "Technology Select Sector SPDR",
    "XLF": "Financial Select Sector SPDR", "XLE": "Energy Select Sector SPDR",
    "XLV": "Health Care Select Sector SPDR", "ARKK": "ARK Innovation ETF",
    "VWRL.AS": "Vanguard FTSE All-World UCITS ETF", "IWDA.AS": "iShares Core MSCI World UCITS ETF",
    "VUSA.AS": "Vanguard S&P 500 UCITS ETF",
}  # fmt: skip

INDICES: dict[str, str] = {
    "^GSPC": "S&P 500", "^IXIC": "NASDAQ Composite", "^DJI": "Dow Jones Industrial Average",
    "^RUT": "Russell 2000", "^FTSE": "FTSE 100", "^GDAXI": "DAX", "^N225": "Nikkei 225",
    "^STOXX50E": "EURO STOXX 50",
}  # fmt: skip

EUROPE_ASIA: dict[str, str] = {
    "SAP.DE": "SAP SE", "SIE.DE": "Siemens AG", "ASML.AS": "ASML Holding N.V.",
    "MC.PA": "LVMH Moet Hennessy Louis Vuitton", "NESN.SW": "Nestle S.A.",
    "SHEL.L": "Shell plc", "AZN.L": "AstraZeneca PLC", "7203.T": "Toyota Motor Corporation",
}  # fmt: skip

CRYPTO: dict[str, str] = {
    "BTC-USD": "Bitcoin USD", "ETH-USD": "Ethereum USD", "SOL-USD": "Solana USD",
    "XRP-USD": "XRP USD", "ADA-USD": "Cardano USD", "DOGE-USD": "Dogecoin USD",
    "BNB-USD": "BNB USD", "BTC-EUR": "Bitcoin EUR", "ETH-EUR": "Ethereum EUR",
}  # fmt: skip

# Every pair between these, both ways (EURUSD=X and USDEUR=X): whatever a portfolio in one of
# them needs to convert a holding in another.
MAJOR_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK",
                    "DKK", "HKD", "SGD", "CNY")  # fmt: skip
FX_PAIRS: dict[str, str] = {
    f"{base}{quote}=X": f"{base}/{quote}" for base, quote in permutations(MAJOR_CURRENCIES, 2)
}

UNIVERSE: dict[str, str] = {**SP100, **ETFS, **INDICES, **EUROPE_ASIA, **CRYPTO, **FX_PAIRS}
