"""PagerDuty V3 webhook subscriptions (reference/webhooks.md §1).

Signed: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of the raw body with the
subscription secret used as-is (it looks like base64 but is not decoded); several signatures
arrive while a secret is rotated.

A delivery is named by the signed `event.id`, never by the unsigned `X-Webhook-Id` header: a
captured `incident.triggered` sent again with a new header is still the same event. PagerDuty
signs no send time, so `event.occurred_at` (signed) orders one incident's events and ages
them out past the redelivery window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.models import Alert, Lifecycle, SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._fields import MAX_TEXT_CHARS, MAX_TITLE_CHARS, Fields, body_digest, link
from app.sources._signing import require_configured, verify_hmac

SIGNATURE_HEADER = "X-PagerDuty-Signature"

EVENT_LIFECYCLES = {
    "incident.triggered": Lifecycle.TRIGGER,
    "incident.reopened": Lifecycle.TRIGGER,
    "incident.acknowledged": Lifecycle.ACKNOWLEDGE,
    "incident.unacknowledged": Lifecycle.UNACKNOWLEDGE,
    "incident.escalated": Lifecycle.ESCALATE,
    "incident.delegated": Lifecycle.ESCALATE,
    "incident.reassigned": Lifecycle.ESCALATE,
    "incident.priority_updated": Lifecycle.ESCALATE,
    "incident.responder.added": Lifecycle.ESCALATE,
    "incident.annotated": Lifecycle.NOTE,
    "incident.status_update_published": Lifecycle.NOTE,
    "incident.responder.replied": Lifecycle.NOTE,
    "incident.resolved": Lifecycle.RESOLVE,
}
# Everything else (service.*, incident.workflow.*, tasks, custom fields, early-access types)
# is informational. PagerDuty counts any 4xx as a permanent failure towards auto-disabling the
# subscription, so unknown types are answered 202 `ignored`, never 400.
TEST_EVENTS = {"pagey.ping"}


class PagerDutySource:
    name: ClassVar[SourceName] = SourceName.PAGERDUTY
    delivery_identity: ClassVar[str] = "event.id in the signed body (X-Webhook-Id is unsigned)"

    def __init__(self, secrets: tuple[str, ...], insecure_dev: bool = False) -> None:
        self._secrets = secrets
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        if not require_configured(
            self.name, "PAGERDUTY_WEBHOOK_SECRET", bool(self._secrets), self._insecure_dev
        ):
            return
        provided = [
            part.strip()[3:]
            for part in headers.get(SIGNATURE_HEADER, "").split(",")
            if part.strip().startswith("v1=")
        ]
        verify_hmac(self.name, SIGNATURE_HEADER, provided, self._secrets, body)

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        fields = Fields(self.name, payload)
        event_type = fields.word("event.event_type")
        # Every V3 event has an id; the body digest only names one that lacks it.
        delivery_id = fields.ident("event.id", required=False) or body_digest(body)
        if event_type in TEST_EVENTS:
            return Parsed(event_type, delivery_id, ignored_reason="test event")
        lifecycle = EVENT_LIFECYCLES.get(event_type)
        if lifecycle is None:
            return Parsed(event_type, delivery_id, ignored_reason=f"{event_type} is informational")
        alert = _alert(fields, event_type, lifecycle, delivery_id)
        return Parsed(event_type, delivery_id, alerts=[alert], event_at=alert.occurred_at)

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        return None  # PagerDuty sends no send time; event.occurred_at (signed) is used instead


def _alert(fields: Fields, event_type: str, lifecycle: Lifecycle, delivery_id: str) -> Alert:
    data = fields.obj("event.data")
    nested = data.get("type") != "incident"
    # PagerDuty's own guidance: data.id for incidents, data.incident.id for notes and the like.
    base = "event.data.incident" if nested else "event.data"
    incident_id = fields.ident(f"{base}.id")
    title_path = f"{base}.summary" if nested else "event.data.title"
    priority = "" if nested else fields.text("event.data.priority.summary", default="")
    urgency = "" if nested else fields.text("event.data.urgency", default="")
    tags = {
        k: v
        for k, v in {
            "urgency": urgency,
            "priority": priority,
            "pagerduty_service": "" if nested else fields.text("event.data.service.summary"),
            "escalation_policy": ""
            if nested
            else fields.text("event.data.escalation_policy.summary"),
            "pagerduty_status": "" if nested else fields.text("event.data.status"),
        }.items()
        if v
    }
    teams = [] if nested else fields.items("event.data.teams")
    team_names = [t.get("summary") for t in teams if isinstance(t, dict)]
    if team_names and isinstance(team_names[0], str):
        tags["pagerduty_team"] = team_names[0][:512]
    details: dict[str, Any] = {"event_id": fields.ident("event.id", required=False)}
    merged_into = _merged_into(fields) if lifecycle is Lifecycle.RESOLVE and not nested else ""
    if merged_into:
        details["merged_into"] = merged_into
    return Alert(
        source=SourceName.PAGERDUTY,
        lifecycle=lifecycle,
        identity=incident_id,
        delivery_id=delivery_id,
        event_type=event_type,
        title=fields.text(title_path, MAX_TITLE_CHARS),
        description=fields.text("event.data.content", MAX_TEXT_CHARS)
        or fields.text("event.data.message", MAX_TEXT_CHARS),
        service=tags.get("pagerduty_service", ""),
        source_severity=priority or urgency,
        tags=tags,
        links=link(fields.raw(f"{base}.html_url", None), "PagerDuty incident"),
        occurred_at=fields.timestamp("event.occurred_at"),
        ordered_at=fields.timestamp("event.occurred_at"),
        actor=fields.text("event.agent.summary", default=""),
        problem_key="" if nested else fields.text("event.data.incident_key", 255),
        details=details,
        truncated=tuple(fields.truncated),
    )


def _merged_into(fields: Fields) -> str:
    reason = fields.raw("event.data.resolve_reason", None)
    if isinstance(reason, dict) and reason.get("type") == "merge_resolve_reason":
        return fields.ident("event.data.resolve_reason.incident.id", required=False)
    return ""
