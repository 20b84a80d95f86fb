// Create, read, vread, update, delete, history and their headers, over plain HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, outcome, patient } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { const e = await srv.stop(); assert.equal(e.code, 0, 'server exits 0 on SIGTERM'); });

test('create assigns an id, version 1, Location, ETag, Last-Modified', async () => {
  const r = await req(srv, 'POST', '/Patient', { body: patient({ id: 'ignored-by-create' }) });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.resourceType, 'Patient');
  assert.match(r.json.id, /^[0-9a-f-]{36}$/);
  assert.notEqual(r.json.id, 'ignored-by-create');
  assert.equal(r.json.meta.versionId, '1');
  assert.match(r.json.meta.lastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r.headers.get('etag'), 'W/"1"');
  assert.ok(r.headers.get('last-modified'));
  assert.equal(r.headers.get('location'), `${srv.base}/Patient/${r.json.id}/_history/1`);
  assert.equal(r.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
  assert.deepEqual(r.json.name, [{ family: '段', given: ['丽华'] }]);
});

test('read returns what was created; vread returns each version', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const id = c.json.id;
  const r = await req(srv, 'GET', `/Patient/${id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, c.json);
  const u = await req(srv, 'PUT', `/Patient/${id}`, { body: { ...c.json, gender: 'male' } });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.meta.versionId, '2');
  assert.equal(u.headers.get('etag'), 'W/"2"');
  const v1 = await req(srv, 'GET', `/Patient/${id}/_history/1`);
  assert.equal(v1.json.gender, 'female');
  assert.equal(v1.headers.get('etag'), 'W/"1"');
  const v2 = await req(srv, 'GET', `/Patient/${id}/_history/2`);
  assert.equal(v2.json.gender, 'male');
  const v3 = await req(srv, 'GET', `/Patient/${id}/_history/3`);
  outcome(assert, v3, 404);
});

test('update creates with a client id (201), then updates (200)', async () => {
  const id = 'client-chosen-' + Date.now();
  const r1 = await req(srv, 'PUT', `/Patient/${id}`, { body: patient({ id }) });
  assert.equal(r1.status, 201, r1.text);
  assert.equal(r1.headers.get('location'), `${srv.base}/Patient/${id}/_history/1`);
  const r2 = await req(srv, 'PUT', `/Patient/${id}`, { body: patient({ id, active: true }) });
  assert.equal(r2.status, 200);
  assert.equal(r2.json.meta.versionId, '2');
});

test('meta elements other than versionId/lastUpdated are kept; the server sets those two', async () => {
  const body = patient({ meta: { versionId: '99', lastUpdated: '2000-01-01T00:00:00Z',
    profile: ['http://example.cn/fhir/StructureDefinition/cn-patient'], tag: [{ system: 'http://x', code: 'y' }] } });
  const r = await req(srv, 'POST', '/Patient', { body });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.meta.versionId, '1');
  assert.notEqual(r.json.meta.lastUpdated, '2000-01-01T00:00:00Z');
  assert.deepEqual(r.json.meta.profile, body.meta.profile);
  assert.deepEqual(r.json.meta.tag, body.meta.tag);
});

test('If-Match: matching version updates, stale version answers 412 and writes nothing', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const id = c.json.id;
  const ok = await req(srv, 'PUT', `/Patient/${id}`, { body: { ...c.json, active: true }, headers: { 'If-Match': 'W/"1"' } });
  assert.equal(ok.status, 200, ok.text);
  const stale = await req(srv, 'PUT', `/Patient/${id}`, { body: { ...c.json, active: false }, headers: { 'If-Match': 'W/"1"' } });
  outcome(assert, stale, 412);
  const r = await req(srv, 'GET', `/Patient/${id}`);
  assert.equal(r.json.meta.versionId, '2');
  assert.equal(r.json.active, true);
});

test('a body based on an older version answers 409 Conflict', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const id = c.json.id;
  await req(srv, 'PUT', `/Patient/${id}`, { body: { ...c.json, active: true } });
  // c.json still says versionId 1; the current version is 2
  const r = await req(srv, 'PUT', `/Patient/${id}`, { body: { ...c.json, active: false } });
  const issues = outcome(assert, r, 409);
  assert.equal(issues[0].code, 'conflict');
  assert.deepEqual(issues[0].expression, ['meta.versionId']);
});

test('delete writes a tombstone: read → 410, vread of old versions still works, history shows it', async () => {
  const c = await req(srv, 'POST', '/Observation', { body: {
    resourceType: 'Observation', status: 'final', code: { text: '收缩压' },
    valueQuantity: { value: 132, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } } });
  assert.equal(c.status, 201, c.text);
  const id = c.json.id;
  const d = await req(srv, 'DELETE', `/Observation/${id}`);
  assert.equal(d.status, 204);
  assert.equal(d.headers.get('etag'), 'W/"2"');
  const g = await req(srv, 'GET', `/Observation/${id}`);
  outcome(assert, g, 410);
  const v1 = await req(srv, 'GET', `/Observation/${id}/_history/1`);
  assert.equal(v1.status, 200);
  const v2 = await req(srv, 'GET', `/Observation/${id}/_history/2`);
  outcome(assert, v2, 410);
  const again = await req(srv, 'DELETE', `/Observation/${id}`);
  assert.equal(again.status, 204, 'deleting a deleted resource is a no-op');
  const h = await req(srv, 'GET', `/Observation/${id}/_history`);
  assert.equal(h.json.total, 2);
  assert.equal(h.json.entry[0].request.method, 'DELETE');
  assert.equal(h.json.entry[0].resource, undefined);
  assert.equal(h.json.entry[1].request.method, 'POST');
  // resurrect
  const u = await req(srv, 'PUT', `/Observation/${id}`, { body: { ...c.json } });
  assert.equal(u.status, 201, u.text);
  assert.equal(u.json.meta.versionId, '3');
});

test('delete of an unknown resource answers 404', async () => {
  outcome(assert, await req(srv, 'DELETE', '/Patient/never-was'), 404);
});

test('Prefer: return=minimal and return=OperationOutcome', async () => {
  const m = await req(srv, 'POST', '/Patient', { body: patient(), headers: { Prefer: 'return=minimal' } });
  assert.equal(m.status, 201);
  assert.equal(m.text, '');
  assert.ok(m.headers.get('location'));
  const o = await req(srv, 'POST', '/Patient', { body: patient(), headers: { Prefer: 'return=OperationOutcome' } });
  assert.equal(o.status, 201);
  assert.equal(o.json.resourceType, 'OperationOutcome');
  assert.equal(o.json.issue[0].severity, 'information');
});

test('conditional read: If-None-Match and If-Modified-Since answer 304', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const id = c.json.id;
  const r1 = await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-None-Match': 'W/"1"' } });
  assert.equal(r1.status, 304);
  const r2 = await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-Modified-Since': c.headers.get('last-modified') } });
  assert.equal(r2.status, 304);
  const r3 = await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-None-Match': 'W/"7"' } });
  assert.equal(r3.status, 200);
  const later = new Date(Date.now() + 3600e3).toUTCString();
  assert.equal((await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-Modified-Since': later } })).status, 304);
  const earlier = new Date(Date.now() - 3600e3).toUTCString();
  assert.equal((await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-Modified-Since': earlier } })).status, 200);
  assert.equal((await req(srv, 'GET', `/Patient/${id}`, { headers: { 'If-Modified-Since': 'garbage' } })).status, 200);
});

test('_pretty, _format and gzip', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const id = c.json.id;
  const p = await req(srv, 'GET', `/Patient/${id}?_pretty=true`);
  assert.ok(p.text.includes('\n  "resourceType": "Patient"'), p.text.slice(0, 80));
  assert.deepEqual(p.json, c.json);
  const j = await req(srv, 'GET', `/Patient/${id}?_format=json`);
  assert.equal(j.status, 200);
  const aj = await req(srv, 'GET', `/Patient/${id}`, { headers: { Accept: 'application/json' } });
  assert.equal(aj.headers.get('content-type'), 'application/json; charset=utf-8');
  // gzip: a large resource is compressed when accepted (fetch decodes it transparently)
  const big = patient({ name: Array.from({ length: 200 }, (_, i) => ({ family: '杨', given: ['名' + i] })) });
  const b = await req(srv, 'POST', '/Patient', { body: big });
  const g = await req(srv, 'GET', `/Patient/${b.json.id}`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(g.headers.get('content-encoding'), 'gzip');
  assert.deepEqual(g.json.name.length, 200);
});

test('history: type and system levels, _count paging with next/previous, _since', async () => {
  const t0 = new Date().toISOString();
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const r = await req(srv, 'POST', '/Practitioner', { body: { resourceType: 'Practitioner', name: [{ family: 'D' + i }] } });
    ids.push(r.json.id);
  }
  await req(srv, 'PUT', `/Practitioner/${ids[0]}`, { body: { resourceType: 'Practitioner', id: ids[0], active: true } });
  let page = await req(srv, 'GET', `/Practitioner/_history?_count=3&_since=${encodeURIComponent(t0)}`);
  assert.equal(page.status, 200, page.text);
  assert.equal(page.json.type, 'history');
  const seen = [];
  let pages = 0;
  // Writes during paging must not shift the pages (snapshot pinned in the cursor).
  await req(srv, 'POST', '/Practitioner', { body: { resourceType: 'Practitioner', name: [{ family: 'late' }] } });
  for (;;) {
    pages++;
    for (const e of page.json.entry || []) seen.push(`${e.resource?.id}/${e.response.etag}`);
    const next = page.json.link.find((l) => l.relation === 'next');
    if (!next) break;
    page = await (await fetch(next.url)).json().then((json) => ({ json }));
  }
  assert.equal(seen.length, 8, seen.join(','));
  assert.equal(new Set(seen).size, 8, 'no version repeated');
  assert.equal(pages, 3);
  assert.equal(seen[0], `${ids[0]}/W/"2"`, 'newest first');
  const prev = page.json.link.find((l) => l.relation === 'previous');
  assert.ok(prev, 'last page links back');
  const back = await (await fetch(prev.url)).json();
  assert.equal(back.entry.length, 3);
  const sys = await req(srv, 'GET', '/_history?_count=2');
  assert.equal(sys.json.entry.length, 2);
  assert.ok(sys.json.link.find((l) => l.relation === 'next'));
});

test('HEAD reads send headers only', async () => {
  const c = await req(srv, 'POST', '/Patient', { body: patient() });
  const r = await fetch(`${srv.base}/Patient/${c.json.id}`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('etag'), 'W/"1"');
  assert.equal(await r.text(), '');
});

test('metadata lists what works, and validates as a CapabilityStatement', async () => {
  const r = await req(srv, 'GET', '/metadata');
  assert.equal(r.status, 200);
  assert.equal(r.json.resourceType, 'CapabilityStatement');
  assert.equal(r.json.fhirVersion, '4.0.1');
  const pat = r.json.rest[0].resource.find((x) => x.type === 'Patient');
  assert.deepEqual(pat.interaction.map((i) => i.code).sort(),
    ['create', 'delete', 'history-instance', 'history-type', 'patch', 'read', 'search-type', 'update', 'vread']);
  assert.ok(pat.searchParam.find((p) => p.name === 'birthdate' && p.type === 'date'));
  assert.ok(r.json.rest[0].interaction.find((i) => i.code === 'search-system'));
  assert.equal(r.json.rest[0].resource.length, 146);
  // Our own validator accepts it: store it as a resource.
  const s = await req(srv, 'POST', '/CapabilityStatement', { body: r.json });
  assert.equal(s.status, 201, s.text);
});

test('healthz and metrics', async () => {
  const h = await fetch(srv.url + '/healthz');
  assert.equal(h.status, 200);
  assert.equal((await h.json()).status, 'ok');
  const m = await (await fetch(srv.url + '/metrics')).text();
  assert.match(m, /jianlian_http_requests_total\{code="201"\} \d+/);
  assert.match(m, /jianlian_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/);
  assert.match(m, /jianlian_resources\{type="Patient"\} \d+/);
  const num = (name) => Number(m.match(new RegExp(`^${name} (\\d+)$`, 'm'))[1]);
  // every write so far was committed, several per commit at most
  assert.ok(num('jianlian_store_commits_total') > 0);
  assert.ok(num('jianlian_store_write_calls_total') >= num('jianlian_store_commits_total'));
  assert.ok(num('jianlian_store_max_group') >= 1);
  // where the committed writes spent their time: every stage is reported, the transaction took some
  const stage = (st) => Number(m.match(new RegExp(`^jianlian_store_write_seconds_total\\{stage="${st}"\\} ([0-9.]+)$`, 'm'))[1]);
  for (const st of ['queue', 'run', 'sync']) assert.ok(stage(st) >= 0, st);
  assert.ok(stage('run') > 0);
});

test('request context: X-Request-Id is echoed, and the access log holds no query values', async () => {
  const r = await req(srv, 'GET', '/Patient/nobody?secret=张三', { headers: { 'X-Request-Id': 'trace-123', 'X-Client-Id': 'his-01', 'X-Institution': 'org-532901' } });
  assert.equal(r.headers.get('x-request-id'), 'trace-123');
  await new Promise((res) => setTimeout(res, 100));
  const line = srv.logs().split('\n').find((l) => l.includes('trace-123'));
  assert.ok(line, 'an access log line for the request');
  const j = JSON.parse(line);
  assert.equal(j.status, 404);
  assert.equal(j.path, '/fhir/Patient/nobody?secret=');
  assert.equal(j.client, 'his-01');
  assert.equal(j.institution, 'org-532901');
  assert.ok(!line.includes('张三'));
});
