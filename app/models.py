"""The vendor-neutral vocabulary of Klaxon: what an alert is, once a source has been parsed.

No IO here. Vendor words (`incident.triggered`, `Create`, `Re-Triggered`) stay inside
`app/sources/<vendor>.py`; everything past a source speaks in these types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from app import jsontext


class SourceName(StrEnum):
    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"
    SENTRY = "sentry"
    DATADOG = "datadog"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    MANUAL = "manual"  # declared by a person (POST /api/incidents), not a monitoring tool


class Lifecycle(StrEnum):
    """What a webhook says happened to the underlying problem (reference/webhooks.md §0)."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"  # an ack timed out or was undone: back to firing
    ESCALATE = "escalate"
    NOTE = "note"
    RESOLVE = "resolve"
    TEST = "test"  # "send test event" buttons: answered, never stored as an alert


class AlertStatus(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """The answer the receiver gives for one alert event (design.md, public interface)."""

    NEW = "new"
    GROUPED = "grouped"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"
    IGNORED = "ignored"


class Severity(StrEnum):
    SEV1 = "SEV1"  # complete outage, data loss, security breach
    SEV2 = "SEV2"  # major feature down, big degradation
    SEV3 = "SEV3"  # minor feature issue, workaround exists
    SEV4 = "SEV4"  # cosmetic, no user impact

    @property
    def rank(self) -> int:
        """1 is worst; compare ranks, never strings."""
        return int(self.value.removeprefix("SEV"))


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """One event about one problem, normalised from any source.

    `identity` is the source's own name for the problem (PagerDuty incident id, Opsgenie
    alertId, Sentry issue or metric-alert incident, Datadog monitor + scope, Alertmanager
    fingerprint); together with `source` it keys the alert in the store. `delivery_id` names
    this one delivery, so a redelivery can be recognised and answered `duplicate`.
    """

    source: SourceName
    lifecycle: Lifecycle
    identity: str
    delivery_id: str
    event_type: str
    title: str = ""
    description: str = ""
    service: str = ""
    environment: str = ""
    host: str = ""
    source_severity: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    occurred_at: float | None = None
    # The sender's time that orders this alert's events, from what its signature covers: an
    # event older than the alert's last one is stale (a replay, or overtaken) and changes
    # nothing. None where the source's times do not order events (Sentry's lastSeen, ...).
    ordered_at: float | None = None
    actor: str = ""
    problem_key: str = ""  # upstream dedup key (PagerDuty incident_key, Opsgenie alias, ...)
    details: dict[str, Any] = field(default_factory=dict)
    truncated: tuple[str, ...] = ()  # free-text fields cut to their limit

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["links"] = [asdict(link) for link in self.links]
        data["truncated"] = list(self.truncated)
        return data

    def to_json(self) -> str:
        # The same document as to_dict(), without asdict()'s deep copy of every
        # value: this runs for every stored alert event.
        data = {name: getattr(self, name) for name in _ALERT_FIELDS}
        data["links"] = [{"href": link.href, "text": link.text} for link in self.links]
        data["truncated"] = list(self.truncated)
        return jsontext.dumps(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        values = dict(data)
        values["source"] = SourceName(values["source"])
        values["lifecycle"] = Lifecycle(values["lifecycle"])
        values["links"] = tuple(Link(**link) for link in values.get("links", ()))
        values["truncated"] = tuple(values.get("truncated", ()))
        return cls(**values)


_ALERT_FIELDS = tuple(f.name for f in fields(Alert))
