"""What applies when a rules directory does not say: the severity table of the design brief and
the usual meaning of each source's severity words, written as rules data (the same shape as a
rules file). rules/severities.yml restates them so a team can change any of them in a PR."""

from __future__ import annotations

from typing import Any

SEVERITIES: dict[str, dict[str, Any]] = {
    "SEV1": {
        "description": "complete outage, data loss, security breach",
        "page": "now",
        "statuspage": {"impact": "critical", "component_status": "major_outage"},
        "x_post": True,
        "update_every": "30m",
        "postmortem_due": "48h",
    },
    "SEV2": {
        "description": "major feature down, big degradation",
        "page": "now",
        "statuspage": {"impact": "major", "component_status": "partial_outage"},
        "x_post": False,
        "update_every": "1h",
        "postmortem_due": "48h",
    },
    "SEV3": {
        "description": "minor feature issue, workaround exists",
        "page": "business_hours",
        "statuspage": {"impact": "none", "component_status": "operational"},
        "x_post": False,
        "update_every": None,
        "postmortem_due": None,
    },
    "SEV4": {
        "description": "cosmetic, no user impact",
        "page": "never",
        "statuspage": {"impact": "none", "component_status": "operational"},
        "x_post": False,
        "update_every": None,
        "postmortem_due": None,
    },
}

_P1_TO_P5 = {"P1": "SEV1", "P2": "SEV2", "P3": "SEV3", "P4": "SEV4", "P5": "SEV4"}
_LABEL_SEVERITY = {"critical": "SEV2", "error": "SEV3", "warning": "SEV3", "info": "SEV4"}

SEVERITY_MAPS: dict[str, list[dict[str, Any]]] = {
    "datadog": [{"field": "source_severity", "map": _P1_TO_P5}],
    "opsgenie": [{"field": "source_severity", "map": _P1_TO_P5}],
    # PagerDuty priority when the account uses priorities, else the urgency every incident has.
    "pagerduty": [
        {"field": "tags.priority", "map": _P1_TO_P5},
        {"field": "tags.urgency", "map": {"high": "SEV2", "low": "SEV4"}},
    ],
    "sentry": [
        {
            "field": "source_severity",
            "map": {
                "fatal": "SEV1",
                "critical": "SEV2",
                "error": "SEV3",
                "warning": "SEV4",
                "info": "SEV4",
                "debug": "SEV4",
            },
        }
    ],
    "alertmanager": [{"field": "source_severity", "map": _LABEL_SEVERITY}],
    "grafana": [{"field": "source_severity", "map": _LABEL_SEVERITY}],
}

DEFAULTS: dict[str, Any] = {
    "severity": "SEV3",
    "group_by": ["team", "service"],
    "group_window": "1h",
    "group_wait": "30s",
    "resolve_quiet": "5m",
    "flapping": {"state_changes": 6, "window": "30m", "hold": "30m"},
}
