"""The public status page, its Atom feed and the stylesheet: no sign-in, and nothing internal
(what is shown, and why, is in app/pages/status.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from app.errors import RequestRejected
from app.messages.wording import iso
from app.pages.freshness import status_freshness
from app.pages.schedule import scheduled_windows
from app.pages.status import StatusPage, declared_components, guarded, quiet_since, status_page
from app.pages.web import error_page, security_headers

blueprint = Blueprint("public", __name__)
blueprint.after_request(security_headers)
blueprint.register_error_handler(RequestRejected, error_page)
blueprint.register_error_handler(HTTPException, error_page)
STATUS_MAX_AGE_SECONDS = 30  # a stampede of customers during an outage hits the cache
FEED_ENTRIES = 50


def _page(scheduled_under_way: tuple[str, ...] = ()) -> StatusPage:
    klaxon = current_app.extensions["klaxon"]
    return status_page(
        klaxon.incidents,
        klaxon.ruleset,
        klaxon.maintenance.current(),
        klaxon.clock.now(),
        klaxon.settings.public_url,
        scheduled_under_way,
    )


@blueprint.get("/status")
def status() -> Response:
    klaxon = current_app.extensions["klaxon"]
    now = klaxon.clock.now()
    # Maintenance windows from rules/ that are coming or under way (the one switched on with
    # `klaxon maintenance` is the page's own "Maintenance in progress" card).
    windows = [
        w
        for w in scheduled_windows(
            klaxon.ruleset, None, now, declared_components(klaxon.ruleset), guarded
        )
        if w.status(now) != "completed"
    ]
    under_way = tuple(
        sorted({c for w in windows if w.status(now) == "in_progress" for c in w.components})
    )
    response = Response(
        render_template(
            "status.html.j2",
            page=_page(under_way),
            scheduled=windows,
            title=klaxon.settings.status_title,
        )
    )
    response.cache_control.public = True
    response.cache_control.max_age = STATUS_MAX_AGE_SECONDS
    return response


@blueprint.get("/status/feed.atom")
def feed() -> Response:
    """The feed, or 304 when the reader's copy is current (checked before building it)."""
    klaxon = current_app.extensions["klaxon"]
    settings, now = klaxon.settings, klaxon.clock.now()
    current = klaxon.maintenance.current()
    fresh = status_freshness(
        klaxon.incidents,
        klaxon.ruleset,
        current,
        (),  # the feed lists incidents only
        now,
        (settings.status_title, settings.public_url),
    )
    if fresh.not_modified(request, "feed"):
        return _cacheable(fresh.stamp(Response(status=304), "feed"))
    page = _page()
    public_url = settings.public_url
    incidents = sorted(page.open + page.history, key=lambda i: i.updated_at, reverse=True)[
        :FEED_ENTRIES
    ]
    updated = max([i.updated_at for i in incidents], default=quiet_since(now))
    body = render_template(
        "feed.atom.j2",
        incidents=incidents,
        updated=iso(updated),
        public_url=public_url,
        title=settings.status_title,
        tag=_tag_authority(public_url),
    )
    return _cacheable(fresh.stamp(Response(body, mimetype="application/atom+xml"), "feed"))


def _cacheable(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = STATUS_MAX_AGE_SECONDS
    return response


def _tag_authority(public_url: str) -> str:
    # Atom ids must never change: a tag URI (RFC 4151) from the deployment's host.
    return f"tag:{urlsplit(public_url).hostname or 'localhost'},2026:klaxon"


@blueprint.get("/assets/klaxon.css")
def stylesheet() -> Response:
    folder = Path(current_app.extensions["klaxon"].settings.templates_dir) / "web"
    response = Response((folder / "klaxon.css").read_text(encoding="utf-8"), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
