"""Statuspage request shape over loopback HTTP, plus a `responses` unit test of the client."""

from __future__ import annotations

import pytest
import responses
from fakes import FakeStatuspage

from notifiers.channels import STATUSPAGE_KEY, TIMEOUT
from workers.channels import Channel, DeliveryError, FailureReason, OutboundMessage
from workers.channels._http import new_session
from workers.channels.statuspage import (
    StatuspageCredentials,
    page_components,
    send,
    without_unknown_components,
)

PAGE = "pg1kx"
CREATE = {
    "incident": {
        "name": "Checkout errors",
        "status": "investigating",
        "body": "We are investigating errors at checkout.",
        "impact_override": "major",
        "components": {"cmp0checkout": "major_outage", "cmp1api": "degraded_performance"},
        "component_ids": ["cmp0checkout", "cmp1api"],
        "deliver_notifications": True,
    }
}


def creds(fake: FakeStatuspage) -> StatuspageCredentials:
    return StatuspageCredentials(STATUSPAGE_KEY, PAGE, fake.url + "/v1", TIMEOUT)


def message(
    action: str = "create",
    body: dict[str, object] | None = None,
    target: dict[str, str] | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        Channel.STATUSPAGE,
        action,
        "inc-9",
        "declared",
        f"sp-{action}",
        body or CREATE,
        target or {},
    )


def test_create_posts_the_incident_with_its_components_map(fake_statuspage: FakeStatuspage) -> None:
    receipt = send(message(), creds(fake_statuspage))
    [request] = fake_statuspage.requests
    assert (request.method, request.path) == ("POST", f"/v1/pages/{PAGE}/incidents")
    assert request.headers["authorization"] == f"OAuth {STATUSPAGE_KEY}"
    assert request.query == {}  # never ?api_key=
    assert request.json == CREATE
    assert receipt.vendor_id in fake_statuspage.incidents
    assert receipt.detail["status"] == "investigating"
    assert receipt.detail["components"] == "cmp0checkout cmp1api"  # kept on the incident


def test_update_patches_the_incident_named_in_the_target(fake_statuspage: FakeStatuspage) -> None:
    incident_id = send(message(), creds(fake_statuspage)).vendor_id
    update = {
        "incident": {
            "status": "resolved",
            "body": "Fixed.",
            "impact_override": "none",
            "components": {"cmp0checkout": "operational"},
        }
    }
    receipt = send(
        message("update", update, {"statuspage_incident": incident_id}), creds(fake_statuspage)
    )
    request = fake_statuspage.requests[-1]
    assert (request.method, request.path) == ("PATCH", f"/v1/pages/{PAGE}/incidents/{incident_id}")
    assert request.json == update
    assert receipt.vendor_id == incident_id and receipt.detail["status"] == "resolved"
    incident = fake_statuspage.incidents[incident_id]
    assert incident["components"] == [
        {"id": "cmp0checkout", "status": "operational", "name": "cmp0checkout"}
    ]
    assert [u["status"] for u in incident["incident_updates"]] == ["resolved", "investigating"]


def test_update_without_incident_id_fails_before_any_request(
    fake_statuspage: FakeStatuspage,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message("update"), creds(fake_statuspage))
    assert caught.value.reason == FailureReason.CLIENT_ERROR
    assert fake_statuspage.requests == []


def test_unknown_incident_is_a_permanent_client_error(fake_statuspage: FakeStatuspage) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(message("update", target={"statuspage_incident": "nope"}), creds(fake_statuspage))
    assert (caught.value.reason, caught.value.status) == (FailureReason.CLIENT_ERROR, 404)


@pytest.mark.parametrize("status", [420, 429])
def test_420_and_429_are_rate_limited_with_retry_after(
    fake_statuspage: FakeStatuspage, status: int
) -> None:
    fake_statuspage.fail_next(status, retry_after=2)
    with pytest.raises(DeliveryError) as caught:
        send(message(), creds(fake_statuspage))
    assert (caught.value.reason, caught.value.retry_after) == (FailureReason.RATE_LIMITED, 2.0)
    assert caught.value.retryable


def test_wrong_key_is_auth_and_never_quoted(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.api_keys = {"another-key"}
    with pytest.raises(DeliveryError) as caught:
        send(message(), creds(fake_statuspage))
    assert (caught.value.reason, caught.value.status) == (FailureReason.AUTH, 401)
    assert STATUSPAGE_KEY not in repr(caught.value)


@responses.activate
def test_injected_session_is_used_and_keeps_its_default_timeout() -> None:
    api = "https://api.statuspage.test/v1"
    responses.post(
        f"{api}/pages/{PAGE}/incidents",
        status=201,
        json={"id": "p31zjtct2jer", "status": "investigating"},
    )
    session = new_session((2.0, 7.0))
    receipt = send(
        message(), StatuspageCredentials(STATUSPAGE_KEY, PAGE, api, (2.0, 7.0)), session=session
    )
    assert receipt.vendor_id == "p31zjtct2jer"
    [call] = responses.calls
    assert call.request.headers["Authorization"] == f"OAuth {STATUSPAGE_KEY}"
    assert call.request.req_kwargs["timeout"] == (2.0, 7.0)
    session.close()


@responses.activate
def test_2xx_without_an_incident_id_is_a_server_error() -> None:
    api = "https://api.statuspage.test/v1"
    responses.post(f"{api}/pages/{PAGE}/incidents", status=201, body="<html>ok</html>")
    with pytest.raises(DeliveryError) as caught:
        send(message(), StatuspageCredentials(STATUSPAGE_KEY, PAGE, api))
    assert caught.value.reason == FailureReason.SERVER_ERROR


def test_credentials_from_settings_outbound_and_repr() -> None:
    creds = StatuspageCredentials.from_outbound(
        {"STATUSPAGE_API_KEY": STATUSPAGE_KEY, "STATUSPAGE_PAGE_ID": PAGE}
    )
    assert creds.api_url == "https://api.statuspage.io/v1" and creds.page_id == PAGE
    assert STATUSPAGE_KEY not in repr(creds)


def refused(status: int = 422) -> DeliveryError:
    return DeliveryError(Channel.STATUSPAGE, FailureReason.CLIENT_ERROR, "refused", status=status)


def test_components_the_page_lacks_are_left_out_of_a_refused_message() -> None:
    with FakeStatuspage(components={"cmp0checkout": "Checkout"}) as fake:
        with pytest.raises(DeliveryError) as caught:
            send(message(), creds(fake))  # names cmp1api, which the page does not have
        assert caught.value.status == 422
        repaired = without_unknown_components(message(), creds(fake), caught.value)
        assert repaired is not None
        fixed, note = repaired
        assert note == (
            "the Statuspage page has no component cmp1api, so it was sent without "
            "it: correct statuspage.components in the rules"
        )
        assert fixed.body["incident"] == CREATE["incident"] | {
            "component_ids": ["cmp0checkout"],
            "components": {"cmp0checkout": "major_outage"},
        }
        assert (fixed.idempotency_key, fixed.action) == ("sp-create", "create")
        receipt = send(fixed, creds(fake))
        assert fake.component_statuses() == {"cmp0checkout": "major_outage"}
        assert receipt.detail["components"] == "cmp0checkout"


def test_with_no_known_component_left_the_message_names_none() -> None:
    with FakeStatuspage(components={}) as fake:
        fixed, _ = without_unknown_components(message(), creds(fake), refused()) or (None, "")
        assert fixed is not None
        assert "components" not in fixed.body["incident"]
        assert "component_ids" not in fixed.body["incident"]
        assert send(fixed, creds(fake)).vendor_id in fake.incidents


def test_a_refusal_for_another_reason_stands(fake_statuspage: FakeStatuspage) -> None:
    assert without_unknown_components(message(), creds(fake_statuspage), refused(400)) is None
    assert fake_statuspage.requests == []  # not a 422: no need to look
    no_components = message(body={"incident": {"name": "n", "status": "investigating"}})
    assert without_unknown_components(no_components, creds(fake_statuspage), refused()) is None
    with FakeStatuspage(components={"cmp0checkout": "Checkout", "cmp1api": "API"}) as fake:
        assert without_unknown_components(message(), creds(fake), refused()) is None  # all known


def test_page_components_lists_the_ids_and_a_failed_read_is_retryable(
    fake_statuspage: FakeStatuspage,
) -> None:
    send(message(), creds(fake_statuspage))  # this fake makes components as they are named
    assert page_components(creds(fake_statuspage)) == {"cmp0checkout", "cmp1api"}
    fake_statuspage.fail_next(503)
    with pytest.raises(DeliveryError) as caught:
        page_components(creds(fake_statuspage))
    assert caught.value.retryable
