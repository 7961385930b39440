"""End to end: from a webhook's 202 to the fake PagerDuty receiving the page, over loopback
with a real Redis, the web server (granian, 2 workers) and a worker dyno
(`python -m workers --processes N`; `--dynos D` starts D of them). Each dyno also runs its
public workers (KLAXON_PUBLIC_WORKER_PROCESSES, default 1), which send every incident's
status-page create (SEV2) to the outbox, as a dyno without Statuspage credentials does.

Two runs in one invocation:
  storm    --storm N duplicate webhooks for one problem (new delivery ids, same monitor and
           group), as fast as the connections go: exactly one page must reach PagerDuty.
  latency  new problems at --new-rate per second, interleaved with duplicates at --dup-rate
           per second, for --duration seconds: p50/p99 of (page arrival - 202 received), per
           incident, and the rates actually achieved.

The load generator is cheap so that it does not take the cores the receiver and the workers
need: every request is built before the clock starts (raw HTTP/1.1 bytes), sent on a few
keep-alive connections from one asyncio loop, paced by a schedule that merges both rates;
a request whose time has come waits for a free connection (the achieved rates say so). The
202 time of a new incident is taken when its answer has been read, on the clock the fake
PagerDuty stamps arrivals with (time.monotonic, same process).

    PYTHONPATH=.:tests python -m bench.notify --storm 10000 --new-rate 100 --dup-rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis as redis_py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.tls import make_certificates  # noqa: E402  (the tests' fake vendor, reused)
from fakes.vendors import FakePagerDuty  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402

TOKEN = "bench-datadog-token-0000"
FIXTURE = json.loads((ROOT / "tests/data/webhooks/datadog/triggered.json").read_bytes())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVICES = 60  # PagerDuty takes ~120 events/min per routing key: spread over many services


def body(delivery: str, problem: str, service: int = 0) -> bytes:
    payload = json.loads(json.dumps(FIXTURE))
    payload["id"], payload["alert"]["id"] = delivery, problem
    payload["alert"]["scope"] = f"host:{problem}"
    payload["tags"] = f"env:prod, service:svc-{service}"
    return json.dumps(payload).encode()


def write_rules(folder: Path, services: int = SERVICES) -> dict[str, str]:
    """One team (and routing key) per service, no group_wait, SEV2: the page goes out as
    soon as an incident opens. Returns the routing-key variables."""
    keys = {
        f"PD_ROUTING_KEY_SVC{n}": f"BENCHR0UT1NGK3Y{n:04d}{'0' * 13}"[:32] for n in range(services)
    }
    lines = ["environment:"] + [f"  {name}: routing key of svc-{n}" for n, name in enumerate(keys)]
    lines += ["teams:"] + [
        f"  svc-{n}: {{description: svc-{n}, pagerduty: "
        f"{{routing_key_env: PD_ROUTING_KEY_SVC{n}}}}}"
        for n in range(services)
    ]
    lines += [
        "defaults: {team: svc-0, severity: SEV2, group_by: [], group_wait: 0s}",
        "routes:",
    ] + [
        f"  - {{name: svc-{n}, match: {{service: svc-{n}}}, team: svc-{n}}}"
        for n in range(services)
    ]
    (folder / "rules.yml").write_text("\n".join(lines) + "\n")
    return keys


class Bodies:
    """Webhook bodies by template: one json.dumps, then plain byte substitution per request
    (the delivery id, problem and service are the only fields that vary)."""

    def __init__(self) -> None:
        self.template = body("@@DELIVERY@@", "@@PROBLEM@@", 987654)

    def __call__(self, delivery: str, problem: str, service: int = 0) -> bytes:
        return (
            self.template.replace(b"@@DELIVERY@@", delivery.encode())
            .replace(b"@@PROBLEM@@", problem.encode())
            .replace(b"svc-987654", f"svc-{service}".encode())
        )


def http_request(port: int, data: bytes) -> bytes:
    return (
        f"POST /webhooks/datadog HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nX-Klaxon-Token: {TOKEN}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


@dataclass
class Outcome:
    kind: str  # "new" or "dup"
    due: float  # when the schedule wanted it sent
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)


class Load:
    """Sends prepared requests over `connections` keep-alive connections, at their due times."""

    def __init__(self, port: int, connections: int) -> None:
        self.port = port
        self.connections = connections

    async def run(self, schedule: list[tuple[float, str, bytes]]) -> list[Outcome]:
        """schedule: (seconds after start, kind, raw request), in time order; 0 for all means
        as fast as the connections go."""
        queue: asyncio.Queue[tuple[Outcome, bytes] | None] = asyncio.Queue()
        outcomes: list[Outcome] = []
        streams = [
            await asyncio.open_connection("127.0.0.1", self.port) for _ in range(self.connections)
        ]
        for _, writer in streams:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        senders = [
            asyncio.create_task(self._send(reader, writer, queue)) for reader, writer in streams
        ]
        start = time.monotonic()
        for offset, kind, raw in schedule:
            due = start + offset
            wait = due - time.monotonic()
            if wait > 0.001:
                await asyncio.sleep(wait)
            outcome = Outcome(kind, due)
            outcomes.append(outcome)
            queue.put_nowait((outcome, raw))
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)
        for _, writer in streams:
            writer.close()
        return outcomes

    @staticmethod
    async def _send(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        queue: asyncio.Queue[tuple[Outcome, bytes] | None],
    ) -> None:
        while (item := await queue.get()) is not None:
            outcome, raw = item
            outcome.sent = time.monotonic()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            data = await reader.readexactly(length)
            outcome.answered = time.monotonic()  # the fake stamps arrivals on this clock
            outcome.status = int(head[9:12])
            outcome.answer = json.loads(data) if data else {}


def paced(
    new_rate: float, dup_rate: float, duration: float, port: int, bodies: Bodies
) -> list[tuple[float, str, bytes]]:
    """Both streams merged in time order: new problems (each its own incident, spread over
    the services) and duplicates of one other problem (its first delivery opens one more
    incident, which is not measured)."""
    new = (
        [
            (n / new_rate, "new", http_request(port, bodies(f"n-{n}", f"p{n}", n % SERVICES)))
            for n in range(int(duration * new_rate))
        ]
        if new_rate > 0
        else []
    )
    dup = (
        [
            (n / dup_rate, "dup", http_request(port, bodies(f"d-{n}", "repeated")))
            for n in range(int(duration * dup_rate))
        ]
        if dup_rate > 0
        else []
    )
    return list(heapq.merge(new, dup, key=lambda item: item[0]))


def start(
    env: dict[str, str], port: int, worker_processes: int, dynos: int = 1
) -> list[subprocess.Popen]:
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "rsgi",  # as the Procfile
            "--no-ws",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "app.web:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "workers", "--processes", str(worker_processes)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(dynos)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in probe.recv(100) and _workers_ready(
                    env, workers_per_dyno(env, worker_processes) * dynos
                ):
                    return [web, *workers]
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web server never became ready")


def workers_per_dyno(env: dict[str, str], processes: int) -> int:
    """The workers `python -m workers --processes N` registers: N for pages and the public
    ones, or with N = 1 a single worker for both."""
    from app.settings import Settings

    return 1 if processes == 1 else processes + Settings.from_env(env).public_worker_processes


def _workers_ready(env: dict[str, str], count: int) -> bool:
    """Every worker has registered and is waiting on the queue: load sent before that
    measures process start-up, not notifications."""
    from rq.worker import Worker

    connection = redis_py.Redis.from_url(env["REDIS_URL"])
    workers = Worker.all(connection=connection)
    return len(workers) >= count and all(w.get_state() == "idle" for w in workers)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=40)


class Cpu:
    """CPU seconds of the benchmark's parts and of the whole machine, between two readings."""

    def __init__(self, processes: list[subprocess.Popen], database: redis_py.Redis) -> None:
        self.groups = {
            "web": [psutil.Process(processes[0].pid)],
            "workers": [psutil.Process(p.pid) for p in processes[1:]],
        }
        self.database = database

    def read(self) -> dict[str, float]:
        seconds = {}
        for name, roots in self.groups.items():
            total = 0.0
            for process in [p for root in roots for p in [root, *root.children(recursive=True)]]:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system + times.children_user + times.children_system
                except psutil.NoSuchProcess:
                    pass
            seconds[name] = total
        info = self.database.info("cpu")
        seconds["redis"] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        own = psutil.Process().cpu_times()
        seconds["bench (load + fake PagerDuty)"] = own.user + own.system
        machine = psutil.cpu_times()
        seconds["machine"] = sum(machine) - machine.idle - machine.iowait
        return seconds

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
        cores = {name: round((after[name] - before[name]) / seconds, 2) for name in before}
        cores["other load"] = round(
            max(cores["machine"] - sum(v for k, v in cores.items() if k != "machine"), 0.0), 2
        )
        return cores


def triggers(fake: FakePagerDuty) -> dict[str, float]:
    return {
        r.json["dedup_key"]: r.time
        for r in fake.requests
        if isinstance(r.json, dict) and r.json.get("event_action") == "trigger"
    }


def storm(load: Load, fake: FakePagerDuty, count: int, bodies: Bodies) -> dict:
    schedule = [
        (0.0, "dup", http_request(load.port, bodies(f"storm-{i}", "storm"))) for i in range(count)
    ]
    started = time.monotonic()
    outcomes = asyncio.run(load.run(schedule))
    elapsed = time.monotonic() - started
    time.sleep(3)  # let the workers finish
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = outcome.answer.get("outcome") or f"HTTP {outcome.status}"
        counts[key] = counts.get(key, 0) + 1
    return {
        "webhooks": count,
        "seconds": round(elapsed, 1),
        "outcomes": counts,
        "pages": len(triggers(fake)),
        "rate": round(count / elapsed),
    }


def latency(
    load: Load,
    fake: FakePagerDuty,
    cpu: Cpu,
    new_rate: float,
    dup_rate: float,
    duration: float,
    wait: float,
    bodies: Bodies,
    dump: Path | None = None,
) -> dict:
    schedule = paced(new_rate, dup_rate, duration, load.port, bodies)
    before = cpu.read()
    started = time.monotonic()
    outcomes = asyncio.run(load.run(schedule))
    elapsed = time.monotonic() - started
    after = cpu.read()
    accepted = {
        o.answer["incident"]: o.answered
        for o in outcomes
        if o.kind == "new" and o.answer.get("outcome") == "new"
    }
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not set(accepted) <= set(triggers(fake)):
        time.sleep(0.1)
    arrived = triggers(fake)
    delays = sorted((arrived[i] - t) * 1000 for i, t in accepted.items() if i in arrived)
    waits, runs = job_timings(
        cpu.database, {i: arrived[i] for i in accepted if i in arrived}, accepted, dump
    )
    answers = sorted((o.answered - o.sent) * 1000 for o in outcomes)
    late = sorted((o.sent - o.due) * 1000 for o in outcomes)
    sent_new = sum(1 for o in outcomes if o.kind == "new")
    sent_dup = len(outcomes) - sent_new
    return {
        "asked_new_per_s": new_rate,
        "asked_dup_per_s": dup_rate,
        "new_sent": sent_new,
        "dup_sent": sent_dup,
        "seconds": round(elapsed, 1),
        "achieved_new_per_s": round(sent_new / elapsed, 1),
        "achieved_dup_per_s": round(sent_dup / elapsed, 1),
        "not_202": sum(1 for o in outcomes if o.status != 202),
        "send_lag_p99_ms": _percentile(late, 0.99),
        "answer_p50_ms": _percentile(answers, 0.5),
        "answer_p99_ms": _percentile(answers, 0.99),
        "incidents": len(accepted),
        "paged": len(delays),
        "p50_ms": _percentile(delays, 0.5),
        "p99_ms": _percentile(delays, 0.99),
        "max_ms": round(delays[-1], 1) if delays else None,
        # where the time goes: in the queue (enqueued -> a worker starts the job), and in
        # the job (started -> the page reaches the fake)
        "queued_p50_ms": _percentile(waits, 0.5),
        "queued_p99_ms": _percentile(waits, 0.99),
        "job_to_page_p50_ms": _percentile(runs, 0.5),
        "job_to_page_p99_ms": _percentile(runs, 0.99),
        "cores": Cpu.used(before, after, elapsed),
    }


def job_timings(
    database: redis_py.Redis,
    pages: dict[str, float],
    accepted: dict[str, float],
    dump: Path | None = None,
) -> tuple[list[float], list[float]]:
    """From RQ's job hashes (wall-clock, UTC): ms each declared job waited in the queue, and
    ms from its start to its page's arrival at the fake (monotonic, shifted to wall time).
    `dump` gets one JSON line per incident (wall-clock seconds of each step, the worker)."""
    from rq.utils import utcparse

    from app.notifications import notify_job_id

    shift = time.time() - time.monotonic()
    waits, runs, lines = [], [], []
    with database.pipeline(transaction=False) as pipe:
        for incident in pages:
            pipe.hmget(
                f"rq:job:{notify_job_id(incident, 'declared', '')}",
                ["enqueued_at", "started_at", "worker_name"],
            )
        for (incident, arrived), (enqueued, started, worker) in zip(
            pages.items(), pipe.execute(), strict=True
        ):
            if enqueued and started:
                enqueued_at = utcparse(enqueued.decode()).timestamp()
                started_at = utcparse(started.decode()).timestamp()
                waits.append((started_at - enqueued_at) * 1000)
                runs.append((arrived + shift - started_at) * 1000)
                lines.append(
                    {
                        "incident": incident,
                        "enqueued": enqueued_at,
                        "answered": accepted[incident] + shift,
                        "started": started_at,
                        "paged": arrived + shift,
                        "worker": (worker or b"").decode(),
                    }
                )
    if dump is not None:
        dump.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return sorted(waits), sorted(runs)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if q == 0.5:
        return round(statistics.median(values), 1)
    return round(values[min(len(values) - 1, max(int(len(values) * q + 0.5) - 1, 0))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=10000)
    parser.add_argument("--new-rate", type=float, default=100)
    parser.add_argument("--dup-rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=2,
        help="workers per worker dyno (python -m workers --processes N)",
    )
    parser.add_argument("--dynos", type=int, default=1, help="worker dynos to start")
    parser.add_argument(
        "--wait", type=float, default=30, help="seconds to wait for the last pages after the load"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="write each incident's timings (JSON lines) to this file",
    )
    args = parser.parse_args()

    database = scratch_database(args.redis)
    database.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="klaxon-bench-notify-"))
    certificates = make_certificates(scratch)
    routing_keys = write_rules(scratch)
    bodies = Bodies()
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
        port = free_port()
        processes = start(env, port, args.worker_processes, args.dynos)
        try:
            load = Load(port, args.connections)
            if args.storm:
                print("storm:", json.dumps(storm(load, fake, args.storm, bodies)), flush=True)
            fake.clear()
            print(
                "latency:",
                json.dumps(
                    latency(
                        load,
                        fake,
                        Cpu(processes, database),
                        args.new_rate,
                        args.dup_rate,
                        args.duration,
                        args.wait,
                        bodies,
                        args.dump,
                    )
                ),
            )
        finally:
            stop(processes)
            database.flushdb()


if __name__ == "__main__":
    main()
