"""Internal HTTP API (bearer token): incidents with their alerts and timelines.

Every route needs `Authorization: Bearer $KLAXON_API_TOKEN`; without a configured token the
API refuses everything (fail closed).
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from flask import Blueprint, current_app, request

from app.errors import NotFound, PayloadError, Unauthorized

blueprint = Blueprint("api", __name__, url_prefix="/api")

INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{1,9}$")
MAX_LIST = 500


@blueprint.before_request
def require_token() -> None:
    expected = current_app.extensions["klaxon"].settings.api_token
    if not expected:
        raise Unauthorized("the API is disabled: KLAXON_API_TOKEN is not set")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.encode()):
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
    return {**incident, "alerts": store.incident_alerts(incident_id),
            "timeline": store.timeline(incident_id)}


@blueprint.get("/incidents/<incident_id>/timeline")
def get_timeline(incident_id: str) -> dict[str, Any]:
    _incident(incident_id)
    return {"timeline": current_app.extensions["klaxon"].incidents.timeline(incident_id)}


@blueprint.post("/incidents/<incident_id>/resolve")
def resolve_incident(incident_id: str) -> tuple[dict[str, Any], int]:
    _incident(incident_id)
    body = request.get_json(silent=True) or {}
    who = body.get("by") if isinstance(body, dict) and isinstance(body.get("by"), str) else ""
    result = current_app.extensions["klaxon"].incidents.resolve(
        incident_id, by=(who or "API")[:100], force=True)
    return {"incident": incident_id, "result": result}, 200


@blueprint.get("/outbox")
def outbox() -> dict[str, Any]:
    """What channels without credentials would have sent, newest first."""
    klaxon = current_app.extensions["klaxon"]
    limit = _limit(request.args.get("limit", "100"))
    return {"messages": klaxon.outbox.entries(limit, incident_id=request.args.get("incident"),
                                              channel=request.args.get("channel"))}


def _incident(incident_id: str) -> dict[str, Any]:
    incident = (current_app.extensions["klaxon"].incidents.incident(incident_id)
                if INCIDENT_ID.match(incident_id) else None)
    if incident is None:
        raise NotFound(f"no incident {incident_id[:40]!r}")
    return incident


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise PayloadError("api", "limit", f"a whole number from 1 to {MAX_LIST}",
                           got=repr(raw[:20]))
    return int(raw)
