"""Bounded storage (docs/decisions.md 13): four months of a realistic Datadog stream on a virtual
clock, through the receiver, the worker's timers and its housekeeping, against a real Redis.
Once the retention is reached Klaxon's memory stays flat; a redelivery inside
KLAXON_DELIVERY_TTL is still a duplicate; a resolved incident older than the retention is gone
from Redis, the API and the pages; an open one is kept."""

from __future__ import annotations

import json
from dataclasses import replace

import redis
from conftest import SECRETS, load_fixture
from test_pages import sign_in
from webhook_helpers import send

from app import create_app
from app.clock import VirtualClock
from app.settings import Settings
from app.store import keys
from app.store.retention import Retention
from workers.ticker import keep_house, tick

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
DAY = 24 * 3600
DAYS = 115  # retention (90) + 25 days of steady state
PROBLEMS_PER_DAY = 3
REPEATS = 12  # fresh deliveries of a firing alert: duplicates, which must cost ~nothing
TRIGGERED = load_fixture("datadog", "triggered")
RECOVERED = load_fixture("datadog", "recovered")


def datadog(fixture, monitor: str, delivery: str) -> bytes:
    body = json.loads(fixture.body)
    body["id"] = delivery
    body["alert"]["id"] = monitor
    return json.dumps(body).encode()


def klaxon_bytes(connection: redis.Redis) -> int:
    """What Klaxon's keys hold, by Redis's own account (MEMORY USAGE, every element)."""
    return sum(
        connection.memory_usage(key, samples=0) or 0
        for key in connection.scan_iter(f"{keys.PREFIX}:*", count=1000)
    )


def test_four_months_of_alerts_fit_in_flat_memory(
    settings: Settings, redis_client: redis.Redis
) -> None:
    clock = VirtualClock()
    # The webhook log is capped by count (KLAXON_WEBHOOK_LOG_MAX); a small cap lets this
    # stream reach it within the test, as real traffic reaches the default.
    settings = settings.with_changes(storage=replace(settings.storage, webhook_log_max=500))
    app = create_app(settings, connection=redis_client, clock=clock)
    client = app.test_client()
    incidents = app.extensions["klaxon"].incidents
    start = clock.now()

    def post(fixture, monitor: str, delivery: str) -> dict:
        response = send(client, fixture, body=datadog(fixture, monitor, delivery))
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()

    # Day 0: one problem is resolved (history, removed after the retention), one never is.
    resolved_early = post(TRIGGERED, "old-resolved", "d-old-1")["incident"]
    kept_open = post(TRIGGERED, "old-open", "d-open-1")["incident"]
    post(RECOVERED, "old-resolved", "d-old-2")
    clock.advance(3600)  # its quiet period
    tick(redis_client, clock, incidents)
    assert incidents.incident(resolved_early)["status"] == "resolved"

    memory_by_day: dict[int, int] = {}
    for day in range(DAYS):
        for hour in range(24):
            clock.set(start + day * DAY + hour * 3600)
            if hour == 9:  # a few problems fire ...
                for k in range(PROBLEMS_PER_DAY):
                    answer = post(TRIGGERED, f"m-{day}-{k}", f"d-{day}-{k}-0")
                    assert answer["outcome"] == "new"
            if 9 < hour < 9 + REPEATS + 1:  # ... repeat every hour with fresh delivery ids ...
                for k in range(PROBLEMS_PER_DAY):
                    answer = post(TRIGGERED, f"m-{day}-{k}", f"d-{day}-{k}-{hour}")
                    assert answer["outcome"] == "duplicate"
            if hour == 22:  # ... and recover
                for k in range(PROBLEMS_PER_DAY):
                    assert post(RECOVERED, f"m-{day}-{k}", f"d-{day}-{k}-r")["outcome"] == (
                        "resolved"
                    )
            tick(redis_client, clock, incidents)  # quiet-period resolves
            if hour % 4 == 0:  # the worker sweeps every minute; often enough for the test
                keep_house(redis_client, clock, settings.storage, settings.delivery_ttl_seconds)
        if day >= 2:  # a sender retrying yesterday's delivery: still recognised
            again = post(TRIGGERED, f"m-{day - 1}-0", f"d-{day - 1}-0-10")
            assert again["outcome"] == "duplicate" and again["reason"] == "redelivery"
        memory_by_day[day] = klaxon_bytes(redis_client)

    steady = [memory_by_day[day] for day in range(95, DAYS)]
    growing = memory_by_day[60] - memory_by_day[30]
    assert growing > 0  # before the retention, history accumulates ...
    assert max(steady) - min(steady) < 0.1 * growing  # ... after it, memory stays flat
    assert max(steady) < 1.05 * memory_by_day[95]

    # The resolved incident older than the retention: gone from Redis, the API and the pages.
    assert not any(resolved_early in key.decode() for key in redis_client.scan_iter("klaxon:*"))
    assert client.get(f"/api/incidents/{resolved_early}", headers=AUTH).status_code == 404
    listed = client.get("/api/incidents?limit=1000", headers=AUTH).get_json()
    assert resolved_early not in json.dumps(listed)
    sign_in(client)
    assert client.get(f"/incidents/{resolved_early}").status_code == 404
    assert resolved_early not in client.get("/incidents").get_data(as_text=True)
    # The open one, as old: kept, with its alert.
    assert client.get(f"/api/incidents/{kept_open}", headers=AUTH).status_code == 200
    assert kept_open in client.get("/incidents").get_data(as_text=True)
    assert incidents.incident_alerts(kept_open)
    # Recent history is still there.
    recent = post(TRIGGERED, f"m-{DAYS - 1}-0", "d-recent")
    assert recent["outcome"] == "new"  # it had recovered: a new episode of a known alert
    assert incidents.alert(recent["alert"])["episode"] == "2"


def test_a_redelivery_is_a_duplicate_until_the_delivery_ttl_then_forgotten(
    settings: Settings, redis_client: redis.Redis
) -> None:
    clock = VirtualClock()
    app = create_app(settings, connection=redis_client, clock=clock)
    client = app.test_client()
    ttl = settings.delivery_ttl_seconds
    first = send(client, TRIGGERED, body=datadog(TRIGGERED, "m", "d-1")).get_json()
    assert first["outcome"] == "new"
    for seconds in (1, ttl // 2, ttl - 1):  # every bucket the TTL reaches back to is looked in
        clock.set(VirtualClock().now() + seconds)
        again = send(client, TRIGGERED, body=datadog(TRIGGERED, "m", "d-1")).get_json()
        assert (again["outcome"], again["reason"]) == ("duplicate", "redelivery")
    clock.set(VirtualClock().now() + ttl + keys.delivery_bucket_seconds(ttl) + 1)
    Retention(redis_client, clock, settings.storage, ttl).sweep_all()
    assert not list(redis_client.scan_iter(keys.deliveries("*", "*")))
    late = send(client, TRIGGERED, body=datadog(TRIGGERED, "m", "d-1")).get_json()
    assert late["reason"] != "redelivery"  # forgotten: counted as a repeat of the firing alert


def test_a_firing_alert_outlives_its_hand_resolved_incident_without_reviving_it(
    settings: Settings, redis_client: redis.Redis
) -> None:
    clock = VirtualClock()
    app = create_app(settings, connection=redis_client, clock=clock)
    client = app.test_client()
    incidents = app.extensions["klaxon"].incidents
    opened = send(client, TRIGGERED, body=datadog(TRIGGERED, "m", "d-0")).get_json()
    incidents.resolve(opened["incident"], by="someone", force=True)  # the alert still fires
    retention = Retention(redis_client, clock, settings.storage, settings.delivery_ttl_seconds)
    for day in range(1, 100):  # it keeps repeating every day
        clock.set(VirtualClock().now() + day * DAY)
        again = send(client, TRIGGERED, body=datadog(TRIGGERED, "m", f"d-{day}")).get_json()
        assert again["outcome"] == "duplicate"
        retention.sweep_all()
    assert incidents.incident(opened["incident"]) is None  # resolved 99 days ago: removed
    assert not redis_client.exists(keys.incident(opened["incident"]))  # repeats never revive it
    assert incidents.alert(opened["alert"])["count"] == 100  # the alert, still seen, is kept
    clock.set(VirtualClock().now() + 200 * DAY)  # silent for the retention: removed too
    retention.sweep_all()
    assert incidents.alert(opened["alert"]) is None
    assert not list(redis_client.scan_iter(f"{keys.alert(opened['alert'])}*"))


def test_a_repeat_of_a_suppressed_alert_writes_no_incident_key(
    settings: Settings, redis_client: redis.Redis
) -> None:
    from app.models import Alert, Lifecycle, SourceName
    from app.store.incidents import StoreDecision

    incidents = (
        create_app(settings, connection=redis_client, clock=VirtualClock())
        .extensions["klaxon"]
        .incidents
    )
    alert = Alert(SourceName.DATADOG, Lifecycle.TRIGGER, "m", "d-1", "Triggered")
    silenced = StoreDecision(suppressed="silence: planned work")
    assert incidents.correlate(alert, silenced, b"{}").outcome.value == "suppressed"
    repeat = replace(alert, delivery_id="d-2")
    assert incidents.correlate(repeat, silenced, b"{}").outcome.value == "duplicate"
    assert not redis_client.exists(f"{keys.PREFIX}:incident:")
