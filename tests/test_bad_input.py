"""Bad input: every refusal is the right 4xx, a JSON body with "error" and "message" that names
the field and what was expected, and nothing is written to Redis."""

from __future__ import annotations

import json

import pytest
from conftest import load_fixture
from webhook_helpers import keyspace, send, signed_for

from app import create_app

PD = load_fixture("pagerduty", "incident_triggered")
DD = load_fixture("datadog", "triggered")
OG = load_fixture("opsgenie", "create")


@pytest.fixture
def refused(client, redis_client):
    """Send, check the answer is a JSON error and that Redis is untouched; return the body."""

    def check(
        status: int,
        *,
        fixture=PD,
        body: bytes | None = None,
        headers=None,
        query=None,
        method: str = "POST",
        path: str | None = None,
    ):
        before = keyspace(redis_client)
        if method == "POST" and path is None:
            response = send(client, fixture, body=body, headers=headers, query=query)
        else:
            response = client.open(
                path or f"/webhooks/{fixture.source}", method=method, data=body, headers=headers
            )
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        answer = response.get_json()
        assert isinstance(answer["error"], str) and answer["error"]
        assert isinstance(answer["message"], str) and answer["message"]
        assert keyspace(redis_client) == before
        return answer

    return check


def edited(fixture, change) -> bytes:
    payload = fixture.json
    change(payload)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"event": }',
        b"{'single': 'quotes'}",
        b"not json",
        b'{"a": 1} trailing',
        b'{"a": NaN',
    ],
)
def test_malformed_json_is_400(refused, body):
    answer = refused(400, body=body)
    assert answer["expected"] == "valid JSON" and answer["got"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[1, 2]", "a list"),
        (b'"text"', "a string"),
        (b"42", "a number"),
        (b"null", "null"),
        (b"true", "a boolean"),
    ],
)
def test_json_that_is_not_an_object_is_400(refused, body, kind):
    answer = refused(400, body=body)
    assert answer["expected"] == "a JSON object" and answer["got"] == kind


@pytest.mark.parametrize(
    "fixture",
    [PD, DD, OG, load_fixture("sentry", "issue_created"), load_fixture("alertmanager", "firing")],
    ids=lambda f: f.source,
)
@pytest.mark.parametrize("body", [b"", b"   ", b"\n"], ids=["empty", "spaces", "newline"])
def test_empty_body_is_400(refused, fixture, body):
    answer = refused(400, fixture=fixture, body=body)
    assert answer["got"] == "an empty body"


@pytest.mark.parametrize(
    ("target", "payload_of", "field"),
    [
        ("pagerduty", DD, "event.event_type"),
        ("pagerduty", OG, "event.event_type"),
        ("opsgenie", DD, "action"),
        ("opsgenie", PD, "action"),
        ("datadog", PD, "title"),  # no $ID is fine; no transition in a title is not
        ("datadog", OG, "title"),
        ("alertmanager", PD, "alerts.0"),
        ("sentry", DD, "action"),
    ],
)
def test_payload_of_another_source_with_a_valid_signature_is_400(
    refused, target, payload_of, field
):
    fixture = {
        "pagerduty": PD,
        "opsgenie": OG,
        "datadog": DD,
        "sentry": load_fixture("sentry", "issue_created"),
        "alertmanager": load_fixture("alertmanager", "firing"),
    }[target]
    answer = refused(400, fixture=fixture, body=payload_of.body)  # re-signed over this body
    assert answer["field"] == field
    assert answer["source"] == target


@pytest.mark.parametrize(
    ("fixture", "change", "field", "expected"),
    [
        (PD, lambda p: p["event"]["data"].pop("id"), "event.data.id", "a value"),
        (PD, lambda p: p["event"].pop("event_type"), "event.event_type", "a value"),
        (PD, lambda p: p.pop("event"), "event.event_type", "a value"),
        (OG, lambda p: p["alert"].pop("alertId"), "alert.alertId", "a value"),
        (DD, lambda p: p["alert"].pop("id"), "alert.id", "a value"),
    ],
    # Datadog's `id` is not required: a payload without $ID is keyed by its body (issue 13,
    # tests/test_sources_real_payloads.py).
    ids=["pd-incident-id", "pd-event-type", "pd-event", "og-alert-id", "dd-monitor-id"],
)
def test_missing_required_field_is_400_naming_it(refused, fixture, change, field, expected):
    answer = refused(400, fixture=fixture, body=edited(fixture, change))
    assert answer["field"] == field and answer["expected"] == expected
    assert field in answer["message"]


@pytest.mark.parametrize(
    ("fixture", "change", "field", "got"),
    [
        (PD, lambda p: p["event"]["data"].update(id={"id": "Q1"}), "event.data.id", "an object"),
        (PD, lambda p: p["event"]["data"].update(id=True), "event.data.id", "a boolean"),
        (PD, lambda p: p["event"]["data"].update(id=["Q1"]), "event.data.id", "a list"),
        (PD, lambda p: p["event"]["data"].update(id=1.5), "event.data.id", "a number"),
        (PD, lambda p: p["event"].update(data="x"), "event.data", "a string"),
        (OG, lambda p: p["alert"].update(alertId=False), "alert.alertId", "a boolean"),
        (OG, lambda p: p["alert"].update(message={"m": 1}), "alert.message", "an object"),
        (DD, lambda p: p["alert"].update(id={"x": 1}), "alert.id", "an object"),
    ],
    ids=[
        "pd-id-object",
        "pd-id-bool",
        "pd-id-list",
        "pd-id-float",
        "pd-data-string",
        "og-id-bool",
        "og-message-object",
        "dd-monitor-object",
    ],
)
def test_wrong_type_is_400_naming_the_field(refused, fixture, change, field, got):
    answer = refused(400, fixture=fixture, body=edited(fixture, change))
    assert answer["field"] in (field, field.rsplit(".", 1)[0])
    if got:
        assert answer["got"] == got
    assert answer["expected"]


@pytest.mark.parametrize(
    ("fixture", "change", "field"),
    [
        (PD, lambda p: p["event"]["data"].update(id="Q" * 513), "event.data.id"),
        (OG, lambda p: p["alert"].update(alertId="a" * 5000), "alert.alertId"),
        (DD, lambda p: p["alert"].update(id="9" * 600), "alert.id"),
        (DD, lambda p: p.update(id="9" * 513), "id"),
    ],
)
def test_id_over_512_characters_is_400(refused, fixture, change, field):
    answer = refused(400, fixture=fixture, body=edited(fixture, change))
    assert answer["field"] == field
    assert answer["expected"] == "an id of at most 512 characters"


def test_id_of_exactly_512_characters_is_accepted(client):
    response = send(client, PD, body=edited(PD, lambda p: p["event"]["data"].update(id="Q" * 512)))
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("fixture", "change", "field", "limit"),
    [
        (PD, lambda p: p["event"]["data"].update(title="T" * 100_000), "title", 1024),
        (OG, lambda p: p["alert"].update(description="D" * 100_000), "description", 16_000),
        (DD, lambda p: p.update(text_only_msg="M" * 50_000), "description", 16_000),
    ],
)
def test_huge_free_text_is_truncated_accepted_and_recorded(
    client, app, fixture, change, field, limit
):
    response = send(client, fixture, body=edited(fixture, change))
    assert response.status_code == 202
    stored = app.extensions["klaxon"].incidents.alert(response.get_json()["alert"])["alert"]
    assert len(stored[field]) == limit and stored[field].endswith("…")
    assert stored["truncated"]


def test_unknown_datadog_transition_is_400_listing_the_allowed_values(refused):
    answer = refused(
        400, fixture=DD, body=edited(DD, lambda p: p["alert"].update(transition="Trigered"))
    )
    assert answer["field"] == "alert.transition"
    assert answer["got"] == "'Trigered'"
    for allowed in ("Triggered", "Re-Triggered", "Recovered", "Warn", "No Data", "Renotify"):
        assert allowed in answer["expected"]
    assert "alert.transition" in answer["message"] and "Trigered" in answer["message"]


def test_unknown_alertmanager_status_is_400(refused):
    fixture = load_fixture("alertmanager", "firing")
    answer = refused(
        400,
        fixture=fixture,
        body=edited(fixture, lambda p: p["alerts"][0].update(status="pending")),
    )
    assert answer["field"] == "alerts.0.status"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        None,
    ],
)
def test_wrong_content_type_is_415(refused, content_type):
    headers, _ = signed_for(PD, PD.body)
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    if content_type:
        headers["Content-Type"] = content_type
    answer = refused(415, headers=headers)
    assert answer["error"] == "unsupported_media_type"
    assert answer["expected"] == "application/json"


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "text/json", "application/vnd.pagerduty+json"],
)
def test_json_content_types_are_accepted(client, content_type):
    headers, _ = signed_for(PD, PD.body)
    response = send(client, PD, headers={**headers, "Content-Type": content_type})
    assert response.status_code == 202


def test_body_over_max_body_is_413(settings, redis_client, clock):
    app = create_app(
        settings.with_changes(max_body_bytes=len(PD.body) - 1), connection=redis_client, clock=clock
    )
    before = keyspace(redis_client)
    response = send(app.test_client(), PD)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert response.get_json()["message"]
    assert keyspace(redis_client) == before


def test_body_at_max_body_is_accepted(settings, redis_client, clock):
    app = create_app(
        settings.with_changes(max_body_bytes=len(PD.body)), connection=redis_client, clock=clock
    )
    assert send(app.test_client(), PD).status_code == 202


@pytest.mark.parametrize("path", ["/webhooks/nagios", "/webhooks/PagerDuty", "/webhooks/"])
def test_unknown_source_is_404(refused, path):
    answer = refused(404, path=path, method="POST", body=PD.body, headers=PD.headers)
    assert answer["error"] in ("unknown_source", "not_found")


def test_unknown_source_lists_the_known_ones(refused):
    answer = refused(
        404,
        path="/webhooks/nagios",
        method="POST",
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert answer["error"] == "unknown_source"
    assert "pagerduty" in answer["expected"] and "datadog" in answer["expected"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_a_webhook_url_are_405_json_with_allow(client, refused, method):
    answer = refused(405, method=method, body=None, headers={})
    assert answer["error"] == "method_not_allowed"
    assert "POST" in client.open("/webhooks/pagerduty", method=method).headers["Allow"]


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
def test_deeply_nested_json_is_400_not_500(refused, depth):
    body = b'{"event": ' + b"[" * depth + b"]" * depth + b"}"
    answer = refused(400, body=body)
    assert answer["source"] == "pagerduty"


def test_deeply_nested_value_in_a_free_text_field_is_400(refused):
    nested = json.loads("[" * 200 + "]" * 200)
    answer = refused(400, fixture=OG, body=edited(OG, lambda p: p["alert"].update(message=nested)))
    assert answer["field"] == "alert.message"


@pytest.mark.parametrize(
    "body",
    [b'{"event": "\xff"}', b'{"event": "caf\xc3"}', b"\xfe\xff\x00{", b'{"a": "\xed\xa0\x80"}'],
    ids=["ff", "truncated-sequence", "bad-bom", "encoded-surrogate"],
)
def test_invalid_utf8_is_400(refused, body):
    answer = refused(400, body=body)
    assert answer["expected"] == "valid JSON"


def test_lone_surrogate_escape_is_repaired_and_accepted(client, app):
    body = PD.body.replace(b'"title":"', b'"title":"\\ud83d', 1)
    response = send(client, PD, body=body)
    assert response.status_code == 202
    title = app.extensions["klaxon"].incidents.alert(response.get_json()["alert"])["alert"]["title"]
    assert "\ufffd" in title and title.endswith("p99 latency > 2s on web-03")


@pytest.mark.parametrize(
    "occurred_at",
    [10**400, 1e300, -1, "1e400", "0001-06-01T00:00:00Z", "2026-03-14T09:14:03", True, {"t": 1}],
)
def test_unusable_timestamp_is_400_naming_the_field(refused, occurred_at):
    body = json.dumps(PD.json | {"event": PD.json["event"] | {"occurred_at": occurred_at}})
    answer = refused(400, body=body.encode())
    assert answer["field"] == "event.occurred_at"


@pytest.mark.parametrize("signature", ["v1=\u00e9\u00e9", "v1=" + "z" * 64, "v1=", "garbage"])
def test_odd_signature_headers_are_401(refused, signature):
    refused(401, headers={**PD.headers, "X-PagerDuty-Signature": signature})


@pytest.mark.parametrize(
    "authorization", ["Basic \u00e9t\u00e9", "Basic !!!", "Basic ", "Bearer", "Digest x"]
)
def test_odd_authorization_headers_are_401(refused, authorization):
    headers = {"Content-Type": "application/json", "Authorization": authorization}
    refused(401, fixture=DD, headers=headers)
