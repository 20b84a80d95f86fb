/*
 * facts — turns FHIR resources into the rows of facts.h. Each resource is
 * read alone (the property that lets this become a per-write projection);
 * cross-resource links (an event to its person, a measurement to its
 * encounter, a cause of death to the person) are hashes resolved once at
 * jl_facts_finish.
 */
#include "monitor/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/time.h"
#include "fhir/resource.h"
#include "store/store.h"

#define EXT_BASE "https://jianlian.example/fhir/StructureDefinition/"
#define SYS_NIP "https://jianlian.example/fhir/CodeSystem/cn-nip-vaccine"

int32_t jl_facts_day(int y, int m, int d)
{
	return (int32_t)jl_days_from_civil(y, m, d);
}

void jl_facts_civil(int32_t day, int *y, int *m, int *d)
{
	/* Inverse of the proleptic Gregorian day count (era arithmetic). */
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int32_t jl_facts_age(int32_t birth, int32_t day)
{
	int by, bm, bd, y, m, d;
	jl_facts_civil(birth, &by, &bm, &bd);
	jl_facts_civil(day, &y, &m, &d);
	int32_t age = y - by;
	if (m < bm || (m == bm && d < bd))
		age--;
	return age;
}

static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

bool jl_facts_parse_day(jl_str_t s, int32_t *day)
{
	if (s.n < 4)
		return false;
	int y = digits(s.p, 4), m = 1, d = 1;
	if (s.n >= 7 && s.p[4] == '-')
		m = digits(s.p + 5, 2);
	if (s.n >= 10 && s.p[7] == '-')
		d = digits(s.p + 8, 2);
	if (y < 1800 || m < 1 || m > 12 || d < 1 || d > jl_days_in_month(y, m))
		return false;
	*day = jl_facts_day(y, m, d);
	return true;
}

jl_rc jl_facts_init(jl_facts_t *f, const jl_catalog_t *cat, const jl_regions_t *reg)
{
	memset(f, 0, sizeof *f);
	f->cat = cat;
	f->reg = reg;
	f->inst = jl_malloc(JL_MEM_MISC, (reg->n ? reg->n : 1) * sizeof *f->inst);
	if (!f->inst)
		return JL_ENOMEM;
	memset(f->inst, 0, (reg->n ? reg->n : 1) * sizeof *f->inst);
	/* Identifier systems some rule asks about become person flag bits. */
	for (uint32_t i = 0; i < cat->ninds; i++) {
		const jl_pred_t *p = &cat->inds[i].num;
		if (p->rule != JL_RULE_IDENTIFIER || f->nidsys >= 8)
			continue;
		bool seen = false;
		for (uint32_t k = 0; k < f->nidsys; k++)
			seen |= !strcmp(f->idsys[k], p->system);
		if (!seen)
			f->idsys[f->nidsys++] = p->system;
	}
	return JL_OK;
}

void jl_facts_dispose(jl_facts_t *f)
{
	jl_free(JL_MEM_MISC, f->persons);
	jl_free(JL_MEM_MISC, f->evs);
	jl_free(JL_MEM_MISC, f->aggr);
	jl_free(JL_MEM_MISC, f->inst);
	jl_free(JL_MEM_MISC, f->ph_keys);
	jl_free(JL_MEM_MISC, f->ph_vals);
	jl_free(JL_MEM_MISC, f->enc_keys);
	jl_free(JL_MEM_MISC, f->enc_vals);
	jl_free(JL_MEM_MISC, f->causes);
	memset(f, 0, sizeof *f);
}

static void *grow(void *p, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	uint32_t nc = *cap ? *cap * 2 : 1024;
	while (nc < need)
		nc *= 2;
	void *np = jl_realloc(JL_MEM_MISC, p, (size_t)nc * elem);
	if (np)
		*cap = nc;
	return np;
}

/* ---- small readers over the JSON tree ---- */

static jl_str_t get_s(const jl_json_t *o, const char *k) { return jl_json_str(jl_json_get(o, k)); }

static bool has_code(const jl_json_t *cc, const char *code)
{
	const jl_json_t *cod = jl_json_get(cc, "coding");
	for (uint32_t i = 0; jl_json_is(cod, JL_JSON_ARRAY) && i < cod->n; i++)
		if (jl_str_eqc(get_s(&cod->u.a[i], "code"), code))
			return true;
	return false;
}

/* The first coding's code of a CodeableConcept (optionally of a system). */
static jl_str_t first_code(const jl_json_t *cc, const char *system)
{
	const jl_json_t *cod = jl_json_get(cc, "coding");
	for (uint32_t i = 0; jl_json_is(cod, JL_JSON_ARRAY) && i < cod->n; i++)
		if (!system || jl_str_eqc(get_s(&cod->u.a[i], "system"), system))
			return get_s(&cod->u.a[i], "code");
	return JL_STR_NULL;
}

static jl_cat_kind kind_of(const jl_facts_t *f, const char *ns, jl_str_t code)
{
	char buf[80];
	if (!code.n || code.n + 4 >= sizeof buf)
		return 0;
	memcpy(buf, ns, 4);
	memcpy(buf + 4, code.p, code.n);
	return jl_catalog_kind(f->cat, jl_str(buf, 4 + code.n));
}

static int64_t ref_hash(const jl_json_t *ref)
{
	jl_str_t r = get_s(ref, "reference");
	return r.n ? jl_store_target(r) : 0;
}

static bool day_of(const jl_json_t *v, int32_t *day)
{
	jl_str_t s = jl_json_str(v);
	return s.n && jl_facts_parse_day(s, day);
}

static jl_rc push_ev(jl_facts_t *f, const jl_fact_ev_t *e)
{
	jl_fact_ev_t *p = grow(f->evs, &f->cap_evs, f->nevs + 1, sizeof *f->evs);
	if (!p)
		return JL_ENOMEM;
	f->evs = p;
	f->evs[f->nevs++] = *e;
	return JL_OK;
}

static const jl_json_t *ext(const jl_json_t *o, const char *name)
{
	const jl_json_t *x = jl_json_get(o, "extension");
	size_t bn = strlen(EXT_BASE);
	for (uint32_t i = 0; jl_json_is(x, JL_JSON_ARRAY) && i < x->n; i++) {
		jl_str_t url = get_s(&x->u.a[i], "url");
		if (url.n == bn + strlen(name) && jl_str_starts(url, EXT_BASE) && !memcmp(url.p + bn, name, url.n - bn))
			return &x->u.a[i];
	}
	return NULL;
}

/* ---- per type ---- */

static jl_rc add_patient(jl_facts_t *f, const jl_json_t *r, jl_str_t id)
{
	/* The register's own record carries the residence status; other institutions' copies do not. */
	if (!ext(r, "cn-residence-status"))
		return JL_OK;
	jl_fact_person_t p = {.h = jl_store_target2(jl_cstr("Patient"), id), .death = JL_FACT_NOEND};
	if (!day_of(jl_json_get(r, "birthDate"), &p.birth)) {
		f->skipped++;
		return JL_OK;
	}
	jl_str_t g = get_s(r, "gender");
	p.sex = jl_str_eqc(g, "male") ? 1 : jl_str_eqc(g, "female") ? 2 : 0;
	int32_t dd;
	if (day_of(jl_json_get(r, "deceasedDateTime"), &dd))
		p.death = dd;
	const jl_json_t *ids = jl_json_get(r, "identifier");
	for (uint32_t i = 0; jl_json_is(ids, JL_JSON_ARRAY) && i < ids->n; i++)
		for (uint32_t k = 0; k < f->nidsys; k++)
			if (jl_str_eqc(get_s(&ids->u.a[i], "system"), f->idsys[k]) && get_s(&ids->u.a[i], "value").n)
				p.idflags |= (uint8_t)(1u << k);
	const jl_json_t *ad = jl_json_get(r, "address");
	for (uint32_t i = 0; jl_json_is(ad, JL_JSON_ARRAY) && i < ad->n && p.nres < JL_FACT_NRES; i++) {
		const jl_json_t *a = &ad->u.a[i];
		const jl_json_t *cat = ext(a, "cn-address-category");
		if (!cat || !jl_str_eqc(get_s(jl_json_get(cat, "valueCoding"), "code"), "current"))
			continue;
		jl_str_t code = get_s(jl_json_get(ext(a, "cn-division-code"), "valueCoding"), "code");
		uint64_t v = 0;
		for (size_t k = 0; k < code.n && code.n == 12; k++)
			v = v * 10 + (uint64_t)(code.p[k] - '0');
		int32_t vi = code.n == 12 ? jl_regions_village(f->reg, v) : -1;
		if (vi < 0)
			continue; /* lives outside the hierarchy */
		jl_fact_res_t *rs = &p.res[p.nres++];
		rs->village = vi;
		rs->from = INT32_MIN;
		rs->to = INT32_MAX;
		const jl_json_t *per = jl_json_get(a, "period");
		int32_t d0;
		if (day_of(jl_json_get(per, "start"), &d0))
			rs->from = d0;
		if (day_of(jl_json_get(per, "end"), &d0))
			rs->to = d0;
	}
	if (!p.nres)
		return JL_OK;
	jl_fact_person_t *np = grow(f->persons, &f->cap_persons, f->npersons + 1, sizeof *f->persons);
	if (!np)
		return JL_ENOMEM;
	f->persons = np;
	f->persons[f->npersons++] = p;
	return JL_OK;
}

static jl_rc add_episode(jl_facts_t *f, const jl_json_t *r)
{
	jl_str_t st = get_s(r, "status");
	const jl_json_t *types = jl_json_get(r, "type");
	if (jl_str_eqc(st, "entered-in-error") || !jl_json_is(types, JL_JSON_ARRAY) || !types->n)
		return JL_OK;
	jl_cat_kind k = kind_of(f, "eoc:", first_code(&types->u.a[0], NULL));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "patient"))};
	const jl_json_t *per = jl_json_get(r, "period");
	if (!day_of(jl_json_get(per, "start"), &e.day)) {
		f->skipped++;
		return JL_OK;
	}
	int32_t end;
	if (day_of(jl_json_get(per, "end"), &end))
		e.end = end;
	return push_ev(f, &e);
}

static uint8_t class_bit(jl_str_t c)
{
	return jl_str_eqc(c, "AMB") ? JL_CLS_AMB : jl_str_eqc(c, "HH") ? JL_CLS_HH : jl_str_eqc(c, "VR") ? JL_CLS_VR
	       : jl_str_eqc(c, "IMP") ? JL_CLS_IMP : JL_CLS_OTHER;
}

static bool linked_kind(const jl_catalog_t *c, jl_cat_kind k)
{
	for (uint32_t i = 0; i < c->ninds; i++) {
		const jl_pred_t *p = &c->inds[i].num;
		for (uint32_t j = 0; j < p->nlinked; j++)
			if (p->linked[j] == k)
				return true;
	}
	return false;
}

static jl_rc add_encounter(jl_facts_t *f, const jl_json_t *r, jl_str_t id)
{
	jl_str_t st = get_s(r, "status");
	if (!jl_str_eqc(st, "finished") && !jl_str_eqc(st, "in-progress") && !jl_str_eqc(st, "arrived"))
		return JL_OK;
	const jl_json_t *types = jl_json_get(r, "type");
	jl_cat_kind k = 0;
	for (uint32_t i = 0; jl_json_is(types, JL_JSON_ARRAY) && i < types->n && !k; i++)
		k = kind_of(f, "enc:", first_code(&types->u.a[i], NULL));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "subject")),
			  .cls = class_bit(get_s(jl_json_get(r, "class"), "code"))};
	if (!day_of(jl_json_get(jl_json_get(r, "period"), "start"), &e.day)) {
		f->skipped++;
		return JL_OK;
	}
	if (linked_kind(f->cat, k)) { /* measurements will ask which kind of encounter they belong to */
		int64_t *nk = grow(f->enc_keys, &f->enc_cap, f->enc_n + 1, sizeof *f->enc_keys);
		if (!nk)
			return JL_ENOMEM;
		f->enc_keys = nk;
		uint32_t cap = f->enc_cap;
		uint8_t *nv = jl_realloc(JL_MEM_MISC, f->enc_vals, cap);
		if (!nv)
			return JL_ENOMEM;
		f->enc_vals = nv;
		f->enc_keys[f->enc_n] = jl_store_target2(jl_cstr("Encounter"), id);
		f->enc_vals[f->enc_n++] = k;
	}
	return push_ev(f, &e);
}

static bool qty(const jl_json_t *q, float *v)
{
	const jl_json_t *n = jl_json_get(q, "value");
	if (!jl_json_is(n, JL_JSON_NUMBER))
		return false;
	char buf[40];
	size_t len = n->n < sizeof buf - 1 ? n->n : sizeof buf - 1;
	memcpy(buf, n->u.s, len);
	buf[len] = 0;
	*v = strtof(buf, NULL);
	return true;
}

static jl_rc add_observation(jl_facts_t *f, const jl_json_t *r)
{
	jl_str_t st = get_s(r, "status");
	if (!jl_str_eqc(st, "final") && !jl_str_eqc(st, "amended") && !jl_str_eqc(st, "corrected"))
		return JL_OK;
	const jl_json_t *code = jl_json_get(r, "code");
	int64_t ph = ref_hash(jl_json_get(r, "subject"));
	if (has_code(code, "69453-9")) { /* underlying cause of death */
		uint16_t icd = jl_icd3(first_code(jl_json_get(r, "valueCodeableConcept"), NULL));
		if (!icd)
			return JL_OK;
		void *nc = grow(f->causes, &f->cap_causes, f->ncauses + 1, sizeof *f->causes);
		if (!nc)
			return JL_ENOMEM;
		f->causes = nc;
		f->causes[f->ncauses].ph = ph;
		f->causes[f->ncauses++].icd = icd;
		return JL_OK;
	}
	jl_cat_kind k = kind_of(f, "obs:", first_code(code, NULL));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.kind = k, .end = JL_FACT_NOEND, .ph = ph, .eh = ref_hash(jl_json_get(r, "encounter"))};
	if (!day_of(jl_json_get(r, "effectiveDateTime"), &e.day) &&
	    !day_of(jl_json_get(jl_json_get(r, "effectivePeriod"), "start"), &e.day)) {
		f->skipped++;
		return JL_OK;
	}
	e.has_v1 = qty(jl_json_get(r, "valueQuantity"), &e.v1);
	const jl_json_t *comp = jl_json_get(r, "component");
	for (uint32_t i = 0; jl_json_is(comp, JL_JSON_ARRAY) && i < comp->n; i++) {
		const jl_json_t *c = &comp->u.a[i];
		if (has_code(jl_json_get(c, "code"), "8480-6"))
			e.has_v1 = qty(jl_json_get(c, "valueQuantity"), &e.v1);
		else if (has_code(jl_json_get(c, "code"), "8462-4"))
			e.has_v2 = qty(jl_json_get(c, "valueQuantity"), &e.v2);
	}
	return push_ev(f, &e);
}

static jl_rc add_immunization(jl_facts_t *f, const jl_json_t *r)
{
	if (!jl_str_eqc(get_s(r, "status"), "completed"))
		return JL_OK;
	jl_cat_kind k = kind_of(f, "imm:", first_code(jl_json_get(r, "vaccineCode"), SYS_NIP));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "patient"))};
	if (!day_of(jl_json_get(r, "occurrenceDateTime"), &e.day)) {
		f->skipped++;
		return JL_OK;
	}
	const jl_json_t *pa = jl_json_get(r, "protocolApplied");
	if (jl_json_is(pa, JL_JSON_ARRAY) && pa->n) {
		int64_t dose = 0;
		if (jl_str_to_i64(get_s(&pa->u.a[0], "doseNumberPositiveInt"), &dose) && dose > 0 && dose < 255)
			e.dose = (uint8_t)dose;
	}
	return push_ev(f, &e);
}

static jl_rc add_condition(jl_facts_t *f, const jl_json_t *r)
{
	const jl_json_t *cats = jl_json_get(r, "category");
	bool notified = false;
	for (uint32_t i = 0; jl_json_is(cats, JL_JSON_ARRAY) && i < cats->n; i++)
		notified |= has_code(&cats->u.a[i], "notifiable-disease-report");
	if (!notified || has_code(jl_json_get(r, "verificationStatus"), "entered-in-error") ||
	    has_code(jl_json_get(r, "verificationStatus"), "refuted"))
		return JL_OK;
	jl_fact_ev_t e = {.kind = JL_FACT_KIND_CASE, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "subject")),
			  .icd = jl_icd3(first_code(jl_json_get(r, "code"), NULL))};
	if (!e.icd || (!day_of(jl_json_get(r, "recordedDate"), &e.day) && !day_of(jl_json_get(r, "onsetDateTime"), &e.day))) {
		f->skipped++;
		return JL_OK;
	}
	return push_ev(f, &e);
}

static jl_rc add_organization(jl_facts_t *f, const jl_json_t *r)
{
	const jl_json_t *ad = jl_json_get(r, "address");
	for (uint32_t i = 0; jl_json_is(ad, JL_JSON_ARRAY) && i < ad->n; i++) {
		jl_str_t code = get_s(jl_json_get(ext(&ad->u.a[i], "cn-division-code"), "valueCoding"), "code");
		int32_t node = jl_regions_locate(f->reg, code);
		if (node >= 0) { /* counted at its node and every node above it */
			for (int32_t k = node; k >= 0; k = f->reg->nodes[k].parent)
				f->inst[k]++;
			return JL_OK;
		}
	}
	return JL_OK;
}

/*
 * Aggregate inputs (validated on write by jl_measure_check_report): the
 * region is the subject's or reporter's division-code identifier, the year
 * the period's start.
 */
static jl_rc add_report(jl_facts_t *f, const jl_json_t *r, jl_str_t id, int64_t updated_us)
{
	jl_str_t measure = get_s(r, "measure");
	size_t cn = strlen(f->cat->canonical);
	if (!jl_str_eqc(get_s(r, "status"), "complete") || !jl_str_eqc(get_s(r, "type"), "summary") || measure.n <= cn ||
	    memcmp(measure.p, f->cat->canonical, cn))
		return JL_OK;
	const jl_indicator_t *ind = jl_catalog_find(f->cat, jl_str(measure.p + cn, measure.n - cn));
	if (!ind || ind->method != JL_METHOD_AGGREGATE)
		return JL_OK;
	jl_str_t code = get_s(jl_json_get(jl_json_get(r, "reporter"), "identifier"), "value");
	if (!code.n)
		code = get_s(jl_json_get(jl_json_get(r, "subject"), "identifier"), "value");
	int32_t start;
	const jl_json_t *grp = jl_json_get(r, "group");
	const jl_json_t *score = jl_json_is(grp, JL_JSON_ARRAY) && grp->n ? jl_json_get(&grp->u.a[0], "measureScore") : NULL;
	float v;
	if (!code.n || code.n > 12 || !day_of(jl_json_get(jl_json_get(r, "period"), "start"), &start) || !qty(score, &v)) {
		f->skipped++;
		return JL_OK;
	}
	int y, m, d;
	jl_facts_civil(start, &y, &m, &d);
	for (uint32_t i = 0; i < f->naggr; i++) { /* keep the latest per region, year and measure */
		jl_fact_aggr_t *a = &f->aggr[i];
		if (a->ind == (uint32_t)(ind - f->cat->inds) && a->year == y && jl_str_eqc(code, a->region)) {
			if (a->updated_us < updated_us) {
				a->value = v;
				a->updated_us = updated_us;
				snprintf(a->id, sizeof a->id, "%.*s", (int)(id.n < 64 ? id.n : 64), id.p);
			}
			return JL_OK;
		}
	}
	jl_fact_aggr_t *na = grow(f->aggr, &f->cap_aggr, f->naggr + 1, sizeof *f->aggr);
	if (!na)
		return JL_ENOMEM;
	f->aggr = na;
	jl_fact_aggr_t *a = &f->aggr[f->naggr++];
	memset(a, 0, sizeof *a);
	a->ind = (uint32_t)(ind - f->cat->inds);
	memcpy(a->region, code.p, code.n);
	a->year = y;
	a->value = v;
	a->num = a->den = -1;
	a->updated_us = updated_us;
	snprintf(a->id, sizeof a->id, "%.*s", (int)(id.n < 64 ? id.n : 64), id.p);
	return JL_OK;
}

jl_rc jl_facts_add_resource(jl_facts_t *f, const jl_json_t *r, int64_t updated_us)
{
	jl_str_t t = get_s(r, "resourceType"), id = get_s(r, "id");
	f->resources++;
	if (jl_str_eqc(t, "Patient"))
		return add_patient(f, r, id);
	if (jl_str_eqc(t, "EpisodeOfCare"))
		return add_episode(f, r);
	if (jl_str_eqc(t, "Encounter"))
		return add_encounter(f, r, id);
	if (jl_str_eqc(t, "Observation"))
		return add_observation(f, r);
	if (jl_str_eqc(t, "Immunization"))
		return add_immunization(f, r);
	if (jl_str_eqc(t, "Condition"))
		return add_condition(f, r);
	if (jl_str_eqc(t, "Organization"))
		return add_organization(f, r);
	if (jl_str_eqc(t, "MeasureReport"))
		return add_report(f, r, id, updated_us);
	return JL_OK;
}

jl_rc jl_facts_add_json(jl_facts_t *f, jl_str_t json)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_ENOMEM;
	char *copy = jl_arena_strndup(a, json.p, json.n);
	jl_json_t *root = NULL;
	jl_json_err_t e;
	jl_rc rc = copy ? jl_json_parse(a, copy, json.n, NULL, &root, &e) : JL_ENOMEM;
	if (!rc)
		rc = jl_facts_add_resource(f, root, 0);
	jl_arena_free(a);
	return rc;
}

/* ---- finish: hash the persons, resolve, sort ---- */

static uint32_t slot(int64_t h, uint32_t cap)
{
	return (uint32_t)(((uint64_t)h * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int32_t person_of(const jl_facts_t *f, int64_t h)
{
	for (uint32_t i = slot(h, f->ph_cap);; i = (i + 1) & (f->ph_cap - 1)) {
		if (f->ph_vals[i] == UINT32_MAX)
			return -1;
		if (f->ph_keys[i] == h)
			return (int32_t)f->ph_vals[i];
	}
}

static int cmp_enc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_ev(const void *a, const void *b)
{
	const jl_fact_ev_t *x = a, *y = b;
	if (x->ph != y->ph) /* ph holds the person index after resolution */
		return x->ph < y->ph ? -1 : 1;
	return x->day < y->day ? -1 : x->day > y->day;
}

jl_rc jl_facts_finish(jl_facts_t *f)
{
	uint32_t cap = 1024;
	while (cap < f->npersons * 2u + 2)
		cap *= 2;
	f->ph_keys = jl_malloc(JL_MEM_MISC, cap * sizeof *f->ph_keys);
	f->ph_vals = jl_malloc(JL_MEM_MISC, cap * sizeof *f->ph_vals);
	if (!f->ph_keys || !f->ph_vals)
		return JL_ENOMEM;
	f->ph_cap = cap;
	memset(f->ph_vals, 0xff, cap * sizeof *f->ph_vals);
	for (uint32_t p = 0; p < f->npersons; p++) {
		uint32_t i = slot(f->persons[p].h, cap);
		while (f->ph_vals[i] != UINT32_MAX && f->ph_keys[i] != f->persons[p].h)
			i = (i + 1) & (cap - 1);
		f->ph_keys[i] = f->persons[p].h;
		f->ph_vals[i] = p;
	}
	for (uint32_t i = 0; i < f->ncauses; i++) {
		int32_t p = person_of(f, f->causes[i].ph);
		if (p >= 0)
			f->persons[p].cause = f->causes[i].icd;
	}
	/* Encounter hash -> kind, sorted for binary search. Kinds travel in the key's low byte order. */
	int64_t *pairs = jl_malloc(JL_MEM_MISC, (f->enc_n + 1) * 2 * sizeof *pairs);
	if (!pairs)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < f->enc_n; i++) {
		pairs[2 * i] = f->enc_keys[i];
		pairs[2 * i + 1] = f->enc_vals[i];
	}
	if (f->enc_n)
		qsort(pairs, f->enc_n, 2 * sizeof *pairs, cmp_enc);
	uint32_t keep = 0;
	for (uint32_t i = 0; i < f->nevs; i++) {
		jl_fact_ev_t e = f->evs[i];
		int32_t p = person_of(f, e.ph);
		if (p < 0)
			continue; /* not on the register of this hierarchy */
		if (e.eh && f->enc_n) {
			int64_t key[2] = {e.eh, 0};
			const int64_t *hit = bsearch(key, pairs, f->enc_n, 2 * sizeof *pairs, cmp_enc);
			if (hit)
				e.link = (uint8_t)hit[1];
		}
		e.ph = p;
		f->evs[keep++] = e;
	}
	jl_free(JL_MEM_MISC, pairs);
	f->nevs = keep;
	if (f->nevs) /* qsort's pointer may not be NULL, even for 0 items */
		qsort(f->evs, f->nevs, sizeof *f->evs, cmp_ev);
	for (uint32_t i = 0; i < f->nevs;) {
		uint32_t p = (uint32_t)f->evs[i].ph, j = i;
		while (j < f->nevs && f->evs[j].ph == (int64_t)p)
			j++;
		f->persons[p].ev0 = i;
		f->persons[p].nev = j - i;
		i = j;
	}
	return JL_OK;
}

/* ---- the scan ---- */

typedef struct scan_ctx {
	jl_facts_t *f;
	jl_arena_t *a;
	jl_buf_t buf;
	jl_rc rc;
} scan_ctx_t;

static jl_rc on_begin(void *arg, int64_t snapshot_us)
{
	((scan_ctx_t *)arg)->f->snapshot_us = snapshot_us;
	return JL_OK;
}

static jl_rc on_row(void *arg, const jl_version_t *v, jl_rc body_rc)
{
	scan_ctx_t *c = arg;
	if (body_rc) {
		c->f->skipped++;
		return JL_OK;
	}
	jl_buf_clear(&c->buf);
	jl_arena_reset(c->a);
	jl_rc rc = jl_fhir_body_assemble(&c->buf, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	if (rc || jl_buf_status(&c->buf)) {
		c->f->skipped++;
		return rc == JL_EIO ? JL_OK : rc ? rc : jl_buf_status(&c->buf);
	}
	jl_json_t *root;
	jl_json_err_t e;
	rc = jl_json_parse(c->a, c->buf.p, c->buf.n, NULL, &root, &e);
	if (rc == JL_EINVAL) {
		c->f->skipped++;
		return JL_OK;
	}
	if (rc)
		return rc;
	return jl_facts_add_resource(c->f, root, v->updated_us);
}

jl_rc jl_facts_scan(jl_facts_t *f, jl_store_t *s, jl_diag_t *d)
{
	static const char *const types[] = {"Organization", "Patient", "EpisodeOfCare", "Encounter", "Observation",
					    "Immunization", "Condition", "MeasureReport"};
	jl_scan_type_t st[8];
	for (int i = 0; i < 8; i++)
		st[i] = (jl_scan_type_t){.type = jl_cstr(types[i])};
	jl_scan_query_t q = {.types = st, .ntypes = 8, .begin = on_begin};
	scan_ctx_t c = {.f = f, .a = jl_arena_new(1 << 16, 0)};
	if (!c.a)
		return JL_ENOMEM;
	jl_buf_init(&c.buf, JL_MEM_MISC, 0);
	jl_rc rc = jl_store_scan(s, &q, on_row, &c);
	jl_buf_dispose(&c.buf);
	jl_arena_free(c.a);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "Reading the store for indicators failed (%s)", jl_rc_name(rc));
		return rc;
	}
	return jl_facts_finish(f);
}
