"""Maintenance mode: while it is on, alerts (of the named services, or all) are recorded as
suppressed and never paged; its start and end are kept in a log that incidents and the status
page show. The check itself happens inside correlate.lua, in the same round trip."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from app.clock import Clock
from app.store import keys, replies
from app.store.budget import StorageBudget
from app.store.incidents import timeline_entry


@dataclass(frozen=True, slots=True)
class Maintenance:
    services: tuple[str, ...]  # empty: everything
    reason: str
    by: str
    started_at: float
    until: float | None  # None: until switched off

    def is_active(self, now: float) -> bool:
        return self.until is None or self.until > now


class MaintenanceMode:
    def __init__(
        self, connection: redis.Redis, clock: Clock, budget: StorageBudget | None = None
    ) -> None:
        self._redis = connection
        self._clock = clock
        self._budget = budget or StorageBudget()

    def start(
        self, reason: str, by: str, services: tuple[str, ...] = (), until: float | None = None
    ) -> Maintenance:
        now = self._clock.now()
        self._redis.hset(
            keys.maintenance(),
            mapping={
                "services": json.dumps(list(services)),
                "reason": reason,
                "by": by,
                "started_at": repr(now),
                "until": "" if until is None else repr(until),
            },
        )
        self._log("started", reason=reason, by=by, services=list(services), until=until)
        scope = ", ".join(services) or "all services"
        self._on_open_incidents(
            "maintenance_started", f"maintenance started for {scope} by {by}: {reason}"
        )
        return Maintenance(services, reason, by, now, until)

    def end(self, by: str) -> Maintenance | None:
        current = self.current()
        if current is None:
            return None
        self._redis.delete(keys.maintenance())
        self._log(
            "ended",
            reason=current.reason,
            by=by,
            services=list(current.services),
            started_at=current.started_at,
        )
        self._on_open_incidents(
            "maintenance_ended", f"maintenance ended by {by} ({current.reason})"
        )
        return current

    def current(self) -> Maintenance | None:
        data = replies.text_hash(self._redis.hgetall(keys.maintenance()))
        if not data:
            return None
        until = float(data["until"]) if data.get("until") else None
        found = Maintenance(
            tuple(json.loads(data["services"])),
            data["reason"],
            data["by"],
            float(data["started_at"]),
            until,
        )
        return found if found.is_active(self._clock.now()) else None

    def log(self, limit: int = 50) -> list[dict[str, Any]]:
        return [
            {"at": float(f["at"]), "event": f["event"], **json.loads(f["data"])}
            for _, f in replies.stream_entries(
                self._redis.xrevrange(keys.maintenance_log(), count=limit)
            )
        ]

    def _on_open_incidents(self, kind: str, text: str) -> None:
        """Pages were held or resume: every open incident's timeline says so."""
        for incident_id in replies.members(self._redis.zrange(keys.open_incidents(), 0, -1)):
            timeline_entry(
                self._redis,
                incident_id,
                self._clock.now(),
                kind,
                text,
                {},
                self._budget.timeline_max,
            )

    def _log(self, event: str, **data: Any) -> None:
        self._redis.xadd(
            keys.maintenance_log(),
            {"at": repr(self._clock.now()), "event": event, "data": json.dumps(data)},
            maxlen=self._budget.maintenance_log_max,
            approximate=True,
        )
