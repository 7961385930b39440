"""The RQ queues the workers take jobs from, with the serializer every Klaxon job uses (JSON:
jobs carry ids, not objects). Their names live in app/queue_names.py (the app enqueues)."""

from __future__ import annotations

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE, QUEUE_NAMES

__all__ = ["queues", "single_worker_queues", "worked_queues"]


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection, serializer=JSONSerializer) for name in QUEUE_NAMES]


def worked_queues(connection: redis.Redis, name: str = NOTIFY_QUEUE) -> list[Queue]:
    """The queues one worker of a dyno takes jobs from: a single one, the notify queue (pages)
    or the public queue (status page, X). Nothing enqueues to the timers queue (the ticker
    enqueues notify jobs), and a worker on one queue dequeues with RQ's reliable BLMOVE into an
    intermediate list, which registry maintenance recovers if the worker dies before starting
    the job; on several queues RQ falls back to BLPOP, and a job handed to a worker in the
    instant it is stopped or killed is lost."""
    return [Queue(name, connection=connection, serializer=JSONSerializer)]


def single_worker_queues(connection: redis.Redis) -> list[Queue]:
    """`python -m workers --processes 1`: one worker, in the process itself, takes both
    notification queues, pages first. For debugging and local runs: RQ dequeues from two
    queues with BLPOP (see worked_queues), and a page waits while that worker sends a public
    message."""
    return [
        Queue(name, connection=connection, serializer=JSONSerializer)
        for name in (NOTIFY_QUEUE, PUBLIC_QUEUE)
    ]
