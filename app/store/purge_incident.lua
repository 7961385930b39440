-- purge_incident.lua: remove one resolved incident past the retention, and every key it owns.
-- Idempotent (two worker dynos may sweep together); an incident that is not resolved, or was
-- resolved after the cutoff, is left alone: open incidents are never removed.
-- ARGV: prefix, incident id, cutoff (epoch seconds of the Klaxon clock)
-- Returns 'purged', 'kept' or 'gone'.
local P, id, cutoff = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ikey = P .. ':incident:' .. id
local h = redis.call('HMGET', ikey, 'status', 'resolved_at')
if not h[1] then
  redis.call('ZREM', P .. ':incidents:resolved', id)
  redis.call('ZREM', P .. ':incidents', id)
  return 'gone'
end
if h[1] ~= 'resolved' then
  redis.call('ZREM', P .. ':incidents:resolved', id)  -- back in the open index's care
  return 'kept'
end
if tonumber(h[2] or '0') > cutoff then
  redis.call('ZADD', P .. ':incidents:resolved', tonumber(h[2]), id)
  return 'kept'
end
-- Alerts still pointing here (a firing alert of an incident resolved by hand) forget it, so a
-- repeat counts nowhere instead of re-creating the incident's hash; the alert sweep removes
-- them once they are silent for the retention too.
for _, set in ipairs({ikey .. ':alerts', ikey .. ':suppressed'}) do
  for _, alert in ipairs(redis.call('SMEMBERS', set)) do
    local akey = P .. ':alert:' .. alert
    if redis.call('HGET', akey, 'incident') == id then redis.call('HSET', akey, 'incident', '') end
  end
end
redis.call('DEL', ikey, ikey .. ':alerts', ikey .. ':suppressed', ikey .. ':timeline',
           ikey .. ':inhibits', ikey .. ':last-job', ikey .. ':last-public-job',
           ikey .. ':changes', ikey .. ':change-services')
redis.call('ZREM', P .. ':incidents', id)
redis.call('ZREM', P .. ':incidents:open', id)
redis.call('ZREM', P .. ':incidents:resolved', id)
redis.call('ZREM', P .. ':timers', 'declare:' .. id, 'escalate:' .. id, 'remind:' .. id,
           'postmortem:' .. id, 'resolve:' .. id)
return 'purged'
