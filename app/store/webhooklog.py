"""Read the webhook log (keys.webhook_log(): correlate.lua appends every accepted alert event
with its normalised alert) back as alerts, for `klaxon rules sample`: real traffic a rules
change can be replayed against (`klaxon rules diff --alerts`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import redis

from app import jsontext
from app.models import Alert, Lifecycle
from app.store import keys, replies

PAGE = 1000  # entries per XREVRANGE: the log holds up to keys.WEBHOOK_LOG_MAX_ENTRIES


def recent_alerts(connection: redis.Redis, limit: int) -> list[Alert]:
    """The last `limit` distinct alerts that fired, oldest first: for each (source, identity)
    its most recent trigger. Acknowledgements, notes and resolutions are left out, since the
    rules decide when an alert fires."""
    return latest_per_identity(_newest_first(connection), limit)


def latest_per_identity(alerts_newest_first: Iterable[Alert], limit: int) -> list[Alert]:
    """The first trigger seen of each (source, identity), up to `limit` of them, returned
    oldest first."""
    found: dict[tuple[str, str], Alert] = {}
    for alert in alerts_newest_first:
        if len(found) >= limit:
            break
        if alert.lifecycle is Lifecycle.TRIGGER:
            found.setdefault((alert.source.value, alert.identity), alert)
    return list(reversed(found.values()))


def _newest_first(connection: redis.Redis) -> Iterator[Alert]:
    end = "+"
    while True:
        entries = replies.stream_entries(
            connection.xrevrange(keys.webhook_log(), max=end, min="-", count=PAGE)
        )
        for _entry_id, fields in entries:
            if "alert" in fields:
                yield Alert.from_dict(jsontext.loads(fields["alert"]))
        if len(entries) < PAGE:
            return
        end = "(" + entries[-1][0]  # exclusive: the next page starts below it
