"""One whole incident from the fixture webhooks, on a virtual clock (issue #5, "Done when"):
Datadog triggers, a Sentry error joins it and raises it to SEV1, the page goes out after
group_wait, nobody acknowledges so it escalates, PagerDuty's acknowledgement comes back, an
update is posted, the status page and the X thread follow, Datadog recovers, Sentry resolves,
the quiet period ends the incident, and the post-mortem is drafted. Every external call is
asserted (once each, in order), with the timeline and the pages."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SECRETS, load_fixture, post
from fakes.environment import vendor_environment
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from webhook_helpers import signed_for

from app import create_app
from app.ruleset import load_ruleset
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick

ROOT = Path(__file__).parent.parent
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
MINUTE = 60


def test_a_whole_incident(
    monkeypatch, redis_url, redis_client, clock, fake_pagerduty, fake_statuspage, fake_x
) -> None:
    for name, value in vendor_environment(
        SECRETS, redis_url, pagerduty=fake_pagerduty, statuspage=fake_statuspage, x=fake_x
    ).items():
        monkeypatch.setenv(name, value)
    clock.set(1773479640.0)  # 2026-03-14 09:14 UTC
    settings = Settings.from_env()
    app = create_app(settings, connection=redis_client, clock=clock)
    # The workers read the same virtual clock: hours of incident in milliseconds.
    with jobs.running_with(
        jobs.Runtime(settings, redis_client, load_ruleset(ROOT / "rules"), clock=clock)
    ):
        run_the_story(app, redis_client, clock, fake_pagerduty, fake_statuspage, fake_x)


def run_the_story(app, redis_client, clock, fake_pagerduty, fake_statuspage, fake_x) -> None:
    client = app.test_client()
    ruleset = load_ruleset(ROOT / "rules")

    def later(seconds: float) -> list[str]:
        clock.advance(seconds)
        fired = tick(redis_client, clock, app.extensions["klaxon"].incidents, ruleset)
        SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
            burst=True
        )
        return [t.kind for t in fired]

    def webhook(source: str, name: str, change=None) -> dict:
        fixture = load_fixture(source, name)
        if change is None:
            return post(client, fixture).get_json()
        body = json.loads(fixture.body)
        change(body)
        raw = json.dumps(body).encode()
        return post(client, fixture, body=raw, headers=signed_for(fixture, raw)[0]).get_json()

    # 09:14 Datadog: checkout-api p99 latency on web-03 (P2 -> SEV2)
    first = webhook("datadog", "triggered")
    incident = first["incident"]
    assert first["outcome"] == "new"
    # 09:14:30 a fatal Sentry error on checkout-api joins it and raises it to SEV1
    later(30)

    def fatal(body: dict) -> None:
        body["data"]["event"]["level"] = "fatal"

    sentry = webhook("sentry", "event_alert_triggered", fatal)
    assert (sentry["outcome"], sentry["incident"]) == ("grouped", incident)
    assert fake_pagerduty.requests == []  # still inside group_wait: nobody paged yet

    # 09:15 group_wait is over: page, public status page, post on X (SEV1)
    assert later(31) == ["declare"]
    # rules/statuspage.yml maps checkout-api to the Checkout component: SEV1's major outage
    assert fake_statuspage.component_statuses() == {"ftgks51sfs2d": "major_outage"}
    # The comms rhythm (rules/severities.yml, SEV1): a first public post within 5 minutes.
    # 09:15 the commander is reminded ahead (5 minutes before it is due) ...
    assert later(1) == ["remind"]
    # ... 09:20 nobody posted: Klaxon publishes its drafted first post
    assert later(5 * MINUTE) == ["remind"]
    # 09:30 nobody acknowledged: escalation level 1
    assert later(10 * MINUTE) == ["escalate"]
    # 09:31 Marco acknowledges in PagerDuty; PagerDuty tells Klaxon
    later(MINUTE)

    def ours(body: dict) -> None:
        body["event"]["data"]["incident_key"] = incident

    acked = webhook("pagerduty", "incident_acknowledged", ours)
    assert (acked["outcome"], acked["incident"]) == ("updated", incident)
    later(1)
    # 09:35 the commander posts an update
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={
            "status": "identified",
            "message": "A bad deploy exhausted the connection pool; rolling back.",
            "by": "Marco Bianchi",
        },
    )
    later(4 * MINUTE)
    # 09:56 the next update is due at 10:01 (every 30 minutes): Marco is reminded before,
    # and posts one
    assert later(21 * MINUTE) == ["remind"]
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "monitoring", "message": "The rollback is out.", "by": "Marco Bianchi"},
    )
    # 10:02 Datadog recovers and the Sentry issue is resolved; 5 quiet minutes later: resolved
    later(6 * MINUTE)
    assert webhook("datadog", "recovered")["outcome"] == "resolved"
    assert webhook("sentry", "issue_resolved")["outcome"] == "resolved"
    assert "resolve" in later(5 * MINUTE + 1)
    later(1)

    # PagerDuty: one page (re-triggered on escalation), acknowledged, low-urgency reminders
    # ahead of the first post and of the 10:01 update (one alert: :reminders), then both
    # resolved.
    assert [(r.json["event_action"], r.json["dedup_key"]) for r in fake_pagerduty.requests] == [
        ("trigger", incident),
        ("trigger", f"{incident}:reminders"),
        ("trigger", incident),
        ("acknowledge", incident),
        ("trigger", f"{incident}:reminders"),
        ("resolve", incident),
        ("resolve", f"{incident}:reminders"),
    ]
    assert fake_pagerduty.requests[1].json["payload"]["severity"] == "info"
    assert (
        "the first public post is due by 09:20 UTC"
        in fake_pagerduty.requests[1].json["payload"]["summary"]
    )
    assert fake_pagerduty.requests[0].json["payload"]["severity"] == "critical"
    # Statuspage: created once, Klaxon's drafted first post, two updates, resolved
    assert [(r.method, r.json["incident"]["status"]) for r in fake_statuspage.requests] == [
        ("POST", "investigating"),
        ("PATCH", "investigating"),
        ("PATCH", "identified"),
        ("PATCH", "monitoring"),
        ("PATCH", "resolved"),
    ]
    drafted = fake_statuspage.requests[1].json["incident"]["body"]
    assert drafted.startswith("We're investigating a major outage affecting Checkout API.")
    assert "We'll post the next update by 09:50 UTC." in drafted  # the rhythm's next due
    assert fake_statuspage.component_statuses() == {"ftgks51sfs2d": "operational"}
    # X: a post, then replies in the same thread
    posts = fake_x.requests
    assert len(posts) == 5 and "reply" not in posts[0].json
    ids = [a.body["data"]["id"] for a in fake_x.answers]
    assert [p.json["reply"]["in_reply_to_tweet_id"] for p in posts[1:]] == ids[:4]

    details = client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()
    assert (details["status"], details["severity"], details["commander"]) == (
        "resolved",
        "SEV1",
        "Marco Bianchi",
    )
    kinds = [e["kind"] for e in details["timeline"]]
    for kind in (
        "opened",
        "alert_received",
        "alert_grouped",
        "severity_raised",
        "declared",
        "escalated",
        "acknowledged",
        "status_update",
        "alert_resolved",
        "all_alerts_resolved",
        "resolved",
        "notified",
    ):
        assert kind in kinds, kind
    assert kinds.index("declared") < kinds.index("escalated") < kinds.index("acknowledged")

    postmortem = client.get(f"/api/incidents/{incident}/postmortem.md", headers=AUTH)
    assert postmortem.status_code == 200
    text = postmortem.get_data(as_text=True)
    assert incident in text and "SEV1" in text and "Marco Bianchi" in text

    status_page = client.get("/status").get_data(as_text=True)
    assert "rolling back" in status_page
    for internal in ("web-03", "Marco", "Priya"):
        assert internal not in status_page
