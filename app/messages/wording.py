"""Words and times people read: durations, UTC times and the public wording of impact and
status. Shared by the pages and the post-mortem draft (app/) and by the message templates
(app/messages/filters.py lists them for the templates), so every channel says the same thing.

Pure: no IO.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Statuspage component status -> what a customer experiences (public wording).
_IMPACT_TITLE = {
    "major_outage": "Major outage",
    "partial_outage": "Partial outage",
    "degraded_performance": "Degraded performance",
    "under_maintenance": "Maintenance",
}
_IMPACT_NOUN = {
    "major_outage": "a major outage",
    "partial_outage": "a partial outage",
    "degraded_performance": "degraded performance",
    "under_maintenance": "planned maintenance",
}
_IMPACT_EFFECT = {
    "major_outage": "The service is unavailable for most or all customers.",
    "partial_outage": "Some customers may see errors or failed requests.",
    "degraded_performance": "Some requests are slower than usual.",
    "under_maintenance": "Some features may be briefly unavailable.",
}
_STATUS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}


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


def iso(epoch: float) -> str:
    """RFC 3339 in UTC ("2026-03-14T09:14:00Z"), as Atom and <time datetime> want it."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def impact_title(component_status: str) -> str:
    return _IMPACT_TITLE.get(component_status, "Service issue")


def impact_noun(component_status: str) -> str:
    return _IMPACT_NOUN.get(component_status, "an issue")


def impact_effect(component_status: str) -> str:
    return _IMPACT_EFFECT.get(component_status, "Some customers may be affected.")


def status_word(status: str) -> str:
    return _STATUS.get(status, str(status).capitalize())
