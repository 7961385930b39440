"""The RQ worker class Klaxon runs: jobs in the worker process itself (SimpleWorker: no fork
per job), with HerokuWorker's shutdown.

Why: forking a work horse per job cost ~120 ms of CPU per notification on a 2-core machine
(docs/benchmarks.md, "Notifications end to end"); in-process, a job keeps the rules, the
compiled templates and the vendors' keep-alive connections of the process.

What it keeps from HerokuWorker (rq/worker/worker_classes.py):

* SIGTERM (Heroku sends it to every process of the dyno, then SIGKILL 30 s later) while a job
  runs: the job gets `imminent_shutdown_delay` seconds to finish; then
  ShutDownImminentException is raised inside it, so it fails cleanly and RQ retries it (every
  notify job has a Retry). The worker stops after that job either way. Repeated SIGTERMs do
  not shorten the grace. SIGTERM while idle stops the worker at once.
* Job timeouts: RQ's SIGALRM death penalty, as in the horse (the job runs in the main thread).

What differs, and why it is safe:

* The exception is raised only while the job's own code runs (between RQ's bookkeeping
  steps, never inside them), so RQ always records the outcome; a job that finished inside
  the grace simply finishes.
* No Redis I/O in signal handlers: the interrupted main thread may be inside redis-py.
* RQ's command channel (the pubsub thread `rq.command` talks to) looks at its stop flag every
  second, not every 60 s: since redis-py 8.2 the worker's teardown waits for that thread, and
  an idle worker must stop within seconds of SIGTERM (subscribe()).
* A worker killed outright (SIGKILL, OOM) leaves its job in RQ's StartedJobRegistry until the
  job's timeout + 60 s have passed; the next registry maintenance of a worker of that queue
  (every MAINTENANCE_INTERVAL_SECONDS here, RQ's default is 10 minutes) then retries it as an
  abandoned job. RQ only maintains between two dequeues, and an idle worker blocks in the
  dequeue for worker_ttl - 15 s (405 s): so the dequeue waits at most a quarter of the
  interval here (dequeue_timeout), and the retry comes at most 75 s after the entry expired.
  The outbound ledger makes that retry skip or safely repeat whatever the dead worker had
  sent (tests/test_worker_crash.py).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from rq.exceptions import ShutDownImminentException, StopRequested
from rq.job import Job, get_current_job
from rq.worker import SimpleWorker, WorkerStatus

from app.store import keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.client import Pipeline
    from rq.queue import Queue

# How often a worker looks for jobs whose worker died (StartedJobRegistry cleanup, under a
# lock so one worker does it): a few Redis calls a minute, and an abandoned page waits at
# most a minute past its job's timeout + 60 s.
MAINTENANCE_INTERVAL_SECONDS = 60
INTERRUPT_SIGNAL = signal.SIGRTMIN  # HerokuWorker's horse signal; the job timeout has SIGALRM
HEARTBEAT_MIN_GAP_SECONDS = 1.0  # the worker's key lives worker_ttl + 60 s (8 minutes)
# How long the pubsub thread (RQ's command channel) waits in one read before it looks at its
# stop flag again; RQ's is 60 s. The worker's stop waits for it (see subscribe()).
PUBSUB_POLL_SECONDS = 1.0


class InlineHerokuWorker(SimpleWorker):
    """SimpleWorker (the job runs in this process) with HerokuWorker's SIGTERM grace."""

    imminent_shutdown_delay = 6  # seconds; HerokuWorker's default, well inside Heroku's 30

    def __init__(
        self,
        queues: str | Queue | Sequence[str] | Sequence[Queue],
        name: str | None = None,
        *,  # RQ passes at most these two by position (Worker.find_by_key); the rest by name
        maintenance_interval: int = MAINTENANCE_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(queues, name, maintenance_interval=maintenance_interval, **kwargs)
        self._grace: threading.Timer | None = None
        self._default_beat_at: float | None = None  # monotonic time of the last plain heartbeat

    @property
    def dequeue_timeout(self) -> int:
        """How long an idle worker blocks on its queue (BLMOVE) before it looks at registry
        maintenance again: a quarter of the maintenance interval, not RQ's 405 s, which left
        a killed worker's jobs ~9.5 minutes in the started registry (issue 11, item 7)."""
        return max(1, min(super().dequeue_timeout, self.maintenance_interval // 4))

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's heartbeat (HSET last_heartbeat, EXPIRE the worker and its executions) in one
        round trip instead of three, and not again within HEARTBEAT_MIN_GAP_SECONDS of the
        last plain one: RQ beats three times around every job, against a TTL of minutes."""
        if pipeline is not None:
            if timeout is not None:  # a job's own TTL: the next plain beat must not be skipped
                self._default_beat_at = None
            super().heartbeat(timeout, pipeline)
            return
        now = time.monotonic()
        if (
            timeout is None
            and self._default_beat_at is not None
            and now - self._default_beat_at < HEARTBEAT_MIN_GAP_SECONDS
        ):
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)
            pipe.execute()
        self._default_beat_at = now if timeout is None else None

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """RQ's bookkeeping before a job, then: a worker took a job now (keys.worker_last_take,
        /readyz's sign that the workers are taking the jobs that wait)."""
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        self.connection.set(
            keys.worker_last_take(), repr(time.time()), ex=keys.WORKER_LAST_TAKE_TTL_SECONDS
        )

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        """RQ marks the worker idle twice between jobs; the second write changes nothing."""
        if pipeline is None and state == WorkerStatus.IDLE and self._state == WorkerStatus.IDLE:
            return
        super().set_state(state, pipeline)

    def subscribe(self) -> None:
        """RQ's subscribe (the channel `rq.command` sends shutdown/kill/stop-job on), with a
        pubsub thread that looks at its stop flag every PUBSUB_POLL_SECONDS instead of every
        60 s. RQ's teardown sends UNSUBSCRIBE and then stops the thread; a thread that reads
        the reply first (a loaded machine) then waits for a new subscription for one whole
        sleep_time. Since redis-py 8.2, PubSubWorkerThread.stop() waits for the thread, so
        with RQ's 60 s an idle worker outlived Heroku's 30 s after SIGTERM (docs/decisions.md
        12). Meanwhile the thread polls its own socket; its only Redis command stays
        redis-py's health-check PING, once per health_check_interval (30 s) at most."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ's __init__ sets pubsub_thread = None without an annotation: mypy infers None.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # SIGTERM, SIGINT -> request_stop
        signal.signal(INTERRUPT_SIGNAL, self._interrupt_job)

    def handle_warm_shutdown_request(self) -> None:
        """First SIGTERM/SIGINT (called by request_stop): a running job gets its grace."""
        if self.get_state() != WorkerStatus.BUSY:
            self.log.info("Worker %s: warm shut down requested while idle", self.name)
            return
        self.log.warning(
            "Worker %s: warm shut down requested; the running job has %d seconds",
            self.name,
            self.imminent_shutdown_delay,
        )
        main = threading.main_thread().ident
        assert main is not None
        self._grace = threading.Timer(
            self.imminent_shutdown_delay, signal.pthread_kill, args=(main, INTERRUPT_SIGNAL)
        )
        self._grace.daemon = True
        self._grace.start()

    def _shutdown(self) -> None:
        """BaseWorker._shutdown without its Redis write and scheduler join in the signal
        handler: both would run in the job's own thread, in the middle of the job. teardown()
        stops the scheduler once the job is done."""
        if self.get_state() == WorkerStatus.BUSY:
            self._stop_requested = True
            threading.Thread(target=self.set_shutdown_requested_date, daemon=True).start()
        else:
            raise StopRequested()

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """A second SIGTERM/SIGINT. Heroku may signal more than once: a running job keeps its
        grace (the timer interrupts it). Idle, RQ's cold shutdown applies."""
        if self.get_state() == WorkerStatus.BUSY:
            self.log.warning(
                "Worker %s: signal %s again; the running job keeps its grace",
                self.name,
                signal.Signals(signum).name,
            )
            return
        super().request_force_stop(signum, frame)

    def _interrupt_job(self, signum: int, frame: FrameType | None) -> None:
        """The grace is over: fail the job if its own code is still running (rq's job
        context is set exactly while Job.perform runs)."""
        if get_current_job() is None:
            self.log.info("Worker %s: grace over, no job code running", self.name)
            return
        self.log.warning(
            "Worker %s: grace over, raising ShutDownImminentException in the job", self.name
        )
        info = {
            "f_code": getattr(frame, "f_code", None),
            "f_lineno": getattr(frame, "f_lineno", None),
        }
        raise ShutDownImminentException(
            f"shut down imminent (signal: {signal.Signals(signum).name})", info
        )

    def teardown(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
        super().teardown()
