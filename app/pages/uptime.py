"""Ninety days of uptime per public component, computed from incident history: the bars under
each component on the status page, with each day's downtime (Statuspage's "uptime showcase",
driven by incidents instead of monitors). Pure: a function of the incidents' outages and of
the clock, so tests drive it on the virtual clock.

A public incident (app/pages/status.py's test: its severity's policy has a Statuspage impact,
not a drill) puts its component in the policy's component status from when it opened until
it resolved (or now). Overlapping outages of one component count once, at the worst status.
The uptime percentage weighs a partial outage at 30% of a major one and degraded performance
not at all, the weighting Statuspage's and Instatus's uptime displays describe. Days before the
history Klaxon keeps (KLAXON_RETENTION_DAYS) say "no data" rather than claim a clean day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.drill import is_drill_incident
from app.messages.public_guard import Known
from app.messages.wording import duration
from app.models import Severity
from app.pages.status import ORDER, public_component
from app.ruleset import RuleSet
from app.ruleset.vocabulary import ComponentStatus, StatuspageImpact

DAY = 24 * 3600
DAYS = 90
PARTIAL_WEIGHT = 0.3
DOWN = (
    ComponentStatus.MAJOR_OUTAGE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.DEGRADED_PERFORMANCE,
)
WORDS = {
    ComponentStatus.MAJOR_OUTAGE: "major outage",
    ComponentStatus.PARTIAL_OUTAGE: "partial outage",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded performance",
}


@dataclass(frozen=True, slots=True)
class Outage:
    component: str
    status: ComponentStatus  # one of DOWN
    start: float
    end: float | None  # None while the incident is open


@dataclass(frozen=True, slots=True)
class UptimeDay:
    start: float  # 00:00 UTC
    seconds: Mapping[ComponentStatus, float]  # time in each of DOWN that day
    recorded: bool = True  # False: before the history kept

    @property
    def status(self) -> str:
        """The day's worst status, "operational", or "no-data"."""
        if not self.recorded:
            return "no-data"
        return next((str(s) for s in DOWN if self.seconds.get(s)), "operational")

    @property
    def summary(self) -> str:
        """What hovering or tapping the day says: "Sat 14 Mar 2026: major outage 40m"."""
        day = datetime.fromtimestamp(self.start, tz=UTC).strftime("%a %d %b %Y")
        if not self.recorded:
            return f"{day}: no data"
        parts = [f"{WORDS[s]} {duration(self.seconds[s])}" for s in DOWN if self.seconds.get(s)]
        return f"{day}: " + (", ".join(parts) if parts else "no downtime")


@dataclass(frozen=True, slots=True)
class Uptime:
    component: str
    days: tuple[UptimeDay, ...]  # oldest first; the last is today, up to now
    measured_seconds: float  # recorded time in the window (today only up to now)

    @property
    def percent(self) -> float:
        """Uptime over the recorded days: 100 less major and 30% of partial outage time."""
        if self.measured_seconds <= 0:
            return 100.0
        down = sum(
            d.seconds.get(ComponentStatus.MAJOR_OUTAGE, 0.0)
            + PARTIAL_WEIGHT * d.seconds.get(ComponentStatus.PARTIAL_OUTAGE, 0.0)
            for d in self.days
        )
        return max(0.0, 100.0 * (1 - down / self.measured_seconds))

    @property
    def percent_text(self) -> str:
        """Two decimals, cut rather than rounded: never a perfect 100 that was not."""
        return f"{int(self.percent * 100) / 100:.2f}"


def outages(incidents: Iterable[Mapping[str, Any]], ruleset: RuleSet) -> list[Outage]:
    """The public outages among incident hashes (those the status page shows)."""
    found = []
    names: dict[str, str] = {}  # service -> component: the guard's scan once per service
    for incident in incidents:
        severity = incident.get("severity", "")
        if severity not in {s.value for s in Severity} or not incident.get("created_at"):
            continue
        policy = ruleset.severities.get(Severity(severity))
        if (
            policy is None
            or policy.statuspage_impact is StatuspageImpact.NONE
            or policy.component_status not in DOWN
            or is_drill_incident(dict(incident))
        ):
            continue
        resolved = incident.get("resolved_at")
        found.append(
            Outage(
                _component(names, ruleset, incident.get("service", "")),
                policy.component_status,
                float(incident["created_at"]),
                float(resolved) if resolved else None,
            )
        )
    return found


def _component(names: dict[str, str], ruleset: RuleSet, service: str) -> str:
    if service not in names:
        names[service] = public_component(ruleset, service, Known())
    return names[service]


def uptime(
    all_outages: Iterable[Outage],
    components: Iterable[str],
    now: float,
    kept_since: float | None = None,
    days: int = DAYS,
) -> dict[str, Uptime]:
    """Each component's last `days` UTC days (today last), from its outages; `kept_since`:
    the oldest time incident history still covers (days wholly before it have no data)."""
    today = now // DAY * DAY
    first = today - (days - 1) * DAY
    by_component: dict[str, list[tuple[float, float, ComponentStatus]]] = {}
    for outage in all_outages:
        end = now if outage.end is None else min(outage.end, now)
        if end > first and outage.start < now:
            by_component.setdefault(outage.component, []).append((outage.start, end, outage.status))
    result = {}
    for name in dict.fromkeys([*components, *by_component]):
        by_day = _by_day(by_component.get(name, []), first, days)
        history, measured = [], 0.0
        for n in range(days):
            start = first + n * DAY
            end = min(start + DAY, now)
            recorded = kept_since is None or end > kept_since
            low = max(start, kept_since or start)
            seconds = _worst_seconds(by_day.get(n, []), low, end) if recorded else {}
            measured += max(0.0, end - low) if recorded else 0.0
            history.append(UptimeDay(start, seconds, recorded))
        result[name] = Uptime(name, tuple(history), measured)
    return result


def _by_day(
    spans: list[tuple[float, float, ComponentStatus]], first: float, days: int
) -> dict[int, list[tuple[float, float, ComponentStatus]]]:
    """Each span under every day (0 = `first`) it touches: a day looks only at its own."""
    found: dict[int, list[tuple[float, float, ComponentStatus]]] = {}
    for span in spans:
        start_day = max(0, int((span[0] - first) // DAY))
        end_day = min(days - 1, int((span[1] - first) // DAY))
        for n in range(start_day, end_day + 1):
            found.setdefault(n, []).append(span)
    return found


def _worst_seconds(
    spans: list[tuple[float, float, ComponentStatus]], low: float, high: float
) -> dict[ComponentStatus, float]:
    """Seconds of [low, high) spent in each status, each moment counted once at its worst."""
    inside = [(max(s, low), min(e, high), st) for s, e, st in spans if s < high and e > low]
    if not inside:
        return {}
    edges = sorted({low, high, *(t for s, e, _ in inside for t in (s, e))})
    totals: dict[ComponentStatus, float] = {}
    for a, b in zip(edges, edges[1:], strict=False):
        covering = [st for s, e, st in inside if s < b and e > a]
        if covering:
            worst = min(covering, key=ORDER.index)
            totals[worst] = totals.get(worst, 0.0) + (b - a)
    return totals
