-- declare.lua: the incident's group_wait is over; record that responders are to be told now.
-- Idempotent: returns 'declared' once, then 'already_declared' (or 'resolved' / 'unknown').
-- ARGV: prefix, incident id, now
local P, id, now = ARGV[1], ARGV[2], ARGV[3]
local ikey = P .. ':incident:' .. id
local status = redis.call('HGET', ikey, 'status')
if not status then return 'unknown' end
if redis.call('HGET', ikey, 'declared_at') then return 'already_declared' end
if status == 'resolved' then return 'resolved' end
if redis.call('HGET', ikey, 'held') == '1' then
  -- Opened by a flapping alert: stay quiet while every alert keeps flapping, look again later.
  local calm = false
  local window = tonumber(redis.call('HGET', ikey, 'flap_window') or '0')
  local most = tonumber(redis.call('HGET', ikey, 'flap_max') or '0')
  for _, alert in ipairs(redis.call('SMEMBERS', ikey .. ':alerts')) do
    local changes = redis.call('ZCOUNT', P .. ':alert:' .. alert .. ':changes',
                               tonumber(now) - window, '+inf')
    if changes <= most then calm = true end
  end
  if not calm then
    local hold = tonumber(redis.call('HGET', ikey, 'hold') or '0')
    redis.call('ZADD', P .. ':timers', tonumber(now) + math.max(hold, 60), 'declare:' .. id)
    return 'held'
  end
  redis.call('HSET', ikey, 'held', '0')
end
redis.call('HSET', ikey, 'declared_at', now)
local alerts = redis.call('SCARD', ikey .. ':alerts')
redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', 5000, '*', 'at', now, 'kind', 'declared',
           'text', 'declared to responders: ' .. redis.call('HGET', ikey, 'severity') .. ', ' ..
           alerts .. ' alert(s) gathered during group_wait',
           'data', cjson.encode({alerts = alerts, severity = redis.call('HGET', ikey, 'severity')}))
return 'declared'
