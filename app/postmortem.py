"""The post-mortem draft: templates/postmortem/postmortem.md.j2 rendered from what Redis holds
about one incident (its hash, alerts and timeline), with the facts filled in and placeholders
for what only people can write (root cause, what went well, action items).

Rendered in a sandbox with StrictUndefined, like the channel templates (app/messages/render.py):
the templates directory is configuration a team edits, and a misspelled variable must fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from app.messages.wording import duration, status_word, utc
from app.models import Severity
from app.ruleset import RuleSet
from app.store.changes import incident_suspects
from app.store.incidents import ROLES, IncidentStore

TEMPLATE = "postmortem/postmortem.md.j2"
# Names the store records when nobody gave one: not people, so not "who responded".
NOT_PEOPLE = frozenset({"", "API", "web", "quiet period"})
KIND_WORDS = {
    "opened": "Incident opened",
    "alert_received": "Alert received",
    "alert_grouped": "Alert grouped",
    "alert_resolved": "Alert resolved",
    "acknowledged": "Acknowledged",
    "commander": "Commander",
    "status_update": "Status update",
    "severity_raised": "Severity raised",
    "severity_changed": "Severity changed",
    "role": "Role assigned",
    "resolved": "Resolved",
    "suspected_change": "Suspected change",
    "deploy_during_incident": "Deploy during incident",
}
ROLE_BY_KIND = {
    "acknowledged": "acknowledged",
    "status_update": "posted status updates",
    "commander": "incident commander",
}


def draft_for(klaxon: Any, incident_id: str) -> str | None:
    """The draft as it is now, for the routes that serve it (API and internal pages)."""
    return render_postmortem(
        klaxon.incidents,
        klaxon.ruleset,
        incident_id,
        klaxon.settings.templates_dir,
        klaxon.clock.now(),
    )


def render_postmortem(
    store: IncidentStore, ruleset: RuleSet, incident_id: str, templates_dir: Path, now: float
) -> str | None:
    """The Markdown draft for one incident, or None when there is no such incident."""
    variables = postmortem_vars(store, ruleset, incident_id, now)
    if variables is None:
        return None
    return environment(str(Path(templates_dir).resolve())).get_template(TEMPLATE).render(variables)


def postmortem_vars(
    store: IncidentStore, ruleset: RuleSet, incident_id: str, now: float
) -> dict[str, Any] | None:
    incident = store.incident(incident_id)
    if incident is None:
        return None
    timeline = store.timeline(incident_id)
    alerts = store.incident_alerts(incident_id)
    changes = incident_suspects(store.connection, incident_id)
    return {
        "incident": _incident(incident, ruleset, now),
        "now": now,
        # Each change at the time it took effect: the line before "Incident opened".
        "timeline": sorted(
            [_entry(e) for e in timeline] + [_change_entry(c) for c in changes],
            key=lambda e: e["at"],
        ),
        "changes": changes,
        "responders": responders(incident, timeline),
        "alerts": [_alert(a) for a in alerts],
        "updates": [e["data"] for e in timeline if e["kind"] == "status_update"],
    }


def responders(incident: dict[str, Any], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everyone named on the incident, in order of first appearance, with what they did."""
    roles: dict[str, list[str]] = {}
    commander = incident.get("commander") or ""
    if commander not in NOT_PEOPLE:
        roles[commander] = ["incident commander"]
    for entry in timeline:
        name, role = str(entry["data"].get("by") or ""), ROLE_BY_KIND.get(entry["kind"])
        if entry["kind"] == "role":  # technical lead, communications lead
            role = ROLES.get(str(entry["data"].get("role")), "")
        if role and name not in NOT_PEOPLE and role not in roles.setdefault(name, []):
            roles[name].append(role)
    return [{"name": name, "roles": done} for name, done in roles.items()]


def _incident(data: dict[str, Any], ruleset: RuleSet, now: float) -> dict[str, Any]:
    created = float(data["created_at"])
    acked, resolved = _time(data.get("acknowledged_at")), _time(data.get("resolved_at"))
    policy = ruleset.severities.get(Severity(data["severity"]))
    due = policy.postmortem_due_s if policy else None
    return {
        "id": data["id"],
        "title": data.get("title", ""),
        "severity": data["severity"],
        "status": data["status"],
        "team": data.get("team", ""),
        "service": data.get("service", ""),
        "environment": data.get("environment", ""),
        "commander": data.get("commander") or "",
        "created_at": created,
        "acknowledged_at": acked,
        "acknowledged_by": data.get("acknowledged_by") or "",
        "resolved_at": resolved,
        "duration_seconds": (resolved or now) - created,
        "ack_seconds": acked - created if acked else None,
        "resolve_seconds": resolved - created if resolved else None,
        "postmortem_due_at": resolved + due if resolved and due else None,
        # The resolution checklist (app/resolution.py), as the responder who resolved it left it.
        "customer_impact": data.get("customer_impact") or "",
        "data_loss": data.get("data_loss") or "",
        "follow_ups": [f for f in (data.get("follow_ups") or "").split("\n") if f],
    }


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": entry["at"],
        "day": utc(entry["at"], True)[:10],
        "kind": entry["kind"],
        "what": KIND_WORDS.get(entry["kind"], entry["kind"].replace("_", " ").capitalize()),
        "text": entry["text"],
    }


def _change_entry(change: dict[str, Any]) -> dict[str, Any]:
    by = f" by {change['who']}" if change.get("who") else ""
    what = f": {change['description']}" if change.get("description") else ""
    return {
        "at": float(change["when"]),
        "day": utc(float(change["when"]), True)[:10],
        "kind": "change",
        "what": "Change" + (" during the incident" if change.get("during_incident") else ""),
        "text": f"{change['service']} {change['version']}{by}{what}",
    }


def _alert(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": data.get("source", ""),
        "title": data.get("title", ""),
        "count": int(data.get("count") or 0),
        "status": data.get("status", ""),
        "first_seen": _time(data.get("first_seen")),
    }


def _time(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def clock(epoch: float) -> str:
    """ "09:14:03": timeline lines sit under a date heading, so the date is not repeated."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%S")


@lru_cache(maxsize=4)
def environment(templates_dir: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {"duration": duration, "utc": utc, "status_word": status_word, "cell": cell, "clock": clock}
    )
    return env
