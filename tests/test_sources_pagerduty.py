"""PagerDuty V3 parser: pure normalisation of verified payloads (webhooks.md §1)."""

from __future__ import annotations

import copy

import pytest
from conftest import load_fixture
from werkzeug.datastructures import Headers

from app.errors import PayloadError
from app.models import Lifecycle, Link, SourceName
from app.sources.pagerduty import PagerDutySource

SOURCE = PagerDutySource(("unused",))


def parse(name: str, payload=None, headers=None):
    fixture = load_fixture("pagerduty", name)
    return SOURCE.parse(
        Headers(fixture.headers if headers is None else headers),
        fixture.json if payload is None else payload,
        fixture.body,
    )


def test_triggered_is_normalised():
    parsed = parse("incident_triggered")
    [alert] = parsed.alerts
    assert parsed.event_type == "incident.triggered"
    assert parsed.delivery_id == alert.delivery_id == "01JPM4Q7S2V8YC3N6KD0H5WRTE"  # event.id
    assert alert.source is SourceName.PAGERDUTY
    assert alert.lifecycle is Lifecycle.TRIGGER
    assert alert.identity == "Q1ZN8T7WC4HX2M"
    assert alert.title == "[prod] checkout-api: p99 latency > 2s on web-03"
    assert alert.service == "Checkout API"
    assert alert.source_severity == "P2"
    assert alert.tags == {
        "urgency": "high",
        "priority": "P2",
        "pagerduty_service": "Checkout API",
        "escalation_policy": "Checkout On-Call",
        "pagerduty_status": "triggered",
        "pagerduty_team": "Payments Platform",
    }
    assert alert.links == (
        Link("https://acme-payments.pagerduty.com/incidents/Q1ZN8T7WC4HX2M", "PagerDuty incident"),
    )
    assert alert.occurred_at == pytest.approx(1773479643.512)  # 2026-03-14T09:14:03.512Z
    assert alert.actor == "Checkout API"
    assert alert.problem_key == "5d9f2e7c1a8b4c3e9f0d6a2b7c8e1f34"
    assert alert.details == {"event_id": "01JPM4Q7S2V8YC3N6KD0H5WRTE"}
    assert alert.truncated == ()


def test_redelivery_has_the_same_delivery_id():
    assert (
        parse("incident_triggered").delivery_id
        == parse("incident_triggered_redelivery").delivery_id
    )


def test_delivery_id_is_the_signed_event_id_whatever_the_unsigned_x_webhook_id_says():
    fixture = load_fixture("pagerduty", "incident_triggered")
    for webhook_id in (None, "a-new-id-chosen-by-whoever-replays-it"):
        headers = {k: v for k, v in fixture.headers.items() if k != "X-Webhook-Id"}
        if webhook_id:
            headers["X-Webhook-Id"] = webhook_id
        parsed = parse("incident_triggered", headers=headers)
        assert parsed.delivery_id == "01JPM4Q7S2V8YC3N6KD0H5WRTE"
        assert parsed.event_at == parsed.alerts[0].ordered_at == 1773479643.512


@pytest.mark.parametrize(
    ("name", "content"),
    [("incident_annotated", "data.content"), ("incident_status_update_published", "data.message")],
)
def test_notes_read_the_nested_incident(name, content):
    payload = load_fixture("pagerduty", name).json
    [alert] = parse(name).alerts
    assert alert.lifecycle is Lifecycle.NOTE
    assert alert.identity == payload["event"]["data"]["incident"]["id"] == "Q1ZN8T7WC4HX2M"
    assert alert.title == payload["event"]["data"]["incident"]["summary"]
    section, key = content.split(".")
    assert alert.description == payload["event"][section][key]
    assert alert.problem_key == "" and alert.service == ""


def test_priority_update_carries_the_new_priority():
    [alert] = parse("incident_priority_updated").alerts
    assert alert.lifecycle is Lifecycle.ESCALATE
    assert alert.source_severity == "P1"


def test_null_priority_falls_back_to_urgency():
    payload = load_fixture("pagerduty", "incident_triggered").json
    payload["event"]["data"]["priority"] = None
    [alert] = parse("incident_triggered", payload).alerts
    assert alert.source_severity == "high"
    assert "priority" not in alert.tags


def test_resolved_with_no_assignees_and_merge_reason():
    payload = load_fixture("pagerduty", "incident_resolved").json
    payload["event"]["data"]["resolve_reason"] = {
        "type": "merge_resolve_reason",
        "incident": {"id": "Q2SURVIVOR", "type": "incident_reference"},
    }
    [alert] = parse("incident_resolved", payload).alerts
    assert alert.lifecycle is Lifecycle.RESOLVE
    assert alert.details["merged_into"] == "Q2SURVIVOR"


def test_ping_is_ignored_as_a_test_event():
    parsed = parse("pagey_ping")
    assert parsed.alerts == [] and parsed.ignored_reason == "test event"


MAPPED = {
    "incident.triggered": Lifecycle.TRIGGER,
    "incident.reopened": Lifecycle.TRIGGER,
    "incident.acknowledged": Lifecycle.ACKNOWLEDGE,
    "incident.unacknowledged": Lifecycle.UNACKNOWLEDGE,
    "incident.escalated": Lifecycle.ESCALATE,
    "incident.delegated": Lifecycle.ESCALATE,
    "incident.reassigned": Lifecycle.ESCALATE,
    "incident.priority_updated": Lifecycle.ESCALATE,
    "incident.responder.added": Lifecycle.ESCALATE,
    "incident.annotated": Lifecycle.NOTE,
    "incident.status_update_published": Lifecycle.NOTE,
    "incident.responder.replied": Lifecycle.NOTE,
    "incident.resolved": Lifecycle.RESOLVE,
}
IGNORED = [
    "incident.conference_bridge.updated",
    "incident.custom_field_values.updated",
    "incident.incident_type.changed",
    "incident.service_updated",
    "incident.role.assigned",
    "incident.task.created",
    "incident.task.updated",
    "incident.task.completed",
    "incident.action_invocation.created",
    "incident.action_invocation.updated",
    "incident.action_invocation.terminated",
    "incident.workflow.started",
    "incident.workflow.completed",
    "service.created",
    "service.updated",
    "service.deleted",
    "pagey.ping",
    "incident.some_early_access_type",
]


def _with_event_type(event_type: str) -> dict:
    payload = load_fixture("pagerduty", "incident_triggered").json
    payload["event"]["event_type"] = event_type
    return payload


@pytest.mark.parametrize(("event_type", "lifecycle"), MAPPED.items())
def test_documented_event_type_is_mapped(event_type, lifecycle):
    [alert] = parse("incident_triggered", _with_event_type(event_type)).alerts
    assert alert.lifecycle is lifecycle and alert.event_type == event_type


@pytest.mark.parametrize("event_type", IGNORED)
def test_informational_event_type_is_ignored_not_refused(event_type):
    parsed = parse("incident_triggered", _with_event_type(event_type))
    assert parsed.alerts == [] and parsed.ignored_reason
    assert parsed.event_type == event_type


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-14T09:14:03.512Z",
        "2026-03-14T10:14:03.512+01:00",
        "2026-03-14T09:14:03.512000+00:00",
    ],
)
def test_occurred_at_iso_forms(value):
    payload = _with_event_type("incident.triggered")
    payload["event"]["occurred_at"] = value
    assert parse("incident_triggered", payload).alerts[0].occurred_at == pytest.approx(
        1773479643.512
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("event", "data", "id"), {"id": "x"}),
        (("event", "data", "id"), True),
        (("event", "data", "id"), "x" * 513),
        (("event", "event_type"), 7),
        (("event", "occurred_at"), "yesterday"),
        (("event", "data", "title"), ["a"]),
    ],
)
def test_bad_fields_are_payload_errors_naming_the_field(path, value):
    payload = copy.deepcopy(_with_event_type("incident.triggered"))
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PayloadError) as caught:
        parse("incident_triggered", payload)
    assert caught.value.details["field"] == ".".join(path)


def test_long_title_is_truncated_and_recorded():
    payload = _with_event_type("incident.triggered")
    payload["event"]["data"]["title"] = "t" * 5000
    [alert] = parse("incident_triggered", payload).alerts
    assert len(alert.title) == 1024 and alert.title.endswith("…")
    assert alert.truncated == ("event.data.title",)
