"""Classify one alert against a compiled RuleSet: severity, team, keys, timers, suppression,
and the rule and rules version that decided it. Pure and in-process; `now` is passed in.

Routes apply in order and the first match without `continue: true` stops the walk; settings
of every matched route are layered, a later route overriding an earlier one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.models import Alert, Severity
from app.ruleset.build import layer
from app.ruleset.labels import alert_labels
from app.ruleset.matchers import Labels, all_match
from app.ruleset.model import (
    FlapPolicy,
    RouteSettings,
    Rule,
    RuleSet,
    SeverityLookup,
    SeverityPolicy,
)
from app.ruleset.policies import (
    Suppression,
    active_silences,
    check_flapping,
    check_inhibition,
    is_in_business_hours,
    silence_suppression,
)
from app.ruleset.services import UNKNOWN, is_blank, spelling_key, with_catalog_service
from app.ruleset.vocabulary import PageMode

DEFAULT_RULE = "defaults"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules say about one alert; the store and the timeline record all of it."""

    severity: Severity
    team: str
    rule: str  # the route that decided, or "defaults"
    rule_location: str  # file:line of that route
    matched_rules: tuple[str, ...]  # every route that matched, in order
    rules_version: str
    severity_reason: str  # e.g. "source_severity=P2 via datadog severity map"
    dedup_key: str
    group_key: str
    group_window_s: int
    group_wait_s: int
    resolve_quiet_s: int
    flapping: FlapPolicy
    policy: SeverityPolicy  # what this severity triggers
    page: bool  # page now (after business hours and silences); False means notify only
    ignored: bool  # a route said ignore: answer "ignored", store nothing
    suppression: Suppression | None  # silence or maintenance; inhibition/flapping are checked
    labels: Mapping[str, str]  # alert labels + team + severity: what inhibition compares
    # Declare (page) an incident even when all its alerts resolved during group_wait.
    declare_resolved: bool = False

    @property
    def reason(self) -> str:
        """One line for the timeline: the route, its file:line, severity and why, the team,
        and whether it pages (built on demand: most decisions are counted, not shown)."""
        source = (
            f"route '{self.rule}' ({self.rule_location})"
            if self.rule_location
            else "no route matched (defaults)"
        )
        action = (
            self.suppression.reason
            if self.suppression
            else ("page" if self.page else "notify only")
        )
        return (
            f"{source}: {self.severity} ({self.severity_reason}), team {self.team or '-'}; {action}"
        )


def classify(alert: Alert, ruleset: RuleSet, now: float) -> Decision:
    """The decision for one alert at `now` (seconds since the epoch)."""
    labels = with_catalog_service(alert_labels(alert), ruleset.services, ruleset.service_names)
    matched = _matching_rules(ruleset, labels)
    return decide(alert, labels, matched, ruleset, now)


def _matching_rules(ruleset: RuleSet, labels: Labels) -> list[Rule]:
    matched = []
    for position in ruleset.index.candidates(labels):
        rule = ruleset.rules[position]
        if all_match(rule.matchers, labels):
            matched.append(rule)
            if not rule.continue_:
                break
    return matched


def decide(
    alert: Alert, labels: dict[str, str], matched: Sequence[Rule], ruleset: RuleSet, now: float
) -> Decision:
    """The decision given the routes that matched (shared by classify and explain)."""
    settings = _settings(ruleset, matched)
    # A catalog service is owned by its team whatever route matched (so one service's alerts
    # from every vendor share a team, and a group key); routes decide for the rest.
    catalog = ruleset.services.get(labels.get("service", ""))
    team = (catalog.team if catalog else "") or settings.team or ""
    severity, why = _severity(ruleset, matched, labels, alert.source)
    labels = labels | {"team": team, "severity": severity.value}
    silences = active_silences(ruleset, labels, now)
    suppression = silence_suppression(silences[0]) if silences else None
    policy = ruleset.severities[severity]
    page = not settings.ignore and suppression is None and _pages(policy, ruleset, team, now)
    deciding = matched[-1] if matched else None
    return Decision(
        severity,
        team,
        deciding.name if deciding else DEFAULT_RULE,
        str(deciding.location) if deciding else "",
        tuple(r.name for r in matched),
        str(ruleset.version),
        why,
        _dedup_key(settings, labels, alert),
        _group_key(settings, labels, _dedup_key(settings, labels, alert), alert),
        settings.group_window_s or 0,
        settings.group_wait_s or 0,
        settings.resolve_quiet_s or 0,
        settings.flapping or ruleset.defaults.flapping or NO_FLAPPING,
        policy,
        page,
        bool(settings.ignore),
        suppression,
        labels,
        bool(settings.declare_resolved),
    )


# What an alert gets when neither a route nor the defaults set flapping: never reached.
NO_FLAPPING = FlapPolicy(1_000_000, 1, 0)


def _settings(ruleset: RuleSet, matched: Sequence[Rule]) -> RouteSettings:
    if not matched:
        return ruleset.defaults
    key = tuple(rule.position for rule in matched)
    # Layering is the same for the same matched routes; memoise it off the hot path.
    cached = ruleset.settings_cache.get(key)
    if cached is None:
        cached = ruleset.defaults
        for rule in matched:
            cached = layer(cached, rule.settings)
        ruleset.settings_cache[key] = cached
    return cached


def _severity(
    ruleset: RuleSet, matched: Sequence[Rule], labels: Labels, source: str
) -> tuple[Severity, str]:
    """The severity and why: a route's fixed severity or its map (later routes first), then
    the source's map, then the default."""
    for rule in reversed(matched):
        if rule.settings.severity is not None:
            return rule.settings.severity, f"fixed by route '{rule.name}'"
        found = _lookup(rule.settings.severity_map or (), labels)
        if found:
            return found[0], f"{found[1]} via route '{rule.name}' severity_map"
    found = _lookup(ruleset.severity_maps.get(source, ()), labels)
    if found:
        return found[0], f"{found[1]} via {source} severity map"
    fallback = ruleset.defaults.severity or Severity.SEV3
    return fallback, "default severity"


def _lookup(lookups: Sequence[SeverityLookup], labels: Labels) -> tuple[Severity, str] | None:
    for lookup in lookups:
        value = labels.get(lookup.field)
        if value is not None and value in lookup.values:
            return lookup.values[value], f"{lookup.field}={value}"
    return None


def _pages(policy: SeverityPolicy, ruleset: RuleSet, team: str, now: float) -> bool:
    if policy.page is PageMode.NOW:
        return True
    if policy.page is PageMode.NEVER or team not in ruleset.teams:
        return False
    return is_in_business_hours(ruleset.teams[team], now)


def _dedup_key(settings: RouteSettings, labels: Labels, alert: Alert) -> str:
    rendered = settings.dedup_key.render(labels) if settings.dedup_key else None
    return rendered if rendered is not None else f"{alert.source}:{alert.identity}"


def _group_key(settings: RouteSettings, labels: Labels, dedup_key: str, alert: Alert) -> str:
    names = settings.group_by or ()
    values = {name: labels.get(name, "") for name in names}
    if values.get("service") == UNKNOWN and alert.service:
        # A service the catalog does not know groups only with the same name from the same
        # source: "api" from Datadog and "api" from Sentry may be two different things.
        values["service"] = f"{UNKNOWN}:{alert.source.value}:{spelling_key(alert.service)}"
    key = "|".join(f"{name}={value}" for name, value in values.items())
    if settings.group_by_empty or not any(is_blank(n, v) for n, v in values.items()):
        return key
    # No matching on nothing: an alert missing a group_by label (no service, say) would share
    # one catch-all incident with every such alert from every vendor. It groups only with
    # itself (its re-fires within the window) unless the route sets group_by_empty.
    return f"{key}|alert={dedup_key}"


def suppression_for(
    decision: Decision,
    ruleset: RuleSet,
    now: float,
    open_incidents: Iterable[Mapping[str, str]] = (),
    state_changes: Sequence[float] = (),
) -> Suppression | None:
    """Why this alert must not page, if anything: a silence or maintenance window, then an
    inhibiting open incident (each given by its labels), then flapping (the alert's recent
    state-change times)."""
    return (
        decision.suppression
        or check_inhibition(ruleset, decision.labels, open_incidents)
        or check_flapping(decision.flapping, state_changes, now)
    )
