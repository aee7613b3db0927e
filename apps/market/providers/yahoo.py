"""Yahoo Finance through yfinance: latest quotes and daily bars, one chart request per symbol.

Yahoo's API is meant for personal use (yfinance's README says so): this source prices a
personal portfolio, paced and bounded in time, and is never a redistribution feed.

Why `Ticker.history` + `history_metadata` on our own small pool, not `yf.download`: yfinance 1.7
has no multi-symbol quote call, `download` also sends one chart request per ticker, and it keeps
only the OHLCV frame. It drops the chart `meta` (regularMarketTime, currency,
currentTradingPeriod) and catches every per-ticker error, HTTP 429 included, into a log line and
an empty frame, so a rate limit, an unknown symbol and a dead network look the same. With
yfinance's `hide_exceptions` turned off, `Ticker.history` raises its typed errors per symbol, and
our pool can pace the requests, stop at the first 429 and bound the batch in time. The HTTP
requests and the JSON parsing stay yfinance's own.

In a Celery task the batch's deadline (`deadline.deadline_current()`) is the bound: a symbol is
started only while all its requests could still time out before it, so a slow Yahoo returns
what it priced in time and reports the rest OUT_OF_TIME, to be retried, instead of outliving
the task's time limit and losing the whole batch.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
import yfinance as yf
from yfinance.exceptions import (
    YFDataException,
    YFPricesMissingError,
    YFRateLimitError,
    YFTzMissingError,
)

from apps.market.currencies import currency_major
from apps.market.providers.base import (
    Bar,
    FailureKind,
    HistoryBatch,
    MarketState,
    OutOfTime,
    Quote,
    QuoteBatch,
    RateLimited,
    SourceUnavailable,
    SymbolFailure,
)
from apps.market.providers.deadline import Deadline, deadline_current

logger = logging.getLogger("personal_finance.realtime.providers.yahoo")

SOURCE = "yahoo"
# Five sessions reach back past a long weekend to the previous session's close.
QUOTE_PERIOD = "5d"
# Without Yahoo's priceHint, six decimals keep FX and crypto while dropping float32 noise.
DEFAULT_DECIMALS = 6
# A symbol's first fetch in a process costs two requests: its timezone, then its chart.
REQUESTS_PER_SYMBOL = 2
# A chart request usually answers in well under a second. Batches are sized for one second
# per request, so a slower day shows as OUT_OF_TIME symbols retried, never as a lost batch.
PLANNED_REQUEST_SECONDS = 1.0
NOT_FOUND_WORDS = ("not found", "delisted")

T = TypeVar("T")


class _NoData(Exception):
    """Yahoo answered for the symbol, but with nothing usable as a price."""


# yfinance indexes into the JSON it got: a body of another shape raises one of these.
MALFORMED_ERRORS = (json.JSONDecodeError, KeyError, TypeError, IndexError)
# Timeouts and connection errors of both transports (curl_cffi's and requests') are OSErrors.
HANDLED_ERRORS = (
    _NoData,
    YFRateLimitError,
    YFTzMissingError,
    YFPricesMissingError,
    YFDataException,
    OSError,
    *MALFORMED_ERRORS,
)

_prepared_pid: int | None = None
_prepare_lock = threading.Lock()


def yfinance_prepare(cache_dir: Path | None = None) -> Path:
    """Give this process its own yfinance cache folder and make yfinance raise its errors.

    yfinance keeps timezones and cookies in SQLite files, which concurrent Celery processes have
    corrupted and locked when shared, so the folder is named with this process's pid (under
    `cache_dir`, default the temp folder). By default yfinance turns most errors into log lines;
    the provider needs the exceptions to tell a rate limit, an unknown symbol and a dead source
    apart. Call once per process before the first request; returns the folder.

    yfinance's Pandas4Warning under pandas 3 is a DeprecationWarning, which Python's default
    filters already hide outside tests, so no warning filter is installed here.
    """
    global _prepared_pid
    folder = (cache_dir or Path(tempfile.gettempdir())) / f"yfinance-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(folder))
    yf.config.debug.hide_exceptions = False
    _prepared_pid = os.getpid()
    return folder


def _ensure_prepared(cache_dir: Path | None) -> None:
    """Prepare yfinance once per process, again in a forked worker (a new pid).

    yfinance reads the location only when it first opens its cache: a parent process that
    fetched before forking keeps its children on its own folder, so workers should call
    `yfinance_prepare` at start (Celery: `worker_process_init`) and parents should not fetch.
    """
    with _prepare_lock:
        if _prepared_pid != os.getpid():
            yfinance_prepare(cache_dir)


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    """What one symbol's fetch came to: a value, a per-symbol failure or trouble at the source."""

    value: T | None = None
    failure: SymbolFailure | None = None
    transient: str | None = None
    rate_limited: bool = False
    out_of_time: str | None = None


@dataclass
class _Collected(Generic[T]):
    values: dict[str, T] = field(default_factory=dict)
    failures: dict[str, SymbolFailure] = field(default_factory=dict)
    transient: dict[str, str] = field(default_factory=dict)
    rate_limited: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    out_of_time: dict[str, str] = field(default_factory=dict)

    def add(self, symbol: str, outcome: _Outcome[T] | None) -> None:
        if outcome is None:
            self.skipped.append(symbol)
        elif outcome.value is not None:
            self.values[symbol] = outcome.value
        elif outcome.failure is not None:
            self.failures[symbol] = outcome.failure
        elif outcome.rate_limited:
            self.rate_limited.append(symbol)
        elif outcome.out_of_time is not None:
            self.out_of_time[symbol] = outcome.out_of_time
        else:
            self.transient[symbol] = outcome.transient or "no answer"

    def unanswered(self) -> dict[str, SymbolFailure]:
        """Symbols the source failed on while others were answered: no data, with the reason."""
        reasons = {**{symbol: "not fetched" for symbol in self.skipped}, **self.transient}
        failures = {s: SymbolFailure(FailureKind.NO_DATA, r, SOURCE) for s, r in reasons.items()}
        late = self.out_of_time.items()
        return failures | {s: SymbolFailure(FailureKind.OUT_OF_TIME, r, SOURCE) for s, r in late}


class _BatchState:
    """Shared by the workers of one batch: tells them to stop starting new requests."""

    def __init__(self, workers: int) -> None:
        self.stop = threading.Event()
        # Set by the first symbol the deadline leaves no room for: none after it has room either.
        self.late = threading.Event()
        self._workers = workers
        self._answered = 0
        self._troubled = 0
        self._lock = threading.Lock()

    def record(self, outcome: _Outcome[Any]) -> None:
        with self._lock:
            if outcome.transient is not None:
                self._troubled += 1
            elif not outcome.rate_limited:
                self._answered += 1
            # Another request after a 429 only deepens the limit; a source that failed every
            # worker's first request is down, and each further symbol would wait for its timeout.
            if outcome.rate_limited or (not self._answered and self._troubled >= self._workers):
                self.stop.set()


class _Pacer:
    """Spaces request starts so a batch does not reach Yahoo as a burst."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class YahooProvider:
    """Quotes and daily bars from Yahoo Finance, through yfinance's own requests and parsing."""

    name = SOURCE

    def __init__(
        self,
        *,
        session: Any = None,
        threads: int = 2,
        pace_seconds: float = 0.2,
        timeout: float = 10,
        cache_dir: Path | None = None,
    ) -> None:
        """`session`: a requests or curl_cffi Session for yfinance (None: yfinance's own)."""
        if threads < 1 or timeout <= 0 or pace_seconds < 0:
            raise ValueError("threads >= 1, timeout > 0 and pace_seconds >= 0 are required")
        self._session = session
        self._threads = threads
        self._timeout = timeout
        self._pace_seconds = pace_seconds
        self._pacer = _Pacer(pace_seconds)
        self._cache_dir = cache_dir

    def covers(self, symbol: str) -> bool:
        """Yahoo lists stocks, ETFs, funds, indices (^X), FX (XXXYYY=X) and crypto (XXX-USD)."""
        return True

    def batch_cap(self, budget_seconds: float) -> int:
        """Symbols that fit the budget at a normal pace, the last one's worst case included.

        A symbol is started only while all its requests could still time out in the budget;
        until then symbols start every PLANNED_REQUEST_SECONDS per thread (or at the pacer's
        rate, when that is slower).
        """
        per_symbol = max(self._pace_seconds, PLANNED_REQUEST_SECONDS / self._threads)
        return max(1, int((budget_seconds - self._symbol_seconds) // per_symbol) + 1)

    def close(self) -> None:
        """Nothing of ours is held open: yfinance keeps one session per process, or the caller
        owns the session it passed in."""

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        collected = self._collect(symbols, self._quote_fetch)
        batch = QuoteBatch(quotes=collected.values, failures=collected.failures)
        _raise_for_source(collected, batch)
        batch.failures.update(collected.unanswered())
        return batch

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        start = datetime.now(UTC).date() - timedelta(days=days)
        collected = self._collect(symbols, partial(self._history_fetch, start=start))
        _raise_for_source(collected, None)
        failures = {**collected.failures, **collected.unanswered()}
        return HistoryBatch(bars=collected.values, failures=failures)

    def _ticker(self, symbol: str) -> Any:
        return yf.Ticker(symbol, session=self._session)

    def _quote_fetch(self, symbol: str) -> Quote:
        ticker = self._ticker(symbol)
        frame = ticker.history(
            period=QUOTE_PERIOD,
            interval="1d",
            auto_adjust=False,
            actions=False,
            timeout=self._timeout,
        )
        return _quote_from_chart(symbol, frame, ticker.history_metadata)

    def _history_fetch(self, symbol: str, *, start: date) -> list[Bar]:
        ticker = self._ticker(symbol)
        frame = ticker.history(
            start=start.isoformat(),
            interval="1d",
            auto_adjust=False,
            actions=False,
            timeout=self._timeout,
        )
        bars = _bars_from_frame(symbol, frame, ticker.history_metadata)
        if not bars:
            raise _NoData(f"no daily bars with prices since {start.isoformat()}")
        return bars

    @property
    def _symbol_seconds(self) -> float:
        """The longest one symbol's fetch may take once started (every request timing out)."""
        return REQUESTS_PER_SYMBOL * self._timeout

    def _collect(self, symbols: Sequence[str], fetch: Callable[[str], T]) -> _Collected[T]:
        """Fetch each symbol once on a small paced pool, within one deadline for the batch."""
        _ensure_prepared(self._cache_dir)
        unique = list(dict.fromkeys(symbols))
        collected: _Collected[T] = _Collected()
        if not unique:
            return collected
        workers = min(self._threads, len(unique))
        state = _BatchState(workers)
        bound, batch_deadline = self._deadline(len(unique), workers), deadline_current()
        cut = batch_deadline is not None and batch_deadline.remaining() < bound
        if batch_deadline is not None:
            bound = min(bound, batch_deadline.remaining())
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yahoo")
        futures = {pool.submit(self._attempt, s, fetch, state, batch_deadline): s for s in unique}
        done, late = wait(futures, timeout=bound)
        state.stop.set()
        # Running stragglers cannot be interrupted; they end at yfinance's own request timeout.
        pool.shutdown(wait=False, cancel_futures=True)
        for future in done:
            collected.add(futures[future], future.result())
        unanswered: _Outcome[T] = (
            _Outcome(out_of_time="no answer before the batch's deadline")
            if cut
            else _Outcome(transient=f"no answer within {bound:.1f} s")
        )
        for future in late:
            collected.add(futures[future], unanswered)
        return collected

    def _deadline(self, count: int, workers: int) -> float:
        """Our own bound: yfinance fetches a timezone and cookies with timeouts of its own."""
        waves = math.ceil(count / workers)
        return waves * REQUESTS_PER_SYMBOL * self._timeout + count * self._pace_seconds

    def _attempt(
        self,
        symbol: str,
        fetch: Callable[[str], T],
        state: _BatchState,
        deadline: Deadline | None,
    ) -> _Outcome[T] | None:
        if state.stop.is_set():
            return None
        if not state.late.is_set():
            self._pacer.wait()
        if state.late.is_set() or not _starts_in_time(deadline, self._symbol_seconds):
            state.late.set()
            return _Outcome(out_of_time="not asked: the batch's deadline would pass first")
        try:
            outcome: _Outcome[T] = _Outcome(value=fetch(symbol))
        except HANDLED_ERRORS as exc:
            outcome = _outcome_of_error(symbol, exc)
        state.record(outcome)
        return outcome


def _starts_in_time(deadline: Deadline | None, seconds: float) -> bool:
    return deadline is None or deadline.allows(seconds)


def _outcome_of_error(symbol: str, exc: Exception) -> _Outcome[Any]:
    """Sort an error into: this symbol's answer, a rate limit, or trouble at the source."""
    status = _http_status(exc)
    if isinstance(exc, _NoData):
        return _failure(symbol, FailureKind.NO_DATA, str(exc))
    if isinstance(exc, YFRateLimitError) or status == 429:
        logger.warning("rate-limited (HTTP 429) on %s", symbol)
        return _Outcome(rate_limited=True)
    if isinstance(exc, YFTzMissingError):
        return _failure(symbol, FailureKind.UNKNOWN_SYMBOL, _yahoo_reason(exc))
    if status == 404:
        return _failure(symbol, FailureKind.UNKNOWN_SYMBOL, "Yahoo does not list it (HTTP 404)")
    if isinstance(exc, YFPricesMissingError):
        return _prices_missing(symbol, exc)
    if status is not None:
        return _transient(symbol, f"HTTP {status} from Yahoo")
    # Reasons reach every watching socket as `stale_reason`: plain words there, details in
    # the log.
    if isinstance(exc, MALFORMED_ERRORS):
        logger.warning(
            "unreadable answer from Yahoo for %s: %s: %s", symbol, type(exc).__name__, exc
        )
        return _transient(symbol, "Yahoo sent an answer that could not be read")
    logger.warning("fetching %s from Yahoo failed: %s: %s", symbol, type(exc).__name__, exc)
    return _transient(symbol, "Yahoo could not be reached")


def _prices_missing(symbol: str, exc: YFPricesMissingError) -> _Outcome[Any]:
    """Yahoo's own error text (`yahoo_reason`) says whether it knows the symbol at all."""
    reason = exc.yahoo_reason
    if reason and any(word in reason.lower() for word in NOT_FOUND_WORDS):
        return _failure(symbol, FailureKind.UNKNOWN_SYMBOL, reason)
    return _failure(symbol, FailureKind.NO_DATA, reason or _yahoo_reason(exc))


def _failure(symbol: str, kind: FailureKind, reason: str) -> _Outcome[Any]:
    logger.info("%s: %s (%s)", symbol, kind, reason)
    return _Outcome(failure=SymbolFailure(kind, reason, SOURCE))


def _transient(symbol: str, reason: str) -> _Outcome[Any]:
    logger.warning("no answer for %s: %s", symbol, reason)
    return _Outcome(transient=reason)


def _http_status(exc: Exception) -> int | None:
    """The HTTP status of a requests or curl_cffi error that carries its response."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _yahoo_reason(exc: Exception) -> str:
    # yfinance prefixes its messages with "$SYMBOL: "; the symbol is already the key.
    return str(exc).split(": ", 1)[-1] or type(exc).__name__


def _raise_for_source(collected: _Collected[Any], partial: QuoteBatch | None) -> None:
    """Raise when the source, not single symbols, failed this batch; `partial` is kept."""
    answered = collected.values or collected.failures
    if collected.out_of_time and not answered and not collected.transient:
        raise OutOfTime(
            SOURCE,
            f"no symbol answered before the batch's deadline ({len(collected.out_of_time)} "
            "not asked or not answered in time)",
            partial=partial,
        )
    if collected.rate_limited:
        raise RateLimited(
            SOURCE,
            f"HTTP 429 (Too Many Requests) for {', '.join(collected.rate_limited)}",
            retry_after=None,  # yfinance drops the 429 response, so no Retry-After reaches us
            partial=partial,
        )
    if collected.transient and not collected.values and not collected.failures:
        symbol, reason = next(iter(collected.transient.items()))
        raise SourceUnavailable(
            SOURCE,
            f"no symbol answered ({len(collected.transient)} failed; {symbol}: {reason})",
            partial=partial,
        )


def _quote_from_chart(symbol: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> Quote:
    """A quote from the chart meta, with the previous close from the unadjusted daily bars."""
    currency = meta.get("currency")
    price = _positive(meta.get("regularMarketPrice"))
    closes = _valid_prices(frame, "Close")
    if not currency or price is None or closes.empty:
        raise _NoData(f"no price in the last {QUOTE_PERIOD} (currency {currency}, price {price})")
    market_time = meta.get("regularMarketTime")
    if not isinstance(market_time, pd.Timestamp):
        raise _NoData("no regularMarketTime in Yahoo's answer")
    session = _session_row(frame, market_time.date())
    money = _Money.of(str(currency), meta.get("priceHint"))
    return Quote(
        symbol=symbol,
        price=money.amount(price),
        previous_close=money.optional(_previous_close(closes, market_time.date())),
        day_high=money.optional(_first(meta.get("regularMarketDayHigh"), session, "High")),
        day_low=money.optional(_first(meta.get("regularMarketDayLow"), session, "Low")),
        volume=_volume(meta.get("regularMarketVolume"), session),
        currency=money.currency,
        quote_time=market_time.to_pydatetime().astimezone(UTC),
        source=SOURCE,
        market_state=_market_state(meta.get("currentTradingPeriod"), datetime.now(UTC)),
    )


def _bars_from_frame(symbol: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> list[Bar]:
    """Daily bars as Yahoo traded them (unadjusted); rows with a missing or zero price dropped."""
    money = _Money.of(str(meta.get("currency") or ""), meta.get("priceHint"))
    bars = []
    columns = ["Open", "High", "Low", "Close", "Volume"]
    for day, *ohlc, volume in frame.reindex(columns=columns).itertuples():
        prices = [price for price in map(_positive, ohlc) if price is not None]
        if len(prices) == len(ohlc):
            o, h, lo, c = map(money.amount, prices)
            bars.append(Bar(symbol, day.date(), o, h, lo, c, _volume(volume, None), SOURCE))
    return bars


@dataclass(frozen=True)
class _Money:
    """Turns Yahoo's floats into Decimals in the major currency (pence to pounds)."""

    currency: str
    divisor: Decimal
    decimals: int

    @classmethod
    def of(cls, currency: str, price_hint: Any) -> _Money:
        major, divisor = currency_major(currency)
        hint = price_hint if isinstance(price_hint, int) else DEFAULT_DECIMALS
        return cls(major, divisor, min(max(hint, 2), 8))

    def amount(self, value: float) -> Decimal:
        # str() of the rounded float: Decimal(float) would keep float32 noise such as .8399963.
        return Decimal(str(round(value, self.decimals))) / self.divisor

    def optional(self, value: float | None) -> Decimal | None:
        return None if value is None else self.amount(value)


def _positive(value: Any) -> float | None:
    """A usable price: a finite number above zero, never NaN or 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _valid_prices(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(dtype=float)
    values = frame[column]
    return values[values.notna() & (values > 0)]


def _session_row(frame: pd.DataFrame, day: date) -> pd.Series | None:
    rows = frame[[stamp.date() == day for stamp in frame.index]]
    return None if rows.empty else rows.iloc[-1]


def _previous_close(closes: pd.Series, session_day: date) -> float | None:
    """The last close of a session before the quote's own session."""
    earlier = closes[[stamp.date() < session_day for stamp in closes.index]]
    return None if earlier.empty else float(earlier.iloc[-1])


def _first(value: Any, session: pd.Series | None, column: str) -> float | None:
    """The meta's value, else the same field of the session's daily bar."""
    found = _positive(value)
    if found is None and session is not None:
        found = _positive(session.get(column))
    return found


def _volume(value: Any, session: pd.Series | None) -> int | None:
    """The meta's volume, else the session bar's; None when neither is a finite number."""
    if not _is_count(value) and session is not None:
        value = session.get("Volume")
    return int(value) if _is_count(value) else None


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(value) and float(value) >= 0


def _market_state(periods: Any, now: datetime) -> MarketState:
    """Where `now` falls in Yahoo's currentTradingPeriod (pre, regular, post)."""
    if not isinstance(periods, Mapping):
        return MarketState.UNKNOWN
    spans = {name: _span(periods.get(name)) for name in ("pre", "regular", "post")}
    if spans["regular"] is None:
        return MarketState.UNKNOWN
    states = {"regular": MarketState.OPEN, "pre": MarketState.PRE, "post": MarketState.POST}
    for name, state in states.items():
        span = spans[name]
        if span is not None and span[0] <= now < span[1]:
            return state
    return MarketState.CLOSED


def _span(period: Any) -> tuple[datetime, datetime] | None:
    if not isinstance(period, Mapping):
        return None
    start, end = _utc(period.get("start")), _utc(period.get("end"))
    return None if start is None or end is None else (start, end)


def _utc(value: Any) -> datetime | None:
    """yfinance gives Timestamps once it has formatted the meta, epoch seconds before."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):  # pd.Timestamp is a datetime
        return value.astimezone(UTC)
    return None
