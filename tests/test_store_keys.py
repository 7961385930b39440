"""The Lua scripts build their key names from the prefix themselves; the builders in
app/store/keys.py must name exactly the keys the scripts write, or readers find nothing."""

from __future__ import annotations

from app.models import Alert, Lifecycle, SourceName
from app.store import keys
from app.store.incidents import IncidentStore, StoreDecision


def test_keys_written_by_correlate_are_the_ones_keys_py_names(redis_client, clock) -> None:
    store = IncidentStore(redis_client, clock, 3600)
    alert = Alert(
        source=SourceName.DATADOG,
        lifecycle=Lifecycle.TRIGGER,
        identity="m|host:a",
        delivery_id="d-1",
        event_type="Triggered",
        title="t",
        service="checkout-api",
    )
    result = store.correlate(
        alert,
        StoreDecision(
            group_key="team=x",
            group_wait_seconds=30,
            provides_inhibit=("rule|service=checkout-api",),
        ),
        b"{}",
    )
    store.correlate(
        Alert(
            **{
                **alert.to_dict(),
                "lifecycle": Lifecycle.RESOLVE,
                "delivery_id": "d-2",
                "source": alert.source,
                "links": (),
            }
        ),
        StoreDecision(quiet_period_seconds=60),
        b"{}",
    )
    incident = result.incident_id
    expected = {
        keys.delivery("datadog", "d-1", clock.now(), 3600),
        keys.delivery("datadog", "d-2", clock.now(), 3600),
        keys.alert(result.alert_id),
        keys.alert_events(result.alert_id),
        keys.alerts_index(),
        keys.webhook_log(),
        keys.incident(incident),
        keys.incident_alerts(incident),
        keys.incident_timeline(incident),
        keys.incidents_index(),
        keys.open_incidents(),
        keys.timers(),
        f"{keys.PREFIX}:incident-seq:2026",
        f"{keys.PREFIX}:incident:{incident}:inhibits",
        f"{keys.PREFIX}:inhibit:rule|service=checkout-api",
    }
    written = {k.decode() for k in redis_client.keys(f"{keys.PREFIX}:*")}
    group = [k for k in written if k.startswith(f"{keys.PREFIX}:group:")]
    assert len(group) == 1
    assert written - set(group) == expected
    assert {m.decode() for m in redis_client.zrange(keys.timers(), 0, -1)} == {
        f"declare:{incident}",
        f"resolve:{incident}",
    }


def test_keys_written_by_the_token_guard_are_the_ones_keys_py_names(redis_client, clock) -> None:
    from app.store.token_failures import TokenFailures

    failures = TokenFailures(redis_client, clock)
    failures.attempt("203.0.113.7")  # a wrong token stays counted
    failures.succeeded("2001:db8::/64", failures.attempt("2001:db8::/64"))  # a right one not
    written = {k.decode() for k in redis_client.keys(f"{keys.PREFIX}:*")}
    assert written == {keys.token_failures("203.0.113.7")}
