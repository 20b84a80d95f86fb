// PATCH over HTTP: JSON Patch (application/json-patch+json) and FHIRPath Patch
// (a Parameters resource), their errors and status codes, If-Match, Prefer,
// history, the search index, and concurrent patches of one resource.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, outcome, patient } from './lib.mjs';

const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };

let srv;
before(async () => { srv = await startServer(); });
after(async () => { const e = await srv.stop(); assert.equal(e.code, 0, 'server exits 0 on SIGTERM'); });

let seq = 0;
async function fresh(extra = {}) {
  const id = `patch-${process.pid}-${++seq}`;
  const r = await req(srv, 'PUT', `/Patient/${id}`, { body: patient({ id, ...extra }) });
  assert.equal(r.status, 201, r.text);
  return id;
}

function jsonPatch(id, ops, headers = {}) {
  return req(srv, 'PATCH', `/Patient/${id}`, { body: JSON.stringify(ops), headers: { ...JSON_PATCH, ...headers } });
}

// One FHIRPath Patch operation per entry: { type, path, name, value: { valueX: … } | { part: […] }, index … }.
function fhirpathPatch(id, ops, headers = {}) {
  const parameter = ops.map((o) => {
    const part = [{ name: 'type', valueCode: o.type }, { name: 'path', valueString: o.path }];
    if (o.name) part.push({ name: 'name', valueString: o.name });
    for (const k of ['index', 'source', 'destination'])
      if (o[k] !== undefined) part.push({ name: k, valueInteger: o[k] });
    if (o.value) part.push({ name: 'value', ...o.value });
    return { name: 'operation', part };
  });
  return req(srv, 'PATCH', `/Patient/${id}`, { body: { resourceType: 'Parameters', parameter }, headers });
}

const expressions = (issues) => issues.flatMap((i) => i.expression || []);

test('JSON Patch: applied, validated, stored as a new version with ETag', async () => {
  const id = await fresh();
  const r = await jsonPatch(id, [
    { op: 'test', path: '/gender', value: 'female' },
    { op: 'replace', path: '/gender', value: 'male' },
    { op: 'add', path: '/name/0/given/-', value: '华' },
    { op: 'add', path: '/telecom', value: [{ system: 'phone', value: '0872-1234567' }] },
    { op: 'remove', path: '/birthDate' },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('etag'), 'W/"2"');
  assert.equal(r.json.meta.versionId, '2');
  assert.equal(r.json.gender, 'male');
  assert.deepEqual(r.json.name, [{ family: '段', given: ['丽华', '华'] }]);
  assert.equal(r.json.birthDate, undefined);
  const g = await req(srv, 'GET', `/Patient/${id}`);
  assert.deepEqual(g.json, r.json);
});

test('FHIRPath Patch: add, insert, replace a choice, delete, move', async () => {
  const id = await fresh({ deceasedBoolean: false, identifier: [{ system: 'urn:a', value: '1' }, { system: 'urn:b', value: '2' }] });
  const r = await fhirpathPatch(id, [
    { type: 'add', path: 'Patient', name: 'active', value: { valueBoolean: true } },
    { type: 'insert', path: 'Patient.identifier', index: 0, value: { valueIdentifier: { system: 'urn:c', value: '3' } } },
    { type: 'replace', path: 'Patient.deceased', value: { valueDateTime: '2024-05-06' } },
    { type: 'delete', path: "Patient.identifier.where(system = 'urn:a')" },
    { type: 'move', path: 'Patient.identifier', source: 1, destination: 0 },
    { type: 'add', path: 'Patient', name: 'contact', value: { part: [{ name: 'gender', valueCode: 'male' },
      { name: 'telecom', valueContactPoint: { system: 'phone', value: '110' } }] } },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.active, true);
  assert.equal(r.json.deceasedDateTime, '2024-05-06');
  assert.equal(r.json.deceasedBoolean, undefined);
  assert.deepEqual(r.json.identifier.map((i) => i.value), ['2', '3']);
  assert.deepEqual(r.json.contact, [{ gender: 'male', telecom: [{ system: 'phone', value: '110' }] }]);
  assert.equal(r.json.meta.versionId, '2');
});

test('history shows the patched version; the old one is unchanged', async () => {
  const id = await fresh();
  assert.equal((await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'other' }])).status, 200);
  const h = await req(srv, 'GET', `/Patient/${id}/_history`);
  assert.equal(h.status, 200);
  assert.equal(h.json.entry.length, 2);
  assert.equal(h.json.entry[0].resource.meta.versionId, '2');
  assert.equal(h.json.entry[0].resource.gender, 'other');
  assert.equal((await req(srv, 'GET', `/Patient/${id}/_history/1`)).json.gender, 'female');
});

test('the search index follows the patch', async () => {
  const family = `Zhao${process.pid}x${Date.now() % 100000}`;
  const id = await fresh();
  const before_ = await req(srv, 'GET', `/Patient?family=${family}`);
  assert.equal(before_.json.total ?? before_.json.entry?.length ?? 0, 0);
  assert.equal((await jsonPatch(id, [{ op: 'replace', path: '/name/0/family', value: family }])).status, 200);
  const s = await req(srv, 'GET', `/Patient?family=${family}`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.json.entry.map((e) => e.resource.id), [id]);
});

test('JSON Patch errors: a path that does not exist → 422 naming the operation; bad pointer syntax → 400', async () => {
  const id = await fresh();
  let issues = outcome(assert, await jsonPatch(id, [
    { op: 'replace', path: '/gender', value: 'male' },
    { op: 'add', path: '/contact/0/name', value: { text: 'x' } },
  ]), 422);
  assert.deepEqual(expressions(issues), ['patch[1].path']);
  assert.match(issues[0].diagnostics, /\/contact does not exist/);
  issues = outcome(assert, await jsonPatch(id, [{ op: 'remove', path: 'gender' }]), 400);
  assert.deepEqual(expressions(issues), ['patch[0].path']);
  issues = outcome(assert, await jsonPatch(id, [{ op: 'frobnicate', path: '/gender' }]), 400);
  assert.deepEqual(expressions(issues), ['patch[0].op']);
  outcome(assert, await jsonPatch(id, { op: 'add' }), 400);
  outcome(assert, await req(srv, 'PATCH', `/Patient/${id}`, { body: '[{"op":', headers: JSON_PATCH }), 400);
  // Nothing was written by any of them.
  assert.equal((await req(srv, 'GET', `/Patient/${id}`)).json.meta.versionId, '1');
});

test('a failed test operation → 422, nothing written', async () => {
  const id = await fresh();
  const issues = outcome(assert, await jsonPatch(id, [
    { op: 'replace', path: '/gender', value: 'male' },
    { op: 'test', path: '/birthDate', value: '1999-09-09' },
  ]), 422);
  assert.deepEqual(expressions(issues), ['patch[1].path']);
  assert.match(issues[0].diagnostics, /test failed/);
  const g = await req(srv, 'GET', `/Patient/${id}`);
  assert.equal(g.json.gender, 'female');
  assert.equal(g.json.meta.versionId, '1');
});

test('a result that is not a valid resource → 422 with the element', async () => {
  const id = await fresh();
  let issues = outcome(assert, await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'blue' }]), 422);
  assert.deepEqual(expressions(issues), ['Patient.gender']);
  issues = outcome(assert, await jsonPatch(id, [{ op: 'add', path: '/colour', value: 'red' }]), 422);
  assert.ok(expressions(issues).includes('Patient.colour'), JSON.stringify(issues));
  issues = outcome(assert, await fhirpathPatch(id, [{ type: 'replace', path: 'Patient.birthDate', value: { valueString: 'soon' } }]), 422);
  assert.deepEqual(expressions(issues), ['Patient.birthDate']);
  // id and resourceType are the URL's
  issues = outcome(assert, await jsonPatch(id, [{ op: 'replace', path: '/id', value: 'other' }]), 422);
  assert.deepEqual(expressions(issues), ['id']);
  issues = outcome(assert, await jsonPatch(id, [{ op: 'replace', path: '/resourceType', value: 'Practitioner' }]), 422);
  assert.deepEqual(expressions(issues), ['resourceType']);
  assert.equal((await req(srv, 'GET', `/Patient/${id}`)).json.meta.versionId, '1');
});

test('FHIRPath Patch errors name the parameter', async () => {
  const id = await fresh();
  let issues = outcome(assert, await fhirpathPatch(id, [
    { type: 'add', path: 'Patient', name: 'active', value: { valueBoolean: true } },
    { type: 'replace', path: 'Patient.maritalStatus', value: { valueCodeableConcept: { text: 'x' } } },
  ]), 422);
  assert.deepEqual(expressions(issues), ['Parameters.parameter[1]']);
  assert.match(issues[0].diagnostics, /No content found at Patient.maritalStatus/);
  issues = outcome(assert, await fhirpathPatch(id, [{ type: 'delete', path: 'Patient.name.given.(' }]), 400);
  assert.deepEqual(expressions(issues), ['Parameters.parameter[0]']);
  issues = outcome(assert, await fhirpathPatch(id, [{ type: 'remove', path: 'Patient.gender' }]), 400);
  assert.deepEqual(expressions(issues), ['Parameters.parameter[0].part[0]']);
  // The Parameters resource is validated first: a malformed typed value is a malformed patch.
  issues = outcome(assert, await fhirpathPatch(id, [{ type: 'add', path: 'Patient', name: 'birthDate', value: { valueDate: '1-2-3' } }]), 400);
  assert.ok(expressions(issues)[0].startsWith('Parameters.parameter[0].part'), JSON.stringify(issues));
  outcome(assert, await req(srv, 'PATCH', `/Patient/${id}`, { body: patient({ id }) }), 400);
  outcome(assert, await req(srv, 'PATCH', `/Patient/${id}`, { body: [] }), 415);
  assert.equal((await req(srv, 'GET', `/Patient/${id}`)).json.meta.versionId, '1');
});

test('wrong content type → 415; missing → 404; deleted → 410', async () => {
  const id = await fresh();
  const issues = outcome(assert, await req(srv, 'PATCH', `/Patient/${id}`, {
    body: '<diff/>', headers: { 'Content-Type': 'application/xml-patch+xml' } }), 415);
  assert.match(issues[0].diagnostics, /json-patch\+json/);
  outcome(assert, await req(srv, 'PATCH', `/Patient/${id}`, { body: '[]', headers: { 'Content-Type': 'text/plain' } }), 415);
  outcome(assert, await jsonPatch(`never-${process.pid}`, [{ op: 'remove', path: '/gender' }]), 404);
  assert.equal((await req(srv, 'DELETE', `/Patient/${id}`)).status, 204);
  const g = await jsonPatch(id, [{ op: 'remove', path: '/gender' }]);
  outcome(assert, g, 410);
  assert.equal(g.headers.get('etag'), 'W/"2"');
});

test('If-Match: the current version → 200; another → 412; malformed → 400', async () => {
  const id = await fresh();
  const ok = await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'male' }], { 'If-Match': 'W/"1"' });
  assert.equal(ok.status, 200, ok.text);
  outcome(assert, await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'other' }], { 'If-Match': 'W/"1"' }), 412);
  outcome(assert, await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'other' }], { 'If-Match': 'yesterday' }), 400);
  const g = await req(srv, 'GET', `/Patient/${id}`);
  assert.equal(g.json.gender, 'male');
  assert.equal(g.json.meta.versionId, '2');
});

test('Prefer: return=minimal and return=OperationOutcome', async () => {
  const id = await fresh();
  const m = await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'male' }], { Prefer: 'return=minimal' });
  assert.equal(m.status, 200);
  assert.equal(m.text, '');
  assert.equal(m.headers.get('etag'), 'W/"2"');
  const o = await jsonPatch(id, [{ op: 'replace', path: '/gender', value: 'female' }], { Prefer: 'return=OperationOutcome' });
  assert.equal(o.status, 200);
  assert.equal(o.json.resourceType, 'OperationOutcome');
  assert.match(o.json.issue[0].diagnostics, /Patched Patient\/.* version 3/);
});

test('PATCH is in Allow and in the CapabilityStatement', async () => {
  const id = await fresh();
  const r = await req(srv, 'POST', `/Patient/${id}`, { body: patient() });
  outcome(assert, r, 405);
  assert.match(r.headers.get('allow'), /PATCH/);
  const cap = await req(srv, 'GET', '/metadata');
  const pat = cap.json.rest[0].resource.find((x) => x.type === 'Patient');
  assert.ok(pat.interaction.some((i) => i.code === 'patch'));
  assert.deepEqual(cap.json.patchFormat, ['application/json-patch+json', 'application/fhir+json']);
});

test('concurrent patches of one resource: each is applied once or refused with 409, none is lost', async () => {
  const id = await fresh();
  const n = 12;
  const results = await Promise.all(Array.from({ length: n }, (_, i) =>
    jsonPatch(id, [{ op: 'add', path: '/name/0/given/-', value: `g${i}` }])));
  const okCount = results.filter((r) => r.status === 200).length;
  for (const r of results) assert.ok(r.status === 200 || r.status === 409, `${r.status} ${r.text}`);
  for (const r of results.filter((x) => x.status === 409)) assert.match(r.json.issue[0].diagnostics, /changed while the patch/);
  assert.ok(okCount >= 1);
  const g = await req(srv, 'GET', `/Patient/${id}`);
  assert.equal(g.json.meta.versionId, String(1 + okCount));
  assert.equal(g.json.name[0].given.length, 1 + okCount);
  const added = results.filter((r) => r.status === 200).map((r) => r.json.name[0].given.at(-1)).sort();
  assert.deepEqual(g.json.name[0].given.slice(1).sort(), added);
});
