"""The upgrade backfill (app/store/upgrade.py): a real Redis holding what the version before the
storage budget wrote (commit 638b6b8: a key per delivery id, an event stream with every raw body
per alert, resolved incidents off the sweeper's list, a webhook log with whole alerts) is
brought into the budget by the retention sweeper, a bounded step at a time, on a virtual clock;
running it again changes nothing."""

from __future__ import annotations

import hashlib
import json

import redis
from test_key_families import family_of
from test_retention import klaxon_bytes

from app.clock import VirtualClock
from app.models import Alert, Lifecycle, SourceName
from app.store import keys
from app.store.budget import StorageBudget
from app.store.incidents import IncidentStore, StoreDecision
from app.store.retention import Retention
from app.store.upgrade import Upgrade

DAY = 24 * 3600
BODY = 100_000  # bytes of each old raw body
LEGACY_DELIVERIES = 300


def write_previous_version(connection: redis.Redis, now: float) -> dict[str, str]:
    """The shapes of 638b6b8's correlate.lua and resolve.lua, written as it wrote them."""
    p = keys.PREFIX
    for n in range(LEGACY_DELIVERIES):  # SET delivery:<source>:<blake2b-16 of id> NX EX 7 days
        digest = hashlib.blake2b(f"d-{n}".encode(), digest_size=16).hexdigest()
        connection.set(f"{p}:delivery:datadog:{digest}", "ALR-old", ex=7 * DAY)
    # An alert that fired, repeated 25 times and recovered: every delivery on its stream.
    alert = "ALR-0123456789abcdef"
    normalised = json.dumps({"source": "datadog", "identity": "m|old", "title": "disk full"})
    connection.hset(
        f"{p}:alert:{alert}",
        mapping={
            "id": alert, "source": "datadog", "identity": "m|old", "status": "resolved",
            "title": "disk full", "alert": normalised, "count": 26, "episode": 1,
            "first_seen": now - 30 * DAY, "last_seen": now - 29 * DAY,
            "incident": "INC-2026-0001", "suppressed": "",
        },
    )  # fmt: skip
    connection.zadd(f"{p}:alerts", {alert: now - 30 * DAY})
    deliveries = [("trigger", "new", b"O" * BODY)]
    deliveries += [("trigger", "duplicate", b"d" * BODY)] * 25
    deliveries += [("resolve", "resolved", b"r" * 500)]
    for at, (lifecycle, outcome, raw) in enumerate(deliveries):
        connection.xadd(
            f"{p}:alert:{alert}:events",
            {"lifecycle": lifecycle, "outcome": outcome, "at": repr(now - 30 * DAY + at),
             "alert": normalised, "raw": raw},
            maxlen=200, approximate=True,
        )  # fmt: skip
        connection.xadd(
            f"{p}:webhooks",
            {"alert_id": alert, "outcome": outcome, "incident": "INC-2026-0001",
             "at": repr(now - 30 * DAY + at), "alert": normalised,
             "decision": json.dumps({"rule": "default", "severity": "SEV3"}) + " " * 1500},
        )  # fmt: skip
    # Incidents: resolve.lua kept no list of resolved ones, so the sweeper never found these.
    for incident, status, created, resolved in (
        ("INC-2026-0001", "resolved", now - 30 * DAY, now - 29 * DAY),  # its alert still there
        ("INC-2025-0007", "resolved", now - 200 * DAY, now - 120 * DAY),  # no alert left
        ("INC-2025-0008", "investigating", now - 150 * DAY, None),  # open: kept forever
    ):
        fields = {"id": incident, "status": status, "created_at": created, "updated_at": created}
        if resolved:
            fields.update(resolved_at=resolved, updated_at=resolved)
        connection.hset(f"{p}:incident:{incident}", mapping=fields)  # type: ignore[arg-type]
        connection.xadd(f"{p}:incident:{incident}:timeline", {"at": created, "kind": "opened"})
        connection.zadd(f"{p}:incidents", {incident: created})
        if status != "resolved":
            connection.zadd(f"{p}:incidents:open", {incident: created})
    connection.sadd(f"{p}:incident:INC-2026-0001:alerts", alert)
    connection.set(f"{p}:incident-seq:2025", 8)
    connection.set(f"{p}:incident-seq:2026", 1)
    return {"alert": alert}


def new_version_traffic(connection: redis.Redis, clock: VirtualClock) -> str:
    """What the new web dynos write once deployed, beside the old shapes."""
    store = IncidentStore(connection, clock, 3 * DAY)
    alert = Alert(SourceName.DATADOG, Lifecycle.TRIGGER, "m|new", "n-1", "Triggered", title="t")
    result = store.correlate(alert, StoreDecision(), b'{"new": true}')
    assert result.incident_id is not None
    return result.incident_id


def test_a_redis_of_the_previous_version_is_brought_into_the_budget(
    redis_client: redis.Redis,
) -> None:
    clock = VirtualClock()
    budget = StorageBudget()  # retention 90 days, 20 history entries, 4096-byte samples
    old = write_previous_version(redis_client, clock.now())
    new_incident = new_version_traffic(redis_client, clock)
    before = klaxon_bytes(redis_client)
    alert_key = keys.alert(old["alert"])

    # Bounded: a step looks at about `scan_count` keys and `log_page` log entries.
    upgrade = Upgrade(redis_client, budget, scan_count=20, log_page=10)
    first = upgrade.step()
    assert 0 < first.total < LEGACY_DELIVERIES
    steps = 1
    while not upgrade.done():
        upgrade.step()
        steps += 1
        clock.advance(60)  # the ticker's minute
        assert steps < 500
    assert steps > 10  # incremental, not one long call

    names = [k.decode() for k in redis_client.scan_iter(f"{keys.PREFIX}:*")]
    assert not [k for k in names if k.startswith(f"{keys.PREFIX}:delivery:")]
    assert not [k for k in names if k.endswith(":events")]
    # The alert keeps one raw sample, of the delivery that opened its episode, cut to the cap,
    # and its state changes (not the 25 duplicates) as compact history, oldest first.
    assert redis_client.hget(alert_key, "raw") == b"O" * budget.raw_sample_bytes
    assert redis_client.hget(alert_key, "raw_bytes") == str(BODY).encode()
    history = [json.loads(e) for e in redis_client.lrange(keys.alert_events(old["alert"]), 0, -1)]
    assert [(h["lifecycle"], h["outcome"], h["raw_bytes"]) for h in history] == [
        ("trigger", "new", BODY),
        ("resolve", "resolved", 500),
    ]
    # The webhook log keeps only compact entries: the new version's one is still there.
    log = redis_client.xrange(keys.webhook_log())
    assert [f[b"alert_id"] for _, f in log if b"alert" not in f] and all(
        b"alert" not in f for _, f in log
    )
    # Resolved incidents are on the sweeper's list; the open one is not.
    resolved = {m.decode() for m in redis_client.zrange(keys.resolved_incidents(), 0, -1)}
    assert resolved == {"INC-2026-0001", "INC-2025-0007"}
    assert klaxon_bytes(redis_client) < before / 20

    # The sweeper now finds what it never did: the incident resolved 120 days ago goes.
    retention = Retention(redis_client, clock, budget, 3 * DAY)
    retention.sweep_all()
    names = [k.decode() for k in redis_client.scan_iter(f"{keys.PREFIX}:*")]
    assert not [k for k in names if "INC-2025-0007" in k]
    assert redis_client.hget(keys.incident("INC-2025-0008"), "status") == b"investigating"
    assert redis_client.exists(keys.incident("INC-2026-0001"), keys.incident(new_incident)) == 2
    assert [k for k in names if family_of(k) is None] == []  # every key is of today's shapes

    # Idempotent: a second full pass (another dyno, a restart that lost nothing) changes nothing.
    snapshot = {k: redis_client.dump(k) for k in redis_client.scan_iter(f"{keys.PREFIX}:*")}
    redis_client.delete(keys.upgrade_state())
    again = Upgrade(redis_client, budget, scan_count=20, log_page=10)
    while not again.done():
        assert again.step().total == 0
    redis_client.delete(keys.upgrade_state())
    snapshot.pop(keys.upgrade_state().encode(), None)
    assert {k: redis_client.dump(k) for k in redis_client.scan_iter(f"{keys.PREFIX}:*")} == snapshot


def test_the_retention_sweeper_runs_the_upgrade_and_then_only_looks(
    redis_client: redis.Redis,
) -> None:
    clock = VirtualClock()
    write_previous_version(redis_client, clock.now())
    retention = Retention(redis_client, clock, StorageBudget(), 3 * DAY)
    first = retention.sweep()
    assert first.upgraded > 0
    total = retention.sweep_all()
    assert retention.upgrade.done()
    assert first.upgraded + total.upgraded >= LEGACY_DELIVERIES + 1 + 2 + 27
    assert retention.sweep().upgraded == 0
    assert not list(redis_client.scan_iter(f"{keys.PREFIX}:delivery:*"))
