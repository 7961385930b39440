"""`klaxon rules diff`: what a rules change does to real alerts, through the CLI, the real
loader and the real source parsers, on copies of the example rules."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from app.ruleset import load_ruleset

from .helpers import alert

AT = "2026-03-16T10:00:00Z"  # a Monday: Berlin business hours, no maintenance window
# Replayed by default: 30 alerts of the rule tests (the Alertmanager payload holds two) and the
# 17 triggers among the webhook fixtures.
CORPUS = 47


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rules", *args])
    return result.exit_code, result.output


def rules_copy(tmp_path: Path, name: str, file: str = "", old: str = "", new: str = "") -> Path:
    """A copy of rules/ (with its tests) in which `old` is replaced by `new` in `file`."""
    copy = tmp_path / name
    shutil.copytree("rules", copy)
    if file:
        path = copy / file
        text = path.read_text()
        assert old in text, f"{old!r} is not in {file}"
        path.write_text(text.replace(old, new, 1))
    return copy


def alerts_file(tmp_path: Path, *alerts) -> Path:
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(a.to_json() + "\n" for a in alerts))
    return path


def version(directory: Path | str) -> str:
    return str(load_ruleset(directory).version)


CHECKOUT = alert(
    "datadog",
    identity="184663201|host:web-03",
    title="[prod] checkout-api p99 latency high",
    service="checkout-api",
    environment="prod",
    host="web-03",
    source_severity="P2",
    tags={"monitor_id": "184663201"},
)
SEARCH = alert(
    "datadog",
    identity="search-1",
    title="search-api p99 above 1.5s",
    service="search-api",
    environment="prod",
    source_severity="P3",
)


def test_unchanged_rules_change_no_decision() -> None:
    code, output = run("diff", "rules", "rules", "--at", AT)
    assert code == 0, output
    assert output == (
        f"rules diff: rules ({version('rules')}) -> rules ({version('rules')}) at "
        f"{AT}; rule tests at their own time\n"
        f"{CORPUS} alerts, no decision changed\n"
    )


def test_a_severity_change_in_one_route_shows_exactly_the_alerts_it_decides(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "    team: search\n    severity: SEV2",
        "    team: search\n    severity: SEV1",
    )
    code, output = run("diff", "rules", str(head), "--at", AT)
    assert code == 0, output
    assert (
        output
        == f"""\
rules diff: rules ({version("rules")}) -> {head} ({version(head)}) at {AT}; rule tests at their own time
{CORPUS} alerts, 1 changed: severity 1, notify 1, statuspage 1, x_post 1, update every 1

datadog  (no title)  (service search-api)
  from rule test 'search p99 above 1.5 s is SEV2 (numeric matcher)' ({head}/tests/search.yml:2) at 2026-03-16T15:00:00Z
  field         before                              after
  severity      SEV2                                SEV1
  notify        pagerduty, statuspage, subscribers  pagerduty, statuspage, x, subscribers
  statuspage    major/partial_outage                critical/major_outage
  x_post        no                                  yes
  update every  1h                                  30m
"""
    )


def test_a_new_silence_shows_what_it_suppresses(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "silences.yml",
        "silences:\n",
        """silences:
  - name: checkout-deploy-freeze
    comment: CHG-2001 database failover rehearsal
    match: {service: checkout-api}
    starts_at: 2026-03-16T09:00:00Z
    ends_at: 2026-03-16T11:00:00Z
""",
    )
    alerts = alerts_file(tmp_path, CHECKOUT, SEARCH)
    code, output = run(
        "diff",
        "rules",
        str(head),
        "--at",
        AT,
        "--alerts",
        str(alerts),
        "--tests",
        "",
        "--fixtures",
        "",
    )
    assert code == 0, output
    assert (
        output.split("\n", 1)[1]
        == f"""\
2 alerts, 1 changed: outcome 1, page now 1, notify 1, suppressed 1

datadog  [prod] checkout-api p99 latency high  (service checkout-api)
  from {alerts}:1 at {AT}
  field       before                              after
  outcome     new                                 suppressed
  page now    yes                                 no
  notify      pagerduty, statuspage, subscribers  none
  suppressed  no                                  silence 'checkout-deploy-freeze' until 2026-03-16T11:00:00Z
"""
    )


def test_an_inhibit_rule_removed_changes_the_rule_test_that_relied_on_it(tmp_path: Path) -> None:
    # Rule tests are replayed in their own scenario: this one has an open SEV1 incident.
    head = rules_copy(
        tmp_path,
        "head",
        "inhibit.yml",
        """  - name: warehouse-down-mutes-exports
    source_match:
      service: warehouse-loader
      severity: SEV1
    target_match:
      service: reporting-export
""",
        "",
    )
    code, output = run("diff", "rules", str(head), "--at", AT, "--fixtures", "")
    assert code == 0, output
    assert (
        output.split("\n", 1)[1]
        == f"""\
30 alerts, 1 changed: outcome 1, page now 1, notify 1, suppressed 1, inhibit target 1

alertmanager  (no title)  (service reporting-export)
  from rule test 'a warehouse outage mutes reporting-export alerts' ({head}/tests/data-pipeline.yml:27) at 2026-03-14T09:14:00Z
  field           before                                       after
  outcome         suppressed                                   new
  page now        no                                           yes
  notify          none                                         opsgenie, statuspage, subscribers
  suppressed      inhibited by 'warehouse-down-mutes-exports'  no
  inhibit target  warehouse-down-mutes-exports                 -
"""
    )


def test_a_route_that_only_moved_is_reported_as_moved_not_as_a_change(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "routes:\n",
        "routes:\n  # Two lines of comment push every route down\n  #\n",
    )
    alerts = alerts_file(tmp_path, CHECKOUT, SEARCH)
    args = (
        "diff",
        "rules",
        str(head),
        "--at",
        AT,
        "--alerts",
        str(alerts),
        "--tests",
        "",
        "--fixtures",
        "",
        "--fail-on-change",
    )
    code, output = run(*args)
    assert code == 0, output  # a move is not a change, even for --fail-on-change
    assert (
        output.split("\n", 1)[1]
        == """\
2 alerts, no decision changed
route 'checkout-datadog' moved routes.yml:46 -> routes.yml:48 (1 alert, same decision)
route 'search' moved routes.yml:85 -> routes.yml:87 (1 alert, same decision)
"""
    )


def test_a_changed_alert_whose_route_also_moved_shows_both(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "  - name: checkout-datadog\n",
        "  # checkout pages everything as SEV1 now\n"
        "  - name: checkout-datadog\n    severity: SEV1\n",
    )
    alerts = alerts_file(tmp_path, CHECKOUT)
    code, output = run(
        "diff",
        "rules",
        str(head),
        "--at",
        AT,
        "--alerts",
        str(alerts),
        "--tests",
        "",
        "--fixtures",
        "",
    )
    assert code == 0, output
    assert (
        output.split("\n", 1)[1]
        == f"""\
1 alert, 1 changed: severity 1, severity reason 1, notify 1, statuspage 1, x_post 1, update every 1

datadog  [prod] checkout-api p99 latency high  (service checkout-api)
  from {alerts}:1 at {AT}
  field            before                                       after
  severity         SEV2                                         SEV1
  severity reason  source_severity=P2 via datadog severity map  fixed by route 'checkout-datadog'
  notify           pagerduty, statuspage, subscribers           pagerduty, statuspage, x, subscribers
  statuspage       major/partial_outage                         critical/major_outage
  x_post           no                                           yes
  update every     1h                                           30m
  route location   routes.yml:46                                routes.yml:47
"""
    )


def test_a_head_that_does_not_load_fails_with_checks_messages(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "    team: search\n    severity: SEV2",
        "    team: serch\n    severty: SEV2",
    )
    code, output = run("diff", "rules", str(head), "--at", AT)
    check_code, check_output = run("check", str(head))
    assert (code, output) == (check_code, check_output)
    assert code == 1
    assert "routes[9].team: team 'serch' is not defined under teams:" in output
    assert output.endswith(f"Error: 2 problems in {head}\n")


def test_a_base_that_does_not_load_is_reported_and_the_diff_skipped(tmp_path: Path) -> None:
    base = rules_copy(tmp_path, "base", "teams.yml", "  search:\n", "  search:\n    pager: x\n")
    code, output = run("diff", str(base), "rules", "--at", AT)
    assert code == 0, output
    assert output == (
        f"rules diff skipped: the base rules {base} do not load, so there is nothing to "
        f"compare with (1 problem):\n"
        f"  {base}/teams.yml:32:5: teams.search.pager: unknown key 'pager'\n"
        f"      expected one of: description, pagerduty, opsgenie, ack_timeout, escalation, "
        f"business_hours\n"
        f"      hint: did you mean 'pagerduty'?\n"
    )


def test_a_first_rules_directory_has_no_base_to_compare_with(tmp_path: Path) -> None:
    code, output = run(
        "diff",
        str(tmp_path / "missing"),
        "rules",
        "--at",
        AT,
        "--format",
        "markdown",
        "--fail-on-change",
    )
    assert code == 0, output
    assert (
        output
        == f"""\
### Rules diff: skipped

The base rules `{tmp_path}/missing` do not load, so there is nothing to compare with (1 problem):

```text
{tmp_path}/missing: no such rules directory or file
```
"""
    )


def test_fail_on_change_exits_1_after_the_report(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "    team: search\n    severity: SEV2",
        "    team: search\n    severity: SEV1",
    )
    code, output = run("diff", "rules", str(head), "--at", AT, "--fail-on-change")
    assert code == 1
    assert f"{CORPUS} alerts, 1 changed: severity 1," in output
    assert run("diff", "rules", "rules", "--at", AT, "--fail-on-change")[0] == 0


def test_markdown_for_a_job_summary(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "routes.yml",
        "    group_by: [team, service]\n",
        "    group_by: [team, service, environment]\n",
    )
    odd = alert(
        "datadog",
        identity="odd",
        title="p99 `latency` | <b>@here</b>",
        service="checkout-api",
        environment="prod",
        source_severity="P3",
    )
    alerts = alerts_file(tmp_path, CHECKOUT, SEARCH, odd)
    code, output = run(
        "diff",
        "rules",
        str(head),
        "--at",
        AT,
        "--alerts",
        str(alerts),
        "--tests",
        "",
        "--fixtures",
        "",
        "--format",
        "markdown",
    )
    assert code == 0, output
    assert (
        output
        == f"""\
### Rules diff: 3 of 3 alerts change

3 alerts replayed under `rules` (`{version("rules")}`) and `{head}` (`{version(head)}`) at {AT}; rule tests at their own time.

| what changed | alerts |
|---|---:|
| group key | 3 |

#### 1. `datadog` · `[prod] checkout-api p99 latency high` · service `checkout-api`

From `{alerts}:1` at {AT}.

| field | before | after |
|---|---|---|
| group key | `team=checkout\\|service=checkout-api` | `team=checkout\\|service=checkout-api\\|environment=prod` |

#### 2. `datadog` · `search-api p99 above 1.5s` · service `search-api`

From `{alerts}:2` at {AT}.

| field | before | after |
|---|---|---|
| group key | `team=search\\|service=search-api` | `team=search\\|service=search-api\\|environment=prod` |

#### 3. `datadog` · ``p99 `latency` | <b>@here</b>`` · service `checkout-api`

From `{alerts}:3` at {AT}.

| field | before | after |
|---|---|---|
| group key | `team=checkout\\|service=checkout-api` | `team=checkout\\|service=checkout-api\\|environment=prod` |
"""
    )


def test_a_line_that_is_not_an_alert_is_an_error(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(CHECKOUT.to_json() + '\n\n{"source": "datadog"\n')
    code, output = run(
        "diff", "rules", "rules", "--alerts", str(alerts), "--tests", "", "--fixtures", ""
    )
    assert code == 1
    assert output == (
        f"Error: {alerts}:3: not a normalised alert (invalid JSON: Expecting ',' "
        f"delimiter at column 21)\n"
    )


def test_at_needs_a_utc_offset() -> None:
    code, output = run("diff", "rules", "rules", "--at", "2026-03-16T10:00:00")
    assert code == 2
    assert "'2026-03-16T10:00:00' has no UTC offset; add one, e.g. 2026-03-16T10:00:00Z" in output


def test_a_sample_committed_beside_the_rule_tests_is_replayed_too(tmp_path: Path) -> None:
    head = rules_copy(
        tmp_path,
        "head",
        "silences.yml",
        "silences:\n",
        """silences:
  - name: checkout-deploy-freeze
    match: {service: checkout-api}
    starts_at: 2026-03-16T09:00:00Z
    ends_at: 2026-03-16T11:00:00Z
""",
    )
    (head / "tests" / "sample.jsonl").write_text(CHECKOUT.to_json() + "\n")
    code, output = run("diff", "rules", str(head), "--at", AT, "--fixtures", "")
    assert code == 0, output
    assert output.splitlines()[1:5] == [
        "31 alerts, 1 changed: outcome 1, page now 1, notify 1, suppressed 1",
        "",
        "datadog  [prod] checkout-api p99 latency high  (service checkout-api)",
        f"  from {head}/tests/sample.jsonl:1 at {AT}",
    ]


def test_stories_show_whether_grouping_got_better_or_worse(tmp_path: Path) -> None:
    """Issue 13: a rules change is judged on the stories too. Dropping checkout's alias
    "checkout" (what Alertmanager calls it) splits the checkout outage in two incidents and
    two status-page incidents; the stories say so, base -> head, in text and Markdown."""
    head = rules_copy(
        tmp_path,
        "head",
        "services.yml",
        'aliases: ["Checkout API", checkout]',
        'aliases: ["Checkout API"]',
    )
    args = ("diff", "rules", str(head), "--at", AT, "--tests", "", "--fixtures", "")
    code, output = run(*args, "--stories", "tests/data/stories")
    assert code == 0, output
    stories = output[output.index("stories (") :]
    assert stories.splitlines()[:7] == [
        "stories (tests/data/stories): base -> head",
        "  monday-payments-and-search: same",  # no checkout alert spelled "checkout" in it
        *(
            f"    {line}"
            for line in (
                "outages in one incident        3/3 -> 3/3",
                "public incidents                 1 -> 1",
                "alerts wrongly suppressed        0 -> 0",
                "pages missed                     0 -> 0",
                "pages for resolved problems      0 -> 0",
            )
        ),
    ]
    stories = "\n".join(stories.splitlines()[7:])
    assert stories.splitlines() == [
        "  saturday-three-outages: worse",
        "    outages in one incident        4/4 -> 3/4",
        "    public incidents                 3 -> 4",
        "    alerts wrongly suppressed        0 -> 0",
        "    pages missed                     0 -> 0",
        "    pages for resolved problems      0 -> 0",
        stories.splitlines()[6],
        "    head: checkout-latency: 2 public incidents, expected 1",
    ]
    assert stories.splitlines()[6].startswith("    head: checkout-latency: 2 incidents (")

    code, same = run("diff", "rules", "rules", "--at", AT, "--stories", "tests/data/stories")
    assert "  saturday-three-outages: same" in same and "head:" not in same
    assert "  monday-payments-and-search: same" in same
    code, markdown = run(*args, "--stories", "tests/data/stories", "--format", "markdown")
    assert "| outages in one incident | 4/4 | 3/4 |" in markdown
    assert "**saturday-three-outages**: worse" in markdown
    # without --stories, nothing about them
    assert "stories (" not in run(*args)[1]
