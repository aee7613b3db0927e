"""The `asset_update` message: built from a saved Asset, encoded once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from apps.market.models import Asset
from apps.realtime.groups import asset_group, frame_encode


def asset_is_stale(asset: Asset, *, now: datetime) -> bool:
    if asset.stale_reason:
        return True
    if asset.last_updated is None:
        return True
    return now - asset.last_updated > timedelta(seconds=settings.REALTIME_STALE_AFTER)


def asset_update_data(asset: Asset, *, now: datetime) -> dict[str, Any]:
    """The guide's fields, plus currency, previous close, source, quote time and staleness."""
    price, previous = asset.current_price, asset.previous_close
    change = price - previous if price is not None and previous is not None else None
    percent = (
        (change / previous * 100).quantize(Decimal("0.0001"))
        if change is not None and previous
        else None
    )
    return {
        "symbol": asset.symbol,
        "price": price,
        "change": change,
        "change_percent": percent,
        "volume": asset.volume,
        "high": asset.day_high,
        "low": asset.day_low,
        "currency": asset.currency,
        "previous_close": previous,
        "source": asset.source,
        "quote_time": asset.quote_time,
        "market_state": asset.market_state or None,
        "stale": asset_is_stale(asset, now=now),
        "stale_reason": asset.stale_reason or None,
    }


def asset_frames_build(assets: Sequence[Asset]) -> list[tuple[str, str]]:
    """(group, encoded asset_update) for each asset: what is published and kept as snapshot."""
    now = datetime.now(UTC)
    return [
        (asset_group(asset.symbol), frame_encode("asset_update", asset_update_data(asset, now=now)))
        for asset in assets
    ]
