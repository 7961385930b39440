-- upgrade_alert.lua: bring one alert written before the storage budget (issue 12) into it.
-- Its `alert:<id>:events` stream kept every delivery with its raw body (up to 200 of them);
-- now an alert keeps its last state changes as a compact list (`:history`) and one raw body,
-- cut to KLAXON_RAW_SAMPLE_BYTES, on its hash. Idempotent: the stream is gone afterwards, so
-- a second call (another worker dyno, a retry) finds nothing to do.
-- ARGV: prefix, alert id, KLAXON_ALERT_EVENTS_MAX, KLAXON_RAW_SAMPLE_BYTES.
-- Returns 'upgraded' or 'gone'.
local P, id = ARGV[1], ARGV[2]
local max_events, sample_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local akey = P .. ':alert:' .. id
local stream = akey .. ':events'
if redis.call('TYPE', stream).ok ~= 'stream' then return 'gone' end
local function opened(f)  -- the delivery that opened an episode
  return f.lifecycle == 'trigger' and
         (f.outcome == 'new' or f.outcome == 'grouped' or f.outcome == 'suppressed')
end
-- Newest first, a page at a time, so only a page of raw bodies is held at once: the stream
-- held up to ~300 deliveries (MAXLEN ~ 200), mostly duplicates; the history keeps the last
-- `max_events` state changes, the sample is the newest delivery that opened an episode.
local changes, sample, before = {}, nil, '+'
repeat
  local page = redis.call('XREVRANGE', stream, before, '-', 'COUNT', 20)
  for _, entry in ipairs(page) do
    local f = {}
    for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
    if f.outcome ~= 'duplicate' and f.outcome ~= 'ignored' and #changes < max_events then
      table.insert(changes, cjson.encode({at = tonumber(f.at), lifecycle = f.lifecycle,
                                          outcome = f.outcome, raw_bytes = #(f.raw or '')}))
    end
    if f.raw and (sample == nil or (not sample.opened and opened(f))) then
      sample = {raw = string.sub(f.raw, 1, sample_bytes), bytes = #f.raw, opened = opened(f)}
    end
    before = '(' .. entry[1]
  end
until #page < 20 or (sample and sample.opened and #changes >= max_events)
-- Free the stream first: on a full Redis a script's first write may not grow memory, and
-- every write after a first one is let through.
redis.call('DEL', stream)
if redis.call('EXISTS', akey) == 0 then return 'upgraded' end  -- the alert itself is gone
for _, change in ipairs(changes) do  -- newest first onto the head: oldest first, before any
  redis.call('LPUSH', akey .. ':history', change)  -- entries the new version already wrote
end
redis.call('LTRIM', akey .. ':history', -max_events, -1)
if sample and redis.call('HEXISTS', akey, 'raw') == 0 then
  redis.call('HSET', akey, 'raw', sample.raw, 'raw_bytes', sample.bytes)
end
return 'upgraded'
