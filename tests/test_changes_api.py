"""Changes recorded the three ways (webhook, POST /api/changes, `klaxon change record`), read
back with GET /api/changes, and held against incidents in the window before their onset, on
the virtual clock over a real Redis. Signatures over HTTP: good, bad, rotated, replayed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from changes_rules import rules_with_checkout_app
from click.testing import CliRunner
from conftest import SECRETS, load_fixture, post

from app.cli import main
from app.settings import Settings

CHANGES = Path(__file__).parent / "data" / "changes"
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
HEROKU_NEW, HEROKU_OLD = SECRETS["HEROKU_WEBHOOK_SECRET"].split(",")
GITHUB_SECRET = SECRETS["GITHUB_WEBHOOK_SECRET"]
ONSET = 1773479640.0  # 09:14 UTC, the Datadog fixtures' story
MINUTE, HOUR = 60, 3600


@pytest.fixture
def settings(redis_url, tmp_path) -> Settings:
    """The example rules, whose catalog maps Heroku app checkout to checkout-api."""
    return Settings.from_env(
        {
            **SECRETS,
            "REDIS_URL": redis_url,
            "KLAXON_RULES_DIR": str(rules_with_checkout_app(tmp_path / "rules")),
            "KLAXON_WEBHOOK_CLOCK_SKEW": "0",
        }
    )


def heroku(client, body: bytes, secret: str = HEROKU_NEW):
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    headers = {"Content-Type": "application/json", "Heroku-Webhook-Hmac-SHA256": signature.decode()}
    return client.post("/webhooks/heroku", data=body, headers=headers)


def github(client, event: str, body: bytes, delivery: str, secret: str = GITHUB_SECRET):
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
    }
    return client.post("/webhooks/github", data=body, headers=headers)


def v52(**data) -> bytes:
    payload = json.loads((CHANGES / "heroku" / "checkout_v52.json").read_bytes())
    payload["data"].update(data)
    return json.dumps(payload).encode()


def keyspace(redis_client) -> dict:
    return {k: redis_client.type(k) for k in redis_client.keys("*") if b"claimed-by" not in k}


# -- webhooks over HTTP -----------------------------------------------------------------------


def test_a_signed_heroku_release_is_recorded_once(client, clock) -> None:
    clock.set(ONSET)
    body = (CHANGES / "heroku" / "checkout_v52.json").read_bytes()
    first = heroku(client, body)
    assert first.status_code == 202
    assert first.get_json() == {
        "outcome": "new",
        "change": first.get_json()["change"],
        "service": "checkout-api",
        "incidents": [],
    }
    again = heroku(client, body)  # Heroku's retry of the same delivery
    assert (again.status_code, again.get_json()["outcome"]) == (202, "duplicate")
    listed = client.get("/api/changes?service=checkout-api", headers=AUTH).get_json()["changes"]
    assert [(c["version"], c["rollback"]) for c in listed] == [
        ("v52", "heroku rollback v51 -a checkout")
    ]


def test_the_old_secret_still_verifies_during_a_rotation(client, clock) -> None:
    clock.set(ONSET)
    assert heroku(client, v52(), secret=HEROKU_OLD).status_code == 202


def test_a_bad_signature_is_refused_and_changes_nothing(client, redis_client) -> None:
    before = keyspace(redis_client)
    answer = heroku(client, v52(), secret="not-the-secret")
    assert answer.status_code == 401
    text = answer.get_data(as_text=True)
    assert "does not match" in text
    assert HEROKU_NEW not in text and HEROKU_OLD not in text
    assert keyspace(redis_client) == before


def test_a_replayed_release_with_a_new_delivery_id_is_a_duplicate(client, clock) -> None:
    """Only the body is signed: a captured request resent with another delivery id is still
    the same release (its app and version name the change)."""
    clock.set(ONSET)
    heroku(client, v52())
    payload = json.loads(v52())
    payload["webhook_metadata"]["delivery"]["id"] = "forged-new-delivery"
    assert heroku(client, json.dumps(payload).encode()).get_json()["outcome"] == "duplicate"


def test_a_pending_release_is_answered_and_not_recorded(client, clock) -> None:
    answer = heroku(client, v52(status="pending"))
    assert answer.status_code == 202
    assert answer.get_json()["outcome"] == "ignored" and "pending" in answer.get_json()["reason"]
    assert client.get("/api/changes", headers=AUTH).get_json()["changes"] == []


def test_github_ping_deployment_and_replay(client, clock) -> None:
    clock.set(ONSET)
    ping = github(client, "ping", (CHANGES / "github" / "ping.json").read_bytes(), "d-0")
    assert (ping.status_code, ping.get_json()["outcome"]) == (202, "ignored")
    body = (CHANGES / "github" / "deployment_status.json").read_bytes()
    first = github(client, "deployment_status", body, "d-1")
    assert first.get_json()["outcome"] == "new"
    assert first.get_json()["service"] == "Hello-World"  # unmapped: the repository's name
    assert github(client, "deployment_status", body, "d-1").get_json()["outcome"] == "duplicate"
    replay = github(client, "deployment_status", body, "d-2")  # a new, unsigned delivery id
    assert replay.get_json()["outcome"] == "duplicate"
    assert github(client, "deployment_status", body, "d-3", secret="x").status_code == 401


def test_change_senders_are_named_when_a_source_is_unknown(client) -> None:
    answer = client.post("/webhooks/herokku", json={})
    assert answer.status_code == 404
    assert "github" in answer.get_json()["expected"] and "heroku" in answer.get_json()["expected"]


# -- POST /api/changes, GET /api/changes --------------------------------------------------------


def test_a_change_from_the_api_is_recorded_and_listed(client, clock) -> None:
    clock.set(ONSET)
    body = {
        "service": "Checkout API",  # a spelling of checkout-api
        "version": "flag checkout.new-retry on",
        "kind": "flag",
        "who": "ann",
        "rollback": "flags off checkout.new-retry",
        "id": "flag-1",
    }
    first = client.post("/api/changes", headers=AUTH, json=body)
    assert first.status_code == 201
    assert first.get_json()["service"] == "checkout-api"
    assert client.post("/api/changes", headers=AUTH, json=body).status_code == 200  # duplicate
    [listed] = client.get("/api/changes?service=checkout-api&since=1h", headers=AUTH).get_json()[
        "changes"
    ]
    assert listed["rollback"] == "flags off checkout.new-retry" and listed["when"] == ONSET


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "v1"}, "service"),
        ({"service": "checkout", "version": "v1", "link": "javascript:alert(1)"}, "link"),
        ({"service": "checkout", "version": "v1", "when": "tomorrow"}, "when"),
        ({"service": "checkout", "version": "v1", "kind": "deploy-ish"}, "kind"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field(client, redis_client, body, field) -> None:
    before = keyspace(redis_client)
    answer = client.post("/api/changes", headers=AUTH, json=body)
    assert answer.status_code == 400 and answer.get_json()["field"] == field
    assert keyspace(redis_client) == before


def test_the_changes_api_needs_the_token(client) -> None:
    assert client.get("/api/changes").status_code == 401
    assert client.post("/api/changes", json={"service": "x", "version": "1"}).status_code == 401


def test_since_and_until_bound_the_list(client, clock) -> None:
    for minutes_ago, version in ((180, "v50"), (90, "v51"), (4, "v52")):
        clock.set(ONSET - minutes_ago * MINUTE)
        client.post("/api/changes", headers=AUTH, json={"service": "checkout", "version": version})
    clock.set(ONSET)
    versions = lambda q: [  # noqa: E731
        c["version"] for c in client.get(f"/api/changes?{q}", headers=AUTH).get_json()["changes"]
    ]
    assert versions("service=checkout") == ["v52", "v51", "v50"]
    assert versions("service=checkout&since=2h") == ["v52", "v51"]
    assert versions(f"service=checkout&until={ONSET - HOUR}") == ["v51", "v50"]
    assert client.get("/api/changes?since=yesterday", headers=AUTH).status_code == 400


# -- the change window, on the virtual clock ------------------------------------------------------


def record(client, clock, at: float, version: str, service: str = "checkout-api") -> None:
    clock.set(at)
    answer = client.post(
        "/api/changes", headers=AUTH, json={"service": service, "version": version}
    )
    assert answer.status_code == 201


def open_incident(client, clock) -> str:
    clock.set(ONSET)
    return post(client, load_fixture("datadog", "triggered")).get_json()["incident"]


def suspects(client, incident: str) -> list[str]:
    shown = client.get(f"/api/incidents/{incident}", headers=AUTH).get_json()
    return [c["version"] for c in shown["changes"]]


def test_only_changes_of_its_services_in_the_window_before_onset_are_suspects(client, clock):
    record(client, clock, ONSET - 3 * HOUR, "v49")  # before the 2 h window
    record(client, clock, ONSET - 2 * HOUR, "v50")  # at its edge: in
    record(client, clock, ONSET - 30 * MINUTE, "v51")
    record(client, clock, ONSET - 4 * MINUTE, "v52")
    record(client, clock, ONSET - 5 * MINUTE, "v7", service="search-api")  # another service
    incident = open_incident(client, clock)
    assert suspects(client, incident) == ["v52", "v51", "v50"]  # newest first


def test_a_change_recorded_late_still_joins_the_incident_it_preceded(client, clock) -> None:
    """A CI step that reports after the fact: the change took effect before onset."""
    incident = open_incident(client, clock)
    clock.set(ONSET + 10 * MINUTE)
    answer = client.post(
        "/api/changes",
        headers=AUTH,
        json={"service": "checkout-api", "version": "v52", "when": ONSET - 4 * MINUTE},
    )
    assert answer.get_json()["incidents"] == [incident]
    assert suspects(client, incident) == ["v52"]


def test_a_change_after_onset_of_a_minor_incident_is_not_a_suspect(client, clock) -> None:
    incident = open_incident(client, clock)  # the fixture is a SEV2: flagged instead
    client.post(f"/api/incidents/{incident}/severity", headers=AUTH, json={"severity": "SEV3"})
    record(client, clock, ONSET + 10 * MINUTE, "v53")
    assert suspects(client, incident) == []


def test_an_alert_of_another_service_brings_that_services_changes(client, clock) -> None:
    record(client, clock, ONSET - 10 * MINUTE, "v9", service="payments-api")
    incident = open_incident(client, clock)
    assert suspects(client, incident) == []
    # An alert of payments-api joins it: the pipeline asks this for every alert that opens
    # or joins an incident (app/pipeline.py); the example rules group no two services.
    klaxon = client.application.extensions["klaxon"]
    klaxon.suspect_changes(incident, ["payments-api"])
    assert suspects(client, incident) == ["v9"]
    klaxon.suspect_changes(incident, ["payments-api"])  # looked at once
    assert suspects(client, incident) == ["v9"]


def test_the_window_comes_from_the_rules(client, clock, tmp_path, settings, redis_client) -> None:
    from app import create_app

    rules = rules_with_checkout_app(tmp_path / "window-rules")
    (rules / "changes.yml").write_text("changes:\n  window: 10m\n")
    app = create_app(settings.with_changes(rules_dir=rules), connection=redis_client, clock=clock)
    client = app.test_client()
    record(client, clock, ONSET - 30 * MINUTE, "v51")
    record(client, clock, ONSET - 4 * MINUTE, "v52")
    assert suspects(client, open_incident(client, clock)) == ["v52"]


# -- klaxon change record ---------------------------------------------------------------------------


def test_klaxon_change_record_reaches_the_open_incident(
    client, clock, monkeypatch, redis_url, settings
) -> None:
    """The CLI writes with the system clock: the incident is opened 'now' for it."""
    import time

    clock.set(time.time())
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KLAXON_RULES_DIR", str(settings.rules_dir))
    result = CliRunner().invoke(
        main,
        [
            "change",
            "record",
            "--service",
            "checkout",
            "--app",
            "checkout",
            "--version",
            "v52",
            "--when",
            str(time.time() - 240),
            "--rollback",
            "heroku rollback v51 -a checkout",
            "--who",
            "ann",
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["outcome"] == "new"
    # `checkout` is an alias in the catalog: the change is recorded for the catalog's name.
    assert answer["service"] == "checkout-api"
    result = CliRunner().invoke(
        main,
        [
            "change",
            "record",
            "--service",
            "checkout-api",
            "--version",
            "v52",
            "--when",
            str(time.time() - 240),
            "--rollback",
            "heroku rollback v51 -a checkout",
        ],
    )
    assert json.loads(result.output)["incidents"] == [incident]
    listed = CliRunner().invoke(main, ["change", "list", "--service", "checkout-api"])
    assert "v52" in listed.output and "heroku rollback v51 -a checkout" in listed.output


def test_suspects_that_cannot_be_recorded_never_fail_the_alert(client, clock, redis_client):
    """Suspects are evidence beside an alert that is already stored: a Redis error while
    looking for them (here a key of the wrong type) is logged, and the sender still gets 202."""
    from app.store import keys

    redis_client.set(keys.incident_change_services("INC-2026-0001"), "not a set")
    record(client, clock, ONSET - 4 * MINUTE, "v52")
    clock.set(ONSET)
    answer = post(client, load_fixture("datadog", "triggered"))
    assert answer.status_code == 202
    assert answer.get_json()["incident"] == "INC-2026-0001"
    assert suspects(client, "INC-2026-0001") == []


def test_an_incident_declared_by_hand_gets_its_suspects(client, clock) -> None:
    record(client, clock, ONSET - 10 * MINUTE, "v52")
    clock.set(ONSET)
    declared = client.post(
        "/api/incidents",
        headers=AUTH,
        json={"title": "checkout is slow", "severity": "SEV2", "service": "checkout-api"},
    )
    assert declared.status_code == 201
    assert suspects(client, declared.get_json()["incident"]) == ["v52"]


def test_a_rollback_during_the_incident_is_not_a_deploy_to_stop(client, clock) -> None:
    incident = open_incident(client, clock)  # SEV2
    clock.set(ONSET + 10 * MINUTE)

    def release(version: int, description: str) -> bytes:
        payload = json.loads(v52(version=version, description=description))
        payload["data"]["updated_at"] = "2026-03-14T09:24:00Z"
        payload["webhook_metadata"]["delivery"]["id"] = f"delivery-{version}"
        return json.dumps(payload).encode()

    assert heroku(client, release(53, "Rollback to v51")).get_json()["incidents"] == []
    deploy = heroku(client, release(54, "Deploy 9c8b7a6d"))
    assert deploy.get_json()["incidents"] == [incident]
