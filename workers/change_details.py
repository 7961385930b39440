"""The suspected changes in a page's structured details (issue 17): PagerDuty's custom_details
and Opsgenie's details. Kept apart from workers/outbound.py so the one line that calls each
function is all a channel needs."""

from __future__ import annotations

from typing import Any

from workers.context import NotificationContext

MAX_CHANGES_IN_DETAILS = 3  # the newest suspects; the incident page lists every one
OPSGENIE_DETAIL_MAX = 500  # Opsgenie details are a map of strings; keep each short


def pagerduty_details(ctx: NotificationContext) -> dict[str, Any]:
    """`suspected_changes` for PagerDuty's custom_details (any JSON), or nothing."""
    suspects = _suspects(ctx)
    if not suspects:
        return {}
    return {
        "suspected_changes": [
            {
                "service": c.get("service", ""),
                "version": c.get("version", ""),
                "description": c.get("description", ""),
                "who": c.get("who", ""),
                "when": c.get("when"),
                "minutes_before_onset": round(float(c.get("seconds_before_onset", 0)) / 60, 1),
                "rollback": c.get("rollback", ""),
                "link": c.get("link", ""),
            }
            for c in suspects
        ]
    }


def opsgenie_details(ctx: NotificationContext) -> dict[str, str]:
    """`suspected_change` (the newest) and its `rollback` for Opsgenie's details, or nothing:
    Opsgenie takes string values only."""
    suspects = _suspects(ctx)
    if not suspects:
        return {}
    newest = suspects[0]
    minutes = round(float(newest.get("seconds_before_onset", 0)) / 60)
    line = f"{newest.get('service', '')} {newest.get('version', '')}"
    if newest.get("who"):
        line += f" by {newest['who']}"
    line += f", {minutes} min before onset"
    details = {"suspected_change": line[:OPSGENIE_DETAIL_MAX]}
    if newest.get("rollback"):
        details["rollback"] = str(newest["rollback"])[:OPSGENIE_DETAIL_MAX]
    return details


def _suspects(ctx: NotificationContext) -> list[dict[str, Any]]:
    return [c for c in ctx.changes if not c.get("during_incident")][:MAX_CHANGES_IN_DETAILS]
