"""Resolving with the checklist (customer impact, data loss yes/no, follow-ups): through the
incident page's form and the API (one implementation: app/actions.resolve), on the incident
and its timeline, said in the public resolution, and in the post-mortem draft."""

from __future__ import annotations

import html

import pytest
from incident_story import AUTH, PEOPLE, api, open_incident
from test_cockpit_forms import act, page, stored
from test_pages import csrf, resolution_shown, settings, sign_in  # noqa: F401  (settings: fixture)
from webhook_helpers import keyspace

from app.resolution import Checklist, follow_up_lines, resolution_post

IMPACT = "About 8% of checkouts failed for 40 minutes."
FOLLOW_UPS = (
    "- Alert on the payment pool before it is full\n\n* Add a runbook step for the failover"
)


@pytest.fixture
def incident(app, client, clock) -> str:
    """An open, declared SEV2 checkout incident; signed in."""
    found = open_incident(client, clock)
    assert app.extensions["klaxon"].incidents.declare(found) == "declared"
    sign_in(client)
    return found


def draft(client, incident: str) -> str:
    return client.get(f"/incidents/{incident}/postmortem.md").get_data(as_text=True)


def test_resolve_form_with_the_checklist(client, incident) -> None:
    response = act(
        client,
        incident,
        "resolve",
        message="Checkout is back to normal.",
        data_loss="no",
        customer_impact=IMPACT,
        follow_ups=FOLLOW_UPS,
        by=PEOPLE[1],
    )
    assert response.status_code == 303
    body = stored(client, incident)
    found = body["incident"]
    assert found["status"] == "resolved"
    assert (found["data_loss"], found["customer_impact"]) == ("no", IMPACT)
    resolved = [e for e in body["timeline"] if e["kind"] == "resolved"][-1]
    assert resolved["data"] == {
        "by": PEOPLE[1],
        "data_loss": "no",
        "customer_impact": IMPACT,
        "follow_ups": [
            "Alert on the payment pool before it is full",
            "Add a runbook step for the failover",
        ],
    }
    assert "data lost: no" in resolved["text"] and "2 follow-up(s)" in resolved["text"]
    # Customers read whether data was lost; the impact and follow-ups stay internal.
    status_page = client.get("/status").get_data(as_text=True)
    assert resolution_shown(status_page) == ["Checkout is back to normal. No data was lost."]
    assert "8% of checkouts" not in status_page and "runbook" not in status_page
    text = page(client, incident)
    assert "Data lost</dt><dd>no" in text and IMPACT in text
    assert "<li>Add a runbook step for the failover</li>" in text
    markdown = draft(client, incident)
    assert "| Data lost | no |" in markdown and f"## Impact\n\n{IMPACT}\n" in markdown
    assert "| Alert on the payment pool before it is full | | | |" in markdown
    assert "| Add a runbook step for the failover | | | |" in markdown


def test_api_resolve_without_a_message_still_says_that_data_was_lost(client, incident) -> None:
    response = client.post(
        f"/api/incidents/{incident}/resolve",
        json={"by": "Ana", "data_loss": "yes", "follow_ups": ["Restore the lost orders"]},
        headers=AUTH,
    )
    assert response.status_code == 200 and response.get_json()["result"] == "resolved"
    found = stored(client, incident)["incident"]
    assert found["data_loss"] == "yes" and found["follow_ups"] == "Restore the lost orders"
    status_page = client.get("/status").get_data(as_text=True)
    assert resolution_shown(status_page) == ["This incident has been resolved. Some data was lost."]
    markdown = draft(client, incident)
    assert "| Data lost | yes |" in markdown and "| Restore the lost orders |" in markdown


def test_a_resolving_status_update_takes_the_checklist_too(client, incident) -> None:
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "resolved", "message": "Fixed.", "data_loss": "no", "customer_impact": IMPACT},
    )
    found = stored(client, incident)["incident"]
    assert (found["status"], found["data_loss"], found["customer_impact"]) == (
        "resolved",
        "no",
        IMPACT,
    )
    assert resolution_shown(client.get("/status").get_data(as_text=True)) == [
        "Fixed. No data was lost."
    ]


def test_without_the_checklist_nothing_is_claimed(client, incident) -> None:
    act(client, incident, "resolve", message="Fixed.", by=PEOPLE[1])
    found = stored(client, incident)["incident"]
    assert "data_loss" not in found
    assert resolution_shown(client.get("/status").get_data(as_text=True)) == ["Fixed."]
    assert "| Data lost | not recorded |" in draft(client, incident)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"data_loss": "maybe"}, "Data lost must be one of no, yes."),
        ({"customer_impact": "x" * 2001}, "Customer impact must be at most 2000 characters"),
        ({"follow_ups": "\n".join(f"step {n}" for n in range(21))}, "At most 20 follow-ups"),
    ],
)
def test_a_bad_checklist_on_the_form_is_a_400_that_changes_nothing(
    client, incident, redis_client, fields, problem
) -> None:
    token = csrf(client, f"/incidents/{incident}")
    before = keyspace(redis_client)
    response = client.post(
        f"/incidents/{incident}/resolve", data={"csrf_token": token, "message": "x", **fields}
    )
    assert response.status_code == 400 and keyspace(redis_client) == before
    text = html.unescape(response.get_data(as_text=True))
    assert problem in text and 'id="resolve-errors"' in text


@pytest.mark.parametrize(
    "fields",
    [
        {"data_loss": "maybe"},
        {"data_loss": True},
        {"follow_ups": ["ok", 3]},
        {"follow_ups": [f"step {n}" for n in range(21)]},
        {"customer_impact": ["a list"]},
    ],
)
@pytest.mark.parametrize("path", ["resolve", "updates"])
def test_a_bad_checklist_through_the_api_is_a_400_that_changes_nothing(
    client, incident, redis_client, fields, path
) -> None:
    before = keyspace(redis_client)
    response = client.post(
        f"/api/incidents/{incident}/{path}",
        json={"status": "resolved", "message": "x", **fields},
        headers=AUTH,
    )
    assert response.status_code == 400 and keyspace(redis_client) == before


@pytest.mark.parametrize(
    ("message", "data_loss", "expected"),
    [
        ("", "", ""),
        ("Fixed.", "", "Fixed."),
        ("", "no", "This incident has been resolved. No data was lost."),
        ("Fixed.", "yes", "Fixed. Some data was lost."),
        ("Fixed. No data was lost", "no", "Fixed. No data was lost"),
        (
            "Fixed.\n\nThanks for waiting.",
            "no",
            "Fixed.\n\nThanks for waiting.\n\nNo data was lost.",
        ),
    ],
)
def test_resolution_post(message, data_loss, expected) -> None:
    assert resolution_post(message, Checklist(data_loss=data_loss)) == expected


def test_follow_up_lines() -> None:
    assert follow_up_lines(" - one \n\n* two\nthree\n  ") == ("one", "two", "three")
