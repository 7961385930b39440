"""GET /healthz (the process answers) and GET /readyz (Redis reachable, rules loaded)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    klaxon = current_app.extensions["klaxon"]
    checks: dict[str, Any] = {}
    try:
        klaxon.redis.ping()
        checks["redis"] = "ok"
    except (redis.RedisError, OSError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["rules"] = "ok" if klaxon.ruleset is not None else "not loaded"
    ready = all(v == "ok" for v in checks.values())
    return (
        {"status": "ready" if ready else "not ready", "checks": checks, **klaxon.describe()},
        200 if ready else 503,
    )
