"""The closed sets of the rules format, one StrEnum each, and the alert fields rules can test."""

from __future__ import annotations

from enum import StrEnum

from app.models import Severity


class PageMode(StrEnum):
    """What a severity triggers: a page now, a page only in the team's business hours, or a
    notification that never pages."""

    NOW = "now"
    BUSINESS_HOURS = "business_hours"
    NEVER = "never"


class StatuspageImpact(StrEnum):  # Atlassian Statuspage incident impact
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ComponentStatus(StrEnum):  # Atlassian Statuspage component status
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class SilenceKind(StrEnum):
    SILENCE = "silence"
    MAINTENANCE = "maintenance"


class Suppressed(StrEnum):
    """Why an alert is recorded but not paged."""

    SILENCE = "silence"
    MAINTENANCE = "maintenance"
    INHIBITED = "inhibited"
    FLAPPING = "flapping"


class ResponderType(StrEnum):  # Opsgenie responder types
    TEAM = "team"
    USER = "user"
    ESCALATION = "escalation"
    SCHEDULE = "schedule"


class Op(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    ANY_OF = "any_of"
    NONE_OF = "none_of"
    REGEX = "regex"
    NOT_REGEX = "not_regex"
    EXISTS = "exists"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEVERITIES = tuple(s.value for s in Severity)
SOURCES = ("alertmanager", "datadog", "grafana", "opsgenie", "pagerduty", "sentry")
# Alert fields a matcher, template or group_by may name; tags are `tags.<name>`.
ALERT_FIELDS = (
    "source",
    "lifecycle",
    "identity",
    "event_type",
    "title",
    "description",
    "service",
    "environment",
    "host",
    "source_severity",
    "actor",
    "problem_key",
)
# Fields known once the alert is classified: inhibition and group keys may use them too.
DECISION_FIELDS = ("severity", "team")
# What a severity's resolution post may be required to state (severities.<SEV>.comms.
# resolution_must_state): the responder's own message, whether data was lost, the impact.
RESOLUTION_ITEMS = ("message", "data_loss", "customer_impact")
