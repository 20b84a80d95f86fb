// Labels (zh and en) and the legend shared by the console and the annual
// report, so both colour an indicator the same way (indicators.md §7 of the
// standards: met / near / missed relative to the target, grey for no data and
// for small numbers).

export const LABELS = {
  zh: {
    title: '健联 · 规划监测', region: '地区', year: '年度', lang: 'English', dashboard: '指标一览',
    indicator: '指标', value: '数值', unit: '单位', target: '目标', gap: '差距', status: '状态',
    numerator: '分子', denominator: '分母', ci: '95% 置信区间', map: '分区地图', mapBy: '着色指标',
    trend: '历年趋势', children: '下级地区', up: '上一级', report: '年度报告', api: 'FHIR 接口',
    met: '达标', near: '接近目标', missed: '未达标', nodata: '无数据', suppressed: '小数字（仅供参考）',
    notarget: '无目标', loading: '加载中…', error: '出错了', summary: '概况',
    counts: (m, n, x) => `有目标的指标 ${m + n + x} 项：达标 ${m} 项，接近 ${n} 项，未达标 ${x} 项。`,
    levels: { province: '省', prefecture: '地市', county: '县区', township: '乡镇', village: '村' },
    noMap: '该级地区没有地图边界数据，以条形图显示下级地区。',
    perYear: '每年', increasing: '持续提升', stable: '保持稳定', vsLastYear: '较上年',
    onTrack: '符合进度', offTrack: '落后于进度', path: '进度值',
  },
  en: {
    title: 'Jianlian · Plan monitoring', region: 'Region', year: 'Year', lang: '中文', dashboard: 'Indicators',
    indicator: 'Indicator', value: 'Value', unit: 'Unit', target: 'Target', gap: 'Gap', status: 'Status',
    numerator: 'Numerator', denominator: 'Denominator', ci: '95% CI', map: 'Map', mapBy: 'Colour by',
    trend: 'Trend over years', children: 'Sub-regions', up: 'Up one level', report: 'Annual report', api: 'FHIR API',
    met: 'Met', near: 'Near target', missed: 'Missed', nodata: 'No data', suppressed: 'Small numbers (indicative)',
    notarget: 'No target', loading: 'Loading…', error: 'Error', summary: 'Summary',
    counts: (m, n, x) => `${m + n + x} indicators with a target: ${m} met, ${n} near, ${x} missed.`,
    levels: { province: 'province', prefecture: 'prefecture', county: 'county', township: 'township', village: 'village' },
    noMap: 'No boundary data at this level: sub-regions are shown as bars.',
    perYear: 'a year', increasing: 'increasing', stable: 'stable', vsLastYear: 'vs last year',
    onTrack: 'on track', offTrack: 'off track', path: 'path',
  },
};

export const STATUS = ['met', 'near', 'missed', 'notarget', 'suppressed', 'nodata'];
export const COLOURS = {
  met: '#2e8b57', near: '#e69f00', missed: '#d7263d', notarget: '#7f9cc0', suppressed: '#b0b0b0', nodata: '#dddddd',
};
// "Near": the value reaches at least this share of the target (achievement %, §7).
export const NEAR = 0.9;

const KIND_SIGN = { ge: '≥', gt: '>', le: '≤', lt: '<', delta_from_baseline: '≥' };

// A result (indicator or sub-region) against a target → one legend state.
// `target` and `direction` may come from the parent indicator when the
// sub-region carries none (it inherits the same row).
export function status(r, target, direction) {
  if (!r || r.value === null || r.value === undefined) return 'nodata';
  const t = r.target || target;
  let s;
  if (t && (t.kind === 'annual_change' || t.kind === 'increasing')) s = changeStatus(r);
  else if (t && t.kind === 'stable') s = r.met === true ? 'met' : r.met === false ? 'missed' : 'notarget';
  else if (r.met === true) s = 'met';
  else if (!t || t.value === undefined || t.value === null) s = 'notarget';
  else {
    const dir = direction || 'higher';
    const met = r.met !== undefined ? r.met : meets(r.value, t);
    if (met === null) s = 'notarget';
    else if (met) s = 'met';
    else {
      const ach = dir === 'lower' ? (r.value > 0 ? t.value / r.value : 1) : (t.value ? r.value / t.value : 0);
      s = ach >= NEAR ? 'near' : 'missed';
    }
  }
  // §7: a small denominator is shown in grey whatever it is against the target.
  return r.smallNumbers ? 'suppressed' : s;
}

// Targets against last year (as src/monitor/report.c): the year's change
// decides; short of it but on the plan's path is near; without last year,
// the path alone.
function changeStatus(r) {
  if (r.met === true) return 'met';
  if (r.met === false) return r.onTrack === true ? 'near' : 'missed';
  if (r.onTrack === true) return 'met';
  return r.onTrack === false ? 'missed' : 'notarget';
}

function meets(v, t) {
  switch (t.kind) {
    case 'ge': case 'delta_from_baseline': return v >= t.value;
    case 'gt': return v > t.value;
    case 'le': return v <= t.value;
    case 'lt': return v < t.value;
    default: return null;
  }
}

export function fmt(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return Number(v).toFixed(digits);
}

// The target in words; with a result r, a target against last year also
// shows the change and whether the value is on the plan's path.
export function targetText(t, L = LABELS.zh, r = null) {
  if (!t) return '—';
  const sign = (v) => (v > 0 ? '+' : '') + fmt(v, 2);
  let s;
  if (t.kind === 'annual_change') s = `${L.perYear} ${sign(t.value)}`;
  else if (t.kind === 'increasing' || t.kind === 'stable') {
    s = L[t.kind] + (t.baseline !== undefined ? ` (${fmt(t.baseline)}${t.tolerance !== undefined ? ` ± ${fmt(t.tolerance, 2)}` : ''})` : '');
  }
  else if (t.value === undefined || t.value === null) s = t.kind + (t.baseline !== undefined ? ` (${fmt(t.baseline)})` : '');
  else s = `${KIND_SIGN[t.kind] || t.kind} ${fmt(t.value)}`;
  if (r && r.change !== undefined) s += ` · ${L.vsLastYear} ${sign(r.change)}`;
  if (r && r.pathValue !== undefined) s += ` · ${L.path} ${fmt(r.pathValue, 2)} ${r.onTrack ? L.onTrack : L.offTrack}`;
  return s;
}

export function indName(ind, lang) {
  return lang === 'en' && ind.nameEn ? ind.nameEn : ind.name;
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// The map's visual mapping: one piece per legend state.
export function legendPieces(L) {
  return STATUS.map((s) => ({ value: STATUS.indexOf(s), label: L[s], color: COLOURS[s] }));
}
