-- declare.lua: the incident's group_wait is over; record that responders are to be told now.
-- Idempotent: returns 'declared' once, then 'already_declared' (or 'resolved' / 'unknown').
-- ARGV: prefix, incident id, now
local P, id, now = ARGV[1], ARGV[2], ARGV[3]
local ikey = P .. ':incident:' .. id
local status = redis.call('HGET', ikey, 'status')
if not status then return 'unknown' end
if redis.call('HGET', ikey, 'declared_at') then return 'already_declared' end
if status == 'resolved' then return 'resolved' end
redis.call('HSET', ikey, 'declared_at', now)
local alerts = redis.call('SCARD', ikey .. ':alerts')
redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', 5000, '*', 'at', now, 'kind', 'declared',
           'text', 'declared to responders: ' .. redis.call('HGET', ikey, 'severity') .. ', ' ..
           alerts .. ' alert(s) gathered during group_wait',
           'data', cjson.encode({alerts = alerts, severity = redis.call('HGET', ikey, 'severity')}))
return 'declared'
