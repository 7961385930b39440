-- declare.lua: the incident's group_wait is over; record that responders are to be told now.
-- Idempotent: returns 'declared' once, then 'already_declared' (or 'resolved' / 'unknown'),
-- or 'held' (flapping) / 'quiet' (every alert already resolved) with a later look scheduled.
-- ARGV: prefix, incident id, now, the timeline's cap (KLAXON_TIMELINE_MAX)
local P, id, now, max_timeline = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
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
-- Quiet when it's over: every alert resolved during group_wait, so nobody is paged and no
-- public incident opens (unless the route set declare_resolved). The incident stays open
-- for its quiet period: an alert that fires again joins it, and this timer, looking again
-- every group_wait, then declares it; otherwise the quiet period resolves it.
if tonumber(redis.call('HGET', ikey, 'open_alerts') or '1') <= 0 and
   redis.call('HGET', ikey, 'declare_resolved') ~= '1' then
  if redis.call('HSETNX', ikey, 'resolved_before_declared', now) == 1 then
    local gathered = redis.call('SCARD', ikey .. ':alerts')
    redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', max_timeline, '*', 'at', now,
               'kind', 'resolved_before_declared',
               'text', 'resolved before declared: all ' .. gathered ..
                       ' alert(s) resolved during group_wait; nobody paged',
               'data', cjson.encode({alerts = gathered}))
  end
  -- Nobody was told of it, so it mutes nobody's alerts (an alert firing again re-registers).
  for _, key in ipairs(redis.call('SMEMBERS', ikey .. ':inhibits')) do
    if redis.call('GET', P .. ':inhibit:' .. key) == id then
      redis.call('DEL', P .. ':inhibit:' .. key)
    end
  end
  local wait = tonumber(redis.call('HGET', ikey, 'notify_after') or now) -
               tonumber(redis.call('HGET', ikey, 'created_at') or now)
  redis.call('ZADD', P .. ':timers', tonumber(now) + math.max(wait, 15), 'declare:' .. id)
  return 'quiet'
end
redis.call('HSET', ikey, 'declared_at', now)
local alerts = redis.call('SCARD', ikey .. ':alerts')
redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', max_timeline, '*', 'at', now, 'kind', 'declared',
           'text', 'declared to responders: ' .. redis.call('HGET', ikey, 'severity') .. ', ' ..
           alerts .. ' alert(s) gathered during group_wait',
           'data', cjson.encode({alerts = alerts, severity = redis.call('HGET', ikey, 'severity')}))
return 'declared'
