"""Read one rules file into plain values plus the line and column of every key and value.

PyYAML's compose() keeps a start mark on every node; we walk the node tree once and construct
the values ourselves, so any later problem can point at `file:line:col`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.ruleset.problems import Problem, format_path

Path = tuple[str | int, ...]
Position = tuple[int, int]


# libyaml parses ~10x faster (10,000 routes: seconds, not a minute) and keeps the same marks.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The base is chosen at import time (above), which mypy cannot follow as a class.
class _RulesLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """SafeLoader without YAML 1.1's surprises for rules: `17:30` stays a string (not the
    base-60 integer 1050) and timestamps stay strings, so times are parsed in one place."""


_RulesLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]+([eE][-+]?[0-9]+)?$")
for _first in "-+0123456789":
    _RulesLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, [_first])
for _first in "-+.0123456789":
    _RulesLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, [_first])


@dataclass(slots=True)
class SourceFile:
    """One parsed rules file: its data and where each path starts."""

    name: str
    data: Any = None
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def at(self, path: Path, key: bool = False) -> Position:
        """The position of `path` (its key when asked), else of its nearest known parent."""
        if key and path in self.keys:
            return self.keys[path]
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, (1, 1))


def read_source(name: str, text: str) -> tuple[SourceFile, list[Problem]]:
    """Parse YAML text; syntax errors and duplicate keys come back as problems."""
    source = SourceFile(name)
    loader = _RulesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return source, []
        problems: list[Problem] = []
        source.data = _construct(loader, node, (), source, problems)
        return source, problems
    except yaml.MarkedYAMLError as error:
        return source, [_syntax_problem(name, error)]
    finally:
        loader.dispose()


def _syntax_problem(name: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.problem and error.context and error.context_mark:
        message += (
            f" ({error.context} at line {error.context_mark.line + 1}, column "
            f"{error.context_mark.column + 1})"
        )
    return Problem(name, line, col, "", message)


def _construct(
    loader: _RulesLoader, node: yaml.Node, path: Path, source: SourceFile, problems: list[Problem]
) -> Any:
    source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        return _construct_mapping(loader, node, path, source, problems)
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, path + (i,), source, problems)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _construct_mapping(
    loader: _RulesLoader,
    node: yaml.MappingNode,
    path: Path,
    source: SourceFile,
    problems: list[Problem],
) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = key if isinstance(key, str) else str(key)
        here = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        if key in result:
            # PyYAML silently keeps the last value; a reviewer would never notice.
            problems.append(
                Problem(source.name, *here, format_path(path + (key,)), f"duplicate key '{key}'")
            )
        source.keys[path + (key,)] = here
        result[key] = _construct(loader, value_node, path + (key,), source, problems)
    return result
