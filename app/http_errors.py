"""The one place errors become HTTP answers: typed KlaxonErrors and Werkzeug's own HTTP
errors map to JSON; anything else is a 500 that is logged and reported, never shown.

`answer_for` is used by Flask's error handler and by the webhook fast path (app/fastpath.py),
so both answer an error the same way."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis
import sentry_sdk
from flask import Flask, g
from werkzeug.exceptions import HTTPException

from app.errors import RequestRejected, StorageUnavailable
from app.logs import log
from app.store.connection import unavailable_reason

logger = logging.getLogger("klaxon.http")


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    log_fields: dict[str, Any] = field(default_factory=dict)  # for the request log line


def answer_for(error: Exception) -> ErrorAnswer:
    """The answer to a request that raised `error`; unexpected errors are reported here."""
    if isinstance(error, RequestRejected):
        # The message may quote a value from the body ("got 'Trigered'"): the sender sees it,
        # the log keeps only which field was wrong.
        return ErrorAnswer(
            error.status,
            error.to_json(),
            error.http_headers(),
            log_fields={"error": error.code, "field": error.details.get("field")},
        )
    reason = unavailable_reason(error) if isinstance(error, redis.RedisError) else None
    if reason is not None:
        # Any route that reads or writes Redis while it is down or full: the client should retry.
        error = StorageUnavailable("Redis is unavailable", reason)
    if isinstance(error, StorageUnavailable):
        # One line that says which condition; never Redis's message (it may quote a key).
        log(logger, "storage unavailable", logging.WARNING, reason=error.reason)
        return ErrorAnswer(
            error.status,
            {"error": error.code, "message": "storage is unavailable; retry later"},
            {"Retry-After": str(error.retry_after_seconds)},
            {"error": error.code, "storage": error.reason},
        )
    if isinstance(error, HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        message = error.description or error.name
        if error.code == 413:
            code, message = "payload_too_large", "request body is larger than KLAXON_MAX_BODY"
        # Keep the headers the error carries (405 must say Allow), not its HTML content type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return ErrorAnswer(
            error.code or 500, {"error": code, "message": message}, headers, {"error": code}
        )
    # Answering the error here means Flask never signals it, so report it ourselves.
    sentry_sdk.capture_exception(error)
    log(logger, "unhandled error", logging.ERROR, error=type(error).__name__)
    logger.debug("traceback", exc_info=error)
    return ErrorAnswer(
        500,
        {
            "error": "internal_error",
            "message": "Klaxon failed to handle this request; it has been reported",
        },
        log_fields={"error": "internal_error"},
    )


def register(app: Flask) -> None:
    # Flask looks handlers up along the exception's MRO, so this one sees HTTPExceptions,
    # KlaxonErrors and everything else.
    app.register_error_handler(Exception, _handle)


def _handle(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    answer = answer_for(error)
    g.log_fields.update(answer.log_fields)
    return answer.body, answer.status, answer.headers
