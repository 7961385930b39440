"""Enqueue the notification job on a state change. The app never imports `workers`: it names
the job by its dotted path, and the worker resolves it (a test checks that it does)."""

from __future__ import annotations

import random
import re
from typing import Any

import redis
from rq import Queue
from rq.callbacks import Callback
from rq.job import Dependency, Job
from rq.serializers import JSONSerializer

from app.queue_names import NOTIFY_QUEUE
from app.store import keys

NOTIFY_JOB = "workers.jobs.notify"
FAILURE_CALLBACK = "workers.jobs.record_final_failure"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # RQ job ids allow only these (apis.md §5.2)


def notify_job_id(incident_id: str, event: str, seq: str) -> str:
    return _UNSAFE.sub("_", f"notify-{incident_id}-{event}-{seq}")[:200]


def enqueue_notification(connection: redis.Redis, incident_id: str, event: str, seq: str = "",
                         reason: str = "", update: dict[str, Any] | None = None) -> str | None:
    """Enqueue one notification for one lifecycle event, after the incident's previous one
    (a status-page update must not overtake the create). Enqueuing the same (incident, event,
    seq) twice does nothing; returns the job id, or None if it was already there."""
    job_id = notify_job_id(incident_id, event, seq)
    if Job.exists(job_id, connection=connection):
        return None
    queue = Queue(NOTIFY_QUEUE, connection=connection, serializer=JSONSerializer)
    previous = connection.getset(keys.incident_last_job(incident_id), job_id)
    depends = None
    if previous and Job.exists(previous.decode(), connection=connection):
        depends = Dependency(jobs=[previous.decode()], allow_failure=True)
    queue.enqueue(NOTIFY_JOB, incident_id, event, seq, reason, update, job_id=job_id,
                  depends_on=depends, job_timeout=120, result_ttl=86400,
                  failure_ttl=30 * 86400, retry=_retry(),
                  on_failure=Callback(FAILURE_CALLBACK))
    return job_id


RETRY_INTERVALS_SECONDS = (5, 15, 60, 120, 300, 600)  # ~18 min in all, then `klaxon failed`


def _retry() -> Any:
    from rq import Retry

    # Exponential-ish backoff with ±20% jitter, so jobs failed by one outage do not retry in
    # lockstep. Vendors throttle for seconds to minutes (PagerDuty suggests "a few minutes");
    # effects already made are skipped by the ledger on every retry.
    return Retry(max=len(RETRY_INTERVALS_SECONDS),
                 interval=[round(s * random.uniform(0.8, 1.2)) for s in RETRY_INTERVALS_SECONDS])
