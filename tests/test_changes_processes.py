"""Issue 17's story as the Procfile runs Klaxon: granian serving the web app (the RSGI front,
the webhook fast path), `python -m workers` with its ticker, a real Redis, real HTTP in (the
Heroku and Datadog webhooks, the API) and out (HTTPS to the PagerDuty fake). Real time, so
the release is stamped four minutes before now."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from changes_rules import rules_with_checkout_app
from conftest import SECRETS, load_fixture
from running_klaxon import wait_for, web, workers

pytestmark = pytest.mark.slow

CHANGES = Path(__file__).parent / "data" / "changes"
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
ROLLBACK = "heroku rollback v51 -a checkout"
# First among the routes: checkout-api's Datadog alerts page at once (no group_wait), so the
# story runs in seconds of real time.
AT_ONCE = """routes:
  - name: checkout-datadog-at-once
    match: {source: datadog, service: checkout-api}
    team: checkout
    group_wait: 0s
"""


@pytest.fixture
def env(vendors_in_environment, tmp_path) -> dict[str, str]:
    rules = rules_with_checkout_app(tmp_path / "rules")
    routes = rules / "routes.yml"
    routes.write_text(routes.read_text().replace("routes:\n", AT_ONCE, 1))
    return {
        **vendors_in_environment,
        "KLAXON_RULES_DIR": str(rules),
        "KLAXON_METRICS_DIR": str(tmp_path / "metrics"),
        "KLAXON_LOG_LEVEL": "WARNING",
    }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_v52(at: float) -> bytes:
    payload = json.loads((CHANGES / "heroku" / "checkout_v52.json").read_bytes())
    payload["data"].update(created_at=iso(at - 30), updated_at=iso(at))
    return json.dumps(payload).encode()


def datadog_now() -> tuple[bytes, dict[str, str]]:
    fixture = load_fixture("datadog", "triggered")
    payload = json.loads(fixture.body)
    stamp = str(int(time.time() * 1000))
    payload.update(date=stamp, last_updated=stamp)  # a fresh event, not a replay
    return json.dumps(payload).encode(), fixture.headers


def test_release_then_errors_over_real_http(env, fake_pagerduty) -> None:
    with web(env, processes=2) as base, workers(env):
        body = release_v52(time.time() - 240)
        signature = hmac.new(
            SECRETS["HEROKU_WEBHOOK_SECRET"].split(",")[1].encode(), body, hashlib.sha256
        ).digest()  # the old secret: mid-rotation
        answer = requests.post(
            f"{base}/webhooks/heroku",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Heroku-Webhook-Hmac-SHA256": base64.b64encode(signature).decode(),
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["service"] == "checkout-api"

        body, headers = datadog_now()
        alert = requests.post(f"{base}/webhooks/datadog", data=body, headers=headers, timeout=10)
        assert alert.status_code == 202, alert.text
        incident = alert.json()["incident"]

        shown = requests.get(f"{base}/api/incidents/{incident}", headers=AUTH, timeout=10).json()
        [suspect] = shown["changes"]
        assert (suspect["version"], suspect["rollback"]) == ("v52", ROLLBACK)
        assert 235 <= suspect["seconds_before_onset"] <= 300

        page = wait_for(lambda: fake_pagerduty.requests, seconds=90, what="the page").pop()
        details = page.json["payload"]["custom_details"]["suspected_changes"]
        assert details[0]["rollback"] == ROLLBACK
        assert f"(rollback: {ROLLBACK})" in page.json["payload"]["summary"]

        draft = requests.get(
            f"{base}/api/incidents/{incident}/postmortem.md", headers=AUTH, timeout=10
        ).text
        assert f"Rollback: `{ROLLBACK}`" in draft.split("## Changes before the incident")[1]
