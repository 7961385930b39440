"""Slow clients against the web process the Procfile starts (issue 11, item 1): connections
that send their headers and then stall the body must not starve intake, a request the
headers already condemn is refused without waiting for its body, and a body that stops
arriving is answered 408 after KLAXON_BODY_TIMEOUT. Loopback only, bounded in count and time."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import SECRETS
from web_process import procfile_web_process, stalled_post, status_line

ROOT = Path(__file__).parent.parent
BODY_TIMEOUT = 5  # seconds; the server's KLAXON_BODY_TIMEOUT here
MAX_BODY = 64 * 1024
STALLED = 64
PROMPT = 2.0  # seconds: the bound for a valid webhook and /healthz under load
DATADOG = {"Content-Type": "application/json", "X-Klaxon-Token": SECRETS["DATADOG_WEBHOOK_TOKEN"]}
WRONG_DATADOG = {**DATADOG, "X-Klaxon-Token": "not-the-token"}
TRIGGERED = json.loads((ROOT / "tests/data/webhooks/datadog/triggered.json").read_bytes())


@pytest.fixture(scope="module")
def web_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web") / "web.log"


@pytest.fixture(scope="module")
def web(redis_url: str, web_log: Path) -> Iterator[str]:
    log = web_log
    env = {"KLAXON_BODY_TIMEOUT": str(BODY_TIMEOUT), "KLAXON_MAX_BODY": str(MAX_BODY)}
    with procfile_web_process(redis_url, log, env) as port:
        yield f"http://127.0.0.1:{port}"


def _port(web: str) -> int:
    return int(web.rsplit(":", 1)[1])


def _valid_webhook(web: str) -> tuple[int, float]:
    body = json.dumps({**TRIGGERED, "id": uuid.uuid4().hex}).encode()
    started = time.monotonic()
    answer = requests.post(f"{web}/webhooks/datadog", data=body, headers=DATADOG, timeout=30)
    return answer.status_code, time.monotonic() - started


def _healthz(web: str) -> tuple[int, float]:
    started = time.monotonic()
    answer = requests.get(f"{web}/healthz", timeout=30)
    return answer.status_code, time.monotonic() - started


def _still_waiting(sock: socket.socket) -> bool:
    """Neither answered nor closed."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    return False


def test_stalled_bodies_do_not_delay_a_valid_webhook_or_healthz(web, redis_client):
    port = _port(web)
    opened = time.monotonic()
    stalled = [
        stalled_post(port, "/webhooks/datadog", DATADOG if i % 2 else WRONG_DATADOG)
        for i in range(STALLED)
    ]
    try:
        # The wrong-token half is refused from the headers: the server has taken them all up.
        assert [status_line(s, 30) for s in stalled[0::2]] == [b"HTTP/1.1 401 Unauthorized"] * (
            STALLED // 2
        )
        for _ in range(5):
            assert _valid_webhook(web) == (202, pytest.approx(0, abs=PROMPT))
            assert _healthz(web) == (200, pytest.approx(0, abs=PROMPT))
        if time.monotonic() - opened < BODY_TIMEOUT - 1:  # else their deadline may have passed
            assert all(_still_waiting(s) for s in stalled[1::2]), "the stalled were answered"
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/datadog", WRONG_DATADOG),
        ("/webhooks/opsgenie", {"Content-Type": "application/json"}),
        (
            "/webhooks/alertmanager",
            {"Content-Type": "application/json", "Authorization": "Basic a2xheG9uOndyb25n"},
        ),
        ("/webhooks/pagerduty", {"Content-Type": "application/json"}),
        (
            "/webhooks/sentry",
            {"Content-Type": "application/json", "Sentry-Hook-Signature": "not-hex"},
        ),
        (
            "/api/incidents/INC-2026-1/updates",
            {"Content-Type": "application/json", "Authorization": "Bearer not-the-token"},
        ),
    ],
    ids=["datadog token", "opsgenie none", "alertmanager basic", "pagerduty none", "sentry", "api"],
)
def test_a_stalled_body_with_wrong_credentials_is_refused_at_once(web, redis_client, path, headers):
    sock = stalled_post(_port(web), path, headers)
    started = time.monotonic()
    try:
        assert status_line(sock, 30) == b"HTTP/1.1 401 Unauthorized"
        assert time.monotonic() - started < PROMPT
    finally:
        sock.close()


def test_a_body_that_stops_arriving_is_answered_408_after_the_deadline(web, redis_client):
    sock = stalled_post(_port(web), "/webhooks/datadog", DATADOG)
    started = time.monotonic()
    try:
        sock.settimeout(BODY_TIMEOUT + 30)
        answer = sock.recv(4096)
        waited = time.monotonic() - started
        while chunk := sock.recv(4096):  # ends: the connection is closed after the answer
            answer += chunk
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b'"error":"request_timeout"' in answer.split(b"\r\n\r\n", 1)[1]
    assert waited >= BODY_TIMEOUT - 0.5
    assert redis_client.keys("klaxon:delivery:*") == []


def test_a_body_sent_in_chunks_is_read_whole(web, redis_client):
    body = json.dumps({**TRIGGERED, "id": uuid.uuid4().hex}).encode()
    pieces = iter([body[:100], body[100:1000], body[1000:]])  # requests sends it chunked

    answer = requests.post(f"{web}/webhooks/datadog", data=pieces, headers=DATADOG, timeout=30)

    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "new"


def test_a_chunked_body_over_the_limit_is_refused_413(web, redis_client):
    pieces = iter([b'{"id": "', b"x" * MAX_BODY, b'"}'])

    answer = requests.post(f"{web}/webhooks/datadog", data=pieces, headers=DATADOG, timeout=30)

    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"
    assert redis_client.keys("klaxon:delivery:*") == []


def test_a_client_that_leaves_mid_body_is_logged_not_reported_as_an_error(web, web_log):
    sock = stalled_post(_port(web), "/webhooks/datadog", DATADOG)
    time.sleep(0.2)  # the server has the headers
    sock.close()

    deadline = time.monotonic() + 30
    while '"status":499' not in web_log.read_text():
        assert time.monotonic() < deadline, web_log.read_text()[-2000:]
        time.sleep(0.1)
    assert "unhandled error" not in web_log.read_text()
