"""Job functions the worker tests enqueue by dotted path (RQ imports jobs by name)."""

from __future__ import annotations

import os
import time

from rq import get_current_job


def fail_with_secret(secret: str) -> None:
    raise RuntimeError(f"vendor refused routing_key={secret}")


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    """The process the job ran in."""
    return os.getpid()


def sleep(seconds: float) -> str:
    """Sleeps after saying so: Redis key `started:<job id>` counts the runs that began."""
    job = get_current_job()
    assert job is not None
    job.connection.incr(f"started:{job.id}")
    time.sleep(seconds)
    return "slept"


def sleep_first_time(seconds: float) -> str:
    """Like sleep() on the first run only; a retry returns at once."""
    job = get_current_job()
    assert job is not None
    if job.connection.incr(f"started:{job.id}") == 1:
        time.sleep(seconds)
        return "slept"
    return "retried"


def fail_first_time() -> str:
    job = get_current_job()
    assert job is not None
    if job.connection.incr(f"started:{job.id}") == 1:
        raise RuntimeError("first attempt fails")
    return "second attempt"
