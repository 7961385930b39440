"""POST /webhooks/<source>: verify -> parse -> ingest -> 202. The only module that reads the
request for webhooks; errors are raised, and mapped to answers in app/http_errors.py."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, request
from werkzeug.wrappers import Request

from app import jsontext, plaintext
from app.errors import PayloadError, UnknownSource, UnsupportedMediaType
from app.pipeline import ingest
from app.sources._signing import require_fresh

blueprint = Blueprint("webhooks", __name__)

JSON_CONTENT_TYPES = ("application/json", "text/json")


@blueprint.post("/webhooks/<source_name>")
def receive(source_name: str) -> tuple[dict[str, Any], int]:
    # Production requests take app/fastpath.py, which calls the same handle(); this route
    # answers when the app is used without it, and gives Flask's 405 its Allow header.
    return handle(current_app.extensions["klaxon"], request, source_name, g.log_fields), 202


def handle(
    klaxon: Any, request: Request, source_name: str, log_fields: dict[str, Any]
) -> dict[str, Any]:
    """The 202 body for one webhook request; raises the errors app/http_errors.py answers.
    `log_fields` collects what the request log line reports."""
    log_fields["source"] = source_name
    source = check_before_body(klaxon, request, source_name)
    body = request.get_data(cache=False)  # raises 413 past max_content_length
    if source_name in klaxon.change_sources:  # Heroku, GitHub: changes, not alerts
        return _receive_change(klaxon, request, source, source_name, body, log_fields)
    source.verify(request.headers, body, request.args)
    stamp = source.signed_timestamp(request.headers)
    if stamp is not None:  # a captured request sent again later: refused before parsing
        skew = klaxon.settings.webhook_clock_skew_seconds
        require_fresh(source_name, stamp.header, stamp.at, klaxon.clock.now(), skew)
    parsed = source.parse(request.headers, _decode(source_name, body), body)
    log_fields.update(event=parsed.event_type, delivery=parsed.delivery_id[:200])
    answer = ingest(
        parsed,
        body,
        klaxon.ruleset,
        klaxon.incidents,
        klaxon.clock.now(),
        klaxon.enqueue,
        klaxon.suspect_changes,
    )
    log_fields.update(outcome=answer.outcome.value, alert=answer.alert, incident=answer.incident)
    return answer.to_json()


def check_before_body(klaxon: Any, request: Request, source_name: str) -> Any:
    """The source, once everything the headers alone can refuse is refused: an unknown
    source, a body that is not JSON, a wrong token, a missing or malformed signature. The web
    front (app/front.py) calls this before it reads the body, so a client with no valid
    credentials is answered at once instead of being waited for."""
    source = klaxon.sources.get(source_name)
    change_source = klaxon.change_sources.get(source_name)
    if source is None and change_source is None:
        raise UnknownSource(
            f"no webhook source named {source_name!r}",
            expected="one of " + ", ".join(sorted([*klaxon.sources, *klaxon.change_sources])),
        )
    _require_json_content_type(request, source_name)
    if change_source is not None:
        change_source.verify_headers(request.headers)
        return change_source
    source.verify_headers(request.headers, request.args)
    return source


def _receive_change(
    klaxon: Any,
    request: Request,
    source: Any,
    source_name: str,
    body: bytes,
    log_fields: dict[str, Any],
) -> dict[str, Any]:
    """A change sender's delivery: verified, parsed, then recorded (app/change_intake.py)."""
    source.verify(request.headers, body)
    parsed = source.parse(request.headers, _decode(source_name, body))
    log_fields.update(event=parsed.event_type, delivery=parsed.delivery_id[:200])
    if parsed.change is None:
        answer: dict[str, Any] = {"outcome": "ignored", "reason": parsed.ignored_reason}
    else:
        answer = klaxon.record_change(parsed.change, source_name, parsed.delivery_id)
    log_fields.update(outcome=answer["outcome"], change=answer.get("change"))
    return answer


def _require_json_content_type(request: Request, source_name: str) -> None:
    mimetype = request.mimetype or ""
    if mimetype not in JSON_CONTENT_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"{source_name}: expected Content-Type application/json, got {mimetype or 'none'}",
            expected="application/json",
            got=mimetype or None,
            hint="Datadog: untick 'Encode as form' on the webhook",
        )


def _decode(source_name: str, body: bytes) -> Any:
    if not body.strip():
        raise PayloadError(source_name, "", "a JSON object", got="an empty body")
    try:
        payload = jsontext.loads_body(body)
    except RecursionError as exc:
        raise PayloadError(
            source_name, "", "JSON nested less deeply", got="nesting too deep to read"
        ) from exc
    except ValueError as exc:  # JSONDecodeError, invalid UTF-8, over-long integers
        raise PayloadError(source_name, "", "valid JSON", got=_describe(exc)) from exc
    # Outside text enters here: a NUL or a U+FFFF in a tag would reach the status page and
    # make its Atom feed invalid XML (app/plaintext.py). Most bodies need no walk.
    return plaintext.clean_json(payload) if plaintext.may_need_cleaning(body) else payload


def _describe(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"bytes that are not UTF-8 at offset {exc.start}"
    return "unreadable JSON"
