"""Klaxon's own errors reach Sentry (Flask and RQ) with secrets, signatures and webhook bodies
scrubbed. A recording transport stands in for sentry.io: the SDK runs for real."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sentry_sdk
from conftest import SECRETS, load_fixture
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sentry_sdk.transport import Transport

from app import create_app
from app.observability import init_sentry
from workers.worker import InlineHerokuWorker


class RecordingTransport(Transport):
    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def sentry(settings) -> Iterator[RecordingTransport]:
    transport = RecordingTransport()
    assert init_sentry(
        settings.with_changes(sentry_dsn="https://public@sentry.invalid/1"), transport=transport
    )
    yield transport
    sentry_sdk.init()  # back to an inert SDK for the other tests


def test_without_dsn_sentry_stays_off(settings) -> None:
    assert init_sentry(settings) is False


def test_flask_error_is_reported_without_secrets_or_body(sentry, settings, redis_client) -> None:
    app = create_app(settings, connection=redis_client)  # the fixture already set Sentry up
    secret = SECRETS["DATADOG_WEBHOOK_TOKEN"]

    @app.post("/explode")
    def explode():
        raise RuntimeError(f"token {secret} leaked into an exception")

    fixture = load_fixture("pagerduty", "incident_triggered")
    response = app.test_client().post("/explode", data=fixture.body, headers=fixture.headers)
    sentry_sdk.flush()

    assert response.status_code == 500
    assert "leaked" not in response.get_data(as_text=True)  # never shown to the client
    assert len(sentry.events) == 1
    sent = json.dumps(sentry.events[0])
    assert "leaked into an exception" in sent  # the error itself is reported...
    for value in (secret, fixture.headers["X-PagerDuty-Signature"][3:], "p99 latency > 2s"):
        assert value not in sent  # ...but no secret, signature or body
    assert "[Filtered]" in sent


@pytest.mark.parametrize("worker_class", [SimpleWorker, InlineHerokuWorker])
def test_failed_rq_job_is_reported_without_the_secret(sentry, redis_client, worker_class) -> None:
    """Through Sentry's RQ integration, with the worker class Klaxon runs (jobs in-process)."""
    queue = Queue("klaxon-test", connection=redis_client, serializer=JSONSerializer)
    secret = SECRETS["OPSGENIE_WEBHOOK_TOKEN"]
    queue.enqueue("jobs_for_tests.fail_with_secret", secret)
    worker_class([queue], connection=redis_client, serializer=JSONSerializer).work(burst=True)
    sentry_sdk.flush()

    assert len(sentry.events) == 1
    sent = json.dumps(sentry.events[0])
    assert "RuntimeError" in sent
    assert "rq-job" in sentry.events[0]["extra"]  # the integration saw the job
    assert secret not in sent


def test_webhook_fast_path_error_is_reported_without_secrets_or_body(
    sentry, settings, redis_client
) -> None:
    app = create_app(settings, connection=redis_client)
    secret = SECRETS["DATADOG_WEBHOOK_TOKEN"]
    source = app.extensions["klaxon"].sources["datadog"]

    def explode(*args, **kwargs):
        raise RuntimeError(f"token {secret} leaked into an exception")

    source.parse = explode  # the instance only: other apps build their own sources
    fixture = load_fixture("datadog", "triggered")
    response = app.test_client().post(
        "/webhooks/datadog", data=fixture.body, headers=fixture.headers
    )
    sentry_sdk.flush()

    assert response.status_code == 500
    assert "leaked" not in response.get_data(as_text=True)
    assert len(sentry.events) == 1
    sent = json.dumps(sentry.events[0])
    assert "leaked into an exception" in sent
    for value in (secret, fixture.headers["X-Klaxon-Token"], fixture.json["title"]):
        assert value not in sent


def test_routing_keys_named_by_the_rules_are_scrubbed(sentry, settings, redis_client) -> None:
    from pathlib import Path

    from app.settings import Settings

    routing_key = "R0UT1NGK3YCHECKOUTpd0123456789ab"
    rules = Path(__file__).parent.parent / "rules"
    with_key = Settings.from_env(
        {
            **settings.environment,
            "PD_ROUTING_KEY_CHECKOUT": routing_key,
            "KLAXON_RULES_DIR": str(rules),
        }
    )
    app = create_app(with_key, connection=redis_client)

    @app.post("/explode")
    def explode():
        raise RuntimeError(f"PagerDuty refused routing key {routing_key}")

    app.test_client().post("/explode")
    sentry_sdk.flush()
    sent = json.dumps(sentry.events)
    assert "PagerDuty refused routing key" in sent and routing_key not in sent
