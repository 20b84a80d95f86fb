// One large transaction, timed: N/2 Patients and N/2 Observations referring to them by
// urn:uuid fullUrl, posted RUNS times (fresh uuids each time) to a running server.
//   node bench/txn_big.mjs BASE_URL [N=2000] [RUNS=5]
// Prints each run and one "txn-big-result:" line with the median and best wall time (ms),
// measured at the client: request sent → whole transaction-response received.
const [base, nArg, runsArg] = process.argv.slice(2);
const N = Number(nArg || 2000), RUNS = Number(runsArg || 5);
if (!base || !(N >= 2) || !(RUNS >= 1)) {
  console.error('usage: node bench/txn_big.mjs BASE_URL [N] [RUNS]');
  process.exit(2);
}
function bundle(run) {
  const entry = [];
  for (let i = 0; i < N / 2; i++) {
    const u = 'urn:uuid:' + crypto.randomUUID();
    entry.push({ fullUrl: u, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: `big-${run}-${i}` }], name: [{ family: '段', given: ['丽华'] }], gender: 'female', birthDate: '1980-01-01' }, request: { method: 'POST', url: 'Patient' } });
    entry.push({ resource: { resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }], code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, subject: { reference: u }, effectiveDateTime: '2026-11-01T08:00:00+08:00', valueQuantity: { value: 120 + (i % 40), unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }, request: { method: 'POST', url: 'Observation' } });
  }
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry });
}
const times = [];
for (let r = 0; r < RUNS; r++) {
  const body = bundle(r);
  const t0 = performance.now();
  const res = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' }, body });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) {
    console.error(`run ${r + 1}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    process.exit(1);
  }
  const n = JSON.parse(text).entry.length;
  if (n !== N) { console.error(`run ${r + 1}: ${n} entries in the response, expected ${N}`); process.exit(1); }
  times.push(ms);
  console.log(`  ${N}-entry transaction run ${r + 1}/${RUNS}: ${ms.toFixed(1)} ms (${(body.length / 1048576).toFixed(2)} MB)`);
}
const s = [...times].sort((a, b) => a - b);
const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
console.log(`txn-big-result: entries=${N} runs=${RUNS} median_ms=${median.toFixed(1)} best_ms=${s[0].toFixed(1)}`);
