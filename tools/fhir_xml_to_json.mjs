#!/usr/bin/env node
// fhir_xml_to_json — converts FHIR R4 XML resources to FHIR JSON, and the
// official FHIRPath test suite (tests-fhir-r4.xml) to a JSON list of cases.
// A development-time tool: the outputs are committed under
// tests/data/fhirpath/ and the C tests read those (see README.md there).
//
//   node tools/fhir_xml_to_json.mjs resource IN.xml [OUT.json]
//   node tools/fhir_xml_to_json.mjs suite TESTS.xml OUT.json
//   node tools/fhir_xml_to_json.mjs fhirpath-data SRC_DIR DEST_DIR
//        (everything tests/data/fhirpath needs: the suite XML and inputs
//        unchanged, json/ with every input as JSON, tests.json)
//
// The FHIR XML → JSON rules (FHIR R4 json.html / xml.html), driven by the
// StructureDefinitions in node_modules/hl7.fhir.r4.examples:
//  - an element whose definition allows more than one becomes an array;
//  - a primitive's `value` attribute becomes the JSON value: boolean and
//    integer types as JSON booleans and numbers, decimal as a JSON number
//    written with exactly the digits of the XML text ("1.0" stays 1.0);
//  - a primitive's id and extensions go to the "_name" sibling (arrays keep
//    positions, with null where an item has none);
//  - the xhtml div becomes a string holding its XML;
//  - a resource inside contained / Bundle.entry.resource gets resourceType.
// Node built-ins only; the XML reader handles the well-formed, namespace-
// default documents FHIR uses (elements, attributes, text, comments,
// character references, CDATA), nothing more.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFS = path.join(ROOT, 'node_modules', 'hl7.fhir.r4.examples');

function die(msg) {
	process.stderr.write(`fhir_xml_to_json: ${msg}\n`);
	process.exit(1);
}

// ------------------------------------------------------------------ XML reader

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s) {
	return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) => {
		if (e[0] === '#')
			return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
		if (!(e in ENTITIES)) die(`unknown entity &${e};`);
		return ENTITIES[e];
	});
}

// Returns the root element: { name, attrs: Map, children: [element | {text}] }.
function parseXml(src) {
	src = src.replace(/\r\n?/g, '\n'); // XML 1.0 §2.11 end-of-line handling
	let i = 0;
	const stack = [{ name: '#doc', attrs: new Map(), children: [] }];
	const top = () => stack[stack.length - 1];
	while (i < src.length) {
		if (src.startsWith('<!--', i)) {
			const j = src.indexOf('-->', i);
			if (j < 0) die('unterminated comment');
			i = j + 3;
		} else if (src.startsWith('<?', i)) {
			const j = src.indexOf('?>', i);
			if (j < 0) die('unterminated processing instruction');
			i = j + 2;
		} else if (src.startsWith('<![CDATA[', i)) {
			const j = src.indexOf(']]>', i);
			if (j < 0) die('unterminated CDATA');
			top().children.push({ text: src.slice(i + 9, j) });
			i = j + 3;
		} else if (src.startsWith('<!', i)) {
			const j = src.indexOf('>', i);
			i = j + 1;
		} else if (src.startsWith('</', i)) {
			const j = src.indexOf('>', i);
			const name = src.slice(i + 2, j).trim();
			const el = stack.pop();
			if (el.name !== name) die(`mismatched </${name}> for <${el.name}>`);
			i = j + 1;
		} else if (src[i] === '<') {
			const m = /^<([A-Za-z_][\w.:-]*)/.exec(src.slice(i, i + 200));
			if (!m) die(`bad tag at ${i}`);
			const el = { name: m[1], attrs: new Map(), children: [] };
			i += m[0].length;
			const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')|\s*(\/?>)/y;
			for (;;) {
				attrRe.lastIndex = i;
				const a = attrRe.exec(src);
				if (!a) die(`bad attribute in <${el.name}> at ${i}`);
				i = attrRe.lastIndex;
				if (a[5]) {
					top().children.push(el);
					if (a[5] === '>') stack.push(el);
					break;
				}
				el.attrs.set(a[1], decodeEntities(a[3] !== undefined ? a[3] : a[4]));
			}
		} else {
			const j = src.indexOf('<', i);
			const end = j < 0 ? src.length : j;
			top().children.push({ text: decodeEntities(src.slice(i, end)) });
			i = end;
		}
	}
	if (stack.length !== 1) die(`unclosed <${top().name}>`);
	const roots = stack[0].children.filter((c) => c.name);
	if (roots.length !== 1) die('expected one root element');
	return roots[0];
}

const elements = (el) => el.children.filter((c) => c.name);

function escapeXml(s, attr) {
	s = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
	return attr ? s.replace(/"/g, '&quot;') : s;
}

// The XML text of an element (for the xhtml div), as FHIR JSON carries it.
function serializeXml(el) {
	let s = `<${el.name}`;
	for (const [k, v] of el.attrs) s += ` ${k}="${escapeXml(v, true)}"`;
	if (!el.children.length) return s + '/>';
	s += '>';
	for (const c of el.children) s += c.name ? serializeXml(c) : escapeXml(c.text, false);
	return s + `</${el.name}>`;
}

// ------------------------------------------------------------------ the model

let model = null; // path -> Map(name -> { max, types: [code], ref })

function loadModel() {
	if (model) return model;
	model = new Map();
	for (const f of ['Bundle-types.json', 'Bundle-resources.json']) {
		const file = path.join(DEFS, f);
		if (!fs.existsSync(file)) die(`missing ${file} (run npm ci)`);
		for (const e of JSON.parse(fs.readFileSync(file, 'utf8')).entry) {
			const sd = e.resource;
			if (sd.resourceType !== 'StructureDefinition' || sd.kind === 'logical') continue;
			const els = sd.snapshot.element;
			const rootPath = els[0].path;
			// Constrained types (SimpleQuantity, Age …) share their base's element paths.
			const typeName = sd.id;
			for (const el of els) {
				const dot = el.path.lastIndexOf('.');
				if (dot < 0) continue;
				let parent = el.path.slice(0, dot);
				if (parent === rootPath) parent = typeName;
				else if (typeName !== rootPath) parent = typeName + parent.slice(rootPath.length);
				if (!model.has(parent)) model.set(parent, new Map());
				const name = el.path.slice(dot + 1);
				const max = (el.base && el.base.max) || el.max;
				model.get(parent).set(name, {
					max,
					types: (el.type || []).map((t) => t.code),
					ref: el.contentReference ? el.contentReference.slice(1) : null,
					path: typeName === rootPath ? el.path : typeName + el.path.slice(rootPath.length),
				});
			}
		}
	}
	return model;
}

const PRIM_BOOL = new Set(['boolean']);
const PRIM_INT = new Set(['integer', 'unsignedInt', 'positiveInt']);
const PRIM_DEC = new Set(['decimal']);
const isPrimitive = (t) => /^[a-z]/.test(t) || t.startsWith('http://hl7.org/fhirpath/System.');
const capitalize = (s) => s[0].toUpperCase() + s.slice(1);

// The definition of child `name` of the element at `typePath`: { def, type, jsonName }.
function lookup(typePath, name) {
	const m = loadModel();
	const kids = m.get(typePath);
	if (!kids) die(`no definition for ${typePath}`);
	let d = kids.get(name);
	if (d) {
		if (d.ref) return { def: d, type: d.ref, jsonName: name, backbone: true };
		const t = d.types[0];
		if (t === 'BackboneElement' || t === 'Element') return { def: d, type: d.path, jsonName: name, backbone: true };
		return { def: d, type: t, jsonName: name };
	}
	for (const [k, cd] of kids) {
		if (!k.endsWith('[x]')) continue;
		const stem = k.slice(0, -3);
		if (!name.startsWith(stem)) continue;
		const t = cd.types.find((tt) => stem + capitalize(tt) === name);
		if (t) return { def: cd, type: t, jsonName: name };
	}
	die(`${typePath} has no element ${name}`);
}

// A JSON number kept as its source text.
class RawNumber {
	constructor(text) {
		if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text)) die(`bad number ${text}`);
		this.text = text;
	}
}

function primitiveValue(type, text) {
	if (text === undefined) return null;
	if (PRIM_BOOL.has(type)) {
		if (text !== 'true' && text !== 'false') die(`bad boolean ${text}`);
		return text === 'true';
	}
	if (PRIM_INT.has(type) || PRIM_DEC.has(type)) return new RawNumber(text);
	return text;
}

// Converts the children of `el` (of type `typePath`) into a JSON object.
function convertObject(el, typePath, isResource) {
	const out = {};
	if (isResource) out.resourceType = el.name;
	if (el.attrs.has('id') && !isResource) out.id = el.attrs.get('id');
	if (el.attrs.has('url')) out.url = el.attrs.get('url');
	const groups = new Map(); // jsonName -> { info, items: [el] } in document order
	for (const c of elements(el)) {
		const info =
			c.name === 'div' && c.attrs.get('xmlns') === 'http://www.w3.org/1999/xhtml'
				? { def: { max: '1' }, type: 'xhtml', jsonName: 'div' }
				: lookup(typePath, c.name);
		if (!groups.has(info.jsonName)) groups.set(info.jsonName, { info, items: [] });
		groups.get(info.jsonName).items.push(c);
	}
	for (const [name, { info, items }] of groups) {
		const many = info.def.max !== '0' && info.def.max !== '1';
		if (!many && items.length > 1) die(`${typePath}.${name} repeats but max is ${info.def.max}`);
		const t = info.type;
		if (t === 'xhtml') {
			out[name] = serializeXml(items[0]);
			continue;
		}
		if (!info.backbone && isPrimitive(t) && t !== 'xhtml') {
			const vals = [];
			const exts = [];
			for (const it of items) {
				vals.push(primitiveValue(t, it.attrs.get('value')));
				const ext = {};
				if (it.attrs.has('id')) ext.id = it.attrs.get('id');
				const ch = elements(it);
				for (const x of ch) if (x.name !== 'extension') die(`${typePath}.${name}: unexpected <${x.name}> in a primitive`);
				if (ch.length) ext.extension = ch.map((x) => convertObject(x, 'Extension', false));
				exts.push(Object.keys(ext).length ? ext : null);
			}
			if (many) {
				if (vals.some((v) => v !== null)) out[name] = vals;
				if (exts.some((x) => x !== null)) out['_' + name] = exts;
			} else {
				if (vals[0] !== null) out[name] = vals[0];
				if (exts[0] !== null) out['_' + name] = exts[0];
			}
			continue;
		}
		const conv = items.map((it) => {
			if (t === 'Resource') {
				const inner = elements(it);
				if (inner.length !== 1) die(`${typePath}.${name}: expected one resource`);
				return convertObject(inner[0], inner[0].name, true);
			}
			return convertObject(it, t, false);
		});
		out[name] = many ? conv : conv[0];
	}
	return out;
}

function convertResource(xmlText) {
	const root = parseXml(xmlText);
	return convertObject(root, root.name, true);
}

// JSON text with RawNumber written verbatim; 2-space indent like the spec examples.
function toJson(v, ind = '') {
	if (v instanceof RawNumber) return v.text;
	if (v === null || typeof v !== 'object') return JSON.stringify(v);
	const next = ind + '  ';
	if (Array.isArray(v)) {
		if (!v.length) return '[]';
		return '[\n' + v.map((x) => next + toJson(x, next)).join(',\n') + '\n' + ind + ']';
	}
	const keys = Object.keys(v);
	if (!keys.length) return '{}';
	return '{\n' + keys.map((k) => next + JSON.stringify(k) + ': ' + toJson(v[k], next)).join(',\n') + '\n' + ind + '}';
}

// ------------------------------------------------------------------ the suite

function textOf(el) {
	return el.children.map((c) => (c.name ? textOf(c) : c.text)).join('');
}

function convertSuite(xmlText) {
	const root = parseXml(xmlText);
	const cases = [];
	for (const g of elements(root)) {
		if (g.name !== 'group') continue;
		for (const t of elements(g)) {
			if (t.name !== 'test') continue;
			const exprEl = elements(t).find((c) => c.name === 'expression');
			if (!exprEl) die(`test ${t.attrs.get('name')} has no expression`);
			const c = { group: g.attrs.get('name'), name: t.attrs.get('name'), expression: textOf(exprEl) };
			if (t.attrs.has('inputfile')) c.inputfile = t.attrs.get('inputfile');
			if (exprEl.attrs.has('invalid')) c.invalid = exprEl.attrs.get('invalid');
			const mode = t.attrs.get('mode') || exprEl.attrs.get('mode');
			if (mode) c.mode = mode;
			for (const a of ['predicate', 'ordered', 'checkOrderedFunctions', 'version'])
				if (t.attrs.has(a)) c[a] = t.attrs.get(a);
			c.outputs = elements(t)
				.filter((o) => o.name === 'output')
				.map((o) => ({ type: o.attrs.get('type') || '', value: textOf(o) }));
			cases.push(c);
		}
	}
	return cases;
}

// ------------------------------------------------------------------ main

// Other generators (tools/gen_patch_tests.mjs) reuse the converter.
export { parseXml, elements, convertObject, toJson };

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
const [cmd, a1, a2] = isMain ? process.argv.slice(2) : [];
if (!isMain) {
	// imported: nothing to run
} else if (cmd === 'resource' && a1) {
	const out = toJson(convertResource(fs.readFileSync(a1, 'utf8'))) + '\n';
	if (a2) fs.writeFileSync(a2, out);
	else process.stdout.write(out);
} else if (cmd === 'suite' && a1 && a2) {
	fs.writeFileSync(a2, JSON.stringify(convertSuite(fs.readFileSync(a1, 'utf8')), null, 1) + '\n');
} else if (cmd === 'fhirpath-data' && a1 && a2) {
	fs.mkdirSync(path.join(a2, 'json'), { recursive: true });
	for (const f of fs.readdirSync(a1).sort()) {
		if (!/\.(xml|json)$/.test(f)) continue;
		fs.copyFileSync(path.join(a1, f), path.join(a2, f));
		if (f === 'tests-fhir-r4.xml') continue;
		const base = f.replace(/\.(xml|json)$/, '');
		const text = fs.readFileSync(path.join(a1, f), 'utf8');
		const json = f.endsWith('.xml') ? toJson(convertResource(text)) + '\n' : text;
		fs.writeFileSync(path.join(a2, 'json', base + '.json'), json);
	}
	const cases = convertSuite(fs.readFileSync(path.join(a1, 'tests-fhir-r4.xml'), 'utf8'));
	for (const c of cases) if (c.inputfile) c.inputfile = c.inputfile.replace(/\.(xml|json)$/, '.json');
	fs.writeFileSync(path.join(a2, 'tests.json'), JSON.stringify(cases, null, 1) + '\n');
	process.stdout.write(`fhir_xml_to_json: ${cases.length} cases\n`);
} else {
	die('usage: resource IN.xml [OUT.json] | suite TESTS.xml OUT.json | fhirpath-data SRC_DIR DEST_DIR');
}
