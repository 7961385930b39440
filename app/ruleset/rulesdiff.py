"""What a rules change does: every replayed alert classified under the base and the head rule
set at the same instant, and the fields of its verdict that differ. No IO; `now` is passed in.

A route that only moved (same route decides, same verdict, another file:line) is not a
changed decision: adding a route near the top of a file moves every route below it, and
listing each alert those routes decide would hide the alerts whose decision did change.
Moves are kept apart and reported per route."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.ruleset.corpus import Replay
from app.ruleset.model import RuleSet
from app.ruleset.verdict import FIELDS, Verdict, verdict


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class AlertDiff:
    replay: Replay
    at: float  # the instant both rule sets were asked at
    route: str  # the route that decides under the head rules
    changes: tuple[Change, ...]  # fields whose value differs, in FIELDS order
    moved: Change | None  # the deciding route's file:line, when the same route moved

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(change.field for change in self.changes)


@dataclass(frozen=True, slots=True)
class Move:
    """One route that decides the same alerts from another file:line."""

    route: str
    before: str
    after: str
    alerts: int


@dataclass(frozen=True, slots=True)
class RulesDiff:
    base_version: str
    head_version: str
    at: float  # the instant given (rule tests keep their own)
    alerts: int  # how many were replayed
    changed: tuple[AlertDiff, ...]  # alerts whose decision differs, grouped by what changed
    moves: tuple[Move, ...]  # routes that only moved, and how many unchanged alerts each decides

    def counts(self) -> list[tuple[str, int]]:
        """How many changed alerts each field changed for, in FIELDS order."""
        found = [(name, sum(name in d.fields for d in self.changed)) for name in FIELDS]
        return [(name, count) for name, count in found if count]


def diff_rules(replays: Sequence[Replay], base: RuleSet, head: RuleSet, now: float) -> RulesDiff:
    """Classify every replay under `base` and `head` at the replay's instant (`now` unless it
    brings its own) and keep the alerts whose verdict differs."""
    diffs = [
        _diff(replay, base, head, now if replay.at is None else replay.at) for replay in replays
    ]
    changed = [d for d in diffs if d.changes]
    return RulesDiff(
        str(base.version),
        str(head.version),
        now,
        len(replays),
        _grouped(changed),
        _moves(d for d in diffs if not d.changes),
    )


def _diff(replay: Replay, base: RuleSet, head: RuleSet, at: float) -> AlertDiff:
    before = _verdict(replay, base, at)
    after = _verdict(replay, head, at)
    changes = tuple(
        Change(name, before.show(name), after.show(name))
        for name in FIELDS
        if before.values[name] != after.values[name]
    )
    moved = (
        Change("route location", before.route_location, after.route_location)
        if before.values["route"] == after.values["route"]
        and before.route_location != after.route_location
        else None
    )
    return AlertDiff(replay, at, after.values["route"], changes, moved)


def _verdict(replay: Replay, ruleset: RuleSet, at: float) -> Verdict:
    return verdict(replay.alert, ruleset, at, replay.open_incidents, replay.state_changes)


def _grouped(changed: list[AlertDiff]) -> tuple[AlertDiff, ...]:
    """Alerts with the same changed fields next to each other, groups in order of first
    appearance, replay order inside a group."""
    order: dict[tuple[str, ...], int] = {}
    for diff in changed:
        order.setdefault(diff.fields, len(order))
    return tuple(sorted(changed, key=lambda d: order[d.fields]))


def _moves(unchanged: Iterable[AlertDiff]) -> tuple[Move, ...]:
    counted: dict[tuple[str, str, str], int] = {}
    for diff in unchanged:
        if diff.moved:
            key = (diff.route, diff.moved.before, diff.moved.after)
            counted[key] = counted.get(key, 0) + 1
    moves = [Move(route, before, after, n) for (route, before, after), n in counted.items()]
    return tuple(sorted(moves, key=lambda m: _file_line(m.after)))


def _file_line(location: str) -> tuple[str, int]:
    file, _, line = location.rpartition(":")
    return file, int(line)
