"""The ticker: fires due timers (app/store/timers.py) once a second from inside the worker
process. Timers live in Redis, so a restarted worker picks up whatever fell due while it was
down; handlers are idempotent, so two worker dynos ticking together do no harm."""

from __future__ import annotations

import logging
import threading

import redis

from app.clock import Clock
from app.logs import log
from app.ruleset import RuleSet
from app.store.incidents import IncidentStore
from app.store.timers import Timer, Timers
from workers.incident_timers import IncidentTimers

logger = logging.getLogger("klaxon.ticker")
TICK_SECONDS = 1.0


def tick(
    connection: redis.Redis, clock: Clock, incidents: IncidentStore, ruleset: RuleSet | None = None
) -> list[Timer]:
    """Fire every timer due on `clock`; returns the timers fired."""
    handlers = IncidentTimers(connection, incidents, ruleset).handlers()
    return Timers(connection).fire_due(clock.now(), handlers)


class TickerThread(threading.Thread):
    def __init__(
        self,
        connection: redis.Redis,
        clock: Clock,
        incidents: IncidentStore,
        ruleset: RuleSet | None,
    ) -> None:
        super().__init__(name="klaxon-ticker", daemon=True)
        self._args = (connection, clock, incidents, ruleset)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            try:
                tick(*self._args)
            except redis.RedisError as exc:  # Redis blips: the timers wait in Redis for us
                log(logger, "tick failed", logging.WARNING, error=type(exc).__name__)
