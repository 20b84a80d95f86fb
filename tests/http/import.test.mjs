// Bulk import end to end: `jianlian import` (happy path, bad lines → error
// file while the good lines commit, .gz input, usage errors, resume after
// kill -9 with the same store content as an uninterrupted run) and
// POST /fhir/$import (inputs only from --import-dir, polling, error file,
// jobs that survive a restart: served when finished, resumed when
// interrupted by SIGTERM or kill -9, failed with the reason when an input is gone).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, req } from './lib.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 300000 });
const made = [];
const tmp = (p) => {
  const d = mkdtempSync(join(tmpdir(), p));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function gen(residents, years = '2024-2025') {
  const dir = tmp('jl-imp-gen-');
  const r = run('gen', '--residents', String(residents), '--years', years, '--seed', '3', '--out', dir, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

// Every version in the store (system history), keyed by type/id/version, with bodies
// minus the server-assigned instant: what "the same store content" means.
async function content(dataDir) {
  const srv = await startServer([], { dataDir });
  const seen = new Map();
  try {
    let url = '/_history?_count=1000';
    while (url) {
      const r = await req(srv, 'GET', url);
      assert.equal(r.status, 200, r.text.slice(0, 300));
      for (const e of r.json.entry || []) {
        const res = e.resource;
        const key = `${res.resourceType}/${res.id}/${res.meta.versionId}`;
        delete res.meta.lastUpdated;
        assert.ok(!seen.has(key), `version listed twice: ${key}`);
        seen.set(key, JSON.stringify(res));
      }
      const next = (r.json.link || []).find((l) => l.relation === 'next');
      url = next ? next.url.slice(next.url.indexOf('/fhir') + 5) : null;
    }
  } finally {
    await srv.stop({ keepData: true });
  }
  return seen;
}

test('import: --help, usage errors exit 2 before the store is touched', () => {
  const h = run('import', '--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: jianlian import/);
  assert.match(h.stdout, /Exit codes: 0 .* 3 done but some/s);
  const data = join(tmp('jl-imp-u-'), 'data');
  assert.equal(run('import', '--data', data).status, 2);
  assert.equal(run('import', '--bogus', 'x.ndjson').status, 2);
  assert.equal(run('import', '--batch', '0', 'x.ndjson').status, 2);
  const missing = run('import', '--data', data, '/nonexistent/file.ndjson');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nonexistent/);
  const d = tmp('jl-imp-txt-');
  writeFileSync(join(d, 'notes.txt'), 'x\n');
  const txt = run('import', '--data', data, join(d, 'notes.txt'));
  assert.equal(txt.status, 2);
  assert.match(txt.stderr, /not an input format/);
  assert.equal(existsSync(data), false);
});

test('import: a generated region loads, every search index built, and is served', async () => {
  const src = gen(120);
  const data = join(tmp('jl-imp-ok-'), 'data');
  const r = run('import', '--data', data, src);
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8'));
  assert.match(r.stdout, new RegExp(`Imported ${m.resources} of ${m.resources} resources read \\(0 rejected\\)`));
  const srv = await startServer([], { dataDir: data });
  try {
    for (const [type, id] of Object.entries(m.examples)) {
      const res = await req(srv, 'GET', `/${type}/${id}`);
      assert.equal(res.status, 200, `${type}/${id}`);
    }
    // The index is there: searches by token, reference and string find the imported resources.
    const pats = await req(srv, 'GET', '/Patient?_summary=count');
    assert.equal(pats.json.total, m.counts.Patient);
    const ex = await req(srv, 'GET', `/Patient/${m.examples.Patient}`);
    const fam = ex.json.name[0].family;
    const byName = await req(srv, 'GET', `/Patient?family=${encodeURIComponent(fam)}&_summary=count`);
    assert.ok(byName.json.total >= 1);
    const obs = await req(srv, 'GET', `/Observation?subject=Patient/${m.examples.Patient}&_summary=count`);
    assert.equal(obs.status, 200);
  } finally {
    await srv.stop({ keepData: true });
  }
  // Run again: every file was imported completely, nothing is read or written twice.
  const again = run('import', '--data', data, src);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /imported before: skipped/);
  assert.match(again.stdout, /Imported 0 of 0 resources read/);
});

test('import: bad lines go to the error file with file, line, reason and expression; good lines commit', async () => {
  const d = tmp('jl-imp-bad-');
  const lines = [
    JSON.stringify({ resourceType: 'Patient', id: 'good1', gender: 'female', name: [{ family: '张' }] }),
    JSON.stringify({ resourceType: 'Patient', id: 'bad1', gender: 'secret-gender-value' }),
    '{"resourceType":"Patient","id":"bad2",',
    JSON.stringify({ resourceType: 'Patient', id: 'bad3', birthDate: '1990-02-31x', name: [{ family: 'Privatename' }] }),
    JSON.stringify({ resourceType: 'Observation', id: 'good2', status: 'final', code: { text: 'x' } }),
  ];
  writeFileSync(join(d, 'mixed.ndjson'), lines.join('\n') + '\n');
  writeFileSync(join(d, 'more.ndjson.gz'), gzipSync(JSON.stringify({ resourceType: 'Patient', id: 'good3' }) + '\n'));
  const data = join(d, 'data');
  const errors = join(d, 'errors.ndjson');
  const r = run('import', '--data', data, '--errors', errors, join(d, 'mixed.ndjson'), join(d, 'more.ndjson.gz'));
  assert.equal(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /Imported 3 of 6 resources read \(3 rejected\)/);
  const text = readFileSync(errors, 'utf8');
  const errs = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(errs.map((e) => e.line), [2, 3, 4]);
  for (const e of errs) {
    assert.ok(e.file.endsWith('mixed.ndjson'));
    assert.equal(typeof e.reason, 'string');
    assert.ok('expression' in e);
  }
  assert.equal(errs[0].expression, 'Patient.gender');
  assert.equal(errs[2].expression, 'Patient.birthDate');
  assert.equal(errs[1].code, 'structure');
  // Never the content: values, names.
  assert.ok(!text.includes('secret-gender-value'));
  assert.ok(!text.includes('1990-02-31x'));
  assert.ok(!text.includes('Privatename'));
  const srv = await startServer([], { dataDir: data });
  try {
    assert.equal((await req(srv, 'GET', '/Patient/good1')).status, 200);
    assert.equal((await req(srv, 'GET', '/Observation/good2')).status, 200);
    assert.equal((await req(srv, 'GET', '/Patient/good3')).status, 200);
    assert.equal((await req(srv, 'GET', '/Patient/bad1')).status, 404);
  } finally {
    await srv.stop({ keepData: true });
  }
  rmSync(d, { recursive: true, force: true });
});

// Serves dataDir and checks its search index against the stored bodies: every resource of a few
// types with a subject is read by a type scan (no index), and the reference search finds, for
// several subjects of each type, exactly the resources whose bodies name it. Returns how many
// resources were checked (the files import in name order: Condition comes early, Observation late).
async function indexMatchesBodies(dataDir) {
  const srv = await startServer([], { dataDir });
  let n = 0;
  try {
    for (const type of ['Condition', 'Encounter', 'Observation']) {
      const bySubject = new Map();
      let url = `/${type}?_count=1000`;
      while (url) {
        const r = await req(srv, 'GET', url);
        assert.equal(r.status, 200, r.text.slice(0, 300));
        for (const e of r.json.entry || []) {
          const s = e.resource.subject && e.resource.subject.reference;
          if (s) bySubject.set(s, (bySubject.get(s) || 0) + 1);
          n++;
        }
        const next = (r.json.link || []).find((l) => l.relation === 'next');
        url = next ? next.url.slice(next.url.indexOf('/fhir') + 5) : null;
      }
      const subjects = [...bySubject.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
      if (bySubject.size) subjects.push([...bySubject.entries()].pop());
      for (const [s, count] of subjects) {
        const r = await req(srv, 'GET', `/${type}?subject=${encodeURIComponent(s)}&_summary=count`);
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.equal(r.json.total, count, `${type} of ${s}`);
      }
    }
  } finally {
    await srv.stop({ keepData: true });
  }
  return n;
}

// Starts an import and kills it (SIGKILL) once its progress shows work under way.
function importUntilKilled(args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let killed = false;
    p.stderr.on('data', (b) => {
      err += b;
      if (!killed && /import: [1-9]0% /.test(err)) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('exit', (code, sig) => resolve({ code, sig, err }));
  });
}

test('import: kill -9 mid-import, then the same command: same store content as an uninterrupted run', async () => {
  // Large enough that an import outlives its first progress line (it runs ~25,000 resources/s).
  const src = gen(800, '2022-2025');
  const gz = tmp('jl-imp-gz-');
  // Half the input gzip-compressed, to resume inside a .gz too.
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ndjson'))) {
    if (['Observation.ndjson', 'Encounter.ndjson'].includes(f)) writeFileSync(join(gz, f + '.gz'), gzipSync(readFileSync(join(src, f))));
    else writeFileSync(join(gz, f), readFileSync(join(src, f)));
  }
  const base = tmp('jl-imp-kill-');
  const full = join(base, 'full');
  const killed = join(base, 'killed');
  const r0 = run('import', '--data', full, '--batch', '300', gz);
  assert.equal(r0.status, 0, r0.stderr);
  let kills = 0;
  for (let i = 0; i < 3; i++) {
    const k = await importUntilKilled(['import', '--data', killed, '--batch', '300', gz]);
    if (k.sig === 'SIGKILL') kills++;
    else assert.equal(k.code, 0, k.err);
  }
  assert.ok(kills >= 1, 'the import was never killed mid-way');
  // A copy as the kill left it (index rows of committed batches still staged): served, its index
  // is complete (merged when the server opens it, or before the first search).
  const copy = join(base, 'copy');
  cpSync(killed, copy, { recursive: true });
  assert.ok((await indexMatchesBodies(copy)) > 0, 'nothing committed before the kill');
  const r1 = run('import', '--data', killed, '--batch', '300', gz);
  assert.equal(r1.status, 0, r1.stderr);
  assert.match(r1.stdout, /resumed after line|imported before: skipped/);
  const a = await content(full);
  const b = await content(killed);
  assert.equal(b.size, a.size);
  for (const [k, v] of a) assert.equal(b.get(k), v, `differs: ${k}`);
  const ck = run('check', '--data', killed);
  assert.equal(ck.status, 0, ck.stdout + ck.stderr);
  await indexMatchesBodies(killed);
  rmSync(base, { recursive: true, force: true });
  rmSync(gz, { recursive: true, force: true });
});

async function poll(srv, loc) {
  const path = loc.slice(loc.indexOf('/fhir') + 5);
  for (let i = 0; i < 600; i++) {
    const r = await req(srv, 'GET', path);
    if (r.status !== 202) return r;
    assert.match(r.headers.get('x-progress') || '', /importing/);
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error('import did not finish');
}

const kickoff = (srv, params, headers = { Prefer: 'respond-async' }) =>
  req(srv, 'POST', '/$import', { body: { resourceType: 'Parameters', parameter: params }, headers });

test('$import: inputs from --import-dir only; 202, polling, counts per file, OperationOutcome error file', async () => {
  const dir = tmp('jl-imp-http-');
  const inDir = join(dir, 'in');
  const src = gen(40);
  spawnSync('cp', ['-r', src, inDir]);
  writeFileSync(join(inDir, 'bad.ndjson'), '{"resourceType":"Patient","id":"h1"}\n{"resourceType":"Patient","id":"h2","gender":"x-private"}\n');
  writeFileSync(join(dir, 'outside.ndjson'), '{"resourceType":"Patient","id":"out1"}\n');
  const srv = await startServer(['--import-dir', inDir]);
  try {
    // Refused: a file outside the directory, a traversal, http, no Prefer, an unknown parameter.
    for (const url of [join(dir, 'outside.ndjson'), `file://${dir}/outside.ndjson`, '../outside.ndjson', 'https://example.org/x.ndjson']) {
      const r = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: url }] }]);
      assert.equal(r.status, 400, url);
      assert.match(r.json.issue[0].diagnostics, /input url .* is refused/);
      assert.equal(r.json.issue[0].expression[0], 'Parameters.parameter[0].part[0]');
    }
    const np = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: 'bad.ndjson' }] }], {});
    assert.equal(np.status, 400);
    assert.match(np.json.issue[0].diagnostics, /respond-async/);
    const fmt = await kickoff(srv, [{ name: 'inputFormat', valueCode: 'text/csv' }, { name: 'input', part: [{ name: 'url', valueUri: 'bad.ndjson' }] }]);
    assert.equal(fmt.status, 400);
    assert.equal(fmt.json.issue[0].expression[0], 'Parameters.parameter[0]');
    // Accepted: a file path, a file:// URL and a directory.
    const k = await kickoff(srv, [
      { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
      { name: 'input', part: [{ name: 'type', valueCode: 'Patient' }, { name: 'url', valueUri: 'bad.ndjson' }] },
      { name: 'input', part: [{ name: 'url', valueUri: `file://${inDir}/Patient.ndjson` }] },
    ]);
    assert.equal(k.status, 202, k.text);
    const loc = k.headers.get('content-location');
    assert.match(loc, /\$import-poll-status\?_jobId=[0-9a-f]{32}$/);
    const done = await poll(srv, loc);
    assert.equal(done.status, 200, done.text);
    const out = done.json.output;
    assert.equal(out.length, 2);
    assert.deepEqual([out[0].inputUrl, out[0].type, out[0].read, out[0].count, out[0].rejected], ['bad.ndjson', 'Patient', 2, 1, 1]);
    const m = JSON.parse(readFileSync(join(inDir, 'manifest.json'), 'utf8'));
    assert.equal(out[1].count, m.counts.Patient);
    assert.equal(done.json.error.length, 1);
    assert.equal(done.json.error[0].count, 1);
    const eurl = done.json.error[0].url;
    const e = await fetch(eurl);
    assert.equal(e.status, 200);
    assert.match(e.headers.get('content-type'), /ndjson/);
    const oo = (await e.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(oo.length, 1);
    assert.equal(oo[0].resourceType, 'OperationOutcome');
    assert.match(oo[0].issue[0].diagnostics, /^bad\.ndjson line 2: /);
    assert.equal(oo[0].issue[0].expression[0], 'Patient.gender');
    assert.ok(!JSON.stringify(oo).includes('x-private'));
    assert.ok(!JSON.stringify(oo).includes(inDir), 'the server path is not shown');
    assert.equal((await req(srv, 'GET', '/Patient/h1')).status, 200);
    // A directory input stands for its files; files imported before are not imported twice.
    const k2 = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: '.' }] }]);
    assert.equal(k2.status, 202, k2.text);
    const d2 = await poll(srv, k2.headers.get('content-location'));
    assert.equal(d2.status, 200, d2.text);
    assert.ok(d2.json.output.length >= 10);
    const pat = d2.json.output.find((o) => o.inputUrl.endsWith('/Patient.ndjson'));
    assert.equal(pat.count, m.counts.Patient); // counted, but skipped: recorded as complete
    const vers = await req(srv, 'GET', `/Patient/${m.examples.Patient}/_history`);
    assert.equal(vers.json.total, 1);
    // Delete the status: gone afterwards, as is its error file.
    const del = await req(srv, 'DELETE', loc.slice(loc.indexOf('/fhir') + 5));
    assert.equal(del.status, 202);
    assert.equal((await req(srv, 'GET', loc.slice(loc.indexOf('/fhir') + 5))).status, 404);
    assert.equal((await fetch(eurl)).status, 404);
    assert.equal((await req(srv, 'GET', '/$import-poll-status?_jobId=0123')).status, 404);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Counts per type over the API: what is in the store.
async function counts(srv, types) {
  const out = {};
  for (const t of types) out[t] = (await req(srv, 'GET', `/${t}?_summary=count`)).json.total;
  return out;
}

test('$import: jobs survive a restart — finished ones are served, interrupted ones resume, lost inputs fail with the reason', async () => {
  const dir = tmp('jl-imp-restart-');
  const inDir = join(dir, 'in');
  const data = join(dir, 'data');
  const src = gen(1500, '2021-2025');
  spawnSync('cp', ['-r', src, inDir]);
  writeFileSync(join(inDir, 'bad.ndjson'), '{"resourceType":"Patient","id":"r1"}\n{"resourceType":"Patient","id":"r2","gender":"x-private"}\n{"resourceType":"Nope"}\n');
  spawnSync('mkdir', ['-p', join(inDir, 'small')]);
  writeFileSync(join(inDir, 'small', 's.ndjson'), '{"resourceType":"Patient","id":"s1"}\n{"resourceType":"Patient","id":"s2","birthDate":"1980-13-45"}\n');
  const m = JSON.parse(readFileSync(join(inDir, 'manifest.json'), 'utf8'));
  const types = Object.keys(m.counts);
  const path = (loc) => loc.slice(loc.indexOf('/fhir') + 5);
  let srv = await startServer(['--import-dir', inDir, '--no-access-log'], { dataDir: data });
  try {
    // A small job that finishes before the restart.
    const k1 = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: 'small/s.ndjson' }] }]);
    assert.equal(k1.status, 202, k1.text);
    const loc1 = k1.headers.get('content-location');
    const d1 = await poll(srv, loc1);
    assert.equal(d1.status, 200, d1.text);
    // A large one, interrupted twice: by SIGTERM, then by kill -9, each while it runs (if it is still running).
    const k2 = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: '.' }] }]);
    assert.equal(k2.status, 202, k2.text);
    const loc2 = k2.headers.get('content-location');
    const id2 = new URL(loc2).searchParams.get('_jobId');
    let interrupted = 0;
    for (const how of ['SIGTERM', 'SIGKILL']) {
      let st;
      for (let i = 0; i < 100; i++) {
        st = await req(srv, 'GET', path(loc2));
        if (st.status !== 202 || /\(\d*[1-9]\d* resources read/.test(st.headers.get('x-progress'))) break;
        await new Promise((ok) => setTimeout(ok, 20));
      }
      if (how === 'SIGKILL') {
        srv.proc.kill('SIGKILL');
        await srv.exited;
      } else {
        assert.equal((await srv.stop({ keepData: true })).code, 0);
      }
      // Still in progress on disk (it may have finished just before the signal): the next start resumes it.
      const onDisk = JSON.parse(readFileSync(join(data, 'import', id2 + '.json'), 'utf8')).state;
      assert.ok(['in-progress', 'completed'].includes(onDisk), onDisk);
      srv = await startServer(['--import-dir', inDir, '--no-access-log'], { dataDir: data });
      if (onDisk === 'in-progress') {
        interrupted++;
        for (let i = 0; i < 100 && !/resuming/.test(srv.logs()); i++) await new Promise((ok) => setTimeout(ok, 20));
        assert.match(srv.logs(), /resuming/);
      }
    }
    assert.ok(interrupted >= 1, 'the import was never interrupted while it ran');
    const again1 = await req(srv, 'GET', path(loc1));
    assert.equal(again1.status, 200);
    assert.deepEqual(again1.json.output, d1.json.output);
    const e1 = await fetch(again1.json.error[0].url);
    assert.equal(e1.status, 200);
    assert.equal((await e1.text()).trim().split('\n').length, d1.json.error[0].count);
    const d2 = await poll(srv, loc2);
    assert.equal(d2.status, 200, d2.text);
    // Every resource once: the store holds the generated counts, each resource in one version.
    const got = await counts(srv, types);
    const want = { ...m.counts };
    want.Patient += 2; // r1 of bad.ndjson, s1 of small/s.ndjson
    assert.deepEqual(got, want);
    assert.equal((await req(srv, 'GET', `/Patient/${m.examples.Patient}/_history`)).json.total, 1);
    for (const t of types) {
      const o = d2.json.output.find((x) => x.inputUrl === `./${t}.ndjson`);
      assert.equal(o.count, m.counts[t], t);
      assert.equal(o.read, m.counts[t], t);
    }
    // Its error file lists bad.ndjson's two bad lines once each, however often the job was interrupted.
    const bad = d2.json.output.find((x) => x.inputUrl === './bad.ndjson');
    assert.equal(bad.rejected, 2);
    const errs = (await (await fetch(d2.json.error[0].url)).text()).trim().split('\n');
    assert.equal(errs.length, d2.json.error[0].count);
    assert.equal(errs.filter((l) => l.includes('bad.ndjson line')).length, 2);
    // A job recorded in progress whose input is no longer under the import directory: failed, naming it.
    await srv.stop({ keepData: true });
    const dead = '0123456789abcdef0123456789abcdef';
    writeFileSync(join(data, 'import', dead + '.json'), JSON.stringify({
      id: dead, state: 'in-progress', request: 'http://x/fhir/$import', start: 1, ended: 0, errorsBytes: 0, errorsLines: 0,
      input: [{ url: 'moved.ndjson', path: join(inDir, 'moved.ndjson'), read: 0, written: 0, rejected: 0 }] }));
    writeFileSync(join(data, 'import', 'fedcba9876543210fedcba9876543210.ndjson'), 'orphan\n'); // no state: removed
    writeFileSync(join(data, 'import', '00000000000000000000000000000000.json'), '{"state":'); // unreadable: removed
    srv = await startServer(['--import-dir', inDir, '--no-access-log'], { dataDir: data });
    const f = await req(srv, 'GET', `/$import-poll-status?_jobId=${dead}`);
    assert.equal(f.status, 500, f.text);
    assert.match(f.json.issue[0].diagnostics, /input "moved\.ndjson" is no longer a file under its import directory/);
    assert.equal(JSON.parse(readFileSync(join(data, 'import', dead + '.json'), 'utf8')).state, 'failed');
    assert.ok(!existsSync(join(data, 'import', 'fedcba9876543210fedcba9876543210.ndjson')));
    assert.ok(!existsSync(join(data, 'import', '00000000000000000000000000000000.json')));
    // DELETE removes a job's files for good.
    assert.equal((await req(srv, 'DELETE', path(loc2))).status, 202);
    assert.ok(!existsSync(join(data, 'import', id2 + '.json')));
    assert.ok(!existsSync(join(data, 'import', id2 + '.ndjson')));
  } finally {
    await srv.stop();
  }
});

test('$import: a server without --import-dir refuses every input', async () => {
  const srv = await startServer();
  try {
    const r = await kickoff(srv, [{ name: 'input', part: [{ name: 'url', valueUri: '/etc/hostname.ndjson' }] }]);
    assert.equal(r.status, 400);
    assert.match(r.json.issue[0].diagnostics, /without --import-dir/);
  } finally {
    await srv.stop();
  }
});

// Synthea's output directory as it is: hospital and practitioner batch Bundles (POST with
// ifNoneExist), one transaction Bundle per patient (urn:uuid fullUrls, conditional references to
// Organization, Practitioner and Location by identifier). Sorted by name the patients would come
// first; the importer loads hospitalInformation* and practitionerInformation* before them.
test('import: a Synthea-shaped directory of Bundle files; a bad Bundle is rejected whole; a re-run adds nothing', async () => {
  const SYN = 'https://github.com/synthetichealth/synthea';
  const NPI = 'http://hl7.org/fhir/sid/us-npi';
  const dir = tmp('jl-imp-syn-');
  const tx = (type, entry) => JSON.stringify({ resourceType: 'Bundle', type, entry });
  const cond = (r, crit) => ({ fullUrl: `${r.resourceType}/${r.id}`, resource: r, request: { method: 'POST', url: r.resourceType, ifNoneExist: crit } });
  writeFileSync(join(dir, 'hospitalInformation1700000000000.json'), tx('batch', [
    cond({ resourceType: 'Organization', id: 'o1', identifier: [{ system: SYN, value: 'o1' }], name: '大理州人民医院' }, `identifier=${SYN}|o1`),
    cond({ resourceType: 'Location', id: 'l1', identifier: [{ system: SYN, value: 'l1' }], name: '门诊部', managingOrganization: { reference: `Organization?identifier=${SYN}|o1` } }, `identifier=${SYN}|l1`),
  ]));
  writeFileSync(join(dir, 'practitionerInformation1700000000000.json'), tx('batch', [
    cond({ resourceType: 'Practitioner', id: 'p1', identifier: [{ system: NPI, value: '9999' }], name: [{ family: '杨' }] }, `identifier=${NPI}|9999`),
  ]));
  const patient = (name) => {
    const pu = 'urn:uuid:' + crypto.randomUUID();
    const eu = 'urn:uuid:' + crypto.randomUUID();
    return tx('transaction', [
      { fullUrl: pu, resource: { resourceType: 'Patient', name: [{ family: name }], gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: eu, resource: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: pu },
        participant: [{ individual: { reference: `Practitioner?identifier=${NPI}|9999` } }], location: [{ location: { reference: `Location?identifier=${SYN}|l1` } }],
        serviceProvider: { reference: `Organization?identifier=${SYN}|o1` } }, request: { method: 'POST', url: 'Encounter' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'bp' }, subject: { reference: pu }, encounter: { reference: eu } }, request: { method: 'POST', url: 'Observation' } },
    ]);
  };
  writeFileSync(join(dir, 'Aaron_Duan_1.json'), patient('段'));
  writeFileSync(join(dir, 'Bai_Yang_2.json'), patient('杨'));
  // A transaction whose second entry is invalid: nothing of it may be written.
  writeFileSync(join(dir, 'Cai_Bad_3.json'), tx('transaction', [
    { resource: { resourceType: 'Patient', name: [{ family: '坏' }] }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
  ]));
  const data = tmp('jl-imp-syn-data-');
  const errors = join(data, '..', `${data.split('/').pop()}.errors.ndjson`);
  const r = run('import', '--data', data, '--errors', errors, '--quiet', dir);
  assert.equal(r.status, 3, r.stderr + r.stdout);
  const errs = readFileSync(errors, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(errs.every((e) => e.file.endsWith('Cai_Bad_3.json')), JSON.stringify(errs));
  assert.ok(errs.some((e) => e.expression === 'Bundle.entry[1].resource.status'), JSON.stringify(errs));
  assert.ok(!JSON.stringify(errs).includes('坏'), 'the error file holds no resource content');
  // A second run finds every file committed: nothing is imported again.
  const r2 = run('import', '--data', data, '--errors', errors, dir);
  assert.equal(r2.status, 3, r2.stderr);
  const srv = await startServer([], { dataDir: data });
  try {
    const count = async (q) => (await req(srv, 'GET', `/${q}${q.includes('?') ? '&' : '?'}_total=accurate&_count=0`)).json.total;
    assert.equal(await count('Organization'), 1);
    assert.equal(await count('Practitioner'), 1);
    assert.equal(await count('Patient'), 2, 'two patients; the bad Bundle wrote nothing');
    assert.equal(await count('Encounter'), 2);
    assert.equal(await count('Observation'), 2);
    const org = (await req(srv, 'GET', `/Organization?identifier=${SYN}|o1`)).json.entry[0].resource;
    const loc = (await req(srv, 'GET', `/Location?identifier=${SYN}|l1`)).json.entry[0].resource;
    assert.equal(loc.managingOrganization.reference, `Organization/${org.id}`);
    const encs = (await req(srv, 'GET', '/Encounter?_count=10')).json.entry.map((e) => e.resource);
    for (const e of encs) {
      assert.equal(e.serviceProvider.reference, `Organization/${org.id}`);
      assert.equal(e.location[0].location.reference, `Location/${loc.id}`);
      assert.match(e.subject.reference, /^Patient\/[0-9a-f-]{36}$/);
    }
  } finally {
    await srv.stop({ keepData: true });
  }
});
