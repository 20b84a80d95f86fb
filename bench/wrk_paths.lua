-- wrk script: GET request paths from a file (one per line, e.g.
-- /fhir/Observation/<id> for reads by id, or search URLs), taken round-robin
-- (each wrk thread starts at a different place in the list). The same script
-- measures the hello server (the ceiling), which answers any path with a
-- ~1 KB body.
--
--   wrk -t2 -c16 -d15s --latency -s bench/wrk_paths.lua http://HOST:PORT -- PATHS_FILE
--
-- Statuses are not inspected one by one (a Lua call per response would
-- slow wrk, and wrk shares the cores with the server): wrk itself counts
-- every response outside 2xx/3xx in summary.errors.status, and a read or
-- search answers 200 or an error, never 3xx. done() prints one "wrk-result:" line
-- that scripts/bench.sh parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local paths = {}
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then paths[#paths + 1] = line end
  end
  f:close()
  assert(#paths > 0, "no paths in " .. args[1])
  reqs = {}
  for k, path in ipairs(paths) do
    reqs[k] = wrk.format("GET", path, { ["Accept"] = "application/fhir+json" })
  end
  next_req = (tid * 97) % #reqs
end

function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk-result: requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f ok=%d non2xx=%d " ..
    "socket_errors=%d timeouts=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests - e.status, e.status,
    e.connect + e.read + e.write, e.timeout))
end
