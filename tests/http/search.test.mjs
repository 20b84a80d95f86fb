// Search conformance: every parameter type, modifier, prefix and result
// option on resources created here, each case with the exact ids expected.
// Date and number boundary cases are generated from the R4 definitions of
// the prefixes (search_fixtures.mjs has the oracle); the rest are written out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req } from './lib.mjs';
import { fixtures, dateRange, dateMatch, numberRange, numberMatch, CID, MRN, LOINC, UCUM, ICD10, TAG_SYS } from './search_fixtures.mjs';

let srv;
before(async () => {
  srv = await startServer(['--no-access-log', '--admin-token', 'test-admin-token-0123456789']);
  for (const r of fixtures) {
    const res = await req(srv, 'PUT', `/${r.resourceType}/${r.id}`, { body: r });
    assert.ok(res.status === 201 || res.status === 200, `${r.id}: ${res.text}`);
  }
});
after(async () => { await srv.stop(); });

const ids = (b) => (b.entry || []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource.id);
async function search(q, headers = {}) {
  const r = await req(srv, 'GET', q, { headers });
  return r;
}
async function expectIds(q, want, { ordered = false, headers } = {}) {
  const r = await search(q, headers);
  assert.equal(r.status, 200, `${q}: ${r.text.slice(0, 400)}`);
  assert.equal(r.json.resourceType, 'Bundle');
  assert.equal(r.json.type, 'searchset');
  const got = ids(r.json);
  if (ordered) assert.deepEqual(got, want, q);
  else assert.deepEqual([...got].sort(), [...want].sort(), `${q} → ${got.join(',')}`);
  return r.json;
}

// [query, expected ids] — written out.
const cases = [
  // string: starts-with, case- and accent-insensitive, full/half width, :exact, :contains, OR, AND
  ['/Patient?family=段', ['pat-1']],
  ['/Patient?family=smith', ['pat-4', 'pat-5']],
  ['/Patient?family=SMITH', ['pat-4', 'pat-5']],
  ['/Patient?family=Smi', ['pat-4', 'pat-5']],
  ['/Patient?family=smiths', ['pat-5']],
  ['/Patient?family:exact=Smith', ['pat-4']],
  ['/Patient?family:exact=smith', []],
  ['/Patient?family:exact=Müller', ['pat-2']],
  ['/Patient?family:exact=Muller', []],
  // :exact on text that is its own folded form (indexed once) and on text that is not (two rows)
  ['/Patient?family:exact=段', ['pat-1']],
  ['/Patient?given:exact=丽华', ['pat-1']],
  ['/Patient?given:exact=ｘｉａｏｍｉｎｇ', ['pat-3']],
  ['/Patient?given:exact=xiaoming', []],
  ['/Patient?given:exact=Jane', ['pat-5']],
  ['/Patient?given:exact=jane', []],
  ['/Patient?family:contains=mit', ['pat-4', 'pat-5']],
  ['/Patient?family:contains=smith', ['pat-4', 'pat-5']],
  ['/Patient?family:contains=THSO', ['pat-5']],
  ['/Patient?family=muller', ['pat-2']],
  ['/Patient?family=MÜLLER', ['pat-2']],
  ['/Patient?given=zoe', ['pat-2']],
  ['/Patient?given=xiaoming', ['pat-3']],
  ['/Patient?given=ＸＩＡＯ', ['pat-3']],
  ['/Patient?name=wang', ['pat-3']],
  ['/Patient?name=Ｗａｎｇ', ['pat-3']],
  ['/Patient?name=王', ['pat-3']],
  ['/Patient?name=丽华', ['pat-1']],
  ['/Patient?name=段丽', ['pat-1']],
  ['/Patient?name=jane', ['pat-5']],
  ['/Patient?name:contains=ame', ['pat-6']],
  ['/Patient?name:contains=ane', ['pat-5']],
  ['/Patient?family=段,王', ['pat-1', 'pat-3']],
  ['/Patient?family=smith&given=john', ['pat-4']],
  ['/Patient?family=smith&given=jane', ['pat-5']],
  ['/Patient?family=smith&family=smiths', ['pat-5']],
  ['/Patient?address-city=大理', ['pat-1']],
  ['/Patient?address-city=xiaguan', ['pat-2']],
  ['/Patient?address=下关', ['pat-1']],
  ['/Patient?address-postalcode=671000', ['pat-1']],
  ['/Patient?address-country=cn', ['pat-2']],
  ['/Patient?phonetic=zzz', []],
  ['/Organization?name=dali', []],
  ['/Organization?name=大理', ['org-1']],
  ['/Organization?name:contains=hospital', ['org-1']],
  ['/Organization?name=xiaguan', ['org-2']],
  ['/Practitioner?family=li', ['pr-1']],
  ['/Practitioner?name=fang', ['pr-2']],
  ['/Immunization?lot-number=abc', ['imm-1']],
  ['/ValueSet?name=bloodpressure', ['vs-1', 'vs-2']],
  ['/ValueSet?name:exact=BloodPressure', ['vs-1']],
  // token
  ['/Patient?gender=female', ['pat-1']],
  ['/Patient?gender=male', ['pat-2', 'pat-3']],
  ['/Patient?gender=male,female', ['pat-1', 'pat-2', 'pat-3']],
  ['/Patient?gender:not=male', ['pat-1', 'pat-4', 'pat-5', 'pat-6']],
  ['/Patient?gender:not=male,female', ['pat-4', 'pat-5', 'pat-6']],
  ['/Patient?active=true', ['pat-1']],
  ['/Patient?active=false', ['pat-2']],
  ['/Patient?active:not=true', ['pat-2', 'pat-3', 'pat-4', 'pat-5', 'pat-6']],
  [`/Patient?identifier=${encodeURIComponent(CID)}|532901198001010021`, ['pat-1']],
  ['/Patient?identifier=532901198001010021', ['pat-1']],
  ['/Patient?identifier=|532901198001010021', []],
  ['/Patient?identifier=|no-system-1', ['pat-2']],
  ['/Patient?identifier=no-system-1', ['pat-2']],
  [`/Patient?identifier=${encodeURIComponent(CID)}|`, ['pat-1', 'pat-2']],
  [`/Patient?identifier=${encodeURIComponent(MRN)}|`, ['pat-1', 'pat-3']],
  [`/Patient?identifier=${encodeURIComponent(MRN)}|a\\,b`, ['pat-3']],
  [`/Patient?identifier=${encodeURIComponent(MRN)}|x\\|y`, ['pat-3']],
  [`/Patient?identifier=a\\,b`, ['pat-3']],
  [`/Patient?identifier=a,A-1001`, ['pat-1']],
  [`/Patient?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203')}|MR|A-1001`, ['pat-1']],
  [`/Patient?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203')}|MR|nope`, []],
  ['/Patient?identifier:text=medical', ['pat-1']],
  ['/Patient?telecom=13800000001', ['pat-1']],
  ['/Patient?phone=13800000002', ['pat-2']],
  ['/Patient?email=lihua@example.cn', ['pat-1']],
  ['/Patient?email=13800000001', []],
  [`/Patient?_tag=${encodeURIComponent(TAG_SYS)}|demo`, ['pat-1']],
  ['/Patient?_tag=demo', ['pat-1']],
  ['/Patient?_tag:not=demo', ['pat-2', 'pat-3', 'pat-4', 'pat-5', 'pat-6']],
  ['/Patient?_id=pat-1,pat-2,nobody', ['pat-1', 'pat-2']],
  ['/Patient?_id=pat-3', ['pat-3']],
  [`/Observation?code=${encodeURIComponent(LOINC)}|8480-6`, ['obs-1', 'obs-2', 'obs-6']],
  ['/Observation?code=8480-6', ['obs-1', 'obs-2', 'obs-6']],
  [`/Observation?code=${encodeURIComponent(LOINC)}|8480-6,${encodeURIComponent(LOINC)}|8462-4`, ['obs-1', 'obs-2', 'obs-3', 'obs-6', 'obs-8', 'obs-9']],
  ['/Observation?code=http://snomed.info/sct|8480-6', []],
  ['/Observation?code:text=systolic', ['obs-1', 'obs-2', 'obs-6']],
  ['/Observation?code:text=FREE%20text', ['obs-7']],
  ['/Observation?code:not=8480-6', ['obs-3', 'obs-4', 'obs-5', 'obs-7', 'obs-8', 'obs-9']],
  ['/Observation?status=final', ['obs-1', 'obs-2', 'obs-4', 'obs-5', 'obs-8', 'obs-9']],
  ['/Observation?status=final,amended', ['obs-1', 'obs-2', 'obs-4', 'obs-5', 'obs-6', 'obs-8', 'obs-9']],
  ['/Observation?status:not=final', ['obs-3', 'obs-6', 'obs-7']],
  ['/Observation?category=vital-signs', ['obs-1', 'obs-2', 'obs-3', 'obs-5']],
  ['/Observation?category=laboratory&status=final', ['obs-4']],
  ['/Observation?component-code=8462-4', ['obs-5']],
  ['/Observation?combo-code=8462-4', ['obs-3', 'obs-5', 'obs-8', 'obs-9']],
  // combo-code has no rows of its own (code | component-code): every form goes to both sources
  [`/Observation?combo-code=${encodeURIComponent(LOINC)}|8480-6`, ['obs-1', 'obs-2', 'obs-5', 'obs-6']],
  ['/Observation?combo-code=|8480-6', []],
  ['/Observation?combo-code:not=8462-4', ['obs-1', 'obs-2', 'obs-4', 'obs-6', 'obs-7']],
  ['/Observation?combo-code:not=8462-4,8480-6', ['obs-4', 'obs-7']],
  ['/Observation?combo-code:text=free', ['obs-7']],
  ['/Observation?combo-code:missing=false', ['obs-1', 'obs-2', 'obs-3', 'obs-4', 'obs-5', 'obs-6', 'obs-7', 'obs-8', 'obs-9']],
  ['/Observation?combo-code:missing=true', []],
  ['/Observation?component-code:missing=false', ['obs-5']],
  ['/Observation?combo-code=8462-4&combo-code=8480-6', ['obs-5']],
  [`/Condition?code=${encodeURIComponent(ICD10)}|I10`, ['cond-1']],
  ['/Condition?code=E11.9', ['cond-2']],
  ['/Condition?clinical-status=active', ['cond-1']],
  ['/Encounter?class=AMB', ['enc-1']],
  ['/MedicationRequest?code=C09AA02', ['mr-1']],
  ['/MedicationRequest?status=active&intent=order', ['mr-1']],
  ['/Immunization?vaccine-code=0101', ['imm-1']],
  ['/Organization?identifier=12532900431201234X', ['org-1']],
  // reference
  ['/Observation?subject=Patient/pat-1', ['obs-1', 'obs-2', 'obs-7']],
  ['/Observation?subject=pat-1', ['obs-1', 'obs-2', 'obs-7']],
  ['/Observation?patient=pat-1', ['obs-1', 'obs-2', 'obs-7']],
  ['/Observation?subject:Patient=pat-1', ['obs-1', 'obs-2', 'obs-7']],
  ['/Observation?subject:Group=pat-1', []],
  ['/Observation?subject=Patient/pat-1,Patient/pat-4', ['obs-1', 'obs-2', 'obs-6', 'obs-7']],
  ['/Observation?subject=Patient/pat-2', ['obs-3', 'obs-5', 'obs-8']],
  ['/Observation?subject=Patient/pat-2/_history/1', ['obs-8']],
  [`/Observation?subject:identifier=${encodeURIComponent(CID)}|532901198001010021`, ['obs-9']],
  ['/Observation?encounter=enc-1', ['obs-1']],
  ['/Observation?performer=Practitioner/pr-1', ['obs-1']],
  ['/Observation?performer=pr-2', ['obs-7']],
  ['/Condition?subject=Patient/pat-1', ['cond-1']],
  ['/Condition?patient=pat-2', ['cond-2']],
  ['/MedicationRequest?requester=pr-1', ['mr-1']],
  ['/Patient?organization=org-1', ['pat-1']],
  ['/Patient?general-practitioner=Practitioner/pr-1', ['pat-1']],
  ['/Organization?partof=org-1', ['org-2']],
  ['/Encounter?service-provider=Organization/org-1', ['enc-1']],
  ['/Encounter?participant=pr-1', ['enc-1']],
  ['/Immunization?patient=pat-3', ['imm-1']],
  ['/Provenance?target=Observation/obs-1', ['prov-1']],
  // chains
  ['/Observation?subject.name=段', ['obs-1', 'obs-2', 'obs-7']],
  // obs-8's reference is versioned (Patient/pat-2/_history/1): it still points at pat-2
  ['/Observation?subject:Patient.gender=male', ['obs-3', 'obs-4', 'obs-5', 'obs-8']],
  ['/Observation?subject:Patient.family=smith', ['obs-6']],
  ['/Observation?subject:Patient.organization.name=大理', ['obs-1', 'obs-2', 'obs-7']],
  ['/Observation?subject:Patient.organization.name=xiaguan', ['obs-3', 'obs-5', 'obs-8']],
  ['/Observation?performer:Practitioner.family=yang', ['obs-7']],
  ['/Encounter?service-provider.name=大理', ['enc-1']],
  ['/Condition?subject:Patient.birthdate=1975', ['cond-2']],
  ['/Patient?organization.partof=org-1', ['pat-2']],
  // reverse chains
  ['/Patient?_has:Observation:patient:code=8480-6', ['pat-1', 'pat-4']],
  ['/Patient?_has:Observation:subject:code=8462-4', ['pat-2']],
  ['/Patient?_has:Observation:patient:code=8480-6&gender=female', ['pat-1']],
  ['/Patient?_has:Condition:subject:code=I10', ['pat-1']],
  ['/Patient?_has:Observation:patient:_has:Provenance:target:agent=pr-1', ['pat-1']],
  ['/Practitioner?_has:Observation:performer:status=registered', ['pr-2']],
  ['/Organization?_has:Patient:organization:gender=male', ['org-2']],
  // quantity
  ['/Observation?value-quantity=120', ['obs-1']],
  [`/Observation?value-quantity=120|${encodeURIComponent(UCUM)}|mm[Hg]`, ['obs-1']],
  ['/Observation?value-quantity=120||mm[Hg]', ['obs-1']],
  ['/Observation?value-quantity=120||mmHg', ['obs-1']],
  ['/Observation?value-quantity=120||kg', []],
  [`/Observation?value-quantity=gt130|${encodeURIComponent(UCUM)}|mm[Hg]`, ['obs-2']],
  ['/Observation?value-quantity=100.5', ['obs-6']],
  ['/Observation?value-quantity=100.5||mmHg', ['obs-6']],
  [`/Observation?value-quantity=100.5|${encodeURIComponent(UCUM)}|mm[Hg]`, []],
  ['/Observation?value-quantity=101', ['obs-6']],
  // lt101 means below the range [100.5, 101.5): 100.5 itself is not below it, 100.5 < 100.95 is
  ['/Observation?value-quantity=lt101', ['obs-3', 'obs-4', 'obs-8', 'obs-9']],
  ['/Observation?value-quantity=lt101.0', ['obs-3', 'obs-4', 'obs-6', 'obs-8', 'obs-9']],
  ['/Observation?value-quantity=le85', ['obs-3', 'obs-4', 'obs-8', 'obs-9']],
  ['/Observation?value-quantity=5.6', ['obs-4']],
  [`/Observation?value-quantity=5.6|${encodeURIComponent(UCUM)}|mmol/L`, ['obs-4']],
  ['/Observation?value-quantity=ap120', ['obs-1']],
  ['/Observation?value-quantity=ap80', ['obs-3', 'obs-9']],
  ['/Observation?value-quantity=ge150', ['obs-2']],
  ['/Observation?value-quantity=ne120&code=8480-6', ['obs-2', 'obs-6']],
  ['/Observation?component-value-quantity=140', ['obs-5']],
  ['/Observation?component-value-quantity=gt80||mm[Hg]', ['obs-5']],
  ['/Observation?combo-value-quantity=90', ['obs-5']],
  // composite
  [`/Observation?code-value-quantity=${encodeURIComponent(LOINC)}|8480-6$gt130`, ['obs-2']],
  ['/Observation?code-value-quantity=8480-6$120', ['obs-1']],
  ['/Observation?code-value-quantity=8480-6$lt130,8462-4$lt80', ['obs-1', 'obs-6', 'obs-8', 'obs-9']],
  ['/Observation?code-value-quantity=8462-4$85', ['obs-3']],
  [`/Observation?component-code-value-quantity=${encodeURIComponent(LOINC)}|8480-6$140`, ['obs-5']],
  ['/Observation?component-code-value-quantity=8462-4$lt100', ['obs-5']],
  ['/Observation?component-code-value-quantity=8462-4$gt100', []],
  // the unit of a composite's quantity: system|code, ||code, ||human unit, and a unit no value has
  [`/Observation?code-value-quantity=8480-6$gt130|${encodeURIComponent(UCUM)}|mm[Hg]`, ['obs-2']],
  ['/Observation?code-value-quantity=8480-6$gt100||mmHg', ['obs-1', 'obs-2', 'obs-6']],
  ['/Observation?code-value-quantity=8480-6$gt100||kg', []],
  [`/Observation?component-code-value-quantity=8462-4$lt100|${encodeURIComponent(UCUM)}|mm[Hg]`, ['obs-5']],
  [`/Observation?component-code-value-quantity=8462-4$lt100|http://example.org/units|mm[Hg]`, []],
  // ne keeps the unit: values in mm[Hg] that are not 120 (obs-6 has no unit code, obs-5 no value)
  ['/Observation?value-quantity=ne120||mm[Hg]&code=8480-6', ['obs-2']],
  ['/Observation?combo-code-value-quantity=8480-6$150', ['obs-2']],
  ['/Observation?combo-code-value-quantity=8480-6$140', ['obs-5']],
  ['/Observation?combo-code-value-quantity=8480-6$gt130', ['obs-2', 'obs-5']],
  [`/Observation?combo-code-value-quantity=${encodeURIComponent(LOINC)}|8462-4$lt100|${encodeURIComponent(UCUM)}|mm[Hg]`, ['obs-3', 'obs-5', 'obs-8', 'obs-9']],
  ['/Observation?combo-code-value-quantity=8462-4$lt100||kg', []],
  // uri
  ['/ValueSet?url=http://example.cn/fhir/ValueSet/blood-pressure', ['vs-1']],
  ['/ValueSet?url:below=http://example.cn/fhir/ValueSet/blood-pressure', ['vs-1', 'vs-2']],
  ['/ValueSet?url:below=http://example.cn/fhir/ValueSet/blood', ['vs-1', 'vs-2']],
  ['/ValueSet?url:above=http://example.cn/fhir/ValueSet/blood-pressure/child/more', ['vs-1', 'vs-2']],
  ['/ValueSet?url:above=http://example.cn/fhir/ValueSet/blood-pressure', ['vs-1']],
  ['/ValueSet?url=http://example.cn/fhir/ValueSet/blood', []],
  ['/Patient?_profile=http://example.cn/fhir/StructureDefinition/cn-patient', ['pat-1']],
  // :missing
  ['/Patient?birthdate:missing=true', ['pat-6']],
  ['/Patient?birthdate:missing=false', ['pat-1', 'pat-2', 'pat-3', 'pat-4', 'pat-5']],
  ['/Patient?gender:missing=true', ['pat-5', 'pat-6']],
  ['/Patient?family:missing=true', ['pat-6']],
  ['/Patient?organization:missing=false', ['pat-1', 'pat-2']],
  ['/Observation?value-quantity:missing=true', ['obs-5', 'obs-7']],
  ['/Observation?encounter:missing=false', ['obs-1']],
  ['/Observation?date:missing=true', ['obs-7']],
  ['/Patient?identifier:missing=true', ['pat-4', 'pat-5', 'pat-6']],
  ['/ValueSet?url:missing=false', ['vs-1', 'vs-2']],
  ['/Observation?code-value-quantity:missing=true', ['obs-5', 'obs-7']],
  // dates (a few written out; the boundaries are generated below)
  ['/Observation?date=2024-03-01', ['obs-1']],
  ['/Observation?date=2024-03-01T09:30%2B08:00', ['obs-1']],
  ['/Observation?date=2024-03-01T01:30:00Z', ['obs-1']],
  ['/Observation?date=2023-12-31T23:59:59Z', ['obs-3']],
  ['/Observation?date=2023-12-31', ['obs-3']],
  ['/Observation?date=2024-01-01', []],
  ['/Observation?date=2024-01', ['obs-4']],
  ['/Observation?date=2024', ['obs-1', 'obs-2', 'obs-4', 'obs-5', 'obs-6']],
  ['/Observation?date=ge2024-01-01&date=lt2024-02-01', ['obs-4', 'obs-6']],
  ['/Observation?date=sa2023', ['obs-1', 'obs-2', 'obs-4', 'obs-5', 'obs-6']],
  ['/Observation?date=eb2024', ['obs-3', 'obs-8', 'obs-9']],
  ['/Observation?date=2021-05-05T05:05:05.5Z', ['obs-9']],
  ['/Observation?date=2021-05-05T05:05:05Z', ['obs-9']],
  ['/Observation?date=2021-05-05T05:05:05.50Z', []],
  ['/Encounter?date=2024-03-01', ['enc-1']],
  ['/Encounter?date=gt2024-03-01T11:00:00%2B08:00', ['enc-1']],
  ['/Encounter?date=lt2024-03-01T09:00:00%2B08:00', ['enc-1']],
  ['/Encounter?date=sa2024-03-01T13:00:00%2B08:00', []],
  ['/Encounter?date=eb2024-03-01T08:00:00%2B08:00', []],
  ['/Encounter?date=eb2024-03-01T13:00:00%2B08:00', ['enc-1']],
  ['/Condition?onset-date=2020', ['cond-1']],
  ['/Condition?onset-date=2020-05-15', []],
  ['/Condition?recorded-date=2021', ['cond-2']],
  ['/Immunization?date=2011-03-15', ['imm-1']],
  ['/MedicationRequest?authoredon=2024-03', ['mr-1']],
  ['/Provenance?recorded=2024-03-01T10:00:00Z', ['prov-1']],
  ['/Patient?birthdate=1980&gender=female', ['pat-1']],
  ['/Patient?_lastUpdated=gt2000-01-01&_id=pat-1', ['pat-1']],
  ['/Patient?_lastUpdated=lt2000-01-01', []],
  // numbers (a few; boundaries generated below)
  ['/RiskAssessment?probability=0.25', ['ra-1']],
  ['/RiskAssessment?probability=0.3', ['ra-1']],
  ['/RiskAssessment?probability=0.30', []],
  ['/RiskAssessment?probability=2.5e-1', ['ra-1']],
  ['/RiskAssessment?probability=1e2', ['ra-3']],
  ['/RiskAssessment?probability=gt0.5', ['ra-2', 'ra-3']],
  ['/RiskAssessment?probability=ap0.8', ['ra-2']],
  // compartments
  ['/Patient/pat-1/Observation', ['obs-1', 'obs-2', 'obs-7']],
  ['/Patient/pat-1/Observation?code=8480-6', ['obs-1', 'obs-2']],
  ['/Patient/pat-1/Condition', ['cond-1']],
  ['/Patient/pat-2/Observation', ['obs-3', 'obs-5', 'obs-8']],
  ['/Patient/pat-3/Immunization', ['imm-1']],
  ['/Patient/pat-1/MedicationRequest', ['mr-1']],
  ['/Patient/pat-1/Encounter', ['enc-1']],
  ['/Practitioner/pr-1/Observation', ['obs-1']],
  ['/Encounter/enc-1/Observation', ['obs-1']],
  // system level
  ['?_type=Patient,Organization&_id=pat-1,org-1', ['pat-1', 'org-1']],
  ['?_id=pat-3', ['pat-3']],
];

for (const [q, want] of cases) test(`search ${q}`, async () => { await expectIds(q, want); });

// Generated boundary cases: birthdate and Observation.date against every prefix and several precisions.
const patients = fixtures.filter((r) => r.resourceType === 'Patient');
const birthValues = ['1980', '1980-01', '1980-01-01', '1980-01-02', '1980-12-31', '1975-06', '1975-06-15', '2010-03-15', '1979', '1981'];
for (const op of ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb']) {
  for (const v of birthValues) {
    const [a, b] = dateRange(v);
    const want = patients.filter((p) => p.birthDate && dateMatch(op, ...dateRange(p.birthDate), a, b)).map((p) => p.id);
    test(`date boundary: Patient?birthdate=${op}${v}`, async () => { await expectIds(`/Patient?birthdate=${op}${v}`, want); });
  }
}
const observations = fixtures.filter((r) => r.resourceType === 'Observation');
const obsRange = (o) => (o.effectiveDateTime ? dateRange(o.effectiveDateTime)
  : o.effectivePeriod ? [dateRange(o.effectivePeriod.start)[0], dateRange(o.effectivePeriod.end)[1]] : null);
for (const op of ['eq', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ne']) {
  for (const v of ['2024', '2024-01', '2024-03-01', '2024-01-15', '2023-12-31T23:59:59Z', '2024-02-10T10:00Z']) {
    const [a, b] = dateRange(v);
    const want = observations.filter((o) => obsRange(o) && dateMatch(op, ...obsRange(o), a, b)).map((o) => o.id);
    test(`date boundary: Observation?date=${op}${v}`, async () => { await expectIds(`/Observation?date=${op}${encodeURIComponent(v)}`, want); });
  }
}
const risks = fixtures.filter((r) => r.resourceType === 'RiskAssessment');
for (const op of ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb']) {
  for (const v of ['0.25', '0.2', '0.3', '0.8', '0.80', '1', '100', '99.5', '1e2', '0.250']) {
    const [a, b] = numberRange(v);
    const want = risks.filter((r) => numberMatch(op, r.prediction[0].probabilityDecimal, a, b)).map((r) => r.id);
    test(`number boundary: RiskAssessment?probability=${op}${v}`, async () => { await expectIds(`/RiskAssessment?probability=${op}${v}`, want); });
  }
}

// ---- result shaping ----

test('_sort by date, string, several keys, descending', async () => {
  // pat-1 (1980-01-01) and pat-4 (1980) start on the same day: ties go by creation order
  await expectIds('/Patient?_sort=birthdate&birthdate:missing=false', ['pat-2', 'pat-1', 'pat-4', 'pat-5', 'pat-3'], { ordered: true });
  await expectIds('/Patient?_sort=-birthdate&birthdate:missing=false', ['pat-3', 'pat-4', 'pat-5', 'pat-1', 'pat-2'], { ordered: true });
  await expectIds('/Patient?_sort=family&family=smith', ['pat-4', 'pat-5'], { ordered: true });
  await expectIds('/Patient?_sort=-family&family=smith', ['pat-5', 'pat-4'], { ordered: true });
  await expectIds('/Observation?subject=pat-1&_sort=-date', ['obs-2', 'obs-1', 'obs-7'], { ordered: true });
  await expectIds('/Observation?code=8480-6&_sort=value-quantity', ['obs-6', 'obs-1', 'obs-2'], { ordered: true });
  await expectIds('/Patient?_sort=_id&_id=pat-3,pat-1,pat-2', ['pat-1', 'pat-2', 'pat-3'], { ordered: true });
  await expectIds('/Patient?_sort=-_id&_id=pat-3,pat-1,pat-2', ['pat-3', 'pat-2', 'pat-1'], { ordered: true });
  await expectIds('/Patient?_sort=birthdate,-family&birthdate=1980', ['pat-1', 'pat-4', 'pat-5'], { ordered: true });
});

test('_count, paging with next/previous links, _total', async () => {
  const first = await expectIds('/Patient?_count=2&_sort=_id', ['pat-1', 'pat-2'], { ordered: true });
  const seen = ids(first);
  let b = first;
  const next = (bb, rel) => bb.link.find((l) => l.relation === rel)?.url;
  while (next(b, 'next')) { b = await (await fetch(next(b, 'next'))).json(); seen.push(...ids(b)); }
  assert.deepEqual(seen, ['pat-1', 'pat-2', 'pat-3', 'pat-4', 'pat-5', 'pat-6']);
  const prev = await (await fetch(next(b, 'previous'))).json();
  assert.deepEqual(ids(prev), ['pat-3', 'pat-4']);
  const t = await expectIds('/Patient?_count=2&_total=accurate', ['pat-1', 'pat-2']);
  assert.equal(t.total, 6);
  const none = await expectIds('/Patient?_count=2&_total=none', ['pat-1', 'pat-2']);
  assert.equal(none.total, undefined);
  const small = await expectIds('/Patient?gender=male', ['pat-2', 'pat-3']);
  assert.equal(small.total, 2, 'a result that fits one page carries its total');
  const zero = await expectIds('/Patient?_count=0&_total=accurate', []);
  assert.equal(zero.total, 6);
  const cnt = await expectIds('/Observation?_summary=count&code=8480-6', []);
  assert.equal(cnt.total, 3);
});

test('_summary and _elements cut resources and mark them SUBSETTED', async () => {
  const t = await expectIds('/Patient?_id=pat-1&_summary=true', ['pat-1']);
  const p = t.entry[0].resource;
  assert.equal(p.birthDate, '1980-01-01');
  assert.ok(p.telecom, 'telecom is a summary element of Patient');
  assert.equal(p.generalPractitioner, undefined, 'generalPractitioner is not a summary element of Patient');
  assert.ok(p.meta.tag.some((x) => x.code === 'SUBSETTED'));
  assert.ok(p.meta.tag.some((x) => x.code === 'demo'), 'existing tags are kept');
  const e = await expectIds('/Patient?_id=pat-1&_elements=gender,birthDate', ['pat-1']);
  assert.deepEqual(Object.keys(e.entry[0].resource).sort(), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
  const d = await expectIds('/Observation?_id=obs-1&_summary=data', ['obs-1']);
  assert.equal(d.entry[0].resource.valueQuantity.value, 120);
  const o = await expectIds('/Observation?_id=obs-1&_elements=value', ['obs-1']);
  assert.equal(o.entry[0].resource.valueQuantity.value, 120);
  assert.ok(o.entry[0].resource.status, 'mandatory elements stay');
  const f = await expectIds('/Patient?_id=pat-1&_summary=false', ['pat-1']);
  assert.ok(f.entry[0].resource.telecom);
});

test('_include, _include:iterate, _include with target type and *, _revinclude', async () => {
  const modes = (b) => Object.fromEntries(b.entry.map((e) => [e.resource.id, e.search.mode]));
  let b = await (await req(srv, 'GET', '/Observation?_id=obs-1&_include=Observation:subject')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match', 'pat-1': 'include' });
  b = (await req(srv, 'GET', '/Observation?_id=obs-1&_include=Observation:subject&_include:iterate=Patient:organization')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match', 'pat-1': 'include', 'org-1': 'include' });
  b = (await req(srv, 'GET', '/Observation?_id=obs-1&_include=Observation:performer:Practitioner')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match', 'pr-1': 'include' });
  b = (await req(srv, 'GET', '/Observation?_id=obs-1&_include=Observation:performer:Patient')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match' });
  b = (await req(srv, 'GET', '/Observation?_id=obs-1&_include=Observation:*')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match', 'pat-1': 'include', 'enc-1': 'include', 'pr-1': 'include' });
  b = (await req(srv, 'GET', '/Patient?_id=pat-1&_revinclude=Observation:subject')).json;
  assert.deepEqual(modes(b), { 'pat-1': 'match', 'obs-1': 'include', 'obs-2': 'include', 'obs-7': 'include' });
  b = (await req(srv, 'GET', '/Observation?_id=obs-1&_revinclude=Provenance:target')).json;
  assert.deepEqual(modes(b), { 'obs-1': 'match', 'prov-1': 'include' });
  b = (await req(srv, 'GET', '/Patient?_id=pat-1&_revinclude=Observation:subject&_include:iterate=Observation:performer')).json;
  assert.deepEqual(modes(b), { 'pat-1': 'match', 'obs-1': 'include', 'obs-2': 'include', 'obs-7': 'include', 'pr-1': 'include', 'pr-2': 'include' });
});

test('$everything: the patient first, then its compartment; _type and _since', async () => {
  const b = (await req(srv, 'GET', '/Patient/pat-1/$everything')).json;
  assert.equal(b.entry[0].resource.id, 'pat-1');
  assert.deepEqual(ids(b).sort(), ['cond-1', 'enc-1', 'mr-1', 'obs-1', 'obs-2', 'obs-7', 'pat-1', 'ra-1'].sort());
  const t = (await req(srv, 'GET', '/Patient/pat-1/$everything?_type=Observation')).json;
  assert.deepEqual(ids(t).sort(), ['obs-1', 'obs-2', 'obs-7']);
  const future = new Date(Date.now() + 3600e3).toISOString();
  const s = (await req(srv, 'GET', `/Patient/pat-1/$everything?_since=${encodeURIComponent(future)}`)).json;
  assert.deepEqual(ids(s), []);
  const paged = (await req(srv, 'GET', '/Patient/pat-1/$everything?_count=3')).json;
  assert.equal(ids(paged).length, 4, 'the patient plus the first 3');
  assert.ok(paged.link.find((l) => l.relation === 'next'));
  assert.equal((await req(srv, 'GET', '/Patient/nobody/$everything')).status, 404);
});

test('POST _search with a form body equals GET', async () => {
  const r = await fetch(`${srv.base}/Observation/_search`, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'code=8480-6&subject=Patient%2Fpat-1' });
  const b = await r.json();
  assert.equal(r.status, 200);
  assert.deepEqual(ids(b).sort(), ['obs-1', 'obs-2']);
  assert.ok(b.link[0].url.includes('/Observation?code=8480-6'), b.link[0].url);
  const bad = await fetch(`${srv.base}/Observation/_search`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: '{}' });
  assert.equal(bad.status, 415);
});

test('lenient by default: unknown or malformed parameters are reported and left out of the self link', async () => {
  const b = await expectIds('/Patient?gender=female&nonsense=1&birthdate=notadate', ['pat-1']);
  const oo = b.entry.find((e) => e.search.mode === 'outcome').resource;
  assert.equal(oo.resourceType, 'OperationOutcome');
  assert.ok(oo.issue.some((i) => i.diagnostics.includes('nonsense')));
  assert.ok(oo.issue.some((i) => i.diagnostics.includes('birthdate')));
  const self = b.link.find((l) => l.relation === 'self').url;
  assert.ok(self.endsWith('/Patient?gender=female'), self);
});

test('Prefer: handling=strict answers 400 naming the parameter', async () => {
  for (const q of ['/Patient?nonsense=1', '/Patient?birthdate=notadate', '/Patient?family:foo=x', '/Patient?_sort=nope',
    '/Patient?gender:above=x', '/Observation?value-quantity=abc', '/Patient?_count=-1', '/Patient?_include=Nope:x',
    '/Observation?code-value-quantity=8480-6', '/Patient?_summary=maybe', '/Patient?_total=always', '/Patient?_text=x',
    '/Patient?family:contains=%01', '/Patient?family:exact=a%02b']) {
    const r = await search(q, { Prefer: 'handling=strict' });
    assert.equal(r.status, 400, `${q}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    const name = decodeURIComponent(q.split('?')[1].split('=')[0]).split(':')[0];
    assert.ok(r.json.issue[0].diagnostics.includes(name), `${q}: ${r.json.issue[0].diagnostics}`);
  }
});

test('_debug=plan is for administrators and shows the planner at work', async () => {
  assert.equal((await search('/Observation?code=8480-6&_debug=plan')).status, 403);
  const r = await search('/Observation?code=8480-6&status=final&_debug=plan', { 'X-Admin-Token': 'test-admin-token-0123456789' });
  assert.equal(r.status, 200);
  const text = r.json.issue[0].diagnostics;
  assert.match(text, /driver: condition/);
  assert.match(text, /estimated rows/);
  assert.match(text, /SEARCH/);
});

test('an expired or unknown page cursor answers 410', async () => {
  const r = await search('/Patient?_page=0123456789abcdef0123456789abcdef.1');
  assert.equal(r.status, 410);
  assert.equal(r.json.issue[0].code, 'expired');
});

test('indexes follow updates and deletes', async () => {
  await req(srv, 'PUT', '/Patient/tmp-1', { body: { resourceType: 'Patient', id: 'tmp-1', name: [{ family: 'Zhaoqian' }], gender: 'male' } });
  await expectIds('/Patient?family=zhaoqian', ['tmp-1']);
  await req(srv, 'PUT', '/Patient/tmp-1', { body: { resourceType: 'Patient', id: 'tmp-1', name: [{ family: 'Sunli' }], gender: 'female' } });
  await expectIds('/Patient?family=zhaoqian', []);
  await expectIds('/Patient?family=sunli&gender=female', ['tmp-1']);
  await expectIds('/Patient?gender=male&family=sunli', []);
  await req(srv, 'DELETE', '/Patient/tmp-1');
  await expectIds('/Patient?family=sunli', []);
  await expectIds('/Patient?_id=tmp-1', []);
  await req(srv, 'PUT', '/Patient/tmp-1', { body: { resourceType: 'Patient', id: 'tmp-1', name: [{ family: 'Sunli' }] } });
  await expectIds('/Patient?family=sunli', ['tmp-1']);
  await req(srv, 'DELETE', '/Patient/tmp-1');
});

test('_sort by token and reference parameters (codes, identifiers, references; missing values last)', async () => {
  await expectIds('/Patient?_sort=gender,_id&_id=pat-1,pat-2,pat-3', ['pat-1', 'pat-2', 'pat-3'], { ordered: true });
  await expectIds('/Patient?_sort=-gender,_id&_id=pat-1,pat-2,pat-3', ['pat-2', 'pat-3', 'pat-1'], { ordered: true });
  await expectIds('/Observation?code=8480-6&_sort=status,_id', ['obs-6', 'obs-1', 'obs-2'], { ordered: true });
  await expectIds('/Observation?code=8480-6&_sort=-status,-_id', ['obs-2', 'obs-1', 'obs-6'], { ordered: true });
  // a CodeableConcept sorts by its codes; text only means no value
  await expectIds('/Observation?subject=pat-1&_sort=code,-_id', ['obs-2', 'obs-1', 'obs-7'], { ordered: true });
  // references sort as written; one given by identifier only has no reference and comes last either way
  await expectIds('/Observation?code=8462-4&_sort=subject', ['obs-3', 'obs-8', 'obs-9'], { ordered: true });
  await expectIds('/Observation?code=8462-4&_sort=-subject', ['obs-8', 'obs-3', 'obs-9'], { ordered: true });
  // mixed with an indexed sort key
  await expectIds('/Observation?subject=pat-1&_sort=-date,status', ['obs-2', 'obs-1', 'obs-7'], { ordered: true });
});

test('paging a token sort: every match once, in order, while others write', async () => {
  const n = 23;
  for (let i = 0; i < n; i++) {
    const id = `ks-${String(i).padStart(2, '0')}`;
    // identifier values in the reverse order of the ids
    await req(srv, 'PUT', `/Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: 'Keysort' }], identifier: [{ system: 'urn:ks', value: `v-${String(n - i).padStart(2, '0')}` }] } });
  }
  let b = await expectIds('/Patient?family=keysort&_sort=identifier&_count=5', ['ks-22', 'ks-21', 'ks-20', 'ks-19', 'ks-18'], { ordered: true });
  const seen = ids(b);
  let k = 0;
  for (let link = b.link.find((l) => l.relation === 'next'); link; link = b.link.find((l) => l.relation === 'next')) {
    await req(srv, 'PUT', `/Patient/ks-new-${k}`, { body: { resourceType: 'Patient', id: `ks-new-${k}`, name: [{ family: 'Keysort' }], identifier: [{ value: 'a-first' }] } });
    await req(srv, 'DELETE', `/Patient/ks-${String(k).padStart(2, '0')}`);
    k++;
    b = await (await fetch(link.url)).json();
    seen.push(...ids(b));
  }
  const want = Array.from({ length: n }, (_, i) => `ks-${String(n - 1 - i).padStart(2, '0')}`);
  assert.deepEqual(seen, want);
});

test('paging through a result set while another client writes never repeats or skips', async () => {
  for (let i = 0; i < 30; i++) {
    await req(srv, 'PUT', `/Patient/page-${String(i).padStart(2, '0')}`, { body: { resourceType: 'Patient', id: `page-${String(i).padStart(2, '0')}`, name: [{ family: 'Pager' }] } });
  }
  let b = await expectIds('/Patient?family=pager&_count=7&_sort=_id', ['page-00', 'page-01', 'page-02', 'page-03', 'page-04', 'page-05', 'page-06'], { ordered: true });
  const seen = ids(b);
  let k = 0;
  for (let link = b.link.find((l) => l.relation === 'next'); link; link = b.link.find((l) => l.relation === 'next')) {
    // meanwhile: new matches, deletions and updates that would move resources between pages
    await req(srv, 'PUT', `/Patient/page-new-${k}`, { body: { resourceType: 'Patient', id: `page-new-${k}`, name: [{ family: 'Pager' }] } });
    await req(srv, 'DELETE', `/Patient/page-${String(29 - k).padStart(2, '0')}`);
    await req(srv, 'PUT', `/Patient/page-${String(k).padStart(2, '0')}`, { body: { resourceType: 'Patient', id: `page-${String(k).padStart(2, '0')}`, name: [{ family: 'Renamed' }] } });
    k++;
    b = await (await fetch(link.url)).json();
    seen.push(...ids(b));
  }
  const want = Array.from({ length: 30 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
  assert.deepEqual(seen, want, 'the snapshot of the first page, exactly once each, in order');
});

test('--page-size and --max-count set the default and the largest page', async () => {
  const s2 = await startServer(['--no-access-log', '--page-size', '3', '--max-count', '5']);
  try {
    for (let i = 0; i < 8; i++) {
      await req(s2, 'PUT', `/Patient/pc-${i}`, { body: { resourceType: 'Patient', id: `pc-${i}`, gender: 'other' } });
    }
    let r = await req(s2, 'GET', '/Patient?gender=other');
    assert.equal(r.json.entry.length, 3);
    r = await req(s2, 'GET', '/Patient?gender=other&_count=100');
    assert.equal(r.json.entry.length, 5);
    assert.ok(r.json.link.find((l) => l.relation === 'next'));
    r = await req(s2, 'GET', '/Patient/_history');
    assert.equal(r.json.entry.length, 3);
  } finally {
    await s2.stop();
  }
});
