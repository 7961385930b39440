"""Alertmanager (webhook_config v4) and Grafana (contact point v1) parsers: one delivery
carries a group, each alert keyed by its fingerprint (webhooks.md §5, §6)."""

from __future__ import annotations

import pytest
from conftest import load_fixture
from werkzeug.datastructures import Headers

from app.errors import PayloadError
from app.models import Lifecycle, Link, SourceName
from app.sources.alertmanager import AlertmanagerSource
from app.sources.grafana import GrafanaSource

SOURCES = {
    "alertmanager": AlertmanagerSource("unused"),
    "grafana": GrafanaSource("unused", "X-Grafana-Alerting-Signature"),
}
GROUP = '{}/{team="payments"}:{alertname="CheckoutHighLatency"}'


def parse(source: str, name: str, payload=None):
    fixture = load_fixture(source, name)
    return SOURCES[source].parse(
        Headers(fixture.headers), fixture.json if payload is None else payload, fixture.body
    )


def test_alertmanager_firing_group_is_two_alerts():
    parsed = parse("alertmanager", "firing")
    web03, web07 = parsed.alerts
    assert parsed.event_type == "group.firing"
    assert parsed.delivery_id == web03.delivery_id
    assert (web03.identity, web07.identity) == ("5e1b8c0f3a9d7e24", "a07c3f9e1d2b6854")
    assert web03.source is SourceName.ALERTMANAGER
    assert web03.lifecycle is Lifecycle.TRIGGER
    assert web03.delivery_id == (
        f"{GROUP}:5e1b8c0f3a9d7e24:firing:2026-03-14T09:09:03.118Z:0001-01-01T00:00:00Z"
    )
    assert web03.title == "checkout-api p99 latency above 2s on web-03"
    assert web03.description == "p99 latency is 2.41s (threshold 2s) for 5m."
    assert (web03.service, web03.environment, web03.host) == ("checkout-api", "prod", "web-03")
    assert web03.source_severity == "critical"
    assert web03.tags["team"] == "payments" and web03.tags["alertname"] == "CheckoutHighLatency"
    assert web03.links[-1] == Link(
        "https://wiki.acme-payments.example/runbooks/checkout-latency", "Runbook"
    )
    assert web03.occurred_at == pytest.approx(1773479343.118)  # startsAt; endsAt is zero
    assert web03.problem_key == GROUP
    assert web07.host == "web-07"


def test_alertmanager_resolved_is_the_same_alerts_ending():
    firing = parse("alertmanager", "firing").alerts
    resolved = parse("alertmanager", "resolved").alerts
    assert [a.identity for a in resolved] == [a.identity for a in firing]
    assert all(a.lifecycle is Lifecycle.RESOLVE for a in resolved)
    assert resolved[0].occurred_at == pytest.approx(1773482493.118)  # endsAt
    assert {a.delivery_id for a in resolved}.isdisjoint({a.delivery_id for a in firing})


def test_grafana_firing_is_normalised():
    [alert] = parse("grafana", "firing").alerts
    assert alert.source is SourceName.GRAFANA
    assert alert.identity == "8b3f0c6e2a1d9f47"
    assert alert.title == "checkout-api p99 latency above 2s"
    assert alert.service == "checkout-api" and alert.source_severity == "critical"
    assert [link.text for link in alert.links] == ["Source", "Dashboard", "Runbook"]
    assert alert.occurred_at == pytest.approx(1773479640.0)


@pytest.mark.parametrize("source", ["alertmanager", "grafana"])
def test_alert_without_fingerprint_is_keyed_by_its_labels(source):
    payload = load_fixture(source, "firing").json
    del payload["alerts"][0]["fingerprint"]
    first = parse(source, "firing", payload).alerts[0]
    again = parse(source, "firing", payload).alerts[0]
    assert first.identity == again.identity and len(first.identity) == 16


def test_long_annotations_are_cut_at_their_limits_and_recorded():
    payload = load_fixture("alertmanager", "firing").json
    payload["alerts"][0]["annotations"]["summary"] = "s" * 2000
    payload["alerts"][0]["annotations"]["description"] = "d" * 3000
    alert = parse("alertmanager", "firing", payload).alerts[0]
    assert len(alert.title) == 1024
    assert alert.description == "d" * 3000
    assert "alerts.0.annotations.summary" in alert.truncated


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(alerts=[]), "alerts.0"),
        (lambda p: p.pop("alerts"), "alerts.0"),
        (lambda p: p.update(alerts={"a": 1}), "alerts"),
        (lambda p: p["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda p: p["alerts"].__setitem__(1, "not an alert"), "alerts.1"),
        (lambda p: p["alerts"][0].update(labels=["a"]), "alerts.0.labels"),
        (lambda p: p["alerts"][0].update(fingerprint={"f": 1}), "alerts.0.fingerprint"),
        (lambda p: p["alerts"][0].update(startsAt="at some point"), "alerts.0.startsAt"),
    ],
)
def test_bad_groups_are_payload_errors_naming_the_field(mutate, field):
    payload = load_fixture("alertmanager", "firing").json
    mutate(payload)
    with pytest.raises(PayloadError) as caught:
        parse("alertmanager", "firing", payload)
    assert caught.value.details["field"] == field


def test_unknown_status_lists_the_allowed_ones():
    payload = load_fixture("alertmanager", "firing").json
    payload["alerts"][0]["status"] = "pending"
    with pytest.raises(PayloadError) as caught:
        parse("alertmanager", "firing", payload)
    assert caught.value.details["expected"] == "one of firing, resolved"
