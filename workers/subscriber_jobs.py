"""The RQ job that posts one public update to one status-page subscriber (enqueued by the
subscribers channel's fan-out, workers/channels/subscribers.py): deliver_once, so the ledger
keeps each (incident, update, subscriber) post once across retries, second workers and
crashes, and the per-host rate limit and RQ's retries are every channel's."""

from __future__ import annotations

import logging
from typing import Any

from app.logs import log
from app.store.subscribers import SubscriberStore
from workers.channels import CHANNELS, Channel
from workers.channels.subscribers import SubscriberCredentials, for_subscriber, message_from_job
from workers.delivery import FAILED, deliver_once
from workers.jobs import runtime

logger = logging.getLogger("klaxon.jobs")
UNSUBSCRIBED = "unsubscribed"


def post_to_subscriber(fan_out: dict[str, Any], subscriber_id: str) -> str:
    """The vendor id (the delivery id sent), ALREADY_SENT, FAILED (the endpoint refused it for
    good: logged, not retried, not the incident's news) or UNSUBSCRIBED.

    Raises:
        DeliveryError: worth retrying (RQ does; the ledger skips a post already made)."""
    rt = runtime()
    channel = CHANNELS[Channel.SUBSCRIBERS]
    subscriber = SubscriberStore(rt.redis, rt.clock, rt.settings.subscribers_max).get(subscriber_id)
    if subscriber is None:
        return UNSUBSCRIBED  # unsubscribed since the fan-out: nothing more is sent
    credentials = rt.credentials.get(Channel.SUBSCRIBERS)
    links = (
        credentials
        if isinstance(credentials, SubscriberCredentials)
        else SubscriberCredentials.from_settings(rt.settings)
    )
    message = for_subscriber(message_from_job(fan_out), subscriber, links)
    result = deliver_once(rt, channel, message, {})
    if result == FAILED:
        log(
            logger,
            "a status-page subscriber refused an update",
            logging.WARNING,
            incident=message.incident_id,
            subscriber=subscriber.id,
        )
    return result
