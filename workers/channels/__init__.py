"""Outbound channels: one module per vendor, each one `Notifier` (workers/channels/base.py).

Adding a channel is one module here, one line in `CHANNELS` (and its name in `Channel`), and
its templates in templates/<name>/; tests/test_channel_contract.py checks it has the shape.
Everything around `send` (the ledger, rate limits, Retry-After, repair, the outbox, the
timeline) is workers/delivery.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from app.messages import render
from app.messages.render import Field, Fixture
from workers.channels import opsgenie, pagerduty, slack, statuspage, subscribers, x
from workers.channels.base import (
    MAYBE_MADE,
    RETRYABLE,
    BaseNotifier,
    Channel,
    DeliveryError,
    FailureReason,
    Notifier,
    Occasion,
    OutboundMessage,
    RateLimit,
    Receipt,
)

# In the order a job tells them: pagers first.
CHANNELS: dict[Channel, Notifier] = {
    Channel.PAGERDUTY: pagerduty.NOTIFIER,
    Channel.OPSGENIE: opsgenie.NOTIFIER,
    Channel.STATUSPAGE: statuspage.NOTIFIER,
    Channel.X: x.NOTIFIER,
    Channel.SLACK: slack.NOTIFIER,
    Channel.SUBSCRIBERS: subscribers.NOTIFIER,
}


def wanted(occasion: Occasion, state: Mapping[str, str]) -> list[Channel]:
    """The channels that hear about this event, in the order they are told."""
    return [name for name, channel in CHANNELS.items() if channel.wants(occasion, state)]


def check_templates(
    templates_dir: Path | str, fixtures: Mapping[str, Fixture] | None = None
) -> list[str]:
    """Every problem of a templates directory for these channels (render.check_templates):
    what `klaxon rules check` and the release phase run."""
    return render.check_templates(templates_dir, CHANNELS.values(), fixtures)


__all__ = [
    "CHANNELS",
    "MAYBE_MADE",
    "RETRYABLE",
    "BaseNotifier",
    "Channel",
    "DeliveryError",
    "FailureReason",
    "Field",
    "Notifier",
    "Occasion",
    "OutboundMessage",
    "RateLimit",
    "Receipt",
    "check_templates",
    "wanted",
]
