"""The worker process (`python -m workers`) and Heroku's rediss:// with a self-signed
certificate, against a real TLS redis-server started for these tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import free_port, load_fixture
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from app import create_app
from app.queue_names import NOTIFY_QUEUE
from app.store.connection import connect, rq_url

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_redis_url(tmp_path_factory) -> Iterator[str]:
    """A redis-server speaking only TLS with a self-signed certificate, as Heroku's does."""
    if not (shutil.which("redis-server") and shutil.which("openssl")):
        pytest.skip("needs redis-server and openssl")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=ec2-heroku-redis",
            "-keyout",
            folder / "key.pem",
            "-out",
            folder / "cert.pem",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            folder / "cert.pem",
            "--tls-key-file",
            folder / "key.pem",
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"rediss://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            connect(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_plain_redis_py_refuses_the_self_signed_certificate(tls_redis_url: str) -> None:
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(tls_redis_url, socket_timeout=2).ping()


def test_klaxon_connects_to_rediss_and_stores_webhooks(tls_redis_url: str, settings, clock) -> None:
    connection = connect(tls_redis_url)
    connection.flushdb()
    # The fixture's clock: an event from March is past the redelivery window in December.
    app = create_app(settings, connection=connection, clock=clock)
    fixture = load_fixture("pagerduty", "incident_triggered")
    response = app.test_client().post(
        "/webhooks/pagerduty", data=fixture.body, headers=fixture.headers
    )
    assert response.status_code == 202
    assert response.get_json()["outcome"] == "new"
    connection.flushdb()


def test_rq_cli_url_accepts_the_self_signed_certificate(tls_redis_url: str) -> None:
    assert redis.Redis.from_url(rq_url(tls_redis_url)).ping()


def test_worker_process_runs_jobs_over_tls_and_stops_on_sigterm(tls_redis_url: str) -> None:
    connection = connect(tls_redis_url)
    queue = Queue(NOTIFY_QUEUE, connection=connection, serializer=JSONSerializer)
    job = queue.enqueue("jobs_for_tests.add", 2, 3)
    env = {
        **os.environ,
        "REDIS_URL": tls_redis_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while (
            Job.fetch(job.id, connection=connection, serializer=JSONSerializer).get_status()
            != "finished"
        ):
            assert time.monotonic() < deadline, "job never finished"
            time.sleep(0.1)
        assert (
            Job.fetch(job.id, connection=connection, serializer=JSONSerializer).return_value() == 5
        )
    finally:
        worker.send_signal(signal.SIGTERM)  # what Heroku sends at every dyno restart
        log = worker.communicate(timeout=15)[1].decode()
    assert worker.returncode == 0, log
    connection.flushdb()
