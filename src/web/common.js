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
  if (r.met === true) s = 'met';
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

export function targetText(t) {
  if (!t) return '—';
  if (t.value === undefined || t.value === null) return t.kind + (t.baseline !== undefined ? ` (${fmt(t.baseline)})` : '');
  return `${KIND_SIGN[t.kind] || t.kind} ${fmt(t.value)}`;
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
