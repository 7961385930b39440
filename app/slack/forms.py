"""The status-update form (a Slack modal) opened by `/klaxon update` without a message and by
the sitrep's Post update button, and reading what was submitted. Building and reading are
pure; opening it is one views.open call with the request's trigger_id, which Slack honours
for 3 s only, so it happens in the request with a short timeout."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from app.store.incidents import STATUSES

CALLBACK_ID = "klaxon_update"
STATUS_BLOCK, STATUS_ACTION = "status", "status_choice"
MESSAGE_BLOCK, MESSAGE_ACTION = "message", "message_text"
DEFAULT_API_URL = "https://slack.com/api/"
OPEN_TIMEOUT_SECONDS = 2  # trigger_id lives 3 s; the answer to Slack must fit in them too

log = logging.getLogger(__name__)


def update_form(incident_id: str, title: str, status: str = "") -> dict[str, Any]:
    """The modal's view: a status (preselected when given) and a message."""
    options = [{"text": {"type": "plain_text", "text": s}, "value": s} for s in STATUSES]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": STATUS_ACTION,
        "options": options,
    }
    if status in STATUSES:
        select["initial_option"] = options[STATUSES.index(status)]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": incident_id,
        "title": {"type": "plain_text", "text": "Post an update"},
        "submit": {"type": "plain_text", "text": "Post"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "plain_text", "text": f"{incident_id}: {title}"[:3000]},
            },
            {
                "type": "input",
                "block_id": STATUS_BLOCK,
                "label": {"type": "plain_text", "text": "Status"},
                "element": select,
            },
            {
                "type": "input",
                "block_id": MESSAGE_BLOCK,
                "label": {"type": "plain_text", "text": "What we know"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": MESSAGE_ACTION,
                    "multiline": True,
                    "max_length": 5000,
                },
            },
        ],
    }


def submitted_update(view: Mapping[str, Any]) -> tuple[str, str, str]:
    """(incident id, status, message) from a submitted form; "" for what is missing or not
    shaped as Slack sends it."""
    values = ("state", "values")
    return (
        _text_at(view, "private_metadata"),
        _text_at(view, *values, STATUS_BLOCK, STATUS_ACTION, "selected_option", "value"),
        _text_at(view, *values, MESSAGE_BLOCK, MESSAGE_ACTION, "value"),
    )


def _text_at(value: Any, *path: str) -> str:
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else ""


def api_url(outbound: Mapping[str, str]) -> str:
    """SLACK_API_URL with the trailing slash slack_sdk joins method names to."""
    return (outbound.get("SLACK_API_URL") or DEFAULT_API_URL).rstrip("/") + "/"


def open_form(outbound: Mapping[str, str], trigger_id: str, view: dict[str, Any]) -> bool:
    """Open the form; False when Slack is not configured or did not take it (the caller then
    answers with the command's words instead)."""
    token = outbound.get("SLACK_BOT_TOKEN", "")
    if not token or not trigger_id:
        return False
    client = WebClient(
        token=token,
        base_url=api_url(outbound),
        timeout=OPEN_TIMEOUT_SECONDS,
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except (SlackClientError, OSError) as exc:
        log.warning("slack: views.open failed: %s", type(exc).__name__)
        return False
    return True
