"""GET /healthz (the process answers) and GET /readyz (Redis accepts writes, rules loaded, the
workers taking the jobs that wait; the last fire drill is shown, not judged)."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import Blueprint, current_app

from app import jsontext
from app.logs import log
from app.store import keys
from app.store.connection import unavailable_reason
from app.worker_stall import stall

blueprint = Blueprint("health", __name__)
logger = logging.getLogger("klaxon.health")


@blueprint.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    klaxon = current_app.extensions["klaxon"]
    # Wall-clock time, not the app's clock: RQ and the workers stamp jobs with it.
    checks: dict[str, Any] = {}
    try:
        # A write, not a PING: a full Redis (noeviction) or a read-only replica after a
        # failover still answers PING, but refuses every alert.
        klaxon.redis.set(keys.readiness_probe(), "1", ex=keys.READINESS_PROBE_TTL_SECONDS)
        checks["redis"] = "ok"
        checks["workers"] = (
            stall(klaxon.redis, time.time(), klaxon.settings.worker_stall_seconds) or "ok"
        )
        drill = klaxon.redis.get(keys.drill_last())
    except (redis.RedisError, OSError) as exc:
        reason = unavailable_reason(exc) or "error"
        log(logger, "readiness check failed", logging.WARNING, storage=reason)
        checks["redis"] = f"{reason}: {type(exc).__name__}"
        drill = None
    checks["rules"] = "ok" if klaxon.ruleset is not None else "not loaded"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks, **klaxon.describe()}
    if drill:
        body["last_drill"] = jsontext.loads(drill)
    return body, 200 if ready else 503
