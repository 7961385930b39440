"""The ticker: fires due timers (app/store/timers.py) once a second from inside the worker
process. Timers live in Redis, so a restarted worker picks up whatever fell due while it was
down; handlers are idempotent, so two worker dynos ticking together do no harm.

Once a minute it also keeps house: the retention sweeper removes history older than
KLAXON_RETENTION_DAYS (app/store/retention.py), and a warning is logged while Redis uses more
than KLAXON_MEMORY_WARN_PERCENT of its maxmemory (app/store/capacity.py)."""

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
from app.store.budget import StorageBudget
from app.store.capacity import Memory, memory
from app.store.incidents import IncidentStore
from app.store.retention import Retention, Swept
from app.store.timers import Timer, Timers
from workers.incident_timers import IncidentTimers

logger = logging.getLogger("klaxon.ticker")
TICK_SECONDS = 1.0
HOUSEKEEPING_EVERY_TICKS = 60
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


def keep_house(
    connection: redis.Redis, clock: Clock, budget: StorageBudget, delivery_ttl_seconds: int
) -> tuple[Swept, Memory]:
    """One batch of the retention sweep, then a look at Redis memory (a warning when it passes
    KLAXON_MEMORY_WARN_PERCENT of maxmemory: full, Redis refuses writes and webhooks get 503)."""
    swept = Retention(connection, clock, budget, delivery_ttl_seconds).sweep()
    if swept != Swept():
        log(
            logger,
            "retention swept",
            incidents=swept.incidents,
            alerts=swept.alerts,
            delivery_buckets=swept.delivery_buckets,
            upgraded=swept.upgraded,
        )
    used = memory(connection)
    if used.above(budget.memory_warn_percent):
        log(
            logger,
            "redis memory high",
            logging.WARNING,
            used_bytes=used.used_bytes,
            max_bytes=used.max_bytes,
            percent=round(100 * (used.used_share or 0)),
            threshold_percent=budget.memory_warn_percent,
        )
    return swept, used


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
        self._house = (connection, clock, incidents.budget, incidents.delivery_ttl_seconds)
        self.stopping = threading.Event()
        self.settings = settings
        interval = settings.drill_interval_seconds if settings else 0
        self._drill_from = time.monotonic() + min(DRILL_START_DELAY_SECONDS, interval)

    def run(self) -> None:
        ticks = 0
        while not self.stopping.wait(TICK_SECONDS):
            try:
                tick(*self._args)
                self._maybe_drill()
                if ticks % HOUSEKEEPING_EVERY_TICKS == 0:
                    keep_house(*self._house)
            except redis.RedisError as exc:  # Redis blips: the timers wait in Redis for us
                log(logger, "tick failed", logging.WARNING, error=type(exc).__name__)
            ticks += 1

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
