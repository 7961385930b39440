"""The war room end to end: signed Slack requests into the Flask app, the declare timer on
the virtual clock, an RQ SimpleWorker running the jobs against a real Redis, and the real
slack_sdk talking to the loopback Slack. One channel, one sitrep, edited in place; every
action taken in Slack shows in the API and on the timeline."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from conftest import SECRETS, load_fixture, post
from fakes.environment import ROOT, vendor_environment
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from slack_requests import SLACK_ENV, command_body, reaction, send
from slack_sdk import WebClient

from app import create_app
from app.settings import Settings
from workers import jobs
from workers.channels import DeliveryError
from workers.queues import queues
from workers.slack_jobs import archive_room
from workers.ticker import tick

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def world(monkeypatch, redis_url, redis_client, clock, fake_slack):
    env = vendor_environment(SECRETS, redis_url) | SLACK_ENV
    env |= {"SLACK_BOT_TOKEN": fake_slack.token, "SLACK_API_URL": fake_slack.url + "/api/"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    yield app
    jobs.forget_runtime()


def run_worker(redis_client) -> None:
    SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )


def declare_when_due(app, redis_client, clock) -> None:
    clock.advance(61)
    assert "declare" in [
        t.kind for t in tick(redis_client, clock, app.extensions["klaxon"].incidents)
    ]
    run_worker(redis_client)


def klaxon(client, clock, text: str, channel: str, user: str = "U0CHKALICE") -> dict:
    clock.advance(5)
    answer = send(
        client,
        "/slack/commands",
        command_body(text, user_id=user, channel_id=channel),
        clock.now(),
        FORM,
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def sitreps(fake_slack, channel_id: str, incident_id: str) -> list[dict]:
    return [
        m for m in fake_slack.messages.get(channel_id, []) if m["text"] == f"Sitrep {incident_id}"
    ]


def test_a_sev2_from_a_webhook_gets_its_room_once(world, redis_client, clock, fake_slack) -> None:
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    run_worker(redis_client)  # nothing more to do: a second run sends nothing again

    rooms = [c for c in fake_slack.channels.values() if c["name"].startswith("inc-")]
    assert len(rooms) == 1 and len(fake_slack.calls("conversations.create")) == 1
    room = rooms[0]
    assert room["name"].startswith(f"inc-{int(incident_id.rsplit('-', 1)[1])}-")
    assert room["topic"]["value"].startswith("SEV2 · Investigating · IC nobody yet")
    assert "U0CHKALICE" in room["members"]  # the checkout team's member (rules/slack.yml)
    [sitrep] = sitreps(fake_slack, room["id"], incident_id)
    assert (room["id"], sitrep["ts"]) in fake_slack.pins
    assert [b["type"] for b in sitrep["blocks"]][-1] == "actions"
    announced = fake_slack.messages[fake_slack.channel_named("checkout-oncall")["id"]]
    assert len(announced) == 1 and f"Join #{room['name']}" in announced[0]["text"]
    stored = client.get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()
    assert stored["slack_channel"] == room["id"] and stored["slack_sitrep"] == sitrep["ts"]


def test_an_incident_run_from_slack_alone(world, redis_client, clock, fake_slack) -> None:
    client = world.test_client()
    answer = klaxon(client, clock, "declare Checkout returns 502s SEV1", "C0GENERAL")
    assert answer["response_type"] == "in_channel"
    incident_id = client.get("/api/incidents", headers=AUTH).get_json()["incidents"][0]["id"]
    declare_when_due(world, redis_client, clock)
    room = fake_slack.channel_named(
        f"inc-{int(incident_id.rsplit('-', 1)[1])}-checkout-returns-502s"
    )
    assert room is not None
    here = room["id"]

    for user, text in (
        ("U0PAYBOB", "ack"),
        ("U0PAYBOB", "ic <@U0PLTCAROL|carol.c>"),
        ("U0PLTCAROL", "role comms <@U0CHKALICE|alice.w>"),
        ("U0PLTCAROL", "update identified The cart deploy at 09:02 <!channel>"),
        ("U0PLTCAROL", "sev SEV2"),
    ):
        klaxon(client, clock, text, here, user)
        run_worker(redis_client)

    WebClient(token=fake_slack.token, base_url=fake_slack.url + "/api/").chat_postMessage(
        channel=here, text="Root cause: a missing index on carts"
    )
    note_ts = fake_slack.messages[here][-1]["ts"]
    clock.advance(5)
    send(client, "/slack/events", reaction(here, note_ts), clock.now(), "application/json")
    run_worker(redis_client)
    klaxon(client, clock, "resolve no-data-lost Index added <!channel>", here, "U0PLTCAROL")
    run_worker(redis_client)

    incident = client.get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()
    assert (incident["acknowledged_by"], incident["commander"], incident["comms_lead"]) == (
        "bob",
        "carol",
        "alice",
    )
    assert (incident["severity"], incident["status"]) == ("SEV2", "resolved")
    texts = [e["text"] for e in incident["timeline"]]
    assert "acknowledged by bob via Slack" in texts
    assert "pinned by bob: Root cause: a missing index on carts" in texts

    [sitrep] = sitreps(fake_slack, here, incident_id)
    final = json.dumps(sitrep["blocks"])
    assert "Resolved" in final and "klaxon_ack" not in final  # final: no buttons
    assert "*Communications lead:* alice" in final and "carol" in final
    assert "&lt;!channel&gt;" in final and "<!channel>" not in final  # escaped: nobody pinged
    assert sitrep["edits"] >= 3
    thread = [m["text"] for m in fake_slack.thread(here, sitrep["ts"])]
    assert thread[0].startswith("Acknowledged by bob")
    assert any(t.startswith("Identified: The cart deploy") for t in thread)
    assert thread[-1].startswith("Resolved after") and "postmortem.md" in thread[-1]
    assert fake_slack.channels[here]["topic"]["value"].startswith("RESOLVED · SEV2")
    assert len(fake_slack.calls("conversations.create")) == 1


def test_a_lost_create_is_found_not_made_twice(world, redis_client, clock, fake_slack) -> None:
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    fake_slack.lose_next()  # Slack makes the channel; its answer never arrives
    with pytest.raises(DeliveryError):
        jobs.notify(incident_id, "declared", "1", "first notification after group_wait")
    jobs.notify(incident_id, "declared", "1", "first notification after group_wait")

    assert len(fake_slack.calls("conversations.create")) == 1  # the retry looked it up
    rooms = [c for c in fake_slack.channels.values() if c["name"].startswith("inc-")]
    assert len(rooms) == 1
    assert len(sitreps(fake_slack, rooms[0]["id"], incident_id)) == 1


def test_a_rate_limited_call_waits_and_is_sent_once(world, redis_client, clock, fake_slack) -> None:
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    fake_slack.fail_next(429, retry_after=1)
    try:
        jobs.notify(incident_id, "declared", "1", "first notification after group_wait")
    except DeliveryError:
        jobs.notify(incident_id, "declared", "1", "first notification after group_wait")
    assert [a.status for a in fake_slack.answers][:2] == [429, 200]
    rooms = [c for c in fake_slack.channels.values() if c["name"].startswith("inc-")]
    assert len(rooms) == 1


def test_a_declaration_told_again_sends_nothing_new(world, redis_client, clock, fake_slack) -> None:
    """A retried or repeated job of the event that opened the room finds every step in the
    ledger: no reply or edit in place of them (found by test_notify_e2e's dry run)."""
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    calls = len(fake_slack.requests)
    jobs.notify(incident_id, "declared", "", "again")  # as the declare timer names it
    jobs.notify(incident_id, "declared", "", "again")
    assert fake_slack.requests[calls:] == []
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    assert len(sitreps(fake_slack, room["id"], incident_id)) == 1
    assert (
        fake_slack.thread(room["id"], sitreps(fake_slack, room["id"], incident_id)[0]["ts"]) == []
    )


def test_update_without_words_opens_the_form_through_the_web_api(
    world, redis_client, clock, fake_slack
) -> None:
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    answer = klaxon(client, clock, "update monitoring", room["id"])
    assert answer == {}  # the form is the answer
    [opened] = fake_slack.views
    view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
    assert view["private_metadata"] == incident_id
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "monitoring"


def test_a_new_lead_is_on_the_sitrep_without_a_lifecycle_event(
    world, redis_client, clock, fake_slack
) -> None:
    """Roles change no lifecycle event: the sitrep is edited all the same, once."""
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    klaxon(client, clock, "role tech @dana", room["id"], "U0PAYBOB")
    run_worker(redis_client)
    run_worker(redis_client)
    [sitrep] = sitreps(fake_slack, room["id"], incident_id)
    assert "*Technical lead:* dana" in json.dumps(sitrep["blocks"]) and sitrep["edits"] == 1
    assert fake_slack.thread(room["id"], sitrep["ts"]) == []  # an edit, no reply


def resolved_room(world, redis_client, clock, fake_slack) -> tuple[str, str]:
    """A SEV2 from a webhook, its room opened, then resolved from Slack: (incident, room)."""
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    klaxon(client, clock, "resolve no-data-lost Index added", room["id"], "U0CHKALICE")
    run_worker(redis_client)
    assert (
        world.test_client().get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()["status"]
        == "resolved"
    )
    return incident_id, room["id"]


def tick_and_work(world, redis_client, clock) -> list[str]:
    fired = tick(redis_client, clock, world.extensions["klaxon"].incidents)
    run_worker(redis_client)
    return [t.kind for t in fired]


def test_the_room_is_archived_once_archive_after_resolution(
    world, redis_client, clock, fake_slack
) -> None:
    incident_id, here = resolved_room(world, redis_client, clock, fake_slack)
    clock.advance(7 * 86400 - 60)  # rules/slack.yml: archive_after 7d
    assert "archive" not in tick_and_work(world, redis_client, clock)
    assert fake_slack.calls("conversations.archive") == []
    clock.advance(120)
    assert "archive" in tick_and_work(world, redis_client, clock)
    assert len(fake_slack.calls("conversations.archive")) == 1
    assert fake_slack.channels[here]["is_archived"]

    jobs.forget_runtime()
    assert archive_room(incident_id) == "already sent"  # a repeated job: the ledger has it
    clock.advance(86400)
    tick_and_work(world, redis_client, clock)
    assert len(fake_slack.calls("conversations.archive")) == 1
    incident = world.test_client().get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()
    archived = [e["text"] for e in incident["timeline"] if "slack archive" in e["text"]]
    assert archived == [f"slack archive for archive_after since resolution ({here})"]
    assert incident["slack_archived"] == "1"


def test_publishing_the_post_mortem_archives_the_room_at_once(
    world, redis_client, clock, fake_slack
) -> None:
    incident_id, here = resolved_room(world, redis_client, clock, fake_slack)
    client = world.test_client()
    clock.advance(3600)
    answer = client.post(
        f"/api/incidents/{incident_id}/postmortem", json={"status": "published"}, headers=AUTH
    )
    assert answer.status_code == 200
    assert "archive" in tick_and_work(world, redis_client, clock)
    assert len(fake_slack.calls("conversations.archive")) == 1
    assert fake_slack.channels[here]["is_archived"]
    clock.advance(8 * 86400)  # nothing is left to fire, and nothing archives again
    assert "archive" not in tick_and_work(world, redis_client, clock)
    assert len(fake_slack.calls("conversations.archive")) == 1
    timeline = client.get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()["timeline"]
    assert f"slack archive for post-mortem published ({here})" in [e["text"] for e in timeline]


def test_an_archive_already_done_in_slack_counts_as_done(
    world, redis_client, clock, fake_slack
) -> None:
    incident_id, here = resolved_room(world, redis_client, clock, fake_slack)
    fake_slack.channels[here]["is_archived"] = True  # someone archived it by hand
    clock.advance(7 * 86400 + 60)
    assert "archive" in tick_and_work(world, redis_client, clock)
    [call] = fake_slack.calls("conversations.archive")
    incident = world.test_client().get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()
    assert incident["slack_archived"] == "1"
    texts = [e["text"] for e in incident["timeline"]]
    assert f"slack archive for archive_after since resolution ({here})" in texts
    assert not [t for t in texts if t.startswith("slack archive failed")]


def test_a_team_channel_incident_is_never_archived(world, redis_client, clock, fake_slack) -> None:
    client = world.test_client()
    klaxon(client, clock, "declare Slow search SEV3", "C0GENERAL")
    incident_id = client.get("/api/incidents", headers=AUTH).get_json()["incidents"][0]["id"]
    declare_when_due(world, redis_client, clock)
    klaxon(client, clock, f"resolve {incident_id} no-data-lost Fixed", "C0GENERAL")
    run_worker(redis_client)
    clock.advance(8 * 86400)
    assert "archive" not in tick_and_work(world, redis_client, clock)
    assert fake_slack.calls("conversations.archive") == []


@pytest.fixture
def rules_with_emails(tmp_path, monkeypatch):
    """The shipped rules, the checkout team's members given by email (one Slack knows, one it
    does not, one rules/slack.yml maps to an id) and its secondary on-call a Slack user."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    slack_yml = yaml.safe_load((rules / "slack.yml").read_text())
    slack_yml["slack"]["teams"]["checkout"]["members"] = [
        "Dana@example.com",
        "ghost@example.com",
        "bob@example.com",
    ]
    slack_yml["slack"]["users"]["U0PLTCAROL"]["name"] = "checkout-secondary"
    (rules / "slack.yml").write_text(yaml.safe_dump(slack_yml))
    monkeypatch.setenv("KLAXON_RULES_DIR", str(rules))
    return rules


def test_people_are_invited_by_email_and_an_unknown_one_is_noted(
    redis_client, clock, fake_slack, rules_with_emails, monkeypatch, redis_url
) -> None:
    env = vendor_environment(SECRETS, redis_url) | SLACK_ENV
    env |= {"SLACK_BOT_TOKEN": fake_slack.token, "SLACK_API_URL": fake_slack.url + "/api/"}
    env["KLAXON_RULES_DIR"] = str(rules_with_emails)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    fake_slack.users_by_email["dana@example.com"] = "U0DANA"
    clock.set(1773479640.0)
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    client = app.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(app, redis_client, clock)
    jobs.forget_runtime()

    looked_up = sorted(
        r.json["email"] if r.json else r.body.decode()
        for r in fake_slack.calls("users.lookupByEmail")
    )
    assert len(looked_up) == 2 and "dana" in looked_up[0] and "ghost" in looked_up[1]
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    # Dana by her email, Bob by the id rules/slack.yml gives his, Carol paged by the chain.
    assert {"U0DANA", "U0PAYBOB", "U0PLTCAROL"} <= room["members"]
    [sitrep] = sitreps(fake_slack, room["id"], incident_id)  # the opening went on
    assert (room["id"], sitrep["ts"]) in fake_slack.pins
    timeline = client.get(f"/api/incidents/{incident_id}", headers=AUTH).get_json()["timeline"]
    [invited] = [e["text"] for e in timeline if e["text"].startswith("slack invite")]
    assert "ghost@example.com (users_not_found)" in invited and "dana" not in invited


def test_a_post_mortem_published_before_resolution_archives_at_resolution(
    world, redis_client, clock, fake_slack
) -> None:
    client = world.test_client()
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    declare_when_due(world, redis_client, clock)
    room = next(c for c in fake_slack.channels.values() if c["name"].startswith("inc-"))
    published = client.post(
        f"/api/incidents/{incident_id}/postmortem", json={"status": "published"}, headers=AUTH
    )
    assert published.status_code == 200
    assert "archive" not in tick_and_work(world, redis_client, clock)  # still open: kept
    assert not fake_slack.channels[room["id"]]["is_archived"]
    klaxon(client, clock, "resolve no-data-lost Fixed", room["id"], "U0CHKALICE")
    run_worker(redis_client)
    assert "archive" in tick_and_work(world, redis_client, clock)
    assert fake_slack.channels[room["id"]]["is_archived"]
    assert len(fake_slack.calls("conversations.archive")) == 1
