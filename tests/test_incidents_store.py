"""IncidentStore over a real Redis: grouping, severity raises, inhibition, silences, flapping,
quiet-period resolution on the virtual clock, and races between processes."""

from __future__ import annotations

import itertools
import threading

import pytest

from app.models import Alert, Lifecycle, Outcome, Severity, SourceName
from app.store.connection import connect
from app.store.incidents import Acted, IncidentStore, StoreDecision
from app.store.timers import Timers

_deliveries = itertools.count()


def alert(
    identity: str,
    lifecycle: Lifecycle = Lifecycle.TRIGGER,
    severity: str = "P2",
    service: str = "checkout-api",
) -> Alert:
    return Alert(
        source=SourceName.DATADOG,
        lifecycle=lifecycle,
        identity=identity,
        delivery_id=f"d-{next(_deliveries)}",
        event_type=str(lifecycle),
        title=f"{identity} is unhappy",
        service=service,
        source_severity=severity,
    )


def decide(**changes) -> StoreDecision:
    defaults = dict(
        severity=Severity.SEV2,
        team="payments",
        rule="checkout-latency",
        rule_location="rules/routing.yml:12:5",
        rules_version="abc123",
        reason="matched checkout-latency",
        group_key="payments|checkout-api",
        group_window_seconds=1800,
        quiet_period_seconds=300,
    )
    return StoreDecision(**{**defaults, **changes})


@pytest.fixture
def store(redis_client, clock) -> IncidentStore:
    return IncidentStore(redis_client, clock, delivery_ttl_seconds=3600)


def test_alerts_sharing_a_group_key_join_one_open_incident(store) -> None:
    first = store.correlate(alert("web-03"), decide(), b"{}")
    second = store.correlate(alert("web-07"), decide(), b"{}")
    assert first.outcome is Outcome.NEW and first.notify == "declare"
    assert second.outcome is Outcome.GROUPED and second.incident_id == first.incident_id
    assert first.incident_id.startswith("INC-2026-")
    assert {a["id"] for a in store.incident_alerts(first.incident_id)} == {
        first.alert_id,
        second.alert_id,
    }


def test_a_group_key_outside_its_window_opens_a_new_incident(store, clock) -> None:
    first = store.correlate(alert("web-03"), decide(), b"{}")
    clock.advance(1801)
    later = store.correlate(alert("web-07"), decide(), b"{}")
    assert later.outcome is Outcome.NEW and later.incident_id != first.incident_id


def test_higher_severity_raises_the_incident_and_lower_never_lowers_it(store) -> None:
    first = store.correlate(alert("web-03"), decide(severity=Severity.SEV3), b"{}")
    raised = store.correlate(alert("web-07"), decide(severity=Severity.SEV1), b"{}")
    lower = store.correlate(alert("web-09"), decide(severity=Severity.SEV4), b"{}")
    assert raised.notify == "severity_raised" and lower.notify == ""
    assert store.incident(first.incident_id)["severity"] == "SEV1"
    kinds = [e["kind"] for e in store.timeline(first.incident_id)]
    assert kinds.count("severity_raised") == 1


def test_repeats_are_counted_not_renotified(store) -> None:
    first = store.correlate(alert("web-03"), decide(), b"{}")
    for _ in range(5):
        repeat = store.correlate(alert("web-03"), decide(), b"{}")
        assert repeat.outcome is Outcome.DUPLICATE and repeat.notify == ""
    assert store.alert(first.alert_id)["count"] == 6
    assert store.incident(first.incident_id)["duplicates"] == "5"


def test_source_severity_change_on_an_open_alert_is_an_update_that_can_raise(store) -> None:
    first = store.correlate(
        alert("web-03", severity="warning"), decide(severity=Severity.SEV3), b"{}"
    )
    worse = store.correlate(
        alert("web-03", severity="critical"), decide(severity=Severity.SEV1), b"{}"
    )
    assert worse.outcome is Outcome.UPDATED and worse.notify == "severity_raised"
    assert store.incident(first.incident_id)["severity"] == "SEV1"


def test_silenced_alerts_are_recorded_as_suppressed_and_open_nothing(store) -> None:
    result = store.correlate(alert("web-03"), decide(suppressed="silence 'deploy-window'"), b"{}")
    assert result.outcome is Outcome.SUPPRESSED and result.incident_id is None
    assert store.alert(result.alert_id)["suppressed"] == "silence 'deploy-window'"
    assert store.incident_ids() == []


def test_open_incident_inhibits_lower_alerts_that_share_its_fields(store) -> None:
    sev1 = store.correlate(
        alert("db-down"),
        decide(severity=Severity.SEV1, provides_inhibit=("sev1|checkout-api",)),
        b"{}",
    )
    minor = store.correlate(
        alert("slow-page"),
        decide(
            severity=Severity.SEV4,
            group_key="web|checkout-api",
            inhibited_by=("sev1|checkout-api",),
        ),
        b"{}",
    )
    assert minor.outcome is Outcome.SUPPRESSED and minor.incident_id == sev1.incident_id
    assert "inhibited by " + sev1.incident_id in minor.reason
    assert minor.alert_id in {a["id"] for a in store.incident_alerts(sev1.incident_id)}
    store.resolve(sev1.incident_id, by="Marco", force=True)
    after = store.correlate(
        alert("slow-page-2"),
        decide(
            severity=Severity.SEV4,
            group_key="web|checkout-api",
            inhibited_by=("sev1|checkout-api",),
        ),
        b"{}",
    )
    assert after.outcome is Outcome.NEW  # the inhibitor is gone with its incident


def test_incident_resolves_after_the_quiet_period_once_all_alerts_resolve(
    store, clock, redis_client
) -> None:
    first = store.correlate(alert("web-03"), decide(), b"{}")
    store.correlate(alert("web-07"), decide(), b"{}")
    store.correlate(alert("web-03", Lifecycle.RESOLVE), decide(), b"{}")
    assert [t.kind for t in Timers(redis_client).pending()] == ["declare"]
    store.correlate(alert("web-07", Lifecycle.RESOLVE), decide(), b"{}")
    timers = Timers(redis_client)
    handlers = {
        "resolve": lambda t: store.resolve(t.incident_id, by="quiet period"),
        "declare": lambda t: None,
    }
    clock.advance(299)
    assert [t.kind for t in timers.fire_due(clock.now(), handlers)] == ["declare"]
    clock.advance(2)
    fired = timers.fire_due(clock.now(), handlers)
    assert [(t.kind, t.incident_id) for t in fired] == [("resolve", first.incident_id)]
    assert store.incident(first.incident_id)["status"] == "resolved"
    assert timers.pending() == []


def test_a_new_alert_during_the_quiet_period_keeps_the_incident_open(
    store, clock, redis_client
) -> None:
    first = store.correlate(alert("web-03"), decide(), b"{}")
    store.correlate(alert("web-03", Lifecycle.RESOLVE), decide(), b"{}")
    clock.advance(60)
    again = store.correlate(alert("web-07"), decide(), b"{}")
    assert again.outcome is Outcome.GROUPED
    clock.advance(600)
    handlers = {"resolve": lambda t: store.resolve(t.incident_id, by="quiet period")}
    Timers(redis_client).fire_due(clock.now(), handlers)
    assert store.incident(first.incident_id)["status"] == "investigating"


def test_flapping_alert_is_marked_and_its_notifications_held(store, clock) -> None:
    flappy = decide(flapping_max_changes=3, flapping_window_seconds=600, group_key="")
    results = []
    for _ in range(3):
        results.append(store.correlate(alert("web-03"), flappy, b"{}"))
        clock.advance(30)
        store.correlate(alert("web-03", Lifecycle.RESOLVE), flappy, b"{}")
        clock.advance(30)
    assert [r.notify for r in results] == ["declare", "declare", "held"]
    assert store.alert(results[-1].alert_id)["flapping"] == "1"


def test_racing_processes_open_exactly_one_incident(redis_client, redis_url, clock) -> None:
    # Separate connections stand in for separate web processes.
    stores = [IncidentStore(connect(redis_url), clock, 3600) for _ in range(8)]
    results: list = []
    barrier = threading.Barrier(len(stores))

    def post(store: IncidentStore, index: int) -> None:
        barrier.wait()
        results.append(store.correlate(alert(f"web-{index:02d}"), decide(), b"{}"))

    threads = [threading.Thread(target=post, args=(s, i)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["grouped"] * 7 + ["new"]
    assert len({r.incident_id for r in results}) == 1


def test_timers_survive_a_restart_and_fire_once(redis_client, redis_url, clock) -> None:
    from workers.ticker import tick

    before = IncidentStore(connect(redis_url), clock, 3600)
    # declare_resolved: the declaration is due although the alert is already resolved.
    opted_in = decide(quiet_period_seconds=60, declare_resolved=True)
    first = before.correlate(alert("web-03"), opted_in, b"{}")
    before.correlate(alert("web-03", Lifecycle.RESOLVE), decide(), b"{}")
    clock.advance(3600)  # every process was down while the timer fell due

    after_restart = connect(redis_url)
    store = IncidentStore(after_restart, clock, 3600)
    fired = tick(after_restart, clock, store) + tick(after_restart, clock, store)
    assert sorted(t.kind for t in fired) == ["declare", "resolve"]
    kinds = [e["kind"] for e in store.timeline(first.incident_id)]
    assert kinds.count("resolved") == 1 and kinds.count("declared") == 1


def test_group_wait_gathers_a_burst_and_declares_once(store, clock, redis_client) -> None:
    from workers.ticker import tick

    first = store.correlate(alert("web-03"), decide(group_wait_seconds=30), b"{}")
    clock.advance(10)
    store.correlate(alert("web-07"), decide(group_wait_seconds=30), b"{}")
    assert tick(redis_client, clock, store) == []  # still gathering
    clock.advance(21)
    assert [t.kind for t in tick(redis_client, clock, store)] == ["declare"]
    assert tick(redis_client, clock, store) == []
    declared = [e for e in store.timeline(first.incident_id) if e["kind"] == "declared"]
    assert len(declared) == 1 and declared[0]["data"]["alerts"] == 2
    assert store.declare(first.incident_id) == "already_declared"


def test_an_incident_over_within_group_wait_is_not_declared(store, clock, redis_client) -> None:
    """Quiet when it's over: nobody is paged for a problem that already went away; the
    timeline says so once, and the quiet period resolves it without a declaration."""
    from workers.ticker import tick

    wait = decide(group_wait_seconds=30)
    first = store.correlate(alert("web-03"), wait, b"{}")
    clock.advance(10)
    store.correlate(alert("web-03", Lifecycle.RESOLVE), wait, b"{}")
    clock.advance(21)
    assert [t.kind for t in tick(redis_client, clock, store)] == ["declare"]
    assert not store.is_declared(first.incident_id)
    clock.advance(30)
    assert [t.kind for t in tick(redis_client, clock, store)] == ["declare"]  # a second look
    kinds = [e["kind"] for e in store.timeline(first.incident_id)]
    assert kinds.count("resolved_before_declared") == 1 and "declared" not in kinds
    clock.advance(300)
    assert {t.kind for t in tick(redis_client, clock, store)} == {"resolve", "declare"}
    assert store.incident(first.incident_id)["status"] == "resolved"
    assert not store.is_declared(first.incident_id)


def test_an_alert_firing_again_after_a_quiet_group_wait_is_declared(
    store, clock, redis_client
) -> None:
    from workers.ticker import tick

    wait = decide(group_wait_seconds=30)
    first = store.correlate(alert("web-03"), wait, b"{}")
    store.correlate(alert("web-03", Lifecycle.RESOLVE), wait, b"{}")
    clock.advance(31)
    tick(redis_client, clock, store)
    assert not store.is_declared(first.incident_id)
    clock.advance(60)
    again = store.correlate(alert("web-03"), wait, b"{}")  # back, inside the quiet period
    assert again.incident_id == first.incident_id
    clock.advance(30)
    assert [t.kind for t in tick(redis_client, clock, store)] == ["declare"]
    assert store.is_declared(first.incident_id)


def test_an_incident_nobody_was_told_of_mutes_no_alerts(store, clock, redis_client) -> None:
    from workers.ticker import tick

    outage = decide(
        severity=Severity.SEV1, group_wait_seconds=30, provides_inhibit=("sev1|checkout-api",)
    )
    first = store.correlate(alert("web-03"), outage, b"{}")
    store.correlate(alert("web-03", Lifecycle.RESOLVE), outage, b"{}")
    clock.advance(31)
    tick(redis_client, clock, store)  # resolved before declared
    minor = store.correlate(
        alert("disk", severity="P4"),
        decide(severity=Severity.SEV4, group_key="other", inhibited_by=("sev1|checkout-api",)),
        b"{}",
    )
    assert minor.outcome is Outcome.NEW, minor.reason
    again = store.correlate(alert("web-03"), outage, b"{}")  # the outage is back: it mutes again
    assert again.incident_id == first.incident_id
    later = store.correlate(
        alert("cpu", severity="P4"),
        decide(severity=Severity.SEV4, group_key="other2", inhibited_by=("sev1|checkout-api",)),
        b"{}",
    )
    assert later.outcome is Outcome.SUPPRESSED


def test_a_route_can_opt_in_to_declaring_a_resolved_incident(store, clock, redis_client) -> None:
    wait = decide(group_wait_seconds=30, declare_resolved=True)
    first = store.correlate(alert("web-03"), wait, b"{}")
    store.correlate(alert("web-03", Lifecycle.RESOLVE), wait, b"{}")
    clock.advance(31)
    assert store.declare(first.incident_id) == "declared"


def test_a_flapping_alert_holds_its_incident_until_it_calms_down(
    store, clock, redis_client
) -> None:
    from workers.ticker import tick

    flappy = decide(
        flapping_max_changes=3, flapping_window_seconds=600, flapping_hold_seconds=300, group_key=""
    )
    for _ in range(2):  # fires and clears twice: 4 state changes
        store.correlate(alert("web-03"), flappy, b"{}")
        clock.advance(30)
        store.correlate(alert("web-03", Lifecycle.RESOLVE), flappy, b"{}")
        clock.advance(30)
    held = store.correlate(alert("web-03"), flappy, b"{}")  # the 5th change: flapping
    assert held.notify == "held"
    timeline = store.timeline(held.incident_id)
    assert [e["kind"] for e in timeline].count("flapping") == 1
    assert "5 state changes in 600" in next(e for e in timeline if e["kind"] == "flapping")["text"]
    tick(redis_client, clock, store)
    assert not store.is_declared(held.incident_id)  # held: nobody is paged
    clock.advance(700)  # the window slides past the old changes: calm again
    tick(redis_client, clock, store)
    assert store.is_declared(held.incident_id)


def test_merge_answers_come_back_as_enum_members(store) -> None:
    """Every answer of a merge is a member of Acted (a missing one raised ValueError, so no
    merge could succeed): merged, then unchanged, same and unmerged."""
    parent = store.correlate(alert("web-03"), decide(group_key=""), b"{}").incident_id
    child = store.correlate(alert("web-07"), decide(group_key=""), b"{}").incident_id
    assert store.merge(child, parent, by="Marco")["result"] is Acted.MERGED
    assert store.merge(child, parent, by="Marco")["result"] is Acted.UNCHANGED
    assert store.merge(parent, parent, by="Marco")["result"] is Acted.SAME
    assert store.merge(parent, "INC-2026-9999", by="Marco")["result"] is Acted.PARENT_UNKNOWN
    assert store.unmerge(child, parent, by="Klaxon")["result"] is Acted.UNMERGED
    assert store.incident(child).get("merged_into", "") == ""
