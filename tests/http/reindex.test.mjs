// Custom SearchParameter resources and `jianlian reindex`: a parameter added
// at run time is not used until the index is rebuilt (by the command, or
// automatically when the server starts and finds the definitions changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BIN, startServer, req } from './lib.mjs';

const EXT = 'http://example.cn/fhir/StructureDefinition/ethnicity';
const ethnicity = (id, code) => ({ resourceType: 'Patient', id, name: [{ family: id }],
  extension: [{ url: EXT, valueCoding: { system: 'http://www.stats.gov.cn/ethnicity', code } }] });
const param = (code, expr, type = 'token') => ({ resourceType: 'SearchParameter', url: `http://example.cn/fhir/SearchParameter/${code}`,
  name: code, status: 'active', description: `custom ${code}`, code, base: ['Patient'], type, expression: expr });
const ids = (b) => (b.entry || []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort();

test('a custom SearchParameter works after reindex; the server rebuilds by itself when definitions change', async () => {
  let srv = await startServer(['--no-access-log']);
  const dir = srv.dir;
  for (const [id, code] of [['bai-1', '03'], ['bai-2', '03'], ['han-1', '01'], ['yi-1', '02']]) {
    assert.equal((await req(srv, 'PUT', `/Patient/${id}`, { body: ethnicity(id, code) })).status, 201);
  }
  const sp = await req(srv, 'POST', '/SearchParameter', { body: param('ethnicity', `Patient.extension('${EXT}').value`) });
  assert.equal(sp.status, 201, sp.text);
  // not active yet: lenient search reports it
  let r = await req(srv, 'GET', '/Patient?ethnicity=03');
  assert.ok(r.json.entry.find((e) => e.search.mode === 'outcome'));
  await srv.stop({ keepData: true });

  const out = spawnSync(BIN, ['reindex', '--data', dir], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /reindexed .* with 1 custom search parameter/);

  srv = await startServer(['--no-access-log'], { dataDir: dir });
  r = await req(srv, 'GET', '/Patient?ethnicity=03');
  assert.deepEqual(ids(r.json), ['bai-1', 'bai-2']);
  r = await req(srv, 'GET', '/Patient?ethnicity=http://www.stats.gov.cn/ethnicity|01');
  assert.deepEqual(ids(r.json), ['han-1']);
  const cap = await req(srv, 'GET', '/metadata');
  assert.ok(cap.json.rest[0].resource.find((x) => x.type === 'Patient').searchParam.find((p) => p.name === 'ethnicity'));
  // new writes are indexed with it, updates too
  await req(srv, 'PUT', '/Patient/bai-3', { body: ethnicity('bai-3', '03') });
  await req(srv, 'PUT', '/Patient/bai-1', { body: ethnicity('bai-1', '02') });
  r = await req(srv, 'GET', '/Patient?ethnicity=03');
  assert.deepEqual(ids(r.json), ['bai-2', 'bai-3']);
  // a second parameter, then a restart: the server rebuilds the index on its own
  assert.equal((await req(srv, 'POST', '/SearchParameter', { body: param('family-exact', 'Patient.name.family', 'string') })).status, 201);
  await srv.stop({ keepData: true });
  const refuse = spawnSync(BIN, ['serve', '--port', '0', '--data', dir, '--no-auto-reindex'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(refuse.status, 1);
  assert.match(refuse.stderr, /run `jianlian reindex`/);
  srv = await startServer(['--no-access-log'], { dataDir: dir });
  assert.match(srv.logs(), /rebuilding the index/);
  r = await req(srv, 'GET', '/Patient?family-exact=han');
  assert.deepEqual(ids(r.json), ['han-1']);
  r = await req(srv, 'GET', '/Patient?ethnicity=03');
  assert.deepEqual(ids(r.json), ['bai-2', 'bai-3']);
  await srv.stop({ keepData: true });
  rmSync(dir, { recursive: true, force: true });
});

test('reindex: --help, usage errors, a missing data directory', () => {
  assert.equal(spawnSync(BIN, ['reindex', '--help']).status, 0);
  assert.equal(spawnSync(BIN, ['reindex', '--bogus']).status, 2);
  assert.equal(spawnSync(BIN, ['reindex', '--data', '/proc/nope/x']).status, 1);
});
