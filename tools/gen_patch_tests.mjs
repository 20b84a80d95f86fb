#!/usr/bin/env node
// gen_patch_tests — converts the official FHIR PATCH test cases
// (../shared/testdata/patch, from HL7 FHIR/fhir-test-cases r4/patch) into
// the JSON the C tests read (tests/fhir/test_patch.c). A development-time
// tool; its outputs are committed under tests/data/patch/:
//
//   fhirpath-patch-tests.json  every case of fhir-patch-tests.xml, as
//       [{ name, mode, input, diff, output } | { name, mode, input, diff, error }]
//       with input/output Patients and the diff Parameters in FHIR JSON,
//       converted by tools/fhir_xml_to_json.mjs (the same converter as the
//       FHIRPath suite's inputs; nothing is edited by hand);
//   json-patch-tests.json      json-patch-tests.json, unchanged (it is JSON already).
//
// xml-patch-tests.xml (RFC 5261 XML Patch) is not converted: the server
// speaks JSON only and does not accept XML Patch.
//
//   node tools/gen_patch_tests.mjs [SRC_DIR] [DEST_DIR]
//   (defaults: ../shared/testdata/patch and tests/data/patch)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseXml, elements, convertObject, toJson } from './fhir_xml_to_json.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = process.argv[2] || path.join(ROOT, '..', 'shared', 'testdata', 'patch');
const dest = process.argv[3] || path.join(ROOT, 'tests', 'data', 'patch');

function die(msg) {
	process.stderr.write(`gen_patch_tests: ${msg}\n`);
	process.exit(1);
}

// The one resource element inside <input>, <diff> or <output>, as FHIR JSON.
function resourceIn(el, what, caseName) {
	const inner = elements(el);
	if (inner.length !== 1) die(`case "${caseName}": <${what}> must hold one resource, not ${inner.length}`);
	return convertObject(inner[0], inner[0].name, true);
}

function convertCases(xmlText) {
	const root = parseXml(xmlText);
	if (root.name !== 'tests') die(`expected <tests>, found <${root.name}>`);
	const cases = [];
	for (const c of elements(root)) {
		if (c.name !== 'case') die(`unexpected <${c.name}> in <tests>`);
		const name = c.attrs.get('name');
		const parts = new Map(elements(c).map((e) => [e.name, e]));
		for (const need of ['input', 'diff'])
			if (!parts.has(need)) die(`case "${name}" has no <${need}>`);
		const out = { name, mode: c.attrs.get('mode') || 'both' };
		out.input = resourceIn(parts.get('input'), 'input', name);
		out.diff = resourceIn(parts.get('diff'), 'diff', name);
		if (parts.has('output')) out.output = resourceIn(parts.get('output'), 'output', name);
		else if (parts.has('error')) out.error = parts.get('error').attrs.get('msg') || '';
		else die(`case "${name}" has neither <output> nor <error>`);
		cases.push(out);
	}
	return cases;
}

fs.mkdirSync(dest, { recursive: true });
const fhirCases = convertCases(fs.readFileSync(path.join(src, 'fhir-patch-tests.xml'), 'utf8'));
fs.writeFileSync(path.join(dest, 'fhirpath-patch-tests.json'), toJson(fhirCases) + '\n');
const jsonText = fs.readFileSync(path.join(src, 'json-patch-tests.json'), 'utf8');
const jsonCases = JSON.parse(jsonText);
if (!Array.isArray(jsonCases)) die('json-patch-tests.json is not an array');
fs.writeFileSync(path.join(dest, 'json-patch-tests.json'), jsonText);
process.stdout.write(
	`gen_patch_tests: ${fhirCases.length} FHIRPath Patch cases, ${jsonCases.length} JSON Patch cases → ${path.relative(ROOT, dest) || '.'}\n`,
);
