from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner

from app.cli import main
from app.ruleset.schema import json_schema


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rules", *args])
    return result.exit_code, result.output


def test_check_accepts_the_example_rules() -> None:
    code, output = run("check", "rules")
    assert code == 0, output
    assert output.startswith("rules: ok, 15 routes, 6 teams, version ")


def test_check_prints_every_problem_and_exits_1() -> None:
    code, output = run("check", "tests/data/rules/bad/every_problem_at_once.yml")
    expected = Path("tests/data/rules/bad/every_problem_at_once.txt").read_text()
    assert code == 1
    assert (
        output == expected + "Error: 4 problems in tests/data/rules/bad/every_problem_at_once.yml\n"
    )


def test_rule_tests_of_the_example_rules_pass() -> None:
    code, output = run("test", "rules")
    assert code == 0, output
    assert output.endswith(" passed, 0 failed\n")


def test_a_failing_rule_test_exits_1_with_a_readable_diff(tmp_path: Path) -> None:
    shutil.copytree("rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    (tmp_path / "rules" / "tests").mkdir()
    (tmp_path / "rules" / "tests" / "wrong.yml").write_text("""tests:
  - name: checkout latency is SEV1 (it is not)
    payload: tests/data/webhooks/datadog/triggered.json
    source: datadog
    expect: {severity: SEV1, team: checkout, outcome: new}
""")
    code, output = run("test", str(tmp_path / "rules"))
    assert code == 1
    assert output == (
        f"FAIL checkout latency is SEV1 (it is not) ({tmp_path}/rules/tests/wrong.yml:2)\n"
        "    severity: expected SEV1, got SEV2\n"
        f"    decision: route 'checkout-datadog' ({tmp_path}/rules/routes.yml:46): SEV2 "
        "(source_severity=P2 via datadog severity map), team checkout; page\n"
        "0 passed, 1 failed\n"
    )


def test_explain_shows_routes_and_decision() -> None:
    code, output = run(
        "explain",
        "tests/data/webhooks/sentry/event_alert_triggered.json",
        "--source",
        "sentry",
        "--dir",
        "rules",
        "--at",
        "2026-03-16T10:00:00Z",
    )
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == (
        "alert sentry:issue:5120374913 (trigger) 'TimeoutError: payment-gateway "
        "did not respond within 2000 ms'"
    )
    assert (
        "  + route 'production-grouping' (rules/routes.yml:22): matched (environment any_of "
        "['prod', 'production']); continue" in lines
    )
    assert (
        "decision: route 'checkout-sentry-production' (rules/routes.yml:49): SEV2 "
        "(source_severity=error via route 'checkout-sentry-production' severity_map), team "
        "checkout; page"
    ) in lines
    assert "  statuspage components: ftgks51sfs2d (service 'checkout-api')" in lines


def test_explain_of_an_ignored_payload() -> None:
    code, output = run(
        "explain",
        "tests/data/webhooks/pagerduty/pagey_ping.json",
        "-s",
        "pagerduty",
        "--dir",
        "rules",
    )
    assert code == 0
    assert "no alert in this payload" in output


def test_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(Path("rules/schema.json").read_text())
    assert committed == json_schema()


def test_example_rules_validate_against_the_json_schema() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    for path in sorted(Path("rules").glob("*.yml")):
        # BaseLoader keeps every scalar a string, as our loader does for times and dates,
        # then JSON round-trips numbers and booleans the way editors see them.
        data = yaml.safe_load(path.read_text())
        data = json.loads(json.dumps(data, default=str))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], path
