"""A story replayed in process under one rule set, for `klaxon rules diff`: the same counts the
story test measures over HTTP (app/ruleset/stories.py score), from a small model of what the
store and the workers do with the rules' decisions. Pure; no Redis.

The model follows correlate.lua, declare.lua and the notify job in what decides the counts:
deduplication on the dedup key, grouping on the group key within the group window, inhibition
by open incidents, a declaration at group_wait unless every alert already resolved (unless
declare_resolved), the merge of a declared incident into an earlier open one on the same
public component (undone for a child still firing when its parent resolves), a page when the severity pages and no alert came from a pager (PagerDuty,
Opsgenie: their own page), a public incident when the severity's Statuspage impact is not
none, and resolution after resolve_quiet. tests/test_stories.py holds both to the same
result on the shipped rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.models import Alert, Lifecycle
from app.ruleset.classify import Decision, classify, suppression_for
from app.ruleset.components import affected_components
from app.ruleset.labels import alert_labels
from app.ruleset.model import RuleSet
from app.ruleset.services import UNKNOWN, map_service
from app.ruleset.stories import Delivered, Score, Story, score
from app.ruleset.vocabulary import StatuspageImpact

PAGERS = {"pagerduty", "opsgenie"}


@dataclass
class _Incident:
    id: str
    group_key: str
    opened_at: float
    declare_at: float
    window_s: float
    quiet_s: float
    declare_resolved: bool
    decision: Decision  # the first alert's: labels for inhibition, severity policy, page
    alerts: dict[str, bool] = field(default_factory=dict)  # dedup key -> firing
    services: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    last_alert_at: float = 0.0
    declared: bool = False
    quiet: bool = False  # over before it was declared
    resolved: bool = False
    resolve_at: float | None = None
    merged_into: str = ""


@dataclass
class _Replay:
    ruleset: RuleSet
    incidents: dict[str, _Incident] = field(default_factory=dict)
    alert_incident: dict[str, str] = field(default_factory=dict)
    deliveries: set[tuple[str, str]] = field(default_factory=set)
    paged: set[str] = field(default_factory=set)
    public: set[str] = field(default_factory=set)

    def run_timers(self, now: float) -> None:
        for incident in sorted(self.incidents.values(), key=lambda i: i.opened_at):
            if not incident.declared and not incident.quiet and incident.declare_at <= now:
                self._declare(incident)
            if incident.resolve_at is not None and incident.resolve_at <= now:
                incident.resolved, incident.resolve_at = True, None
                self._release_children(incident)

    def _release_children(self, parent: _Incident) -> None:
        """A child still firing when its parent resolves speaks for itself (app/merging.py)."""
        for child in self.incidents.values():
            if child.merged_into == parent.id and not child.resolved and any(child.alerts.values()):
                child.merged_into = ""
                self._merge_or_tell(child)

    def _declare(self, incident: _Incident) -> None:
        if not any(incident.alerts.values()) and not incident.declare_resolved:
            incident.quiet = True  # resolved before declared: nobody is told
            return
        incident.declared = True
        self._merge_or_tell(incident)

    def _merge_or_tell(self, incident: _Incident) -> None:
        mine = self._components(incident)
        for other in sorted(self.incidents.values(), key=lambda i: i.opened_at):
            if (
                other is not incident
                and other.declared
                and not other.resolved
                and not other.merged_into
                and other.opened_at < incident.opened_at
                and mine & self._components(other)
            ):
                incident.merged_into = other.id
                return
        decision = incident.decision
        # An alert from PagerDuty or Opsgenie is that pager's own page (the workers do not
        # page it there again); otherwise Klaxon pages when the severity says so.
        if decision.page or incident.sources & PAGERS:
            self.paged.add(incident.id)
        if decision.policy.statuspage_impact is not StatuspageImpact.NONE:
            self.public.add(incident.id)

    def _components(self, incident: _Incident) -> set[str]:
        return set(affected_components(self.ruleset, incident.services))

    def ingest(self, alert: Alert, now: float) -> tuple[str, str | None]:
        if (alert.source.value, alert.delivery_id) in self.deliveries:
            return "duplicate", self.alert_incident.get(alert.identity)
        mapped = map_service(self.ruleset.services, self.ruleset.service_names, alert_labels(alert))
        if mapped.service not in (alert.service, UNKNOWN):
            alert = replace(alert, service=mapped.service)
        decision = classify(alert, self.ruleset, now)
        if decision.ignored:
            return "ignored", None
        key = decision.dedup_key
        firing = alert.lifecycle is not Lifecycle.RESOLVE
        known = self.incidents.get(self.alert_incident.get(key, ""))
        if known is not None and not known.resolved:
            was = known.alerts.get(key)
            known.alerts[key] = firing
            self._after_change(known, now)
            if was == firing:
                return "duplicate", known.id
            return ("resolved" if not firing else "updated"), known.id
        if not firing:
            return "ignored", None  # a resolve for an alert Klaxon never saw open
        # Inhibition from an incident's opening (correlate.lua), until it resolves or stays quiet.
        open_ = [i for i in self.incidents.values() if not i.resolved and not i.quiet]
        labels = [dict(i.decision.labels) for i in open_]
        suppressed = suppression_for(decision, self.ruleset, now, labels)
        incident = self._group(decision, now)
        outcome = "grouped"
        if incident is None:
            incident = self._open(decision, now)
            outcome = "new"
        incident.alerts[key] = True
        incident.services.add(alert.service)
        incident.sources.add(alert.source.value)
        incident.last_alert_at = now
        self.alert_incident[key] = incident.id
        self._after_change(incident, now)
        return ("suppressed" if suppressed else outcome), incident.id

    def _group(self, decision: Decision, now: float) -> _Incident | None:
        if not decision.group_key or decision.group_key.partition("|alert=")[2]:
            return None
        for incident in self.incidents.values():
            if (
                incident.group_key == decision.group_key
                and not incident.resolved
                and now - incident.last_alert_at <= incident.window_s
            ):
                return incident
        return None

    def _open(self, decision: Decision, now: float) -> _Incident:
        number = f"STORY-{len(self.incidents) + 1}"
        incident = _Incident(
            number,
            decision.group_key,
            now,
            now + decision.group_wait_s,
            decision.group_window_s,
            decision.resolve_quiet_s,
            decision.declare_resolved,
            decision,
        )
        self.incidents[number] = incident
        return incident

    def _after_change(self, incident: _Incident, now: float) -> None:
        firing = any(incident.alerts.values())
        incident.resolve_at = None if firing else now + incident.quiet_s


def replay_story(story: Story, ruleset: RuleSet, alerts_of: dict[int, list[Alert]]) -> Score:
    """The story's counts under `ruleset`; alerts_of maps each event's index to the alerts its
    source's parser read from it (parsed once, shared by both rule sets)."""
    model = _Replay(ruleset)
    delivered = []
    for index, event in enumerate(story.events):
        now = story.starts_at + event.at
        model.run_timers(now)
        outcomes = []
        for alert in alerts_of[index]:
            outcomes.append(model.ingest(alert, now))
            model.deliveries.add((alert.source.value, alert.delivery_id))
        delivered.append(Delivered(event, tuple(outcomes)))
    end = story.starts_at + (story.events[-1].at if story.events else 0) + story.runs_for
    step = story.starts_at
    while step < end:
        step = min(end, step + 30)
        model.run_timers(step)
    parents = {i.id: i.merged_into for i in model.incidents.values() if i.merged_into}
    return score(story, delivered, parents, model.paged, model.public)
