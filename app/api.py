"""Internal HTTP API (bearer token): incidents with their alerts and timelines.

Every route needs `Authorization: Bearer $KLAXON_API_TOKEN`; without a configured token the
API refuses everything (fail closed). An address that sent too many wrong tokens gets 429
until its window ends (app/token_guard.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, request

from app import actions, plaintext
from app.errors import Conflict, NotFound, PayloadError, Unauthorized
from app.models import Severity
from app.postmortem import draft_for
from app.resolution import (
    DATA_LOSS,
    FOLLOW_UPS_CHARS,
    IMPACT_CHARS,
    MAX_FOLLOW_UPS,
    Checklist,
    follow_up_lines,
)
from app.store.incidents import ROLES, STATUSES, Acted
from app.store.timers import Timers
from app.token_guard import token_accepted

blueprint = Blueprint("api", __name__, url_prefix="/api")

INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{1,9}$")
MAX_LIST = 500


@blueprint.before_request
def require_token() -> None:
    """Raises TooManyAttempts (429) for an address past the wrong-token limit: its token is
    not checked (app/token_guard.py)."""
    if not current_app.extensions["klaxon"].settings.api_token:
        raise Unauthorized("the API is disabled: KLAXON_API_TOKEN is not set")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # No bearer token is no guess: refused without counting.
    if scheme.lower() != "bearer" or not token_accepted(token.strip(), via="api"):
        raise Unauthorized("send Authorization: Bearer <KLAXON_API_TOKEN>")


@blueprint.get("/incidents")
def list_incidents() -> dict[str, Any]:
    store = current_app.extensions["klaxon"].incidents
    status = request.args.get("status", "all")
    if status not in ("all", "open"):
        raise PayloadError("api", "status", "all or open", got=repr(status[:40]))
    limit = _limit(request.args.get("limit", "100"))
    incidents = [store.incident(i) for i in store.incident_ids(limit, open_only=status == "open")]
    return {"incidents": [i for i in incidents if i]}


@blueprint.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> dict[str, Any]:
    store = current_app.extensions["klaxon"].incidents
    incident = _incident(incident_id)
    return {
        **incident,
        "alerts": store.incident_alerts(incident_id),
        "timeline": store.timeline(incident_id),
        # Incidents merged into this one (one outage): their alerts and timelines show here.
        "children": [
            {
                "id": child,
                "title": (store.incident(child) or {}).get("title", ""),
                "alerts": store.incident_alerts(child),
                "timeline": store.timeline(child),
            }
            for child in store.children(incident)
        ],
        # Suspected changes (and changes made while it is open), suspects first, newest first.
        "changes": current_app.extensions["klaxon"].changes.suspects(incident_id),
    }


@blueprint.get("/incidents/<incident_id>/timeline")
def get_timeline(incident_id: str) -> dict[str, Any]:
    _incident(incident_id)
    return {"timeline": current_app.extensions["klaxon"].incidents.timeline(incident_id)}


@blueprint.get("/incidents/<incident_id>/postmortem.md")
def postmortem(incident_id: str) -> Response:
    """The post-mortem draft in Markdown, filled in from the incident as it is now."""
    _incident(incident_id)
    return Response(
        draft_for(current_app.extensions["klaxon"], incident_id), mimetype="text/markdown"
    )


@blueprint.post("/incidents/<incident_id>/resolve")
def resolve_incident(incident_id: str) -> tuple[dict[str, Any], int]:
    """Resolve by hand; an optional `message` is the resolution update customers read, and
    the optional checklist (`customer_impact`, `data_loss` yes/no, `follow_ups`) goes on the
    timeline and the post-mortem; an answered `data_loss` is also said in the resolution."""
    _incident(incident_id)
    body = _json() or {}
    body = body if isinstance(body, dict) else {}
    who = body.get("by") if isinstance(body.get("by"), str) else ""
    message = _text(body, "message", 5000) if "message" in body else ""
    result = actions.resolve(
        current_app.extensions["klaxon"],
        incident_id,
        (who or "API")[:100],
        message,
        _checklist(body),
    )
    return {"incident": incident_id, "result": result}, 200


def _checklist(body: dict[str, Any]) -> Checklist:
    """The resolution checklist; `follow_ups` is a list of strings or one string, one per line."""
    follow_ups = body.get("follow_ups")
    if isinstance(follow_ups, list) and all(isinstance(f, str) for f in follow_ups):
        follow_ups = "\n".join(follow_ups)
    lines = follow_up_lines(_text({"follow_ups": follow_ups}, "follow_ups", FOLLOW_UPS_CHARS))
    if len(lines) > MAX_FOLLOW_UPS:
        raise PayloadError(
            "api", "follow_ups", f"at most {MAX_FOLLOW_UPS} follow-ups", got=str(len(lines))
        )
    return Checklist(
        customer_impact=_text(body, "customer_impact", IMPACT_CHARS),
        data_loss=_choice(body, "data_loss", list(DATA_LOSS)),
        follow_ups=lines,
    )


@blueprint.post("/incidents")
def declare_incident() -> tuple[dict[str, Any], int]:
    """Declare an incident by hand: someone spotted a problem no monitor caught."""
    body = _body()
    result = actions.declare(
        current_app.extensions["klaxon"],
        actions.Declaration(
            title=_text(body, "title", 200, required=True),
            severity=_choice(body, "severity", [s.value for s in Severity], required=True),
            summary=_text(body, "summary", 5000),
            service=_text(body, "service", 200),
            environment=_text(body, "environment", 100),
            team=_text(body, "team", 100),
            by=_text(body, "by", 100) or "API",
        ),
        request.get_data(),
    )
    return {"incident": result.incident_id, "alert": result.alert_id}, 201


@blueprint.post("/incidents/<incident_id>/ack")
def acknowledge(incident_id: str) -> dict[str, Any]:
    _incident(incident_id)
    by = _text(_body(), "by", 100, required=True)
    return actions.acknowledge(current_app.extensions["klaxon"], incident_id, by, via="API")


@blueprint.post("/incidents/<incident_id>/commander")
def commander(incident_id: str) -> dict[str, Any]:
    _incident(incident_id)
    body = _body()
    return actions.take_command(
        current_app.extensions["klaxon"],
        incident_id,
        _text(body, "commander", 100, required=True),
        by=_text(body, "by", 100) or "API",
    )


@blueprint.post("/incidents/<incident_id>/roles")
def assign_role(incident_id: str) -> dict[str, Any]:
    """Name the technical lead or the communications lead ({"role", "name", "by"?})."""
    actions.require_open(incident_id, _incident(incident_id))
    body = _body()
    return actions.assign_role(
        current_app.extensions["klaxon"],
        incident_id,
        _choice(body, "role", list(ROLES), required=True),
        _text(body, "name", 100, required=True),
        by=_text(body, "by", 100) or "API",
    )


@blueprint.post("/incidents/<incident_id>/merge")
def merge(incident_id: str) -> dict[str, Any]:
    """Merge this incident into another ({"into": "INC-...", "by"?}): one outage, one public
    incident."""
    actions.require_open(incident_id, _incident(incident_id))
    body = _body()
    into = _text(body, "into", 40, required=True)
    if not INCIDENT_ID.match(into):
        raise PayloadError("api", "into", "an incident id such as INC-2026-0001", got=repr(into))
    return actions.merge(
        current_app.extensions["klaxon"], incident_id, into, by=_text(body, "by", 100) or "API"
    )


@blueprint.post("/incidents/<incident_id>/severity")
def severity(incident_id: str) -> dict[str, Any]:
    """Change the severity without a status update (raising it notifies responders)."""
    actions.require_open(incident_id, _incident(incident_id))
    body = _body()
    return actions.change_severity(
        current_app.extensions["klaxon"],
        incident_id,
        _choice(body, "severity", [s.value for s in Severity], required=True),
        by=_text(body, "by", 100) or "API",
    )


@blueprint.post("/incidents/<incident_id>/updates")
def post_update(incident_id: str) -> tuple[dict[str, Any], int]:
    _incident(incident_id)
    body = _body()
    klaxon = current_app.extensions["klaxon"]
    update = {
        "status": _choice(body, "status", list(STATUSES), required=True),
        "message": _text(body, "message", 5000, required=True),
        "by": _text(body, "by", 100) or "API",
    }
    severity = _choice(body, "severity", [s.value for s in Severity])
    checklist = None
    if update["status"] == "resolved":  # takes the resolution checklist, as /resolve does
        checklist = _checklist(body)
        actions.require_resolution(klaxon, incident_id, update["message"], checklist)
    result = klaxon.post_update(
        incident_id,
        update["status"],
        update["message"],
        update["by"],
        severity=severity,
        checklist=checklist,
    )
    if result["result"] is Acted.RESOLVED:
        raise Conflict(f"{incident_id} is resolved; declare a new incident instead")
    return result, 201


@blueprint.post("/incidents/<incident_id>/postmortem")
def postmortem_status(incident_id: str) -> tuple[dict[str, Any], int]:
    """Mark the post-mortem reviewed or published (stops the overdue reminders; published,
    the incident's Slack channel is archived at the next tick)."""
    incident = _incident(incident_id)
    body = _body()
    status = _choice(body, "status", ["draft", "in_review", "published"], required=True)
    klaxon = current_app.extensions["klaxon"]
    klaxon.incidents.set_postmortem(incident_id, status, _text(body, "url", 500))
    if (
        status == "published"
        and incident.get("status") == "resolved"
        and incident.get("slack_room")
    ):
        Timers(klaxon.redis).schedule("archive", incident_id, klaxon.clock.now())
    return {"incident": incident_id, "postmortem_status": status}, 200


@blueprint.get("/maintenance")
def maintenance_status() -> dict[str, Any]:
    mode = current_app.extensions["klaxon"].maintenance
    current = mode.current()
    return {"maintenance": _maintenance_json(current), "log": mode.log(20)}


@blueprint.post("/maintenance")
def maintenance_on() -> tuple[dict[str, Any], int]:
    """Start maintenance: pages for the named services (or all) are suppressed and recorded."""
    klaxon = current_app.extensions["klaxon"]
    body = _body()
    services = body.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
        raise PayloadError("api", "services", "a list of service names", got=repr(services)[:60])
    until = body.get("until")
    if until is not None and (
        isinstance(until, bool)
        or not isinstance(until, (int, float))
        or until <= klaxon.clock.now()
    ):
        raise PayloadError("api", "until", "epoch seconds in the future", got=repr(until)[:40])
    started = klaxon.maintenance.start(
        _text(body, "reason", 500, required=True),
        by=_text(body, "by", 100) or "API",
        services=tuple(services),
        until=until,
    )
    return {"maintenance": _maintenance_json(started)}, 201


@blueprint.delete("/maintenance")
def maintenance_off() -> dict[str, Any]:
    body = _json()
    by = body["by"] if isinstance(body, dict) and isinstance(body.get("by"), str) else "API"
    ended = current_app.extensions["klaxon"].maintenance.end(by=by[:100])
    return {"ended": _maintenance_json(ended)}


def _maintenance_json(window: Any) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "services": list(window.services),
        "reason": window.reason,
        "by": window.by,
        "started_at": window.started_at,
        "until": window.until,
    }


@blueprint.get("/outbox")
def outbox() -> dict[str, Any]:
    """What channels without credentials would have sent, newest first."""
    klaxon = current_app.extensions["klaxon"]
    limit = _limit(request.args.get("limit", "100"))
    return {
        "messages": klaxon.outbox.entries(
            limit, incident_id=request.args.get("incident"), channel=request.args.get("channel")
        )
    }


def _incident(incident_id: str) -> dict[str, Any]:
    incident = (
        current_app.extensions["klaxon"].incidents.incident(incident_id)
        if INCIDENT_ID.match(incident_id)
        else None
    )
    if incident is None:
        raise NotFound(f"no incident {incident_id[:40]!r}")
    return incident


def _json() -> Any:
    """The JSON body without control characters or lone surrogates (app/plaintext.py: Redis'
    cjson refuses a surrogate, a feed reader a control character); None when the body is not
    JSON."""
    if not request.is_json:
        return None
    try:
        # The standard library, not jsontext.loads_body: a lone surrogate escape stays one
        # character, which clean_json removes, where loads_body would leave U+FFFDs on text
        # that may go public. Bytes that are not UTF-8 raise (a 400).
        return plaintext.clean_json(json.loads(request.get_data().decode("utf-8")))
    except (ValueError, RecursionError):
        return None


def _body() -> dict[str, Any]:
    body = _json()
    if not isinstance(body, dict):
        raise PayloadError("api", "", "a JSON object body", got="something else")
    return body


def _text(body: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise PayloadError("api", name, "a non-empty string", got="nothing")
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise PayloadError(
            "api",
            name,
            f"a string of at most {limit} characters",
            got=f"{len(value)} characters" if isinstance(value, str) else type(value).__name__,
        )
    return plaintext.clean(value).strip()  # no control characters into pages and feeds


def _choice(body: dict[str, Any], name: str, allowed: list[str], required: bool = False) -> str:
    value = _text(body, name, 40, required=required)
    if value and value not in allowed:
        raise PayloadError("api", name, "one of " + ", ".join(allowed), got=repr(value))
    return value


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise PayloadError(
            "api", "limit", f"a whole number from 1 to {MAX_LIST}", got=repr(raw[:20])
        )
    return int(raw)
