"""Scheduled maintenance as customers see it: the maintenance windows in rules/ (silences of
kind `maintenance`, one-off or weekly) and the one `klaxon maintenance` has switched on, each
with the public components it affects. Pure: `now` is passed in.

What is public follows the status page's rules (app/pages/status.py): a window names only
components rules/ declare (statuspage.components); a rules window that touches no declared
service is internal upkeep and is not shown; its comment is guarded like any public text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.messages.public_guard import Known
from app.ruleset import RuleSet
from app.ruleset.model import Silence
from app.ruleset.timewindows import WeeklyWindow
from app.ruleset.vocabulary import SilenceKind
from app.store.maintenance import Maintenance

COMPLETED_SHOWN_SECONDS = 14 * 24 * 3600  # like the incident history
UPCOMING_WEEKS = 1  # a weekly window shows its current or next occurrence only
Guard = Callable[[str, Known], str]


@dataclass(frozen=True, slots=True)
class ScheduledWindow:
    id: str
    name: str
    body: str
    components: tuple[str, ...]  # public component names; () = may affect everything
    scheduled_for: float
    scheduled_until: float | None  # None: until someone switches it off
    created_at: float

    def status(self, now: float) -> str:
        """Statuspage's maintenance vocabulary: scheduled, in_progress, completed."""
        if now < self.scheduled_for:
            return "scheduled"
        if self.scheduled_until is None or now < self.scheduled_until:
            return "in_progress"
        return "completed"


def scheduled_windows(
    ruleset: RuleSet,
    current: Maintenance | None,
    now: float,
    component_of: dict[str, str],
    guard: Guard,
) -> tuple[ScheduledWindow, ...]:
    """Every public maintenance window that is upcoming, in progress or ended in the last 14
    days, soonest first. `component_of` maps each declared service to its public component
    name; `guard(text, known)` makes free text public."""
    found = [w for s in ruleset.silences for w in _from_rules(s, now, component_of, guard)]
    if current is not None:
        components = tuple(sorted({component_of[s] for s in current.services if s in component_of}))
        known = Known(people=tuple({current.by} - {"", "API"}))
        found.append(
            ScheduledWindow(
                id=f"maintenance-{int(current.started_at)}",
                name=_name(components),
                body=guard(current.reason, known),
                components=components,
                scheduled_for=current.started_at,
                scheduled_until=current.until,
                created_at=current.started_at,
            )
        )
    return tuple(sorted(found, key=lambda w: (w.scheduled_for, w.id)))


def _from_rules(
    silence: Silence, now: float, component_of: dict[str, str], guard: Guard
) -> Iterator[ScheduledWindow]:
    if silence.kind is not SilenceKind.MAINTENANCE:
        return
    services = [s for s in component_of if all(m.matches({"service": s}) for m in silence.matchers)]
    if not services or any(m.field != "service" for m in silence.matchers):
        return  # not about a declared service, or narrower than whole services
    components = tuple(sorted({component_of[s] for s in services}))
    known = Known(people=tuple({silence.created_by} - {""}))
    for start, end in _occurrences(silence, now):
        if end is not None and end < now - COMPLETED_SHOWN_SECONDS:
            continue
        yield ScheduledWindow(
            # Opaque: a rule's name is written for the team, not for customers.
            id=f"{hashlib.sha256(silence.name.encode()).hexdigest()[:12]}-{int(start)}",
            name=_name(components),
            body=guard(silence.comment, known) if silence.comment else "",
            components=components,
            scheduled_for=start,
            scheduled_until=end,
            created_at=start,
        )


def _occurrences(silence: Silence, now: float) -> Iterator[tuple[float, float | None]]:
    if silence.recurring is None:
        if silence.starts_at is not None:
            yield silence.starts_at, silence.ends_at
        return
    for start, end in _weekly(silence.recurring, now):
        if silence.starts_at is not None and end <= silence.starts_at:
            continue
        if silence.ends_at is not None and start >= silence.ends_at:
            return
        yield start, end
        return  # the current or next occurrence only


def _weekly(window: WeeklyWindow, now: float) -> Iterator[tuple[float, float]]:
    """Occurrences that have not ended by `now`, in order, for the next week."""
    zone = ZoneInfo(window.timezone)
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(-1, 7 * UPCOMING_WEEKS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        start = midnight + timedelta(minutes=window.start_minute)
        end_day = midnight + timedelta(days=1 if window.end_minute <= window.start_minute else 0)
        end = end_day + timedelta(minutes=window.end_minute)
        if end.timestamp() > now:
            yield start.timestamp(), end.timestamp()


def _name(components: tuple[str, ...]) -> str:
    return (
        f"Scheduled maintenance: {', '.join(components)}"
        if components
        else ("Scheduled maintenance")
    )
