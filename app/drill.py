"""The fire drill: a synthetic alert sent through the whole pipeline of a running Klaxon, over
HTTP to its webhook receiver (Alertmanager's), stored, declared, worked by a worker, written
to the outbox, then resolved the same way; each stage's latency is reported, and a stage
that does not happen within the timeout names itself.

How a drill pages nobody: its alert carries the label `klaxon_drill`. The pipeline gives such
an alert drill_decision() whatever the rules say (team and rule DRILL, SEV4, no grouping, no
wait, never suppressed or ignored), the jobs send a drill incident's messages to PagerDuty's
planner and then to the outbox only, never with credentials and never to a public channel
(workers/jobs.py), and the status page never lists it (app/pages/status.py). A sender that
holds the Alertmanager token could label a real alert as a drill to keep it quiet; it could as
well not send it.

The result goes to Redis (keys.drill_last), which `klaxon drill --last`, /readyz and /metrics
show, and to the log.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis

from app.logs import log
from app.models import Alert, Severity
from app.notifications import notify_job_id
from app.ruleset import Decision, RuleSet
from app.settings import Settings
from app.store import keys
from app.store.outbox import Outbox
from app.worker_stall import rq_timestamp

logger = logging.getLogger("klaxon.drill")

DRILL_LABEL = "klaxon_drill"
DRILL = "klaxon-drill"  # the team and the rule of every drill incident
DEFAULT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
# received -> stored (the 202), stored -> job enqueued, enqueued -> a worker started it,
# started -> the page in the outbox, resolution sent -> incident resolved (by the ticker),
# resolved -> the resolution in the outbox.
STAGES = ("stored", "enqueued", "job_started", "outboxed", "resolved", "resolution_outboxed")


def is_drill_alert(alert: Alert) -> bool:
    return bool(alert.tags.get(DRILL_LABEL))


def is_drill_incident(incident: dict[str, Any]) -> bool:
    return incident.get("rule") == DRILL and incident.get("team") == DRILL


def drill_decision(decision: Decision, ruleset: RuleSet) -> Decision:
    """The decision for a drill alert, whatever the rules said: its own incident at once,
    resolved at once, noticed by nothing that silences or groups."""
    return replace(
        decision,
        severity=Severity.SEV4,
        team=DRILL,
        rule=DRILL,
        rule_location="",
        severity_reason="fire drill",
        dedup_key="",
        group_key="",
        group_window_s=0,
        group_wait_s=0,
        resolve_quiet_s=0,
        policy=ruleset.severities[Severity.SEV4],
        page=False,
        ignored=False,
        suppression=None,
        labels={DRILL_LABEL: decision.labels.get(DRILL_LABEL, "1")},
    )


@dataclass
class DrillResult:
    ok: bool
    at: float  # when it ended
    drill_id: str
    incident: str = ""
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    stuck: str = ""  # the stage that did not happen, when not ok
    error: str = ""

    def lines(self) -> list[str]:
        head = f"drill {self.drill_id}: " + (
            "ok" if self.ok else f"FAILED at {self.stuck or 'start'}: {self.error}"
        )
        out = [head + (f" (incident {self.incident})" if self.incident else "")]
        out += [f"  {stage:<20} {seconds * 1000:9.1f} ms" for stage, seconds in self.stages.items()]
        return out


class DrillStuck(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def run_drill(
    settings: Settings,
    connection: redis.Redis,
    url: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> DrillResult:
    """One drill against the Klaxon at `url`, watched through `connection` (its Redis);
    the result is recorded and logged."""
    drill_id = f"{int(time.time())}-{secrets.token_hex(4)}"
    result = DrillResult(ok=False, at=0.0, drill_id=drill_id)
    deadline = time.monotonic() + timeout
    try:
        _drive(settings, connection, url.rstrip("/"), drill_id, deadline, result)
        result.ok = True
    except DrillStuck as stuck:
        result.stuck, result.error = stuck.stage, str(stuck)
    result.at = time.time()
    record(connection, result)
    return result


def _drive(
    settings: Settings,
    connection: redis.Redis,
    base: str,
    drill_id: str,
    deadline: float,
    result: DrillResult,
) -> None:
    sent = time.time()
    answer = _post(settings, base, _alert_group(drill_id, "firing"), "stored")
    result.stages["stored"] = time.time() - sent
    incident_id = answer.get("incident") or ""
    if answer.get("outcome") != "new" or not incident_id:
        raise DrillStuck("stored", f"the receiver answered {answer!r}, not a new incident")
    result.incident = incident_id
    created = float(connection.hget(keys.incident(incident_id), "created_at") or sent)
    job_key = f"rq:job:{notify_job_id(incident_id, 'declared', '')}"
    enqueued = _wait(deadline, "enqueued", lambda: _job_time(connection, job_key, "enqueued_at"))
    result.stages["enqueued"] = max(enqueued - created, 0.0)
    started = _wait(deadline, "job_started", lambda: _job_time(connection, job_key, "started_at"))
    result.stages["job_started"] = max(started - enqueued, 0.0)
    outbox = Outbox(connection, _NoClock())
    declared_at = _wait(deadline, "outboxed", lambda: _outboxed(outbox, incident_id, "declared"))
    result.stages["outboxed"] = max(declared_at - started, 0.0)
    resolving = time.time()
    answer = _post(settings, base, _alert_group(drill_id, "resolved"), "resolved")
    if answer.get("outcome") != "resolved":
        raise DrillStuck("resolved", f"the receiver answered {answer!r} to the resolution")
    # The incident resolves when the worker's ticker fires its quiet-period timer (0 s).
    resolved_at = _wait(deadline, "resolved", lambda: _resolved_at(connection, incident_id))
    result.stages["resolved"] = max(resolved_at - resolving, 0.0)
    told = _wait(
        deadline, "resolution_outboxed", lambda: _outboxed(outbox, incident_id, "resolved")
    )
    result.stages["resolution_outboxed"] = max(told - resolved_at, 0.0)


def _resolved_at(connection: redis.Redis, incident_id: str) -> float | None:
    status, at = connection.hmget(keys.incident(incident_id), ["status", "resolved_at"])
    return float(at) if status == b"resolved" and at else None


class _NoClock:
    def now(self) -> float:  # Outbox only reads here
        return time.time()


def _wait(deadline: float, stage: str, probe: Callable[[], float | None]) -> float:
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise DrillStuck(stage, f"no {stage.replace('_', ' ')} before the timeout")
        time.sleep(POLL_SECONDS)


def _job_time(connection: redis.Redis, job_key: str, name: str) -> float | None:
    raw = connection.hget(job_key, name)
    return rq_timestamp(raw) if raw else None


def _outboxed(outbox: Outbox, incident_id: str, event: str) -> float | None:
    for entry in outbox.entries(20, incident_id=incident_id):
        if entry.get("event") == event:
            return float(entry["at"])
    return None


def _alert_group(drill_id: str, status: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "version": "4",
        "groupKey": f"{DRILL}:{drill_id}",
        "status": status,
        "receiver": DRILL,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "KlaxonFireDrill", DRILL_LABEL: drill_id},
                "annotations": {"summary": "Klaxon fire drill (synthetic: pages nobody)"},
                "startsAt": now,
                "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
                "fingerprint": f"drill-{drill_id}",
            }
        ],
    }


def _post(settings: Settings, base: str, body: dict[str, Any], stage: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "User-Agent": "klaxon-drill"}
    if settings.alertmanager_webhook_token:
        headers["Authorization"] = f"Bearer {settings.alertmanager_webhook_token}"
    request = urllib.request.Request(
        f"{base}/webhooks/alertmanager", json.dumps(body).encode(), headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise DrillStuck(stage, f"the receiver answered {error.code}: {_excerpt(error)}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DrillStuck(stage, f"could not reach {base}: {error}") from None


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        raw = error.read()[:200]
    except OSError:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def record(connection: redis.Redis, result: DrillResult) -> None:
    """Keep the result for `klaxon drill --last`, /readyz and /metrics; log it."""
    connection.set(keys.drill_last(), json.dumps(asdict(result)), ex=keys.DRILL_LAST_TTL_SECONDS)
    log(
        logger,
        "drill passed" if result.ok else "drill failed",
        logging.INFO if result.ok else logging.ERROR,
        drill=result.drill_id,
        incident=result.incident,
        stuck=result.stuck,
        error=result.error,
        stages_ms={k: round(v * 1000, 1) for k, v in result.stages.items()},
    )


def last(connection: redis.Redis) -> DrillResult | None:
    raw = connection.get(keys.drill_last())
    return DrillResult(**json.loads(raw)) if raw else None
