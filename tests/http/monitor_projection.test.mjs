// The facts projection (docs/indicators.md, "Facts projection") seen from
// outside: `jianlian indicators` builds DATA/indicators.facts once, then reads
// only what was written since; its answers equal a full scan (`--scan`); a
// damaged file is rebuilt; the server answers a whole province, and after
// writes through the API its answers equal a fresh scan.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, req } from './lib.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 28 });
let dir, srv;

const indicators = (region, ...extra) => {
  const r = run('indicators', '--region', region, '--period', '2024', '--data', dir, '--format', 'json', ...extra);
  assert.equal(r.status, 0, r.stderr);
  return { json: JSON.parse(r.stdout), stderr: r.stderr };
};
const strip = (j) => ({ ...j, computed: undefined, dataAsOf: undefined });
const get = async (path) => {
  const r = await fetch(srv.url + path);
  return { status: r.status, json: await r.json() };
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jl-proj-'));
  const g = run('gen', '--residents', '600', '--years', '2022-2024', '--into', dir, '--quiet');
  assert.equal(g.status, 0, g.stderr);
});

after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the CLI builds the projection once, then reads only what is new; answers equal a full scan', () => {
  const first = indicators('532900');
  assert.match(first.stderr, /facts projection rebuilt \(no projection file\)/);
  assert.ok(existsSync(join(dir, 'indicators.facts')));
  const again = indicators('532900');
  assert.match(again.stderr, /facts projection: 0 versions read since the last refresh/);
  const scan = indicators('532900', '--scan');
  assert.match(scan.stderr, /scan: \d+ resources read/);
  assert.deepEqual(strip(again.json), strip(scan.json));
  assert.deepEqual(strip(first.json), strip(scan.json));
});

test('a damaged projection file is rebuilt, never answered from', () => {
  const path = join(dir, 'indicators.facts');
  const bytes = readFileSync(path);
  bytes[bytes.length >> 1] ^= 0x5a;
  writeFileSync(path, bytes);
  const r = indicators('532901');
  assert.match(r.stderr, /facts projection rebuilt \(projection file damaged\)/);
  assert.deepEqual(strip(r.json), strip(indicators('532901', '--scan').json));
});

test('a province evaluates with every prefecture in it (CLI and server)', async () => {
  const prov = indicators('530000').json;
  const pref = indicators('532900').json;
  assert.equal(prov.region.level, 'province');
  for (const i of prov.indicators) {
    if (i.method !== 'count') continue;
    const p = pref.indicators.find((x) => x.id === i.id);
    assert.equal(i.numerator, p.numerator, i.id);
    assert.equal(i.denominator, p.denominator, i.id);
    assert.equal(i.subRegions.length, 16, i.id);
    const other = i.subRegions.find((s) => s.code === '530100');
    assert.equal(other.denominator, 0);
    assert.equal(other.value ?? null, null);
  }
  srv = await startServer([], { dataDir: dir });
  const r = await get('/monitor/indicators?region=530000&year=2024');
  assert.equal(r.status, 200);
  assert.deepEqual(strip(r.json), strip(prov));
  const regions = await get('/monitor/regions?code=530000');
  assert.equal(regions.status, 200);
  assert.equal(regions.json.level, 'province');
  assert.equal(regions.json.children.length, 16);
});

test('after writes through the API the server and the CLI read only the new versions and equal a scan', async () => {
  const page = await req(srv, 'GET', '/Patient?_count=200');
  const residents = page.json.entry.map((e) => e.resource)
    .filter((p) => (p.extension || []).some((x) => x.url.endsWith('cn-residence-status')));
  assert.ok(residents.length >= 3);
  const del = await req(srv, 'DELETE', `/Patient/${residents[0].id}`);
  assert.ok(del.status === 200 || del.status === 204, String(del.status));
  const changed = { ...residents[1], gender: residents[1].gender === 'male' ? 'female' : 'male' };
  delete changed.meta;
  const put = await req(srv, 'PUT', `/Patient/${changed.id}`, { body: changed });
  assert.equal(put.status, 200);
  const r = await get('/monitor/indicators?region=532900&year=2024');
  assert.equal(r.status, 200);
  const scan = indicators('532900', '--scan').json;
  assert.deepEqual(strip(r.json), strip(scan));
  const cli = indicators('532900');
  assert.doesNotMatch(cli.stderr, /rebuilt/);
  assert.deepEqual(strip(cli.json), strip(scan));
});
