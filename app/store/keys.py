"""Every Redis key Klaxon writes, built in one place (rq's key_for / key_template habit).
correlate.lua derives the same names from the prefix; tests/test_store_keys.py keeps them equal.

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


def delivery_hash(delivery_id: str) -> str:
    # Hashed: delivery ids are sender-controlled and may be long.
    return hashlib.blake2b(delivery_id.encode(), digest_size=16).hexdigest()


def delivery(source: str, delivery_id: str) -> str:
    """Remembers a delivery for Settings.delivery_ttl_seconds (correlate.lua sets it)."""
    return f"{PREFIX}:delivery:{source}:{delivery_hash(delivery_id)}"


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


def incident(incident_id: str) -> str:
    return f"{PREFIX}:incident:{incident_id}"


def incident_alerts(incident_id: str) -> str:
    return f"{PREFIX}:incident:{incident_id}:alerts"


def incident_suppressed(incident_id: str) -> str:
    """Alerts an open incident inhibited: recorded on it, never paged."""
    return f"{PREFIX}:incident:{incident_id}:suppressed"


def incident_timeline(incident_id: str) -> str:
    return f"{PREFIX}:incident:{incident_id}:timeline"


def incidents_index() -> str:
    """Sorted set of every incident id by creation time."""
    return f"{PREFIX}:incidents"


def open_incidents() -> str:
    return f"{PREFIX}:incidents:open"


def incident_last_job(incident_id: str) -> str:
    """The incident's latest notification job: the next one waits for it."""
    return f"{PREFIX}:incident:{incident_id}:last-job"


def incident_last_public_job(incident_id: str) -> str:
    """The incident's latest public notification job (status page, X): the next one waits
    for it, so an update never overtakes the status-page create."""
    return f"{PREFIX}:incident:{incident_id}:last-public-job"


def timers() -> str:
    """Sorted set of `<kind>:<incident>` by due time (epoch seconds of the Klaxon clock)."""
    return f"{PREFIX}:timers"


def ledger(idempotency_key: str) -> str:
    """One outbound effect (a page, a status-page update, a post): sending, sent or failed."""
    digest = hashlib.blake2b(idempotency_key.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:ledger:{digest}"


def outbox() -> str:
    """Stream of what channels without credentials would have sent (dry run)."""
    return f"{PREFIX}:outbox"


OUTBOX_MAX_ENTRIES = 10_000
LEDGER_TTL_SECONDS = 90 * 24 * 3600  # longer than any incident stays open


def token_failures(client: str) -> str:
    """Wrong KLAXON_API_TOKENs from one client address in its current window, a hash of
    `started` and `count` (app/store/token_failures.py); expires when the window ends.
    Hashed: with trusted proxies the address comes from a header, and may be long."""
    digest = hashlib.blake2b(client.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:token-failures:{digest}"


def rate_limit(channel: str, destination_digest: str) -> str:
    return f"{PREFIX}:ratelimit:{channel}:{destination_digest}"


def maintenance() -> str:
    """The maintenance window in force, if any (read by correlate.lua)."""
    return f"{PREFIX}:maintenance"


def maintenance_log() -> str:
    return f"{PREFIX}:maintenance:log"


def job_metrics() -> str:
    """The workers' counters for /metrics (workers/job_metrics.py): a hash of a fixed set of
    fields per channel (count, sum, failed, one per histogram bucket), so it cannot grow;
    expires JOB_METRICS_TTL_SECONDS after the last job that wrote it."""
    return f"{PREFIX}:metrics:jobs"


JOB_METRICS_TTL_SECONDS = 30 * 24 * 3600


def worker_last_take() -> str:
    """When a worker last took a job (epoch seconds), written by every worker as it starts
    one (workers/worker.py), read by /readyz; expires WORKER_LAST_TAKE_TTL_SECONDS after."""
    return f"{PREFIX}:workers:last-take"


WORKER_LAST_TAKE_TTL_SECONDS = 24 * 3600  # gone: "no job taken for a day", as stale as any


def drill_last() -> str:
    """The last fire drill's result, JSON (app/drill.py); replaced by every drill, expires
    DRILL_LAST_TTL_SECONDS after it."""
    return f"{PREFIX}:drill:last"


DRILL_LAST_TTL_SECONDS = 30 * 24 * 3600


def drill_schedule() -> str:
    """Held for KLAXON_DRILL_INTERVAL by the ticker that starts a scheduled drill, so two
    worker dynos start one drill per interval between them."""
    return f"{PREFIX}:drill:scheduled"


def readiness_probe() -> str:
    """Written by /readyz (app/health.py) to learn that Redis accepts writes; expires in
    READINESS_PROBE_TTL_SECONDS, one key whatever the number of calls."""
    return f"{PREFIX}:readyz"


READINESS_PROBE_TTL_SECONDS = 60
