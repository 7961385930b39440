"""The one place errors become HTTP answers: typed KlaxonErrors and Werkzeug's own HTTP
errors map to JSON; anything else is a 500 that is logged and reported, never shown."""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from flask import Flask, g
from werkzeug.exceptions import HTTPException

from app.errors import RequestRejected, StorageUnavailable
from app.logs import log

logger = logging.getLogger("klaxon.http")


def register(app: Flask) -> None:
    app.register_error_handler(RequestRejected, _rejected)
    app.register_error_handler(StorageUnavailable, _storage_unavailable)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, _unexpected)


def _rejected(error: RequestRejected) -> tuple[dict[str, Any], int]:
    # The message may quote a value from the body ("got 'Trigered'"): the sender sees it, the
    # log keeps only which field was wrong.
    g.log_fields.update(error=error.code, field=error.details.get("field"))
    return error.to_json(), error.status


def _storage_unavailable(error: StorageUnavailable) -> tuple[dict[str, Any], int, dict[str, str]]:
    g.log_fields.update(error=error.code)
    body = {"error": error.code, "message": "storage is unavailable; retry later"}
    return body, error.status, {"Retry-After": str(error.retry_after_seconds)}


def _http_exception(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    code = (error.name or "error").lower().replace(" ", "_")
    message = error.description or error.name
    if error.code == 413:
        code, message = "payload_too_large", "request body is larger than KLAXON_MAX_BODY"
    g.log_fields.update(error=code)
    # Keep the headers the error carries (405 must say Allow), but not its HTML content type.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return {"error": code, "message": message}, error.code or 500, headers


def _unexpected(error: Exception) -> tuple[dict[str, Any], int]:
    # Handling the error here means Flask never signals it, so report it ourselves.
    sentry_sdk.capture_exception(error)
    log(logger, "unhandled error", logging.ERROR, error=type(error).__name__)
    logger.debug("traceback", exc_info=error)
    g.log_fields.update(error="internal_error")
    return {"error": "internal_error", "message": "Klaxon failed to handle this request; "
            "it has been reported"}, 500
