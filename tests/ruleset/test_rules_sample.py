"""`klaxon rules sample`: the alerts a running Klaxon received, exported from the webhook log in
a real Redis, replay through `klaxon rules diff --alerts`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import WEBHOOKS, load_fixture
from webhook_helpers import send

from app.cli import main
from app.models import Alert
from app.ruleset.ruletests import parse_payload

AT = "2026-03-16T10:00:00Z"
POSTED = [
    ("datadog", "triggered"),
    ("sentry", "event_alert_triggered"),
    ("alertmanager", "firing"),
    ("datadog", "recovered"),
    ("datadog", "retriggered_renotify"),
    ("opsgenie", "create"),
]


def run(*args: str, redis_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rules", *args], env={"REDIS_URL": redis_url})
    return result.exit_code, result.output


def parsed(source: str, name: str) -> list[Alert]:
    return parse_payload(source, WEBHOOKS / source / f"{name}.json")


def test_sample_exports_each_alert_once_as_it_last_fired(
    client, redis_url: str, tmp_path: Path
) -> None:
    for source, name in POSTED:
        assert send(client, load_fixture(source, name)).status_code == 202
    out = tmp_path / "sample.jsonl"
    code, output = run("sample", "--out", str(out), redis_url=redis_url)
    assert code == 0, output
    assert output == f"{out}: 5 alerts\n"
    exported = [Alert.from_dict(json.loads(line)) for line in out.read_text().splitlines()]
    # Oldest first; the recovery is no trigger, and the re-trigger of the same monitor and
    # host replaces its first trigger, which moves that alert to when it last fired.
    assert exported == [
        *parsed("sentry", "event_alert_triggered"),
        *parsed("alertmanager", "firing"),
        *parsed("datadog", "retriggered_renotify"),
        *parsed("opsgenie", "create"),
    ]


def test_limit_keeps_the_most_recent_alerts(client, redis_url: str) -> None:
    for source, name in POSTED:
        send(client, load_fixture(source, name))
    code, output = run("sample", "--out", "-", "--limit", "2", redis_url=redis_url)
    assert code == 0, output
    assert [Alert.from_dict(json.loads(line)) for line in output.splitlines()] == [
        *parsed("datadog", "retriggered_renotify"),
        *parsed("opsgenie", "create"),
    ]


def test_a_sample_replays_through_rules_diff(client, redis_url: str, tmp_path: Path) -> None:
    for source, name in POSTED:
        send(client, load_fixture(source, name))
    sample = tmp_path / "sample.jsonl"
    assert run("sample", "--out", str(sample), redis_url=redis_url)[0] == 0
    head = tmp_path / "head"
    shutil.copytree("rules", head)
    routes = head / "routes.yml"
    routes.write_text(
        routes.read_text().replace(  # checkout's Opsgenie alerts become SEV1
            "  - name: checkout\n",
            "  - name: checkout-opsgenie\n    match: {source: opsgenie, service: checkout-api}\n"
            "    severity: SEV1\n  - name: checkout\n",
        )
    )
    code, output = run(
        "diff",
        "rules",
        str(head),
        "--at",
        AT,
        "--alerts",
        str(sample),
        "--tests",
        "",
        "--fixtures",
        "",
        redis_url=redis_url,
    )
    assert code == 0, output
    assert (
        output.split("\n", 1)[1]
        == f"""\
5 alerts, 1 changed: severity 1, severity reason 1, route 1, matched routes 1, notify 1, statuspage 1, x_post 1, update every 1
route 'checkout' moved routes.yml:63 -> routes.yml:66 (2 alerts, same decision)

opsgenie  [prod] checkout-api: p99 latency > 2s on web-03  (service checkout-api)
  from {sample}:5 at {AT}
  field            before                                        after
  severity         SEV2                                          SEV1
  severity reason  source_severity=P2 via opsgenie severity map  fixed by route 'checkout-opsgenie'
  route            checkout (routes.yml:63)                      checkout-opsgenie (routes.yml:63)
  matched routes   production-grouping, checkout                 production-grouping, checkout-opsgenie
  notify           pagerduty, statuspage, subscribers            pagerduty, statuspage, x, subscribers
  statuspage       major/partial_outage                          critical/major_outage
  x_post           no                                            yes
  update every     1h                                            30m
"""
    )


def test_sample_without_redis_says_so_without_the_url(tmp_path: Path) -> None:
    code, output = run(
        "sample", "--out", str(tmp_path / "s.jsonl"), redis_url="redis://:hunter2@127.0.0.1:1/0"
    )
    assert code == 1
    assert output == "Error: cannot read the webhook log from Redis: ConnectionError\n"
    assert not (tmp_path / "s.jsonl").exists()
