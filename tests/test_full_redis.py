"""A Redis that is up but cannot take writes -- full (maxmemory, noeviction: Heroku's policy),
a read-only replica after a failover, busy with a script -- is "storage unavailable": 503 with
Retry-After on every route, /readyz fails naming the condition, one log line says which, and
nothing is half-written; once Redis takes writes again the retry is stored once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import redis
from conftest import SECRETS, load_fixture
from small_redis import fill_until_full, keyspace, own_redis_server
from test_redis_down import FIRST_EVENTS
from webhook_helpers import send

from app import create_app
from app.settings import Settings
from app.store.connection import connect, unavailable_reason

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.fixture(scope="module")
def small_redis_url() -> Iterator[str]:
    with own_redis_server("--maxmemory", "4mb", "--maxmemory-policy", "noeviction") as url:
        yield url


@pytest.fixture
def small_redis(small_redis_url: str) -> Iterator[redis.Redis]:
    client = connect(small_redis_url)
    client.flushall()
    yield client
    client.config_set("maxmemory", "4mb")
    client.flushall()
    client.close()


@pytest.fixture
def full_app(settings: Settings, small_redis: redis.Redis, clock):
    return create_app(settings, connection=small_redis, clock=clock)


def assert_storage_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "storage_unavailable"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("fixture", FIRST_EVENTS, ids=lambda f: f"{f.source}/{f.name}")
def test_a_full_redis_is_503_writes_nothing_and_the_retry_is_stored_once(
    full_app, small_redis, fixture
):
    fill_until_full(small_redis)
    before = keyspace(small_redis)
    client = full_app.test_client()

    assert_storage_unavailable(send(client, fixture))
    assert keyspace(small_redis) == before  # no delivery mark, alert, event or job

    small_redis.config_set("maxmemory", "0")  # room again (as after a plan upgrade)
    retried = send(client, fixture)
    again = send(client, fixture)
    assert retried.status_code == 202 and retried.get_json()["outcome"] == "new"
    assert again.status_code == 202 and again.get_json()["outcome"] == "duplicate"


def test_a_full_redis_fails_readyz_naming_it_and_logs_one_line_saying_which(
    full_app, small_redis, logs
):
    client = full_app.test_client()
    assert client.get("/readyz").status_code == 200
    fill_until_full(small_redis)

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["redis"].startswith("out_of_memory")
    assert_storage_unavailable(send(client, load_fixture("datadog", "triggered")))

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    said = [line for line in lines if line.get("msg") == "storage unavailable"]
    assert [line.get("reason") for line in said] == ["out_of_memory"]
    assert all("maxmemory" not in json.dumps(line) for line in lines)  # not Redis's text


def test_the_api_and_pages_answer_503_not_500_when_redis_is_full(full_app, small_redis):
    client = full_app.test_client()
    created = send(client, load_fixture("datadog", "triggered"))
    incident = created.get_json()["incident"]
    fill_until_full(small_redis)
    before = keyspace(small_redis)

    for response in (
        client.post(
            f"/api/incidents/{incident}/updates",
            json={"status": "identified", "message": "pool exhausted", "by": "Lee"},
            headers=AUTH,
        ),
        client.post(f"/api/incidents/{incident}/ack", json={"by": "Lee"}, headers=AUTH),
        client.post(f"/api/incidents/{incident}/resolve", json={"by": "Lee"}, headers=AUTH),
        client.post(
            "/api/incidents", json={"title": "checkout slow", "severity": "SEV2"}, headers=AUTH
        ),
    ):
        assert_storage_unavailable(response)
    assert keyspace(small_redis) == before


def test_a_read_only_replica_is_storage_unavailable(full_app, small_redis):
    small_redis.replicaof(
        "127.0.0.1", "1"
    )  # a replica of nobody: refuses writes, as after a failover
    try:
        client = full_app.test_client()
        assert_storage_unavailable(send(client, load_fixture("datadog", "triggered")))
        assert client.get("/readyz").get_json()["checks"]["redis"].startswith("read_only_replica")
    finally:
        small_redis.replicaof("NO", "ONE")


def test_a_redis_busy_with_a_script_is_storage_unavailable(small_redis, small_redis_url):
    small_redis.config_set("busy-reply-threshold", "50")  # ms, lua-time-limit before Redis 7
    busy = threading.Thread(
        target=lambda: connect(small_redis_url, socket_timeout=30).eval(
            "local t = redis.call('TIME') "
            "while true do local n = redis.call('TIME') "
            "if (n[1] - t[1]) * 1000000 + n[2] - t[2] > 1500000 then return 1 end end",
            0,
        )
    )
    busy.start()
    try:
        other = connect(small_redis_url)
        with pytest.raises(redis.ResponseError) as refused:
            for _ in range(200):  # until the script has run past the threshold
                other.set("k", "v")
                threading.Event().wait(0.02)
        assert unavailable_reason(refused.value) == "busy_script"
    finally:
        busy.join(timeout=30)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("OOM command not allowed when used memory > 'maxmemory'.", "out_of_memory"),
        ("READONLY You can't write against a read only replica.", "read_only_replica"),
        ("LOADING Redis is loading the dataset in memory", "loading"),
        (
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "master_down",
        ),
        ("NOREPLICAS Not enough good replicas to write.", "no_replicas"),
        (
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or FUNCTION KILL.",
            "busy_script",
        ),
        (
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
            "persist to disk.",
            "persistence_failing",
        ),
        ("TRYAGAIN Multiple keys request during rehashing of slot", "try_again"),
        ("CLUSTERDOWN The cluster is down", "cluster_down"),
        (
            "ERR Error running script (call to f_1): @user_script:1: @user_script: 1: -OOM "
            "command not allowed when used memory > 'maxmemory'.",
            "out_of_memory",
        ),
        ("ERR wrong number of arguments for 'set' command", None),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", None),
        ("ERR user_script:12: attempt to index a nil value", None),
    ],
)
def test_error_replies_are_classified_as_redis_py_parses_them(reply, reason):
    """Through redis-py's own reply parser: it strips some codes (OOM, READONLY) from the
    message and raises its own classes, which is how a full Redis once became a 500."""
    from redis._parsers.base import BaseParser

    assert unavailable_reason(BaseParser.parse_error(reply)) == reason


def test_a_worker_whose_redis_is_full_loses_no_job_and_runs_it_once_there_is_room(
    small_redis, small_redis_url, tmp_path
):
    """The worker process of the Procfile against a full Redis: it cannot take the job (RQ's
    dequeue, registration and bookkeeping are writes), says why in one line per attempt, and
    runs the job when Redis has room again."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import psutil
    from rq import Queue
    from rq.job import JobStatus
    from rq.serializers import JSONSerializer

    from app.queue_names import NOTIFY_QUEUE

    root = Path(__file__).resolve().parent.parent
    job = Queue(NOTIFY_QUEUE, connection=small_redis, serializer=JSONSerializer).enqueue(
        "jobs_for_tests.add", 2, 3
    )
    fill_until_full(small_redis)
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "REDIS_URL": small_redis_url,
        "KLAXON_RULES_DIR": str(root / "tests" / "data" / "rules" / "per-alert"),
        "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests")]),
    }
    with log_path.open("wb") as log:
        workers = subprocess.Popen(
            [sys.executable, "-m", "workers", "--processes", "2"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:

        def said_full() -> bool:
            return '"reason":"out_of_memory"' in log_path.read_text()

        deadline = time.monotonic() + 30
        while not said_full():
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.1)
        assert job.get_status(refresh=True) == JobStatus.QUEUED  # not taken, not lost

        small_redis.config_set("maxmemory", "0")
        deadline = time.monotonic() + 60
        while job.get_status(refresh=True) != JobStatus.FINISHED:
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.1)
        assert job.return_value() == 5
        assert "worker process failed" not in log_path.read_text()  # a reason, no traceback
    finally:
        members = [psutil.Process(workers.pid), *psutil.Process(workers.pid).children(True)]
        for member in members:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(members, timeout=10)
        workers.wait(timeout=10)  # collected, or Popen warns that it still runs
