"""The outbox: what each channel without credentials would have sent, exactly, minus the
credentials. `klaxon run`, staging and review apps show every message here instead of
failing (GET /api/outbox, `klaxon outbox`)."""

from __future__ import annotations

import json
from typing import Any

import redis

from app.clock import Clock
from app.store import keys, replies
from app.store.budget import DEFAULT_OUTBOX_MAX


class Outbox:
    def __init__(
        self, connection: redis.Redis, clock: Clock, max_entries: int = DEFAULT_OUTBOX_MAX
    ) -> None:
        self._redis = connection
        self._clock = clock
        self._max_entries = max_entries  # KLAXON_OUTBOX_MAX

    def add(self, message: dict[str, Any]) -> str:
        """Record one message (channel, action, incident_id, event, idempotency_key, body)."""
        entry_id = self._redis.xadd(
            keys.outbox(),
            {"at": repr(self._clock.now()), "message": json.dumps(message, ensure_ascii=False)},
            maxlen=self._max_entries,
            approximate=True,
        )
        return replies.text(entry_id)

    def entries(
        self, limit: int = 100, incident_id: str | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first."""
        found = []
        newest = self._redis.xrevrange(keys.outbox(), count=10 * limit)
        for entry_id, fields in replies.stream_entries(newest):
            message = json.loads(fields["message"])
            if incident_id and message.get("incident_id") != incident_id:
                continue
            if channel and message.get("channel") != channel:
                continue
            found.append({"id": entry_id, "at": float(fields["at"]), **message})
            if len(found) == limit:
                break
        return found
