"""Incidents every template is rendered against, by the golden tests and by check_templates():
two realistic stories (the checkout-api latency story of tests/data/webhooks, a SEV1 outage)
and extremes that break careless templates (huge titles, CJK/emoji/RTL, hundreds of alerts,
every optional value missing, a rule that makes everything public).

Each fixture is a function of the event, because an update only exists for update_posted and
an incident only has a resolution time once it is resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from app.messages.context import MessageEvent, NotificationContext

T0 = 1_773_479_640  # 2026-03-14 09:14:00 UTC, when web-03's p99 latency crossed 2 s
MINUTE = 60
REASONS = {  # what the job that sends would say; reminders tell which chase it is
    MessageEvent.DECLARED: "first notification after group_wait",
    MessageEvent.SEVERITY_RAISED: "a new alert raised the severity",
    MessageEvent.UPDATE_POSTED: "status update posted",
    MessageEvent.ACKNOWLEDGED: "acknowledged",
    MessageEvent.ESCALATED: "not acknowledged within the ack timeout",
    MessageEvent.RESOLVED: "all alerts resolved",
    MessageEvent.REMINDER: "update_overdue",
}
SEV1_POLICY = {
    "page": "always",
    "statuspage": {"impact": "critical", "component_status": "major_outage"},
    "x_post": True,
    "update_every_seconds": 30 * MINUTE,
    "postmortem_due_seconds": 48 * 3600,
    "slack": {
        "incident_channel": True,
        "announce": True,
        "channel": "#incidents",
        "invite": ["U0CHKALICE"],
    },
}
SEV2_POLICY = {
    "page": "always",
    "statuspage": {"impact": "major", "component_status": "partial_outage"},
    "x_post": False,
    "update_every_seconds": 60 * MINUTE,
    "postmortem_due_seconds": 48 * 3600,
    "slack": {"incident_channel": True, "announce": True, "channel": "#incidents", "invite": []},
}
SEV3_POLICY = {
    "page": "business_hours",
    "statuspage": {"impact": "none", "component_status": "operational"},
    "x_post": False,
    "update_every_seconds": None,
    "postmortem_due_seconds": None,
    "slack": {
        "incident_channel": False,
        "announce": True,
        "channel": "#checkout-oncall",
        "invite": [],
    },
}


def _incident(**given: Any) -> dict[str, Any]:
    incident = {
        "id": "inc_01HX9Q2K7M",
        "title": "",
        "severity": "SEV2",
        "status": "investigating",
        "team": "checkout",
        "service": "checkout-api",
        "environment": "prod",
        "created_at": T0,
        "acknowledged_at": None,
        "resolved_at": None,
        "commander": None,
        "url": "https://klaxon.example.com/incidents/inc_01HX9Q2K7M",
        "duration_seconds": 0,
        "alert_count": 1,
    }
    return incident | given


def _alert(number: int, **given: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "id": f"alt_{number:04d}",
        "source": "datadog",
        "title": "",
        "service": None,
        "environment": "prod",
        "host": None,
        "source_severity": "P2",
        "status": "firing",
        "count": 1,
        "links": [],
    }
    return alert | given


def _lifecycle(
    event: MessageEvent, incident: dict[str, Any], now: float, acked_by: str | None
) -> tuple[dict[str, Any], float]:
    """The incident as it stands when `event` is sent (acked, resolved), and the clock."""
    if (
        event
        in (
            MessageEvent.ACKNOWLEDGED,
            MessageEvent.UPDATE_POSTED,
            MessageEvent.RESOLVED,
            MessageEvent.REMINDER,
        )
        and acked_by
    ):
        incident = incident | {
            "acknowledged_at": incident["created_at"] + 17 * MINUTE,
            "commander": acked_by,
        }
    if event is MessageEvent.UPDATE_POSTED:
        incident = incident | {"status": "identified"}
    if event is MessageEvent.RESOLVED:
        now = incident["created_at"] + 48 * MINUTE
        incident = incident | {"status": "resolved", "resolved_at": now}
    return incident | {"duration_seconds": now - incident["created_at"]}, now


def _context(
    event: MessageEvent,
    incident: dict[str, Any],
    alerts: list[dict[str, Any]],
    policy: dict[str, Any],
    update: dict[str, Any] | None,
    acked_by: str | None,
    now: float,
    **given: Any,
) -> NotificationContext:
    incident, now = _lifecycle(event, incident | {"alert_count": len(alerts)}, now, acked_by)
    fields: dict[str, Any] = {
        "event": event,
        "reason": REASONS[event],
        "incident": incident,
        "alerts": alerts,
        "team": {"name": incident["team"], "description": "Checkout and payments"},
        "policy": policy,
        "now": now,
        "links": {
            "incident": incident["url"],
            "status_page": "https://status.example.com/incidents/8k2m4n6p",
        },
        "update": update if event is MessageEvent.UPDATE_POSTED else None,
        # The example company's rules declare its services (rules/statuspage.yml).
        "public_service": incident.get("service") or "",
    }
    return NotificationContext(**(fields | given))


def checkout_latency(event: MessageEvent) -> NotificationContext:
    """SEV2: checkout-api p99 latency over 2 s on web-03; Marco acks, rolls back, resolved."""
    alerts = [
        _alert(
            1,
            title="checkout-api p99 latency high",
            service="checkout-api",
            host="web-03",
            count=3,
            links=[
                {"href": "https://app.datadoghq.com/monitors/184663201", "text": "Datadog monitor"}
            ],
        ),
        _alert(
            2,
            source="sentry",
            title="TimeoutError: upstream payments call exceeded 2s",
            service="checkout-api",
            host="web-03",
            source_severity="error",
            links=[
                {
                    "href": "https://sentry.io/organizations/acme/issues/4821/",
                    "text": "Sentry issue",
                }
            ],
        ),
    ]
    incident = _incident(title="checkout-api p99 latency > 2s on web-03")
    update = {
        "status": "identified",
        "by": "Priya Raman",
        "message": "We found the cause: a change deployed at 09:05 UTC slowed down "
        "checkout. We are rolling it back now.",
    }
    return _context(
        event,
        incident,
        alerts,
        SEV2_POLICY,
        update,
        "Marco Bianchi",
        T0 + 18 * MINUTE,
        changes=[_change(incident, 9 * MINUTE)],  # the 09:05 deploy, suspect #1 (issue 17)
    )


def _change(incident: dict[str, Any], before: float, **given: Any) -> dict[str, Any]:
    """A suspected change as app/store/changes.py keeps it on an incident."""
    return {
        "id": "CHG-5c2a9e0d41b7f368",
        "source": "heroku",
        "identity": "c0ffee52:v52",
        "service": "checkout-api",
        "app": "checkout",
        "version": "v52",
        "when": incident["created_at"] - before,
        "description": "Deploy 3f9a2c1d",
        "who": "ann.lee@example.com",
        "link": "https://dashboard.heroku.com/apps/checkout/activity",
        "rollback": "heroku rollback v51 -a checkout",
        "environment": "",
        "kind": "release",
        "seconds_before_onset": before,
        "during_incident": False,
        "rank": 1,
    } | given


def payments_outage(event: MessageEvent) -> NotificationContext:
    """SEV1: every payment fails with 503; nobody has acknowledged yet when it escalates."""
    alerts = [
        _alert(
            n,
            source=source,
            title=title,
            service="payments-api",
            host=host,
            source_severity="critical",
            count=count,
        )
        for n, (source, title, host, count) in enumerate(
            [
                ("alertmanager", "PaymentsAPIDown: 100% of requests failing", "pay-01", 4),
                ("alertmanager", "PaymentsAPIDown: 100% of requests failing", "pay-02", 4),
                ("sentry", "ConnectionRefusedError: db-primary-1.internal:5432", "pay-01", 57),
            ],
            start=1,
        )
    ]
    incident = _incident(
        id="inc_01HXA7PAY1",
        severity="SEV1",
        team="payments",
        service="payments-api",
        created_at=T0 + 3600,
        url="https://klaxon.example.com/incidents/inc_01HXA7PAY1",
        title="payments-api returning 503 for all requests",
    )
    update = {
        "status": "monitoring",
        "by": "Marco Bianchi",
        "message": "Payments are working again after we restored the database. We are "
        "watching closely to make sure it stays stable.",
    }
    return _context(
        event, incident, alerts, SEV1_POLICY, update, "Marco Bianchi", T0 + 3600 + 12 * MINUTE
    )


def long_everything(event: MessageEvent) -> NotificationContext:
    """Titles, messages and names far beyond every channel limit."""
    words = "checkout-api p99 latency above threshold on every host in every region "
    alerts = [
        _alert(
            n,
            title=words * 30,
            service="checkout-api",
            host=f"web-{n:02d}",
            links=[
                {"href": "https://app.datadoghq.com/monitors/" + "9" * 300, "text": "monitor " * 40}
            ],
        )
        for n in range(1, 6)
    ]
    incident = _incident(
        title=words * 40, severity="SEV1", team="checkout-and-payments-platform " * 5
    )
    update = {
        "status": "identified",
        "by": "Priya Raman",
        "message": "We are still working through the backlog of delayed orders. " * 600,
    }
    long_change = _change(
        incident,
        4 * MINUTE,
        service="checkout-api-" + "x" * 300,
        version="v" + "9" * 300,
        who="someone " * 60,
        description="Deploy " + "a very long description " * 80,
        rollback="heroku rollback v51 -a " + "checkout" * 80,
    )
    return _context(
        event,
        incident,
        alerts,
        SEV1_POLICY,
        update,
        "Marco Bianchi",
        T0 + 5 * MINUTE,
        changes=[long_change] * 8,
    )


def unicode_mix(event: MessageEvent) -> NotificationContext:
    """CJK, emoji sequences, right-to-left text and accents everywhere text can go."""
    alerts = [
        _alert(
            1,
            title="決済APIの遅延 🚨 p99 > 2s 👩🏽‍💻 — الدفع بطيء",
            service="決済-api",
            host="web-03",
        ),
        _alert(
            2,
            source="grafana",
            title="Zahlungsdienst: Zeitüberschreitung ⏱️ 🇩🇪",
            service="決済-api",
            host="web-04",
        ),
    ]
    incident = _incident(
        title="決済APIの応答遅延 🚨 (Zahlungsdienst langsam, الدفع بطيء) " * 3,
        service="決済-api",
        team="東京チーム",
        severity="SEV1",
    )
    update = {
        "status": "identified",
        "by": "田中 太郎",
        "message": "原因を特定しました。ロールバック中です 🙏 — Nous annulons le déploiement."
        " 👨‍👩‍👧‍👦 " * 4,
    }
    return _context(event, incident, alerts, SEV1_POLICY, update, "José Müller", T0 + 9 * MINUTE)


def many_alerts(event: MessageEvent) -> NotificationContext:
    """A storm: 240 alerts grouped into one incident."""
    alerts = [
        _alert(
            n,
            source=("datadog", "alertmanager", "sentry")[n % 3],
            title=f"disk usage above 90% on node-{n:03d}",
            host=f"node-{n:03d}",
            service="storage",
            count=n % 7 + 1,
        )
        for n in range(1, 241)
    ]
    incident = _incident(
        title="disk usage above 90% across the storage fleet", service="storage", team="storage"
    )
    update = {
        "status": "monitoring",
        "by": "Priya Raman",
        "message": "Old snapshots are being removed and disk usage is falling.",
    }
    return _context(event, incident, alerts, SEV2_POLICY, update, "Priya Raman", T0 + 40 * MINUTE)


def missing_values(event: MessageEvent) -> NotificationContext:
    """Every optional value absent: no service, host, environment, commander, links,
    update cadence, post-mortem, status page, team description; an empty update message."""
    alerts = [_alert(1, title="Heartbeat missed", environment=None, links=[])]
    incident = _incident(title="Heartbeat missed", service=None, environment=None, severity="SEV3")
    update = {"status": "investigating", "by": None, "message": ""}
    ctx = _context(
        event,
        incident,
        alerts,
        SEV3_POLICY,
        update,
        None,
        T0 + 2 * MINUTE,
        team={"name": "checkout", "description": None},
    )
    return _without_links(ctx)


def _without_links(ctx: NotificationContext) -> NotificationContext:
    return replace(ctx, links={"incident": ctx.incident["url"], "status_page": ""})


def all_public(event: MessageEvent) -> NotificationContext:
    """The checkout story under a rule that allows hosts, services and people in public."""
    return replace(checkout_latency(event), public=frozenset({"hosts", "services", "people"}))


FIXTURES: dict[str, Callable[[MessageEvent], NotificationContext]] = {
    "checkout_latency": checkout_latency,
    "payments_outage": payments_outage,
    "long_everything": long_everything,
    "unicode_mix": unicode_mix,
    "many_alerts": many_alerts,
    "missing_values": missing_values,
    "all_public": all_public,
}
