"""The status page's webhook subscribers: each public update posted to every subscribed URL,
in Atlassian Statuspage's webhook shape ("Enable webhook notifications",
https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/): `meta`
(unsubscribe, documentation), `page` (id, status_indicator, status_description) and
`incident` with its `incident_updates`.

One public update is two kinds of message, both through workers/delivery.py:

- "fan_out", one per event (keyed like every channel's message): its send lists the
  subscribers and enqueues one job per subscriber (workers/subscriber_jobs.py). The ledger
  keeps it once; the incident's timeline says how many subscribers it went to.
- "post", one per (event, subscriber), keyed `<fan_out key>:<subscriber id>`: one HTTP POST,
  with the shared per-host rate limit, RQ's retries and the ledger, so a retried job never
  posts twice to anyone. Its own outcome stays off the incident's timeline (`on_timeline`).

Email later is one more kind of subscriber with its own "post" (the fan-out stays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import redis

if TYPE_CHECKING:
    from app.messages.render import Rendered

from app.clock import SystemClock
from app.messages import limits
from app.messages.context import MessageEvent
from app.messages.wording import iso
from app.notifications import enqueue_subscriber_post
from app.ruleset import RuleSet
from app.settings import Settings
from app.store.connection import connect
from app.store.subscribers import Subscriber, SubscriberStore
from app.subscriber_address import RefusedAddress, check_url
from workers.channels._http import Timeout, guarded, per_process, shared_session
from workers.channels.base import (
    BaseNotifier,
    Channel,
    DeliveryError,
    FailureReason,
    Field,
    Occasion,
    OutboundMessage,
    RateLimit,
    Receipt,
    configured,
    new_message,
)

CHANNEL = Channel.SUBSCRIBERS
FAN_OUT = "fan_out"
POST = "post"
BODY_MAX = 5_000  # characters: a status update is a paragraph or two
# Statuspage gives an endpoint 30 s to answer; a subscriber is not worth holding a public
# worker that long, and RQ retries one that is slow.
SUBSCRIBER_TIMEOUT: Timeout = (3.05, 10.0)
SIGNATURE_HEADER = "X-Klaxon-Signature"
DELIVERY_HEADER = "X-Klaxon-Delivery"  # the same on every attempt: a receiver can deduplicate
# Statuspage's page-level words for its indicator (none/minor/major/critical).
STATUS_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
E = MessageEvent


@dataclass(frozen=True, slots=True)
class SubscriberCredentials:
    """The signing secret (which turns subscriptions on), where links point, and the Redis the
    subscribers are in (the fan-out reads them and enqueues the posts)."""

    secret: str = field(repr=False)
    public_url: str
    redis_url: str = field(repr=False)
    allow_loopback: bool = False
    max_subscribers: int = 500
    timeout: Timeout = SUBSCRIBER_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings) -> SubscriberCredentials:
        return cls(
            settings.subscribers_secret,
            settings.public_url,
            settings.redis_connection_url,
            settings.subscribers_allow_loopback,
            settings.subscribers_max,
        )


def unsubscribe_url(public_url: str, subscriber: Subscriber) -> str:
    return f"{public_url}/status/unsubscribe/{quote(subscriber.id)}/{quote(subscriber.token)}"


def for_subscriber(
    fan_out: OutboundMessage, subscriber: Subscriber, credentials: SubscriberCredentials
) -> OutboundMessage:
    """The post of `fan_out` to one subscriber: its own ledger key, URL and unsubscribe link."""
    meta = {
        "unsubscribe": unsubscribe_url(credentials.public_url, subscriber),
        "documentation": f"{credentials.public_url}/status/subscribe",
    }
    return replace(
        fan_out,
        action=POST,
        idempotency_key=f"{fan_out.idempotency_key}:{subscriber.id}",
        body={"meta": meta} | fan_out.body,
        target={"url": subscriber.address, "subscriber": subscriber.id},
    )


def post(
    message: OutboundMessage,
    credentials: SubscriberCredentials,
    *,
    session: Any = None,
) -> Receipt:
    """POST the update to the subscriber's URL, signed; redirects are not followed (a 3xx is
    a refusal, as at Statuspage), and the URL's addresses are checked again first (a name may
    now resolve inside our network).

    Raises:
        DeliveryError: not accepted; `retryable` says whether to try again.
    """
    try:
        url = check_url(message.target.get("url", ""), credentials.allow_loopback)
    except RefusedAddress as refused:
        raise DeliveryError(CHANNEL, FailureReason.CLIENT_ERROR, str(refused)) from refused
    body = json.dumps(message.body, ensure_ascii=False, separators=(",", ":")).encode()
    signature = hmac.new(credentials.secret.encode(), body, hashlib.sha256).hexdigest()
    delivery = delivery_id(message.idempotency_key)
    session = session or shared_session(credentials, credentials.timeout)
    token = message.body.get("meta", {}).get("unsubscribe", "").rsplit("/", 1)[-1]
    guarded(
        CHANNEL,
        lambda: session.post(
            url,
            data=body,
            timeout=credentials.timeout,
            allow_redirects=False,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Klaxon status page",
                SIGNATURE_HEADER: f"sha256={signature}",
                DELIVERY_HEADER: delivery,
            },
        ),
        secrets=(credentials.secret, token),
    )
    return Receipt(CHANNEL, vendor_id=delivery)


def delivery_id(key: str) -> str:
    """X-Klaxon-Delivery: the same for every attempt of one post (a hash of its ledger key)."""
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def fan_out(message: OutboundMessage, credentials: SubscriberCredentials) -> Receipt:
    """One post job per subscriber now on the list (a job already enqueued for one is not
    enqueued again: a retried fan-out adds only what is missing).

    Raises:
        DeliveryError: Redis could not be read or written (retried).
    """
    connection = _redis(credentials.redis_url)
    try:
        subscribers = SubscriberStore(connection, SystemClock(), credentials.max_subscribers).all()
        fan_out_message = _as_job_argument(message)
        for subscriber in subscribers:
            enqueue_subscriber_post(
                connection,
                fan_out_message,
                subscriber.id,
                job_key=f"{message.idempotency_key}:{subscriber.id}",
            )
    except redis.RedisError as exc:
        raise DeliveryError(
            CHANNEL, FailureReason.CONNECTION, f"subscribers: {type(exc).__name__}"
        ) from exc
    count = len(subscribers)
    return Receipt(CHANNEL, vendor_id=f"{count} subscriber{'' if count == 1 else 's'}")


@per_process(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return connect(url)


def _as_job_argument(message: OutboundMessage) -> dict[str, Any]:
    """The fan-out message as RQ's JSON serializer carries it (message_from_job reads it)."""
    return {
        "channel": message.channel.value,
        "action": message.action,
        "incident_id": message.incident_id,
        "event": message.event,
        "idempotency_key": message.idempotency_key,
        "body": message.body,
        "target": message.target,
    }


def message_from_job(data: Mapping[str, Any]) -> OutboundMessage:
    return OutboundMessage(
        Channel(data["channel"]),
        str(data["action"]),
        str(data["incident_id"]),
        str(data["event"]),
        str(data["idempotency_key"]),
        dict(data["body"]),
        {str(k): str(v) for k, v in (data.get("target") or {}).items()},
    )


class Subscribers(BaseNotifier):
    """Webhook subscribers of the public status page: told what the status page says, when it
    says it (a public impact, or the incident already told to them)."""

    name = CHANNEL
    public = True
    fields = (
        Field("name", "txt", limits.STATUSPAGE_NAME_MAX, limits.truncate),
        Field("body", "txt", BODY_MAX, limits.truncate),
    )
    silent = frozenset({E.ACKNOWLEDGED, E.ESCALATED, E.REMINDER})
    required_env = ("KLAXON_SUBSCRIBERS_SECRET",)
    # Per receiving host, shared by every worker: a burst of 10, then five a second. Not per
    # URL: subscriptions to one host (a chat service's webhooks) all land on it. Not slower:
    # 500 subscribers on one host take 100 s, well inside RQ's ~18 minutes of retries, after
    # which a post still waiting for a slot would be dropped.
    rate_limit = RateLimit(0.2, 10)
    state_fields = ("subscribers_told",)

    def credentials(self, settings: Settings, ruleset: RuleSet) -> SubscriberCredentials | None:
        if not configured(settings, self.required_env):
            return None
        return SubscriberCredentials.from_settings(settings)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        impact = occasion.ctx.policy["statuspage"]["impact"]
        return impact != "none" or bool(state.get("subscribers_told"))

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        if rendered is None:
            return []
        incident = occasion.ctx.incident
        if incident["status"] == "resolved" and not state.get("subscribers_told"):
            return []  # never announce an incident only to close it
        return [new_message(CHANNEL, FAN_OUT, occasion, _payload(occasion, rendered))]

    def destination(self, message: OutboundMessage) -> str:
        if message.action == POST:
            return urlsplit(message.target.get("url", "")).hostname or "unknown"
        return message.idempotency_key  # a fan-out calls no one: it never waits for a slot

    def send(self, message: OutboundMessage, credentials: SubscriberCredentials) -> Receipt:
        if message.action == FAN_OUT:
            return fan_out(message, credentials)
        if message.action == POST:
            return post(message, credentials)
        raise DeliveryError(
            CHANNEL, FailureReason.CLIENT_ERROR, f"unknown action {message.action!r}"
        )

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        return {"subscribers_told": "1"} if message.action == FAN_OUT else {}

    def on_timeline(self, message: OutboundMessage) -> bool:
        return message.action != POST  # one entry per update, not one per subscriber

    def warm_up(self, credentials: SubscriberCredentials) -> None:
        shared_session(credentials, credentials.timeout)


NOTIFIER = Subscribers()


def _payload(occasion: Occasion, rendered: Rendered) -> dict[str, Any]:
    """Statuspage's incident webhook, less `meta` (each subscriber's own). Where it differs:
    `incident_updates` holds the one update this post announces, not the whole history, and
    `page.id` is the /api/v2 documents' (a hash of KLAXON_PUBLIC_URL)."""
    ctx = occasion.ctx
    incident = ctx.incident
    resolved = incident["status"] == "resolved"
    impact = "none" if resolved else ctx.policy["statuspage"]["impact"]
    public_url = ctx.links["status_page"].removesuffix("/status")
    now = iso(ctx.now)
    update_id = f"{incident['id']}-{occasion.seq}"
    return {
        "page": {
            "id": hashlib.sha256(public_url.encode()).hexdigest()[:12],  # as statusjson.PageInfo
            "status_indicator": impact,
            "status_description": STATUS_DESCRIPTION.get(impact, STATUS_DESCRIPTION["minor"]),
        },
        "incident": {
            "id": incident["id"],
            "name": rendered["name"],
            "status": incident["status"],
            "impact": ctx.policy["statuspage"]["impact"],
            "created_at": iso(incident["created_at"]),
            "updated_at": now,
            "resolved_at": iso(incident["resolved_at"]) if incident["resolved_at"] else None,
            "shortlink": ctx.links["status_page"],
            "incident_updates": [
                {
                    "id": update_id,
                    "incident_id": incident["id"],
                    "status": incident["status"],
                    "body": rendered["body"],
                    "created_at": now,
                    "updated_at": now,
                    "display_at": now,
                }
            ],
        },
    }
