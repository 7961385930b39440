"""The workers' numbers for /metrics: how long telling each channel took, and how often it
failed. Kept in one Redis hash (keys.job_metrics) rather than prometheus-client's files,
because on Heroku the worker dyno is another machine than the web dyno that answers /metrics.
One pipelined round trip per channel told; the fields are a fixed set per channel."""

from __future__ import annotations

import logging

import redis

from app.logs import log
from app.metrics import JOB_BUCKETS
from app.store import keys

logger = logging.getLogger("klaxon.jobs")


def record_send(connection: redis.Redis, channel: str, seconds: float, failed: bool) -> None:
    """Count one channel's part of one job; a Redis blip loses the count, never the job."""
    key = keys.job_metrics()
    try:
        with connection.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, f"{channel}:count", 1)
            pipe.hincrbyfloat(key, f"{channel}:sum", seconds)
            for bound in JOB_BUCKETS:
                if seconds <= bound:
                    pipe.hincrby(key, f"{channel}:le={bound!r}", 1)
            if failed:
                pipe.hincrby(key, f"{channel}:failed", 1)
            pipe.expire(key, keys.JOB_METRICS_TTL_SECONDS)
            pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log(logger, "job metrics not recorded", logging.WARNING, error=type(exc).__name__)
