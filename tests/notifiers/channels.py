"""One description per outbound channel for the contract tests: how to send a message to its
fake, which secrets must never leak, and how to read the expected vendor id."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakes import FakeOpsgenie, FakePagerDuty, FakeServer, FakeStatuspage, FakeSubscriber, FakeX

from workers.channels import (
    Channel,
    OutboundMessage,
    Receipt,
    opsgenie,
    pagerduty,
    statuspage,
    subscribers,
    x,
)

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 0.5  # the slow-response faults wait longer than this
TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)

PD_ROUTING_KEY = "R0UT1NGK3YCHECKOUTpd0123456789ab"  # 32 characters, as PagerDuty's are
OPSGENIE_KEY = "c0ffee00-1234-4abc-9def-0penGENIEk3y"
STATUSPAGE_KEY = "sp-0auth-k3y-5f9c1e7a2b4d"
X_KEYS = (
    "xck-C0NSUMERkey8a7b",
    "xcs-C0NSUMERsecret1c2d3e4f",
    "xat-ACCESStoken9z8y7",
    "xas-ACCESSsecret6w5v4u3t",
)

_counter = itertools.count(1)


@dataclass(frozen=True)
class ChannelCase:
    channel: Channel
    fake: FakeServer
    secrets: tuple[str, ...]
    send: Callable[[OutboundMessage], Receipt]
    message: Callable[[], OutboundMessage]  # a fresh, valid, never-sent-before message
    vendor_id: Callable[[FakeServer, OutboundMessage], str]  # what the receipt must carry


def _message(
    channel: Channel, action: str, body: dict[str, Any], target: dict[str, str] | None = None
) -> OutboundMessage:
    n = next(_counter)
    return OutboundMessage(
        channel, action, f"inc-{n}", "declared", f"{channel}-{action}-{n}", body, target or {}
    )


def pagerduty_case(fake: FakePagerDuty) -> ChannelCase:
    credentials = pagerduty.PagerDutyCredentials(
        {"PD_ROUTING_KEY_CHECKOUT": PD_ROUTING_KEY}, fake.url, TIMEOUT, fake.ca_file
    )

    def message() -> OutboundMessage:
        n = next(_counter)
        return _message(
            Channel.PAGERDUTY,
            "trigger",
            {
                "routing_key": "$PD_ROUTING_KEY_CHECKOUT",
                "event_action": "trigger",
                "dedup_key": f"klaxon-inc-{n}",
                "payload": {
                    "summary": f"Checkout 5xx above 5% ({n})",
                    "source": "checkout-api",
                    "severity": "critical",
                    "component": "api",
                    "group": "checkout",
                    "class": "http_errors",
                    "custom_details": {"alerts": 3},
                },
                "links": [{"href": "https://klaxon.example/incidents/1", "text": "Klaxon"}],
                "client": "Klaxon",
                "client_url": "https://klaxon.example/incidents/1",
            },
        )

    return ChannelCase(
        Channel.PAGERDUTY,
        fake,
        (PD_ROUTING_KEY,),
        lambda m: pagerduty.send(m, credentials),
        message,
        lambda f, m: m.body["dedup_key"],
    )


def opsgenie_case(fake: FakeOpsgenie) -> ChannelCase:
    credentials = opsgenie.OpsgenieCredentials(OPSGENIE_KEY, fake.url, TIMEOUT)

    def message() -> OutboundMessage:
        n = next(_counter)
        return _message(
            Channel.OPSGENIE,
            "create",
            {
                "message": f"[SEV1] Checkout 5xx above 5% ({n})",
                "alias": f"klaxon-inc-{n}",
                "description": "3 alerts",
                "priority": "P1",
                "tags": ["SEV1", "checkout"],
                "responders": [{"type": "team", "name": "checkout"}],
                "details": {"incident": f"inc-{n}"},
                "source": "klaxon",
            },
        )

    return ChannelCase(
        Channel.OPSGENIE,
        fake,
        (OPSGENIE_KEY,),
        lambda m: opsgenie.send(m, credentials),
        message,
        lambda f, m: f.answers[-1].body["requestId"],
    )


def statuspage_case(fake: FakeStatuspage) -> ChannelCase:
    credentials = statuspage.StatuspageCredentials(
        STATUSPAGE_KEY, "pg1kx", fake.url + "/v1", TIMEOUT
    )

    def message() -> OutboundMessage:
        n = next(_counter)
        return _message(
            Channel.STATUSPAGE,
            "create",
            {
                "incident": {
                    "name": f"Checkout errors ({n})",
                    "status": "investigating",
                    "body": "We are investigating errors at checkout.",
                    "impact_override": "major",
                    "components": {"cmp0checkout": "major_outage"},
                    "deliver_notifications": True,
                }
            },
        )

    return ChannelCase(
        Channel.STATUSPAGE,
        fake,
        (STATUSPAGE_KEY,),
        lambda m: statuspage.send(m, credentials),
        message,
        lambda f, m: f.answers[-1].body["id"],
    )


def x_case(fake: FakeX) -> ChannelCase:
    credentials = x.XCredentials(*X_KEYS, api_url=fake.url, timeout=TIMEOUT)

    def message() -> OutboundMessage:
        return _message(
            Channel.X,
            "post",
            {"text": f"We are investigating errors at checkout. Update {next(_counter)}"},
        )

    return ChannelCase(
        Channel.X,
        fake,
        X_KEYS,
        lambda m: x.send(m, credentials),
        message,
        lambda f, m: f.answers[-1].body["data"]["id"],
    )


SUBSCRIBERS_SECRET = "subscribers-s1gning-secret-0a9b8c"
UNSUBSCRIBE_TOKEN = "unsub-T0KEN-4f8e2d1c9b7a"


def subscriber_case(fake: FakeSubscriber) -> ChannelCase:
    credentials = subscribers.SubscriberCredentials(
        SUBSCRIBERS_SECRET, "https://klaxon.example", "redis://unused", True, 5, TIMEOUT
    )

    def message() -> OutboundMessage:
        n = next(_counter)
        unsubscribe = f"https://klaxon.example/status/unsubscribe/SUB-1/{UNSUBSCRIBE_TOKEN}"
        return _message(
            Channel.SUBSCRIBERS,
            "post",
            {
                "meta": {"unsubscribe": unsubscribe, "documentation": "https://klaxon.example"},
                "page": {"id": "a1b2c3d4e5f6", "status_indicator": "major"},
                "incident": {"id": f"inc-{n}", "name": "Checkout errors", "status": "identified"},
            },
            {"url": f"{fake.url}/hook", "subscriber": "SUB-1"},
        )

    return ChannelCase(
        Channel.SUBSCRIBERS,
        fake,
        (SUBSCRIBERS_SECRET, UNSUBSCRIBE_TOKEN),
        lambda m: subscribers.post(m, credentials),
        message,
        lambda f, m: subscribers.delivery_id(m.idempotency_key),
    )


CASES: dict[Channel, tuple[str, Callable[[Any], ChannelCase]]] = {
    Channel.PAGERDUTY: ("fake_pagerduty", pagerduty_case),
    Channel.OPSGENIE: ("fake_opsgenie", opsgenie_case),
    Channel.STATUSPAGE: ("fake_statuspage", statuspage_case),
    Channel.X: ("fake_x", x_case),
    Channel.SUBSCRIBERS: ("fake_subscriber", subscriber_case),
}
