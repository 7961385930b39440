"""The internal pages: incidents with their alerts and timelines, a form to post a status
update, the outbox and failed jobs. Signed in with the API token (app/pages/auth.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers.response import Response as BaseResponse

from app import actions
from app.errors import NotFound, RequestRejected, TooManyAttempts
from app.messages.wording import duration
from app.models import Severity
from app.pages import auth
from app.pages.cockpit import header
from app.pages.failed import failed_jobs
from app.pages.web import error_page, form_choice, form_text, security_headers
from app.postmortem import draft_for
from app.store.incidents import ROLES, STATUSES
from app.store.timers import Timers
from app.token_guard import token_accepted

blueprint = Blueprint("internal", __name__)
blueprint.register_error_handler(RequestRejected, error_page)
blueprint.register_error_handler(HTTPException, error_page)
PUBLIC_ENDPOINTS = frozenset({"internal.login"})
RECENT = 50
# Fields the incident hash only gets once something happens; templates are strict about
# undefined names, so absent ones read as empty.
OPTIONAL = (
    "title",
    "team",
    "service",
    "environment",
    "commander",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
)


@blueprint.before_request
def require_sign_in() -> BaseResponse | None:
    if request.endpoint in PUBLIC_ENDPOINTS or auth.signed_in():
        return None
    if request.authorization and request.authorization.type == "basic":
        return Response("wrong token", 401, {"WWW-Authenticate": 'Basic realm="Klaxon"'})
    return redirect(url_for("internal.login", next=request.full_path.rstrip("?")), 303)


@blueprint.before_request
def require_csrf_token() -> tuple[str, int] | None:
    if request.method == "POST" and not auth.csrf_ok():
        return render_template(
            "error.html.j2",
            status=400,
            title="Form expired",
            message="This form expired or came from another site. Go back, "
            "reload the page and send it again.",
        ), 400
    return None


@blueprint.after_request
def private(response: Response) -> Response:
    response.cache_control.no_store = True  # incident details never sit in a shared cache
    return security_headers(response)


@blueprint.context_processor
def csrf() -> dict[str, Any]:
    return {"csrf_token": auth.csrf_token}


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error, status = "", 200
    headers: dict[str, str] = {}  # Retry-After while the address is paused
    if request.method == "POST":
        try:
            if token_accepted(request.form.get("token", ""), via="form"):
                auth.sign_in()
                return redirect(auth.safe_next(request.args.get("next")), 303)
            error, status = "That token is not KLAXON_API_TOKEN.", 401
        except TooManyAttempts as refused:
            status, headers = refused.status, refused.http_headers()
            error = (
                f"Too many wrong tokens from your address. Sign-in is paused for "
                f"{duration(refused.retry_after_seconds)}; until then no token entered "
                "here is checked, not even the right one."
            )
    if not current_app.extensions["klaxon"].settings.api_token:
        error = "Sign-in is disabled: KLAXON_API_TOKEN is not set."
    return (
        render_template(
            "login.html.j2", error=error, next=auth.safe_next(request.args.get("next"))
        ),
        status,
        headers,
    )


@blueprint.post("/logout")
def logout() -> BaseResponse:
    session.clear()
    return redirect(url_for("public.status"), 303)


@blueprint.get("/incidents")
def incidents() -> str:
    store = current_app.extensions["klaxon"].incidents
    open_ids = store.incident_ids(RECENT, open_only=True)
    recent = [i for i in store.incident_ids(RECENT) if i not in set(open_ids)]
    return render_template(
        "incidents.html.j2",
        open=_load(open_ids),
        recent=_load(recent),
        now=current_app.extensions["klaxon"].clock.now(),
    )


@blueprint.get("/incidents/<incident_id>")
def incident(incident_id: str) -> tuple[str, int]:
    return _incident_page(incident_id, {}, {}, 200)


@blueprint.post("/incidents/<incident_id>/updates")
def post_update(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/updates: the same call (Klaxon.post_update)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "status": form_choice(
            request.form, "status", list(STATUSES), errors, "Status", required=True
        ),
        "message": form_text(request.form, "message", 5000, errors, "Message", required=True),
        "severity": form_choice(
            request.form, "severity", [s.value for s in Severity], errors, "Severity"
        ),
        "by": _by(errors),
    }
    if errors:
        return _incident_page(incident_id, form, errors, 400)
    current_app.extensions["klaxon"].post_update(
        incident_id,
        status=form["status"],
        message=form["message"],
        by=form["by"] or "web",
        severity=form["severity"],
    )
    return _done(incident_id, "Status update posted.")


@blueprint.post("/incidents/<incident_id>/ack")
def acknowledge(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/ack (app/actions.py)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    by = _by(errors, required=True)
    if errors:
        return _incident_page(incident_id, {"by": by}, errors, 400, failed="ack")
    result = actions.acknowledge(current_app.extensions["klaxon"], incident_id, by, via="web")
    if result["result"] == "already_acknowledged":
        return _done(incident_id, "It was already acknowledged; nothing changed.")
    return _done(incident_id, f"Acknowledged by {by}.")


@blueprint.post("/incidents/<incident_id>/commander")
def take_command(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/commander (app/actions.py)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "commander": form_text(
            request.form, "commander", 100, errors, "New commander", required=True
        ),
        "by": _by(errors),
    }
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="commander")
    actions.take_command(
        current_app.extensions["klaxon"], incident_id, form["commander"], form["by"] or "web"
    )
    return _done(incident_id, f"{form['commander']} is incident commander.")


@blueprint.post("/incidents/<incident_id>/roles")
def assign_role(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/roles (app/actions.py)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "role": form_choice(request.form, "role", list(ROLES), errors, "Role", required=True),
        "name": form_text(request.form, "name", 100, errors, "Name", required=True),
        "by": _by(errors),
    }
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="roles")
    actions.assign_role(
        current_app.extensions["klaxon"],
        incident_id,
        form["role"],
        form["name"],
        form["by"] or "web",
    )
    return _done(incident_id, f"{form['name']} is {ROLES[form['role']]}.")


@blueprint.post("/incidents/<incident_id>/severity")
def change_severity(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/severity (app/actions.py)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "severity": form_choice(
            request.form,
            "severity",
            [s.value for s in Severity],
            errors,
            "Severity",
            required=True,
        ),
        "by": _by(errors),
    }
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="severity")
    result = actions.change_severity(
        current_app.extensions["klaxon"], incident_id, form["severity"], form["by"] or "web"
    )
    if result["result"] == "unchanged":
        return _done(incident_id, f"It is already {form['severity']}; nothing changed.")
    return _done(incident_id, f"Severity changed to {form['severity']}.")


@blueprint.post("/incidents/<incident_id>/resolve")
def resolve(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/resolve (app/actions.py): the message, if
    any, is the resolution update customers read."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "message": form_text(request.form, "message", 5000, errors, "Resolution"),
        "by": _by(errors),
    }
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="resolve")
    actions.resolve(
        current_app.extensions["klaxon"], incident_id, form["by"] or "web", form["message"]
    )
    return _done(incident_id, "Incident resolved.")


def _by(errors: dict[str, str], required: bool = False) -> str:
    """The responder's name; remembered in the session so the next form has it filled in."""
    by = form_text(request.form, "by", 100, errors, "Your name", required=required)
    if by and "by" not in errors:
        session["responder"] = by
    return by


def _done(incident_id: str, message: str) -> BaseResponse:
    flash(message)
    return redirect(url_for("internal.incident", incident_id=incident_id) + "#timeline", 303)


def _open_incident(incident_id: str) -> dict[str, Any]:
    """The incident, unless it is resolved: then every action is a 409 that changes nothing."""
    return actions.require_open(incident_id, _incident(incident_id))


@blueprint.get("/incidents/<incident_id>/postmortem.md")
def postmortem(incident_id: str) -> Response:
    _incident(incident_id)
    return Response(
        draft_for(current_app.extensions["klaxon"], incident_id),
        mimetype="text/markdown",
        headers={"Content-Disposition": f"inline; filename={quote(incident_id)}-postmortem.md"},
    )


@blueprint.get("/outbox")
def outbox() -> str:
    messages = current_app.extensions["klaxon"].outbox.entries(100)
    return render_template("outbox.html.j2", messages=messages)


@blueprint.get("/failed")
def failed() -> str:
    return render_template(
        "failed.html.j2", jobs=failed_jobs(current_app.extensions["klaxon"].redis)
    )


def _incident_page(
    incident_id: str,
    form: dict[str, str],
    errors: dict[str, str],
    status: int,
    failed: str = "update",
) -> tuple[str, int]:
    """The page; after a refused form, `failed` names it so its problems show beside it."""
    klaxon = current_app.extensions["klaxon"]
    found = _incident(incident_id)
    timeline = klaxon.incidents.timeline(incident_id)
    now = klaxon.clock.now()
    timers = Timers(klaxon.redis)
    escalation = timers.due_at("escalate", incident_id)
    postmortem_due = timers.due_at("postmortem", incident_id)
    name = session.get("responder", "")
    return render_template(
        "incident.html.j2",
        incident=found,
        alerts=klaxon.incidents.incident_alerts(incident_id),
        changes=klaxon.changes.suspects(incident_id),
        timeline=list(reversed(timeline)),
        head=header(found, timeline, klaxon.ruleset, escalation, now, postmortem_due),
        statuses=STATUSES,
        roles=ROLES,
        severities=[s.value for s in Severity],
        form={
            "status": "",
            "message": "",
            "severity": "",
            "commander": "",
            "role": "",
            "name": "",
            "by": name,
            **form,
        },
        errors=errors,
        failed=failed if errors else "",
        now=now,
    ), status


def _incident(incident_id: str) -> dict[str, Any]:
    found = current_app.extensions["klaxon"].incidents.incident(incident_id[:40])
    if found is None:
        raise NotFound(f"There is no incident {incident_id[:40]!r}.")
    return _complete(found)


def _complete(incident: dict[str, Any]) -> dict[str, Any]:
    return {**{name: "" for name in OPTIONAL}, **incident}


def _load(ids: list[str]) -> list[dict[str, Any]]:
    store = current_app.extensions["klaxon"].incidents
    return [_complete(i) for i in (store.incident(x) for x in ids) if i]
