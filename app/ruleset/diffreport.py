"""`klaxon rules diff` as text: an aligned table per changed alert for a terminal, or Markdown
for a pull-request comment or a GitHub job summary. Pure functions from a RulesDiff to a
string.

Everything an alert or a rules file supplies (titles, services, keys, test names) goes into
Markdown as a code span, so a title can neither break the table nor format, link or mention
anything on the page it lands on."""

from __future__ import annotations

from app.ruleset.rulesdiff import AlertDiff, Change, RulesDiff
from app.ruleset.verdict import iso

TITLE_MAX = 100  # characters of an alert title shown


def text_report(diff: RulesDiff, base_dir: str, head_dir: str) -> str:
    lines = [
        f"rules diff: {base_dir} ({diff.base_version}) -> {head_dir} "
        f"({diff.head_version}) at {iso(diff.at)}; rule tests at their own time",
        _summary(diff),
    ]
    lines += [
        f"route '{m.route}' moved {m.before} -> {m.after} ({_alerts(m.alerts)}, same decision)"
        for m in diff.moves
    ]
    for item in diff.changed:
        lines += [
            "",
            f"{item.replay.alert.source}  {_title(item)}  "
            f"(service {item.replay.alert.service or '-'})",
            f"  from {item.replay.origin} at {iso(item.at)}",
        ]
        lines += _table(_rows(item))
    return "\n".join(lines) + "\n"


def markdown_report(diff: RulesDiff, base_dir: str, head_dir: str) -> str:
    heading = (
        f"### Rules diff: {len(diff.changed)} of {_alerts(diff.alerts)} change"
        if diff.changed
        else "### Rules diff: no decision changed"
    )
    lines = [
        heading,
        "",
        f"{_alerts(diff.alerts)} replayed under {_code(base_dir)} "
        f"({_code(diff.base_version)}) and {_code(head_dir)} "
        f"({_code(diff.head_version)}) at {iso(diff.at)}; rule tests at their own time.",
    ]
    if diff.changed:
        lines += ["", "| what changed | alerts |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in diff.counts()]
    if diff.moves:
        moved = sum(m.alerts for m in diff.moves)
        lines += [
            "",
            f"<details><summary>{_routes(len(diff.moves))} moved, the decision on "
            f"{_alerts(moved)} unchanged</summary>",
            "",
        ]
        lines += [
            f"- route {_code(m.route)}: {_code(m.before)} → {_code(m.after)} ({_alerts(m.alerts)})"
            for m in diff.moves
        ]
        lines += ["", "</details>"]
    for number, item in enumerate(diff.changed, 1):
        alert = item.replay.alert
        lines += [
            "",
            f"#### {number}. {_code(alert.source)} · {_code(_title(item))} · service "
            f"{_code(alert.service or '-')}",
            "",
            f"From {_code(item.replay.origin)} at {iso(item.at)}.",
            "",
            "| field | before | after |",
            "|---|---|---|",
        ]
        lines += [f"| {c.field} | {_cell(c.before)} | {_cell(c.after)} |" for c in _rows(item)]
    return "\n".join(lines) + "\n"


def skipped_text(base_dir: str, problems: list[str]) -> str:
    return (
        f"rules diff skipped: the base rules {base_dir} do not load, so there is nothing "
        f"to compare with ({_problems(problems)}):\n"
        + "".join(f"  {line}\n" for p in problems for line in p.splitlines())
    )


def skipped_markdown(base_dir: str, problems: list[str]) -> str:
    body = "\n".join(problems).replace("```", "'''")
    return (
        f"### Rules diff: skipped\n\nThe base rules {_code(base_dir)} do not load, so "
        f"there is nothing to compare with ({_problems(problems)}):\n\n"
        f"```text\n{body}\n```\n"
    )


def _summary(diff: RulesDiff) -> str:
    if not diff.changed:
        return f"{_alerts(diff.alerts)}, no decision changed"
    counts = ", ".join(f"{name} {count}" for name, count in diff.counts())
    return f"{_alerts(diff.alerts)}, {len(diff.changed)} changed: {counts}"


def _rows(item: AlertDiff) -> list[Change]:
    # A changed alert whose route also moved says so, beside the fields that changed.
    return list(item.changes) + ([item.moved] if item.moved else [])


def _table(rows: list[Change]) -> list[str]:
    header = Change("field", "before", "after")
    width_field = max(len(r.field) for r in [header, *rows])
    width_before = max(len(r.before) for r in [header, *rows])
    return [
        f"  {r.field:<{width_field}}  {r.before:<{width_before}}  {r.after}".rstrip()
        for r in [header, *rows]
    ]


def _title(item: AlertDiff) -> str:
    title = " ".join(item.replay.alert.title.split()) or "(no title)"
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def _alerts(count: int) -> str:
    return f"{count} alert{'s' if count != 1 else ''}"


def _routes(count: int) -> str:
    return f"{count} route{'s' if count != 1 else ''}"


def _problems(problems: list[str]) -> str:
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def _code(text: str) -> str:
    """`text` as a Markdown code span, fenced with more backticks than it holds."""
    text = " ".join(text.split())
    if not text:
        return "-"
    fence = "`" * (_longest_backtick_run(text) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _cell(text: str) -> str:
    # GitHub splits table cells at every unescaped pipe, inside code spans too.
    return _code(text).replace("|", "\\|")


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest
