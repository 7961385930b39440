-- lifecycle.lua: a person acts on an incident: acknowledge, post a status update (which may
-- move its status and raise its severity), or take command. One script so the incident hash,
-- its timers and its timeline always agree.
-- ARGV[1] = JSON {prefix, now, id, action: ack|update|commander|severity|role, by, status, message,
--                 severity, max_timeline (KLAXON_TIMELINE_MAX)}
-- Returns JSON {result, incident status, severity, commander, changed: [fields]}
local a = cjson.decode(ARGV[1])
local P, id, now = a.prefix, a.id, tonumber(a.now)
local ikey = P .. ':incident:' .. id
local function timeline(kind, text, data)
  redis.call('XADD', ikey .. ':timeline', 'MAXLEN', '~', a.max_timeline, '*', 'at', a.now, 'kind', kind,
             'text', text, 'data', cjson.encode(data or {}))
end
local function reply(result, changed)
  local h = redis.call('HMGET', ikey, 'status', 'severity', 'commander')
  return cjson.encode({result = result, status = h[1] or '', severity = h[2] or '',
                       commander = h[3] or '', changed = changed or {}})
end

local status = redis.call('HGET', ikey, 'status')
if not status then return reply('unknown') end
local postmortem = a.action == 'remind' and a.kind == 'postmortem'  -- chases after the end
if status == 'resolved' and a.action ~= 'update' and not postmortem then return reply('resolved') end

if a.action == 'commander' then
  redis.call('HSET', ikey, 'commander', a.by, 'updated_at', a.now)
  timeline('commander', a.by .. ' is incident commander', {by = a.by, assigned_by = a.assigned_by})
  return reply('commander', {'commander'})
end

if a.action == 'role' then
  -- A named role beside the commander (tech_lead, comms_lead: the caller checks the name).
  if redis.call('HGET', ikey, a.role) == a.by then return reply('unchanged') end
  redis.call('HSET', ikey, a.role, a.by, 'updated_at', a.now)
  timeline('role', a.by .. ' is ' .. a.role_words, {by = a.by, role = a.role,
           assigned_by = a.assigned_by})
  return reply('role', {a.role})
end

if a.action == 'severity' then
  -- A change of severity on its own (no status update): timeline, and the caller notifies.
  local current = redis.call('HGET', ikey, 'severity')
  if a.severity == current then return reply('unchanged') end
  redis.call('HSET', ikey, 'severity', a.severity, 'updated_at', a.now)
  timeline('severity_changed', 'severity ' .. current .. ' -> ' .. a.severity .. ' by ' .. a.by,
           {from = current, to = a.severity, by = a.by})
  return reply('severity', {'severity'})
end

if a.action == 'escalate' then
  -- Idempotent by level: a second ticker, or a retry, finds the level already reached.
  if redis.call('HGET', ikey, 'acknowledged_at') then return reply('already_acknowledged') end
  if tonumber(redis.call('HGET', ikey, 'escalation_level') or '0') >= tonumber(a.level) then
    return reply('already_escalated')
  end
  redis.call('HSET', ikey, 'escalation_level', a.level, 'updated_at', a.now)
  timeline('escalated', 'not acknowledged after ' .. a.waited .. '; escalated to ' .. a.targets ..
           ' (level ' .. a.level .. ')', {level = a.level, targets = a.targets})
  return reply('escalated', {'escalation'})
end

if a.action == 'remind' then
  -- Idempotent by the reminder's due time.
  if redis.call('HGET', ikey, 'last_reminder_seq') == a.seq then return reply('already_reminded') end
  redis.call('HSET', ikey, 'last_reminder_seq', a.seq)
  timeline('reminder', a.message, {kind = a.kind, to = a.by})
  return reply('reminded', {'reminder'})
end

if a.action == 'ack' then
  if redis.call('HGET', ikey, 'acknowledged_at') then return reply('already_acknowledged') end
  local changed = {'acknowledged'}
  redis.call('HSET', ikey, 'acknowledged_at', a.now, 'acknowledged_by', a.by, 'updated_at', a.now)
  -- The first responder to acknowledge leads, unless someone was assigned.
  if (redis.call('HGET', ikey, 'commander') or '') == '' then
    redis.call('HSET', ikey, 'commander', a.by)
    table.insert(changed, 'commander')
  end
  redis.call('ZREM', P .. ':timers', 'escalate:' .. id)
  timeline('acknowledged', 'acknowledged by ' .. a.by .. (a.via and (' via ' .. a.via) or ''),
           {by = a.by, via = a.via})
  return reply('acknowledged', changed)
end

-- a status update
if status == 'resolved' then return reply('resolved') end
local changed = {'update'}
redis.call('HSET', ikey, 'last_update_at', a.now, 'updated_at', a.now, 'update_count',
           (tonumber(redis.call('HGET', ikey, 'update_count') or '0') + 1))
-- A 'resolved' update is closed by resolve.lua, the one place incidents close.
if a.status ~= status and a.status ~= 'resolved' then
  redis.call('HSET', ikey, 'status', a.status)
  table.insert(changed, 'status')
end
if a.severity and a.severity ~= '' then
  local current = redis.call('HGET', ikey, 'severity')
  if a.severity ~= current then
    redis.call('HSET', ikey, 'severity', a.severity)
    timeline('severity_changed', 'severity ' .. current .. ' -> ' .. a.severity .. ' by ' .. a.by,
             {from = current, to = a.severity, by = a.by})
    table.insert(changed, 'severity')
  end
end
timeline('status_update', a.status .. ': ' .. a.message, {status = a.status, message = a.message,
         by = a.by})
return reply('updated', changed)
