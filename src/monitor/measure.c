/*
 * measure — Measure and MeasureReport JSON for the catalogue, and the
 * aggregate-input check. Numbers are written with four decimals, as the
 * dashboard JSON (engine.c) writes them, so both forms agree digit for
 * digit.
 */
#include "monitor/measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

#define SD JL_MEASURE_BASE "StructureDefinition/"
#define STRAT_SYSTEM JL_MEASURE_BASE "CodeSystem/measure-stratifier"

static void num(jl_jw_t *w, const char *key, double v)
{
	char b[40];
	snprintf(b, sizeof b, "%.4f", v);
	jl_jw_keyc(w, key);
	jl_jw_num(w, jl_cstr(b));
}

static void coding(jl_jw_t *w, const char *system, const char *code, const char *display)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "system");
	jl_jw_strc(w, system);
	jl_jw_keyc(w, "code");
	jl_jw_strc(w, code);
	if (display) {
		jl_jw_keyc(w, "display");
		jl_jw_strc(w, display);
	}
	jl_jw_obj_end(w);
}

/* {"coding": [one], "text": text} */
static void concept(jl_jw_t *w, const char *system, const char *code, const char *text)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "coding");
	jl_jw_arr_begin(w);
	coding(w, system, code, NULL);
	jl_jw_arr_end(w);
	if (text) {
		jl_jw_keyc(w, "text");
		jl_jw_strc(w, text);
	}
	jl_jw_obj_end(w);
}

static const char *scoring(const jl_indicator_t *ind)
{
	if (ind->method != JL_METHOD_COUNT)
		return "continuous-variable";
	return ind->factor == 100 ? "proportion" : "ratio";
}

/* A computable name (Measure.name, inv-0): "htn-bp-control" -> "HtnBpControl". */
static void computable_name(const char *id, char *out, size_t n)
{
	size_t k = 0;
	bool up = true;
	for (const char *p = id; *p && k + 1 < n; p++) {
		if (*p == '-' || *p == '.' || *p == '_') {
			up = true;
			continue;
		}
		out[k++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		up = false;
	}
	out[k] = 0;
	if (k && out[0] >= '0' && out[0] <= '9')
		out[0] = 'M'; /* names start with a letter; ids of the catalogue do anyway */
}

static void stratifier_defs(jl_jw_t *w)
{
	static const char *const strata[][2] = {{"sex", "Sex (性别)"}, {"age-band", "Age band (年龄组)"},
						{"sub-region", "Sub-region (下级行政区)"}};
	jl_jw_keyc(w, "stratifier");
	jl_jw_arr_begin(w);
	for (size_t i = 0; i < 3; i++) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "code");
		concept(w, STRAT_SYSTEM, strata[i][0], strata[i][1]);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

void jl_measure_resource(const jl_catalog_t *cat, const jl_indicator_t *ind, jl_jw_t *w)
{
	char name[128], url[512];
	computable_name(ind->id, name, sizeof name);
	snprintf(url, sizeof url, "%s%s", cat->canonical, ind->id);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "resourceType");
	jl_jw_strc(w, "Measure");
	jl_jw_keyc(w, "id");
	jl_jw_strc(w, ind->id);
	jl_jw_keyc(w, "url");
	jl_jw_strc(w, url);
	jl_jw_keyc(w, "version");
	jl_jw_strc(w, cat->version);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, name);
	jl_jw_keyc(w, "title");
	jl_jw_strc(w, ind->name);
	if (ind->name_en && *ind->name_en) {
		jl_jw_keyc(w, "subtitle");
		jl_jw_strc(w, ind->name_en);
	}
	jl_jw_keyc(w, "status");
	jl_jw_strc(w, "active");
	jl_jw_keyc(w, "publisher");
	jl_jw_strc(w, "Jianlian (健联)");
	jl_jw_keyc(w, "description");
	char desc[512];
	snprintf(desc, sizeof desc, "%s — %s; unit %s; %s", ind->name, ind->section, ind->unit,
		 ind->method == JL_METHOD_AGGREGATE ? "aggregate input (posted summary MeasureReports)"
						    : "computed from the records (docs/indicators.md)");
	jl_jw_strc(w, desc);
	jl_jw_keyc(w, "scoring");
	concept(w, "http://terminology.hl7.org/CodeSystem/measure-scoring", scoring(ind), NULL);
	if (ind->direction != JL_DIR_NONE) {
		jl_jw_keyc(w, "improvementNotation");
		concept(w, "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
			ind->direction == JL_DIR_HIGHER ? "increase" : "decrease", NULL);
	}
	if (ind->method == JL_METHOD_AGGREGATE) { /* a value posted per region and year: no populations */
		jl_jw_obj_end(w);
		return;
	}
	jl_jw_keyc(w, "group");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	{
		jl_jw_keyc(w, "population");
		jl_jw_arr_begin(w);
		static const char *const pops[] = {"numerator", "denominator"};
		for (int i = 0; i < 2; i++) {
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "code");
			concept(w, "http://terminology.hl7.org/CodeSystem/measure-population", pops[i], NULL);
			jl_jw_keyc(w, "criteria");
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "language");
			jl_jw_strc(w, "application/x-jianlian-indicator");
			jl_jw_keyc(w, "expression");
			char ex[256];
			snprintf(ex, sizeof ex, "%s#%s", ind->id, pops[i]);
			jl_jw_strc(w, ex);
			jl_jw_obj_end(w);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		stratifier_defs(w);
	}
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
}

static void day_str(int32_t day, char *out)
{
	int y, m, d;
	jl_facts_civil(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* with_lists: each population points at its contained List (subject-list reports). */
static void populations(jl_jw_t *w, const jl_result_t *r, bool with_lists)
{
	jl_jw_keyc(w, "population");
	jl_jw_arr_begin(w);
	static const char *const pops[] = {"numerator", "denominator"};
	for (int i = 0; i < 2; i++) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "code");
		concept(w, "http://terminology.hl7.org/CodeSystem/measure-population", pops[i], NULL);
		jl_jw_keyc(w, "count");
		jl_jw_int(w, i ? r->den : r->num);
		if (with_lists) {
			jl_jw_keyc(w, "subjectResults");
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "reference");
			jl_jw_strc(w, i ? "#denominator" : "#numerator");
			jl_jw_obj_end(w);
		}
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

static void score(jl_jw_t *w, const jl_indicator_t *ind, const jl_result_t *r)
{
	if (!r->has_value) /* an empty denominator gives no value, not 0 */
		return;
	jl_jw_keyc(w, "measureScore");
	jl_jw_obj_begin(w);
	num(w, "value", r->value);
	jl_jw_keyc(w, "unit");
	jl_jw_strc(w, ind->unit);
	if (!strcmp(ind->unit, "%")) {
		jl_jw_keyc(w, "system");
		jl_jw_strc(w, "http://unitsofmeasure.org");
		jl_jw_keyc(w, "code");
		jl_jw_strc(w, "%");
	}
	jl_jw_obj_end(w);
}

static void ext_decimal(jl_jw_t *w, const char *url, double v)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "url");
	jl_jw_strc(w, url);
	num(w, "valueDecimal", v);
	jl_jw_obj_end(w);
}

static void ext_bool(jl_jw_t *w, const char *url, bool v)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "url");
	jl_jw_strc(w, url);
	jl_jw_keyc(w, "valueBoolean");
	jl_jw_bool(w, v);
	jl_jw_obj_end(w);
}

/*
 * ci95, target, gap, met, small numbers and, for targets against the
 * previous year, its value, the change, the path value and on-track:
 * extensions of the group (or stratum).
 */
static void result_exts(jl_jw_t *w, const jl_result_t *r, bool with_target)
{
	static const char *const kinds[] = {"", "ge", "gt", "le", "lt", "delta_from_baseline", "annual_change",
					    "stable", "increasing"};
	bool ci = r->has_value && isfinite(r->lo);
	bool tgt = with_target && r->target;
	if (!ci && !tgt && !r->suppressed)
		return;
	jl_jw_keyc(w, "extension");
	jl_jw_arr_begin(w);
	if (ci) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "url");
		jl_jw_strc(w, SD "measurereport-ci95");
		jl_jw_keyc(w, "valueRange");
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "low");
		jl_jw_obj_begin(w);
		num(w, "value", r->lo);
		jl_jw_obj_end(w);
		jl_jw_keyc(w, "high");
		jl_jw_obj_begin(w);
		num(w, "value", r->hi);
		jl_jw_obj_end(w);
		jl_jw_obj_end(w);
		jl_jw_obj_end(w);
	}
	if (r->suppressed)
		ext_bool(w, SD "measurereport-small-numbers", true);
	if (tgt) {
		const jl_cat_target_t *t = r->target;
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "url");
		jl_jw_strc(w, SD "measurereport-target");
		jl_jw_keyc(w, "extension");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "url");
		jl_jw_strc(w, "kind");
		jl_jw_keyc(w, "valueCode");
		jl_jw_strc(w, kinds[t->kind]);
		jl_jw_obj_end(w);
		if (t->has_value) {
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "url");
			jl_jw_strc(w, "value");
			num(w, "valueDecimal", r->target_value);
			jl_jw_obj_end(w);
		}
		if (t->has_tolerance)
			ext_decimal(w, "tolerance", t->tolerance);
		if (t->has_baseline) {
			ext_decimal(w, "baseline", t->baseline);
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "url");
			jl_jw_strc(w, "baselineYear");
			jl_jw_keyc(w, "valueInteger");
			jl_jw_int(w, t->baseline_year);
			jl_jw_obj_end(w);
		}
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "url");
		jl_jw_strc(w, "year");
		jl_jw_keyc(w, "valueInteger");
		jl_jw_int(w, t->year);
		jl_jw_obj_end(w);
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "url");
		jl_jw_strc(w, "region");
		jl_jw_keyc(w, "valueString");
		jl_jw_strc(w, t->region);
		jl_jw_obj_end(w);
		if (t->source && *t->source) {
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "url");
			jl_jw_strc(w, "source");
			jl_jw_keyc(w, "valueString");
			jl_jw_strc(w, t->source);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		if (r->has_prev) {
			ext_decimal(w, SD "measurereport-previous-value", r->prev_value);
			ext_decimal(w, SD "measurereport-change", r->change);
		}
		if (r->has_path)
			ext_decimal(w, SD "measurereport-path-value", r->path);
		if (r->on_track >= 0)
			ext_bool(w, SD "measurereport-on-track", r->on_track == 1);
		if (r->has_gap)
			ext_decimal(w, SD "measurereport-gap", r->gap);
		if (r->met >= 0)
			ext_bool(w, SD "measurereport-target-met", r->met == 1);
	}
	jl_jw_arr_end(w);
}

static void stratum(jl_jw_t *w, const jl_indicator_t *ind, const jl_result_t *r, const char *system,
		    const char *code, const char *text)
{
	jl_jw_obj_begin(w);
	result_exts(w, r, false);
	jl_jw_keyc(w, "value");
	if (system)
		concept(w, system, code, text);
	else {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "text");
		jl_jw_strc(w, text);
		jl_jw_obj_end(w);
	}
	populations(w, r, false);
	score(w, ind, r);
	jl_jw_obj_end(w);
}

static void strat_begin(jl_jw_t *w, const char *code, const char *text)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "code");
	jl_jw_arr_begin(w);
	concept(w, STRAT_SYSTEM, code, text);
	jl_jw_arr_end(w);
	jl_jw_keyc(w, "stratum");
	jl_jw_arr_begin(w);
}

static void strat_end(jl_jw_t *w)
{
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
}

static void stratifiers(const jl_cube_t *c, uint32_t i, uint32_t node, jl_jw_t *w)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	jl_result_t r;
	jl_jw_keyc(w, "stratifier");
	jl_jw_arr_begin(w);
	strat_begin(w, "sex", "Sex (性别)");
	for (int s = 1; s <= 2; s++) {
		jl_engine_result(c, i, node, s, -1, &r);
		stratum(w, ind, &r, "http://hl7.org/fhir/administrative-gender", s == 1 ? "male" : "female",
			s == 1 ? "male" : "female");
	}
	strat_end(w);
	if (ind->method == JL_METHOD_COUNT) {
		strat_begin(w, "age-band", "Age band (年龄组)");
		for (uint32_t b = 0; b < c->nb; b++) {
			char lab[16];
			if (b + 1 < c->nb)
				snprintf(lab, sizeof lab, "%d-%d", c->cat->bands[b], c->cat->bands[b + 1] - 1);
			else
				snprintf(lab, sizeof lab, "%d+", c->cat->bands[b]);
			jl_engine_result(c, i, node, 0, (int)b, &r);
			stratum(w, ind, &r, NULL, NULL, lab);
		}
		strat_end(w);
	}
	if (nd->nchild && nd->level < JL_REG_VILLAGE) {
		strat_begin(w, "sub-region", "Sub-region (下级行政区)");
		for (uint32_t k = nd->child0; k < nd->child0 + nd->nchild; k++) {
			jl_engine_result(c, i, k, 0, -1, &r);
			stratum(w, ind, &r, JL_MEASURE_DIVISION_SYSTEM, c->reg->nodes[k].code, c->reg->nodes[k].name);
		}
		strat_end(w);
	}
	jl_jw_arr_end(w);
}

/* A subject list's people: the Patient ids of each population, found by the store scan. */
typedef struct subjects {
	jl_str_t *ids[2];   /* numerator, denominator */
	uint32_t n[2];
} subjects_t;

static void report(const jl_cube_t *c, uint32_t i, uint32_t node, int64_t date_us, const subjects_t *sl, jl_jw_t *w);

void jl_measure_report(const jl_cube_t *c, uint32_t i, uint32_t node, int64_t date_us, jl_jw_t *w)
{
	report(c, i, node, date_us, NULL, w);
}

/* The contained Lists of a subject-list report. */
static void lists(jl_jw_t *w, const subjects_t *sl)
{
	static const char *const names[] = {"numerator", "denominator"};
	jl_jw_keyc(w, "contained");
	jl_jw_arr_begin(w);
	for (int k = 0; k < 2; k++) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "resourceType");
		jl_jw_strc(w, "List");
		jl_jw_keyc(w, "id");
		jl_jw_strc(w, names[k]);
		jl_jw_keyc(w, "status");
		jl_jw_strc(w, "current");
		jl_jw_keyc(w, "mode");
		jl_jw_strc(w, "snapshot");
		jl_jw_keyc(w, "title");
		jl_jw_strc(w, names[k]);
		if (sl->n[k]) {
			jl_jw_keyc(w, "entry");
			jl_jw_arr_begin(w);
			for (uint32_t j = 0; j < sl->n[k]; j++) {
				char ref[128];
				snprintf(ref, sizeof ref, "Patient/%.*s", JL_STR_FMT(sl->ids[k][j]));
				jl_jw_obj_begin(w);
				jl_jw_keyc(w, "item");
				jl_jw_obj_begin(w);
				jl_jw_keyc(w, "reference");
				jl_jw_strc(w, ref);
				jl_jw_obj_end(w);
				jl_jw_obj_end(w);
			}
			jl_jw_arr_end(w);
		}
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

static void report(const jl_cube_t *c, uint32_t i, uint32_t node, int64_t date_us, const subjects_t *sl, jl_jw_t *w)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	char buf[512], a[11], b[11];
	int32_t s, e;
	if (ind->method == JL_METHOD_AGGREGATE) { /* aggregate inputs are reported per calendar year */
		s = jl_facts_day(c->year, 1, 1);
		e = jl_facts_day(c->year, 12, 31);
	} else {
		jl_engine_window(c, ind, &s, &e);
	}
	day_str(s, a);
	day_str(e, b);
	jl_result_t r;
	jl_engine_result(c, i, node, 0, -1, &r);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "resourceType");
	jl_jw_strc(w, "MeasureReport");
	jl_jw_keyc(w, "status");
	jl_jw_strc(w, "complete");
	jl_jw_keyc(w, "type");
	jl_jw_strc(w, sl ? "subject-list" : "summary");
	if (sl)
		lists(w, sl);
	jl_jw_keyc(w, "measure");
	snprintf(buf, sizeof buf, "%s%s", c->cat->canonical, ind->id);
	jl_jw_strc(w, buf);
	jl_jw_keyc(w, "subject");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "identifier");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "system");
	jl_jw_strc(w, JL_MEASURE_DIVISION_SYSTEM);
	jl_jw_keyc(w, "value");
	jl_jw_strc(w, nd->code);
	jl_jw_obj_end(w);
	jl_jw_keyc(w, "display");
	jl_jw_strc(w, nd->name);
	jl_jw_obj_end(w);
	jl_time_fmt_instant(date_us, buf);
	jl_jw_keyc(w, "date");
	jl_jw_strc(w, buf);
	jl_jw_keyc(w, "period");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "start");
	jl_jw_strc(w, a);
	jl_jw_keyc(w, "end");
	jl_jw_strc(w, b);
	jl_jw_obj_end(w);
	if (ind->direction != JL_DIR_NONE) {
		jl_jw_keyc(w, "improvementNotation");
		concept(w, "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
			ind->direction == JL_DIR_HIGHER ? "increase" : "decrease", NULL);
	}
	if (r.aggr) { /* the aggregate input the value comes from */
		jl_jw_keyc(w, "evaluatedResource");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "reference");
		snprintf(buf, sizeof buf, "MeasureReport/%s", r.aggr->id);
		jl_jw_strc(w, buf);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	jl_jw_keyc(w, "group");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	result_exts(w, &r, true);
	if (ind->method != JL_METHOD_AGGREGATE)
		populations(w, &r, sl != NULL);
	score(w, ind, &r);
	if (ind->method != JL_METHOD_AGGREGATE)
		stratifiers(c, i, node, w);
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
}

/* ---- subject lists ---- */

typedef struct who {
	int64_t *h[2];      /* person hashes of the numerator and the denominator */
	uint32_t n[2];
	bool too_many[2];
	subjects_t *sl;
	jl_arena_t *a;
} who_t;

static void on_member(void *arg, const jl_fact_person_t *p, bool den, bool num)
{
	who_t *k = arg;
	bool in[2] = {num, den};
	for (int j = 0; j < 2; j++) {
		if (!in[j])
			continue;
		if (k->n[j] >= JL_MEASURE_MAX_SUBJECTS)
			k->too_many[j] = true;
		else
			k->h[j][k->n[j]++] = p->h;
	}
}

/* The ids of the people counted: looked up by their hashes (one index probe each, not a scan of every Patient). */
static jl_rc name_them(who_t *k, jl_store_t *s)
{
	for (int j = 0; j < 2; j++) {
		if (!k->n[j])
			continue;
		jl_str_t *ids = jl_arena_alloc(k->a, k->n[j] * sizeof *ids);
		if (!ids)
			return JL_ENOMEM;
		jl_rc rc = jl_store_ids_of(s, k->a, JL_STR("Patient"), k->h[j], k->n[j], ids);
		if (rc)
			return rc;
		for (uint32_t i = 0; i < k->n[j]; i++)
			if (ids[i].n) /* a Patient deleted since the facts were read is left out */
				k->sl->ids[j][k->sl->n[j]++] = ids[i];
	}
	return JL_OK;
}

static int cmp_id(const void *x, const void *y)
{
	const jl_str_t *a = x, *b = y;
	size_t n = a->n < b->n ? a->n : b->n;
	int r = memcmp(a->p, b->p, n);
	return r ? r : (a->n > b->n) - (a->n < b->n);
}

jl_rc jl_measure_subject_list(const jl_cube_t *c, uint32_t i, uint32_t node, jl_store_t *s, int64_t date_us,
			      jl_arena_t *a, jl_jw_t *w, jl_diag_t *d)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	if (ind->method != JL_METHOD_COUNT) {
		jl_diag_err(d, "not-supported", "reportType",
			    "A subject list is offered for indicators counted from the records; %s is not one", ind->id);
		return JL_EINVALID;
	}
	subjects_t sl = {0};
	who_t k = {.sl = &sl, .a = a};
	for (int j = 0; j < 2; j++) {
		k.h[j] = jl_arena_alloc(a, JL_MEASURE_MAX_SUBJECTS * sizeof *k.h[j]);
		sl.ids[j] = jl_arena_alloc(a, JL_MEASURE_MAX_SUBJECTS * sizeof *sl.ids[j]);
		if (!k.h[j] || !sl.ids[j])
			return JL_ENOMEM;
	}
	jl_engine_members(c, i, node, on_member, &k);
	if (k.too_many[0] || k.too_many[1]) {
		jl_diag_err(d, "too-costly", "subject",
			    "A subject list names at most %d people per population, and the %s of %s has more: ask for a "
			    "smaller region (a county, township or village)",
			    JL_MEASURE_MAX_SUBJECTS, k.too_many[1] ? "denominator" : "numerator", c->reg->nodes[node].code);
		return JL_ETOOBIG;
	}
	jl_rc rc = name_them(&k, s);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "Reading the Patients for the subject list failed (%s)", jl_rc_name(rc));
		return rc;
	}
	for (int j = 0; j < 2; j++) /* in id order, whatever order the store keeps */
		if (sl.n[j])
			qsort(sl.ids[j], sl.n[j], sizeof *sl.ids[j], cmp_id);
	report(c, i, node, date_us, &sl, w);
	return JL_OK;
}

/* ---- aggregate inputs ---- */

static jl_str_t get_s(const jl_json_t *o, const char *k)
{
	return jl_json_str(jl_json_get(o, k));
}

/* A whole calendar year: start YYYY-01-01 (or YYYY), end YYYY-12-31 (or YYYY) of the same year. */
static bool whole_year(const jl_json_t *period, jl_diag_t *d)
{
	jl_str_t s = get_s(period, "start"), e = get_s(period, "end");
	int32_t ds, de;
	if (!s.n || !jl_facts_parse_day(s, &ds)) {
		jl_diag_err(d, "required", "MeasureReport.period.start", "An aggregate input needs period.start (YYYY-01-01)");
		return false;
	}
	int y, m, dd;
	jl_facts_civil(ds, &y, &m, &dd);
	if (m != 1 || dd != 1) {
		jl_diag_err(d, "value", "MeasureReport.period.start",
			    "An aggregate input covers one calendar year: period.start must be %04d-01-01", y);
		return false;
	}
	bool ok = e.n == 4 ? !memcmp(e.p, s.p, 4) : (e.n && jl_facts_parse_day(e, &de) && de == jl_facts_day(y, 12, 31));
	if (!ok) {
		jl_diag_err(d, "value", "MeasureReport.period.end",
			    "An aggregate input covers one calendar year: period.end must be %04d-12-31", y);
		return false;
	}
	return true;
}

jl_rc jl_measure_check_report(const jl_catalog_t *cat, const jl_json_t *res, jl_measure_region_fn known, void *arg,
			      jl_diag_t *d)
{
	jl_str_t measure = get_s(res, "measure");
	size_t cn = strlen(cat->canonical);
	if (measure.n <= cn || memcmp(measure.p, cat->canonical, cn))
		return JL_OK;
	jl_str_t id = jl_str(measure.p + cn, measure.n - cn);
	const char *bar = memchr(id.p, '|', id.n); /* canonical|version */
	if (bar)
		id.n = (size_t)(bar - id.p);
	const jl_indicator_t *ind = jl_catalog_find(cat, id);
	if (!ind) {
		jl_diag_err(d, "value", "MeasureReport.measure", "%.*s is not a measure of the indicator catalogue",
			    (int)(measure.n > 200 ? 200 : measure.n), measure.p);
		return JL_EINVALID;
	}
	if (ind->method != JL_METHOD_AGGREGATE)
		return JL_OK; /* computed indicators: a stored report is a record of an evaluation, not an input */
	if (!jl_str_eqc(get_s(res, "type"), "summary")) {
		jl_diag_err(d, "value", "MeasureReport.type", "An aggregate input for %s must be a summary report", ind->id);
		return JL_EINVALID;
	}
	const jl_json_t *who = jl_json_get(jl_json_get(res, "subject"), "identifier");
	const char *where = "MeasureReport.subject.identifier.value";
	if (!get_s(who, "value").n && jl_json_get(res, "reporter")) {
		who = jl_json_get(jl_json_get(res, "reporter"), "identifier");
		where = "MeasureReport.reporter.identifier.value";
	}
	jl_str_t code = get_s(who, "value");
	if (!code.n) {
		jl_diag_err(d, "required", "MeasureReport.subject.identifier.value",
			    "An aggregate input names its region by a division code in subject.identifier.value");
		return JL_EINVALID;
	}
	if (code.n > 12 || !known(arg, code)) {
		jl_diag_err(d, "value", where, "No region has the division code \"%.*s\"", (int)(code.n > 20 ? 20 : code.n),
			    code.p);
		return JL_EINVALID;
	}
	if (!whole_year(jl_json_get(res, "period"), d))
		return JL_EINVALID;
	const jl_json_t *grp = jl_json_get(res, "group");
	const jl_json_t *sc = jl_json_is(grp, JL_JSON_ARRAY) && grp->n ? jl_json_get(&grp->u.a[0], "measureScore") : NULL;
	const jl_json_t *v = jl_json_get(sc, "value");
	if (!jl_json_is(v, JL_JSON_NUMBER)) {
		jl_diag_err(d, "required", "MeasureReport.group[0].measureScore.value",
			    "An aggregate input carries its value in group[0].measureScore.value");
		return JL_EINVALID;
	}
	char nb[40];
	size_t len = v->n < sizeof nb - 1 ? v->n : sizeof nb - 1;
	memcpy(nb, v->u.s, len);
	nb[len] = 0;
	double x = strtod(nb, NULL);
	if (!(x >= ind->vmin && x <= ind->vmax)) {
		jl_diag_err(d, "value", "MeasureReport.group[0].measureScore.value",
			    "%g is outside the range of %s (%g to %g %s)", x, ind->id, ind->vmin, ind->vmax, ind->unit);
		return JL_EINVALID;
	}
	return JL_OK; /* pending or error reports are kept too; the engine reads complete ones only */
}
