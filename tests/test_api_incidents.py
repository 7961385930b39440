"""GET /api/incidents[/<id>] over HTTP: the incident a webhook opened, with alerts and timeline."""

from __future__ import annotations

import pytest
from conftest import SECRETS, load_fixture, post

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRETS['KLAXON_API_TOKEN']}"},
    ],
)
def test_api_refuses_requests_without_the_bearer_token(client, headers) -> None:
    response = client.get("/api/incidents", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_api_is_closed_when_no_token_is_configured(app, settings) -> None:
    app.extensions["klaxon"].settings = settings.with_changes(api_token="")
    response = app.test_client().get("/api/incidents", headers=AUTH)
    assert response.status_code == 401


def test_incident_opened_by_a_webhook_is_listed_with_alerts_and_timeline(client) -> None:
    answer = post(client, load_fixture("pagerduty", "incident_triggered")).get_json()
    post(client, load_fixture("pagerduty", "incident_acknowledged"))

    listed = client.get("/api/incidents", headers=AUTH).get_json()["incidents"]
    assert [i["id"] for i in listed] == [answer["incident"]]

    incident = client.get(f"/api/incidents/{answer['incident']}", headers=AUTH).get_json()
    assert incident["status"] == "investigating"
    assert [a["id"] for a in incident["alerts"]] == [answer["alert"]]
    assert incident["alerts"][0]["status"] == "acknowledged"
    kinds = [entry["kind"] for entry in incident["timeline"]]
    assert kinds == ["opened", "alert_received", "alert_acknowledge"]


def test_resolving_by_hand_closes_the_incident(client) -> None:
    answer = post(client, load_fixture("datadog", "triggered")).get_json()
    response = client.post(
        f"/api/incidents/{answer['incident']}/resolve", json={"by": "Marco"}, headers=AUTH
    )
    assert response.get_json()["result"] == "resolved"
    open_now = client.get("/api/incidents?status=open", headers=AUTH).get_json()["incidents"]
    assert open_now == []
    timeline = client.get(f"/api/incidents/{answer['incident']}/timeline", headers=AUTH).get_json()[
        "timeline"
    ]
    assert timeline[-1]["text"] == "incident resolved (Marco)"


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/incidents/INC-2026-9999", 404),
        ("/api/incidents/../../etc", 404),
        ("/api/incidents?limit=0", 400),
        ("/api/incidents?status=closed", 400),
    ],
)
def test_bad_api_requests_get_clear_errors(client, path, status) -> None:
    response = client.get(path, headers=AUTH)
    assert response.status_code == status
    assert response.get_json()["message"]
