"""What a responder does to an incident, one function per action, used by both doors: the API
(app/api.py) and the incident page's forms (app/pages/internal.py). Each changes the store in
one Lua call and tells the workers only when something changed, so the two doors cannot
drift apart. A status update is Klaxon.post_update (app/__init__.py), shared the same way.

Callers validate their input (JSON or form) and check the incident exists; these functions
take clean values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.cadence import comms_of
from app.errors import Conflict, IncompleteResolution, PayloadError
from app.models import Alert, Lifecycle, Severity, SourceName
from app.notifications import enqueue_sitrep_refresh
from app.pipeline import decision_for_store
from app.resolution import Checklist, missing_items, resolution_post
from app.ruleset import classify
from app.ruleset.services import canonical_service
from app.store.incidents import Acted, Correlated, Resolution

if TYPE_CHECKING:
    from app import Klaxon


@dataclass(frozen=True, slots=True)
class Declaration:
    """An incident declared by hand (title and severity required; the rest may be "")."""

    title: str
    severity: str
    summary: str = ""
    service: str = ""
    environment: str = ""
    team: str = ""  # "": the service's owner in the catalog, else the one the routes give
    by: str = ""
    via: str = "api"  # the door it came through (api, page, slack), named in a refusal


def declare(klaxon: Klaxon, declaration: Declaration, raw: bytes = b"") -> Correlated:
    """Someone spotted a problem no monitor caught: a manual alert opens its own incident at
    the declared severity. Raises PayloadError (a 400, naming `via`) for a team the rules do
    not know."""
    alert = Alert(
        source=SourceName.MANUAL,
        lifecycle=Lifecycle.TRIGGER,
        identity=uuid.uuid4().hex,
        delivery_id=uuid.uuid4().hex,
        event_type="declared",
        title=declaration.title,
        description=declaration.summary,
        service=canonical_service(klaxon.ruleset.service_names, declaration.service),
        environment=declaration.environment,
        source_severity=declaration.severity,
        actor=declaration.by,
    )
    decision = classify(alert, klaxon.ruleset, klaxon.clock.now())
    # The team that owns the service in the catalog, else the one the routes give.
    catalog = klaxon.ruleset.services.get(alert.service)
    team = declaration.team or (catalog.team if catalog else "") or decision.team
    if team not in klaxon.ruleset.teams:
        raise PayloadError(
            declaration.via,
            "team",
            "one of " + ", ".join(sorted(klaxon.ruleset.teams)),
            got=repr(team),
        )
    for_store = replace(
        decision_for_store(alert, decision, klaxon.ruleset),
        severity=Severity(declaration.severity),
        team=team,
        group_key="",
        suppressed="",
        inhibited_by=(),
        reason=f"declared by hand by {alert.actor}",
    )
    result = klaxon.incidents.correlate(alert, for_store, raw)
    if result.incident_id and alert.service:  # what shipped to it just before (issue 17)
        klaxon.suspect_changes(result.incident_id, [alert.service])
    return result


def acknowledge(klaxon: Klaxon, incident_id: str, by: str, via: str) -> dict[str, Any]:
    """The first acknowledgement stops escalation; its author leads unless one was named."""
    result = klaxon.incidents.acknowledge(incident_id, by, via=via)
    if result["result"] is Acted.ACKNOWLEDGED:
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
    raised = result["result"] is Acted.SEVERITY and severity < before  # "SEV1" < "SEV2"
    if raised and klaxon.incidents.is_declared(incident_id):
        klaxon.enqueue(incident_id, "severity_raised", severity, f"severity raised by {by}")
    return result


# A 'resolved' status update answers as an update does; resolve() answers as the store's
# resolve does, whichever way the incident was closed.
_RESOLVED_BY_UPDATE = {
    Acted.UPDATED: Resolution.RESOLVED,
    Acted.RESOLVED: Resolution.ALREADY_RESOLVED,
}


def resolve(
    klaxon: Klaxon,
    incident_id: str,
    by: str,
    message: str = "",
    checklist: Checklist | None = None,
) -> Resolution:
    """Resolve by hand with the resolution checklist (app/resolution.py). With a message or
    an answer on data loss there is a resolution customers read (a 'resolved' status update,
    which closes it); without either it closes quietly. Returns resolved, already_resolved
    or unknown."""
    checklist = checklist or Checklist()
    require_resolution(klaxon, incident_id, message, checklist)
    public = resolution_post(message, checklist)
    if public:
        result = klaxon.post_update(incident_id, "resolved", public, by, checklist=checklist)
        return _RESOLVED_BY_UPDATE.get(result["result"], Resolution.UNKNOWN)
    outcome = klaxon.incidents.resolve(incident_id, by=by, force=True, checklist=checklist)
    if outcome is Resolution.RESOLVED:
        klaxon.enqueue(incident_id, "resolved", "", f"resolved by {by}")
    return outcome


def require_resolution(
    klaxon: Klaxon, incident_id: str, message: str, checklist: Checklist
) -> None:
    """Raises IncompleteResolution (a 400 that changes nothing) when the resolution lacks
    what its severity's policy says it must state (comms.resolution_must_state)."""
    severity = (klaxon.incidents.incident(incident_id) or {}).get("severity", "")
    missing = missing_items(
        comms_of(klaxon.ruleset, severity).resolution_must_state, message, checklist
    )
    if missing:
        raise IncompleteResolution(severity, missing)


def _refresh_sitrep(klaxon: Klaxon, incident_id: str) -> None:
    """The roles are on the Slack sitrep, and no lifecycle event reports them."""
    enqueue_sitrep_refresh(klaxon.redis, incident_id, repr(klaxon.clock.now()))


def require_open(incident_id: str, incident: dict[str, Any]) -> dict[str, Any]:
    """The incident, unless it is resolved: then every action is a 409 that changes nothing
    (the API's and the page's one rule)."""
    if incident.get("status") == "resolved":
        raise Conflict(f"{incident_id} is resolved; declare a new incident instead")
    return incident


# What a refused merge means, for the 409 (the store's words -> people's).
_MERGE_REFUSED = {
    Acted.SAME: "an incident cannot be merged into itself",
    Acted.ALREADY_MERGED: "is already merged into another incident",
    Acted.HAS_CHILDREN: "has incidents merged into it; merge those into the target first",
    Acted.PARENT_RESOLVED: "the target incident is resolved",
    Acted.RESOLVED: "is resolved",
}


def merge(klaxon: Klaxon, incident_id: str, target_id: str, by: str) -> dict[str, Any]:
    """Make `incident_id` a child of `target_id` (one outage, one public incident): the parent
    speaks for both from now on. A target that is itself a child means its parent."""
    target = klaxon.incidents.incident(target_id)
    if target is None:
        raise PayloadError("api", "into", "the id of an open incident", got=repr(target_id[:40]))
    target_id = target.get("merged_into") or target_id
    result = klaxon.incidents.merge(incident_id, target_id, by)
    refused = _MERGE_REFUSED.get(result["result"])
    if refused:
        raise Conflict(f"{incident_id} not merged into {target_id}: {refused}")
    return result | {"merged_into": target_id}
