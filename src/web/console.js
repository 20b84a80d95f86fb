// The web console (served at /): every indicator of a region and year against
// its target, a map of the region's counties coloured by a chosen indicator,
// the trend over years, and drill-down prefecture → county → township. Reads
// the /monitor/* endpoints (docs/api.md); the county geometry comes from the
// server too (/console/geo/CODE.json, built into the binary). Nothing is
// fetched from elsewhere.
import * as echarts from 'echarts/core';
import { MapChart, LineChart, BarChart } from 'echarts/charts';
import {
  TooltipComponent, VisualMapComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { LABELS, STATUS, COLOURS, status, fmt, targetText, indName, escapeHtml, legendPieces } from './common.js';

echarts.use([MapChart, LineChart, BarChart, TooltipComponent, VisualMapComponent, GridComponent, LegendComponent,
  MarkLineComponent, TitleComponent, CanvasRenderer]);

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  region: params.get('region') || '532900',
  year: Number(params.get('year')) || new Date().getFullYear() - 1,
  lang: params.get('lang') || localStorage.getItem('jl-lang') || 'zh',
  indicator: params.get('indicator') || null,
  data: null, regionInfo: null, chain: [], geoCode: null,
};
const charts = {};
const geoLoaded = new Set();
window.jlConsole = { state, charts, echarts };

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const msg = body && body.issue ? body.issue.map((i) => i.diagnostics).join('; ') : r.statusText;
    throw new Error(`${r.status} ${msg}`);
  }
  return body;
}

function L() { return LABELS[state.lang] || LABELS.zh; }

function setUrl(push) {
  const q = new URLSearchParams({ region: state.region, year: String(state.year), lang: state.lang });
  if (state.indicator) q.set('indicator', state.indicator);
  const url = `${location.pathname}?${q}`;
  if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
}

// Parents up to the top, for the breadcrumb (a few small requests).
async function regionChain(info) {
  const chain = [info];
  let p = info.parent;
  while (p && chain.length < 6) {
    chain.unshift(p);
    p = (await getJson(`/monitor/regions?code=${encodeURIComponent(p.code)}`)).parent;
  }
  return chain;
}

async function load() {
  document.body.dataset.ready = '0';
  $('error').hidden = true;
  try {
    const [data, info] = await Promise.all([
      getJson(`/monitor/indicators?region=${encodeURIComponent(state.region)}&year=${state.year}`),
      getJson(`/monitor/regions?code=${encodeURIComponent(state.region)}`),
    ]);
    state.data = data;
    state.regionInfo = info;
    state.chain = await regionChain(info);
    const usable = data.indicators.filter((i) => i.value !== null && i.subRegions);
    if (!state.indicator || !data.indicators.some((i) => i.id === state.indicator))
      state.indicator = (usable.find((i) => i.target) || usable[0] || data.indicators[0] || {}).id || null;
    await render();
  } catch (e) {
    showError(e);
  }
  document.body.dataset.region = state.region;
  document.body.dataset.ready = '1';
}

function showError(e) {
  $('error').hidden = false;
  $('error').textContent = `${L().error}: ${e.message}`;
}

function renderLabels() {
  const l = L();
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh';
  document.title = l.title;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = l[el.dataset.i18n];
  $('lang').textContent = l.lang;
  const ys = $('year');
  if (!ys.options.length) {
    const now = new Date().getFullYear();
    for (let y = now; y >= now - 10; y--) ys.add(new Option(String(y), String(y)));
  }
  if (![...ys.options].some((o) => o.value === String(state.year))) ys.add(new Option(String(state.year), String(state.year)));
  ys.value = String(state.year);
  $('report').href = `/report?region=${state.region}&year=${state.year}&lang=${state.lang}`;
  $('legend').innerHTML = STATUS.map((s) =>
    `<span class="key"><i style="background:${COLOURS[s]}"></i>${escapeHtml(l[s])}</span>`).join('');
}

function renderCrumbs() {
  const l = L();
  $('crumbs').innerHTML = state.chain.map((r, i) => {
    const lvl = escapeHtml(l.levels[r.level] || r.level);
    return i === state.chain.length - 1
      ? `<b>${escapeHtml(r.name)}</b> <small>${lvl} ${escapeHtml(r.code)}</small>`
      : `<a href="#" data-code="${escapeHtml(r.code)}">${escapeHtml(r.name)}</a> ›`;
  }).join(' ');
}

function renderTable() {
  const l = L();
  const counts = { met: 0, near: 0, missed: 0 };
  const rows = state.data.indicators.map((ind) => {
    const s = status(ind, null, ind.direction);
    if (s in counts) counts[s]++;
    const ci = ind.ci95 ? `${fmt(ind.ci95[0])}–${fmt(ind.ci95[1])}` : '';
    return `<tr data-id="${escapeHtml(ind.id)}" class="${ind.id === state.indicator ? 'sel' : ''}">` +
      `<td><i class="dot" style="background:${COLOURS[s]}"></i>${escapeHtml(indName(ind, state.lang))}</td>` +
      `<td class="n">${fmt(ind.value, 2)}</td><td>${escapeHtml(ind.unit)}</td>` +
      `<td class="n">${ind.numerator ?? ''}</td><td class="n">${ind.denominator ?? ''}</td><td class="n">${ci}</td>` +
      `<td>${escapeHtml(targetText(ind.target, l, ind))}</td><td class="n">${ind.gap !== undefined ? fmt(ind.gap, 2) : ''}</td>` +
      `<td class="st st-${s}">${escapeHtml(l[s])}</td></tr>`;
  });
  $('indicators').innerHTML =
    `<thead><tr><th>${l.indicator}</th><th>${l.value}</th><th>${l.unit}</th><th>${l.numerator}</th>` +
    `<th>${l.denominator}</th><th>${l.ci}</th><th>${l.target}</th><th>${l.gap}</th><th>${l.status}</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody>`;
  $('summary').textContent = l.counts(counts.met, counts.near, counts.missed);
  const sel = $('mapIndicator');
  sel.innerHTML = state.data.indicators.filter((i) => i.subRegions)
    .map((i) => `<option value="${escapeHtml(i.id)}">${escapeHtml(indName(i, state.lang))}</option>`).join('');
  sel.value = state.indicator || '';
}

function current() { return state.data.indicators.find((i) => i.id === state.indicator); }

function childRows(ind) {
  return (ind && ind.subRegions ? ind.subRegions : []).map((r) => ({
    ...r, status: status(r, ind.target, ind.direction),
  }));
}

function renderChildren(ind) {
  const l = L();
  const rows = childRows(ind);
  const kids = state.regionInfo.children || [];
  const byCode = new Map(rows.map((r) => [r.code, r]));
  $('children').innerHTML = `<thead><tr><th>${l.children}</th><th>${l.value}</th><th>${l.numerator}</th>` +
    `<th>${l.denominator}</th><th>${l.status}</th></tr></thead><tbody>` +
    kids.map((k) => {
      const r = byCode.get(k.code) || { status: 'nodata' };
      return `<tr><td><a href="#" data-code="${escapeHtml(k.code)}">${escapeHtml(k.name)}</a></td>` +
        `<td class="n">${fmt(r.value, 2)}</td><td class="n">${r.numerator ?? ''}</td><td class="n">${r.denominator ?? ''}</td>` +
        `<td class="st st-${r.status}">${escapeHtml(l[r.status])}</td></tr>`;
    }).join('') + '</tbody>';
}

// The prefecture whose county map applies: the region itself, else none
// (townships have no boundary data; they are shown as bars).
async function geoFor() {
  if (state.regionInfo.level !== 'prefecture') return null;
  const code = state.region;
  if (geoLoaded.has(code)) return code;
  const r = await fetch(`/console/geo/${code}.json`);
  if (!r.ok) return null;
  const g = await r.json();
  echarts.registerMap(`jl-${code}`, g.geo);
  geoLoaded.add(code);
  return code;
}

function chart(id) {
  if (charts[id] && charts[id].getDom() !== $(id)) charts[id].dispose();
  if (!charts[id] || charts[id].isDisposed()) charts[id] = echarts.init($(id), null, { renderer: 'canvas' });
  return charts[id];
}

async function renderMap(ind) {
  const l = L();
  const rows = childRows(ind);
  const geo = await geoFor();
  state.geoCode = geo;
  const c = chart('map');
  c.off('click');
  c.clear();
  $('mapNote').textContent = geo ? '' : l.noMap;
  const tip = (p) => {
    const r = p.data || {};
    return `${escapeHtml(p.name)}<br>${escapeHtml(indName(ind, state.lang))}: ${fmt(r.raw, 2)} ${escapeHtml(ind.unit)}` +
      `<br>${escapeHtml(l[r.status || 'nodata'])}`;
  };
  const data = rows.map((r) => ({ name: r.name, code: r.code, value: STATUS.indexOf(r.status), raw: r.value, status: r.status }));
  if (geo) {
    c.setOption({
      tooltip: { trigger: 'item', formatter: tip },
      visualMap: { type: 'piecewise', pieces: legendPieces(l), left: 0, bottom: 0, orient: 'vertical' },
      series: [{ type: 'map', map: `jl-${geo}`, roam: false, data, label: { show: true, fontSize: 10 },
        emphasis: { label: { show: true } } }],
    });
  } else {
    c.setOption({
      tooltip: { trigger: 'item', formatter: tip },
      grid: { left: 120, right: 20, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { fontSize: 10 } },
      series: [{ type: 'bar', data: rows.map((r) => ({ name: r.name, code: r.code, value: r.value ?? 0, raw: r.value,
        status: r.status, itemStyle: { color: COLOURS[r.status] } })) }],
    });
  }
  c.on('click', (p) => { if (p.data && p.data.code) go(p.data.code); });
}

async function renderTrend(ind) {
  const l = L();
  const c = chart('trend');
  c.clear();
  if (!ind) return;
  const from = state.year - 5;
  let t;
  try {
    t = await getJson(`/monitor/trend?region=${state.region}&indicator=${encodeURIComponent(ind.id)}&from=${from}&to=${state.year}`);
  } catch (e) {
    showError(e);
    return;
  }
  const pts = t.points || [];
  c.setOption({
    title: { text: indName(ind, state.lang), textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { data: [l.value, l.target], top: 0, right: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: pts.map((p) => String(p.year)) },
    yAxis: { type: 'value', name: ind.unit, scale: true },
    series: [
      { name: l.value, type: 'line', data: pts.map((p) => p.value), connectNulls: false, symbolSize: 8,
        itemStyle: { color: '#1f5fa8' } },
      { name: l.target, type: 'line', data: pts.map((p) => (p.target && typeof p.target === 'object' ? p.target.value : p.target) ?? null),
        lineStyle: { type: 'dashed' }, itemStyle: { color: '#888' } },
    ],
  });
}

async function render() {
  renderLabels();
  renderCrumbs();
  renderTable();
  const ind = current();
  renderChildren(ind);
  await Promise.all([renderMap(ind), renderTrend(ind)]);
}

function go(code) {
  state.region = code;
  setUrl(true);
  load();
}

function bind() {
  document.body.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-code]');
    if (a) { e.preventDefault(); go(a.dataset.code); return; }
    const tr = e.target.closest('#indicators tbody tr');
    if (tr) { state.indicator = tr.dataset.id; setUrl(false); render(); }
  });
  $('year').addEventListener('change', () => { state.year = Number($('year').value); setUrl(true); load(); });
  $('mapIndicator').addEventListener('change', () => { state.indicator = $('mapIndicator').value; setUrl(false); render(); });
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('jl-lang', state.lang);
    setUrl(false);
    document.body.dataset.ready = '0';
    render().then(() => { document.body.dataset.ready = '1'; });
  });
  window.addEventListener('popstate', () => {
    const q = new URLSearchParams(location.search);
    state.region = q.get('region') || state.region;
    state.year = Number(q.get('year')) || state.year;
    load();
  });
  window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));
}

bind();
setUrl(false);
load();
