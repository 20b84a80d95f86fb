// Fixtures for the search conformance suite: resources with known ids whose
// values sit on the boundaries the R4 search rules talk about (partial dates,
// implicit precision, time zones, accents, full-width characters, escapes).
export const TAG_SYS = 'http://example.cn/fhir/tags';
export const CID = 'http://www.nhc.gov.cn/fhir/identifier/citizen-id';
export const MRN = 'http://hospital.example.cn/mrn';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';

const vital = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] };
const lab = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };
const sbp = { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] };
const dbp = { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] };
const mmhg = (v) => ({ value: v, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });

export const fixtures = [
  { resourceType: 'Organization', id: 'org-1', name: '大理州人民医院 Dali Prefecture Hospital', active: true,
    identifier: [{ system: 'https://www.nhc.gov.cn/uscc', value: '12532900431201234X' }] },
  { resourceType: 'Organization', id: 'org-2', name: 'Xiaguan Township Clinic', active: true, partOf: { reference: 'Organization/org-1' } },
  { resourceType: 'Practitioner', id: 'pr-1', name: [{ family: 'Li', given: ['Wei'] }], gender: 'male' },
  { resourceType: 'Practitioner', id: 'pr-2', name: [{ family: 'Yang', given: ['Fang'] }], gender: 'female' },
  { resourceType: 'Patient', id: 'pat-1', meta: { tag: [{ system: TAG_SYS, code: 'demo' }], profile: ['http://example.cn/fhir/StructureDefinition/cn-patient'] },
    active: true, gender: 'female', birthDate: '1980-01-01',
    identifier: [{ system: CID, value: '532901198001010021' },
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Medical record number' }, system: MRN, value: 'A-1001' }],
    name: [{ family: '段', given: ['丽华'], text: '段丽华' }],
    telecom: [{ system: 'phone', value: '13800000001' }, { system: 'email', value: 'lihua@example.cn' }],
    address: [{ city: '大理市', district: '下关镇', state: '云南省', postalCode: '671000' }],
    managingOrganization: { reference: 'Organization/org-1' }, generalPractitioner: [{ reference: 'Practitioner/pr-1' }] },
  { resourceType: 'Patient', id: 'pat-2', active: false, gender: 'male', birthDate: '1975-06',
    identifier: [{ system: CID, value: '53290119750601003X' }, { value: 'no-system-1' }],
    name: [{ family: 'Müller', given: ['Zoë'] }],
    telecom: [{ system: 'phone', value: '13800000002' }],
    address: [{ city: 'Xiaguan', country: 'CN' }], managingOrganization: { reference: 'Organization/org-2' } },
  { resourceType: 'Patient', id: 'pat-3', gender: 'male', birthDate: '2010-03-15', deceasedBoolean: false,
    identifier: [{ system: MRN, value: 'a,b' }, { system: MRN, value: 'x|y' }],
    name: [{ family: '王', given: ['ｘｉａｏｍｉｎｇ'], text: 'Wang Xiaoming' }] },
  { resourceType: 'Patient', id: 'pat-4', gender: 'unknown', birthDate: '1980', name: [{ family: 'Smith', given: ['John'] }] },
  { resourceType: 'Patient', id: 'pat-5', birthDate: '1980-12-31', name: [{ family: 'Smithson', given: ['Jane'] }] },
  { resourceType: 'Patient', id: 'pat-6', name: [{ given: ['Nameless'] }] },
  { resourceType: 'Encounter', id: 'enc-1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/pat-1' }, serviceProvider: { reference: 'Organization/org-1' },
    participant: [{ individual: { reference: 'Practitioner/pr-1' } }],
    period: { start: '2024-03-01T08:00:00+08:00', end: '2024-03-01T12:00:00+08:00' } },
  { resourceType: 'Observation', id: 'obs-1', status: 'final', category: [vital], code: sbp, subject: { reference: 'Patient/pat-1' },
    encounter: { reference: 'Encounter/enc-1' }, performer: [{ reference: 'Practitioner/pr-1' }],
    effectiveDateTime: '2024-03-01T09:30:00+08:00', valueQuantity: mmhg(120) },
  { resourceType: 'Observation', id: 'obs-2', status: 'final', category: [vital], code: sbp, subject: { reference: 'Patient/pat-1' },
    effectiveDateTime: '2024-06-15', valueQuantity: mmhg(150) },
  { resourceType: 'Observation', id: 'obs-3', status: 'preliminary', category: [vital], code: dbp, subject: { reference: 'Patient/pat-2' },
    effectiveDateTime: '2023-12-31T23:59:59Z', valueQuantity: mmhg(85) },
  { resourceType: 'Observation', id: 'obs-4', status: 'final', category: [lab],
    code: { coding: [{ system: LOINC, code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }] },
    subject: { reference: 'Patient/pat-3' }, effectivePeriod: { start: '2024-01-01', end: '2024-01-31' },
    valueQuantity: { value: 5.6, unit: 'mmol/L', system: UCUM, code: 'mmol/L' } },
  { resourceType: 'Observation', id: 'obs-5', status: 'final', category: [vital],
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] }, subject: { reference: 'Patient/pat-2' },
    effectiveDateTime: '2024-02-10T10:00:00Z',
    component: [{ code: sbp, valueQuantity: mmhg(140) }, { code: dbp, valueQuantity: mmhg(90) }] },
  { resourceType: 'Observation', id: 'obs-6', status: 'amended', code: sbp, subject: { reference: 'Patient/pat-4' },
    effectiveDateTime: '2024', valueQuantity: { value: 100.5, unit: 'mmHg' } },
  { resourceType: 'Observation', id: 'obs-7', status: 'registered', code: { text: 'Free text code only' },
    subject: { reference: 'Patient/pat-1' }, performer: [{ reference: 'Practitioner/pr-2' }] },
  { resourceType: 'Observation', id: 'obs-8', status: 'final', code: dbp, subject: { reference: 'Patient/pat-2/_history/1' },
    effectiveDateTime: '2022-07-01', valueQuantity: mmhg(70) },
  { resourceType: 'Observation', id: 'obs-9', status: 'final', code: dbp,
    subject: { identifier: { system: CID, value: '532901198001010021' }, display: 'by identifier only' },
    effectiveDateTime: '2021-05-05T05:05:05.5Z', valueQuantity: mmhg(72) },
  { resourceType: 'Condition', id: 'cond-1', subject: { reference: 'Patient/pat-1' }, onsetDateTime: '2020-05',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: ICD10, code: 'I10', display: 'Essential (primary) hypertension' }] } },
  { resourceType: 'Condition', id: 'cond-2', subject: { reference: 'Patient/pat-2' }, recordedDate: '2021-02-01',
    code: { coding: [{ system: ICD10, code: 'E11.9' }] } },
  { resourceType: 'MedicationRequest', id: 'mr-1', status: 'active', intent: 'order', subject: { reference: 'Patient/pat-1' },
    requester: { reference: 'Practitioner/pr-1' }, authoredOn: '2024-03-01',
    medicationCodeableConcept: { coding: [{ system: 'http://www.whocc.no/atc', code: 'C09AA02', display: 'enalapril' }] } },
  { resourceType: 'RiskAssessment', id: 'ra-1', status: 'final', subject: { reference: 'Patient/pat-1' }, prediction: [{ probabilityDecimal: 0.25 }] },
  { resourceType: 'RiskAssessment', id: 'ra-2', status: 'final', subject: { reference: 'Patient/pat-2' }, prediction: [{ probabilityDecimal: 0.8 }] },
  { resourceType: 'RiskAssessment', id: 'ra-3', status: 'final', subject: { reference: 'Patient/pat-3' }, prediction: [{ probabilityDecimal: 100 }] },
  { resourceType: 'Immunization', id: 'imm-1', status: 'completed', patient: { reference: 'Patient/pat-3' }, occurrenceDateTime: '2011-03-15',
    lotNumber: 'ABC-123', vaccineCode: { coding: [{ system: 'urn:oid:2.16.156.10011.2.3.1.267', code: '0101', display: '乙肝疫苗' }] } },
  { resourceType: 'ValueSet', id: 'vs-1', url: 'http://example.cn/fhir/ValueSet/blood-pressure', status: 'active', name: 'BloodPressure' },
  { resourceType: 'ValueSet', id: 'vs-2', url: 'http://example.cn/fhir/ValueSet/blood-pressure/child', status: 'draft', name: 'BloodPressureChild' },
  { resourceType: 'Provenance', id: 'prov-1', target: [{ reference: 'Observation/obs-1' }], recorded: '2024-03-01T10:00:00Z',
    agent: [{ who: { reference: 'Practitioner/pr-1' } }] },
];

// What the fixtures hold, for the oracle: the value range each resource has for a parameter.
// Dates are [lo, hi) in ms from their precision; numbers are points.
function dateRange(s) {
  const m = /^(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(Z|[+-]\d\d:\d\d)?)?)?)?$/.exec(s);
  if (!m) throw new Error('bad date ' + s);
  const [, y, mo, d, h, mi, se, fr, tz] = m;
  const off = !tz || tz === 'Z' ? 0 : (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  const t = (Y, M, D, H = 0, Mi = 0, S = 0, ms = 0) => Date.UTC(Y, M - 1, D, H, Mi, S, ms) - off * 60000;
  if (!mo) return [Date.UTC(+y, 0, 1), Date.UTC(+y + 1, 0, 1)];
  if (!d) return [Date.UTC(+y, +mo - 1, 1), Date.UTC(+y, +mo, 1)];
  if (!h) return [Date.UTC(+y, +mo - 1, +d), Date.UTC(+y, +mo - 1, +d + 1)];
  if (!se) { const lo = t(+y, +mo, +d, +h, +mi); return [lo, lo + 60000]; }
  if (!fr) { const lo = t(+y, +mo, +d, +h, +mi, +se); return [lo, lo + 1000]; }
  const unit = 10 ** (3 - Math.min(fr.length, 3));
  const lo = t(+y, +mo, +d, +h, +mi, +se, Number(fr.slice(0, 3).padEnd(3, '0')));
  return [lo, lo + Math.max(unit, 1)];
}
export { dateRange };

// R4 prefix semantics on ranges: target [lo, hi), search [a, b).
export function dateMatch(op, lo, hi, a, b) {
  const contained = lo >= a && hi <= b;
  switch (op) {
    case 'eq': return contained;
    case 'ne': return !contained;
    case 'gt': return hi > b;
    case 'lt': return lo < a;
    case 'ge': return hi > b || contained;
    case 'le': return lo < a || contained;
    case 'sa': return lo >= b;
    case 'eb': return hi <= a;
    default: throw new Error(op);
  }
}

// Number search value → [a, b) by its implicit precision (R4: "100" means [99.5, 100.5)).
export function numberRange(text) {
  const m = /^(-?\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  const frac = m[2] ? m[2].length : 0, exp = m[3] ? Number(m[3]) : 0;
  const v = Number(text), half = 0.5 * 10 ** (exp - frac);
  return [v - half, v + half];
}

// Stored numbers are points [v, v]: contained means a <= v < b.
export function numberMatch(op, v, a, b) {
  const contained = v >= a && v < b;
  switch (op) {
    case 'eq': return contained;
    case 'ne': return !contained;
    case 'gt': return v >= b;
    case 'lt': return v < a;
    case 'ge': return v >= b || contained;
    case 'le': return v < a || contained;
    case 'sa': return v >= b;
    case 'eb': return v < a;
    default: throw new Error(op);
  }
}
