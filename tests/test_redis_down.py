"""Durability: 2xx only once Redis has the alert. Unreachable Redis is a 503 the sender retries,
and the retry is stored exactly once; racing deliveries of one event make one `new`."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import load_fixture
from webhook_helpers import send, signed_for

from app import create_app
from app.store.connection import connect

FIRST_EVENTS = [
    load_fixture(source, name)
    for source, name in (
        ("pagerduty", "incident_triggered"),
        ("opsgenie", "create"),
        ("sentry", "issue_created"),
        ("sentry", "legacy_plugin_event"),
        ("datadog", "triggered"),
        ("alertmanager", "firing"),
        ("grafana", "firing"),
    )
]


@pytest.fixture
def app_without_redis(settings, clock):
    connection = connect("redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield create_app(settings, connection=connection, clock=clock)
    connection.close()


@pytest.mark.parametrize("fixture", FIRST_EVENTS, ids=lambda f: f"{f.source}/{f.name}")
def test_unreachable_redis_is_503_then_the_retry_is_stored_once(
    app_without_redis, app, client, redis_client, fixture
):
    refused = send(app_without_redis.test_client(), fixture)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) > 0
    assert refused.mimetype == "application/json"
    assert refused.get_json()["error"] == "storage_unavailable"
    assert refused.get_json()["message"]
    assert redis_client.dbsize() == 1  # only the test-session claim: nothing half-written

    retried = send(client, fixture)
    again = send(client, fixture)

    assert retried.status_code == 202 and retried.get_json()["outcome"] == "new"
    assert again.get_json()["outcome"] == "duplicate"
    store = app.extensions["klaxon"].incidents
    for summary in retried.get_json().get("alerts") or [retried.get_json()]:
        assert store.alert(summary["alert"])["count"] == 1
        assert len(store.events(summary["alert"])) == 1  # the redelivery added no event


def test_ignored_event_needs_no_storage(app_without_redis):
    response = send(app_without_redis.test_client(), load_fixture("pagerduty", "pagey_ping"))
    assert response.status_code == 202 and response.get_json()["outcome"] == "ignored"


def _incident(number: int) -> tuple[bytes, str]:
    payload = load_fixture("pagerduty", "incident_triggered").json
    payload["event"]["data"]["id"] = f"QRACE{number:04d}"
    payload["event"]["id"] = f"EVENT{number:04d}"
    return json.dumps(payload).encode(), f"race-{number}"


def _race(clients, fixture, body, headers) -> list[str]:
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def deliver(client):
        barrier.wait()
        response = send(client, fixture, body=body, headers=headers)
        outcomes.append(f"{response.status_code}:{response.get_json()['outcome']}")

    threads = [threading.Thread(target=deliver, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_concurrent_deliveries_of_one_event_to_two_app_instances_make_one_new(
    settings, redis_url, redis_client, clock
):
    """Two web processes' worth: separate apps with separate connections to the same Redis."""
    fixture = load_fixture("pagerduty", "incident_triggered")
    connections = [connect(redis_url) for _ in range(2)]
    clients = [create_app(settings, connection=c, clock=clock).test_client() for c in connections]
    try:
        for number in range(25):
            body, webhook_id = _incident(number)
            headers = {**signed_for(fixture, body)[0], "X-Webhook-Id": webhook_id}
            assert _race(clients, fixture, body, headers) == ["202:duplicate", "202:new"]
    finally:
        for connection in connections:
            connection.close()


def test_concurrent_threads_in_one_app_make_one_new(app, client):
    fixture = load_fixture("opsgenie", "create")
    outcomes = _race([app.test_client() for _ in range(8)], fixture, fixture.body, None)
    assert outcomes == ["202:duplicate"] * 7 + ["202:new"]


@pytest.mark.parametrize("path", ["/api/incidents", "/api/incidents/INC-2026-0001", "/api/outbox"])
def test_the_api_answers_503_not_500_while_redis_is_down(app_without_redis, settings, path):
    response = app_without_redis.test_client().get(
        path, headers={"Authorization": f"Bearer {settings.api_token}"}
    )
    assert response.status_code == 503
    assert response.get_json()["error"] == "storage_unavailable"
    assert int(response.headers["Retry-After"]) > 0
