"""Queue names and the serializer every Klaxon job uses (JSON: jobs carry ids, not objects)."""

from __future__ import annotations

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from app.notifications import NOTIFY_QUEUE  # pages, status page, X: what people wait for
TIMERS_QUEUE = "klaxon-timers"  # escalations, reminders, post-mortem due dates
QUEUE_NAMES = (NOTIFY_QUEUE, TIMERS_QUEUE)  # dequeue order: notifications first


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection, serializer=JSONSerializer)
            for name in QUEUE_NAMES]
