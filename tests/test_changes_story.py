"""Issue 17's story, over real Redis, on the virtual clock, with the real PagerDuty client
talking HTTPS to its loopback fake: Heroku releases checkout v52 at 09:10; at 09:14 Datadog
says checkout-api's latency is high; the incident lists v52 with `heroku rollback v51 -a
checkout`, and so do the page's summary and custom details, the incident page and the
post-mortem draft. Then v53 ships while the SEV2 is open: flagged, and the commander told."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from pathlib import Path

import pytest
from changes_rules import rules_with_checkout_app
from conftest import SECRETS, load_fixture, post
from fakes.environment import vendor_environment
from rq.serializers import JSONSerializer
from test_pages import sign_in

from app import create_app
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick
from workers.worker import InlineHerokuWorker

CHANGES = Path(__file__).parent / "data" / "changes"
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
HEROKU_SECRET = SECRETS["HEROKU_WEBHOOK_SECRET"].split(",")[0]
ONSET = 1773479640.0  # 2026-03-14 09:14:00 UTC, the Datadog fixtures' story
ROLLBACK = "heroku rollback v51 -a checkout"


@pytest.fixture
def world(monkeypatch, redis_url, redis_client, clock, fake_pagerduty, tmp_path):
    for name, value in vendor_environment(SECRETS, redis_url, pagerduty=fake_pagerduty).items():
        monkeypatch.setenv(name, value)
    # The catalog says Heroku app checkout runs checkout-api (web and workers read it).
    monkeypatch.setenv("KLAXON_RULES_DIR", str(rules_with_checkout_app(tmp_path / "rules")))
    jobs.forget_runtime()
    clock.set(ONSET - 235)  # 09:10:05, when Heroku tells Klaxon about v52
    yield create_app(Settings.from_env(), connection=redis_client, clock=clock)
    jobs.forget_runtime()


def heroku_release(client, body: bytes, secret: str = HEROKU_SECRET):
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(
        "/webhooks/heroku",
        data=body,
        headers={"Content-Type": "application/json", "Heroku-Webhook-Hmac-SHA256": signature},
    )


def release(version: int, at: str, delivery: str) -> bytes:
    payload = json.loads((CHANGES / "heroku" / "checkout_v52.json").read_bytes())
    payload["data"].update(version=version, updated_at=at, description=f"Deploy v{version}")
    payload["data"]["id"] = payload["id"] = f"release-{version}"
    payload["webhook_metadata"]["delivery"]["id"] = delivery
    return json.dumps(payload).encode()


def run_jobs(redis_client) -> None:
    # Klaxon's worker class: RQ's own pubsub thread may hold a burst's end for 60 s.
    InlineHerokuWorker(
        queues(redis_client), connection=redis_client, serializer=JSONSerializer
    ).work(burst=True)


def test_release_then_errors_the_incident_pages_with_the_rollback_one_step_away(
    world, redis_client, clock, fake_pagerduty
) -> None:
    client = world.test_client()
    answer = heroku_release(client, (CHANGES / "heroku" / "checkout_v52.json").read_bytes())
    assert answer.status_code == 202
    assert answer.get_json()["outcome"] == "new"
    assert answer.get_json()["service"] == "checkout-api"  # the catalog's heroku_apps

    clock.set(ONSET)
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    shown = client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()
    [suspect] = shown["changes"]
    assert (suspect["service"], suspect["version"], suspect["rollback"]) == (
        "checkout-api",
        "v52",
        ROLLBACK,
    )
    assert suspect["seconds_before_onset"] == 240 and suspect["rank"] == 1
    assert suspect["who"] == "ann.lee@acme-payments.example"
    [entry] = [e for e in shown["timeline"] if e["kind"] == "suspected_change"]
    assert "checkout-api v52" in entry["text"] and "4 min before" in entry["text"]
    assert ROLLBACK in entry["text"]

    clock.advance(61)  # group_wait ends: the page goes out
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    run_jobs(redis_client)
    [page] = fake_pagerduty.requests
    payload = page.json["payload"]
    assert "suspect: checkout-api v52, 4m before (rollback: " + ROLLBACK in payload["summary"]
    [detail] = payload["custom_details"]["suspected_changes"]
    assert detail["rollback"] == ROLLBACK and detail["minutes_before_onset"] == 4.0

    sign_in(client)
    page_html = html.unescape(client.get(f"/incidents/{incident}").get_data(as_text=True))
    assert "Suspected changes" in page_html
    assert f'<code class="copy" title="one click selects it">{ROLLBACK}</code>' in page_html

    draft = client.get(f"/api/incidents/{incident}/postmortem.md", headers=AUTH).get_data(
        as_text=True
    )
    changes_section = draft.split("## Changes before the incident", 1)[1].split("## ", 1)[0]
    assert "**checkout-api v52** by ann.lee@acme-payments.example" in changes_section
    assert f"Rollback: `{ROLLBACK}`" in changes_section
    timeline = draft.split("## Timeline", 1)[1]
    assert timeline.index("09:10:00 **Change**: checkout-api v52") < timeline.index(
        "**Incident opened**"
    )


def test_a_deploy_while_the_sev2_is_open_is_flagged_and_the_commander_told(
    world, redis_client, clock, fake_pagerduty
) -> None:
    client = world.test_client()
    clock.set(ONSET)
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, world.extensions["klaxon"].incidents)
    run_jobs(redis_client)
    client.post(f"/api/incidents/{incident}/ack", headers=AUTH, json={"by": "Marco Bianchi"})

    clock.advance(5 * 60)
    answer = heroku_release(client, release(53, "2026-03-14T09:20:00Z", "delivery-53"))
    assert answer.get_json()["incidents"] == [incident]
    run_jobs(redis_client)

    shown = client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()
    assert shown["deploy_during_incident"].startswith("checkout-api v53")
    [during] = [c for c in shown["changes"] if c["during_incident"]]
    assert during["version"] == "v53" and during["rollback"] == "heroku rollback v52 -a checkout"
    [flag] = [e for e in shown["timeline"] if e["kind"] == "deploy_during_incident"]
    assert "stop deploying" in flag["text"]
    told = [r.json for r in fake_pagerduty.requests if r.json["dedup_key"].endswith(":reminders")]
    assert len(told) == 1
    assert "Marco Bianchi" in told[0]["payload"]["summary"]
    assert "deploy during the incident (checkout-api v53" in told[0]["payload"]["summary"]

    # Heroku retries the same delivery: nothing more happens.
    again = heroku_release(client, release(53, "2026-03-14T09:20:00Z", "delivery-53"))
    assert again.get_json()["outcome"] == "duplicate"
    run_jobs(redis_client)
    assert (
        len([r for r in fake_pagerduty.requests if r.json["dedup_key"].endswith(":reminders")]) == 1
    )
