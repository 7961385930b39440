"""GET /healthz (the process answers) and GET /readyz (Redis accepts writes, rules loaded)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, current_app

from app.logs import log
from app.store import keys
from app.store.connection import unavailable_reason

blueprint = Blueprint("health", __name__)
logger = logging.getLogger("klaxon.health")


@blueprint.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    klaxon = current_app.extensions["klaxon"]
    checks: dict[str, Any] = {}
    try:
        # A write, not a PING: a full Redis (noeviction) or a read-only replica after a
        # failover still answers PING, but refuses every alert.
        klaxon.redis.set(keys.readiness_probe(), "1", ex=keys.READINESS_PROBE_TTL_SECONDS)
        checks["redis"] = "ok"
    except (redis.RedisError, OSError) as exc:
        reason = unavailable_reason(exc) or "error"
        log(logger, "readiness check failed", logging.WARNING, storage=reason)
        checks["redis"] = f"{reason}: {type(exc).__name__}"
    checks["rules"] = "ok" if klaxon.ruleset is not None else "not loaded"
    ready = all(v == "ok" for v in checks.values())
    return (
        {"status": "ready" if ready else "not ready", "checks": checks, **klaxon.describe()},
        200 if ready else 503,
    )
