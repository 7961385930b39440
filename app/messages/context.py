"""The one context every message template is rendered from (Alertmanager's template.Data and
NotifyReason): plain data, built from Redis by the job that sends, never from request state."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MessageEvent(StrEnum):
    """Why a message is being sent: the lifecycle moment it reports."""

    DECLARED = "declared"  # an incident was opened (after group_wait)
    SEVERITY_RAISED = "severity_raised"
    UPDATE_POSTED = "update_posted"  # the incident commander posted a status update
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"  # nobody acknowledged within the team's ack timeout
    RESOLVED = "resolved"
    REMINDER = "reminder"  # a status update or a post-mortem is overdue


@dataclass(frozen=True)
class NotificationContext:
    """Everything a template may use. Dicts and lists of plain values, so templates stay
    simple and golden files stay stable.

    incident: id, title, severity, status (investigating|identified|monitoring|resolved), team,
              service, environment, created_at, acknowledged_at, resolved_at (epoch seconds or
              None), commander, url, duration_seconds, alert_count
    alerts:   [{id, source, title, service, environment, host, source_severity, status, count,
              links: [{href, text}]}]
    team:     {name, description}
    policy:   {page, statuspage: {impact, component_status}, x_post, update_every_seconds,
              postmortem_due_seconds, next_update_at (epoch seconds or None; may be absent)}
    update:   {status, message, by} for update_posted, else None
    links:    {incident, status_page}
    public:   which internal details a rule allows on public channels (status page, X):
              a set of names among "hosts", "services", "people"; empty by default
    components: the Statuspage component ids the rules map the incident's services to (its
              own and every alert's, not only the alerts listed here); for the Statuspage
              message, not for templates: an id means nothing to a reader
    public_service: the incident's service if rules/ declare it, else ""; public channels
              see it as incident.service (app/messages/render.py)
    changes:  the incident's suspected changes, suspects first and newest first (issue 17):
              [{id, service, app, version, description, who, when, link, rollback, kind,
              seconds_before_onset, during_incident, rank}]; internal channels only
    """

    event: MessageEvent
    reason: str
    incident: dict[str, Any]
    alerts: list[dict[str, Any]]
    team: dict[str, Any]
    policy: dict[str, Any]
    links: dict[str, str]
    now: float
    update: dict[str, Any] | None = None
    public: frozenset[str] = field(default_factory=frozenset)
    components: tuple[str, ...] = ()
    # The incident's service when the rules declare it (statuspage.components), else "": the
    # only service name a public channel may show (an alert's labels are anyone's words).
    public_service: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)

    def suspected_changes(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` newest changes suspected of causing the incident, for a page's
        structured details: a deploy made during the incident is no suspect."""
        return [c for c in self.changes if not c.get("during_incident")][:limit]

    def as_template_vars(self) -> dict[str, Any]:
        return {
            "event": self.event.value,
            "reason": self.reason,
            "incident": self.incident,
            "alerts": self.alerts,
            "team": self.team,
            "policy": self.policy,
            "links": self.links,
            "now": self.now,
            "update": self.update,
            "public": sorted(self.public),
            "changes": self.changes,
        }
