// The region generator end to end: `jianlian gen --out` twice gives the same
// bytes; `--into` loads a small region that a real server then serves (every
// example of the manifest reads back); usage errors exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, req } from './lib.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 120000 });

function digest(dir) {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

test('gen: usage errors exit 2, help exits 0', () => {
  assert.equal(run('gen', '--help').status, 0);
  assert.match(run('gen', '--help').stdout, /Usage: jianlian gen/);
  assert.equal(run('gen').status, 2); // neither --out nor --into
  assert.equal(run('gen', '--out', '/tmp/x', '--into', '/tmp/y').status, 2);
  assert.equal(run('gen', '--region', '532901', '--out', '/tmp/x').status, 2);
  assert.equal(run('gen', '--residents', '0', '--out', '/tmp/x').status, 2);
  assert.equal(run('gen', '--years', '2025-2020', '--out', '/tmp/x').status, 2);
  assert.equal(run('gen', '--seed', '-1', '--out', '/tmp/x').status, 2);
  const nf = run('gen', '--region', '539900', '--residents', '10', '--out', mkdtempSync(join(tmpdir(), 'jl-gen-')));
  assert.equal(nf.status, 2);
  assert.match(nf.stderr, /539900/);
});

test('gen --out: deterministic NDJSON with ground truths and a manifest', () => {
  const a = mkdtempSync(join(tmpdir(), 'jl-gen-a-'));
  const b = mkdtempSync(join(tmpdir(), 'jl-gen-b-'));
  try {
    for (const d of [a, b]) {
      const r = run('gen', '--residents', '500', '--years', '2022-2024', '--seed', '5', '--out', d, '--quiet');
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(digest(a), digest(b));
    const m = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8'));
    assert.equal(m.region, '532900');
    assert.equal(m.divisions.counties, 12);
    const lines = readFileSync(join(a, 'Patient.ndjson'), 'utf8').trim().split('\n');
    assert.equal(lines.length, m.counts.Patient);
    for (const f of ['duplicates.tsv', 'outbreaks.tsv', 'outbreak_cases.tsv'])
      assert.ok(readFileSync(join(a, f), 'utf8').split('\n')[0].includes('\t'), f);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('gen --into: the server serves what was generated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jl-gen-into-'));
  const r = run('gen', '--residents', '300', '--years', '2024-2025', '--into', dir, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(dir, 'gen-truth', 'manifest.json'), 'utf8'));
  const srv = await startServer([], { dataDir: dir });
  try {
    for (const [type, id] of Object.entries(m.examples)) {
      const res = await req(srv, 'GET', `/${type}/${id}`);
      assert.equal(res.status, 200, `${type}/${id}: ${res.text.slice(0, 200)}`);
      assert.equal(res.json.resourceType, type);
    }
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
