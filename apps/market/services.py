"""Writes of market data: quotes onto assets, failures as stale flags, daily bars."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction

from apps.market.intraday import intraday_push
from apps.market.models import Asset, PriceBar
from apps.market.providers.base import Bar, Quote
from apps.market.updates import asset_frames_build
from apps.market.validation import quote_problem
from apps.streams.publish import frames_publish_rollback_unsafe
from apps.streams.snapshots import snapshots_store

logger = logging.getLogger("personal_finance.realtime.prices")

QUOTE_FIELDS = [
    "current_price", "previous_close", "day_high", "day_low", "volume", "currency",
    "quote_time", "last_updated", "source", "market_state", "stale_reason",
]  # fmt: skip


@dataclass
class QuotesSaveResult:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    newly_stale: list[str] = field(default_factory=list)


def _apply(asset: Asset, quote: Quote, now: datetime) -> None:
    asset.current_price = quote.price
    asset.previous_close = quote.previous_close
    asset.day_high = quote.day_high
    asset.day_low = quote.day_low
    asset.volume = quote.volume
    asset.currency = quote.currency
    asset.quote_time = quote.quote_time
    asset.last_updated = now
    asset.source = quote.source
    asset.market_state = quote.market_state.value
    asset.stale_reason = ""


def _locked_assets(symbols: Sequence[str]) -> dict[str, Asset]:
    # Row locks in symbol order: two workers saving overlapping batches queue, never deadlock.
    rows = Asset.objects.select_for_update().filter(symbol__in=symbols).order_by("symbol")
    return {asset.symbol: asset for asset in rows}


def quotes_save(*, quotes: Sequence[Quote], publish: bool = True) -> QuotesSaveResult:
    """Save validated quotes; an older quote never overwrites a newer one.

    After commit: the latest frames go to the snapshot cache, the intraday ring and (with
    `publish`) to the `asset.<SYMBOL>` groups.
    """
    result = QuotesSaveResult()
    now = datetime.now(UTC)
    with transaction.atomic():
        assets = _locked_assets([quote.symbol for quote in quotes])
        touched: list[Asset] = []
        saved_quotes: list[Quote] = []
        for quote in quotes:
            asset = assets.get(quote.symbol)
            if asset is None:
                result.unknown.append(quote.symbol)
                continue
            if asset.quote_time and quote.quote_time < asset.quote_time:
                result.older.append(quote.symbol)
                continue
            problem = quote_problem(quote, last_price=asset.current_price, now=now)
            if problem:
                result.rejected[quote.symbol] = problem
                logger.warning("rejected %s quote for %s: %s", quote.source, quote.symbol, problem)
                if _flag_stale(asset, f"rejected quote: {problem}"):
                    result.newly_stale.append(asset.symbol)
                    touched.append(asset)
                continue
            if (
                asset.quote_time == quote.quote_time
                and asset.current_price == quote.price
                and not asset.stale_reason
            ):
                result.unchanged.append(quote.symbol)
                continue
            _apply(asset, quote, now)
            touched.append(asset)
            saved_quotes.append(quote)
            result.changed.append(quote.symbol)
        _assets_write(touched)
        transaction.on_commit(lambda: _after_save(touched, saved_quotes, publish=publish))
    return result


def _assets_write(assets: list[Asset]) -> None:
    """Write the quote fields of locked rows in one statement.

    An upsert on the symbol instead of bulk_update: bulk_update builds a CASE per field and
    row in Python, which cost 70 ms per batch of 50 against 7 ms for this.
    """
    if assets:
        Asset.objects.bulk_create(
            assets, update_conflicts=True, unique_fields=["symbol"], update_fields=QUOTE_FIELDS
        )


def _flag_stale(asset: Asset, reason: str) -> bool:
    """Set the stale reason; True when the asset was fresh until now (worth a push)."""
    was_fresh = not asset.stale_reason
    asset.stale_reason = reason[:200]
    return was_fresh


def assets_mark_failed(*, failures: Mapping[str, str], publish: bool = True) -> list[str]:
    """Flag symbols no source could price as stale, keeping their last good values.

    Returns the symbols that were fresh until now; only those are pushed again (flagged).
    """
    with transaction.atomic():
        assets = _locked_assets(list(failures))
        flipped = [
            a for a in assets.values() if _flag_stale(a, f"no fresh quote: {failures[a.symbol]}")
        ]
        Asset.objects.bulk_update(list(assets.values()), ["stale_reason"])
        transaction.on_commit(lambda: _after_save(flipped, [], publish=publish))
    return [asset.symbol for asset in flipped]


def _after_save(assets: Sequence[Asset], quotes: Sequence[Quote], *, publish: bool) -> None:
    if not assets:
        return
    frames = asset_frames_build(assets)
    intraday_push(quotes)
    if publish:
        frames_publish_rollback_unsafe(frames)  # already after commit
    else:
        snapshots_store(frames)


def bars_save(*, bars: Mapping[str, Sequence[Bar]]) -> int:
    """Upsert daily bars (unique per asset and day); returns how many rows were written."""
    assets = dict(Asset.objects.filter(symbol__in=list(bars)).values_list("symbol", "id"))
    rows = [
        PriceBar(
            asset_id=assets[symbol],
            date=bar.day,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            source=bar.source,
        )
        for symbol, symbol_bars in bars.items()
        if symbol in assets
        for bar in symbol_bars
    ]
    PriceBar.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["asset", "date"],
        update_fields=["open", "high", "low", "close", "volume", "source"],
        batch_size=1000,
    )
    return len(rows)
