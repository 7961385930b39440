"""Matchers over an alert's labels, compiled once, and the index that keeps classification
cost flat as rules grow. No IO here.

Labels are the alert's non-empty fields plus `tags.<name>` (app/ruleset/labels.py); a matcher
reads one label and never the Alert itself, so inhibition can test open incidents the same way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.ruleset.vocabulary import Op

Labels = Mapping[str, str]
Test = Callable[[str | None], bool]
# `service = x`, `title =~ "a|b"`, `tags.p99_ms > 2000`: Alertmanager's matcher strings plus
# the numeric comparisons it lacks.
_MATCHER_STRING = re.compile(
    r"^\s*(?P<field>[^\s=!~<>]+)\s*(?P<op>=~|!~|!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*$"
)
_STRING_OPS = {
    "=": Op.EQUALS,
    "!=": Op.NOT_EQUALS,
    "=~": Op.REGEX,
    "!~": Op.NOT_REGEX,
    ">": Op.GT,
    ">=": Op.GTE,
    "<": Op.LT,
    "<=": Op.LTE,
}


class MatcherError(ValueError):
    """A matcher that cannot be compiled; the message says why."""


@dataclass(frozen=True, slots=True)
class Matcher:
    field: str
    op: Op
    value: Any  # as written: a scalar, a list of scalars, a pattern string or a bool
    test: Test = dataclasses.field(compare=False, repr=False)

    def matches(self, labels: Labels) -> bool:
        return self.test(labels.get(self.field))

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


def compile_matcher(field_name: str, op: Op, value: Any) -> Matcher:
    """A Matcher with its test built once (regex compiled here, never per alert).

    Raises:
        MatcherError: an invalid regex or a non-numeric comparison value.
    """
    return Matcher(field_name, op, value, _build_test(op, value))


def _build_test(op: Op, value: Any) -> Test:
    if op in (Op.REGEX, Op.NOT_REGEX):
        return _regex_test(str(value), negate=op is Op.NOT_REGEX)
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
        return _numeric_test(op, value)
    if op is Op.EXISTS:
        return (lambda got: got is not None) if value else (lambda got: got is None)
    if op in (Op.ANY_OF, Op.NONE_OF):
        choices = frozenset(_text(v) for v in value)
        return (lambda got: got in choices) if op is Op.ANY_OF else (lambda got: got not in choices)
    wanted = _text(value)
    return (lambda got: got == wanted) if op is Op.EQUALS else (lambda got: got != wanted)


def _regex_test(pattern: str, negate: bool) -> Test:
    try:
        search = re.compile(pattern).search
    except re.error as error:
        raise MatcherError(f"invalid regex {pattern!r}: {error}") from None
    if negate:
        return lambda got: search(got or "") is None
    return lambda got: search(got or "") is not None


def _numeric_test(op: Op, value: Any) -> Test:
    try:
        bound = float(value)
    except (TypeError, ValueError):
        raise MatcherError(f"'{value}' is not a number") from None
    compare: Callable[[float], bool] = {
        Op.GT: lambda x: x > bound,
        Op.GTE: lambda x: x >= bound,
        Op.LT: lambda x: x < bound,
        Op.LTE: lambda x: x <= bound,
    }[op]

    def test(got: str | None) -> bool:
        try:
            return got is not None and compare(float(got))
        except ValueError:  # a label that is not a number never compares
            return False

    return test


def _text(value: Any) -> str:
    """Labels are strings; YAML `true` and `2` are compared as "true" and "2"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_matcher_string(text: str) -> tuple[str, Op, str]:
    """('service', Op.EQUALS, 'checkout-api') from 'service = checkout-api'.

    Raises:
        MatcherError: text that is not `field op value`.
    """
    found = _MATCHER_STRING.match(text)
    if not found:
        raise MatcherError(f"cannot read matcher {text!r}")
    value = found["value"]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return found["field"], _STRING_OPS[found["op"]], value


def matchers_from_mapping(name: str, spec: Any) -> list[tuple[str, Op, Any]]:
    """The (field, op, value) triples a `match:` entry stands for: a scalar is equality, a
    list is any-of, a mapping names operators."""
    if isinstance(spec, list):
        return [(name, Op.ANY_OF, spec)]
    if isinstance(spec, dict):
        return [(name, Op(op), value) for op, value in spec.items()]
    return [(name, Op.EQUALS, spec)]


def all_match(matchers: Iterable[Matcher], labels: Labels) -> bool:
    for matcher in matchers:  # a plain loop: this is the innermost step of classify
        if not matcher.test(labels.get(matcher.field)):
            return False
    return True


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """Rule positions by (field, value) of one equality matcher each rule requires, plus the
    rules that have none. Only rules that could match are evaluated, so cost follows the number
    of candidates, not the number of rules."""

    by_field: Mapping[str, Mapping[str, tuple[int, ...]]]
    unindexed: tuple[int, ...]

    def candidates(self, labels: Labels) -> list[int]:
        """Positions of rules that might match, in rule order."""
        found = list(self.unindexed)
        for name, table in self.by_field.items():
            value = labels.get(name)
            if value is not None and value in table:
                found.extend(table[value])
        found.sort()
        return found


def build_index(rule_matchers: Iterable[tuple[Matcher, ...]]) -> RuleIndex:
    """Index each rule (given as its matchers, in rule order) by its first equality test."""
    by_field: dict[str, dict[str, list[int]]] = {}
    unindexed: list[int] = []
    for position, matchers in enumerate(rule_matchers):
        key = next((m for m in matchers if m.op in (Op.EQUALS, Op.ANY_OF)), None)
        if key is None:
            unindexed.append(position)
            continue
        values = key.value if key.op is Op.ANY_OF else [key.value]
        table = by_field.setdefault(key.field, {})
        for value in {_text(v) for v in values}:
            table.setdefault(value, []).append(position)
    frozen = {f: {v: tuple(p) for v, p in t.items()} for f, t in by_field.items()}
    return RuleIndex(frozen, tuple(unindexed))
