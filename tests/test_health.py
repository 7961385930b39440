"""GET /healthz and /readyz."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.serializers import JSONSerializer

from app import create_app
from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE
from app.store.connection import connect
from workers.worker import InlineHerokuWorker


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


def _enqueue(redis_client, queue_name: str = NOTIFY_QUEUE, waited: float = 0.0) -> str:
    """A job on one of Klaxon's queues, as if enqueued `waited` seconds ago."""
    queue = Queue(queue_name, connection=redis_client, serializer=JSONSerializer)
    job = queue.enqueue("jobs_for_tests.add", 1, 2)
    then = datetime.now(UTC) - timedelta(seconds=waited)
    redis_client.hset(job.key, "enqueued_at", then.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return job.id


def test_readyz_is_503_when_jobs_wait_and_no_worker_takes_them(client, redis_client) -> None:
    _enqueue(redis_client, waited=5)
    assert client.get("/readyz").status_code == 200  # waiting, but not for long

    _enqueue(redis_client, PUBLIC_QUEUE, waited=300)
    response = client.get("/readyz")
    assert response.status_code == 503
    reason = response.get_json()["checks"]["workers"]
    assert "klaxon-public (oldest 300 s)" in reason
    assert "KLAXON_WORKER_STALL=120" in reason
    assert response.get_json()["checks"]["redis"] == "ok"


def test_readyz_is_ready_again_once_a_worker_takes_a_job(client, redis_client) -> None:
    _enqueue(redis_client, waited=300)
    _enqueue(redis_client, waited=300)
    assert client.get("/readyz").status_code == 503
    # A real worker takes one job (the other still waits): the workers are busy, not stuck.
    queues = [Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)]
    worker = InlineHerokuWorker(queues, connection=redis_client, serializer=JSONSerializer)
    worker.work(burst=True, max_jobs=1)
    assert redis_client.llen(f"rq:queue:{NOTIFY_QUEUE}") == 1
    assert client.get("/readyz").status_code == 200
    # Nothing taken since, for longer than the limit: stalled again.
    redis_client.set("klaxon:workers:last-take", repr(time.time() - 200))
    assert client.get("/readyz").status_code == 503
