"""End to end: from a webhook's 202 to the fake PagerDuty receiving the page, over loopback
with a real Redis, the web server (granian, 2 workers) and two `python -m workers` processes.

Two runs in one invocation:
  storm    --storm N duplicate webhooks for one problem (new delivery ids, same monitor and
           group): exactly one page must reach PagerDuty.
  latency  new problems at --new-rate per second, mixed with duplicates at --dup-rate per
           second, for --duration seconds: p50/p99 of (page arrival - 202 received), per
           incident, and the rates actually achieved.

    PYTHONPATH=.:tests python -m bench.notify --storm 10000 --new-rate 100 --dup-rate 2000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.tls import make_certificates  # noqa: E402  (the tests' fake vendor, reused)
from fakes.vendors import FakePagerDuty  # noqa: E402

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
    keys = {f"PD_ROUTING_KEY_SVC{n}": f"BENCHR0UT1NGK3Y{n:04d}{'0' * 13}"[:32]
            for n in range(services)}
    lines = ["environment:"] + [f"  {name}: routing key of svc-{n}"
                                for n, name in enumerate(keys)]
    lines += ["teams:"] + [f"  svc-{n}: {{description: svc-{n}, pagerduty: "
                           f"{{routing_key_env: PD_ROUTING_KEY_SVC{n}}}}}"
                           for n in range(services)]
    lines += ["defaults: {team: svc-0, severity: SEV2, group_by: [], group_wait: 0s}",
              "routes:"] + [f"  - {{name: svc-{n}, match: {{service: svc-{n}}}, team: svc-{n}}}"
                            for n in range(services)]
    (folder / "rules.yml").write_text("\n".join(lines) + "\n")
    return keys


class Post:
    """Posts webhooks from a pool of keep-alive sessions; returns (202 time, answer)."""

    def __init__(self, base: str, threads: int) -> None:
        self.url = f"{base}/webhooks/datadog"
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def __call__(self, data: bytes) -> tuple[float, dict]:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        response = session.post(self.url, data=data, timeout=30, headers={
            "Content-Type": "application/json", "X-Klaxon-Token": TOKEN})
        return time.monotonic(), response.json()  # the fake stamps arrivals on this clock


def start(env: dict[str, str], port: int) -> list[subprocess.Popen]:
    web = subprocess.Popen([str(Path(sys.executable).parent / "granian"), "--interface", "wsgi",
                            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                            "app.wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    workers = [subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for _ in range(2)]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=1).ok:
                return [web, *workers]
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("the web server never became ready")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=40)


def storm(post: Post, fake: FakePagerDuty, count: int) -> dict:
    started = time.time()
    answers = list(post.pool.map(lambda i: post(body(f"storm-{i}", "storm"))[1], range(count)))
    elapsed = time.time() - started
    time.sleep(3)  # let the workers finish
    pages = [r for r in fake.requests if r.json.get("event_action") == "trigger"]
    outcomes = {o: sum(1 for a in answers if a["outcome"] == o) for o in {a["outcome"]
                                                                          for a in answers}}
    return {"webhooks": count, "seconds": round(elapsed, 1), "outcomes": outcomes,
            "pages": len(pages), "rate": round(count / elapsed)}


def latency(post: Post, fake: FakePagerDuty, new_rate: float, dup_rate: float,
            duration: float) -> dict:
    accepted: dict[str, float] = {}
    futures = []
    started = time.time()
    sent_new = sent_dup = 0
    while (now := time.time()) - started < duration:
        due_new = int((now - started) * new_rate) - sent_new
        due_dup = int((now - started) * dup_rate) - sent_dup
        for _ in range(max(due_new, 0)):
            futures.append(("new", post.pool.submit(post, body(
                f"n-{sent_new}", f"p{sent_new}", sent_new % SERVICES))))
            sent_new += 1
        for _ in range(max(due_dup, 0)):
            futures.append(("dup", post.pool.submit(post, body(f"d-{sent_dup}", "p0"))))
            sent_dup += 1
        time.sleep(0.005)
    for kind, future in futures:
        at, answer = future.result()
        if kind == "new" and answer.get("outcome") == "new":
            accepted[answer["incident"]] = at
    elapsed = time.time() - started
    time.sleep(10)
    arrived = {r.json["dedup_key"]: r.time for r in fake.requests
               if r.json.get("event_action") == "trigger"}
    delays = sorted((arrived[i] - t) * 1000 for i, t in accepted.items() if i in arrived)
    return {"new_sent": sent_new, "dup_sent": sent_dup, "seconds": round(elapsed, 1),
            "achieved_new_per_s": round(sent_new / elapsed, 1),
            "achieved_dup_per_s": round(sent_dup / elapsed, 1),
            "incidents": len(accepted), "paged": len(delays),
            "p50_ms": round(statistics.median(delays), 1) if delays else None,
            "p99_ms": round(delays[int(len(delays) * 0.99) - 1], 1) if delays else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=10000)
    parser.add_argument("--new-rate", type=float, default=100)
    parser.add_argument("--dup-rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    import redis as redis_py
    redis_py.Redis.from_url(args.redis).flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="klaxon-bench-notify-"))
    certificates = make_certificates(scratch)
    routing_keys = write_rules(scratch)
    with FakePagerDuty(tls=certificates.server_context(), ca_file=certificates.ca_file) as fake:
        env = {**os.environ, "REDIS_URL": args.redis, "DATADOG_WEBHOOK_TOKEN": TOKEN,
               "KLAXON_RULES_DIR": str(scratch), "KLAXON_LOG_LEVEL": "WARNING",
               **routing_keys, "PAGERDUTY_EVENTS_URL": fake.url,
               "PAGERDUTY_CA_FILE": str(fake.ca_file), "PYTHONPATH": str(ROOT)}
        processes = start(env, free_port())
        try:
            port = int(processes[0].args[processes[0].args.index("--port") + 1])
            post = Post(f"http://127.0.0.1:{port}", args.threads)
            print("storm:", json.dumps(storm(post, fake, args.storm)))
            fake.clear()
            print("latency:", json.dumps(latency(post, fake, args.new_rate, args.dup_rate,
                                                 args.duration)))
        finally:
            stop(processes)
            redis_py.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
