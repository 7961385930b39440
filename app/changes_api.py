"""POST /api/changes and GET /api/changes (bearer token, like every /api route): anything the
webhooks do not send (a CI step, a feature-flag flip, a config change) is recorded here, in
the same shape as a Heroku release (app/changes/model.py)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, request

from app.api import _body, _limit, _text, require_token
from app.changes.model import Change, clean
from app.errors import PayloadError
from app.ruleset.schema import DURATION
from app.ruleset.services import canonical_service
from app.ruleset.timewindows import parse_duration
from app.sources._fields import parse_timestamp

blueprint = Blueprint("changes_api", __name__, url_prefix="/api")
blueprint.before_request(require_token)

KINDS = ("release", "deploy", "config", "flag", "rollback", "other")


@blueprint.post("/changes")
def record() -> tuple[dict[str, Any], int]:
    """Record one change: {service, version, description?, who?, when?, link?, rollback?,
    app?, environment?, kind?, id?}; `id` names it so a retried call is a duplicate."""
    klaxon = current_app.extensions["klaxon"]
    body = _body()
    service = _text(body, "service", 200, required=True)
    version = _text(body, "version", 200, required=True)
    when = _when(body.get("when"), klaxon.clock.now())
    change = Change(
        source="api",
        identity=_text(body, "id", 200) or f"{service}|{version}|{when!r}",
        app=_text(body, "app", 200) or service,
        version=clean(version, 200),
        when=when,
        description=clean(_text(body, "description", 500)),
        who=clean(_text(body, "who", 200), 200),
        link=_link(_text(body, "link", 500)),
        rollback=clean(_text(body, "rollback", 500)),
        service=service,
        environment=clean(_text(body, "environment", 100), 100),
        kind=_kind(_text(body, "kind", 20)),
    )
    answer = klaxon.record_change(change)
    return answer, 200 if answer["outcome"] == "duplicate" else 201


@blueprint.get("/changes")
def listing() -> dict[str, Any]:
    """Changes newest first: ?service= (the catalog's name), ?since= and ?until= (epoch
    seconds, ISO 8601, or a duration back from now such as 2h), ?limit=."""
    klaxon = current_app.extensions["klaxon"]
    now = klaxon.clock.now()
    service = request.args.get("service", "")[:200]
    changes = klaxon.changes.changes(
        canonical_service(klaxon.ruleset.service_names, service) if service else "",
        since=_instant(request.args.get("since"), "since", now),
        until=_instant(request.args.get("until"), "until", now),
        limit=_limit(request.args.get("limit", "100")),
    )
    return {"changes": [c.to_dict() for c in changes]}


def _when(value: Any, now: float) -> float:
    if value is None or value == "":
        return now
    seconds = None if isinstance(value, bool) else parse_timestamp(value)
    if seconds is None or seconds > now + 300:
        raise PayloadError(
            "api", "when", "epoch seconds or ISO 8601, not in the future", got=repr(value)[:40]
        )
    return seconds


def _instant(raw: str | None, name: str, now: float) -> float | None:
    if not raw:
        return None
    raw = raw.strip()[:40]
    if re.fullmatch(DURATION, raw):
        return now - parse_duration(raw)
    seconds = parse_timestamp(raw)
    if seconds is None:
        raise PayloadError(
            "api", name, "epoch seconds, ISO 8601 or a duration such as 2h", got=repr(raw)
        )
    return seconds


def _link(url: str) -> str:
    if url and not url.startswith(("https://", "http://")):
        raise PayloadError("api", "link", "an http(s) URL", got=repr(url[:40]))
    return url


def _kind(kind: str) -> str:
    if kind and kind not in KINDS:
        raise PayloadError("api", "kind", "one of " + ", ".join(KINDS), got=repr(kind))
    return kind or "release"
