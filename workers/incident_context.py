"""Build the NotificationContext for one incident from what Redis holds now: jobs carry ids,
and load fresh state when they run (a retried job reports the incident as it is)."""

from __future__ import annotations

from typing import Any

from app.models import Severity
from app.ruleset import RuleSet
from app.ruleset.components import affected_components
from app.store.incidents import IncidentStore
from workers.context import MessageEvent, NotificationContext

MAX_ALERTS_IN_CONTEXT = 50  # a message lists a few; the count says how many there are


def build_context(store: IncidentStore, ruleset: RuleSet, incident_id: str,
                  event: MessageEvent, reason: str, public_url: str, now: float,
                  update: dict[str, Any] | None = None) -> NotificationContext | None:
    incident = store.incident(incident_id)
    if incident is None:
        return None
    alerts = store.incident_alerts(incident_id)
    team = ruleset.teams.get(incident.get("team", ""))
    state = _incident(incident, len(alerts), public_url, now)
    if update:  # the message reports that update, even if a later one is already stored
        state["status"] = update.get("status", state["status"])
    return NotificationContext(
        event=event, reason=reason, incident=state,
        alerts=[_alert(a) for a in alerts[:MAX_ALERTS_IN_CONTEXT]],
        team={"name": incident.get("team", ""), "description": team.description if team else ""},
        policy=_policy(ruleset, incident.get("severity", "SEV3")),
        links={"incident": f"{public_url}/incidents/{incident_id}",
               "status_page": f"{public_url}/status"},
        now=now, update=update, components=_components(ruleset, incident, alerts))


def _incident(data: dict[str, Any], alert_count: int, public_url: str,
              now: float) -> dict[str, Any]:
    created = float(data["created_at"])
    resolved = _time(data.get("resolved_at"))
    return {"id": data["id"], "title": data.get("title", ""), "severity": data["severity"],
            "status": data["status"], "team": data.get("team", ""),
            "service": data.get("service", ""), "environment": data.get("environment", ""),
            "created_at": created, "acknowledged_at": _time(data.get("acknowledged_at")),
            "resolved_at": resolved, "commander": data.get("commander") or None,
            "url": f"{public_url}/incidents/{data['id']}",
            "duration_seconds": (resolved or now) - created, "alert_count": alert_count}


def _alert(data: dict[str, Any]) -> dict[str, Any]:
    alert = data.get("alert") or {}
    return {"id": data["id"], "source": data.get("source", ""), "title": data.get("title", ""),
            "service": alert.get("service") or None, "environment": alert.get("environment"),
            "host": alert.get("host") or None, "source_severity": data.get("source_severity"),
            "status": data.get("status", ""), "count": int(data.get("count") or 0),
            "links": alert.get("links", [])}


def _components(ruleset: RuleSet, incident: dict[str, Any],
                alerts: list[dict[str, Any]]) -> tuple[str, ...]:
    """The components of the incident's service first, then those of every alert's service."""
    services = [incident.get("service")] + [(a.get("alert") or {}).get("service")
                                            for a in alerts]
    return affected_components(ruleset, services)


def _policy(ruleset: RuleSet, severity: str) -> dict[str, Any]:
    policy = ruleset.severities[Severity(severity)]
    return {"page": policy.page.value,
            "statuspage": {"impact": policy.statuspage_impact.value,
                           "component_status": policy.component_status.value},
            "x_post": policy.x_post, "update_every_seconds": policy.update_every_s,
            "postmortem_due_seconds": policy.postmortem_due_s}


def _time(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None
