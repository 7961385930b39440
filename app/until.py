"""`--until` as a person types it: a duration from now (`2h`, `30m`, `1d`, `90s`, `1h30m`) or
an ISO 8601 time with a zone (`2026-12-04T18:00Z`, `2026-12-04T18:00+01:00`). A time without
a zone is refused: the shell's, the laptop's or UTC would each be a guess, and a maintenance
window that ends an hour off suppresses pages it should not."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_PART = re.compile(r"(\d+)([dhms])")
MAX_DURATION = timedelta(days=366)  # a typo such as 30000d would outlive anyone's memory of it


def parse_until(text: str, now: datetime) -> datetime:
    """The end time `text` names, relative to `now` (timezone-aware); ValueError with a
    one-line message a person can act on otherwise."""
    raw = text.strip().lower()
    if _DURATION.fullmatch(raw):
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(raw))
        if seconds == 0:
            raise ValueError(f"{text!r} is no time at all: give a duration such as 2h or 30m")
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"{text!r} is over a year: give a shorter duration")
        return now + timedelta(seconds=seconds)
    try:
        end = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is neither a duration (2h, 30m, 1d, 90s) nor an ISO 8601 time "
            "with a zone (2026-12-04T18:00Z)"
        ) from None
    if end.tzinfo is None:
        raise ValueError(
            f"{text!r} has no time zone: add one (2026-12-04T18:00Z for UTC, or "
            "2026-12-04T18:00+01:00), or give a duration such as 2h"
        )
    if end <= now:
        raise ValueError(f"{text!r} is in the past")
    return end
