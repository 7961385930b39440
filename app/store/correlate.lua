-- correlate.lua: record one alert event and fold it into an incident, atomically.
--
-- One script, one round trip, so two web processes racing on the same delivery, alert or
-- group key can never both open an incident or double-count. Everything the rules decided
-- (pure, in Python) arrives as a JSON `decision` (app/store/incidents.py StoreDecision, as
-- `_event_args` writes it); this script only applies it to state.
--
-- KEYS: none are passed; every key is derived from the prefix below (single-node Redis, as on
-- Heroku). ARGV[1] = event JSON (see app/store/incidents.py `_event_args`), ARGV[2] = the
-- normalised alert as JSON, ARGV[3] = the raw request body cut to KLAXON_RAW_SAMPLE_BYTES
-- (kept on the alert when the delivery opens an episode):
-- passed as they are, not inside the event JSON, so neither is escaped twice.
-- Returns a JSON object: outcome, alert, incident, reason, alert_status, notify.

local e = cjson.decode(ARGV[1])
local alert_json, raw = ARGV[2], ARGV[3]
local P = e.prefix
local now = tonumber(e.now)

local function k(...) return P .. ':' .. table.concat({...}, ':') end
local alert_key = k('alert', e.alert_id)

local function timeline(incident, kind, text, data)
  redis.call('XADD', k('incident', incident, 'timeline'), 'MAXLEN', '~', e.max_timeline, '*',
             'at', e.now, 'kind', kind, 'text', text, 'data', cjson.encode(data or {}))
end

-- What a state change leaves behind (a duplicate leaves nothing but counters): a short entry
-- on the alert's capped history and a compact line in the capped webhook log. The normalised
-- alert and one raw body (of the delivery that opened the episode, cut to a byte cap in
-- Python) live once, on the alert. The history is a list, not a stream: a stream preallocates
-- a 4 KB node, more than 20 entries of this list take.
local function log_event(outcome, incident)
  if outcome ~= 'ignored' then
    local history = k('alert', e.alert_id, 'history')
    redis.call('RPUSH', history, cjson.encode({at = now, lifecycle = e.lifecycle,
                                               outcome = outcome, raw_bytes = e.raw_bytes}))
    redis.call('LTRIM', history, -e.max_alert_events, -1)
  end
  redis.call('XADD', k('webhooks'), 'MAXLEN', '~', e.max_log, '*', 'alert_id', e.alert_id,
             'lifecycle', e.lifecycle, 'outcome', outcome, 'incident', incident or '',
             'at', e.now, 'rule', e.decision.rule, 'severity', e.decision.severity)
end

local function answer(outcome, incident, reason, notify)
  if outcome ~= 'duplicate' then log_event(outcome, incident) end
  -- The alert's last event time (the sender's own, when it orders events): see step 0.
  if e.ordered_at ~= '' and redis.call('HEXISTS', alert_key, 'status') == 1 then
    redis.call('HSET', alert_key, 'last_event_at', e.ordered_at)
  end
  return cjson.encode({outcome = outcome, alert = e.alert_id, incident = incident or false,
                       reason = reason or '', notify = notify or '',
                       alert_status = redis.call('HGET', alert_key, 'status') or ''})
end

-- 0. An event older than the alert's last one, by the sender's own time (signed where the
-- source signs): a replayed or overtaken event, e.g. a trigger sent again after its resolve
-- with a fresh delivery id. Nothing changes; equal times are repeats and go on to step 1.
if e.ordered_at ~= '' then
  local last = tonumber(redis.call('HGET', alert_key, 'last_event_at') or '')
  if last and tonumber(e.ordered_at) < last then
    return cjson.encode({outcome = 'duplicate', alert = e.alert_id,
                         incident = redis.call('HGET', alert_key, 'incident') or false,
                         reason = 'out of order: older than the last event of this alert',
                         notify = '', alert_status = redis.call('HGET', alert_key, 'status') or ''})
  end
end

-- 1. The same delivery again: nothing changes. A delivery is remembered as a 64-bit integer
-- in the set of its time bucket and shard (keys.py, deliveries): small sets of integers are
-- Redis intsets, 8 bytes a member. Every bucket the TTL reaches back to is looked in.
local seen = false
for _, bucket in ipairs(e.delivery_buckets) do
  if redis.call('SISMEMBER', k('deliveries', bucket, e.delivery_shard), e.delivery_member) == 1 then
    seen = true
    break
  end
end
if seen then
  return cjson.encode({outcome = 'duplicate', alert = e.alert_id,
                       incident = redis.call('HGET', alert_key, 'incident') or false,
                       reason = 'redelivery', notify = '',
                       alert_status = redis.call('HGET', alert_key, 'status') or ''})
end
local remembered = k('deliveries', e.delivery_buckets[1], e.delivery_shard)
redis.call('SADD', remembered, e.delivery_member)
redis.call('EXPIRE', remembered, e.delivery_expires_in)  -- relative: Redis keeps real time

local d = e.decision
local status = redis.call('HGET', alert_key, 'status')
local incident = redis.call('HGET', alert_key, 'incident')
-- '' = none (a suppressed alert): never a key name, or a repeat would create `incident:`.
if incident == false or incident == '' then incident = nil end

local function incident_open(id)
  if not id then return false end
  local st = redis.call('HGET', k('incident', id), 'status')
  return st and st ~= 'resolved'
end

-- 2. Flapping: count this alert's state changes inside the window.
local function record_state_change()
  -- Returns the number of state changes in the window when the alert is flapping, else nil.
  if not d.flapping then return nil end
  local key = k('alert', e.alert_id, 'changes')
  redis.call('ZADD', key, now, e.now .. ':' .. e.delivery_hash)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - d.flapping.window)
  redis.call('EXPIRE', key, math.ceil(d.flapping.window) + 60)
  local changes = redis.call('ZCARD', key)
  if changes > d.flapping.max_changes then
    redis.call('HSET', alert_key, 'flapping', '1')
    return changes
  end
  redis.call('HSET', alert_key, 'flapping', '0')  -- calm again: its notifications flow
  return nil
end

local function note_flapping(id, changes)
  timeline(id, 'flapping', 'alert ' .. e.alert_id .. ' is flapping: ' .. changes ..
           ' state changes in ' .. d.flapping.window .. ' s; notifications held',
           {alert = e.alert_id, changes = changes, hold = d.flapping.hold})
end

local function raise_severity(id)
  local ikey = k('incident', id)
  local current = tonumber(string.sub(redis.call('HGET', ikey, 'severity') or 'SEV4', 4))
  local wanted = tonumber(string.sub(d.severity, 4))
  if wanted < current then
    redis.call('HSET', ikey, 'severity', d.severity, 'updated_at', e.now)
    timeline(id, 'severity_raised', 'severity raised from SEV' .. current .. ' to ' .. d.severity ..
             ' by ' .. e.alert_id .. ' (rule ' .. d.rule .. ')',
             {from = 'SEV' .. current, to = d.severity, alert = e.alert_id, rule = d.rule})
    return true
  end
  return false
end

local function attach(id, how)
  local ikey = k('incident', id)
  redis.call('SADD', k('incident', id, 'alerts'), e.alert_id)
  redis.call('HINCRBY', ikey, 'open_alerts', 1)
  redis.call('HSET', ikey, 'last_alert_at', e.now, 'updated_at', e.now)
  redis.call('HSET', alert_key, 'incident', id)
  redis.call('ZREM', k('timers'), 'resolve:' .. id)  -- a new alert cancels a pending quiet-period resolve
  timeline(id, how, e.title_line, {alert = e.alert_id, source = e.source, rule = d.rule,
           rule_location = d.rule_location, rules_version = d.rules_version, reason = d.reason,
           severity = d.severity})
end

local function open_incident()
  local seq = redis.call('INCR', k('incident-seq', e.year))
  local id = 'INC-' .. e.year .. '-' .. string.format('%04d', seq)
  local ikey = k('incident', id)
  redis.call('HSET', ikey, 'id', id, 'status', 'investigating', 'severity', d.severity,
             'team', d.team or '', 'title', e.title, 'group_key', d.group_key,
             'group_key_hash', d.group_hash, 'created_at', e.now,
             'updated_at', e.now, 'last_alert_at', e.now, 'open_alerts', 0, 'duplicates', 0,
             'rule', d.rule, 'rule_location', d.rule_location, 'rules_version', d.rules_version,
             'service', e.service, 'environment', e.environment,
             'quiet_period', d.quiet_period or 0, 'notify_after', now + (d.group_wait or 0),
             'declare_resolved', d.declare_resolved and '1' or '0')
  redis.call('ZADD', k('incidents'), now, id)
  redis.call('ZADD', k('incidents', 'open'), now, id)
  if d.group_key ~= '' then
    redis.call('SET', k('group', d.group_hash), id, 'EX', math.max(60, math.ceil(d.group_window)))
  end
  -- group_wait: responders hear about it once the burst had time to gather (timers.py).
  redis.call('ZADD', k('timers'), now + (d.group_wait or 0), 'declare:' .. id)
  timeline(id, 'opened', 'incident opened by ' .. e.alert_id .. ': ' .. d.reason,
           {alert = e.alert_id, severity = d.severity, team = d.team, rule = d.rule,
            group_wait = d.group_wait})
  return id
end

-- Maintenance mode (`klaxon maintenance on`): every alert, or those of the named services,
-- is recorded as suppressed until it ends.
local function maintenance_reason()
  local m = redis.call('HMGET', k('maintenance'), 'until', 'services', 'reason')
  if not m[2] then return nil end
  if m[1] ~= '' and tonumber(m[1]) <= now then return nil end
  local services = cjson.decode(m[2])
  if #services > 0 then
    local hit = false
    for _, name in ipairs(services) do if name == e.service then hit = true end end
    if not hit then return nil end
  end
  return 'maintenance: ' .. m[3]
end

local function register_inhibitors(id)
  for _, key in ipairs(d.provides_inhibit or {}) do
    redis.call('SET', k('inhibit', key), id)
    redis.call('SADD', k('incident', id, 'inhibits'), key)
  end
end

local function inhibiting_incident()
  for _, key in ipairs(d.inhibited_by or {}) do
    local id = redis.call('GET', k('inhibit', key))
    if id and incident_open(id) then return id end
  end
  return nil
end

-- 3. What the event does to the alert.
if e.lifecycle == 'trigger' then
  if (not status) or status == 'resolved' then
    redis.call('HSET', alert_key, 'id', e.alert_id, 'source', e.source, 'identity', e.identity,
               'first_seen', e.now, 'count', 1, 'resolved_at', '', 'status', 'firing',
               'title', e.title, 'alert', alert_json, 'raw', raw, 'raw_bytes', e.raw_bytes,
               'source_severity', e.source_severity,
               'severity', d.severity, 'team', d.team or '', 'last_seen', e.now,
               'suppressed', '', 'incident', '', 'rule', d.rule, 'rule_location', d.rule_location,
               'rules_version', d.rules_version, 'reason', d.reason)
    redis.call('HINCRBY', alert_key, 'episode', 1)
    redis.call('ZADD', k('alerts'), now, e.alert_id)
    incident = nil
    local flapping = record_state_change()
    local why = (d.suppressed ~= '' and d.suppressed) or maintenance_reason()
    if why then
      redis.call('HSET', alert_key, 'suppressed', why)
      return answer('suppressed', nil, why)
    end
    local inhibitor = inhibiting_incident()
    if inhibitor then
      local why = 'inhibited by ' .. inhibitor .. ' (' .. d.severity .. ' while it is open)'
      redis.call('HSET', alert_key, 'suppressed', why, 'incident', inhibitor)
      redis.call('SADD', k('incident', inhibitor, 'suppressed'), e.alert_id)
      timeline(inhibitor, 'suppressed', e.alert_id .. ' suppressed: ' .. why,
               {alert = e.alert_id, severity = d.severity, rule = d.rule})
      return answer('suppressed', inhibitor, why)
    end
    local existing = nil
    if d.group_key ~= '' then existing = redis.call('GET', k('group', d.group_hash)) end
    if existing and incident_open(existing) and
       now - tonumber(redis.call('HGET', k('incident', existing), 'last_alert_at')) <= d.group_window then
      attach(existing, 'alert_grouped')
      register_inhibitors(existing)
      redis.call('EXPIRE', k('group', d.group_hash), math.max(60, math.ceil(d.group_window)))
      if flapping then note_flapping(existing, flapping) end
      local raised = raise_severity(existing)
      return answer('grouped', existing, d.reason, (raised and not flapping) and 'severity_raised' or '')
    end
    local id = open_incident()
    attach(id, 'alert_received')
    register_inhibitors(id)
    if flapping then
      -- declare.lua holds the declaration while every alert of the incident keeps flapping.
      redis.call('HSET', k('incident', id), 'held', '1', 'hold', d.flapping.hold,
                 'flap_window', d.flapping.window, 'flap_max', d.flapping.max_changes)
      note_flapping(id, flapping)
      return answer('new', id, d.reason, 'held')
    end
    return answer('new', id, d.reason, 'declare')
  end
  -- A repeat of an open alert: counted, not re-notified, unless its severity moved.
  redis.call('HINCRBY', alert_key, 'count', 1)
  redis.call('HSET', alert_key, 'last_seen', e.now)
  if incident then redis.call('HINCRBY', k('incident', incident), 'duplicates', 1) end
  local old = redis.call('HGET', alert_key, 'source_severity') or ''
  if e.source_severity ~= '' and e.source_severity ~= old then
    redis.call('HSET', alert_key, 'source_severity', e.source_severity, 'severity', d.severity)
    local raised = false
    if incident_open(incident) then
      timeline(incident, 'alert_updated', e.alert_id .. ' source severity ' .. old .. ' -> ' ..
               e.source_severity, {alert = e.alert_id, from = old, to = e.source_severity})
      raised = raise_severity(incident)
    end
    return answer('updated', incident, 'source severity changed from ' .. old .. ' to ' ..
                  e.source_severity, raised and 'severity_raised' or '')
  end
  return answer('duplicate', incident, 'alert already ' .. status)
end

if not status then
  return answer('ignored', nil, 'no alert is known for this ' .. e.source .. ' identity')
end
if status == 'resolved' and e.lifecycle ~= 'note' then
  return answer('duplicate', incident, 'alert already resolved')
end

local new_status = status
if e.lifecycle == 'resolve' then new_status = 'resolved'
elseif e.lifecycle == 'acknowledge' then new_status = 'acknowledged'
elseif e.lifecycle == 'unacknowledge' then new_status = 'firing' end
redis.call('HSET', alert_key, 'status', new_status, 'last_seen', e.now, 'last_lifecycle', e.lifecycle)
if new_status ~= status then record_state_change() end

if e.lifecycle ~= 'resolve' then
  if incident_open(incident) then
    timeline(incident, 'alert_' .. e.lifecycle, e.title_line, {alert = e.alert_id, actor = e.actor,
             event = e.event_type})
  end
  return answer('updated', incident, '')
end

redis.call('HSET', alert_key, 'resolved_at', e.now)
if incident_open(incident) and redis.call('HGET', alert_key, 'suppressed') == '' then
  local ikey = k('incident', incident)
  local open_alerts = redis.call('HINCRBY', ikey, 'open_alerts', -1)
  timeline(incident, 'alert_resolved', e.title_line, {alert = e.alert_id, open_alerts = open_alerts})
  if open_alerts <= 0 then
    local quiet = tonumber(redis.call('HGET', ikey, 'quiet_period') or 0)
    redis.call('ZADD', k('timers'), now + quiet, 'resolve:' .. incident)
    timeline(incident, 'all_alerts_resolved', 'all alerts resolved; incident resolves after ' ..
             quiet .. ' s without a new alert', {quiet_period = quiet})
  end
end
return answer('resolved', incident, '')
