-- wrk script: replay the raw requests written by bench/make_requests.py.
-- Arguments (after `--`): <requests file> <number of wrk threads>.
-- Thread k sends requests k, k+n, k+2n, ... in order, so no request is sent twice until the
-- file runs out (then it starts over and reports `wrapped`). done() prints one JSON line
-- starting with "RESULT " for bench/receiver.py.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  pool, sent, statuses = {}, 0, {}
  local file = assert(io.open(args[1], "rb"))
  local index = 0
  for header in file:lines() do
    local size = tonumber(header)
    if index % nthreads == id then
      table.insert(pool, file:read(size))
    else
      file:seek("cur", size)
    end
    index = index + 1
  end
  file:close()
end

function request()
  sent = sent + 1
  return pool[(sent - 1) % #pool + 1]
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent_by_thread, counts = {}, {}
  for _, thread in ipairs(threads) do
    table.insert(sent_by_thread, thread:get("sent"))
    for status, n in pairs(thread:get("statuses")) do
      table.insert(counts, string.format("[%d, %d]", status, n))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"duration_us": %d, "responses": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "sent_by_thread": [%s], "statuses": [%s]}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout,
    table.concat(sent_by_thread, ", "), table.concat(counts, ", ")))
end
