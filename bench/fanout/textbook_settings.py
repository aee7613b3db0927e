"""The project's settings with the textbook channel layer: channels_redis' core layer.

Configured as its README shows it (a list of hosts, everything else default: redis-py's pool
of 100, capacity 100, group expiry one day), under the bench's own key prefix.
"""

from __future__ import annotations

from typing import Any

from config.settings import *  # noqa: F403
from config.settings import REDIS_KEY_PREFIX, REDIS_URL

CHANNEL_LAYERS: dict[str, dict[str, Any]] = {  # type: ignore[no-redef]
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}:tb"},
    }
}
