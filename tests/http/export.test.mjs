// Bulk export ($export, FHIR Bulk Data Access IG): kick-off, polling, the
// manifest, NDJSON downloads checked against what was created, _type,
// _since, _typeFilter, _elements, Patient and Group level, cancellation,
// bad parameters (strict and lenient handling), expiry,
// restarts, and the `jianlian export` command on the same data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, req, outcome } from './lib.mjs';

const ASYNC = { Prefer: 'respond-async', Accept: 'application/fhir+json' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The data: three patients, their records, records that are in no patient's compartment, a Group.
const data = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: '段' }] },
  { resourceType: 'Patient', id: 'p2', name: [{ family: '杨' }] },
  { resourceType: 'Patient', id: 'p3', name: [{ family: '李' }] },
  { resourceType: 'Organization', id: 'org1', name: '大理州人民医院' },
  ...[1, 2, 3].map((i) => obs(`o1-${i}`, 'Patient/p1')),
  obs('o2-1', 'Patient/p2'),
  obs('o3-1', 'Patient/p3'),
  obs('og-1', 'Group/g1'), // subject is a Group: in no patient's compartment
  { resourceType: 'Condition', id: 'c2', subject: { reference: 'Patient/p2' } },
  { resourceType: 'Condition', id: 'c3', subject: { reference: 'Patient/p3' } },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } },
  { resourceType: 'Group', id: 'g1', type: 'person', actual: true,
    member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p3' } }] },
];
function obs(id, subject) {
  return { resourceType: 'Observation', id, status: 'final', code: { text: '血压' }, subject: { reference: subject } };
}

let srv;
before(async () => {
  srv = await startServer(['--no-access-log']);
  for (const r of [...data, obs('gone', 'Patient/p1')]) {
    const res = await req(srv, 'PUT', `/${r.resourceType}/${r.id}`, { body: r });
    assert.equal(res.status, 201, res.text);
  }
  assert.ok([200, 204].includes((await req(srv, 'DELETE', '/Observation/gone')).status));
});
after(async () => { await srv?.stop(); });

async function kickoff(s, path, { headers = ASYNC, method = 'GET', body } = {}) {
  const r = await req(s, method, path, { headers, body });
  assert.equal(r.status, 202, `${path}: ${r.text.slice(0, 400)}`);
  const loc = r.headers.get('content-location');
  assert.match(loc, /\/fhir\/\$export-poll-status\?_jobId=[0-9a-f]{32}$/);
  return { loc, kick: r };
}

async function poll(loc) {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(loc);
    if (r.status === 200) {
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.ok(r.headers.get('expires'));
      return await r.json();
    }
    const text = await r.text();
    assert.equal(r.status, 202, `poll: ${r.status} ${text}`);
    assert.match(r.headers.get('x-progress') || '', /exporting/);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    await sleep(50);
  }
  throw new Error('export did not complete');
}

async function download(m) {
  const byType = {};
  for (const o of m.output) {
    const r = await fetch(o.url, { headers: { Accept: 'application/fhir+ndjson' } });
    assert.equal(r.status, 200, o.url);
    assert.equal(r.headers.get('content-type'), 'application/fhir+ndjson');
    const text = await r.text();
    assert.ok(text.endsWith('\n'));
    const lines = text.split('\n').filter((l) => l);
    assert.equal(lines.length, o.count, `${o.url}: count`);
    for (const l of lines) {
      const res = JSON.parse(l);
      assert.equal(res.resourceType, o.type);
      (byType[o.type] ||= []).push(res.id);
    }
  }
  for (const t of Object.keys(byType)) byType[t].sort();
  return byType;
}

const idsOf = (rs) => {
  const m = {};
  for (const r of rs) (m[r.resourceType] ||= []).push(r.id);
  for (const t of Object.keys(m)) m[t].sort();
  return m;
};

test('system-level export: 202, polling, manifest, NDJSON equal to the live resources', async () => {
  const { loc, kick } = await kickoff(srv, '/$export');
  assert.equal(kick.json.resourceType, 'OperationOutcome');
  const m = await poll(loc);
  assert.match(m.transactionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(m.request, srv.base + '/$export');
  assert.equal(m.requiresAccessToken, false);
  assert.deepEqual(m.error, []);
  assert.deepEqual(await download(m), idsOf(data)); // the deleted Observation is not exported
  const one = m.output.find((o) => o.type === 'Patient');
  const body = await (await fetch(one.url)).text();
  const p1 = JSON.parse(body.split('\n')[0]);
  const read = await req(srv, 'GET', '/Patient/' + p1.id);
  assert.deepEqual(p1, read.json); // a line is the resource as a read returns it
  // HEAD of a file, and a file that does not exist
  const h = await fetch(one.url, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(Number(h.headers.get('content-length')), Buffer.byteLength(body));
  assert.equal((await fetch(one.url.replace(/Patient-1/, 'Patient-9'))).status, 404);
  assert.equal((await fetch(one.url.replace(/[0-9a-f]{32}/, 'f'.repeat(32)))).status, 404);
  assert.equal((await fetch(one.url.replace(/Patient-1\.ndjson/, '..%2Fjob.json'))).status, 404);
  assert.equal((await fetch(one.url, { method: 'DELETE' })).status, 405);
});

test('the CapabilityStatement lists $export at system, Patient and Group level', async () => {
  const cap = (await req(srv, 'GET', '/metadata')).json.rest[0];
  const op = (ops) => (ops || []).find((o) => o.name === 'export')?.definition;
  assert.match(op(cap.operation), /bulkdata\/OperationDefinition\/export$/);
  assert.match(op(cap.resource.find((r) => r.type === 'Patient').operation), /patient-export$/);
  assert.match(op(cap.resource.find((r) => r.type === 'Group').operation), /group-export$/);
  assert.match(cap.operation.find((o) => o.name === 'export').documentation, /_typeFilter.*_elements/);
});

test('_type selects types, in the order given; _outputFormat accepts the NDJSON names', async () => {
  const { loc } = await kickoff(srv, '/$export?_type=Observation,Patient&_outputFormat=application%2Ffhir%2Bndjson');
  const m = await poll(loc);
  assert.deepEqual(m.output.map((o) => o.type), ['Observation', 'Patient']);
  const all = idsOf(data);
  assert.deepEqual(await download(m), { Observation: all.Observation, Patient: all.Patient });
  for (const f of ['ndjson', 'application/ndjson']) await poll((await kickoff(srv, '/$export?_type=Group&_outputFormat=' + encodeURIComponent(f))).loc);
});

test('_since: only resources changed at or after the instant', async () => {
  const first = await poll((await kickoff(srv, '/$export?_type=Observation,Condition')).loc);
  await sleep(5);
  const later = [obs('late-1', 'Patient/p2'), { resourceType: 'Condition', id: 'late-c', subject: { reference: 'Patient/p1' } }];
  for (const r of later) assert.equal((await req(srv, 'PUT', `/${r.resourceType}/${r.id}`, { body: r })).status, 201);
  const upd = { ...data.find((r) => r.id === 'o3-1'), status: 'amended' };
  assert.equal((await req(srv, 'PUT', '/Observation/o3-1', { body: upd })).status, 200);
  const since = encodeURIComponent(first.transactionTime);
  const m = await poll((await kickoff(srv, `/$export?_type=Observation,Condition&_since=${since}`)).loc);
  const got = {};
  for (const o of m.output) {
    const lines = (await (await fetch(o.url)).text()).split('\n').filter((l) => l).map((l) => JSON.parse(l));
    for (const r of lines) {
      assert.ok(r.meta.lastUpdated >= first.transactionTime, `${r.id} ${r.meta.lastUpdated}`);
      got[r.id] = r;
    }
  }
  assert.deepEqual(Object.keys(got).sort(), ['late-1', 'late-c', 'o3-1']);
  assert.equal(got['o3-1'].status, 'amended');
  assert.equal(got['o3-1'].meta.versionId, '2');
  // The manifest of the second export covers the first's later writes too: transactionTime moved on.
  assert.ok(m.transactionTime > first.transactionTime);
  for (const r of later) assert.ok([200, 204].includes((await req(srv, 'DELETE', `/${r.resourceType}/${r.id}`)).status));
  assert.equal((await req(srv, 'PUT', '/Observation/o3-1', { body: data.find((r) => r.id === 'o3-1') })).status, 200);
});

test('Patient/$export: every patient\'s compartment, nothing outside it', async () => {
  const m = await poll((await kickoff(srv, '/Patient/$export')).loc);
  assert.equal(m.request, srv.base + '/Patient/$export');
  const got = await download(m);
  assert.deepEqual(got.Patient, ['p1', 'p2', 'p3']);
  assert.deepEqual(got.Observation, ['o1-1', 'o1-2', 'o1-3', 'o2-1', 'o3-1']); // not og-1 (a Group's)
  assert.deepEqual(got.Condition, ['c2', 'c3']);
  assert.deepEqual(got.Encounter, ['e1']);
  assert.equal(got.Organization, undefined);
  assert.deepEqual(got.Group, ['g1']); // in its members' compartments (Group.member)
  const t = await poll((await kickoff(srv, '/Patient/$export?_type=Condition')).loc);
  assert.deepEqual(await download(t), { Condition: ['c2', 'c3'] });
  const bad = await req(srv, 'GET', '/Patient/$export?_type=Organization', { headers: ASYNC });
  assert.deepEqual(outcome(assert, bad, 400)[0].expression, ['_type']);
});

test('Group/{id}/$export: the compartments of the Group\'s members only', async () => {
  const m = await poll((await kickoff(srv, '/Group/g1/$export')).loc);
  assert.deepEqual(await download(m), {
    Patient: ['p1', 'p3'], Observation: ['o1-1', 'o1-2', 'o1-3', 'o3-1'], Condition: ['c3'], Encounter: ['e1'],
    Group: ['g1'],
  });
  // POST with a Parameters body
  const body = { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }] };
  const p = await poll((await kickoff(srv, '/Group/g1/$export', { method: 'POST', body, headers: { ...ASYNC, 'Content-Type': 'application/fhir+json' } })).loc);
  assert.deepEqual(await download(p), { Observation: ['o1-1', 'o1-2', 'o1-3', 'o3-1'] });
  outcome(assert, await req(srv, 'GET', '/Group/nobody/$export', { headers: ASYNC }), 404);
});

test('bad kick-offs are refused with an OperationOutcome naming the problem', async () => {
  outcome(assert, await req(srv, 'GET', '/$export'), 400); // no Prefer: respond-async
  const cases = [
    ['/$export?_outputFormat=text%2Fcsv', '_outputFormat'],
    ['/$export?_type=Patient,Nonsense', '_type'],
    ['/$export?_type=Patient,,Observation', '_type'],
    ['/$export?_type=Patient,Patient', '_type'],
    ['/$export?_since=yesterday', '_since'],
    ['/$export?_since=2024-01-01', '_since'], // a date, not an instant
    ['/$export?_since=2024-01-01T00:00:00', '_since'], // no time zone
    ['/$export?_since=2024-01-01T00:00:00Z&_since=2024-02-01T00:00:00Z', '_since'],
  ];
  for (const [path, expr] of cases) {
    const issues = outcome(assert, await req(srv, 'GET', path, { headers: ASYNC }), 400);
    assert.ok(issues.some((i) => i.expression?.[0] === expr), `${path}: ${JSON.stringify(issues)}`);
  }
  // Unknown parameters: errors with handling=strict, ignored with a warning otherwise
  const strict = await req(srv, 'GET', '/$export?_bogus=1', { headers: { ...ASYNC, Prefer: 'respond-async, handling=strict' } });
  assert.match(outcome(assert, strict, 400)[0].diagnostics, /_bogus/);
  const { kick } = await kickoff(srv, '/$export?_type=Group&_bogus=1');
  assert.ok(kick.json.issue.some((i) => i.severity === 'warning' && /_bogus/.test(i.diagnostics)));
  // A patient parameter would otherwise widen the export: always refused.
  const body = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/p1' } }] };
  outcome(assert, await req(srv, 'POST', '/Patient/$export', { body, headers: { ...ASYNC, 'Content-Type': 'application/fhir+json' } }), 400);
  outcome(assert, await req(srv, 'POST', '/$export', { body: '{"resourceType":"Patient"}', headers: ASYNC }), 400);
  outcome(assert, await req(srv, 'POST', '/$export', { body: '{oops', headers: ASYNC }), 400);
  outcome(assert, await req(srv, 'PUT', '/$export', { body: '{}', headers: ASYNC }), 405);
  // Status URLs
  outcome(assert, await req(srv, 'GET', '/$export-poll-status'), 400);
  outcome(assert, await req(srv, 'GET', '/$export-poll-status?_jobId=' + '0'.repeat(32)), 404);
});

const tf = (...qs) => qs.map((q) => '_typeFilter=' + encodeURIComponent(q)).join('&');
const LENIENT = { ...ASYNC, Prefer: 'respond-async, handling=lenient' };

async function errorLines(m) {
  const out = [];
  for (const e of m.error) {
    assert.equal(e.type, 'OperationOutcome');
    const text = await (await fetch(e.url)).text();
    for (const l of text.split('\n').filter((x) => x)) out.push(JSON.parse(l));
    assert.equal(text.split('\n').filter((x) => x).length, e.count);
  }
  return out;
}

test('_typeFilter: each query is a search; queries of a type are OR\'ed; a filtered type is exported only filtered', async () => {
  const all = idsOf(data);
  const run = async (path) => download(await poll((await kickoff(srv, path)).loc));
  // One query: only the Observations it matches; Patient (not filtered) whole.
  assert.deepEqual(await run('/$export?_type=Patient,Observation&' + tf('Observation?subject=Patient/p2')),
    { Patient: all.Patient, Observation: ['o2-1'] });
  // Two queries, comma-joined or repeated: OR; a comma inside a query is the search's own OR.
  const two = { Observation: ['o2-1', 'o3-1'] };
  assert.deepEqual(await run('/$export?_type=Observation&_typeFilter=' +
    encodeURIComponent('Observation?subject=Patient/p2') + ',' + encodeURIComponent('Observation?_id=o3-1')), two);
  assert.deepEqual(await run('/$export?_type=Observation&' + tf('Observation?subject=Patient/p2', 'Observation?_id=o3-1')), two);
  assert.deepEqual(await run('/$export?_type=Observation&' + tf('Observation?_id=o1-1,o1-2')), { Observation: ['o1-1', 'o1-2'] });
  // Parameters of one query: AND; chains work as in a search.
  assert.deepEqual(await run('/$export?_type=Observation&' + tf('Observation?subject=Patient/p1&_id=o1-2,o2-1')), { Observation: ['o1-2'] });
  assert.deepEqual(await run('/$export?_type=Observation&' + tf('Observation?subject:Patient.family=杨')), { Observation: ['o2-1'] });
  // A '+' is kept (a time zone, from a client that encoded the query once); nothing was updated in the future.
  assert.deepEqual(await run('/$export?_type=Observation&' + tf('Observation?_lastUpdated=gt2999-01-01T00:00:00+08:00')), {});
  assert.deepEqual((await run('/$export?_type=Observation&' + tf('Observation?_lastUpdated=lt2999-01-01T00:00:00+08:00'))).Observation.length, 6);
  // A type named only in _typeFilter is added, filtered, after the _type list.
  const m = await poll((await kickoff(srv, '/$export?_type=Patient&' + tf('Condition?subject=Patient/p2'))).loc);
  assert.deepEqual(m.output.map((o) => o.type), ['Patient', 'Condition']);
  assert.deepEqual(await download(m), { Patient: all.Patient, Condition: ['c2'] });
  // No _type: every type, the filtered one through its filter.
  assert.deepEqual(await run('/$export?' + tf('Observation?subject=Patient/p1')),
    { ...all, Observation: ['o1-1', 'o1-2', 'o1-3'] });
  // Patient and Group level: the filter AND the compartment.
  const pat = await run('/Patient/$export?' + tf('Observation?_id=o1-2,o3-1,og-1', 'Patient?family=段'));
  assert.deepEqual([pat.Observation, pat.Patient, pat.Condition], [['o1-2', 'o3-1'], ['p1'], ['c2', 'c3']]);
  assert.deepEqual(await run('/Group/g1/$export?_type=Observation&' + tf('Observation?_id=o2-1,o3-1')), { Observation: ['o3-1'] });
  // POST: the Parameters body carries it as valueString.
  const body = { resourceType: 'Parameters', parameter: [
    { name: '_type', valueString: 'Observation' }, { name: '_typeFilter', valueString: 'Observation?subject=Patient/p3' }] };
  const p = await poll((await kickoff(srv, '/$export', { method: 'POST', body, headers: { ...ASYNC, 'Content-Type': 'application/fhir+json' } })).loc);
  assert.deepEqual(await download(p), { Observation: ['o3-1'] });
  assert.deepEqual(p.error, []);
});

test('_typeFilter: a malformed or unsupported query is a 400 naming it; with handling=lenient a warning in the error file', async () => {
  const cases = [
    ['/$export?' + tf('Nonsense?x=1'), /Nonsense/],
    ['/$export?' + tf('Observation'), /Type\?parameters/],
    ['/$export?' + tf('Observation?nonsense=1'), /nonsense/],
    ['/$export?' + tf('Observation?_sort=date'), /_sort.*result parameter/],
    ['/$export?' + tf('Observation?_include=Observation:subject'), /_include/],
    ['/$export?' + tf('Observation?'), /no search parameters/],
    ['/$export?' + tf('Observation?date=notadate'), /date/],
    ['/$export?_typeFilter=Observation%3Fcode%3D%25ZZ', /%-escape/],
    ['/Patient/$export?' + tf('Organization?name=x'), /Patient compartment/],
    ['/$export?_typeFilter=', /empty/],
  ];
  for (const [path, re] of cases) {
    const issues = outcome(assert, await req(srv, 'GET', path, { headers: ASYNC }), 400);
    const i = issues.find((x) => x.expression?.[0] === '_typeFilter');
    assert.ok(i, `${path}: ${JSON.stringify(issues)}`);
    assert.match(i.diagnostics, re, path);
    assert.match(i.diagnostics, /^_typeFilter "/, path); // quotes the query
  }
  // Lenient: the kick-off is accepted; an unknown parameter is skipped (the filter selects more, never less),
  // a query of an unknown type dropped; each is a warning line in the manifest's error file.
  const { loc, kick } = await kickoff(srv, '/$export?_type=Observation&' + tf('Observation?nonsense=1&_id=o1-1', 'Nonsense?x=1'), { headers: LENIENT });
  assert.ok(kick.json.issue.some((i) => i.severity === 'warning' && /nonsense/.test(i.diagnostics)));
  const m = await poll(loc);
  assert.deepEqual(await download(m), { Observation: ['o1-1'] });
  const errs = await errorLines(m);
  assert.equal(errs.length, 2, JSON.stringify(errs));
  assert.ok(errs.every((e) => e.resourceType === 'OperationOutcome' && e.issue[0].severity === 'warning'));
  assert.match(errs.map((e) => e.issue[0].diagnostics).join('\n'), /nonsense[\s\S]*Nonsense/);
});

test('_elements: listed root elements plus the mandatory ones, tagged SUBSETTED', async () => {
  const m = await poll((await kickoff(srv, '/$export?_type=Patient,Observation,Condition&_elements=Patient.name,status')).loc);
  const lines = {};
  for (const o of m.output) lines[o.type] = (await (await fetch(o.url)).text()).split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const tagged = (r) => r.meta.tag?.some((t) => t.code === 'SUBSETTED' && /v3-ObservationValue$/.test(t.system));
  for (const r of lines.Patient) {
    assert.deepEqual(Object.keys(r).sort(), ['id', 'meta', 'name', 'resourceType']);
    assert.ok(tagged(r));
    assert.match(r.meta.versionId, /^\d+$/);
  }
  for (const r of lines.Observation) {
    // status asked for; code is mandatory (1..1); subject is neither
    assert.deepEqual(Object.keys(r).sort(), ['code', 'id', 'meta', 'resourceType', 'status']);
    assert.ok(tagged(r));
  }
  for (const r of lines.Condition) { // "status" is no Condition element; subject is mandatory (1..1)
    assert.deepEqual(Object.keys(r).sort(), ['id', 'meta', 'resourceType', 'subject']);
    assert.ok(tagged(r));
  }
  // Entries only for another type: this one whole, untagged.
  const w = await poll((await kickoff(srv, '/$export?_type=Observation&_elements=Patient.name')).loc);
  const obs1 = JSON.parse((await (await fetch(w.output[0].url)).text()).split('\n')[0]);
  assert.ok(obs1.subject && !tagged(obs1));
  // With _typeFilter: both apply.
  const both = await poll((await kickoff(srv, '/$export?_type=Patient&_elements=id&' + tf('Patient?_id=p2'))).loc);
  const p2 = JSON.parse((await (await fetch(both.output[0].url)).text()).trim());
  assert.deepEqual(Object.keys(p2).sort(), ['id', 'meta', 'resourceType']);
  // Bad entries: 400 naming _elements; lenient: a warning line, the rest applied.
  for (const bad of ['Patient.name.given', 'Nonsense.x', 'Patient.nonsense', 'nonsense', 'Patient.']) {
    const issues = outcome(assert, await req(srv, 'GET', '/$export?_elements=' + encodeURIComponent(bad), { headers: ASYNC }), 400);
    assert.ok(issues.some((i) => i.expression?.[0] === '_elements' && i.diagnostics.includes(bad)), `${bad}: ${JSON.stringify(issues)}`);
  }
  const len = await poll((await kickoff(srv, '/$export?_type=Patient&_elements=Patient.nonsense,Patient.gender', { headers: LENIENT })).loc);
  const errs = await errorLines(len);
  assert.equal(errs.length, 1);
  assert.match(errs[0].issue[0].diagnostics, /Patient\.nonsense/);
});

test('includeAssociatedData: refused (no Provenance is kept) unless lenient', async () => {
  const issues = outcome(assert, await req(srv, 'GET', '/$export?includeAssociatedData=LatestProvenanceResources', { headers: ASYNC }), 400);
  assert.equal(issues[0].expression[0], 'includeAssociatedData');
  const m = await poll((await kickoff(srv, '/$export?_type=Group&includeAssociatedData=LatestProvenanceResources', { headers: LENIENT })).loc);
  assert.match((await errorLines(m))[0].issue[0].diagnostics, /includeAssociatedData/);
});

test('DELETE cancels a job and removes its files; the status then answers 404', async () => {
  // A finished job
  const { loc } = await kickoff(srv, '/$export');
  const m = await poll(loc);
  const id = new URL(loc).searchParams.get('_jobId');
  assert.ok(existsSync(join(srv.dir, 'export', id)));
  const del = await fetch(loc, { method: 'DELETE' });
  assert.equal(del.status, 202);
  assert.equal((await fetch(loc)).status, 404);
  assert.equal((await fetch(m.output[0].url)).status, 404);
  assert.ok(!existsSync(join(srv.dir, 'export', id)));
  // A job deleted straight after its kick-off (running or already done): gone either way.
  const k2 = await kickoff(srv, '/$export');
  assert.equal((await fetch(k2.loc, { method: 'DELETE' })).status, 202);
  assert.equal((await fetch(k2.loc)).status, 404);
  const id2 = new URL(k2.loc).searchParams.get('_jobId');
  for (let i = 0; i < 200 && existsSync(join(srv.dir, 'export', id2)); i++) await sleep(25);
  assert.ok(!existsSync(join(srv.dir, 'export', id2)));
  assert.equal((await fetch(k2.loc, { method: 'DELETE' })).status, 404);
});

test('files are split at --export-file-size; finished jobs expire after --export-ttl', async () => {
  const s = await startServer(['--no-access-log', '--export-ttl', '1', '--export-file-size', '1K']);
  try {
    for (let i = 0; i < 40; i++) {
      const r = await req(s, 'PUT', `/Observation/x${i}`, { body: obs(`x${i}`, 'Patient/p1') });
      assert.equal(r.status, 201);
    }
    const { loc } = await kickoff(s, '/$export');
    const m = await poll(loc);
    assert.ok(m.output.length > 2, JSON.stringify(m.output));
    assert.deepEqual(m.output.map((o) => o.url.split('/').pop()), m.output.map((_, i) => `Observation-${i + 1}.ndjson`));
    const got = await download(m);
    assert.equal(got.Observation.length, 40);
    const id = new URL(loc).searchParams.get('_jobId');
    for (const f of readdirSync(join(s.dir, 'export', id)).filter((f) => f.endsWith('.ndjson'))) {
      assert.ok(statSync(join(s.dir, 'export', id, f)).size <= 1024);
    }
    let status = 200;
    for (let i = 0; i < 200 && status === 200; i++) {
      await sleep(50);
      status = (await fetch(loc)).status;
    }
    assert.equal(status, 404);
    assert.equal((await fetch(m.output[0].url)).status, 404);
    for (let i = 0; i < 100 && existsSync(join(s.dir, 'export', id)); i++) await sleep(20);
    assert.ok(!existsSync(join(s.dir, 'export', id)));
  } finally {
    await s.stop();
  }
});

test('a restart keeps finished jobs and reports interrupted ones as failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jl-export-'));
  let s = await startServer(['--no-access-log'], { dataDir: dir });
  for (const r of data.slice(0, 4)) await req(s, 'PUT', `/${r.resourceType}/${r.id}`, { body: r });
  const { loc } = await kickoff(s, '/$export');
  const m = await poll(loc);
  const id = new URL(loc).searchParams.get('_jobId');
  assert.equal((await s.stop({ keepData: true })).code, 0);
  // What a job looks like on disk when the process died while it ran.
  const dead = 'abcdef0123456789abcdef0123456789';
  mkdirSync(join(dir, 'export', dead));
  writeFileSync(join(dir, 'export', dead, 'job.json'), JSON.stringify({ id: dead, state: 'in-progress', request: 'x', ended: 0 }));
  writeFileSync(join(dir, 'export', dead, 'Patient-1.ndjson'), '{"resourceType":"Pat');
  mkdirSync(join(dir, 'export', 'fedcba9876543210fedcba9876543210')); // no job.json: removed
  s = await startServer(['--no-access-log'], { dataDir: dir });
  try {
    const again = await (await fetch(loc.replace(/^http:\/\/[^/]+/, s.url))).json();
    assert.deepEqual(again.output.map((o) => o.count), m.output.map((o) => o.count));
    assert.deepEqual(await download(again), idsOf(data.slice(0, 4)));
    const failed = await fetch(`${s.base}/$export-poll-status?_jobId=${dead}`);
    assert.equal(failed.status, 500);
    assert.match((await failed.json()).issue[0].diagnostics, /server stopped/);
    assert.deepEqual(readdirSync(join(dir, 'export', dead)), ['job.json']);
    assert.ok(!existsSync(join(dir, 'export', 'fedcba9876543210fedcba9876543210')));
    assert.ok(existsSync(join(dir, 'export', id, 'Patient-1.ndjson')));
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM while exports run: clean exit, the jobs are recorded as failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jl-export-'));
  const gen = spawnSync(BIN, ['gen', '--residents', '300', '--into', dir, '--quiet'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  let s = await startServer(['--no-access-log', '--export-jobs', '2'], { dataDir: dir });
  const k1 = await kickoff(s, '/$export');
  const k2 = await kickoff(s, '/Patient/$export');
  const exit = await s.stop({ keepData: true });
  assert.equal(exit.code, 0);
  s = await startServer(['--no-access-log'], { dataDir: dir });
  try {
    for (const k of [k1, k2]) {
      const r = await fetch(k.loc.replace(/^http:\/\/[^/]+/, s.url));
      assert.ok(r.status === 200 || r.status === 500, `${r.status}`); // finished before the signal, or failed
      if (r.status === 500) assert.match((await r.json()).issue[0].diagnostics, /stopped/);
    }
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('more kick-offs than --export-jobs at once: 429 with Retry-After', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jl-export-'));
  const gen = spawnSync(BIN, ['gen', '--residents', '300', '--into', dir, '--quiet'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const s = await startServer(['--no-access-log', '--export-jobs', '1'], { dataDir: dir });
  try {
    // The Patient compartment of every patient takes long enough that a second kick-off finds it running.
    const first = await kickoff(s, '/Patient/$export');
    const second = await req(s, 'GET', '/$export', { headers: ASYNC });
    const running = (await fetch(first.loc)).status === 202;
    if (running || second.status === 429) {
      outcome(assert, second, 429);
      assert.ok(Number(second.headers.get('retry-after')) > 0);
    }
    await poll(first.loc);
    const third = await kickoff(s, '/$export?_type=Group'); // room again
    await poll(third.loc);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('jianlian export: the same files as $export, nothing half-written, exit codes', async () => {
  const run = (...args) => spawnSync(BIN, ['export', ...args], { encoding: 'utf8', timeout: 60000 });
  const out = mkdtempSync(join(tmpdir(), 'jl-export-cli-'));
  try {
    // The server has the data directory open: the command reads its own snapshot alongside.
    const sys = run(join(out, 'sys'), '--data', srv.dir);
    assert.equal(sys.status, 0, sys.stderr);
    assert.match(sys.stdout, /exported \d+ resources/);
    const m = JSON.parse(readFileSync(join(out, 'sys', 'manifest.json'), 'utf8'));
    assert.equal(m.requiresAccessToken, false);
    const got = {};
    for (const o of m.output) {
      const lines = readFileSync(join(out, 'sys', o.url), 'utf8').split('\n').filter((l) => l);
      assert.equal(lines.length, o.count);
      for (const l of lines) (got[o.type] ||= []).push(JSON.parse(l).id);
    }
    for (const t of Object.keys(got)) got[t].sort();
    assert.deepEqual(got, idsOf(data));
    assert.deepEqual(readdirSync(join(out, 'sys')).filter((f) => f.startsWith('.')), []);

    const grp = run(join(out, 'grp'), '--data', srv.dir, '--group', 'g1', '--type', 'Patient,Condition');
    assert.equal(grp.status, 0, grp.stderr);
    assert.deepEqual(readdirSync(join(out, 'grp')).sort(), ['Condition-1.ndjson', 'Patient-1.ndjson', 'manifest.json']);
    const since = run(join(out, 'since'), '--data', srv.dir, '--since', '2999-01-01T00:00:00Z');
    assert.equal(since.status, 0, since.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'since', 'manifest.json'), 'utf8')).output, []);

    // --type-filter and --elements: as _typeFilter and _elements
    const f = run(join(out, 'flt'), '--data', srv.dir, '--type', 'Patient', '--type-filter', 'Observation?subject=Patient/p2',
      '--type-filter', 'Observation?_id=o3-1', '--elements', 'Patient.name');
    assert.equal(f.status, 0, f.stderr);
    const fm = JSON.parse(readFileSync(join(out, 'flt', 'manifest.json'), 'utf8'));
    assert.deepEqual(fm.output.map((o) => [o.type, o.count]), [['Patient', 3], ['Observation', 2]]);
    const pl = JSON.parse(readFileSync(join(out, 'flt', 'Patient-1.ndjson'), 'utf8').split('\n')[0]);
    assert.deepEqual(Object.keys(pl).sort(), ['id', 'meta', 'name', 'resourceType']);
    assert.equal(pl.meta.tag[0].code, 'SUBSETTED');
    const badf = run(join(out, 'badf'), '--data', srv.dir, '--type-filter', 'Observation?nonsense=1');
    assert.equal(badf.status, 2);
    assert.match(badf.stderr, /_typeFilter "Observation\?nonsense=1"/);
    assert.ok(!existsSync(join(out, 'badf')));
    assert.equal(run(join(out, 'bade'), '--data', srv.dir, '--elements', 'Patient.name.given').status, 2);

    assert.equal(run(join(out, 'sys'), '--data', srv.dir).status, 1); // not empty
    assert.equal(run(join(out, 'x'), '--data', join(out, 'no-such-data')).status, 1);
    assert.ok(!existsSync(join(out, 'x')));
    assert.equal(run(join(out, 'y'), '--data', srv.dir, '--group', 'nobody').status, 1);
    assert.ok(!existsSync(join(out, 'y')));
    assert.equal(run(join(out, 'z'), '--data', srv.dir, '--type', 'Nonsense').status, 2);
    assert.equal(run(join(out, 'z'), '--data', srv.dir, '--patients', '--type', 'Organization').status, 2);
    assert.equal(run(join(out, 'z'), '--data', srv.dir, '--since', 'last week').status, 2);
    assert.equal(run(join(out, 'z'), '--patients', '--group', 'g1').status, 2);
    assert.equal(run().status, 2);
    assert.equal(run('--bogus').status, 2);
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: jianlian export DIR/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
