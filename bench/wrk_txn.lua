-- wrk script: FHIR transactions (POST /fhir), each a Bundle of a new Patient
-- and a vital-signs Observation whose subject is the Patient's urn:uuid
-- fullUrl — the smallest useful "visit" a hospital sends. Prefer:
-- return=minimal. 256 different Bundles, taken round-robin.
--
--   wrk -t2 -c16 -d15s --latency -s bench/wrk_txn.lua http://HOST:PORT/fhir
--
-- 2xx counts as ok, anything else as a failure; done() prints one
-- "wrk-result:" line that scripts/bench.sh parses.

local function uuid(n, salt)
  return string.format("%08x-%04x-4%03x-8%03x-%012x", (n * 2654435761 + salt) % 4294967296, n % 65536,
                       (n * 7) % 4096, (n * 13) % 4096, n * 104729 + salt)
end

local function bundle(i)
  local pu = "urn:uuid:" .. uuid(i, 11)
  local day, hour, minute = (i % 28) + 1, (i * 5) % 24, (i * 11) % 60
  return string.format(
    '{"resourceType":"Bundle","type":"transaction","entry":[' ..
    '{"fullUrl":"%s","resource":{"resourceType":"Patient",' ..
    '"identifier":[{"system":"urn:oid:2.16.156.10011.1.3","value":"5329011980%02d%02d%03d%d"}],' ..
    '"name":[{"family":"段","given":["丽华"]}],"gender":"%s","birthDate":"1980-%02d-%02d"},' ..
    '"request":{"method":"POST","url":"Patient"}},' ..
    '{"resource":{"resourceType":"Observation","status":"final",' ..
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],' ..
    '"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}]},' ..
    '"subject":{"reference":"%s"},"effectiveDateTime":"2026-11-%02dT%02d:%02d:00+08:00",' ..
    '"valueQuantity":{"value":%d,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},' ..
    '"request":{"method":"POST","url":"Observation"}}]}',
    pu, (i % 12) + 1, (i % 28) + 1, i % 1000, i % 10, (i % 2 == 0) and "female" or "male", (i % 12) + 1,
    (i % 28) + 1, pu, day, hour, minute, 100 + i % 80)
end

local headers = {
  ["Content-Type"] = "application/fhir+json",
  ["Accept"] = "application/fhir+json",
  ["Prefer"] = "return=minimal",
}

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ok, bad = 0, 0
  reqs = {}
  for k = 1, 256 do
    reqs[k] = wrk.format("POST", nil, headers, bundle(tid * 100000 + k))
  end
  next_req = 0
end

function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    "wrk-result: requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f ok=%d non2xx=%d " ..
    "socket_errors=%d timeouts=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, o, b,
    e.connect + e.read + e.write, e.timeout))
end
