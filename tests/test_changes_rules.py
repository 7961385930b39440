"""rules/ `changes:` (issue 17): the suspect window and `after_release`, which raises an
incident that starts soon after a change to its service; `klaxon rules explain` says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from changes_rules import rules_with_checkout_app
from click.testing import CliRunner
from conftest import SECRETS, load_fixture, post

from app import create_app
from app.cli import main
from app.errors import RulesError
from app.ruleset import load_ruleset
from app.settings import Settings

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
ONSET = 1773479640.0
MINUTE = 60
AFTER_RELEASE = """changes:
  window: 2h
  after_release: {within: 15m, raise_to: SEV1}
"""


@pytest.fixture
def rules(tmp_path) -> Path:
    directory = rules_with_checkout_app(tmp_path / "rules")
    (directory / "changes.yml").write_text(AFTER_RELEASE)
    return directory


@pytest.fixture
def client(rules, redis_url, redis_client, clock):
    settings = Settings.from_env(
        {**SECRETS, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(rules)}
    )
    return create_app(settings, connection=redis_client, clock=clock).test_client()


def incident_after_change(client, clock, minutes_before: float) -> dict:
    clock.set(ONSET - minutes_before * MINUTE)
    client.post("/api/changes", headers=AUTH, json={"service": "checkout-api", "version": "v52"})
    clock.set(ONSET)
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    return client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()


def test_an_incident_soon_after_a_release_is_raised(client, clock) -> None:
    shown = incident_after_change(client, clock, 4)
    assert shown["severity"] == "SEV1"  # the Datadog P2 alone is SEV2
    [raised] = [e for e in shown["timeline"] if e["kind"] == "severity_changed"]
    assert "SEV2 -> SEV1" in raised["text"]
    assert "changes.after_release" in raised["text"] and "checkout-api v52" in raised["text"]


def test_a_release_longer_ago_is_a_suspect_but_raises_nothing(client, clock) -> None:
    shown = incident_after_change(client, clock, 30)
    assert shown["severity"] == "SEV2"
    assert [c["version"] for c in shown["changes"]] == ["v52"]


def test_rules_explain_shows_what_a_release_would_do(rules) -> None:
    result = CliRunner().invoke(
        main,
        [
            "rules",
            "explain",
            "tests/data/webhooks/datadog/triggered.json",
            "--source",
            "datadog",
            "--dir",
            str(rules),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "changes: those to checkout-api in the 7200s before onset are suspects" in result.output
    assert (
        f"changes.after_release ({rules / 'changes.yml'}:3): a change to checkout-api in the "
        "900s before onset: severity SEV2 -> SEV1"
    ) in result.output


def test_a_bad_changes_section_is_a_rules_error(rules) -> None:
    (rules / "changes.yml").write_text("changes:\n  window: soon\n  after_release: {within: 5m}\n")
    with pytest.raises(RulesError) as error:
        load_ruleset(rules)
    text = str(error.value)
    assert "changes.yml:2" in text and "changes.yml:3" in text
