"""Queue names and the serializer every Klaxon job uses (JSON: jobs carry ids, not objects)."""

from __future__ import annotations

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from app.queue_names import NOTIFY_QUEUE, QUEUE_NAMES, TIMERS_QUEUE

__all__ = ["NOTIFY_QUEUE", "QUEUE_NAMES", "TIMERS_QUEUE", "queues", "worked_queues"]


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection, serializer=JSONSerializer)
            for name in QUEUE_NAMES]


def worked_queues(connection: redis.Redis) -> list[Queue]:
    """The queues a worker takes jobs from: the notify queue alone. Nothing enqueues to the
    timers queue (the ticker enqueues notify jobs), and a worker on one queue dequeues with
    RQ's reliable BLMOVE into an intermediate list, which registry maintenance recovers if the
    worker dies before starting the job; on several queues RQ falls back to BLPOP, and a job
    handed to a worker in the instant it is stopped or killed is lost."""
    return [Queue(NOTIFY_QUEUE, connection=connection, serializer=JSONSerializer)]
