"""Requests as Slack signs them (v0: HMAC-SHA256 of `v0:<ts>:<body>` with the signing secret,
https://docs.slack.dev/authentication/verifying-requests-from-slack/), for the /slack/* tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example's shape
SLACK_ENV = {"SLACK_SIGNING_SECRET": SIGNING_SECRET}


def signature(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, timestamp, secret),
    }


def send(client, path: str, body: bytes, now: float, content_type: str, **overrides: Any):
    timestamp = int(overrides.pop("timestamp", now))
    headers = signed_headers(body, timestamp, overrides.pop("secret", SIGNING_SECRET))
    headers.update(overrides.pop("headers", {}))
    return client.post(path, data=body, headers=headers, content_type=content_type)


def command_body(
    text: str,
    user_id: str = "U0CHKALICE",
    user_name: str = "alice.w",
    channel_id: str = "C0GENERAL",
    **extra: str,
) -> bytes:
    """A /klaxon slash command as Slack posts it (form-encoded)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": "T0001",
            "channel_id": channel_id,
            "user_id": user_id,
            "user_name": user_name,
            "command": "/klaxon",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
            "trigger_id": extra.pop("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            **extra,
        }
    ).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def button(
    action_id: str, incident_id: str, user_id: str = "U0CHKALICE", username: str = "alice.w"
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": username},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": "C0INC"},
        "actions": [{"action_id": action_id, "value": incident_id, "type": "button"}],
    }


def reaction(channel: str, ts: str, user: str = "U0PAYBOB", event_id: str = "Ev0PIN1") -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "event_id": event_id,
            "event": {
                "type": "reaction_added",
                "user": user,
                "reaction": "pushpin",
                "item": {"type": "message", "channel": channel, "ts": ts},
            },
        }
    ).encode()
