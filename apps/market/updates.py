"""The `asset_update` payload of a saved Asset, and its frame (the stream contract encodes it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apps.market.feed import stale_after_seconds
from apps.market.models import Asset
from apps.streams.frames import asset_update_frame
from apps.streams.groups import GroupFrame
from apps.streams.payloads import AssetUpdate


def asset_is_stale(asset: Asset, *, now: datetime, stale_after: float) -> bool:
    if asset.stale_reason:
        return True
    if asset.last_updated is None:
        return True
    return now - asset.last_updated > timedelta(seconds=stale_after)


def asset_update_payload(asset: Asset, *, now: datetime, stale_after: float) -> AssetUpdate:
    """The guide's fields, plus currency, previous close, source, quote time and staleness."""
    price, previous = asset.current_price, asset.previous_close
    change = price - previous if price is not None and previous is not None else None
    percent = (
        (change / previous * 100).quantize(Decimal("0.0001"))
        if change is not None and previous
        else None
    )
    return AssetUpdate(
        symbol=asset.symbol,
        price=price,
        change=change,
        change_percent=percent,
        volume=asset.volume,
        high=asset.day_high,
        low=asset.day_low,
        currency=asset.currency,
        previous_close=previous,
        source=asset.source,
        quote_time=asset.quote_time,
        market_state=asset.market_state or None,
        stale=asset_is_stale(asset, now=now, stale_after=stale_after),
        stale_reason=asset.stale_reason or None,
    )


def asset_frames_build(assets: Sequence[Asset]) -> list[GroupFrame]:
    """(group, encoded asset_update) for each asset: what is published and kept as snapshot."""
    now = datetime.now(UTC)
    stale_after = stale_after_seconds()
    return [
        asset_update_frame(asset_update_payload(asset, now=now, stale_after=stale_after))
        for asset in assets
    ]
