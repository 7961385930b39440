"""Filters the message templates may use. Templates only do `if` and `for`; anything more is a
filter here, with its own unit test (tests/templates/test_filters.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.messages.limits import truncate

# The words the pages and the post-mortem share (wording.py) are filters as they are.
from app.messages.wording import (
    duration,
    impact_effect,
    impact_noun,
    impact_title,
    status_word,
    utc,
)

__all__ = ["FILTERS", "count", "truncate_words"]


def truncate_words(text: str, length: int) -> str:
    """At most `length` characters, cut at a word with an ellipsis."""
    return truncate(" ".join(str(text).split()), length)


def count(number: int, noun: str) -> str:
    """ "1 alert", "3 alerts"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


FILTERS: dict[str, Callable[..., Any]] = {
    "duration": duration,
    "utc": utc,
    "truncate_words": truncate_words,
    "count": count,
    "impact_title": impact_title,
    "impact_noun": impact_noun,
    "impact_effect": impact_effect,
    "status_word": status_word,
}
