"""The incident page's header: what a responder needs at a glance during an outage (who leads,
who was paged and whether they answered, where escalation stands, when the next status
update is due). Pure: built from the incident hash, its timeline and the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.cadence import awaiting_first_post, next_update_due
from app.ruleset import RuleSet

PAGING_CHANNELS = frozenset({"pagerduty", "opsgenie"})


@dataclass(frozen=True, slots=True)
class Paged:
    at: float
    text: str  # "pagerduty trigger for declared (outbox)", "escalated to team:sre (level 1)"


@dataclass(frozen=True, slots=True)
class Header:
    open_for: float  # seconds since it opened (or how long it lasted, once resolved)
    pages: tuple[Paged, ...]  # oldest first
    acknowledged_by: str
    acknowledged_at: float | None
    escalation_level: int
    next_escalation_at: float | None
    next_update_due: float | None
    now: float
    postmortem_status: str = ""  # "" until it is resolved: draft, in_review, published ...
    postmortem_due_at: float | None = None
    first_post: bool = False  # the due time is the first public post's deadline

    @property
    def update_overdue(self) -> bool:
        return self.next_update_due is not None and self.next_update_due <= self.now

    @property
    def update_due_in(self) -> float:
        return abs((self.next_update_due or self.now) - self.now)


def header(
    incident: dict[str, Any],
    timeline: list[dict[str, Any]],
    ruleset: RuleSet | None,
    next_escalation_at: float | None,
    now: float,
    postmortem_due_at: float | None = None,
) -> Header:
    created = float(incident.get("created_at") or now)
    ended = float(incident["resolved_at"]) if incident.get("resolved_at") else now
    pages = tuple(
        Paged(e["at"], e.get("text", ""))
        for e in timeline
        if (e["kind"] == "notified" and e["data"].get("channel") in PAGING_CHANNELS)
        or e["kind"] == "escalated"
    )
    acknowledged = incident.get("acknowledged_at")
    return Header(
        open_for=ended - created,
        pages=pages,
        acknowledged_by=incident.get("acknowledged_by") or "",
        acknowledged_at=float(acknowledged) if acknowledged else None,
        escalation_level=int(incident.get("escalation_level") or 0),
        next_escalation_at=None if acknowledged else next_escalation_at,
        next_update_due=next_update_due(incident, ruleset),
        now=now,
        postmortem_status=(incident.get("postmortem_status") or "draft")
        if incident.get("resolved_at")
        else "",
        postmortem_due_at=postmortem_due_at,
        first_post=awaiting_first_post(incident, ruleset),
    )
