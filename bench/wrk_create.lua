-- wrk script: FHIR create (POST /fhir/Observation), ~1 KB vital-signs
-- Observations (LOINC code, subject reference, effectiveDateTime,
-- valueQuantity), Prefer: return=minimal. 256 different bodies, taken
-- round-robin, so values, subjects and times vary as in a real feed.
--
--   wrk -t2 -c16 -d15s --latency -s bench/wrk_create.lua http://HOST:PORT/fhir/Observation [-- PREFIX N]
--
-- With PREFIX and N, each wrk thread also writes the server-assigned ids of
-- its first N creates to PREFIX.<thread> (one a line): the id list of the
-- read-by-id benchmark. (wrk cannot stop early: thread:stop() ends a thread
-- but the run still lasts -d, so ids are collected during a measured run.)
--
-- Every response is counted: 2xx as ok, anything else as a failure. done()
-- prints one "wrk-result:" line that scripts/bench.sh parses.

local vitals = {
  -- LOINC code, display, UCUM unit, UCUM code, low, high
  { "8867-4", "Heart rate", "beats/minute", "/min", 48, 130 },
  { "9279-1", "Respiratory rate", "breaths/minute", "/min", 10, 30 },
  { "8310-5", "Body temperature", "Cel", "Cel", 35, 40 },
  { "29463-7", "Body weight", "kg", "kg", 3, 120 },
  { "8302-2", "Body height", "cm", "cm", 50, 200 },
  { "2708-6", "Oxygen saturation in Arterial blood", "%", "%", 85, 100 },
  { "8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", 90, 180 },
  { "8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]", 50, 110 },
}

local function uuid(n, salt)
  -- Deterministic, well-formed UUID-like ids for references (not looked up by the server).
  return string.format("0190c3%02x-%04x-7%03x-8%03x-%012x", salt % 256, n % 65536, (n * 7) % 4096,
                       (n * 13) % 4096, n * 104729 + salt)
end

local function observation(i)
  local v = vitals[(i % #vitals) + 1]
  local lo, hi = v[5], v[6]
  local value = lo + ((i * 37) % ((hi - lo) * 10)) / 10
  local day, hour, minute = (i % 28) + 1, (i * 5) % 24, (i * 11) % 60
  return string.format(
    '{"resourceType":"Observation",' ..
    '"meta":{"profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},' ..
    '"identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"OBS-2026-%08d"}],' ..
    '"status":"final",' ..
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",' ..
    '"code":"vital-signs","display":"Vital Signs"}],"text":"Vital Signs"}],' ..
    '"code":{"coding":[{"system":"http://loinc.org","code":"%s","display":"%s"}],"text":"%s"},' ..
    '"subject":{"reference":"Patient/%s","display":"Patient %d"},' ..
    '"encounter":{"reference":"Encounter/%s"},' ..
    '"effectiveDateTime":"2026-11-%02dT%02d:%02d:00+08:00",' ..
    '"issued":"2026-11-%02dT%02d:%02d:30.000+08:00",' ..
    '"performer":[{"reference":"Practitioner/%s"}],' ..
    '"valueQuantity":{"value":%.1f,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"},' ..
    '"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",' ..
    '"code":"N","display":"Normal"}]}],' ..
    '"note":[{"text":"Measured at the bedside, patient resting."}]}',
    i, v[1], v[2], v[2], uuid(i % 997, 1), i % 997, uuid(i, 2), day, hour, minute, day, hour, minute,
    uuid(i % 31, 3), value, v[3], v[4])
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
  ok, bad, kept = 0, 0, 0
  want = 0
  if args[1] then
    want = tonumber(args[2])
    out = assert(io.open(args[1] .. "." .. tid, "w"))
  end
  reqs = {}
  for k = 1, 256 do
    reqs[k] = wrk.format("POST", nil, headers, observation(tid * 100000 + k))
  end
  next_req = 0
end

function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if kept < want then
      local loc
      for k, v in pairs(hdrs) do
        if string.lower(k) == "location" then loc = v end
      end
      local id = loc and loc:match("/Observation/([^/]+)")
      if id then
        out:write(id, "\n")
        kept = kept + 1
        if kept == want then out:close() end
      else
        ok, bad = ok - 1, bad + 1 -- a create without a usable Location does not work
      end
    end
  else
    bad = bad + 1
  end
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
