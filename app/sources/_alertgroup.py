"""Alertmanager-shaped bodies (Alertmanager webhook_config v4, Grafana contact point v1): one
delivery carries a group of alerts, each with its own fingerprint and status."""

from __future__ import annotations

from app.errors import PayloadError
from app.models import Alert, Lifecycle, SourceName
from app.sources import Parsed
from app.sources._fields import MAX_TEXT_CHARS, MAX_TITLE_CHARS, Fields, link, tags_from_pairs

MAX_ALERTS_PER_DELIVERY = 1000  # Alertmanager batches; more than this is not a real group
STATUSES = {"firing": Lifecycle.TRIGGER, "resolved": Lifecycle.RESOLVE}


def parse_alert_group(source: SourceName, fields: Fields) -> Parsed:
    group_key = fields.text("groupKey", 2048)
    items = fields.items("alerts")
    if not items:
        fields.raw("alerts.0")  # raises: a group with no alerts is not a webhook we know
    if len(items) > MAX_ALERTS_PER_DELIVERY:
        raise PayloadError(
            source, "alerts", f"at most {MAX_ALERTS_PER_DELIVERY} alerts", got=str(len(items))
        )
    # Old Alertmanager releases sent no per-alert status: each alert then has the group's.
    group_status = fields.raw("status", None)
    alerts = [_alert(source, fields, index, group_key, group_status) for index in range(len(items))]
    event_type = f"group.{fields.text('status', 20) or 'mixed'}"
    return Parsed(event_type, alerts[0].delivery_id, alerts=alerts)


def _alert(
    source: SourceName, fields: Fields, index: int, group_key: str, group_status: object
) -> Alert:
    at = f"alerts.{index}"
    already_cut = len(fields.truncated)  # Fields is shared by the group; keep this alert's own
    fields.obj(at)  # each alert must be an object
    labels = tags_from_pairs(fields.obj(f"{at}.labels", required=False))
    annotations = tags_from_pairs(fields.obj(f"{at}.annotations", required=False))
    status_path = f"{at}.status" if fields.raw(f"{at}.status", None) is not None else "status"
    if status_path == "status" and group_status is None:
        fields.raw(f"{at}.status")  # raises: neither the alert nor its group says firing/resolved
    lifecycle = fields.choice(status_path, STATUSES)
    status = fields.text(status_path, 20)
    # Alertmanager's own fingerprint when a sender leaves it out: the same alert then keeps the
    # same identity whether or not a later delivery carries the fingerprint.
    fingerprint = fields.ident(f"{at}.fingerprint", required=False) or label_fingerprint(
        fields.obj(f"{at}.labels", required=False)
    )
    # One firing->resolved cycle of one alert: repeats of the same notification share it.
    delivery_id = ":".join(
        [
            group_key,
            fingerprint,
            status,
            fields.text(f"{at}.startsAt", 40),
            fields.text(f"{at}.endsAt", 40),
        ]
    )
    # startsAt of a firing, endsAt of a resolved: one fingerprint's cycles only move forward,
    # so a firing older than the last resolve is a replay or a straggler, not a new problem.
    occurred_at = (
        fields.timestamp(f"{at}.endsAt") if lifecycle is Lifecycle.RESOLVE else None
    ) or fields.timestamp(f"{at}.startsAt")
    return Alert(
        source=source,
        lifecycle=lifecycle,
        identity=fingerprint,
        delivery_id=delivery_id,
        event_type=f"alert.{status}",
        title=_annotation(fields, at, "summary", MAX_TITLE_CHARS) or labels.get("alertname", ""),
        description=_annotation(fields, at, "description", MAX_TEXT_CHARS),
        service=labels.get("service", "") or labels.get("job", ""),
        environment=labels.get("env", "") or labels.get("environment", ""),
        host=labels.get("instance", "").rsplit(":", 1)[0],
        source_severity=labels.get("severity", ""),
        tags=labels,
        links=link(fields.raw(f"{at}.generatorURL", None), "Source")
        + link(fields.raw(f"{at}.dashboardURL", None), "Dashboard")
        + link(annotations.get("runbook_url"), "Runbook"),
        occurred_at=occurred_at,
        ordered_at=occurred_at,
        problem_key=group_key[:255],
        details={"annotations": annotations},
        truncated=tuple(fields.truncated[already_cut:]),
    )


def _annotation(fields: Fields, at: str, name: str, limit: int) -> str:
    """Read from the payload, not from the tags (which are capped at 512 characters without
    recording it), so a long summary or description is cut at its own limit and recorded."""
    value = fields.obj(f"{at}.annotations", required=False).get(name)
    return fields.clip(f"{at}.annotations.{name}", value, limit) if isinstance(value, str) else ""


_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_SEPARATOR = b"\xff"  # prometheus/common model.SeparatorByte


def label_fingerprint(labels: dict[str, object]) -> str:
    """prometheus/common `LabelSet.Fingerprint()`: FNV-1a 64 over the label names in sorted
    order, each name and value followed by 0xff, as 16 hex digits."""
    digest = _FNV64_OFFSET
    for name in sorted(labels):
        value = labels[name]
        text = value if isinstance(value, str) else str(value)
        for part in (name.encode(), _SEPARATOR, text.encode(), _SEPARATOR):
            for byte in part:
                digest = ((digest ^ byte) * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"
