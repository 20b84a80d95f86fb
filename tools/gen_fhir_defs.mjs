#!/usr/bin/env node
// gen_fhir_defs — writes src/fhir/defs.gen.c, the FHIR R4 (4.0.1) type
// system as C tables (layout: src/fhir/model.h; notes:
// docs/internals/fhir-model.md), from the official definitions in
// node_modules/hl7.fhir.r4.examples:
//
//   Bundle-types.json, Bundle-resources.json   StructureDefinition snapshots
//   Bundle-valuesets.json, Bundle-v3-valuesets.json, Bundle-v2-valuesets.json,
//   CodeSystem-*.json, ValueSet-*.json          terminology for required bindings
//
// Usage: node tools/gen_fhir_defs.mjs [--check] [--out FILE]
//   --check  also expand every value set that has a published expansion
//            (Bundle-valueset-expansions.json) and report differences; this
//            exercises the expander on filters and nested includes that the
//            required bindings themselves do not use.
//
// The output depends only on the input files: same input, same bytes. Node
// built-ins only.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'node_modules', 'hl7.fhir.r4.examples');
const FHIR_VERSION = '4.0.1';
const SD_BASE = 'http://hl7.org/fhir/StructureDefinition/';
const EXT_FHIR_TYPE = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const U16_MAX = 0xffff;
const MANY = U16_MAX; // JL_FHIR_MANY

const args = process.argv.slice(2);
const CHECK = args.includes('--check');
const outArg = args.indexOf('--out');
const OUT = outArg >= 0 ? path.resolve(args[outArg + 1]) : path.join(ROOT, 'src', 'fhir', 'defs.gen.c');

function die(msg) {
	process.stderr.write(`gen_fhir_defs: ${msg}\n`);
	process.exit(1);
}

function readJson(name) {
	const file = path.join(SRC, name);
	if (!fs.existsSync(file)) die(`missing ${file} (run npm ci)`);
	return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Bytewise comparison (what strcmp does on the UTF-8 the C file holds).
function cmpBytes(a, b) {
	return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
const stripVersion = (u) => u.split('|')[0];
const capitalize = (s) => s[0].toUpperCase() + s.slice(1);

// ---------------------------------------------------------------- structures

const PRIMS = [
	'boolean', 'integer', 'string', 'decimal', 'uri', 'url', 'canonical', 'base64Binary',
	'instant', 'date', 'dateTime', 'time', 'code', 'oid', 'id', 'markdown', 'unsignedInt',
	'positiveInt', 'uuid', 'xhtml',
]; // in jl_fhir_prim order, starting at 1
const ABSTRACT = new Set(['Resource', 'DomainResource', 'Element', 'BackboneElement']);
// FHIRPath system types as element types, where no structuredefinition-fhir-type says otherwise.
const SYSTEM_TYPES = {
	'http://hl7.org/fhirpath/System.String': 'string',
	'http://hl7.org/fhirpath/System.Boolean': 'boolean',
	'http://hl7.org/fhirpath/System.Integer': 'integer',
	'http://hl7.org/fhirpath/System.Decimal': 'decimal',
	'http://hl7.org/fhirpath/System.Date': 'date',
	'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
	'http://hl7.org/fhirpath/System.Time': 'time',
};
const KIND = { PRIMITIVE: 1, COMPLEX: 2, RESOURCE: 3, BACKBONE: 4, ABSTRACT: 5 };
const KIND_NAME = { 1: 'primitive', 2: 'complex', 3: 'resource', 4: 'backbone', 5: 'abstract' };
const EF = { CHOICE: 1, SUMMARY: 2, MODIFIER: 4, ARRAY: 8 };

const sds = [];
for (const f of ['Bundle-types.json', 'Bundle-resources.json'])
	for (const e of readJson(f).entry)
		if (e.resource.resourceType === 'StructureDefinition') sds.push(e.resource);

// Which definitions become types. Logical models (MetadataResource) are not
// types a JSON document can hold.
const defs = []; // { name, kind, prim, sd }
for (const sd of sds) {
	if (!sd.url.startsWith(SD_BASE)) die(`unexpected url ${sd.url}`);
	const name = sd.url.slice(SD_BASE.length);
	let kind;
	if (ABSTRACT.has(name)) kind = KIND.ABSTRACT;
	else if (sd.kind === 'primitive-type') kind = KIND.PRIMITIVE;
	else if (sd.kind === 'complex-type') kind = KIND.COMPLEX;
	else if (sd.kind === 'resource') kind = KIND.RESOURCE;
	else if (sd.kind === 'logical') continue;
	else die(`unknown kind ${sd.kind} of ${name}`);
	if (sd.abstract && kind !== KIND.ABSTRACT) die(`abstract ${name} not in the abstract list`);
	if (!sd.snapshot) die(`${name} has no snapshot`);
	const prim = kind === KIND.PRIMITIVE ? PRIMS.indexOf(name) + 1 : 0;
	if (kind === KIND.PRIMITIVE && prim === 0) die(`unknown primitive ${name}`);
	defs.push({ name, kind, prim, sd });
}
for (const p of PRIMS) if (!defs.some((d) => d.name === p)) die(`primitive ${p} not defined`);
for (const a of ABSTRACT) if (!defs.some((d) => d.name === a)) die(`abstract ${a} not defined`);

// Cross-check the resource count against the resource-types code system.
const resourceTypes = readJson('CodeSystem-resource-types.json').concept.map((c) => c.code);
const concreteResources = defs.filter((d) => d.kind === KIND.RESOURCE).map((d) => d.name);
{
	const expected = resourceTypes.filter((c) => !ABSTRACT.has(c));
	const missing = expected.filter((c) => !concreteResources.includes(c));
	const extra = concreteResources.filter((c) => !expected.includes(c));
	if (missing.length || extra.length)
		die(`resource types disagree with CodeSystem resource-types: missing ${missing} extra ${extra}`);
}

// Pass 1: every type name, including the synthetic backbone types, so that
// element types can be resolved by name in pass 2.
const types = new Map(); // name -> { name, kind, prim, elems: [], props: [] , sd, root }
function addType(t) {
	if (types.has(t.name)) die(`duplicate type ${t.name}`);
	types.set(t.name, t);
}
for (const d of defs) {
	const els = d.sd.snapshot.element;
	for (const el of els)
		if (el.sliceName || el.id.includes(':')) die(`slice in core definition: ${el.id}`);
	const root = els[0].path;
	addType({ name: d.name, kind: d.kind, prim: d.prim, sd: d.sd, path: root });
	for (const el of els) {
		if (!el.path.includes('.') || !el.type) continue;
		const codes = el.type.map((t) => t.code);
		if (!codes.includes('BackboneElement') && !codes.includes('Element')) continue;
		if (!els.some((x) => x.path.startsWith(el.path + '.')))
			die(`${el.id} is typed ${codes} but has no children`);
		if (d.sd.derivation === 'constraint') die(`backbone in constrained type: ${el.id}`);
		addType({ name: el.path, kind: KIND.BACKBONE, prim: 0, sd: d.sd, path: el.path });
	}
}

// The type a single (code, profile) denotes. On a non-choice element a
// single profile naming a core type (Quantity + SimpleQuantity) selects that
// constrained type, so its rules (no comparator) apply. A choice keeps the
// type code: the JSON name of each choice property is the stem plus the
// type's name ("doseQuantity"), and FHIRPath names it ofType(Quantity).
function typeOf(el, t, useProfile) {
	let name = t.code;
	if (name.startsWith('http://hl7.org/fhirpath/System.')) {
		const ext = (t.extension || []).find((x) => x.url === EXT_FHIR_TYPE);
		name = ext ? ext.valueUrl || ext.valueUri || ext.valueString : SYSTEM_TYPES[name];
		if (!name) die(`${el.id}: unmapped system type ${t.code}`);
		// The 4.0.1 snapshots type Resource.id as System.String (fhir-type
		// "string"), but the specification (resource.html, and the
		// definitions from R4B on) makes a logical id an `id`: [A-Za-z0-9\-\.]{1,64}.
		if (el.base && el.base.path === 'Resource.id') {
			if (name !== 'string' && name !== 'id') die(`${el.id}: Resource.id override no longer fits (${name})`);
			name = 'id';
		}
	} else if (useProfile && t.profile && t.profile.length === 1 && t.profile[0].startsWith(SD_BASE)) {
		const p = t.profile[0].slice(SD_BASE.length);
		if (types.has(p)) name = p;
	}
	if (!types.has(name)) die(`${el.id}: unknown type ${name}`);
	return name;
}

function parseMax(s, id) {
	if (s === '*') return MANY;
	if (!/^\d+$/.test(s) || Number(s) >= MANY) die(`${id}: bad max ${s}`);
	return Number(s);
}

// Pass 2: elements and properties. Element type names stay names until the
// type order is known.
const requiredVs = new Map(); // url -> [element ids], first use order
for (const t of types.values()) {
	const els = t.sd.snapshot.element;
	const prefix = t.path + '.';
	t.elems = [];
	for (const el of els) {
		if (!el.path.startsWith(prefix) || el.path.slice(prefix.length).includes('.')) continue;
		const name = el.path.slice(prefix.length);
		// A primitive's value is the JSON scalar itself, not a member.
		if (t.kind === KIND.PRIMITIVE && name === 'value') continue;
		const choice = name.endsWith('[x]');
		let flags = 0;
		if (choice) flags |= EF.CHOICE;
		if (el.isSummary) flags |= EF.SUMMARY;
		if (el.isModifier) flags |= EF.MODIFIER;
		// JSON uses an array when the base definition allows more than one,
		// even where a profile narrows max (xhtml.extension is 0..0).
		const jsonMax = parseMax((el.base && el.base.max) || el.max, el.id);
		if (jsonMax > 1) flags |= EF.ARRAY;
		const e = {
			name, min: el.min, max: parseMax(el.max, el.id), flags, type: null, choices: null,
			binding: null, id: el.id,
		};
		if (el.contentReference) {
			const target = el.contentReference.replace(/^#/, '');
			if (!types.has(target)) die(`${el.id}: contentReference to unknown ${target}`);
			e.type = target;
		} else if (!el.type || !el.type.length) {
			die(`${el.id}: no type`);
		} else if (choice) {
			e.choices = el.type.map((tt) => ({ code: tt.code, type: typeOf(el, tt, false) }));
		} else {
			if (el.type.length !== 1) die(`${el.id}: several types on a non-choice element`);
			const code = el.type[0].code;
			e.type = code === 'BackboneElement' || code === 'Element' ? el.path : typeOf(el, el.type[0], true);
		}
		if (el.binding && el.binding.strength === 'required') {
			if (!el.binding.valueSet) die(`${el.id}: required binding without value set`);
			const url = stripVersion(el.binding.valueSet);
			e.binding = url;
			if (!requiredVs.has(url)) requiredVs.set(url, []);
			requiredVs.get(url).push(el.id);
		}
		t.elems.push(e);
	}
	if (!t.elems.length) die(`${t.name}: no elements`);
	if (t.elems.length >= U16_MAX) die(`${t.name}: too many elements`);
	t.props = [];
	t.elems.forEach((e, i) => {
		if (e.choices) {
			const stem = e.name.slice(0, -3);
			for (const c of e.choices) t.props.push({ json: stem + capitalize(c.code), elem: i, type: c.type });
		} else {
			t.props.push({ json: e.name, elem: i, type: e.type });
		}
	});
	for (const p of t.props)
		if (t.elems[p.elem].choices && p.json !== t.elems[p.elem].name.slice(0, -3) + capitalize(p.type))
			die(`${t.name}: choice property ${p.json} does not name its type ${p.type}`);
	t.props.sort((a, b) => cmpBytes(a.json, b.json));
	for (let i = 1; i < t.props.length; i++)
		if (t.props[i - 1].json === t.props[i].json) die(`${t.name}: duplicate property ${t.props[i].json}`);
}

// ---------------------------------------------------------------- terminology

const termIndex = new Map(); // "CodeSystem url" | "ValueSet url" -> resource (first seen wins)
function indexTerm(r) {
	const key = `${r.resourceType} ${r.url}`;
	if ((r.resourceType === 'CodeSystem' || r.resourceType === 'ValueSet') && r.url && !termIndex.has(key))
		termIndex.set(key, r);
}
for (const f of ['Bundle-valuesets.json', 'Bundle-v3-valuesets.json', 'Bundle-v2-valuesets.json'])
	for (const e of readJson(f).entry) indexTerm(e.resource);
// The standalone files only fill gaps; read them (sorted, for determinism)
// when something is missing.
let standaloneRead = false;
function lookupTerm(url, kind) {
	let r = termIndex.get(`${kind} ${url}`);
	if (!r && !standaloneRead) {
		standaloneRead = true;
		const files = fs.readdirSync(SRC).filter((f) => /^(CodeSystem|ValueSet)-.*\.json$/.test(f)).sort();
		for (const f of files) indexTerm(JSON.parse(fs.readFileSync(path.join(SRC, f), 'utf8')));
		r = termIndex.get(`${kind} ${url}`);
	}
	return r || null;
}

// A code system we can enumerate: present, complete, not a supplement.
// Returns { concepts: [{code, parent, abstract, props}], byCode } or null
// (with the reason) when it cannot be enumerated. Partial content
// (fragment, example) is returned with partial = true.
const csCache = new Map();
function codeSystem(url) {
	if (csCache.has(url)) return csCache.get(url);
	const cs = lookupTerm(url, 'CodeSystem');
	let r;
	if (!cs) r = { missing: true, why: 'code system not in the definitions' };
	else if (cs.supplements) r = { missing: true, why: 'supplement' };
	else if (!cs.concept || cs.content === 'not-present') r = { missing: true, why: `content ${cs.content}` };
	else {
		const concepts = [];
		const byCode = new Map();
		const walk = (list, parent) => {
			for (const c of list) {
				const props = new Map();
				for (const p of c.property || []) {
					const v = p.valueCode ?? p.valueString ?? p.valueBoolean ?? p.valueInteger ?? p.valueCoding?.code;
					props.set(p.code, v === undefined ? '' : String(v));
				}
				const abstract = props.get('notSelectable') === 'true' || props.get('abstract') === 'true';
				const node = { code: c.code, parents: parent ? [parent] : [], abstract, props, children: [] };
				if (byCode.has(c.code)) {
					// The same code in two places of the hierarchy: one concept, two parents.
					const prev = byCode.get(c.code);
					if (parent) prev.parents.push(parent);
					if (parent) parent.children.push(prev);
					if (c.concept) walk(c.concept, prev);
					continue;
				}
				byCode.set(c.code, node);
				concepts.push(node);
				if (parent) parent.children.push(node);
				if (c.concept) walk(c.concept, node);
			}
		};
		walk(cs.concept, null);
		// "parent"/"child" properties also define the hierarchy (some v3 systems).
		for (const n of concepts) {
			for (const [k, v] of n.props)
				if (k === 'parent' && byCode.has(v) && !n.parents.includes(byCode.get(v))) {
					n.parents.push(byCode.get(v));
					byCode.get(v).children.push(n);
				}
		}
		r = { concepts, byCode, partial: cs.content !== 'complete', why: cs.content !== 'complete' ? `content ${cs.content}` : '' };
	}
	csCache.set(url, r);
	return r;
}

function descendants(node, out) {
	for (const c of node.children)
		if (!out.has(c)) {
			out.add(c);
			descendants(c, out);
		}
	return out;
}
function ancestors(node, out) {
	for (const p of node.parents)
		if (!out.has(p)) {
			out.add(p);
			ancestors(p, out);
		}
	return out;
}

// Applies one include/exclude filter to a code system; returns a Set of
// concept nodes, or null when the filter is not understood.
function applyFilter(cs, f) {
	const { property: prop, op, value } = f;
	const all = new Set(cs.concepts);
	if (prop === 'concept' || prop === 'code') {
		const node = cs.byCode.get(value);
		switch (op) {
		case 'is-a': return node ? descendants(node, new Set([node])) : new Set();
		case 'descendent-of': return node ? descendants(node, new Set()) : new Set();
		case 'is-not-a': {
			const ex = node ? descendants(node, new Set([node])) : new Set();
			return new Set([...all].filter((n) => !ex.has(n)));
		}
		case 'generalizes': return node ? ancestors(node, new Set([node])) : new Set();
		case '=': return new Set(node ? [node] : []);
		case 'in': return new Set(value.split(',').map((v) => cs.byCode.get(v.trim())).filter(Boolean));
		case 'not-in': {
			const ex = new Set(value.split(',').map((v) => v.trim()));
			return new Set([...all].filter((n) => !ex.has(n.code)));
		}
		case 'regex': {
			const re = new RegExp(`^(?:${value})$`);
			return new Set([...all].filter((n) => re.test(n.code)));
		}
		default: return null;
		}
	}
	switch (op) {
	case '=': return new Set([...all].filter((n) => n.props.get(prop) === value));
	case 'in': {
		const vals = new Set(value.split(',').map((v) => v.trim()));
		return new Set([...all].filter((n) => vals.has(n.props.get(prop))));
	}
	case 'not-in': {
		const vals = new Set(value.split(',').map((v) => v.trim()));
		return new Set([...all].filter((n) => !vals.has(n.props.get(prop))));
	}
	case 'exists': return new Set([...all].filter((n) => n.props.has(prop) === (value === 'true')));
	case 'regex': {
		const re = new RegExp(`^(?:${value})$`);
		return new Set([...all].filter((n) => n.props.has(prop) && re.test(n.props.get(prop))));
	}
	default: return null;
	}
}

// Expansion: { codes: Map(system\0code -> {system, code}), systems: [url],
// complete: bool, why: [reason] }. Cycles in valueSet includes mark the
// inner reference incomplete rather than recursing forever.
const vsCache = new Map();
function expand(url, stack = []) {
	if (vsCache.has(url)) return vsCache.get(url);
	const res = { codes: new Map(), systems: [], complete: true, why: [] };
	const addSystem = (s) => {
		if (!res.systems.includes(s)) res.systems.push(s);
	};
	const incomplete = (why) => {
		res.complete = false;
		if (!res.why.includes(why)) res.why.push(why);
	};
	if (stack.includes(url)) {
		incomplete(`cyclic valueSet include ${url}`);
		return res;
	}
	const vs = lookupTerm(url, 'ValueSet');
	if (!vs) {
		incomplete('value set not in the definitions');
	} else if (!vs.compose) {
		incomplete('value set has no compose');
	} else {
		// One include or exclude: a Map of codes plus completeness.
		const part = (inc) => {
			let acc = null; // Map or null (= no constraint yet)
			const intersect = (m) => {
				acc = acc === null ? m : new Map([...acc].filter(([k]) => m.has(k)));
			};
			if (inc.system) {
				const sys = stripVersion(inc.system);
				addSystem(sys);
				const m = new Map();
				if (inc.concept) {
					// An explicit list defines membership whether or not we hold the system.
					for (const c of inc.concept) m.set(`${sys}\0${c.code}`, { system: sys, code: c.code });
				} else {
					const cs = codeSystem(sys);
					if (cs.missing) {
						incomplete(`${sys}: ${cs.why}`);
					} else {
						if (cs.partial) incomplete(`${sys}: ${cs.why}`);
						let nodes = new Set(cs.concepts);
						for (const f of inc.filter || []) {
							const r = applyFilter(cs, f);
							if (r === null) {
								incomplete(`${sys}: filter ${f.property} ${f.op} not supported`);
								nodes = new Set();
								break;
							}
							nodes = new Set([...nodes].filter((n) => r.has(n)));
						}
						// Abstract (notSelectable) concepts group others; they are not
						// valid codes, and the published expansions leave them out.
						for (const n of nodes)
							if (!n.abstract) m.set(`${sys}\0${n.code}`, { system: sys, code: n.code });
					}
				}
				intersect(m);
			}
			for (const v of inc.valueSet || []) {
				const sub = expand(stripVersion(v), [...stack, url]);
				if (!sub.complete) for (const w of sub.why) incomplete(w);
				for (const s of sub.systems) addSystem(s);
				intersect(sub.codes);
			}
			return acc || new Map();
		};
		for (const inc of vs.compose.include || []) for (const [k, v] of part(inc)) res.codes.set(k, v);
		for (const exc of vs.compose.exclude || []) for (const k of part(exc).keys()) res.codes.delete(k);
	}
	vsCache.set(url, res);
	return res;
}

// ---------------------------------------------------------------- layout

const typeList = [...types.values()].sort((a, b) => cmpBytes(a.name, b.name));
if (typeList.length >= U16_MAX) die('too many types');
const typeIndex = new Map(typeList.map((t, i) => [t.name, i]));

const vsUrls = [...requiredVs.keys()].sort(cmpBytes);
const vsIndex = new Map(vsUrls.map((u, i) => [u, i]));
if (vsUrls.length >= U16_MAX) die('too many value sets');

// Choice lists are pooled: identical lists (Extension.value[x] and the
// ElementDefinition.*[x]) share one run of jl_fhir_choice.
const choicePool = [];
const choiceAt = new Map();
function choiceOffset(list) {
	const key = list.join(',');
	if (!choiceAt.has(key)) {
		choiceAt.set(key, choicePool.length);
		choicePool.push(...list);
	}
	return choiceAt.get(key);
}

let nelems = 0;
let nprops = 0;
for (const t of typeList) {
	for (const e of t.elems) {
		if (e.choices) {
			e.typeIdx = choiceOffset(e.choices.map((c) => typeIndex.get(c.type)));
			e.nchoice = e.choices.length;
		} else {
			e.typeIdx = typeIndex.get(e.type);
			e.nchoice = 0;
		}
		e.bindingIdx = e.binding ? vsIndex.get(e.binding) + 1 : 0;
	}
	t.elemOff = nelems;
	t.propOff = nprops;
	nelems += t.elems.length;
	nprops += t.props.length;
}
if (choicePool.length >= U16_MAX) die('choice pool overflows uint16');

const valuesets = vsUrls.map((url) => {
	const x = expand(url);
	const sysIdx = new Map(x.systems.map((s, i) => [s, i]));
	const codes = [...x.codes.values()]
		.map((c) => ({ code: c.code, sys: sysIdx.get(c.system) }))
		.sort((a, b) => cmpBytes(a.code, b.code) || a.sys - b.sys);
	return { url, systems: x.systems, codes, complete: x.complete, why: x.why, uses: requiredVs.get(url) };
});

// ---------------------------------------------------------------- output

// A C string literal. Bytes outside printable ASCII become octal escapes;
// '?' is escaped so that no trigraph can form (-std=c17 honours them).
function cstr(s) {
	let out = '"';
	for (const b of Buffer.from(s, 'utf8')) {
		const ch = String.fromCharCode(b);
		if (ch === '"' || ch === '\\' || ch === '?') out += '\\' + ch;
		else if (b >= 0x20 && b < 0x7f) out += ch;
		else out += '\\' + b.toString(8).padStart(3, '0');
	}
	return out + '"';
}

const L = [];
L.push('/*');
L.push(' * defs.gen.c — generated by tools/gen_fhir_defs.mjs — do not edit.');
L.push(' *');
L.push(` * FHIR R4 (${FHIR_VERSION}) model tables (layout in fhir/model.h) from the official`);
L.push(' * StructureDefinitions and terminology in node_modules/hl7.fhir.r4.examples.');
L.push(' * Regenerate with `make gen-fhir`; see docs/internals/fhir-model.md.');
L.push(' *');
L.push(' * jl_fhir_types is sorted by name (strcmp), so jl_fhir_type() is a binary');
L.push(' * search over it and jl_fhir_resources is in ascending index order.');
L.push(' */');
L.push('#include "fhir/model.h"');
L.push('');
L.push('#include <stddef.h>');
L.push('');
L.push(`const char jl_fhir_version[] = ${cstr(FHIR_VERSION)};`);
L.push('');
L.push('/* Elements of every type, one run per type: {name, min, max, type|choice, nchoice, binding, flags} */');
L.push('static const jl_fhir_elem_t E[] = {');
for (const t of typeList) {
	L.push(`\t/* ${t.elemOff}: ${t.name} */`);
	for (const e of t.elems)
		L.push(`\t{${cstr(e.name)}, ${e.min}, ${e.max}, ${e.typeIdx}, ${e.nchoice}, ${e.bindingIdx}, ${e.flags}},`);
}
L.push('};');
L.push('');
L.push('/* JSON property names of every type, one sorted run per type: {json, elem, type} */');
L.push('static const jl_fhir_prop_t P[] = {');
for (const t of typeList) {
	L.push(`\t/* ${t.propOff}: ${t.name} */`);
	for (const p of t.props) L.push(`\t{${cstr(p.json)}, ${p.elem}, ${typeIndex.get(p.type)}},`);
}
L.push('};');
L.push('');
L.push('/* {name, kind, prim, nelems, nprops, elems, props}; sorted by name */');
L.push('const jl_fhir_type_t jl_fhir_types[] = {');
typeList.forEach((t, i) => {
	L.push(`\t/* ${i} */ {${cstr(t.name)}, ${t.kind}, ${t.prim}, ${t.elems.length}, ${t.props.length}, E + ${t.elemOff}, P + ${t.propOff}},`);
});
L.push('};');
L.push(`const uint16_t jl_fhir_ntypes = ${typeList.length};`);
L.push('');
L.push('const uint16_t jl_fhir_choice[] = {');
for (const [key, off] of choiceAt) {
	const names = key.split(',').map((i) => typeList[Number(i)].name);
	L.push(`\t/* ${off} */ ${key.split(',').join(', ')}, /* ${names.join(' ')} */`);
}
L.push('};');
L.push('');

let nsys = 0;
let ncodes = 0;
L.push('/* Code system URLs of every value set, one run per value set. */');
L.push('static const char *const S[] = {');
for (const v of valuesets) {
	v.sysOff = nsys;
	if (v.systems.length) L.push(`\t/* ${nsys}: ${v.url} */`);
	for (const s of v.systems) L.push(`\t${cstr(s)},`);
	nsys += v.systems.length;
}
if (nsys === 0) L.push('\tNULL,');
L.push('};');
L.push('');
L.push('/* Codes of every value set, one run per value set, sorted by (code, system). */');
L.push('static const jl_fhir_code_t C[] = {');
for (const v of valuesets) {
	v.codeOff = ncodes;
	if (!v.codes.length) continue;
	L.push(`\t/* ${ncodes}: ${v.url} */`);
	// Several codes to a line: these runs are long and regular.
	for (let i = 0; i < v.codes.length; i += 6)
		L.push('\t' + v.codes.slice(i, i + 6).map((c) => `{${cstr(c.code)}, ${c.sys}}`).join(', ') + ',');
	ncodes += v.codes.length;
}
L.push('};');
L.push('');
L.push('/* {url, systems, codes, ncodes, nsys, complete}; sorted by url, elem.binding = 1 + index */');
L.push('const jl_fhir_valueset_t jl_fhir_valuesets[] = {');
valuesets.forEach((v, i) => {
	const sys = v.systems.length ? `S + ${v.sysOff}` : 'NULL';
	const codes = v.codes.length ? `C + ${v.codeOff}` : 'NULL';
	L.push(`\t/* ${i} */ {${cstr(v.url)}, ${sys}, ${codes}, ${v.codes.length}, ${v.systems.length}, ${v.complete ? 1 : 0}},`);
});
L.push('};');
L.push(`const uint16_t jl_fhir_nvaluesets = ${valuesets.length};`);
L.push('');
const resIdx = typeList.map((t, i) => (t.kind === KIND.RESOURCE ? i : -1)).filter((i) => i >= 0);
L.push('/* Concrete resource types, sorted by name. */');
L.push('const uint16_t jl_fhir_resources[] = {');
for (let i = 0; i < resIdx.length; i += 12) L.push('\t' + resIdx.slice(i, i + 12).join(', ') + ',');
L.push('};');
L.push(`const uint16_t jl_fhir_nresources = ${resIdx.length};`);
const text = L.join('\n') + '\n';

fs.writeFileSync(OUT, text);

// ---------------------------------------------------------------- report

const byKind = {};
for (const t of typeList) byKind[KIND_NAME[t.kind]] = (byKind[KIND_NAME[t.kind]] || 0) + 1;
const incomplete = valuesets.filter((v) => !v.complete);
const say = (s) => process.stdout.write(s + '\n');
say(`wrote ${path.relative(ROOT, OUT)}: ${Buffer.byteLength(text)} bytes, ${L.length} lines`);
say(`types ${typeList.length} (${Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join(', ')})`);
say(`concrete resource types ${resIdx.length} (CodeSystem resource-types agrees)`);
say(`elements ${nelems}, properties ${nprops}, choice lists ${choiceAt.size} (${choicePool.length} entries)`);
say(`required bindings ${[...requiredVs.values()].reduce((n, l) => n + l.length, 0)} on ${valuesets.length} value sets, ` +
	`${ncodes} codes, ${nsys} system refs, ${incomplete.length} incomplete:`);
for (const v of incomplete) say(`  ${v.url} (${v.codes.length} codes): ${v.why.join('; ')} [${v.uses.join(', ')}]`);

if (CHECK) {
	// Compare our expansion with every published one we can reproduce.
	const published = readJson('Bundle-valueset-expansions.json').entry.map((e) => e.resource);
	let same = 0;
	let diff = 0;
	let sameRequired = 0;
	let skipped = 0;
	for (const p of published) {
		if (!p.expansion || !p.expansion.contains) {
			skipped++;
			continue;
		}
		const ours = expand(p.url);
		if (!ours.complete) {
			skipped++;
			continue;
		}
		const theirs = new Set();
		const walk = (l) => {
			for (const c of l) {
				if (c.code && !c.abstract) theirs.add(`${c.system}\0${c.code}`);
				if (c.contains) walk(c.contains);
			}
		};
		walk(p.expansion.contains);
		const mine = new Set(ours.codes.keys());
		const missing = [...theirs].filter((k) => !mine.has(k));
		const extra = [...mine].filter((k) => !theirs.has(k));
		if (missing.length || extra.length) {
			diff++;
			const fmt = (l) => l.slice(0, 5).map((k) => k.split('\0')[1]).join(' ');
			say(`  check: ${p.url}: missing ${missing.length} [${fmt(missing)}] extra ${extra.length} [${fmt(extra)}]`);
		} else {
			same++;
			if (requiredVs.has(p.url)) sameRequired++;
		}
	}
	say(`check: ${same} expansions identical (${sameRequired} of the ${valuesets.length - incomplete.length} complete ` +
		`required ones), ${diff} differ, ${skipped} skipped (incomplete here or not published)`);
}
