from __future__ import annotations

from pathlib import Path

import pytest

from app.models import Severity
from app.ruleset import classify, explain, load_ruleset
from app.ruleset.ruletests import parse_payload

from .helpers import alert, at, rules

MONDAY_NOON = at("2026-03-16T12:00:00+01:00")

BASE = """
teams:
  checkout: {}
  search: {}
  platform: {}
"""


def test_first_match_wins(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - {name: checkout, match: {service: checkout-api}, team: checkout}
  - {name: also-checkout, match: {service: checkout-api}, team: search}
  - {name: catch-all, team: platform}
""",
    )
    decision = classify(alert(service="checkout-api"), ruleset, MONDAY_NOON)
    assert (decision.team, decision.rule, decision.matched_rules) == (
        "checkout",
        "checkout",
        ("checkout",),
    )
    assert decision.rule_location == f"{tmp_path}/rules.yml:8"
    assert classify(alert(service="other"), ruleset, MONDAY_NOON).rule == "catch-all"


def test_continue_layers_settings_later_routes_override(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - name: prod
    match: {environment: prod}
    group_by: [team]
    group_wait: 2m
    severity: SEV2
    continue: true
  - {name: checkout, match: {service: checkout-api}, team: checkout, group_wait: 10s}
  - {name: catch-all, team: platform}
""",
    )
    decision = classify(alert(service="checkout-api", environment="prod"), ruleset, 0)
    assert decision.matched_rules == ("prod", "checkout")
    assert (decision.team, decision.group_wait_s, decision.group_key) == (
        "checkout",
        10,
        "team=checkout",
    )
    assert decision.severity is Severity.SEV2  # set by the continued route, not overridden


def test_severity_from_source_map_route_map_and_fixed(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
severity_maps:
  sentry:
    - field: source_severity
      map: {error: SEV3, fatal: SEV1}
routes:
  - name: checkout-sentry
    match: {source: sentry, service: checkout-api}
    team: checkout
    severity_map: [{field: source_severity, map: {error: SEV2}}]
  - {name: search-fixed, match: {service: search-api}, team: search, severity: SEV4}
  - {name: catch-all, team: platform}
""",
    )

    def severity(**fields: str) -> tuple[Severity, str]:
        decision = classify(alert("sentry", **fields), ruleset, 0)
        return decision.severity, decision.reason

    assert severity(service="checkout-api", source_severity="error")[0] is Severity.SEV2
    # the route map has no 'fatal': the source map still applies
    assert severity(service="checkout-api", source_severity="fatal")[0] is Severity.SEV1
    assert severity(service="search-api", source_severity="fatal")[0] is Severity.SEV4
    assert severity(service="x", source_severity="error")[0] is Severity.SEV3
    sev, reason = severity(service="x", source_severity="weird")
    assert (sev, reason.split(": ", 1)[1]) == (
        Severity.SEV3,
        "SEV3 (default severity), team platform; page",
    )


def test_built_in_maps_cover_every_source(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, BASE + "routes:\n  - {name: catch-all, team: platform}\n")
    cases = [
        ("datadog", {"source_severity": "P1"}, Severity.SEV1),
        ("opsgenie", {"source_severity": "P4"}, Severity.SEV4),
        ("pagerduty", {"tags": {"priority": "P2", "urgency": "low"}}, Severity.SEV2),
        ("pagerduty", {"tags": {"urgency": "low"}}, Severity.SEV4),
        ("sentry", {"source_severity": "fatal"}, Severity.SEV1),
        ("sentry", {"source_severity": "warning"}, Severity.SEV4),
        ("alertmanager", {"source_severity": "critical"}, Severity.SEV2),
        ("grafana", {"source_severity": "info"}, Severity.SEV4),
    ]
    for source, fields, expected in cases:
        assert classify(alert(source, **fields), ruleset, 0).severity is expected, source


def test_dedup_key_template_and_fallback_to_identity(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - name: monitors
    match: {source: datadog}
    team: checkout
    dedup_key: "{{ source }}:{{ tags.monitor_id }}:{{ team }}"
  - {name: catch-all, team: platform}
""",
    )
    with_tag = alert(tags={"monitor_id": "184663201"}, identity="184663201|host:web-03")
    assert classify(with_tag, ruleset, 0).dedup_key == "datadog:184663201:checkout"
    # a missing tag would merge unrelated alerts: fall back to the source identity
    assert classify(alert(identity="abc"), ruleset, 0).dedup_key == "datadog:abc"
    assert classify(alert("sentry", identity="issue:1"), ruleset, 0).dedup_key == "sentry:issue:1"


def test_decision_records_rule_version_and_reason(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, BASE + "routes:\n  - {name: catch-all, team: platform}\n")
    decision = classify(alert(source_severity="P1", service="api"), ruleset, MONDAY_NOON)
    assert decision.rules_version == str(ruleset.version)
    assert len(ruleset.version.content_hash) == 12
    assert decision.reason == (
        f"route 'catch-all' ({tmp_path}/rules.yml:7): SEV1 "
        "(source_severity=P1 via datadog severity map), team platform; "
        "page"
    )
    assert decision.policy.x_post and decision.policy.postmortem_due_s == 48 * 3600
    assert decision.labels["severity"] == "SEV1" and decision.labels["team"] == "platform"


def test_ignore_route(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - {name: staging, match: {environment: staging}, team: platform, ignore: true}
  - {name: catch-all, team: platform}
""",
    )
    decision = classify(alert(environment="staging", source_severity="P1"), ruleset, 0)
    assert decision.ignored and not decision.page


def test_version_changes_with_content(tmp_path: Path) -> None:
    first = rules(tmp_path, BASE + "routes:\n  - {name: catch-all, team: platform}\n")
    second = rules(tmp_path, BASE + "routes:\n  - {name: catch-all, team: search}\n")
    assert first.version.content_hash != second.version.content_hash
    assert first.version.git_commit == ""  # tmp_path is not a repository


def test_git_commit_is_recorded_when_rules_are_in_a_repo() -> None:
    ruleset = load_ruleset("rules")
    assert len(ruleset.version.git_commit) == 40
    assert str(ruleset.version).endswith("@" + ruleset.version.git_commit[:12])


def test_times_stay_strings_not_base_60(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        """
teams:
  t:
    business_hours: {timezone: UTC, start: 09:00, end: 17:30}
routes:
  - {name: catch-all, team: t}
""",
    )
    hours = ruleset.teams["t"].business_hours
    assert hours is not None and (hours.start_minute, hours.end_minute) == (540, 1050)


def _fixture_alerts() -> list[tuple[str, object]]:
    found = []
    for path in sorted(Path("tests/data/webhooks").glob("*/*.json")):
        if not path.name.endswith(".headers.json"):
            found += [
                (f"{path.parent.name}/{path.name}", a)
                for a in parse_payload(path.parent.name, path)
            ]
    return found


@pytest.mark.parametrize(("name", "fixture_alert"), _fixture_alerts())
def test_explain_reaches_the_same_decision_as_classify(name: str, fixture_alert: object) -> None:
    ruleset = load_ruleset("rules")
    explanation = explain(fixture_alert, ruleset, MONDAY_NOON)  # type: ignore[arg-type]
    assert explanation.decision == classify(fixture_alert, ruleset, MONDAY_NOON)  # type: ignore[arg-type]


def test_explain_says_why_each_route_did_not_match(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - {name: search, match: {service: {regex: "^search-"}}, team: search}
  - {name: prod, match: {environment: prod}, continue: true, group_wait: 1m}
  - {name: checkout, matchers: ["service = checkout-api"], team: checkout}
  - {name: catch-all, team: platform}
""",
    )
    lines = explain(
        alert(service="checkout-api", environment="prod", source_severity="P3"),
        ruleset,
        MONDAY_NOON,
    ).lines
    file = f"{tmp_path}/rules.yml"
    assert list(lines[:4]) == [
        f"  x route 'search' ({file}:8): no match, wanted service regex '^search-', "
        "alert has 'checkout-api'",
        f"  + route 'prod' ({file}:9): matched (environment equals 'prod'); continue",
        f"  + route 'checkout' ({file}:10): matched (service equals 'checkout-api'); stop",
        f"  - route 'catch-all' ({file}:11): not tried, 'checkout' stopped the walk",
    ]
    assert lines[4] == (
        f"decision: route 'checkout' ({file}:10): SEV3 (source_severity=P3 via "
        "datadog severity map), team checkout; page"
    )
    assert (
        "  group key team=checkout|service=checkout-api (window 3600s, "
        "wait 60s, resolve quiet 300s)" in lines
    )


def test_indexed_classification_equals_linear_scan(tmp_path: Path) -> None:
    routes = "\n".join(
        f"  - {{name: r{i}, match: {{service: svc-{i % 40}, environment: "
        f"{['prod', 'staging'][i % 2]}}}, team: {['checkout', 'search'][i % 3 % 2]}}}"
        + (", continue: true, group_wait: 1m}" if i % 7 == 0 else "")
        for i in range(200)
    )
    routes = routes.replace("}, continue", ", continue").replace("1m}}", "1m}")
    ruleset = rules(
        tmp_path, BASE + "routes:\n" + routes + "\n  - {name: catch-all, team: platform}\n"
    )
    for i in range(80):
        probe = alert(service=f"svc-{i % 45}", environment=["prod", "staging"][i % 2])
        assert classify(probe, ruleset, 0) == explain(probe, ruleset, 0).decision


GROUPING = (
    BASE
    + """
defaults:
  group_by: [team, service, environment]
routes:
  - {name: opt-in, match: {tags.shared: "yes"}, team: platform, group_by_empty: true}
  - {name: catch-all, team: platform}
"""
)


def test_an_empty_group_label_groups_an_alert_only_with_itself(tmp_path: Path) -> None:
    """No catch-all incident: alerts without a service from different vendors (or different
    alerts of one vendor) get different group keys; the same alert keeps its own."""
    ruleset = rules(tmp_path, GROUPING)
    datadog = classify(alert("datadog", identity="title:Disk full|"), ruleset, 0)
    opsgenie = classify(alert("opsgenie", identity="og-1"), ruleset, 0)
    again = classify(alert("datadog", identity="title:Disk full|"), ruleset, 0)
    assert datadog.group_key == "team=platform|service=|environment=|alert=datadog:title:Disk full|"
    assert opsgenie.group_key != datadog.group_key == again.group_key
    full = classify(alert(service="search-api", environment="prod"), ruleset, 0)
    assert full.group_key == "team=platform|service=search-api|environment=prod"


def test_a_route_can_opt_in_to_grouping_on_empty_labels(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, GROUPING)
    one = classify(alert("datadog", identity="a", tags={"shared": "yes"}), ruleset, 0)
    two = classify(alert("opsgenie", identity="b", tags={"shared": "yes"}), ruleset, 0)
    assert one.group_key == two.group_key == "team=platform|service=|environment="


def test_declare_resolved_is_a_route_setting(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - {name: always-page, match: {service: payments-api}, team: platform, declare_resolved: true}
  - {name: catch-all, team: platform}
""",
    )
    assert classify(alert(service="payments-api"), ruleset, 0).declare_resolved
    assert not classify(alert(service="other"), ruleset, 0).declare_resolved


def test_a_spelling_claimed_by_two_services_is_reported(tmp_path: Path) -> None:
    from app.errors import RulesError

    with pytest.raises(RulesError) as raised:
        rules(
            tmp_path,
            BASE
            + """
routes:
  - {name: catch-all, team: platform}
services:
  checkout-api: {team: checkout, aliases: [checkout]}
  checkout-web: {team: checkout, aliases: ["Checkout"]}
""",
        )
    [problem] = raised.value.problems
    assert "'Checkout' names both service 'checkout-api' and 'checkout-web'" in problem
    assert "rules.yml:11" in problem


def test_explain_shows_the_catalog_name_of_a_service(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """
routes:
  - {name: search, match: {service: search-api}, team: search}
  - {name: catch-all, team: platform}
services:
  search-api: {team: search, aliases: [search]}
""",
    )
    explanation = explain(alert(service="Search"), ruleset, MONDAY_NOON)
    assert explanation.lines[0] == (
        "service 'Search' is 'search-api' in the catalog ('Search' is a spelling of it)"
    )
    assert explanation.decision.team == "search"
    assert explain(alert(service="search-api"), ruleset, MONDAY_NOON).lines[0] == (
        "service 'search-api' is 'search-api' in the catalog (its name)"
    )
