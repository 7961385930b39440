"""Enqueue the notification jobs of a state change. The app never imports `workers`: it names
the jobs by their dotted paths, and the worker resolves them (a test checks that it does).

Each lifecycle event has up to two jobs (docs/decisions.md 11): the responders' part (pages:
PagerDuty, Opsgenie) on the notify queue, enqueued here, and the public part (status page,
X) on the public queue, which the responders' job enqueues when the event has one. Each part
has its own chain per incident, so neither ever waits for the other.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

import redis
from rq import Queue
from rq.callbacks import Callback
from rq.job import Dependency, Job
from rq.serializers import JSONSerializer

from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE
from app.store import keys, replies

NOTIFY_JOB = "workers.jobs.notify"
PUBLIC_JOB = "workers.jobs.notify_public"
FAILURE_CALLBACK = "workers.jobs.record_final_failure"
PUBLIC_SUFFIX = "-public"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # RQ job ids allow only these (apis.md §5.2)


def notify_job_id(incident_id: str, event: str, seq: str) -> str:
    return _UNSAFE.sub("_", f"notify-{incident_id}-{event}-{seq}")[:200]


def public_job_id(incident_id: str, event: str, seq: str) -> str:
    """The public part's id follows from the responders' one, so a retried responders' job
    finds the public part it enqueued before."""
    return notify_job_id(incident_id, event, seq) + PUBLIC_SUFFIX


def enqueue_notification(
    connection: redis.Redis,
    incident_id: str,
    event: str,
    seq: str = "",
    reason: str = "",
    update: dict[str, Any] | None = None,
) -> str | None:
    """Enqueue the responders' part of one lifecycle event, after the incident's previous one
    (an acknowledgement must not overtake the page). Enqueuing the same (incident, event, seq)
    twice does nothing; returns the job id, or None if it was already there."""
    return _enqueue_in_chain(
        connection,
        NOTIFY_QUEUE,
        NOTIFY_JOB,
        notify_job_id(incident_id, event, seq),
        keys.incident_last_job(incident_id),
        (incident_id, event, seq, reason, update),
    )


def enqueue_public_notification(
    connection: redis.Redis,
    incident_id: str,
    event: str,
    seq: str = "",
    reason: str = "",
    update: dict[str, Any] | None = None,
) -> str | None:
    """Enqueue the public part (status page, X) of one lifecycle event, after the incident's
    previous public part (a status-page update must not overtake the create). Enqueuing it
    twice does nothing; returns the job id, or None if it was already there."""
    return _enqueue_in_chain(
        connection,
        PUBLIC_QUEUE,
        PUBLIC_JOB,
        public_job_id(incident_id, event, seq),
        keys.incident_last_public_job(incident_id),
        (incident_id, event, seq, reason, update),
    )


def _enqueue_in_chain(
    connection: redis.Redis,
    queue_name: str,
    function: str,
    job_id: str,
    last_job_key: str,
    args: tuple[Any, ...],
) -> str | None:
    """Enqueue `function(*args)` as `job_id` unless it exists, depending on the job
    `last_job_key` names (failed or not: a failure must not hold up the incident's later
    messages) and naming this one there in its place."""
    if Job.exists(job_id, connection=connection):
        return None
    queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
    previous = replies.text_or_none(connection.getset(last_job_key, job_id))
    depends = None
    if previous and Job.exists(previous, connection=connection):
        depends = Dependency(jobs=[previous], allow_failure=True)
    queue.enqueue(
        function,
        *args,
        job_id=job_id,
        depends_on=depends,
        job_timeout=120,
        result_ttl=86400,
        failure_ttl=30 * 86400,
        retry=_retry(),
        on_failure=Callback(FAILURE_CALLBACK),
    )
    return job_id


RETRY_INTERVALS_SECONDS = (5, 15, 60, 120, 300, 600)  # ~18 min in all, then `klaxon failed`


def _retry() -> Any:
    from rq import Retry

    # Exponential-ish backoff with ±20% jitter, so jobs failed by one outage do not retry in
    # lockstep. Vendors throttle for seconds to minutes (PagerDuty suggests "a few minutes");
    # effects already made are skipped by the ledger on every retry.
    return Retry(
        max=len(RETRY_INTERVALS_SECONDS),
        interval=[round(s * random.uniform(0.8, 1.2)) for s in RETRY_INTERVALS_SECONDS],
    )


PIN_JOB = "workers.slack_jobs.pin_to_timeline"
SITREP_JOB = "workers.slack_jobs.refresh_sitrep"
ARCHIVE_JOB = "workers.slack_jobs.archive_room"
SUBSCRIBER_JOB = "workers.subscriber_jobs.post_to_subscriber"


def _enqueue_once(
    connection: redis.Redis,
    queue: str,
    job: str,
    job_id: str,
    args: tuple[Any, ...],
    timeout: int = 60,
    failure_days: int = 30,
) -> str | None:
    """Enqueue a job outside the incident's chain (a Slack call, a subscriber's post), with
    the retries every notification has; the same `job_id` twice does nothing. Returns the job
    id, or None if it was already there (the ledger sends once whatever runs it again)."""
    if Job.exists(job_id, connection=connection):
        return None
    Queue(queue, connection=connection, serializer=JSONSerializer).enqueue(
        job,
        *args,
        job_id=job_id,
        job_timeout=timeout,
        result_ttl=86400,
        failure_ttl=failure_days * 86400,
        retry=_retry(),
    )
    return job_id


def enqueue_slack_archive(connection: redis.Redis, incident_id: str) -> str | None:
    """Archive a resolved incident's Slack channel (its archive timer fell due): a job, as
    every Slack call is."""
    job_id = _UNSAFE.sub("_", f"slack-archive-{incident_id}")[:200]
    return _enqueue_once(connection, NOTIFY_QUEUE, ARCHIVE_JOB, job_id, (incident_id,))


def enqueue_sitrep_refresh(connection: redis.Redis, incident_id: str, seq: str) -> str | None:
    """Edit the incident's Slack sitrep after a change no lifecycle event tells the channels
    (a commander, a lead). Once per (incident, seq)."""
    job_id = _UNSAFE.sub("_", f"slack-sitrep-{incident_id}-{seq}")[:200]
    return _enqueue_once(connection, NOTIFY_QUEUE, SITREP_JOB, job_id, (incident_id, seq))


def enqueue_slack_pin(
    connection: redis.Redis, incident_id: str, channel: str, ts: str, by: str
) -> str | None:
    """Put a message pinned in an incident's Slack channel on its timeline: a job, because
    reading the message's text is a Slack API call, and Slack wants its answer in 3 s. Once
    per (channel, message, person)."""
    job_id = _UNSAFE.sub("_", f"slack-pin-{channel}-{ts}-{by}")[:200]
    return _enqueue_once(connection, NOTIFY_QUEUE, PIN_JOB, job_id, (incident_id, channel, ts, by))


def subscriber_job_id(key: str) -> str:
    """A post's job id follows from its ledger key (hashed: RQ ids are short and plain)."""
    return "subscriber-" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def enqueue_subscriber_post(
    connection: redis.Redis, fan_out: dict[str, Any], subscriber_id: str, job_key: str
) -> str | None:
    """Enqueue one status-page subscriber's post of a public update on the public queue
    (workers/channels/subscribers.py fans out). No failure callback: a subscriber's endpoint
    failing is not the incident's news."""
    return _enqueue_once(
        connection,
        PUBLIC_QUEUE,
        SUBSCRIBER_JOB,
        subscriber_job_id(job_key),
        (fan_out, subscriber_id),
        timeout=120,
        failure_days=7,
    )
