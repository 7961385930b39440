"""Every Redis key Klaxon writes, built in one place (rq's key_for / key_template habit).
correlate.lua derives the same names from the prefix; tests/test_store_keys.py keeps them equal.

Keys are `<prefix>:<kind>:<id>`. Every family states beside its builder how long it lives or
how large it grows, and the setting that controls it (docs/decisions.md 13, the storage budget;
docs/operations.md, capacity). "History" means: removed by the retention sweeper
(app/store/retention.py) once its incident has been resolved for KLAXON_RETENTION_DAYS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PREFIX = "klaxon"

# Delivery memory: each delivery id is a 64-bit hash in one of DELIVERY_SHARDS sets per time
# bucket. Sets of integers up to Redis's set-max-intset-entries (512) are intsets, 8 bytes a
# member: 1024 shards keep a bucket compact up to half a million deliveries. A bucket spans
# 1/DELIVERY_BUCKETS_PER_TTL of KLAXON_DELIVERY_TTL, so a lookup reads at most 9 small sets
# (~1.5 µs of Redis CPU each); fewer, longer buckets would leave intsets at a lower rate.
DELIVERY_SHARDS = 1024
DELIVERY_BUCKETS_PER_TTL = 8


def alert_id(source: str, identity: str) -> str:
    """A short stable id for (source, identity): the same problem always maps to the same alert."""
    digest = hashlib.blake2b(f"{source}\x00{identity}".encode(), digest_size=8).hexdigest()
    return f"ALR-{digest}"


def delivery_member(source: str, delivery_id: str) -> int:
    """The delivery as a signed 64-bit integer (hashed: ids are sender-controlled, may be long).
    A collision needs two ids equal in 64 bits inside one shard and window: ~1e-14."""
    digest = hashlib.blake2b(f"{source}\x00{delivery_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def delivery_shard(member: int) -> int:
    return member % DELIVERY_SHARDS


def delivery_bucket_seconds(ttl_seconds: int) -> int:
    return max(60, -(-ttl_seconds // DELIVERY_BUCKETS_PER_TTL))


def delivery_buckets(now: float, ttl_seconds: int) -> list[int]:
    """The buckets a delivery seen in the last `ttl_seconds` sits in, the current one first."""
    width = delivery_bucket_seconds(ttl_seconds)
    current = int(now) // width
    return list(range(current, (int(now) - ttl_seconds) // width - 1, -1))


def delivery_expires_at(now: float, ttl_seconds: int) -> int:
    """A bucket lives until the last delivery it could hold is `ttl_seconds` old."""
    width = delivery_bucket_seconds(ttl_seconds)
    return (int(now) // width + 1) * width + ttl_seconds


def deliveries(bucket: int | str, shard: int | str) -> str:
    """Set of remembered delivery ids (delivery_member) of one time bucket and shard; expires
    KLAXON_DELIVERY_TTL after its bucket ends (correlate.lua). Bounded by the TTL times the
    rate: 8-10 bytes a delivery while shards stay intsets."""
    return f"{PREFIX}:deliveries:{bucket}:{shard}"


def delivery(source: str, delivery_id: str, now: float, ttl_seconds: int) -> str:
    """The set a delivery seen at `now` is remembered in (its member: delivery_member), kept
    KLAXON_DELIVERY_TTL (see deliveries)."""
    shard = delivery_shard(delivery_member(source, delivery_id))
    return deliveries(delivery_buckets(now, ttl_seconds)[0], shard)


def deliveries_swept() -> str:
    """The newest delivery bucket the retention sweeper removed: one small string, no TTL."""
    return f"{PREFIX}:deliveries-swept"


def upgrade_state() -> str:
    """Where the upgrade backfill stands (app/store/upgrade.py): one small hash of cursors, no
    TTL; `done` once a full pass found nothing of the previous version's shapes."""
    return f"{PREFIX}:upgrade"


def alert(alert_id: str) -> str:
    """Hash of one alert: its normalised alert and the raw body (cut to KLAXON_RAW_SAMPLE_BYTES)
    of the delivery that opened its current episode, counters. History: the sweeper removes it
    once last seen KLAXON_RETENTION_DAYS ago and its incident is gone. Size: one normalised
    alert (free-text fields cut by the sources), one raw sample, ~300 bytes."""
    return f"{PREFIX}:alert:{alert_id}"


def alert_events(alert_id: str) -> str:
    """List of the alert's state changes (never its duplicates), oldest first, each a JSON
    object of lifecycle, outcome, time and body length, ~80 bytes; capped at
    KLAXON_ALERT_EVENTS_MAX entries; removed with the alert (KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:alert:{alert_id}:history"  # `:events`, a stream, before issue 12


def alerts_index() -> str:
    """Sorted set of alert ids by the start of their episode (the sweeper moves an alert to its
    last_seen when it looks at it). One member per alert: removed with the alert
    (KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:alerts"


def webhook_log() -> str:
    """Stream of accepted alert events that changed something (never duplicates): alert id,
    lifecycle, outcome, incident, rule, severity, ~150 bytes each; `klaxon rules sample` reads
    the alerts they name. Capped at KLAXON_WEBHOOK_LOG_MAX entries."""
    return f"{PREFIX}:webhooks"


def incident(incident_id: str) -> str:
    """Hash of one incident. History: removed with every `incident:<id>:*` key below once
    resolved KLAXON_RETENTION_DAYS ago (app/store/retention.py); an open incident never."""
    return f"{PREFIX}:incident:{incident_id}"


def incident_alerts(incident_id: str) -> str:
    """Set of the incident's alert ids. History (with the incident: KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incident:{incident_id}:alerts"


def incident_suppressed(incident_id: str) -> str:
    """Alerts an open incident inhibited: recorded on it, never paged. History (with the
    incident: KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incident:{incident_id}:suppressed"


def incident_timeline(incident_id: str) -> str:
    """Stream of what happened, ~200 bytes an entry; capped at KLAXON_TIMELINE_MAX entries
    (app/store/incidents.py writes it, its scripts and timeline_entry). History
    (KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incident:{incident_id}:timeline"


def incidents_index() -> str:
    """Sorted set of every incident id by creation time: one member per incident kept; the
    sweeper removes purged ones (KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incidents"


def open_incidents() -> str:
    """Sorted set of open incident ids (resolve.lua removes them): bounded by what is open."""
    return f"{PREFIX}:incidents:open"


def resolved_incidents() -> str:
    """Sorted set of resolved incident ids by resolution time (resolve.lua adds them): the
    retention sweeper's work list, oldest first; purged ids leave it (KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incidents:resolved"


def incident_last_job(incident_id: str) -> str:
    """The incident's latest notification job (app/notifications.py): the next one waits
    for it. History (with the incident: KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incident:{incident_id}:last-job"


def incident_last_public_job(incident_id: str) -> str:
    """The incident's latest public notification job (status page, X): the next one waits
    for it, so an update never overtakes the status-page create. History (with the
    incident: KLAXON_RETENTION_DAYS)."""
    return f"{PREFIX}:incident:{incident_id}:last-public-job"


def timers() -> str:
    """Sorted set of `<kind>:<incident>` by due time (epoch seconds of the Klaxon clock).
    Bounded by the incidents with a pending timer; a fired timer leaves it, and the sweeper
    removes any left for a purged incident."""
    return f"{PREFIX}:timers"


def ledger(idempotency_key: str) -> str:
    """One outbound effect (a page, a status-page update, a post): sending, sent or failed.
    Expires after KLAXON_RETENTION_DAYS (ledger.py): as long as its incident's history."""
    digest = hashlib.blake2b(idempotency_key.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:ledger:{digest}"


def outbox() -> str:
    """Stream of what channels without credentials would have sent (dry run); capped at
    KLAXON_OUTBOX_MAX entries."""
    return f"{PREFIX}:outbox"


def token_failures(client: str) -> str:
    """Wrong KLAXON_API_TOKENs from one client address in its current window, a hash of
    `started` and `count` (app/store/token_failures.py); expires when its window
    (token_failures.WINDOW_SECONDS, 15 minutes) ends.
    Hashed: with trusted proxies the address comes from a header, and may be long."""
    digest = hashlib.blake2b(client.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:token-failures:{digest}"


def rate_limit(channel: str, destination_digest: str) -> str:
    """One outbound channel's token bucket (app/store/ratelimit.py): expires a second after
    it is refilled (each channel's rate_limit in workers/channels: at most a burst of
    calls' spacing, seconds)."""
    return f"{PREFIX}:ratelimit:{channel}:{destination_digest}"


def slack_seen(kind: str, value: str) -> str:
    """A Slack request signature or Events API event id seen lately (app/slack/replay.py), so a
    replayed request or a retried event is handled once; expires after twice
    KLAXON_WEBHOOK_CLOCK_SKEW plus a minute (a replay older than that is refused as stale).
    Hashed: both come from the request."""
    digest = hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:slack-seen:{digest}"


def maintenance() -> str:
    """The maintenance window in force, if any (read by correlate.lua): one hash, deleted
    when maintenance ends."""
    return f"{PREFIX}:maintenance"


def maintenance_log() -> str:
    """Stream of maintenance windows turned on and off (app/store/maintenance.py): capped at
    KLAXON_MAINTENANCE_LOG_MAX entries."""
    return f"{PREFIX}:maintenance:log"


# Written by the Lua scripts only (named here so every family states its bound):
# - `alert:<id>:changes`: sorted set of an alert's recent state changes for flap detection;
#   expires a minute after the rule's flapping window (correlate.lua).
# - `group:<hash>`: the open incident of a group key; expires after the rule's group window.
# - `inhibit:<key>`: the open incident providing an inhibition; deleted when it resolves.
# - `incident:<id>:inhibits`: the inhibition keys an incident provides. History.
# - `incident-seq:<year>`: the incident number counter: one small key a year.
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
    worker dynos start one drill per interval between them: one key with that TTL."""
    return f"{PREFIX}:drill:scheduled"


def subscribers() -> str:
    """The status page's webhook subscribers (app/store/subscribers.py): one hash, id -> JSON,
    holding at most KLAXON_SUBSCRIBERS_MAX (a subscription beyond it is refused)."""
    return f"{PREFIX}:subscribers"


def readiness_probe() -> str:
    """Written by /readyz (app/health.py) to learn that Redis accepts writes; expires in
    READINESS_PROBE_TTL_SECONDS, one key whatever the number of calls."""
    return f"{PREFIX}:readyz"


READINESS_PROBE_TTL_SECONDS = 60


# -- changes (app/store/changes.py owns these) ----------------------------------------------
CHANGES_INDEX_MAX = 5000  # entries per change index: far more releases than a window holds


def change(change_id: str) -> str:
    """One recorded change, JSON (app/changes/model.py); expires KLAXON_CHANGES_DAYS after it
    was last recorded. ~400 bytes."""
    return f"{PREFIX}:change:{change_id}"


def changes_index() -> str:
    """Sorted set of every change id by when it took effect; entries older than
    KLAXON_CHANGES_DAYS leave it on every write, and it holds at most CHANGES_INDEX_MAX."""
    return f"{PREFIX}:changes"


def changes_of_service(service: str) -> str:
    """Sorted set of one service's change ids by when they took effect: trimmed as
    changes_index(), and expires KLAXON_CHANGES_DAYS after its last write. Hashed: the
    service name comes from a sender (an unmapped Heroku app or repository)."""
    digest = hashlib.blake2b(service.encode(), digest_size=12).hexdigest()
    return f"{PREFIX}:changes:service:{digest}"


def change_delivery(source: str, delivery_id: str) -> str:
    """A change delivery already taken (Heroku's delivery id, X-GitHub-Delivery): one small
    string, expires after KLAXON_DELIVERY_TTL, as the alert delivery memory does."""
    digest = hashlib.blake2b(f"{source}\x00{delivery_id}".encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:change-delivery:{digest}"


def incident_changes(incident_id: str) -> str:
    """Hash of the incident's suspected changes (and changes made while it was open): change
    id -> a copy of the change with how long before onset it took effect, so the incident
    keeps them after the change itself expires. History: removed with the incident,
    KLAXON_RETENTION_DAYS after it was resolved."""
    return f"{PREFIX}:incident:{incident_id}:changes"


def incident_change_services(incident_id: str) -> str:
    """Set of the services whose changes were looked for on this incident (every service of
    its alerts, as they join). History: removed with the incident, KLAXON_RETENTION_DAYS
    after it was resolved."""
    return f"{PREFIX}:incident:{incident_id}:change-services"


# Every family above, and those only the Lua scripts name, with what bounds it and what sets
# that bound. tests/test_key_families.py walks this module's builders and fails on a family
# missing here, or one bounded by nothing.
TTL = "ttl"  # each key expires
CAP = "cap"  # a count of entries, oldest dropped first
RETENTION = "retention"  # the sweeper removes it KLAXON_RETENTION_DAYS after its incident
ONE_KEY = "one key"  # a single key of a fixed shape: cannot grow
FOLLOWS = "follows"  # one member per key of another family, removed with it


@dataclass(frozen=True, slots=True)
class Family:
    pattern: str  # the key after `<prefix>:`; `*` stands for an id
    bounds: tuple[str, ...]
    # What sets each bound: a KLAXON_* variable, a field of the rules, or a named constant.
    knobs: tuple[str, ...]
    owner: str  # the module that writes it (with its Lua scripts)


_INCIDENTS = "app/store/incidents.py"
_CHANGES = "app/store/changes.py"
FAMILIES: dict[str, Family] = {
    "deliveries": Family("deliveries:*:*", (TTL,), ("KLAXON_DELIVERY_TTL",), _INCIDENTS),
    "deliveries_swept": Family("deliveries-swept", (ONE_KEY,), (), "app/store/retention.py"),
    "upgrade_state": Family("upgrade", (ONE_KEY,), (), "app/store/upgrade.py"),
    "alert": Family("alert:*", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS),
    "alert_events": Family(
        "alert:*:history",
        (CAP, RETENTION),
        ("KLAXON_ALERT_EVENTS_MAX", "KLAXON_RETENTION_DAYS"),
        _INCIDENTS,
    ),
    "alert_changes": Family("alert:*:changes", (TTL,), ("rules: flapping.window",), _INCIDENTS),
    "alerts_index": Family("alerts", (FOLLOWS,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS),
    "webhook_log": Family("webhooks", (CAP,), ("KLAXON_WEBHOOK_LOG_MAX",), _INCIDENTS),
    "incident": Family("incident:*", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS),
    "incident_alerts": Family(
        "incident:*:alerts", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS
    ),
    "incident_suppressed": Family(
        "incident:*:suppressed", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS
    ),
    "incident_inhibits": Family(
        "incident:*:inhibits", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS
    ),
    "incident_timeline": Family(
        "incident:*:timeline",
        (CAP, RETENTION),
        ("KLAXON_TIMELINE_MAX", "KLAXON_RETENTION_DAYS"),
        _INCIDENTS,
    ),
    "incidents_index": Family("incidents", (FOLLOWS,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS),
    "open_incidents": Family("incidents:open", (FOLLOWS,), (), _INCIDENTS),
    "resolved_incidents": Family(
        "incidents:resolved", (FOLLOWS,), ("KLAXON_RETENTION_DAYS",), _INCIDENTS
    ),
    "incident_sequence": Family("incident-seq:*", (ONE_KEY,), (), _INCIDENTS),  # one a year
    "group": Family("group:*", (TTL,), ("rules: group_window",), _INCIDENTS),
    "inhibit": Family("inhibit:*", (FOLLOWS,), (), _INCIDENTS),  # deleted when it resolves
    "incident_last_job": Family(
        "incident:*:last-job", (RETENTION,), ("KLAXON_RETENTION_DAYS",), "app/notifications.py"
    ),
    "incident_last_public_job": Family(
        "incident:*:last-public-job",
        (RETENTION,),
        ("KLAXON_RETENTION_DAYS",),
        "app/notifications.py",
    ),
    "timers": Family("timers", (FOLLOWS,), (), "app/store/timers.py"),
    "subscribers": Family(
        "subscribers", (CAP,), ("KLAXON_SUBSCRIBERS_MAX",), "app/store/subscribers.py"
    ),
    "ledger": Family("ledger:*", (TTL,), ("KLAXON_RETENTION_DAYS",), "app/store/ledger.py"),
    "outbox": Family("outbox", (CAP,), ("KLAXON_OUTBOX_MAX",), "app/store/outbox.py"),
    "token_failures": Family(
        "token-failures:*",
        (TTL,),
        ("app.store.token_failures.WINDOW_SECONDS",),
        "app/store/token_failures.py",
    ),
    "rate_limit": Family(
        "ratelimit:*:*", (TTL,), ("workers.channels.CHANNELS",), "app/store/ratelimit.py"
    ),
    "slack_seen": Family(
        "slack-seen:*", (TTL,), ("KLAXON_WEBHOOK_CLOCK_SKEW",), "app/slack/replay.py"
    ),
    "maintenance": Family("maintenance", (ONE_KEY,), (), "app/store/maintenance.py"),
    "maintenance_log": Family(
        "maintenance:log", (CAP,), ("KLAXON_MAINTENANCE_LOG_MAX",), "app/store/maintenance.py"
    ),
    "job_metrics": Family(
        "metrics:jobs",
        (ONE_KEY, TTL),
        ("app.store.keys.JOB_METRICS_TTL_SECONDS",),
        "workers/job_metrics.py",
    ),
    "worker_last_take": Family(
        "workers:last-take",
        (ONE_KEY, TTL),
        ("app.store.keys.WORKER_LAST_TAKE_TTL_SECONDS",),
        "workers/worker.py",
    ),
    "drill_last": Family(
        "drill:last", (ONE_KEY, TTL), ("app.store.keys.DRILL_LAST_TTL_SECONDS",), "app/drill.py"
    ),
    "drill_schedule": Family(
        "drill:scheduled", (ONE_KEY, TTL), ("KLAXON_DRILL_INTERVAL",), "workers/ticker.py"
    ),
    "readiness_probe": Family(
        "readyz",
        (ONE_KEY, TTL),
        ("app.store.keys.READINESS_PROBE_TTL_SECONDS",),
        "app/health.py",
    ),
    "change": Family("change:*", (TTL,), ("KLAXON_CHANGES_DAYS",), _CHANGES),
    "changes_index": Family(
        "changes", (CAP, TTL), ("KLAXON_CHANGES_DAYS", "app.store.keys.CHANGES_INDEX_MAX"), _CHANGES
    ),
    "changes_of_service": Family(
        "changes:service:*",
        (CAP, TTL),
        ("KLAXON_CHANGES_DAYS", "app.store.keys.CHANGES_INDEX_MAX"),
        _CHANGES,
    ),
    "change_delivery": Family("change-delivery:*", (TTL,), ("KLAXON_DELIVERY_TTL",), _CHANGES),
    "incident_changes": Family(
        "incident:*:changes", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _CHANGES
    ),
    "incident_change_services": Family(
        "incident:*:change-services", (RETENTION,), ("KLAXON_RETENTION_DAYS",), _CHANGES
    ),
}
