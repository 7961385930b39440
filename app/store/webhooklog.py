"""Read the webhook log (keys.webhook_log(): correlate.lua appends every accepted alert event
that changed something, as a compact entry naming its alert) back as alerts, for `klaxon rules
sample`: real traffic a rules change can be replayed against (`klaxon rules diff --alerts`).
The normalised alert is read from the alert itself (the one copy kept: of its current episode);
entries written before the log became compact carry it inline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import redis

from app import jsontext
from app.models import Alert, Lifecycle
from app.store import keys, replies

PAGE = 1000  # entries per XREVRANGE: the log holds up to KLAXON_WEBHOOK_LOG_MAX


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
    read: set[str] = set()  # alerts already read: an alert has one current episode
    while True:
        entries = replies.stream_entries(
            connection.xrevrange(keys.webhook_log(), max=end, min="-", count=PAGE)
        )
        for _entry_id, fields in entries:
            alert_id = fields.get("alert_id", "")
            if "alert" in fields:  # written before the log became compact
                yield Alert.from_dict(jsontext.loads(fields["alert"]))
            elif fields.get("lifecycle") == "trigger" and alert_id not in read:
                read.add(alert_id)
                stored = connection.hget(keys.alert(alert_id), "alert")
                if stored:  # gone once the retention removed it
                    yield Alert.from_dict(jsontext.loads(stored))
        if len(entries) < PAGE:
            return
        end = "(" + entries[-1][0]  # exclusive: the next page starts below it
