"""Sentry parser (integration platform and legacy plugin): pure normalisation (webhooks.md §3)."""

from __future__ import annotations

import json

import pytest
from conftest import load_fixture
from werkzeug.datastructures import Headers

from app.errors import PayloadError
from app.models import Lifecycle, Link, SourceName
from app.sources.sentry import SentrySource

SOURCE = SentrySource("unused", legacy_token="unused")
ISSUE = "issue:5120374913"


def parse(name: str, payload=None, resource: str | None = None):
    fixture = load_fixture("sentry", name)
    headers = dict(fixture.headers)
    if resource is not None:
        headers["Sentry-Hook-Resource"] = resource
    body = fixture.body if payload is None else json.dumps(payload).encode()
    return SOURCE.parse(Headers(headers), fixture.json if payload is None else payload, body)


def test_issue_created_is_normalised():
    parsed = parse("issue_created")
    [alert] = parsed.alerts
    assert parsed.event_type == alert.event_type == "issue.created"
    assert alert.source is SourceName.SENTRY
    assert alert.lifecycle is Lifecycle.TRIGGER
    assert alert.identity == ISSUE
    assert alert.delivery_id.startswith("issue.created:")
    assert alert.title == "TimeoutError: payment-gateway did not respond within 2000 ms"
    assert alert.description == "checkout.payments.gateway in authorize_card"
    assert alert.service == "checkout-api"
    assert alert.source_severity == "error"
    assert alert.tags == {"priority": "high", "substatus": "new"}
    assert alert.links == (Link("https://acme-payments.sentry.io/issues/5120374913/", "Sentry"),)
    assert alert.occurred_at == pytest.approx(1773479638.118)
    assert alert.actor == "Sentry"


def test_event_alert_is_the_same_issue_with_its_event_tags():
    parsed = parse("event_alert_triggered")
    [alert] = parsed.alerts
    assert alert.identity == ISSUE
    assert parsed.delivery_id == "event_alert.triggered:8c1f4e2a9b7d4c03a6e5f1b2d3c4e5f6"
    assert alert.environment == "production"
    assert alert.host == "web-03"
    assert alert.service == "checkout-api"
    assert alert.tags["rule"] == "Checkout errors -> on-call pipeline"
    assert alert.tags["release"] == "checkout-api@2026.03.14-1"
    assert alert.occurred_at == pytest.approx(1773479638.118)  # float seconds


def test_repeat_event_alert_is_another_delivery_of_the_same_issue():
    first, repeat = (
        parse("event_alert_triggered").alerts[0],
        parse("event_alert_triggered_repeat").alerts[0],
    )
    assert first.identity == repeat.identity
    assert first.delivery_id != repeat.delivery_id


def test_metric_alert_keeps_its_incident_through_warning_critical_resolved():
    alerts = [
        parse(name).alerts[0]
        for name in ("metric_alert_warning", "metric_alert_critical", "metric_alert_resolved")
    ]
    assert {a.identity for a in alerts} == {"metric:91825"}
    assert [a.lifecycle for a in alerts] == [
        Lifecycle.TRIGGER,
        Lifecycle.TRIGGER,
        Lifecycle.RESOLVE,
    ]
    assert [a.source_severity for a in alerts] == ["warning", "critical", ""]
    assert [a.delivery_id for a in alerts] == [
        "metric_alert.warning:91825:10",
        "metric_alert.critical:91825:20",
        "metric_alert.resolved:91825:2",
    ]
    warning = alerts[0]
    assert warning.title == "Warning: Checkout API p95 latency"
    assert warning.service == "checkout-api" and warning.environment == "production"
    assert warning.tags == {"alert_rule": "Checkout API p95 latency", "alert_rule_id": "48213"}


def test_comment_with_int_ids_is_a_note_on_the_issue():
    [alert] = parse("comment_created").alerts
    assert alert.lifecycle is Lifecycle.NOTE
    assert alert.identity == ISSUE
    assert alert.description.startswith("Gateway p99 spiked")
    assert alert.actor == "Priya Raman"
    assert alert.occurred_at == pytest.approx(1773480999.981)


def test_issue_assigned_is_the_closest_thing_to_an_ack():
    [alert] = parse("issue_assigned").alerts
    assert alert.lifecycle is Lifecycle.ACKNOWLEDGE and alert.identity == ISSUE


def test_legacy_plugin_event_is_normalised():
    fixture = load_fixture("sentry", "legacy_plugin_event")
    parsed = SOURCE.parse(Headers(fixture.headers), fixture.json, fixture.body)
    [alert] = parsed.alerts
    assert alert.identity == ISSUE
    assert parsed.delivery_id == "legacy:5120374913:c0a9e8d7f6b54a3c9d2e1f0a8b7c6d5e"
    assert alert.title == "payment-gateway did not respond within 2000 ms"
    assert alert.environment == "production" and alert.host == "web-03"
    assert alert.source_severity == "error"
    assert alert.links[0].href.startswith("https://acme-payments.sentry.io/issues/5120374913/")


@pytest.mark.parametrize(("issue_id", "expected"), [("5120374913", ISSUE), (5120374913, ISSUE)])
def test_issue_id_as_string_or_int(issue_id, expected):
    payload = load_fixture("sentry", "comment_created").json
    payload["data"]["issue_id"] = issue_id
    assert parse("comment_created", payload).alerts[0].identity == expected
    event = load_fixture("sentry", "event_alert_triggered").json
    event["data"]["event"]["issue_id"] = issue_id
    assert parse("event_alert_triggered", event).alerts[0].identity == expected


# resource -> fixture whose body shape it has, action -> lifecycle or None (ignored)
DOCUMENTED = [
    ("issue", "issue_created", "created", Lifecycle.TRIGGER),
    ("issue", "issue_created", "resolved", Lifecycle.RESOLVE),
    ("issue", "issue_created", "assigned", Lifecycle.ACKNOWLEDGE),
    ("issue", "issue_created", "ignored", Lifecycle.RESOLVE),
    ("issue", "issue_created", "archived", Lifecycle.RESOLVE),
    ("issue", "issue_created", "unresolved", Lifecycle.TRIGGER),
    ("event_alert", "event_alert_triggered", "triggered", Lifecycle.TRIGGER),
    ("metric_alert", "metric_alert_warning", "open", Lifecycle.TRIGGER),
    ("metric_alert", "metric_alert_warning", "warning", Lifecycle.TRIGGER),
    ("metric_alert", "metric_alert_warning", "critical", Lifecycle.TRIGGER),
    ("metric_alert", "metric_alert_warning", "resolved", Lifecycle.RESOLVE),
    ("comment", "comment_created", "created", Lifecycle.NOTE),
    ("comment", "comment_created", "updated", Lifecycle.NOTE),
    ("comment", "comment_created", "deleted", Lifecycle.NOTE),
    ("installation", "comment_created", "created", None),
    ("installation", "comment_created", "deleted", None),
    ("seer", "comment_created", "created", None),
    ("issue", "issue_created", "some_future_action", None),
    ("metric_alert", "metric_alert_warning", "some_future_action", None),
]


@pytest.mark.parametrize(
    ("resource", "name", "action", "lifecycle"),
    DOCUMENTED,
    ids=[f"{r}.{a}" for r, _, a, _ in DOCUMENTED],
)
def test_documented_resource_action_is_mapped_or_ignored(resource, name, action, lifecycle):
    payload = load_fixture("sentry", name).json
    payload["action"] = action
    parsed = parse(name, payload, resource=resource)
    assert parsed.event_type == f"{resource}.{action}"
    if lifecycle is None:
        assert parsed.alerts == [] and parsed.ignored_reason
    else:
        assert [a.lifecycle for a in parsed.alerts] == [lifecycle]


def test_error_created_is_a_trigger_of_its_issue():
    event = load_fixture("sentry", "event_alert_triggered").json["data"]["event"]
    payload = {
        "action": "created",
        "installation": {"uuid": "x"},
        "data": {"error": event},
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    }
    [alert] = parse("event_alert_triggered", payload, resource="error").alerts
    assert alert.lifecycle is Lifecycle.TRIGGER and alert.identity == ISSUE
    assert alert.service == "checkout-api"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("data", "issue", "id"), None, "data.issue.id"),
        (("data", "issue", "id"), {"id": 1}, "data.issue.id"),
        (("data", "issue", "id"), True, "data.issue.id"),
        (("data", "issue", "lastSeen"), "last tuesday", "data.issue.lastSeen"),
        (("data", "issue", "title"), ["t"], "data.issue.title"),
        (("action",), 1, "action"),
    ],
)
def test_bad_fields_are_payload_errors_naming_the_field(path, value, field):
    payload = load_fixture("sentry", "issue_created").json
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PayloadError) as caught:
        parse("issue_created", payload)
    assert caught.value.details["field"] == field
