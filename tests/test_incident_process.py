"""The incident process on a virtual clock, over real Redis, real HTTP to the fake vendors and
an RQ worker: declare after group_wait, escalate when nobody acknowledges (across teams), an
ack stops escalation, overdue status updates are chased, the post-mortem is chased when due.
Hours of incident run in milliseconds; every timer survives a "restart" (fresh objects)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SECRETS, load_fixture, post
from fakes.environment import vendor_environment
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from app import create_app
from app.ruleset import load_ruleset
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick

ROOT = Path(__file__).parent.parent
PLATFORM_KEY = "R0UT1NGK3YPLATFORMpd0123456789ab"
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
MINUTE = 60


@pytest.fixture
def world(monkeypatch, redis_url, redis_client, clock, fake_pagerduty):
    env = vendor_environment(
        SECRETS, redis_url, pagerduty=fake_pagerduty, PD_ROUTING_KEY_PLATFORM=PLATFORM_KEY
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)
    yield create_app(Settings.from_env(), connection=redis_client, clock=clock)
    jobs.forget_runtime()


def step(redis_client, clock, app, seconds: float) -> list[str]:
    """Let time pass, fire what fell due (as a freshly started worker would), run the jobs."""
    clock.advance(seconds)
    fired = tick(
        redis_client, clock, app.extensions["klaxon"].incidents, load_ruleset(ROOT / "rules")
    )
    SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )
    return [t.kind for t in fired]


def pages(fake) -> list[tuple[str, str, str]]:
    return [
        (r.json["event_action"], r.json["routing_key"][-6:], r.json["dedup_key"])
        for r in fake.requests
    ]


def test_unacknowledged_page_escalates_until_acked_then_updates_are_chased(
    world, redis_client, clock, fake_pagerduty
) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    assert step(redis_client, clock, world, 61) == ["declare"]
    assert pages(fake_pagerduty) == [("trigger", "6789ab", incident)]

    # checkout: level 1 after 15 m (checkout-secondary), level 2 after 30 m (team:platform)
    assert step(redis_client, clock, world, 15 * MINUTE) == ["escalate"]
    assert step(redis_client, clock, world, 15 * MINUTE) == ["escalate"]
    platform = [p for p in pages(fake_pagerduty) if p[2] == f"{incident}:platform"]
    assert len(platform) == 1 and platform[0][0] == "trigger"
    assert step(redis_client, clock, world, 10 * MINUTE) == []  # end of the chain

    client.post(f"/api/incidents/{incident}/ack", headers=AUTH, json={"by": "Marco Bianchi"})
    # SEV2: a status update every hour; none was posted since the declaration at 09:15.
    assert step(redis_client, clock, world, 21 * MINUTE) == ["remind"]
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    kinds = [e["kind"] for e in timeline["timeline"]]
    assert kinds.count("escalated") == 2 and kinds.count("reminder") == 1
    reminder = next(e for e in timeline["timeline"] if e["kind"] == "reminder")
    assert "Marco Bianchi reminded" in reminder["text"]

    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "identified", "message": "Rolling back", "by": "Marco Bianchi"},
    )
    step(redis_client, clock, world, 59 * MINUTE)
    assert reminders(client, incident) == 1  # the update reset the clock
    step(redis_client, clock, world, 2 * MINUTE)
    assert reminders(client, incident) == 2


def reminders(client, incident: str) -> int:
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    return sum(1 for e in timeline["timeline"] if e["kind"] == "reminder")


def test_an_ack_in_time_cancels_escalation(world, redis_client, clock, fake_pagerduty) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    step(redis_client, clock, world, 61)
    client.post(f"/api/incidents/{incident}/ack", headers=AUTH, json={"by": "Priya Raman"})
    assert step(redis_client, clock, world, 45 * MINUTE) == []
    assert [p[0] for p in pages(fake_pagerduty)] == ["trigger", "acknowledge"]


def test_post_mortem_is_chased_when_still_a_draft(world, redis_client, clock) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    step(redis_client, clock, world, 61)
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "resolved", "message": "Fixed", "by": "Marco Bianchi"},
    )
    step(redis_client, clock, world, 1)
    fired = step(redis_client, clock, world, 48 * 3600)
    assert "postmortem" in fired
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    assert any(e["kind"] == "reminder" and "post-mortem" in e["text"] for e in timeline["timeline"])


def test_a_published_post_mortem_is_not_chased(world, redis_client, clock) -> None:
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    step(redis_client, clock, world, 61)
    client.post(f"/api/incidents/{incident}/resolve", headers=AUTH, json={"by": "Marco"})
    step(redis_client, clock, world, 1)
    client.post(
        f"/api/incidents/{incident}/postmortem",
        headers=AUTH,
        json={"status": "published", "url": "https://wiki.example/pm/1"},
    )
    step(redis_client, clock, world, 48 * 3600)
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    assert not any(e["kind"] == "reminder" for e in timeline["timeline"])


def test_a_problem_gone_within_group_wait_pages_nobody(
    world, redis_client, clock, fake_pagerduty
) -> None:
    """Quiet when it's over (issue 13): checkout's monitor triggers and recovers inside its
    1 m group_wait. No page, no status page; the timeline says why; the quiet period closes
    it without telling anyone it ended."""
    client = world.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(20)
    recovered = post(client, load_fixture("datadog", "recovered")).get_json()
    assert recovered["outcome"] == "resolved" and recovered["incident"] == incident
    assert step(redis_client, clock, world, 41) == ["declare"]
    timeline = client.get(f"/api/incidents/{incident}/timeline", headers=AUTH).get_json()
    kinds = [e["kind"] for e in timeline["timeline"]]
    assert "resolved_before_declared" in kinds and "declared" not in kinds
    for _ in range(6):
        step(redis_client, clock, world, MINUTE)
    answer = client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()
    assert answer["status"] == "resolved"
    assert pages(fake_pagerduty) == []
