from __future__ import annotations

import pytest

from app.ruleset.matchers import (
    MatcherError,
    build_index,
    compile_matcher,
    matchers_from_mapping,
    parse_matcher_string,
)
from app.ruleset.vocabulary import Op


@pytest.mark.parametrize(
    ("op", "value", "got", "expected"),
    [
        (Op.EQUALS, "prod", "prod", True),
        (Op.EQUALS, "prod", "staging", False),
        (Op.EQUALS, "prod", None, False),
        (Op.EQUALS, 2, "2", True),  # YAML numbers compare as the label's text
        (Op.EQUALS, True, "true", True),
        (Op.NOT_EQUALS, "staging", "prod", True),
        (Op.NOT_EQUALS, "staging", None, True),  # absent is not equal, as in Alertmanager
        (Op.NOT_EQUALS, "staging", "staging", False),
        (Op.ANY_OF, ["prod", "production"], "production", True),
        (Op.ANY_OF, ["prod", "production"], "staging", False),
        (Op.NONE_OF, ["staging", "dev"], "prod", True),
        (Op.NONE_OF, ["staging", "dev"], "dev", False),
        (Op.REGEX, "^search-", "search-api", True),
        (Op.REGEX, "latency", "p99 latency high", True),  # unanchored: search, not fullmatch
        (Op.REGEX, "^search-", "checkout-api", False),
        (Op.REGEX, "^$", None, True),  # absent reads as the empty string
        (Op.NOT_REGEX, "(?i)disk", "Disk full", False),
        (Op.NOT_REGEX, "(?i)disk", "latency", True),
        (Op.EXISTS, True, "x", True),
        (Op.EXISTS, True, None, False),
        (Op.EXISTS, False, None, True),
        (Op.GT, 1500, "2400", True),
        (Op.GT, 1500, "1500", False),
        (Op.GTE, 1500, "1500", True),
        (Op.LT, 10, "9.5", True),
        (Op.LTE, 10, "10", True),
        (Op.LT, 10, "ten", False),  # a label that is not a number never compares
        (Op.GT, 0, None, False),
    ],
)
def test_each_operator(op: Op, value: object, got: str | None, expected: bool) -> None:
    assert compile_matcher("f", op, value).test(got) is expected


def test_invalid_regex_is_rejected_when_compiled() -> None:
    with pytest.raises(MatcherError, match="invalid regex '\\(oops'"):
        compile_matcher("title", Op.REGEX, "(oops")


def test_non_numeric_comparison_value_is_rejected() -> None:
    with pytest.raises(MatcherError, match="'fast' is not a number"):
        compile_matcher("tags.p99", Op.GT, "fast")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("service = checkout-api", ("service", Op.EQUALS, "checkout-api")),
        ('title =~ "latency|timeout"', ("title", Op.REGEX, "latency|timeout")),
        ("env!=staging", ("env", Op.NOT_EQUALS, "staging")),
        ("tags.queue_depth >= 10000", ("tags.queue_depth", Op.GTE, "10000")),
        ("host !~ 'web-0[12]'", ("host", Op.NOT_REGEX, "web-0[12]")),
        ("tags.p99_ms < 5", ("tags.p99_ms", Op.LT, "5")),
    ],
)
def test_alertmanager_style_matcher_strings(text: str, expected: tuple[str, Op, str]) -> None:
    assert parse_matcher_string(text) == expected


def test_match_mapping_forms() -> None:
    assert matchers_from_mapping("env", "prod") == [("env", Op.EQUALS, "prod")]
    assert matchers_from_mapping("env", ["a", "b"]) == [("env", Op.ANY_OF, ["a", "b"])]
    assert matchers_from_mapping("n", {"gt": 1, "lt": 5}) == [("n", Op.GT, 1), ("n", Op.LT, 5)]


def test_index_returns_only_rules_that_could_match_in_order() -> None:
    rules = [
        (compile_matcher("service", Op.EQUALS, "a"),),
        (compile_matcher("title", Op.REGEX, "x"),),  # no equality: always a candidate
        (compile_matcher("service", Op.ANY_OF, ["b", "a"]),),
        (compile_matcher("service", Op.EQUALS, "c"),),
        (),
    ]
    index = build_index(rules)
    assert index.candidates({"service": "a"}) == [0, 1, 2, 4]
    assert index.candidates({"service": "c"}) == [1, 3, 4]
    assert index.candidates({}) == [1, 4]
