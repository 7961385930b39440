"""Failed RQ jobs over Klaxon's queues, for the internal /failed page: which notification or
timer gave up, when, and the last line of why (the full traceback stays in RQ and Sentry)."""

from __future__ import annotations

from typing import Any

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from app.messages.public_guard import Category, redact, scan
from app.queue_names import QUEUE_NAMES

MAX_PER_QUEUE = 100


def failed_jobs(connection: redis.Redis) -> list[dict[str, Any]]:
    """Newest first within each queue; queues in dequeue order."""
    found = []
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=connection, serializer=JSONSerializer)
        ids = registry.get_job_ids(0, MAX_PER_QUEUE - 1, desc=True)
        for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer):
            if job is not None:
                found.append(_describe(name, job))
    return found


def _describe(queue: str, job: Job) -> dict[str, Any]:
    result = job.latest_result()
    lines = ((result.exc_string if result else "") or "").strip().splitlines()
    return {
        "id": job.id,
        "queue": queue,
        "function": job.func_name or "",
        "args": _no_secrets(", ".join(str(a) for a in job.args)[:200]),
        "ended_at": job.ended_at.timestamp() if job.ended_at else None,
        "error": _no_secrets(lines[-1][:300]) if lines else "no error recorded",
    }


def _no_secrets(text: str) -> str:
    # Our notifiers keep secrets out of their errors (a contract test checks); this catches
    # anything else that raised with a token in its message before it reaches a page.
    return redact(text, [f for f in scan(text) if f.category is Category.SECRETS])
