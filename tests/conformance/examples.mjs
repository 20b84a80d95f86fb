// Conformance: every official R4 example (npm hl7.fhir.r4.examples@4.0.1) is
// stored with PUT at its own id (POST when it has none) and read back equal —
// same JSON, numbers compared by their exact text, except meta.versionId and
// meta.lastUpdated and member order. Every rejection is printed with its
// reason and must be listed in known-rejections.json with the reason it is a
// real error in the example; an unlisted rejection, or a listed example that
// is now accepted, fails the test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../http/lib.mjs';
import { parseExact, diff } from '../jsonexact.mjs';

const dir = new URL('../../node_modules/hl7.fhir.r4.examples/', import.meta.url).pathname;
const known = JSON.parse(readFileSync(new URL('./known-rejections.json', import.meta.url)));
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.')).sort();

function strip(r) {
  const c = structuredClone(r);
  if (c.meta && typeof c.meta === 'object') {
    delete c.meta.versionId; delete c.meta.lastUpdated;
    if (Object.keys(c.meta).length === 0) delete c.meta;
  }
  return c;
}

const srv = await startServer(['--no-access-log', '--max-body', '128M']);
const t0 = Date.now();
const groups = new Map(); // type/id → files, written in order so the last one wins
const noId = [];
for (const f of files) {
  const text = readFileSync(join(dir, f), 'utf8');
  const j = JSON.parse(text);
  if (!j.resourceType) continue;
  const item = { f, text, j };
  if (j.id) {
    const k = `${j.resourceType}/${j.id}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(item);
  } else noId.push(item);
}

const rejected = [];
const mismatched = [];
let stored = 0, bytes = 0;

async function put(item) {
  const { j, text, f } = item;
  const url = j.id ? `${srv.base}/${j.resourceType}/${j.id}` : `${srv.base}/${j.resourceType}`;
  // Send the example's own bytes: the server must read exactly what HL7 published.
  const r = await fetch(url, { method: j.id ? 'PUT' : 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: text });
  const t = await r.text();
  bytes += text.length;
  if (r.status >= 300) {
    const oo = JSON.parse(t);
    rejected.push({ f, status: r.status, issues: oo.issue.map((i) => `${i.expression?.[0] ?? ''}: ${i.diagnostics}`) });
    return null;
  }
  stored++;
  return JSON.parse(t).id;
}

async function check(item, id) {
  const r = await fetch(`${srv.base}/${item.j.resourceType}/${id}`);
  const got = parseExact(await r.text());
  const want = parseExact(item.text);
  if (!item.j.id) delete got.id;
  const d = diff(strip(want), strip(got));
  if (d) mismatched.push({ f: item.f, at: d });
}

const work = [...groups.values()].map((g) => async () => {
  let last = null, lastId = null;
  for (const item of g) { const id = await put(item); if (id) { last = item; lastId = id; } }
  if (last) await check(last, lastId);
}).concat(noId.map((item) => async () => { const id = await put(item); if (id) await check(item, id); }));

let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => { while (next < work.length) await work[next++](); }));
const secs = (Date.now() - t0) / 1000;
const exit = await srv.stop();

console.log(`examples: ${files.length} files, ${stored} stored, ${rejected.length} rejected, ${mismatched.length} read back different`);
console.log(`time: ${secs.toFixed(1)} s (${(bytes / 1e6 / secs).toFixed(1)} MB/s of example JSON through HTTP, validation and the store)`);
let fail = false;
for (const r of rejected) {
  const why = known[r.f];
  console.log(`  rejected ${r.f} (${r.status}): ${r.issues.slice(0, 3).join(' | ')}${why ? `\n    known: ${why}` : '\n    NOT IN known-rejections.json'}`);
  if (!why) fail = true;
}
for (const k of Object.keys(known)) {
  if (!rejected.find((r) => r.f === k)) { console.log(`  ${k} is listed as a known rejection but was accepted`); fail = true; }
}
for (const m of mismatched) { console.log(`  DIFFERENT after read-back: ${m.f} at ${m.at}`); fail = true; }
if (exit.code !== 0) { console.log('server did not exit cleanly'); fail = true; }
if (fail) { console.log('conformance: FAILED'); process.exit(1); }
console.log('conformance: ok');
