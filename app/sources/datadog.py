"""Datadog Webhooks integration (reference/webhooks.md §4).

Unsigned: a shared token in `X-Klaxon-Token` (custom headers) or as the Basic auth password
(`https://datadog:<token>@host/...`). The body is whatever the webhook's payload template says;
Klaxon publishes one recommended template (README) and also understands Datadog's default
payload, where the transition and the alerting group only exist inside the title, and the
Incident Management notification template.

The same problem is the monitor plus its group: `alert.id` + `alert.scope`. `id` is the
notification id, repeated by Datadog's own retries and new for every renotification.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from app.errors import PayloadError
from app.models import Alert, Lifecycle, SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._fields import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Fields,
    body_digest,
    link,
    tags_from_strings,
)
from app.sources._signing import presented_tokens, require_configured, verify_token

TRANSITIONS = {
    "Triggered": Lifecycle.TRIGGER,
    "Re-Triggered": Lifecycle.TRIGGER,
    "Warn": Lifecycle.TRIGGER,
    "Re-Warn": Lifecycle.TRIGGER,
    "No Data": Lifecycle.TRIGGER,
    "Re-No Data": Lifecycle.TRIGGER,
    "Renotify": Lifecycle.TRIGGER,
    "Recovered": Lifecycle.RESOLVE,
}
INCIDENT_STATUSES = {
    "active": Lifecycle.TRIGGER,
    "stable": Lifecycle.ACKNOWLEDGE,  # Datadog monitors have no ack; a stable incident is one
    "resolved": Lifecycle.RESOLVE,
    "completed": Lifecycle.RESOLVE,
}
TEMPLATE_HINT = "Check the Payload template of the Datadog webhook (README, 'Datadog')"
# "[P2] [Triggered on {host:web-03}] title" -> priority, transition, scope, title
_TITLE = re.compile(
    r"^(?:\[(?P<priority>P[1-5])\]\s*)?"
    r"\[(?P<transition>[A-Za-z -]+?)(?: on \{(?P<scope>[^}]*)\})?\]\s*(?P<name>.*)$",
    re.DOTALL,
)


class DatadogSource:
    name: ClassVar[SourceName] = SourceName.DATADOG
    # Not signed: the token holder can send anything, so a replay is no stronger than a forgery.
    delivery_identity: ClassVar[str] = (
        "the notification id ($ID), or the incident and its state, or else a hash of the body"
    )

    def __init__(self, token: str, insecure_dev: bool = False) -> None:
        self._token = token
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        self.verify_headers(headers, query)  # a shared token: nothing in the body to check

    def verify_headers(self, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        if require_configured(
            self.name, "DATADOG_WEBHOOK_TOKEN", bool(self._token), self._insecure_dev
        ):
            verify_token(self.name, self._token, presented_tokens(headers))

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        return None  # token-authenticated: nothing is signed, no send time is sent

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        fields = Fields(self.name, payload)
        if "incident_public_id" in payload:
            return _parse_incident(fields)
        # A custom payload without $ID still names its delivery: Datadog does not retry a 4xx,
        # so refusing it would lose the alert. Its own retries resend the same bytes.
        delivery_id = fields.ident("id", required=False) or f"body:{body_digest(body)}"
        if isinstance(payload.get("alert"), dict):
            return _parse_monitor(fields, delivery_id)
        return _parse_default_payload(fields, delivery_id)


def _parse_monitor(fields: Fields, delivery_id: str) -> Parsed:
    transition = fields.text("alert.transition", 40)
    if transition:
        lifecycle = fields.choice("alert.transition", TRANSITIONS, hint=TEMPLATE_HINT)
    else:  # event alerts have no transition: fall back to the title prefix
        lifecycle, transition = _title_transition(fields, "title")
    monitor_id = fields.ident("alert.id")
    scope = fields.text("alert.scope")
    tags = tags_from_strings(fields.raw("tags", ""))
    tags.update(
        {
            k: v
            for k, v in {
                "alert_type": fields.text("alert.type", 20),
                "monitor_id": monitor_id,
                "alert_metric": fields.text("alert.metric"),
                "transition": transition,
                "scope": scope,
            }.items()
            if v
        }
    )
    title = fields.text("alert.title", MAX_TITLE_CHARS) or fields.text("title", MAX_TITLE_CHARS)
    alert = Alert(
        source=SourceName.DATADOG,
        lifecycle=lifecycle,
        identity=f"{monitor_id}|{scope}" if scope else monitor_id,
        delivery_id=delivery_id,
        event_type=transition,
        title=_strip_prefix(title),
        description=fields.text("text_only_msg", MAX_TEXT_CHARS)
        or fields.text("body", MAX_TEXT_CHARS),
        service=tags.get("service", ""),
        environment=tags.get("env", "") or tags.get("environment", ""),
        host=fields.text("hostname") or tags.get("host", ""),
        source_severity=fields.text("alert.priority", 20) or fields.text("alert.type", 20),
        tags=tags,
        links=link(fields.raw("link", None), "Datadog event"),
        occurred_at=fields.timestamp("date"),
        problem_key=fields.text("alert.cycle_key", 255) or fields.text("aggreg_key", 255),
        details={"snapshot": fields.text("snapshot", 2048)},
        truncated=tuple(fields.truncated),
    )
    return Parsed(transition, delivery_id, alerts=[alert])


def _parse_default_payload(fields: Fields, delivery_id: str) -> Parsed:
    """Datadog's default body: only the title says which transition and which group."""
    lifecycle, transition = _title_transition(fields, "title")
    match = _TITLE.match(fields.text("title", MAX_TITLE_CHARS))
    assert match is not None  # _title_transition already matched it
    name, scope = match["name"].strip(), (match["scope"] or "").strip()
    alert = Alert(
        source=SourceName.DATADOG,
        lifecycle=lifecycle,
        identity=f"title:{name}|{scope}",
        delivery_id=delivery_id,
        event_type=transition,
        title=name,
        description=fields.text("body", MAX_TEXT_CHARS),
        host=scope.partition(":")[2] if scope.startswith("host:") else "",
        source_severity=match["priority"] or "",
        tags=tags_from_strings(scope) | {"transition": transition},
        occurred_at=fields.timestamp("date"),
        truncated=tuple(fields.truncated),
    )
    return Parsed(transition, delivery_id, alerts=[alert])


def _parse_incident(fields: Fields) -> Parsed:
    public_id = fields.ident("incident_public_id")
    status = fields.text("incident_status", 40)
    delivery_id = f"incident:{public_id}:{status}:{fields.text('date', 40)}"
    lifecycle = INCIDENT_STATUSES.get(status)
    if lifecycle is None:
        return Parsed(
            f"incident.{status}",
            delivery_id,
            ignored_reason=f"incident status {status!r} is informational",
        )
    tags = {"incident_status": status}
    services = fields.raw("incident_fields.services", [])
    alert = Alert(
        source=SourceName.DATADOG,
        lifecycle=lifecycle,
        identity=f"incident:{public_id}",
        delivery_id=delivery_id,
        event_type=f"incident.{status}",
        title=fields.text("incident_title", MAX_TITLE_CHARS),
        description=fields.text("incident_msg", MAX_TEXT_CHARS),
        service=str(services[0])[:512] if isinstance(services, list) and services else "",
        source_severity=fields.text("incident_severity", 20),
        tags=tags,
        links=link(fields.raw("incident_url", None), "Datadog incident"),
        occurred_at=fields.timestamp("date"),
        actor=fields.text("incident_commander.name", default="")
        if isinstance(fields.raw("incident_commander", None), dict)
        else "",
        truncated=tuple(fields.truncated),
    )
    return Parsed(f"incident.{status}", delivery_id, alerts=[alert])


def _title_transition(fields: Fields, path: str) -> tuple[Lifecycle, str]:
    title = fields.text(path, MAX_TITLE_CHARS)
    match = _TITLE.match(title)
    if not match or match["transition"] not in TRANSITIONS:
        raise PayloadError(
            "datadog",
            path,
            "a title starting with [Triggered], [Recovered], "
            "[Warn], ... when the payload has no alert.transition",
            got=repr(title[:60]),
            hint=TEMPLATE_HINT,
        )
    return TRANSITIONS[match["transition"]], match["transition"]


def _strip_prefix(title: str) -> str:
    match = _TITLE.match(title)
    return match["name"].strip() if match and match["transition"] in TRANSITIONS else title
