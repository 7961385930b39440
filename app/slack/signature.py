"""Slack's v0 request signature (https://docs.slack.dev/authentication/verifying-requests-from-slack/):
HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the app's signing secret, checked by the
official slack_sdk verifier on the raw bytes, with the request's timestamp within ±5 minutes of
the Klaxon clock (so the virtual clock of the tests applies). Errors never carry the secret."""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier

from app.clock import Clock
from app.errors import Unauthorized

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
MAX_SKEW_SECONDS = 300  # Slack's own rule: "more than five minutes from local time"


class _ClockAdapter:
    """slack_sdk's verifier asks `clock.now()`; Klaxon's clock answers the same question."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()


def verify(secret: str, timestamp: str, signature: str, body: bytes, clock: Clock) -> str:
    """The request's signature when `body` was signed by Slack within the last five minutes
    (`timestamp` and `signature`: the X-Slack-Request-Timestamp and X-Slack-Signature headers).

    Raises:
        Unauthorized: no secret configured (fail closed), headers missing or malformed, a stale
            or future timestamp, or a signature that does not match.
    """
    if not secret:
        raise Unauthorized(
            "slack: requests are refused: SLACK_SIGNING_SECRET is not set (fail closed)",
            source="slack",
        )
    timestamp, signature = timestamp.strip(), signature.strip()
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthorized(f"slack: missing or malformed {TIMESTAMP_HEADER}", source="slack")
    if not signature.startswith("v0=") or not signature.isascii():
        raise Unauthorized(f"slack: missing or malformed {SIGNATURE_HEADER}", source="slack")
    if abs(clock.now() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise Unauthorized(
            f"slack: {TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS} s from this server's "
            "clock (a replayed request, or a clock to fix)",
            source="slack",
        )
    try:
        body.decode("utf-8")  # slack_sdk decodes it, and raises on bytes that are not UTF-8
    except UnicodeDecodeError:
        raise Unauthorized(
            "slack: the body is not UTF-8, so not signed by Slack", source="slack"
        ) from None
    verifier = SignatureVerifier(secret, clock=_ClockAdapter(clock))  # type: ignore[arg-type]
    if not verifier.is_valid(body, timestamp, signature):
        raise Unauthorized(
            f"slack: signature in {SIGNATURE_HEADER} does not match the request body",
            source="slack",
        )
    return signature
