"""Gather the sections of every rules file into one view, remembering where each entry came
from, so meaning problems can point at the file and line that caused them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.ruleset.problems import Problem, format_path
from app.ruleset.yamlsource import Path, SourceFile

BUILT_IN = SourceFile("<built-in defaults>")
MAPPING_SECTIONS = (
    "environment",
    "severities",
    "severity_maps",
    "teams",
    "defaults",
    "statuspage.components",
    "statuspage.groups",
    "services",
    "slack.severities",
    "slack.teams",
    "slack.users",
    "slack",  # slack's own settings (archive_after), beside its nested sections
    "changes",
)
LIST_SECTIONS = ("routes", "inhibit_rules", "silences")
# Sections whose mappings sit one level down, merged per entry: two files may each map their
# own services to status-page components, and a service mapped twice is the problem (the same
# for slack's severities, teams and users).
NESTED_SECTIONS = ("statuspage", "slack")


@dataclass(frozen=True, slots=True)
class Entry:
    value: Any
    source: SourceFile
    path: Path

    def child(self, key: str | int) -> Entry:
        value = self.value.get(key) if isinstance(key, str) else self.value[key]
        return Entry(value, self.source, self.path + (key,))

    def line(self) -> int:
        return self.source.at(self.path, key=True)[0]


@dataclass(slots=True)
class Sections:
    mappings: dict[str, dict[str, Entry]] = field(
        default_factory=lambda: {name: {} for name in MAPPING_SECTIONS}
    )
    lists: dict[str, list[Entry]] = field(
        default_factory=lambda: {name: [] for name in LIST_SECTIONS}
    )


def gather(sources: list[SourceFile], problems: list[Problem]) -> Sections:
    """Merge the sections of all files; a key defined in two files is a problem."""
    sections = Sections()
    for source in sources:
        data = source.data if isinstance(source.data, dict) else {}
        for name, value in data.items():
            if name in LIST_SECTIONS:
                sections.lists[name] += [
                    Entry(item, source, (name, i))
                    for i, item in enumerate(value)
                    if item is not None
                ]
            elif name in NESTED_SECTIONS:
                for inner, mapping in value.items():
                    if not isinstance(mapping, dict):  # a setting of its own (archive_after)
                        _merge(
                            sections.mappings.setdefault(name, {}),
                            (name,),
                            {inner: mapping},
                            source,
                            problems,
                        )
                        continue
                    _merge(
                        sections.mappings[f"{name}.{inner}"],
                        (name, inner),
                        mapping,
                        source,
                        problems,
                    )
            else:
                _merge(sections.mappings[name], (name,), value, source, problems)
    return sections


def _merge(
    into: dict[str, Entry],
    prefix: Path,
    value: dict[str, Any],
    source: SourceFile,
    problems: list[Problem],
) -> None:
    for key, item in value.items():
        path = prefix + (key,)
        if key in into:
            first = into[key]
            line, col = source.at(path, key=True)
            problems.append(
                Problem(
                    source.name,
                    line,
                    col,
                    format_path(path),
                    f"'{key}' is already defined at {first.source.name}:{first.line()}",
                )
            )
            continue
        into[key] = Entry(item, source, path)
