"""A stand-in for Yahoo Finance, reached by yfinance's own code over real HTTP on 127.0.0.1.

`YahooStandin.session()` is a `requests.Session` whose transport sends every request, whatever
its https://*.yahoo.com address, to the local server instead. yfinance builds the requests
(cookie, crumb, chart parameters) and parses the answers exactly as it would Yahoo's, and the
answers follow Yahoo's formats: chart JSON with its `meta`, float32 prices, `adjclose`, the
404 body of an unknown symbol, a 429 in plain text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import numpy as np
import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response

from tests.standins.http_standin import HttpStandin, Reply, StandinRequest, json_reply

CHART = "/v8/finance/chart/"
QUOTE_SUMMARY = "/v10/finance/quoteSummary/"
CRUMB = "standin-crumb"
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
# Yahoo's answer for a symbol it does not list, byte for byte.
NOT_FOUND_BODY = (
    '{"chart":{"result":null,"error":{"code":"Not Found",'
    '"description":"No data found, symbol may be delisted"}}}'
)
MALFORMED_BODY = '{"chart":{"result":[{"meta":{"currency":"USD","regularMarketPrice":12'
WRONG_SHAPE_BODY = (
    '{"chart":{"result":[{"meta":["USD"],"timestamp":"soon","indicators":{"quote":"none"}}],'
    '"error":null}}'
)
CONSENT_PAGE = """<html><body><form method="post" action="/v2/collectConsent">
<input type="hidden" name="csrfToken" value="standin-csrf"/>
<input type="hidden" name="sessionId" value="standin-session"/>
<button name="agree" value="agree">Accept all</button></form></body></html>"""


class Scenario(StrEnum):
    """How the stand-in answers for one symbol, on every endpoint that names it."""

    QUOTE = "quote"  # a listed symbol, priced from its `Listing`
    UNKNOWN = "unknown"  # Yahoo's 404 "No data found, symbol may be delisted"
    RATE_LIMITED = "rate_limited"  # HTTP 429 "Too Many Requests"
    HANG = "hang"  # no answer until `hang_seconds` pass or the stand-in stops
    MALFORMED = "malformed"  # HTTP 200 with a truncated JSON body
    NO_PRICES = "no_prices"  # the chart of a listed symbol with every price null
    WRONG_SHAPE = "wrong_shape"  # HTTP 200, valid JSON, not a chart (fields of other types)
    NEGATIVE_PRICES = "negative_prices"  # a well-formed chart whose every price is below zero


@dataclass(frozen=True)
class DailyBar:
    day: date
    timestamp: int  # the session's opening time, as Yahoo stamps daily bars
    open: float
    high: float
    low: float
    close: float
    adjclose: float
    volume: int


@dataclass
class Listing:
    """A symbol the stand-in quotes; the last session closes at `price`, the one before at
    `previous_close`. Earlier closes are adjusted by `dividend_factor` in `adjclose`, as after
    an ex-dividend day, so adjusted and unadjusted answers differ."""

    symbol: str
    price: float = 189.84
    previous_close: float = 187.44
    currency: str = "USD"
    quote_time: datetime = field(default_factory=lambda: _minutes_ago(15))
    timezone: str = "America/New_York"
    exchange: str = "NMS"
    day_high: float | None = None
    day_low: float | None = None
    volume: int = 51_234_567
    regular_hours: tuple[time, time] = (time(9, 30), time(16, 0))
    # Overrides the regular session of `currentTradingPeriod`, e.g. to put "now" inside it.
    regular_period: tuple[datetime, datetime] | None = None
    sessions: int = 30
    price_hint: int = 2
    dividend_factor: float = 0.985
    scenario: Scenario = Scenario.QUOTE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def bars(self) -> list[DailyBar]:
        """Every session the stand-in knows for this symbol, oldest first."""
        days = _weekdays_until(self.quote_time.astimezone(self.zone).date(), self.sessions)
        return [self._bar(day, len(days) - 1 - index) for index, day in enumerate(days)]

    def _bar(self, day: date, age: int) -> DailyBar:
        opening = int(datetime.combine(day, self.regular_hours[0], self.zone).timestamp())
        if age == 0:
            high = self.day_high or self.price * 1.01
            low = self.day_low or min(self.price, self.previous_close) * 0.99
            prices = (self.previous_close, high, low, self.price, self.price)
            return DailyBar(day, opening, *prices, volume=self.volume)
        # Older sessions wander a little around the previous close, deterministically.
        close = self.previous_close * (1 + 0.004 * ((age * 7) % 5 - 2) * (age > 1))
        prices = (close * 0.998, close * 1.012, close * 0.991, close, close * self.dividend_factor)
        return DailyBar(day, opening, *prices, volume=40_000_000 + age * 1_000)


class YahooStandin:
    """Yahoo's endpoints on a local `HttpStandin`; per-symbol scenarios, a default for the rest."""

    def __init__(self, server: HttpStandin) -> None:
        self.server = server
        self.listings: dict[str, Listing] = {}
        self.default = Scenario.UNKNOWN  # what Yahoo says of a symbol it does not list
        self.hang_seconds = 10.0
        # A slow Yahoo: every chart answer (a timezone lookup or a quote) waits this long.
        self.chart_latency = 0.0
        server.routes.update(
            {
                "/": self._root,  # fc.yahoo.com, where yfinance gets its cookie
                "/v1/test/getcrumb": lambda _request: _text(CRUMB, "text/plain"),
                "/consent": lambda _request: _text(CONSENT_PAGE),  # the consent-form cookie path
                "/copyConsent": lambda _request: _text("ok"),
                CHART: self._chart,
                QUOTE_SUMMARY: self._quote_summary,
            }
        )

    @property
    def port(self) -> int:
        return urlsplit(self.server.base_url).port or 0

    def session(self) -> requests.Session:
        """A session for yfinance that reaches this stand-in whatever host a request names."""
        return loopback_session(self.port)

    def listing(self, symbol: str, **fields: Any) -> Listing:
        """List `symbol` with the given `Listing` fields (price, currency, quote_time, ...)."""
        listing = replace(self.listings.get(symbol) or Listing(symbol), **fields)
        self.listings[symbol] = listing
        return listing

    def fail(self, symbol: str, scenario: Scenario) -> None:
        """Answer for `symbol` with a failure scenario from now on."""
        self.listing(symbol, scenario=scenario)

    def scenario_of(self, symbol: str) -> Scenario:
        listing = self.listings.get(symbol)
        return listing.scenario if listing else self.default

    def chart_requests(self, symbol: str) -> list[StandinRequest]:
        requests_ = self.server.requests_to(CHART)
        return [r for r in requests_ if unquote(r.path.removeprefix(CHART)).upper() == symbol]

    def _root(self, request: StandinRequest) -> Reply:
        if _host(request) != "fc.yahoo.com":
            return _text("Not Found", "text/plain", status=404)
        # Like Yahoo: a 404 page that still sets the A3 cookie yfinance keeps for its crumb.
        cookie = "A3=d=standin; Max-Age=31557600; Domain=.yahoo.com; Path=/; Secure; HttpOnly"
        status, headers, body = _text("<html></html>", status=404)
        return status, {**headers, "Set-Cookie": cookie}, body

    def _chart(self, request: StandinRequest) -> Reply:
        symbol = unquote(request.path.removeprefix(CHART)).upper()
        if self.chart_latency:
            self.server.delay(self.chart_latency)
        failure = self._failure(symbol, request, not_found=NOT_FOUND_BODY)
        if failure is not None:
            return failure
        listing = self.listings[symbol]
        if listing.scenario is Scenario.NEGATIVE_PRICES:
            listing = replace(
                listing, price=-abs(listing.price), previous_close=-abs(listing.previous_close)
            )
        bars = _bars_in_range(listing.bars(), request.query)
        no_prices = listing.scenario is Scenario.NO_PRICES
        return json_reply(_chart_body(listing, bars, request.query, no_prices=no_prices))

    def _quote_summary(self, request: StandinRequest) -> Reply:
        symbol = unquote(request.path.removeprefix(QUOTE_SUMMARY)).upper()
        not_found = json.dumps(
            {
                "quoteSummary": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": f"Quote not found for symbol: {symbol}",
                    },
                }
            }
        )
        failure = self._failure(symbol, request, not_found=not_found)
        if failure is not None:
            return failure
        listing = self.listings[symbol]
        quote_type = {
            "symbol": symbol,
            "quoteType": "EQUITY",
            "exchange": listing.exchange,
            "exchangeTimezoneName": listing.timezone,
        }
        return json_reply({"quoteSummary": {"result": [{"quoteType": quote_type}], "error": None}})

    def _failure(self, symbol: str, request: StandinRequest, *, not_found: str) -> Reply | None:
        """The reply of a failure scenario, or None when the symbol is to be answered."""
        scenario = self.scenario_of(symbol)
        if scenario is Scenario.UNKNOWN:
            return json_reply(not_found, status=404)
        if scenario is Scenario.RATE_LIMITED:
            return _text("Too Many Requests\r\n", status=429)
        if scenario is Scenario.HANG:
            return self.server.hang(self.hang_seconds)(request)
        if scenario is Scenario.MALFORMED:
            return json_reply(MALFORMED_BODY)
        if scenario is Scenario.WRONG_SHAPE:
            return json_reply(WRONG_SHAPE_BODY)
        return None


class LoopbackAdapter(HTTPAdapter):
    """Sends each request to the stand-in instead of the host in its URL, over real HTTP.

    The session still sees Yahoo's address, so cookies are kept per Yahoo domain and yfinance's
    checks on `response.url` (the consent page) behave as they do against Yahoo.
    """

    def __init__(self, port: int) -> None:
        super().__init__(max_retries=0)
        self._port = port

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        address = urlsplit(request.url or "")
        local = request.copy()
        local.url = urlunsplit(("http", f"127.0.0.1:{self._port}", address.path, address.query, ""))
        local.headers["X-Forwarded-Host"] = address.hostname or ""
        response = super().send(local, stream=stream, timeout=timeout, verify=verify, cert=cert)
        response.url = request.url or ""
        response.request = request
        return response


def loopback_session(port: int) -> requests.Session:
    """A session for yfinance that sends every request to the stand-in on `port` (of this
    process or another: a worker started by `tests.standins.yahoo_worker`)."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: nothing may leave 127.0.0.1
    adapter = LoopbackAdapter(port)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@contextlib.contextmanager
def yahoo_standin() -> Iterator[YahooStandin]:
    """A running stand-in; stopped, and its hanging answers released, on exit."""
    with HttpStandin() as server:
        yield YahooStandin(server)


def _chart_body(
    listing: Listing, bars: list[DailyBar], query: Mapping[str, str], *, no_prices: bool
) -> dict[str, Any]:
    def series(values: list[float]) -> list[float | None]:
        # Yahoo serves float32 prices: 189.84 arrives as 189.83999633789062.
        return [None if no_prices else float(np.float32(value)) for value in values]

    quote = {
        "open": series([bar.open for bar in bars]),
        "high": series([bar.high for bar in bars]),
        "low": series([bar.low for bar in bars]),
        "close": series([bar.close for bar in bars]),
        "volume": [None if no_prices else bar.volume for bar in bars],
    }
    result = {
        "meta": _meta(listing, bars, query),
        "timestamp": [bar.timestamp for bar in bars],
        "indicators": {
            "quote": [quote],
            "adjclose": [{"adjclose": series([bar.adjclose for bar in bars])}],
        },
    }
    return {"chart": {"result": [result], "error": None}}


def _meta(listing: Listing, bars: list[DailyBar], query: Mapping[str, str]) -> dict[str, Any]:
    local = listing.quote_time.astimezone(listing.zone)
    every_bar = listing.bars()
    before = [bar for bar in every_bar if bars and bar.day < bars[0].day]
    meta: dict[str, Any] = {
        "currency": listing.currency,
        "symbol": listing.symbol,
        "exchangeName": listing.exchange,
        "fullExchangeName": listing.exchange,
        "instrumentType": "EQUITY",
        "firstTradeDate": every_bar[0].timestamp,
        "regularMarketTime": int(listing.quote_time.timestamp()),
        "hasPrePostMarketData": True,
        "gmtoffset": _gmtoffset(local),
        "timezone": local.tzname(),
        "exchangeTimezoneName": listing.timezone,
        "regularMarketPrice": listing.price,
        "fiftyTwoWeekHigh": max(bar.high for bar in every_bar),
        "fiftyTwoWeekLow": min(bar.low for bar in every_bar),
        "regularMarketDayHigh": every_bar[-1].high,
        "regularMarketDayLow": every_bar[-1].low,
        "regularMarketVolume": listing.volume,
        "longName": f"{listing.symbol} Inc.",
        "shortName": listing.symbol,
        "chartPreviousClose": before[-1].close if before else every_bar[0].open,
        "priceHint": listing.price_hint,
        "currentTradingPeriod": _trading_period(listing),
        "dataGranularity": query.get("interval", "1d"),
        "range": query.get("range", ""),
        "validRanges": VALID_RANGES,
    }
    if query.get("range") == "1d":
        meta |= {"previousClose": listing.previous_close, "scale": 3}
    return meta


def _trading_period(listing: Listing) -> dict[str, dict[str, Any]]:
    """Yahoo's currentTradingPeriod: pre, regular and post spans of the quote's session."""
    zone = listing.zone
    day = listing.quote_time.astimezone(zone).date()
    opens, closes = listing.regular_period or (
        datetime.combine(day, listing.regular_hours[0], zone),
        datetime.combine(day, listing.regular_hours[1], zone),
    )
    spans = {
        "pre": (opens - timedelta(hours=5, minutes=30), opens),
        "regular": (opens, closes),
        "post": (closes, closes + timedelta(hours=4)),
    }
    offset, name = _gmtoffset(opens.astimezone(zone)), opens.astimezone(zone).tzname()
    return {
        key: {
            "timezone": name,
            "start": int(start.timestamp()),
            "end": int(end.timestamp()),
            "gmtoffset": offset,
        }
        for key, (start, end) in spans.items()
    }


def _bars_in_range(bars: list[DailyBar], query: Mapping[str, str]) -> list[DailyBar]:
    """The sessions a chart request asks for: `range=Nd` (last N) or `period1`..`period2`."""
    if "period1" in query:
        first, last = int(query["period1"]), int(query.get("period2") or 2**40)
        return [bar for bar in bars if first <= bar.timestamp < last]
    span = query.get("range", "1mo")
    if span.endswith("d") and span[:-1].isdigit():
        return bars[-int(span[:-1]) :]
    return bars


def _weekdays_until(last: date, count: int) -> list[date]:
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5 or day == last:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _gmtoffset(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset else 0


def _text(body: str, content_type: str = "text/html;charset=utf-8", status: int = 200) -> Reply:
    return status, {"Content-Type": content_type}, body.encode()


def _host(request: StandinRequest) -> str:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return headers.get("x-forwarded-host", "")


def _minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)
