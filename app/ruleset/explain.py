"""Why an alert got its decision: every route in order, whether it matched and if not which
matcher failed, then the decision. The slow, readable twin of classify (no index), which the
tests hold to the same answer."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.models import Alert
from app.ruleset.classify import Decision, decide
from app.ruleset.components import affected_components
from app.ruleset.labels import alert_labels
from app.ruleset.matchers import Labels, Matcher
from app.ruleset.model import Rule, RuleSet
from app.ruleset.services import map_service


@dataclass(frozen=True, slots=True)
class Explanation:
    lines: tuple[str, ...]
    decision: Decision


def explain(alert: Alert, ruleset: RuleSet, now: float) -> Explanation:
    """One trace line per route (tried and matched, tried and why not, or not reached), then
    the decision."""
    labels = alert_labels(alert)
    mapping = map_service(ruleset.services, ruleset.service_names, labels)
    if mapping.service:
        labels["service"] = mapping.service
    lines, matched = _trace(ruleset, labels)
    if ruleset.services:
        lines.insert(
            0, f"service '{alert.service}' is '{mapping.service}' in the catalog ({mapping.how})"
        )
    decision = decide(alert, labels, matched, ruleset, now)
    return Explanation(
        tuple(
            lines
            + _decision_lines(decision, _components(alert, ruleset, mapping.service))
            + _change_lines(mapping.service, decision, ruleset)
        ),
        decision,
    )


def _trace(ruleset: RuleSet, labels: Labels) -> tuple[list[str], list[Rule]]:
    lines: list[str] = []
    matched: list[Rule] = []
    for rule in ruleset.rules:
        where = f"route '{rule.name}' ({rule.location})"
        if matched and not matched[-1].continue_:
            lines.append(f"  - {where}: not tried, '{matched[-1].name}' stopped the walk")
            continue
        failed = _first_failure(rule.matchers, labels)
        if failed:
            lines.append(f"  x {where}: no match, {failed}")
            continue
        matched.append(rule)
        then = "continue" if rule.continue_ else "stop"
        lines.append(f"  + {where}: matched {_matched_text(rule)}; {then}")
    return lines, matched


def _first_failure(matchers: tuple[Matcher, ...], labels: Labels) -> str:
    for matcher in matchers:
        got = labels.get(matcher.field)
        if not matcher.test(got):
            seen = "absent" if got is None else repr(got)
            return f"wanted {matcher.describe()}, alert has {seen}"
    return ""


def _matched_text(rule: Rule) -> str:
    if rule.is_catch_all:
        return "(catch-all)"
    return "(" + ", ".join(m.describe() for m in rule.matchers) + ")"


def _components(alert: Alert, ruleset: RuleSet, service: str) -> str:
    """Which status-page components this alert's service puts its incident on, and why."""
    alert = replace(alert, service=service or alert.service)
    if not alert.service:
        return "none (the alert has no service)"
    found = affected_components(ruleset, [alert.service])
    if not found:
        return f"none (service {alert.service!r} is not under statuspage.components)"
    return f"{', '.join(found)} (service {alert.service!r})"


def _change_lines(service: str, decision: Decision, ruleset: RuleSet) -> list[str]:
    """What rules/ `changes:` would do with the changes to this alert's service (issue 17)."""
    if not service:
        return ["  changes: none looked for (the alert has no service)"]
    policy = ruleset.changes
    lines = [f"  changes: those to {service} in the {policy.window_s}s before onset are suspects"]
    raise_to = policy.raise_to
    if policy.after_release_within_s:
        effects = []
        if raise_to is not None:
            effects.append(
                f"severity {decision.severity} -> {raise_to}"
                if raise_to.rank < decision.severity.rank
                else f"no effect ({decision.severity} is already {raise_to} or worse)"
            )
        if policy.page_author:
            effects.append("its author (an e-mail address) is paged with the on-call")
        effect = "; ".join(effects)
        lines.append(
            f"  changes.after_release ({policy.location}): a change to {service} in the "
            f"{policy.after_release_within_s}s before onset: {effect}"
        )
    return lines


def _decision_lines(decision: Decision, components: str) -> list[str]:
    policy = decision.policy
    lines = [
        f"decision: {decision.reason}",
        f"  severity {decision.severity}: page {policy.page}, statuspage "
        f"{policy.statuspage_impact}/{policy.component_status}, x_post "
        f"{'yes' if policy.x_post else 'no'}",
        f"  statuspage components: {components}",
        f"  team {decision.team or '-'}, page now: {'yes' if decision.page else 'no'}"
        f"{', ignored' if decision.ignored else ''}",
        f"  dedup key {decision.dedup_key}",
        f"  group key {decision.group_key} (window {decision.group_window_s}s, "
        f"wait {decision.group_wait_s}s, resolve quiet {decision.resolve_quiet_s}s)",
        f"  rules version {decision.rules_version}",
    ]
    if decision.suppression:
        lines.append(f"  suppressed: {decision.suppression.reason}")
    return lines
