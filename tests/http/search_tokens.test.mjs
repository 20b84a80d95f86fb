// Token searches on the index layout 5 (docs/internals/search.md, "Fewer rows per write"): a code's
// row carries its system in a column, so code, system|code and |code read the same rows, and a
// resource holding one code in several systems must still come once, in order, across pages.
// Token texts (:text) are kept once per parameter and reached through token rows. Every form is
// checked here against exact ids, also after updates and deletes (rows removed exactly), and a
// store of the older layout is migrated and rebuilt at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startServer, req } from './lib.mjs';

const A = 'http://example.cn/cs/a';
const B = 'http://example.cn/cs/b';
const MR = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const PID = 'urn:oid:2.16.156.10011.1.3';
const enc = encodeURIComponent;

const obs = (id, codings, { text, status = 'final', subject } = {}) => ({
  resourceType: 'Observation', id, status,
  code: { coding: codings.map(([system, code, display]) => ({ ...(system ? { system } : {}), code, ...(display ? { display } : {}) })), ...(text ? { text } : {}) },
  ...(subject ? { subject: { reference: subject } } : {}),
});
const fixtures = [
  { resourceType: 'Patient', id: 'p1', identifier: [{ system: PID, value: 'V1', type: { coding: [{ system: MR, code: 'MR' }], text: '病案号' } }, { system: 'urn:x', value: 'V1' }] },
  { resourceType: 'Patient', id: 'p2', identifier: [{ system: PID, value: 'V2' }] },
  // X in two systems (its second row is flagged as a duplicate), in one, without a system, and none
  obs('o1', [[A, 'X', '收缩压 Systolic'], [B, 'X', 'systolic BP']], { subject: 'Patient/p1' }),
  obs('o2', [[A, 'X', '收缩压 Systolic']], { subject: 'Patient/p2', status: 'amended' }),
  obs('o3', [[null, 'X']], { text: 'Free TEXT note' }),
  obs('o4', [[B, 'Y', 'other']]),
  obs('o5', [[B, 'X'], [A, 'X'], [A, 'Z']], { subject: 'Patient/p1' }),
];

let srv;
before(async () => {
  srv = await startServer(['--no-access-log']);
  for (const r of fixtures) {
    const res = await req(srv, 'PUT', `/${r.resourceType}/${r.id}`, { body: r });
    assert.equal(res.status, 201, `${r.id}: ${res.text}`);
  }
});
after(async () => { await srv.stop(); });

const ids = (b) => (b.entry || []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource.id);
async function expectIds(q, want, on = srv) {
  const r = await req(on, 'GET', q);
  assert.equal(r.status, 200, `${q}: ${r.text.slice(0, 300)}`);
  assert.equal(r.json.entry?.find((e) => e.search?.mode === 'outcome'), undefined, `${q}: ${r.text.slice(0, 300)}`);
  assert.deepEqual(ids(r.json).sort(), [...want].sort(), `${q} → ${ids(r.json).join(',')}`);
}

const forms = [
  // code alone: any system, each resource once (o1 and o5 hold X twice)
  ['/Observation?code=X', ['o1', 'o2', 'o3', 'o5']],
  [`/Observation?code=${enc(A)}|X`, ['o1', 'o2', 'o5']],
  [`/Observation?code=${enc(B)}|X`, ['o1', 'o5']],
  ['/Observation?code=http://example.cn/cs/none|X', []],
  ['/Observation?code=|X', ['o3']],
  ['/Observation?code=|Y', []],
  [`/Observation?code=${enc(B)}|`, ['o1', 'o4', 'o5']],
  [`/Observation?code=${enc(A)}|Z`, ['o5']],
  [`/Observation?code=${enc(B)}|Z`, []],
  [`/Observation?code=${enc(A)}|X,${enc(B)}|Y`, ['o1', 'o2', 'o4', 'o5']],
  // :not of each form
  ['/Observation?code:not=X', ['o4']],
  [`/Observation?code:not=${enc(B)}|X`, ['o2', 'o3', 'o4']],
  ['/Observation?code:not=|X', ['o1', 'o2', 'o4', 'o5']],
  [`/Observation?code:not=${enc(A)}|`, ['o3', 'o4']],
  // :missing
  ['/Observation?code:missing=false', ['o1', 'o2', 'o3', 'o4', 'o5']],
  ['/Observation?subject:missing=true', ['o3', 'o4']],
  // :text: display and CodeableConcept.text, a prefix of the folded text, shared texts
  ['/Observation?code:text=systolic', ['o1']],
  ['/Observation?code:text=收缩', ['o1', 'o2']],
  ['/Observation?code:text=free%20text', ['o3']],
  ['/Observation?code:text=nothing', []],
  ['/Observation?code:text=other,free', ['o3', 'o4']],
  ['/Patient?identifier:text=病案', ['p1']],
  // :of-type, identifiers (one value in two systems: p1 once)
  [`/Patient?identifier:of-type=${enc(MR)}|MR|V1`, ['p1']],
  [`/Patient?identifier:of-type=${enc(MR)}|MR|V2`, []],
  ['/Patient?identifier=V1', ['p1']],
  [`/Patient?identifier=${enc(PID)}|V1`, ['p1']],
  ['/Patient?identifier=urn:x|V2', []],
  // with other conditions (the planner counts both), derived parameters, chains and _has
  ['/Observation?code=X&status=final', ['o1', 'o3', 'o5']],
  [`/Observation?code=${enc(A)}|X&status=amended`, ['o2']],
  [`/Observation?combo-code=${enc(B)}|X`, ['o1', 'o5']],
  ['/Observation?combo-code=X', ['o1', 'o2', 'o3', 'o5']],
  ['/Observation?combo-code:text=systolic', ['o1']],
  [`/Observation?subject.identifier=${enc(PID)}|V1`, ['o1', 'o5']],
  [`/Observation?subject.identifier=urn:x|V1&code=${enc(A)}|Z`, ['o5']],
  [`/Patient?_has:Observation:subject:code=${enc(B)}|X`, ['p1']],
  [`/Patient?_has:Observation:subject:code=${enc(A)}|X`, ['p1', 'p2']],
  ['/Patient?_has:Observation:subject:code:text=收缩压', ['p1', 'p2']],
];

test('token search forms on the one-row-per-code layout give exact ids', async () => {
  for (const [q, want] of forms) await expectIds(q, want);
});

test('a code in two systems: each resource once, in order, on every page and in the total', async () => {
  for (const q of ['/Observation?code=X', `/Observation?code=${enc(A)}|X`, '/Observation?combo-code=X']) {
    const seen = [];
    let r = await req(srv, 'GET', `${q}&_count=1&_total=accurate`);
    assert.equal(r.status, 200, r.text);
    const total = r.json.total;
    for (;;) {
      seen.push(...ids(r.json));
      const next = r.json.link?.find((l) => l.relation === 'next');
      if (!next) break;
      const res = await fetch(next.url);
      r = { status: res.status, json: await res.json() };
      assert.equal(r.status, 200);
    }
    assert.equal(new Set(seen).size, seen.length, `${q}: ${seen}`);
    assert.equal(seen.length, total, `${q}: ${seen} vs total ${total}`);
  }
  const r = await req(srv, 'GET', '/Observation?code=X&_sort=_id');
  assert.deepEqual(ids(r.json), ['o1', 'o2', 'o3', 'o5']);
});

test('updates and deletes remove exactly the rows they replace (duplicate flags, texts)', async () => {
  const put = async (r) => assert.equal((await req(srv, 'PUT', `/Observation/${r.id}`, { body: r })).status, 200);
  // o5 loses B|X: its A|X row was its first, now the only one
  await put(obs('o5', [[A, 'X'], [A, 'Z']], { subject: 'Patient/p1' }));
  await expectIds(`/Observation?code=${enc(B)}|X`, ['o1']);
  await expectIds('/Observation?code=X', ['o1', 'o2', 'o3', 'o5']);
  // o1 loses A|X: its B|X row (flagged before) is now its first
  await put(obs('o1', [[B, 'X', 'diastolic']], { subject: 'Patient/p1' }));
  await expectIds('/Observation?code=X', ['o1', 'o2', 'o3', 'o5']);
  await expectIds(`/Observation?code=${enc(A)}|X`, ['o2', 'o5']);
  await expectIds('/Observation?code:text=systolic', []);
  await expectIds('/Observation?code:text=diastolic', ['o1']);
  await expectIds('/Observation?code:text=收缩', ['o2']);
  // the text stays known to the index, but no resource holds it any more
  assert.ok([200, 204].includes((await req(srv, 'DELETE', '/Observation/o2')).status));
  await expectIds('/Observation?code:text=收缩', []);
  await expectIds('/Observation?code=X', ['o1', 'o3', 'o5']);
  // and back
  await put(obs('o1', [[A, 'X', '收缩压 Systolic'], [B, 'X', 'systolic BP']], { subject: 'Patient/p1' }));
  await expectIds('/Observation?code:text=收缩', ['o1']);
  await expectIds(`/Observation?code=${enc(B)}|X`, ['o1']);
});

// The sqlite3 shell sets a store back to schema 4 (the layout before this one) with rows of the old shape.
const sqlite3 = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
test('a store of the older token layout is migrated and its index rebuilt at start', { skip: sqlite3.status !== 0 && 'no sqlite3 shell' }, async () => {
  let s = await startServer(['--no-access-log']);
  const dir = s.dir;
  for (const r of fixtures) assert.equal((await req(s, 'PUT', `/${r.resourceType}/${r.id}`, { body: r })).status, 201);
  await s.stop({ keepData: true });
  const old = spawnSync('sqlite3', [`${dir}/jianlian.db`,
    'DROP TABLE ix_token; DROP TABLE ix_text;' +
    ' CREATE TABLE ix_token(k INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(k, rid)) WITHOUT ROWID;' +
    ' INSERT INTO ix_token SELECT 42, rid FROM res;' +
    " UPDATE meta SET value = '0123456789abcdef' WHERE key = 'search.fingerprint';" +
    ' PRAGMA user_version = 4;'], { encoding: 'utf8' });
  assert.equal(old.status, 0, old.stderr);
  s = await startServer(['--no-access-log'], { dataDir: dir });
  try {
    assert.match(s.logs(), /rebuilding the index/);
    await expectIds('/Observation?code=X', ['o1', 'o2', 'o3', 'o5'], s);
    await expectIds(`/Observation?code=${enc(B)}|X`, ['o1', 'o5'], s);
    await expectIds('/Observation?code=|X', ['o3'], s);
    await expectIds('/Observation?code:text=收缩', ['o1', 'o2'], s);
    await expectIds(`/Patient?identifier:of-type=${enc(MR)}|MR|V1`, ['p1'], s);
  } finally {
    await s.stop({ keepData: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
