"""When the next status update is due: the one computation the update reminder
(workers/incident_timers.py) and the incident page's header both use, so the page never
promises a different time than the reminder keeps. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from app.models import Severity
from app.ruleset import RuleSet


def update_interval(ruleset: RuleSet | None, severity: str) -> int | None:
    """Seconds between status updates the severity's policy asks for (None: no rhythm)."""
    if ruleset is None or severity not in {s.value for s in Severity}:
        return None
    policy = ruleset.severities.get(Severity(severity))
    return policy.update_every_s if policy is not None and policy.update_every_s else None


def last_update_at(incident: Mapping[str, str], default: float) -> float:
    """The last status update, else when responders were told (declared), else `default`."""
    return float(incident.get("last_update_at") or incident.get("declared_at") or default)


def next_update_due(incident: Mapping[str, str], ruleset: RuleSet | None) -> float | None:
    """The time the commander is reminded if no update is posted before it; None when the
    incident is resolved, not yet declared, or its severity has no update rhythm."""
    if incident.get("status") in (None, "", "resolved") or not incident.get("declared_at"):
        return None
    every = update_interval(ruleset, incident.get("severity", ""))
    if every is None:
        return None
    return last_update_at(incident, 0.0) + every
