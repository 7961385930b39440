"""Queue names and the serializer every Klaxon job uses (JSON: jobs carry ids, not objects)."""

from __future__ import annotations

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from app.queue_names import NOTIFY_QUEUE, QUEUE_NAMES, TIMERS_QUEUE

__all__ = ["NOTIFY_QUEUE", "QUEUE_NAMES", "TIMERS_QUEUE", "queues"]


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection, serializer=JSONSerializer)
            for name in QUEUE_NAMES]
