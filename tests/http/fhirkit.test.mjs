// The same interactions through a real third-party FHIR client (fhir-kit-client).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import { startServer, patient } from './lib.mjs';

let srv, client;
before(async () => {
  srv = await startServer();
  client = new Client({ baseUrl: srv.base });
});
after(async () => { await srv.stop(); });

test('capabilities, create, read, vread, update, history, delete', async () => {
  const cap = await client.capabilityStatement();
  assert.equal(cap.fhirVersion, '4.0.1');
  const created = await client.create({ resourceType: 'Patient', body: patient() });
  assert.equal(created.meta.versionId, '1');
  const read = await client.read({ resourceType: 'Patient', id: created.id });
  assert.deepEqual(read, created);
  const updated = await client.update({ resourceType: 'Patient', id: created.id, body: { ...read, active: true } });
  assert.equal(updated.meta.versionId, '2');
  const v1 = await client.vread({ resourceType: 'Patient', id: created.id, version: '1' });
  assert.equal(v1.active, undefined);
  const hist = await client.history({ resourceType: 'Patient', id: created.id });
  assert.equal(hist.total, 2);
  const typeHist = await client.typeHistory({ resourceType: 'Patient' });
  assert.ok(typeHist.entry.length >= 2);
  const sysHist = await client.systemHistory();
  assert.ok(sysHist.entry.length >= 2);
  await client.delete({ resourceType: 'Patient', id: created.id });
  await assert.rejects(client.read({ resourceType: 'Patient', id: created.id }), (e) => e.response.status === 410);
});

test('If-Match conflicts surface as 412 through the client', async () => {
  const created = await client.create({ resourceType: 'Patient', body: patient() });
  await client.update({ resourceType: 'Patient', id: created.id, body: { ...created, active: true } });
  await assert.rejects(
    client.update({ resourceType: 'Patient', id: created.id, body: { ...created, meta: undefined, active: false },
      options: { headers: { 'If-Match': 'W/"1"' } } }),
    (e) => e.response.status === 412 && e.response.data.resourceType === 'OperationOutcome');
});

test('validation errors surface as 422 OperationOutcome through the client', async () => {
  await assert.rejects(
    client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', gender: 'unknown-gender' } }),
    (e) => e.response.status === 422 && e.response.data.issue[0].expression[0] === 'Patient.gender');
});
