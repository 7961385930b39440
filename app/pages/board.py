"""The status page's component list: every public component at its status now, in the groups
rules/ give (statuspage.groups), each with its 90-day uptime (app/pages/uptime.py). Pure; the
HTML page and /api/v2/components.json both group from component_groups()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.messages.public_guard import Known
from app.pages.status import GENERAL, LABEL, ORDER, public_component
from app.pages.uptime import Uptime
from app.ruleset import RuleSet
from app.ruleset.vocabulary import ComponentStatus


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    status: ComponentStatus
    uptime: Uptime | None

    @property
    def label(self) -> str:
        return LABEL[self.status]


@dataclass(frozen=True, slots=True)
class Group:
    name: str  # "" for the components outside every group
    rows: tuple[Row, ...]

    @property
    def status(self) -> ComponentStatus:
        """A group is as bad as its worst component (as on Statuspage)."""
        return min((r.status for r in self.rows), key=ORDER.index)

    @property
    def label(self) -> str:
        return LABEL[self.status]


def component_groups(ruleset: RuleSet) -> dict[str, tuple[str, ...]]:
    """Each group -> its public component names, in the order written; a component two
    services of different groups would show under stays in the first group."""
    placed: set[str] = set()
    groups: dict[str, tuple[str, ...]] = {}
    for group, services in ruleset.statuspage_groups.items():
        names = [public_component(ruleset, s, Known()) for s in services]
        members = tuple(n for n in dict.fromkeys(names) if n != GENERAL and n not in placed)
        placed.update(members)
        if members:
            groups[group] = members
    return groups


def board(
    states: Mapping[str, ComponentStatus],
    groups: Mapping[str, tuple[str, ...]],
    history: Mapping[str, Uptime],
) -> tuple[Group, ...]:
    """The groups with their components, then the components outside every group (sorted)."""
    grouped = {name for members in groups.values() for name in members}

    def row(name: str) -> Row:
        return Row(name, states.get(name, ComponentStatus.OPERATIONAL), history.get(name))

    shown = [Group(group, tuple(row(n) for n in members)) for group, members in groups.items()]
    alone = tuple(row(n) for n in sorted(states) if n not in grouped)
    return (*shown, Group("", alone)) if alone else tuple(shown)
