// Every error status the data core promises, each with an OperationOutcome
// that names the problem, and proof that a rejected write stored nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startServer, req, outcome, patient } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(['--max-body', '64K']); });
after(async () => { await srv.stop(); });

async function typeTotal(type) {
  const h = await req(srv, 'GET', `/${type}/_history?_count=1000`);
  return (h.json.entry || []).length;
}

test('400: malformed JSON names line and column, and nothing is stored', async () => {
  const before = await typeTotal('Patient');
  const r = await req(srv, 'POST', '/Patient', { body: '{"resourceType":"Patient",\n "active": tru}' });
  const [i] = outcome(assert, r, 400);
  assert.match(i.diagnostics, /line 2, column/);
  assert.equal(await typeTotal('Patient'), before);
});

test('400: invalid UTF-8, duplicate keys, non-object bodies', async () => {
  const bad = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: new Uint8Array(bad) }), 400);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: '{"resourceType":"Patient","active":true,"active":false}' }), 400);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: '[]' }), 400);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: '' }), 400);
});

test('400: resourceType must match the URL; update needs the URL id in the body', async () => {
  const [i] = outcome(assert, await req(srv, 'POST', '/Patient', { body: { resourceType: 'Observation' } }), 400);
  assert.deepEqual(i.expression, ['resourceType']);
  const [j] = outcome(assert, await req(srv, 'PUT', '/Patient/a1', { body: patient({ id: 'b2' }) }), 400);
  assert.deepEqual(j.expression, ['id']);
  outcome(assert, await req(srv, 'PUT', '/Patient/a1', { body: patient() }), 400);
  outcome(assert, await req(srv, 'GET', '/Patient/bad_id!'), 400);
  outcome(assert, await req(srv, 'GET', '/Patient/x/_history/zero'), 400);
  outcome(assert, await req(srv, 'PUT', '/Patient/a1', { body: patient({ id: 'a1' }), headers: { 'If-Match': 'banana' } }), 400);
  outcome(assert, await req(srv, 'GET', '/Patient/_history?_count=-1'), 400);
  outcome(assert, await req(srv, 'GET', '/_history?_since=yesterday'), 400);
});

test('422: validation issues carry code, diagnostics and the FHIRPath expression; nothing stored', async () => {
  const before = await typeTotal('Patient');
  const r = await req(srv, 'POST', '/Patient', { body: patient({ gender: 'man', birthDate: '1980-02-30', nickname: 'x', name: [{ given: ['a', 7] }] }) });
  const issues = outcome(assert, r, 422);
  const by = Object.fromEntries(issues.map((i) => [i.expression?.[0], i]));
  assert.equal(by['Patient.gender'].code, 'code-invalid');
  assert.equal(by['Patient.birthDate'].code, 'value');
  assert.equal(by['Patient.nickname'].code, 'structure');
  assert.equal(by['Patient.name[0].given[1]'].code, 'structure');
  for (const i of issues) { assert.equal(i.severity, 'error'); assert.ok(i.diagnostics.length > 5); }
  assert.equal(await typeTotal('Patient'), before);
  const o = await req(srv, 'POST', '/Observation', { body: { resourceType: 'Observation', code: { text: 'x' } } });
  const [m] = outcome(assert, o, 422);
  assert.deepEqual(m.expression, ['Observation.status']);
  assert.equal(m.code, 'required');
});

test('404: unknown type, unknown id, unknown version, unknown path', async () => {
  outcome(assert, await req(srv, 'GET', '/Pasient/1'), 404);
  outcome(assert, await req(srv, 'GET', '/Patient/none'), 404);
  outcome(assert, await req(srv, 'GET', '/Patient/none/_history'), 404);
  outcome(assert, await req(srv, 'GET', '/Patient/a/b/c/d/e'), 404);
  const r = await fetch(srv.url + '/nowhere');
  assert.equal(r.status, 404);
});

test('405: methods an endpoint does not take, with Allow', async () => {
  const r = await req(srv, 'DELETE', '/metadata');
  outcome(assert, r, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
  outcome(assert, await req(srv, 'POST', '/Patient/x', { body: patient() }), 405);
  // PUT on a type is a conditional update: allowed, but it needs criteria (400, not 405).
  outcome(assert, await req(srv, 'PUT', '/Patient', { body: patient() }), 400);
  outcome(assert, await req(srv, 'PATCH', '/metadata'), 405);
  outcome(assert, await req(srv, 'POST', '/Patient/x/_history'), 405);
});

test('406: formats the server does not produce', async () => {
  outcome(assert, await req(srv, 'GET', '/metadata', { headers: { Accept: 'application/fhir+xml' } }), 406);
  outcome(assert, await req(srv, 'GET', '/metadata?_format=xml'), 406);
  const ok = await req(srv, 'GET', '/metadata', { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.equal(ok.status, 200);
});

test('413: a body over --max-body is refused before it is read; gzip bombs too', async () => {
  const big = patient({ name: [{ text: 'x'.repeat(70 * 1024) }] });
  outcome(assert, await req(srv, 'POST', '/Patient', { body: big }), 413);
  const bomb = gzipSync(Buffer.from(JSON.stringify(patient({ name: [{ text: 'y'.repeat(1024 * 1024) }] }))));
  assert.ok(bomb.length < 64 * 1024);
  const r = await req(srv, 'POST', '/Patient', { body: new Uint8Array(bomb), headers: { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'gzip' } });
  outcome(assert, r, 413);
  // a small gzip body is accepted
  const small = gzipSync(Buffer.from(JSON.stringify(patient())));
  const s = await req(srv, 'POST', '/Patient', { body: new Uint8Array(small), headers: { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'gzip' } });
  assert.equal(s.status, 201, s.text);
});

test('415: unsupported media types and encodings', async () => {
  outcome(assert, await req(srv, 'POST', '/Patient', { body: JSON.stringify(patient()), headers: { 'Content-Type': 'application/xml' } }), 415);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: JSON.stringify(patient()), headers: { 'Content-Type': 'text/plain' } }), 415);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: JSON.stringify(patient()), headers: { 'Content-Type': 'application/fhir+json; fhirVersion=3.0' } }), 415);
  outcome(assert, await req(srv, 'POST', '/Patient', { body: JSON.stringify(patient()), headers: { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'br' } }), 415);
  const ok = await req(srv, 'POST', '/Patient', { body: JSON.stringify(patient()), headers: { 'Content-Type': 'application/json; charset=utf-8' } });
  assert.equal(ok.status, 201);
});

test('garbage requests never take the server down', async () => {
  const net = await import('node:net');
  const { port } = new URL(srv.url);
  const junk = ['GARBAGE\r\n\r\n', 'GET /fhir/Patient/%zz HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{"a"',
    'GET ' + '/fhir/' + 'a'.repeat(20000) + ' HTTP/1.1\r\n\r\n'];
  for (const j of junk) {
    await new Promise((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => { s.write(j); setTimeout(() => { s.destroy(); resolve(); }, 100); });
      s.on('error', resolve);
    });
  }
  const r = await req(srv, 'GET', '/metadata');
  assert.equal(r.status, 200);
});
