"""The status page's subscribers: one Redis hash (keys.subscribers), subscriber id -> JSON, at
most KLAXON_SUBSCRIBERS_MAX of them. The only writer of that key.

A subscriber is a delivery address and a kind ("webhook" today; "email" is the same record
with an address the email channel reads, once there is one). Its id is a hash of the kind and
address, so subscribing the same URL twice is one subscriber. Its unsubscribe token is random
(32 bytes), sent in every post to it and compared in constant time; a token never leaves
through a page or a log other than that post.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from enum import StrEnum

import redis

from app.clock import Clock
from app.store import keys, replies

WEBHOOK = "webhook"

# Add unless the id is there or the hash is full, in one step (two web threads or dynos).
_SUBSCRIBE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'added'
"""


class Subscribed(StrEnum):
    ADDED = "added"
    EXISTS = "exists"  # that address was already subscribed: nothing changed
    FULL = "full"  # KLAXON_SUBSCRIBERS_MAX reached: refused


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: str
    kind: str  # "webhook" (later "email")
    address: str  # the URL posted to
    token: str  # unsubscribes; in every delivery's unsubscribe link
    created_at: float


def subscriber_id(kind: str, address: str) -> str:
    digest = hashlib.blake2b(f"{kind}\x00{address}".encode(), digest_size=10).hexdigest()
    return f"SUB-{digest}"


class SubscriberStore:
    def __init__(self, connection: redis.Redis, clock: Clock, max_subscribers: int) -> None:
        self._redis = connection
        self._clock = clock
        self._max = max_subscribers  # KLAXON_SUBSCRIBERS_MAX
        self._subscribe = connection.register_script(_SUBSCRIBE)

    def subscribe(self, kind: str, address: str) -> tuple[Subscribed, Subscriber | None]:
        """Add a subscriber for an address already checked (app/subscriber_address.py). The
        subscriber is returned only when added: an existing one's token is not told to
        whoever subscribes the same address again."""
        subscriber = Subscriber(
            subscriber_id(kind, address),
            kind,
            address,
            secrets.token_urlsafe(32),
            self._clock.now(),
        )
        outcome = Subscribed(
            replies.text(
                self._subscribe(
                    keys=[keys.subscribers()],
                    args=[subscriber.id, json.dumps(asdict(subscriber)), self._max],
                )
            )
        )
        return outcome, subscriber if outcome is Subscribed.ADDED else None

    def get(self, subscriber: str) -> Subscriber | None:
        raw = self._redis.hget(keys.subscribers(), subscriber)
        return None if raw is None else _subscriber(replies.text(raw))

    def all(self) -> list[Subscriber]:
        """Every subscriber, oldest first."""
        found = [
            _subscriber(value)
            for value in replies.text_hash(self._redis.hgetall(keys.subscribers())).values()
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def count(self) -> int:
        return int(self._redis.hlen(keys.subscribers()))

    def unsubscribe(self, subscriber: str, token: str) -> bool:
        """Remove the subscriber when `token` is its own; False (nothing changed) otherwise.
        Posts already queued for it find it gone and are dropped."""
        found = self.get(subscriber)
        if found is None or not hmac.compare_digest(found.token.encode(), token.encode()):
            return False
        return bool(self._redis.hdel(keys.subscribers(), subscriber))


def _subscriber(raw: str) -> Subscriber:
    data = json.loads(raw)
    return Subscriber(
        str(data["id"]),
        str(data["kind"]),
        str(data["address"]),
        str(data["token"]),
        float(data["created_at"]),
    )
