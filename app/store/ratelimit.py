"""Per-destination rate limits shared by every worker (GCRA in one Lua call). Each channel
declares its own (workers/channels/: PagerDuty about 120 events a minute per routing key,
Statuspage one request a second per API key; reference/apis.md §1.2, §3); `acquire` answers
how long to wait before the call may go."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis

from app.clock import Clock
from app.store import keys

# Generic cell rate algorithm: one key holds the theoretical arrival time of the next call.
_GCRA = """
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
return '0'
"""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A budget every worker shares per destination."""

    interval_seconds: float  # between two calls, on average
    burst: int = 1  # calls that may go at once


class RateLimiter:
    def __init__(self, connection: redis.Redis, clock: Clock) -> None:
        self._clock = clock
        self._script = connection.register_script(_GCRA)

    def acquire(self, channel: str, destination: str, limit: RateLimit | None) -> float:
        """Seconds to wait before calling; 0 means go now (and the slot is taken). No limit
        (None) never waits."""
        if limit is None:
            return 0.0
        digest = hashlib.blake2b(destination.encode(), digest_size=8).hexdigest()
        wait = self._script(
            keys=[keys.rate_limit(channel, digest)],
            args=[repr(self._clock.now()), limit.interval_seconds, limit.burst],
        )
        return float(wait)
