"""Notify jobs alone: how many pages a second the workers send, and the CPU each job costs.

N incidents are opened in-process (no web server) with the workers suspended, so N notify
jobs wait in the queue; then the workers are resumed and drain it, each job paging the tests'
fake PagerDuty over HTTPS. Reported: jobs/s (between the first and the last page arriving),
and the worker processes' CPU (user + system, forked work horses included) per job. Each
notify job also enqueues its incident's public part (SEV2: the status-page create, to the
outbox), which the dynos' public workers run meanwhile, as in production: their CPU until
the last page counts too.

    PYTHONPATH=.:tests python -m bench.jobs --jobs 1000 --processes 2

`--inprocess` calls `workers.jobs.notify` directly in this process instead (no RQ, no
worker): µs of CPU per call and Redis round trips, the figures to compare before and after a
change to the job itself; `--inprocess --rq` runs the queued jobs through the worker class in
this process (RQ's bookkeeping included). `--profile` prints cProfile's top functions (CPU
time of this thread).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis as redis_py
from rq.suspension import resume, suspend
from rq.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.tls import make_certificates  # noqa: E402
from fakes.vendors import FakePagerDuty  # noqa: E402

from bench.notify import TOKEN, body, workers_per_dyno, write_rules  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

# PagerDuty takes ~120 events a minute per routing key and the workers' shared limiter keeps
# to it: with enough services no job waits for the limiter.
SERVICES = 500


def open_incidents(
    env: dict[str, str], connection: redis_py.Redis, count: int, first: int = 0
) -> list[str]:
    from app import create_app
    from app.settings import Settings

    app = create_app(Settings.from_env(env), connection=connection)
    client = app.test_client()
    incidents = []
    for n in range(first, first + count):
        answer = client.post(
            "/webhooks/datadog",
            data=body(f"job-{n}", f"job{n}", n % SERVICES),
            headers={"Content-Type": "application/json", "X-Klaxon-Token": TOKEN},
        ).get_json()
        assert answer["outcome"] == "new", answer
        incidents.append(answer["incident"])
    return incidents


def tree_cpu(processes: list[psutil.Process]) -> float:
    """User + system seconds of these processes, their live children and reaped children."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for child in process.children(recursive=True):
                try:
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            pass
    return total


def drain(
    env: dict[str, str],
    connection: redis_py.Redis,
    fake: FakePagerDuty,
    count: int,
    processes: int,
    worker_args: list[str],
) -> dict:
    suspend(connection)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "workers", *worker_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while Worker.count(connection=connection) < _expected_workers(env, processes, worker_args):
            assert time.monotonic() < deadline, "workers never registered"
            time.sleep(0.1)
        incidents = open_incidents(env, connection, count)
        time.sleep(1.5)  # every worker is idle in its suspension check
        tree = [psutil.Process(w.pid) for w in workers]
        cpu_before = tree_cpu(tree)
        resume(connection)
        deadline = time.monotonic() + max(120, count)
        while len(pages := _pages(fake)) < count:
            assert time.monotonic() < deadline, f"only {len(pages)} of {count} pages arrived"
            time.sleep(0.05)
        cpu = tree_cpu(tree) - cpu_before
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=40)
    times = sorted(pages.values())
    assert set(pages) == set(incidents)
    return {
        "jobs": count,
        "processes": processes,
        "worker_args": worker_args,
        "jobs_per_s": round((count - 1) / (times[-1] - times[0]), 1),
        "cpu_us_per_job": round(cpu / count * 1e6),
        "pages": len(pages),
    }


def _expected_workers(env: dict[str, str], processes: int, worker_args: list[str]) -> int:
    from app.settings import Settings

    per_dyno = (
        int(worker_args[worker_args.index("--processes") + 1])
        if "--processes" in worker_args
        else Settings.from_env(env).worker_processes
    )
    return processes * workers_per_dyno(env, per_dyno)


def _pages(fake: FakePagerDuty) -> dict[str, float]:
    return {
        r.json["dedup_key"]: r.time
        for r in fake.requests
        if r.json.get("event_action") == "trigger"
    }


def inprocess(
    env: dict[str, str],
    connection: redis_py.Redis,
    fake: FakePagerDuty,
    count: int,
    profile: bool,
    sort: str = "cumulative",
    with_rq: bool = False,
) -> dict:
    """CPU of this thread only (the fake PagerDuty answers from other threads)."""
    os.environ.update(env)
    from workers import jobs

    jobs.forget_runtime()
    jobs.warm_up()
    if with_rq:  # the jobs the webhooks enqueued, run by the worker class, in this thread
        from rq.serializers import JSONSerializer

        from workers.queues import worked_queues
        from workers.worker import InlineHerokuWorker

        worker = InlineHerokuWorker(
            worked_queues(connection), connection=connection, serializer=JSONSerializer
        )
        worker.log.setLevel("WARNING")
        open_incidents(env, connection, 20)
        worker.work(burst=True, logging_level="WARNING")  # warm
        open_incidents(env, connection, count, first=20)
        worker = InlineHerokuWorker(
            worked_queues(connection), connection=connection, serializer=JSONSerializer
        )
        run = lambda: worker.work(burst=True, logging_level="WARNING")  # noqa: E731
    else:  # notify() alone, called directly
        incidents = open_incidents(env, connection, count + 20)
        for incident in incidents[:20]:  # warm: first connections, first renders
            jobs.notify(incident, "declared", "", "bench")
        run = lambda: [jobs.notify(i, "declared", "", "bench") for i in incidents[20:]]  # noqa: E731
    profiler = cProfile.Profile(time.thread_time) if profile else None  # CPU, not waits
    round_trips = _count_round_trips()
    cpu, wall = time.thread_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    run()
    if profiler:
        profiler.disable()
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    sent = round_trips.pop()
    assert len(_pages(fake)) == count + 20
    result = {
        "jobs": count,
        "cpu_us_per_job": round(cpu / count * 1e6),
        "wall_us_per_job": round(wall / count * 1e6),
        "redis_round_trips_per_job": round(sent / count, 1),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(40)
        print(out.getvalue())
    return result


def _count_round_trips() -> list[int]:
    """Counts every send to Redis from now on (a pipeline is one send); pop() stops counting
    and returns the count."""
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command
    sent = [0]

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent[0] += check_health  # not counting redis-py's own health-check PINGs
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]

    class Counter(list):
        def pop(self) -> int:  # type: ignore[override]
            AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
            return sent[0]

    return Counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument(
        "--processes", type=int, default=2, help="`python -m workers` processes to start"
    )
    parser.add_argument(
        "--worker-args", default="", help="extra arguments for each `python -m workers`"
    )
    parser.add_argument("--inprocess", action="store_true")
    parser.add_argument(
        "--rq",
        action="store_true",
        help="with --inprocess: run the queued jobs through the worker class",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (tottime, ...)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    connection = scratch_database(args.redis)
    connection.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="klaxon-bench-jobs-"))
    certificates = make_certificates(scratch)
    routing_keys = write_rules(scratch, SERVICES)
    with FakePagerDuty(tls=certificates.server_context(), ca_file=certificates.ca_file) as fake:
        env = {
            **os.environ,
            "REDIS_URL": args.redis,
            "DATADOG_WEBHOOK_TOKEN": TOKEN,
            "KLAXON_RULES_DIR": str(scratch),
            "KLAXON_LOG_LEVEL": "WARNING",
            **routing_keys,
            "PAGERDUTY_EVENTS_URL": fake.url,
            "PAGERDUTY_CA_FILE": str(fake.ca_file),
            "PYTHONPATH": str(ROOT),
        }
        try:
            if args.inprocess:
                result = inprocess(
                    env, connection, fake, args.jobs, args.profile, args.sort, args.rq
                )
            else:
                result = drain(
                    env, connection, fake, args.jobs, args.processes, args.worker_args.split()
                )
            print(json.dumps(result))
        finally:
            connection.flushdb()


if __name__ == "__main__":
    main()
