"""PagerDuty Events v2 request shape and the package settings that matter."""

from __future__ import annotations

import pytest
from fakes import FakePagerDuty

from notifiers.channels import PD_ROUTING_KEY, TIMEOUT, pagerduty_case
from workers.channels import Channel, DeliveryError, FailureReason, OutboundMessage
from workers.channels.pagerduty import PagerDutyCredentials, send


def credentials(fake: FakePagerDuty, **changes: object) -> PagerDutyCredentials:
    values: dict[str, object] = {
        "routing_keys": {"PD_ROUTING_KEY_CHECKOUT": PD_ROUTING_KEY},
        "events_url": fake.url,
        "timeout": TIMEOUT,
        "ca_file": fake.ca_file,
    }
    values.update(changes)
    return PagerDutyCredentials(**values)  # type: ignore[arg-type]


def message(action: str = "trigger", **body: object) -> OutboundMessage:
    event: dict[str, object] = {
        "routing_key": "$PD_ROUTING_KEY_CHECKOUT",
        "event_action": action,
        "dedup_key": "klaxon-inc-42",
    }
    if action == "trigger":
        event["payload"] = {
            "summary": "Checkout 5xx above 5%",
            "source": "checkout-api",
            "severity": "error",
            "custom_details": {"alerts": 2},
        }
    event.update(body)
    return OutboundMessage(Channel.PAGERDUTY, action, "inc-42", "declared", "pd-1", event)


def test_trigger_sends_the_real_key_dedup_key_severity_and_a_timestamp(
    fake_pagerduty: FakePagerDuty,
) -> None:
    receipt = send(message(), credentials(fake_pagerduty))
    [request] = fake_pagerduty.requests
    event = request.json
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert event["routing_key"] == PD_ROUTING_KEY
    assert event["event_action"] == "trigger" and event["dedup_key"] == "klaxon-inc-42"
    assert event["payload"]["severity"] == "error"
    assert event["payload"]["timestamp"].endswith("+00:00")
    assert receipt.vendor_id == "klaxon-inc-42"


def test_a_timestamp_from_the_message_is_kept(fake_pagerduty: FakePagerDuty) -> None:
    msg = message(
        payload={
            "summary": "s",
            "source": "h",
            "severity": "info",
            "timestamp": "2026-03-01T10:00:00Z",
        }
    )
    send(msg, credentials(fake_pagerduty))
    assert fake_pagerduty.requests[0].json["payload"]["timestamp"] == "2026-03-01T10:00:00Z"
    assert msg.body["routing_key"] == "$PD_ROUTING_KEY_CHECKOUT"  # the message is not mutated


def test_links_client_and_payload_fields_go_out_as_events_v2_fields(
    fake_pagerduty: FakePagerDuty,
) -> None:
    case = pagerduty_case(fake_pagerduty)
    msg = case.message()
    case.send(msg)
    event = fake_pagerduty.requests[0].json
    assert event["client"] == "Klaxon" and event["client_url"].startswith("https://")
    assert event["links"] == msg.body["links"]
    assert {"component", "group", "class", "custom_details"} <= set(event["payload"])


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_address_the_dedup_key(
    fake_pagerduty: FakePagerDuty, action: str
) -> None:
    receipt = send(message(action), credentials(fake_pagerduty))
    event = fake_pagerduty.requests[0].json
    assert event == {
        "event_action": action,
        "dedup_key": "klaxon-inc-42",
        "routing_key": PD_ROUTING_KEY,
    }
    assert receipt.vendor_id == "klaxon-inc-42"


def test_trigger_without_dedup_key_returns_the_key_pagerduty_made(
    fake_pagerduty: FakePagerDuty,
) -> None:
    msg = message()
    del msg.body["dedup_key"]
    receipt = send(msg, credentials(fake_pagerduty))
    assert len(receipt.vendor_id) == 32


def test_invalid_routing_key_is_a_permanent_client_error(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.routing_keys = {"another-key-0123456789abcdefghij"}
    with pytest.raises(DeliveryError) as caught:
        send(message(), credentials(fake_pagerduty))
    assert (caught.value.reason, caught.value.status) == (FailureReason.CLIENT_ERROR, 400)
    assert "Invalid routing key" in str(caught.value)
    assert PD_ROUTING_KEY not in str(caught.value)


def test_unconfigured_routing_key_fails_before_any_request(fake_pagerduty: FakePagerDuty) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message(routing_key="$PD_ROUTING_KEY_SEARCH"), credentials(fake_pagerduty))
    assert caught.value.reason == FailureReason.AUTH and not caught.value.retryable
    assert "PD_ROUTING_KEY_SEARCH" in str(caught.value)
    assert fake_pagerduty.requests == []


def test_a_literal_routing_key_in_the_body_is_refused(fake_pagerduty: FakePagerDuty) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message(routing_key=PD_ROUTING_KEY), credentials(fake_pagerduty))
    assert caught.value.reason == FailureReason.CLIENT_ERROR
    assert PD_ROUTING_KEY not in str(caught.value)
    assert fake_pagerduty.requests == []


def test_tls_is_verified_an_untrusted_certificate_is_a_connection_error(
    fake_pagerduty: FakePagerDuty,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message(), credentials(fake_pagerduty, ca_file=None))
    assert caught.value.reason == FailureReason.CONNECTION
    assert fake_pagerduty.requests == []  # the handshake failed before any request


def test_plain_http_events_url_is_refused(fake_pagerduty: FakePagerDuty) -> None:
    http_url = fake_pagerduty.url.replace("https://", "http://")
    with pytest.raises(DeliveryError) as caught:
        send(message(), credentials(fake_pagerduty, events_url=http_url))
    assert caught.value.reason == FailureReason.CLIENT_ERROR
    assert "https://" in str(caught.value)


def test_credentials_repr_hides_the_routing_keys() -> None:
    creds = PagerDutyCredentials({"PD_ROUTING_KEY_CHECKOUT": PD_ROUTING_KEY})
    assert PD_ROUTING_KEY not in repr(creds)


def test_credentials_from_settings_outbound() -> None:
    creds = PagerDutyCredentials.from_outbound(
        {"PAGERDUTY_EVENTS_URL": "https://events.eu.pagerduty.com"}, {"PD_X": "k"}
    )
    assert creds.events_url == "https://events.eu.pagerduty.com"
    assert PagerDutyCredentials.from_outbound({}, {}).events_url == "https://events.pagerduty.com"
