/*
 * catalog — reads data/indicators.json (embedded with .incbin, as
 * gen/params.c does for its parameter file; make does not see through
 * .incbin, so touch this file after editing the JSON) into the structures
 * of catalog.h, checking every field and naming the element on error.
 */
#include "monitor/catalog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/time.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	".globl jl_monitor_cat_blob\n"
	"jl_monitor_cat_blob:\n"
	".incbin \"data/indicators.json\"\n"
	".globl jl_monitor_cat_blob_end\n"
	"jl_monitor_cat_blob_end:\n"
	".byte 0\n"
	".previous\n");
extern const char jl_monitor_cat_blob[];
extern const char jl_monitor_cat_blob_end[];

jl_str_t jl_catalog_builtin(void)
{
	return jl_str(jl_monitor_cat_blob, (size_t)(jl_monitor_cat_blob_end - jl_monitor_cat_blob));
}

uint16_t jl_icd3(jl_str_t s)
{
	if (s.n < 3 || s.p[0] < 'A' || s.p[0] > 'Z' || s.p[1] < '0' || s.p[1] > '9' || s.p[2] < '0' || s.p[2] > '9')
		return 0;
	return (uint16_t)((s.p[0] - 'A' + 1) * 100 + (s.p[1] - '0') * 10 + (s.p[2] - '0'));
}

bool jl_icd_in(const jl_icd_range_t *r, uint32_t n, uint16_t icd3)
{
	for (uint32_t i = 0; i < n; i++)
		if (icd3 >= r[i].lo && icd3 <= r[i].hi)
			return true;
	return false;
}

/* ---- reading helpers: each names the element it complains about ---- */

typedef struct rd {
	jl_arena_t *a;
	jl_diag_t *d;
	jl_catalog_t *c;
	char path[160];
} rd_t;

static jl_rc bad(rd_t *r, const char *key, const char *what)
{
	char p[200];
	snprintf(p, sizeof p, "%s%s%s", r->path, key && *key ? "." : "", key ? key : "");
	jl_diag_err(r->d, "invalid", p, "%s: %s", p, what);
	return JL_EINVALID;
}

static const char *opt_str(rd_t *r, const jl_json_t *o, const char *key, const char *dflt, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, key);
	if (!v)
		return dflt;
	if (v->type != JL_JSON_STRING) {
		*rc = bad(r, key, "must be a string");
		return dflt;
	}
	char *s = jl_arena_strndup(r->a, v->u.s, v->n);
	if (!s)
		*rc = JL_ENOMEM;
	return s ? s : dflt;
}

static double opt_num(rd_t *r, const jl_json_t *o, const char *key, double dflt, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, key);
	if (!v)
		return dflt;
	if (v->type != JL_JSON_NUMBER) {
		*rc = bad(r, key, "must be a number");
		return dflt;
	}
	char buf[64];
	size_t n = v->n < sizeof buf - 1 ? v->n : sizeof buf - 1;
	memcpy(buf, v->u.s, n);
	buf[n] = 0;
	return strtod(buf, NULL);
}

static int32_t opt_int(rd_t *r, const jl_json_t *o, const char *key, int32_t dflt, jl_rc *rc)
{
	double v = opt_num(r, o, key, dflt, rc);
	if (v != floor(v) || v < -1e9 || v > 1e9) {
		*rc = bad(r, key, "must be a whole number");
		return dflt;
	}
	return (int32_t)v;
}

static jl_cat_kind intern(rd_t *r, jl_str_t k, jl_rc *rc)
{
	if (k.n < 5 || !(jl_str_starts(k, "enc:") || jl_str_starts(k, "eoc:") || jl_str_starts(k, "obs:") ||
			 jl_str_starts(k, "imm:"))) {
		*rc = bad(r, "kinds", "a kind is \"enc:|eoc:|obs:|imm:\" followed by a code");
		return 0;
	}
	for (uint32_t i = 1; i < r->c->nkinds; i++)
		if (jl_str_eqc(k, r->c->kinds[i]))
			return (jl_cat_kind)i;
	if (r->c->nkinds >= JL_CAT_MAX_KINDS) {
		*rc = bad(r, "kinds", "too many distinct kinds in the catalogue");
		return 0;
	}
	char *s = jl_arena_strndup(r->a, k.p, k.n);
	if (!s) {
		*rc = JL_ENOMEM;
		return 0;
	}
	r->c->kinds[r->c->nkinds] = s;
	return (jl_cat_kind)r->c->nkinds++;
}

static uint8_t read_kinds(rd_t *r, const jl_json_t *o, const char *key, jl_cat_kind *out, uint8_t max, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, key);
	if (!v)
		return 0;
	if (v->type != JL_JSON_ARRAY || v->n == 0 || v->n > max) {
		*rc = bad(r, key, "must be a non-empty array of kinds (at most 4)");
		return 0;
	}
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->u.a[i].type != JL_JSON_STRING) {
			*rc = bad(r, key, "kinds are strings");
			return 0;
		}
		out[i] = intern(r, jl_json_str(&v->u.a[i]), rc);
	}
	return (uint8_t)v->n;
}

static uint8_t read_classes(rd_t *r, const jl_json_t *o, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, "classes");
	if (!v)
		return 0;
	uint8_t m = 0;
	for (uint32_t i = 0; v->type == JL_JSON_ARRAY && i < v->n; i++) {
		jl_str_t s = jl_json_str(&v->u.a[i]);
		m |= jl_str_eqc(s, "AMB") ? JL_CLS_AMB : jl_str_eqc(s, "HH") ? JL_CLS_HH : jl_str_eqc(s, "VR") ? JL_CLS_VR
		     : jl_str_eqc(s, "IMP") ? JL_CLS_IMP : 0;
	}
	if (v->type != JL_JSON_ARRAY || !m)
		*rc = bad(r, "classes", "must list encounter classes among AMB, HH, VR, IMP");
	return m;
}

static uint8_t read_icd(rd_t *r, const jl_json_t *o, const char *key, jl_icd_range_t *out, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, key);
	if (!v)
		return 0;
	if (v->type != JL_JSON_ARRAY || v->n > JL_CAT_MAX_ICD) {
		*rc = bad(r, key, "must be an array of ICD-10 ranges like \"A15-A19\" (at most 8)");
		return 0;
	}
	for (uint32_t i = 0; i < v->n; i++) {
		jl_str_t s = jl_json_str(&v->u.a[i]);
		uint16_t lo = jl_icd3(s), hi = lo;
		if (s.n == 7 && s.p[3] == '-')
			hi = jl_icd3(jl_str(s.p + 4, 3));
		else if (s.n != 3)
			lo = 0;
		if (!lo || !hi || hi < lo) {
			*rc = bad(r, key, "an ICD-10 range is \"X00\" or \"X00-Y99\"");
			return 0;
		}
		out[i].lo = lo;
		out[i].hi = hi;
	}
	return (uint8_t)v->n;
}

static bool read_days(rd_t *r, const jl_json_t *o, int32_t *lo, int32_t *hi, jl_rc *rc)
{
	const jl_json_t *v = jl_json_get(o, "days");
	if (!v)
		return false;
	if (v->type != JL_JSON_ARRAY || v->n != 2 || v->u.a[0].type != JL_JSON_NUMBER ||
	    v->u.a[1].type != JL_JSON_NUMBER) {
		*rc = bad(r, "days", "must be [from, to], days relative to the member's anchor date");
		return false;
	}
	*lo = (int32_t)strtol(v->u.a[0].u.s, NULL, 10);
	*hi = (int32_t)strtol(v->u.a[1].u.s, NULL, 10);
	if (*hi < *lo)
		*rc = bad(r, "days", "to is before from");
	return true;
}

/* A whole number within [lo, hi] at v (an array element); false when not. */
static bool small_int(const jl_json_t *v, int32_t lo, int32_t hi, int32_t *out)
{
	if (!v || v->type != JL_JSON_NUMBER)
		return false;
	char buf[32];
	size_t n = v->n < sizeof buf - 1 ? v->n : sizeof buf - 1;
	memcpy(buf, v->u.s, n);
	buf[n] = 0;
	char *end;
	long x = strtol(buf, &end, 10);
	if (*end || x < lo || x > hi)
		return false;
	*out = (int32_t)x;
	return true;
}

/*
 * The schedule rule (4:2:2, §4.5): "ageMonths" ascending, "perYear" splitting
 * them into years of life (its counts add up to the number of ages),
 * "toleranceMonths" (default 1, §4.5's ±1 month) and "noneDue" ("met",
 * default, or "not-met": a member too young for any check).
 */
static jl_rc read_schedule(rd_t *r, const jl_json_t *o, jl_pred_t *p)
{
	const jl_json_t *ages = jl_json_get(o, "ageMonths"), *per = jl_json_get(o, "perYear");
	if (!jl_json_is(ages, JL_JSON_ARRAY) || !ages->n || ages->n > JL_CAT_MAX_SCHED)
		return bad(r, "ageMonths", "must be an array of 1 to 12 ages in months");
	for (uint32_t i = 0; i < ages->n; i++) {
		int32_t m;
		if (!small_int(&ages->u.a[i], 1, 240, &m) || (i && m <= p->sched_months[i - 1]))
			return bad(r, "ageMonths", "ages are whole months (1-240) in ascending order");
		p->sched_months[i] = (uint16_t)m;
	}
	p->nsched = (uint8_t)ages->n;
	if (!jl_json_is(per, JL_JSON_ARRAY) || !per->n || per->n > JL_CAT_MAX_SCHED_YEARS)
		return bad(r, "perYear", "must be an array of 1 to 6 counts, the checks of each year of life (4:2:2 = [4, 2, 2])");
	int32_t sum = 0;
	for (uint32_t i = 0; i < per->n; i++) {
		int32_t k;
		if (!small_int(&per->u.a[i], 0, JL_CAT_MAX_SCHED, &k))
			return bad(r, "perYear", "counts are whole numbers 0-12");
		p->sched_per_year[i] = (uint8_t)k;
		sum += k;
	}
	p->nsched_years = (uint8_t)per->n;
	if (sum != p->nsched)
		return bad(r, "perYear", "the counts must add up to the number of ageMonths");
	jl_rc rc = JL_OK;
	int32_t tol = opt_int(r, o, "toleranceMonths", 1, &rc);
	if (rc)
		return rc;
	if (tol < 0 || tol > 6)
		return bad(r, "toleranceMonths", "must be 0-6 months");
	p->sched_tol_months = (uint8_t)tol;
	const char *none = opt_str(r, o, "noneDue", "met", &rc);
	if (rc)
		return rc;
	if (strcmp(none, "met") && strcmp(none, "not-met"))
		return bad(r, "noneDue", "must be \"met\" or \"not-met\"");
	p->sched_none_due_met = !strcmp(none, "met");
	return JL_OK;
}

static jl_rc read_pred(rd_t *r, const jl_json_t *o, jl_pred_t *p)
{
	jl_rc rc = JL_OK;
	memset(p, 0, sizeof *p);
	const char *rule = opt_str(r, o, "rule", "", &rc);
	static const char *const names[] = {"", "encounters", "followups", "last-measure", "first-measure",
					    "identifier", "episode", "immunization", "all", "schedule"};
	for (uint8_t i = 1; i < sizeof names / sizeof *names; i++)
		if (!strcmp(rule, names[i]))
			p->rule = i;
	if (!p->rule)
		return bad(r, "rule", "unknown rule (encounters, followups, last-measure, first-measure, identifier, "
				      "episode, immunization, all, schedule)");
	p->nkinds = read_kinds(r, o, "kinds", p->kinds, 4, &rc);
	p->nlinked = read_kinds(r, o, "linkedTo", p->linked, 4, &rc);
	p->classes = read_classes(r, o, &rc);
	p->min = opt_int(r, o, "min", 1, &rc);
	p->max_gap_days = opt_int(r, o, "maxGapDays", 0, &rc);
	p->rel = read_days(r, o, &p->day_lo, &p->day_hi, &rc);
	const char *at = opt_str(r, o, "at", "", &rc);
	p->at_ref = !strcmp(at, "reference");
	const char *measure = opt_str(r, o, "measure", "value", &rc);
	p->bp = !strcmp(measure, "bp");
	p->below = opt_num(r, o, p->bp ? "sbpBelow" : "below", 0, &rc);
	p->below2 = opt_num(r, o, "dbpBelow", 0, &rc);
	p->old_age = opt_int(r, o, "oldAge", 0, &rc);
	p->old_below = opt_num(r, o, "oldSbpBelow", p->below, &rc);
	p->dose = opt_int(r, o, "dose", 0, &rc);
	p->system = opt_str(r, o, "system", NULL, &rc);
	if (rc)
		return rc;
	switch (p->rule) {
	case JL_RULE_FOLLOWUPS: {
		const char *id = opt_str(r, o, "ruleId", "", &rc);
		for (uint32_t i = 0; i < r->c->nrules; i++)
			if (!strcmp(r->c->rules[i].id, id))
				p->fr = &r->c->rules[i];
		if (!p->fr)
			return bad(r, "ruleId", "names no rule of the catalogue's \"rules\"");
		break;
	}
	case JL_RULE_IDENTIFIER:
		if (!p->system)
			return bad(r, "system", "an identifier rule needs the identifier system");
		break;
	case JL_RULE_SCHEDULE:
		if (!p->nkinds)
			return bad(r, "kinds", "a schedule rule needs the event kinds that are checks");
		return read_schedule(r, o, p);
	case JL_RULE_ALL: {
		const jl_json_t *of = jl_json_get(o, "of");
		if (!jl_json_is(of, JL_JSON_ARRAY) || !of->n)
			return bad(r, "of", "\"all\" needs a non-empty array of rules");
		p->all = jl_arena_calloc(r->a, of->n, sizeof *p->all);
		if (!p->all)
			return JL_ENOMEM;
		p->nall = of->n;
		size_t plen = strlen(r->path);
		for (uint32_t i = 0; i < of->n && !rc; i++) {
			snprintf(r->path + plen, sizeof r->path - plen, ".of[%u]", i);
			rc = read_pred(r, &of->u.a[i], &p->all[i]);
		}
		r->path[plen] = 0;
		return rc;
	}
	default:
		if (!p->nkinds)
			return bad(r, "kinds", "this rule needs the event kinds it counts");
		if (p->rule == JL_RULE_LAST_MEASURE && p->below <= 0)
			return bad(r, p->bp ? "sbpBelow" : "below", "a measurement rule needs its threshold");
		if (p->rule == JL_RULE_LAST_MEASURE && p->bp && p->below2 <= 0)
			return bad(r, "dbpBelow", "a blood-pressure rule needs both thresholds");
	}
	return rc;
}

static jl_rc read_pop(rd_t *r, const jl_json_t *o, jl_popdef_t *p)
{
	jl_rc rc = JL_OK;
	memset(p, 0, sizeof *p);
	const char *pop = opt_str(r, o, "population", "", &rc);
	static const char *const names[] = {"", "residents", "managed", "registered", "births", "deliveries",
					    "deaths", "cases"};
	for (uint8_t i = 1; i < sizeof names / sizeof *names; i++)
		if (!strcmp(pop, names[i]))
			p->pop = i;
	if (!p->pop)
		return bad(r, "population",
			   "unknown population (residents, managed, registered, births, deliveries, deaths, cases)");
	const jl_json_t *e = jl_json_get(o, "episode");
	if (e) {
		if (e->type != JL_JSON_STRING)
			return bad(r, "episode", "must be a kind string");
		p->episode = intern(r, jl_json_str(e), &rc);
	}
	p->nmgmt = read_kinds(r, o, "managementKinds", p->mgmt, 4, &rc);
	p->age_min = opt_int(r, o, "ageMin", -1, &rc);
	p->age_max = opt_int(r, o, "ageMax", -1, &rc);
	const char *sex = opt_str(r, o, "sex", "", &rc);
	p->sex = !strcmp(sex, "male") ? 1 : !strcmp(sex, "female") ? 2 : 0;
	p->age_below_days = opt_int(r, o, "ageBelowDays", 0, &rc);
	int32_t years = opt_int(r, o, "ageBelowYears", 0, &rc);
	if (years > 0)
		p->age_below_days = -years; /* negative: whole years (completed-years rule) */
	p->preg_days = opt_int(r, o, "pregnancyWithinDays", 0, &rc);
	p->nicd = read_icd(r, o, "icd", p->icd, &rc);
	p->nicd_ex = read_icd(r, o, "icdExclude", p->icd_ex, &rc);
	if (rc)
		return rc;
	if ((p->pop == JL_POP_MANAGED || p->pop == JL_POP_REGISTERED) && !p->episode)
		return bad(r, "episode", "managed and registered populations need the register's episode kind");
	if (p->pop == JL_POP_CASES && !p->nicd)
		return bad(r, "icd", "a case population needs its ICD-10 ranges");
	return JL_OK;
}

static jl_rc read_target(rd_t *r, const jl_json_t *o, jl_cat_target_t *t)
{
	jl_rc rc = JL_OK;
	memset(t, 0, sizeof *t);
	t->indicator = opt_str(r, o, "indicator", NULL, &rc);
	if (!t->indicator || !jl_catalog_find(r->c, jl_cstr(t->indicator)))
		return bad(r, "indicator", "names no indicator of the catalogue");
	const char *reg = opt_str(r, o, "region", "", &rc);
	size_t n = strlen(reg);
	if (n != 6 && n != 9 && n != 12)
		return bad(r, "region", "must be a division code of 6, 9 or 12 digits (\"000000\" = national)");
	memcpy(t->region, reg, n + 1);
	t->year = opt_int(r, o, "year", 0, &rc);
	if (t->year < 1949 || t->year > 2200)
		return bad(r, "year", "must be a year");
	const char *kind = opt_str(r, o, "kind", "", &rc);
	static const char *const kinds[] = {"", "ge", "gt", "le", "lt", "delta_from_baseline", "annual_change",
					    "stable", "increasing"};
	for (uint8_t i = 1; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(kind, kinds[i]))
			t->kind = i;
	if (!t->kind)
		return bad(r, "kind", "unknown kind (ge, gt, le, lt, delta_from_baseline, annual_change, stable, "
				      "increasing)");
	t->has_value = jl_json_get(o, "value") != NULL;
	t->value = opt_num(r, o, "value", 0, &rc);
	t->has_baseline = jl_json_get(o, "baseline") != NULL;
	t->baseline = opt_num(r, o, "baseline", 0, &rc);
	t->baseline_year = opt_int(r, o, "baselineYear", 0, &rc);
	t->delta = opt_num(r, o, "delta", 0, &rc);
	t->has_tolerance = jl_json_get(o, "tolerance") != NULL;
	t->tolerance = opt_num(r, o, "tolerance", 0, &rc);
	if (t->has_tolerance && (t->tolerance < 0 || t->kind != JL_T_STABLE))
		return bad(r, "tolerance", "a tolerance (≥ 0, the indicator's unit) belongs to a stable target");
	if (t->kind == JL_T_STABLE && t->has_tolerance && !t->has_baseline)
		return bad(r, "baseline", "a stable target with a tolerance needs the baseline it keeps to");
	t->source = opt_str(r, o, "source", "", &rc);
	if (t->kind == JL_T_DELTA) {
		if (!t->has_baseline || !jl_json_get(o, "delta"))
			return bad(r, "delta", "delta_from_baseline needs baseline and delta");
		t->value = t->baseline + t->delta; /* the bound it amounts to */
		t->has_value = true;
	}
	if (t->kind <= JL_T_LT && !t->has_value)
		return bad(r, "value", "a bound needs its value");
	if (t->kind == JL_T_ANNUAL && (!t->has_value || t->value == 0))
		return bad(r, "value", "annual_change needs the change per year in the indicator's unit, e.g. -0.5 "
				       "(每年降低0.5个百分点)");
	if (t->has_baseline && !t->baseline_year)
		return bad(r, "baselineYear", "a baseline needs its year");
	return rc;
}

static jl_rc parse(rd_t *r, jl_str_t json, jl_json_t **root)
{
	char *copy = jl_arena_strndup(r->a, json.p, json.n);
	if (!copy)
		return JL_ENOMEM;
	jl_json_err_t e;
	jl_rc rc = jl_json_parse(r->a, copy, json.n, NULL, root, &e);
	if (rc == JL_EINVAL)
		jl_diag_err(r->d, "structure", NULL, "line %u, column %u: %s", e.line, e.col, e.msg);
	return rc;
}

static jl_rc read_targets(rd_t *r, const jl_json_t *arr)
{
	if (!arr)
		return JL_OK;
	if (arr->type != JL_JSON_ARRAY) {
		snprintf(r->path, sizeof r->path, "targets");
		return bad(r, NULL, "must be an array");
	}
	jl_catalog_t *c = r->c;
	jl_cat_target_t *t = jl_arena_calloc(r->a, c->ntargets + arr->n + 1, sizeof *t);
	if (!t)
		return JL_ENOMEM;
	if (c->ntargets)
		memcpy(t, c->targets, c->ntargets * sizeof *t);
	uint32_t n = c->ntargets;
	jl_rc rc = JL_OK;
	for (uint32_t i = 0; i < arr->n && !rc; i++) {
		snprintf(r->path, sizeof r->path, "targets[%u]", i);
		jl_cat_target_t row;
		rc = read_target(r, &arr->u.a[i], &row);
		if (rc)
			break;
		uint32_t j = 0;
		while (j < n && !(!strcmp(t[j].indicator, row.indicator) && !strcmp(t[j].region, row.region) &&
				  t[j].year == row.year))
			j++;
		t[j] = row; /* a later row for the same indicator, region and year replaces the earlier one */
		if (j == n)
			n++;
	}
	c->targets = t;
	c->ntargets = n;
	return rc;
}

jl_rc jl_catalog_load(jl_arena_t *a, jl_str_t json, jl_catalog_t *c, jl_diag_t *d)
{
	memset(c, 0, sizeof *c);
	rd_t r = {.a = a, .d = d, .c = c};
	if (!json.p)
		json = jl_catalog_builtin();
	jl_json_t *root;
	jl_rc rc = parse(&r, json, &root);
	if (rc)
		return rc;
	c->hash = jl_hash_bytes(0, json.p, json.n);
	c->loaded_us = jl_now_us();
	c->nkinds = 1;
	/* Kinds the populations themselves use (deliveries; pregnancy for maternal deaths). */
	(void)intern(&r, jl_cstr("enc:delivery"), &rc);
	(void)intern(&r, jl_cstr("eoc:pregnancy"), &rc);
	c->version = opt_str(&r, root, "version", "", &rc);
	c->canonical = opt_str(&r, root, "canonical", "https://jianlian.example/fhir/Measure/", &rc);
	c->small_den = opt_int(&r, root, "smallDenominator", 20, &rc);
	const jl_json_t *b = jl_json_get(root, "ageBands");
	if (!jl_json_is(b, JL_JSON_ARRAY) || !b->n || b->n > JL_CAT_MAX_BANDS)
		return bad(&r, "ageBands", "must be an array of 1 to 12 ascending ages starting at 0");
	for (uint32_t i = 0; i < b->n; i++) {
		c->bands[i] = (int32_t)strtol(jl_json_str(&b->u.a[i]).p ? b->u.a[i].u.s : "x", NULL, 10);
		if (b->u.a[i].type != JL_JSON_NUMBER || (i == 0 && c->bands[0] != 0) ||
		    (i && c->bands[i] <= c->bands[i - 1]))
			return bad(&r, "ageBands", "must be ascending ages starting at 0");
	}
	c->nbands = b->n;
	const jl_json_t *rules = jl_json_get(root, "rules");
	c->nrules = jl_json_is(rules, JL_JSON_ARRAY) ? rules->n : 0;
	c->rules = jl_arena_calloc(a, c->nrules + 1, sizeof *c->rules);
	if (!c->rules)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < c->nrules && !rc; i++) {
		const jl_json_t *o = &rules->u.a[i];
		jl_followup_rule_t *f = &c->rules[i];
		snprintf(r.path, sizeof r.path, "rules[%u]", i);
		f->id = opt_str(&r, o, "id", NULL, &rc);
		f->version = opt_str(&r, o, "version", "1", &rc);
		f->min = opt_int(&r, o, "minFollowups", 4, &rc);
		f->nkinds = read_kinds(&r, o, "kinds", f->kinds, 4, &rc);
		f->classes = read_classes(&r, o, &rc);
		f->max_gap_days = opt_int(&r, o, "maxGapDays", 0, &rc);
		if (!rc && (!f->id || !f->nkinds))
			rc = bad(&r, NULL, "a rule needs an id and kinds");
	}
	const jl_json_t *inds = jl_json_get(root, "indicators");
	if (!rc && (!jl_json_is(inds, JL_JSON_ARRAY) || !inds->n))
		rc = bad(&r, "indicators", "must be a non-empty array");
	if (rc)
		return rc;
	c->inds = jl_arena_calloc(a, inds->n, sizeof *c->inds);
	if (!c->inds)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < inds->n && !rc; i++) {
		const jl_json_t *o = &inds->u.a[i];
		jl_indicator_t *ind = &c->inds[i];
		snprintf(r.path, sizeof r.path, "indicators[%u]", i);
		ind->id = opt_str(&r, o, "id", NULL, &rc);
		ind->name = opt_str(&r, o, "name", NULL, &rc);
		ind->name_en = opt_str(&r, o, "nameEn", "", &rc);
		ind->section = opt_str(&r, o, "section", "", &rc);
		ind->evidence = opt_str(&r, o, "evidence", "", &rc);
		ind->unit = opt_str(&r, o, "unit", "", &rc);
		ind->plan = opt_str(&r, o, "plan", "", &rc);
		ind->source = opt_str(&r, o, "denominatorSource", "", &rc);
		ind->factor = opt_num(&r, o, "factor", 1, &rc);
		ind->vmin = opt_num(&r, o, "min", -1e300, &rc);
		ind->vmax = opt_num(&r, o, "max", 1e300, &rc);
		const char *dir = opt_str(&r, o, "direction", "none", &rc);
		ind->direction = !strcmp(dir, "higher") ? JL_DIR_HIGHER : !strcmp(dir, "lower") ? JL_DIR_LOWER : 0;
		const char *win = opt_str(&r, o, "window", "calendar", &rc);
		ind->window = !strcmp(win, "mch") ? JL_WIN_MCH : JL_WIN_CALENDAR;
		if (strcmp(win, "mch") && strcmp(win, "calendar") && !rc)
			rc = bad(&r, "window", "must be calendar or mch (1 Oct - 30 Sep)");
		const char *ci = opt_str(&r, o, "ci", "wilson", &rc);
		ind->poisson = !strcmp(ci, "poisson");
		const char *method = opt_str(&r, o, "method", "count", &rc);
		ind->method = !strcmp(method, "life-table") ? JL_METHOD_LIFE_TABLE
			      : !strcmp(method, "ncd-30-70") ? JL_METHOD_NCD
			      : !strcmp(method, "aggregate") ? JL_METHOD_AGGREGATE
			      : !strcmp(method, "count")     ? JL_METHOD_COUNT
							     : 255;
		if (rc)
			break;
		if (!ind->id || !ind->name)
			rc = bad(&r, "id", "every indicator needs an id and a name");
		else if (ind->method == 255)
			rc = bad(&r, "method", "unknown method (count, life-table, ncd-30-70, aggregate)");
		else if (jl_catalog_find(c, jl_cstr(ind->id)))
			rc = bad(&r, "id", "duplicate indicator id");
		if (rc)
			break;
		if (ind->method == JL_METHOD_NCD)
			ind->nicd = read_icd(&r, o, "icd", ind->icd, &rc);
		if (ind->method != JL_METHOD_COUNT) {
			c->ninds = i + 1;
			continue;
		}
		size_t plen = strlen(r.path);
		snprintf(r.path + plen, sizeof r.path - plen, ".denominator");
		rc = read_pop(&r, jl_json_get(o, "denominator"), &ind->den);
		const jl_json_t *num = jl_json_get(o, "numerator");
		snprintf(r.path + plen, sizeof r.path - plen, ".numerator");
		if (!rc && !num)
			rc = bad(&r, NULL, "missing");
		else if (!rc && jl_json_get(num, "population"))
			rc = read_pop(&r, num, &ind->num_pop);
		else if (!rc)
			rc = read_pred(&r, num, &ind->num);
		c->ninds = i + 1;
	}
	if (!rc)
		rc = read_targets(&r, jl_json_get(root, "targets"));
	return rc;
}

jl_rc jl_catalog_add_targets(jl_arena_t *a, jl_catalog_t *c, jl_str_t json, jl_diag_t *d)
{
	rd_t r = {.a = a, .d = d, .c = c};
	jl_json_t *root;
	jl_rc rc = parse(&r, json, &root);
	if (rc)
		return rc;
	const jl_json_t *t = jl_json_get(root, "targets");
	if (!t) {
		snprintf(r.path, sizeof r.path, "targets");
		return bad(&r, NULL, "missing: a targets file is {\"targets\": [rows]}");
	}
	c->hash = jl_hash_bytes(c->hash, json.p, json.n);
	return read_targets(&r, t);
}

const jl_indicator_t *jl_catalog_find(const jl_catalog_t *c, jl_str_t id)
{
	for (uint32_t i = 0; i < c->ninds; i++)
		if (c->inds[i].id && jl_str_eqc(id, c->inds[i].id))
			return &c->inds[i];
	return NULL;
}

jl_cat_kind jl_catalog_kind(const jl_catalog_t *c, jl_str_t kind)
{
	for (uint32_t i = 1; i < c->nkinds; i++)
		if (jl_str_eqc(kind, c->kinds[i]))
			return (jl_cat_kind)i;
	return 0;
}

const jl_cat_target_t *jl_catalog_target(const jl_catalog_t *c, const char *indicator, const char *const *codes,
				     uint32_t ncodes, int32_t year)
{
	for (uint32_t k = 0; k < ncodes; k++) {
		const jl_cat_target_t *best = NULL;
		for (uint32_t i = 0; i < c->ntargets; i++) {
			const jl_cat_target_t *t = &c->targets[i];
			if (strcmp(t->indicator, indicator) || strcmp(t->region, codes[k]) || t->year < year)
				continue;
			if (!best || t->year < best->year)
				best = t;
		}
		if (best)
			return best;
	}
	return NULL;
}
