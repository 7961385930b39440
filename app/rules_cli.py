"""`klaxon rules check|test|explain|diff|sample|schema`: the pull-request workflow for rules/
(our `amtool check-config` and `amtool config routes test`), and what a change does to real
alerts (`diff`, replaying what `sample` exported). Attached to `klaxon` in app/cli.py.

The command line is an edge (files, Redis, the terminal), so it lives beside app/ruleset/, the
pure engine it drives, not inside it: app/ruleset/ imports no Flask, Redis or RQ
(tests/test_layers.py)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import click

from app.errors import CorpusError, PayloadError, RulesError
from app.ruleset.corpus import Replay, from_alerts_file, from_fixtures, from_rule_tests
from app.ruleset.diffreport import markdown_report, skipped_markdown, skipped_text, text_report
from app.ruleset.explain import explain as explain_alert
from app.ruleset.loader import load_ruleset
from app.ruleset.model import RuleSet
from app.ruleset.rulesdiff import diff_rules
from app.ruleset.ruletests import parse_payload, run_tests
from app.ruleset.schema import json_schema
from app.ruleset.vocabulary import SOURCES

DIR_HELP = "rules directory (default: $KLAXON_RULES_DIR or rules/)"


def _default_dir() -> str:
    return os.environ.get("KLAXON_RULES_DIR", "rules")


def _load(directory: str) -> RuleSet:
    try:
        return load_ruleset(directory)
    except RulesError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        count = len(error.problems)
        raise click.ClickException(
            f"{count} problem{'s' if count != 1 else ''} in {directory}"
        ) from None


@click.group()
def rules() -> None:
    """Check, test and explain the incident rules."""


@rules.command()
@click.argument("directory", required=False)
@click.option(
    "--templates",
    "templates_dir",
    default=None,
    help="message templates to render and lint too (default: KLAXON_TEMPLATES_DIR "
    "or templates/ when it exists; '' to skip)",
)
def check(directory: str | None, templates_dir: str | None) -> None:
    """Validate a rules directory (and the templates); print every problem; exit 1 on any."""
    directory = directory or _default_dir()
    ruleset = _load(directory)
    click.echo(
        f"{directory}: ok, {len(ruleset.rules)} routes, {len(ruleset.teams)} teams, "
        f"version {ruleset.version}"
    )
    templates_dir = _templates_dir(templates_dir)
    if templates_dir:
        _check_templates(templates_dir)


def _templates_dir(given: str | None) -> str:
    if given is not None:
        return given
    default = os.environ.get("KLAXON_TEMPLATES_DIR") or "templates"
    return default if Path(default).is_dir() else ""


def _check_templates(templates_dir: str) -> None:
    from app.template_check import check_templates

    problems = check_templates(templates_dir)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {templates_dir}"
        )
    click.echo(f"{templates_dir}: ok, every template renders within its channel's limits")


@rules.command()
@click.argument("directory", required=False)
@click.option("--tests", "tests_dir", help="rule tests directory (default: DIRECTORY/tests)")
def test(directory: str | None, tests_dir: str | None) -> None:
    """Run the rule tests in DIRECTORY/tests/*.yml; exit 1 on any failure."""
    directory = directory or _default_dir()
    ruleset = _load(directory)
    try:
        results = run_tests(Path(tests_dir or Path(directory) / "tests"), ruleset)
    except RulesError as error:
        raise click.ClickException(str(error)) from None
    for result in results:
        if result.passed:
            click.echo(f"PASS {result.name}")
            continue
        click.echo(f"FAIL {result.name} ({result.where})")
        for failure in result.failures:
            click.echo(f"    {failure}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or not results:
        raise SystemExit(1)


@rules.command()
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "-s", required=True, type=click.Choice(SOURCES))
@click.option(
    "--headers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="request headers as JSON (default: PAYLOAD's .headers.json sibling)",
)
@click.option("--dir", "directory", help=DIR_HELP)
@click.option("--at", "at", help="evaluate at this ISO 8601 time (default: now)")
def explain(
    payload: Path, source: str, headers: Path | None, directory: str | None, at: str | None
) -> None:
    """Show each route tried for PAYLOAD, why it matched or not, and the decision."""
    ruleset = _load(directory or _default_dir())
    now = datetime.fromisoformat(at).timestamp() if at else time.time()
    try:
        alerts = parse_payload(source, payload, headers)
    except (PayloadError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{payload}: {error}") from None
    if not alerts:
        click.echo(f"{payload}: no alert in this payload (ignored by the {source} parser)")
    for alert in alerts:
        click.echo(f"alert {alert.source}:{alert.identity} ({alert.lifecycle}) {alert.title!r}")
        for line in explain_alert(alert, ruleset, now).lines:
            click.echo(line)


@rules.command()
@click.argument("base_dir")
@click.argument("head_dir", required=False)
@click.option(
    "--at",
    "at",
    help="classify at this ISO 8601 time with an offset, e.g. "
    "2026-03-14T09:14:00Z (default: now); rule tests keep theirs",
)
@click.option(
    "--alerts",
    "alerts_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON-lines file of normalised alerts (klaxon rules sample); repeatable",
)
@click.option(
    "--tests",
    "tests_dir",
    default=None,
    help="rule tests to replay, with their *.jsonl alert files (default: "
    "HEAD_DIR/tests; '' to skip)",
)
@click.option(
    "--fixtures",
    "fixtures_dir",
    default=None,
    help="webhook fixtures <source>/*.json to replay (default: tests/data/webhooks "
    "when it exists; '' to skip)",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--fail-on-change", is_flag=True, help="exit 1 when any decision changed")
def diff(
    base_dir: str,
    head_dir: str | None,
    at: str | None,
    alerts_files: tuple[Path, ...],
    tests_dir: str | None,
    fixtures_dir: str | None,
    output_format: str,
    fail_on_change: bool,
) -> None:
    """What changing the rules from BASE_DIR to HEAD_DIR (default: $KLAXON_RULES_DIR or
    rules/) does to real alerts: each alert whose decision differs, field by field.

    Exit 0 whether or not anything changed (with --fail-on-change, 1 if something did); a
    HEAD_DIR that does not load fails as `check` does; a BASE_DIR that does not load is
    reported and the diff skipped, exit 0.
    """
    head_dir = head_dir or _default_dir()
    head = _load(head_dir)
    now = _instant(at)
    try:
        replays = _corpus(head_dir, tests_dir, fixtures_dir, alerts_files)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    try:
        base = load_ruleset(base_dir)
    except RulesError as error:
        # Not this change's fault (a first rules directory, a base broken before): say so.
        skipped = skipped_markdown if output_format == "markdown" else skipped_text
        click.echo(skipped(base_dir, error.problems), nl=False)
        return
    result = diff_rules(replays, base, head, now)
    report = markdown_report if output_format == "markdown" else text_report
    click.echo(report(result, base_dir, head_dir), nl=False)
    if fail_on_change and result.changed:
        raise SystemExit(1)


def _instant(at: str | None) -> float:
    if at is None:
        return float(int(time.time()))  # whole seconds: the report prints it
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from None
    if moment.tzinfo is None:
        # The runner's local zone would make the same command differ between machines.
        raise click.BadParameter(
            f"{at!r} has no UTC offset; add one, e.g. {at}Z", param_hint="--at"
        )
    return moment.timestamp()


def _corpus(
    head_dir: str, tests_dir: str | None, fixtures_dir: str | None, alerts_files: tuple[Path, ...]
) -> list[Replay]:
    """Rule tests, fixtures, then alert files: the tests directory's *.jsonl, then --alerts."""
    if tests_dir is None:
        tests: Path | None = Path(head_dir) / "tests"
    else:
        tests = Path(tests_dir) if tests_dir else None
    replays: list[Replay] = []
    files = list(alerts_files)
    if tests is not None and tests.is_dir():
        replays += from_rule_tests(tests)
        files = sorted(tests.glob("*.jsonl")) + files
    elif tests_dir:
        raise CorpusError(f"{tests_dir}: no such rule tests directory")
    fixtures = fixtures_dir if fixtures_dir is not None else "tests/data/webhooks"
    if fixtures and Path(fixtures).is_dir():
        replays += from_fixtures(Path(fixtures))
    elif fixtures_dir:
        raise CorpusError(f"{fixtures_dir}: no such fixtures directory")
    for file in files:
        replays += from_alerts_file(file)
    return replays


@rules.command()
@click.option("--out", "out", required=True, help="JSON-lines file to write ('-': standard output)")
@click.option(
    "--limit",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="how many distinct alerts",
)
def sample(out: str, limit: int) -> None:
    """Export the last LIMIT distinct alerts Klaxon received (each one's latest trigger, from
    the webhook log in Redis at $REDIS_URL, else of the running `klaxon run`) for `klaxon rules diff --alerts`."""
    import redis

    from app.instance_cli import connect_to_instance
    from app.store.webhooklog import recent_alerts

    connection = connect_to_instance()  # REDIS_URL, else the running `klaxon run`
    try:
        alerts = recent_alerts(connection, limit)
    except (redis.RedisError, OSError) as error:
        # Never the URL itself: it carries the password.
        raise click.ClickException(
            f"cannot read the webhook log from Redis: {type(error).__name__}"
        ) from None
    lines = "".join(alert.to_json() + "\n" for alert in alerts)
    if out == "-":
        click.echo(lines, nl=False)
        return
    try:
        Path(out).write_text(lines, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"{out}: {error.strerror or error}") from None
    click.echo(f"{out}: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}")


@rules.command()
def schema() -> None:
    """Print the JSON Schema of a rules file (committed as rules/schema.json)."""
    click.echo(json.dumps(json_schema(), indent=2))
