-- resolve.lua: resolve an incident whose quiet period has passed with every alert resolved.
-- Idempotent: a second call (a second ticker, a retry) finds it resolved and does nothing.
-- ARGV: prefix, incident id, now, who ('quiet period' or a person), force ('1' = by hand),
-- the timeline's cap (KLAXON_TIMELINE_MAX)
local P, id, now, who, force = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_timeline = tonumber(ARGV[6])
local ikey = P .. ':incident:' .. id
local status = redis.call('HGET', ikey, 'status')
if not status then return 'unknown' end
-- A resolved incident escalates and chases updates no more (the post-mortem timer stays), and
-- one never declared (every alert resolved during group_wait) is not declared now.
local function stop_timers()
  redis.call('ZREM', P .. ':timers', 'resolve:' .. id, 'escalate:' .. id, 'remind:' .. id,
             'declare:' .. id)
end
if status == 'resolved' then stop_timers() return 'already_resolved' end
if force ~= '1' and tonumber(redis.call('HGET', ikey, 'open_alerts') or '0') > 0 then
  stop_timers()
  return 'alerts_open'
end
-- HSET first: a full Redis (maxmemory) refuses a script's first write that may grow memory,
-- and lets the rest through once one write was made. A ZREM first would have resolved the
-- incident while the notification that follows could not be enqueued (a 503, and the retry
-- found it already resolved: responders never told).
redis.call('HSET', ikey, 'status', 'resolved', 'resolved_at', now, 'updated_at', now)
stop_timers()
redis.call('ZREM', P .. ':incidents:open', id)
redis.call('ZADD', P .. ':incidents:resolved', tonumber(now), id)  -- the retention sweeper's list
for _, key in ipairs(redis.call('SMEMBERS', ikey .. ':inhibits')) do
  if redis.call('GET', P .. ':inhibit:' .. key) == id then redis.call('DEL', P .. ':inhibit:' .. key) end
end
local group = redis.call('HGET', ikey, 'group_key_hash')
if group and redis.call('GET', P .. ':group:' .. group) == id then
  redis.call('DEL', P .. ':group:' .. group)
end
redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', max_timeline, '*', 'at', now, 'kind', 'resolved',
           'text', 'incident resolved (' .. who .. ')', 'data', cjson.encode({by = who}))
return 'resolved'
