"""Deliveries written by other projects (tests/data/webhooks_real/README.md cites each one):
every one is accepted and mapped sensibly, including the shapes real senders use that the
vendor documentation does not promise (zero-time endsAt on a resolve, no fingerprint, no
per-alert status, a Datadog custom payload without $ID)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Fixture, load_fixture
from webhook_helpers import send as send_sample
from werkzeug.datastructures import Headers

from app.models import Lifecycle
from app.settings import Settings
from app.sources import build_sources
from app.sources.alertmanager import AlertmanagerSource
from app.sources.datadog import DatadogSource
from app.sources.grafana import GrafanaSource
from app.sources.opsgenie import OpsgenieSource

REAL = Path(__file__).parent / "data" / "webhooks_real"
# Authentic headers come from the hand-written sample of the same source.
SAMPLE = {
    "alertmanager": "firing",
    "grafana": "firing",
    "opsgenie": "create",
    "datadog": "triggered",
    "pagerduty": "incident_triggered",
}


def real(source: str, name: str, body: bytes | None = None) -> Fixture:
    headers = load_fixture(source, SAMPLE[source]).headers
    return Fixture(source, name, body or (REAL / source / f"{name}.json").read_bytes(), headers)


def send(client, fixture: Fixture):
    """POST with the sample's credentials, re-signed over this body where the source signs."""
    return send_sample(client, load_fixture(fixture.source, SAMPLE[fixture.source]), fixture.body)


def all_real() -> list[tuple[str, str]]:
    return [(p.parent.name, p.stem) for p in sorted(REAL.glob("*/*.json"))]


def outcomes(response) -> list[str]:
    answer = response.get_json()
    return [a["outcome"] for a in answer.get("alerts", [answer])]


@pytest.mark.parametrize(("source", "name"), all_real())
def test_every_real_delivery_is_accepted(client, source, name):
    response = send(client, real(source, name))
    assert response.status_code == 202, response.get_json()


def test_every_source_with_real_deliveries_is_covered():
    assert {source for source, _ in all_real()} == set(SAMPLE)


def test_resolved_with_zero_end_time_resolves_the_firing_alert(client, app):
    """alertmonitor's "Clear" sample: status resolved, endsAt still Alertmanager's zero time,
    no fingerprint. It must close the three alerts its "Alarm" opened, not be refused."""
    firing = send(client, real("alertmanager", "alertmonitor_firing"))
    assert outcomes(firing) == ["new", "new", "new"] or set(outcomes(firing)) <= {
        "new",
        "grouped",
    }
    resolved = send(client, real("alertmanager", "alertmonitor_resolved"))
    assert resolved.status_code == 202, resolved.get_json()
    opened = [a["alert"] for a in firing.get_json()["alerts"]]
    closed = [a["alert"] for a in resolved.get_json()["alerts"]]
    assert closed == opened  # same computed fingerprints: the same three alerts
    store = app.extensions["klaxon"].incidents
    assert {store.alert(alert_id)["status"] for alert_id in opened} == {"resolved"}


def test_missing_fingerprint_is_alertmanagers_own():
    """A real fingerprint (pythonwebhook's captured delivery) is what label_fingerprint
    computes from its labels, so a sender that drops it keeps the same identity."""
    from app.sources._alertgroup import label_fingerprint

    payload = json.loads((REAL / "alertmanager" / "pythonwebhook_resolved.json").read_bytes())
    alert = payload["alerts"][0]
    assert label_fingerprint(alert["labels"]) == alert["fingerprint"] == "fbab788ec4c1018b"
    del alert["fingerprint"]
    body = json.dumps(payload).encode()
    [parsed] = AlertmanagerSource("unused").parse(Headers(), payload, body).alerts
    assert parsed.identity == "fbab788ec4c1018b"
    assert parsed.lifecycle is Lifecycle.RESOLVE


def test_alert_without_its_own_status_takes_the_groups(client, app):
    """Old Alertmanager releases sent no per-alert status: the group's status stands."""
    payload = json.loads((REAL / "alertmanager" / "alertmonitor_firing.json").read_bytes())
    for alert in payload["alerts"]:
        del alert["status"]
    firing = send(client, real("alertmanager", "old", json.dumps(payload).encode()))
    assert firing.status_code == 202, firing.get_json()
    payload["status"] = "resolved"
    resolved = send(client, real("alertmanager", "old", json.dumps(payload).encode()))
    assert resolved.status_code == 202, resolved.get_json()
    store = app.extensions["klaxon"].incidents
    ids = [a["alert"] for a in firing.get_json()["alerts"]]
    assert {store.alert(alert_id)["status"] for alert_id in ids} == {"resolved"}


def test_no_status_anywhere_is_still_refused(client):
    payload = json.loads((REAL / "alertmanager" / "alertmonitor_firing.json").read_bytes())
    del payload["status"]
    del payload["alerts"][0]["status"]
    response = send(client, real("alertmanager", "old", json.dumps(payload).encode()))
    assert response.status_code == 400
    assert response.get_json()["field"] == "alerts.0.status"


def test_datadog_custom_payload_without_id_is_keyed_by_its_body(client):
    fixture = real("datadog", "runbook_custom_no_id")
    source = DatadogSource("unused")
    parsed = source.parse(Headers(), json.loads(fixture.body), fixture.body)
    [alert] = parsed.alerts
    assert alert.lifecycle is Lifecycle.TRIGGER and alert.title == "[TEST] Host Cluster Alert"
    assert parsed.delivery_id.startswith("body:") and len(parsed.delivery_id) == 5 + 64
    first, again = send(client, fixture), send(client, fixture)
    assert (first.status_code, again.status_code) == (202, 202)
    assert outcomes(again) == ["duplicate"]  # Datadog's own retry of the same bytes
    other = real("datadog", "runbook_custom_no_id", fixture.body.replace(b"TEST", b"PROD"))
    assert outcomes(send(client, other)) != ["duplicate"]


def test_real_deliveries_map_sensibly():
    def parse(source_cls, source: str, name: str):
        fixture = real(source, name)
        return source_cls.parse(Headers(fixture.headers), json.loads(fixture.body), fixture.body)

    am = parse(AlertmanagerSource("unused"), "alertmanager", "zulip_alert").alerts
    assert [a.identity for a in am] == ["a1bc48475b20e73d", "c2ea85182f28cbd9"]
    assert am[0].title == "High CPU core temperature" and am[0].source_severity == "critical"
    assert am[0].lifecycle is Lifecycle.TRIGGER and am[0].occurred_at == pytest.approx(
        1580948278.432911
    )
    [created] = parse(OpsgenieSource("unused"), "opsgenie", "zulip_create").alerts
    assert created.lifecycle is Lifecycle.TRIGGER and created.title == "another alert"
    assert created.source_severity == "P3"  # sent as the number 3
    [closed] = parse(OpsgenieSource("unused"), "opsgenie", "zulip_close").alerts
    assert closed.lifecycle is Lifecycle.RESOLVE and closed.service == ""
    [grafana] = parse(
        GrafanaSource("unused", "X-Grafana-Alerting-Signature"), "grafana", "zulip_alert_9_resolved"
    ).alerts
    assert grafana.lifecycle is Lifecycle.RESOLVE and grafana.identity == "d8a21484c9c25a60"
    assert [link.text for link in grafana.links] == ["Source", "Runbook"]  # empty URLs dropped
    pagerduty = build_sources(Settings(insecure_dev=True))["pagerduty"]
    [paged] = parse(pagerduty, "pagerduty", "zulip_triggered_v3").alerts
    assert (paged.identity, paged.service, paged.lifecycle) == (
        "PFQZPSY",
        "pig208",
        Lifecycle.TRIGGER,
    )
    assert paged.tags["urgency"] == "high" and "priority" not in paged.tags  # "priority": null
    [resolved] = parse(pagerduty, "pagerduty", "zulip_resolved_v3").alerts
    assert resolved.lifecycle is Lifecycle.RESOLVE
    dd = parse(DatadogSource("unused"), "datadog", "relay_event_fired")
    assert dd.delivery_id == "5485379890863845239"
    assert dd.alerts[0].title == "[TEST] Host Cluster Alert"
