"""Timers in Redis: `<kind>:<incident>` members of one sorted set scored by due time on the
Klaxon clock. They survive every restart; whoever ticks next fires what is due.

Firing is at-least-once (a member is removed only after its handler ran) and every handler is
idempotent, so two worker dynos ticking together, or a crash mid-fire, never fire one twice
in effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis

from app.store import keys, replies


@dataclass(frozen=True, slots=True)
class Timer:
    kind: str
    incident_id: str
    due: float

    @property
    def member(self) -> str:
        return f"{self.kind}:{self.incident_id}"


# Remove a fired timer unless its handler (or anyone) rescheduled it meanwhile.
_REMOVE_IF_UNCHANGED = """
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or 'nan') == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""


class Timers:
    def __init__(self, connection: redis.Redis) -> None:
        self._redis = connection
        self._remove_if_unchanged = connection.register_script(_REMOVE_IF_UNCHANGED)

    def schedule(self, kind: str, incident_id: str, due: float) -> None:
        self._redis.zadd(keys.timers(), {f"{kind}:{incident_id}": due})

    def schedule_all(self, incident_id: str, due: Mapping[str, float]) -> None:
        """Several timers of one incident (kind -> due), in one call."""
        if due:
            self._redis.zadd(
                keys.timers(), {f"{kind}:{incident_id}": at for kind, at in due.items()}
            )

    def cancel(self, kind: str, incident_id: str) -> None:
        self._redis.zrem(keys.timers(), f"{kind}:{incident_id}")

    def pending(self) -> list[Timer]:
        return [
            _timer(member, score)
            for member, score in replies.scored_members(
                self._redis.zrange(keys.timers(), 0, -1, withscores=True)
            )
        ]

    def due_at(self, kind: str, incident_id: str) -> float | None:
        """When the `kind` timer of an incident fires, if one is scheduled."""
        score = self._redis.zscore(keys.timers(), f"{kind}:{incident_id}")
        return None if score is None else float(score)

    def fire_due(
        self, now: float, handlers: dict[str, Callable[[Timer], None]], limit: int = 500
    ) -> list[Timer]:
        """Run the handler of every timer due at `now`; returns the timers fired."""
        due = [
            _timer(m, s)
            for m, s in replies.scored_members(
                self._redis.zrangebyscore(
                    keys.timers(), "-inf", now, start=0, num=limit, withscores=True
                )
            )
        ]
        fired = []
        for timer in due:
            handler = handlers.get(timer.kind)
            if handler is None:
                continue  # a kind this build does not know yet: leave it for one that does
            handler(timer)
            self._remove_if_unchanged(keys=[keys.timers()], args=[timer.member, repr(timer.due)])
            fired.append(timer)
        return fired


def _timer(member: str, score: float) -> Timer:
    kind, _, incident_id = member.partition(":")
    return Timer(kind, incident_id, score)
