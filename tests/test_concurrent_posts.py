"""Several web processes racing on one delivery, one alert or one group key never create two
incidents or double-count: concurrent HTTP posts against gunicorn with four worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import SECRETS, free_port, load_fixture

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def web(redis_url, redis_client):
    port = free_port()
    env = {
        **os.environ,
        **SECRETS,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "KLAXON_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "app.wsgi:app",
            "--workers",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(base):
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn never ready"
            time.sleep(0.2)
        yield base
    finally:  # also when it never became ready: no server may outlive its test
        server.terminate()
        server.wait(timeout=15)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).ok
    except requests.RequestException:  # bound but still booting its workers
        return False


def _datadog(alert_id: str, host: str, delivery: str) -> bytes:
    body = json.loads(load_fixture("datadog", "triggered").body)
    body["id"], body["hostname"] = delivery, host
    body["alert"]["id"], body["alert"]["scope"] = alert_id, f"host:{host}"
    return json.dumps(body).encode()


def _post_all(base: str, bodies: list[bytes]) -> list[dict]:
    headers = {
        "Content-Type": "application/json",
        "X-Klaxon-Token": SECRETS["DATADOG_WEBHOOK_TOKEN"],
    }
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(
            pool.map(
                lambda b: requests.post(
                    f"{base}/webhooks/datadog", data=b, headers=headers, timeout=10
                ),
                bodies,
            )
        )
    assert {r.status_code for r in responses} == {202}
    return [r.json() for r in responses]


def test_one_delivery_posted_concurrently_is_stored_once(web, redis_client) -> None:
    answers = _post_all(web, [_datadog("184663201", "web-03", "delivery-1")] * 24)
    assert sorted(a["outcome"] for a in answers) == ["duplicate"] * 23 + ["new"]
    assert len({a["incident"] for a in answers}) == 1
    alert = redis_client.hget(f"klaxon:alert:{answers[0]['alert']}", "count")
    assert alert == b"1"


def test_alerts_sharing_a_group_key_posted_concurrently_open_one_incident(
    web, redis_client
) -> None:
    bodies = [_datadog("184663201", f"web-{i:02d}", f"delivery-{i}") for i in range(32)]
    answers = _post_all(web, bodies)
    outcomes = sorted(a["outcome"] for a in answers)
    assert outcomes.count("new") == 1
    incidents = {a["incident"] for a in answers}
    assert len(incidents) == 1
    open_alerts = redis_client.hget(f"klaxon:incident:{incidents.pop()}", "open_alerts")
    assert int(open_alerts) == outcomes.count("new") + outcomes.count("grouped")
