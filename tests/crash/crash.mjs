// Crash safety: kill -9 the server again and again while 16 clients write,
// and after every restart check that every acknowledged version is there,
// readable and exactly what was written (and that deleted versions read as
// deleted), that the database passes its integrity check, and that the
// server accepts writes again. Unacknowledged writes may or may not have
// committed; either way they must be whole.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, BIN } from '../http/lib.mjs';

const CYCLES = Number(process.env.CRASH_CYCLES || (process.env.CI ? 8 : 12));
const WORKERS = 16;
const dir = mkdtempSync(join(tmpdir(), 'jl-crash-'));
const acked = new Map(); // "Type/id" → Map(ver → token | null for a deletion)
const latest = new Map(); // "Type/id" → latest acknowledged version
let nAcked = 0, nFailed = 0;

function record(key, ver, token) {
  if (!acked.has(key)) acked.set(key, new Map());
  acked.get(key).set(ver, token);
  latest.set(key, Math.max(latest.get(key) || 0, ver));
  nAcked++;
}

function body(type, id, token) {
  const r = type === 'Patient'
    ? { resourceType: 'Patient', identifier: [{ system: 'urn:jianlian:crash', value: token }], name: [{ family: '李', given: ['测' + token] }], gender: 'other' }
    : { resourceType: 'Observation', identifier: [{ system: 'urn:jianlian:crash', value: token }], status: 'final', code: { text: 'glucose' }, valueQuantity: { value: 5.6, unit: 'mmol/L' } };
  if (id) r.id = id;
  return JSON.stringify(r);
}

async function worker(srv, cycle, w, stop) {
  let seq = 0;
  const mine = [];
  while (!stop.done) {
    const token = `${cycle}-${w}-${seq++}`;
    const type = seq % 2 ? 'Patient' : 'Observation';
    const roll = Math.random();
    try {
      if (mine.length === 0 || roll < 0.5) {
        const r = await fetch(`${srv.base}/${type}`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' }, body: body(type, null, token) });
        if (r.status === 201) {
          const loc = r.headers.get('location').split('/');
          const key = `${type}/${loc[loc.length - 3]}`;
          record(key, 1, token);
          mine.push(key);
        }
        await r.arrayBuffer();
      } else {
        const key = mine[Math.floor(Math.random() * mine.length)];
        const [t, id] = key.split('/');
        const del = roll > 0.93;
        const r = await fetch(`${srv.base}/${key}`, {
          method: del ? 'DELETE' : 'PUT',
          headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' },
          body: del ? undefined : body(t, id, token),
        });
        if (r.status === 200 || r.status === 201 || r.status === 204) {
          const ver = Number(r.headers.get('etag').match(/\d+/)[0]);
          if (!(del && acked.get(key)?.get(ver) === null)) record(key, ver, del ? null : token);
        }
        await r.arrayBuffer();
      }
    } catch {
      nFailed++; // the server was killed under us: not acknowledged
      return;
    }
  }
}

async function verify(srv) {
  const keys = [...acked.keys()];
  let checked = 0, next = 0;
  const problems = [];
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < keys.length) {
      const key = keys[next++];
      for (const [ver, token] of acked.get(key)) {
        const r = await fetch(`${srv.base}/${key}/_history/${ver}`);
        const t = await r.text();
        checked++;
        if (token === null) {
          if (r.status !== 410) problems.push(`${key} v${ver}: expected 410 (deleted), got ${r.status}`);
        } else if (r.status !== 200) {
          problems.push(`${key} v${ver}: acknowledged but reads ${r.status}`);
        } else if (JSON.parse(t).identifier?.[0]?.value !== token) {
          problems.push(`${key} v${ver}: content differs from what was acknowledged`);
        }
      }
      const cur = await fetch(`${srv.base}/${key}/_history?_count=1`);
      const h = await cur.json();
      if (h.total < latest.get(key)) problems.push(`${key}: history has ${h.total} versions, ${latest.get(key)} acknowledged`);
    }
  }));
  return { checked, problems };
}

let failed = false;
const t0 = Date.now();
for (let cycle = 0; cycle <= CYCLES; cycle++) {
  const srv = await startServer(['--no-access-log'], { dataDir: dir });
  const { checked, problems } = await verify(srv);
  if (problems.length) {
    failed = true;
    console.log(`cycle ${cycle}: ${problems.length} problems, e.g.\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
  if (cycle === CYCLES) {
    const e = await srv.stop({ keepData: true });
    if (e.code !== 0) { failed = true; console.log('final clean stop did not exit 0'); }
    console.log(`cycle ${cycle}: verified ${checked} acknowledged versions, clean stop`);
    break;
  }
  const stop = { done: false };
  const before = nAcked;
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(srv, cycle, w, stop));
  const ms = 300 + Math.floor(Math.random() * 1200);
  await new Promise((r) => setTimeout(r, ms));
  srv.proc.kill('SIGKILL');
  await srv.exited;
  stop.done = true;
  await Promise.all(workers);
  const chk = spawnSync(BIN, ['check', '--data', dir], { encoding: 'utf8' });
  if (chk.status !== 0) { failed = true; console.log(`cycle ${cycle}: integrity check failed: ${chk.stderr}`); }
  console.log(`cycle ${cycle}: verified ${checked} versions; killed after ${ms} ms and ${nAcked - before} acknowledged writes; ${chk.stdout.trim()}`);
}
console.log(`crash test: ${CYCLES} kills, ${nAcked} acknowledged writes, ${nFailed} requests cut by kills, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
rmSync(dir, { recursive: true, force: true });
if (failed) { console.log('crash test: FAILED'); process.exit(1); }
console.log('crash test: ok');
