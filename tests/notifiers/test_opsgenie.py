"""Opsgenie request shape, actions by alias, and opsgenie-sdk's process-wide state kept out."""

from __future__ import annotations

import threading

import opsgenie_sdk
import pytest
from fakes import FakeOpsgenie

from notifiers.channels import OPSGENIE_KEY, TIMEOUT
from workers.channels import Channel, DeliveryError, FailureReason, OutboundMessage
from workers.channels.opsgenie import OpsgenieCredentials, send

CREATE = {
    "message": "[SEV1] Checkout 5xx above 5%",
    "alias": "klaxon-inc-7",
    "description": "3 alerts",
    "priority": "P1",
    "responders": [{"type": "team", "name": "checkout"}],
    "visibleTo": [{"type": "team", "name": "sre"}],
    "tags": ["SEV1"],
    "details": {"incident": "inc-7"},
    "entity": "checkout-api",
    "source": "klaxon",
}


def message(
    action: str, body: dict[str, object] | None = None, target: dict[str, str] | None = None
) -> OutboundMessage:
    return OutboundMessage(
        Channel.OPSGENIE,
        action,
        "inc-7",
        "declared",
        f"og-{action}",
        dict(CREATE if body is None else body),
        target or {},
    )


def creds(fake: FakeOpsgenie, key: str = OPSGENIE_KEY, timeout=TIMEOUT) -> OpsgenieCredentials:
    return OpsgenieCredentials(key, fake.url, timeout)


def test_create_sends_the_alert_json_unchanged_with_genie_key_auth(
    fake_opsgenie: FakeOpsgenie,
) -> None:
    receipt = send(message("create"), creds(fake_opsgenie))
    [request] = fake_opsgenie.requests
    assert (request.method, request.path) == ("POST", "/v2/alerts")
    assert request.headers["authorization"] == f"GenieKey {OPSGENIE_KEY}"
    assert request.json == CREATE  # camelCase visibleTo etc. survive the SDK
    assert receipt.vendor_id == fake_opsgenie.answers[0].body["requestId"]
    assert receipt.detail["result"] == "Request will be processed"


@pytest.mark.parametrize(
    ("action", "path", "body"),
    [
        ("acknowledge", "acknowledge", {"user": "klaxon", "note": "Acknowledged in Klaxon"}),
        ("close", "close", {"user": "klaxon", "note": "Resolved"}),
        ("note", "notes", {"user": "klaxon", "note": "Status update: mitigated"}),
        ("escalate", "escalate", {"escalation": {"name": "checkout_escalation"}, "note": "no ack"}),
    ],
)
def test_actions_address_the_alert_by_alias(
    fake_opsgenie: FakeOpsgenie, action: str, path: str, body: dict[str, object]
) -> None:
    send(message("create"), creds(fake_opsgenie))
    send(message(action, {"alias": "klaxon-inc-7", **body}), creds(fake_opsgenie))
    request = fake_opsgenie.requests[-1]
    assert request.path == f"/v2/alerts/klaxon-inc-7/{path}"
    assert request.query == {"identifierType": ["alias"]}
    assert request.json == body  # the alias travels in the path, not the body
    assert request.headers["authorization"] == f"GenieKey {OPSGENIE_KEY}"


def test_lifecycle_reaches_the_alert(fake_opsgenie: FakeOpsgenie) -> None:
    for action, body in [
        ("create", None),
        ("acknowledge", {}),
        ("note", {"note": "n"}),
        ("close", {}),
    ]:
        send(message(action, body, {"opsgenie_alias": "klaxon-inc-7"}), creds(fake_opsgenie))
    alert = fake_opsgenie.alerts["klaxon-inc-7"]
    assert alert["acknowledged"] and alert["status"] == "closed" and alert["notes"] == ["n"]


def test_an_action_without_alias_fails_before_any_request(fake_opsgenie: FakeOpsgenie) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message("close", {"note": "x"}), creds(fake_opsgenie))
    assert caught.value.reason == FailureReason.CLIENT_ERROR
    assert fake_opsgenie.requests == []


def test_two_keys_in_one_process_do_not_cross(fake_opsgenie: FakeOpsgenie) -> None:
    send(message("create"), creds(fake_opsgenie, "key-of-team-a-1111"))
    send(message("create"), creds(fake_opsgenie, "key-of-team-b-2222"))
    send(message("create"), creds(fake_opsgenie, "key-of-team-a-1111"))
    assert [r.headers["authorization"] for r in fake_opsgenie.requests] == [
        "GenieKey key-of-team-a-1111",
        "GenieKey key-of-team-b-2222",
        "GenieKey key-of-team-a-1111",
    ]
    assert opsgenie_sdk.Configuration().api_key == {}  # the SDK's shared default is untouched


def test_two_keys_in_concurrent_threads_do_not_cross(fake_opsgenie: FakeOpsgenie) -> None:
    keys = [f"key-{n}-{'k' * 12}" for n in range(8)]
    barrier = threading.Barrier(len(keys))
    errors: list[DeliveryError] = []

    def run(key: str) -> None:
        try:
            barrier.wait()
            for n in range(3):
                # Generous timeouts: this test is about keys crossing, not about speed, and
                # eight threads on a busy two-core machine can be slow to be scheduled.
                send(
                    message("create", {**CREATE, "alias": f"{key}-{n}"}),
                    creds(fake_opsgenie, key, timeout=(5.0, 10.0)),
                )
        except DeliveryError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for request in fake_opsgenie.requests:
        key = request.headers["authorization"].removeprefix("GenieKey ")
        assert request.json["alias"].startswith(key)


def test_wrong_key_is_a_permanent_auth_error_without_the_key(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.api_keys = {"the-right-key-000000"}
    with pytest.raises(DeliveryError) as caught:
        send(message("create"), creds(fake_opsgenie))
    assert (caught.value.reason, caught.value.status) == (FailureReason.AUTH, 401)
    assert OPSGENIE_KEY not in repr(caught.value)


def test_invalid_alert_is_a_permanent_client_error(fake_opsgenie: FakeOpsgenie) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message("create", {**CREATE, "message": "x" * 131}), creds(fake_opsgenie))
    assert (caught.value.reason, caught.value.status) == (FailureReason.CLIENT_ERROR, 422)
    assert "130 characters" in str(caught.value)


def test_a_base_url_with_a_path_prefix_reaches_jsm_style_hosts() -> None:
    with FakeOpsgenie(path_prefix="/jsm/ops/integration") as jsm:
        creds = OpsgenieCredentials(OPSGENIE_KEY, jsm.url + "/jsm/ops/integration/", TIMEOUT)
        send(message("create"), creds)
        send(message("close", {"alias": "klaxon-inc-7"}), creds)
        assert [r.path for r in jsm.requests] == [
            "/jsm/ops/integration/v2/alerts",
            "/jsm/ops/integration/v2/alerts/klaxon-inc-7/close",
        ]


def test_unknown_action_is_refused(fake_opsgenie: FakeOpsgenie) -> None:
    with pytest.raises(DeliveryError):
        send(message("snooze"), creds(fake_opsgenie))
    assert fake_opsgenie.requests == []


def test_credentials_from_settings_outbound_and_repr() -> None:
    creds = OpsgenieCredentials.from_outbound(
        {"OPSGENIE_API_KEY": OPSGENIE_KEY, "OPSGENIE_API_URL": "https://api.eu.opsgenie.com/"}
    )
    assert creds.api_url == "https://api.eu.opsgenie.com"
    assert OPSGENIE_KEY not in repr(creds)
