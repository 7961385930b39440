"""What a responder does to an incident, one function per action, used by both doors: the API
(app/api.py) and the incident page's forms (app/pages/internal.py). Each changes the store in
one Lua call and tells the workers only when something changed, so the two doors cannot
drift apart. A status update is Klaxon.post_update (app/__init__.py), shared the same way.

Callers validate their input (JSON or form) and check the incident exists; these functions
take clean values.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.errors import Conflict, PayloadError
from app.models import Alert, Lifecycle, Severity, SourceName
from app.notifications import enqueue_sitrep_refresh
from app.pipeline import correlation_for
from app.ruleset import classify
from app.ruleset.services import canonical_service

if TYPE_CHECKING:
    from app import Klaxon


def declare(
    klaxon: Klaxon,
    title: str,
    severity: str,
    by: str,
    *,
    via: str,
    summary: str = "",
    service: str = "",
    environment: str = "",
    team: str = "",
    raw: bytes = b"",
) -> dict[str, str]:
    """Declare an incident by hand: someone spotted a problem no monitor caught. The team is
    the one given, else the service's in the catalog, else the routes'. Returns the incident
    and alert ids.

    Raises:
        PayloadError: `team` is not one the rules define (`via` names the door).
    """
    alert = Alert(
        source=SourceName.MANUAL,
        lifecycle=Lifecycle.TRIGGER,
        identity=uuid.uuid4().hex,
        delivery_id=uuid.uuid4().hex,
        event_type="declared",
        title=title,
        description=summary,
        service=canonical_service(klaxon.ruleset.service_names, service),
        environment=environment,
        source_severity=severity,
        actor=by,
    )
    decision = classify(alert, klaxon.ruleset, klaxon.clock.now())
    catalog = klaxon.ruleset.services.get(alert.service)
    team = team or (catalog.team if catalog else "") or decision.team
    if team not in klaxon.ruleset.teams:
        raise PayloadError(
            via, "team", "one of " + ", ".join(sorted(klaxon.ruleset.teams)), got=repr(team)
        )
    correlation = replace(
        correlation_for(alert, decision, klaxon.ruleset),
        severity=Severity(severity),
        team=team,
        group_key="",
        suppressed="",
        inhibited_by=(),
        reason=f"declared by hand by {by}",
    )
    result = klaxon.incidents.correlate(alert, correlation, raw)
    return {"incident": result.incident_id or "", "alert": result.alert_id or ""}


def acknowledge(klaxon: Klaxon, incident_id: str, by: str, via: str) -> dict[str, Any]:
    """The first acknowledgement stops escalation; its author leads unless one was named."""
    result = klaxon.incidents.acknowledge(incident_id, by, via=via)
    if result["result"] == "acknowledged":
        klaxon.enqueue(incident_id, "acknowledged", "", f"acknowledged by {by}")
    return result


def take_command(klaxon: Klaxon, incident_id: str, commander: str, by: str) -> dict[str, Any]:
    """`commander` leads from now on (taking command, or handing it over)."""
    result = klaxon.incidents.assign_commander(incident_id, commander, by=by)
    if result["result"] == "commander":
        _refresh_sitrep(klaxon, incident_id)
    return result


def assign_role(klaxon: Klaxon, incident_id: str, role: str, name: str, by: str) -> dict[str, Any]:
    """`name` becomes the technical or communications lead (role: tech_lead, comms_lead)."""
    result = klaxon.incidents.assign_role(incident_id, role, name, by)
    if result["result"] == "role":
        _refresh_sitrep(klaxon, incident_id)
    return result


def change_severity(klaxon: Klaxon, incident_id: str, severity: str, by: str) -> dict[str, Any]:
    """A new severity without a status update; raising it notifies like an alert raising it
    (app/pipeline.py), lowering it is only recorded."""
    before = (klaxon.incidents.incident(incident_id) or {}).get("severity", "")
    result = klaxon.incidents.change_severity(incident_id, severity, by)
    raised = result["result"] == "severity" and severity < before  # "SEV1" < "SEV2"
    if raised and klaxon.incidents.is_declared(incident_id):
        klaxon.enqueue(incident_id, "severity_raised", severity, f"severity raised by {by}")
    return result


def resolve(klaxon: Klaxon, incident_id: str, by: str, message: str = "") -> str:
    """Resolve by hand; with a message, that message is the resolution update customers read
    (a 'resolved' status update, which closes it). Returns resolved, already_resolved or
    unknown."""
    if message:
        result = klaxon.post_update(incident_id, "resolved", message, by)
        return {"updated": "resolved", "resolved": "already_resolved"}.get(
            result["result"], result["result"]
        )
    outcome = klaxon.incidents.resolve(incident_id, by=by, force=True)
    if outcome == "resolved":
        klaxon.enqueue(incident_id, "resolved", "", f"resolved by {by}")
    return outcome


def _refresh_sitrep(klaxon: Klaxon, incident_id: str) -> None:
    """The roles are on the Slack sitrep, and no lifecycle event reports them."""
    enqueue_sitrep_refresh(klaxon.redis, incident_id, repr(klaxon.clock.now()))


def require_open(incident_id: str, incident: dict[str, Any]) -> dict[str, Any]:
    """The incident, unless it is resolved: then every action is a 409 that changes nothing
    (the API's and the page's one rule)."""
    if incident.get("status") == "resolved":
        raise Conflict(f"{incident_id} is resolved; declare a new incident instead")
    return incident
