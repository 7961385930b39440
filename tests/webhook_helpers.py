"""Helpers shared by the receiver tests: authentic headers for every fixture, signatures
recomputed over edited bodies, and a snapshot of the Redis keyspace."""

from __future__ import annotations

import hashlib
import hmac
import json

from conftest import SECRETS, Fixture, load_fixture

PAGERDUTY_SECRETS = SECRETS["PAGERDUTY_WEBHOOK_SECRET"].split(",")
PAGERDUTY_CURRENT, PAGERDUTY_OLD = PAGERDUTY_SECRETS
TOKEN_HEADER = "X-Klaxon-Token"
SIGNATURE_HEADERS = {
    "pagerduty": "X-PagerDuty-Signature",
    "sentry": "Sentry-Hook-Signature",
    "grafana": "X-Grafana-Alerting-Signature",
}
GRAFANA_TIMESTAMP_HEADER = SECRETS["GRAFANA_TIMESTAMP_HEADER"]
LEGACY_QUERY = "?token=" + SECRETS["SENTRY_LEGACY_WEBHOOK_TOKEN"]


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def is_legacy_sentry(fixture: Fixture) -> bool:
    return fixture.source == "sentry" and "Sentry-Hook-Signature" not in fixture.headers


def is_signed(fixture: Fixture) -> bool:
    """Signed over the body (HMAC), as opposed to authenticated by a shared token."""
    return fixture.source in SIGNATURE_HEADERS and not is_legacy_sentry(fixture)


def authentic(fixture: Fixture) -> tuple[dict[str, str], str]:
    """Headers and query string under which the fixture is genuine for the test settings."""
    headers = dict(fixture.headers)
    if fixture.source == "datadog" and TOKEN_HEADER not in headers:
        headers[TOKEN_HEADER] = SECRETS["DATADOG_WEBHOOK_TOKEN"]  # the default payload sample
    return headers, LEGACY_QUERY if is_legacy_sentry(fixture) else ""


def signed_for(fixture: Fixture, body: bytes) -> tuple[dict[str, str], str]:
    """Authentic headers; the fixture's own signature for its own body, else recomputed."""
    headers, query = authentic(fixture)
    if body == fixture.body:
        return headers, query
    if fixture.source == "pagerduty":
        headers["X-PagerDuty-Signature"] = "v1=" + hex_hmac(PAGERDUTY_CURRENT, body)
    elif fixture.source == "sentry" and not is_legacy_sentry(fixture):
        headers["Sentry-Hook-Signature"] = hex_hmac(SECRETS["SENTRY_CLIENT_SECRET"], body)
    elif fixture.source == "grafana":
        stamp = headers[GRAFANA_TIMESTAMP_HEADER].encode()
        headers[SIGNATURE_HEADERS["grafana"]] = hex_hmac(
            SECRETS["GRAFANA_WEBHOOK_SECRET"], stamp + b":" + body
        )
    return headers, query


def send(
    client,
    fixture: Fixture,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: str | None = None,
):
    """POST the fixture (or an edited body, re-signed) with authentic credentials."""
    body = fixture.body if body is None else body
    auth_headers, auth_query = signed_for(fixture, body)
    return client.post(
        f"/webhooks/{fixture.source}" + (auth_query if query is None else query),
        data=body,
        headers=auth_headers if headers is None else headers,
    )


def fatal_sentry_error(client):
    """A fatal Sentry error on checkout-api in production: a new SEV1 incident, the severity
    that posts on X (rules/severities.yml)."""
    fixture = load_fixture("sentry", "event_alert_triggered")
    body = fixture.json
    body["data"]["event"]["level"] = "fatal"
    raw = json.dumps(body).encode()
    headers, query = signed_for(fixture, raw)
    # Sent now by the app's clock, as Sentry would: outside KLAXON_WEBHOOK_CLOCK_SKEW is a 401.
    now = client.application.extensions["klaxon"].clock.now()
    headers["Sentry-Hook-Timestamp"] = str(int(now))
    return send(client, fixture, raw, headers=headers, query=query)


def keyspace(redis_client) -> dict[bytes, bytes]:
    """Every key with a digest of its value: equal snapshots mean nothing was written."""
    return {key: redis_client.dump(key) for key in sorted(redis_client.keys("*"))}
