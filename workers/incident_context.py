"""Build the NotificationContext for one incident from what Redis holds now: jobs carry ids,
and load fresh state when they run (a retried job reports the incident as it is)."""

from __future__ import annotations

from typing import Any

from app.messages.context import MessageEvent, NotificationContext
from app.models import Severity
from app.ruleset import RuleSet
from app.ruleset.components import affected_components
from app.store.incidents import IncidentStore, LoadedIncident

MAX_ALERTS_IN_CONTEXT = 50  # a message lists a few; the count says how many there are


def build_context(
    store: IncidentStore,
    ruleset: RuleSet,
    incident_id: str,
    event: MessageEvent,
    reason: str,
    public_url: str,
    now: float,
    update: dict[str, Any] | None = None,
    loaded: LoadedIncident | None = None,
) -> NotificationContext | None:
    """The context for one message; `loaded` is what the job already read (load_incident)."""
    every_service = bool(ruleset.statuspage_components)
    if loaded is None or (every_service and loaded.services is None):
        loaded = store.load(incident_id, MAX_ALERTS_IN_CONTEXT, every_service)
    if loaded is None:
        return None
    incident, alerts = loaded.incident, loaded.alerts
    team = ruleset.teams.get(incident.get("team", ""))
    state = _incident(incident, loaded.alert_count, public_url, now)
    if update:  # the message reports that update, even if a later one is already stored
        state["status"] = update.get("status", state["status"])
    return NotificationContext(
        event=event,
        reason=reason,
        incident=state,
        alerts=[_alert(a) for a in alerts[:MAX_ALERTS_IN_CONTEXT]],
        team={"name": incident.get("team", ""), "description": team.description if team else ""},
        policy=_policy(ruleset, incident.get("severity", "SEV3")),
        links={
            "incident": f"{public_url}/incidents/{incident_id}",
            "status_page": f"{public_url}/status",
        },
        now=now,
        update=update,
        components=_components(ruleset, incident, loaded),
        public_service=_public_service(ruleset, incident),
    )


def _public_service(ruleset: RuleSet, incident: dict[str, Any]) -> str:
    service = str(incident.get("service") or "")
    return service if service in ruleset.statuspage_components else ""


def _incident(
    data: dict[str, Any], alert_count: int, public_url: str, now: float
) -> dict[str, Any]:
    created = float(data["created_at"])
    resolved = _time(data.get("resolved_at"))
    return {
        "id": data["id"],
        "title": data.get("title", ""),
        "severity": data["severity"],
        "status": data["status"],
        "team": data.get("team", ""),
        "service": data.get("service", ""),
        "environment": data.get("environment", ""),
        "created_at": created,
        "acknowledged_at": _time(data.get("acknowledged_at")),
        "resolved_at": resolved,
        "commander": data.get("commander") or None,
        "url": f"{public_url}/incidents/{data['id']}",
        "duration_seconds": (resolved or now) - created,
        "alert_count": alert_count,
    }


def _alert(data: dict[str, Any]) -> dict[str, Any]:
    alert = data.get("alert") or {}
    return {
        "id": data["id"],
        "source": data.get("source", ""),
        "title": data.get("title", ""),
        "service": alert.get("service") or None,
        "environment": alert.get("environment"),
        "host": alert.get("host") or None,
        "source_severity": data.get("source_severity"),
        "status": data.get("status", ""),
        "count": int(data.get("count") or 0),
        "links": alert.get("links", []),
    }


def _components(
    ruleset: RuleSet, incident: dict[str, Any], loaded: LoadedIncident
) -> tuple[str, ...]:
    """The components of the incident's service first, then those of every alert's service."""
    if not ruleset.statuspage_components or loaded.services is None:
        return ()
    return affected_components(ruleset, [incident.get("service"), *loaded.services])


def _policy(ruleset: RuleSet, severity: str) -> dict[str, Any]:
    policy = ruleset.severities[Severity(severity)]
    return {
        "page": policy.page.value,
        "statuspage": {
            "impact": policy.statuspage_impact.value,
            "component_status": policy.component_status.value,
        },
        "x_post": policy.x_post,
        "update_every_seconds": policy.update_every_s,
        "postmortem_due_seconds": policy.postmortem_due_s,
    }


def _time(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None
