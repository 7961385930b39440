"""Filters the message templates may use. Templates only do `if` and `for`; anything more is a
filter here, with its own unit test (tests/templates/test_filters.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from workers.limits import truncate

# Statuspage component status -> what a customer experiences (public wording).
_IMPACT_TITLE = {"major_outage": "Major outage", "partial_outage": "Partial outage",
                 "degraded_performance": "Degraded performance",
                 "under_maintenance": "Maintenance"}
_IMPACT_NOUN = {"major_outage": "a major outage", "partial_outage": "a partial outage",
                "degraded_performance": "degraded performance",
                "under_maintenance": "planned maintenance"}
_IMPACT_EFFECT = {
    "major_outage": "The service is unavailable for most or all customers.",
    "partial_outage": "Some customers may see errors or failed requests.",
    "degraded_performance": "Some requests are slower than usual.",
    "under_maintenance": "Some features may be briefly unavailable.",
}
_STATUS = {"investigating": "Investigating", "identified": "Identified",
           "monitoring": "Monitoring", "resolved": "Resolved"}


def duration(seconds: float | None) -> str:
    """A short human duration: "45s", "18m", "1h 5m", "2d 3h"; "unknown" for None."""
    if seconds is None:
        return "unknown"
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")] if total >= 60 else [(secs, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0s"


def utc(epoch: float | None, with_date: bool = False) -> str:
    """Time of day in UTC, "09:14 UTC", or "2026-03-14 09:14 UTC" with the date; "unknown"
    for None. Always UTC: responders and customers sit in many time zones."""
    if epoch is None:
        return "unknown"
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_date else "%H:%M UTC")


def truncate_words(text: str, length: int) -> str:
    """At most `length` characters, cut at a word with an ellipsis."""
    return truncate(" ".join(str(text).split()), length)


def count(number: int, noun: str) -> str:
    """"1 alert", "3 alerts"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def impact_title(component_status: str) -> str:
    return _IMPACT_TITLE.get(component_status, "Service issue")


def impact_noun(component_status: str) -> str:
    return _IMPACT_NOUN.get(component_status, "an issue")


def impact_effect(component_status: str) -> str:
    return _IMPACT_EFFECT.get(component_status, "Some customers may be affected.")


def status_word(status: str) -> str:
    return _STATUS.get(status, str(status).capitalize())


FILTERS: dict[str, Callable[..., Any]] = {
    "duration": duration, "utc": utc, "truncate_words": truncate_words, "count": count,
    "impact_title": impact_title, "impact_noun": impact_noun, "impact_effect": impact_effect,
    "status_word": status_word,
}
