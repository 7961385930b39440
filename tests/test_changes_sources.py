"""The change senders (app/changes/heroku.py, github.py) on payloads their vendors and others
wrote (tests/data/changes/README.md): what each becomes, what is ignored, and the signatures
(good, bad, rotated, missing, malformed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from app.changes.github import GitHubSource
from app.changes.heroku import HerokuSource
from app.changes.model import heroku_rollback
from app.errors import PayloadError, Unauthorized
from app.sources._fields import parse_timestamp

CHANGES = Path(__file__).parent / "data" / "changes"
HEROKU_NEW, HEROKU_OLD = "heroku-new-secret", "heroku-old-secret"
GITHUB_SECRET = "github-secret"


def load(name: str) -> bytes:
    return (CHANGES / name).read_bytes()


def heroku_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


HEROKU = HerokuSource((HEROKU_NEW, HEROKU_OLD))
GITHUB = GitHubSource((GITHUB_SECRET,))


# -- Heroku -----------------------------------------------------------------------------------


def test_a_succeeded_heroku_release_is_a_change_with_its_rollback() -> None:
    payload = json.loads(load("heroku/adapter_release_finished.json"))
    parsed = HEROKU.parse({}, payload)
    change = parsed.change
    assert change is not None
    assert parsed.event_type == "api:release update"
    assert (change.app, change.version, change.who) == ("awesome-app-42", "v42", "jane@comapny.com")
    assert change.description == "Deploy 48AKJH"
    assert change.rollback == "heroku rollback v41 -a awesome-app-42"
    assert change.when == parse_timestamp("2022-08-01T20:20:22Z")
    assert change.link == "https://dashboard.heroku.com/apps/awesome-app-42/activity"
    assert change.identity == "01234567-89ab-cde0-1234-56789abcde01:v42"


def test_a_pending_heroku_release_waits_for_its_update() -> None:
    payload = json.loads(load("heroku/adapter_release_phase_started.json"))
    parsed = HEROKU.parse({}, payload)
    assert parsed.change is None
    assert "pending" in parsed.ignored_reason


def test_create_and_update_of_one_heroku_release_are_one_change() -> None:
    finished = json.loads(load("heroku/adapter_release_finished.json"))
    created = {**finished, "action": "create", "id": "another-event"}
    assert HEROKU.parse({}, created).change.id == HEROKU.parse({}, finished).change.id


def test_other_heroku_entities_are_ignored() -> None:
    payload = {"resource": "formation", "action": "update", "id": "e1", "data": {}}
    parsed = HEROKU.parse({}, payload)
    assert parsed.change is None
    assert "only api:release" in parsed.ignored_reason


def test_heroku_delivery_id_comes_from_the_signed_body() -> None:
    payload = json.loads(load("heroku/adapter_release_finished.json"))
    assert HEROKU.parse({}, payload).delivery_id == payload["id"]
    payload["webhook_metadata"] = {"delivery": {"id": "d-1"}, "attempt": {"id": "a-2"}}
    assert HEROKU.parse({}, payload).delivery_id == "d-1"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda p: p["data"].update(version="v42"), "data.version"),
        (lambda p: p["data"]["app"].pop("name"), "data.app.name"),
        (lambda p: p["data"].update(updated_at=None, created_at=None), "data.created_at"),
        (lambda p: p.update(resource=7), "resource"),
    ],
)
def test_a_malformed_heroku_release_names_its_field(edit, field) -> None:
    payload = json.loads(load("heroku/adapter_release_finished.json"))
    edit(payload)
    with pytest.raises(PayloadError) as error:
        HEROKU.parse({}, payload)
    assert error.value.details["field"] == field


@pytest.mark.parametrize(
    ("version", "command"),
    [
        ("v52", "heroku rollback v51 -a checkout"),
        ("52", "heroku rollback v51 -a checkout"),
        ("v1", ""),
        ("abc", ""),
    ],
)
def test_heroku_rollback_is_the_release_before(version, command) -> None:
    assert heroku_rollback("checkout", version) == command


def test_heroku_signature_good_rotated_and_bad() -> None:
    body = load("heroku/adapter_release_finished.json")
    HEROKU.verify({"Heroku-Webhook-Hmac-SHA256": heroku_signature(HEROKU_NEW, body)}, body)
    HEROKU.verify({"Heroku-Webhook-Hmac-SHA256": heroku_signature(HEROKU_OLD, body)}, body)
    with pytest.raises(Unauthorized, match="does not match"):
        HEROKU.verify({"Heroku-Webhook-Hmac-SHA256": heroku_signature("other", body)}, body)
    with pytest.raises(Unauthorized, match="does not match"):  # the body was changed
        HEROKU.verify(
            {"Heroku-Webhook-Hmac-SHA256": heroku_signature(HEROKU_NEW, body)}, body + b" "
        )


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "missing signature"), ({"Heroku-Webhook-Hmac-SHA256": "abc"}, "not a base64")],
)
def test_heroku_refuses_a_missing_or_malformed_signature_from_the_headers(headers, message):
    with pytest.raises(Unauthorized, match=message):
        HEROKU.verify_headers(headers)


def test_heroku_fails_closed_without_a_secret() -> None:
    with pytest.raises(Unauthorized, match="HEROKU_WEBHOOK_SECRET is not set"):
        HerokuSource(()).verify({}, b"{}")
    HerokuSource((), insecure_dev=True).verify({}, b"{}")  # the local run only


def test_heroku_errors_never_carry_the_secret() -> None:
    body = b"{}"
    with pytest.raises(Unauthorized) as error:
        HEROKU.verify({"Heroku-Webhook-Hmac-SHA256": heroku_signature("x", body)}, body)
    assert HEROKU_NEW not in str(error.value.to_json()) and HEROKU_OLD not in error.value.message


# -- GitHub -----------------------------------------------------------------------------------


def github_headers(event: str, body: bytes, delivery: str = "72d3162e-cc78-11e3") -> dict:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(GITHUB_SECRET, body),
    }


def test_a_successful_github_deployment_is_a_change() -> None:
    body = load("github/deployment_status.json")
    parsed = GITHUB.parse(github_headers("deployment_status", body), json.loads(body))
    change = parsed.change
    assert change is not None
    assert parsed.delivery_id == "72d3162e-cc78-11e3"
    assert (change.app, change.environment, change.who) == (
        "Codertocat/Hello-World",
        "production",
        "Codertocat",
    )
    assert change.version == "master@f95f852"
    assert change.identity == "deployment:145988746"
    assert change.when == parse_timestamp("2019-05-15T15:20:55Z")
    assert change.link == (
        "https://github.com/Codertocat/Hello-World/commit/f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    )
    assert change.rollback == ""  # GitHub knows no one way back


@pytest.mark.parametrize("state", ["pending", "in_progress", "failure", "error", "inactive"])
def test_a_github_deployment_that_did_not_succeed_is_ignored(state) -> None:
    payload = json.loads(load("github/deployment_status.json"))
    payload["deployment_status"]["state"] = state
    parsed = GITHUB.parse({"X-GitHub-Event": "deployment_status"}, payload)
    assert parsed.change is None and state in parsed.ignored_reason


def test_a_published_github_release_is_a_change() -> None:
    payload = json.loads(load("github/release_published.json"))
    change = GITHUB.parse({"X-GitHub-Event": "release"}, payload).change
    assert change is not None
    assert (change.version, change.app) == ("0.0.1", "Codertocat/Hello-World")
    assert change.link == "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1"
    assert change.when == parse_timestamp("2019-05-15T15:20:53Z")


def test_github_ping_and_other_events_are_answered_and_ignored() -> None:
    ping = GITHUB.parse({"X-GitHub-Event": "ping"}, json.loads(load("github/ping.json")))
    assert ping.change is None and "ping" in ping.ignored_reason
    push = GITHUB.parse({"X-GitHub-Event": "push"}, {"ref": "main"})
    assert push.change is None and "push" in push.ignored_reason


def test_a_malformed_github_deployment_names_its_field() -> None:
    payload = json.loads(load("github/deployment_status.json"))
    del payload["deployment"]["id"]
    with pytest.raises(PayloadError) as error:
        GITHUB.parse({"X-GitHub-Event": "deployment_status"}, payload)
    assert error.value.details["field"] == "deployment.id"


def test_github_signature_good_and_bad() -> None:
    body = load("github/deployment_status.json")
    GITHUB.verify(github_headers("deployment_status", body), body)
    headers = github_headers("deployment_status", body)
    headers["X-Hub-Signature-256"] = github_signature("wrong", body)
    with pytest.raises(Unauthorized, match="does not match"):
        GITHUB.verify(headers, body)
    with pytest.raises(Unauthorized, match="missing signature"):
        GITHUB.verify_headers({})


def test_github_rotation_accepts_either_secret() -> None:
    body = b'{"zen": "x"}'
    rotating = GitHubSource(("new-secret", GITHUB_SECRET))
    rotating.verify({"X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)}, body)
    rotating.verify({"X-Hub-Signature-256": github_signature("new-secret", body)}, body)
