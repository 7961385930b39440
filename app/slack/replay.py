"""Each signed Slack request is handled once: a signature seen inside the freshness window is
a replay (a captured request sent again), and an Events API event id seen before is Slack
retrying a delivery we already took. One SET NX per request (keys.slack_seen)."""

from __future__ import annotations

import redis

from app.errors import Unauthorized
from app.store import keys


def window_seconds(skew_seconds: int) -> int:
    """How long a request is remembered: past the freshness window on both sides, so a replay
    is either remembered or refused as stale; Slack's event retries (after 1 and 5 minutes)
    fit in it too."""
    return 2 * max(skew_seconds, 300) + 60


def first_time(connection: redis.Redis, kind: str, value: str, skew_seconds: int) -> bool:
    """True the first time (kind, value) is seen inside the window."""
    return bool(
        connection.set(keys.slack_seen(kind, value), "1", nx=True, ex=window_seconds(skew_seconds))
    )


def refuse_replay(connection: redis.Redis, signature: str, skew_seconds: int) -> None:
    """Raises Unauthorized for a signature already handled inside the window."""
    if not first_time(connection, "signature", signature, skew_seconds):
        raise Unauthorized(
            "slack: this signed request was already received (a replay)", source="slack"
        )
