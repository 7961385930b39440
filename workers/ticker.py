"""The ticker: fires due timers (app/store/timers.py) once a second from inside the worker
process. Timers live in Redis, so a restarted worker picks up whatever fell due while it was
down; handlers are idempotent, so two worker dynos ticking together do no harm."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from app.clock import Clock
from app.logs import log
from app.notifications import enqueue_notification
from app.store.incidents import IncidentStore
from app.store.timers import Timer, Timers

logger = logging.getLogger("klaxon.ticker")
TICK_SECONDS = 1.0


def timer_handlers(connection: redis.Redis,
                   incidents: IncidentStore) -> dict[str, Callable[[Timer], None]]:
    """What each kind of timer does when it falls due: a state change in Redis (idempotent),
    then, only if it changed something, the notification job (enqueued once per event)."""

    def declare(timer: Timer) -> None:
        if _log_result(timer, incidents.declare(timer.incident_id)) == "declared":
            enqueue_notification(connection, timer.incident_id, "declared", "",
                                 "first notification after group_wait")

    def resolve(timer: Timer) -> None:
        if _log_result(timer, incidents.resolve(timer.incident_id, by="quiet period")) \
                == "resolved":
            enqueue_notification(connection, timer.incident_id, "resolved", "",
                                 "all alerts resolved")

    return {"declare": declare, "resolve": resolve}


def _log_result(timer: Timer, result: str) -> str:
    log(logger, "timer fired", kind=timer.kind, incident=timer.incident_id, result=result)
    return result


def tick(connection: redis.Redis, clock: Clock, incidents: IncidentStore) -> list[Timer]:
    return Timers(connection).fire_due(clock.now(), timer_handlers(connection, incidents))


class TickerThread(threading.Thread):
    def __init__(self, connection: redis.Redis, clock: Clock, incidents: IncidentStore) -> None:
        super().__init__(name="klaxon-ticker", daemon=True)
        self._args = (connection, clock, incidents)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            try:
                tick(*self._args)
            except redis.RedisError as exc:  # Redis blips: the timers wait in Redis for us
                log(logger, "tick failed", logging.WARNING, error=type(exc).__name__)
