"""Datadog Webhooks parser: recommended template, default payload, Incident Management
notifications (webhooks.md §4, fixtures README 'datadog')."""

from __future__ import annotations

import pytest
from conftest import load_fixture
from werkzeug.datastructures import Headers

from app.errors import PayloadError
from app.models import Lifecycle, Link, SourceName
from app.sources.datadog import DatadogSource

SOURCE = DatadogSource("unused")


def parse(name: str, payload=None):
    fixture = load_fixture("datadog", name)
    return SOURCE.parse(
        Headers(fixture.headers), fixture.json if payload is None else payload, fixture.body
    )


def test_triggered_is_normalised():
    parsed = parse("triggered")
    [alert] = parsed.alerts
    assert parsed.event_type == alert.event_type == "Triggered"
    assert alert.source is SourceName.DATADOG
    assert alert.lifecycle is Lifecycle.TRIGGER
    assert alert.identity == "184663201|host:web-03"
    assert alert.delivery_id == parsed.delivery_id == "8213390581223456789"
    assert alert.title == "[prod] checkout-api p99 latency high"
    assert alert.service == "checkout-api"
    assert alert.environment == "prod"
    assert alert.host == "web-03"
    assert alert.source_severity == "P2"
    assert alert.tags["team"] == "payments" and alert.tags["monitor_id"] == "184663201"
    assert alert.tags["alert_type"] == "error" and alert.tags["scope"] == "host:web-03"
    assert alert.links == (
        Link(
            "https://app.datadoghq.com/event/jump_to?event_id=8213390581223456789", "Datadog event"
        ),
    )
    assert alert.occurred_at == 1773479643.0  # "$DATE" epoch ms as a string
    assert alert.problem_key == "7749632150184225311"  # the cycle key
    assert alert.description.startswith("@webhook-alert-pipeline")  # text_only_msg


def test_renotify_and_recovery_are_the_same_group():
    triggered, renotify, recovered, warn = (
        parse(n).alerts[0] for n in ("triggered", "retriggered_renotify", "recovered", "warn")
    )
    assert triggered.identity == renotify.identity == recovered.identity
    assert warn.identity == "184663201|host:web-07" != triggered.identity
    assert len({triggered.delivery_id, renotify.delivery_id, recovered.delivery_id}) == 3
    assert recovered.lifecycle is Lifecycle.RESOLVE
    assert warn.tags["alert_type"] == "warning"


def test_default_payload_reads_transition_group_and_priority_from_the_title():
    [alert] = parse("default_payload_triggered").alerts
    assert alert.lifecycle is Lifecycle.TRIGGER
    assert alert.identity == "title:[prod] checkout-api p99 latency high|host:web-03"
    assert alert.title == "[prod] checkout-api p99 latency high"
    assert alert.host == "web-03"
    assert alert.source_severity == "P2"
    assert alert.delivery_id == "8213390581223456789"
    assert alert.occurred_at == 1773479643.0


def test_incident_management_stable_is_an_acknowledgement():
    parsed = parse("incident_stable")
    [alert] = parsed.alerts
    assert parsed.event_type == "incident.stable"
    assert alert.lifecycle is Lifecycle.ACKNOWLEDGE
    assert alert.identity == "incident:2317"
    assert alert.title == "Checkout latency degradation (p99 > 2s)"
    assert alert.service == "checkout-api"
    assert alert.source_severity == "SEV-2"
    assert alert.actor == "Marco Bianchi"
    assert alert.links == (Link("https://app.datadoghq.com/incidents/2317", "Datadog incident"),)


TRANSITIONS = {
    "Triggered": Lifecycle.TRIGGER,
    "Re-Triggered": Lifecycle.TRIGGER,
    "Recovered": Lifecycle.RESOLVE,
    "Warn": Lifecycle.TRIGGER,
    "Re-Warn": Lifecycle.TRIGGER,
    "No Data": Lifecycle.TRIGGER,
    "Re-No Data": Lifecycle.TRIGGER,
    "Renotify": Lifecycle.TRIGGER,
}


@pytest.mark.parametrize(("transition", "lifecycle"), TRANSITIONS.items())
def test_documented_transition_is_mapped(transition, lifecycle):
    payload = load_fixture("datadog", "triggered").json
    payload["alert"]["transition"] = transition
    [alert] = parse("triggered", payload).alerts
    assert alert.lifecycle is lifecycle and alert.event_type == transition


@pytest.mark.parametrize(("transition", "lifecycle"), TRANSITIONS.items())
def test_documented_transition_in_a_default_payload_title_is_mapped(transition, lifecycle):
    payload = load_fixture("datadog", "default_payload_triggered").json
    payload["title"] = f"[P1] [{transition} on {{host:web-03}}] checkout down"
    [alert] = parse("default_payload_triggered", payload).alerts
    assert alert.lifecycle is lifecycle
    assert (alert.title, alert.host, alert.source_severity) == ("checkout down", "web-03", "P1")


def test_unknown_transition_is_refused_naming_the_field_and_the_allowed_values():
    payload = load_fixture("datadog", "triggered").json
    payload["alert"]["transition"] = "Trigered"
    with pytest.raises(PayloadError) as caught:
        parse("triggered", payload)
    error = caught.value
    assert error.details["field"] == "alert.transition"
    assert all(t in error.details["expected"] for t in TRANSITIONS)
    assert "'Trigered'" in error.message


def test_event_alert_without_transition_falls_back_to_the_title():
    payload = load_fixture("datadog", "recovered").json
    payload["alert"]["transition"] = ""
    [alert] = parse("recovered", payload).alerts
    assert alert.lifecycle is Lifecycle.RESOLVE and alert.event_type == "Recovered"


@pytest.mark.parametrize("status", ["active", "stable", "resolved", "completed", "archived"])
def test_incident_statuses(status):
    payload = load_fixture("datadog", "incident_stable").json
    payload["incident_status"] = status
    parsed = parse("incident_stable", payload)
    expected = {
        "active": Lifecycle.TRIGGER,
        "stable": Lifecycle.ACKNOWLEDGE,
        "resolved": Lifecycle.RESOLVE,
        "completed": Lifecycle.RESOLVE,
    }.get(status)
    assert [a.lifecycle for a in parsed.alerts] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("monitor_id", "event_id"),
    [("184663201", "8213390581223456789"), (184663201, 8213390581223456789)],
)
def test_ids_as_strings_or_unquoted_numbers(monitor_id, event_id):
    payload = load_fixture("datadog", "triggered").json
    payload["alert"]["id"], payload["id"] = monitor_id, event_id
    [alert] = parse("triggered", payload).alerts
    assert alert.identity == "184663201|host:web-03"
    assert alert.delivery_id == "8213390581223456789"


@pytest.mark.parametrize("date", ["1773479643000", 1773479643000, "1773479643", 1773479643])
def test_date_as_epoch_ms_or_seconds_string_or_number(date):
    payload = load_fixture("datadog", "triggered").json
    payload["date"] = date
    assert parse("triggered", payload).alerts[0].occurred_at == 1773479643.0


def test_tags_comma_string_become_a_map():
    [alert] = parse("triggered").alerts
    assert {k: alert.tags[k] for k in ("env", "host", "monitor", "service", "team")} == {
        "env": "prod",
        "host": "web-03",
        "monitor": "",
        "service": "checkout-api",
        "team": "payments",
    }


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("id", {"x": 1}, "id"),
        ("id", True, "id"),
        ("id", "9" * 513, "id"),
        ("date", "tomorrow", "date"),
        ("hostname", ["web-03"], "hostname"),
    ],
)
def test_bad_fields_are_payload_errors_naming_the_field(key, value, field):
    payload = load_fixture("datadog", "triggered").json
    payload[key] = value
    with pytest.raises(PayloadError) as caught:
        parse("triggered", payload)
    assert caught.value.details["field"] == field


def test_default_payload_with_an_unreadable_title_names_the_title():
    payload = load_fixture("datadog", "default_payload_triggered").json
    payload["title"] = "Something happened"
    with pytest.raises(PayloadError) as caught:
        parse("default_payload_triggered", payload)
    assert caught.value.details["field"] == "title"
