"""Opsgenie Webhook integration parser: pure normalisation (webhooks.md §2)."""

from __future__ import annotations

import pytest
from conftest import load_fixture
from werkzeug.datastructures import Headers

from app.errors import PayloadError
from app.models import Lifecycle, SourceName
from app.sources.opsgenie import OpsgenieSource

SOURCE = OpsgenieSource("unused")
ALERT_ID = "6f1c2e9a-3b7d-4e58-9a10-c4d2e8b7f531-1773479643512"


def parse(name: str, payload=None):
    fixture = load_fixture("opsgenie", name)
    return SOURCE.parse(
        Headers(fixture.headers), fixture.json if payload is None else payload, fixture.body
    )


def test_create_is_normalised():
    parsed = parse("create")
    [alert] = parsed.alerts
    assert parsed.event_type == "Create"
    assert alert.source is SourceName.OPSGENIE
    assert alert.lifecycle is Lifecycle.TRIGGER
    assert alert.identity == ALERT_ID
    assert alert.delivery_id == parsed.delivery_id == f"{ALERT_ID}:Create:1773479643512412031"
    assert alert.title == "[prod] checkout-api: p99 latency > 2s on web-03"
    assert alert.service == "checkout-api"
    assert alert.environment == "prod"
    assert alert.host == "web-03"
    assert alert.source_severity == "P2"
    assert alert.tags == {
        "env": "prod",
        "service": "checkout-api",
        "team": "payments",
        "monitor": "184663201",
        "opsgenie_team": "payments",
    }
    assert alert.links == ()
    assert alert.occurred_at == pytest.approx(1773479643.512412)  # updatedAt, nanoseconds
    assert alert.actor == "Datadog"
    assert alert.problem_key == "checkout-api-p99-latency-prod"
    assert alert.details["runbook"] == (
        "https://wiki.acme-payments.example/runbooks/checkout-latency"
    )
    assert alert.description.startswith(
        load_fixture("opsgenie", "create").json["alert"]["description"][:40]
    )


def test_escalate_has_only_an_alert_id_and_names_the_escalation():
    [alert] = parse("escalate").alerts
    assert alert.lifecycle is Lifecycle.ESCALATE
    assert alert.identity == ALERT_ID
    assert alert.title == "" and alert.occurred_at is None
    assert alert.details == {"escalation": "payments_escalation", "escalated_to": "sre_schedule"}
    assert alert.delivery_id == (f"{ALERT_ID}:Escalate:7b3d9f1e-0c2a-4e6b-8d5f-3a1c9e7b2d64:5:0")


@pytest.mark.parametrize(
    ("name", "lifecycle"),
    [
        ("acknowledge", Lifecycle.ACKNOWLEDGE),
        ("addnote", Lifecycle.NOTE),
        ("close", Lifecycle.RESOLVE),
    ],
)
def test_lifecycle_actions(name, lifecycle):
    [alert] = parse(name).alerts
    assert alert.lifecycle is lifecycle and alert.identity == ALERT_ID


def test_note_text_becomes_the_description():
    payload = load_fixture("opsgenie", "addnote").json
    assert parse("addnote").alerts[0].description == payload["alert"]["note"]


def test_addtags_with_a_comma_string_is_ignored():
    parsed = parse("addtags")
    assert parsed.alerts == [] and "AddTags" in parsed.ignored_reason


def test_unicode_and_description_cut_at_1000_by_opsgenie():
    [alert] = parse("create_unicode_truncated_description").alerts
    assert alert.title == "[本番] 決済API レイテンシ急上昇 🚨 – Zahlungsdienst „Überlastung“"
    assert alert.problem_key == "決済API/latency/eu-west-3"
    assert alert.tags == {"env": "prod", "région": "eu-west-3", "サービス": "決済API"}
    assert len(alert.description) == 1000 and alert.truncated == ()
    assert alert.source_severity == "P1"


MAPPED = {
    "Create": Lifecycle.TRIGGER,
    "Acknowledge": Lifecycle.ACKNOWLEDGE,
    "UnAcknowledge": Lifecycle.UNACKNOWLEDGE,
    "AddNote": Lifecycle.NOTE,
    "Close": Lifecycle.RESOLVE,
    "Delete": Lifecycle.RESOLVE,
    "Escalate": Lifecycle.ESCALATE,
    "AddTeam": Lifecycle.ESCALATE,
    "AddRecipient": Lifecycle.ESCALATE,
    "AddResponder": Lifecycle.ESCALATE,
    "UpdatePriority": Lifecycle.ESCALATE,
    "TakeOwnership": Lifecycle.ACKNOWLEDGE,
    "AssignOwnership": Lifecycle.ACKNOWLEDGE,
}
IGNORED = ["AddTags", "RemoveTags", "Snooze", "TestAction", "CustomActionName"]


def _with_action(action: str) -> dict:
    payload = load_fixture("opsgenie", "create").json
    payload["action"] = action
    return payload


@pytest.mark.parametrize(("action", "lifecycle"), MAPPED.items())
def test_documented_action_is_mapped(action, lifecycle):
    [alert] = parse("create", _with_action(action)).alerts
    assert alert.lifecycle is lifecycle and alert.event_type == action


@pytest.mark.parametrize("action", IGNORED)
def test_informational_or_custom_action_is_ignored(action):
    parsed = parse("create", _with_action(action))
    assert parsed.alerts == [] and parsed.ignored_reason


@pytest.mark.parametrize("updated_at", [1773479643512412031, "1773479643512412031"])
def test_updated_at_nanoseconds_as_number_or_string(updated_at):
    payload = _with_action("Create")
    payload["alert"]["updatedAt"] = updated_at
    [alert] = parse("create", payload).alerts
    assert alert.occurred_at == pytest.approx(1773479643.512412)
    assert alert.delivery_id.endswith(":1773479643512412031")


@pytest.mark.parametrize("created_at", [1773479643512, "1773479643512"])
def test_created_at_milliseconds_when_there_is_no_updated_at(created_at):
    payload = _with_action("Create")
    del payload["alert"]["updatedAt"]
    payload["alert"]["createdAt"] = created_at
    assert parse("create", payload).alerts[0].occurred_at == pytest.approx(1773479643.512)


def test_alert_id_as_number_or_string_is_the_same_alert():
    as_number, as_string = _with_action("Create"), _with_action("Create")
    as_number["alert"]["alertId"], as_string["alert"]["alertId"] = 4242, "4242"
    assert (
        parse("create", as_number).alerts[0].identity
        == parse("create", as_string).alerts[0].identity
        == "4242"
    )


@pytest.mark.parametrize(("priority", "read"), [("P3", "P3"), (3, "P3"), ("2", "P2")])
def test_priority_in_its_observed_forms(priority, read):
    """A bare number is the same priority, so the P1..P5 severity map applies to it too."""
    payload = _with_action("Create")
    payload["alert"]["priority"] = priority
    assert parse("create", payload).alerts[0].source_severity == read


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("alert.alertId", None),
        ("alert.alertId", {"id": 1}),
        ("alert.alertId", False),
        ("alert.alertId", "a" * 600),
        ("action", ""),
        ("action", 5),
        ("alert.message", {"x": 1}),
        ("alert.updatedAt", "soon"),
    ],
)
def test_bad_fields_are_payload_errors_naming_the_field(path, value):
    payload = _with_action("Create")
    section, _, key = path.rpartition(".")
    (payload[section] if section else payload)[key] = value
    with pytest.raises(PayloadError) as caught:
        parse("create", payload)
    assert caught.value.details["field"] == path


def test_alert_that_is_not_an_object_names_alert():
    payload = _with_action("Create")
    payload["alert"] = ["not", "an", "object"]
    with pytest.raises(PayloadError) as caught:
        parse("create", payload)
    assert caught.value.details["field"] == "alert"
