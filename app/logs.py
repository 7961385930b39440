"""Structured logs: one JSON object per line on stderr. Never bodies, signatures or tokens:
callers pass named fields, and every value is scrubbed of configured secrets."""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from app import jsontext

_secrets: list[str] = []
# (path, status, seconds, fields) for every request: app/metrics.py counts what the log says.
RequestObserver = Callable[[str, int, float, dict[str, Any]], None]
_observers: list[RequestObserver] = []
request_logger = logging.getLogger("klaxon.request")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _second(int(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Compact JSON (app/jsontext.py); str() for what JSON has no type for.
        return scrub(jsontext.dumps_bytes(entry, default=str).decode())


@functools.lru_cache(maxsize=4)
def _second(epoch: int) -> str:
    """The timestamp down to the second; every line within one second shares it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[Filtered]")
    return text


def configure_logging(level: str, secrets: list[str]) -> None:
    """Send Klaxon's and RQ's loggers to stderr as JSON lines (RQ 3 loggers do not propagate)."""
    _secrets[:] = secrets
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("klaxon", "rq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def log(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        # makeRecord + handle is what Logger.log does, minus findCaller()'s walk up the stack
        # for a file and line no formatter here prints (a third of a request line's cost).
        logger.handle(
            logger.makeRecord(
                logger.name, level, "", 0, message, (), None, extra={"fields": fields}
            )
        )


def log_request(
    method: str, path: str, status: int, started: float, fields: dict[str, Any]
) -> None:
    """The one line per request (health checks excepted), for Flask's routes and the webhook
    fast path alike: method, path, status, latency and what the handler recorded; the
    observers (metrics) learn the same."""
    seconds = time.perf_counter() - started
    for observer in _observers:
        observer(path, status, seconds, fields)
    if path.startswith(("/healthz", "/readyz")):
        return
    log(
        request_logger,
        "request",
        method=method,
        path=path,
        status=status,
        latency_ms=round(seconds * 1000, 2),
        **fields,
    )


def observe_requests(observer: RequestObserver) -> None:
    """Have `observer` told about every request log_request() sees (one per process)."""
    _observers[:] = [observer]
