"""GET /metrics: Prometheus text, behind KLAXON_API_TOKEN or KLAXON_METRICS_TOKEN.

Three kinds of numbers, each where it is cheapest to keep:

* The web process's own (webhooks by source and outcome, refusals, request latency): counted
  in app/logs.log_request(), the one point that already learns every request's outcome, into
  prometheus-client's multiprocess files (KLAXON_METRICS_DIR), so each /metrics answer adds up
  every web worker process of the dyno. Two or three mmap writes per request.
* The workers' (job and channel durations, failures): a worker dyno is another machine on
  Heroku, whose files the web dyno cannot read, so workers count into one capped Redis hash
  (workers/job_metrics.py) and this module reads it at scrape time.
* The state of the system (queue depths, timers pending, Redis memory, the last drill): read
  from Redis at scrape time by RedisCollector, a handful of commands in one round trip.

Labels are bounded sets only (route groups, source names Klaxon knows, outcome and error
codes, channel names): never an incident id, a path or text a client sent.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, current_app, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from app.errors import Unauthorized
from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE, QUEUE_NAMES
from app.store import keys

blueprint = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Where a job's time goes: Redis reads, a vendor call (seconds), a rate-limit wait.
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
ROUTE_GROUPS = (
    ("/webhooks/", "webhooks"),
    ("/api/v2/", "status"),  # the public status JSON
    ("/api/", "api"),
    ("/status", "status"),
    ("/healthz", "health"),
    ("/readyz", "health"),
    ("/metrics", "metrics"),
)


class RequestMetrics:
    """The web process's counters; one instance per process (see configure())."""

    def __init__(self, sources: frozenset[str]) -> None:
        self.sources = sources
        self.webhooks = Counter(
            "klaxon_webhooks",
            "Webhook requests by source and outcome (new, grouped, duplicate, ..., refused)",
            ["source", "outcome"],
        )
        self.refusals = Counter(
            "klaxon_refusals",
            "Requests answered 4xx/5xx, by error code and status",
            ["reason", "status"],
        )
        self.latency = Histogram(
            "klaxon_request_duration_seconds",
            "Time to answer a request, by route group",
            ["route"],
            buckets=LATENCY_BUCKETS,
        )

    def observe(self, path: str, status: int, seconds: float, fields: dict[str, Any]) -> None:
        """What the request log line says, counted: called from app/logs.log_request()."""
        route = route_group(path)
        self.latency.labels(route).observe(seconds)
        if route == "webhooks":
            source = fields.get("source", "")
            outcome = fields.get("outcome") if status < 400 else "refused"
            self.webhooks.labels(
                source if source in self.sources else "unknown", outcome or "none"
            ).inc()
        if status >= 400:
            self.refusals.labels(_reason(fields.get("error"), status), str(status)).inc()


def route_group(path: str) -> str:
    for prefix, group in ROUTE_GROUPS:
        if path.startswith(prefix):
            return group
    return "pages"


def _reason(code: Any, status: int) -> str:
    """Error codes are Klaxon's own words or Werkzeug's names: a bounded set, but checked,
    so a label can never carry what a client sent."""
    if not isinstance(code, str) or len(code) > 40 or not code.replace("_", "").isalnum():
        return "other"
    return code


_request_metrics: RequestMetrics | None = None


def request_metrics() -> RequestMetrics | None:
    return _request_metrics


def configure(directory: str, sources: frozenset[str]) -> RequestMetrics:
    """Point this process's metrics at `directory` (shared by the dyno's web processes) and
    create them; the first call in a process wins. Cleans the directory when no process that
    wrote to it is alive (a restart), and drops the live-gauge files of dead ones."""
    global _request_metrics
    if _request_metrics is not None:
        return _request_metrics
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    _tidy(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # read by prometheus-client's files
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue()
    _request_metrics = RequestMetrics(sources)
    return _request_metrics


def _tidy(path: Path) -> None:
    with open(path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # web workers start together: one tidies at a time
        pids = {_pid_of(file) for file in path.glob("*.db")} - {None}
        alive = {pid for pid in pids if pid is not None and _alive(pid)}
        if not alive:  # nobody writes here: what is left is from an earlier run
            for file in path.glob("*.db"):
                file.unlink(missing_ok=True)
            return
        for pid in pids - alive:
            multiprocess.mark_process_dead(pid, str(path))


def _pid_of(file: Path) -> int | None:
    tail = file.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@blueprint.get("/metrics")
def metrics() -> Response:
    klaxon = current_app.extensions["klaxon"]
    _require_token(klaxon.settings)
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and _request_metrics is not None:
        multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(RedisCollector(klaxon.redis))
    return Response(generate_latest(registry), content_type="text/plain; version=0.0.4")


def _require_token(settings: Any) -> None:
    """Bearer KLAXON_API_TOKEN, as /api/*, or KLAXON_METRICS_TOKEN when set, so a scraper can
    hold a token that opens nothing else. The API token goes through the brute-force guard;
    the metrics token is compared in constant time."""
    from app.token_guard import token_accepted

    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() == "bearer" and presented:
        metrics_token = settings.metrics_token
        if metrics_token and hmac.compare_digest(presented.encode(), metrics_token.encode()):
            return
        if token_accepted(presented, via="metrics"):
            return
    raise Unauthorized(
        "GET /metrics needs Authorization: Bearer with KLAXON_API_TOKEN or KLAXON_METRICS_TOKEN"
    )


class RedisCollector(Collector):
    """What Redis knows, read at scrape time: a few commands in one pipeline."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def collect(self) -> Iterator[Any]:
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for name in (NOTIFY_QUEUE, PUBLIC_QUEUE):
                    pipe.llen(f"rq:queue:{name}")
                for name in QUEUE_NAMES:
                    pipe.zcard(f"rq:failed:{name}")
                pipe.zcard(keys.timers())
                pipe.info("memory")
                pipe.hgetall(keys.job_metrics())
                pipe.get(keys.drill_last())
                pipe.get(keys.worker_last_take())
                replies = pipe.execute()
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("klaxon_redis_up", "Redis answered this scrape", value=0)
            return
        yield GaugeMetricFamily("klaxon_redis_up", "Redis answered this scrape", value=1)
        depth = GaugeMetricFamily("klaxon_queue_depth", "Jobs waiting per queue", labels=["queue"])
        depth.add_metric([NOTIFY_QUEUE], replies[0])
        depth.add_metric([PUBLIC_QUEUE], replies[1])
        depth.add_metric(["failed"], sum(replies[2 : 2 + len(QUEUE_NAMES)]))
        yield depth
        rest = replies[2 + len(QUEUE_NAMES) :]
        timers, memory, job_fields, drill, last_take = rest
        yield GaugeMetricFamily("klaxon_timers_pending", "Timers scheduled", value=timers)
        yield GaugeMetricFamily(
            "klaxon_redis_memory_used_bytes", "Redis used_memory", value=memory["used_memory"]
        )
        yield GaugeMetricFamily(
            "klaxon_redis_memory_max_bytes",
            "Redis maxmemory (0: no limit)",
            value=memory.get("maxmemory", 0),
        )
        if last_take:
            yield GaugeMetricFamily(
                "klaxon_worker_last_job_timestamp_seconds",
                "When a worker last took a job",
                value=float(last_take),
            )
        yield from job_families(job_fields)
        yield from drill_families(drill)


def job_families(fields: dict[bytes, bytes]) -> Iterator[Any]:
    """The workers' counters (workers/job_metrics.py): `<channel>:count|sum|failed|le=<b>`."""
    values: dict[str, dict[str, float]] = {}
    for raw_key, raw_value in fields.items():
        channel, _, what = raw_key.decode().partition(":")
        values.setdefault(channel, {})[what] = float(raw_value)
    duration = HistogramMetricFamily(
        "klaxon_channel_send_duration_seconds",
        "Time a job spent telling one channel about one event (worker side)",
        labels=["channel"],
    )
    failures = CounterMetricFamily(
        "klaxon_channel_failures",
        "Channel sends that failed (retried or refused), worker side",
        labels=["channel"],
    )
    for channel, numbers in sorted(values.items()):
        buckets = [(repr(b), numbers.get(f"le={b!r}", 0.0)) for b in JOB_BUCKETS]
        buckets.append(("+Inf", numbers.get("count", 0.0)))
        duration.add_metric([channel], buckets, numbers.get("sum", 0.0))
        failures.add_metric([channel], numbers.get("failed", 0.0))
    yield duration
    yield failures


def drill_families(raw: bytes | None) -> Iterator[Any]:
    if not raw:
        return
    last = json.loads(raw)
    yield GaugeMetricFamily(
        "klaxon_drill_last_run_timestamp_seconds", "When the last drill ended", value=last["at"]
    )
    yield GaugeMetricFamily(
        "klaxon_drill_last_success", "1 if the last drill went through", value=int(last["ok"])
    )
    stages = GaugeMetricFamily(
        "klaxon_drill_stage_seconds", "Each stage's latency in the last drill", labels=["stage"]
    )
    for stage, seconds in last.get("stages", {}).items():
        stages.add_metric([stage], seconds)
    yield stages
