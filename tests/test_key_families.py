"""Every Redis key family Klaxon writes is bounded, and says so (issue 12; docs/decisions.md 13):
app/store/keys.py's FAMILIES names each family's bound (a TTL, a cap, the retention, one key,
or one member per key of another family) and what sets it. These tests walk keys.py's builders
and fail on a family missing from FAMILIES, one bounded by nothing, a knob that is not a
documented setting, a builder whose docstring does not name its family's settings, and a key
written by the stores that no family describes."""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import replace

import redis

from app.changes.model import Change
from app.clock import VirtualClock
from app.models import Alert, Lifecycle, SourceName
from app.settings import VARIABLES
from app.store import keys
from app.store.budget import StorageBudget
from app.store.changes import ChangeStore
from app.store.incidents import IncidentStore, StoreDecision
from app.store.ledger import Ledger
from app.store.maintenance import MaintenanceMode
from app.store.outbox import Outbox
from app.store.ratelimit import RateLimit, RateLimiter
from app.store.retention import Retention
from app.store.token_failures import TokenFailures

BOUNDS = {keys.TTL, keys.CAP, keys.RETENTION, keys.ONE_KEY, keys.FOLLOWS}
PLACEHOLDERS = {"str": "x1", "float": 1.7e9, "int": 3600, "int | str": 7}


def key_builders() -> dict[str, str]:
    """Builder name -> the key it builds, for every function in keys.py that builds a key."""
    built = {}
    for name, function in inspect.getmembers(keys, inspect.isfunction):
        if function.__module__ != keys.__name__:
            continue
        args = [
            PLACEHOLDERS[str(p.annotation)] for p in inspect.signature(function).parameters.values()
        ]
        value = function(*args)
        if isinstance(value, str) and value.startswith(f"{keys.PREFIX}:"):
            built[name] = value
    return built


def family_of(key: str) -> str | None:
    """The family whose pattern matches the key (`*`: one id, without a colon)."""
    name = key.removeprefix(f"{keys.PREFIX}:")
    for family, spec in keys.FAMILIES.items():
        pattern = "^" + re.escape(spec.pattern).replace(r"\*", "[^:]+") + "$"
        if re.match(pattern, name):
            return family
    return None


def test_every_key_builder_belongs_to_a_family() -> None:
    builders = key_builders()
    assert len(builders) >= 25  # the walk found them (a placeholder error would raise)
    assert {name: family_of(key) for name, key in builders.items() if family_of(key) is None} == {}


def test_every_family_has_a_bound_and_what_sets_it() -> None:
    for name, family in keys.FAMILIES.items():
        assert family.bounds and set(family.bounds) <= BOUNDS, name
        if {keys.TTL, keys.CAP, keys.RETENTION} & set(family.bounds):
            assert family.knobs, f"{name}: a TTL, cap or retention with nothing setting it"
        for knob in family.knobs:
            if knob.startswith("KLAXON_"):
                assert knob in VARIABLES, f"{name}: {knob} is not a documented setting"
            elif knob.startswith("rules: "):
                continue  # set per rule in rules/*.yml
            else:
                module, _, constant = knob.rpartition(".")
                assert hasattr(importlib.import_module(module), constant), (name, knob)


def test_every_builder_names_its_family_s_settings() -> None:
    unsaid = []
    for builder, key in key_builders().items():
        family = keys.FAMILIES[family_of(key) or ""]
        doc = inspect.getdoc(getattr(keys, builder)) or ""
        unsaid += [
            f"keys.{builder}: {knob}"
            for knob in family.knobs
            if knob.startswith("KLAXON_") and knob not in doc
        ]
    assert unsaid == []


def test_the_timeline_and_maintenance_log_caps_are_settings(redis_client: redis.Redis) -> None:
    clock = VirtualClock()
    budget = replace(StorageBudget(), timeline_max=3, maintenance_log_max=2)
    store = IncidentStore(redis_client, clock, 3600, budget)
    alert = Alert(SourceName.DATADOG, Lifecycle.TRIGGER, "m|a", "d-0", "Triggered", title="t")
    incident = store.correlate(alert, StoreDecision(), b"{}").incident_id
    assert incident is not None
    maintenance = MaintenanceMode(redis_client, clock, budget)
    for n in range(150):  # MAXLEN ~ trims whole stream nodes (100 entries): look well past
        clock.advance(1)
        store.add_timeline(incident, "note", f"note {n}")
        maintenance.start("drill", by="test")
        maintenance.end(by="test")
    assert redis_client.xlen(keys.incident_timeline(incident)) <= 200  # not 3 x 150 + 2
    assert redis_client.xlen(keys.maintenance_log()) <= 150  # not 300


def test_every_key_the_stores_write_belongs_to_a_family(redis_client: redis.Redis) -> None:
    clock = VirtualClock()
    store = IncidentStore(redis_client, clock, 3600)
    decision = StoreDecision(
        group_key="team=x",
        group_wait_seconds=30,
        provides_inhibit=("rule|service=a",),
        inhibited_by=("rule|service=b",),
        flapping_max_changes=3,
        flapping_window_seconds=600,
    )
    alert = Alert(SourceName.DATADOG, Lifecycle.TRIGGER, "m|a", "d-1", "Triggered", title="t")
    incident = store.correlate(alert, decision, b"{}").incident_id
    assert incident is not None
    resolve = replace(alert, lifecycle=Lifecycle.RESOLVE, delivery_id="d-2")
    store.correlate(resolve, decision, b"{}")
    store.declare(incident)
    store.acknowledge(incident, by="amy", via="API")
    store.add_timeline(incident, "notified", "paged")
    maintenance = MaintenanceMode(redis_client, clock)
    maintenance.start("upgrade", by="amy")
    Outbox(redis_client, clock, 10).add({"channel": "slack", "text": "hi"})
    Ledger(redis_client, clock, 3600).begin("k-1", "pagerduty", incident, "trigger")
    TokenFailures(redis_client, clock).attempt("203.0.113.7")
    RateLimiter(redis_client, clock).acquire("pagerduty", "routing-key", RateLimit(0.5, 10))
    store.resolve(incident, by="amy", force=True)
    clock.advance(10 * 24 * 3600)
    Retention(redis_client, clock, StorageBudget(retention_days=1), 3600).sweep_all()
    maintenance.end(by="amy")
    again = store.correlate(replace(alert, delivery_id="d-3"), decision, b"{}").incident_id
    assert again is not None and again != incident
    store.add_timeline(again, "notified", "paged")

    written = [k.decode() for k in redis_client.scan_iter(f"{keys.PREFIX}:*")]
    assert len(written) >= 10
    assert [k for k in written if family_of(k) is None] == []


def test_the_change_keys_belong_to_families_and_expire(redis_client: redis.Redis) -> None:
    """Issue 17's keys: a change, its indexes and delivery expire; an incident's copies and the
    services looked at go with the incident (purge_incident.lua)."""
    clock = VirtualClock()
    store = IncidentStore(redis_client, clock, 3600)
    alert = Alert(SourceName.DATADOG, Lifecycle.TRIGGER, "m|a", "d-0", "Triggered", title="t")
    incident = store.correlate(alert, StoreDecision(), b"{}").incident_id
    assert incident is not None
    changes = ChangeStore(redis_client, clock, days=2, delivery_ttl=3600)
    change = Change("heroku", "app:v52", "checkout", "v52", clock.now() - 60, service="checkout")
    changes.record(change, "heroku", "delivery-1")
    changes.services_examined(incident, ["checkout"])
    assert changes.keep_on_incident(incident, change, clock.now(), during=False)
    written = [k.decode() for k in redis_client.scan_iter(f"{keys.PREFIX}:*chang*")]
    assert {family_of(k) for k in written} == {
        "change",
        "changes_index",
        "changes_of_service",
        "change_delivery",
        "incident_changes",
        "incident_change_services",
    }
    for key in written:
        if keys.TTL in keys.FAMILIES[family_of(key) or ""].bounds:
            assert 0 < redis_client.ttl(key) <= 2 * 86400, key
    store.resolve(incident, by="amy", force=True)
    clock.advance(10 * 24 * 3600)
    Retention(redis_client, clock, StorageBudget(retention_days=1), 3600).sweep_all()
    assert not redis_client.exists(
        keys.incident_changes(incident), keys.incident_change_services(incident)
    )
