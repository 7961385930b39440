"""POST /slack/commands, /slack/interactions and /slack/events: Slack's three request URLs
(slack/manifest.yml). Each request is verified over its raw body (signature.py) and handled
once (replay.py) before anything is read from it, and answered within Slack's 3 s: every
action is one Redis call; the only slower work, reading a pinned message, is a job."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, current_app, request

from app import plaintext
from app.errors import PayloadError
from app.notifications import enqueue_slack_pin
from app.slack import forms, handlers, replay, signature
from app.slack.commands import INCIDENT_ID, Command, CommandError, parse
from app.slack.handlers import Actor, Reply

blueprint = Blueprint("slack", __name__, url_prefix="/slack")

# The sitrep's buttons (workers' Slack channel draws them): action_id -> the command it is.
BUTTONS = {
    "klaxon_ack": "ack",
    "klaxon_command": "ic",
    "klaxon_update": "update",
    "klaxon_resolve": "resolve",
}
PIN_REACTION = "pushpin"


@blueprint.post("/commands")
def command() -> dict[str, Any]:
    form = _verified_form()
    actor = _actor(form.get("user_id", ""), form.get("user_name", ""))
    try:
        parsed = parse(form.get("text", ""))
    except CommandError as exc:
        return _answer(Reply(str(exc)))
    klaxon = current_app.extensions["klaxon"]
    return _answer(
        handlers.run(klaxon, parsed, actor, form.get("channel_id", "")), form.get("trigger_id", "")
    )


@blueprint.post("/interactions")
def interaction() -> dict[str, Any]:
    payload = _json_object(_verified_form().get("payload", ""), "payload")
    user = _dict(payload.get("user"))
    actor = _actor(str(user.get("id", "")), str(user.get("username") or user.get("name") or ""))
    if payload.get("type") == "view_submission":
        return _submitted(payload, actor)
    if payload.get("type") != "block_actions":
        return {}
    pressed = payload.get("actions") or [{}]
    pressed = pressed[0] if isinstance(pressed, list) and isinstance(pressed[0], dict) else {}
    verb = BUTTONS.get(str(pressed.get("action_id", "")))
    incident_id = pressed.get("value")
    if verb is None or not isinstance(incident_id, str) or not INCIDENT_ID.match(incident_id):
        return {}
    klaxon = current_app.extensions["klaxon"]
    # A button names its incident: the same command as typing `/klaxon <verb> <incident>`.
    reply = handlers.run(klaxon, Command(verb, incident=incident_id), actor, "")
    return _answer(reply, str(payload.get("trigger_id", "")))


@blueprint.post("/events")
def event() -> dict[str, Any]:
    klaxon = current_app.extensions["klaxon"]
    body = _verified_body()
    payload = _json_object(body.decode("utf-8", "replace"), "body")
    if payload.get("type") == "url_verification":
        return {"challenge": str(payload.get("challenge", ""))[:200]}
    event_id = str(payload.get("event_id", ""))
    skew = klaxon.settings.webhook_clock_skew_seconds
    if payload.get("type") != "event_callback" or not event_id:
        return {}
    if not replay.first_time(klaxon.redis, "event", event_id, skew):
        return {}  # Slack retrying a delivery we took
    item = _dict(payload.get("event"))
    _pin_to_timeline(klaxon, item)
    return {}


def _pin_to_timeline(klaxon: Any, event: dict[str, Any]) -> None:
    """A :pushpin: on a message in an incident's channel puts that message on its timeline."""
    target = _dict(event.get("item"))
    if event.get("type") != "reaction_added" or event.get("reaction") != PIN_REACTION:
        return
    channel, ts = str(target.get("channel", "")), str(target.get("ts", ""))
    if target.get("type") != "message" or not channel or not ts:
        return
    incident_id = handlers.incident_for_channel(klaxon, channel)
    if incident_id:
        by = _actor(str(event.get("user", "")), "").name
        enqueue_slack_pin(klaxon.redis, incident_id, channel[:40], ts[:40], by)


def _submitted(payload: dict[str, Any], actor: Actor) -> dict[str, Any]:
    view = _dict(payload.get("view"))
    if view.get("callback_id") != forms.CALLBACK_ID:
        return {}
    incident_id, status, message = forms.submitted_update(view)
    message = plaintext.clean(message).strip()
    if not message:
        return {"response_action": "errors", "errors": {forms.MESSAGE_BLOCK: "Say what we know."}}
    klaxon = current_app.extensions["klaxon"]
    if status not in handlers.STATUSES or klaxon.incidents.incident(incident_id[:40]) is None:
        return {"response_action": "errors", "errors": {forms.STATUS_BLOCK: "Choose a status."}}
    reply = handlers.post_update(klaxon, incident_id, status, message[:5000], actor)
    if not reply.in_channel:
        return {"response_action": "errors", "errors": {forms.STATUS_BLOCK: reply.text}}
    return {"response_action": "clear"}


def _answer(reply: Reply, trigger_id: str = "") -> dict[str, Any]:
    """What Slack shows: the reply, or the update form opened in its place."""
    if reply.update_form_for:
        klaxon = current_app.extensions["klaxon"]
        incident = klaxon.incidents.incident(reply.update_form_for) or {}
        view = forms.update_form(
            reply.update_form_for, incident.get("title", ""), reply.update_status
        )
        if forms.open_form(klaxon.settings.outbound, trigger_id, view):
            return {}
        reply = Reply("Give the update in the command: `/klaxon update <status> <message>`.")
    return {"response_type": "in_channel" if reply.in_channel else "ephemeral", "text": reply.text}


def _actor(user_id: str, handle: str) -> Actor:
    klaxon = current_app.extensions["klaxon"]
    return handlers.actor_for(klaxon, plaintext.clean(user_id)[:40], plaintext.clean(handle)[:80])


def _verified_body() -> bytes:
    """The raw body, once its signature and freshness are checked and it is not a replay."""
    klaxon = current_app.extensions["klaxon"]
    body = request.get_data(cache=True)
    seen = signature.verify(
        klaxon.settings.slack_signing_secret,
        request.headers.get(signature.TIMESTAMP_HEADER, ""),
        request.headers.get(signature.SIGNATURE_HEADER, ""),
        body,
        klaxon.clock,
    )
    replay.refuse_replay(klaxon.redis, seen, klaxon.settings.webhook_clock_skew_seconds)
    return body


def _verified_form() -> dict[str, str]:
    """A verified form body (commands, interactions): one value per field."""
    text = _verified_body().decode("utf-8")  # verified: UTF-8
    return {name: values[0] for name, values in parse_qs(text, max_num_fields=100).items()}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_object(text: str, field: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise PayloadError("slack", field, "a JSON object", got="something else")
    return plaintext.clean_json(value)
