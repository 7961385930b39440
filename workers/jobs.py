"""RQ entry points, kept thin: load the incident by id -> for each channel: render, build,
deliver once (workers/delivery.py).

One lifecycle event is told in two parts, each its own job (docs/decisions.md 11):
`notify(incident_id, event, seq, reason, update)` pages the responders (the channels that are
not `public`) and, first, enqueues `notify_public(...)` with the same arguments when the event
has a public part (status page, X), which runs on its own queue and workers: a page never
waits for Statuspage's one call a second or a slow vendor. Each outbound effect goes through
the ledger, so a retried job, a second worker, or a worker killed between a call and its
record never pages, posts or updates twice. A channel without credentials writes to the
outbox instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from rq import get_current_job

from app.logs import log
from app.merging import merge_with_concurrent, release_open_children
from app.messages.context import MessageEvent, NotificationContext
from app.messages.render import NoMessage, Rendered, environment, has_message, render, resolved
from app.notifications import PUBLIC_JOB, enqueue_notification, enqueue_public_notification
from app.store import keys
from app.store.timers import Timers
from workers.channels import CHANNELS, Channel, DeliveryError
from workers.delivery import FAILED, deliver_once
from workers.incident_context import EventToTell, load_event
from workers.incident_timers import IncidentTimers
from workers.job_metrics import record_send
from workers.runtime import Runtime

__all__ = ["Runtime", "install", "notify", "notify_public", "runtime", "running_with"]

logger = logging.getLogger("klaxon.jobs")
# The one seam between a worker process and its jobs: RQ calls jobs by name with their
# arguments only, so what they share is found here. `python -m workers` installs the runtime
# it built before forking; a job run any other way (tests' in-process workers, `klaxon run`,
# the benchmarks) builds one from the environment on first use; tests push their own.
_installed: list[Runtime] = []


def install(rt: Runtime) -> None:
    """The runtime every job of this process uses (workers/__main__.py, before forking)."""
    _installed[:] = [rt]


def runtime() -> Runtime:
    if not _installed:
        _installed.append(Runtime.from_env())
    return _installed[-1]


def forget_runtime() -> None:
    """The next job builds its runtime from the environment again (tests that change it)."""
    _installed.clear()


@contextmanager
def running_with(rt: Runtime) -> Iterator[None]:
    """Run jobs in this process with a given runtime (another clock, another Redis)."""
    _installed.append(rt)
    try:
        yield
    finally:
        _installed.remove(rt)


def warm_up(rt: Runtime | None = None) -> None:
    """Compile every channel template and load the vendors' HTTP stacks before the first job
    (and before `python -m workers` forks its worker processes, which then share them)."""
    rt = rt or runtime()
    templates = environment(resolved(rt.settings.templates_dir))  # the one render() uses
    for name in templates.list_templates(extensions=["j2"]):
        if name.split("/")[0] in CHANNELS:  # web/ and postmortem/ belong to the app
            templates.get_template(name)
    rt.warm_up()


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
    told = load_event(rt, incident_id, event, seq, reason, update)
    if told is None:
        return {}
    if _has_public_part(rt, told):  # before the pages: both parts run at once
        enqueue_public_notification(rt.redis, incident_id, event, seq, reason, update)
    results = _tell(rt, told, told.channels(public=False))
    if told.ctx.event is MessageEvent.DECLARED and not told.drill:
        IncidentTimers(rt.redis, rt.incidents, rt.ruleset).start_clocks(incident_id)
    if told.ctx.event is MessageEvent.RESOLVED and not told.drill:
        _schedule_postmortem(rt, told.ctx)
        if told.state.get("slack_room"):  # its own Slack channel: archived in time
            after = (told.ctx.policy.get("slack") or {}).get("archive_after_seconds")
            IncidentTimers(rt.redis, rt.incidents, rt.ruleset).schedule_archive(
                incident_id, float(told.ctx.incident["resolved_at"]), float(after or 7 * 86400)
            )
        for child in release_open_children(rt.incidents, incident_id):
            why = f"{incident_id} resolved while it was open"
            enqueue_notification(rt.redis, child, MessageEvent.DECLARED.value, "released", why)
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
    told = load_event(rt, incident_id, event, seq, reason, update)
    if told is None:
        return {}
    results = _tell(rt, told, told.channels(public=True))
    _fail_if_refused(results)
    return results


def _has_public_part(rt: Runtime, told: EventToTell) -> bool:
    """A public channel has something to say about this event, and the policy wants it or an
    earlier public part of the incident was enqueued. That one may not have run yet (this job
    does not wait for it), so the state read here need not show the status-page incident or X
    thread it opens; the public part itself decides, once its predecessors are done."""
    speaking = [
        name
        for name, channel in CHANNELS.items()
        if channel.public and has_message(channel, told.ctx.event)
    ]
    if not speaking:
        return False  # customers hear nothing of acknowledgements, escalations, reminders
    return any(name in told.wanted for name in speaking) or bool(
        rt.redis.exists(keys.incident_last_public_job(told.ctx.incident["id"]))
    )


def _tell(rt: Runtime, told: EventToTell, channels: list[Channel]) -> dict[str, str]:
    """Send every message of these channels once; returns idempotency key -> outcome.

    Raises:
        DeliveryError: a message worth retrying failed; RQ retries the job and the ledger
            skips what was sent."""
    results: dict[str, str] = {}
    retry_later: list[DeliveryError] = []
    for name in channels:
        channel = CHANNELS[name]
        started = time.perf_counter()
        failures = len(retry_later)
        try:
            rendered: Rendered | None = render(
                channel, told.ctx.event, told.ctx, rt.settings.templates_dir
            )
        except NoMessage:  # no text for this event; PagerDuty ack/resolve need none
            rendered = None
        told_ok = True
        for message in channel.build(told.occasion, rendered, told.state):
            try:
                result = deliver_once(rt, channel, message, told.state, outbox_only=told.drill)
                results[message.idempotency_key] = result
                told_ok = told_ok and result != FAILED
            except DeliveryError as error:
                retry_later.append(error)
                break  # later messages of this channel depend on this one
        failed = not told_ok or len(retry_later) > failures
        record_send(rt.redis, name.value, time.perf_counter() - started, failed)
    if retry_later:
        raise retry_later[0]
    return results


def _fail_if_refused(results: dict[str, str]) -> None:
    refused = sorted(key for key, result in results.items() if result == FAILED)
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
        runtime().incidents.add_timeline(
            incident_id,
            "delivery_failed",
            f"{part} {job.args[1]} {how}: {str(value)[:300]}; once the cause is "
            f"fixed, requeue with `klaxon failed --requeue {job.id}`",
        )
