"""Stories (issue 13): realistic multi-vendor streams of deliveries, each event a real sender's
payload edited in a few named fields, with the real outages they describe and what responders
and customers should see of each (tests/data/stories/*.yml, their README). Loading only; the
replay is the test's (over HTTP, with workers) or `klaxon rules diff`'s (in process)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NOISE = "noise"  # an event that belongs to no outage: it must never be muted or page
# Whose headers (and credentials) each source's deliveries carry: a hand-written sample's,
# under tests/data/webhooks/ (the stories directory's sibling).
SAMPLE = {
    "alertmanager": "firing",
    "datadog": "triggered",
    "grafana": "firing",
    "opsgenie": "create",
    "pagerduty": "incident_triggered",
    "sentry": "event_alert_triggered",
}


@dataclass(frozen=True, slots=True)
class Outage:
    name: str
    description: str
    paged: bool  # someone must be paged (False: it was over before anyone needed to know)
    public: int  # status-page incidents it should open (0 or 1)


@dataclass(frozen=True, slots=True)
class StoryEvent:
    at: float  # seconds after the story's start
    source: str
    outage: str  # an Outage name, or NOISE
    body: bytes
    payload: str  # the file it was built from, for messages
    headers: dict[str, str]  # the source's sample's (what the parser reads from headers)
    suppressed: bool = False  # muted on purpose (an inhibit rule); else never


@dataclass(frozen=True, slots=True)
class Story:
    name: str
    title: str
    starts_at: float
    runs_for: float
    outages: dict[str, Outage]
    events: tuple[StoryEvent, ...]  # in time order


def load_story(path: Path) -> Story:
    """A story file; payload paths are relative to the stories directory's parent."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    root = path.parent.parent
    outages = {
        name: Outage(name, str(o.get("description", "")), bool(o["paged"]), int(o["public"]))
        for name, o in data["outages"].items()
    }
    events = [_event(e, root) for e in data["events"]]
    for event in events:
        if event.outage != NOISE and event.outage not in outages:
            raise ValueError(f"{path}: event at {event.at} names unknown outage {event.outage!r}")
    starts = _epoch(str(data["starts_at"]))
    return Story(
        path.stem,
        str(data["title"]),
        starts,
        float(data.get("runs_for", 3600)),
        outages,
        tuple(sorted(events, key=lambda e: e.at)),
    )


def load_stories(directory: Path) -> list[Story]:
    return [load_story(p) for p in sorted(directory.glob("*.yml"))]


def _event(data: dict[str, Any], root: Path) -> StoryEvent:
    body = json.loads((root / data["payload"]).read_text(encoding="utf-8"))
    if "only_alerts" in data:
        body["alerts"] = [body["alerts"][i] for i in data["only_alerts"]]
    for path, value in (data.get("set") or {}).items():
        _set(body, str(path).split("."), value)
    source = str(data["source"])
    return StoryEvent(
        float(data["at"]),
        source,
        str(data["outage"]),
        json.dumps(body, ensure_ascii=False).encode(),
        str(data["payload"]),
        json.loads((root / "webhooks" / source / f"{SAMPLE[source]}.headers.json").read_text()),
        bool(data.get("suppressed", False)),
    )


def _set(node: Any, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = path[-1]
    if isinstance(node, list):
        node[int(last)] = copy.deepcopy(value)
    else:
        node[last] = copy.deepcopy(value)


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the receiver answered for one story event: each alert's outcome and incident."""

    event: StoryEvent
    outcomes: tuple[tuple[str, str | None], ...]  # (outcome, incident id or None) per alert


@dataclass(frozen=True, slots=True)
class Score:
    """The counts a story is judged on (issue 13); `problems` says which event or outage."""

    incidents_per_outage: dict[
        str, int
    ]  # top-level incidents (a merged child counts as its parent)
    public_per_outage: dict[str, int]
    wrongly_suppressed: int
    pages_missed: int
    pages_for_resolved: int
    problems: tuple[str, ...]

    @property
    def perfect(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        outages = len(self.incidents_per_outage)
        one = sum(1 for n in self.incidents_per_outage.values() if n == 1)
        return (
            f"{one}/{outages} outages in one incident, "
            f"public incidents {sum(self.public_per_outage.values())}, "
            f"wrongly suppressed {self.wrongly_suppressed}, pages missed {self.pages_missed}, "
            f"pages for resolved problems {self.pages_for_resolved}"
        )


def score(
    story: Story,
    delivered: list[Delivered],
    parent_of: dict[str, str],
    paged: set[str],
    public: set[str],
) -> Score:
    """Judge a replay: parent_of maps a merged child to its parent; paged and public are the
    incidents that paged someone and that opened a status-page incident."""
    incidents: dict[str, set[str]] = {name: set() for name in story.outages}
    problems: list[str] = []
    wrongly_suppressed = 0
    for d in delivered:
        for outcome, incident in d.outcomes:
            if outcome == "suppressed" and not d.event.suppressed:
                wrongly_suppressed += 1
                problems.append(f"{d.event.source} event at +{d.event.at:.0f}s was suppressed")
            if incident and d.event.outage in incidents:
                incidents[d.event.outage].add(incident)
    tops = {name: {parent_of.get(i, i) for i in ids} for name, ids in incidents.items()}
    family = {name: ids | tops[name] for name, ids in incidents.items()}
    publics = {name: len(ids & public) for name, ids in family.items()}
    missed = resolved_paged = 0
    for name, outage in story.outages.items():
        if len(tops[name]) != 1:
            problems.append(
                f"{name}: {len(tops[name])} incidents ({', '.join(sorted(tops[name]))})"
            )
        if publics[name] != outage.public:
            problems.append(f"{name}: {publics[name]} public incidents, expected {outage.public}")
        was_paged = bool(family[name] & paged)
        if outage.paged and not was_paged:
            missed += 1
            problems.append(f"{name}: nobody was paged")
        if not outage.paged and was_paged:
            resolved_paged += 1
            problems.append(f"{name}: paged although it was over before it was declared")
    return Score(
        {name: len(ids) for name, ids in tops.items()},
        publics,
        wrongly_suppressed,
        missed,
        resolved_paged,
        tuple(problems),
    )
