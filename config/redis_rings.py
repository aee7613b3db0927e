"""Bounded time rings in Redis lists (today's prices, a portfolio's values of the day).

Newest first; a point whose step prefix ("<step>|") is the newest point's replaces it, so a
ring ends on the latest value and a burst of updates never crowds older points out of the
bound. Replacing needs the head read first, so a push is a small script: a batch of pushes is
one pipelined round trip, and redis-py loads the script where Redis does not know it yet.
"""

from __future__ import annotations

from functools import cache

from redis.client import Pipeline
from redis.commands.core import Script

from config.redis_client import redis_client

# KEYS[1] the ring; ARGV: the step's prefix, the point, the bound, the expiry (seconds).
_PUSH = """
local head = redis.call('LINDEX', KEYS[1], 0)
if head and string.sub(head, 1, #ARGV[1]) == ARGV[1] then
  redis.call('LSET', KEYS[1], 0, ARGV[2])
else
  redis.call('LPUSH', KEYS[1], ARGV[2])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
"""


@cache
def _push_script() -> Script:
    return redis_client().register_script(_PUSH)


def ring_push(pipe: Pipeline, *, key: str, step: int, body: str, bound: int, expiry: int) -> None:
    """Queue on `pipe` the point "<step>|<body>" as the ring's newest (or as its replacement)."""
    prefix = f"{step}|"
    _push_script()(keys=[key], args=[prefix, prefix + body, bound, expiry], client=pipe)
