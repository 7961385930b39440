"""One message to one channel, exactly once: the ledger, the shared rate limit, Retry-After,
repair, the outbox, and what a sent message changes (workers/jobs.py calls `deliver_once`).

THE retry and wait policy, all of it, is here and in RQ's Retry (app/notifications.py):

- a message the ledger says was sent is skipped; one another worker is sending is retried
  later; one an earlier attempt may have made ("unsure") is looked for before it is sent;
- a slot of the destination's shared rate limit is taken before a call: a short wait here,
  a long one goes back to RQ (MAX_INLINE_WAIT_SECONDS);
- a 429 asking for a short pause gets one more call after it, in this job; longer pauses
  go back to RQ, whose retry intervals grow past them;
- a message the vendor refuses for naming what it does not have goes once more without it
  (the channel's `repair`), and the timeline says what was left out;
- a refusal the vendor means (a 4xx) is final: the ledger keeps it failed, the timeline says
  so, no retry; anything else is raised for RQ to retry, the ledger remembering whether the
  vendor may have acted.

A channel's `send` never retries; this module never knows which channel it is talking to.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from typing import Any

from rq.exceptions import ShutDownImminentException
from rq.timeouts import JobTimeoutException

from app.logs import log
from app.store.ledger import Begun
from workers.channels import (
    MAYBE_MADE,
    DeliveryError,
    FailureReason,
    Notifier,
    OutboundMessage,
    Receipt,
)
from workers.runtime import Runtime

logger = logging.getLogger("klaxon.jobs")
MAX_INLINE_WAIT_SECONDS = 5.0  # longer waits go back to RQ rather than hold a worker
MAX_LIMIT_WAITS = 3
ALREADY_SENT = "already sent"
FAILED = "failed"  # refused for good: the ledger keeps it failed, a later try may send


def deliver_once(
    rt: Runtime,
    channel: Notifier,
    message: OutboundMessage,
    state: dict[str, str],
    outbox_only: bool = False,
) -> str:
    """Send one message unless the ledger says it was sent; record what it changed (and add
    it to `state`). Returns the vendor id, ALREADY_SENT or FAILED. `outbox_only` (a fire
    drill): to the outbox whatever credentials there are.

    Raises:
        DeliveryError: worth retrying later (RQ does); the ledger says how far it got."""
    begun = rt.ledger.begin(
        message.idempotency_key, message.channel, message.incident_id, message.action
    )
    if begun is Begun.SENT:
        return ALREADY_SENT
    if begun is Begun.BUSY:
        raise DeliveryError(
            message.channel, FailureReason.CONNECTION, "another worker is sending this message"
        )
    message = with_state(message, state)
    credentials = (
        None if outbox_only else channel.credentials_for(rt.credentials.get(channel.name), message)
    )
    receipt: Receipt | None
    if credentials is None:
        entry = rt.outbox.add(_outbox_entry(message))
        receipt = Receipt(message.channel, vendor_id=f"outbox-{entry}")
    else:
        _take_rate_limit_slot(rt, channel, message)
        if channel.repeat_by_text:
            message = _as_first_sent(rt, message)
        try:
            found = channel.already_made(message, credentials) if begun is Begun.UNSURE else None
            receipt = found or _send_or_refuse(rt, channel, message, credentials)
        except (ShutDownImminentException, JobTimeoutException):
            # Interrupted mid-call (the SIGTERM grace ran out, or the job's timeout): the
            # vendor may have acted. The retry RQ makes is told "unsure" and looks first, as
            # after a crash, instead of finding the message busy until the lease runs out.
            rt.ledger.fail(message.idempotency_key, "interrupted during the call", maybe_made=True)
            raise
        if receipt is None:
            return FAILED
    changes = channel.state_changes(message, receipt)
    if not channel.on_timeline(message):
        rt.ledger.complete(message.idempotency_key, receipt.vendor_id, receipt.detail)
        state.update(changes)  # such a message changes nothing of the incident (none do yet)
        return receipt.vendor_id
    # One transaction: the ledger's "sent", the ids later messages need and the timeline entry
    # land together (and in one round trip), or not at all.
    with rt.redis.pipeline() as pipe:
        rt.ledger.complete(message.idempotency_key, receipt.vendor_id, receipt.detail, pipe)
        where = "outbox" if credentials is None else receipt.vendor_id
        note = f": {receipt.detail['note']}" if receipt.detail.get("note") else ""
        rt.incidents.record_notified(
            message.incident_id,
            changes,
            f"{message.channel} {message.action} for {message.event} ({where}){note}",
            pipe,
            channel=message.channel.value,
            action=message.action,
            vendor_id=receipt.vendor_id,
        )
        pipe.execute()
    state.update(changes)
    return receipt.vendor_id


def with_state(message: OutboundMessage, state: dict[str, str]) -> OutboundMessage:
    """The message with each target naming a state field ("$slack_channel") given what an
    earlier message recorded there, in this job or before: a channel's build is pure and
    runs before its first message is sent, so a message that needs what an earlier one of
    the same event made (Slack's sitrep, in the channel the create made) names it."""
    if not any(value.startswith("$") for value in message.target.values()):
        return message
    target = {
        name: state.get(value[1:], "") if value.startswith("$") else value
        for name, value in message.target.items()
    }
    return replace(message, target=target)


def _send_or_refuse(
    rt: Runtime, channel: Notifier, message: OutboundMessage, credentials: Any
) -> Receipt | None:
    """The receipt, or None when the vendor refused the message for good (the ledger and the
    timeline say so). A failure worth retrying is raised, the ledger remembering whether the
    vendor may have acted on the call (no answer: a timeout, a dropped connection)."""
    try:
        return _send(rt, channel, message, credentials)
    except DeliveryError as error:
        rt.ledger.fail(
            message.idempotency_key,
            str(error),
            final=not error.retryable,
            maybe_made=error.reason in MAYBE_MADE,
        )
        if error.retryable:
            raise
        if not channel.on_timeline(message):
            log(
                logger,
                "refused for good",
                logging.WARNING,
                incident=message.incident_id,
                key=message.idempotency_key,
                error=str(error),
            )
            return None
        rt.incidents.add_timeline(
            message.incident_id,
            "delivery_failed",
            f"{message.channel} {message.action} failed and will not be retried: {error}",
            channel=message.channel.value,
        )
        return None


def _send(rt: Runtime, channel: Notifier, message: OutboundMessage, credentials: Any) -> Receipt:
    """The calls of one attempt: one, one more after a short Retry-After, and a repaired one
    (with its own short pause)."""
    note, paused, repaired = "", False, False
    while True:
        try:
            receipt = channel.send(message, credentials)
            break
        except DeliveryError as error:
            if error.reason is FailureReason.DUPLICATE:  # the vendor already has it
                return channel.duplicate(message, credentials, error)
            pause = _short_pause(error)
            if pause is not None and not paused:
                time.sleep(pause)
                paused = True
                continue
            fix = None if repaired else channel.repair(message, credentials, error)
            if fix is None:
                raise
            message, note = fix
            paused, repaired = False, True
            log(
                logger,
                "sending again without what the vendor does not have",
                logging.WARNING,
                incident=message.incident_id,
                key=message.idempotency_key,
                note=note,
            )
            _take_rate_limit_slot(rt, channel, message)
    return replace(receipt, detail=receipt.detail | {"note": note}) if note else receipt


def _short_pause(error: DeliveryError) -> float | None:
    """The pause a 429 asks for, if short enough to wait for in this job."""
    pause = error.retry_after
    if error.reason is not FailureReason.RATE_LIMITED or pause is None:
        return None
    return max(pause, 0.0) if pause <= MAX_INLINE_WAIT_SECONDS else None


def _take_rate_limit_slot(rt: Runtime, channel: Notifier, message: OutboundMessage) -> None:
    """Take a slot of the destination's shared budget; wait briefly, or give the job back."""
    if channel.rate_limit is None:
        return
    destination = channel.destination(message)
    for _ in range(MAX_LIMIT_WAITS):
        wait = rt.limiter.acquire(message.channel.value, destination, channel.rate_limit)
        if wait <= 0:
            return
        if wait > MAX_INLINE_WAIT_SECONDS:
            break
        time.sleep(wait)
    rt.ledger.fail(message.idempotency_key, "rate limited before sending")
    raise DeliveryError(
        message.channel,
        FailureReason.RATE_LIMITED,
        "the destination's shared rate limit is used up",
        retry_after=wait,
    )


def _as_first_sent(rt: Runtime, message: OutboundMessage) -> OutboundMessage:
    """The message with the text of its first attempt (Notifier.repeat_by_text)."""
    text = message.body.get("text")
    if not isinstance(text, str) or not text:
        return message  # the channel's send refuses a message without text; nothing to keep
    return replace(
        message, body=message.body | {"text": rt.ledger.first_body(message.idempotency_key, text)}
    )


def _outbox_entry(message: OutboundMessage) -> dict[str, Any]:
    entry = asdict(message)
    entry["channel"] = message.channel.value
    return entry
