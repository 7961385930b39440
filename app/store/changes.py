"""ChangeStore: the one owner of the change keys (app/store/keys.py, "changes"): records
changes once per delivery and identity, lists them by service and time, and keeps each
incident's suspects beside it.

Bounds: a change expires KLAXON_CHANGES_DAYS after it was recorded; the indexes drop older
entries and hold at most keys.CHANGES_INDEX_MAX; an incident's copies go with the incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from app import jsontext
from app.changes.model import Change
from app.changes.suspects import in_recency_order, suspect_entry
from app.clock import Clock
from app.errors import StorageUnavailable
from app.store import keys, replies
from app.store.connection import unavailable_reason

MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one change meant: new, updated (the same change told again with news,
    Heroku's `update` after its `create`) or duplicate (a redelivery, or nothing new)."""

    outcome: str
    change: Change


class ChangeStore:
    def __init__(self, connection: redis.Redis, clock: Clock, days: int, delivery_ttl: int):
        self._redis = connection
        self._clock = clock
        self.ttl_seconds = days * 86400
        self._delivery_ttl = delivery_ttl

    def record(self, change: Change, source: str = "", delivery_id: str = "") -> Recorded:
        """Store the change unless this delivery or this exact change was seen; raises
        StorageUnavailable."""
        try:
            return self._record(change, source, delivery_id)
        except (redis.RedisError, OSError) as exc:
            reason = unavailable_reason(exc)
            if reason is not None:
                raise StorageUnavailable(f"Redis is unavailable: {reason}", reason) from exc
            raise

    def _record(self, change: Change, source: str, delivery_id: str) -> Recorded:
        delivery = keys.change_delivery(source, delivery_id) if delivery_id else ""
        if delivery and self._redis.exists(delivery):
            return Recorded("duplicate", change)
        document = jsontext.dumps(change.to_dict())
        key = keys.change(change.id)
        previous = self._redis.get(key)
        if previous is not None and replies.text(previous) == document:
            return Recorded("duplicate", change)
        cutoff = self._clock.now() - self.ttl_seconds
        # The delivery is remembered with the change, in one transaction: a failed write
        # leaves nothing that would make the sender's retry look like a duplicate.
        with self._redis.pipeline(transaction=True) as pipe:
            if delivery:
                pipe.set(delivery, "1", ex=self._delivery_ttl)
            pipe.set(key, document, ex=self.ttl_seconds)
            for index in (keys.changes_index(), keys.changes_of_service(change.service)):
                pipe.zadd(index, {change.id: change.when})
                pipe.zremrangebyscore(index, "-inf", f"({cutoff}")
                pipe.zremrangebyrank(index, 0, -keys.CHANGES_INDEX_MAX - 1)
                pipe.expire(index, self.ttl_seconds)
            pipe.execute()
        return Recorded("new" if previous is None else "updated", change)

    def changes(
        self,
        service: str = "",
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Change]:
        """Changes (of one service, or all) that took effect in [since, until], newest first."""
        index = keys.changes_of_service(service) if service else keys.changes_index()
        ids = replies.members(
            self._redis.zrevrangebyscore(
                index,
                "+inf" if until is None else until,
                "-inf" if since is None else since,
                start=0,
                num=min(limit, MAX_LIST),
            )
        )
        if not ids:
            return []
        found = self._redis.mget([keys.change(i) for i in ids])
        return [Change.from_dict(json.loads(doc)) for doc in found if doc is not None]

    # -- an incident's suspects -----------------------------------------------------------------

    def services_examined(self, incident_id: str, services: Iterable[str]) -> list[str]:
        """Mark `services` as looked at for this incident; return those that were not yet."""
        fresh = []
        for service in dict.fromkeys(s for s in services if s):
            if self._redis.sadd(keys.incident_change_services(incident_id), service):
                fresh.append(service)
        return fresh

    def incidents_watching(self, incident_ids: Iterable[str], service: str) -> list[str]:
        """The incidents among `incident_ids` one of whose services is `service`."""
        ids = list(incident_ids)
        with self._redis.pipeline(transaction=False) as pipe:
            for incident_id in ids:
                pipe.sismember(keys.incident_change_services(incident_id), service)
            answers = pipe.execute()
        return [i for i, watching in zip(ids, answers, strict=True) if watching]

    def keep_on_incident(
        self, incident_id: str, change: Change, onset: float, during: bool
    ) -> bool:
        """Keep a copy of the change on the incident, once; False when it was already there
        (or the incident is gone). The caller says so on the incident (IncidentStore.note_change)."""
        if not self._redis.exists(keys.incident(incident_id)):
            return False
        entry = jsontext.dumps(suspect_entry(change, onset, during))
        return bool(self._redis.hsetnx(keys.incident_changes(incident_id), change.id, entry))

    def suspects(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's changes, suspects first, newest first, each with its rank."""
        return incident_suspects(self._redis, incident_id)


def incident_suspects(connection: redis.Redis, incident_id: str) -> list[dict[str, Any]]:
    """The incident's changes, suspects first, newest first, each with its rank (for the
    API, the pages, the post-mortem and the notification jobs)."""
    raw = connection.hvals(keys.incident_changes(incident_id))
    return in_recency_order(json.loads(replies.text(v)) for v in raw)
