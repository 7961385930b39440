"""RQ entry points, kept thin: load fresh state by id -> render -> plan -> send once -> record.

One lifecycle event is told in two parts, each its own job (docs/decisions.md 11):
`notify(incident_id, event, seq, reason, update)` pages the responders (PagerDuty, Opsgenie)
and, first, enqueues `notify_public(...)` with the same arguments when the event has a public
part (status page, X), which runs on its own queue and workers: a page never waits for
Statuspage's one call a second or a slow vendor. Each outbound effect goes through the
ledger, so a retried job, a second worker, or a worker killed between a call and its record
never pages, posts or updates twice. A channel without credentials writes to the outbox
instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

import redis
from rq import get_current_job
from rq.exceptions import ShutDownImminentException
from rq.timeouts import JobTimeoutException

from app import DEFAULT_REDIS_URL
from app.clock import Clock, SystemClock
from app.drill import DRILL, is_drill_incident
from app.logs import log
from app.merging import is_merged_child, merge_with_concurrent, release_open_children
from app.notifications import PUBLIC_JOB, enqueue_notification, enqueue_public_notification
from app.ruleset import RuleSet, is_in_business_hours, load_ruleset
from app.ruleset.model import Team
from app.ruleset.vocabulary import PageMode
from app.settings import Settings
from app.store import keys
from app.store.connection import connect
from app.store.incidents import IncidentStore
from app.store.ledger import Ledger
from app.store.outbox import Outbox
from app.store.ratelimit import RateLimiter
from app.store.timers import Timers
from workers import credentials as creds
from workers.context import MessageEvent, NotificationContext
from workers.incident_context import build_context, load_incident
from workers.incident_timers import IncidentTimers
from workers.job_metrics import record_send
from workers.notifiers import Channel, DeliveryError, FailureReason, OutboundMessage, Receipt
from workers.outbound import plan, wanted_channels
from workers.render import (
    PUBLIC_CHANNELS,
    NoMessage,
    Rendered,
    environment,
    has_message,
    render,
    resolved,
)

logger = logging.getLogger("klaxon.jobs")
MAX_INLINE_WAIT_SECONDS = 5.0  # longer waits go back to RQ rather than hold a worker
MAX_LIMIT_WAITS = 3
LOST_POST = {  # what an X post whose id stays unknown costs the thread
    "post": "its id is unknown, so the next update starts a new post instead of replying",
    "reply": "its id is unknown, so the next update replies to the post before it",
}
CHANNEL_FOLDERS = {channel.value for channel in Channel}
# A drill's pages are planned as PagerDuty's (the real renderer and planner) for a team whose
# routing key variable is never read: deliver_once(outbox_only=True) writes them to the outbox.
DRILL_TEAM = Team(DRILL, "fire drill (app/drill.py)", routing_key_env="KLAXON_DRILL_NO_KEY")


class Runtime:
    """What jobs share in one worker process: built once, from the environment."""

    def __init__(
        self,
        settings: Settings,
        connection: redis.Redis,
        ruleset: RuleSet,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.redis = connection
        self.clock = clock or SystemClock()
        self.ruleset = ruleset
        self.incidents = IncidentStore(
            connection, self.clock, settings.delivery_ttl_seconds, settings.storage
        )
        self.ledger = Ledger(connection, self.clock, settings.storage.retention_seconds)
        self.outbox = Outbox(connection, self.clock, settings.storage.outbox_max)
        self.limiter = RateLimiter(connection, self.clock)
        self.credentials = creds.Credentials(settings, ruleset)


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    if _overrides:
        return _overrides[-1]
    settings = Settings.from_env()
    return Runtime(
        settings, connect(settings.redis_url or DEFAULT_REDIS_URL), load_ruleset(settings.rules_dir)
    )


_overrides: list[Runtime] = []


@contextmanager
def running_with(rt: Runtime) -> Iterator[None]:
    """Run jobs in this process with a given runtime (another clock, another Redis)."""
    runtime.cache_clear()
    _overrides.append(rt)
    try:
        yield
    finally:
        _overrides.pop()
        runtime.cache_clear()


def warm_up() -> None:
    """Load the rules, compile every template and load the vendors' HTTP stacks before the
    first job (and before `python -m workers` forks its worker processes, which then share
    them)."""
    rt = runtime()
    templates = environment(resolved(rt.settings.templates_dir))  # the one render() uses
    for name in templates.list_templates(extensions=["j2"]):
        if name.split("/")[0] in CHANNEL_FOLDERS:  # web/ and postmortem/ belong to the app
            templates.get_template(name)
    rt.credentials.warm_up()


def notify(
    incident_id: str,
    event: str,
    seq: str = "",
    reason: str = "",
    update: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The responders' part of one lifecycle event; what starts or follows from it (the ack
    and update clocks, the post-mortem's due date) is done here, the part every event has."""
    rt = runtime()
    if event == MessageEvent.DECLARED.value:  # before anyone is told (issue 13)
        merge_with_concurrent(rt.incidents, rt.ruleset, incident_id)
    told = _load_event(rt, incident_id, event, reason, update)
    if told is None:
        return {}
    if _has_public_part(rt, told):  # before the pages: both parts run at once
        enqueue_public_notification(rt.redis, incident_id, event, seq, reason, update)
    results = _tell(rt, told, told.channels(public=False), seq)
    if told.ctx.event is MessageEvent.DECLARED and not told.drill:
        IncidentTimers(rt.redis, rt.incidents, rt.ruleset).start_clocks(incident_id)
    if told.ctx.event is MessageEvent.RESOLVED and not told.drill:
        _schedule_postmortem(rt, told.ctx)
        for child in release_open_children(rt.incidents, incident_id):
            reason = f"{incident_id} resolved while it was open"
            enqueue_notification(rt.redis, child, MessageEvent.DECLARED.value, "released", reason)
    _fail_if_refused(results)
    return results


def notify_public(
    incident_id: str,
    event: str,
    seq: str = "",
    reason: str = "",
    update: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The public part of one lifecycle event (status page, X), as the incident is when it
    runs: after the incident's earlier public parts, whatever the pages are doing."""
    rt = runtime()
    told = _load_event(rt, incident_id, event, reason, update)
    if told is None:
        return {}
    results = _tell(rt, told, told.channels(public=True), seq)
    _fail_if_refused(results)
    return results


@dataclass(frozen=True, slots=True)
class EventToTell:
    """A lifecycle event as a job finds it: the context, the team, what the channels already
    carry, and which channels the policy wants told, in the order they are told."""

    ctx: NotificationContext
    team: Team | None
    state: dict[str, str]
    wanted: list[Channel]
    drill: bool = False  # a fire drill (app/drill.py): the outbox only, never a public channel

    def channels(self, public: bool) -> list[Channel]:
        """The wanted channels of one part: the public ones, or the responders'."""
        return [channel for channel in self.wanted if (channel in PUBLIC_CHANNELS) == public]


def _load_event(
    rt: Runtime, incident_id: str, event: str, reason: str, update: dict[str, Any] | None
) -> EventToTell | None:
    """None when there is nothing to tell (no such incident, or a severity raised during
    group_wait: the declaration carries the new severity)."""
    loaded = load_incident(
        rt.redis, incident_id, every_service=bool(rt.ruleset.statuspage_components)
    )
    ctx = build_context(
        rt.incidents,
        rt.ruleset,
        incident_id,
        MessageEvent(event),
        reason,
        rt.settings.public_url,
        rt.clock.now(),
        update,
        loaded,
    )
    if (
        ctx is None
        or loaded is None
        or (ctx.event is MessageEvent.SEVERITY_RAISED and "declared_at" not in loaded.incident)
    ):
        return None
    state = channel_state(loaded.incident)
    # A merged child: its parent speaks for the outage (one page, one public incident). Only
    # what the child itself opened before the merge is still closed when it resolves.
    if is_merged_child(loaded.incident) and (ctx.event is not MessageEvent.RESOLVED or not state):
        return None
    if is_drill_incident(loaded.incident):
        return EventToTell(ctx, DRILL_TEAM, state, [Channel.PAGERDUTY], drill=True)
    team = rt.ruleset.teams.get(ctx.incident["team"])
    sources = {alert["source"] for alert in ctx.alerts}
    return EventToTell(
        ctx, team, state, wanted_channels(ctx, team, state, sources, _pages(ctx, rt.ruleset, team))
    )


def _has_public_part(rt: Runtime, told: EventToTell) -> bool:
    """A public channel has something to say about this event, and the policy wants it or an
    earlier public part of the incident was enqueued. That one may not have run yet (this job
    does not wait for it), so the state read here need not show the status-page incident or X
    thread it opens; the public part itself decides, once its predecessors are done."""
    speaking = [channel for channel in PUBLIC_CHANNELS if has_message(channel, told.ctx.event)]
    if not speaking:
        return False  # customers hear nothing of acknowledgements, escalations, reminders
    return any(channel in told.wanted for channel in speaking) or bool(
        rt.redis.exists(keys.incident_last_public_job(told.ctx.incident["id"]))
    )


def _tell(rt: Runtime, told: EventToTell, channels: list[Channel], seq: str) -> dict[str, str]:
    """Send every message of these channels once; returns idempotency key -> outcome.

    Raises:
        DeliveryError: a message worth retrying failed; RQ retries the job and the ledger
            skips what was sent."""
    results: dict[str, str] = {}
    retry_later: list[DeliveryError] = []
    for channel in channels:
        started = time.perf_counter()
        failures = len(retry_later)
        try:
            rendered: Rendered | None = render(
                channel, told.ctx.event, told.ctx, rt.settings.templates_dir
            )
        except NoMessage:  # no text for this event; PagerDuty ack/resolve need none
            rendered = None
        told_ok = True
        for message in plan(
            channel, told.ctx, rendered, told.team, told.state, seq or "0", rt.ruleset.teams
        ):
            try:
                result = deliver_once(rt, message, told.state, outbox_only=told.drill)
                results[message.idempotency_key] = result
                told_ok = told_ok and result != "failed"
            except DeliveryError as error:
                retry_later.append(error)
                break  # later messages of this channel depend on this one
        failed = not told_ok or len(retry_later) > failures
        record_send(rt.redis, channel.value, time.perf_counter() - started, failed)
    if retry_later:
        raise retry_later[0]
    return results


def _fail_if_refused(results: dict[str, str]) -> None:
    refused = sorted(key for key, result in results.items() if result == "failed")
    if refused:
        _end_without_retries()
        raise MessagesRefused(refused)


class MessagesRefused(Exception):
    """A vendor refused a message for good (a 4xx other than 429: a bad routing key, a revoked
    token, a payload it will not take). Everything else of the job was done; the job still
    ends failed, so the refusal is in `klaxon failed` and reported, and a requeue after the
    fix sends just that message (the ledger keeps it failed, the rest sent)."""

    def __init__(self, keys_refused: list[str]) -> None:
        super().__init__(f"refused for good: {', '.join(keys_refused)}")
        self.keys_refused = keys_refused


def _end_without_retries() -> None:
    """RQ's retries would only be refused again: the job fails at once (a requeue by hand,
    after the cause is fixed, runs it again)."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def _schedule_postmortem(rt: Runtime, ctx: NotificationContext) -> None:
    """SEV1/SEV2 (by default): the post-mortem draft is due a while after resolution."""
    due = ctx.policy["postmortem_due_seconds"]
    if due and ctx.incident["resolved_at"]:
        Timers(rt.redis).schedule(
            "postmortem", ctx.incident["id"], ctx.incident["resolved_at"] + due
        )


def deliver_once(
    rt: Runtime, message: OutboundMessage, state: dict[str, str], outbox_only: bool = False
) -> str:
    """Send one message unless the ledger says it was sent; record what it changed.
    `outbox_only` (a fire drill): to the outbox whatever credentials there are."""
    begun = rt.ledger.begin(
        message.idempotency_key, message.channel, message.incident_id, message.action
    )
    if begun == "sent":
        return "already sent"
    if begun == "busy":
        raise DeliveryError(
            message.channel, FailureReason.CONNECTION, "another worker is sending this message"
        )
    credentials = None if outbox_only else rt.credentials.for_message(message)
    if credentials is None:
        entry = rt.outbox.add(_outbox_entry(message))
        receipt = Receipt(message.channel, vendor_id=f"outbox-{entry}")
    else:
        _wait_for_rate_limit(rt, message)
        message = _as_first_sent(rt, message)
        try:
            receipt = (_already_made(message, credentials) if begun == "unsure" else None) or _send(
                rt, message, credentials
            )
        except (ShutDownImminentException, JobTimeoutException):
            # Interrupted mid-call (the SIGTERM grace ran out, or the job's timeout): the
            # vendor may have acted. The retry RQ makes is told "unsure" and looks first, as
            # after a crash, instead of finding the message busy until the lease runs out.
            rt.ledger.fail(message.idempotency_key, "interrupted during the call", maybe_made=True)
            raise
        if receipt.vendor_id == "failed":  # the ledger keeps it failed: a later try may send
            return "failed"
    # One transaction: the ledger's "sent", the ids later messages need and the timeline entry
    # land together (and in one round trip), or not at all.
    with rt.redis.pipeline() as pipe:
        rt.ledger.complete(message.idempotency_key, receipt.vendor_id, receipt.detail, pipe)
        changes = _record(rt, message, receipt, outbox=credentials is None, pipe=pipe)
        pipe.execute()
    state.update(changes)
    return receipt.vendor_id


def _as_first_sent(rt: Runtime, message: OutboundMessage) -> OutboundMessage:
    """An X post carries the text of its first attempt: X recognises a repeat, and a lost post
    is found, only by the exact text, and a retry a minute later renders another one. Other
    vendors recognise a repeat by its key (PagerDuty, Opsgenie) or Klaxon's marker (Statuspage)
    and get what is rendered now."""
    text = message.body.get("text")
    if message.channel is not Channel.X or not isinstance(text, str) or not text:
        return message  # x.send refuses a post without text; nothing to keep
    return replace(
        message, body=message.body | {"text": rt.ledger.first_body(message.idempotency_key, text)}
    )


def _already_made(message: OutboundMessage, credentials: Any) -> Receipt | None:
    """An earlier attempt began this call and never recorded the answer (its worker died):
    what it made, for the channels that can tell (creds.FINDERS)."""
    find = creds.FINDERS.get(message.channel)
    if find is None:
        return None
    try:
        return find(message, credentials)
    except DeliveryError as error:
        if message.channel is not Channel.X:
            raise  # creating blind could open a second public incident: RQ tries again later
        # Posting blind cannot post twice (X refuses the same text), and if X refuses it,
        # _posted_before looks again.
        log(
            logger,
            "could not look for a lost X post",
            logging.WARNING,
            incident=message.incident_id,
            key=message.idempotency_key,
            error=str(error),
        )
        return None


def _posted_before(message: OutboundMessage, credentials: Any) -> Receipt:
    """X refused the post as duplicate content: an earlier attempt made it and its answer was
    lost. Find it, so the next update replies to it; failing that, count it as posted, as X
    says, and say in the receipt (and so on the timeline) what the thread loses."""
    try:
        found = creds.FINDERS[Channel.X](message, credentials)
        why = "none of the account's recent posts has it"
    except DeliveryError as error:
        found, why = None, f"looking it up failed ({error})"
    return found or Receipt(
        message.channel,
        vendor_id="duplicate",
        detail={"note": f"X already had this text but {why}: {LOST_POST[message.action]}"},
    )


def _wait_for_rate_limit(rt: Runtime, message: OutboundMessage) -> None:
    """Take a slot of the destination's shared budget; wait briefly, or give the job back."""
    destination = str(message.body.get("routing_key") or message.channel)
    for _ in range(MAX_LIMIT_WAITS):
        wait = rt.limiter.acquire(message.channel.value, destination)
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


def _send(rt: Runtime, message: OutboundMessage, credentials: Any) -> Receipt:
    try:
        return _send_repairing(rt, message, credentials)
    except DeliveryError as error:
        if error.reason is FailureReason.DUPLICATE:  # X: the same text was already posted
            return _posted_before(message, credentials)
        # No answer (timeout, dropped connection): the vendor may have acted on the call.
        rt.ledger.fail(
            message.idempotency_key,
            str(error),
            final=not error.retryable,
            maybe_made=error.reason in (FailureReason.TIMEOUT, FailureReason.CONNECTION),
        )
        if not error.retryable:
            _timeline(
                rt,
                message.incident_id,
                "delivery_failed",
                f"{message.channel} {message.action} failed and will not be retried: {error}",
                channel=message.channel.value,
            )
            return Receipt(message.channel, vendor_id="failed")
        raise


def _send_repairing(rt: Runtime, message: OutboundMessage, credentials: Any) -> Receipt:
    """One call; a message the vendor refuses for naming what it does not have (creds.REPAIRS:
    a Statuspage component gone from the page) goes once more without it, and the receipt (so
    the timeline) says what was left out."""
    try:
        return _send_honouring_retry_after(message, credentials)
    except DeliveryError as error:
        repair = creds.REPAIRS.get(message.channel)
        repaired = repair(message, credentials, error) if repair else None
        if repaired is None:
            raise
        message, note = repaired
    log(
        logger,
        "sending again without what the vendor does not have",
        logging.WARNING,
        incident=message.incident_id,
        key=message.idempotency_key,
        note=note,
    )
    _wait_for_rate_limit(rt, message)
    receipt = _send_honouring_retry_after(message, credentials)
    return replace(receipt, detail=receipt.detail | {"note": note})


def _send_honouring_retry_after(message: OutboundMessage, credentials: Any) -> Receipt:
    """One call; a 429 asking for a short pause gets one more call after it, in this job.
    Longer pauses go back to RQ, whose retry intervals grow past them."""
    try:
        return creds.SENDERS[message.channel](message, credentials)
    except DeliveryError as error:
        pause = error.retry_after
        if (
            error.reason is not FailureReason.RATE_LIMITED
            or pause is None
            or pause > MAX_INLINE_WAIT_SECONDS
        ):
            raise
        time.sleep(max(pause, 0.0))
        return creds.SENDERS[message.channel](message, credentials)


def _record(
    rt: Runtime,
    message: OutboundMessage,
    receipt: Receipt,
    outbox: bool,
    pipe: redis.client.Pipeline,
) -> dict[str, str]:
    """Keep the ids later messages need (status-page incident, X thread) and say so, on
    `pipe`; returns the incident fields it sets."""
    changes = _state_changes(message, receipt)
    if changes:
        # redis-py's `mapping` is Mapping[bytes | str | int | ..., ...]: Mapping's key type is
        # invariant, so no dict[str, str] variable fits it (only a literal, typed in place).
        pipe.hset(keys.incident(message.incident_id), mapping=changes)  # type: ignore[arg-type]
    where = "outbox" if outbox else receipt.vendor_id
    note = f": {receipt.detail['note']}" if receipt.detail.get("note") else ""
    _timeline(
        rt,
        message.incident_id,
        "notified",
        f"{message.channel} {message.action} for {message.event} ({where}){note}",
        channel=message.channel.value,
        action=message.action,
        vendor_id=receipt.vendor_id,
        pipe=pipe,
    )
    return changes


def _state_changes(message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
    action, vendor_id = f"{message.channel}:{message.action}", receipt.vendor_id
    if vendor_id == "duplicate":  # X had it already: the post id is unknown
        return {}
    # The components Statuspage accepted stay on the incident's list until it resolves.
    components = (
        {"statuspage_components": receipt.detail["components"]}
        if receipt.detail.get("components")
        else {}
    )
    return {
        "statuspage:create": {"statuspage_id": vendor_id} | components,
        "statuspage:update": components,
        "x:post": {"x_last_id": vendor_id, "x_root_id": vendor_id},
        "x:reply": {"x_last_id": vendor_id},
        "pagerduty:trigger": {"pagerduty_reminders_open": "1"}
        if message.body.get("dedup_key", "").endswith(":reminders")
        else {"pagerduty_open": "1"},
        "pagerduty:resolve": {"pagerduty_open": ""},
        "opsgenie:create": {"opsgenie_open": "1"},
        "opsgenie:close": {"opsgenie_open": ""},
    }.get(action, {})


CHANNEL_STATE = (
    "statuspage_id",
    "statuspage_components",
    "x_last_id",
    "x_root_id",
    "pagerduty_open",
    "opsgenie_open",
    "pagerduty_reminders_open",
)


def channel_state(incident: dict[str, str]) -> dict[str, str]:
    """What the channels already carry for this incident, from its stored hash."""
    return {name: incident[name] for name in CHANNEL_STATE if incident.get(name)}


def _pages(ctx: NotificationContext, ruleset: RuleSet, team: Any) -> bool:
    mode = PageMode(ctx.policy["page"])
    if mode is PageMode.NOW:
        return True
    return (
        mode is PageMode.BUSINESS_HOURS and team is not None and is_in_business_hours(team, ctx.now)
    )


def _outbox_entry(message: OutboundMessage) -> dict[str, Any]:
    entry = asdict(message)
    entry["channel"] = message.channel.value
    return entry


def _timeline(
    rt: Runtime,
    incident_id: str,
    kind: str,
    text: str,
    pipe: redis.client.Pipeline | None = None,
    **data: Any,
) -> None:
    (pipe if pipe is not None else rt.redis).xadd(
        keys.incident_timeline(incident_id),
        {"at": repr(rt.clock.now()), "kind": kind, "text": text, "data": json.dumps(data)},
        maxlen=5000,
        approximate=True,
    )


def record_final_failure(
    job: Any, connection: redis.Redis, exc_type: Any, value: Any, traceback: Any
) -> None:
    """RQ calls this on every failed attempt; only the last one goes on the timeline."""
    if job.retries_left:
        return
    incident_id = job.args[0] if job.args else ""
    log(
        logger,
        "notification failed for good",
        logging.ERROR,
        incident=incident_id,
        job=job.id,
        error=str(value)[:300],
    )
    if incident_id:
        how = "was refused" if isinstance(value, MessagesRefused) else "failed after every retry"
        part = (
            "public notification (status page, X)"
            if job.func_name == PUBLIC_JOB
            else "notification"
        )
        _timeline(
            runtime(),
            incident_id,
            "delivery_failed",
            f"{part} {job.args[1]} {how}: {str(value)[:300]}; once the cause is "
            f"fixed, requeue with `klaxon failed --requeue {job.id}`",
        )
