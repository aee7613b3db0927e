"""Hostile client messages (hypothesis strategies) and what the protocol promises for each.

The oracle reads the documented contract (apps/realtime/protocol.py and the guide): every
message gets exactly one control reply (`pong`, `subscribed`, `unsubscribed` or an `error`
with a code), or a documented close when it is over uvicorn's frame cap.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.realtime.protocol import ClientType

FRAME_CAP = 65_536  # uvicorn's --ws-max-size in the Procfile: beyond it, close 1009
ABUSE_LIMIT = 20  # consumers.ABUSE_LIMIT: refused (size, rate) messages before close 4008

# Deterministic and bounded: the same examples on every run, no example database on disk.
FUZZ = hypothesis_settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


@contextmanager
def examples_fixed() -> Iterator[None]:
    """Hypothesis (6.131 on) mixes literals it finds in the project's loaded modules into its
    examples: which modules happen to be loaded, and every edit to them, would change the
    examples from run to run. Without them, `derandomize` alone decides the examples."""
    from hypothesis.internal.conjecture import providers

    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # another Hypothesis: nothing to switch off
        yield
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


@dataclass(frozen=True)
class Hostile:
    """One message as sent: text or bytes, in one frame or split into `fragments` frames."""

    payload: str | bytes
    fragments: int = 1

    @property
    def size(self) -> int:
        return len(self.payload.encode() if isinstance(self.payload, str) else self.payload)

    def frames(self) -> list[str] | list[bytes]:
        if self.fragments == 1 or len(self.payload) < 2:
            return [self.payload]  # type: ignore[return-value]  # str or bytes, as the payload
        step = max(1, -(-len(self.payload) // self.fragments))
        return [self.payload[i : i + step] for i in range(0, len(self.payload), step)]  # type: ignore[return-value]  # str or bytes slices, as the payload

    def __repr__(self) -> str:
        shown = self.payload if len(self.payload) <= 120 else self.payload[:120]
        more = f" ... {self.size} bytes" if len(self.payload) > 120 else ""
        return f"Hostile({shown!r}{more}, fragments={self.fragments})"


@dataclass
class World:
    """What the server knows, as far as the oracle needs it."""

    known_symbols: frozenset[str]
    authenticated: bool = False
    owned_portfolios: frozenset[int] = frozenset()
    other_portfolios: frozenset[int] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)


# --- the oracle ---------------------------------------------------------------------------------

PONG, SUBSCRIBED, UNSUBSCRIBED, CLOSE_TOO_BIG = "pong", "subscribed", "unsubscribed", "close:1009"


def error(code: str) -> str:
    return f"error:{code}"


@dataclass(frozen=True)
class Expect:
    """The control replies the contract allows for one message, and the error's request_type."""

    outcomes: frozenset[str]
    request_type: str | None = None


def _valid_symbol(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        return symbol_normalize(raw)
    except InvalidSymbol:
        return None


def _valid_portfolio_id(raw: Any) -> int | None:
    """The contract: a positive integer below 2**63, or a string of its decimal digits (any
    script's is fair to read or refuse: the server reads ASCII digits only)."""
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 20:
        try:
            raw = int(raw)
        except ValueError:
            return None  # '²' is a digit to str.isdigit(), not to int()
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 2**63:
        return raw
    return None


def expected(message: Hostile, world: World) -> Expect:
    if message.size > FRAME_CAP:
        return Expect(frozenset({CLOSE_TOO_BIG}))
    if message.size > settings.REALTIME_MAX_MESSAGE_BYTES:
        return Expect(frozenset({error("message_too_large")}))
    if isinstance(message.payload, bytes):
        return Expect(frozenset({error("invalid_message")}))
    try:
        payload = orjson.loads(message.payload)  # RFC 8259 JSON, nesting up to 1024 levels
    except orjson.JSONDecodeError:
        return Expect(frozenset({error("invalid_json")}))
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return Expect(frozenset({error("invalid_message")}))
    kind = payload["type"]
    if kind not in set(ClientType):
        return Expect(frozenset({error("unknown_type")}), kind[:40])
    data = payload.get("data", {} if kind == ClientType.PING else None)
    if not isinstance(data, dict):
        return Expect(frozenset({error("invalid_data")}), kind)
    return Expect(frozenset(_typed_outcomes(ClientType(kind), data, world)), kind)


def _typed_outcomes(kind: ClientType, data: dict[str, Any], world: World) -> set[str]:
    invalid = {error("invalid_data")}
    if kind is ClientType.PING:
        return {PONG}
    if kind is ClientType.SET_BATCHING:
        return {SUBSCRIBED} if isinstance(data.get("enabled"), bool) else invalid
    if kind in (ClientType.SUBSCRIBE_ASSET, ClientType.UNSUBSCRIBE_ASSET):
        symbol = _valid_symbol(data.get("symbol"))
        if symbol is None:
            return invalid
        if kind is ClientType.UNSUBSCRIBE_ASSET:
            return {UNSUBSCRIBED}
        if symbol not in world.known_symbols:
            return {error("unknown_symbol")}
        return {SUBSCRIBED, error("subscription_limit")}
    raw = data.get("portfolio_id")
    portfolio_id = _valid_portfolio_id(raw)
    if portfolio_id is None:
        return invalid
    # Digits of other scripts ('١٢') may be read as the number or refused: both are fair.
    loose = invalid if isinstance(raw, str) and not raw.isascii() else set()
    return loose | _portfolio_outcomes(kind, portfolio_id, world)


def _portfolio_outcomes(kind: ClientType, portfolio_id: int, world: World) -> set[str]:
    if kind is ClientType.UNSUBSCRIBE_PORTFOLIO:
        return {UNSUBSCRIBED}
    if not world.authenticated:
        return {error("auth_required")}
    if portfolio_id in world.owned_portfolios:
        return {SUBSCRIBED, error("subscription_limit")}
    return {error("forbidden")}


# --- strategies ---------------------------------------------------------------------------------

# Any Unicode scalar a UTF-8 text frame can carry: control characters, NUL, bidi marks, emoji.
any_text = st.text(st.characters(codec="utf-8"), max_size=60)
weird_text = st.sampled_from([
    "", " ", "\x00", "\x00AAPL", "AAPL\x00", "\u200bAAPL", "AAPL\u202e", "\ufeffping",
    "\uff21\uff21\uff30\uff2c",  # AAPL in full-width letters
    "ß", "ﬀ", "İ", "\u0301", "😀", "\r\n", "\t", "\x7f", "\x1b[31m", "null", "<script>",
    "'; DROP TABLE market_asset; --", "../../etc/passwd", "%00", "\\u0000", "a" * 200,
])  # fmt: skip

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    any_text,
    weird_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)

# Well-formed tickers, built here rather than with st.from_regex: its character sets follow the
# string hash seed, so the examples would change from run to run.
well_formed_symbols = st.builds(
    lambda caret, core, suffix: caret + core + suffix,
    st.sampled_from(["", "^"]),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=10),
    st.sampled_from(["", ".DE", "-B", "-USD", ".HK", "=X", "=F"]),
)
symbols = st.one_of(
    st.sampled_from(["AAPL", "aapl", " msft ", "BRK-B", "^GSPC", "eurusd=x", "ZZZZ", "A" * 33]),
    well_formed_symbols,
    any_text,
    weird_text,
    json_values,
)
portfolio_ids = st.one_of(
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**64, True, False, 1.0, 1.5, "1",
                     "01", "", " 1", "1 ", "-1", "0x10", "1e3", "١٢", "Ⅻ", "\uff19"]),
    st.integers(),
    st.text(alphabet=string.digits, min_size=1, max_size=25),
    json_values,
)  # fmt: skip
flags = st.one_of(st.sampled_from([True, False, "true", "false", 1, 0, None, [], {}]), json_values)

FIELD_VALUES: dict[ClientType, tuple[str, st.SearchStrategy[Any]] | None] = {
    ClientType.PING: None,
    ClientType.SUBSCRIBE_ASSET: ("symbol", symbols),
    ClientType.UNSUBSCRIBE_ASSET: ("symbol", symbols),
    ClientType.SUBSCRIBE_PORTFOLIO: ("portfolio_id", portfolio_ids),
    ClientType.UNSUBSCRIBE_PORTFOLIO: ("portfolio_id", portfolio_ids),
    ClientType.SET_BATCHING: ("enabled", flags),
}
_MISSING = object()


@st.composite
def typed_message(draw: st.DrawFn) -> dict[str, Any]:
    """A message of a known type with its field of every wrong (and some right) type."""
    kind = draw(st.sampled_from(list(ClientType)))
    body: dict[str, Any] = {"type": kind.value}
    shape = draw(st.sampled_from(["field", "field", "field", "no data", "data not object",
                                  "no field", "extra keys"]))  # fmt: skip
    spec = FIELD_VALUES[kind]
    if shape == "no data":
        return body
    if shape == "data not object":
        body["data"] = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return body
    data: dict[str, Any] = {}
    if spec is not None and shape != "no field":
        name, values = spec
        data[name] = draw(values)
    if shape == "extra keys":
        data.update(draw(st.dictionaries(any_text, json_values, max_size=3)))
    body["data"] = data
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(st.sampled_from(["timestamp", "id", "extra"]),
                                         json_values, max_size=2)))  # fmt: skip
    return body


def _dumps(body: Any) -> str:
    # The standard library writes integers of any size (orjson refuses past 64 bits) and,
    # with ensure_ascii off, puts raw Unicode and control characters on the wire.
    return json.dumps(body, ensure_ascii=False)


def _nested(depth: int, kind: str) -> str:
    inner = "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth
    return '{"type":"subscribe_asset","data":{"symbol":' + inner + "}}"


not_text = json_values.filter(lambda v: not isinstance(v, str))
unknown_types = st.one_of(any_text, weird_text, st.sampled_from([
    "PING", "ping ", " ping", "subscribe-asset", "Subscribe_Asset", "subscribe_assets",
    "ping\x00", "x" * 500,
])).filter(lambda t: t not in set(ClientType))  # fmt: skip
envelope_junk = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict)).map(_dumps),  # not an object
    st.builds(lambda t, d: _dumps({"type": t, "data": d}), not_text, json_values),  # type not str
    st.builds(lambda t: _dumps({"type": t, "data": {}}), unknown_types),
    st.dictionaries(any_text, json_values, max_size=4).map(_dumps),  # object, no type
)
malformed = st.one_of(
    any_text,
    weird_text,
    st.tuples(typed_message().map(_dumps), st.integers(0, 200)).map(lambda p: p[0][: p[1]]),
    st.tuples(typed_message().map(_dumps), st.integers(0, 200), any_text).map(
        lambda p: p[0][: p[1]] + p[2] + p[0][p[1] :]
    ),
    st.sampled_from(["{", "}", "[", '{"type":', '{"type":"ping"', "{'type': 'ping'}", "NaN",
                     '{"type":"ping","data":NaN}', '{"type":"ping",}', '{"type":"ping"}}',
                     '{"type":"\\ud800"}', '\ufeff{"type":"ping"}', '{"type":"ping"}\x00']),
)  # fmt: skip
deep = st.tuples(st.integers(1, 5_000), st.sampled_from(["array", "object"])).map(
    lambda p: _nested(*p)
)
# Mostly messages of a known type (where the handlers' logic is), then broken envelopes.
typed_texts = typed_message().map(_dumps)
texts = st.one_of(typed_texts, typed_texts, typed_texts, envelope_junk, malformed, deep)
binaries = st.one_of(
    st.binary(max_size=200),
    typed_message().map(lambda body: _dumps(body).encode()),  # valid JSON, but a binary frame
)


@st.composite
def hostile_message(draw: st.DrawFn) -> Hostile:
    """One message under the 16 KiB cap: text (most) or binary, sometimes fragmented."""
    payload: str | bytes = draw(st.one_of(texts, texts, texts, binaries))
    fragments = draw(st.sampled_from([1, 1, 1, 2, 7]))
    return Hostile(payload, fragments)


sendable = hostile_message()
bursts = st.lists(sendable, min_size=1, max_size=25)

# Boundaries of the two caps: the consumer's 16 KiB message cap and uvicorn's 64 KiB frame cap.
SIZE_BOUNDARIES = [16_383, 16_384, 16_385, 40_000, 65_535, 65_536, 65_537, 200_000]


def ping_of_size(size: int, *, binary: bool = False, fragments: int = 1) -> Hostile:
    """A valid ping padded with spaces inside the JSON to exactly `size` bytes."""
    core = '{"type":"ping","data":{}}'
    text = core[:-1] + " " * (size - len(core)) + "}"
    return Hostile(text.encode() if binary else text, fragments)
