// Charts of the annual report page (src/monitor/report.c writes the page and
// inlines this bundle and its data): per indicator with a target, the
// sub-regions coloured by legend state (a county map for a prefecture, bars
// below) and the trend against the target. SVG, no animation: the page is
// printed to PDF as soon as it has loaded.
import * as echarts from 'echarts/core';
import { MapChart, LineChart, BarChart } from 'echarts/charts';
import { TitleComponent, TooltipComponent, VisualMapComponent, GridComponent, LegendComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { LABELS, STATUS, COLOURS, legendPieces } from './common.js';

echarts.use([MapChart, LineChart, BarChart, TitleComponent, TooltipComponent, VisualMapComponent, GridComponent,
  LegendComponent, SVGRenderer]);

const data = JSON.parse(document.getElementById('jl-report-data').textContent);
const geo = JSON.parse(document.getElementById('jl-report-geo').textContent);
const L = LABELS.zh;
const host = document.getElementById('charts');
if (geo) echarts.registerMap('jl-report', geo.geo);

function box(id) {
  const d = document.createElement('div');
  d.id = id;
  host.appendChild(d);
  return echarts.init(d, null, { renderer: 'svg' });
}

for (const ind of data.indicators) {
  const title = { text: `${ind.name} · ${ind.nameEn}`, textStyle: { fontSize: 12 } };
  const m = box(`map-${ind.id}`);
  if (geo) {
    m.setOption({
      animation: false, title,
      visualMap: { type: 'piecewise', pieces: legendPieces(L), left: 0, bottom: 0, itemWidth: 10, itemHeight: 8,
        textStyle: { fontSize: 9 } },
      series: [{ type: 'map', map: 'jl-report', top: 30, label: { show: true, fontSize: 8 },
        data: ind.sub.map((s) => ({ name: s.name, value: STATUS.indexOf(s.status) })) }],
    });
  } else {
    m.setOption({
      animation: false, title, grid: { left: 90, right: 10, top: 30, bottom: 20 },
      xAxis: { type: 'value' }, yAxis: { type: 'category', data: ind.sub.map((s) => s.name), axisLabel: { fontSize: 8 } },
      series: [{ type: 'bar', data: ind.sub.map((s) => ({ value: s.value ?? 0, itemStyle: { color: COLOURS[s.status] } })) }],
    });
  }
  const t = box(`trend-${ind.id}`);
  t.setOption({
    animation: false, title, tooltip: { trigger: 'axis' }, legend: { data: ['数值 Value', '目标 Target'], right: 0, top: 0 },
    grid: { left: 45, right: 10, top: 40, bottom: 25 },
    xAxis: { type: 'category', data: ind.trend.map((p) => String(p.year)) },
    yAxis: { type: 'value', name: ind.unit, scale: true },
    series: [
      { name: '数值 Value', type: 'line', data: ind.trend.map((p) => p.value), itemStyle: { color: '#1f5fa8' } },
      { name: '目标 Target', type: 'line', data: ind.trend.map((p) => p.target), lineStyle: { type: 'dashed' },
        itemStyle: { color: '#888' } },
    ],
  });
}
document.body.dataset.ready = '1';
