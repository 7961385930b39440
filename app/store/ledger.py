"""The outbound ledger: every side effect Klaxon has on the world (a page, a status-page
update, a post on X) is named by an idempotency key and recorded before and after the call.

    begin(key)     -> "send": go ahead (first attempt, or the last attempt failed)
                      "sent": already done; do nothing
                      "unsure": an earlier attempt began and never finished (the worker was
                                killed between the call and the record): the caller must make
                                the call in a way that cannot duplicate the effect
    complete(key)  after the vendor answered 2xx (or the outbox took it)
    fail(key)      after a failed attempt; `final` when the vendor refused it for good,
                   `maybe_made` when the call got no answer (a timeout, a dropped connection):
                   the vendor may have acted, so the next begin() says "unsure" too
    first_body(key, body)
                   what the first attempt sent, kept until the vendor refuses it for good, so
                   a retry sends the same (see the method)

Atomic per key (one Lua call each), so two workers holding the same job never both send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from app.clock import Clock
from app.store import keys, replies
from app.store.budget import StorageBudget

LEASE_SECONDS = 120  # longer than any single send may take (job timeouts are shorter)

_BEGIN = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'sent' then return 'sent' end
local now = tonumber(ARGV[1])
if state == 'sending' or state == 'maybe' then
  local leased = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
  if leased > now then return 'busy' end   -- another worker is sending it right now
  redis.call('HSET', KEYS[1], 'state', 'sending')
  redis.call('HSET', KEYS[1], 'lease_until', now + tonumber(ARGV[2]))
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  return 'unsure'
end
redis.call('HSET', KEYS[1], 'state', 'sending', 'lease_until', now + tonumber(ARGV[2]),
           'started_at', ARGV[1], 'channel', ARGV[3], 'incident', ARGV[4], 'action', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 'send'
"""

DEFAULT_LEDGER_TTL = StorageBudget().retention_seconds


class Begun(StrEnum):
    """What begin() found (the module docstring says what each asks of the caller)."""

    SEND = "send"
    SENT = "sent"
    UNSURE = "unsure"
    BUSY = "busy"  # another worker holds the lease: retry later


class EntryState(StrEnum):
    """A ledger entry's `state` field, as the Lua above and the methods below write it."""

    SENDING = "sending"
    SENT = "sent"
    MAYBE = "maybe"  # failed without an answer: the vendor may have acted
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    state: EntryState
    attempts: int
    vendor_id: str
    detail: dict[str, Any]


class Ledger:
    def __init__(
        self, connection: redis.Redis, clock: Clock, ttl_seconds: int = DEFAULT_LEDGER_TTL
    ) -> None:
        self._redis = connection
        self._clock = clock
        self._ttl_seconds = ttl_seconds  # KLAXON_RETENTION_DAYS: as long as incident history
        self._begin = connection.register_script(_BEGIN)

    def begin(self, key: str, channel: str, incident_id: str, action: str) -> Begun:
        """send | sent | unsure | busy (see the module docstring)."""
        result = self._begin(
            keys=[keys.ledger(key)],
            args=[
                repr(self._clock.now()),
                LEASE_SECONDS,
                channel,
                incident_id,
                action,
                self._ttl_seconds,
            ],
        )
        return Begun(replies.text(result))

    def complete(
        self,
        key: str,
        vendor_id: str,
        detail: dict[str, Any] | None = None,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Mark the key sent; on `pipeline` to record it in the same transaction as what the
        send changed."""
        (pipeline if pipeline is not None else self._redis).hset(
            keys.ledger(key),
            mapping={
                "state": EntryState.SENT.value,
                "sent_at": repr(self._clock.now()),
                "vendor_id": vendor_id,
                "detail": json.dumps(detail or {}),
                "lease_until": 0,
            },
        )

    def fail(self, key: str, reason: str, *, final: bool = False, maybe_made: bool = False) -> None:
        """A final failure also forgets the first body: the vendor refused it, so nothing of
        it exists to be repeated, and a later try (after a fix) sends what is rendered then.
        A call without an answer (`maybe_made`) may have been acted on: the next attempt is
        told "unsure", as after a crash, and looks before it sends."""
        with self._redis.pipeline() as pipe:
            pipe.hset(
                keys.ledger(key),
                mapping={
                    "state": (EntryState.MAYBE if maybe_made else EntryState.FAILED).value,
                    "failed_at": repr(self._clock.now()),
                    "reason": reason[:500],
                    "lease_until": 0,
                },
            )
            if final:
                pipe.hdel(keys.ledger(key), "body")
            pipe.execute()

    def first_body(self, key: str, body: str) -> str:
        """The body the first attempt of `key` sent (`body`, if this is the first). Messages
        are rendered again on every attempt, with the time of that attempt ("next update by
        09:50"); a retry that sends the first body is a repeat the vendor can recognise (X
        refuses the same text twice) and find (by its text), not a second message."""
        with self._redis.pipeline() as pipe:  # MULTI: keep-if-absent and read back as one
            pipe.hsetnx(keys.ledger(key), "body", body)
            pipe.hget(keys.ledger(key), "body")
            return replies.text(pipe.execute()[1])

    def entry(self, key: str) -> LedgerEntry | None:
        data = replies.text_hash(self._redis.hgetall(keys.ledger(key)))
        if not data:
            return None
        return LedgerEntry(
            state=EntryState(data["state"]),
            attempts=int(data.get("attempts", 0)),
            vendor_id=data.get("vendor_id", ""),
            detail=json.loads(data.get("detail") or "{}"),
        )
