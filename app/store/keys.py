"""Every Redis key Klaxon writes, built in one place (rq's key_for / key_template habit).

Keys are `<prefix>:<kind>:<id>`; the TTL of each family sits beside its builder.
"""

from __future__ import annotations

import hashlib

PREFIX = "klaxon"

WEBHOOK_LOG_MAX_ENTRIES = 100_000  # recorded alerts kept for replay against proposed rules
ALERT_EVENTS_MAX_ENTRIES = 200  # raw deliveries kept per alert


def alert_id(source: str, identity: str) -> str:
    """A short stable id for (source, identity): the same problem always maps to the same alert."""
    digest = hashlib.blake2b(f"{source}\x00{identity}".encode(), digest_size=8).hexdigest()
    return f"ALR-{digest}"


def delivery(source: str, delivery_id: str) -> str:
    # Hashed: delivery ids are sender-controlled and may be long; TTL = Settings.delivery_ttl.
    digest = hashlib.blake2b(delivery_id.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:delivery:{source}:{digest}"


def alert(alert_id: str) -> str:
    return f"{PREFIX}:alert:{alert_id}"


def alert_events(alert_id: str) -> str:
    """Stream of every delivery about one alert, with its raw body."""
    return f"{PREFIX}:alert:{alert_id}:events"


def alerts_index() -> str:
    """Sorted set of alert ids by last-seen time."""
    return f"{PREFIX}:alerts"


def webhook_log() -> str:
    """Stream of every accepted alert event, normalised, for replay and audit."""
    return f"{PREFIX}:webhooks"


def readiness_probe() -> str:
    return f"{PREFIX}:ready"
