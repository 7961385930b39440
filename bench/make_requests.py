"""Webhook requests for load tests, made from the byte-exact fixtures in tests/data/webhooks/.

Each source replays its story (trigger, escalate, ack, note, resolve, ...) as one *episode*:
the ids that name the problem are renewed per episode and the ids that name a delivery per
request, and every signature is recomputed over the new bytes, so each request is a fresh,
valid delivery. A share of requests (`duplicates`) are byte-identical copies of a recent
earlier one: a sender's redelivery, which Klaxon must answer `duplicate`.

Send times and PagerDuty's `event.occurred_at` are set to the time the requests are built:
Klaxon refuses a signed send time more than KLAXON_WEBHOOK_CLOCK_SKEW (5 min) from its clock
and ignores an event older than KLAXON_DELIVERY_TTL (docs/sources.md, "Replays"), so build the
requests just before the run.

    python -m bench.make_requests --count 50000 --duplicates 0.1 --out /tmp/klaxon-bench
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import SECRETS, WEBHOOKS

# The order each source tells its story in; pagerduty/incident_triggered_redelivery is left out
# because redeliveries are made by `duplicates`.
STORIES = {
    "pagerduty": [
        "incident_triggered",
        "incident_escalated",
        "incident_acknowledged",
        "incident_annotated",
        "incident_priority_updated",
        "incident_status_update_published",
        "incident_resolved",
        "pagey_ping",
    ],
    "sentry": [
        "issue_created",
        "event_alert_triggered",
        "event_alert_triggered_repeat",
        "issue_assigned",
        "comment_created",
        "issue_resolved",
        "metric_alert_warning",
        "metric_alert_critical",
        "metric_alert_resolved",
        "legacy_plugin_event",
    ],
    "datadog": [
        "triggered",
        "warn",
        "retriggered_renotify",
        "incident_stable",
        "recovered",
        "default_payload_triggered",
    ],
    "opsgenie": [
        "create",
        "escalate",
        "acknowledge",
        "addnote",
        "addtags",
        "close",
        "create_unicode_truncated_description",
    ],
    "alertmanager": ["firing", "resolved"],
    "grafana": ["firing"],
}

# (paths naming the problem: renewed per episode, paths naming a delivery: renewed per request)
RENEWED_PATHS = {
    "pagerduty": (["event.data.id", "event.data.incident.id"], ["event.id"]),
    "sentry": (
        ["data.issue.id", "data.issue_id", "data.event.issue_id", "data.metric_alert.id", "id"],
        ["data.event.event_id", "data.comment_id", "event.event_id"],
    ),
    "datadog": (["alert.id", "incident_public_id"], ["id"]),
    "opsgenie": (["alert.alertId"], []),
    "alertmanager": (["alerts.*.fingerprint"], []),
    "grafana": (["alerts.*.fingerprint"], []),
}

RECENT_WINDOW = 500  # a redelivery repeats one of the last few hundred deliveries


@dataclass(frozen=True, slots=True)
class Request:
    source: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes

    def raw(self) -> bytes:
        """The request as HTTP/1.1 bytes, ready to write to a socket."""
        lines = [
            f"POST {self.target} HTTP/1.1",
            "Host: 127.0.0.1",
            *(f"{name}: {value}" for name, value in self.headers.items()),
            f"Content-Length: {len(self.body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def build(
    count: int, duplicates: float = 0.0, seed: int = 0, now: float | None = None
) -> list[Request]:
    """`count` requests over every source, a `duplicates` share of them redeliveries, sent
    and dated at `now` (default: the time of the call)."""
    rng = random.Random(seed)
    fresh = _fresh_requests(rng, time.time() if now is None else now)
    requests: list[Request] = []
    originals: list[Request] = []
    while len(requests) < count:
        if originals and rng.random() < duplicates:
            requests.append(rng.choice(originals[-RECENT_WINDOW:]))
        else:
            originals.append(next(fresh))
            requests.append(originals[-1])
    return requests


def write(requests: list[Request], path: Path) -> Path:
    """One file for bench/replay.lua: each request as `<length>\\n<raw bytes>`."""
    with path.open("wb") as out:
        for request in requests:
            raw = request.raw()
            out.write(b"%d\n" % len(raw) + raw)
    return path


def _fresh_requests(rng: random.Random, now: float) -> Iterator[Request]:
    fixtures = {
        source: [_load(source, name) for name in names] for source, names in STORIES.items()
    }
    serial = itertools.count()
    for episode in itertools.count():
        source = list(STORIES)[episode % len(STORIES)]
        for payload, headers in fixtures[source]:
            yield _renewed(
                source, payload, headers, f"{episode:07d}", f"{next(serial):09d}", rng, now
            )


def _load(source: str, name: str) -> tuple[Any, dict[str, str]]:
    folder = WEBHOOKS / source
    return (
        json.loads((folder / f"{name}.json").read_bytes()),
        json.loads((folder / f"{name}.headers.json").read_text()),
    )


def _renewed(
    source: str,
    payload: Any,
    headers: dict[str, str],
    episode: str,
    serial: str,
    rng: random.Random,
    now: float,
) -> Request:
    payload = json.loads(json.dumps(payload))  # a deep copy
    if source == "pagerduty":  # one story's events share a time: equal times keep their order
        payload["event"]["occurred_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    problem_paths, delivery_paths = RENEWED_PATHS[source]
    for path in problem_paths:
        _append(payload, path.split("."), episode)
    for path in delivery_paths:
        _append(payload, path.split("."), serial)
    body = _serialise(source, payload)
    headers = dict(headers)
    target = f"/webhooks/{source}"
    if source == "pagerduty":
        headers["X-Webhook-Id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        headers["X-PagerDuty-Signature"] = "v1=" + _hmac(_pagerduty_secret(), body)
    elif source == "sentry" and "Sentry-Hook-Signature" in headers:
        headers["Request-ID"] = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        headers["Sentry-Hook-Timestamp"] = str(int(now))
        headers["Sentry-Hook-Signature"] = _hmac(SECRETS["SENTRY_CLIENT_SECRET"], body)
    elif source == "sentry":  # the legacy plugin cannot sign: its URL carries a token
        target += "?token=" + SECRETS["SENTRY_LEGACY_WEBHOOK_TOKEN"]
    elif source == "grafana":
        timestamp = headers[SECRETS["GRAFANA_TIMESTAMP_HEADER"]] = str(int(now))
        headers["X-Grafana-Alerting-Signature"] = _hmac(
            SECRETS["GRAFANA_WEBHOOK_SECRET"], timestamp.encode() + b":" + body
        )
    elif "X-Klaxon-Token" not in headers and "Authorization" not in headers:
        token = SECRETS[f"{source.upper()}_WEBHOOK_TOKEN"]  # Datadog's default payload
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{source}:{token}".encode()).decode()
        )
    return Request(source, target, headers, body)


def _append(node: Any, parts: list[str], suffix: str) -> None:
    """Append `suffix` to the id at a dotted path (`*` = every list item), keeping its type."""
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(node, list):
        for item in node:
            _append(item, rest, suffix)
    elif isinstance(node, dict) and node.get(head) is not None:
        if rest:
            _append(node[head], rest, suffix)
        elif isinstance(node[head], (str, int)) and not isinstance(node[head], bool):
            node[head] = type(node[head])(f"{node[head]}{suffix}")


def _serialise(source: str, payload: Any) -> bytes:
    if source == "sentry":  # what sentry.utils.json.dumps emits: compact, \uXXXX escapes
        return json.dumps(payload, separators=(",", ":")).encode()
    if source in ("pagerduty", "grafana"):
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps(payload, indent=2, ensure_ascii=False).encode()


def _pagerduty_secret() -> str:
    return SECRETS["PAGERDUTY_WEBHOOK_SECRET"].split(",")[0]


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.1,
        help="share of requests that are byte-identical redeliveries",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = write(build(args.count, args.duplicates, args.seed), args.out / "requests.bin")
    print(path)


if __name__ == "__main__":
    main()
