"""Receiver throughput: Klaxon's webhook endpoint against a bare Flask app that only answers 202
(the ceiling) and a Flask app that only stores the body in Redis before its 202 (the floor of
any receiver that keeps Klaxon's durability promise: bench/floor_app.py), under the same WSGI
server, workers and load, in one run.

For each app: start the server on a loopback port, warm up, flush the Redis database, replay
the generated requests with wrk for a fixed time, and read the server's CPU time from /proc.
Afterwards Klaxon's answers and Redis are checked: every answer 2xx, and one stored delivery
per distinct delivery sent (redeliveries stored nothing).

    python -m bench.receiver --server granian --workers 2 --connections 32 --duration 15
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psutil
import redis
from werkzeug.datastructures import Headers

from app.settings import Settings
from app.sources import build_sources
from app.store import keys
from bench import make_requests
from bench.scratch import scratch_database
from tests.conftest import SECRETS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPLAY_SCRIPT = Path(__file__).with_name("replay.lua")
POOL_PER_SECOND = 8_000  # distinct requests generated per second of load: more than Klaxon takes


@dataclass(frozen=True)
class Run:
    """What wrk and the kernel saw during one measured run."""

    label: str
    seconds: float
    statuses: Counter[int]
    sent_by_thread: list[int]
    p50_ms: float
    p99_ms: float
    socket_errors: int
    cpu_seconds: dict[str, float]  # server, redis, wrk, machine (every process)

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def cpu_ms(self, who: str) -> float:
        return 1000 * self.cpu_seconds[who] / max(self.accepted, 1)

    @property
    def other_load(self) -> float:
        """Cores busy with processes outside the benchmark (other jobs on the machine)."""
        ours = sum(self.cpu_seconds[who] for who in ("server", "redis", "wrk"))
        return max(self.cpu_seconds["machine"] - ours, 0.0) / self.seconds


def main() -> None:
    args = _arguments()
    database = scratch_database(args.redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="klaxon-bench-"))
    count = args.requests or args.duration * POOL_PER_SECOND
    requests = make_requests.build(count, args.duplicates)
    pool = make_requests.write(requests, workdir / "requests.bin")
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **SECRETS, "PYTHONPATH": python_path, "REDIS_URL": args.redis_url}
    if args.threads:
        env["KLAXON_WEB_THREADS"] = str(args.threads)
    print(_setup(args))
    rounds, problems = [], []
    both = args.klaxon == "both" and args.server == "granian"
    klaxon_app = KLAXON_APPS[args.klaxon if args.server == "granian" and not both else "wsgi"]
    if both:
        klaxon_app = KLAXON_APPS["front"]
    for _ in range(args.rounds):  # alternate, so a change in machine load hits every app
        bare = measure("bare Flask", "bench.bare_app:app", args, pool, env, database, workdir)
        floor = measure("store only", "bench.floor_app:app", args, pool, env, database, workdir)
        klaxon = measure("Klaxon", klaxon_app, args, pool, env, database, workdir)
        found, stored = check(klaxon, requests, database)
        problems += found + [
            f"store only: {n} answers with status {status}"
            for status, n in sorted(floor.statuses.items())
            if not 200 <= status < 300
        ]
        print(f"Klaxon answers: {dict(sorted(klaxon.statuses.items()))}; {stored}")
        measured = [figures(bare), figures(floor), figures(klaxon)]
        if both:  # the same Klaxon under granian's WSGI interface, as before the front
            plain = measure("Klaxon-wsgi", KLAXON_APPS["wsgi"], args, pool, env, database, workdir)
            problems += [f"Klaxon (WSGI): {p}" for p in check(plain, requests, database)[0]]
            measured.append(figures(plain))
        rounds.append(tuple(measured))
    database.flushdb()
    pool.unlink()  # hundreds of MB; the server logs stay in the work directory
    summary = report(rounds)
    print("check: " + ("; ".join(problems) if problems else "ok"))
    if args.json:
        with args.json.open("a") as out:
            out.write(json.dumps({"setup": _setup(args), **summary, "problems": problems}) + "\n")
    sys.exit(1 if problems else 0)


def measure(
    label: str,
    app: str,
    args: argparse.Namespace,
    pool: Path,
    env: dict[str, str],
    database: redis.Redis,
    workdir: Path,
) -> Run:
    port = _free_port()
    log = workdir / f"{label.split()[0].lower()}-server.log"
    with serving(server_command(args, app, port), env, log) as server:
        url = f"http://127.0.0.1:{port}"
        _wait_until_answering(url)
        wrk(url, pool, args, args.warmup)
        _wait_until_idle(server)  # requests queued during the warm-up must not land after flush
        database.flushdb()
        before = _cpu_seconds(server, database)
        result = wrk(url, pool, args, args.duration)
        after = _cpu_seconds(server, database)
    statuses: Counter[int] = Counter()
    for status, n in result["statuses"]:  # one pair per wrk thread and status
        statuses[status] += n
    return Run(
        label=label,
        seconds=result["duration_us"] / 1e6,
        statuses=statuses,
        sent_by_thread=result["sent_by_thread"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        socket_errors=result["socket_errors"],
        cpu_seconds={who: after[who] - before[who] for who in before},
    )


# Klaxon as the Procfile serves it (granian's RSGI interface, app/front.py in front of Flask),
# or the Flask app alone under granian's WSGI interface, as before issue 11.
KLAXON_APPS = {"front": "app.web:app", "wsgi": "app.wsgi:app"}


def server_command(args: argparse.Namespace, app: str, port: int) -> list[str]:
    if args.server == "granian" and app == KLAXON_APPS["front"]:
        # The front's own request threads: KLAXON_WEB_THREADS (serving() passes the env).
        return [
            str(BIN / "granian"),
            "--interface",
            "rsgi",
            "--no-ws",
            "--workers",
            str(args.workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            app,
        ]
    if args.server == "granian":
        command = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--workers",
            str(args.workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        if args.threads:
            command += ["--blocking-threads", str(args.threads)]
        return [*command, app]
    command = [
        str(BIN / "gunicorn"),
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return [*command, app]


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path) -> Iterator[psutil.Process]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
        try:
            yield psutil.Process(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wrk(url: str, pool: Path, args: argparse.Namespace, seconds: int) -> dict[str, Any]:
    command = [
        "wrk",
        "--threads",
        str(args.wrk_threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--script",
        str(REPLAY_SCRIPT),
        url,
        "--",
        str(pool),
        str(args.wrk_threads),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def check(
    run: Run, requests: list[make_requests.Request], database: redis.Redis
) -> tuple[list[str], str]:
    """What went wrong, if anything (non-2xx answers, stored deliveries that do not match the
    distinct deliveries sent), and a line saying what was stored."""
    problems = [
        f"{n} answers with status {status}"
        for status, n in sorted(run.statuses.items())
        if not 200 <= status < 300
    ]
    if run.socket_errors:
        problems.append(f"{run.socket_errors} socket errors or timeouts")
    sent = _sent(requests, run.sent_by_thread)
    n = len(run.sent_by_thread)
    if any(count > len(requests[k::n]) for k, count in enumerate(run.sent_by_thread)):
        problems.append("the request pool ran out: raise --requests")
    expected = expected_deliveries(sent)
    stored = stored_deliveries(database)
    in_flight = sum(run.sent_by_thread) - sum(run.statuses.values())
    missing, unexpected = len(expected - stored), len(stored - expected)
    if unexpected or missing > 2 * in_flight:  # an Alertmanager request stores two deliveries
        problems.append(f"{missing} deliveries missing, {unexpected} unexpected")
    return problems, (
        f"{len(stored)} deliveries stored for {len(expected)} distinct deliveries "
        f"sent ({in_flight} requests in flight at the end)"
    )


def stored_deliveries(database: redis.Redis) -> set[int]:
    """Every delivery Klaxon remembers (keys.deliveries: sets of 64-bit hashes)."""
    found: set[int] = set()
    for key in database.scan_iter(keys.deliveries("*", "*"), count=10_000):
        found.update(int(member) for member in database.smembers(key))
    return found


def expected_deliveries(requests: list[make_requests.Request]) -> set[int]:
    """The delivery hashes Klaxon remembers for these requests, found by its own sources."""
    sources = build_sources(Settings.from_env(SECRETS))
    found: set[int] = set()
    for request in {id(r): r for r in requests}.values():
        source, headers = sources[request.source], Headers(request.headers)
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.target).query).items()}
        source.verify(headers, request.body, query)
        parsed = source.parse(headers, json.loads(request.body), request.body)
        found.update(keys.delivery_member(a.source, a.delivery_id) for a in parsed.alerts)
    return found


def _sent(requests: list[make_requests.Request], sent_by_thread: list[int]) -> list[Any]:
    """The requests wrk wrote: thread k of n sends k, k+n, k+2n, ... (bench/replay.lua)."""
    n = len(sent_by_thread)
    sent = []
    for thread, count in enumerate(sent_by_thread):
        share = requests[thread::n]
        sent += [share[i % len(share)] for i in range(count)]
    return sent


def figures(run: Run) -> dict[str, float]:
    return {
        "webhooks/s": run.rate,
        "p50 ms": run.p50_ms,
        "p99 ms": run.p99_ms,
        "CPU ms/webhook": run.cpu_ms("server"),
        "Redis CPU ms": run.cpu_ms("redis"),
        "other load": run.other_load,
    }


APPS = ("bare Flask", "store only", "Klaxon", "Klaxon (WSGI)")
MEDIANS = ("bare", "floor", "klaxon", "klaxon wsgi")


def report(rounds: list[tuple[dict[str, float], ...]]) -> dict[str, Any]:
    """Print every round and the median of each figure; return the medians. Ratios: each app's
    webhooks/s over the bare app's of the same round, and Klaxon's over the store-only app's."""
    names = list(rounds[0][0])
    print(
        f"{'':24}"
        + "".join(f"{name:>15}" for name in names)
        + f"{'of bare':>9}"
        + f"{'of store':>9}"
    )
    median: dict[str, Any] = {
        label: {name: statistics.median(r[index][name] for r in rounds) for name in names}
        for index, label in enumerate(MEDIANS[: len(rounds[0])])
    }
    median["ratio"] = statistics.median(r[2]["webhooks/s"] / r[0]["webhooks/s"] for r in rounds)
    if len(rounds[0]) > 3:
        median["ratio wsgi"] = statistics.median(
            r[3]["webhooks/s"] / r[0]["webhooks/s"] for r in rounds
        )
    median["floor ratio"] = statistics.median(
        r[1]["webhooks/s"] / r[0]["webhooks/s"] for r in rounds
    )
    median["klaxon/floor"] = statistics.median(
        r[2]["webhooks/s"] / r[1]["webhooks/s"] for r in rounds
    )
    rows = [(f"round {i + 1}", apps) for i, apps in enumerate(rounds)]
    if len(rounds) > 1:
        rows.append(("median", tuple(median[label] for label in MEDIANS[: len(rounds[0])])))
    for label, apps in rows:
        bare, floor = apps[0], apps[1]
        for app, values in zip(APPS, apps, strict=False):
            of_bare = (
                f"{values['webhooks/s'] / bare['webhooks/s']:>9.0%}" if app != APPS[0] else " " * 9
            )
            of_floor = (
                f"{values['webhooks/s'] / floor['webhooks/s']:>9.0%}" if app in APPS[2:] else ""
            )
            print(
                f"{label + ' ' + app:<24}"
                + "".join(f"{values[n]:>15.2f}" for n in names)
                + of_bare
                + of_floor
            )
    return median


def _setup(args: argparse.Namespace) -> str:
    server = (
        f"granian (Klaxon: {args.klaxon})"
        if args.server == "granian"
        else f"gunicorn {args.worker_class}"
    )
    threads = f" x {args.threads} threads" if args.threads else ""
    return (
        f"{server}, {args.workers} workers{threads}; wrk {args.wrk_threads} threads, "
        f"{args.connections} connections, {args.duration} s after {args.warmup} s warm-up; "
        f"{args.duplicates:.0%} redeliveries"
    )


def _cpu_seconds(server: psutil.Process, database: redis.Redis) -> dict[str, float]:
    """CPU time so far of the server's processes, Redis, finished children (wrk) and the
    whole machine."""
    processes = [server, *server.children(recursive=True)]
    redis_cpu = database.info("cpu")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = psutil.cpu_times()
    return {
        "server": sum(p.cpu_times().user + p.cpu_times().system for p in processes),
        "redis": float(redis_cpu["used_cpu_user"]) + float(redis_cpu["used_cpu_sys"]),
        "wrk": children.ru_utime + children.ru_stime,
        "machine": sum(machine) - machine.idle - machine.iowait,
    }


def _wait_until_idle(server: psutil.Process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    processes = [server, *server.children(recursive=True)]
    busy = sum(sum(p.cpu_times()[:2]) for p in processes)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        busy, before = sum(sum(p.cpu_times()[:2]) for p in processes), busy
        if busy - before < 0.02:
            return


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # the bare app has no /healthz: any HTTP answer will do
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no server answered on {url} within {timeout:.0f} s")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--worker-class", default="sync", help="gunicorn only: sync, gthread, ...")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads per worker (gunicorn --threads, granian --blocking-threads, "
        "KLAXON_WEB_THREADS for the front)",
    )
    parser.add_argument(
        "--klaxon",
        choices=[*sorted(KLAXON_APPS), "both"],
        default="front",
        help="granian only: Klaxon behind app/front.py over RSGI (the Procfile), plain WSGI, "
        "or both in every round",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before measuring")
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.1,
        help="share of requests that are byte-identical redeliveries",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help=f"distinct requests to generate (default {POOL_PER_SECOND}/s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure bare and Klaxon this many times, alternating"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--json", type=Path, help="append the figures as one JSON line here")
    return parser.parse_args()


if __name__ == "__main__":
    main()
