"""Wrong API tokens per client address, shared by every web process (app/token_guard.py uses
it for the API's bearer token, the sign-in form and HTTP Basic on the pages).

A fixed window opens with an address's first counted attempt and allows MAX_FAILURES wrong
tokens. Each attempt is counted *before* its token is checked, in the same Lua call that
decides whether the address is blocked, so a burst of parallel guesses cannot all pass the
check before any of them is counted; a right token is then taken off again (`succeeded`), so
successes never use up the budget, and a success does not erase the failures before it.
Time is the app's clock (the virtual clock in tests); Redis's TTL only collects old windows.
"""

from __future__ import annotations

import math

import redis

from app.clock import Clock
from app.errors import TooManyAttempts
from app.store import keys

# Ten leaves room for a responder who mistypes or pastes the wrong secret a few times; fifteen
# minutes is short enough to wait out mid-incident (and a signed-in session is never blocked),
# while a guesser gets under a thousand tries a day per address instead of thousands a second.
MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60

# KEYS[1]: the address's hash {started, count}. ARGV: now, window seconds, max failures.
# Returns {seconds left, started}: 0 seconds when the attempt was counted, more when blocked.
_ATTEMPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local started = redis.call('HGET', KEYS[1], 'started')
if not started or now >= tonumber(started) + window then
  started = ARGV[1]
  redis.call('HSET', KEYS[1], 'started', started, 'count', 0)
  redis.call('EXPIRE', KEYS[1], math.ceil(window))
end
if tonumber(redis.call('HGET', KEYS[1], 'count')) >= limit then
  return {tostring(tonumber(started) + window - now), started}
end
redis.call('HINCRBY', KEYS[1], 'count', 1)
return {'0', started}
"""

# KEYS[1]: as above. ARGV[1]: the window the attempt was counted in (a new window since then
# owes it nothing). An address left with no failures keeps no key.
_SUCCEEDED = """
if redis.call('HGET', KEYS[1], 'started') == ARGV[1] then
  if redis.call('HINCRBY', KEYS[1], 'count', -1) <= 0 then redis.call('DEL', KEYS[1]) end
end
return 0
"""


class TokenFailures:
    def __init__(self, connection: redis.Redis, clock: Clock) -> None:
        self._clock = clock
        self._attempt = connection.register_script(_ATTEMPT)
        self._succeeded = connection.register_script(_SUCCEEDED)

    def attempt(self, client: str) -> bytes:
        """Count one attempt from `client` before its token is checked; returns the window it
        was counted in, for `succeeded`.

        Raises:
            TooManyAttempts: `client` sent MAX_FAILURES wrong tokens in this window; this
                attempt is not counted and its token must not be checked.
            redis.RedisError: Redis could not count it (app/token_guard.py decides).
        """
        wait, window = self._attempt(
            keys=[keys.token_failures(client)],
            args=[repr(self._clock.now()), WINDOW_SECONDS, MAX_FAILURES],
        )
        if float(wait) > 0:
            raise TooManyAttempts(max(1, math.ceil(float(wait))))
        return bytes(window)

    def succeeded(self, client: str, window: bytes) -> None:
        """The attempt counted in `window` presented the right token: it is not a failure."""
        self._succeeded(keys=[keys.token_failures(client)], args=[window])
