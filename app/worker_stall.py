"""Are the workers taking jobs? /readyz's check: jobs waiting while no worker has taken one
for longer than KLAXON_WORKER_STALL means the worker dyno is down, stuck or scaled to zero,
and every page is waiting. Read from what the workers write (keys.worker_last_take) and RQ's
queues: a few commands in one round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE
from app.store import keys

WATCHED = (NOTIFY_QUEUE, PUBLIC_QUEUE)


def stall(connection: redis.Redis, now: float, limit_seconds: int) -> str:
    """ "" when the workers keep up; otherwise why not, for /readyz."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.get(keys.worker_last_take())
        for name in WATCHED:
            pipe.lindex(f"rq:queue:{name}", 0)  # the oldest job waiting on the queue
            pipe.llen(f"rq:queue:{name}")
        last_take, *queue_replies = pipe.execute()
    oldest = {
        name: (job_id.decode(), depth)
        for name, job_id, depth in zip(
            WATCHED, queue_replies[0::2], queue_replies[1::2], strict=True
        )
        if job_id
    }
    if not oldest:
        return ""
    taken_ago = now - float(last_take) if last_take else None
    if taken_ago is not None and taken_ago <= limit_seconds:
        return ""  # busy, not stuck: a worker took a job recently
    waited = _waited(connection, now, oldest)
    stuck = {
        name: (depth, seconds)
        for name, (depth, seconds) in waited.items()
        if seconds > limit_seconds
    }
    if not stuck:
        return ""
    taken = (
        "no job taken for a day or more"
        if taken_ago is None
        else f"no job taken for {taken_ago:.0f} s"
    )
    waiting = ", ".join(
        f"{depth} on {name} (oldest {seconds:.0f} s)" for name, (depth, seconds) in stuck.items()
    )
    return f"stalled: jobs waiting ({waiting}), {taken} (KLAXON_WORKER_STALL={limit_seconds})"


def _waited(
    connection: redis.Redis, now: float, oldest: dict[str, tuple[str, int]]
) -> dict[str, tuple[int, float]]:
    """How long each queue's oldest job has waited (RQ's enqueued_at)."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id, _ in oldest.values():
            pipe.hget(f"rq:job:{job_id}", "enqueued_at")
        stamps = pipe.execute()
    waited = {}
    for (name, (_, depth)), stamp in zip(oldest.items(), stamps, strict=True):
        if not stamp:
            continue  # gone since: taken
        waited[name] = (depth, now - rq_timestamp(stamp))
    return waited


def rq_timestamp(raw: bytes | str) -> float:
    """Epoch seconds of a time RQ stored on a job (enqueued_at, started_at: ISO, UTC)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
