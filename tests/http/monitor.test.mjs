// The plan-indicator API (/monitor/*, Measure/$evaluate-measure, aggregate
// MeasureReports) against a real server on a generated region: the values
// equal the CLI's (`jianlian indicators`), the cache follows writes, errors
// are OperationOutcomes with the right status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startServer, req, outcome } from './lib.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 28 });
let dir, srv;
const cli = {};

// What the CLI printed for a region, before the server wrote anything.
const cliJson = (region, year) => {
  const r = run('indicators', '--region', region, '--period', String(year), '--data', dir, '--format', 'json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};
// Everything but the instants (when computed, and the snapshot's newest write).
const strip = (j) => ({ ...j, computed: undefined, dataAsOf: undefined });
const mon = async (path) => {
  const r = await fetch(srv.url + path);
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
};
const ind = (j, id) => j.indicators.find((i) => i.id === id);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jl-mon-'));
  const g = run('gen', '--residents', '2000', '--into', dir, '--quiet');
  assert.equal(g.status, 0, g.stderr);
  for (const [region, year] of [['532900', 2024], ['532901', 2024], ['532901', 2023], ['532922', 2024]])
    cli[`${region}/${year}`] = cliJson(region, year);
  srv = await startServer([], { dataDir: dir });
});

after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('GET /monitor/indicators equals the CLI for a prefecture and a county', async () => {
  for (const key of ['532900/2024', '532901/2024', '532901/2023']) {
    const [region, year] = key.split('/');
    const r = await mon(`/monitor/indicators?region=${region}&year=${year}`);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.match(r.headers.get('content-type'), /^application\/json; charset=utf-8/);
    assert.deepEqual(strip(r.json), strip(cli[key]));
  }
  // the second answer comes from the cache and is the same
  const a = await mon('/monitor/indicators?region=532900&year=2024');
  const b = await mon('/monitor/indicators?region=532900&year=2024');
  assert.equal(a.text, b.text);
  // one indicator only
  const one = await mon('/monitor/indicators?region=532900&year=2024&indicator=htn-bp-control');
  assert.equal(one.status, 200);
  assert.equal(one.json.indicators.length, 1);
  assert.deepEqual(one.json.indicators[0], ind(cli['532900/2024'], 'htn-bp-control'));
});

test('GET /monitor/regions drills down prefecture → county → township', async () => {
  const p = await mon('/monitor/regions?code=532900');
  assert.equal(p.status, 200);
  assert.equal(p.json.level, 'prefecture');
  assert.equal(p.json.name, '大理白族自治州');
  assert.deepEqual(p.json.parent, { code: '530000', name: '云南省', level: 'province' });
  assert.equal(p.json.children.length, 12);
  assert.ok(p.json.children.every((c) => c.level === 'county' && /^5329\d\d$/.test(c.code)));
  const sub = cli['532900/2024'].indicators[0].subRegions.map((s) => s.code);
  assert.deepEqual(p.json.children.map((c) => c.code), sub);
  const c = await mon('/monitor/regions?code=532901');
  assert.equal(c.json.level, 'county');
  assert.equal(c.json.parent.code, '532900');
  const t = await mon(`/monitor/regions?code=${c.json.children[0].code}`);
  assert.equal(t.json.level, 'township');
  assert.equal(t.json.parent.code, '532901');
  assert.ok(t.json.children.every((v) => v.level === 'village' && v.code.length === 12));
  const v = await mon(`/monitor/regions?code=${t.json.children[0].code}`);
  assert.deepEqual(v.json.children, []);
});

test('GET /monitor/trend: one point per year, equal to the CLI', async () => {
  const r = await mon('/monitor/trend?region=532901&indicator=htn-bp-control&from=2022&to=2024');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.region.code, '532901');
  assert.equal(r.json.indicator.id, 'htn-bp-control');
  assert.deepEqual(r.json.points.map((p) => p.year), [2022, 2023, 2024]);
  for (const y of [2023, 2024]) {
    const want = ind(cli[`532901/${y}`], 'htn-bp-control');
    const got = r.json.points.find((p) => p.year === y);
    assert.equal(got.numerator, want.numerator);
    assert.equal(got.denominator, want.denominator);
    assert.equal(got.value, want.value);
    assert.deepEqual(got.ci95, want.ci95 ?? null);
    assert.equal(got.target, want.target?.value ?? null);
    assert.equal(got.gap, want.gap ?? null);
    assert.equal(got.met, want.met ?? null);
  }
});

test('GET /monitor/catalog lists every indicator of the catalogue', async () => {
  const r = await mon('/monitor/catalog');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.indicators.map((i) => i.id), cli['532900/2024'].indicators.map((i) => i.id));
  const le = r.json.indicators.find((i) => i.id === 'life-expectancy');
  assert.equal(le.unit, '岁');
  assert.equal(le.direction, 'higher');
  assert.ok(le.nameEn.length > 0);
});

test('GET /report is the annual report `jianlian report` writes, byte for byte', async () => {
  const out = join(dir, '..', `${dir.split('/').pop()}-report.html`);
  const c = run('report', '--region', '532900', '--year', '2024', '--data', dir, '--out', out);
  assert.equal(c.status, 0, c.stderr);
  const r = await mon('/report?region=532900&year=2024');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
  assert.equal(r.text, readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  assert.equal((await mon('/report?region=999999&year=2024')).status, 404);
  assert.equal((await mon('/report?region=532900&year=20x4')).status, 400);
  assert.equal((await mon('/report?region=532900&year=2024&bogus=1')).status, 400);
  const p = await fetch(srv.url + '/report?region=532900&year=2024', { method: 'POST' });
  assert.equal(p.status, 405);
});

test('errors: 404 unknown region or indicator, 400 bad parameters, 405 other methods', async () => {
  outcome(assert, await mon('/monitor/indicators?region=999999&year=2024'), 404);
  outcome(assert, await mon('/monitor/indicators?region=532999&year=2024'), 404);
  outcome(assert, await mon('/monitor/indicators?region=532900123456&year=2024'), 404);
  outcome(assert, await mon('/monitor/indicators?region=532900&year=2024&indicator=nope'), 404);
  outcome(assert, await mon('/monitor/regions?code=110101999'), 404);
  for (const q of ['region=532900&year=24', 'region=532900&year=abcd', 'region=532900', 'year=2024',
    'region=53x900&year=2024', 'region=532900&year=2024&colour=red'])
    assert.ok(outcome(assert, await mon('/monitor/indicators?' + q), 400)[0].expression?.length || true);
  const e = outcome(assert, await mon('/monitor/indicators?region=532900&year=1800'), 400);
  assert.deepEqual(e[0].expression, ['year']);
  outcome(assert, await mon('/monitor/trend?region=532900&indicator=htn-bp-control&from=2024&to=2020'), 400);
  outcome(assert, await mon('/monitor/trend?region=532900&indicator=htn-bp-control&from=1950&to=2100'), 400);
  outcome(assert, await mon('/monitor/regions'), 400);
  outcome(assert, await mon('/monitor/nothing'), 404);
  const p = await fetch(srv.url + '/monitor/indicators?region=532900&year=2024', { method: 'POST' });
  assert.equal(p.status, 405);
});

test('the cache follows writes: a new resident counts at once, concurrent readers agree', async () => {
  const before = ind((await mon('/monitor/indicators?region=532900&year=2024')).json, 'ehr-coverage');
  // a resident alive and living in the region throughout, copied as a new person
  const page = await req(srv, 'GET', '/Patient?_count=200');
  const src = page.json.entry.map((e) => e.resource).find((p) =>
    !p.deceasedDateTime && p.birthDate < '2000' && p.extension?.some((x) => x.url.endsWith('cn-residence-status')) &&
    p.address?.some((a) => a.extension?.some((x) => x.valueCoding?.code === 'current') && !a.period?.end));
  assert.ok(src, 'a resident to copy');
  const { id, meta, ...body } = src;
  const c = await req(srv, 'POST', '/Patient', { body });
  assert.equal(c.status, 201, c.text);
  const rs = await Promise.all(Array.from({ length: 8 }, () => mon('/monitor/indicators?region=532900&year=2024')));
  for (const r of rs) assert.equal(r.status, 200);
  // each concurrent answer saw the write, or was the previous result while it was being rebuilt
  const seen = rs.map((r) => ind(r.json, 'ehr-coverage').denominator);
  for (const n of seen) assert.ok([before.denominator, before.denominator + 1].includes(n), String(seen));
  const after = ind((await mon('/monitor/indicators?region=532900&year=2024')).json, 'ehr-coverage');
  assert.equal(after.denominator, before.denominator + 1);
  assert.equal(after.numerator, before.numerator + 1);
});

// ---- Measure/$evaluate-measure ----

const canon = 'https://jianlian.example/fhir/Measure/';
const pops = (g) => Object.fromEntries(g.population.map((p) => [p.code.coding[0].code, p.count]));
const ext = (e, name) => e.extension?.find((x) => x.url.endsWith('/' + name));
const evaluate = (id, q) => req(srv, 'GET', `/Measure/${id}/$evaluate-measure?${q}`);

test('GET /fhir/Measure lists the catalogue, one Measure per indicator', async () => {
  const ids = cli['532900/2024'].indicators.map((i) => i.id);
  const r = await req(srv, 'GET', '/Measure?_count=200');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.entry.map((e) => e.resource.id).sort(), [...ids].sort());
  const m = r.json.entry.find((e) => e.resource.id === 'htn-bp-control').resource;
  assert.equal(m.url, canon + 'htn-bp-control');
  assert.equal(m.status, 'active');
  assert.equal(m.scoring.coding[0].code, 'proportion');
});

test('$evaluate-measure: a summary MeasureReport equal to the CLI, with strata, target and gap', async () => {
  for (const [id, region] of [['htn-bp-control', '532901'], ['infant-mortality', '532900'], ['hepb-birth-dose', '532900'], ['life-expectancy', '532922']]) {
    const want = ind(cli[`${region}/2024`], id);
    const r = await evaluate(id, `periodStart=2024-01-01&periodEnd=2024-12-31&subject=${region}`);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const mr = r.json;
    assert.equal(mr.resourceType, 'MeasureReport');
    assert.equal(mr.type, 'summary');
    assert.equal(mr.status, 'complete');
    assert.equal(mr.measure, canon + id);
    assert.equal(mr.subject.identifier.value, region);
    assert.deepEqual(mr.period, { start: want.window[0], end: want.window[1] });
    const g = mr.group[0];
    assert.deepEqual(pops(g), { numerator: want.numerator, denominator: want.denominator });
    assert.equal(g.measureScore?.value ?? null, want.value);
    if (want.ci95) assert.deepEqual([ext(g, 'measurereport-ci95').valueRange.low.value, ext(g, 'measurereport-ci95').valueRange.high.value], want.ci95);
    const tgt = ext(g, 'measurereport-target');
    assert.equal(Boolean(tgt), Boolean(want.target));
    if (want.target) {
      assert.equal(tgt.extension.find((x) => x.url === 'kind').valueCode, want.target.kind);
      assert.equal(tgt.extension.find((x) => x.url === 'value')?.valueDecimal, want.target.value);
      assert.equal(ext(g, 'measurereport-gap')?.valueDecimal, want.gap);
      assert.equal(ext(g, 'measurereport-target-met')?.valueBoolean, want.met);
    }
    const strat = (code) => g.stratifier.find((s) => s.code[0].coding[0].code === code).stratum;
    for (const s of strat('sex')) assert.deepEqual(pops(s), { numerator: want.bySex[s.value.text].numerator, denominator: want.bySex[s.value.text].denominator });
    if (want.byAge) for (const s of strat('age-band')) assert.equal(pops(s).denominator, want.byAge[s.value.text].denominator);
    assert.deepEqual(strat('sub-region').map((s) => [s.value.coding[0].code, pops(s).numerator, pops(s).denominator]),
      want.subRegions.map((s) => [s.code, s.numerator, s.denominator]));
  }
  // POST with a Parameters body; the subject as a Location search on the division identifier
  const body = { resourceType: 'Parameters', parameter: [
    { name: 'periodStart', valueDate: '2024-01-01' }, { name: 'periodEnd', valueDate: '2024-12-31' },
    { name: 'subject', valueString: 'Location?identifier=https://jianlian.example/fhir/CodeSystem/cn-division-gbt2260|532901' }] };
  const p = await req(srv, 'POST', '/Measure/htn-bp-control/$evaluate-measure', { body });
  assert.equal(p.status, 200, p.text.slice(0, 300));
  assert.equal(p.json.group[0].measureScore.value, ind(cli['532901/2024'], 'htn-bp-control').value);
  // the report is a valid MeasureReport: the server stores it as one
  const { date, ...stored } = p.json;
  const c = await req(srv, 'POST', '/MeasureReport', { body: stored });
  assert.equal(c.status, 201, c.text.slice(0, 500));
});

test('$evaluate-measure errors: 404 unknown measure or region, 400 bad period or subject', async () => {
  const ok = 'periodStart=2024-01-01&periodEnd=2024-12-31&subject=532900';
  outcome(assert, await evaluate('no-such-measure', ok), 404);
  const miss = outcome(assert, await evaluate('htn-bp-control', 'periodEnd=2024-12-31&subject=532900'), 400);
  assert.deepEqual(miss[0].expression, ['periodStart']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', 'periodStart=2024-03-01&periodEnd=2024-12-31&subject=532900'), 400)[0].expression, ['periodStart']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', 'periodStart=2024-01-01&periodEnd=2025-12-31&subject=532900'), 400)[0].expression, ['periodEnd']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', 'periodStart=2024-01-01&periodEnd=2024-12-31'), 400)[0].expression, ['subject']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', 'periodStart=2024-01-01&periodEnd=2024-12-31&subject=Dali'), 400)[0].expression, ['subject']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', 'periodStart=2024-01-01&periodEnd=2024-12-31&subject=532999'), 404)[0].expression, ['subject']);
  assert.deepEqual(outcome(assert, await evaluate('htn-bp-control', ok + '&reportType=population'), 400)[0].expression, ['reportType']);
  assert.deepEqual(outcome(assert, await evaluate('life-expectancy', ok + '&reportType=subject-list'), 400)[0].expression, ['reportType']);
  outcome(assert, await req(srv, 'PUT', '/Measure/htn-bp-control/$evaluate-measure?' + ok, { body: {} }), 405);
});

// ---- aggregate inputs ----

const aggregate = (id, value, { region = '532901', start = '2024-01-01', end = '2024-12-31', ...extra } = {}) => ({
  resourceType: 'MeasureReport', status: 'complete', type: 'summary', measure: canon + id,
  subject: { identifier: { system: 'https://jianlian.example/fhir/CodeSystem/cn-division-gbt2260', value: region } },
  period: { start, end }, group: [{ measureScore: { value, unit: '%' } }], ...extra,
});

test('aggregate inputs: checked before they are written, then read by the engine (latest wins)', async () => {
  const count = async () => (await req(srv, 'GET', '/MeasureReport?_total=accurate&_count=0')).json.total;
  const n0 = await count();
  const bad = [
    [aggregate('health-literacy', 27.5, { region: '532999' }), 'MeasureReport.subject.identifier.value'],
    [aggregate('health-literacy', 27.5, { start: '2024-03-01' }), 'MeasureReport.period.start'],
    [aggregate('health-literacy', 27.5, { end: '2025-12-31' }), 'MeasureReport.period.end'],
    [aggregate('health-literacy', 150), 'MeasureReport.group[0].measureScore.value'],
    [aggregate('health-literacy', -1), 'MeasureReport.group[0].measureScore.value'],
    [aggregate('no-such-indicator', 27.5), 'MeasureReport.measure'],
    [{ ...aggregate('health-literacy', 27.5), subject: undefined }, 'MeasureReport.subject.identifier.value'],
  ];
  for (const [body, where] of bad) {
    const issues = outcome(assert, await req(srv, 'POST', '/MeasureReport', { body }), 422);
    assert.deepEqual(issues[0].expression, [where], JSON.stringify(issues));
  }
  // an update is checked the same way
  outcome(assert, await req(srv, 'PUT', '/MeasureReport/agg-1', { body: { ...aggregate('health-literacy', 150), id: 'agg-1' } }), 422);
  assert.equal(await count(), n0, 'nothing written');

  const first = await req(srv, 'POST', '/MeasureReport', { body: aggregate('health-literacy', 27.5) });
  assert.equal(first.status, 201, first.text);
  let got = ind((await mon('/monitor/indicators?region=532901&year=2024')).json, 'health-literacy');
  assert.equal(got.value, 27.5);
  assert.equal(got.report, 'MeasureReport/' + first.json.id);
  assert.equal(got.target.value, 25);
  assert.equal(got.met, true);
  const second = await req(srv, 'PUT', '/MeasureReport/agg-2', { body: { ...aggregate('health-literacy', 24.1), id: 'agg-2' } });
  assert.equal(second.status, 201, second.text);
  got = ind((await mon('/monitor/indicators?region=532901&year=2024')).json, 'health-literacy');
  assert.equal(got.value, 24.1);
  assert.equal(got.met, false);
  const e = await evaluate('health-literacy', 'periodStart=2024-01-01&periodEnd=2024-12-31&subject=532901');
  assert.equal(e.json.group[0].measureScore.value, 24.1);
  assert.deepEqual(e.json.evaluatedResource, [{ reference: 'MeasureReport/agg-2' }]);
  // another region or year is not touched
  assert.equal(ind((await mon('/monitor/indicators?region=532922&year=2024')).json, 'health-literacy').value, null);
});

// ---- targets against the previous year (annual_change) ----

test('annual_change: the change on last year, met, the plan\'s path and on-track in the JSON, trend and MeasureReport', async () => {
  // 全国儿童青少年总体近视率: national row, −0.5 percentage points a year from 52.7 in 2020 (path 50.7 in 2024)
  for (const [year, value] of [[2023, 50.2], [2024, 49.7]]) {
    const r = await req(srv, 'POST', '/MeasureReport', {
      body: aggregate('child-myopia', value, { start: `${year}-01-01`, end: `${year}-12-31` }) });
    assert.equal(r.status, 201, r.text);
  }
  const got = ind((await mon('/monitor/indicators?region=532901&year=2024')).json, 'child-myopia');
  assert.equal(got.value, 49.7);
  assert.equal(got.target.kind, 'annual_change');
  assert.equal(got.target.value, -0.5);
  assert.equal(got.target.baseline, 52.7);
  assert.equal(got.target.baselineYear, 2020);
  assert.equal(got.previousValue, 50.2);
  assert.equal(got.change, -0.5);
  assert.equal(got.gap, 0);
  assert.equal(got.met, true, 'a fall of exactly 0.5 points is "0.5个百分点以上"');
  assert.equal(got.pathValue, 50.7);
  assert.equal(got.onTrack, true);
  // the year before has no 2022 value: no change, met unknown, still a path (52.7 − 1.5)
  const y23 = ind((await mon('/monitor/indicators?region=532901&year=2023')).json, 'child-myopia');
  assert.equal(y23.change, undefined);
  assert.equal(y23.met, undefined);
  assert.equal(y23.pathValue, 51.2);
  assert.equal(y23.onTrack, true);
  // the trend's target line is the path; each point carries its change and on-track
  const t = await mon('/monitor/trend?region=532901&indicator=child-myopia&from=2023&to=2024');
  assert.deepEqual(t.json.points.map((p) => [p.year, p.value, p.target, p.change, p.met, p.onTrack]),
    [[2023, 50.2, 51.2, null, null, true], [2024, 49.7, 50.7, -0.5, true, true]]);
  // the MeasureReport carries the same through its extensions
  const e = await evaluate('child-myopia', 'periodStart=2024-01-01&periodEnd=2024-12-31&subject=532901');
  assert.equal(e.status, 200, e.text.slice(0, 300));
  const g = e.json.group[0];
  assert.equal(ext(g, 'measurereport-previous-value').valueDecimal, 50.2);
  assert.equal(ext(g, 'measurereport-change').valueDecimal, -0.5);
  assert.equal(ext(g, 'measurereport-path-value').valueDecimal, 50.7);
  assert.equal(ext(g, 'measurereport-on-track').valueBoolean, true);
  assert.equal(ext(g, 'measurereport-target-met').valueBoolean, true);
  assert.equal(ext(g, 'measurereport-gap').valueDecimal, 0);
  const tx = ext(g, 'measurereport-target').extension;
  assert.equal(tx.find((x) => x.url === 'kind').valueCode, 'annual_change');
  assert.equal(tx.find((x) => x.url === 'baseline').valueDecimal, 52.7);
  assert.equal(tx.find((x) => x.url === 'baselineYear').valueInteger, 2020);
  // a smaller fall misses this year's target but stays on the path: the console and the report call it "near"
  const less = await req(srv, 'PUT', '/MeasureReport/myopia-2024', {
    body: { ...aggregate('child-myopia', 49.9), id: 'myopia-2024' } });
  assert.equal(less.status, 201, less.text);
  const after = ind((await mon('/monitor/indicators?region=532901&year=2024')).json, 'child-myopia');
  assert.deepEqual([after.change, after.gap, after.met, after.onTrack], [-0.3, 0.2, false, true]);
  const html = (await mon('/report?region=532901&year=2024')).text;
  assert.match(html, /<tr id="ind-child-myopia">.*每年 -0\.50 \/ year \(2025\).*st-near/);
  assert.match(html, /较上年变化 -0\.30（目标每年 -0\.50），未达到；按规划进度应为 50\.70，符合进度/);
});

// ---- validators ----

test('ETag / If-None-Match: 304 until the data (or the question) changes', async () => {
  const paths = ['/monitor/indicators?region=532901&year=2024', '/monitor/indicators?region=532901&year=2024&indicator=ehr-coverage',
    '/monitor/trend?region=532901&indicator=ehr-coverage&from=2022&to=2024', '/monitor/regions?code=532901',
    '/monitor/catalog', '/report?region=532901&year=2024'];
  const tags = {};
  for (const p of paths) {
    const a = await mon(p);
    assert.equal(a.status, 200, p);
    const tag = a.headers.get('etag');
    assert.match(tag, /^W\/"m[0-9a-f]{16}"$/, p);
    assert.equal(a.headers.get('cache-control'), 'no-cache');
    tags[p] = tag;
    const b = await fetch(srv.url + p, { headers: { 'If-None-Match': tag } });
    assert.equal(b.status, 304, p);
    assert.equal(await b.text(), '');
    assert.equal(b.headers.get('etag'), tag);
    // in a list, strong or weak, or "*"
    const opaque = tag.slice(2);
    for (const inm of [`"x", ${opaque}`, `W/"y" , ${tag}`, '*'])
      assert.equal((await fetch(srv.url + p, { headers: { 'If-None-Match': inm } })).status, 304, `${p} ${inm}`);
    assert.equal((await fetch(srv.url + p, { headers: { 'If-None-Match': 'W/"m0000000000000000"' } })).status, 200, p);
  }
  // another question, another tag
  assert.notEqual((await mon('/monitor/indicators?region=532901&year=2023')).headers.get('etag'), tags[paths[0]]);
  assert.notEqual((await mon('/monitor/indicators?region=532900&year=2024')).headers.get('etag'), tags[paths[0]]);
  // a write anywhere moves the snapshot: the data answers change tag, the hierarchy and catalogue do not
  const w = await req(srv, 'POST', '/MeasureReport', { body: aggregate('health-literacy', 26.0, { region: '532922' }) });
  assert.equal(w.status, 201, w.text);
  for (const p of paths) {
    const r = await fetch(srv.url + p, { headers: { 'If-None-Match': tags[p] } });
    const fixed = p.startsWith('/monitor/regions') || p === '/monitor/catalog';
    assert.equal(r.status, fixed ? 304 : 200, p);
    if (!fixed) {
      assert.notEqual(r.headers.get('etag'), tags[p], p);
      await r.arrayBuffer();
    }
  }
  // errors carry no validator
  const bad = await mon('/monitor/indicators?region=532999&year=2024');
  assert.equal(bad.status, 404);
  assert.equal(bad.headers.get('etag'), null);
});

// ---- serve --targets ----

test('serve --targets: checked at start (row and element named), then used by every answer', async () => {
  const d2 = mkdtempSync(join(tmpdir(), 'jl-mon-t-'));
  try {
    const file = join(d2, 'targets.json');
    const start = (rows) => {
      writeFileSync(file, typeof rows === 'string' ? rows : JSON.stringify({ targets: rows }));
      return spawnSync(BIN, ['serve', '--port', '0', '--data', join(d2, 'data'), '--targets', file],
        { encoding: 'utf8', timeout: 30000 });
    };
    const row = { indicator: 'htn-bp-control', region: '532901', year: 2025, kind: 'ge', value: 60, source: '县卫健局 2024' };
    for (const [rows, where] of [
      [[row, { ...row, kind: 'gee' }], 'targets[1].kind'],
      [[{ ...row, indicator: 'no-such' }], 'targets[0].indicator'],
      [[{ ...row, region: '532999' }], 'targets[0].region'],
      [[{ ...row, year: 'soon' }], 'targets[0].year'],
      [[{ ...row, kind: 'annual_change', value: undefined }], 'targets[0].value'],
      ['{"targets": [', 'line 1'],
      ['{"rows": []}', 'targets'],
    ]) {
      const r = start(rows);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /bad targets file/);
      assert.ok(r.stderr.includes(where), `${where}: ${r.stderr}`);
    }
    const missing = spawnSync(BIN, ['serve', '--port', '0', '--data', join(d2, 'data'), '--targets', join(d2, 'none.json')],
      { encoding: 'utf8', timeout: 30000 });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read the targets file/);

    const g = run('gen', '--residents', '300', '--into', join(d2, 'data'), '--quiet');
    assert.equal(g.status, 0, g.stderr);
    writeFileSync(file, JSON.stringify({ targets: [row, { ...row, indicator: 'child-myopia', kind: 'annual_change', value: -1, baseline: 50, baselineYear: 2022 }] }));
    const want = run('indicators', '--region', '532901', '--period', '2024', '--data', join(d2, 'data'), '--targets', file);
    assert.equal(want.status, 0, want.stderr);
    const s2 = await startServer(['--targets', file], { dataDir: join(d2, 'data') });
    try {
      const r = await fetch(s2.url + '/monitor/indicators?region=532901&year=2024');
      const j = await r.json();
      const bp = ind(j, 'htn-bp-control');
      assert.deepEqual(bp.target, { kind: 'ge', value: 60, year: 2025, region: '532901', source: '县卫健局 2024' });
      assert.equal(bp.gap, Number((bp.value - 60).toFixed(4)));
      assert.equal(bp.met, bp.value >= 60);
      assert.deepEqual(strip(j), strip(JSON.parse(want.stdout)), 'the CLI with the same file agrees');
      assert.equal(ind(j, 'child-myopia').target.value, -1);
      // a township of the county inherits the county's row; the prefecture has none for this indicator
      const town = (await (await fetch(s2.url + '/monitor/regions?code=532901')).json()).children[0].code;
      assert.equal(ind(await (await fetch(s2.url + `/monitor/indicators?region=${town}&year=2024`)).json(), 'htn-bp-control').target.region, '532901');
      assert.equal(ind(await (await fetch(s2.url + '/monitor/indicators?region=532900&year=2024')).json(), 'htn-bp-control').target, undefined);
      const e = await req(s2, 'GET', '/Measure/htn-bp-control/$evaluate-measure?periodStart=2024-01-01&periodEnd=2024-12-31&subject=532901');
      assert.equal(e.status, 200, e.text.slice(0, 300));
      const tx = ext(e.json.group[0], 'measurereport-target').extension;
      assert.equal(tx.find((x) => x.url === 'value').valueDecimal, 60);
      assert.equal(tx.find((x) => x.url === 'region').valueString, '532901');
    } finally {
      await s2.stop();
    }
  } finally {
    rmSync(d2, { recursive: true, force: true });
  }
});

test('aggregate inputs: PATCH is checked like create and update, alone and in a transaction', async () => {
  const id = 'lit-532922-2023';
  const put = await req(srv, 'PUT', `/MeasureReport/${id}`, {
    body: { ...aggregate('health-literacy', 30, { region: '532922', start: '2023-01-01', end: '2023-12-31' }), id } });
  assert.equal(put.status, 201, put.text);
  const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };
  const patch = (ops) => req(srv, 'PATCH', `/MeasureReport/${id}`, { body: JSON.stringify(ops), headers: JSON_PATCH });
  for (const [ops, where] of [
    [[{ op: 'replace', path: '/group/0/measureScore/value', value: 150 }], 'MeasureReport.group[0].measureScore.value'],
    [[{ op: 'replace', path: '/subject/identifier/value', value: '532999' }], 'MeasureReport.subject.identifier.value'],
    [[{ op: 'replace', path: '/period/end', value: '2024-06-30' }], 'MeasureReport.period.end'],
  ]) {
    const issues = outcome(assert, await patch(ops), 422);
    assert.deepEqual(issues[0].expression, [where], JSON.stringify(issues));
  }
  // FHIRPath Patch too
  const fp = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' },
    { name: 'path', valueString: 'MeasureReport.group[0].measureScore.value' }, { name: 'value', valueDecimal: -3 }] }] };
  outcome(assert, await req(srv, 'PATCH', `/MeasureReport/${id}`, { body: fp }), 422);
  // in a transaction: the entry fails, nothing is written
  const bin = { resourceType: 'Binary', contentType: 'application/json-patch+json',
    data: Buffer.from(JSON.stringify([{ op: 'replace', path: '/group/0/measureScore/value', value: 101 }])).toString('base64') };
  const tx = await req(srv, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction',
    entry: [{ resource: bin, request: { method: 'PATCH', url: `MeasureReport/${id}` } }] } });
  const ti = outcome(assert, tx, 422);
  assert.match(ti[0].diagnostics, /^Entry 0 \(PATCH MeasureReport\//);
  const cur = await req(srv, 'GET', `/MeasureReport/${id}`);
  assert.equal(cur.json.meta.versionId, '1', 'nothing written');
  assert.equal(ind((await mon('/monitor/indicators?region=532922&year=2023')).json, 'health-literacy').value, 30);
  // a patch within the range is written and read by the engine
  const ok = await patch([{ op: 'replace', path: '/group/0/measureScore/value', value: 31.5 }]);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ind((await mon('/monitor/indicators?region=532922&year=2023')).json, 'health-literacy').value, 31.5);
});

test('$evaluate-measure reportType=subject-list: the Patients counted, as contained Lists', async () => {
  for (const [id, region] of [['htn-bp-control', '532901'], ['infant-mortality', '532900'], ['child-under3-system-management', '532901']]) {
    const q = `periodStart=2024-01-01&periodEnd=2024-12-31&subject=${region}`;
    const sum = (await evaluate(id, q)).json;
    const r = await evaluate(id, q + '&reportType=subject-list');
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const mr = r.json;
    assert.equal(mr.type, 'subject-list');
    assert.deepEqual(pops(mr.group[0]), pops(sum.group[0]), 'the same counts as the summary');
    const list = (name) => mr.contained.find((c) => c.resourceType === 'List' && c.id === name);
    const refs = {};
    for (const p of mr.group[0].population) {
      const name = p.code.coding[0].code;
      assert.equal(p.subjectResults.reference, '#' + name);
      refs[name] = (list(name).entry || []).map((e) => e.item.reference);
      // each person once; here nobody is counted twice, so the list is as long as the count
      assert.equal(new Set(refs[name]).size, refs[name].length);
      assert.equal(refs[name].length, p.count, `${id} ${name}`);
      assert.ok(refs[name].every((x) => /^Patient\/[A-Za-z0-9.-]+$/.test(x)));
    }
    if (id !== 'infant-mortality') // a rule on each member: the numerator is among the denominator
      assert.ok(refs.numerator.every((x) => refs.denominator.includes(x)));
    for (const ref of [...refs.numerator.slice(0, 2), ...refs.denominator.slice(0, 2)]) {
      const p = await req(srv, 'GET', '/' + ref);
      assert.equal(p.status, 200, ref);
    }
    // the report is a valid MeasureReport: the server stores it as one
    const { date, ...stored } = mr;
    const c = await req(srv, 'POST', '/MeasureReport', { body: stored });
    assert.equal(c.status, 201, c.text.slice(0, 500));
  }
});
