"""Declaring an incident from the incident list's form: the same function as POST
/api/incidents (app/actions.declare), so a whole incident can be run from the pages alone;
a bad or forged form changes nothing."""

from __future__ import annotations

import html

import pytest
from incident_story import api
from test_pages import csrf, settings, sign_in  # noqa: F401  (settings: the pages' fixture)
from webhook_helpers import keyspace


def declare(client, **fields: str):
    token = csrf(client, "/incidents")
    return client.post("/incidents/declare", data={"csrf_token": token, **fields})


def test_the_form_declares_like_the_api(client) -> None:
    sign_in(client)
    response = declare(
        client, title="Checkout emails not sent", severity="SEV2", service="checkout-api", by="Ana"
    )
    assert response.status_code == 303
    incident = response.location.rsplit("/", 1)[-1]
    found = api(client, "GET", f"/incidents/{incident}")
    assert (found["title"], found["severity"], found["service"]) == (
        "Checkout emails not sent",
        "SEV2",
        "checkout-api",
    )
    [opened] = [e for e in found["timeline"] if e["kind"] == "opened"]
    assert "declared by hand by Ana" in opened["text"]
    page = html.unescape(client.get(response.location).get_data(as_text=True))
    assert f"{incident} declared." in page and "Checkout emails not sent" in page
    by_api = api(client, "POST", "/incidents", {"title": "Same door", "severity": "SEV2"})
    assert api(client, "GET", f"/incidents/{by_api['incident']}")["team"] == found["team"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"severity": "SEV2"}, "Title is required."),
        ({"title": "x", "severity": "SEV9"}, "Severity must be one of SEV1, SEV2, SEV3, SEV4."),
        ({"title": "x", "severity": "SEV2", "team": "nobody"}, "Team must be one of"),
        ({"title": "x" * 201, "severity": "SEV2"}, "Title must be at most 200 characters"),
    ],
)
def test_a_bad_form_is_a_400_beside_it_that_changes_nothing(
    client, redis_client, fields, problem
) -> None:
    sign_in(client)
    token = csrf(client, "/incidents")
    before = keyspace(redis_client)
    response = client.post("/incidents/declare", data={"csrf_token": token, **fields})
    assert response.status_code == 400 and keyspace(redis_client) == before
    text = html.unescape(response.get_data(as_text=True))
    assert problem in text and 'id="declare-errors"' in text


def test_a_forged_form_declares_nothing(client, redis_client) -> None:
    sign_in(client)
    before = keyspace(redis_client)
    response = client.post("/incidents/declare", data={"title": "x", "severity": "SEV1"})
    assert response.status_code == 400 and keyspace(redis_client) == before
