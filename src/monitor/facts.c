/*
 * facts — turns FHIR resources into the rows of facts.h. Each resource is
 * read alone and yields at most one row keyed by the resource (the property
 * that lets monitor/project keep the rows across runs and replace them
 * resource by resource); cross-resource links (an event to its person, a
 * measurement to its encounter, a cause of death to the person, a village
 * code to the hierarchy) are resolved once when the rows are finished.
 */
#include "monitor/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

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
	if (reg) {
		f->inst = jl_calloc(JL_MEM_MISC, reg->n ? reg->n : 1, sizeof *f->inst);
		if (!f->inst)
			return JL_ENOMEM;
	}
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

static void rows_dispose(jl_fact_rows_t *r)
{
	jl_free(JL_MEM_MISC, r->persons);
	jl_free(JL_MEM_MISC, r->evs);
	jl_free(JL_MEM_MISC, r->causes);
	jl_free(JL_MEM_MISC, r->orgs);
	jl_free(JL_MEM_MISC, r->reports);
	jl_free(JL_MEM_MISC, r->ix_keys);
	jl_free(JL_MEM_MISC, r->ix_vals);
	memset(r, 0, sizeof *r);
}

void jl_facts_dispose(jl_facts_t *f)
{
	jl_free(JL_MEM_MISC, f->persons);
	jl_free(JL_MEM_MISC, f->evs);
	jl_free(JL_MEM_MISC, f->aggr);
	jl_free(JL_MEM_MISC, f->inst);
	jl_free(JL_MEM_MISC, f->vrank);
	rows_dispose(&f->rows);
	memset(f, 0, sizeof *f);
}

uint64_t jl_facts_nrows(const jl_facts_t *f)
{
	const jl_fact_rows_t *r = &f->rows;
	return (uint64_t)r->npersons + r->nevs + r->ncauses + r->norgs + r->nreports;
}

uint64_t jl_facts_fingerprint(const jl_catalog_t *cat)
{
	uint64_t h = jl_hash_bytes(JL_HASH_SEED ^ 0x6a6c2d6661637473ull, cat->canonical, strlen(cat->canonical));
	for (uint32_t k = 1; k < cat->nkinds; k++)
		h = jl_hash_bytes(h, cat->kinds[k], strlen(cat->kinds[k]) + 1);
	for (uint32_t i = 0; i < cat->ninds; i++) {
		const jl_indicator_t *ind = &cat->inds[i];
		const jl_pred_t *p = &ind->num;
		h = jl_hash_bytes(h, ind->id, strlen(ind->id) + 1);
		h = jl_hash_bytes(h, &ind->method, sizeof ind->method);
		h = jl_hash_bytes(h, p->linked, p->nlinked);
		if (p->rule == JL_RULE_IDENTIFIER)
			h = jl_hash_bytes(h, p->system, strlen(p->system) + 1);
	}
	return h;
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

/* ---- rows and the resource-key index ---- */

enum { T_PERSON = 1, T_EV, T_CAUSE, T_ORG, T_REPORT };
#define IX_ROW(t, i) (((uint32_t)(t) << 28) | (uint32_t)(i))
#define IX_IDX(v) ((v) & 0x0fffffffu)
#define IX_EMPTY UINT32_MAX

static uint32_t slot(int64_t h, uint32_t cap)
{
	return (uint32_t)(((uint64_t)h * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int64_t row_key(const jl_fact_rows_t *r, uint32_t v)
{
	uint32_t i = IX_IDX(v);
	switch (v >> 28) {
	case T_PERSON: return r->persons[i].h;
	case T_EV: return r->evs[i].rk;
	case T_CAUSE: return r->causes[i].rk;
	case T_ORG: return r->orgs[i].rk;
	default: return r->reports[i].rk;
	}
}

static uint32_t *ix_find(jl_fact_rows_t *r, int64_t k)
{
	for (uint32_t i = slot(k, r->ix_cap);; i = (i + 1) & (r->ix_cap - 1)) {
		if (r->ix_vals[i] == IX_EMPTY)
			return NULL;
		if (r->ix_keys[i] == k)
			return &r->ix_vals[i];
	}
}

static void ix_set(jl_fact_rows_t *r, int64_t k, uint32_t v)
{
	uint32_t i = slot(k, r->ix_cap);
	while (r->ix_vals[i] != IX_EMPTY && r->ix_keys[i] != k)
		i = (i + 1) & (r->ix_cap - 1);
	if (r->ix_vals[i] == IX_EMPTY)
		r->ix_n++;
	r->ix_keys[i] = k;
	r->ix_vals[i] = v;
}

/* Linear probing deletes by shifting later members of the cluster back (no tombstones). */
static void ix_del(jl_fact_rows_t *r, int64_t k)
{
	uint32_t m = r->ix_cap - 1, i = slot(k, r->ix_cap);
	while (r->ix_vals[i] != IX_EMPTY && r->ix_keys[i] != k)
		i = (i + 1) & m;
	if (r->ix_vals[i] == IX_EMPTY)
		return;
	r->ix_n--;
	for (uint32_t j = (i + 1) & m; r->ix_vals[j] != IX_EMPTY; j = (j + 1) & m) {
		uint32_t home = slot(r->ix_keys[j], r->ix_cap);
		/* j's entry may move to the hole i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		r->ix_keys[i] = r->ix_keys[j];
		r->ix_vals[i] = r->ix_vals[j];
		i = j;
	}
	r->ix_vals[i] = IX_EMPTY;
}

static jl_rc ix_rehash(jl_fact_rows_t *r, uint32_t cap)
{
	int64_t *keys = jl_malloc(JL_MEM_MISC, (size_t)cap * sizeof *keys);
	uint32_t *vals = jl_malloc(JL_MEM_MISC, (size_t)cap * sizeof *vals);
	if (!keys || !vals) {
		jl_free(JL_MEM_MISC, keys);
		jl_free(JL_MEM_MISC, vals);
		return JL_ENOMEM;
	}
	memset(vals, 0xff, (size_t)cap * sizeof *vals);
	int64_t *ok = r->ix_keys;
	uint32_t *ov = r->ix_vals, ocap = r->ix_cap;
	r->ix_keys = keys;
	r->ix_vals = vals;
	r->ix_cap = cap;
	r->ix_n = 0;
	for (uint32_t i = 0; i < ocap; i++)
		if (ov[i] != IX_EMPTY)
			ix_set(r, ok[i], ov[i]);
	jl_free(JL_MEM_MISC, ok);
	jl_free(JL_MEM_MISC, ov);
	return JL_OK;
}

/* Records a new row in the index when the rows are keyed. */
static jl_rc ix_add(jl_fact_rows_t *r, int64_t k, uint32_t v)
{
	if (!r->ix_cap)
		return JL_OK;
	if ((r->ix_n + 1) * 2 > r->ix_cap) {
		jl_rc rc = ix_rehash(r, r->ix_cap * 2);
		if (rc)
			return rc;
	}
	ix_set(r, k, v);
	return JL_OK;
}

jl_rc jl_facts_index(jl_facts_t *f)
{
	jl_fact_rows_t *r = &f->rows;
	uint64_t n = jl_facts_nrows(f);
	uint32_t cap = 1024;
	while (cap < n * 2 + 2)
		cap *= 2;
	uint32_t *vals = jl_malloc(JL_MEM_MISC, (size_t)cap * sizeof *vals);
	int64_t *keys = jl_malloc(JL_MEM_MISC, (size_t)cap * sizeof *keys);
	if (!vals || !keys) {
		jl_free(JL_MEM_MISC, vals);
		jl_free(JL_MEM_MISC, keys);
		return JL_ENOMEM;
	}
	memset(vals, 0xff, (size_t)cap * sizeof *vals);
	jl_free(JL_MEM_MISC, r->ix_keys);
	jl_free(JL_MEM_MISC, r->ix_vals);
	r->ix_keys = keys;
	r->ix_vals = vals;
	r->ix_cap = cap;
	r->ix_n = 0;
	const uint32_t counts[] = {0, r->npersons, r->nevs, r->ncauses, r->norgs, r->nreports};
	for (uint32_t t = T_PERSON; t <= T_REPORT; t++)
		for (uint32_t i = 0; i < counts[t]; i++)
			ix_set(r, row_key(r, IX_ROW(t, i)), IX_ROW(t, i));
	return JL_OK;
}

jl_rc jl_facts_remove(jl_facts_t *f, int64_t rk)
{
	jl_fact_rows_t *r = &f->rows;
	if (!r->ix_cap)
		return JL_EINTERNAL; /* jl_facts_index first */
	uint32_t *pv = ix_find(r, rk);
	if (!pv)
		return JL_OK;
	uint32_t v = *pv, t = v >> 28, i = IX_IDX(v), last;
	/* Swap-remove: the last row of the table takes the hole and its index entry follows it. */
	switch (t) {
	case T_PERSON: last = --r->npersons; r->persons[i] = r->persons[last]; break;
	case T_EV: last = --r->nevs; r->evs[i] = r->evs[last]; break;
	case T_CAUSE: last = --r->ncauses; r->causes[i] = r->causes[last]; break;
	case T_ORG: last = --r->norgs; r->orgs[i] = r->orgs[last]; break;
	default: last = --r->nreports; r->reports[i] = r->reports[last]; break;
	}
	ix_del(r, rk);
	if (i != last) {
		uint32_t *mv = ix_find(r, row_key(r, IX_ROW(t, i)));
		if (mv)
			*mv = IX_ROW(t, i);
	}
	return JL_OK;
}

#define PUSH(f, arr, n, cap, t, row, key)                                                 \
	do {                                                                               \
		void *np_ = grow((f)->rows.arr, &(f)->rows.cap, (f)->rows.n + 1, sizeof *(f)->rows.arr); \
		if (!np_)                                                                  \
			return JL_ENOMEM;                                                  \
		(f)->rows.arr = np_;                                                       \
		(f)->rows.arr[(f)->rows.n] = (row);                                        \
		return ix_add(&(f)->rows, (key), IX_ROW((t), (f)->rows.n++));              \
	} while (0)

static jl_rc push_ev(jl_facts_t *f, const jl_fact_ev_t *e)
{
	PUSH(f, evs, nevs, cap_evs, T_EV, *e, e->rk);
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

static bool all_digits(jl_str_t s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return s.n > 0;
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
	/* Current addresses with a village code; which of them lie in a hierarchy is decided at finish. */
	const jl_json_t *ad = jl_json_get(r, "address");
	for (uint32_t i = 0; jl_json_is(ad, JL_JSON_ARRAY) && i < ad->n && p.nres < JL_FACT_NRES; i++) {
		const jl_json_t *a = &ad->u.a[i];
		const jl_json_t *cat = ext(a, "cn-address-category");
		if (!cat || !jl_str_eqc(get_s(jl_json_get(cat, "valueCoding"), "code"), "current"))
			continue;
		jl_str_t code = get_s(jl_json_get(ext(a, "cn-division-code"), "valueCoding"), "code");
		if (code.n != 12 || !all_digits(code))
			continue;
		jl_fact_res_t *rs = &p.res[p.nres++];
		for (size_t k = 0; k < 12; k++)
			rs->code = rs->code * 10 + (uint64_t)(code.p[k] - '0');
		rs->village = -1;
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
	PUSH(f, persons, npersons, cap_persons, T_PERSON, p, p.h);
}

static jl_rc add_episode(jl_facts_t *f, const jl_json_t *r, int64_t rk)
{
	jl_str_t st = get_s(r, "status");
	const jl_json_t *types = jl_json_get(r, "type");
	if (jl_str_eqc(st, "entered-in-error") || !jl_json_is(types, JL_JSON_ARRAY) || !types->n)
		return JL_OK;
	jl_cat_kind k = kind_of(f, "eoc:", first_code(&types->u.a[0], NULL));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.rk = rk, .kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "patient"))};
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

static jl_rc add_encounter(jl_facts_t *f, const jl_json_t *r, int64_t rk)
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
	/* rk is the Encounter's own hash: measurements referring to it find its kind at finish. */
	jl_fact_ev_t e = {.rk = rk, .kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "subject")),
			  .cls = class_bit(get_s(jl_json_get(r, "class"), "code"))};
	if (!day_of(jl_json_get(jl_json_get(r, "period"), "start"), &e.day)) {
		f->skipped++;
		return JL_OK;
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

static jl_rc add_observation(jl_facts_t *f, const jl_json_t *r, int64_t rk, int64_t updated_us)
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
		jl_fact_cause_t c = {.rk = rk, .ph = ph, .updated_us = updated_us, .icd = icd};
		PUSH(f, causes, ncauses, cap_causes, T_CAUSE, c, rk);
	}
	jl_cat_kind k = kind_of(f, "obs:", first_code(code, NULL));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.rk = rk, .kind = k, .end = JL_FACT_NOEND, .ph = ph, .eh = ref_hash(jl_json_get(r, "encounter"))};
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

static jl_rc add_immunization(jl_facts_t *f, const jl_json_t *r, int64_t rk)
{
	if (!jl_str_eqc(get_s(r, "status"), "completed"))
		return JL_OK;
	jl_cat_kind k = kind_of(f, "imm:", first_code(jl_json_get(r, "vaccineCode"), SYS_NIP));
	if (!k)
		return JL_OK;
	jl_fact_ev_t e = {.rk = rk, .kind = k, .end = JL_FACT_NOEND, .ph = ref_hash(jl_json_get(r, "patient"))};
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

static jl_rc add_condition(jl_facts_t *f, const jl_json_t *r, int64_t rk)
{
	const jl_json_t *cats = jl_json_get(r, "category");
	bool notified = false;
	for (uint32_t i = 0; jl_json_is(cats, JL_JSON_ARRAY) && i < cats->n; i++)
		notified |= has_code(&cats->u.a[i], "notifiable-disease-report");
	if (!notified || has_code(jl_json_get(r, "verificationStatus"), "entered-in-error") ||
	    has_code(jl_json_get(r, "verificationStatus"), "refuted"))
		return JL_OK;
	jl_fact_ev_t e = {.rk = rk, .kind = JL_FACT_KIND_CASE, .end = JL_FACT_NOEND,
			  .ph = ref_hash(jl_json_get(r, "subject")), .icd = jl_icd3(first_code(jl_json_get(r, "code"), NULL))};
	if (!e.icd || (!day_of(jl_json_get(r, "recordedDate"), &e.day) && !day_of(jl_json_get(r, "onsetDateTime"), &e.day))) {
		f->skipped++;
		return JL_OK;
	}
	return push_ev(f, &e);
}

/* The first address with a division code (6 to 12 digits); where it sits is decided at finish. */
static jl_rc add_organization(jl_facts_t *f, const jl_json_t *r, int64_t rk)
{
	const jl_json_t *ad = jl_json_get(r, "address");
	for (uint32_t i = 0; jl_json_is(ad, JL_JSON_ARRAY) && i < ad->n; i++) {
		jl_str_t code = get_s(jl_json_get(ext(&ad->u.a[i], "cn-division-code"), "valueCoding"), "code");
		if (code.n < 6 || code.n > 12 || !all_digits(code))
			continue;
		jl_fact_org_t o = {.rk = rk};
		memcpy(o.code, code.p, code.n);
		PUSH(f, orgs, norgs, cap_orgs, T_ORG, o, rk);
	}
	return JL_OK;
}

/*
 * Aggregate inputs (validated on write by jl_measure_check_report): the
 * region is the subject's or reporter's division-code identifier, the year
 * the period's start. Every report is a row; the latest per region, year
 * and measure is chosen at finish.
 */
static jl_rc add_report(jl_facts_t *f, const jl_json_t *r, jl_str_t id, int64_t rk, int64_t updated_us)
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
	jl_fact_aggr_t a;
	memset(&a, 0, sizeof a);
	a.rk = rk;
	a.ind = (uint32_t)(ind - f->cat->inds);
	memcpy(a.region, code.p, code.n);
	a.year = y;
	a.value = v;
	a.num = a.den = -1;
	a.updated_us = updated_us;
	snprintf(a.id, sizeof a.id, "%.*s", (int)(id.n < 64 ? id.n : 64), id.p);
	PUSH(f, reports, nreports, cap_reports, T_REPORT, a, rk);
}

static const char *const TYPES[] = {"Organization", "Patient", "EpisodeOfCare", "Encounter", "Observation",
				    "Immunization", "Condition", "MeasureReport"};

bool jl_facts_type_used(jl_str_t type)
{
	for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
		if (jl_str_eqc(type, TYPES[i]))
			return true;
	return false;
}

jl_rc jl_facts_add_resource(jl_facts_t *f, const jl_json_t *r, int64_t updated_us)
{
	jl_str_t t = get_s(r, "resourceType"), id = get_s(r, "id");
	f->resources++;
	if (!jl_facts_type_used(t))
		return JL_OK;
	int64_t rk = jl_store_target2(t, id);
	if (f->rows.ix_cap) { /* keyed rows: a resource added again replaces its row */
		jl_rc rc = jl_facts_remove(f, rk);
		if (rc)
			return rc;
	}
	if (jl_str_eqc(t, "Patient"))
		return add_patient(f, r, id);
	if (jl_str_eqc(t, "EpisodeOfCare"))
		return add_episode(f, r, rk);
	if (jl_str_eqc(t, "Encounter"))
		return add_encounter(f, r, rk);
	if (jl_str_eqc(t, "Observation"))
		return add_observation(f, r, rk, updated_us);
	if (jl_str_eqc(t, "Immunization"))
		return add_immunization(f, r, rk);
	if (jl_str_eqc(t, "Condition"))
		return add_condition(f, r, rk);
	if (jl_str_eqc(t, "Organization"))
		return add_organization(f, r, rk);
	return add_report(f, r, id, rk, updated_us);
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

/* ---- finish: join the rows for one hierarchy ---- */

typedef struct pmap {
	int64_t *keys;
	uint32_t *vals, cap;
} pmap_t;

static int32_t pmap_get(const pmap_t *m, int64_t h)
{
	for (uint32_t i = slot(h, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->vals[i] == UINT32_MAX)
			return -1;
		if (m->keys[i] == h)
			return (int32_t)m->vals[i];
	}
}

static jl_rc pmap_init(pmap_t *m, uint32_t n)
{
	m->cap = 1024;
	while (m->cap < n * 2u + 2)
		m->cap *= 2;
	m->keys = jl_malloc(JL_MEM_MISC, (size_t)m->cap * sizeof *m->keys);
	m->vals = jl_malloc(JL_MEM_MISC, (size_t)m->cap * sizeof *m->vals);
	if (!m->keys || !m->vals)
		return JL_ENOMEM;
	memset(m->vals, 0xff, (size_t)m->cap * sizeof *m->vals);
	return JL_OK;
}

/* Later values for the same key replace earlier ones. */
static void pmap_put(pmap_t *m, int64_t h, uint32_t v)
{
	uint32_t i = slot(h, m->cap);
	while (m->vals[i] != UINT32_MAX && m->keys[i] != h)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = h;
	m->vals[i] = v;
}

static void pmap_dispose(pmap_t *m)
{
	jl_free(JL_MEM_MISC, m->keys);
	jl_free(JL_MEM_MISC, m->vals);
}

static bool ev_before(const jl_fact_ev_t *x, const jl_fact_ev_t *y)
{
	return x->day != y->day ? x->day < y->day : x->rk < y->rk;
}

static int cmp_ev_day(const void *a, const void *b)
{
	const jl_fact_ev_t *x = a, *y = b;
	return ev_before(x, y) ? -1 : ev_before(y, x);
}

/* One person's events by (day, resource key): few, so insertion sort unless many. */
static void sort_person(jl_fact_ev_t *e, uint32_t n)
{
	if (n > 32) {
		qsort(e, n, sizeof *e, cmp_ev_day);
		return;
	}
	for (uint32_t i = 1; i < n; i++) {
		jl_fact_ev_t x = e[i];
		uint32_t j = i;
		for (; j > 0 && ev_before(&x, &e[j - 1]); j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

/* Village index of a 12-digit code among the hierarchy's codes (ascending); -1 when not in it. */
static int32_t village_of(const uint64_t *codes, uint32_t n, uint64_t code)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (codes[mid] == code)
			return (int32_t)mid;
		if (codes[mid] < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Persons with at least one current address in dst's hierarchy, addresses
 * mapped to villages; the populated villages ranked (dst->vrank).
 */
static jl_rc finish_persons(jl_facts_t *dst, const jl_fact_rows_t *r)
{
	const jl_regions_t *reg = dst->reg;
	/* The villages' codes as numbers once (villages are in code order), not text per address. */
	uint64_t *codes = jl_malloc(JL_MEM_MISC, ((size_t)reg->nvillages + 1) * sizeof *codes);
	dst->persons = jl_malloc(JL_MEM_MISC, ((size_t)r->npersons + 1) * sizeof *dst->persons);
	dst->vrank = jl_calloc(JL_MEM_MISC, (size_t)reg->nvillages + 1, sizeof *dst->vrank);
	if (!codes || !dst->persons || !dst->vrank) {
		jl_free(JL_MEM_MISC, codes);
		return JL_ENOMEM;
	}
	for (uint32_t v = 0; v < reg->nvillages; v++) {
		const char *c = reg->nodes[reg->village_node[v]].code;
		codes[v] = 0;
		for (int k = 0; c[k]; k++)
			codes[v] = codes[v] * 10 + (uint64_t)(c[k] - '0');
	}
	dst->npersons = 0;
	for (uint32_t i = 0; i < r->npersons; i++) {
		jl_fact_person_t p = r->persons[i];
		uint8_t k = 0;
		for (uint8_t j = 0; j < p.nres; j++) {
			int32_t vi = village_of(codes, reg->nvillages, p.res[j].code);
			if (vi < 0)
				continue; /* lives outside the hierarchy */
			p.res[k] = p.res[j];
			p.res[k++].village = vi;
			dst->vrank[vi + 1] = 1; /* populated; the prefix sum below makes the ranks */
		}
		p.nres = k;
		p.cause = 0;
		p.ev0 = p.nev = 0;
		if (k)
			dst->persons[dst->npersons++] = p;
	}
	for (uint32_t v = 0; v < reg->nvillages; v++)
		dst->vrank[v + 1] += dst->vrank[v];
	dst->npopulated = dst->vrank[reg->nvillages];
	jl_free(JL_MEM_MISC, codes);
	return JL_OK;
}

/* The latest cause-of-death row per person (by instant, then resource key). */
static void finish_causes(jl_facts_t *dst, const jl_fact_rows_t *r, const pmap_t *pm)
{
	int64_t *best_us = NULL, *best_rk = NULL;
	for (uint32_t i = 0; i < r->ncauses; i++) {
		const jl_fact_cause_t *c = &r->causes[i];
		int32_t p = pmap_get(pm, c->ph);
		if (p < 0)
			continue;
		if (!best_us) {
			best_us = jl_calloc(JL_MEM_MISC, (size_t)dst->npersons * 2 + 1, sizeof *best_us);
			if (!best_us)
				return; /* rare OOM: causes stay unknown rather than failing the whole answer */
			best_rk = best_us + dst->npersons;
		}
		if (dst->persons[p].cause && (c->updated_us < best_us[p] || (c->updated_us == best_us[p] && c->rk < best_rk[p])))
			continue;
		dst->persons[p].cause = c->icd;
		best_us[p] = c->updated_us;
		best_rk[p] = c->rk;
	}
	jl_free(JL_MEM_MISC, best_us);
}

/*
 * A measurement's link: the kind of the encounter it belongs to, looked for
 * among the same person's events (a few, contiguous) rather than in a table
 * of every encounter, whose lookups were cache misses at a million people.
 */
static void link_person(jl_fact_ev_t *e, uint32_t n, const bool *linked)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!e[i].eh)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (e[j].rk == e[i].eh && linked[e[j].kind]) {
				e[i].link = e[j].kind;
				break;
			}
	}
}

/* Events resolved to persons and grouped by a counting sort, then linked and ordered per person. */
static jl_rc finish_events(jl_facts_t *dst, const jl_fact_rows_t *r, const pmap_t *pm)
{
	const jl_catalog_t *cat = dst->cat;
	uint32_t *pidx = jl_malloc(JL_MEM_MISC, ((size_t)r->nevs + 1) * sizeof *pidx);
	uint32_t *start = jl_calloc(JL_MEM_MISC, (size_t)dst->npersons + 1, sizeof *start);
	jl_rc rc = pidx && start ? JL_OK : JL_ENOMEM;
	if (rc)
		goto out;
	bool linked[256] = {false};
	for (uint32_t k = 1; k < cat->nkinds && k < 256; k++)
		linked[k] = linked_kind(cat, (jl_cat_kind)k);
	int64_t last_ph = 0;
	int32_t last_p = -1;
	for (uint32_t i = 0; i < r->nevs; i++) {
		/* A person's events mostly come together (generator, store order): skip the lookup then. */
		int32_t p = i && r->evs[i].ph == last_ph ? last_p : pmap_get(pm, r->evs[i].ph);
		last_ph = r->evs[i].ph;
		last_p = p;
		pidx[i] = p < 0 ? UINT32_MAX : (uint32_t)p;
		if (p >= 0)
			start[p + 1]++;
	}
	for (uint32_t p = 0; p < dst->npersons; p++)
		start[p + 1] += start[p];
	uint32_t n = start[dst->npersons];
	dst->evs = jl_malloc(JL_MEM_MISC, ((size_t)n + 1) * sizeof *dst->evs);
	if (!dst->evs) {
		rc = JL_ENOMEM;
		goto out;
	}
	for (uint32_t p = 0; p < dst->npersons; p++) {
		dst->persons[p].ev0 = start[p];
		dst->persons[p].nev = 0;
	}
	for (uint32_t i = 0; i < r->nevs; i++) {
		if (pidx[i] == UINT32_MAX)
			continue; /* not on the register of this hierarchy */
		jl_fact_person_t *p = &dst->persons[pidx[i]];
		jl_fact_ev_t e = r->evs[i];
		e.link = 0;
		e.ph = pidx[i];
		dst->evs[p->ev0 + p->nev++] = e;
	}
	dst->nevs = n;
	for (uint32_t p = 0; p < dst->npersons; p++) {
		jl_fact_ev_t *e = dst->evs + dst->persons[p].ev0;
		link_person(e, dst->persons[p].nev, linked);
		sort_person(e, dst->persons[p].nev);
	}
out:
	jl_free(JL_MEM_MISC, pidx);
	jl_free(JL_MEM_MISC, start);
	return rc;
}

static int cmp_aggr(const void *a, const void *b)
{
	const jl_fact_aggr_t *x = a, *y = b;
	if (x->ind != y->ind)
		return x->ind < y->ind ? -1 : 1;
	if (x->year != y->year)
		return x->year < y->year ? -1 : 1;
	int c = strcmp(x->region, y->region);
	if (c)
		return c;
	if (x->updated_us != y->updated_us)
		return x->updated_us < y->updated_us ? -1 : 1;
	return x->rk < y->rk ? -1 : x->rk > y->rk;
}

/* Institutions counted at their node and every node above it; the latest report per key. */
static jl_rc finish_orgs_reports(jl_facts_t *dst, const jl_fact_rows_t *r)
{
	for (uint32_t i = 0; i < r->norgs; i++) {
		int32_t node = jl_regions_locate(dst->reg, jl_cstr(r->orgs[i].code));
		for (int32_t k = node; k >= 0; k = dst->reg->nodes[k].parent)
			dst->inst[k]++;
	}
	dst->aggr = jl_malloc(JL_MEM_MISC, ((size_t)r->nreports + 1) * sizeof *dst->aggr);
	if (!dst->aggr)
		return JL_ENOMEM;
	if (r->nreports)
		memcpy(dst->aggr, r->reports, (size_t)r->nreports * sizeof *dst->aggr);
	if (r->nreports)
		qsort(dst->aggr, r->nreports, sizeof *dst->aggr, cmp_aggr);
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nreports; i++) {
		const jl_fact_aggr_t *a = &dst->aggr[i];
		bool last = i + 1 == r->nreports || a->ind != a[1].ind || a->year != a[1].year || strcmp(a->region, a[1].region);
		if (last)
			dst->aggr[n++] = *a;
	}
	dst->naggr = n;
	return JL_OK;
}

jl_rc jl_facts_finish_from(jl_facts_t *dst, const jl_facts_t *src)
{
	const jl_fact_rows_t *r = &src->rows;
	if (!dst->reg)
		return JL_EINTERNAL;
	dst->snapshot_us = src->snapshot_us;
	dst->resources = src->resources;
	dst->skipped = src->skipped;
	jl_rc rc = finish_persons(dst, r);
	if (rc)
		return rc;
	pmap_t pm = {0};
	rc = pmap_init(&pm, dst->npersons);
	if (!rc) {
		for (uint32_t p = 0; p < dst->npersons; p++)
			pmap_put(&pm, dst->persons[p].h, p);
		finish_causes(dst, r, &pm);
		rc = finish_events(dst, r, &pm);
	}
	pmap_dispose(&pm);
	if (!rc)
		rc = finish_orgs_reports(dst, r);
	return rc;
}

jl_rc jl_facts_finish(jl_facts_t *f)
{
	jl_rc rc = jl_facts_finish_from(f, f);
	rows_dispose(&f->rows);
	return rc;
}

/* ---- the scan ---- */

jl_rc jl_facts_add_version(jl_facts_t *f, jl_arena_t *a, jl_buf_t *buf, const jl_version_t *v)
{
	jl_buf_clear(buf);
	jl_arena_reset(a);
	jl_rc rc = jl_fhir_body_assemble(buf, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	if (rc || jl_buf_status(buf)) {
		f->skipped++;
		return rc == JL_EIO ? JL_OK : rc ? rc : jl_buf_status(buf);
	}
	jl_json_t *root;
	jl_json_err_t e;
	rc = jl_json_parse(a, buf->p, buf->n, NULL, &root, &e);
	if (rc == JL_EINVAL) {
		f->skipped++;
		return JL_OK;
	}
	if (rc)
		return rc;
	return jl_facts_add_resource(f, root, v->updated_us);
}

typedef struct scan_ctx {
	jl_facts_t *f;
	jl_arena_t *a;
	jl_buf_t buf;
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
	return jl_facts_add_version(c->f, c->a, &c->buf, v);
}

jl_rc jl_facts_scan_rows(jl_facts_t *f, jl_store_t *s, jl_diag_t *d)
{
	jl_scan_type_t st[sizeof TYPES / sizeof *TYPES];
	for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
		st[i] = (jl_scan_type_t){.type = jl_cstr(TYPES[i])};
	jl_scan_query_t q = {.types = st, .ntypes = sizeof TYPES / sizeof *TYPES, .begin = on_begin};
	scan_ctx_t c = {.f = f, .a = jl_arena_new(1 << 16, 0)};
	if (!c.a)
		return JL_ENOMEM;
	jl_buf_init(&c.buf, JL_MEM_MISC, 0);
	jl_rc rc = jl_store_scan(s, &q, on_row, &c);
	jl_buf_dispose(&c.buf);
	jl_arena_free(c.a);
	if (rc)
		jl_diag_err(d, "exception", NULL, "Reading the store for indicators failed (%s)", jl_rc_name(rc));
	return rc;
}

jl_rc jl_facts_scan(jl_facts_t *f, jl_store_t *s, jl_diag_t *d)
{
	jl_rc rc = jl_facts_scan_rows(f, s, d);
	return rc ? rc : jl_facts_finish(f);
}
