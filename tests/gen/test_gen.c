/*
 * Unit tests for the region generator: check characters of the national
 * identifiers (worked examples of identifiers.md), the division list, and a
 * whole small region: every resource passes jl_fhir_validate, every
 * reference resolves, every citizen ID and credit code checks, the
 * generated service rates land near the configured ones, two runs give the
 * same bytes, and the ground-truth files agree with the data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "base/json.h"
#include "fhir/validate.h"
#include "registry/div.h"
#include "gen/fw.h"
#include "gen/gen.h"
#include "gen/ids.h"

#define N_RESIDENTS 2000

/* --- a small string set/map (test helper) ------------------------------------ */

typedef struct smap {
	char **keys;
	void **vals;
	size_t cap, n;
} smap_t;

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void **smap_slot(smap_t *m, const char *k, size_t n, bool add)
{
	if (add && (m->n + 1) * 2 > m->cap) {
		smap_t nm = {.cap = m->cap ? m->cap * 2 : 1024};
		nm.keys = jl_calloc(JL_MEM_MISC, nm.cap, sizeof *nm.keys);
		nm.vals = jl_calloc(JL_MEM_MISC, nm.cap, sizeof *nm.vals);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t h = fnv(m->keys[i], strlen(m->keys[i])) & (nm.cap - 1);
				while (nm.keys[h])
					h = (h + 1) & (nm.cap - 1);
				nm.keys[h] = m->keys[i];
				nm.vals[h] = m->vals[i];
			}
		nm.n = m->n;
		jl_free(JL_MEM_MISC, m->keys);
		jl_free(JL_MEM_MISC, m->vals);
		*m = nm;
	}
	if (!m->cap)
		return NULL;
	size_t h = fnv(k, n) & (m->cap - 1);
	while (m->keys[h]) {
		if (strlen(m->keys[h]) == n && !memcmp(m->keys[h], k, n))
			return &m->vals[h];
		h = (h + 1) & (m->cap - 1);
	}
	if (!add)
		return NULL;
	m->keys[h] = jl_strndup(JL_MEM_MISC, k, n);
	m->n++;
	return &m->vals[h];
}

static void smap_free(smap_t *m, bool vals)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			jl_free(JL_MEM_MISC, m->keys[i]);
			if (vals)
				jl_free(JL_MEM_MISC, m->vals[i]);
		}
	jl_free(JL_MEM_MISC, m->keys);
	jl_free(JL_MEM_MISC, m->vals);
	memset(m, 0, sizeof *m);
}

/* --- identifiers --------------------------------------------------------------- */

static void test_ids(void **state)
{
	(void)state;
	assert_int_equal(jl_cnid_check("11010519491231002"), 'X');
	assert_int_equal(jl_cnid_check("44052418800101001"), '4');
	assert_true(jl_cnid_valid("11010519491231002X"));
	assert_true(jl_cnid_valid("440524188001010014"));
	assert_false(jl_cnid_valid("110105194912310021"));
	assert_false(jl_cnid_valid("11010519491231002"));
	assert_int_equal(jl_cnid_check("1101051949123100A"), 0);
	assert_int_equal(jl_orgcode_check("MB167060"), '4');
	assert_int_equal(jl_uscc_check("11500000MB1670604"), 'W');
	assert_int_equal(jl_uscc_check("11500103MB1849823"), 'N');
	assert_true(jl_uscc_valid("11500000MB1670604W"));
	assert_false(jl_uscc_valid("11500000MB1670605W")); /* embedded org code check wrong */
	assert_false(jl_uscc_valid("11500000MB167060IW"));
	/* Dates. */
	assert_int_equal(jl_day(1970, 1, 1), 0);
	char b[11];
	jl_fmt_date(jl_day(2024, 2, 29), b);
	assert_string_equal(b, "2024-02-29");
	jl_fmt_date(jl_day(1901, 12, 31), b);
	assert_string_equal(b, "1901-12-31");
}

static void test_divisions(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_geo_t g;
	assert_int_equal(jl_geo_load(a, 532900, &g, &d), JL_OK);
	assert_string_equal(g.pref_name, "大理白族自治州");
	assert_string_equal(g.prov_name, "云南省");
	assert_int_equal(g.ncounties, 12);
	assert_int_equal(g.counties[0].code, 532901);
	assert_string_equal(g.counties[0].name, "大理市");
	assert_true(g.ntowns > 100 && g.nvillages > 1000);
	for (uint32_t i = 0; i < g.nvillages; i++)
		assert_int_equal(g.villages[i].code / 1000, g.towns[g.villages[i].town].code);
	assert_true(g.nnat > 2900);
	/* Beijing's districts (市辖区 110100); and a code that is no prefecture. */
	assert_int_equal(jl_geo_load(a, 110100, &g, &d), JL_OK);
	assert_int_equal(jl_geo_load(a, 539900, &g, &d), JL_ENOTFOUND);
	jl_arena_free(a);
}

static void test_params_errors(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_gen_params_t p;
	assert_int_equal(jl_gen_params_parse(a, NULL, 0, &p, &d), JL_OK);
	assert_true(p.nsurnames > 100 && p.ngiven > 100 && p.nhomo > 50 && p.nnotif >= 10);
	const char bad[] = "age 0 55 0.53\nfollowupp 0.7\n";
	assert_int_equal(jl_gen_params_parse(a, bad, sizeof bad - 1, &p, &d), JL_EINVAL);
	assert_non_null(strstr(d.items[d.n - 1].diag, "line 2"));
	jl_arena_free(a);
}

/* --- a whole region -------------------------------------------------------------- */

typedef struct pinfo {
	int birth, sex, county_idx;
	char village[13], village2[13]; /* current village, and after a move within the region */
	int moved;                      /* day of that move (0 = none) */
	char cnid[19];
	char name[48];
	bool resident;        /* 常住 */
	int span0, span1;     /* in the region: from, to (days) */
} pinfo_t;

typedef struct collect {
	jl_arena_t *a;        /* per resource */
	jl_arena_t *keep;     /* for the whole run */
	int64_t count[JL_GEN_NTYPES];
	int64_t invalid;
	smap_t ids;           /* "Type/id" → NULL */
	smap_t patients;      /* primary patient id → pinfo_t* */
	smap_t dups;          /* duplicate Patient id → its JSON (jl_strndup) */
	smap_t conds;         /* outbreak-relevant condition id → "icd|patient|onset" */
	jl_buf_t refs;        /* every reference, NUL-separated */
	jl_buf_t truth[JL_GEN_NTRUTH];
	int64_t bad_cnid, bad_uscc, orgs;
	/* rates: per (county, year) counts */
	smap_t htn_years;     /* "patient|year" → counts (f2f visits, quarters mask, any, last measured control) */
	smap_t elderly;       /* "patient|year" → had a check */
	int64_t hepb_births, hepb1;
} collect_t;

typedef struct mgmt {
	int f2f, any, last_day, last_ctl, county;
} mgmt_t;

static void walk_refs(collect_t *c, const jl_json_t *v)
{
	if (v->type == JL_JSON_OBJECT) {
		for (uint32_t i = 0; i < v->n; i++) {
			const jl_json_member_t *m = &v->u.o[i];
			if (jl_str_eqc(m->key, "reference") && m->v.type == JL_JSON_STRING) {
				jl_buf_append(&c->refs, m->v.u.s, m->v.n);
				jl_buf_putc(&c->refs, 0);
			} else
				walk_refs(c, &m->v);
		}
	} else if (v->type == JL_JSON_ARRAY)
		for (uint32_t i = 0; i < v->n; i++)
			walk_refs(c, &v->u.a[i]);
}

static int parse_date(jl_str_t s)
{
	if (s.n < 10)
		return 0;
	int y = (s.p[0] - '0') * 1000 + (s.p[1] - '0') * 100 + (s.p[2] - '0') * 10 + (s.p[3] - '0');
	int m = (s.p[5] - '0') * 10 + (s.p[6] - '0'), d = (s.p[8] - '0') * 10 + (s.p[9] - '0');
	return jl_day(y, m, d);
}

static const jl_json_t *first(const jl_json_t *arr)
{
	return arr && arr->type == JL_JSON_ARRAY && arr->n ? &arr->u.a[0] : NULL;
}

static jl_str_t code_of(const jl_json_t *cc)
{
	return jl_json_str(jl_json_get(first(jl_json_get(cc, "coding")), "code"));
}

static pinfo_t *patient_of(collect_t *c, const jl_json_t *ref)
{
	jl_str_t r = jl_json_str(jl_json_get(ref, "reference"));
	if (r.n < 9)
		return NULL;
	void **v = smap_slot(&c->patients, r.p + 8, r.n - 8, false);
	return v ? *v : NULL;
}

static bool is_current(const jl_json_t *address)
{
	const jl_json_t *ext = jl_json_get(address, "extension");
	return ext && ext->n > 1 &&
	       jl_str_eqc(jl_json_str(jl_json_get(jl_json_get(&ext->u.a[1], "valueCoding"), "code")), "current");
}

static void on_patient(collect_t *c, const jl_json_t *res, jl_str_t id)
{
	const jl_json_t *ids = jl_json_get(res, "identifier");
	jl_str_t cnid = JL_STR_NULL;
	for (uint32_t i = 0; ids && i < ids->n; i++)
		if (jl_str_eqc(jl_json_str(jl_json_get(&ids->u.a[i], "system")), "urn:oid:2.16.156.10011.1.3"))
			cnid = jl_json_str(jl_json_get(&ids->u.a[i], "value"));
	bool dup = memmem(id.p, id.n, "-m", 2) != NULL;
	if (dup) {
		/* A facility's medical-record numbers are unique within the facility. */
		const jl_json_t *mr = first(ids);
		char mk[256];
		int mn = snprintf(mk, sizeof mk, "%.*s|%.*s", JL_STR_FMT(jl_json_str(jl_json_get(mr, "system"))),
				  JL_STR_FMT(jl_json_str(jl_json_get(mr, "value"))));
		assert_true(strstr(mk, "/NamingSystem/facility/") != NULL);
		assert_null(smap_slot(&c->ids, mk, (size_t)mn, false));
		smap_slot(&c->ids, mk, (size_t)mn, true);
		void **v = smap_slot(&c->dups, id.p, id.n, true);
		/* Keep what the duplicate check needs: org|cnid|name|birth|gender */
		jl_str_t org = jl_json_str(jl_json_get(jl_json_get(res, "managingOrganization"), "reference"));
		jl_str_t nm = jl_json_str(jl_json_get(first(jl_json_get(res, "name")), "text"));
		jl_str_t bd = jl_json_str(jl_json_get(res, "birthDate"));
		char buf[256];
		int n = snprintf(buf, sizeof buf, "%.*s|%.*s|%.*s|%.*s", JL_STR_FMT(org), JL_STR_FMT(cnid), JL_STR_FMT(nm),
				 JL_STR_FMT(bd));
		*v = jl_strndup(JL_MEM_MISC, buf, (size_t)n);
		return;
	}
	pinfo_t *p = jl_arena_calloc(c->keep, 1, sizeof *p);
	p->birth = parse_date(jl_json_str(jl_json_get(res, "birthDate")));
	p->sex = jl_str_eqc(jl_json_str(jl_json_get(res, "gender")), "male") ? 1 : 2;
	assert_int_equal(cnid.n, 18);
	memcpy(p->cnid, cnid.p, 18);
	if (!jl_cnid_valid(p->cnid))
		c->bad_cnid++;
	/* The ID carries the birth date and the sex (position 17: odd = male). */
	char bd[9];
	jl_ymd_t b = jl_ymd(p->birth);
	snprintf(bd, sizeof bd, "%04d%02d%02d", b.y, b.m, b.d);
	assert_memory_equal(p->cnid + 6, bd, 8);
	assert_int_equal((p->cnid[16] - '0') % 2, p->sex == 1);
	jl_str_t nm = jl_json_str(jl_json_get(first(jl_json_get(res, "name")), "text"));
	snprintf(p->name, sizeof p->name, "%.*s", JL_STR_FMT(nm));
	const jl_json_t *ext = jl_json_get(res, "extension");
	for (uint32_t i = 0; ext && i < ext->n; i++)
		if (jl_str_eqc(jl_json_str(jl_json_get(&ext->u.a[i], "url")), JL_CANON "/StructureDefinition/cn-residence-status"))
			p->resident = !jl_str_eqc(jl_json_str(jl_json_get(jl_json_get(&ext->u.a[i], "valueCoding"), "code")),
						  "registered-away");
	/* Current addresses (two after a move within the region), then the registered one. */
	const jl_json_t *addrs = jl_json_get(res, "address");
	p->span0 = jl_day(2020, 1, 1);
	p->span1 = jl_day(2025, 12, 31);
	if (p->birth > p->span0)
		p->span0 = p->birth;
	int ncur = 0;
	for (uint32_t i = 0; addrs && i < addrs->n; i++) {
		const jl_json_t *ad = &addrs->u.a[i];
		jl_str_t vc = jl_json_str(jl_json_get(jl_json_get(first(jl_json_get(ad, "extension")), "valueCoding"), "code"));
		if (!is_current(ad)) {
			if (!ncur && vc.n == 12) /* registered-away: only the registered address */
				memcpy(p->village, vc.p, 12);
			continue;
		}
		if (vc.n == 12)
			memcpy(ncur ? p->village2 : p->village, vc.p, 12);
		const jl_json_t *per = jl_json_get(ad, "period");
		int s0 = parse_date(jl_json_str(jl_json_get(per, "start"))), e0 = parse_date(jl_json_str(jl_json_get(per, "end")));
		if (!ncur && s0 > p->span0)
			p->span0 = s0;
		if (ncur)
			p->moved = s0;
		bool last = i + 1 >= addrs->n || !is_current(&addrs->u.a[i + 1]);
		if (last && e0 && e0 < p->span1)
			p->span1 = e0;
		ncur++;
	}
	int dd = parse_date(jl_json_str(jl_json_get(res, "deceasedDateTime")));
	if (dd && dd < p->span1)
		p->span1 = dd;
	if (!p->resident)
		p->span1 = p->span0 - 1;
	void **v = smap_slot(&c->patients, id.p, id.n, true);
	*v = p;
}

static void on_encounter(collect_t *c, const jl_json_t *res)
{
	pinfo_t *p = patient_of(c, jl_json_get(res, "subject"));
	assert_non_null(p);
	jl_str_t svc = code_of(first(jl_json_get(res, "type")));
	jl_str_t cls = jl_json_str(jl_json_get(jl_json_get(res, "class"), "code"));
	int day = parse_date(jl_json_str(jl_json_get(jl_json_get(res, "period"), "start")));
	assert_true(day >= p->span0 && day <= p->span1 + 3);
	jl_str_t pid = jl_json_str(jl_json_get(jl_json_get(res, "subject"), "reference"));
	char key[96];
	int n = snprintf(key, sizeof key, "%.*s|%d", JL_STR_FMT(pid), jl_ymd(day).y);
	if (jl_str_eqc(svc, "htn-followup")) {
		void **v = smap_slot(&c->htn_years, key, (size_t)n, true);
		if (!*v)
			*v = jl_calloc(JL_MEM_MISC, 1, sizeof(mgmt_t));
		mgmt_t *m = *v;
		m->any++;
		m->f2f += !jl_str_eqc(cls, "VR");
	} else if (jl_str_eqc(svc, "elderly-check")) {
		void **v = smap_slot(&c->elderly, key, (size_t)n, true);
		*v = (void *)1;
	}
}

static void on_observation(collect_t *c, const jl_json_t *res)
{
	if (!jl_str_eqc(code_of(jl_json_get(res, "code")), "85354-9") || !jl_json_get(res, "encounter"))
		return;
	/* BP of an HTN follow-up: the encounter id does not say its type, so look at the values of the
	 * patient-year's latest measured visit among follow-ups (recorded in the order written). */
	jl_str_t pid = jl_json_str(jl_json_get(jl_json_get(res, "subject"), "reference"));
	int day = parse_date(jl_json_str(jl_json_get(res, "effectiveDateTime")));
	char key[96];
	int n = snprintf(key, sizeof key, "%.*s|%d", JL_STR_FMT(pid), jl_ymd(day).y);
	void **v = smap_slot(&c->htn_years, key, (size_t)n, false);
	if (!v || !*v)
		return;
	mgmt_t *m = *v;
	const jl_json_t *comp = jl_json_get(res, "component");
	double sbp = strtod(jl_json_str(jl_json_get(jl_json_get(&comp->u.a[0], "valueQuantity"), "value")).p, NULL);
	double dbp = strtod(jl_json_str(jl_json_get(jl_json_get(&comp->u.a[1], "valueQuantity"), "value")).p, NULL);
	pinfo_t *p = patient_of(c, jl_json_get(res, "subject"));
	jl_ymd_t b = jl_ymd(p->birth), t = jl_ymd(day);
	int age = t.y - b.y - (t.m < b.m || (t.m == b.m && t.d < b.d));
	if (day >= m->last_day) {
		m->last_day = day;
		m->last_ctl = sbp < (age >= 65 ? 150 : 140) && dbp < 90;
	}
}

static jl_rc put_collect(void *arg, jl_gen_rt type, jl_str_t json)
{
	collect_t *c = arg;
	c->count[type]++;
	jl_arena_reset(c->a);
	jl_json_t *res;
	jl_json_err_t e;
	jl_rc rc = jl_json_parse(c->a, json.p, json.n, NULL, &res, &e);
	if (rc)
		return rc;
	jl_diag_t d;
	jl_diag_init(&d, c->a);
	if (jl_fhir_validate(res, NULL, &d) != JL_OK) {
		if (c->invalid++ < 5) {
			fprintf(stderr, "invalid: %.*s\n", (int)(json.n > 300 ? 300 : json.n), json.p);
			for (size_t i = 0; i < d.n; i++)
				fprintf(stderr, "  %s at %s\n", d.items[i].diag, d.items[i].expr ? d.items[i].expr : "");
		}
	}
	jl_str_t rt = jl_json_str(jl_json_get(res, "resourceType"));
	jl_str_t id = jl_json_str(jl_json_get(res, "id"));
	assert_true(jl_str_eqc(rt, jl_gen_rt_name(type)));
	char key[128];
	int n = snprintf(key, sizeof key, "%.*s/%.*s", JL_STR_FMT(rt), JL_STR_FMT(id));
	assert_null(smap_slot(&c->ids, key, (size_t)n, false)); /* ids are unique */
	smap_slot(&c->ids, key, (size_t)n, true);
	walk_refs(c, res);
	switch (type) {
	case JL_GEN_ORGANIZATION: {
		c->orgs++;
		jl_str_t u = jl_json_str(jl_json_get(first(jl_json_get(res, "identifier")), "value"));
		char s[19] = {0};
		if (u.n == 18)
			memcpy(s, u.p, 18);
		if (!jl_uscc_valid(s))
			c->bad_uscc++;
		break;
	}
	case JL_GEN_PATIENT: on_patient(c, res, id); break;
	case JL_GEN_ENCOUNTER: on_encounter(c, res); break;
	case JL_GEN_OBSERVATION: on_observation(c, res); break;
	case JL_GEN_CONDITION: {
		const jl_json_t *cat = jl_json_get(res, "category");
		if (cat && cat->n > 1) { /* notifiable case report */
			jl_str_t pid = jl_json_str(jl_json_get(jl_json_get(res, "subject"), "reference"));
			char val[128];
			int k = snprintf(val, sizeof val, "%.*s|%.*s|%.*s", JL_STR_FMT(code_of(jl_json_get(res, "code"))),
					 JL_STR_FMT(pid), JL_STR_FMT(jl_json_str(jl_json_get(res, "onsetDateTime"))));
			void **v = smap_slot(&c->conds, id.p, id.n, true);
			*v = jl_strndup(JL_MEM_MISC, val, (size_t)k);
		}
		break;
	}
	case JL_GEN_IMMUNIZATION: {
		jl_str_t vc = code_of(jl_json_get(res, "vaccineCode"));
		jl_str_t dose = jl_json_str(jl_json_get(first(jl_json_get(res, "protocolApplied")), "doseNumberPositiveInt"));
		if (jl_str_eqc(vc, "HepB") && jl_str_eqc(dose, "1"))
			c->hepb1++;
		break;
	}
	default: break;
	}
	return JL_OK;
}

static jl_rc put_truth(void *arg, jl_gen_truth f, jl_str_t line)
{
	collect_t *c = arg;
	jl_buf_append(&c->truth[f], line.p, line.n);
	jl_buf_putc(&c->truth[f], '\n');
	return JL_OK;
}

static const char *field(const char *line, int k, size_t *n)
{
	*n = 0;
	for (int i = 0; i < k; i++) {
		line = strchr(line, '\t');
		if (!line)
			return NULL;
		line++;
	}
	const char *e = line + strcspn(line, "\t\n");
	*n = (size_t)(e - line);
	return line;
}

static void check_duplicates(collect_t *c)
{
	const char *s = c->truth[JL_GEN_TRUTH_DUPLICATES].p;
	s = strchr(s, '\n') + 1; /* header */
	int64_t lines = 0;
	while (*s) {
		size_t n0 = 0, n1 = 0, n2 = 0, n3 = 0;
		const char *rec = field(s, 0, &n0), *per = field(s, 1, &n1), *org = field(s, 2, &n2), *err = field(s, 3, &n3);
		void **dv = smap_slot(&c->dups, rec, n0, false);
		void **pv = smap_slot(&c->patients, per, n1, false);
		assert_non_null(dv);
		assert_non_null(pv);
		const char *dup = *dv;
		const pinfo_t *p = *pv;
		/* Managed by the organisation the truth names. */
		assert_memory_equal(dup, "Organization/", 13);
		assert_memory_equal(dup + 13, org, n2);
		const char *cn = strchr(dup, '|') + 1;
		size_t cnl = strcspn(cn, "|");
		char errs[160];
		snprintf(errs, sizeof errs, "%.*s", (int)n3, err);
		if (strstr(errs, "id-missing"))
			assert_int_equal(cnl, 0);
		else if (strstr(errs, "id-typo")) {
			char t[19] = {0};
			memcpy(t, cn, cnl < 18 ? cnl : 18);
			assert_false(jl_cnid_valid(t));
		} else
			assert_memory_equal(cn, p->cnid, 18);
		const char *nm = cn + cnl + 1;
		size_t nml = strcspn(nm, "|");
		bool name_err = strstr(errs, "homophone") || strstr(errs, "shape") || strstr(errs, "traditional") ||
				strstr(errs, "pinyin") || strstr(errs, "swapped") || strstr(errs, "placeholder");
		if (!name_err) {
			assert_int_equal(nml, strlen(p->name));
			assert_memory_equal(nm, p->name, nml);
		} else if (strstr(errs, "pinyin"))
			assert_true((unsigned char)nm[0] < 0x80);
		else if (strstr(errs, "placeholder"))
			assert_true(nml > 6 && (!memcmp(nm + nml - 6, "之子", 6) || !memcmp(nm + nml - 6, "之女", 6)));
		const char *bd = nm + nml + 1;
		if (!strstr(errs, "lunar") && !strstr(errs, "day-month")) {
			char want[11];
			jl_fmt_date(p->birth, want);
			assert_memory_equal(bd, want, 10);
		}
		lines++;
		s = strchr(s, '\n') + 1;
	}
	assert_int_equal(lines, (int64_t)c->dups.n); /* every duplicate Patient is in the truth, and only those */
}

static void check_outbreaks(collect_t *c, const jl_gen_stats_t *st)
{
	/* outbreaks.tsv: outbreak icd10 disease county township name start peak end cases */
	smap_t ob = {0};
	const char *s = strchr(c->truth[JL_GEN_TRUTH_OUTBREAKS].p, '\n') + 1;
	int nob = 0;
	while (*s) {
		size_t n = 0;
		const char *id = field(s, 0, &n);
		void **v = smap_slot(&ob, id, n, true);
		*v = (void *)s;
		nob++;
		s = strchr(s, '\n') + 1;
	}
	assert_int_equal(nob, st->outbreaks);
	assert_true(nob >= 3);
	int64_t counted[64] = {0};
	s = strchr(c->truth[JL_GEN_TRUTH_OUTBREAK_CASES].p, '\n') + 1;
	int64_t cases = 0;
	while (*s) {
		size_t n0 = 0, n1 = 0, n2 = 0;
		const char *cond = field(s, 0, &n0), *oid = field(s, 1, &n1), *pid = field(s, 2, &n2);
		void **cv = smap_slot(&c->conds, cond, n0, false);
		void **ov = smap_slot(&ob, oid, n1, false);
		void **pv = smap_slot(&c->patients, pid, n2, false);
		assert_non_null(cv);
		assert_non_null(ov);
		assert_non_null(pv);
		const char *line = *ov;
		size_t ni = 0, nt = 0, ns = 0, ne = 0;
		const char *icd = field(line, 1, &ni), *town = field(line, 4, &nt), *start = field(line, 6, &ns),
			   *end = field(line, 8, &ne);
		const char *cv_s = *cv;
		/* Same disease, a patient living in the outbreak's township, onset inside the window. */
		assert_memory_equal(cv_s, icd, ni);
		assert_int_equal(cv_s[ni], '|');
		const pinfo_t *p = *pv;
		const char *onset = strrchr(cv_s, '|') + 1;
		int od = parse_date(jl_cstr(onset));
		assert_memory_equal(p->moved && od >= p->moved ? p->village2 : p->village, town, 9);
		assert_true(od >= parse_date(jl_str(start, ns)) && od <= parse_date(jl_str(end, ne)));
		counted[strtol(oid + 3, NULL, 10) % 64]++;
		cases++;
		s = strchr(s, '\n') + 1;
	}
	assert_int_equal(cases, st->outbreak_cases);
	s = strchr(c->truth[JL_GEN_TRUTH_OUTBREAKS].p, '\n') + 1;
	while (*s) {
		size_t n0 = 0, n9 = 0;
		const char *id = field(s, 0, &n0), *cs = field(s, 9, &n9);
		assert_int_equal(strtol(cs, NULL, 10), counted[strtol(id + 3, NULL, 10) % 64]);
		s = strchr(s, '\n') + 1;
	}
	smap_free(&ob, false);
}

static int county_index(const jl_gen_stats_t *st, const char *village)
{
	uint32_t code = 0;
	for (int i = 0; i < 6; i++)
		code = code * 10 + (uint32_t)(village[i] - '0');
	for (uint32_t i = 0; i < st->counties; i++)
		if (st->county_code[i] == code)
			return (int)i;
	return 0;
}

static void check_rates(collect_t *c, const jl_gen_stats_t *st)
{
	/* 高血压患者规范管理率 and 管理人群血压控制率 over managed patient-years. */
	double n = 0, ok = 0, ctl = 0, want_ok = 0, want_ctl = 0;
	for (size_t i = 0; i < c->htn_years.cap; i++) {
		if (!c->htn_years.keys[i])
			continue;
		mgmt_t *m = c->htn_years.vals[i];
		const char *key = c->htn_years.keys[i];
		void **pv = smap_slot(&c->patients, key + 8, strcspn(key + 8, "|"), false);
		assert_non_null(pv);
		int ci = county_index(st, ((pinfo_t *)*pv)->village);
		n++;
		ok += m->f2f >= 4;
		ctl += m->last_ctl;
		want_ok += st->county_rate[ci][JL_GEN_R_FOLLOWUP];
		want_ctl += st->county_rate[ci][JL_GEN_R_BP];
	}
	assert_true(n > 300);
	fprintf(stderr, "  hypertension: %.0f managed patient-years, 规范管理率 %.3f (configured %.3f), 血压控制率 %.3f (configured %.3f)\n",
		n, ok / n, want_ok / n, ctl / n, want_ctl / n);
	assert_true(fabs(ok / n - want_ok / n) < 0.05);
	assert_true(fabs(ctl / n - want_ctl / n) < 0.06);
	/* 老年人健康管理率: residents 65+ in a year they spent (partly) in the region. */
	double en = 0, eok = 0, ewant = 0, young = 0, old = 0, all = 0;
	for (size_t i = 0; i < c->patients.cap; i++) {
		if (!c->patients.keys[i])
			continue;
		const pinfo_t *p = c->patients.vals[i];
		const char *id = c->patients.keys[i];
		if (!strstr(id, "-b")) {
			int d0 = jl_day(2020, 1, 1);
			jl_ymd_t b = jl_ymd(p->birth);
			int age = 2020 - b.y - 1 + (b.m == 1 && b.d == 1);
			(void)d0;
			all++;
			young += age < 15;
			old += age >= 65;
		}
		for (int y = 2020; y <= 2025; y++) {
			int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
			jl_ymd_t b = jl_ymd(p->birth);
			int age_end = y - b.y;
			if (age_end < 65 || p->span0 > hi || p->span1 < lo || p->span0 > p->span1)
				continue;
			char key[96];
			int k = snprintf(key, sizeof key, "Patient/%s|%d", id, y);
			en++;
			eok += smap_slot(&c->elderly, key, (size_t)k, false) != NULL;
			ewant += st->county_rate[county_index(st, p->village)][JL_GEN_R_ELDERLY];
		}
	}
	fprintf(stderr, "  elderly: %.0f person-years 65+, 健康管理率 %.3f (configured %.3f)\n", en, eok / en, ewant / en);
	assert_true(en > 500);
	assert_true(fabs(eok / en - ewant / en) < 0.05);
	/* Age structure at the start against the configured pyramid (0-14: 17.6 %, 65+: 12.6 %). */
	fprintf(stderr, "  age structure: 0-14 %.3f (configured 0.176), 65+ %.3f (configured 0.126)\n", young / all, old / all);
	assert_true(fabs(young / all - 0.176) < 0.035);
	assert_true(fabs(old / all - 0.126) < 0.03);
	/* Birth dose of hepatitis B vaccine. */
	int64_t births = 0;
	for (size_t i = 0; i < c->patients.cap; i++)
		births += c->patients.keys[i] && strstr(c->patients.keys[i], "-b");
	fprintf(stderr, "  births %lld, HepB dose 1 %lld\n", (long long)births, (long long)c->hepb1);
	assert_true(births > 30);
	assert_true(c->hepb1 >= births * 0.9 && c->hepb1 <= births);
}

static void test_region(void **state)
{
	(void)state;
	collect_t c = {0};
	c.a = jl_arena_new(1 << 16, 0);
	c.keep = jl_arena_new(1 << 20, 0);
	jl_buf_init(&c.refs, JL_MEM_MISC, 0);
	for (int i = 0; i < JL_GEN_NTRUTH; i++)
		jl_buf_init(&c.truth[i], JL_MEM_MISC, 0);
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_gen_cfg_t cfg = {.region = 532900, .residents = N_RESIDENTS, .year_from = 2020, .year_to = 2025, .seed = 7};
	jl_gen_sink_t sink = {.put = put_collect, .truth = put_truth, .arg = &c};
	jl_gen_stats_t st;
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_OK);
	assert_int_equal(c.invalid, 0);
	assert_int_equal(c.bad_cnid, 0);
	assert_int_equal(c.bad_uscc, 0);
	assert_true(c.orgs > 1000);
	for (int i = 0; i < JL_GEN_NTYPES; i++) {
		assert_int_equal(c.count[i], st.count[i]);
		assert_true(st.count[i] > 0);
	}
	assert_int_equal(st.residents, N_RESIDENTS + st.births);
	/* Every reference resolves to a generated resource. */
	int64_t nref = 0;
	for (const char *r = c.refs.p; r < c.refs.p + c.refs.n; r += strlen(r) + 1, nref++)
		if (!smap_slot(&c.ids, r, strlen(r), false))
			fail_msg("dangling reference %s", r);
	assert_true(nref > st.resources);
	check_duplicates(&c);
	check_outbreaks(&c, &st);
	check_rates(&c, &st);
	/* Counties differ: the drawn follow-up rates are not all equal. */
	double lo = 1, hi = 0;
	for (uint32_t i = 0; i < st.counties; i++) {
		double v = st.county_rate[i][JL_GEN_R_FOLLOWUP];
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(hi - lo > 0.05);
	smap_free(&c.ids, false);
	smap_free(&c.patients, false);
	smap_free(&c.dups, true);
	smap_free(&c.conds, true);
	smap_free(&c.htn_years, true);
	smap_free(&c.elderly, false);
	jl_buf_dispose(&c.refs);
	for (int i = 0; i < JL_GEN_NTRUTH; i++)
		jl_buf_dispose(&c.truth[i]);
	jl_arena_free(c.a);
	jl_arena_free(c.keep);
	jl_arena_free(a);
}

/* --- determinism ---------------------------------------------------------------- */

typedef struct hsink {
	uint64_t h, n;
} hsink_t;

static jl_rc put_hash(void *arg, jl_gen_rt type, jl_str_t json)
{
	hsink_t *s = arg;
	s->h = (s->h ^ (uint64_t)type) * 1099511628211ULL;
	for (size_t i = 0; i < json.n; i++)
		s->h = (s->h ^ (unsigned char)json.p[i]) * 1099511628211ULL;
	s->n += json.n;
	return JL_OK;
}

static jl_rc truth_hash(void *arg, jl_gen_truth f, jl_str_t line)
{
	return put_hash(arg, (jl_gen_rt)(100 + f), line);
}

static uint64_t run_hash(uint64_t seed, uint32_t region, int64_t n)
{
	hsink_t h = {.h = 1469598103934665603ULL};
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_gen_cfg_t cfg = {.region = region, .residents = n, .year_from = 2021, .year_to = 2023, .seed = seed};
	jl_gen_sink_t sink = {.put = put_hash, .truth = truth_hash, .arg = &h};
	jl_gen_stats_t st;
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_OK);
	jl_arena_free(a);
	return h.h;
}

static void test_determinism(void **state)
{
	(void)state;
	uint64_t a = run_hash(42, 532900, 1500), b = run_hash(42, 532900, 1500), c = run_hash(43, 532900, 1500);
	assert_true(a == b);
	assert_true(a != c);
	/* Another prefecture (Chuxiong, 532300) by its code. */
	assert_true(run_hash(1, 532300, 300) == run_hash(1, 532300, 300));
}

static void test_bad_config(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	hsink_t h = {0};
	jl_gen_sink_t sink = {.put = put_hash, .arg = &h};
	jl_gen_stats_t st;
	jl_gen_cfg_t cfg = {.region = 532901, .residents = 10, .year_from = 2020, .year_to = 2020};
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_EINVAL);
	cfg.region = 999900;
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_EINVAL);
	cfg.region = 532900;
	cfg.year_to = 2019;
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_EINVAL);
	jl_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),           cmocka_unit_test(test_divisions),
		cmocka_unit_test(test_params_errors), cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_region),        cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests_name("gen", tests, NULL, NULL);
}
