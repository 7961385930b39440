"""The ticker: fires due timers (app/store/timers.py) once a second from inside the worker
process. Timers live in Redis, so a restarted worker picks up whatever fell due while it was
down; handlers are idempotent, so two worker dynos ticking together do no harm."""

from __future__ import annotations

import logging
import threading
import time

import redis

from app.clock import Clock
from app.drill import run_drill
from app.logs import log
from app.ruleset import RuleSet
from app.settings import Settings
from app.store import keys
from app.store.incidents import IncidentStore
from app.store.timers import Timer, Timers
from workers.incident_timers import IncidentTimers

logger = logging.getLogger("klaxon.ticker")
TICK_SECONDS = 1.0
# After a (re)start the web dyno may still be starting: the first scheduled drill waits this
# long (or the interval, if shorter).
DRILL_START_DELAY_SECONDS = 60.0
SCHEDULED_DRILL_TIMEOUT_SECONDS = 120.0


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
        settings: Settings | None = None,
    ) -> None:
        super().__init__(name="klaxon-ticker", daemon=True)
        self._args = (connection, clock, incidents, ruleset)
        self.stopping = threading.Event()
        self.settings = settings
        interval = settings.drill_interval_seconds if settings else 0
        self._drill_from = time.monotonic() + min(DRILL_START_DELAY_SECONDS, interval)

    def run(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            try:
                tick(*self._args)
                self._maybe_drill()
            except redis.RedisError as exc:  # Redis blips: the timers wait in Redis for us
                log(logger, "tick failed", logging.WARNING, error=type(exc).__name__)

    def _maybe_drill(self) -> None:
        """KLAXON_DRILL_INTERVAL: one drill per interval across every worker dyno (the key
        is held for the interval by whichever ticker starts it), in a thread of its own so
        the timers keep firing; the drill needs them (its incident resolves by a timer)."""
        settings = self.settings
        if settings is None or not settings.drill_interval_seconds:
            return
        if time.monotonic() < self._drill_from:
            return
        connection = self._args[0]
        if not connection.set(
            keys.drill_schedule(), "1", nx=True, ex=settings.drill_interval_seconds
        ):
            return
        threading.Thread(
            target=_scheduled_drill, args=(settings, connection), name="klaxon-drill", daemon=True
        ).start()


def _scheduled_drill(settings: Settings, connection: redis.Redis) -> None:
    try:  # run_drill records and logs its own result, pass or fail
        run_drill(settings, connection, settings.public_url, SCHEDULED_DRILL_TIMEOUT_SECONDS)
    except (redis.RedisError, OSError) as exc:
        log(logger, "drill could not run", logging.ERROR, error=type(exc).__name__)
