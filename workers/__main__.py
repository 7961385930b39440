"""`python -m workers`: the Procfile's worker process.

KLAXON_WORKER_PROCESSES (default 2, `--processes N` overrides) InlineHerokuWorkers on the
notify queue (pages) and KLAXON_PUBLIC_WORKER_PROCESSES (default 1) on the public queue
(status page, X), so a page never waits for a public channel (docs/decisions.md 11).
workers/worker.py: jobs run in the worker process, no fork per job; on SIGTERM the running
job gets a few seconds, then fails cleanly and is retried. Each worker has the RQ scheduler
(one per queue holds its lock), on connections built by Klaxon rather than RQ's CLI, because
RQ's CLI cannot accept Heroku's self-signed rediss:// certificate (reference/apis.md §0.4).

One worker runs one job at a time, and a job mostly waits for a vendor's answer, so a dyno
runs several, each on one queue (workers/queues.py: the reliable dequeue). This process
loads the rules and compiles the templates once, forks the workers, runs the timer ticker,
and restarts a worker that dies; on SIGTERM or SIGINT it passes the signal on (Heroku signals
every process itself; `klaxon run` and other process managers signal only this one) and
exits when they have stopped. `--processes 1` instead runs one worker in this process, on
both queues: for debugging, where a fork is in the way.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from rq.serializers import JSONSerializer

from app.clock import SystemClock
from app.logs import configure_logging, log
from app.observability import init_sentry, remember_secrets
from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE
from app.ruleset import RuleSet, load_ruleset
from app.settings import Settings
from app.store.connection import connect, unavailable_reason
from app.store.incidents import IncidentStore
from workers import jobs
from workers.queues import single_worker_queues, worked_queues
from workers.runtime import Runtime
from workers.ticker import TickerThread
from workers.worker import InlineHerokuWorker

logger = logging.getLogger("klaxon.worker")
RESTART_PAUSE_SECONDS = 1.0  # a worker that dies at once is not restarted in a tight loop
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def main(burst: bool = False, processes: int | None = None) -> bool:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.secret_values())
    init_sentry(settings)
    ruleset = load_ruleset(settings.rules_dir)
    # The routing keys the rules name are secrets too: logs and Sentry scrub them.
    rule_secrets = settings.secret_values(ruleset.environment)
    configure_logging(settings.log_level, rule_secrets)
    remember_secrets(rule_secrets)
    # The one runtime of this process and its workers, built before any fork: every worker
    # starts with the rules, the channels' credentials and the templates compiled.
    rt = Runtime.from_env(settings, ruleset)
    jobs.install(rt)
    jobs.warm_up(rt)
    count = max(1, processes or settings.worker_processes)
    if count == 1:
        log(
            logger,
            "one worker in this process sends pages and public messages alike: a page "
            "can wait for the status page or X (a dyno runs 2 or more)",
            logging.WARNING,
        )
        ticker = start_ticker(settings, ruleset)
        try:
            return run_worker(settings, burst)
        finally:
            ticker.stopping.set()
    queue_of_each = [NOTIFY_QUEUE] * count + [PUBLIC_QUEUE] * settings.public_worker_processes
    return Supervisor(settings, queue_of_each, burst).run(lambda: start_ticker(settings, ruleset))


def start_ticker(settings: Settings, ruleset: RuleSet) -> TickerThread:
    connection = connect(settings.redis_connection_url)
    clock = SystemClock()
    ticker = TickerThread(
        connection,
        clock,
        IncidentStore(connection, clock, settings.delivery_ttl_seconds, settings.storage),
        ruleset,
        settings,
    )
    ticker.start()
    return ticker


def run_worker(settings: Settings, burst: bool, queue: str | None = None) -> bool:
    """One worker in this process: on `queue` alone, or without one on both notification
    queues (`--processes 1`)."""
    # The RQ scheduler is a process this worker forks: it must not outlive the worker (a
    # worker killed outright would leave it holding the scheduler lock, and running).
    worker_pid = os.getpid()
    os.register_at_fork(after_in_child=lambda: die_with_parent(worker_pid))
    connection = connect(settings.redis_connection_url)
    worked = worked_queues(connection, queue) if queue else single_worker_queues(connection)
    worker = InlineHerokuWorker(worked, connection=connection, serializer=JSONSerializer)
    log(
        logger,
        "worker starting",
        queues=[q.name for q in worker.queues],
        burst=burst,
        pid=os.getpid(),
    )
    return worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level)


class Supervisor:
    """Forks one worker per entry of `queue_of_each` (the queue it takes jobs from), restarts
    one that dies on the same queue (unless stopping or in burst mode), and passes
    SIGTERM/SIGINT on. The ticker runs here, once per dyno."""

    def __init__(self, settings: Settings, queue_of_each: list[str], burst: bool) -> None:
        self.settings = settings
        self.queue_of_each = queue_of_each
        self.burst = burst
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False

    def run(self, start_ticker: Callable[[], TickerThread]) -> bool:
        """Until every worker has stopped; True if any was started (as Worker.work)."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for each in range(len(self.queue_of_each)):  # not `slot`: that one may be None below
            self._spawn(each)
        ticker = start_ticker()  # after the first forks: no thread is running when they fork
        try:
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                slot = self.children.pop(pid, None)
                if slot is None:
                    continue
                code = os.waitstatus_to_exitcode(status)
                if self.stopping or self.burst:
                    if code != 0:
                        log(
                            logger,
                            "worker process stopped abnormally",
                            logging.WARNING,
                            pid=pid,
                            exit_code=code,
                        )
                    continue
                log(
                    logger,
                    "worker process exited; restarting it",
                    logging.WARNING,
                    pid=pid,
                    exit_code=code,
                )
                time.sleep(RESTART_PAUSE_SECONDS)
                if not self.stopping:
                    self._spawn(slot)
        finally:
            ticker.stopping.set()
        return True

    def _spawn(self, slot: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker process
            code = 1
            try:
                die_with_parent(parent)  # a supervisor killed outright stops its workers
                # The worker installs its own handlers; until then a signal ends it plainly.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run_worker(self.settings, self.burst, self.queue_of_each[slot])
                code = 0
            except BaseException as error:
                reason = unavailable_reason(error)
                if reason is None:
                    logger.exception("worker process failed")
                else:  # Redis full, read-only, down ...: the job stays queued; say which
                    log(logger, "storage unavailable", logging.WARNING, reason=reason)
            finally:
                _flush_sentry()
                os._exit(code)
        self.children[pid] = slot

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def die_with_parent(parent: int, sig: int = signal.SIGTERM) -> None:
    """Linux: have the kernel send `sig` to this process when its parent dies (prctl
    PR_SET_PDEATHSIG), so no worker or scheduler outlives the process that started it; SIGTERM
    lets it stop as on a dyno restart. Elsewhere this does nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request was in place
        os.kill(os.getpid(), sig)


def _flush_sentry() -> None:
    import sentry_sdk

    sentry_sdk.flush(timeout=2)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes for pages (default KLAXON_WORKER_PROCESSES, "
        "else 2); 1: one worker in this process for every notification",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":  # the scheduler is a multiprocessing child: keep this guard
    args = _arguments(sys.argv[1:])
    main(burst=args.burst, processes=args.processes)
