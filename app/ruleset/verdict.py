"""What the rules do with one alert, field by field, as text a reviewer reads: the view
`klaxon rules diff` compares between two rule sets. No IO; `now` is passed in.

Values are strings so two verdicts compare with `==`, and nothing in them depends on where a
rule set was loaded from (the rules version always differs; file paths differ by checkout),
except the deciding route's location, kept apart so a route that only moved is told apart
from one whose decision changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.models import Alert
from app.ruleset.classify import NO_FLAPPING, Decision, classify, suppression_for
from app.ruleset.components import affected_components
from app.ruleset.matchers import all_match
from app.ruleset.model import FlapPolicy, InhibitRule, Location, RuleSet, SeverityPolicy, Team
from app.ruleset.policies import Suppression, inhibit_applies, span
from app.ruleset.vocabulary import StatuspageImpact, Suppressed

# Every field a verdict has, in the order a report lists them. The names are explain's and
# the rule tests' words where those have one (outcome, suppressed, dedup key, ...).
FIELDS = (
    "outcome",
    "severity",
    "severity reason",
    "team",
    "route",
    "matched routes",
    "page mode",
    "page now",
    "notify",
    "suppressed",
    "statuspage",
    "statuspage components",
    "x_post",
    "update every",
    "postmortem due",
    "dedup key",
    "group key",
    "group window",
    "group wait",
    "resolve quiet",
    "flapping",
    "inhibit source",
    "inhibit target",
)
NONE = "-"


@dataclass(frozen=True, slots=True)
class Verdict:
    values: Mapping[str, str]  # every name in FIELDS -> its value
    route_location: str  # the deciding route's file:line inside its rules directory; "" if none

    def show(self, name: str) -> str:
        """The value as a report prints it: the route with its file:line."""
        value = self.values[name]
        if name == "route" and self.route_location:
            return f"{value} ({self.route_location})"
        return value


def verdict(
    alert: Alert,
    ruleset: RuleSet,
    now: float,
    open_incidents: Iterable[Mapping[str, str]] = (),
    state_changes: Sequence[float] = (),
) -> Verdict:
    """The verdict on `alert` at `now`; open incidents and state changes, when given, are the
    scenario inhibition and flapping are judged in (a rule test's)."""
    decision = classify(alert, ruleset, now)
    suppression = suppression_for(decision, ruleset, now, open_incidents, state_changes)
    policy = decision.policy
    outcome = "ignored" if decision.ignored else "suppressed" if suppression else "new"
    page_now = decision.page and suppression is None
    notify = (
        declaration_channels(policy, ruleset.teams.get(decision.team), alert.source, page_now)
        if outcome == "new"
        else ()
    )
    labels = decision.labels
    values = {
        "outcome": outcome,
        "severity": decision.severity.value,
        "severity reason": decision.severity_reason,
        "team": decision.team or NONE,
        "route": decision.rule,
        "matched routes": ", ".join(decision.matched_rules) or NONE,
        "page mode": policy.page.value,
        "page now": _yes(page_now),
        "notify": ", ".join(notify) or "none",
        "suppressed": _suppression(suppression),
        "statuspage": f"{policy.statuspage_impact}/{policy.component_status}",
        "statuspage components": ", ".join(affected_components(ruleset, [alert.service])) or NONE,
        "x_post": _yes(policy.x_post),
        "update every": span(policy.update_every_s)
        if policy.update_every_s
        else "when there is news",
        "postmortem due": span(policy.postmortem_due_s)
        if policy.postmortem_due_s
        else "not required",
        "dedup key": decision.dedup_key,
        "group key": decision.group_key or NONE,
        "group window": span(decision.group_window_s),
        "group wait": span(decision.group_wait_s),
        "resolve quiet": span(decision.resolve_quiet_s),
        "flapping": _flapping(decision.flapping),
        "inhibit source": _inhibit_rules(ruleset.inhibit_rules, labels, "source"),
        "inhibit target": _inhibit_rules(ruleset.inhibit_rules, labels, "target"),
    }
    return Verdict(values, _route_location(decision, ruleset))


def declaration_channels(
    policy: SeverityPolicy, team: Team | None, source: str, pages: bool
) -> tuple[str, ...]:
    """The channels told when the incident this alert opens is declared: what
    workers/outbound.py's wanted_channels answers for a new incident (the tests hold the two
    to the same answer). A pager is not paged about a problem that came from it."""
    channels = []
    if team and team.routing_key_env and source != "pagerduty" and pages:
        channels.append("pagerduty")
    if team and (team.opsgenie_team or team.responders) and source != "opsgenie" and pages:
        channels.append("opsgenie")
    if policy.statuspage_impact is not StatuspageImpact.NONE:
        channels.append("statuspage")
    if policy.x_post:
        channels.append("x")
    if policy.statuspage_impact is not StatuspageImpact.NONE:
        channels.append("subscribers")  # the status page's webhook subscribers hear it too
    return tuple(channels)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _suppression(suppression: Suppression | None) -> str:
    # By kind and name, not Suppression.reason: the reason carries the silence's file path.
    if suppression is None:
        return "no"
    if suppression.kind is Suppressed.FLAPPING:
        return "flapping"
    if suppression.kind is Suppressed.INHIBITED:
        return f"inhibited by '{suppression.name}'"
    until = f" until {iso(suppression.until)}" if suppression.until is not None else ""
    return f"{suppression.kind} '{suppression.name}'{until}"


def _flapping(policy: FlapPolicy) -> str:
    if policy == NO_FLAPPING:
        return "off"
    return (
        f"{policy.state_changes} state changes in {span(policy.window_s)}, "
        f"hold {span(policy.hold_s)}"
    )


def _inhibit_rules(rules: Sequence[InhibitRule], labels: Mapping[str, str], side: str) -> str:
    """The inhibit rules this alert is a source (its open incident mutes others) or a target
    (an open incident may mute it) of, each with the values of its `equal` labels: the key
    app/pipeline.py stores, in words."""
    found = []
    for rule in rules:
        if all_match(getattr(rule, side), labels) and inhibit_applies(rule, labels):
            equal = ", ".join(f"{name}={labels.get(name, '')}" for name in rule.equal)
            found.append(f"{rule.name} ({equal})" if equal else rule.name)
    return "; ".join(found) or NONE


def _route_location(decision: Decision, ruleset: RuleSet) -> str:
    for rule in ruleset.rules:
        if rule.name == decision.rule:
            return relative_location(rule.location, ruleset.directory)
    return ""  # defaults: no route decided


def relative_location(location: Location, directory: str) -> str:
    """file:line with the file relative to the rules directory, so `routes.yml:46` in a base
    checkout and in the working tree compare equal."""
    root = Path(directory)
    file = Path(location.file)
    name = (
        file.name
        if root.is_file() or not file.is_relative_to(root)
        else file.relative_to(root).as_posix()
    )
    return f"{name}:{location.line}"


def iso(timestamp: float) -> str:
    """An instant as ISO 8601 in UTC, `2026-03-14T09:14:00Z`."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
