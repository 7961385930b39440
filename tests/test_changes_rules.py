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
from app.messages.context import MessageEvent
from app.messages.render import render
from app.ruleset import load_ruleset
from app.settings import Settings
from app.store.incidents import IncidentStore
from workers.channels import CHANNELS, Channel, Occasion
from workers.incident_context import build_context

ROOT = Path(__file__).parent.parent
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
    assert "after_release does nothing" in text


PAGE_AUTHOR = """changes:
  window: 2h
  after_release: {within: 15m, page_author: true}
"""


@pytest.fixture
def author_client(rules, redis_url, redis_client, clock):
    (rules / "changes.yml").write_text(PAGE_AUTHOR)
    settings = Settings.from_env(
        {**SECRETS, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(rules)}
    )
    return create_app(settings, connection=redis_client, clock=clock).test_client()


def incident_after_change_by(client, clock, who: str, minutes_before: float = 4) -> dict:
    clock.set(ONSET - minutes_before * MINUTE)
    change = {"service": "checkout-api", "version": "v52", "who": who}
    assert client.post("/api/changes", headers=AUTH, json=change).status_code in (200, 201, 202)
    clock.set(ONSET)
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    return client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()


def first_page(rules, redis_client, clock, incident_id: str, channel: Channel, team: str):
    """What the declared job would send on `channel` for the stored incident, as `team`."""
    ruleset = load_ruleset(rules)
    store = IncidentStore(redis_client, clock, 3600)
    ctx = build_context(
        store, ruleset, incident_id, MessageEvent.DECLARED, "", "https://k.example", clock.now()
    )
    assert ctx is not None
    notifier = CHANNELS[channel]
    told = Occasion(ctx, ruleset.teams[team], ruleset.teams, frozenset({"datadog"}), pages=True)
    [message] = notifier.build(told, render(notifier, ctx.event, ctx, ROOT / "templates"), {})
    return message.body


def test_a_release_just_before_pages_its_author_with_the_on_call(
    author_client, rules, redis_client, clock
) -> None:
    shown = incident_after_change_by(author_client, clock, "ann.lee@example.com")
    assert shown["severity"] == "SEV2"  # page_author alone raises nothing
    [said] = [e for e in shown["timeline"] if e["kind"] == "change_author"]
    assert "paging the change's author ann.lee@example.com" in said["text"]
    assert "changes.after_release" in said["text"]
    # Opsgenie pages the author as a user responder beside the team's own.
    body = first_page(rules, redis_client, clock, shown["id"], Channel.OPSGENIE, "payments")
    assert {"type": "user", "username": "ann.lee@example.com"} in body["responders"]
    assert len(body["responders"]) >= 2
    # PagerDuty's Events API reaches a service, not a person: the on-call sees whom to call.
    body = first_page(rules, redis_client, clock, shown["id"], Channel.PAGERDUTY, "checkout")
    assert body["payload"]["custom_details"]["change_author"] == "ann.lee@example.com"


def test_an_author_known_by_a_login_only_is_not_paged_and_the_timeline_says_so(
    author_client, rules, redis_client, clock
) -> None:
    shown = incident_after_change_by(author_client, clock, "octocat")
    [said] = [e for e in shown["timeline"] if e["kind"] == "change_author"]
    assert said["text"].startswith("change author not paged") and "octocat" in said["text"]
    body = first_page(rules, redis_client, clock, shown["id"], Channel.OPSGENIE, "payments")
    assert all(r.get("type") != "user" or "octocat" not in str(r) for r in body["responders"])


def test_a_release_longer_ago_pages_no_author(author_client, rules, redis_client, clock) -> None:
    shown = incident_after_change_by(author_client, clock, "ann.lee@example.com", 30)
    assert [c["version"] for c in shown["changes"]] == ["v52"]  # still a suspect
    assert not [e for e in shown["timeline"] if e["kind"] == "change_author"]
    body = first_page(rules, redis_client, clock, shown["id"], Channel.OPSGENIE, "payments")
    assert {"type": "user", "username": "ann.lee@example.com"} not in body["responders"]


def test_rules_explain_shows_the_author_paged(rules) -> None:
    (rules / "changes.yml").write_text(PAGE_AUTHOR)
    datadog = "tests/data/webhooks/datadog/triggered.json"
    args = ["rules", "explain", datadog, "--source", "datadog", "--dir", str(rules)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "before onset: its author (an e-mail address) is paged with the on-call" in result.output
