"""Stories (issue 13): each story under tests/data/stories/ replayed on the virtual clock over
real HTTP (the Flask app behind a loopback werkzeug server) against a real Redis, the declare
and other timers ticking every 30 s, RQ jobs run by a SimpleWorker, and PagerDuty, Opsgenie,
Statuspage and X played by loopback fakes. Judged on: one incident per real outage, one public
incident per outage, no alert wrongly suppressed, no page missed, no page for a problem that
was over before it was declared."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import SECRETS, load_fixture
from fakes import FakeStatuspage
from fakes.environment import vendor_environment
from test_statuspage_components_e2e import PAGE, run_worker
from webhook_helpers import GRAFANA_TIMESTAMP_HEADER, hex_hmac, signed_for
from werkzeug.serving import make_server

from app import create_app
from app.ruleset import load_ruleset
from app.ruleset.stories import SAMPLE, Delivered, Story, StoryEvent, load_stories, score
from app.ruleset.storydiff import parsed_alerts
from app.ruleset.storymodel import replay_story
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick

STORIES = load_stories(Path(__file__).parent / "data" / "stories")
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
TICK = 30.0  # seconds between two looks at the timers (the ticker's own rhythm is finer)
ROUTING_KEYS = {  # any 32 characters: the fake accepts them, as PagerDuty would a real one
    f"PD_ROUTING_KEY_{team}": f"R0UT1NGK3Y{team}".ljust(32, "0")[:32]
    for team in ("PAYMENTS", "SEARCH", "PLATFORM")
}


@pytest.fixture
def page() -> Iterator[FakeStatuspage]:
    with FakeStatuspage(components=PAGE) as fake:
        yield fake
    jobs.forget_runtime()


@pytest.fixture
def klaxon(
    monkeypatch, redis_url, redis_client, clock, page, fake_pagerduty, fake_opsgenie, fake_x
):
    env = vendor_environment(
        SECRETS,
        redis_url,
        pagerduty=fake_pagerduty,
        statuspage=page,
        opsgenie=fake_opsgenie,
        x=fake_x,
        **ROUTING_KEYS,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def deliver(base: str, event: StoryEvent, now: float) -> Delivered:
    fixture = load_fixture(event.source, SAMPLE[event.source])
    headers, query = signed_for(fixture, event.body)
    if event.source == "grafana":  # signed with the time it is sent
        stamp = str(int(now))
        headers[GRAFANA_TIMESTAMP_HEADER] = stamp
        headers["X-Grafana-Alerting-Signature"] = hex_hmac(
            SECRETS["GRAFANA_WEBHOOK_SECRET"], stamp.encode() + b":" + event.body
        )
    answer = requests.post(
        f"{base}/webhooks/{event.source}{query}", data=event.body, headers=headers, timeout=30
    )
    assert answer.status_code == 202, (event.payload, event.at, answer.text)
    body = answer.json()
    alerts = body.get("alerts") or [body]
    return Delivered(event, tuple((a["outcome"], a["incident"]) for a in alerts))


def replay(story: Story, app, base: str, redis_client, clock) -> list[Delivered]:
    incidents = app.extensions["klaxon"].incidents

    def run_until(moment: float) -> None:
        while clock.now() < moment:
            clock.set(min(moment, clock.now() + TICK))
            tick(redis_client, clock, incidents)
            if any(queue.count for queue in queues(redis_client)):
                run_worker(redis_client)

    clock.set(story.starts_at)
    delivered = []
    for event in story.events:
        run_until(story.starts_at + event.at)
        delivered.append(deliver(base, event, clock.now()))
        run_worker(redis_client)
    run_until(clock.now() + story.runs_for)
    return delivered


@pytest.mark.parametrize("story", STORIES, ids=[s.name for s in STORIES])
def test_each_outage_is_one_incident_told_once_and_nothing_is_muted_by_mistake(
    story: Story, klaxon, redis_client, clock, page, fake_pagerduty, fake_opsgenie
) -> None:
    app, base = klaxon
    delivered = replay(story, app, base, redis_client, clock)

    parent_of, pager_alerts = {}, set()
    for incident_id in {i for d in delivered for _, i in d.outcomes if i}:
        found = requests.get(f"{base}/api/incidents/{incident_id}", headers=AUTH, timeout=30)
        if found.json().get("merged_into"):
            parent_of[incident_id] = found.json()["merged_into"]
        # An alert from PagerDuty or Opsgenie is that pager's own page (Klaxon does not page
        # the same problem there twice: workers/outbound.wanted_channels).
        if {a["source"] for a in found.json()["alerts"]} & {"pagerduty", "opsgenie"}:
            pager_alerts.add(incident_id)
    paged = (
        pager_alerts
        | {
            r.json["dedup_key"]
            for r in fake_pagerduty.requests
            if r.method == "POST" and r.json.get("event_action") == "trigger"
        }
        | {r.json["alias"] for r in fake_opsgenie.requests if r.path.endswith("/v2/alerts")}
    )
    public = {
        r.json["incident"]["metadata"]["klaxon"]["incident"]
        for r in page.requests
        if r.method == "POST"
    }
    result = score(story, delivered, parent_of, paged, public)

    assert result.problems == (), result.summary()
    assert set(result.incidents_per_outage.values()) == {1}
    assert result.public_per_outage == {n: o.public for n, o in story.outages.items()}
    assert (result.wrongly_suppressed, result.pages_missed, result.pages_for_resolved) == (0, 0, 0)
    # `klaxon rules diff --stories` models the same replay in process: the same counts.
    modelled = replay_story(story, load_ruleset("rules"), parsed_alerts(story))
    assert (modelled.problems, modelled.incidents_per_outage, modelled.public_per_outage) == (
        (),
        result.incidents_per_outage,
        result.public_per_outage,
    )
    # Each public incident is one status card, and nothing else reached the status page.
    assert len(public) == sum(o.public for o in story.outages.values())
    assert json.loads(requests.get(f"{base}/api/v2/incidents.json", timeout=30).text)["incidents"]
