"""The comms rhythm and the resolution rule of rules/severities.yml, over HTTP: the status
page says when the next update comes, the incident page counts down to the first public
post, and a resolution without what the severity's policy requires is a 400 that changes
nothing, through the API and the page alike."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from incident_story import AUTH, PEOPLE, api, open_incident
from test_pages import csrf, sign_in
from webhook_helpers import keyspace

from app.messages.wording import utc

ROOT = Path(__file__).parent.parent
MINUTE = 60


@pytest.fixture
def settings(settings):
    return settings.with_changes(rules_dir=ROOT / "rules")  # SEV2: data_loss must be stated


@pytest.fixture
def incident(app, client, clock) -> str:
    """A declared SEV2 checkout incident; signed in."""
    found = open_incident(client, clock)
    assert app.extensions["klaxon"].incidents.declare(found) == "declared"
    sign_in(client)
    return found


def words(client, path: str) -> str:
    """A page's text without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", client.get(path).get_data(as_text=True)))


def declared_at(client, incident: str) -> float:
    return float(api(client, "GET", f"/incidents/{incident}")["declared_at"])


def test_pages_say_when_the_first_post_and_each_next_update_are_due(
    client, clock, incident
) -> None:
    first_due = declared_at(client, incident) + 15 * MINUTE  # SEV2: first post within 15m
    page = html.unescape(client.get(f"/incidents/{incident}").get_data(as_text=True))
    assert "First public post due</dt>" in page and utc(first_due, False) in page
    assert f"Next update by {utc(first_due, True)}." in words(client, "/status")

    clock.advance(5 * MINUTE)
    api(client, "POST", f"/incidents/{incident}/updates", {"status": "identified", "message": "x"})
    next_due = clock.now() + 3600  # then every hour
    page = html.unescape(client.get(f"/incidents/{incident}").get_data(as_text=True))
    assert "Next update due</dt>" in page and utc(next_due, False) in page
    assert f"Next update by {utc(next_due, True)}." in words(client, "/status")

    clock.advance(2 * 3600)  # overdue: the page does not promise a time already past
    assert "The next update is coming shortly." in words(client, "/status")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("resolve", {"message": "Fixed."}),
        ("updates", {"status": "resolved", "message": "Fixed."}),
    ],
)
def test_the_api_refuses_a_resolution_that_does_not_say_whether_data_was_lost(
    client, incident, redis_client, path, body
) -> None:
    before = keyspace(redis_client)
    response = client.post(f"/api/incidents/{incident}/{path}", json=body, headers=AUTH)
    assert response.status_code == 400 and keyspace(redis_client) == before
    answer = response.get_json()
    assert answer["error"] == "incomplete_resolution" and answer["missing"] == ["data_loss"]
    assert "SEV2 resolution must state data_loss" in answer["message"]
    response = client.post(
        f"/api/incidents/{incident}/{path}", json={**body, "data_loss": "no"}, headers=AUTH
    )
    assert response.status_code in (200, 201)
    assert api(client, "GET", f"/incidents/{incident}")["status"] == "resolved"


@pytest.mark.parametrize(
    ("action", "fields", "form"),
    [
        ("resolve", {"message": "Fixed."}, "resolve"),
        ("updates", {"status": "resolved", "message": "Fixed."}, "form"),
    ],
)
def test_the_page_refuses_it_beside_the_form(
    client, incident, redis_client, action, fields, form
) -> None:
    token = csrf(client, f"/incidents/{incident}")
    before = keyspace(redis_client)
    response = client.post(
        f"/incidents/{incident}/{action}", data={"csrf_token": token, "by": PEOPLE[0], **fields}
    )
    assert response.status_code == 400 and keyspace(redis_client) == before
    text = html.unescape(response.get_data(as_text=True))
    assert "This severity's resolution must state whether data was lost." in text
    assert f'id="{form}-errors"' in text
    assert ("Use the Resolve form, which asks." in text) == (action == "updates")


def test_the_drafted_first_post_goes_out_once_however_often_its_timer_fires(
    app, client, clock, incident, redis_client
) -> None:
    from rq.job import Job

    from app.notifications import notify_job_id
    from app.store.timers import Timer
    from workers.incident_timers import IncidentTimers

    klaxon = app.extensions["klaxon"]
    deadline = declared_at(client, incident) + 15 * MINUTE
    clock.set(deadline)
    timers = IncidentTimers(redis_client, klaxon.incidents, klaxon.ruleset)
    for _ in range(2):  # a retry, or a second ticker
        timers.remind(Timer("remind", incident, deadline))
    updates = [
        e
        for e in api(client, "GET", f"/incidents/{incident}/timeline")["timeline"]
        if e["kind"] == "status_update"
    ]
    assert [(u["data"]["by"], u["data"]["status"]) for u in updates] == [
        ("Klaxon", "investigating")
    ]
    assert updates[0]["data"]["message"].startswith("We're investigating a partial outage")
    # told through the path a person's update takes (its public part: status page, X)
    job = notify_job_id(incident, "update_posted", repr(deadline))
    assert Job.exists(job, connection=redis_client)
    assert f"Next update by {utc(deadline + 3600, True)}." in words(client, "/status")
