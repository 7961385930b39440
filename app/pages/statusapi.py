"""GET /api/v2/*.json: the public status in Atlassian Statuspage's public-API shape (built in
app/pages/statusjson.py). No sign-in, readable from any origin (CORS *), cached briefly like
the HTML page: a status widget on another site polls these. ETag and Last-Modified come from
app/pages/freshness.py, so a conditional poll is a 304 without building the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from app.pages.board import component_groups
from app.pages.freshness import status_freshness
from app.pages.schedule import scheduled_windows
from app.pages.status import declared_components, guarded, status_page
from app.pages.statusjson import PageInfo, StatusDocuments
from app.pages.web import security_headers

blueprint = Blueprint("status_api", __name__, url_prefix="/api/v2")
MAX_AGE_SECONDS = 30


@blueprint.after_request
def _public_headers(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    return security_headers(response)


def _serve(build: Callable[[StatusDocuments], dict[str, Any]]) -> Response:
    """The document, or 304 when the client's copy is current (checked before building)."""
    klaxon = current_app.extensions["klaxon"]
    settings, now = klaxon.settings, klaxon.clock.now()
    current = klaxon.maintenance.current()
    components = declared_components(klaxon.ruleset)
    windows = scheduled_windows(klaxon.ruleset, current, now, components, guarded)
    fresh = status_freshness(
        klaxon.incidents,
        klaxon.ruleset,
        current,
        windows,
        now,
        (settings.status_title, settings.public_url),
    )
    if fresh.not_modified(request, request.path):
        response = Response(status=304)
    else:
        page = status_page(klaxon.incidents, klaxon.ruleset, current, now, settings.public_url)
        info = PageInfo(settings.status_title, settings.public_url)
        declared = tuple(sorted(set(components.values())))
        groups = component_groups(klaxon.ruleset)
        response = jsonify(build(StatusDocuments(info, page, declared, windows, groups)))
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    return fresh.stamp(response, request.path)


@blueprint.get("/summary.json")
def summary() -> Response:
    return _serve(StatusDocuments.summary)


@blueprint.get("/status.json")
def status() -> Response:
    return _serve(StatusDocuments.status)


@blueprint.get("/components.json")
def components() -> Response:
    return _serve(StatusDocuments.components)


@blueprint.get("/incidents.json")
def incidents() -> Response:
    return _serve(StatusDocuments.incidents)


@blueprint.get("/incidents/unresolved.json")
def unresolved() -> Response:
    return _serve(lambda d: d.incidents(unresolved_only=True))


@blueprint.get("/scheduled-maintenances.json")
def maintenances() -> Response:
    return _serve(StatusDocuments.scheduled_maintenances)


@blueprint.get("/scheduled-maintenances/upcoming.json")
def upcoming() -> Response:
    return _serve(lambda d: d.scheduled_maintenances("scheduled"))


@blueprint.get("/scheduled-maintenances/active.json")
def active() -> Response:
    return _serve(lambda d: d.scheduled_maintenances("in_progress"))
