"""Opsgenie outgoing Webhook integration (reference/webhooks.md §2).

Unsigned: authenticated by a shared token in a custom header (or Basic auth). No delivery id
exists, so `(alertId, action, updatedAt)` names a delivery. When an alert is routed to another
team, that team's integration receives `Create` again for the same alertId: the same alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.models import Alert, Lifecycle, SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._fields import MAX_TEXT_CHARS, MAX_TITLE_CHARS, Fields, tags_from_strings
from app.sources._signing import presented_tokens, require_configured, verify_token

ACTION_LIFECYCLES = {
    "Create": Lifecycle.TRIGGER,
    "Acknowledge": Lifecycle.ACKNOWLEDGE,
    "TakeOwnership": Lifecycle.ACKNOWLEDGE,
    "AssignOwnership": Lifecycle.ACKNOWLEDGE,
    "UnAcknowledge": Lifecycle.UNACKNOWLEDGE,
    "Escalate": Lifecycle.ESCALATE,
    "AddTeam": Lifecycle.ESCALATE,
    "AddRecipient": Lifecycle.ESCALATE,
    "AddResponder": Lifecycle.ESCALATE,
    "UpdatePriority": Lifecycle.ESCALATE,
    "AddNote": Lifecycle.NOTE,
    "Close": Lifecycle.RESOLVE,
    "Delete": Lifecycle.RESOLVE,
}
# AddTags, RemoveTags, Snooze and custom actions (whose `action` is the action's own name) are
# informational: answered 202 `ignored`.


class OpsgenieSource:
    name: ClassVar[SourceName] = SourceName.OPSGENIE
    # Not signed: the token holder can send anything, so a replay is no stronger than a forgery.
    delivery_identity: ClassVar[str] = "alertId, action, updatedAt (or the escalation's time)"

    def __init__(self, token: str, insecure_dev: bool = False) -> None:
        self._token = token
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        self.verify_headers(headers, query)  # a shared token: nothing in the body to check

    def verify_headers(self, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        if require_configured(
            self.name, "OPSGENIE_WEBHOOK_TOKEN", bool(self._token), self._insecure_dev
        ):
            verify_token(self.name, self._token, presented_tokens(headers))

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        return None  # token-authenticated: nothing is signed, no send time is sent

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        fields = Fields(self.name, payload)
        action = fields.word("action")
        alert_id = fields.ident("alert.alertId")
        stamp = fields.text("alert.updatedAt", 40) or fields.text(
            "escalationId", 100
        ) + ":" + fields.text("escalationTime", 40) + ":" + fields.text("repeatCount", 40)
        delivery_id = f"{alert_id}:{action}:{stamp}"
        lifecycle = ACTION_LIFECYCLES.get(action)
        if lifecycle is None:
            return Parsed(action, delivery_id, ignored_reason=f"action {action} is informational")
        return Parsed(
            action, delivery_id, alerts=[_alert(fields, action, lifecycle, alert_id, delivery_id)]
        )


def _alert(
    fields: Fields, action: str, lifecycle: Lifecycle, alert_id: str, delivery_id: str
) -> Alert:
    tags = tags_from_strings(fields.raw("alert.tags", []))
    details = fields.raw("alert.details", {})
    details = (
        {str(k)[:200]: str(v)[:2000] for k, v in details.items()}
        if isinstance(details, dict)
        else {}
    )
    if fields.text("alert.team"):
        tags.setdefault("opsgenie_team", fields.text("alert.team"))
    description = fields.text("alert.description", MAX_TEXT_CHARS) or fields.text(
        "alert.note", MAX_TEXT_CHARS
    )
    escalation = fields.text("escalationName")
    if escalation:
        details["escalation"] = escalation
        details["escalated_to"] = fields.text("escalationNotify.name")
    return Alert(
        source=SourceName.OPSGENIE,
        lifecycle=lifecycle,
        identity=alert_id,
        delivery_id=delivery_id,
        event_type=action,
        title=fields.text("alert.message", MAX_TITLE_CHARS),
        description=description,
        service=tags.get("service", "") or fields.text("alert.entity"),
        environment=tags.get("env", "") or tags.get("environment", ""),
        host=details.get("host", ""),
        source_severity=_priority(fields.text("alert.priority", 20)),
        tags=tags,
        occurred_at=fields.timestamp("alert.updatedAt") or fields.timestamp("alert.createdAt"),
        actor=fields.text("alert.username") or fields.text("alert.owner"),
        problem_key=fields.text("alert.alias"),
        details=details,
        truncated=tuple(fields.truncated),
    )


def _priority(value: str) -> str:
    """Opsgenie's "P1".."P5"; some deliveries (Zulip's fixtures) carry the bare number."""
    return f"P{value}" if value in {"1", "2", "3", "4", "5"} else value
