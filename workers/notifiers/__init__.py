"""Outbound channels: one module per vendor with the same shape (Alertmanager's notifiers).

    build(ctx, rendered) -> list[OutboundMessage]   pure: what to send, no IO
    send(message, credentials) -> Receipt           one call over the vendor's SDK or HTTP;
                                                    raises DeliveryError, never retries itself
    already_made(message, credentials)              Statuspage and X only: what an earlier send
        -> Receipt | None                           made when its answer was lost (reads only)
    without_unknown_components(message,             Statuspage only: a refused message less the
        credentials, error) -> (message, note)      components its page does not have (reads
        | None                                      only; jobs.py sends it)

Retry, "already delivered?" (the outbound ledger), rate limits and the outbox are steps in
workers/jobs.py around `send`, never inside a notifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"
    STATUSPAGE = "statuspage"
    X = "x"


class FailureReason(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429 (Statuspage also 420): retry after Retry-After
    SERVER_ERROR = "server_error"  # 5xx: retry with backoff
    TIMEOUT = "timeout"  # no answer in time: retry with backoff
    CONNECTION = "connection"  # refused, reset, DNS: retry with backoff
    CLIENT_ERROR = "client_error"  # other 4xx: a bug or bad data; never retried
    AUTH = "auth"  # 401/403: credentials wrong; never retried
    DUPLICATE = "duplicate"  # the vendor says it already has it (X duplicate-content 403)


RETRYABLE = {
    FailureReason.RATE_LIMITED,
    FailureReason.SERVER_ERROR,
    FailureReason.TIMEOUT,
    FailureReason.CONNECTION,
}


class DeliveryError(Exception):
    """A send that failed; says whether trying again could help. Never carries a secret."""

    def __init__(
        self,
        channel: Channel,
        reason: FailureReason,
        detail: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"{channel}: {reason}"
            + (f" (HTTP {status})" if status else "")
            + (f": {detail[:300]}" if detail else "")
        )
        self.channel = channel
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One call to one vendor: exactly what would be sent, minus credentials.

    `body` is the vendor's JSON body (PagerDuty's routing_key appears as the *name* of its
    environment variable, `$PD_ROUTING_KEY_CHECKOUT`; the real key is added only in `send`).
    `idempotency_key` names the effect in the outbound ledger: the same key is sent once.
    """

    channel: Channel
    action: (
        str  # trigger/acknowledge/resolve, create/acknowledge/close/note, create/update, post/reply
    )
    incident_id: str
    event: str  # the lifecycle message that caused it: declared, update_posted, ...
    idempotency_key: str
    body: dict[str, Any]
    target: dict[str, str] = field(default_factory=dict)  # e.g. {"statuspage_incident": "..."}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the vendor answered that later messages need (ids to update or reply to)."""

    channel: Channel
    vendor_id: str = ""  # PagerDuty dedup_key, Opsgenie requestId, Statuspage incident id, post id
    detail: dict[str, Any] = field(default_factory=dict)
