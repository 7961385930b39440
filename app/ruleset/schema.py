"""The shape of a rules file, as JSON Schema data: the loader's shape phase walks it
(app/ruleset/shape.py) and `klaxon rules schema` prints it for editors (rules/schema.json).

One description of the format, so the editor's squiggles and `klaxon rules check` agree."""

from __future__ import annotations

from typing import Any

from app.ruleset.vocabulary import (
    RESOLUTION_ITEMS,
    SEVERITIES,
    SOURCES,
    ComponentStatus,
    Op,
    PageMode,
    ResponderType,
    SilenceKind,
    StatuspageImpact,
)

Schema = dict[str, Any]
DURATION = r"^([0-9]+(ms|s|m|h|d))+$"
DURATION_EXPECTED = "a duration such as 30s, 5m, 4h or 1h30m"
CLOCK = r"^([01][0-9]|2[0-4]):[0-5][0-9]$"
NAME = r"^[a-z0-9][a-z0-9_.-]*$"
ENV_NAME = r"^[A-Z][A-Z0-9_]*$"
# Statuspage ids (page, component, incident) are 12 lower-case letters and digits; a component
# *name* pasted in place of its id is the likely mistake, and Statuspage would refuse it (422).
COMPONENT_ID = r"^[a-z0-9]{12}$"
COMPONENT_ID_EXPECTED = (
    "a Statuspage component id: 12 lower-case letters and digits such as "
    "8kbf7d35c070 (GET /v1/pages/<page_id>/components lists them)"
)
SERVICE = r"^\S(.*\S)?$"  # as alerts carry it: "checkout-api", or PagerDuty's "Checkout API"


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema | extra


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items} | extra


def enum(values: tuple[str, ...] | list[str], description: str = "") -> Schema:
    schema: Schema = {"type": "string", "enum": list(values)}
    return schema | ({"description": description} if description else {})


def string(pattern: str = "", description: str = "") -> Schema:
    schema: Schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return schema | ({"description": description} if description else {})


def duration(nullable: bool = False) -> Schema:
    schema = string(DURATION, DURATION_EXPECTED)
    return schema | {"type": ["string", "null"]} if nullable else schema


BOOL: Schema = {"type": "boolean"}
TEXT: Schema = {"type": "string"}
SEVERITY = enum(SEVERITIES, "a severity: SEV1 (worst), SEV2, SEV3, SEV4")
SCALAR: Schema = {"type": ["string", "number", "boolean"]}
NUMBER: Schema = {"type": "number"}

MATCH_OPS = obj(
    {
        Op.EQUALS: SCALAR,
        Op.NOT_EQUALS: SCALAR,
        Op.ANY_OF: array(SCALAR),
        Op.NONE_OF: array(SCALAR),
        Op.REGEX: TEXT,
        Op.NOT_REGEX: TEXT,
        Op.EXISTS: BOOL,
        Op.GT: NUMBER,
        Op.GTE: NUMBER,
        Op.LT: NUMBER,
        Op.LTE: NUMBER,
    }
)
# A value, a list (any of) or a mapping of operators; JSON Schema applies `properties` only to
# mappings and `items` only to lists, so one schema describes all three forms.
MATCH_VALUE: Schema = {
    "type": ["string", "number", "boolean", "array", "object"],
    "items": SCALAR,
    "properties": MATCH_OPS["properties"],
    "additionalProperties": False,
}
MATCH: Schema = {
    "type": "object",
    "additionalProperties": MATCH_VALUE,
    "propertyNames": {"pattern": r"^(tags\.)?[^\s]+$"},
}
MATCHERS = array(
    string(
        description="a matcher such as 'service = checkout-api' or 'title =~ \"latency|timeout\"'"
    )
)
SEVERITY_LOOKUP = obj(
    {"field": TEXT, "map": {"type": "object", "additionalProperties": SEVERITY}},
    required=("field", "map"),
)
SEVERITY_MAP = array(SEVERITY_LOOKUP)
FLAPPING = obj(
    {"state_changes": {"type": "integer", "minimum": 2}, "window": duration(), "hold": duration()},
    required=("state_changes", "window"),
)
WEEKLY = obj(
    {
        "timezone": TEXT,
        "weekdays": array(
            string(description="a weekday such as monday, or a range such as monday:friday")
        ),
        "start": string(CLOCK, "a time of day HH:MM"),
        "end": string(CLOCK, "a time of day HH:MM"),
    },
    required=("timezone", "start", "end"),
)

GROUPING = {
    "group_by": array(TEXT),
    "group_by_empty": BOOL,
    "group_window": duration(),
    "group_wait": duration(),
    "declare_resolved": BOOL,
    "resolve_quiet": duration(),
    "dedup_key": TEXT,
    "flapping": FLAPPING,
}

SEVERITY_POLICY = obj(
    {
        "description": TEXT,
        "page": enum([m.value for m in PageMode]),
        "statuspage": obj(
            {
                "impact": enum([i.value for i in StatuspageImpact]),
                "component_status": enum([c.value for c in ComponentStatus]),
            }
        ),
        "x_post": BOOL,
        "update_every": duration(nullable=True),
        "postmortem_due": duration(nullable=True),
        "comms": obj(
            {
                "first_post_within": duration(nullable=True),
                "auto_first_post": BOOL,
                "remind_before": duration(nullable=True),
                "long_incident_after": duration(nullable=True),
                "long_incident_update_every": duration(nullable=True),
                "resolution_must_state": array(enum(list(RESOLUTION_ITEMS))),
            }
        ),
    }
)
TEAM = obj(
    {
        "description": TEXT,
        "pagerduty": obj(
            {
                "routing_key_env": string(
                    ENV_NAME, "an environment variable name such as PD_ROUTING_KEY_PAYMENTS"
                )
            },
            required=("routing_key_env",),
        ),
        "opsgenie": obj(
            {
                "team": TEXT,
                "responders": array(
                    obj(
                        {"type": enum([r.value for r in ResponderType]), "name": TEXT},
                        required=("type", "name"),
                    )
                ),
            }
        ),
        "ack_timeout": duration(),
        "escalation": array(
            obj({"after": duration(), "notify": array(TEXT)}, required=("after", "notify"))
        ),
        "business_hours": WEEKLY,
    }
)
ROUTE = obj(
    {
        "name": string(NAME, "a lower-case name such as checkout-latency"),
        "description": TEXT,
        "match": MATCH,
        "matchers": MATCHERS,
        "continue": BOOL,
        "team": TEXT,
        "severity": SEVERITY,
        "severity_map": SEVERITY_MAP,
        "ignore": BOOL,
        **GROUPING,
    },
    required=("name",),
)
INHIBIT_RULE = obj(
    {
        "name": string(NAME, "a lower-case name"),
        "source_match": MATCH,
        "target_match": MATCH,
        "equal": array(TEXT),
        "equal_empty": BOOL,
    },
    required=("name", "source_match", "target_match"),
)
SILENCE = obj(
    {
        "name": string(NAME, "a lower-case name"),
        "kind": enum([k.value for k in SilenceKind]),
        "comment": TEXT,
        "created_by": TEXT,
        "match": MATCH,
        "matchers": MATCHERS,
        "starts_at": string(description="an ISO 8601 time with offset, e.g. 2026-03-20T22:00:00Z"),
        "ends_at": string(description="an ISO 8601 time with offset, e.g. 2026-03-21T02:00:00Z"),
        "recurring": WEEKLY,
    },
    required=("name",),
)
DEFAULTS = obj({"team": TEXT, "severity": SEVERITY, **GROUPING})
# One id or a list of ids; as with MATCH_VALUE, `pattern` applies to the string form and
# `items` to the list form.
COMPONENTS: Schema = {
    "type": ["string", "array"],
    "pattern": COMPONENT_ID,
    "description": COMPONENT_ID_EXPECTED,
    "items": string(COMPONENT_ID, COMPONENT_ID_EXPECTED),
}
STATUSPAGE = obj(
    {
        "components": {
            "type": "object",
            "additionalProperties": COMPONENTS,
            "propertyNames": {"pattern": SERVICE},
        },
        # Component groups on the public page: group name -> the services shown under it.
        "groups": {
            "type": "object",
            "additionalProperties": array(string(SERVICE, "a service under statuspage.components")),
            "propertyNames": {"pattern": SERVICE},
        },
    }
)

SLACK_CHANNEL = string(r"^#[a-z0-9][a-z0-9_-]{0,79}$", "a Slack channel such as #incidents")
SLACK_USER_ID = r"^[UW][A-Z0-9]{2,20}$"
SLACK_MEMBER = r"^([UW][A-Z0-9]{2,20}|[^@\s]+@[^@\s]+\.[^@\s]+)$"
SLACK = obj(
    {
        "archive_after": duration(),
        "severities": obj(
            {s: obj({"incident_channel": BOOL, "announce": BOOL}) for s in SEVERITIES}
        ),
        "teams": {
            "type": "object",
            "additionalProperties": obj(
                {
                    "channel": SLACK_CHANNEL,
                    "members": array(
                        string(
                            SLACK_MEMBER,
                            "a Slack user id such as U024BE7LH, or an email (looked up)",
                        )
                    ),
                }
            ),
            "propertyNames": {"pattern": NAME},
        },
        "users": {
            "type": "object",
            "additionalProperties": obj({"name": TEXT, "email": TEXT}, required=("name",)),
            "propertyNames": {"pattern": SLACK_USER_ID},
        },
    }
)

# An alert with none of a service's spellings still maps to it when one of its patterns (all
# of the pattern's matchers, as in a route) matches: Datadog's default payload by its title.
SERVICE_PATTERN = obj({"match": MATCH, "matchers": MATCHERS})
SERVICE_ENTRY = obj(
    {
        "description": TEXT,
        "team": TEXT,
        "component": COMPONENTS,
        "aliases": array(TEXT),
        "patterns": array(SERVICE_PATTERN),
        # Where the service's changes come from (app/changes/mapping.py).
        "heroku_apps": array(TEXT),
        "github": array(TEXT),
    },
)

# How changes (releases, deploys) are suspected of an incident (issue 17; app/changes/).
CHANGES = obj(
    {
        # How far before an incident's onset a change of one of its services is a suspect.
        "window": duration(),
        # An incident that starts within `within` of a release of its service: its
        # severity is raised to `raise_to` (never lowered) and/or the release's author is
        # paged with the on-call (`page_author`; one of the two is required).
        "after_release": obj(
            {"within": duration(), "raise_to": SEVERITY, "page_author": BOOL},
            required=("within",),
        ),
    }
)

RULES_FILE: Schema = obj(
    {
        "environment": {
            "type": "object",
            "additionalProperties": TEXT,
            "propertyNames": {"pattern": ENV_NAME},
        },
        "severities": obj({s: SEVERITY_POLICY for s in SEVERITIES}),
        "severity_maps": obj({s: SEVERITY_MAP for s in SOURCES}),
        "teams": {
            "type": "object",
            "additionalProperties": TEAM,
            "propertyNames": {"pattern": NAME},
        },
        "defaults": DEFAULTS,
        "routes": array(ROUTE),
        "inhibit_rules": array(INHIBIT_RULE),
        "silences": array(SILENCE),
        "statuspage": STATUSPAGE,
        "slack": SLACK,
        "changes": CHANGES,
        "services": {
            "type": "object",
            "additionalProperties": SERVICE_ENTRY,
            "propertyNames": {"pattern": SERVICE},
        },
    }
)

ALERT = obj(
    {
        name: TEXT
        for name in (
            "source",
            "lifecycle",
            "identity",
            "delivery_id",
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
    }
    | {"tags": {"type": "object", "additionalProperties": TEXT}},
    required=("source",),
)
EXPECT = obj(
    {
        "severity": SEVERITY,
        "team": TEXT,
        "rule": TEXT,
        "page": BOOL,
        "outcome": enum(["new", "suppressed", "ignored"]),
        "suppressed": {
            "type": ["string", "boolean"],
            "enum": [False, "silence", "maintenance", "inhibited", "flapping"],
        },
        "dedup_key": TEXT,
        "group_key": TEXT,
    }
)
RULE_TEST = obj(
    {
        "name": TEXT,
        "payload": TEXT,
        "source": enum(SOURCES),
        "headers": TEXT,
        "alert": ALERT,
        "at": string(description="an ISO 8601 time with offset, e.g. 2026-03-14T09:14:00Z"),
        "open_incidents": array({"type": "object", "additionalProperties": TEXT}),
        "state_changes": array(TEXT),
        "expect": EXPECT,
    },
    required=("name", "expect"),
)
TESTS_FILE: Schema = obj({"tests": array(RULE_TEST)}, required=("tests",))


def json_schema() -> Schema:
    """The JSON Schema document for one rules file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/klaxon/klaxon/rules/schema.json",
        "title": "Klaxon rules file",
        **RULES_FILE,
    }
