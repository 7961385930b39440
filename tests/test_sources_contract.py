"""Contract of every webhook source, over every fixture in tests/data/webhooks: a genuine
delivery is accepted with the outcome its place in the story calls for; a tampered one is
refused 401 and stores nothing; a source without its secret fails closed."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from conftest import SECRETS, Fixture, all_fixtures, load_fixture
from webhook_helpers import (
    PAGERDUTY_CURRENT,
    PAGERDUTY_OLD,
    SIGNATURE_HEADERS,
    TOKEN_HEADER,
    authentic,
    is_legacy_sentry,
    is_signed,
    keyspace,
    send,
)
from werkzeug.datastructures import Headers

from app import create_app
from app.errors import Unauthorized
from app.settings import Settings
from app.sources import build_sources

# Each story is replayed on an empty Redis in the order the README's timeline gives; the
# outcome is the one the fixture should get at that point (README lifecycle column).
STORIES: dict[str, list[tuple[str, str, str]]] = {
    "pagerduty": [
        ("pagerduty", "pagey_ping", "ignored"),
        ("pagerduty", "incident_triggered", "new"),
        ("pagerduty", "incident_triggered_redelivery", "duplicate"),
        ("pagerduty", "incident_escalated", "updated"),
        ("pagerduty", "incident_acknowledged", "updated"),
        ("pagerduty", "incident_annotated", "updated"),
        ("pagerduty", "incident_priority_updated", "updated"),
        ("pagerduty", "incident_status_update_published", "updated"),
        ("pagerduty", "incident_resolved", "resolved"),
    ],
    "opsgenie": [
        ("opsgenie", "create", "new"),
        ("opsgenie", "escalate", "updated"),
        ("opsgenie", "acknowledge", "updated"),
        ("opsgenie", "addnote", "updated"),
        ("opsgenie", "addtags", "ignored"),
        ("opsgenie", "close", "resolved"),
    ],
    "opsgenie-unicode": [("opsgenie", "create_unicode_truncated_description", "new")],
    "sentry": [
        ("sentry", "metric_alert_warning", "new"),
        ("sentry", "issue_created", "new"),
        ("sentry", "event_alert_triggered", "duplicate"),  # same issue, already firing
        ("sentry", "metric_alert_critical", "updated"),
        ("sentry", "issue_assigned", "updated"),
        ("sentry", "comment_created", "updated"),
        ("sentry", "event_alert_triggered_repeat", "duplicate"),
        ("sentry", "metric_alert_resolved", "resolved"),
        ("sentry", "issue_resolved", "resolved"),
    ],
    "sentry-legacy": [("sentry", "legacy_plugin_event", "new")],
    "datadog": [
        ("datadog", "triggered", "new"),
        ("datadog", "warn", "new"),  # another group (host:web-07) of the same monitor
        ("datadog", "retriggered_renotify", "duplicate"),
        # An Incident Management notification about incident 2317, which no monitor webhook
        # opened: there is no alert to acknowledge (see test_datadog_incident_...).
        ("datadog", "incident_stable", "ignored"),
        ("datadog", "recovered", "resolved"),
    ],
    # The same notification ($ID) as triggered.json, rendered with Datadog's default template:
    # a deployment uses one template or the other, so it has its own story.
    "datadog-default": [("datadog", "default_payload_triggered", "new")],
    "alertmanager": [("alertmanager", "firing", "new"), ("alertmanager", "resolved", "resolved")],
    "grafana": [("grafana", "firing", "new")],
}
XFAIL: dict = {}


def _story_of(fixture: Fixture) -> list[tuple[str, str, str]]:
    for story in STORIES.values():
        for index, (source, name, _) in enumerate(story):
            if (source, name) == (fixture.source, fixture.name):
                return story[: index + 1]
    raise AssertionError(f"{fixture.source}/{fixture.name} is in no story: add it to STORIES")


def _fixture_params(marks: dict | None = None):
    marks = marks or {}
    return [
        pytest.param(f, id=f"{f.source}/{f.name}", marks=marks.get((f.source, f.name), ()))
        for f in all_fixtures()
    ]


def test_every_fixture_is_in_exactly_one_story():
    told = [(source, name) for story in STORIES.values() for source, name, _ in story]
    assert sorted(told) == sorted((f.source, f.name) for f in all_fixtures())


@pytest.mark.parametrize("fixture", _fixture_params(XFAIL))
def test_genuine_fixture_is_accepted_with_its_story_outcome(client, redis_client, fixture):
    *before, (_, _, expected) = _story_of(fixture)
    for source, name, _ in before:
        assert send(client, load_fixture(source, name)).status_code == 202

    response = send(client, fixture)

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["outcome"] == expected


@pytest.mark.parametrize("fixture", _fixture_params())
def test_accepted_alert_is_stored_before_the_answer(app, client, redis_client, fixture):
    *before, _ = _story_of(fixture)
    for source, name, _ in before:
        send(client, load_fixture(source, name))

    answer = send(client, fixture).get_json()

    if answer["alert"] is not None:
        stored = app.extensions["klaxon"].incidents.alert(answer["alert"])
        assert stored is not None and stored["source"] == fixture.source
        assert stored["alert"]["source"] == fixture.source


# -- refused: tampered, missing or wrong credentials ------------------------------------------


def _tamper_one_byte(body: bytes) -> bytes:
    """Change one letter in the middle of the body (the JSON stays valid)."""
    index = len(body) // 2
    while not chr(body[index]).isalpha():
        index += 1
    return body[:index] + bytes([body[index] ^ 0x20]) + body[index + 1 :]


def _refusals(fixture: Fixture) -> list[tuple[str, bytes, dict[str, str], str]]:
    """(case, body, headers, query) that must each be refused 401."""
    headers, query = authentic(fixture)
    if is_legacy_sentry(fixture):
        return [
            ("wrong token", fixture.body, headers, "?token=not-the-token"),
            ("missing token", fixture.body, headers, ""),
        ]
    if is_signed(fixture):
        header = SIGNATURE_HEADERS[fixture.source]
        missing = {k: v for k, v in headers.items() if k != header}
        return [
            ("one byte changed", _tamper_one_byte(fixture.body), headers, query),
            ("missing signature", fixture.body, missing, query),
        ]
    token_free = {k: v for k, v in headers.items() if k not in (TOKEN_HEADER, "Authorization")}
    return [
        ("wrong token", fixture.body, {**token_free, TOKEN_HEADER: "not-the-token"}, query),
        ("wrong bearer", fixture.body, {**token_free, "Authorization": "Bearer nope"}, query),
        ("missing token", fixture.body, token_free, query),
    ]


def _refusal_params():
    return [
        pytest.param(f, body, headers, query, id=f"{f.source}/{f.name}/{case}")
        for f in all_fixtures()
        for case, body, headers, query in _refusals(f)
    ]


@pytest.mark.parametrize(("fixture", "body", "headers", "query"), _refusal_params())
def test_tampered_or_unauthenticated_delivery_is_refused_and_stores_nothing(
    client, redis_client, fixture, body, headers, query
):
    before = keyspace(redis_client)

    response = client.post(f"/webhooks/{fixture.source}{query}", data=body, headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert keyspace(redis_client) == before


# -- PagerDuty secret rotation ----------------------------------------------------------------


@pytest.mark.parametrize("secret", [PAGERDUTY_OLD, PAGERDUTY_CURRENT], ids=["old", "current"])
def test_pagerduty_rotation_either_secret_alone_verifies(settings, redis_client, clock, secret):
    app = create_app(
        settings.with_changes(pagerduty_webhook_secrets=(secret,)),
        connection=redis_client,
        clock=clock,
    )
    response = send(app.test_client(), load_fixture("pagerduty", "incident_resolved"))
    assert response.status_code == 202


def test_pagerduty_rotation_an_unrelated_secret_does_not_verify(settings, redis_client, clock):
    app = create_app(
        settings.with_changes(pagerduty_webhook_secrets=("someone-else",)),
        connection=redis_client,
        clock=clock,
    )
    response = send(app.test_client(), load_fixture("pagerduty", "incident_resolved"))
    assert response.status_code == 401


def test_pagerduty_old_signature_alone_verifies_while_both_secrets_are_configured(client):
    fixture = load_fixture("pagerduty", "incident_resolved")
    old_only = fixture.headers["X-PagerDuty-Signature"].split(",")[0]
    response = send(client, fixture, headers={**fixture.headers, "X-PagerDuty-Signature": old_only})
    assert response.status_code == 202


# -- Sentry: verify the bytes as received -----------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [f for f in all_fixtures() if f.source == "sentry" and not is_legacy_sentry(f)],
    ids=lambda f: f.name,
)
def test_sentry_reserialised_body_is_refused(client, redis_client, fixture):
    reserialised = json.dumps(fixture.json).encode()
    assert reserialised != fixture.body
    before = keyspace(redis_client)

    response = client.post("/webhooks/sentry", data=reserialised, headers=fixture.headers)

    assert response.status_code == 401
    assert keyspace(redis_client) == before


# -- fail closed ------------------------------------------------------------------------------

# (source, variable whose absence must close it, a fixture the source receives)
UNCONFIGURED = [
    ("pagerduty", "PAGERDUTY_WEBHOOK_SECRET", "incident_triggered"),
    ("sentry", "SENTRY_CLIENT_SECRET", "issue_created"),
    ("sentry", "SENTRY_LEGACY_WEBHOOK_TOKEN", "legacy_plugin_event"),
    ("opsgenie", "OPSGENIE_WEBHOOK_TOKEN", "create"),
    ("datadog", "DATADOG_WEBHOOK_TOKEN", "triggered"),
    ("alertmanager", "ALERTMANAGER_WEBHOOK_TOKEN", "firing"),
    ("grafana", "GRAFANA_WEBHOOK_SECRET", "firing"),
]


def _app_without(variable: str, redis_url: str, redis_client, clock, **extra: str):
    env = {k: v for k, v in SECRETS.items() if k != variable}
    return create_app(
        Settings.from_env({**env, "REDIS_URL": redis_url, **extra}),
        connection=redis_client,
        clock=clock,
    )


@pytest.mark.parametrize(
    ("source", "variable", "name"), UNCONFIGURED, ids=[v for _, v, _ in UNCONFIGURED]
)
def test_source_without_its_secret_fails_closed(
    redis_url, redis_client, clock, source, variable, name
):
    app = _app_without(variable, redis_url, redis_client, clock)
    before = keyspace(redis_client)

    response = send(app.test_client(), load_fixture(source, name))

    assert response.status_code == 401
    assert variable in response.get_json()["message"]
    assert keyspace(redis_client) == before


@pytest.mark.parametrize(
    ("source", "variable", "name"), UNCONFIGURED, ids=[v for _, v, _ in UNCONFIGURED]
)
def test_insecure_dev_accepts_a_source_without_its_secret(
    redis_url, redis_client, clock, source, variable, name
):
    app = _app_without(variable, redis_url, redis_client, clock, KLAXON_INSECURE_DEV="1")
    fixture = load_fixture(source, name)
    credentials = {"Authorization", TOKEN_HEADER, *SIGNATURE_HEADERS.values()}
    bare = {k: v for k, v in fixture.headers.items() if k not in credentials}
    if fixture.source == "sentry" and not is_legacy_sentry(fixture):
        bare["Sentry-Hook-Signature"] = "unchecked"  # still an integration-platform delivery

    response = send(app.test_client(), fixture, headers=bare, query="")

    assert response.status_code == 202
    assert response.get_json()["outcome"] == "new"


def test_insecure_dev_still_verifies_a_source_whose_secret_is_set(redis_url, redis_client, clock):
    app = _app_without(
        "OPSGENIE_WEBHOOK_TOKEN", redis_url, redis_client, clock, KLAXON_INSECURE_DEV="1"
    )
    fixture = load_fixture("pagerduty", "incident_triggered")
    response = send(
        app.test_client(), fixture, body=_tamper_one_byte(fixture.body), headers=fixture.headers
    )
    assert response.status_code == 401


# -- stories the fixtures alone do not tell ---------------------------------------------------


def test_opsgenie_second_create_for_the_same_alert_is_a_duplicate(client):
    """Team routing: the added team's integration receives Create again for the same alertId."""
    fixture = load_fixture("opsgenie", "create")
    rerouted = fixture.json
    rerouted["alert"]["updatedAt"] += 1_000_000_000
    rerouted["alert"]["team"] = "sre"

    first = send(client, fixture).get_json()
    second = send(client, fixture, body=json.dumps(rerouted).encode()).get_json()

    assert (first["outcome"], second["outcome"]) == ("new", "duplicate")
    assert first["alert"] == second["alert"]


def test_datadog_incident_stable_acknowledges_an_active_incident(client):
    fixture = load_fixture("datadog", "incident_stable")
    active = fixture.json
    active["incident_status"], active["date"] = "active", "1773479700000"

    opened = send(client, fixture, body=json.dumps(active).encode()).get_json()
    stable = send(client, fixture).get_json()

    assert (opened["outcome"], stable["outcome"]) == ("new", "updated")


def test_sentry_legacy_plugin_event_is_the_same_alert_as_the_integration_issue(client):
    created = send(client, load_fixture("sentry", "issue_created")).get_json()
    legacy = send(client, load_fixture("sentry", "legacy_plugin_event")).get_json()
    assert legacy["alert"] == created["alert"]
    assert legacy["outcome"] == "duplicate"


def test_resolved_alert_that_fires_again_is_new(client):
    for name in ("firing", "resolved"):
        send(client, load_fixture("alertmanager", name))
    refiring = load_fixture("alertmanager", "firing").json
    for alert in refiring["alerts"]:
        alert["startsAt"] = "2026-03-14T11:00:00Z"
    answer = send(
        client, load_fixture("alertmanager", "firing"), body=json.dumps(refiring).encode()
    ).get_json()
    assert answer["outcome"] == "new"


# -- Refused before the body is read (app/front.py) --------------------------------------------


@pytest.mark.parametrize("fixture", _fixture_params())
def test_genuine_headers_pass_the_check_before_the_body(settings, fixture):
    headers, query = authentic(fixture)
    source = build_sources(settings)[fixture.source]

    source.verify_headers(Headers(headers), _query(query))  # does not raise


@pytest.mark.parametrize(
    ("fixture", "body", "headers", "query"),
    [p for p in _refusal_params() if not p.id.endswith("/one byte changed")],
)
def test_missing_or_wrong_credentials_are_refused_from_the_headers_alone(
    settings, fixture, body, headers, query
):
    source = build_sources(settings)[fixture.source]

    with pytest.raises(Unauthorized):
        source.verify_headers(Headers(headers), _query(query))


@pytest.mark.parametrize("source_name", sorted(SIGNATURE_HEADERS))
@pytest.mark.parametrize(
    "signature", ["v1=abc", "v1=" + "g" * 64, "sha256=" + "a" * 64, "é" * 64, "a" * 63]
)
def test_a_malformed_signature_is_refused_from_the_headers_alone(settings, source_name, signature):
    fixture = next(f for f in all_fixtures() if f.source == source_name and is_signed(f))
    headers, query = authentic(fixture)
    header = SIGNATURE_HEADERS[source_name]
    headers[header] = signature
    source = build_sources(settings)[source_name]

    with pytest.raises(Unauthorized) as refused:
        source.verify_headers(Headers(headers), _query(query))
    with pytest.raises(Unauthorized):  # and verify() says the same, whatever the body
        source.verify(Headers(headers), fixture.body, _query(query))
    assert header in str(refused.value)


def _query(query: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(query.removeprefix("?")).items()}
