"""GET /api/v2/*.json: the public status in Atlassian Statuspage's public-API shape (built in
app/pages/statusjson.py). No sign-in, readable from any origin (CORS *), cached briefly like
the HTML page: a status widget on another site polls these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

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


def _documents() -> StatusDocuments:
    klaxon = current_app.extensions["klaxon"]
    now = klaxon.clock.now()
    current = klaxon.maintenance.current()
    page = status_page(klaxon.incidents, klaxon.ruleset, current, now, klaxon.settings.public_url)
    components = declared_components(klaxon.ruleset)
    windows = scheduled_windows(klaxon.ruleset, current, now, components, guarded)
    info = PageInfo(klaxon.settings.status_title, klaxon.settings.public_url)
    return StatusDocuments(info, page, tuple(sorted(set(components.values()))), windows)


def _serve(build: Callable[[StatusDocuments], dict[str, Any]]) -> Response:
    response = jsonify(build(_documents()))
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    return response


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
