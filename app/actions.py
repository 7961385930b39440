"""What a responder does to an incident, one function per action, used by both doors: the API
(app/api.py) and the incident page's forms (app/pages/internal.py). Each changes the store in
one Lua call and tells the workers only when something changed, so the two doors cannot
drift apart. A status update is Klaxon.post_update (app/__init__.py), shared the same way.

Callers validate their input (JSON or form) and check the incident exists; these functions
take clean values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.errors import Conflict, PayloadError

if TYPE_CHECKING:
    from app import Klaxon


def acknowledge(klaxon: Klaxon, incident_id: str, by: str, via: str) -> dict[str, Any]:
    """The first acknowledgement stops escalation; its author leads unless one was named."""
    result = klaxon.incidents.acknowledge(incident_id, by, via=via)
    if result["result"] == "acknowledged":
        klaxon.enqueue(incident_id, "acknowledged", "", f"acknowledged by {by}")
    return result


def take_command(klaxon: Klaxon, incident_id: str, commander: str, by: str) -> dict[str, Any]:
    """`commander` leads from now on (taking command, or handing it over)."""
    return klaxon.incidents.assign_commander(incident_id, commander, by=by)


def assign_role(klaxon: Klaxon, incident_id: str, role: str, name: str, by: str) -> dict[str, Any]:
    """`name` becomes the technical or communications lead (role: tech_lead, comms_lead)."""
    return klaxon.incidents.assign_role(incident_id, role, name, by)


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


def require_open(incident_id: str, incident: dict[str, Any]) -> dict[str, Any]:
    """The incident, unless it is resolved: then every action is a 409 that changes nothing
    (the API's and the page's one rule)."""
    if incident.get("status") == "resolved":
        raise Conflict(f"{incident_id} is resolved; declare a new incident instead")
    return incident


# What a refused merge means, for the 409 (the store's words -> people's).
_MERGE_REFUSED = {
    "same": "an incident cannot be merged into itself",
    "already_merged": "is already merged into another incident",
    "has_children": "has incidents merged into it; merge those into the target first",
    "parent_resolved": "the target incident is resolved",
    "resolved": "is resolved",
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
