"""Sentry integration-platform webhooks, plus the legacy WebHooks plugin (webhooks.md §3).

Signed: `Sentry-Hook-Signature` is the hex HMAC-SHA256 of the raw body with the integration's
client secret. Sentry sends compact, ASCII-escaped JSON, so re-serialising the parsed body
never reproduces the signed bytes: verify the bytes as received.

`Request-ID` is new on every retry, so a delivery is named by the event itself, from the signed
body: the event id for issue alerts, the incident and its status for metric alerts, the body
digest otherwise (a retry repeats the body byte for byte).

`Sentry-Hook-Timestamp` (unix seconds) is sent but not signed: refusing one outside
KLAXON_WEBHOOK_CLOCK_SKEW stops a captured request replayed as it was, not one whose header was
edited; the body-derived delivery ids are what make such a replay a duplicate.

The legacy plugin cannot sign or send headers; it is accepted only with `?token=` matching
SENTRY_LEGACY_WEBHOOK_TOKEN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.errors import Unauthorized
from app.models import Alert, Lifecycle, SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._fields import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Fields,
    body_digest,
    link,
    tags_from_pairs,
)
from app.sources._signing import require_configured, unix_seconds, verify_hmac, verify_token

SIGNATURE_HEADER = "Sentry-Hook-Signature"
RESOURCE_HEADER = "Sentry-Hook-Resource"
TIMESTAMP_HEADER = "Sentry-Hook-Timestamp"

ISSUE_ACTIONS = {
    "created": Lifecycle.TRIGGER,
    "unresolved": Lifecycle.TRIGGER,  # a regression: the problem is back
    "assigned": Lifecycle.ACKNOWLEDGE,  # the closest thing Sentry has to an ack
    "resolved": Lifecycle.RESOLVE,
    "ignored": Lifecycle.RESOLVE,  # archived, not fixed; the code says ignored, docs archived
    "archived": Lifecycle.RESOLVE,
}
METRIC_ACTIONS = {
    "open": Lifecycle.TRIGGER,
    "warning": Lifecycle.TRIGGER,
    "critical": Lifecycle.TRIGGER,  # warning -> critical raises the source severity
    "resolved": Lifecycle.RESOLVE,
}
COMMENT_ACTIONS = {"created": Lifecycle.NOTE, "updated": Lifecycle.NOTE, "deleted": Lifecycle.NOTE}


class SentrySource:
    name: ClassVar[SourceName] = SourceName.SENTRY
    delivery_identity: ClassVar[str] = "the event, issue or metric-alert state in the signed body"

    def __init__(
        self, client_secret: str, insecure_dev: bool = False, legacy_token: str = ""
    ) -> None:
        self._secret = client_secret
        self._legacy_token = legacy_token
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        if _is_legacy(headers):
            if self._legacy_token:
                verify_token(
                    self.name, self._legacy_token, [query["token"]] if query.get("token") else []
                )
            elif not self._insecure_dev:
                raise Unauthorized(
                    "sentry: unsigned legacy-plugin webhooks are refused unless "
                    "SENTRY_LEGACY_WEBHOOK_TOKEN is set and sent as ?token=",
                    source=self.name,
                )
            return
        if require_configured(
            self.name, "SENTRY_CLIENT_SECRET", bool(self._secret), self._insecure_dev
        ):
            verify_hmac(
                self.name,
                SIGNATURE_HEADER,
                [headers.get(SIGNATURE_HEADER, "")],
                [self._secret],
                body,
            )

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        if _is_legacy(headers) or not self._secret:
            return None  # the legacy plugin sends no headers; insecure dev checks nothing
        return SignedTimestamp(
            TIMESTAMP_HEADER,
            unix_seconds(self.name, TIMESTAMP_HEADER, headers.get(TIMESTAMP_HEADER, "")),
        )

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        fields = Fields(self.name, payload)
        if _is_legacy(headers):
            return _parse_legacy(fields, body)
        resource = headers.get(RESOURCE_HEADER, "").strip()
        action = fields.word("action")
        event_type = f"{resource}.{action}"
        parser = _PARSERS.get(resource)
        if parser is None:
            return Parsed(
                event_type,
                body_digest(body),
                ignored_reason=f"{resource or 'unknown'} webhooks carry no alert",
            )
        return parser(fields, action, event_type, body)


def _is_legacy(headers: Mapping[str, str]) -> bool:
    return not headers.get(RESOURCE_HEADER) and not headers.get(SIGNATURE_HEADER)


def _ignored(event_type: str, body: bytes) -> Parsed:
    return Parsed(event_type, body_digest(body), ignored_reason=f"{event_type} is informational")


def _parse_issue(fields: Fields, action: str, event_type: str, body: bytes) -> Parsed:
    lifecycle = ISSUE_ACTIONS.get(action)
    if lifecycle is None:
        return _ignored(event_type, body)
    issue = "data.issue"
    delivery_id = f"{event_type}:{body_digest(body)}"
    alert = _alert(
        fields,
        lifecycle,
        event_type,
        delivery_id,
        identity="issue:" + fields.ident(f"{issue}.id"),
        title=fields.text(f"{issue}.title", MAX_TITLE_CHARS),
        description=fields.text(f"{issue}.culprit", MAX_TEXT_CHARS),
        service=fields.text(f"{issue}.project.slug"),
        severity=fields.text(f"{issue}.level", 20),
        web_url=fields.raw(f"{issue}.web_url", None),
        tags={
            "priority": fields.text(f"{issue}.priority", 20),
            "substatus": fields.text(f"{issue}.substatus", 60),
        },
        occurred_at=fields.timestamp(f"{issue}.lastSeen"),
    )
    return Parsed(event_type, delivery_id, alerts=[alert])


def _parse_event_alert(fields: Fields, action: str, event_type: str, body: bytes) -> Parsed:
    if action != "triggered":
        return _ignored(event_type, body)
    event = "data.event"
    delivery_id = f"{event_type}:{fields.ident(f'{event}.event_id')}"
    tags = tags_from_pairs(fields.raw(f"{event}.tags", []))
    tags["rule"] = fields.text("data.triggered_rule")
    alert = _alert(
        fields,
        Lifecycle.TRIGGER,
        event_type,
        delivery_id,
        identity="issue:" + fields.ident(f"{event}.issue_id"),
        title=fields.text(f"{event}.title", MAX_TITLE_CHARS),
        description=fields.text(f"{event}.culprit", MAX_TEXT_CHARS),
        service=tags.get("project", "") or _project_from_url(fields, event),
        severity=fields.text(f"{event}.level", 20),
        web_url=fields.raw(f"{event}.web_url", None),
        tags=tags,
        occurred_at=fields.timestamp(f"{event}.timestamp"),
        environment=fields.text(f"{event}.environment"),
    )
    return Parsed(event_type, delivery_id, alerts=[alert])


def _parse_metric_alert(fields: Fields, action: str, event_type: str, body: bytes) -> Parsed:
    lifecycle = METRIC_ACTIONS.get(action)
    if lifecycle is None:
        return _ignored(event_type, body)
    metric = "data.metric_alert"
    incident_id = fields.ident(f"{metric}.id")
    delivery_id = f"{event_type}:{incident_id}:{fields.text(f'{metric}.status', 20)}"
    projects = fields.items(f"{metric}.projects")
    alert = _alert(
        fields,
        lifecycle,
        event_type,
        delivery_id,
        identity="metric:" + incident_id,
        title=fields.text("data.description_title", MAX_TITLE_CHARS)
        or fields.text(f"{metric}.title", MAX_TITLE_CHARS),
        description=fields.text("data.description_text", MAX_TEXT_CHARS),
        service=str(projects[0])[:512] if projects else "",
        severity=action if lifecycle is Lifecycle.TRIGGER else "",
        web_url=fields.raw("data.web_url", None),
        tags={
            "alert_rule": fields.text(f"{metric}.alert_rule.name"),
            "alert_rule_id": fields.text(f"{metric}.alert_rule.id"),
        },
        occurred_at=fields.timestamp(f"{metric}.date_closed")
        or fields.timestamp(f"{metric}.date_started"),
        environment=fields.text(f"{metric}.alert_rule.environment"),
    )
    return Parsed(event_type, delivery_id, alerts=[alert])


def _parse_comment(fields: Fields, action: str, event_type: str, body: bytes) -> Parsed:
    lifecycle = COMMENT_ACTIONS.get(action)
    if lifecycle is None:
        return _ignored(event_type, body)
    delivery_id = f"{event_type}:{fields.ident('data.comment_id')}:{body_digest(body)[:16]}"
    alert = _alert(
        fields,
        lifecycle,
        event_type,
        delivery_id,
        identity="issue:" + fields.ident("data.issue_id"),
        title="",
        description=fields.text("data.comment", MAX_TEXT_CHARS),
        service=fields.text("data.project_slug"),
        severity="",
        web_url=None,
        tags={},
        occurred_at=fields.timestamp("data.timestamp"),
    )
    return Parsed(event_type, delivery_id, alerts=[alert])


def _parse_error(fields: Fields, action: str, event_type: str, body: bytes) -> Parsed:
    if action != "created":
        return _ignored(event_type, body)
    error = "data.error"
    delivery_id = f"{event_type}:{fields.ident(f'{error}.event_id')}"
    alert = _alert(
        fields,
        Lifecycle.TRIGGER,
        event_type,
        delivery_id,
        identity="issue:" + fields.ident(f"{error}.issue_id"),
        title=fields.text(f"{error}.title", MAX_TITLE_CHARS),
        description=fields.text(f"{error}.culprit", MAX_TEXT_CHARS),
        service=_project_from_url(fields, error),
        severity=fields.text(f"{error}.level", 20),
        web_url=fields.raw(f"{error}.web_url", None),
        tags=tags_from_pairs(fields.raw(f"{error}.tags", [])),
        occurred_at=fields.timestamp(f"{error}.timestamp"),
        environment=fields.text(f"{error}.environment"),
    )
    return Parsed(event_type, delivery_id, alerts=[alert])


def _parse_legacy(fields: Fields, body: bytes) -> Parsed:
    issue_id = fields.ident("id")
    event_id = fields.ident("event.event_id", required=False) or body_digest(body)
    delivery_id = f"legacy:{issue_id}:{event_id}"
    tags = tags_from_pairs(fields.raw("event.tags", []))
    alert = _alert(
        fields,
        Lifecycle.TRIGGER,
        "legacy.alert",
        delivery_id,
        identity="issue:" + issue_id,
        title=fields.text("message", MAX_TITLE_CHARS) or fields.text("culprit", MAX_TITLE_CHARS),
        description=fields.text("culprit", MAX_TEXT_CHARS),
        service=fields.text("project_slug") or fields.text("project"),
        severity=fields.text("level", 20),
        web_url=fields.raw("url", None),
        tags=tags,
        occurred_at=fields.timestamp("event.timestamp"),
        environment=tags.get("environment", ""),
    )
    return Parsed("legacy.alert", delivery_id, alerts=[alert])


def _alert(
    fields: Fields,
    lifecycle: Lifecycle,
    event_type: str,
    delivery_id: str,
    *,
    identity: str,
    title: str,
    description: str,
    service: str,
    severity: str,
    web_url: Any,
    tags: dict[str, str],
    occurred_at: float | None,
    environment: str = "",
) -> Alert:
    tags = {k: v for k, v in tags.items() if v}
    return Alert(
        source=SourceName.SENTRY,
        lifecycle=lifecycle,
        identity=identity,
        delivery_id=delivery_id,
        event_type=event_type,
        title=title,
        description=description,
        service=service,
        environment=environment or tags.get("environment", ""),
        host=tags.get("server_name", ""),
        source_severity=severity,
        tags=tags,
        links=link(web_url, "Sentry"),
        occurred_at=occurred_at,
        actor=fields.text("actor.name", default=""),
        details={},
        truncated=tuple(fields.truncated),
    )


def _project_from_url(fields: Fields, path: str) -> str:
    """The project slug from the event's API URL (.../projects/<org>/<project>/events/...)."""
    url = fields.raw(f"{path}.url", "")
    if not isinstance(url, str) or "/projects/" not in url:
        return ""
    parts = url.split("/projects/", 1)[1].split("/")
    return parts[1][:512] if len(parts) > 1 else ""


_PARSERS = {
    "issue": _parse_issue,
    "event_alert": _parse_event_alert,
    "metric_alert": _parse_metric_alert,
    "comment": _parse_comment,
    "error": _parse_error,
}
