"""The upgrade backfill: brings a Redis written before the storage budget (issue 12,
docs/decisions.md 13) into it, a slice at a time, from the retention sweeper (so from the
worker's ticker, once a minute). What the previous version left that the sweeper alone would
never bound:

- `delivery:<source>:<hash>` strings, one per delivery id (136 bytes each, a 7-day TTL). The
  delivery memory is now hashed into time-bucketed sets and nothing reads these; the id they
  were made from cannot be recovered from them, so they are removed, not converted.
- `alert:<id>:events` streams with every delivery's raw body: converted by upgrade_alert.lua
  to the alert's compact history and one raw sample on the alert.
- resolved incidents that resolve.lua never put on `incidents:resolved` (the sweeper's work
  list): added to it, so the sweep removes them once past the retention.
- webhook-log entries carrying the whole alert and decision (~2 KB each): removed; entries
  since name their alert, which keeps the normalised alert `klaxon rules sample` reads.

One step SCANs UPGRADE_SCAN_COUNT keys on from a cursor kept in Redis and reads
UPGRADE_LOG_PAGE log entries on from another, so no sweep is long however large the Redis.
Each action is idempotent (the old shape is gone afterwards, or ZADD NX), so two worker dynos
stepping together, or a crash half way, do no harm. Old web dynos keep writing old shapes
until they stop, so a pass that found anything is followed by another; the first pass that
finds nothing marks the upgrade done, and later steps cost one HGET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import redis

from app.store import keys, replies
from app.store.budget import StorageBudget

_UPGRADE_ALERT = (Path(__file__).parent / "upgrade_alert.lua").read_text()
UPGRADE_SCAN_COUNT = 1000  # keys looked at per step (SCAN's COUNT: a hint, about as many)
UPGRADE_LOG_PAGE = 500  # webhook-log entries looked at per step
_LEGACY_DELIVERY = f"{keys.PREFIX}:delivery:"  # `deliveries:` is today's
_LEGACY_EVENTS = re.compile(rf"^{keys.PREFIX}:alert:([^:]+):events$")
_INCIDENT = re.compile(rf"^{keys.PREFIX}:incident:([^:]+)$")


@dataclass(frozen=True, slots=True)
class Upgraded:
    """Old shapes one step brought into the budget."""

    deliveries: int = 0
    alerts: int = 0
    incidents: int = 0
    log_entries: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.alerts + self.incidents + self.log_entries


class Upgrade:
    def __init__(
        self,
        connection: redis.Redis,
        budget: StorageBudget,
        scan_count: int = UPGRADE_SCAN_COUNT,
        log_page: int = UPGRADE_LOG_PAGE,
    ) -> None:
        self._redis = connection
        self._budget = budget
        self._scan_count = scan_count
        self._log_page = log_page
        self._upgrade_alert = connection.register_script(_UPGRADE_ALERT)

    def done(self) -> bool:
        return self._redis.hget(keys.upgrade_state(), "done") == b"1"

    def step(self) -> Upgraded:
        state = replies.text_hash(self._redis.hgetall(keys.upgrade_state()))
        if state.get("done") == "1":
            return Upgraded()
        cursor, names = self._redis.scan(
            int(state.get("cursor") or 0), match=f"{keys.PREFIX}:*", count=self._scan_count
        )
        found = replies.members(names)
        log_entries, log_cursor, log_read = self._trim_log(state.get("log_cursor") or "-")
        upgraded = Upgraded(
            deliveries=self._remove_deliveries(
                [k for k in found if k.startswith(_LEGACY_DELIVERY)]
            ),
            alerts=self._convert_streams(found),
            incidents=self._index_resolved(found),
            log_entries=log_entries,
        )
        in_pass = int(state.get("found") or 0) + upgraded.total
        fields: dict[str, str | int] = {
            "cursor": cursor,
            "found": in_pass,
            "log_cursor": log_cursor,
        }
        if cursor == 0:  # a full pass ended: done if it found nothing, else look again
            fields.update(found=0, done=int(in_pass == 0 and log_read < self._log_page))
        self._redis.hset(keys.upgrade_state(), mapping=fields)  # type: ignore[arg-type]
        return upgraded

    def _remove_deliveries(self, names: list[str]) -> int:
        if names:
            self._redis.unlink(*names)
        return len(names)

    def _convert_streams(self, found: list[str]) -> int:
        converted = 0
        for name in found:
            match = _LEGACY_EVENTS.match(name)
            if match is None:
                continue
            args = [
                keys.PREFIX,
                match.group(1),
                self._budget.alert_events_max,
                self._budget.raw_sample_bytes,
            ]
            converted += self._upgrade_alert(args=args) == b"upgraded"
        return converted

    def _index_resolved(self, found: list[str]) -> int:
        """Resolved incidents missing from the sweeper's work list, added by resolution time
        (an incident resolved before resolve.lua kept the list)."""
        ids = [m.group(1) for m in map(_INCIDENT.match, found) if m is not None]
        if not ids:
            return 0
        pipe = self._redis.pipeline(transaction=False)
        for incident_id in ids:
            pipe.hmget(keys.incident(incident_id), "status", "resolved_at", "updated_at")
        resolved = {}
        for incident_id, (status, resolved_at, updated_at) in zip(ids, pipe.execute(), strict=True):
            if status == b"resolved":
                resolved[incident_id] = float(resolved_at or updated_at or 0)
        if not resolved:
            return 0
        added: int = self._redis.zadd(keys.resolved_incidents(), resolved, nx=True)  # type: ignore[assignment]
        return added

    def _trim_log(self, after: str) -> tuple[int, str, int]:
        """Remove the webhook log's entries of the old shape (the whole alert inline) among
        the next page after `after`; returns how many, where the next page starts and how
        many entries were read (fewer than a page: the log's end)."""
        low = after if after == "-" else f"({after}"
        entries = replies.stream_entries(
            self._redis.xrange(keys.webhook_log(), min=low, max="+", count=self._log_page)
        )
        old = [entry_id for entry_id, fields in entries if "alert" in fields]
        if old:
            self._redis.xdel(keys.webhook_log(), *old)
        return len(old), (entries[-1][0] if entries else after), len(entries)
