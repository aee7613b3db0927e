"""The watchlist: the symbols a user follows on the dashboard, in the user's order.

Services write, each in one transaction with the user's list row locked, so two tabs cannot
interleave a move and an add. Selectors read what the dashboard needs. A user who never
changed the list sees the demo's symbols (those that exist as active assets); the first
change writes them, then applies itself, so the list a user saw is the list they edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max

from apps.market.catalog import DEMO_ASSETS
from apps.market.models import Asset
from apps.market.requests import LookupStatus, assets_lookup_request
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.portfolios.models import Position, Watchlist, WatchlistItem

# Under MAX_SUBSCRIPTIONS_PER_CONNECTION (50) with room for what the user holds and their
# portfolios: the dashboard subscribes to all of them on one socket.
WATCHLIST_MAX = 30
# How long adding a new symbol waits on a worker's lookup (the worker gives its sources 8 s).

DIRECTIONS = ("up", "down")
_ROW_FIELDS = ("symbol", "name", "asset_type", "currency", "exchange")


@dataclass(frozen=True, slots=True)
class WatchRow:
    """What a page shows of a symbol before its prices arrive over the socket."""

    symbol: str
    name: str
    asset_type: str
    currency: str
    exchange: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class WatchlistProblem(Exception):
    """A change the user asked for and can correct: `message` is shown beside the field."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SymbolInvalid(WatchlistProblem):
    code = "invalid_symbol"


class SymbolUnknown(WatchlistProblem):
    code = "unknown_symbol"


class SymbolUncheckable(WatchlistProblem):
    """Nobody could say whether the symbol exists (no worker answered): try again later."""

    code = "unavailable"


class SymbolAlreadyWatched(WatchlistProblem):
    code = "already_watched"


class WatchlistFull(WatchlistProblem):
    code = "watchlist_full"


class WatchlistItemMissing(LookupError):
    """The symbol is not on this user's watchlist (another user's rows look the same)."""


# --- selectors -----------------------------------------------------------------------------


def _rows(assets: Iterable[Mapping[str, Any]]) -> list[WatchRow]:
    return [WatchRow(**{name: row[name] or "" for name in _ROW_FIELDS}) for row in assets]


def watchlist_default_symbols() -> list[str]:
    """The demo's symbols that exist as active assets, in the catalog's order."""
    wanted = [item.symbol for item in DEMO_ASSETS]
    rows = Asset.objects.filter(symbol__in=wanted, is_active=True)
    active = set(rows.values_list("symbol", flat=True))
    return [symbol for symbol in wanted if symbol in active]


def assets_rows(*, symbols: Sequence[str]) -> list[WatchRow]:
    """Rows of the active assets among `symbols`, in the order given (unknown ones left out)."""
    rows = Asset.objects.filter(symbol__in=list(symbols), is_active=True).values(*_ROW_FIELDS)
    by_symbol = {row["symbol"]: row for row in rows}
    return _rows(by_symbol[symbol] for symbol in dict.fromkeys(symbols) if symbol in by_symbol)


def watchlist_rows(*, user_id: int) -> list[WatchRow]:
    """The user's watchlist in order; the demo's symbols while the user never changed it."""
    if not Watchlist.objects.filter(owner_id=user_id).exists():
        return assets_rows(symbols=watchlist_default_symbols())
    items = WatchlistItem.objects.filter(watchlist__owner_id=user_id).order_by("position")
    return _rows(items.values(**{name: F(f"asset__{name}") for name in _ROW_FIELDS}))


def held_rows(*, user_id: int, exclude: Iterable[str] = ()) -> list[WatchRow]:
    """The assets in the user's portfolios, by symbol, less those in `exclude`."""
    symbols = (
        Position.objects.filter(portfolio__owner_id=user_id)
        .exclude(asset__symbol__in=list(exclude))
        .values_list("asset__symbol", flat=True)
        .order_by()
        .distinct()
    )
    rows = Asset.objects.filter(symbol__in=symbols, is_active=True).order_by("symbol")
    return _rows(rows.values(*_ROW_FIELDS))


def symbol_held(*, user_id: int, symbol: str) -> bool:
    """Whether any of the user's portfolios holds the symbol (the dashboard still shows it)."""
    return Position.objects.filter(portfolio__owner_id=user_id, asset__symbol=symbol).exists()


# --- services ------------------------------------------------------------------------------


def watchlist_symbol_add(
    *, user_id: int, symbol: str, lookup_timeout: float | None = None
) -> WatchRow:
    """Put a symbol at the end of the user's watchlist; raise a WatchlistProblem to show.

    A symbol not in the database is looked up once through the price sources, by a worker
    (this process never fetches), waiting up to `lookup_timeout` seconds: so call this from a
    thread of its own, never an event loop or the thread ASGI shares between sync views.
    """
    wanted = _symbol_typed(symbol)
    if not Asset.objects.filter(symbol=wanted).exists():
        wait = settings.SYMBOL_LOOKUP_WAIT_SECONDS if lookup_timeout is None else lookup_timeout
        _symbol_look_up(wanted, timeout=wait)  # outside the transaction: it waits
    asset = _asset_to_watch(wanted)
    with transaction.atomic():
        watchlist = _watchlist_locked(user_id)
        items = watchlist.items.all()
        if items.filter(asset=asset).exists():
            raise SymbolAlreadyWatched(f"{asset.symbol} is already on your watchlist.")
        if items.count() >= WATCHLIST_MAX:
            raise WatchlistFull(
                f"A watchlist holds at most {WATCHLIST_MAX} symbols: remove one to add another."
            )
        last = items.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
        WatchlistItem.objects.create(watchlist=watchlist, asset=asset, position=position)
    return _rows([{name: getattr(asset, name) for name in _ROW_FIELDS}])[0]


def watchlist_symbol_remove(*, user_id: int, symbol: str) -> str:
    """Take a symbol off the user's watchlist and return it as stored; WatchlistItemMissing
    when it is not on it."""
    wanted = _symbol_listed(symbol)
    with transaction.atomic():
        watchlist = _watchlist_locked(user_id)
        deleted, _ = watchlist.items.filter(asset__symbol=wanted).delete()
        if not deleted:
            raise WatchlistItemMissing(symbol)
    return wanted


def watchlist_symbol_move(*, user_id: int, symbol: str, direction: str) -> list[str]:
    """Swap a symbol with its neighbour above ("up") or below ("down"); returns the symbols in
    their new order (unchanged at either end). WatchlistItemMissing when it is not on the
    list, checked first: whether another user's symbol exists is not told by a message."""
    wanted = _symbol_listed(symbol)
    with transaction.atomic():
        watchlist = _watchlist_locked(user_id)
        items = list(watchlist.items.select_related("asset").order_by("position"))
        index = next((i for i, item in enumerate(items) if item.asset.symbol == wanted), None)
        if index is None:
            raise WatchlistItemMissing(symbol)
        if direction not in DIRECTIONS:
            raise WatchlistProblem('Move a symbol "up" or "down".')
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(items):
            _positions_swap(items[index], items[other], spare=items[-1].position + 1)
            items[index], items[other] = items[other], items[index]
    return [item.asset.symbol for item in items]


def _watchlist_locked(user_id: int) -> Watchlist:
    """The user's list row, locked until the transaction ends; written with the demo's
    symbols on first use (a concurrent first use waits on the row and then sees them)."""
    watchlist, created = Watchlist.objects.get_or_create(owner_id=user_id)
    if created:
        symbols = watchlist_default_symbols()
        assets = Asset.objects.in_bulk(symbols, field_name="symbol")
        WatchlistItem.objects.bulk_create(
            WatchlistItem(watchlist=watchlist, asset=assets[symbol], position=position)
            for position, symbol in enumerate(symbols)
        )
    return Watchlist.objects.select_for_update().get(pk=watchlist.pk)


def _positions_swap(first: WatchlistItem, second: WatchlistItem, *, spare: int) -> None:
    # Positions are unique per list and checked row by row: park one on a free number first.
    rows = WatchlistItem.objects
    rows.filter(pk=first.pk).update(position=spare)
    rows.filter(pk=second.pk).update(position=first.position)
    rows.filter(pk=first.pk).update(position=second.position)


def _symbol_typed(raw: str) -> str:
    if not raw.strip():
        raise SymbolInvalid("Enter a symbol, such as AAPL or BTC-USD.")
    try:
        return symbol_normalize(raw)
    except InvalidSymbol:
        raise SymbolInvalid(
            f"\u201c{raw.strip()[:40]}\u201d is not a ticker symbol: try AAPL, BRK-B, SAP.DE, "
            "^GSPC, EURUSD=X or BTC-USD."
        ) from None


def _symbol_listed(raw: str) -> str:
    try:
        return symbol_normalize(raw)
    except InvalidSymbol:
        raise WatchlistItemMissing(raw) from None


def _symbol_look_up(symbol: str, *, timeout: float) -> None:
    """Returns once the sources priced the symbol (a worker saved it as an asset)."""
    check = assets_lookup_request(symbols=[symbol], timeout=timeout)[symbol]
    if check.status is LookupStatus.UNKNOWN:
        raise SymbolUnknown(f"{symbol} was not found: no price source lists it.")
    if check.status is LookupStatus.FAILED:
        raise SymbolUncheckable(
            f"Could not check {symbol} right now ({check.reason}): try again in a minute."
        )


def _asset_to_watch(symbol: str) -> Asset:
    asset = Asset.objects.filter(symbol=symbol).first()
    if asset is None:  # found by a lookup whose row is gone again: as good as unknown
        raise SymbolUnknown(f"{symbol} was not found: no price source lists it.")
    if not asset.is_active:
        raise SymbolUnknown(f"{symbol} is switched off here: it gets no prices.")
    return asset
