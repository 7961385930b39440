"""POST /webhooks/<source> as plain WSGI, in front of Flask.

Flask's request cycle (contexts, routing, hooks, the response object) cost about as much CPU as
everything Klaxon does with a webhook (docs/benchmarks.md), and the receiver is the one route
that takes load. This middleware answers exactly that route with the same code and the same
answers: webhooks.handle() does the work on a Werkzeug request of Flask's own request class,
errors become answers through http_errors.answer_for(), and the request log line is
logs.log_request()'s. Everything else, including other methods on a webhook URL (405 with
Allow) and paths Flask's router would not match, goes to Flask unchanged.

Flask's signals (request_started, got_request_exception, ...) are not sent for these requests:
nothing in Klaxon listens, and Sentry's WSGI middleware, which wraps Flask.__call__ and so this
too, still scopes each request (tests/test_observability.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from app import http_errors, jsontext, webhooks
from app.http_headers import transport_headers
from app.logs import log_request

PREFIX = "/webhooks/"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebhookFastPath:
    """WSGI middleware; `flask_app.wsgi_app = WebhookFastPath(flask_app, flask_app.wsgi_app)`."""

    def __init__(self, flask_app: Flask, wrapped: WSGIApp) -> None:
        self.flask_app = flask_app
        self.wrapped = wrapped
        # HSTS as Flask's answers have it (app/http_headers.py)
        self.transport_headers = list(
            transport_headers(flask_app.extensions["klaxon"].settings).items()
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        source_name = _webhook_source(environ)
        if source_name is None:
            return self.wrapped(environ, start_response)
        started = time.perf_counter()
        app = self.flask_app
        request = app.request_class(environ)
        # What Flask's request reads from the app config inside a request context.
        request.max_content_length = app.config["MAX_CONTENT_LENGTH"]
        fields: dict[str, Any] = {}
        headers: dict[str, str] = {}
        try:
            body = webhooks.handle(app.extensions["klaxon"], request, source_name, fields)
            status = 202
        except Exception as error:  # noqa: BLE001 - answered, and reported if unexpected
            answer = http_errors.answer_for(error)
            fields.update(answer.log_fields)
            status, body, headers = answer.status, answer.body, answer.headers
        finally:
            request.close()
        data = _json_bytes(app, body)
        start_response(
            f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                *headers.items(),
                *self.transport_headers,
            ],
        )
        log_request("POST", request.path, status, started, fields)
        return [data]


def _webhook_source(environ: dict[str, Any]) -> str | None:
    """The <source> of a POST /webhooks/<source>, or None for anything Flask should answer.
    <source> is one non-empty path segment, as the route's default converter matches it."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    # WSGI gives the path as latin-1; Werkzeug (so Flask) reads it as UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    if not path.startswith(PREFIX):
        return None
    name = path[len(PREFIX) :]
    return name if name and "/" not in name else None


def _json_bytes(app: Flask, body: dict[str, Any]) -> bytes:
    """The bytes Flask's JSON provider writes for `body` (compact unless in debug mode)."""
    provider = app.json
    compact = getattr(provider, "compact", None)
    if (compact is None and app.debug) or compact is False:
        text = provider.dumps(body, indent=2)
    else:
        # Flask's provider escapes non-ASCII; for an ASCII answer orjson writes the same bytes
        # several times faster.
        data = jsontext.dumps_bytes(body, sort_keys=getattr(provider, "sort_keys", True))
        if data.isascii():
            return data + b"\n"
        text = provider.dumps(body, separators=(",", ":"))
    return f"{text}\n".encode()


def install(app: Flask) -> None:
    # Wrapping wsgi_app is Flask's documented way to add middleware; mypy sees a method replaced.
    app.wsgi_app = WebhookFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
