"""Fixture webhooks in -> the fake vendors see the right calls, in the right order, once.

Real HTTP everywhere: the webhook goes through the Flask app, the declare timer fires on the
virtual clock, an RQ SimpleWorker runs the notify jobs against a real Redis, and the real SDKs
talk to loopback fakes (PagerDuty over HTTPS with a test CA).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SECRETS, load_fixture, post
from fakes.environment import CHECKOUT_ROUTING_KEY, vendor_environment
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from webhook_helpers import signed_for

from app import create_app
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick

ROOT = Path(__file__).parent.parent
ROUTING_KEY = CHECKOUT_ROUTING_KEY
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.fixture
def world(monkeypatch, redis_url, redis_client, clock, fake_pagerduty, fake_statuspage, fake_x):
    env = vendor_environment(
        SECRETS, redis_url, pagerduty=fake_pagerduty, statuspage=fake_statuspage
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)  # the fixtures' story: Saturday 2026-03-14 09:14 UTC
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    yield app
    jobs.forget_runtime()


def run_worker(redis_client) -> None:
    SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )


def events(fake) -> list[tuple[str, str]]:
    return [
        (r.method, r.json.get("event_action") or r.json.get("incident", {}).get("status"))
        for r in fake.requests
    ]


def test_declare_ack_update_resolve_reach_each_vendor_once(
    world, redis_client, clock, fake_pagerduty, fake_statuspage, fake_x
) -> None:
    client = world.test_client()
    answer = post(client, load_fixture("datadog", "triggered")).get_json()
    incident = answer["incident"]
    run_worker(redis_client)
    assert fake_pagerduty.requests == []  # group_wait: nobody is told yet

    clock.advance(61)
    assert [t.kind for t in tick(redis_client, clock, world.extensions["klaxon"].incidents)] == [
        "declare"
    ]
    run_worker(redis_client)
    [page] = fake_pagerduty.requests
    assert page.json["dedup_key"] == incident and page.json["routing_key"] == ROUTING_KEY
    assert page.json["payload"]["severity"] == "error"  # SEV2
    assert events(fake_statuspage) == [("POST", "investigating")]
    assert fake_x.requests == []  # SEV2: no post on X by policy

    # PagerDuty sends the acknowledgement of Klaxon's own page back: same incident.
    fixture = load_fixture("pagerduty", "incident_acknowledged")
    ack = json.loads(fixture.body)
    ack["event"]["data"]["incident_key"] = incident
    body = json.dumps(ack).encode()
    headers, _ = signed_for(fixture, body)
    response = post(client, fixture, body=body, headers=headers)
    assert response.get_json()["incident"] == incident
    assert response.get_json()["outcome"] == "updated"
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "identified", "message": "A bad deploy; rolling back", "by": "Marco"},
    )
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={
            "status": "resolved",
            "message": "Latency is back to normal",
            "by": "Marco",
            "data_loss": "no",
        },
    )
    run_worker(redis_client)

    assert events(fake_pagerduty) == [
        ("POST", "trigger"),
        ("POST", "acknowledge"),
        ("POST", "resolve"),
    ]
    assert events(fake_statuspage) == [
        ("POST", "investigating"),
        ("PATCH", "identified"),
        ("PATCH", "resolved"),
    ]
    listed = client.get("/api/incidents?status=open", headers=AUTH).get_json()["incidents"]
    assert listed == []
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    notified = [e["text"] for e in timeline["timeline"] if e["kind"] == "notified"]
    # Three pages, three status-page calls, and each public update's fan-out to the status
    # page's subscribers, to the outbox here (no KLAXON_SUBSCRIBERS_SECRET). Slack has no
    # token here either: its steps go to the outbox too (tests/test_slack_story.py).
    assert len([text for text in notified if not text.startswith("slack ")]) == 9
    assert sum("subscribers fan_out" in text and "(outbox" in text for text in notified) == 3


def test_a_retried_job_never_pages_twice(world, redis_client, clock, fake_pagerduty) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    run_worker(redis_client)
    jobs.notify(incident, "declared", "", "again")  # what a retry or a second worker does
    jobs.notify(incident, "declared", "", "again")
    assert len(fake_pagerduty.requests) == 1


def test_a_5xx_is_retried_and_still_pages_once(world, redis_client, clock, fake_pagerduty) -> None:
    from workers.channels import DeliveryError

    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    fake_pagerduty.fail_next(503)
    with pytest.raises(DeliveryError) as raised:
        jobs.notify(incident, "declared", "", "first try")
    assert raised.value.retryable
    jobs.notify(incident, "declared", "", "retry")
    jobs.notify(incident, "declared", "", "retry")
    statuses = [a.status for a in fake_pagerduty.answers]
    assert statuses == [503, 202]


def test_channels_without_credentials_write_to_the_outbox(
    world, redis_client, clock, monkeypatch
) -> None:
    for name in ("PD_ROUTING_KEY_CHECKOUT", "STATUSPAGE_API_KEY"):
        monkeypatch.delenv(name)
    jobs.forget_runtime()
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    jobs.notify(incident, "declared", "", "dry run")
    jobs.notify(incident, "declared", "", "dry run again")
    run_worker(redis_client)  # the public part the first notify() enqueued
    jobs.notify_public(incident, "declared", "", "dry run again")
    messages = client.get(f"/api/outbox?incident={incident}", headers=AUTH).get_json()["messages"]
    assert sorted((m["channel"], m["action"]) for m in messages) == [
        ("pagerduty", "trigger"),
        *(("slack", step) for step in ("announce", "create", "invite", "pin", "sitrep", "topic")),
        ("statuspage", "create"),
        ("subscribers", "fan_out"),  # no KLAXON_SUBSCRIBERS_SECRET: what subscribers would get
    ]
    page = next(m for m in messages if m["channel"] == "pagerduty")
    assert page["body"]["routing_key"] == "$PD_ROUTING_KEY_CHECKOUT"  # the name, not a key
    assert ROUTING_KEY not in json.dumps(messages)


def test_a_short_retry_after_is_honoured_in_the_same_job(world, fake_pagerduty) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    fake_pagerduty.fail_next(429, retry_after=1)
    jobs.notify(incident, "declared", "", "throttled")
    answers = fake_pagerduty.answers
    assert [a.status for a in answers] == [429, 202]
    gap = fake_pagerduty.requests[1].time - fake_pagerduty.requests[0].time
    assert gap >= 0.95  # waited as told


def test_a_long_retry_after_goes_back_to_rq_and_pages_once_later(world, fake_pagerduty) -> None:
    from workers.channels import DeliveryError, FailureReason

    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    fake_pagerduty.fail_next(429, retry_after=120)
    with pytest.raises(DeliveryError) as raised:
        jobs.notify(incident, "declared", "", "throttled")
    assert raised.value.reason is FailureReason.RATE_LIMITED
    assert raised.value.retry_after and raised.value.retry_after > 100
    jobs.notify(incident, "declared", "", "rq retry")
    assert [a.status for a in fake_pagerduty.answers] == [429, 202]


def test_statuspage_calls_are_spaced_by_the_shared_limit(world, fake_statuspage) -> None:
    client = world.test_client()
    first = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    second = post(client, load_fixture("pagerduty", "incident_triggered")).get_json()["incident"]
    jobs.notify_public(first, "declared", "", "x")
    jobs.notify_public(second, "declared", "", "x")
    times = [r.time for r in fake_statuspage.requests]
    assert len(times) == 2 and times[1] - times[0] >= 0.95  # one request a second per key


def test_opsgenie_alert_of_klaxon_acked_and_closed_in_opsgenie_acts_on_the_incident(
    monkeypatch, redis_url, redis_client, clock, fake_opsgenie
) -> None:
    for name, value in vendor_environment(SECRETS, redis_url, opsgenie=fake_opsgenie).items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    client = app.test_client()
    # The payment gateway's own alert: team payments (the service catalog), paged in Opsgenie.
    fixture = load_fixture("alertmanager", "firing")
    body = fixture.body.replace(b'"service": "checkout-api"', b'"service": "payments-api"')
    assert body != fixture.body
    incident = post(client, fixture, body=body).get_json()["incident"]
    clock.advance(3600)
    tick(redis_client, clock, app.extensions["klaxon"].incidents)
    run_worker(redis_client)
    assert [(r.method, r.path) for r in fake_opsgenie.requests] == [("POST", "/v2/alerts")]
    assert fake_opsgenie.requests[0].json["alias"] == incident

    for action, outcome in (("acknowledge", "updated"), ("close", "resolved")):
        fixture = load_fixture("opsgenie", action)
        body = json.loads(fixture.body)
        body["alert"]["alias"] = incident  # Opsgenie reports on the alert Klaxon created
        answer = post(client, fixture, body=json.dumps(body).encode()).get_json()
        assert (answer["outcome"], answer["incident"]) == (outcome, incident)
    run_worker(redis_client)
    assert [r.path for r in fake_opsgenie.requests] == [
        "/v2/alerts",
        f"/v2/alerts/{incident}/acknowledge",
        f"/v2/alerts/{incident}/close",
    ]
    assert client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()["status"] == "resolved"
    jobs.forget_runtime()


def test_a_refused_page_is_recorded_as_failed_not_as_sent(
    world, redis_client, fake_pagerduty
) -> None:
    from app.clock import SystemClock
    from app.store.ledger import Ledger

    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    fake_pagerduty.fail_next(400)  # PagerDuty refuses the event: not worth retrying
    with pytest.raises(jobs.MessagesRefused):
        jobs.notify(incident, "declared", "", "refused")
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    texts = [(e["kind"], e["text"]) for e in timeline["timeline"]]
    assert any(kind == "delivery_failed" and "pagerduty trigger" in text for kind, text in texts)
    assert not any(kind == "notified" and text.startswith("pagerduty") for kind, text in texts)
    key = f"pagerduty:{incident}:declared:0"
    assert Ledger(redis_client, SystemClock()).entry(key).state == "failed"
    jobs.notify(incident, "declared", "", "after the fix")  # e.g. requeued once corrected
    assert [a.status for a in fake_pagerduty.answers] == [400, 202]


def test_a_refusal_ends_the_job_in_klaxon_failed_and_a_requeue_sends_only_that(
    world, redis_url, redis_client, clock, fake_pagerduty, fake_statuspage, monkeypatch
) -> None:
    """No RQ retries for a message the vendor refused for good; the job is in `klaxon failed`
    with the command to requeue it, and the requeue (after the fix) sends the refused page and
    nothing that went out the first time."""
    from click.testing import CliRunner
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    from app.cli import main

    client = world.test_client()
    incident = post(client, load_fixture("sentry", "event_alert_triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    fake_pagerduty.fail_next(400)
    run_worker(redis_client)
    notify_queue = queues(redis_client)[0]
    [job_id] = FailedJobRegistry(queue=notify_queue).get_job_ids()
    assert ScheduledJobRegistry(queue=notify_queue).get_job_ids() == []  # no retry planned
    sent_first = len(fake_statuspage.requests)
    assert sent_first == 1  # the status page was told; only the page was refused
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    assert any(
        e["kind"] == "delivery_failed"
        and "was refused" in e["text"]
        and f"klaxon failed --requeue {job_id}" in e["text"]
        for e in timeline["timeline"]
    )

    monkeypatch.setenv("REDIS_URL", redis_url)
    listed = CliRunner().invoke(main, ["failed"])
    assert job_id in listed.output and "refused for good" in listed.output
    assert "requeued" in CliRunner().invoke(main, ["failed", "--requeue", job_id]).output
    run_worker(redis_client)
    assert [a.status for a in fake_pagerduty.answers] == [400, 202]
    assert len(fake_statuspage.requests) == sent_first  # nothing sent twice
    assert FailedJobRegistry(queue=notify_queue).get_job_ids() == []
