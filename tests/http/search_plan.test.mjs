// The search planner's shortcuts keep results exact: several date conditions
// on one multi-valued parameter (values that meet the conditions separately
// still match), estimates counted only as far as the smallest
// condition, matches loaded from their page rows, included resources read
// once, and pages of a cursor (whose connection gave back its cache) that
// neither repeat nor skip; a sorted driver that cuts its page before reading
// resource rows gives the same pages as the full join.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req } from './lib.mjs';

const ADMIN = 'test-admin-token-0123456789';
let srv;

const goal = (id, status, dues) => ({
  resourceType: 'Goal', id, lifecycleStatus: status,
  description: { text: id }, subject: { reference: 'Patient/p1' },
  ...(dues.length ? { target: dues.map((d) => ({ dueDate: d })) } : {}),
});
const obs = (id, subject, date, code = '8480-6') => ({
  resourceType: 'Observation', id, status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  subject: { reference: `Patient/${subject}` }, effectiveDateTime: date,
});

const fixtures = [
  { resourceType: 'Patient', id: 'p1', gender: 'female', name: [{ family: 'Plan' }] },
  { resourceType: 'Patient', id: 'p2', gender: 'male', name: [{ family: 'Plan' }] },
  // Goal.target is 0..*: target-date has several values per resource
  goal('g-both', 'active', ['2024-01-10', '2024-03-10']), // Jan and Mar: meet ge-Mar and lt-Feb separately
  goal('g-feb', 'active', ['2024-02-15']),                 // one value, between the two bounds
  goal('g-mar', 'active', ['2024-03-05']),
  goal('g-jan', 'active', ['2024-01-05']),
  goal('g-none', 'active', []),
  goal('g-old', 'completed', ['2024-01-10', '2024-03-10']),
  goal('g-old2', 'completed', ['2024-02-10']),
  goal('g-old3', 'completed', ['2024-02-11']),
];
// cancelled goals far before and after: the date conditions match more goals than the status does
for (let i = 0; i < 4; i++) fixtures.push(goal(`g-c${i}`, 'cancelled', [`2022-0${i + 1}-01`, `2026-0${i + 1}-01`]));
for (let i = 0; i < 12; i++) {
  const month = String(1 + (i % 6)).padStart(2, '0');
  fixtures.push(obs(`o-${i}`, i % 3 === 0 ? 'p2' : 'p1', `2024-${month}-15T08:00:00Z`));
}
fixtures.push(obs('o-other', 'p1', '2024-02-15T08:00:00Z', '8462-4'));

before(async () => {
  srv = await startServer(['--no-access-log', '--admin-token', ADMIN]);
  for (const r of fixtures) {
    const res = await req(srv, 'PUT', `/${r.resourceType}/${r.id}`, { body: r });
    assert.ok(res.status === 201 || res.status === 200, `${r.id}: ${res.text}`);
  }
});
after(async () => { await srv.stop(); });

const ids = (b) => (b.entry || []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id);
async function get(q, headers = {}) {
  const r = await req(srv, 'GET', q, { headers });
  assert.equal(r.status, 200, `${q}: ${r.text.slice(0, 400)}`);
  return r.json;
}
const plan = async (q) => (await get(`${q}&_debug=plan`, { 'X-Admin-Token': ADMIN })).issue[0].diagnostics;

test('two date conditions on one multi-valued parameter: each condition met by some value', async () => {
  const q = '/Goal?lifecycle-status=active&target-date=ge2024-03-01&target-date=lt2024-02-01';
  // g-both has a March value (ge) and a January value (lt); no other active goal has both
  assert.deepEqual(ids(await get(q)).sort(), ['g-both']);
  const p = await plan(q);
  assert.match(p, /driver: condition 1/, p); // the status drives; both date conditions filter
  // the usual window: a value inside it, or values on both sides (January and March)
  assert.deepEqual(ids(await get('/Goal?lifecycle-status=active&target-date=ge2024-02-01&target-date=lt2024-03-01')).sort(),
    ['g-both', 'g-feb']);
  assert.deepEqual(ids(await get('/Goal?lifecycle-status=completed&target-date=ge2024-02-01&target-date=lt2024-03-01')).sort(),
    ['g-old', 'g-old2', 'g-old3']);
  // three conditions, one of them an exact day
  assert.deepEqual(ids(await get('/Goal?lifecycle-status=active&target-date=ge2024-01-01&target-date=lt2024-04-01&target-date=2024-03-10')),
    ['g-both']);
  assert.deepEqual(ids(await get('/Goal?lifecycle-status=active&target-date=ge2024-01-01&target-date=lt2024-04-01&target-date=2024-03-11')),
    []);
});

test('estimates: a small condition counted first drives, whatever the order of the parameters', async () => {
  for (const q of ['/Observation?date=ge2024-01-01&subject=Patient/p2', '/Observation?subject=Patient/p2&date=ge2024-01-01']) {
    assert.deepEqual(ids(await get(q)), ['o-0', 'o-3', 'o-6', 'o-9'], q);
    const p = await plan(q);
    const sub = q.startsWith('/Observation?date') ? 2 : 1;
    assert.match(p, new RegExp(`driver: condition ${sub} `), p);
    // the other condition was counted only as far as the driver's 4 rows: a lower bound
    assert.match(p, /estimated rows >= 4 — filter/, p);
    // a reference to one target gives its rows once and in rid order: no DISTINCT, no sort
    assert.doesNotMatch(p, /DISTINCT|TEMP B-TREE/, p);
  }
  // _total=estimate still reports the driver's exact count
  const b = await get('/Observation?subject=Patient/p2&date=ge2024-01-01&_total=estimate&_count=2');
  assert.equal(b.total, 4);
});

test('matches load from their page rows: every field of each version, in order, across pages', async () => {
  const all = await get('/Observation?code=http://loinc.org|8480-6&_count=100');
  const want = ids(all);
  assert.equal(want.length, 12);
  const got = [];
  let b = await get('/Observation?code=http://loinc.org|8480-6&_count=5');
  for (let n = 0; n < 10; n++) {
    for (const e of b.entry || []) {
      got.push(e.resource.id);
      const full = all.entry.find((x) => x.resource.id === e.resource.id);
      assert.deepEqual(e.resource, full.resource);
      assert.equal(e.fullUrl, full.fullUrl);
    }
    const next = (b.link || []).find((l) => l.relation === 'next');
    if (!next) break;
    b = await get(next.url.slice(srv.base.length));
  }
  assert.deepEqual(got, want);
  // an update between pages is not seen by the cursor's later pages
  const first = await get('/Observation?code=http://loinc.org|8480-6&_count=5');
  const upd = await req(srv, 'PUT', '/Observation/o-11', { body: obs('o-11', 'p1', '2024-06-15T08:00:00Z', '8462-4') });
  assert.equal(upd.status, 200);
  const next = first.link.find((l) => l.relation === 'next').url.slice(srv.base.length);
  const p2 = await get(next);
  const p3 = await get(p2.link.find((l) => l.relation === 'next').url.slice(srv.base.length));
  const last = p3.entry.map((e) => e.resource);
  assert.equal(last.at(-1).id, 'o-11');
  assert.equal(last.at(-1).code.coding[0].code, '8480-6'); // as of the snapshot
  assert.equal(last.at(-1).meta.versionId, '1');
  assert.deepEqual(ids(await get('/Observation?code=http://loinc.org|8480-6&_count=100')).length, 11);
});

test('_include reads each referenced resource once and lists it once', async () => {
  const b = await get('/Observation?code=http://loinc.org|8462-4,http://loinc.org|8480-6&_include=Observation:subject&_count=50');
  const inc = (b.entry || []).filter((e) => e.search.mode === 'include').map((e) => e.resource.id).sort();
  assert.deepEqual(inc, ['p1', 'p2']);
  assert.equal(ids(b).length, 13);
  // an included resource that is also a match appears once, as a match
  const c = await get('/Patient?family=plan&_revinclude=Observation:subject&_count=50');
  const seen = c.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`);
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(seen.length, 2 + 13);
});

test('a sorted driver cuts its page before reading resource rows: same matches and pages as the full join', async () => {
  const pat = (id, gender, families) => ({ resourceType: 'Patient', id, gender, name: families.map((f) => ({ family: f })) });
  const made = [
    pat('lt-1', 'female', ['Latour']),
    pat('lt-2', 'female', ['Latour', 'Lateef']), // two rows under the prefix: one match
    pat('lt-3', 'male', ['Latour']),
    pat('lt-4', 'female', ['Latimer']),          // deleted below
    pat('lt-5', 'female', ['Laterne']),          // renamed below: its rows go
    pat('lt-6', 'female', ['Lateran']),
    pat('lt-7', 'female', ['Latour']),           // updated below, still a match
    pat('lt-8', 'female', ['Lathe', 'Latour']),
    pat('lt-9', 'other', ['Latour']),
  ];
  // more women than Lat… rows, so the name drives
  for (let i = 0; i < 12; i++) made.push(pat(`lt-z${i}`, 'female', ['Zed']));
  for (const r of made) assert.equal((await req(srv, 'PUT', `/Patient/${r.id}`, { body: r })).status, 201);
  assert.ok([200, 204].includes((await req(srv, 'DELETE', '/Patient/lt-4')).status));
  assert.equal((await req(srv, 'PUT', '/Patient/lt-5', { body: pat('lt-5', 'female', ['Other']) })).status, 200);
  assert.equal((await req(srv, 'PUT', '/Patient/lt-7', { body: { ...pat('lt-7', 'female', ['Latour']), birthDate: '1990-01-01' } })).status, 200);
  const want = ['lt-1', 'lt-2', 'lt-6', 'lt-7', 'lt-8'];
  const walk = async (q) => {
    const got = [];
    let b = await get(q);
    for (let n = 0; n < 10; n++) {
      got.push(...ids(b));
      const next = (b.link || []).find((l) => l.relation === 'next');
      if (!next) break;
      b = await get(next.url.slice(srv.base.length));
    }
    return got;
  };
  const late = '/Patient?family=lat&gender=female';
  // _lastUpdated reads the resource row: the same search with the full join, for comparison
  const full = `${late}&_lastUpdated=gt2000-01-01`;
  assert.match(await plan(`${late}&_count=2`), /AS m JOIN res r/);
  assert.doesNotMatch(await plan(`${full}&_count=2`), /AS m JOIN res r/);
  for (const count of [1, 2, 3, 100]) {
    assert.deepEqual(await walk(`${late}&_count=${count}`), want, `_count=${count}`);
    assert.deepEqual(await walk(`${full}&_count=${count}`), want, `_count=${count}`);
  }
  // the updated match loads its current version
  const b = await get(`${late}&_count=100`);
  assert.equal(b.entry.find((e) => e.resource.id === 'lt-7').resource.birthDate, '1990-01-01');
  assert.equal((await get(`${late}&_total=accurate&_count=1`)).total, 5);
  // a filter that never holds, and a prefix no row has
  assert.deepEqual(await walk('/Patient?family=lat&gender=unknown&_count=2'), []);
  assert.deepEqual(await walk('/Patient?family=latz&gender=female&_count=2'), []);
});
