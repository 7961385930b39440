"""Slack's three request URLs: every request verified over its raw body (signature, ±5 min,
no replays, fail closed without a secret), then /klaxon and the sitrep's buttons acting
through the same functions as the API, recorded under the responder the Slack user is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SECRETS
from rq import Queue
from rq.serializers import JSONSerializer
from slack_requests import (
    SLACK_ENV,
    button,
    command_body,
    interaction_body,
    reaction,
    send,
    signed_headers,
)

from app import create_app
from app.queue_names import NOTIFY_QUEUE
from app.settings import Settings
from app.store import keys

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
FORM = "application/x-www-form-urlencoded"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def slack_app(redis_url, redis_client, clock):
    settings = Settings.from_env(
        {**SECRETS, **SLACK_ENV, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(ROOT / "rules")}
    )
    return create_app(settings, connection=redis_client, clock=clock)


@pytest.fixture
def slack(slack_app):
    return slack_app.test_client()


def klaxon(slack, clock, text: str, **fields: str):
    response = send(slack, "/slack/commands", command_body(text, **fields), clock.now(), FORM)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def api(slack, incident_id: str) -> dict:
    return slack.get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()


def declared(slack, clock, redis_client, channel: str = "C0INC") -> str:
    """An incident declared from Slack, with `channel` as its incident channel (what the
    outbound Slack channel records when it opens one)."""
    answer = klaxon(slack, clock, "declare Checkout returns 502s SEV1")
    incident_id = api_incidents(slack)[0]["id"]
    assert incident_id in answer["text"] and answer["response_type"] == "in_channel"
    redis_client.hset(keys.incident(incident_id), "slack_channel", channel)
    return incident_id


def api_incidents(slack) -> list[dict]:
    return slack.get("/api/incidents", headers=AUTH).get_json()["incidents"]


# -- verification ----------------------------------------------------------------------------


def test_url_verification_challenge_is_answered(slack, clock) -> None:
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    ).encode()
    response = send(slack, "/slack/events", body, clock.now(), "application/json")
    assert response.status_code == 200
    assert response.get_json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/interactions", "/slack/events"])
def test_a_wrong_signature_is_refused_and_changes_nothing(slack, clock, path) -> None:
    body = command_body("declare Someone else's outage SEV1")
    response = send(slack, path, body, clock.now(), FORM, secret="not-the-signing-secret")
    assert response.status_code == 401
    assert "does not match" in response.get_json()["message"]
    assert api_incidents(slack) == []


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_refused(slack, clock, offset) -> None:
    body = command_body("declare Replayed outage SEV1")
    response = send(
        slack, "/slack/commands", body, clock.now(), FORM, timestamp=clock.now() + offset
    )
    assert response.status_code == 401
    assert "300 s" in response.get_json()["message"]
    assert api_incidents(slack) == []


def test_a_timestamp_within_five_minutes_is_taken(slack, clock) -> None:
    body = command_body("declare Slightly late clock SEV3")
    response = send(slack, "/slack/commands", body, clock.now(), FORM, timestamp=clock.now() - 290)
    assert response.status_code == 200
    assert len(api_incidents(slack)) == 1


def test_a_replayed_request_is_refused_and_acts_once(slack, clock) -> None:
    body = command_body("declare Checkout returns 502s SEV1")
    headers = signed_headers(body, int(clock.now()))
    first = slack.post("/slack/commands", data=body, headers=headers, content_type=FORM)
    clock.advance(30)
    again = slack.post("/slack/commands", data=body, headers=headers, content_type=FORM)
    assert first.status_code == 200 and again.status_code == 401
    assert "replay" in again.get_json()["message"]
    assert len(api_incidents(slack)) == 1


def test_a_body_that_is_not_utf8_is_refused_not_a_500(slack, clock) -> None:
    """Found by the fuzz test: slack_sdk's verifier decodes the body and raised."""
    response = send(slack, "/slack/events", b'\xfb"type": "event_callback"}', clock.now(), FORM)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
    ],
)
def test_missing_or_malformed_headers_are_refused(slack, headers) -> None:
    response = slack.post(
        "/slack/commands", data=command_body("status"), headers=headers, content_type=FORM
    )
    assert response.status_code == 401


def test_without_a_signing_secret_every_request_is_refused(client, clock) -> None:
    """The default test settings have no SLACK_SIGNING_SECRET: fail closed."""
    response = send(client, "/slack/commands", command_body("declare x SEV1"), clock.now(), FORM)
    assert response.status_code == 401
    assert "SLACK_SIGNING_SECRET" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/slack/interactions", b"payload=%7Bnot+json"),
        ("/slack/interactions", b"payload=%5B1%2C2%5D"),
        ("/slack/events", b"[]"),
    ],
)
def test_signed_nonsense_is_a_400(slack, clock, path, body) -> None:
    response = send(slack, path, body, clock.now(), FORM)
    assert response.status_code == 400


# -- /klaxon ---------------------------------------------------------------------------------


def test_declare_creates_the_incident_under_the_mapped_responder(
    slack, clock, redis_client
) -> None:
    incident_id = declared(slack, clock, redis_client)
    incident = api(slack, incident_id)
    assert (incident["title"], incident["severity"]) == ("Checkout returns 502s", "SEV1")
    # U0CHKALICE is alice in rules/slack.yml (her Slack handle is alice.w)
    assert incident["alerts"][0]["reason"] == "declared by hand by alice"


def test_a_whole_incident_run_from_its_channel(slack, clock, redis_client) -> None:
    incident_id = declared(slack, clock, redis_client)
    in_channel = {"channel_id": "C0INC"}
    assert (
        klaxon(slack, clock, "ack", user_id="U0PAYBOB", user_name="bob.s", **in_channel)[
            "response_type"
        ]
        == "in_channel"
    )
    klaxon(slack, clock, "ic <@U0PLTCAROL|carol.c>", user_id="U0PAYBOB", **in_channel)
    klaxon(slack, clock, "role tech <@U0CHKALICE|alice.w>", user_id="U0PLTCAROL", **in_channel)
    klaxon(slack, clock, "role comms @dana", user_id="U0PLTCAROL", **in_channel)
    klaxon(slack, clock, "sev sev2", user_id="U0PLTCAROL", **in_channel)
    klaxon(
        slack,
        clock,
        "update identified Bad deploy of the cart service",
        user_id="U0PLTCAROL",
        **in_channel,
    )
    status = klaxon(slack, clock, "status", **in_channel)
    assert "carol" in status["text"] and status["response_type"] == "ephemeral"
    # A SEV2 resolution must say whether data was lost (rules: comms.resolution_must_state):
    # without it nothing changes and the answer says how.
    refused = klaxon(slack, clock, "resolve", user_id="U0PLTCAROL", **in_channel)
    assert "not resolved" in refused["text"] and "no-data-lost" in refused["text"]
    assert api(slack, incident_id)["status"] != "resolved"
    klaxon(
        slack,
        clock,
        "resolve no-data-lost Cart deploy rolled back",
        user_id="U0PLTCAROL",
        **in_channel,
    )

    incident = api(slack, incident_id)
    assert incident["data_loss"] == "no"
    assert incident["acknowledged_by"] == "bob"
    assert (incident["commander"], incident["tech_lead"], incident["comms_lead"]) == (
        "carol",
        "alice",
        "dana",
    )
    assert (incident["severity"], incident["status"]) == ("SEV2", "resolved")
    texts = [entry["text"] for entry in incident["timeline"]]
    assert "acknowledged by bob via Slack" in texts
    assert "carol is incident commander" in texts
    assert "severity SEV1 -> SEV2 by carol" in texts
    assert "identified: Bad deploy of the cart service" in texts


def test_outside_an_incident_channel_the_id_names_the_incident(slack, clock, redis_client) -> None:
    incident_id = declared(slack, clock, redis_client)
    lost = klaxon(slack, clock, "ack", channel_id="C0GENERAL")
    assert "not an incident channel" in lost["text"]
    klaxon(slack, clock, f"ack {incident_id}", channel_id="C0GENERAL")
    assert api(slack, incident_id)["acknowledged_by"] == "alice"


def test_acting_on_a_resolved_incident_changes_nothing(slack, clock, redis_client) -> None:
    incident_id = declared(slack, clock, redis_client)
    klaxon(slack, clock, "resolve no-data-lost Fixed", channel_id="C0INC")
    answer = klaxon(slack, clock, "ic @zed", channel_id="C0INC")
    assert "is resolved" in answer["text"] and answer["response_type"] == "ephemeral"
    assert api(slack, incident_id).get("commander", "") != "zed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dance", "unknown command"),
        ("declare", "needs a title"),
        ("sev 9", "SEV1 to SEV4"),
        ("role boss @bob", "tech|comms"),
        ("update fixed it all", "needs a status"),
    ],
)
def test_words_it_does_not_understand_get_a_private_hint(slack, clock, text, expected) -> None:
    answer = klaxon(slack, clock, text)
    assert expected in answer["text"] and answer["response_type"] == "ephemeral"
    assert api_incidents(slack) == []


def test_help_and_oncall_answer_privately(slack, clock) -> None:
    assert "/klaxon declare" in klaxon(slack, clock, "help")["text"]
    oncall = klaxon(slack, clock, "oncall payments")
    assert "*payments*" in oncall["text"] and "Opsgenie payments" in oncall["text"]
    assert "No team" in klaxon(slack, clock, "oncall nobody")["text"]


def test_update_without_words_and_without_a_bot_token_asks_for_them(
    slack, clock, redis_client
) -> None:
    declared(slack, clock, redis_client)
    answer = klaxon(slack, clock, "update", channel_id="C0INC")
    assert "/klaxon update <status> <message>" in answer["text"]


# -- buttons, the form, events -----------------------------------------------------------------


def test_sitrep_buttons_act_like_the_commands(slack, clock, redis_client) -> None:
    incident_id = declared(slack, clock, redis_client)
    for action, user in (("klaxon_ack", "U0PAYBOB"), ("klaxon_command", "U0PLTCAROL")):
        body = interaction_body(button(action, incident_id, user_id=user))
        assert send(slack, "/slack/interactions", body, clock.now(), FORM).status_code == 200
    incident = api(slack, incident_id)
    assert (incident["acknowledged_by"], incident["commander"]) == ("bob", "carol")
    # Resolve on the sitrep resolves when the severity's policy asks for nothing more; a SEV2
    # must say whether data was lost, which a button cannot: it changes nothing and says how.
    body = interaction_body(button("klaxon_resolve", incident_id))
    send(slack, "/slack/interactions", body, clock.now(), FORM)
    assert api(slack, incident_id)["status"] != "resolved"
    lowered = slack.post(
        f"/api/incidents/{incident_id}/severity", headers=AUTH, json={"severity": "SEV4"}
    )
    assert lowered.status_code == 200, lowered.get_data(as_text=True)
    clock.advance(1)  # a new signature: the same one again would be refused as a replay
    send(slack, "/slack/interactions", body, clock.now(), FORM)
    assert api(slack, incident_id)["status"] == "resolved"


def test_the_update_form_posts_a_status_update(slack, clock, redis_client) -> None:
    incident_id = declared(slack, clock, redis_client)
    submission = {
        "type": "view_submission",
        "user": {"id": "U0PLTCAROL", "username": "carol.c"},
        "view": {
            "callback_id": "klaxon_update",
            "private_metadata": incident_id,
            "state": {
                "values": {
                    "status": {"status_choice": {"selected_option": {"value": "monitoring"}}},
                    "message": {"message_text": {"value": "Rolled back; \x07watching error rates"}},
                }
            },
        },
    }
    response = send(slack, "/slack/interactions", interaction_body(submission), clock.now(), FORM)
    assert response.get_json() == {"response_action": "clear"}
    incident = api(slack, incident_id)
    assert incident["status"] == "monitoring"
    assert "monitoring: Rolled back; watching error rates" in [
        e["text"] for e in incident["timeline"]
    ]

    submission["view"]["state"]["values"]["message"]["message_text"]["value"] = "  "
    again = send(slack, "/slack/interactions", interaction_body(submission), clock.now(), FORM)
    assert again.get_json()["response_action"] == "errors"


def test_a_pushpin_in_the_incident_channel_queues_its_message_once(
    slack, clock, redis_client
) -> None:
    incident_id = declared(slack, clock, redis_client)
    queue = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    before = queue.count
    for _ in range(2):  # Slack retries, signed anew, an event it thinks we missed
        answer = send(
            slack,
            "/slack/events",
            reaction("C0INC", "1773478900.000200"),
            clock.now(),
            "application/json",
        )
        assert answer.status_code == 200
        clock.advance(60)
    send(
        slack,
        "/slack/events",
        reaction("C0ELSEWHERE", "1.2", event_id="Ev0OTHER"),
        clock.now(),
        "application/json",
    )
    jobs = [j for j in queue.get_jobs() if j.func_name == "workers.slack_jobs.pin_to_timeline"]
    assert queue.count - before == len(jobs) == 1
    assert list(jobs[0].args) == [incident_id, "C0INC", "1773478900.000200", "bob"]
