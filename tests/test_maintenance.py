"""Maintenance mode: alerts for the named services (or all) are recorded as suppressed, never
open incidents; the start and the end go on every open incident's timeline."""

from __future__ import annotations

from click.testing import CliRunner
from conftest import SECRETS, load_fixture, post

from app.cli import main

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


def test_alerts_of_services_in_maintenance_are_suppressed(client, clock) -> None:
    response = client.post(
        "/api/maintenance",
        headers=AUTH,
        json={
            "reason": "database failover drill",
            "services": ["checkout-api"],
            "by": "Priya Raman",
            "until": clock.now() + 3600,
        },
    )
    assert response.status_code == 201
    held = post(client, load_fixture("datadog", "triggered")).get_json()
    assert held["outcome"] == "suppressed" and held["incident"] is None
    assert held["reason"] == "maintenance: database failover drill"
    other = post(client, load_fixture("opsgenie", "create_unicode_truncated_description"))
    assert other.get_json()["outcome"] == "new"  # another service pages as usual


def test_maintenance_ends_at_its_time_and_by_hand(client, clock) -> None:
    client.post(
        "/api/maintenance", headers=AUTH, json={"reason": "upgrade", "until": clock.now() + 600}
    )
    assert (
        client.get("/api/maintenance", headers=AUTH).get_json()["maintenance"]["reason"]
        == "upgrade"
    )
    clock.advance(601)
    assert client.get("/api/maintenance", headers=AUTH).get_json()["maintenance"] is None
    assert post(client, load_fixture("datadog", "triggered")).get_json()["outcome"] == "new"


def test_start_and_end_are_on_open_incidents_timelines(client) -> None:
    incident = post(client, load_fixture("pagerduty", "incident_triggered")).get_json()["incident"]
    client.post("/api/maintenance", headers=AUTH, json={"reason": "network work", "by": "Lee"})
    ended = client.delete("/api/maintenance", headers=AUTH, json={"by": "Marco Bianchi"})
    assert ended.get_json()["ended"]["reason"] == "network work"
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    texts = [e["text"] for e in timeline["timeline"] if e["kind"].startswith("maintenance")]
    assert texts == [
        "maintenance started for all services by Lee: network work",
        "maintenance ended by Marco Bianchi (network work)",
    ]


def test_bad_maintenance_requests_are_refused(client, clock) -> None:
    for body, field in [
        ({"services": ["x"]}, "reason"),
        ({"reason": "x", "services": "checkout-api"}, "services"),
        ({"reason": "x", "until": clock.now() - 5}, "until"),
    ]:
        response = client.post("/api/maintenance", headers=AUTH, json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field
    assert client.get("/api/maintenance", headers=AUTH).get_json()["maintenance"] is None


def test_klaxon_maintenance_command(redis_url, redis_client, monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    on = CliRunner().invoke(
        main,
        ["maintenance", "on", "--services", "search-api", "--reason", "reindex", "--by", "Lee"],
    )
    assert on.exit_code == 0 and "on for search-api (reindex; by Lee" in on.output
    off = CliRunner().invoke(main, ["maintenance", "off", "--by", "Lee"])
    assert off.exit_code == 0 and "maintenance: off" in off.output
