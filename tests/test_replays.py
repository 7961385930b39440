"""Replayed signed webhooks (issue 11, item 3): a captured request sent again, with new unsigned
headers, after the delivery it duplicates was forgotten, or after a later event about the same
alert, changes nothing; a signed send time outside the allowed skew is refused 401."""

from __future__ import annotations

import json

import pytest
from conftest import SECRETS, load_fixture, post
from webhook_helpers import GRAFANA_TIMESTAMP_HEADER, hex_hmac, keyspace, send

from app import create_app
from app.sources import build_sources
from app.store import keys

DAY = 24 * 3600


@pytest.fixture
def skew_app(settings, redis_client, clock):
    """The app with the production send-time window (the shared fixture turns it off)."""
    return create_app(
        settings.with_changes(webhook_clock_skew_seconds=300), connection=redis_client, clock=clock
    )


def forget_deliveries(redis_client) -> None:
    """What KLAXON_DELIVERY_TTL does to every remembered delivery id, without waiting."""
    for key in redis_client.scan_iter(f"{keys.PREFIX}:delivery:*"):
        redis_client.delete(key)


def with_webhook_id(fixture, webhook_id: str) -> dict[str, str]:
    return {**fixture.headers, "X-Webhook-Id": webhook_id}


def test_pagerduty_trigger_replayed_after_its_resolve_with_a_new_webhook_id_changes_nothing(
    client, redis_client
):
    triggered = load_fixture("pagerduty", "incident_triggered")
    resolved = load_fixture("pagerduty", "incident_resolved")
    incident = post(client, triggered).get_json()["incident"]
    assert post(client, resolved).get_json()["outcome"] == "resolved"
    before = keyspace(redis_client)

    # The same signed body and signature, a header anyone can change.
    replay = post(client, triggered, headers=with_webhook_id(triggered, "attacker-chosen-1"))

    assert replay.status_code == 202
    assert replay.get_json()["outcome"] == "duplicate"
    assert replay.get_json()["incident"] == incident
    assert keyspace(redis_client) == before


def test_a_trigger_older_than_the_alerts_resolve_does_not_reopen_it_once_its_id_is_forgotten(
    client, redis_client, clock
):
    triggered = load_fixture("pagerduty", "incident_triggered")
    post(client, triggered)
    post(client, load_fixture("pagerduty", "incident_resolved"))
    clock.advance(DAY)  # inside the redelivery window, but the delivery ids are gone
    forget_deliveries(redis_client)
    before = keyspace(redis_client)

    replay = post(client, triggered, headers=with_webhook_id(triggered, "attacker-chosen-2"))

    assert replay.get_json()["outcome"] == "duplicate"
    assert "older than the last event" in replay.get_json()["reason"]
    assert keyspace(redis_client) == before


def test_a_later_trigger_of_the_same_pagerduty_incident_still_reopens_it(client, redis_client):
    """Ordering refuses only what is older: a genuine reopen (a later occurred_at) is new."""
    post(client, load_fixture("pagerduty", "incident_triggered"))
    post(client, load_fixture("pagerduty", "incident_resolved"))
    reopened = load_fixture("pagerduty", "incident_triggered").json
    reopened["event"]["id"] = "01JPMREOPENED0000000000000"
    reopened["event"]["event_type"] = "incident.reopened"
    reopened["event"]["occurred_at"] = "2026-03-14T10:30:00.000Z"
    answer = send(
        client, load_fixture("pagerduty", "incident_triggered"), json.dumps(reopened).encode()
    )
    assert answer.get_json()["outcome"] == "new"


def test_an_event_older_than_the_redelivery_window_is_not_taken_as_new(
    client, redis_client, clock, settings
):
    triggered = load_fixture("pagerduty", "incident_triggered")
    clock.advance(settings.delivery_ttl_seconds + DAY)
    before = keyspace(redis_client)

    answer = post(client, triggered, headers=with_webhook_id(triggered, "attacker-chosen-3"))

    assert answer.status_code == 202
    assert answer.get_json()["outcome"] == "ignored"
    assert "older than the redelivery window" in answer.get_json()["reason"]
    assert keyspace(redis_client) == before


def test_alertmanager_firing_replayed_after_its_resolve_does_not_reopen(client, redis_client):
    firing = load_fixture("alertmanager", "firing")
    post(client, firing)
    assert post(client, load_fixture("alertmanager", "resolved")).get_json()["outcome"] == (
        "resolved"
    )
    forget_deliveries(redis_client)
    before = keyspace(redis_client)

    replay = post(client, firing)

    assert replay.get_json()["outcome"] == "duplicate"
    assert keyspace(redis_client) == before


@pytest.mark.parametrize("offset", [-301, 301, 10 * DAY])
def test_sentry_request_sent_outside_the_allowed_skew_is_refused(
    skew_app, redis_client, clock, offset
):
    fixture = load_fixture("sentry", "event_alert_triggered")
    clock.set(float(fixture.headers["Sentry-Hook-Timestamp"]) + offset)
    before = keyspace(redis_client)

    answer = post(skew_app.test_client(), fixture)

    assert answer.status_code == 401
    message = answer.get_json()["message"]
    assert "Sentry-Hook-Timestamp" in message
    assert "KLAXON_WEBHOOK_CLOCK_SKEW" in message
    assert keyspace(redis_client) == before


@pytest.mark.parametrize("offset", [-299, 0, 299])
def test_sentry_request_inside_the_allowed_skew_is_accepted(skew_app, clock, offset):
    fixture = load_fixture("sentry", "event_alert_triggered")
    clock.set(float(fixture.headers["Sentry-Hook-Timestamp"]) + offset)
    assert post(skew_app.test_client(), fixture).status_code == 202


def test_sentry_request_without_its_timestamp_is_refused(skew_app, redis_client, clock):
    fixture = load_fixture("sentry", "event_alert_triggered")
    clock.set(float(fixture.headers["Sentry-Hook-Timestamp"]))
    headers = {k: v for k, v in fixture.headers.items() if k != "Sentry-Hook-Timestamp"}
    before = keyspace(redis_client)
    answer = post(skew_app.test_client(), fixture, headers=headers)
    assert answer.status_code == 401
    assert keyspace(redis_client) == before


def test_grafana_signed_timestamp_outside_the_allowed_skew_is_refused(
    skew_app, redis_client, clock
):
    fixture = load_fixture("grafana", "firing")
    stamp = int(fixture.headers[GRAFANA_TIMESTAMP_HEADER])
    clock.set(stamp + 3600.0)  # an hour later: a captured request
    before = keyspace(redis_client)
    answer = post(skew_app.test_client(), fixture)
    assert answer.status_code == 401
    assert GRAFANA_TIMESTAMP_HEADER in answer.get_json()["message"]
    assert keyspace(redis_client) == before

    # Signed afresh by the sender, at the time it is sent: accepted.
    fresh = str(stamp + 3600).encode()
    headers = {
        **fixture.headers,
        GRAFANA_TIMESTAMP_HEADER: fresh.decode(),
        "X-Grafana-Alerting-Signature": hex_hmac(
            SECRETS["GRAFANA_WEBHOOK_SECRET"], fresh + b":" + fixture.body
        ),
    }
    assert post(skew_app.test_client(), fixture, headers=headers).status_code == 202


def test_every_source_declares_its_delivery_identity_and_signed_timestamp(settings):
    signed_send_time = {"sentry", "grafana"}  # grafana: with GRAFANA_TIMESTAMP_HEADER set
    for name, source in build_sources(settings).items():
        assert source.delivery_identity, name
        fixture_headers = {"Sentry-Hook-Signature": "x", GRAFANA_TIMESTAMP_HEADER: "1773479661"}
        fixture_headers["Sentry-Hook-Timestamp"] = "1773479661"
        stamp = source.signed_timestamp(fixture_headers)
        assert (stamp is not None) == (name in signed_send_time), name
