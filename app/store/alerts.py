"""AlertStore: records one alert event atomically and says what it meant.

One Lua script does the whole write, so two web processes racing on the same delivery or the
same alert identity can never both see "new", and a 2xx is only ever sent after the alert and
its raw body are in Redis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from app.clock import Clock
from app.errors import StorageUnavailable
from app.models import Alert, AlertStatus, Outcome
from app.store import keys

# Outcomes for an event about an alert, by (lifecycle, current status). Kept in Lua so the
# read-decide-write is one atomic step; the table is mirrored in docs/sources.md.
_RECORD_EVENT = """
local delivery_key, alert_key, events_key, index_key, log_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local alert_id, lifecycle, now, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local alert_json, raw_body, source, identity, title = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local max_events, max_log = tonumber(ARGV[10]), tonumber(ARGV[11])

if not redis.call('SET', delivery_key, alert_id, 'NX', 'EX', ttl) then
  local st = redis.call('HGET', alert_key, 'status') or ''
  return {'duplicate', st, redis.call('HGET', alert_key, 'count') or '0', 'redelivery'}
end

local status = redis.call('HGET', alert_key, 'status')
local outcome, reason, new_status = 'updated', '', status

if lifecycle == 'trigger' then
  if (not status) or status == 'resolved' then
    outcome, new_status = 'new', 'firing'
    redis.call('HSET', alert_key, 'id', alert_id, 'source', source, 'identity', identity,
               'first_seen', now, 'count', 0, 'resolved_at', '')
    redis.call('HINCRBY', alert_key, 'episode', 1)
  else
    outcome, reason = 'duplicate', 'alert already ' .. status
  end
  redis.call('HINCRBY', alert_key, 'count', 1)
  redis.call('HSET', alert_key, 'title', title, 'alert', alert_json)
elseif not status then
  outcome, reason = 'ignored', 'no alert is known for this ' .. source .. ' identity'
elseif status == 'resolved' and lifecycle ~= 'note' then
  outcome, reason = 'duplicate', 'alert already resolved'
elseif lifecycle == 'resolve' then
  outcome, new_status = 'resolved', 'resolved'
  redis.call('HSET', alert_key, 'resolved_at', now)
elseif lifecycle == 'acknowledge' then
  new_status = 'acknowledged'
elseif lifecycle == 'unacknowledge' then
  new_status = 'firing'
end

if new_status then
  redis.call('HSET', alert_key, 'status', new_status, 'last_seen', now, 'last_lifecycle', lifecycle)
  redis.call('ZADD', index_key, now, alert_id)
end
redis.call('XADD', events_key, 'MAXLEN', '~', max_events, '*', 'lifecycle', lifecycle,
           'outcome', outcome, 'at', now, 'alert', alert_json, 'raw', raw_body)
redis.call('XADD', log_key, 'MAXLEN', '~', max_log, '*', 'alert_id', alert_id, 'outcome', outcome,
           'at', now, 'alert', alert_json)
return {outcome, new_status or '', redis.call('HGET', alert_key, 'count') or '0', reason}
"""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What storing one alert event meant."""

    alert_id: str
    outcome: Outcome
    status: AlertStatus | None
    count: int
    reason: str = ""


class AlertStore:
    def __init__(self, connection: redis.Redis, clock: Clock, delivery_ttl_seconds: int) -> None:
        self._redis = connection
        self._clock = clock
        self._delivery_ttl = delivery_ttl_seconds
        self._record = connection.register_script(_RECORD_EVENT)

    def record(self, alert: Alert, raw_body: bytes) -> Recorded:
        """Store the event and its raw body; raises StorageUnavailable if Redis is not there."""
        alert_id = keys.alert_id(alert.source, alert.identity)
        try:
            outcome, status, count, reason = self._record(
                keys=[keys.delivery(alert.source, alert.delivery_id), keys.alert(alert_id),
                      keys.alert_events(alert_id), keys.alerts_index(), keys.webhook_log()],
                args=[alert_id, alert.lifecycle.value, repr(self._clock.now()),
                      self._delivery_ttl, alert.to_json(), raw_body, alert.source.value,
                      alert.identity, alert.title, keys.ALERT_EVENTS_MAX_ENTRIES,
                      keys.WEBHOOK_LOG_MAX_ENTRIES])
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StorageUnavailable("Redis is unreachable") from exc
        return Recorded(alert_id=alert_id, outcome=Outcome(_text(outcome)),
                        status=AlertStatus(_text(status)) if status else None,
                        count=int(count), reason=_text(reason))

    def get(self, alert_id: str) -> dict[str, Any] | None:
        data = self._redis.hgetall(keys.alert(alert_id))
        if not data:
            return None
        alert = {_text(k): _text(v) for k, v in data.items()}
        alert["alert"] = json.loads(alert.get("alert") or "null")
        alert["count"] = int(alert.get("count") or 0)
        return alert

    def events(self, alert_id: str) -> list[dict[str, str]]:
        return [{_text(k): _text(v) for k, v in fields.items()}
                for _, fields in self._redis.xrange(keys.alert_events(alert_id))]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
