"""The order of the steps for changes, as app/pipeline.py is for alerts.

A change arrives (webhook, API, CLI): it is mapped to its service through the catalog, stored
once, then held against the open incidents of that service: a suspect if it took effect in the
rules' window before one started, "deploy during incident" if it took effect after a SEV1/SEV2
started (the commander is told: the runbooks say to stop deploying).

An incident opens, or an alert of another service joins it: the changes to that service in the
window before its onset become its suspects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import sentry_sdk

from app.changes.mapping import service_for
from app.changes.model import Change, is_email
from app.changes.suspects import is_deploy_during_incident, is_suspect, rank
from app.logs import log
from app.models import Severity
from app.ruleset import RuleSet
from app.store import keys, replies
from app.store.changes import ChangeStore, Recorded
from app.store.incidents import IncidentStore

logger = logging.getLogger("klaxon.changes")

Enqueue = Callable[..., Any]  # Klaxon.enqueue(incident_id, event, seq, reason)
DEPLOY_DURING_INCIDENT = "deploy_during_incident"  # also the reminder's reason (templates)


def record_change(
    change: Change,
    ruleset: RuleSet,
    changes: ChangeStore,
    incidents: IncidentStore,
    enqueue: Enqueue,
    now: float,
    source: str = "",
    delivery_id: str = "",
) -> dict[str, Any]:
    """Store the change and hold it against the open incidents; the answer's body."""
    change = change.with_service(service_for(change, ruleset.services, ruleset.service_names))
    if change.when <= 0:  # the sender gave no time: it took effect about now
        change = replace(change, when=now)
    recorded = changes.record(change, source, delivery_id)
    touched = (
        []
        if recorded.outcome == "duplicate"
        else _hold_against_open(recorded, ruleset, changes, incidents, enqueue)
    )
    return {
        "outcome": recorded.outcome,
        "change": recorded.change.id,
        "service": recorded.change.service,
        "incidents": touched,
    }


def suspect_changes_fenced(
    incident_id: str,
    services: Iterable[str],
    ruleset: RuleSet,
    changes: ChangeStore,
    incidents: IncidentStore,
    enqueue: Enqueue,
) -> list[Change]:
    """suspect_changes() for the webhook request: suspects are evidence beside the alert,
    which is already stored, so a failure here is logged and reported, never the sender's
    answer (sentry-python's capture_internal_exceptions: enrichment never breaks the host)."""
    try:
        return suspect_changes(incident_id, services, ruleset, changes, incidents, enqueue)
    except Exception as error:  # noqa: BLE001 - reported; the alert's answer stands
        log(
            logger,
            "suspects not recorded",
            logging.WARNING,
            incident=incident_id,
            error=type(error).__name__,
        )
        sentry_sdk.capture_exception(error)
        return []


def suspect_changes(
    incident_id: str,
    services: Iterable[str],
    ruleset: RuleSet,
    changes: ChangeStore,
    incidents: IncidentStore,
    enqueue: Enqueue,
) -> list[Change]:
    """Record the suspects among the changes of `services` not yet looked at for this
    incident, then apply the rules' `changes.after_release`; returns the ones newly
    recorded, newest first."""
    incident = incidents.incident(incident_id)
    if not incident:
        return []
    # Marked only for an incident that exists: the set is removed with the incident's history.
    fresh = changes.services_examined(incident_id, services)
    if not fresh:
        return []
    onset = float(incident["created_at"])
    window = ruleset.changes.window_s
    found = []
    for service in fresh:
        candidates = changes.changes(service, since=onset - window, until=onset)
        for change in rank(candidates, onset, window):
            if _hold(incident_id, change, onset, changes, incidents):
                found.append(change)
    found.sort(key=lambda c: c.when, reverse=True)
    if found:
        _after_release(incident_id, incident, found[0], ruleset, incidents, enqueue)
    return found


def _after_release(
    incident_id: str,
    incident: dict[str, str],
    newest: Change,
    ruleset: RuleSet,
    incidents: IncidentStore,
    enqueue: Enqueue,
) -> None:
    """rules `changes.after_release`: an incident that started within `within` of a change
    to its service is raised to `raise_to` (never lowered), and its author paged with the
    on-call if `page_author` says so."""
    policy = ruleset.changes
    onset = float(incident["created_at"])
    if not policy.after_release_within_s or onset - newest.when > policy.after_release_within_s:
        return
    if policy.page_author:
        _page_author(incident_id, newest, policy.location, incidents)
    raise_to = policy.raise_to
    if raise_to is None:
        return
    current = incident.get("severity", "")
    if current in Severity.__members__ and Severity(current).rank <= raise_to.rank:
        return
    by = f"rules changes.after_release ({policy.location}): {newest.summary()}"
    result = incidents.change_severity(incident_id, raise_to.value, by=by[:300])
    if result.get("result") == "severity" and incidents.is_declared(incident_id):
        enqueue(incident_id, "severity_raised", raise_to.value, by[:300])


def _page_author(incident_id: str, change: Change, location: str, incidents: IncidentStore) -> None:
    """Name the change's author on the incident for its first page (Opsgenie adds them as a
    user responder: its usernames are e-mail addresses). An author known only by a login
    (GitHub) cannot be paged: the timeline says so."""
    rule = f"rules changes.after_release ({location})"
    if not is_email(change.who):
        text = f"change author not paged: {change.summary()} names no e-mail address ({rule})"
        incidents.add_timeline(incident_id, "change_author", text[:500], change=change.id)
        return
    text = f"paging the change's author {change.who} with the on-call: {change.summary()} ({rule})"
    incidents.page_change_author(incident_id, change.who, text[:500], change=change.id)


def _hold_against_open(
    recorded: Recorded,
    ruleset: RuleSet,
    changes: ChangeStore,
    incidents: IncidentStore,
    enqueue: Enqueue,
) -> list[str]:
    change = recorded.change
    open_ids = replies.members(incidents.connection.zrange(keys.open_incidents(), 0, -1))
    touched = []
    for incident_id in changes.incidents_watching(open_ids, change.service):
        incident = incidents.incident(incident_id)
        if not incident or incident.get("status") == "resolved":
            continue
        onset = float(incident["created_at"])
        if is_suspect(change, onset, ruleset.changes.window_s):
            if _hold(incident_id, change, onset, changes, incidents):
                touched.append(incident_id)
        elif is_deploy_during_incident(change, onset, incident.get("severity", "")):
            text = (
                f"deploy during incident: {change.summary()} while {incident['severity']} "
                f"{incident_id} is open; stop deploying until it is resolved"
                + (f" (undo: {change.rollback})" if change.rollback else "")
            )
            if _hold(incident_id, change, onset, changes, incidents, during=text):
                enqueue(incident_id, "reminder", change.id, DEPLOY_DURING_INCIDENT)
                touched.append(incident_id)
    return touched


def _hold(
    incident_id: str,
    change: Change,
    onset: float,
    changes: ChangeStore,
    incidents: IncidentStore,
    during: str = "",
) -> bool:
    """Keep the change on the incident and say so on its timeline, once: a suspect, or with
    `during` (the timeline's text) a deploy made while it is open. False if already held."""
    if not changes.keep_on_incident(incident_id, change, onset, during=bool(during)):
        return False
    data = {"change": change.id, "service": change.service, "rollback": change.rollback}
    if during:
        incidents.note_change(
            incident_id, DEPLOY_DURING_INCIDENT, during, during=change.summary(), **data
        )
    else:
        incidents.note_change(incident_id, "suspected_change", _suspect_text(change, onset), **data)
    return True


def _suspect_text(change: Change, onset: float) -> str:
    before = _ago(onset - change.when)
    undo = f"; rollback: {change.rollback}" if change.rollback else ""
    return f"suspected change: {change.summary()}, {before} before the incident started{undo}"


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 120:
        return f"{minutes} min"
    return time.strftime("%H h %M min", time.gmtime(seconds)).lstrip("0")
