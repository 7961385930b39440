"""Phase one of loading: does each rules file have the right shape?

Every problem is reported and the offending value is pruned (a list item becomes None, a
mapping key is dropped), so phase two can still run on what is left and report its problems
too. A small walker over the subset of JSON Schema used by app/ruleset/schema.py (type, properties,
additionalProperties, propertyNames, required, enum, pattern, items, minimum). It exists,
rather than a generic validator, to word each problem for a person reading a pull request:
unknown keys get "did you mean", bad values get the list of valid ones."""

from __future__ import annotations

import re
from typing import Any

from app.ruleset.problems import Problem, did_you_mean, format_path, one_of
from app.ruleset.schema import Schema
from app.ruleset.yamlsource import Path, SourceFile

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def check_shape(source: SourceFile, schema: Schema) -> list[Problem]:
    """Every shape problem in one parsed file."""
    if source.data is None:
        return []
    problems: list[Problem] = []
    if not _walk(source, source.data, schema, (), problems):
        source.data = None
    return problems


def _walk(
    source: SourceFile, value: Any, schema: Schema, path: Path, problems: list[Problem]
) -> bool:
    """False when `value` is unusable and must be pruned; problems say why."""
    kind = _json_type(value)
    allowed = schema.get("type")
    allowed = [allowed] if isinstance(allowed, str) else allowed
    if allowed and not _type_ok(kind, allowed):
        wanted = " or ".join(_TYPE_NAMES[t] for t in allowed)
        _report(source, path, problems, f"expected {wanted}, got {_TYPE_NAMES[kind]}")
        return False
    if kind == "object":
        return _walk_object(source, value, schema, path, problems)
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            if not _walk(source, item, schema["items"], path + (index,), problems):
                value[index] = None  # keep later indexes, and so their positions, stable
        return True
    return _check_scalar(source, value, schema, path, problems)


def _walk_object(
    source: SourceFile, value: dict[str, Any], schema: Schema, path: Path, problems: list[Problem]
) -> bool:
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in list(value.items()):
        if key in properties:
            ok = _walk(source, item, properties[key], path + (key,), problems)
        elif extra is False:
            ok = _unknown_key(source, key, list(properties), path, problems)
        elif isinstance(extra, dict):
            ok = _check_name(
                source, key, schema.get("propertyNames", {}), path, problems
            ) and _walk(source, item, extra, path + (key,), problems)
        else:
            ok = True
        if not ok:
            del value[key]
    missing = [key for key in schema.get("required", ()) if key not in value]
    for key in missing:
        _report(source, path, problems, f"missing required key '{key}'")
    return not missing


def _unknown_key(
    source: SourceFile, key: str, known: list[str], path: Path, problems: list[Problem]
) -> bool:
    line, col = source.at(path + (key,), key=True)
    problems.append(
        Problem(
            source.name,
            line,
            col,
            format_path(path + (key,)),
            f"unknown key '{key}'",
            one_of(known),
            did_you_mean(key, known),
        )
    )
    return False


def _check_name(
    source: SourceFile, key: str, schema: Schema, path: Path, problems: list[Problem]
) -> bool:
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, key):
        line, col = source.at(path + (key,), key=True)
        problems.append(
            Problem(
                source.name,
                line,
                col,
                format_path(path + (key,)),
                f"'{key}' is not a valid name",
                f"a name matching {pattern}",
            )
        )
        return False
    return True


def _check_scalar(
    source: SourceFile, value: Any, schema: Schema, path: Path, problems: list[Problem]
) -> bool:
    if "enum" in schema and value not in schema["enum"]:
        choices = [str(c) for c in schema["enum"]]
        _report(
            source,
            path,
            problems,
            f"'{value}' is not valid",
            one_of(choices),
            did_you_mean(str(value), choices),
        )
    elif "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        expected = schema.get("description") or f"a string matching {schema['pattern']}"
        _report(source, path, problems, f"'{value}' is not valid", expected)
    elif "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
        _report(source, path, problems, f"{value} is too small", f"at least {schema['minimum']}")
    else:
        return True
    return False


def _report(
    source: SourceFile,
    path: Path,
    problems: list[Problem],
    message: str,
    expected: str = "",
    hint: str = "",
) -> None:
    line, col = source.at(path)
    problems.append(Problem(source.name, line, col, format_path(path), message, expected, hint))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


def _type_ok(kind: str, allowed: list[str]) -> bool:
    return kind in allowed or (kind == "integer" and "number" in allowed)
