"""Pure checks that decide whether an alert is paged: business hours, silences and maintenance
windows, inhibition by open incidents, flapping. No IO; callers pass `now` and plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.ruleset.matchers import Labels, all_match
from app.ruleset.model import FlapPolicy, InhibitRule, RuleSet, Silence, Team
from app.ruleset.services import is_blank
from app.ruleset.vocabulary import SilenceKind, Suppressed


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why an alert is recorded on its incident but not paged."""

    kind: Suppressed
    name: str  # the silence, inhibit rule, or "flapping"
    reason: str  # one line for the timeline
    until: float | None = None  # when the suppression lapses, if known


def is_in_business_hours(team: Team, now: float) -> bool:
    """True inside the team's business hours; a team without business hours is always in."""
    return team.business_hours is None or team.business_hours.contains(now)


def silence_is_active(silence: Silence, now: float) -> bool:
    if silence.starts_at is not None and now < silence.starts_at:
        return False
    if silence.ends_at is not None and now >= silence.ends_at:
        return False
    return silence.recurring is None or silence.recurring.contains(now)


def active_silences(ruleset: RuleSet, labels: Labels, now: float) -> list[Silence]:
    """Silences and maintenance windows that cover these labels at `now`, in file order."""
    return [
        s for s in ruleset.silences if all_match(s.matchers, labels) and silence_is_active(s, now)
    ]


def silence_suppression(silence: Silence) -> Suppression:
    kind = Suppressed.MAINTENANCE if silence.kind is SilenceKind.MAINTENANCE else Suppressed.SILENCE
    why = f": {silence.comment}" if silence.comment else ""
    return Suppression(
        kind, silence.name, f"{kind} '{silence.name}' ({silence.location}){why}", silence.ends_at
    )


def check_inhibition(
    ruleset: RuleSet, labels: Labels, open_incidents: Iterable[Mapping[str, str]]
) -> Suppression | None:
    """The first inhibit rule under which an open incident mutes an alert with these labels.

    `labels` is Decision.labels of the new alert; each open incident is given by the labels
    recorded when it opened (its Decision.labels) with "severity" kept at its current level.
    """
    targets = [r for r in ruleset.inhibit_rules if all_match(r.target, labels)]
    if not targets:
        return None
    incidents = list(open_incidents)
    for rule in targets:
        for incident in incidents:
            if all_match(rule.source, incident) and _equal(rule, labels, incident):
                return Suppression(
                    Suppressed.INHIBITED, rule.name, _inhibit_reason(rule, labels, incident)
                )
    return None


def inhibit_applies(rule: InhibitRule, labels: Mapping[str, str]) -> bool:
    """Whether these labels can take part in the rule at all: every `equal` label has a
    value, unless the rule sets equal_empty. Unlike Alertmanager, empty is not equal to empty:
    an open SEV1 without a service must not mute every service's minor alerts."""
    return rule.equal_empty or not any(is_blank(name, labels.get(name)) for name in rule.equal)


def _equal(rule: InhibitRule, labels: Labels, incident: Mapping[str, str]) -> bool:
    return (
        inhibit_applies(rule, labels)
        and inhibit_applies(rule, incident)
        and all(labels.get(name, "") == incident.get(name, "") for name in rule.equal)
    )


def _inhibit_reason(rule: InhibitRule, labels: Labels, incident: Mapping[str, str]) -> str:
    shared = ", ".join(f"{n}={labels.get(n, '')}" for n in rule.equal) or "no labels"
    return (
        f"inhibited by '{rule.name}' ({rule.location}): an open "
        f"{incident.get('severity', '?')} incident shares {shared}"
    )


def check_flapping(
    policy: FlapPolicy, state_changes: Sequence[float], now: float
) -> Suppression | None:
    """Flapping when at least `policy.state_changes` changes happened inside the window; the
    alert's notifications are held until it has been quiet for `policy.hold_s`."""
    recent = [t for t in state_changes if now - policy.window_s < t <= now]
    if len(recent) < policy.state_changes:
        return None
    until = max(recent) + policy.hold_s
    return Suppression(
        Suppressed.FLAPPING,
        "flapping",
        f"flapping: {len(recent)} state changes in {span(policy.window_s)} "
        f"(limit {policy.state_changes}); notifications held until quiet for "
        f"{span(policy.hold_s)}",
        until,
    )


def span(seconds: int) -> str:
    """A duration as the rules write it: "30m", "1h", "90s"."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
