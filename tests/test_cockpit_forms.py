"""The incident page as a cockpit, through Flask's client: acknowledge, take or hand over
command, change severity and resolve from the page's own forms, each doing exactly what the
API does (app/actions.py: one implementation, two doors); bad or forged forms change nothing;
the header says who was paged, whether they answered and when the next update is due."""

from __future__ import annotations

import html
import json

import pytest
from incident_story import AUTH, MONITORING, PEOPLE, api, open_incident
from rq.job import Job
from test_pages import csrf, resolution_shown, settings, sign_in  # noqa: F401  (settings: the pages' fixture)
from webhook_helpers import keyspace

from app.messages.wording import utc
from app.notifications import notify_job_id
from app.store import keys
from app.store.timers import Timers

HOUR = 3600


@pytest.fixture
def incident(app, client, clock) -> str:
    """An open SEV2 checkout incident, declared, nobody acknowledged; signed in."""
    found = open_incident(client, clock)
    # Its group_wait is over (what the declare timer does when it fires).
    assert app.extensions["klaxon"].incidents.declare(found) == "declared"
    sign_in(client)
    return found


def act(client, incident: str, action: str, **fields: str):
    token = csrf(client, f"/incidents/{incident}")
    return client.post(f"/incidents/{incident}/{action}", data={"csrf_token": token, **fields})


def stored(client, incident: str) -> dict:
    """What the API says: the incident's fields under "incident", and its timeline."""
    body = api(client, "GET", f"/incidents/{incident}")
    return {"incident": body, "timeline": body["timeline"]}


def page(client, incident: str) -> str:
    return html.unescape(client.get(f"/incidents/{incident}").get_data(as_text=True))


def notified(redis_client, incident: str, event: str, seq: str = "") -> bool:
    return Job.exists(notify_job_id(incident, event, seq), connection=redis_client)


def test_acknowledge_form_acknowledges_like_the_api(client, incident, redis_client) -> None:
    assert "Acknowledge" in page(client, incident) and "not yet" in page(client, incident)
    response = act(client, incident, "ack", by=PEOPLE[0])
    assert response.status_code == 303 and response.location.endswith("#timeline")
    found = stored(client, incident)["incident"]
    assert found["acknowledged_by"] == PEOPLE[0] and found["commander"] == PEOPLE[0]
    assert notified(redis_client, incident, "acknowledged")  # the same job the API enqueues
    text = page(client, incident)
    assert f"by {PEOPLE[0]}" in text and f"Acknowledged by {PEOPLE[0]}." in text
    assert f'action="/incidents/{incident}/ack"' not in text  # done: the form is gone


def test_acknowledging_twice_changes_nothing(client, incident) -> None:
    act(client, incident, "ack", by=PEOPLE[0])
    response = act(client, incident, "ack", by=PEOPLE[1])
    assert response.status_code == 303
    assert stored(client, incident)["incident"]["acknowledged_by"] == PEOPLE[0]


def test_take_command_and_hand_over(client, incident) -> None:
    act(client, incident, "commander", commander=PEOPLE[0], by=PEOPLE[0])
    assert stored(client, incident)["incident"]["commander"] == PEOPLE[0]
    assert "Hand over command" in page(client, incident)
    act(client, incident, "commander", commander=PEOPLE[1], by=PEOPLE[0])
    body = stored(client, incident)
    assert body["incident"]["commander"] == PEOPLE[1]
    last = [e for e in body["timeline"] if e["kind"] == "commander"][-1]
    assert last["data"] == {"by": PEOPLE[1], "assigned_by": PEOPLE[0]}


def test_raising_severity_from_the_page_notifies_like_an_alert_would(
    client, incident, redis_client
) -> None:
    assert stored(client, incident)["incident"]["severity"] == "SEV2"
    assert act(client, incident, "severity", severity="SEV1", by=PEOPLE[0]).status_code == 303
    body = stored(client, incident)
    assert body["incident"]["severity"] == "SEV1"
    change = [e for e in body["timeline"] if e["kind"] == "severity_changed"][-1]
    assert change["data"] == {"from": "SEV2", "to": "SEV1", "by": PEOPLE[0]}
    assert notified(redis_client, incident, "severity_raised", "SEV1")
    assert not [e for e in body["timeline"] if e["kind"] == "status_update"]  # no public post


def test_lowering_severity_through_the_api_is_recorded_not_paged(
    client, incident, redis_client
) -> None:
    response = client.post(
        f"/api/incidents/{incident}/severity", json={"severity": "SEV3", "by": "Ana"}, headers=AUTH
    )
    assert response.status_code == 200 and response.get_json()["result"] == "severity"
    assert stored(client, incident)["incident"]["severity"] == "SEV3"
    assert not notified(redis_client, incident, "severity_raised", "SEV3")
    same = client.post(
        f"/api/incidents/{incident}/severity", json={"severity": "SEV3"}, headers=AUTH
    )
    assert same.get_json()["result"] == "unchanged"


def test_resolve_with_a_resolution_customers_read(client, clock, incident) -> None:
    clock.advance(600)
    resolution = "Checkout is back to normal. No data was lost."
    assert act(client, incident, "resolve", message=resolution, by=PEOPLE[1]).status_code == 303
    found = stored(client, incident)["incident"]
    assert found["status"] == "resolved" and found["resolved_at"]
    status_page = client.get("/status").get_data(as_text=True)
    assert resolution_shown(status_page) == [resolution]
    text = page(client, incident)
    assert "Respond" not in text and "Post a status update" not in text


def test_resolve_without_a_message_is_the_apis_resolve(client, incident, redis_client) -> None:
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "monitoring", "message": MONITORING},
    )
    assert act(client, incident, "resolve", by=PEOPLE[1]).status_code == 303
    assert stored(client, incident)["incident"]["status"] == "resolved"
    assert notified(redis_client, incident, "resolved")
    status_page = client.get("/status").get_data(as_text=True)
    assert resolution_shown(status_page) == ["This incident has been resolved."]


@pytest.mark.parametrize(
    ("action", "fields", "problem"),
    [
        ("ack", {"by": ""}, "Your name is required."),
        ("ack", {"by": "x" * 101}, "Your name must be at most 100 characters"),
        ("commander", {"commander": "  "}, "New commander is required."),
        ("severity", {"severity": "SEV9"}, "Severity must be one of SEV1, SEV2, SEV3, SEV4."),
        ("severity", {}, "Severity is required."),
        ("resolve", {"message": "x" * 5001}, "Resolution must be at most 5000 characters"),
        ("roles", {"role": "boss", "name": "Ana"}, "Role must be one of tech_lead, comms_lead."),
        ("roles", {"role": "tech_lead"}, "Name is required."),
    ],
)
def test_bad_forms_are_a_clear_400_beside_the_form_that_changes_nothing(
    client, incident, redis_client, action, fields, problem
) -> None:
    token = csrf(client, f"/incidents/{incident}")
    before = keyspace(redis_client)
    response = client.post(f"/incidents/{incident}/{action}", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert problem in html.unescape(text) and f'id="{action}-errors"' in text
    assert keyspace(redis_client) == before


@pytest.mark.parametrize("action", ["ack", "commander", "severity", "resolve", "roles"])
def test_a_form_without_its_csrf_token_changes_nothing(
    client, incident, redis_client, action
) -> None:
    before = keyspace(redis_client)
    response = client.post(
        f"/incidents/{incident}/{action}",
        data={
            "by": "Mallory",
            "commander": "Mallory",
            "severity": "SEV1",
            "message": "x",
            "role": "tech_lead",
            "name": "Mallory",
        },
    )
    assert response.status_code == 400 and keyspace(redis_client) == before


@pytest.mark.parametrize("action", ["ack", "commander", "severity", "resolve", "roles"])
def test_a_resolved_incident_takes_no_actions(client, incident, redis_client, action) -> None:
    api(client, "POST", f"/incidents/{incident}/resolve", {"by": "Ana"})
    token = csrf(client, "/incidents")
    before = keyspace(redis_client)
    response = client.post(
        f"/incidents/{incident}/{action}",
        data={
            "csrf_token": token,
            "by": "Ana",
            "commander": "Ana",
            "severity": "SEV1",
            "role": "tech_lead",
            "name": "Ana",
        },
    )
    assert response.status_code == 409 and keyspace(redis_client) == before


def test_header_says_when_the_next_update_is_due_and_when_it_is_overdue(
    client, clock, incident
) -> None:
    found = stored(client, incident)["incident"]
    due = float(found["declared_at"]) + HOUR  # SEV2: an update every hour (rules)
    text = page(client, incident)
    assert "Next update due" in text and utc(due, False) in text and "overdue" not in text
    clock.advance(HOUR + 300)
    text = page(client, incident)
    assert 'class="overdue"' in text and "overdue by" in text
    api(client, "POST", f"/incidents/{incident}/updates", {"status": "identified", "message": "x"})
    text = page(client, incident)
    assert utc(clock.now() + HOUR, False) in text and 'class="overdue"' not in text


def test_header_shows_open_for_and_who_acknowledged(client, clock, incident) -> None:
    clock.advance(300)
    act(client, incident, "ack", by=PEOPLE[0])
    text = page(client, incident)
    assert "Open for" in text and f"by {PEOPLE[0]}" in text and "Escalation" in text


def test_the_name_typed_is_remembered_and_shown_on_the_timeline(client, incident) -> None:
    act(client, incident, "updates", status="identified", message="Found it", by=PEOPLE[1])
    text = page(client, incident)
    assert f"by {PEOPLE[1]}" in text  # the timeline says who
    assert f'value="{PEOPLE[1]}"' in text  # and the next form has the name filled in


def test_alert_rows_link_back_to_the_source(client, incident) -> None:
    text = client.get(f"/incidents/{incident}").get_data(as_text=True)
    assert (
        '<a class="source-link" href="https://app.datadoghq.com/event/jump_to?'
        'event_id=8213390581223456789" rel="noopener noreferrer">Datadog event</a>'
    ) in text


def test_only_web_links_are_links(app, client, incident, redis_client) -> None:
    """A stored alert whose link is not http(s) (javascript:) shows no link."""
    store = app.extensions["klaxon"].incidents
    [alert] = store.incident_alerts(incident)
    alert["alert"]["links"] = [{"href": "javascript:alert(1)", "text": "Datadog event"}]
    redis_client.hset(keys.alert(alert["id"]), "alert", json.dumps(alert["alert"]))
    text = client.get(f"/incidents/{incident}").get_data(as_text=True)
    assert "javascript:" not in text and "source-link" not in text


def test_header_shows_the_postmortem_status_and_due_date(app, client, clock, incident) -> None:
    assert "Post-mortem</dt>" not in page(client, incident)  # open: no post-mortem yet
    act(client, incident, "resolve", message="Fixed.", by=PEOPLE[1])
    due = clock.now() + 48 * HOUR  # what the resolved job schedules (workers/jobs.py)
    Timers(app.extensions["klaxon"].redis).schedule("postmortem", incident, due)
    text = page(client, incident)
    assert "Post-mortem</dt><dd>draft · due" in text and utc(due) in text
    api(client, "POST", f"/incidents/{incident}/postmortem", {"status": "in_review"})
    text = page(client, incident)
    assert "Post-mortem</dt><dd>in review</dd>" in text


def test_roles_beside_the_commander(client, incident) -> None:
    act(client, incident, "roles", role="tech_lead", name="Ana Lima", by=PEOPLE[0])
    response = client.post(
        f"/api/incidents/{incident}/roles",
        json={"role": "comms_lead", "name": "Lee Chen", "by": PEOPLE[0]},
        headers=AUTH,
    )
    assert response.status_code == 200 and response.get_json()["result"] == "role"
    body = stored(client, incident)
    assert body["incident"]["tech_lead"] == "Ana Lima"
    assert body["incident"]["comms_lead"] == "Lee Chen"
    [first, _] = [e for e in body["timeline"] if e["kind"] == "role"]
    assert first["text"] == "Ana Lima is technical lead"
    assert first["data"] == {"by": "Ana Lima", "role": "tech_lead", "assigned_by": PEOPLE[0]}
    text = page(client, incident)
    assert "Technical lead</dt><dd>Ana Lima" in text
    assert "Communications lead</dt><dd>Lee Chen" in text
    draft = client.get(f"/incidents/{incident}/postmortem.md").get_data(as_text=True)
    assert "Ana Lima" in draft and "technical lead" in draft and "communications lead" in draft


def test_an_unknown_role_through_the_api_is_a_400_that_changes_nothing(
    client, incident, redis_client
) -> None:
    before = keyspace(redis_client)
    response = client.post(
        f"/api/incidents/{incident}/roles", json={"role": "boss", "name": "x"}, headers=AUTH
    )
    assert response.status_code == 400 and keyspace(redis_client) == before
