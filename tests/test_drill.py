"""`klaxon drill` against a running Klaxon (granian web, `python -m workers`, real Redis, the
vendors' loopback fakes configured with credentials): every stage timed, the incident
resolved, and nobody paged, even where the rules would page for the same alert."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import load_fixture
from running_klaxon import ROOT, wait_for, web, workers
from test_metrics import API, scrape, value

from app.drill import STAGES

pytestmark = pytest.mark.slow

# Before the example routes: every Alertmanager alert is a SEV1 for checkout, paged at once
# (PagerDuty), public (status page, X) and resolved at once. A drill alert would be all that,
# were it not a drill.
LOUD_ROUTE = """routes:
  - name: every-alertmanager-alert-is-an-outage
    match: {source: alertmanager}
    team: checkout
    severity: SEV1
    group_wait: 0s
    resolve_quiet: 0s
"""


@pytest.fixture
def loud_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    routes = rules / "routes.yml"
    routes.write_text(routes.read_text().replace("routes:\n", LOUD_ROUTE, 1))
    return rules


@pytest.fixture
def klaxon_env(vendors_in_environment, loud_rules, tmp_path) -> dict[str, str]:
    return {
        **vendors_in_environment,
        "KLAXON_RULES_DIR": str(loud_rules),
        "KLAXON_METRICS_DIR": str(tmp_path / "metrics"),
        "KLAXON_LOG_LEVEL": "WARNING",
    }


def klaxon(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_drill_goes_through_every_stage_and_pages_nobody(
    klaxon_env, redis_client, fake_pagerduty, fake_statuspage, fake_x
) -> None:
    with web(klaxon_env) as base, workers(klaxon_env):
        env = {**klaxon_env, "KLAXON_PUBLIC_URL": base}
        done = klaxon(env, "drill", "--timeout", "60")
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("drill ") and " ok (incident INC-" in lines[0]
        assert [line.split()[0] for line in lines[1:]] == list(STAGES)
        incident_id = lines[0].rsplit("incident ", 1)[1].rstrip(")")

        # Resolved, told to the outbox both times, and to no vendor, public or not.
        incident = redis_client.hgetall(f"klaxon:incident:{incident_id}")
        assert incident[b"status"] == b"resolved"
        assert incident[b"team"] == b"klaxon-drill"
        outbox = requests.get(
            f"{base}/api/outbox?incident={incident_id}", headers=API, timeout=10
        ).json()["messages"]
        assert sorted((m["channel"], m["event"]) for m in outbox) == [
            ("pagerduty", "declared"),
            ("pagerduty", "resolved"),
        ]
        assert fake_pagerduty.requests == []
        assert fake_statuspage.requests == []
        assert fake_x.requests == []
        assert incident_id not in requests.get(f"{base}/status", timeout=10).text
        assert not redis_client.zrange("klaxon:timers", 0, -1)  # no escalation, no reminder

        # The result, where an operator looks for it.
        last = klaxon(env, "drill", "--last")
        assert last.returncode == 0 and last.stdout.splitlines()[0] == lines[0]
        ready = requests.get(f"{base}/readyz", timeout=10).json()
        assert ready["last_drill"]["ok"] is True
        assert set(ready["last_drill"]["stages"]) == set(STAGES)
        samples = scrape(base)
        assert value(samples, "klaxon_drill_last_success") == 1
        assert value(samples, "klaxon_drill_stage_seconds", stage="job_started") > 0
        # The worker's side: the two PagerDuty-planned messages, timed.
        assert (
            value(samples, "klaxon_channel_send_duration_seconds_count", channel="pagerduty") == 2
        )
        assert value(samples, "klaxon_channel_failures_total", channel="pagerduty") == 0

        # The same route does page for an alert that is not a drill: the setup is live.
        fixture = load_fixture("alertmanager", "firing")
        answer = requests.post(
            f"{base}/webhooks/alertmanager", data=fixture.body, headers=fixture.headers, timeout=10
        )
        assert answer.status_code == 202
        wait_for(lambda: fake_pagerduty.requests, what="the real alert's page")


def test_drill_without_workers_fails_naming_the_stuck_stage(klaxon_env, redis_client) -> None:
    with web(klaxon_env) as base:
        env = {**klaxon_env, "KLAXON_PUBLIC_URL": base}
        done = klaxon(env, "drill", "--timeout", "3")
        assert done.returncode == 1
        assert "FAILED at job_started: no job started before the timeout" in done.stdout
        assert "stored" in done.stdout and "enqueued" in done.stdout  # what did happen
        last = json.loads(redis_client.get("klaxon:drill:last"))
        assert (last["ok"], last["stuck"]) == (False, "job_started")
        assert value(scrape(base), "klaxon_drill_last_success") == 0


def test_drill_against_nothing_fails_at_the_receiver(klaxon_env, redis_client) -> None:
    done = klaxon(klaxon_env, "drill", "--url", "http://127.0.0.1:9", "--timeout", "3")
    assert done.returncode == 1
    assert "FAILED at stored: could not reach http://127.0.0.1:9" in done.stdout


def test_scheduled_drill_runs_from_the_workers_ticker(klaxon_env, redis_client) -> None:
    with web(klaxon_env) as base:
        # A short interval: the first drill waits min(interval, 60 s) after the worker starts.
        env = {**klaxon_env, "KLAXON_PUBLIC_URL": base, "KLAXON_DRILL_INTERVAL": "5"}
        with workers(env):
            raw = wait_for(lambda: redis_client.get("klaxon:drill:last"), 60, "a scheduled drill")
            assert 0 < redis_client.ttl("klaxon:drill:scheduled") <= 5  # held for the interval
        last = json.loads(raw)
        assert last["ok"] is True, last
        assert set(last["stages"]) == set(STAGES)
