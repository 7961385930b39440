"""One structured JSON log line per webhook request on stderr, with what an operator needs and
never a body, a signature or a token (style.md §2.5)."""

from __future__ import annotations

import io
import json

import pytest
from conftest import SECRETS, all_fixtures, load_fixture
from webhook_helpers import SIGNATURE_HEADERS, TOKEN_HEADER, authentic, is_signed, send

MARKER = "zq-distinctive-body-marker-7781"


def request_lines(logs: io.StringIO) -> list[dict]:
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    logs.seek(0)
    logs.truncate()
    return [line for line in lines if line.get("logger") == "klaxon.request"]


def secrets_in(text: str, fixture) -> list[str]:
    values = [v for k, v in SECRETS.items() if k != "GRAFANA_TIMESTAMP_HEADER"]
    values += [
        v.strip()
        for name, part in fixture.headers.items()
        for v in part.split(",")
        if name in SIGNATURE_HEADERS.values()
    ]  # each signature, v1=<hex> and <hex>
    values += [v.removeprefix("v1=") for v in values if v.startswith("v1=")]
    values.append(MARKER)
    return [v for v in values if v in text]


def with_marker(fixture) -> bytes:
    """The fixture's body with a distinctive string in a free-text field it carries."""
    payload = fixture.json
    if fixture.source == "pagerduty":
        payload["event"]["data"]["title"] = MARKER
    elif fixture.source == "opsgenie":
        payload["alert"]["message"] = MARKER
    elif fixture.source == "datadog":
        payload["body"] = MARKER
    elif fixture.source == "sentry":
        payload["marker"] = MARKER
    else:
        payload["commonAnnotations"] = {"summary": MARKER}
    return json.dumps(payload).encode()


@pytest.mark.parametrize("fixture", all_fixtures(), ids=lambda f: f"{f.source}/{f.name}")
def test_accepted_request_is_one_line_with_what_an_operator_needs(logs, client, fixture):
    request_lines(logs)
    response = send(client, fixture)
    answer = response.get_json()

    [line] = request_lines(logs)

    assert line["source"] == fixture.source
    assert line["status"] == response.status_code == 202
    assert line["outcome"] == answer["outcome"]
    assert line["event"] and line["delivery"]
    assert isinstance(line["latency_ms"], (int, float)) and line["latency_ms"] >= 0
    assert line["level"] == "info" and line["path"] == f"/webhooks/{fixture.source}"


@pytest.mark.parametrize("fixture", all_fixtures(), ids=lambda f: f"{f.source}/{f.name}")
def test_logs_never_carry_body_signature_or_token_accepted_or_refused(logs, client, fixture):
    body = with_marker(fixture)
    headers, query = authentic(fixture)
    request_lines(logs)

    accepted = send(client, fixture, body=body)  # re-signed over the marked body
    refused_sig = send(client, fixture, body=body, headers=headers, query=query)  # old signature
    wrong_token = send(
        client,
        fixture,
        body=body,
        query="?token=" + "x" * 40,
        headers={**headers, TOKEN_HEADER: SECRETS["OPSGENIE_WEBHOOK_TOKEN"][::-1]},
    )
    malformed = send(client, fixture, body=body[:-5])

    assert accepted.status_code == 202
    if is_signed(fixture):
        assert refused_sig.status_code == 401
    assert malformed.status_code in (400, 401)
    everything = logs.getvalue()
    assert len(request_lines(logs)) == 4
    assert secrets_in(everything, fixture) == []
    assert wrong_token.status_code in (401, 202)


def test_refused_request_is_logged_with_its_reason_but_no_credentials(logs, client):
    fixture = load_fixture("datadog", "triggered")
    request_lines(logs)
    response = send(
        client,
        fixture,
        headers={"Content-Type": "application/json", TOKEN_HEADER: "guessed-token-value-123"},
    )
    [line] = request_lines(logs)
    assert response.status_code == line["status"] == 401
    assert line["source"] == "datadog" and line["error"] == "unauthorized"
    assert "latency_ms" in line and "outcome" not in line
    assert "guessed-token-value-123" not in json.dumps(line)


def test_bad_payload_is_logged_with_the_field_not_the_body(logs, client):
    fixture = load_fixture("opsgenie", "create")
    payload = fixture.json
    payload["alert"]["alertId"] = {"nested": MARKER}
    request_lines(logs)
    response = send(client, fixture, body=json.dumps(payload).encode())
    [line] = request_lines(logs)
    assert response.status_code == line["status"] == 400
    assert line["field"] == "alert.alertId"
    assert MARKER not in json.dumps(line)


def test_legacy_sentry_query_token_is_not_logged(logs, client):
    fixture = load_fixture("sentry", "legacy_plugin_event")
    request_lines(logs)
    send(client, fixture)
    send(client, fixture, query="?token=wrong-token-not-to-be-logged")
    err = logs.getvalue()
    assert SECRETS["SENTRY_LEGACY_WEBHOOK_TOKEN"] not in err
    assert "wrong-token-not-to-be-logged" not in err


def test_each_request_logs_exactly_one_line(logs, client):
    request_lines(logs)
    for fixture in all_fixtures()[:5]:
        send(client, fixture)
    client.get("/webhooks/pagerduty")
    client.post("/webhooks/nagios", data=b"{}", headers={"Content-Type": "application/json"})
    assert len(request_lines(logs)) == 7
