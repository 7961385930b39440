"""GET /healthz and /readyz."""

from __future__ import annotations

from app import create_app
from app.store.connection import connect


def test_healthz_answers_without_touching_redis(settings) -> None:
    app = create_app(settings, connection=connect("redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_ready_with_redis(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"] == "ok"


def test_readyz_is_503_when_redis_is_unreachable(settings) -> None:
    app = create_app(settings, connection=connect("redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("unreachable")
