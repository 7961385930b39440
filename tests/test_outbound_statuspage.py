"""What the Statuspage messages say about components (issue #4): the ids the rules map the
incident's services to, at the status the current severity's policy gives, and operational
once resolved. Pure planning: no Redis, no HTTP."""

from __future__ import annotations

from typing import Any

from app.messages.context import MessageEvent, NotificationContext
from app.messages.fixtures import SEV1_POLICY, SEV2_POLICY, SEV3_POLICY, T0
from app.messages.render import Rendered
from workers.channels import CHANNELS, Channel, Occasion, OutboundMessage, wanted

CHECKOUT, EMAILS = "ftgks51sfs2d", "7yhl8w0jp3k5"


def context(
    event: MessageEvent,
    *,
    severity: str = "SEV2",
    status: str = "investigating",
    components: tuple[str, ...] = (CHECKOUT,),
) -> NotificationContext:
    policy = {"SEV1": SEV1_POLICY, "SEV2": SEV2_POLICY, "SEV3": SEV3_POLICY}[severity]
    incident = {
        "id": "INC-2026-0001",
        "title": "checkout-api p99 latency high",
        "severity": severity,
        "status": status,
        "team": "checkout",
        "service": "checkout-api",
        "environment": "prod",
        "created_at": T0,
        "acknowledged_at": None,
        "resolved_at": T0 + 600 if status == "resolved" else None,
        "commander": None,
        "url": "https://k.example/incidents/INC-2026-0001",
        "duration_seconds": 600,
        "alert_count": 1,
    }
    return NotificationContext(
        event=event,
        reason="test",
        incident=incident,
        alerts=[],
        team={"name": "checkout", "description": ""},
        policy=policy,
        links={"incident": incident["url"], "status_page": ""},
        now=T0 + 600,
        components=components,
    )


def statuspage(ctx: NotificationContext, state: dict[str, str] | None = None) -> OutboundMessage:
    rendered = Rendered(
        Channel.STATUSPAGE,
        ctx.event,
        {"name": "Checkout is slow", "body": "We are looking into it."},
    )
    [message] = CHANNELS[Channel.STATUSPAGE].build(Occasion(ctx, None), rendered, state or {})
    return message


def fields(message: OutboundMessage) -> dict[str, Any]:
    incident: dict[str, Any] = message.body["incident"]
    return incident


def test_the_create_names_the_components_at_the_policy_status() -> None:
    message = statuspage(context(MessageEvent.DECLARED, components=(CHECKOUT, EMAILS)))
    assert message.action == "create"
    assert fields(message)["component_ids"] == [CHECKOUT, EMAILS]
    assert fields(message)["components"] == {
        CHECKOUT: "partial_outage",
        EMAILS: "partial_outage",
    }  # SEV2
    assert fields(message)["impact_override"] == "major"


def test_a_raised_severity_raises_the_components() -> None:
    state = {"statuspage_id": "p31zjtct2jer", "statuspage_components": CHECKOUT}
    message = statuspage(context(MessageEvent.SEVERITY_RAISED, severity="SEV1"), state)
    assert (message.action, message.target) == ("update", {"statuspage_incident": "p31zjtct2jer"})
    assert fields(message)["components"] == {CHECKOUT: "major_outage"}
    assert fields(message)["component_ids"] == [CHECKOUT]


def test_a_posted_update_keeps_the_components_at_the_policy_status() -> None:
    state = {"statuspage_id": "p31zjtct2jer", "statuspage_components": CHECKOUT}
    message = statuspage(context(MessageEvent.UPDATE_POSTED, status="identified"), state)
    assert fields(message)["status"] == "identified"
    assert fields(message)["components"] == {CHECKOUT: "partial_outage"}


def test_the_resolution_sets_every_component_back_to_operational() -> None:
    state = {"statuspage_id": "p31zjtct2jer", "statuspage_components": CHECKOUT}
    message = statuspage(
        context(
            MessageEvent.RESOLVED, severity="SEV1", status="resolved", components=(CHECKOUT, EMAILS)
        ),
        state,
    )
    assert fields(message)["status"] == "resolved"
    assert fields(message)["components"] == {CHECKOUT: "operational", EMAILS: "operational"}
    assert "impact_override" not in fields(message)


def test_a_posted_resolution_is_operational_too() -> None:
    state = {"statuspage_id": "p31zjtct2jer"}
    message = statuspage(context(MessageEvent.UPDATE_POSTED, status="resolved"), state)
    assert fields(message)["components"] == {CHECKOUT: "operational"}


def test_components_an_earlier_message_set_are_still_released() -> None:
    # The rules changed during the incident (checkout-api now maps elsewhere): the component
    # the page was told about must not stay in an outage forever.
    state = {"statuspage_id": "p31zjtct2jer", "statuspage_components": f"{CHECKOUT} {EMAILS}"}
    message = statuspage(
        context(MessageEvent.RESOLVED, status="resolved", components=("b4xq9m2kd7ns",)), state
    )
    assert fields(message)["component_ids"] == ["b4xq9m2kd7ns", CHECKOUT, EMAILS]
    assert set(fields(message)["components"].values()) == {"operational"}


def test_an_incident_of_unmapped_services_sends_no_components() -> None:
    for event, state in (
        (MessageEvent.DECLARED, {}),
        (MessageEvent.RESOLVED, {"statuspage_id": "p31zjtct2jer"}),
    ):
        status = "resolved" if event is MessageEvent.RESOLVED else "investigating"
        incident = fields(statuspage(context(event, status=status, components=()), state))
        assert "component_ids" not in incident and "components" not in incident


def test_components_alone_never_open_a_public_incident() -> None:
    # SEV3's policy has no public impact: no Statuspage incident, whatever the components.
    ctx = context(MessageEvent.DECLARED, severity="SEV3")
    assert Channel.STATUSPAGE not in wanted(Occasion(ctx, None, pages=False), {})
