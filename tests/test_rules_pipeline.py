"""The shipped example rules applied inside the webhook request, over HTTP and a real Redis:
classification, routing, grouping, inhibition and severity, with provenance on each decision;
and the guarantees around loading rules (start-up, reload, release)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SECRETS, load_fixture, post

from app import create_app
from app.cli import main
from app.errors import RulesError

ROOT = Path(__file__).parent.parent
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
BAD_RULE = ROOT / "tests" / "data" / "rules" / "bad" / "bad_enum_page_mode.yml"


@pytest.fixture
def example_client(settings, redis_client, clock):
    clock.set(1773479640.0)  # Saturday 2026-03-14 09:14 UTC, the fixtures' story
    app = create_app(
        settings.with_changes(rules_dir=ROOT / "rules"), connection=redis_client, clock=clock
    )
    return app.test_client()


def send(client, clock, source: str, name: str) -> dict:
    response = post(client, load_fixture(source, name))
    clock.advance(60)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_checkout_story_groups_inhibits_and_records_the_rule(example_client, clock) -> None:
    first = send(example_client, clock, "datadog", "triggered")
    warn = send(example_client, clock, "datadog", "warn")
    sentry = send(example_client, clock, "sentry", "event_alert_triggered")
    repeat = send(example_client, clock, "datadog", "retriggered_renotify")

    assert first["outcome"] == "new"
    assert (
        "route 'checkout-datadog' (" in first["reason"] and "rules/routes.yml:" in first["reason"]
    )
    assert warn["outcome"] == "suppressed"  # a SEV3 warning under an open SEV2 for checkout
    assert warn["incident"] == first["incident"]
    assert sentry["outcome"] == "grouped" and sentry["incident"] == first["incident"]
    assert repeat["outcome"] == "duplicate"

    incident = example_client.get(f"/api/incidents/{first['incident']}", headers=AUTH).get_json()
    assert (incident["severity"], incident["team"]) == ("SEV2", "checkout")
    assert incident["rule"] == "checkout-datadog"
    assert "rules/routes.yml:" in incident["rule_location"]
    assert incident["rules_version"]
    declared = incident["timeline"][0]
    assert declared["kind"] == "opened" and declared["data"]["rule"] == "checkout-datadog"
    suppressed = [e for e in incident["timeline"] if e["kind"] == "suppressed"]
    assert len(suppressed) == 1 and warn["alert"] in suppressed[0]["text"]


def test_one_service_from_three_vendors_is_one_incident_whatever_team_they_tag(
    example_client, clock
) -> None:
    """Datadog names checkout-api; Opsgenie and Alertmanager name it too but tag team=payments.
    The catalog owns the service, so the team and the group key are the same (issue 13: the
    sample webhooks of one checkout outage made one incident per team)."""
    checkout = send(example_client, clock, "datadog", "triggered")
    opsgenie = send(example_client, clock, "opsgenie", "create")
    prometheus = send(example_client, clock, "alertmanager", "firing")
    assert opsgenie["outcome"] == "grouped" and opsgenie["incident"] == checkout["incident"]
    assert prometheus["outcome"] == "grouped" and prometheus["incident"] == checkout["incident"]
    incident = example_client.get(f"/api/incidents/{checkout['incident']}", headers=AUTH)
    assert incident.get_json()["team"] == "checkout"


def test_invalid_rules_refuse_to_start(settings, redis_client, tmp_path) -> None:
    shutil.copy(BAD_RULE, tmp_path / "rules.yml")
    with pytest.raises(RulesError) as raised:
        create_app(settings.with_changes(rules_dir=tmp_path), connection=redis_client)
    assert "rules.yml:" in str(raised.value)


def test_reload_with_invalid_rules_keeps_the_rules_in_force(
    settings, redis_client, tmp_path
) -> None:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    app = create_app(settings.with_changes(rules_dir=tmp_path / "rules"), connection=redis_client)
    klaxon = app.extensions["klaxon"]
    before = klaxon.ruleset
    (tmp_path / "rules" / "broken.yml").write_text(BAD_RULE.read_text())
    problems = klaxon.reload_rules()
    assert problems and klaxon.ruleset is before
    (tmp_path / "rules" / "broken.yml").unlink()
    assert klaxon.reload_rules() == [] and klaxon.ruleset is not before


def test_release_fails_on_a_bad_rules_file(tmp_path, monkeypatch) -> None:
    shutil.copy(BAD_RULE, tmp_path / "rules.yml")
    monkeypatch.setenv("KLAXON_RULES_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["release"])
    assert result.exit_code == 1
    assert f"{tmp_path}/rules.yml:" in result.output


def test_release_passes_with_the_example_rules(monkeypatch) -> None:
    monkeypatch.setenv("KLAXON_RULES_DIR", str(ROOT / "rules"))
    result = CliRunner().invoke(main, ["release"])
    assert result.exit_code == 0, result.output
    assert "rules: ok" in result.output


def _broken_templates(tmp_path: Path) -> Path:
    broken = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", broken)
    target = broken / "pagerduty" / "declared.summary.txt.j2"
    target.write_text("{{ incident.title }\n")  # unclosed expression
    return broken


def test_release_fails_on_a_broken_template(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KLAXON_RULES_DIR", str(ROOT / "rules"))
    monkeypatch.setenv("KLAXON_TEMPLATES_DIR", str(_broken_templates(tmp_path)))
    result = CliRunner().invoke(main, ["release"])
    assert result.exit_code == 1
    assert "pagerduty/declared.summary.txt.j2" in result.output


def test_rules_check_lints_templates_too(tmp_path) -> None:
    broken = _broken_templates(tmp_path)
    result = CliRunner().invoke(
        main, ["rules", "check", str(ROOT / "rules"), "--templates", str(broken)]
    )
    assert result.exit_code == 1
    assert "declared.summary.txt.j2" in result.output
    ok = CliRunner().invoke(
        main, ["rules", "check", str(ROOT / "rules"), "--templates", str(ROOT / "templates")]
    )
    assert ok.exit_code == 0, ok.output


def test_without_group_wait_responders_are_told_at_once(
    settings, redis_client, clock, tmp_path
) -> None:
    from app.notifications import notify_job_id
    from workers.queues import queues

    (tmp_path / "rules.yml").write_text(
        "teams:\n  sre: {description: Everyone}\n"
        "defaults: {team: sre, severity: SEV2, group_by: [], group_wait: 0s}\n"
    )
    app = create_app(
        settings.with_changes(rules_dir=tmp_path), connection=redis_client, clock=clock
    )
    incident = post(app.test_client(), load_fixture("datadog", "triggered")).get_json()["incident"]
    assert notify_job_id(incident, "declared", "") in queues(redis_client)[0].get_job_ids()
    kinds = [e["kind"] for e in app.extensions["klaxon"].incidents.timeline(incident)]
    assert kinds == ["opened", "alert_received", "declared"]


def _send_real(client, clock, source: str, name: str) -> dict:
    """A delivery written by another project (tests/data/webhooks_real/README.md)."""
    sample = {"alertmanager": "firing", "datadog": "triggered", "opsgenie": "create"}[source]
    body = (ROOT / "tests" / "data" / "webhooks_real" / source / f"{name}.json").read_bytes()
    response = post(client, load_fixture(source, sample), body=body)
    clock.advance(60)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_alerts_without_a_service_never_share_or_mute_across_vendors(example_client, clock) -> None:
    """No catch-all incident keyed `service=|environment=`, and an open SEV2 without a service
    does not inhibit an unrelated SEV3 from another vendor (issue 13)."""
    prometheus = _send_real(example_client, clock, "alertmanager", "zulip_alert")
    datadog = _send_real(example_client, clock, "datadog", "relay_event_fired")
    temperature = [a["incident"] for a in prometheus["alerts"]]
    assert [a["outcome"] for a in prometheus["alerts"]] == ["new", "new"]
    assert temperature[0] != temperature[1]  # two alerts, neither has a service: two incidents
    assert datadog["outcome"] == "new", datadog  # a SEV3 under an open SEV2: not inhibited
    assert datadog["incident"] not in temperature
    incident = example_client.get(f"/api/incidents/{temperature[0]}", headers=AUTH).get_json()
    assert not [e for e in incident["timeline"] if e["kind"] == "suppressed"]


@pytest.mark.parametrize("spelling", ["search", "Search", "search-api", "Search API"])
def test_a_manual_declaration_gets_the_services_team(example_client, spelling) -> None:
    """`service: search` by hand is search's incident, not platform's (issue 13): the catalog
    (rules/services.yml) names the service and its team."""
    answer = example_client.post(
        "/api/incidents",
        json={"title": "search returns nothing", "severity": "SEV2", "service": spelling},
        headers=AUTH,
    )
    assert answer.status_code == 201, answer.get_json()
    incident = example_client.get(
        f"/api/incidents/{answer.get_json()['incident']}", headers=AUTH
    ).get_json()
    assert (incident["team"], incident["service"]) == ("search", "search-api")


def test_every_spelling_of_a_service_routes_and_groups_as_one(settings, redis_client, clock):
    """Alerts naming one catalog service in different spellings get the same service, route
    and group key."""
    from app.models import Alert, Lifecycle, SourceName
    from app.ruleset import classify, load_ruleset

    ruleset = load_ruleset(ROOT / "rules")
    decisions = [
        classify(
            Alert(
                source=source,
                lifecycle=Lifecycle.TRIGGER,
                identity="x",
                delivery_id="d",
                event_type="t",
                service=spelling,
                environment="prod",
            ),
            ruleset,
            0,
        )
        for source, spelling in [
            (SourceName.DATADOG, "search-api"),
            (SourceName.PAGERDUTY, "Search API"),
            (SourceName.OPSGENIE, "search"),
        ]
    ]
    assert {d.labels["service"] for d in decisions} == {"search-api"}
    assert {(d.team, d.group_key) for d in decisions} == {
        ("search", "team=search|service=search-api")
    }
