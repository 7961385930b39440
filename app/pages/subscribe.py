"""Subscribing a webhook URL to the public status page, and unsubscribing it: no sign-in, on
only when KLAXON_SUBSCRIBERS_SECRET is set (404 otherwise).

Two doors, one implementation (`_subscribe`):
- the form at /status/subscribe (a session CSRF token: the status page itself is cached in
  shared caches, so the form has its own uncached page);
- a JSON POST to the same URL, in the body Statuspage's API takes for a webhook subscriber
  (`{"subscriber": {"endpoint": "https://..."}}`; `{"endpoint": ...}` also does). A browser
  cannot send JSON across sites without CORS's preflight, which this route never grants, so
  it needs no token.

Unsubscribing: every post carries `meta.unsubscribe`, /status/unsubscribe/<id>/<token>. A GET
shows a button (link previewers and mail scanners follow links; they must not unsubscribe);
a POST or DELETE to it unsubscribes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from app.errors import RequestRejected
from app.messages.wording import iso
from app.pages import auth
from app.pages.web import error_page, security_headers
from app.store.subscribers import WEBHOOK, Subscribed, Subscriber, SubscriberStore
from app.subscriber_address import RefusedAddress, check_url

blueprint = Blueprint("subscribe", __name__)
blueprint.register_error_handler(RequestRejected, error_page)
blueprint.register_error_handler(HTTPException, error_page)


@blueprint.before_request
def only_when_on() -> None:
    if not current_app.extensions["klaxon"].settings.subscribers_secret:
        raise NotFound("Subscriptions are not turned on for this status page.")


@blueprint.after_request
def uncached(response: Response) -> Response:
    response.cache_control.no_store = True  # a CSRF token, or someone's unsubscribe link
    return security_headers(response)


@blueprint.context_processor
def page_title() -> dict[str, str]:
    return {"status_title": current_app.extensions["klaxon"].settings.status_title}


@blueprint.get("/status/subscribe")
def form() -> str:
    return render_template(
        "subscribe.html.j2", view="form", csrf_token=auth.csrf_token(), error="", endpoint=""
    )


@blueprint.post("/status/subscribe")
def subscribe() -> Any:
    if request.mimetype == "application/json":
        return _subscribe_json()
    if not auth.csrf_ok():
        return _page("form", 400, error="This form expired. Reload the page and send it again.")
    endpoint = str(request.form.get("endpoint", ""))
    try:
        outcome, subscriber = _subscribe(endpoint)
    except RefusedAddress as refused:
        return _page("form", 400, error=f"Not subscribed: {refused}.", endpoint=endpoint)
    if outcome is Subscribed.FULL:
        return _page("form", 409, error="This status page takes no more subscribers.")
    return _page("subscribed", 200, subscriber=subscriber, endpoint=endpoint)


@blueprint.get("/status/unsubscribe/<subscriber_id>/<token>")
def confirm_unsubscribe(subscriber_id: str, token: str) -> str:
    return render_template(
        "subscribe.html.j2", view="confirm", subscriber_id=subscriber_id, token=token
    )


@blueprint.route("/status/unsubscribe/<subscriber_id>/<token>", methods=["POST", "DELETE"])
def unsubscribe(subscriber_id: str, token: str) -> Any:
    removed = _store().unsubscribe(subscriber_id, token)
    if request.method == "DELETE":
        if not removed:
            return jsonify({"error": "not_found", "message": "no such subscription"}), 404
        return Response(status=204)
    return _page("unsubscribed" if removed else "unknown", 200 if removed else 404)


def _subscribe_json() -> tuple[Response, int]:
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    inner = body.get("subscriber") if isinstance(body, dict) else None
    endpoint = (inner if isinstance(inner, dict) else body if isinstance(body, dict) else {}).get(
        "endpoint"
    )
    if not isinstance(endpoint, str):
        return _json_error(400, "invalid_request", 'send {"subscriber": {"endpoint": "<URL>"}}')
    try:
        outcome, subscriber = _subscribe(endpoint)
    except RefusedAddress as refused:
        return _json_error(400, "invalid_endpoint", str(refused))
    if outcome is Subscribed.FULL:
        return _json_error(409, "subscribers_full", "this status page takes no more subscribers")
    if subscriber is None:  # that URL was subscribed already: its link is not told again
        return jsonify({"subscriber": {"endpoint": endpoint.strip(), "mode": WEBHOOK}}), 200
    return jsonify({"subscriber": _subscriber_json(subscriber)}), 201


def _subscribe(endpoint: str) -> tuple[Subscribed, Subscriber | None]:
    """Check the URL (scheme, host, every address public) and store it.

    Raises:
        RefusedAddress: the URL is not one Klaxon posts to.
    """
    settings = current_app.extensions["klaxon"].settings
    url = check_url(endpoint, settings.subscribers_allow_loopback)
    return _store().subscribe(WEBHOOK, url)


def _store() -> SubscriberStore:
    klaxon = current_app.extensions["klaxon"]
    return SubscriberStore(klaxon.redis, klaxon.clock, klaxon.settings.subscribers_max)


def unsubscribe_link(subscriber: Subscriber) -> str:
    public_url = current_app.extensions["klaxon"].settings.public_url
    return f"{public_url}/status/unsubscribe/{subscriber.id}/{subscriber.token}"


def _subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    """Statuspage's subscriber fields that apply (id, mode, endpoint, created_at) and the
    unsubscribe link, told once, to whoever subscribed."""
    return {
        "id": subscriber.id,
        "mode": subscriber.kind,
        "endpoint": subscriber.address,
        "created_at": iso(subscriber.created_at),
        "unsubscribe_url": unsubscribe_link(subscriber),
    }


def _page(view: str, status: int, **values: Any) -> tuple[str, int]:
    defaults: dict[str, Any] = {"error": "", "endpoint": "", "subscriber": None}
    if view == "form":
        defaults["csrf_token"] = auth.csrf_token()
    if values.get("subscriber") is not None:
        values["unsubscribe"] = unsubscribe_link(values["subscriber"])
    return render_template("subscribe.html.j2", view=view, **(defaults | values)), status


def _json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status
