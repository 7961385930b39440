"""Weekly windows in a time zone (business hours, recurring maintenance) and durations.
No IO here; `now` is always passed in, in seconds since the epoch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.ruleset.vocabulary import WEEKDAYS

_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Whole seconds in an Alertmanager-style duration such as "1h30m" (shape-checked)."""
    return int(sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text)))


def parse_clock(text: str) -> int:
    """Minutes since midnight in "HH:MM"; "24:00" is the end of the day."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_weekdays(items: list[str]) -> frozenset[int]:
    """Weekday numbers (Monday 0) from names and Alertmanager-style ranges "monday:friday".

    Raises:
        ValueError: naming the unknown weekday.
    """
    days: set[int] = set()
    for item in items:
        first, _, last = item.lower().partition(":")
        start, end = _weekday(first), _weekday(last or first)
        days.update(
            range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
        )
    return frozenset(days)


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise ValueError(name)
    return WEEKDAYS.index(name)


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Some hours on some weekdays in one time zone; end before start spans midnight."""

    timezone: str
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int

    def contains(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        if self.start_minute <= self.end_minute:
            return (
                local.weekday() in self.weekdays and self.start_minute <= minute < self.end_minute
            )
        if minute >= self.start_minute:
            return local.weekday() in self.weekdays
        # After midnight, the window belongs to the day it started on.
        return minute < self.end_minute and (local - timedelta(days=1)).weekday() in self.weekdays


ALL_WEEK = frozenset(range(7))
