"""Which Atlassian Statuspage components an incident affects: the ids the rules'
`statuspage.components` map its services to. No IO; callers pass the services."""

from __future__ import annotations

from collections.abc import Iterable

from app.ruleset.model import RuleSet


def affected_components(ruleset: RuleSet, services: Iterable[str | None]) -> tuple[str, ...]:
    """The component ids of these services, each once, in the order the services come; a
    service the rules do not map (or an empty one) adds none."""
    found: dict[str, None] = {}
    for service in services:
        for component in ruleset.statuspage_components.get(service or "", ()):
            found.setdefault(component)
    return tuple(found)
