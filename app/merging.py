"""One outage, one public incident (issue 13): incidents open at the same time on the same
public (Statuspage) component are linked, the later one a child of the earlier. The parent
speaks for both: one page, one status card, one Statuspage incident, one X thread; the child
keeps its alerts and timeline, which show under the parent.

Automatic when an incident is declared (merge_with_concurrent, called by the notify job before
anyone is told), and by hand (app/actions.py merge: the API and the incident page)."""

from __future__ import annotations

from typing import Any

from app.drill import is_drill_incident
from app.ruleset import RuleSet
from app.ruleset.components import affected_components
from app.store.incidents import Acted, IncidentStore

# How many open incidents are looked at for a shared component (newest first).
SCANNED = 200


def is_merged_child(incident: dict[str, Any]) -> bool:
    return bool(incident.get("merged_into"))


def public_components(store: IncidentStore, ruleset: RuleSet, incident: dict[str, Any]) -> set[str]:
    """The Statuspage components the incident's service and its alerts' services affect."""
    alerts = store.incident_alerts(incident["id"])
    services = [incident.get("service"), *((a.get("alert") or {}).get("service") for a in alerts)]
    return set(affected_components(ruleset, services))


def concurrent_parent(store: IncidentStore, ruleset: RuleSet, incident_id: str) -> str | None:
    """The earliest open, declared, unmerged incident that shares a public component with this
    one and was opened before it; None when there is none (this one then stands alone). Only
    an earlier incident can be the parent, so two declared at once never merge into each
    other."""
    incident = store.incident(incident_id)
    if incident is None or is_merged_child(incident) or is_drill_incident(incident):
        return None
    mine = public_components(store, ruleset, incident)
    if not mine:
        return None
    order = (float(incident.get("created_at", 0)), incident_id)
    candidates = []
    for other_id in store.incident_ids(SCANNED, open_only=True):
        other = store.incident(other_id)
        if (
            other is None
            or other_id == incident_id
            or "declared_at" not in other
            or other.get("status") == "resolved"
            or is_merged_child(other)
            or is_drill_incident(other)
            or (float(other.get("created_at", 0)), other_id) >= order
        ):
            continue
        if mine & public_components(store, ruleset, other):
            candidates.append(((float(other.get("created_at", 0)), other_id), other_id))
    return min(candidates)[1] if candidates else None


def merge_with_concurrent(store: IncidentStore, ruleset: RuleSet, incident_id: str) -> str:
    """Merge a just-declared incident into the earlier one on the same component, if any:
    returns the parent's id, or "" when it stands alone."""
    parent = concurrent_parent(store, ruleset, incident_id)
    if parent is None:
        return ""
    result = store.merge(incident_id, parent, by="Klaxon (same public component)")
    return parent if result["result"] in (Acted.MERGED, Acted.UNCHANGED) else ""


def release_open_children(store: IncidentStore, incident_id: str) -> list[str]:
    """The parent resolved: its children with an alert still firing are no longer merged, so
    they speak for themselves (their caller declares them): an outage that outlived the
    incident it was merged into must not stay silent."""
    incident = store.incident(incident_id)
    released = []
    for child in store.children(incident or {}):
        found = store.incident(child)
        if found is None or found.get("status") == "resolved":
            continue
        if all(a.get("status") == "resolved" for a in store.incident_alerts(child)):
            continue  # over too, only waiting out its quiet period: nothing to tell
        if store.unmerge(child, incident_id, by="Klaxon")["result"] is Acted.UNMERGED:
            released.append(child)
    return released
