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
from app.api import INCIDENT_ID
from app.errors import IncompleteResolution, NotFound, RequestRejected, TooManyAttempts
from app.messages.wording import duration
from app.models import Severity
from app.pages import auth
from app.pages.cockpit import header
from app.pages.failed import failed_jobs
from app.pages.web import error_page, form_choice, form_text, security_headers
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

blueprint = Blueprint("internal", __name__)
blueprint.register_error_handler(RequestRejected, error_page)
blueprint.register_error_handler(HTTPException, error_page)
PUBLIC_ENDPOINTS = frozenset({"internal.login"})
RECENT = 50
# Fields the incident hash only gets once something happens; templates are strict about
# undefined names, so absent ones read as empty.
OPTIONAL = (
    "merged_into",
    "title",
    "team",
    "service",
    "environment",
    "commander",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "data_loss",
    "customer_impact",
    "follow_ups",
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
def incidents() -> tuple[str, int]:
    return _incidents_page({}, {}, 200)


@blueprint.post("/incidents/declare")
def declare() -> Any:
    """The form's twin of POST /api/incidents (app/actions.declare)."""
    klaxon = current_app.extensions["klaxon"]
    errors: dict[str, str] = {}
    form = {
        "title": form_text(request.form, "title", 200, errors, "Title", required=True),
        "severity": form_choice(
            request.form, "severity", [s.value for s in Severity], errors, "Severity", True
        ),
        "service": form_text(request.form, "service", 200, errors, "Service"),
        "team": form_choice(request.form, "team", sorted(klaxon.ruleset.teams), errors, "Team"),
        "summary": form_text(request.form, "summary", 5000, errors, "What is happening"),
        "by": _by(errors),
    }
    if errors:
        return _incidents_page(form, errors, 400)
    declared = actions.declare(
        klaxon,
        actions.Declaration(
            title=form["title"],
            severity=form["severity"],
            summary=form["summary"],
            service=form["service"],
            team=form["team"],
            by=form["by"] or "web",
        ),
    )
    flash(f"{declared.incident_id} declared.")
    return redirect(url_for("internal.incident", incident_id=declared.incident_id), 303)


def _incidents_page(form: dict[str, str], errors: dict[str, str], status: int) -> tuple[str, int]:
    klaxon = current_app.extensions["klaxon"]
    store = klaxon.incidents
    open_ids = store.incident_ids(RECENT, open_only=True)
    recent = [i for i in store.incident_ids(RECENT) if i not in set(open_ids)]
    return render_template(
        "incidents.html.j2",
        open=_load(open_ids),
        recent=_load(recent),
        now=klaxon.clock.now(),
        severities=[s.value for s in Severity],
        services=sorted(klaxon.ruleset.services),
        teams=sorted(klaxon.ruleset.teams),
        form={"title": "", "severity": "", "service": "", "team": "", "summary": "", **form},
        by=form.get("by") or session.get("responder", ""),
        errors=errors,
    ), status


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
    if form["status"] == "resolved" and not errors:
        _check_resolution(incident_id, form["message"], Checklist(), errors, "status")
        if "status" in errors:  # this form has no checklist; the Resolve form has
            errors["status"] += " Use the Resolve form, which asks."
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
    if result["result"] is Acted.ALREADY_ACKNOWLEDGED:
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


@blueprint.post("/incidents/<incident_id>/merge")
def merge(incident_id: str) -> Any:
    """The form's twin of POST /api/incidents/<id>/merge (app/actions.py)."""
    _open_incident(incident_id)
    errors: dict[str, str] = {}
    form = {
        "into": form_text(request.form, "into", 40, errors, "Merge into", required=True),
        "by": _by(errors),
    }
    if form["into"] and not INCIDENT_ID.match(form["into"]):
        errors["into"] = "Merge into: an incident id such as INC-2026-0001."
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="merge")
    try:
        result = actions.merge(
            current_app.extensions["klaxon"], incident_id, form["into"], form["by"] or "web"
        )
    except RequestRejected as refused:  # Conflict or PayloadError: said beside the form
        errors["into"] = f"Not merged: {refused.message}."
        return _incident_page(incident_id, form, errors, refused.status, failed="merge")
    return _done(incident_id, f"Merged into {result['merged_into']}.")


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
    if result["result"] is Acted.UNCHANGED:
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
        "customer_impact": form_text(
            request.form, "customer_impact", IMPACT_CHARS, errors, "Customer impact"
        ),
        "data_loss": form_choice(request.form, "data_loss", list(DATA_LOSS), errors, "Data lost"),
        "follow_ups": form_text(request.form, "follow_ups", FOLLOW_UPS_CHARS, errors, "Follow-ups"),
        "by": _by(errors),
    }
    follow_ups = follow_up_lines(form["follow_ups"])
    if len(follow_ups) > MAX_FOLLOW_UPS:
        errors["follow_ups"] = f"At most {MAX_FOLLOW_UPS} follow-ups, one per line."
    checklist = Checklist(form["customer_impact"], form["data_loss"], follow_ups)
    if not errors:
        _check_resolution(incident_id, form["message"], checklist, errors, "data_loss")
    if errors:
        return _incident_page(incident_id, form, errors, 400, failed="resolve")
    actions.resolve(
        current_app.extensions["klaxon"],
        incident_id,
        form["by"] or "web",
        form["message"],
        checklist,
    )
    return _done(incident_id, "Incident resolved.")


def _check_resolution(
    incident_id: str, message: str, checklist: Checklist, errors: dict[str, str], field: str
) -> None:
    """The severity's rule for what a resolution states (actions.require_resolution, as the
    API applies it), as a problem beside the form."""
    try:
        actions.require_resolution(
            current_app.extensions["klaxon"], incident_id, message, checklist
        )
    except IncompleteResolution as refused:
        words = {"message": "a resolution message", "data_loss": "whether data was lost"}
        wanted = ", ".join(words.get(m, m.replace("_", " ")) for m in refused.missing)
        errors[field] = f"This severity's resolution must state {wanted}."


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
    alerts = klaxon.incidents.incident_alerts(incident_id)
    # Incidents merged into this one (one outage): their alerts and timelines show here.
    children = klaxon.incidents.children(found)
    for child in children:
        alerts += [a | {"merged_from": child} for a in klaxon.incidents.incident_alerts(child)]
        timeline += [
            e | {"text": f"{child}: {e['text']}"} for e in klaxon.incidents.timeline(child)
        ]
    timeline.sort(key=lambda e: float(e["at"]))
    now = klaxon.clock.now()
    timers = Timers(klaxon.redis)
    escalation = timers.due_at("escalate", incident_id)
    postmortem_due = timers.due_at("postmortem", incident_id)
    name = session.get("responder", "")
    return render_template(
        "incident.html.j2",
        incident=found,
        alerts=alerts,
        children=children,
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
            "customer_impact": "",
            "data_loss": "",
            "follow_ups": "",
            "into": "",
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
