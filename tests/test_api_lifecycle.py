"""People acting on incidents over the API: acknowledge, take command, post status updates,
declare by hand. Each action lands on the timeline and changes only what it should."""

from __future__ import annotations

import pytest
from conftest import SECRETS, load_fixture, post

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.fixture
def incident(client) -> str:
    return post(client, load_fixture("datadog", "triggered")).get_json()["incident"]


def act(client, incident: str, what: str, body: dict, status: int = 200) -> dict:
    response = client.post(f"/api/incidents/{incident}/{what}", json=body, headers=AUTH)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def timeline(client, incident: str) -> list[dict]:
    return client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()["timeline"]


def test_first_acknowledgement_makes_its_author_commander(client, incident) -> None:
    first = act(client, incident, "ack", {"by": "Marco Bianchi"})
    second = act(client, incident, "ack", {"by": "Priya Raman"})
    assert first["result"] == "acknowledged" and first["commander"] == "Marco Bianchi"
    assert second["result"] == "already_acknowledged" and second["commander"] == "Marco Bianchi"
    assert [e["text"] for e in timeline(client, incident) if e["kind"] == "acknowledged"] == [
        "acknowledged by Marco Bianchi via API"
    ]


def test_an_assigned_commander_is_kept_when_someone_else_acknowledges(client, incident) -> None:
    act(client, incident, "commander", {"commander": "Priya Raman", "by": "Lee"})
    acked = act(client, incident, "ack", {"by": "Marco Bianchi"})
    assert acked["commander"] == "Priya Raman"


def test_status_updates_move_the_lifecycle_and_can_raise_severity(client, incident) -> None:
    identified = act(
        client,
        incident,
        "updates",
        {
            "status": "identified",
            "message": "Connection pool exhausted after the 08:55 deploy",
            "by": "Marco Bianchi",
            "severity": "SEV1",
        },
        status=201,
    )
    assert (identified["status"], identified["severity"]) == ("identified", "SEV1")
    assert set(identified["changed"]) == {"update", "status", "severity"}
    monitoring = act(
        client,
        incident,
        "updates",
        {"status": "monitoring", "message": "Rolled back; watching"},
        201,
    )
    assert monitoring["status"] == "monitoring"
    resolved = act(
        client, incident, "updates", {"status": "resolved", "message": "p99 back under 300 ms"}, 201
    )
    assert resolved["status"] == "resolved"
    kinds = [e["kind"] for e in timeline(client, incident)]
    assert kinds.count("status_update") == 3 and kinds[-1] == "resolved"
    act(client, incident, "updates", {"status": "monitoring", "message": "again?"}, status=409)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"status": "fixed", "message": "x"}, "status"),
        ({"status": "identified"}, "message"),
        ({"status": "identified", "message": "x", "severity": "SEV9"}, "severity"),
        ({"status": "identified", "message": 42}, "message"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(client, incident, body, field) -> None:
    before = timeline(client, incident)
    answer = act(client, incident, "updates", body, status=400)
    assert answer["field"] == field
    assert timeline(client, incident) == before


def test_declaring_by_hand_opens_an_incident_for_the_team(client) -> None:
    response = client.post(
        "/api/incidents",
        headers=AUTH,
        json={
            "title": "Customers report failed card payments",
            "severity": "SEV2",
            "team": "sre",
            "service": "payments-api",
            "by": "Priya Raman",
        },
    )
    assert response.status_code == 201
    incident = client.get(
        f"/api/incidents/{response.get_json()['incident']}", headers=AUTH
    ).get_json()
    assert (incident["severity"], incident["team"], incident["status"]) == (
        "SEV2",
        "sre",
        "investigating",
    )
    assert incident["alerts"][0]["source"] == "manual"
    assert "declared by hand by Priya Raman" in incident["timeline"][0]["text"]


def test_declaring_for_an_unknown_team_is_refused(client) -> None:
    response = client.post(
        "/api/incidents", headers=AUTH, json={"title": "x", "severity": "SEV3", "team": "nobody"}
    )
    assert response.status_code == 400 and response.get_json()["field"] == "team"
