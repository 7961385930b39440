-- purge_alert.lua: remove one alert silent for the retention whose incident is gone, with
-- its history (and the event stream of older versions) and flap record. Idempotent. An alert seen since is moved to when it was
-- last seen, one whose incident is still kept to now: the sweep looks again later.
-- ARGV: prefix, alert id, cutoff, now. Returns 'purged', 'kept' or 'gone'.
local P, id, cutoff, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local akey = P .. ':alert:' .. id
local h = redis.call('HMGET', akey, 'last_seen', 'incident')
if not h[1] then
  redis.call('ZREM', P .. ':alerts', id)
  redis.call('DEL', akey, akey .. ':history', akey .. ':events', akey .. ':changes')
  return 'gone'
end
local last_seen = tonumber(h[1]) or 0
if last_seen > cutoff then
  redis.call('ZADD', P .. ':alerts', last_seen, id)
  return 'kept'
end
local incident = h[2]
if incident and incident ~= '' then
  local i = redis.call('HMGET', P .. ':incident:' .. incident, 'status', 'resolved_at')
  if i[1] then  -- its incident shows it until that is purged: look again when that is due
    local due = now
    if i[1] == 'resolved' then
      local at = tonumber(i[2]) or now
      -- resolved before resolve.lua kept this index: the incident sweep learns of it here
      redis.call('ZADD', P .. ':incidents:resolved', 'NX', at, incident)
      due = math.max(at, cutoff + 60)  -- never due again at once: the batch moves on
    end
    redis.call('ZADD', P .. ':alerts', due, id)
    return 'kept'
  end
end
redis.call('DEL', akey, akey .. ':history', akey .. ':events', akey .. ':changes')
redis.call('ZREM', P .. ':alerts', id)
return 'purged'
