"""The webhook fast path (app/fastpath.py) answers exactly as Flask's route did: same status,
headers and bytes for accepted and refused requests, the same request log line, 405/404 left
to Flask, and Sentry still hears about unexpected errors."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from conftest import load_fixture
from webhook_helpers import send, signed_for
from werkzeug.test import Client

from app import create_app
from app.fastpath import WebhookFastPath

PD = load_fixture("pagerduty", "incident_triggered")
DD = load_fixture("datadog", "triggered")


@pytest.fixture
def both(app) -> tuple[Client, Client]:
    """A client through the fast path and one straight to Flask's own request cycle."""
    assert isinstance(app.wsgi_app, WebhookFastPath)
    return Client(app.wsgi_app), Client(app.wsgi_app.wrapped)


@pytest.fixture
def log_lines(app) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    previous = _handler().setStream(buffer)
    yield buffer
    _handler().setStream(previous)


def _handler() -> logging.StreamHandler:
    """The JSON handler the latest create_app() installed."""
    [handler] = [
        h for h in logging.getLogger("klaxon").handlers if type(h) is logging.StreamHandler
    ]
    return handler


def capture_log() -> io.StringIO:
    """For an app made in the test: point its (new) handler at a buffer."""
    buffer = io.StringIO()
    _handler().setStream(buffer)
    return buffer


def answer(response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status, sorted(response.headers.items()), response.get_data()


def request_line(buffer: io.StringIO) -> dict:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    buffer.seek(0)
    buffer.truncate()
    [line] = [line for line in lines if line["logger"] == "klaxon.request"]
    del line["ts"], line["latency_ms"]
    return line


REFUSALS = {
    "bad signature": {"headers": {**PD.headers, "X-PagerDuty-Signature": "v1=" + "0" * 64}},
    "malformed json": {"body": b'{"event": '},
    "empty body": {"body": b""},
    "not an object": {"body": b"[1]"},
    "wrong content type": {"headers": {**PD.headers, "Content-Type": "text/plain"}},
    "no content type": {"headers": {k: v for k, v in PD.headers.items() if k != "Content-Type"}},
    "missing field": {"body": b'{"event": {"event_type": "incident.triggered"}}'},
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_are_the_same_bytes_and_log_line_as_flask(both, log_lines, case):
    fast, flask = both
    kwargs = REFUSALS[case]
    results = []
    for client in (fast, flask):
        response = send(client, PD, **kwargs)
        assert 400 <= response.status_code < 500
        results.append((answer(response), request_line(log_lines)))
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/nagios",
        "/webhooks/PagerDuty",
        "/webhooks/%C3%A9t%C3%A9",
        "/webhooks/",
        "/webhooks/a/b",
        "/webhooks//pagerduty",
        "/webhooks/pagerduty/",
    ],
)
def test_unknown_and_odd_paths_answer_as_flask_does(both, log_lines, path):
    fast, flask = both
    results = []
    for client in (fast, flask):
        response = client.post(path, data=PD.body, headers=PD.headers)
        results.append((answer(response), request_line(log_lines)))
    assert results[0] == results[1]
    assert results[0][0][0].split()[0] in ("404", "308")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_flasks_405_with_allow(both, method):
    fast, flask = both
    response = fast.open("/webhooks/pagerduty", method=method)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert answer(response) == answer(flask.open("/webhooks/pagerduty", method=method))


def test_accepted_and_redelivered_are_the_same_as_flask(both, log_lines, redis_client):
    fast, flask = both
    results = []
    for client in (fast, flask):
        redis_client.flushdb()
        first = send(client, DD)
        first_line = request_line(log_lines)
        again = send(client, DD)
        results.append((answer(first), first_line, answer(again), request_line(log_lines)))
        assert first.status_code == again.status_code == 202
        assert again.get_json()["outcome"] == "duplicate"
    assert results[0] == results[1]


def test_body_over_the_limit_is_413_like_flask(settings, redis_client, clock):
    app = create_app(
        settings.with_changes(max_body_bytes=len(PD.body) - 1), connection=redis_client, clock=clock
    )
    log_lines = capture_log()
    results = []
    for client in (Client(app.wsgi_app), Client(app.wsgi_app.wrapped)):
        response = send(client, PD)
        assert response.status_code == 413
        results.append((answer(response), request_line(log_lines)))
    assert results[0] == results[1]
    assert redis_client.keys("klaxon:*") == []


def test_body_over_the_limit_without_content_length_is_413(settings, redis_client, clock):
    app = create_app(
        settings.with_changes(max_body_bytes=100), connection=redis_client, clock=clock
    )
    headers, _ = signed_for(PD, PD.body)
    environ_overrides = {"wsgi.input_terminated": True}
    response = Client(app).post(
        "/webhooks/pagerduty",
        input_stream=io.BytesIO(PD.body),
        headers=headers,
        environ_overrides=environ_overrides,
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_storage_down_is_503_with_retry_after_like_flask(settings, clock):
    from app.store.connection import connect

    down = connect("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    app = create_app(settings, connection=down, clock=clock)
    log_lines = capture_log()
    results = []
    for client in (Client(app.wsgi_app), Client(app.wsgi_app.wrapped)):
        response = send(client, DD)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        results.append((answer(response), request_line(log_lines)))
    assert results[0] == results[1]


def test_unexpected_error_is_500_reported_and_logged_like_flask(app, both, log_lines, monkeypatch):
    from app import http_errors

    reported = []
    monkeypatch.setattr(http_errors.sentry_sdk, "capture_exception", reported.append)

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.extensions["klaxon"].sources["datadog"], "parse", explode)
    results = []
    for client in both:
        response = send(client, DD)
        assert response.status_code == 500 and b"boom" not in response.get_data()
        results.append((answer(response), request_line(log_lines)))
    assert results[0] == results[1]
    assert [type(e) for e in reported] == [RuntimeError, RuntimeError]
