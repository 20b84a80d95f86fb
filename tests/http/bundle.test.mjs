// Conditional interactions, batch and transaction Bundles (R4 http.html §3.1.0.4-3.1.0.11),
// including the shapes Synthea writes (urn:uuid fullUrls, conditional references, ifNoneExist).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, outcome, patient } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(['--max-conditional-delete', '3']); });
after(async () => { const e = await srv.stop(); assert.equal(e.code, 0, 'server exits 0 on SIGTERM'); });

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;
const ident = (system, value) => ({ identifier: [{ system, value }] });
const count = async (q) => {
  const r = await req(srv, 'GET', `/${q}${q.includes('?') ? '&' : '?'}_total=accurate&_count=0`);
  assert.equal(r.status, 200, r.text);
  return r.json.total;
};
const tx = (type, entry) => ({ resourceType: 'Bundle', type, entry });
const post = (body, extra = {}) => ({ resource: body, request: { method: 'POST', url: body.resourceType, ...extra } });
const obs = (subject, extra = {}) => ({
  resourceType: 'Observation', status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
  subject: { reference: subject }, valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  ...extra,
});

// ---- conditional create / update / delete over plain HTTP ----

test('conditional create: created once, then the existing resource with 200; ambiguous criteria 412', async () => {
  const v = uniq('mrn');
  const h = { 'If-None-Exist': `identifier=http://hosp|${v}` };
  const a = await req(srv, 'POST', '/Patient', { body: patient(ident('http://hosp', v)), headers: h });
  assert.equal(a.status, 201, a.text);
  const b = await req(srv, 'POST', '/Patient', { body: patient(ident('http://hosp', v)), headers: h });
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.id, a.json.id);
  assert.equal(b.json.meta.versionId, '1');
  assert.match(b.headers.get('location'), new RegExp(`/Patient/${a.json.id}/_history/1$`));
  assert.equal(await count(`Patient?identifier=http://hosp|${v}`), 1);
  // A "Type?" prefix is accepted too.
  const c = await req(srv, 'POST', '/Patient', { body: patient(ident('http://hosp', v)), headers: { 'If-None-Exist': `Patient?identifier=http://hosp|${v}` } });
  assert.equal(c.status, 200, c.text);
  // Two matches: the condition is not selective enough.
  const fam = uniq('fam');
  await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  const d = await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }), headers: { 'If-None-Exist': `family:exact=${fam}` } });
  outcome(assert, d, 412);
  assert.equal(await count(`Patient?family:exact=${fam}`), 2);
});

test('conditional create: an unknown or empty criterion is refused, not ignored', async () => {
  const r = await req(srv, 'POST', '/Patient', { body: patient(), headers: { 'If-None-Exist': 'no-such-param=1' } });
  const issues = outcome(assert, r, 400);
  assert.match(JSON.stringify(issues), /no-such-param/);
  const e = await req(srv, 'POST', '/Patient', { body: patient(), headers: { 'If-None-Exist': '' } });
  outcome(assert, e, 400);
});

test('conditional create: concurrent requests with the same criteria create exactly one resource', async () => {
  const v = uniq('race');
  const h = { 'If-None-Exist': `identifier=http://race|${v}` };
  const rs = await Promise.all(Array.from({ length: 24 }, () =>
    req(srv, 'POST', '/Patient', { body: patient(ident('http://race', v)), headers: h })));
  const created = rs.filter((r) => r.status === 201);
  assert.equal(created.length, 1, rs.map((r) => r.status).join(','));
  assert.ok(rs.every((r) => r.status === 201 || r.status === 200));
  assert.equal(new Set(rs.map((r) => r.json.id)).size, 1);
  assert.equal(await count(`Patient?identifier=http://race|${v}`), 1);
});

test('conditional update: no match creates, one match updates it, a different body id is 400, two matches 412', async () => {
  const v = uniq('cu');
  const q = `/Patient?identifier=http://cu|${v}`;
  const a = await req(srv, 'PUT', q, { body: patient(ident('http://cu', v)) });
  assert.equal(a.status, 201, a.text);
  const id = a.json.id;
  const b = await req(srv, 'PUT', q, { body: patient({ ...ident('http://cu', v), gender: 'male' }) });
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.id, id);
  assert.equal(b.json.meta.versionId, '2');
  assert.equal(b.json.gender, 'male');
  const c = await req(srv, 'PUT', q, { body: patient({ ...ident('http://cu', v), id: 'someone-else' }) });
  outcome(assert, c, 400);
  // No match with an id in the body: update-as-create with that id.
  const own = uniq('own');
  const w = uniq('cu2');
  const d = await req(srv, 'PUT', `/Patient?identifier=http://cu|${w}`, { body: patient({ ...ident('http://cu', w), id: own }) });
  assert.equal(d.status, 201, d.text);
  assert.equal(d.json.id, own);
  const fam = uniq('fam');
  await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  outcome(assert, await req(srv, 'PUT', `/Patient?family:exact=${fam}`, { body: patient({ name: [{ family: fam }] }) }), 412);
  outcome(assert, await req(srv, 'PUT', '/Patient', { body: patient() }), 400);
});

test('conditional delete: 404 without a match, deletes up to the configured limit, 412 beyond', async () => {
  const v = uniq('cd');
  outcome(assert, await req(srv, 'DELETE', `/Patient?identifier=http://cd|${v}`), 404);
  const a = await req(srv, 'POST', '/Patient', { body: patient(ident('http://cd', v)) });
  const d = await req(srv, 'DELETE', `/Patient?identifier=http://cd|${v}`);
  assert.equal(d.status, 204, d.text);
  assert.equal((await req(srv, 'GET', `/Patient/${a.json.id}`)).status, 410);
  const fam = uniq('fam');
  for (let i = 0; i < 3; i++) await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  const m = await req(srv, 'DELETE', `/Patient?family:exact=${fam}`, { headers: { Prefer: 'return=OperationOutcome' } });
  assert.equal(m.status, 200, m.text);
  assert.match(m.json.issue[0].diagnostics, /Deleted 3 Patient/);
  assert.equal(await count(`Patient?family:exact=${fam}`), 0);
  const fam2 = uniq('fam');
  for (let i = 0; i < 4; i++) await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam2 }] }) });
  outcome(assert, await req(srv, 'DELETE', `/Patient?family:exact=${fam2}`), 412);
  assert.equal(await count(`Patient?family:exact=${fam2}`), 4, 'nothing deleted on 412');
});

// ---- transactions ----

test('transaction: urn:uuid fullUrls become ids everywhere they are referenced; response in entry order', async () => {
  const pu = 'urn:uuid:' + crypto.randomUUID();
  const eu = 'urn:uuid:' + crypto.randomUUID();
  const oid = 'urn:oid:1.2.156.' + Date.now();
  const b = tx('transaction', [
    { fullUrl: eu, resource: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: pu } }, request: { method: 'POST', url: 'Encounter' } },
    { fullUrl: pu, resource: patient({ extension: [{ url: 'http://example.org/ext', valueReference: { reference: oid } }] }), request: { method: 'POST', url: 'Patient' } },
    { fullUrl: oid, resource: { resourceType: 'Organization', name: uniq('org') }, request: { method: 'POST', url: 'Organization' } },
    { resource: obs(pu, { encounter: { reference: eu }, performer: [{ reference: oid }, { reference: pu }] }), request: { method: 'POST', url: 'Observation' } },
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.resourceType, 'Bundle');
  assert.equal(r.json.type, 'transaction-response');
  assert.equal(r.json.entry.length, 4);
  const ids = r.json.entry.map((e) => {
    assert.equal(e.response.status, '201 Created');
    assert.match(e.response.location, /^[A-Za-z]+\/[0-9a-f-]{36}\/_history\/1$/);
    assert.equal(e.response.etag, 'W/"1"');
    assert.match(e.response.lastModified, /^\d{4}-\d\d-\d\dT/);
    return e.response.location.split('/').slice(0, 2).join('/');
  });
  assert.deepEqual(ids.map((x) => x.split('/')[0]), ['Encounter', 'Patient', 'Organization', 'Observation']);
  const o = (await req(srv, 'GET', `/${ids[3]}`)).json;
  assert.equal(o.subject.reference, ids[1]);
  assert.equal(o.encounter.reference, ids[0]);
  assert.deepEqual(o.performer.map((p) => p.reference), [ids[2], ids[1]]);
  const p = (await req(srv, 'GET', `/${ids[1]}`)).json;
  assert.equal(p.extension[0].valueReference.reference, ids[2]);
  const e = (await req(srv, 'GET', `/${ids[0]}`)).json;
  assert.equal(e.subject.reference, ids[1]);
  // The references are searchable like any other.
  assert.equal(await count(`Observation?subject=${ids[1]}`), 1);
});

test('transaction: DELETE, POST, PUT then GET — reads see the transaction result', async () => {
  const gone = await req(srv, 'POST', '/Patient', { body: patient() });
  const keep = await req(srv, 'POST', '/Patient', { body: patient() });
  const pu = 'urn:uuid:' + crypto.randomUUID();
  const b = tx('transaction', [
    { request: { method: 'GET', url: `Patient/${keep.json.id}` } },
    { resource: { ...keep.json, gender: 'other' }, request: { method: 'PUT', url: `Patient/${keep.json.id}` } },
    { fullUrl: pu, resource: patient({ gender: 'unknown' }), request: { method: 'POST', url: 'Patient' } },
    { request: { method: 'DELETE', url: `Patient/${gone.json.id}` } },
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  assert.equal(r.status, 200, r.text);
  const [g, u, c, d] = r.json.entry;
  assert.equal(g.response.status, '200 OK');
  assert.equal(g.resource.gender, 'other', 'GET ran after the PUT');
  assert.equal(g.resource.meta.versionId, '2');
  assert.equal(u.response.status, '200 OK');
  assert.equal(u.response.etag, 'W/"2"');
  assert.equal(c.response.status, '201 Created');
  assert.ok(d.response.status.startsWith('204') || d.response.status.startsWith('200'), d.response.status);
  assert.equal((await req(srv, 'GET', `/Patient/${gone.json.id}`)).status, 410);
});

test('transaction: a failing entry rolls everything back and is named', async () => {
  const fam = uniq('rollback');
  const before_ = await count(`Patient?family:exact=${fam}`);
  const b = tx('transaction', [
    post(patient({ name: [{ family: fam }] })),
    post({ resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } }),
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  const issues = outcome(assert, r, 422);
  assert.equal(issues[0].expression[0], 'Bundle.entry[1].resource.status');
  assert.equal(await count(`Patient?family:exact=${fam}`), before_, 'the valid entry was not written');

  // An If-Match that fails at commit: 412 naming the entry, nothing written.
  const p = await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: fam }] }) });
  const b2 = tx('transaction', [
    post(patient({ name: [{ family: fam }] })),
    { resource: { ...p.json, gender: 'male' }, request: { method: 'PUT', url: `Patient/${p.json.id}`, ifMatch: 'W/"7"' } },
  ]);
  const r2 = await req(srv, 'POST', '', { body: b2 });
  const i2 = outcome(assert, r2, 412);
  assert.match(i2[0].diagnostics, /^Entry 1 \(PUT Patient\//);
  assert.equal(await count(`Patient?family:exact=${fam}`), 1);
  assert.equal((await req(srv, 'GET', `/Patient/${p.json.id}`)).json.meta.versionId, '1');
});

test('transaction: ifNoneExist matches map the fullUrl to the existing resource', async () => {
  const v = uniq('org');
  const org = await req(srv, 'POST', '/Organization', { body: { resourceType: 'Organization', ...ident('http://org', v), name: 'A' } });
  const ou = 'urn:uuid:' + crypto.randomUUID();
  const b = tx('transaction', [
    { fullUrl: ou, resource: { resourceType: 'Organization', ...ident('http://org', v), name: 'B' }, request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=http://org|${v}` } },
    post(patient({ managingOrganization: { reference: ou } })),
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.entry[0].response.status, '200 OK');
  assert.equal(r.json.entry[0].resource.name, 'A', 'the existing resource, unchanged');
  const pid = r.json.entry[1].response.location.split('/')[1];
  const p = (await req(srv, 'GET', `/Patient/${pid}`)).json;
  assert.equal(p.managingOrganization.reference, `Organization/${org.json.id}`);
  assert.equal(await count(`Organization?identifier=http://org|${v}`), 1);
});

test('transaction: conditional update and conditional references resolve by search', async () => {
  const v = uniq('pr');
  const pr = await req(srv, 'POST', '/Practitioner', { body: { resourceType: 'Practitioner', ...ident('http://npi', v) } });
  const w = uniq('pat');
  const pu = 'urn:uuid:' + crypto.randomUUID();
  const b = tx('transaction', [
    { fullUrl: pu, resource: patient(ident('http://mrn', w)), request: { method: 'PUT', url: `Patient?identifier=http://mrn|${w}` } },
    post(obs(pu, { performer: [{ reference: `Practitioner?identifier=http://npi|${v}` }] })),
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.entry[0].response.status, '201 Created');
  const pid = r.json.entry[0].response.location.split('/')[1];
  const oid = r.json.entry[1].response.location.split('/')[1];
  const o = (await req(srv, 'GET', `/Observation/${oid}`)).json;
  assert.equal(o.subject.reference, `Patient/${pid}`);
  assert.equal(o.performer[0].reference, `Practitioner/${pr.json.id}`);
  // Again: the conditional update now finds the patient and makes version 2.
  const r2 = await req(srv, 'POST', '', { body: b });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.json.entry[0].response.location, `Patient/${pid}/_history/2`);
  // A conditional reference with no match, or several: the transaction fails, nothing is written.
  const fam = uniq('fam');
  const none = tx('transaction', [post(patient({ name: [{ family: fam }] })), post(obs(`Patient?identifier=http://mrn|${uniq('none')}`))]);
  const rn = await req(srv, 'POST', '', { body: none });
  const ni = outcome(assert, rn, 404);
  assert.equal(ni[0].expression[0], 'Bundle.entry[1].resource.subject.reference');
  await req(srv, 'POST', '/Practitioner', { body: { resourceType: 'Practitioner', ...ident('http://npi', v) } });
  const many = tx('transaction', [post(patient({ name: [{ family: fam }] })), post(obs(pu, { performer: [{ reference: `Practitioner?identifier=http://npi|${v}` }] }))]);
  outcome(assert, await req(srv, 'POST', '', { body: many }), 412);
  assert.equal(await count(`Patient?family:exact=${fam}`), 0);
});

test('transaction: duplicate fullUrls, the same resource twice, and circular conditions are refused', async () => {
  const u = 'urn:uuid:' + crypto.randomUUID();
  const dup = tx('transaction', [{ fullUrl: u, ...post(patient()) }, { fullUrl: u, ...post(patient()) }]);
  const i1 = outcome(assert, await req(srv, 'POST', '', { body: dup }), 400);
  assert.equal(i1[0].expression[0], 'Bundle.entry[1].fullUrl');
  const p = await req(srv, 'POST', '/Patient', { body: patient() });
  const twice = tx('transaction', [
    { resource: p.json, request: { method: 'PUT', url: `Patient/${p.json.id}` } },
    { request: { method: 'DELETE', url: `Patient/${p.json.id}` } },
  ]);
  outcome(assert, await req(srv, 'POST', '', { body: twice }), 400);
  const a = 'urn:uuid:' + crypto.randomUUID();
  const b = 'urn:uuid:' + crypto.randomUUID();
  const circ = tx('transaction', [
    { fullUrl: a, resource: obs(b), request: { method: 'POST', url: 'Observation', ifNoneExist: `subject=${b}` } },
    { fullUrl: b, resource: { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: a } }] }, request: { method: 'PUT', url: `Group?member=${a}` } },
  ]);
  const ic = outcome(assert, await req(srv, 'POST', '', { body: circ }), 400);
  assert.match(ic[0].diagnostics, /circular/);
});

test('malformed Bundles are 400s naming the element', async () => {
  outcome(assert, await req(srv, 'POST', '', { body: patient() }), 400);
  const t = outcome(assert, await req(srv, 'POST', '', { body: { resourceType: 'Bundle', type: 'collection' } }), 400);
  assert.equal(t[0].expression[0], 'Bundle.type');
  const e = outcome(assert, await req(srv, 'POST', '', { body: tx('batch', [{ resource: patient() }]) }), 400);
  assert.equal(e[0].expression[0], 'Bundle.entry[0].request');
  const m = outcome(assert, await req(srv, 'POST', '', { body: tx('transaction', [post(patient()), { request: { method: 'FETCH', url: 'Patient' } }]) }), 400);
  assert.equal(m[0].expression[0], 'Bundle.entry[1].request.method');
  const rt = outcome(assert, await req(srv, 'POST', '', { body: tx('transaction', [{ resource: patient(), request: { method: 'POST', url: 'Observation' } }]) }), 400);
  assert.equal(rt[0].expression[0], 'Bundle.entry[0].resource.resourceType');
  const ext = outcome(assert, await req(srv, 'POST', '', { body: tx('transaction', [{ resource: patient(), request: { method: 'POST', url: 'http://elsewhere.example/fhir/Patient' } }]) }), 400);
  assert.equal(ext[0].expression[0], 'Bundle.entry[0].request.url');
  outcome(assert, await req(srv, 'POST', '', { body: '{"resourceType":"Bundle",' }), 400);
  const inv = outcome(assert, await req(srv, 'POST', '', { body: tx('transaction', [post({ resourceType: 'Patient', gender: 'wrong' })]) }), 422);
  assert.equal(inv[0].expression[0], 'Bundle.entry[0].resource.gender');
});

// ---- batch ----

test('batch: entries succeed or fail on their own, with per-entry outcomes', async () => {
  const fam = uniq('batch');
  const p = await req(srv, 'POST', '/Patient', { body: patient() });
  const b = tx('batch', [
    post(patient({ name: [{ family: fam }] })),
    post({ resourceType: 'Patient', gender: 'wrong' }),
    { request: { method: 'GET', url: `Patient/${p.json.id}` } },
    { request: { method: 'GET', url: 'Patient/does-not-exist' } },
    { resource: { ...p.json, gender: 'male' }, request: { method: 'PUT', url: `Patient/${p.json.id}`, ifMatch: 'W/"9"' } },
    post(obs(`Patient?identifier=http://nobody|${uniq('x')}`)),
    { request: { method: 'GET', url: `Patient?family:exact=${fam}` } },
  ]);
  const r = await req(srv, 'POST', '', { body: b });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.type, 'batch-response');
  const st = r.json.entry.map((e) => e.response.status.split(' ')[0]);
  assert.deepEqual(st, ['201', '422', '200', '404', '412', '404', '200']);
  assert.equal(r.json.entry[1].response.outcome.resourceType, 'OperationOutcome');
  assert.equal(r.json.entry[2].resource.id, p.json.id);
  assert.equal(r.json.entry[6].resource.type, 'searchset');
  assert.equal(r.json.entry[6].resource.entry.length, 1, 'the batch POST committed before the later GET');
});

// ---- Synthea shapes ----

const SYN = 'https://github.com/synthetichealth/synthea';
const NPI = 'http://hl7.org/fhir/sid/us-npi';

function syntheaHospitals(tag) {
  const org = { resourceType: 'Organization', id: `org-${tag}`, identifier: [{ system: SYN, value: `org-${tag}` }], active: true, type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov', display: 'Healthcare Provider' }] }], name: `大理州人民医院 ${tag}`, telecom: [{ system: 'phone', value: '0872-2124462' }], address: [{ line: ['泰安路 35 号'], city: '大理市', state: '云南省', country: 'CN' }] };
  const loc = { resourceType: 'Location', id: `loc-${tag}`, identifier: [{ system: SYN, value: `loc-${tag}` }], status: 'active', name: org.name, managingOrganization: { reference: `Organization?identifier=${SYN}|org-${tag}`, display: org.name } };
  const pr = { resourceType: 'Practitioner', id: `pr-${tag}`, identifier: [{ system: NPI, value: `99${tag}` }], active: true, name: [{ family: '杨', given: ['建华'], prefix: ['Dr.'] }], gender: 'male' };
  const role = { resourceType: 'PractitionerRole', id: `role-${tag}`, practitioner: { reference: `Practitioner?identifier=${NPI}|99${tag}` }, organization: { reference: `Organization?identifier=${SYN}|org-${tag}` }, code: [{ text: 'General Practice' }], location: [{ reference: `Location?identifier=${SYN}|loc-${tag}` }] };
  const e = (r, crit) => ({ fullUrl: `${r.resourceType}/${r.id}`, resource: r, request: { method: 'POST', url: r.resourceType, ifNoneExist: crit } });
  return {
    hospitals: tx('batch', [e(org, `identifier=${SYN}|org-${tag}`), e(loc, `identifier=${SYN}|loc-${tag}`)]),
    practitioners: tx('batch', [e(pr, `identifier=${NPI}|99${tag}`), e(role, `practitioner=Practitioner?identifier=${NPI}|99${tag}`)]),
  };
}

function syntheaPatient(tag) {
  const u = () => 'urn:uuid:' + crypto.randomUUID();
  const pu = u(), eu = u(), cu = u(), ou = u(), mu = u(), clu = u();
  const enc = { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003' }] }], subject: { reference: pu }, participant: [{ individual: { reference: `Practitioner?identifier=${NPI}|99${tag}`, display: 'Dr. 杨建华' } }], period: { start: '2024-03-01T08:00:00+08:00', end: '2024-03-01T08:30:00+08:00' }, location: [{ location: { reference: `Location?identifier=${SYN}|loc-${tag}` } }], serviceProvider: { reference: `Organization?identifier=${SYN}|org-${tag}` } };
  return tx('transaction', [
    { fullUrl: pu, resource: { resourceType: 'Patient', id: pu.slice(9), identifier: [{ system: SYN, value: pu.slice(9) }, { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'http://hospital.smarthealthit.org', value: pu.slice(9) }], name: [{ use: 'official', family: '段', given: ['丽华'] }], gender: 'female', birthDate: '1968-05-04', address: [{ city: '大理市', state: '云南省', country: 'CN' }] }, request: { method: 'POST', url: 'Patient' } },
    { fullUrl: eu, resource: enc, request: { method: 'POST', url: 'Encounter' } },
    { fullUrl: cu, resource: { resourceType: 'Condition', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: '59621000', display: 'Hypertension' }] }, subject: { reference: pu }, encounter: { reference: eu }, onsetDateTime: '2024-03-01T08:00:00+08:00', recordedDate: '2024-03-01T08:00:00+08:00' }, request: { method: 'POST', url: 'Condition' } },
    { fullUrl: ou, resource: obs(pu, { encounter: { reference: eu }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }], effectiveDateTime: '2024-03-01T08:10:00+08:00' }), request: { method: 'POST', url: 'Observation' } },
    { fullUrl: mu, resource: { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] }, subject: { reference: pu }, encounter: { reference: eu }, authoredOn: '2024-03-01T08:20:00+08:00', requester: { reference: `Practitioner?identifier=${NPI}|99${tag}` }, reasonReference: [{ reference: cu }] }, request: { method: 'POST', url: 'MedicationRequest' } },
    { fullUrl: clu, resource: { resourceType: 'Claim', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] }, use: 'claim', patient: { reference: pu }, billablePeriod: enc.period, created: '2024-03-01T08:30:00+08:00', provider: { reference: `Organization?identifier=${SYN}|org-${tag}` }, priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] }, diagnosis: [{ sequence: 1, diagnosisReference: { reference: cu } }], item: [{ sequence: 1, productOrService: { coding: [{ system: 'http://snomed.info/sct', code: '185349003' }] }, encounter: [{ reference: eu }] }], insurance: [{ sequence: 1, focal: true, coverage: { display: '城乡居民基本医疗保险' } }], total: { value: 129.16, currency: 'CNY' } }, request: { method: 'POST', url: 'Claim' } },
    { resource: { resourceType: 'ExplanationOfBenefit', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] }, use: 'claim', patient: { reference: pu }, created: '2024-03-01T08:30:00+08:00', insurer: { display: '城乡居民基本医疗保险' }, provider: { reference: `Practitioner?identifier=${NPI}|99${tag}` }, claim: { reference: clu }, outcome: 'complete', insurance: [{ focal: true, coverage: { display: '城乡居民基本医疗保险' } }] }, request: { method: 'POST', url: 'ExplanationOfBenefit' } },
  ]);
}

test('Synthea shapes: hospital and practitioner batches (ifNoneExist) then patient transactions ingest unmodified', async () => {
  const tag = String(Date.now() % 1000000);
  const { hospitals, practitioners } = syntheaHospitals(tag);
  for (let round = 0; round < 2; round++) {
    const h = await req(srv, 'POST', '', { body: hospitals });
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json.entry.map((e) => e.response.status), round ? ['200 OK', '200 OK'] : ['201 Created', '201 Created']);
    const p = await req(srv, 'POST', '', { body: practitioners });
    assert.deepEqual(p.json.entry.map((e) => e.response.status.split(' ')[0]), round ? ['200', '200'] : ['201', '201'], p.text);
  }
  assert.equal(await count(`Organization?identifier=${SYN}|org-${tag}`), 1, 'loaded twice, stored once');
  const loc = await req(srv, 'GET', `/Location?identifier=${SYN}|loc-${tag}`);
  const org = await req(srv, 'GET', `/Organization?identifier=${SYN}|org-${tag}`);
  assert.equal(loc.json.entry[0].resource.managingOrganization.reference, `Organization/${org.json.entry[0].resource.id}`);
  for (let i = 0; i < 3; i++) {
    const r = await req(srv, 'POST', '', { body: syntheaPatient(tag) });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.entry.every((e) => e.response.status === '201 Created'));
    const pid = r.json.entry[0].response.location.split('/')[1];
    const ev = await req(srv, 'GET', `/Patient/${pid}/$everything?_count=100`);
    const types = ev.json.entry.map((e) => e.resource.resourceType).sort();
    assert.deepEqual(types, ['Claim', 'Condition', 'Encounter', 'ExplanationOfBenefit', 'MedicationRequest', 'Observation', 'Patient']);
    const enc = ev.json.entry.find((e) => e.resource.resourceType === 'Encounter').resource;
    assert.equal(enc.serviceProvider.reference, `Organization/${org.json.entry[0].resource.id}`);
    assert.match(enc.participant[0].individual.reference, /^Practitioner\/pr-|^Practitioner\/[0-9a-f-]{36}$/);
    const eob = ev.json.entry.find((e) => e.resource.resourceType === 'ExplanationOfBenefit').resource;
    assert.match(eob.claim.reference, /^Claim\/[0-9a-f-]{36}$/);
  }
});

test('a 2,000-entry transaction commits atomically', async () => {
  const fam = uniq('big');
  const entry = [];
  for (let i = 0; i < 1000; i++) {
    const u = 'urn:uuid:' + crypto.randomUUID();
    entry.push({ fullUrl: u, ...post(patient({ name: [{ family: fam }] })) });
    entry.push(post(obs(u)));
  }
  const r = await req(srv, 'POST', '', { body: tx('transaction', entry) });
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.equal(r.json.entry.length, 2000);
  assert.equal(await count(`Patient?family:exact=${fam}`), 1000);
  const some = r.json.entry[1].response.location.split('/').slice(0, 2).join('/');
  const o = (await req(srv, 'GET', `/${some}`)).json;
  assert.equal(o.subject.reference, r.json.entry[0].response.location.split('/').slice(0, 2).join('/'));
});

test('concurrent transactions are each all-or-nothing', async () => {
  const fam = uniq('conc');
  const one = () => {
    const u = 'urn:uuid:' + crypto.randomUUID();
    return req(srv, 'POST', '', { body: tx('transaction', [{ fullUrl: u, ...post(patient({ name: [{ family: fam }] })) }, post(obs(u))]) });
  };
  const bad = () => req(srv, 'POST', '', { body: tx('transaction', [post(patient({ name: [{ family: fam }] })), post({ resourceType: 'Observation', status: 'x', code: {} })]) });
  const rs = await Promise.all(Array.from({ length: 32 }, (_, i) => (i % 4 === 3 ? bad() : one())));
  assert.equal(rs.filter((r) => r.status === 200).length, 24);
  assert.equal(rs.filter((r) => r.status === 422).length, 8);
  assert.equal(await count(`Patient?family:exact=${fam}`), 24);
});

test('the CapabilityStatement states conditional interactions, batch and transaction', async () => {
  const r = await req(srv, 'GET', '/metadata');
  const rest = r.json.rest[0];
  const pat = rest.resource.find((x) => x.type === 'Patient');
  assert.equal(pat.conditionalCreate, true);
  assert.equal(pat.conditionalUpdate, true);
  assert.equal(pat.conditionalDelete, 'multiple', 'this server runs with --max-conditional-delete 3');
  const sys = rest.interaction.map((i) => i.code);
  assert.ok(sys.includes('transaction') && sys.includes('batch'), sys.join(','));
});

test('transaction: PATCH entries (FHIRPath Patch as Parameters, JSON Patch as Binary); a failed test op rolls back', async () => {
  const p = await req(srv, 'POST', '/Patient', { body: patient() });
  const q = await req(srv, 'POST', '/Patient', { body: patient() });
  const fp = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [
    { name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'male' }] }] };
  const jp = [{ op: 'add', path: '/active', value: true }];
  const bin = { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(jp)).toString('base64') };
  const r = await req(srv, 'POST', '', { body: tx('transaction', [
    { resource: fp, request: { method: 'PATCH', url: `Patient/${p.json.id}` } },
    { resource: bin, request: { method: 'PATCH', url: `Patient/${q.json.id}` } },
  ]) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.entry.map((e) => e.response.status), ['200 OK', '200 OK']);
  assert.equal(r.json.entry[0].response.location, `Patient/${p.json.id}/_history/2`);
  assert.equal((await req(srv, 'GET', `/Patient/${p.json.id}`)).json.gender, 'male');
  assert.equal((await req(srv, 'GET', `/Patient/${q.json.id}`)).json.active, true);
  // A JSON Patch whose test fails: 422 naming the entry, and the other entry's change is not written.
  const bad = { ...bin, data: Buffer.from(JSON.stringify([{ op: 'test', path: '/gender', value: 'other' }])).toString('base64') };
  const r2 = await req(srv, 'POST', '', { body: tx('transaction', [
    { resource: { ...fp, parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'other' }] }] }, request: { method: 'PATCH', url: `Patient/${p.json.id}` } },
    { resource: bad, request: { method: 'PATCH', url: `Patient/${q.json.id}` } },
  ]) });
  const i2 = outcome(assert, r2, 422);
  assert.equal(i2[0].expression[0], 'Bundle.entry[1].resource.data');
  assert.match(i2[0].diagnostics, /^Entry 1 \(PATCH Patient\//);
  assert.equal((await req(srv, 'GET', `/Patient/${p.json.id}`)).json.meta.versionId, '2', 'nothing written');
});

test('conditional PATCH over HTTP and conditional DELETE/PATCH inside a transaction', async () => {
  const v = uniq('cp');
  const a = await req(srv, 'POST', '/Patient', { body: patient(ident('http://cp', v)) });
  const jp = [{ op: 'replace', path: '/gender', value: 'male' }];
  const r = await req(srv, 'PATCH', `/Patient?identifier=http://cp|${v}`, { body: JSON.stringify(jp), headers: { 'Content-Type': 'application/json-patch+json' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, a.json.id);
  assert.equal(r.json.gender, 'male');
  outcome(assert, await req(srv, 'PATCH', `/Patient?identifier=http://cp|${uniq('none')}`, { body: JSON.stringify(jp), headers: { 'Content-Type': 'application/json-patch+json' } }), 404);
  const w = uniq('cd');
  const b = await req(srv, 'POST', '/Patient', { body: patient(ident('http://cd', w)) });
  const fp = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [
    { name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'other' }] }] };
  const t = await req(srv, 'POST', '', { body: tx('transaction', [
    { request: { method: 'DELETE', url: `Patient?identifier=http://cd|${w}` } },
    { resource: fp, request: { method: 'PATCH', url: `Patient?identifier=http://cp|${v}` } },
  ]) });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.entry[0].response.status.split(' ')[0], '204');
  assert.equal(t.json.entry[1].response.status, '200 OK');
  assert.equal((await req(srv, 'GET', `/Patient/${b.json.id}`)).status, 410);
  assert.equal((await req(srv, 'GET', `/Patient/${a.json.id}`)).json.gender, 'other');
});
