"""ingest(): the only place that knows the order of the steps after a source has parsed a
delivery: classify + route (rules, pure) -> dedupe/group + store (one Lua call) -> the answer.

Everything before (verify, parse) is the source's; everything after is the workers'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from app.drill import drill_decision, is_drill_alert
from app.models import Alert, Lifecycle, Outcome, SourceName
from app.ruleset import Decision, RuleSet, classify
from app.ruleset.labels import alert_labels
from app.ruleset.matchers import all_match
from app.ruleset.policies import inhibit_applies
from app.ruleset.services import UNKNOWN, map_service
from app.sources import Parsed
from app.store.incidents import (
    Acted,
    Correlated,
    Declaration,
    IncidentStore,
    Notify,
    Resolution,
    StoreDecision,
)

# enqueue(incident_id, event, seq, reason): tells the workers about a state change.
Enqueue = Callable[[str, str, str, str], Any]
# suspect(incident_id, services): an incident opened or an alert of a service joined it; its
# suspected changes are recorded (app/change_intake.py).
Suspect = Callable[[str, list[str]], Any]
KLAXON_INCIDENT = re.compile(r"^INC-\d{4}-\d+$")
PAGERS = {SourceName.PAGERDUTY, SourceName.OPSGENIE}

# When one delivery carries several alerts (Alertmanager groups), the answer's top-level
# outcome is the most consequential one.
_OUTCOME_WEIGHT = {
    Outcome.NEW: 7,
    Outcome.GROUPED: 6,
    Outcome.RESOLVED: 5,
    Outcome.UPDATED: 4,
    Outcome.SUPPRESSED: 3,
    Outcome.DUPLICATE: 2,
    Outcome.IGNORED: 1,
}


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's 202 body."""

    outcome: Outcome
    alert: str | None = None
    incident: str | None = None
    reason: str = ""
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "outcome": self.outcome.value,
            "alert": self.alert,
            "incident": self.incident,
        }
        if self.reason:
            body["reason"] = self.reason
        if len(self.alerts) > 1:
            body["alerts"] = self.alerts
        return body


def ingest(
    parsed: Parsed,
    raw_body: bytes,
    ruleset: RuleSet,
    store: IncidentStore,
    now: float,
    enqueue: Enqueue,
    suspect: Suspect | None = None,
) -> Answer:
    if not parsed.alerts:
        return Answer(Outcome.IGNORED, reason=parsed.ignored_reason)
    stale = _older_than_redelivery_window(parsed, now, store.delivery_ttl_seconds)
    if stale:
        return Answer(Outcome.IGNORED, reason=stale)
    results = [
        _ingest_one(alert, raw_body, ruleset, store, now, enqueue, suspect)
        for alert in parsed.alerts
    ]
    top = max(results, key=lambda r: _OUTCOME_WEIGHT[r.outcome])
    return Answer(
        top.outcome,
        alert=top.alert_id,
        incident=top.incident_id,
        reason=top.reason,
        alerts=[_summary(r) for r in results],
    )


def _older_than_redelivery_window(parsed: Parsed, now: float, window: int) -> str:
    """Why an event is too old to be taken as new, else "". Its delivery id is kept for
    `window` seconds only; past that a replay (or a sender's very late retry) would look new."""
    if parsed.event_at is None or now - parsed.event_at <= window:
        return ""
    return (
        f"event of {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(parsed.event_at))} is "
        f"older than the redelivery window ({window} s, KLAXON_DELIVERY_TTL): "
        f"a replay, or a redelivery Klaxon no longer remembers"
    )


def _ingest_one(
    alert: Alert,
    raw_body: bytes,
    ruleset: RuleSet,
    store: IncidentStore,
    now: float,
    enqueue: Enqueue,
    suspect: Suspect | None = None,
) -> Correlated:
    own = _own_page(alert, store)
    if own is not None:
        return _page_came_back(alert, own, store, enqueue)
    # The incident records the catalog's name for the service (status page, grouping); an
    # alert the catalog does not know keeps the name it was sent with, for the responders.
    service = map_service(ruleset.services, ruleset.service_names, alert_labels(alert)).service
    if service not in (alert.service, UNKNOWN):
        alert = replace(alert, service=service)
    decision = classify(alert, ruleset, now)
    if is_drill_alert(alert):  # a fire drill: its own incident, told to the outbox only
        decision = drill_decision(decision, ruleset)
    if decision.ignored:  # a route says this alert is noise: answered, never stored
        return Correlated(None, Outcome.IGNORED, None, reason=decision.reason)
    result = store.correlate(alert, decision_for_store(alert, decision, ruleset), raw_body)
    # Before the declaration below, so the first page already names the suspects.
    if suspect and result.incident_id and result.outcome in (Outcome.NEW, Outcome.GROUPED):
        suspect(result.incident_id, [alert.service])
    # No group_wait: tell responders now rather than at the next tick (the declare timer,
    # kept as a safety net, then finds it declared and does nothing).
    if (
        result.notify is Notify.DECLARE
        and result.incident_id
        and decision.group_wait_s <= 0
        and store.declare(result.incident_id) is Declaration.DECLARED
    ):
        enqueue(result.incident_id, "declared", "", "first notification (no group_wait)")
    # Raised during group_wait: the declaration will carry the new severity by itself.
    if (
        result.notify is Notify.SEVERITY_RAISED
        and result.incident_id
        and store.is_declared(result.incident_id)
    ):
        enqueue(result.incident_id, "severity_raised", decision.severity.value, decision.reason)
    return result


def _own_page(alert: Alert, store: IncidentStore) -> str | None:
    """The Klaxon incident a PagerDuty/Opsgenie event is about, when Klaxon made that page
    (its dedup key / alias is the incident id): it must never open a new incident."""
    if (
        alert.source in PAGERS
        and KLAXON_INCIDENT.match(alert.problem_key)
        and store.incident(alert.problem_key) is not None
    ):
        return alert.problem_key
    return None


def _page_came_back(
    alert: Alert, incident_id: str, store: IncidentStore, enqueue: Enqueue
) -> Correlated:
    who = alert.actor or alert.source.value
    if alert.lifecycle is Lifecycle.ACKNOWLEDGE:
        if (
            store.acknowledge(incident_id, who, via=alert.source.value)["result"]
            is Acted.ACKNOWLEDGED
        ):
            enqueue(incident_id, "acknowledged", "", f"acknowledged in {alert.source}")
        return Correlated(None, Outcome.UPDATED, incident_id, reason=f"acknowledged by {who}")
    if alert.lifecycle is Lifecycle.RESOLVE:
        if (
            store.resolve(incident_id, by=f"{who} via {alert.source}", force=True)
            is Resolution.RESOLVED
        ):
            enqueue(incident_id, "resolved", "", f"resolved in {alert.source}")
        return Correlated(None, Outcome.RESOLVED, incident_id, reason=f"resolved by {who}")
    return Correlated(
        None, Outcome.DUPLICATE, incident_id, reason=f"{alert.source} event about Klaxon's own page"
    )


def decision_for_store(alert: Alert, decision: Decision, ruleset: RuleSet) -> StoreDecision:
    """The rules' decision in the terms the store applies atomically (StoreDecision; one name,
    decision, from the rules to correlate.lua)."""
    default_key = f"{alert.source}:{alert.identity}"
    flapping = decision.flapping
    return StoreDecision(
        severity=decision.severity,
        team=decision.team,
        rule=decision.rule,
        rule_location=decision.rule_location,
        rules_version=decision.rules_version,
        reason=decision.reason,
        dedup_key="" if decision.dedup_key == default_key else decision.dedup_key,
        group_key=decision.group_key
        if any(value.partition("=")[2] for value in decision.group_key.split("|"))
        else "",
        group_window_seconds=decision.group_window_s,
        group_wait_seconds=decision.group_wait_s,
        declare_resolved=decision.declare_resolved,
        quiet_period_seconds=decision.resolve_quiet_s,
        suppressed=decision.suppression.reason if decision.suppression else "",
        inhibited_by=_inhibition_keys(ruleset, decision, side="target"),
        provides_inhibit=_inhibition_keys(ruleset, decision, side="source"),
        # "this many changes make an alert flapping" -> the store's "more than N-1 changes".
        flapping_max_changes=max(flapping.state_changes - 1, 0) if flapping else 0,
        flapping_window_seconds=flapping.window_s if flapping else 0,
        flapping_hold_seconds=flapping.hold_s if flapping else 0,
    )


def _inhibition_keys(ruleset: RuleSet, decision: Decision, side: str) -> tuple[str, ...]:
    """One key per inhibit rule this alert is a source or target of: the rule's name and the
    values of its `equal` labels. An open incident that provides a key inhibits every later
    alert that targets the same key (Alertmanager's inhibit_rules, made one Redis GET)."""
    labels = decision.labels
    return tuple(
        "|".join([rule.name, *(f"{n}={labels.get(n, '')}" for n in rule.equal)])
        for rule in ruleset.inhibit_rules
        if all_match(getattr(rule, side), labels) and inhibit_applies(rule, labels)
    )


def _summary(result: Correlated) -> dict[str, Any]:
    return {
        "alert": result.alert_id,
        "outcome": result.outcome.value,
        "incident": result.incident_id,
    }
