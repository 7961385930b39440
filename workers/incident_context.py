"""Build the NotificationContext for one incident from what Redis holds now: jobs carry ids,
and load fresh state when they run (a retried job reports the incident as it is)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from app.models import Severity
from app.ruleset import RuleSet
from app.ruleset.components import affected_components
from app.store import keys, replies
from app.store.changes import incident_suspects
from app.store.incidents import IncidentStore, alert_record
from workers.context import MessageEvent, NotificationContext

MAX_ALERTS_IN_CONTEXT = 50  # a message lists a few; the count says how many there are


@dataclass(frozen=True, slots=True)
class LoadedIncident:
    """What one job reads about an incident, in two round trips to Redis.

    incident:    the incident hash as stored (IncidentStore.incident)
    alert_count: how many alerts it has, suppressed ones included
    alerts:      the first MAX_ALERTS_IN_CONTEXT of them as IncidentStore.incident_alerts
                 gives them (sorted ids, suppressed last; `alert` decoded from JSON)
    services:    the service of every alert, in the same order (None when not read)
    """

    incident: dict[str, str]
    alert_count: int
    alerts: list[dict[str, Any]]
    services: tuple[str | None, ...] | None = None


def load_incident(
    connection: redis.Redis, incident_id: str, every_service: bool = False
) -> LoadedIncident | None:
    """The incident and its alerts: the hash and both alert sets in one pipeline, then only
    the alert hashes a message can show in a second (not one read per alert). With
    `every_service` (the rules map services to status-page components), the second pipeline
    also reads the normalised alert of the others, for their services."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.incident(incident_id))
        pipe.smembers(keys.incident_alerts(incident_id))
        pipe.smembers(keys.incident_suppressed(incident_id))
        raw, members, suppressed = pipe.execute()
    if not raw:
        return None
    ids = sorted(replies.members(members)) + sorted(replies.members(suppressed))
    shown, rest = ids[:MAX_ALERTS_IN_CONTEXT], ids[MAX_ALERTS_IN_CONTEXT:] if every_service else []
    alerts: list[dict[str, Any]] = []
    services: list[str | None] = []
    if ids:
        with connection.pipeline(transaction=False) as pipe:
            for alert_id in shown:
                pipe.hgetall(keys.alert(alert_id))
            for alert_id in rest:
                pipe.hget(keys.alert(alert_id), "alert")
            answers = pipe.execute()
        for data in answers[: len(shown)]:
            alert = alert_record(data)  # as IncidentStore.incident_alerts decodes it
            if alert:
                alerts.append(alert)
                services.append((alert["alert"] or {}).get("service"))
        for normalised in answers[len(shown) :]:
            if normalised:
                services.append((json.loads(normalised) or {}).get("service"))
    return LoadedIncident(
        replies.text_hash(raw),
        len(ids),
        alerts,
        tuple(services) if every_service or len(ids) == len(shown) else None,
    )


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
        loaded = load_incident(store.connection, incident_id, every_service)
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
        changes=incident_suspects(store.connection, incident_id),  # issue 17
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
