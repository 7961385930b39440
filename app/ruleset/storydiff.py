"""`klaxon rules diff --stories`: each story (tests/data/stories) replayed under the base and
the head rules (app/ruleset/storymodel.py), and the counts it is judged on side by side, so a
rules pull request shows whether grouping, inhibition and paging got better or worse."""

from __future__ import annotations

import json
from pathlib import Path

from app.models import Alert
from app.ruleset.model import RuleSet
from app.ruleset.stories import Score, Story, load_stories
from app.ruleset.storymodel import replay_story

COLUMNS = (
    ("outages in one incident", lambda s: f"{_one(s)}/{len(s.incidents_per_outage)}"),
    ("public incidents", lambda s: str(sum(s.public_per_outage.values()))),
    ("alerts wrongly suppressed", lambda s: str(s.wrongly_suppressed)),
    ("pages missed", lambda s: str(s.pages_missed)),
    ("pages for resolved problems", lambda s: str(s.pages_for_resolved)),
)


def _one(result: Score) -> int:
    return sum(1 for n in result.incidents_per_outage.values() if n == 1)


def parsed_alerts(story: Story) -> dict[int, list[Alert]]:
    """Each event's alerts, read by its source's real parser (signatures are not checked)."""
    from app.settings import Settings
    from app.sources import build_sources  # the web side; only needed when parsing payloads

    parsers = build_sources(Settings(insecure_dev=True))
    return {
        i: parsers[e.source].parse(e.headers, json.loads(e.body), e.body).alerts
        for i, e in enumerate(story.events)
    }


def compare(directory: Path, base: RuleSet, head: RuleSet) -> list[tuple[Story, Score, Score]]:
    result = []
    for story in load_stories(directory):
        alerts = parsed_alerts(story)
        result.append((story, replay_story(story, base, alerts), replay_story(story, head, alerts)))
    return result


def verdict(base: Score, head: Score) -> str:
    if len(head.problems) < len(base.problems):
        return "better"
    if len(head.problems) > len(base.problems):
        return "worse"
    return "same" if head.problems == base.problems else "different"


def text(directory: Path, compared: list[tuple[Story, Score, Score]]) -> str:
    lines = [f"stories ({directory}): base -> head"]
    for story, base, head in compared:
        lines.append(f"  {story.name}: {verdict(base, head)}")
        for name, value in COLUMNS:
            lines.append(f"    {name:<28} {value(base):>5} -> {value(head)}")
        lines += [f"    head: {problem}" for problem in head.problems]
    return "\n".join(lines) + "\n"


def markdown(directory: Path, compared: list[tuple[Story, Score, Score]]) -> str:
    lines = [f"\n### Stories ({directory})\n"]
    for story, base, head in compared:
        lines += [
            f"**{story.name}**: {verdict(base, head)}\n",
            "| count | base | head |",
            "|---|---|---|",
            *(f"| {name} | {value(base)} | {value(head)} |" for name, value in COLUMNS),
            "",
            *(f"- head: {problem}" for problem in head.problems),
        ]
    return "\n".join(lines) + "\n"
