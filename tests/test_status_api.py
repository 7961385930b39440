"""GET /api/v2/*.json: the public status in Atlassian Statuspage's public-API shape. Every
document validates against a JSON schema written from Statuspage's published documents
(additionalProperties off: nothing internal rides along), holds only what the public status
page shows, and is readable from any origin without signing in."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from incident_story import IDENTIFIED, api, full_story, open_incident, respond
from jsonschema import Draft202012Validator
from test_pages import leaks

from app import create_app

NOW = 1_773_478_800.0  # the virtual clock's start: Saturday 2026-03-14 09:00 UTC
TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
NULLABLE_TIME = {"anyOf": [TIME, {"type": "null"}]}
PAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "url", "time_zone", "updated_at"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://"},
        "time_zone": {"type": "string"},
        "updated_at": TIME,
    },
}
STATUS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["indicator", "description"],
    "properties": {
        "indicator": {"enum": ["none", "minor", "major", "critical"]},
        "description": {"type": "string", "minLength": 1},
    },
}
COMPONENT = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": {
            "enum": [
                "operational",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                "under_maintenance",
            ]
        },
        "created_at": TIME,
        "updated_at": TIME,
        "position": {"type": "integer"},
        "description": {"type": ["string", "null"]},
        "showcase": {"type": "boolean"},
        "start_date": {"type": ["string", "null"]},
        "group_id": {"type": ["string", "null"]},
        "page_id": {"type": "string"},
        "group": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "components": {"type": "array", "items": {"type": "string"}},  # a group's children
    },
    # A group lists its components' ids and is in no group; a component lists none.
    "if": {"properties": {"group": {"const": True}}},
    "then": {"required": ["components"], "properties": {"group_id": {"type": "null"}}},
    "else": {"not": {"required": ["components"]}},
}


def _update(statuses: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "status",
            "body",
            "incident_id",
            "created_at",
            "updated_at",
            "display_at",
            "affected_components",
            "deliver_notifications",
            "custom_tweet",
            "tweet_id",
        ],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": statuses},
            "body": {"type": "string"},
            "incident_id": {"type": "string"},
            "created_at": TIME,
            "updated_at": TIME,
            "display_at": TIME,
            "affected_components": {"type": ["array", "null"]},
            "deliver_notifications": {"type": "boolean"},
            "custom_tweet": {"type": ["string", "null"]},
            "tweet_id": {"type": ["string", "null"]},
        },
    }


def _incident(statuses: list[str], impacts: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": {"enum": statuses},
        "created_at": TIME,
        "updated_at": TIME,
        "monitoring_at": NULLABLE_TIME,
        "resolved_at": NULLABLE_TIME,
        "impact": {"enum": impacts},
        "shortlink": {"type": "string", "pattern": "^https?://"},
        "started_at": TIME,
        "page_id": {"type": "string"},
        "incident_updates": {"type": "array", "items": _update(statuses)},
        "components": {"type": "array", "items": COMPONENT},
        **extra,
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


INCIDENT = _incident(
    ["investigating", "identified", "monitoring", "resolved", "postmortem"],
    ["none", "minor", "major", "critical"],
    {},
)
MAINTENANCE = _incident(
    ["scheduled", "in_progress", "verifying", "completed"],
    ["maintenance"],
    {"scheduled_for": TIME, "scheduled_until": NULLABLE_TIME},
)


def _document(**parts: Any) -> dict[str, Any]:
    properties = {"page": PAGE, **parts}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


SCHEMAS = {
    "summary": _document(
        status=STATUS,
        components={"type": "array", "items": COMPONENT},
        incidents={"type": "array", "items": INCIDENT},
        scheduled_maintenances={"type": "array", "items": MAINTENANCE},
    ),
    "status": _document(status=STATUS),
    "components": _document(components={"type": "array", "items": COMPONENT}),
    "incidents": _document(incidents={"type": "array", "items": INCIDENT}),
    "incidents/unresolved": _document(incidents={"type": "array", "items": INCIDENT}),
    "scheduled-maintenances": _document(
        scheduled_maintenances={"type": "array", "items": MAINTENANCE}
    ),
    "scheduled-maintenances/upcoming": _document(
        scheduled_maintenances={"type": "array", "items": MAINTENANCE}
    ),
    "scheduled-maintenances/active": _document(
        scheduled_maintenances={"type": "array", "items": MAINTENANCE}
    ),
}
WINDOWS = """
silences:
  - name: checkout-db-upgrade
    kind: maintenance
    comment: Database upgrade on db-01 (ask Priya Raman)
    created_by: Priya Raman
    match:
      service: checkout-api
    starts_at: 2026-03-14T12:00:00Z
    ends_at: 2026-03-14T14:00:00Z
  - name: checkout-weekly-reindex
    kind: maintenance
    comment: Weekly reindex
    match:
      service: checkout-api
    recurring:
      timezone: Europe/Berlin
      weekdays: [sunday]
      start: "02:00"
      end: "04:00"
  - name: ledger-internal
    kind: maintenance
    comment: Internal ledger work
    match:
      service: ledger-batch
    starts_at: 2026-03-14T10:00:00Z
    ends_at: 2026-03-14T11:00:00Z
  - name: flaky-disk
    kind: silence
    comment: web-07 disk
    matchers:
      - host = web-07
    ends_at: 2026-04-01T00:00:00Z
"""


@pytest.fixture
def settings(settings, tmp_path):
    """The per-alert rules; checkout-api a declared public component; maintenance windows."""
    rules = (settings.rules_dir / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(
        rules + "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n" + WINDOWS
    )
    return settings.with_changes(rules_dir=tmp_path, status_title="Acme status")


def get(client, name: str) -> dict[str, Any]:
    response = client.get(f"/api/v2/{name}.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.mimetype == "application/json"
    document = response.get_json()
    errors = sorted(Draft202012Validator(SCHEMAS[name]).iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return document


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_document_validates_with_nothing_happening(client, name) -> None:
    document = get(client, name)
    assert document["page"]["name"] == "Acme status"
    assert document["page"]["url"] == "http://localhost:8000/status"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_document_validates_during_and_after_incidents(client, clock, name) -> None:
    full_story(client, clock)  # a resolved SEV1 ...
    clock.advance(3600)
    declared = api(  # ... and an open one, declared by hand
        client,
        "POST",
        "/incidents",
        {"title": "Checkout down", "severity": "SEV2", "service": "checkout-api", "by": "Marco"},
    )["incident"]
    api(
        client,
        "POST",
        f"/incidents/{declared}/updates",
        {"status": "identified", "message": IDENTIFIED, "by": "Marco Bianchi"},
    )
    api(client, "POST", "/maintenance", {"reason": "Database upgrade", "by": "Priya Raman"})
    document = get(client, name)
    assert leaks(str(document)) == []
    if name == "incidents":
        assert [i["status"] for i in document["incidents"]] == ["identified", "resolved"]
    if name == "scheduled-maintenances/active":
        assert len(document["scheduled_maintenances"]) == 1


def test_summary_says_what_is_wrong_in_statuspage_words(client, clock) -> None:
    assert get(client, "status")["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }
    incident = open_incident(client, clock)
    respond(client, clock, incident)  # raised to SEV1: critical, major outage
    summary = get(client, "summary")
    assert summary["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    assert {c["name"]: c["status"] for c in summary["components"]} == {
        "Checkout API": "major_outage"
    }
    [shown] = summary["incidents"]
    assert shown["id"] == incident and shown["name"] == "Major outage: Checkout API"
    assert shown["status"] == "monitoring" and shown["impact"] == "critical"
    assert shown["shortlink"] == f"http://localhost:8000/status#{incident}"
    assert [u["status"] for u in shown["incident_updates"]] == ["monitoring", "identified"]
    assert "[redacted] is rolling back" in shown["incident_updates"][1]["body"]
    assert shown["components"][0]["name"] == "Checkout API"


def test_resolved_incidents_leave_unresolved_and_stay_in_incidents(client, clock) -> None:
    incident = full_story(client, clock)
    assert get(client, "incidents/unresolved")["incidents"] == []
    [shown] = get(client, "incidents")["incidents"]
    assert shown["id"] == incident and shown["status"] == "resolved"
    assert shown["resolved_at"] and shown["monitoring_at"]
    assert shown["incident_updates"][0]["status"] == "resolved"
    assert {c["name"]: c["status"] for c in get(client, "components")["components"]} == {
        "Checkout API": "operational"
    }


def test_sev3_incidents_are_not_public(client, clock) -> None:
    open_incident(client, clock)
    api(
        client,
        "POST",
        "/incidents/INC-2026-0001/updates",
        {"status": "investigating", "message": "Minor", "severity": "SEV3"},
    )
    assert get(client, "incidents")["incidents"] == []
    assert get(client, "status")["status"]["indicator"] == "none"


def test_maintenance_windows_in_rules_are_scheduled_then_active(client, clock) -> None:
    upcoming = get(client, "scheduled-maintenances/upcoming")["scheduled_maintenances"]
    # Only declared services' windows: not the internal ledger's, not a silence.
    assert [(m["name"], m["status"], m["scheduled_for"]) for m in upcoming] == [
        ("Scheduled maintenance: Checkout API", "scheduled", "2026-03-14T12:00:00.000Z"),
        # Sunday 02:00 in Berlin (UTC+1 in March) is 01:00 UTC.
        ("Scheduled maintenance: Checkout API", "scheduled", "2026-03-15T01:00:00.000Z"),
    ]
    assert (
        upcoming[0]["incident_updates"][0]["body"]
        == "Database upgrade on [redacted] (ask [redacted])"
    )
    assert "checkout-db-upgrade" not in str(upcoming)  # rule names stay internal
    assert get(client, "scheduled-maintenances/active")["scheduled_maintenances"] == []
    assert [m["status"] for m in get(client, "summary")["scheduled_maintenances"]] == [
        "scheduled",
        "scheduled",
    ]

    clock.advance(3.5 * 3600)  # 12:30: the upgrade is on
    [active] = get(client, "scheduled-maintenances/active")["scheduled_maintenances"]
    assert (
        active["status"] == "in_progress"
        and active["scheduled_until"] == "2026-03-14T14:00:00.000Z"
    )
    assert {c["name"]: c["status"] for c in get(client, "components")["components"]} == {
        "Checkout API": "under_maintenance"
    }
    assert get(client, "status")["status"]["description"] == "Service Under Maintenance"

    clock.advance(2 * 3600)  # 14:30: done, still listed as completed
    everything = get(client, "scheduled-maintenances")["scheduled_maintenances"]
    assert [m["status"] for m in everything] == ["scheduled", "completed"]
    assert get(client, "scheduled-maintenances/active")["scheduled_maintenances"] == []


def test_klaxon_maintenance_is_active_maintenance(client) -> None:
    api(
        client,
        "POST",
        "/maintenance",
        {"reason": "Failover test", "by": "Priya Raman", "services": ["checkout-api"]},
    )
    [active] = get(client, "scheduled-maintenances/active")["scheduled_maintenances"]
    assert active["name"] == "Scheduled maintenance: Checkout API"
    assert active["incident_updates"][0]["body"] == "Failover test"
    assert active["scheduled_until"] is None


def test_no_windows_is_empty_lists_of_the_right_shape(
    settings, tmp_path, redis_client, clock
) -> None:
    text = (tmp_path / "rules.yml").read_text()
    assert "silences:" in text  # the fixture's windows exist; without them:
    (tmp_path / "rules.yml").write_text(text[: text.index("\nsilences:")] + "\n")
    other = create_app(settings, connection=redis_client, clock=clock).test_client()
    for name in ("scheduled-maintenances", "scheduled-maintenances/upcoming"):
        assert get(other, name)["scheduled_maintenances"] == []


def test_documents_need_no_sign_in_and_unknown_ones_are_404(client) -> None:
    assert client.get("/api/v2/summary.json").status_code == 200
    response = client.get("/api/v2/secrets.json")
    assert response.status_code == 404
    assert client.get("/api/incidents").status_code == 401  # the private API is unchanged


def test_the_status_page_shows_scheduled_maintenance_before_it_starts(client, clock) -> None:
    text = html.unescape(client.get("/status").get_data(as_text=True))
    assert "Scheduled maintenance" in text and "Scheduled maintenance: Checkout API" in text
    assert "Database upgrade on [redacted] (ask [redacted])" in text
    assert "Internal ledger work" not in text and "web-07" not in text and leaks(text) == []
    assert "All systems operational" in text
    clock.advance(3.5 * 3600)  # 12:30: under way, and the page agrees with components.json
    text = client.get("/status").get_data(as_text=True)
    assert "(in progress)" in text and "Maintenance in progress" in text
    assert re.search(r"Checkout API</span>.*Under maintenance", text, re.S)
    clock.advance(8 * 24 * 3600)  # both over (the weekly one shows its next occurrence)
    text = html.unescape(client.get("/status").get_data(as_text=True))
    assert "Database upgrade" not in text and "Weekly reindex" in text
