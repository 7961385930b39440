"""The retention sweeper: removes history older than KLAXON_RETENTION_DAYS, in bounded batches,
from the worker's ticker (workers/ticker.py). Resolved incidents with every key they own, then
alerts silent that long whose incident is gone, then delivery buckets past KLAXON_DELIVERY_TTL
(Redis expires those by itself; sweeping them by the Klaxon clock as well keeps a virtual-clock
test honest and costs a few UNLINKs). Open incidents are never removed. Before those, one step
of the upgrade backfill (app/store/upgrade.py) while a Redis written by the version before the
budget still holds its shapes.

Every step is idempotent and each removal one Lua call, so two worker dynos sweeping together
and a crash half way do no harm; what a batch left is the next sweep's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redis

from app.clock import Clock
from app.store import keys
from app.store.budget import StorageBudget
from app.store.upgrade import Upgrade

_PURGE_INCIDENT = (Path(__file__).parent / "purge_incident.lua").read_text()
_PURGE_ALERT = (Path(__file__).parent / "purge_alert.lua").read_text()
BATCH = 100  # incidents or alerts looked at per sweep: each is one short Lua call
BUCKETS_PER_SWEEP = 4  # delivery buckets removed per sweep (each DELIVERY_SHARDS keys)


@dataclass(frozen=True, slots=True)
class Swept:
    incidents: int = 0
    alerts: int = 0
    delivery_buckets: int = 0
    upgraded: int = 0  # shapes of the version before the budget brought into it


class Retention:
    def __init__(
        self,
        connection: redis.Redis,
        clock: Clock,
        budget: StorageBudget,
        delivery_ttl_seconds: int,
        batch: int = BATCH,
    ) -> None:
        self._redis = connection
        self._clock = clock
        self._budget = budget
        self._delivery_ttl = delivery_ttl_seconds
        self._batch = batch
        self._purge_incident = connection.register_script(_PURGE_INCIDENT)
        self._purge_alert = connection.register_script(_PURGE_ALERT)
        self.upgrade = Upgrade(connection, budget)

    def sweep(self) -> Swept:
        """One bounded batch of each kind; returns how much was removed. The upgrade step
        comes first: the resolved incidents it finds are then swept at once if due."""
        upgraded = self.upgrade.step().total
        now = self._clock.now()
        cutoff = now - self._budget.retention_seconds
        return Swept(
            upgraded=upgraded,
            incidents=self._sweep_incidents(cutoff),
            alerts=self._sweep_alerts(cutoff, now),
            delivery_buckets=self._sweep_delivery_buckets(now),
        )

    def sweep_all(self) -> Swept:
        """Sweep until nothing is due (tests, and a first run on a large backlog)."""
        total = Swept()
        while True:
            swept = self.sweep()
            total = Swept(*(a + b for a, b in zip(_fields(total), _fields(swept), strict=True)))
            if swept == Swept() and self.upgrade.done():
                return total

    def _sweep_incidents(self, cutoff: float) -> int:
        due = self._redis.zrangebyscore(
            keys.resolved_incidents(), "-inf", cutoff, start=0, num=self._batch
        )
        return sum(
            self._purge_incident(args=[keys.PREFIX, _text(i), repr(cutoff)]) == b"purged"
            for i in due
        )

    def _sweep_alerts(self, cutoff: float, now: float) -> int:
        due = self._redis.zrangebyscore(
            keys.alerts_index(), "-inf", cutoff, start=0, num=self._batch
        )
        return sum(
            self._purge_alert(args=[keys.PREFIX, _text(a), repr(cutoff), repr(now)]) == b"purged"
            for a in due
        )

    def _sweep_delivery_buckets(self, now: float) -> int:
        oldest_needed = keys.delivery_buckets(now, self._delivery_ttl)[-1]
        marker = self._redis.get(keys.deliveries_swept())
        # Older than a TTL's worth of buckets before the oldest needed: Redis expired them.
        start = oldest_needed - keys.DELIVERY_BUCKETS_PER_TTL - 2
        if marker is not None:
            start = max(start, int(marker) + 1)
        stop = min(oldest_needed, start + BUCKETS_PER_SWEEP)
        for bucket in range(start, stop):
            names = [keys.deliveries(bucket, shard) for shard in range(keys.DELIVERY_SHARDS)]
            for chunk in range(0, len(names), 256):
                self._redis.unlink(*names[chunk : chunk + 256])
        if stop > start:
            self._redis.set(keys.deliveries_swept(), stop - 1)
        return max(0, stop - start)


def _fields(swept: Swept) -> tuple[int, int, int, int]:
    return swept.incidents, swept.alerts, swept.delivery_buckets, swept.upgraded


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
