// The web console at / in Debian's Chromium (playwright-core): the page loads
// without console errors, the charts are drawn, Dali's county map has its 12
// counties, a click on a county drills down to its townships and on to a
// township, the language switch relabels the page. Screenshots are kept in
// build/test-artifacts/. Also the asset headers (Content-Type, ETag, gzip).
//
// Until the /monitor/* endpoints exist in the server under test (they are
// built by another part of issue 6), the page's /monitor requests are answered
// from the real CLI (`jianlian indicators`) on the same data — said on stderr.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN, startServer } from './lib.mjs';

const CHROMIUM = process.env.JL_CHROMIUM || '/usr/bin/chromium';
const ART = new URL('../../build/test-artifacts/', import.meta.url).pathname;
const YEAR = 2024;
let srv, dir, browser, fixtures = false;

function cli(...args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`jianlian ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jl-console-'));
  cli('gen', '--residents', '600', '--years', '2022-2024', '--seed', '3', '--into', dir, '--quiet');
  srv = await startServer([], { dataDir: dir });
  const probe = await fetch(`${srv.url}/monitor/regions?code=532900`);
  fixtures = probe.status === 404 && (await probe.json()).issue?.[0]?.diagnostics === 'Nothing is served at this path';
  if (fixtures) process.stderr.write('console.test: /monitor/* not in this server yet: answering it from the CLI\n');
  mkdirSync(ART, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

// --- CLI-backed answers for /monitor/* (only while the server has none) ---
const cache = new Map();
function indicators(region, year, only) {
  const k = `${region}/${year}/${only || ''}`;
  if (!cache.has(k)) {
    const a = ['indicators', '--region', region, '--period', String(year), '--data', dir, '--format', 'json'];
    if (only) a.push('--indicator', only);
    cache.set(k, JSON.parse(cli(...a)));
  }
  return cache.get(k);
}
const level = (c) => (c.length === 12 ? 'village' : c.length === 9 ? 'township' : c.endsWith('00') ? 'prefecture' : 'county');
function regions(code) {
  const d = indicators(code, YEAR);
  const sub = d.indicators.find((i) => i.subRegions)?.subRegions || [];
  const pc = code.length === 12 ? code.slice(0, 9) : code.length === 9 ? code.slice(0, 6) : level(code) === 'county' ? code.slice(0, 4) + '00' : null;
  const parent = pc ? { code: pc, name: indicators(pc, YEAR).region.name, level: level(pc) } : null;
  return { code, name: d.region.name, level: d.region.level, parent,
    children: sub.map((s) => ({ code: s.code, name: s.name, level: level(s.code) })) };
}
function trend(q) {
  const points = [];
  for (let y = Number(q.get('from')); y <= Number(q.get('to')); y++) {
    const i = indicators(q.get('region'), y, q.get('indicator')).indicators[0];
    points.push({ year: y, numerator: i.numerator, denominator: i.denominator, value: i.value, ci95: i.ci95 ?? null,
      target: i.target?.value ?? null, gap: i.gap ?? null, met: i.met ?? null });
  }
  return { region: q.get('region'), indicator: q.get('indicator'), points };
}
async function routeMonitor(page) {
  await page.route('**/monitor/**', (route) => {
    const u = new URL(route.request().url());
    const q = u.searchParams;
    let body;
    if (u.pathname === '/monitor/indicators') body = indicators(q.get('region'), Number(q.get('year')));
    else if (u.pathname === '/monitor/regions') body = regions(q.get('code'));
    else if (u.pathname === '/monitor/trend') body = trend(q);
    else return route.fulfill({ status: 404, body: '{}' });
    return route.fulfill({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) });
  });
}
async function api(path) {
  if (fixtures) {
    const u = new URL(path, 'http://x');
    return u.pathname === '/monitor/regions' ? regions(u.searchParams.get('code'))
      : indicators(u.searchParams.get('region'), Number(u.searchParams.get('year')));
  }
  const r = await fetch(srv.url + path);
  assert.equal(r.status, 200, path);
  return r.json();
}

test('console assets: content types, ETag revalidation, gzip, 404 and 405', async () => {
  const page = await fetch(`${srv.url}/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await page.text(), /<script src="\/console\/console.js">/);
  const js = await fetch(`${srv.url}/console/console.js`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.equal(js.headers.get('cache-control'), 'no-cache');
  const etag = js.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{20}"$/);
  assert.ok((await js.text()).includes('registerMap')); // fetch decodes gzip: the ECharts bundle
  const again = await fetch(`${srv.url}/console/console.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  // Without Accept-Encoding, the plain file; raw bytes of the gzip answer decode to the same.
  const geo = await fetch(`${srv.url}/console/geo/532900.json`, { headers: { 'Accept-Encoding': 'identity' } });
  assert.equal(geo.headers.get('content-encoding'), null);
  const g = await geo.json();
  assert.equal(g.geo.features.length, 12);
  const { request } = await import('node:http');
  const gz = await new Promise((resolve, reject) => {
    request(`${srv.url}/console/geo/532900.json`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve(Buffer.concat(parts)));
    }).on('error', reject).end();
  });
  assert.deepEqual(JSON.parse(gunzipSync(gz)), g);
  const missing = await fetch(`${srv.url}/console/none.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).resourceType, 'OperationOutcome');
  const post = await fetch(`${srv.url}/`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
});

test('console in Chromium: dashboard, county map, drill-down, language switch', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no ${CHROMIUM} (scripts/deps.sh installs Debian's chromium)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  if (fixtures) await routeMonitor(page);
  const ready = (code) => page.waitForSelector(`body[data-ready="1"][data-region="${code}"]`, { timeout: 30000 });

  // 大理市's myopia rate (an aggregate input) falls 0.3 points in 2024: short of the 0.5 asked a year, on the path.
  if (!fixtures)
    for (const [y, v] of [[YEAR - 1, 50.2], [YEAR, 49.9]]) {
      const r = await fetch(`${srv.url}/fhir/MeasureReport`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'MeasureReport', status: 'complete', type: 'summary',
          measure: 'https://jianlian.example/fhir/Measure/child-myopia',
          subject: { identifier: { system: 'https://jianlian.example/fhir/CodeSystem/cn-division-gbt2260', value: '532901' } },
          period: { start: `${y}-01-01`, end: `${y}-12-31` }, group: [{ measureScore: { value: v, unit: '%' } }] }) });
      assert.equal(r.status, 201, await r.text());
    }

  // Prefecture: every indicator in the table, both charts drawn, 12 counties on the map.
  await page.goto(`${srv.url}/?region=532900&year=${YEAR}&lang=zh`);
  await ready('532900');
  const data = await api(`/monitor/indicators?region=532900&year=${YEAR}`);
  assert.equal(await page.locator('#indicators tbody tr').count(), data.indicators.length);
  assert.ok(data.indicators.length >= 30);
  assert.equal(await page.locator('#error').isHidden(), true, await page.locator('#error').textContent());
  assert.ok(await page.locator('#map canvas').count() >= 1, 'map drawn');
  assert.ok(await page.locator('#trend canvas').count() >= 1, 'trend drawn');
  const map = await page.evaluate(() => {
    const c = window.jlConsole.charts.map;
    const o = c.getOption();
    return { features: window.jlConsole.echarts.getMap(o.series[0].map).geoJSON.features.map((f) => f.properties),
      data: o.series[0].data };
  });
  assert.equal(map.features.length, 12);
  assert.equal(map.data.length, 12);
  for (const d of map.data) assert.ok(map.features.some((f) => f.name === d.name), `county ${d.name} on the map`);
  assert.match(await page.locator('#summary').textContent(), /达标/);
  await page.screenshot({ path: join(ART, 'console-532900-zh.png'), fullPage: true });

  // Click on 大理市 on the map (its label point), as a user would.
  const county = map.features.find((f) => f.code === '532901');
  const px = await page.evaluate((cp) => window.jlConsole.charts.map.convertToPixel({ seriesIndex: 0 }, cp), county.cp);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + px[0], box.y + px[1]);
  await ready('532901');
  const towns = (await api('/monitor/regions?code=532901')).children;
  assert.ok(towns.length > 0);
  const shown = await page.locator('#children tbody a').allTextContents();
  assert.deepEqual(shown, towns.map((c) => c.name));
  assert.ok(await page.locator('#map canvas').count() >= 1, 'township bars drawn');
  assert.match(await page.locator('#crumbs').textContent(), /大理白族自治州/);
  await page.screenshot({ path: join(ART, 'console-532901-townships.png'), fullPage: true });
  if (!fixtures) { // a target against last year: the change, the path and "near" (missed the year's fall, on the path)
    const row = page.locator('#indicators tbody tr[data-id="child-myopia"]');
    assert.match(await row.locator('td').nth(6).textContent(), /^每年 -0\.50 · 较上年 -0\.30 · 进度值 50\.70 符合进度$/);
    assert.equal(await row.locator('td').nth(8).textContent(), '接近目标');
  }

  // On to a township, and back up through the breadcrumb.
  await page.locator('#children tbody a').first().click();
  await ready(towns[0].code);
  assert.match(await page.locator('#crumbs').textContent(), new RegExp(towns[0].name));
  await page.locator('#crumbs a', { hasText: '大理市' }).click();
  await ready('532901');

  // Language switch: labels and indicator names in English.
  await page.locator('#lang').click();
  await page.waitForSelector('html[lang="en"]');
  await page.waitForSelector('body[data-ready="1"]');
  assert.match(await page.locator('#indicators thead').textContent(), /Indicator.*Target.*Status/);
  const en = data.indicators.find((i) => i.nameEn);
  assert.match(await page.locator('#indicators tbody').textContent(), new RegExp(en.nameEn.replace(/[()]/g, '.')));
  assert.equal(await page.locator('#lang').textContent(), '中文');
  await page.screenshot({ path: join(ART, 'console-532901-en.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no console errors');
});

test('jianlian report: self-contained HTML with tables, zh/en sentences, charts; PDF through Chromium', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'jl-report-'));
  try {
    const html = join(out, 'report.html');
    const usage = spawnSync(BIN, ['report', '--region', '532900'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--region, --year and --out are required/);
    assert.equal(spawnSync(BIN, ['report', '--region', '539900', '--year', '2024', '--out', html, '--data', dir]).status, 2);
    const args = ['report', '--region', '532900', '--year', String(YEAR), '--out', html, '--data', dir];
    const hasChromium = existsSync(CHROMIUM);
    if (hasChromium) args.push('--pdf', join(out, 'report.pdf'));
    const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, JL_CHROMIUM: CHROMIUM } });
    assert.equal(r.status, 0, r.stderr);
    const text = (await import('node:fs')).readFileSync(html, 'utf8');
    const data = indicators('532900', YEAR);
    // One table row per indicator, and a sentence for each with a verdict against its target.
    for (const i of data.indicators) assert.ok(text.includes(`<tr id="ind-${i.id}">`), i.id);
    const judged = data.indicators.filter((i) => i.met !== undefined && i.value !== null && i.target?.value !== undefined);
    assert.ok(judged.length > 0);
    for (const i of judged) {
      assert.ok(text.includes(`${i.name}为 ${i.value.toFixed(2)}`), `zh sentence for ${i.id}`);
      assert.match(text, new RegExp(`${(i.nameEn || i.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was ${i.value.toFixed(2)} .*?, ${i.met ? 'meeting' : 'missing'} the target`));
    }
    const met = judged.filter((i) => i.met).length;
    assert.match(text, new RegExp(`有目标且有数值的 ${judged.length} 项：达标 ${met} 项`));
    assert.match(text, new RegExp(`of the ${judged.length} with a target and a value, ${met} met it`));
    // Self-contained: inline script and geometry, nothing loaded from elsewhere.
    assert.doesNotMatch(text, /<script[^>]+src=|<link[^>]+href=/);
    assert.match(text, /"type":"FeatureCollection"/);
    if (!hasChromium) { t.diagnostic('no chromium: PDF not checked'); return; }
    const pdf = (await import('node:fs')).readFileSync(join(out, 'report.pdf'));
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    // The page's charts are drawn offline (SVG), one map and one trend per judged indicator.
    const { chromium } = await import('playwright-core');
    const b = browser || await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
    const page = await b.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto('file://' + html);
    await page.waitForSelector('body[data-ready="1"]');
    const withTarget = data.indicators.filter((i) => i.target && i.value !== null).length;
    assert.equal(await page.locator('#charts svg').count(), 2 * withTarget);
    await page.screenshot({ path: join(ART, 'report-532900.png'), fullPage: true });
    assert.deepEqual(errors, []);
    if (b !== browser) await b.close();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
