/*
 * Unit tests of the indicator engine: each formula on small hand-built
 * FHIR data with a known answer (indicators.md edge cases: lost to
 * follow-up, age at the reference date, deaths and moves, empty
 * denominators), the life table against Preston, Heuveline & Guillot,
 * Demography (2001), Box 3.1 (Austria, males, 1992), the intervals against
 * their textbook values, roll-up consistency, and a generated region
 * against docs/gen.md's configured rates.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gen/gen.h"
#include "monitor/engine.h"
#include "monitor/measure.h"
#include "monitor/report.h"

#define V1 "532930101002" /* a village of 洱源县 */
#define V2 "532901003016" /* a village of 大理市 */

static jl_arena_t *A;
static jl_catalog_t CAT;
static jl_regions_t REG;

static int setup(void **state)
{
	A = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, A);
	if (jl_catalog_load(A, JL_STR_NULL, &CAT, &d) || jl_regions_load(A, 532900, &REG, &d))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	jl_arena_free(A);
	return 0;
}

/* ---- builders of small FHIR resources ---- */

static void add(jl_facts_t *f, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < (int)sizeof buf);
	assert_int_equal(jl_facts_add_json(f, jl_str(buf, (size_t)n)), JL_OK);
}

/* A resident; from/to bound the current address ("" = open); death "" = alive. */
static void patient(jl_facts_t *f, const char *id, const char *sex, const char *birth, const char *village,
		    const char *from, const char *to, const char *death)
{
	char period[96] = "", dec[64] = "";
	if (*from && *to)
		snprintf(period, sizeof period, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"}", from, to);
	else if (*from)
		snprintf(period, sizeof period, ",\"period\":{\"start\":\"%s\"}", from);
	else if (*to)
		snprintf(period, sizeof period, ",\"period\":{\"end\":\"%s\"}", to);
	if (*death)
		snprintf(dec, sizeof dec, ",\"deceasedDateTime\":\"%s\"", death);
	add(f,
	    "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"extension\":[{\"url\":\"https://jianlian.example/fhir/"
	    "StructureDefinition/cn-residence-status\",\"valueCoding\":{\"code\":\"registered-resident\"}}],"
	    "\"gender\":\"%s\",\"birthDate\":\"%s\"%s,\"address\":[{\"extension\":[{\"url\":\"https://jianlian.example/"
	    "fhir/StructureDefinition/cn-division-code\",\"valueCoding\":{\"code\":\"%s\"}},{\"url\":\"https://"
	    "jianlian.example/fhir/StructureDefinition/cn-address-category\",\"valueCoding\":{\"code\":\"current\"}}]%s}]}",
	    id, sex, birth, dec, village, period);
}

static void episode(jl_facts_t *f, const char *pid, const char *type, const char *start, const char *end)
{
	char e[48] = "";
	if (*end)
		snprintf(e, sizeof e, ",\"end\":\"%s\"", end);
	add(f,
	    "{\"resourceType\":\"EpisodeOfCare\",\"id\":\"eoc-%s-%s\",\"status\":\"active\",\"type\":[{\"coding\":[{"
	    "\"code\":\"%s\"}]}],\"patient\":{\"reference\":\"Patient/%s\"},\"period\":{\"start\":\"%s\"%s}}",
	    pid, type, type, pid, start, e);
}

static int enc_seq;

/* An encounter; with sbp > 0 also its blood-pressure Observation, with fpg > 0 a glucose one. */
static void encounter(jl_facts_t *f, const char *pid, const char *type, const char *cls, const char *day, int sbp,
		      int dbp)
{
	int k = ++enc_seq;
	add(f,
	    "{\"resourceType\":\"Encounter\",\"id\":\"e%d\",\"status\":\"finished\",\"class\":{\"code\":\"%s\"},"
	    "\"type\":[{\"coding\":[{\"code\":\"%s\"}]}],\"subject\":{\"reference\":\"Patient/%s\"},\"period\":{"
	    "\"start\":\"%sT10:00:00+08:00\"}}",
	    k, cls, type, pid, day);
	if (sbp > 0)
		add(f,
		    "{\"resourceType\":\"Observation\",\"id\":\"o%d\",\"status\":\"final\",\"code\":{\"coding\":[{"
		    "\"code\":\"85354-9\"}]},\"subject\":{\"reference\":\"Patient/%s\"},\"encounter\":{\"reference\":"
		    "\"Encounter/e%d\"},\"effectiveDateTime\":\"%s\",\"component\":[{\"code\":{\"coding\":[{\"code\":"
		    "\"8480-6\"}]},\"valueQuantity\":{\"value\":%d}},{\"code\":{\"coding\":[{\"code\":\"8462-4\"}]},"
		    "\"valueQuantity\":{\"value\":%d}}]}",
		    k, pid, k, day, sbp, dbp);
}

static uint32_t ind(const char *id)
{
	const jl_indicator_t *p = jl_catalog_find(&CAT, jl_cstr(id));
	assert_non_null(p);
	return (uint32_t)(p - CAT.inds);
}

static jl_result_t result(const jl_cube_t *c, const char *id, const char *region)
{
	int32_t node = jl_regions_find(&REG, jl_cstr(region));
	assert_true(node >= 0);
	jl_result_t r;
	jl_engine_result(c, ind(id), (uint32_t)node, 0, -1, &r);
	return r;
}

/* ---- tests ---- */

static void test_catalog(void **state)
{
	assert_true(CAT.ninds >= 30);
	const jl_indicator_t *le = jl_catalog_find(&CAT, jl_cstr("life-expectancy"));
	assert_non_null(le);
	const char *codes[] = {"532900", "000000"};
	const jl_cat_target_t *t = jl_catalog_target(&CAT, "life-expectancy", codes, 2, 2023);
	assert_non_null(t);
	assert_true(fabs(t->value - 78.93) < 1e-9); /* 77.93 + 1 (提高1岁) */

	/* A bad definition is named by its element. */
	jl_diag_t d;
	jl_diag_init(&d, A);
	jl_catalog_t bad;
	const char *text = "{\"ageBands\":[0],\"indicators\":[{\"id\":\"x\",\"name\":\"x\",\"denominator\":{\"population\":"
			   "\"residents\"},\"numerator\":{\"rule\":\"sometimes\"}}]}";
	assert_int_equal(jl_catalog_load(A, jl_cstr(text), &bad, &d), JL_EINVALID);
	assert_true(d.n >= 1);
	assert_string_equal(d.items[0].expr, "indicators[0].numerator.rule");

	/* A regional target overrides the national one, for that region and below. */
	jl_catalog_t c2;
	assert_int_equal(jl_catalog_load(A, JL_STR_NULL, &c2, &d), JL_OK);
	assert_int_equal(jl_catalog_add_targets(A, &c2, jl_cstr("{\"targets\":[{\"indicator\":\"htn-bp-control\","
								 "\"region\":\"532900\",\"year\":2023,\"kind\":\"ge\","
								 "\"value\":60}]}"),
						&d),
			 JL_OK);
	const char *county[] = {"532901", "532900", "000000"};
	t = jl_catalog_target(&c2, "htn-bp-control", county, 3, 2023);
	assert_non_null(t);
	assert_string_equal(t->region, "532900");
	assert_null(jl_catalog_target(&c2, "htn-bp-control", codes + 1, 1, 2023));
	assert_int_equal(jl_catalog_add_targets(A, &c2, jl_cstr("{\"targets\":[{\"indicator\":\"nope\",\"region\":"
								 "\"532900\",\"year\":2023,\"kind\":\"ge\",\"value\":1}]}"),
						&d),
			 JL_EINVALID);
}

static void test_regions(void **state)
{
	int32_t p = jl_regions_find(&REG, jl_cstr("532900")), c = jl_regions_find(&REG, jl_cstr("532901"));
	int32_t v = jl_regions_find(&REG, jl_cstr(V2));
	assert_true(p >= 0 && c >= 0 && v >= 0);
	assert_int_equal(REG.nodes[p].level, JL_REG_PREFECTURE);
	assert_int_equal(REG.nodes[c].nchild > 0, 1);
	assert_int_equal(REG.nodes[REG.nodes[v].parent].parent, c); /* village > township > county */
	assert_int_equal(jl_regions_find(&REG, jl_cstr("5329")), p);
	assert_int_equal(jl_regions_find(&REG, jl_cstr("110101")), -1);
	/* Every county's villages tile the prefecture's range. */
	uint32_t sum = 0;
	for (uint32_t k = REG.nodes[p].child0; k < REG.nodes[p].child0 + REG.nodes[p].nchild; k++)
		sum += REG.nodes[k].nvill;
	assert_int_equal(sum, REG.nodes[p].nvill);
	assert_int_equal(REG.nodes[v].valid_to, INT32_MAX);
	/* An institution attaches to its village, or its township when only that is known. */
	assert_int_equal(jl_regions_locate(&REG, jl_cstr(V2)), v);
	assert_int_equal(jl_regions_locate(&REG, jl_cstr("532901003")), REG.nodes[v].parent);
}

static void test_htn_control_lost_followup(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* A: last follow-up controlled. */
	patient(&f, "a", "male", "1960-05-01", V1, "", "", "");
	episode(&f, "a", "htn-management", "2019-01-01", "");
	encounter(&f, "a", "htn-followup", "AMB", "2023-03-01", 150, 95);
	encounter(&f, "a", "htn-followup", "AMB", "2023-11-01", 130, 80);
	/* B: controlled earlier, not at the last follow-up with a measurement. */
	patient(&f, "b", "female", "1962-05-01", V1, "", "", "");
	episode(&f, "b", "htn-management", "2019-01-01", "");
	encounter(&f, "b", "htn-followup", "AMB", "2023-03-01", 120, 70);
	encounter(&f, "b", "htn-followup", "HH", "2023-10-01", 145, 92);
	/* C: registered in the window, never measured (失访): stays in the denominator, not controlled. */
	patient(&f, "c", "male", "1970-05-01", V1, "", "", "");
	episode(&f, "c", "htn-management", "2023-02-01", "");
	/* D: aged 70 at the follow-up: 145/85 is controlled under the ≥ 65 relaxation (§4.1). */
	patient(&f, "d", "female", "1953-01-01", V1, "", "", "");
	episode(&f, "d", "htn-management", "2015-01-01", "");
	encounter(&f, "d", "htn-followup", "AMB", "2023-06-01", 145, 85);
	/* E: on the register but no management record in 2023: not 年内已管理. */
	patient(&f, "e", "male", "1950-01-01", V1, "", "", "");
	episode(&f, "e", "htn-management", "2015-01-01", "");
	encounter(&f, "e", "htn-followup", "AMB", "2022-06-01", 120, 70);
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_result_t r = result(c, "htn-bp-control", "532900");
	assert_int_equal(r.den, 4);
	assert_int_equal(r.num, 2);
	assert_true(r.has_value && fabs(r.value - 50.0) < 1e-9);
	assert_true(r.suppressed); /* below 20 */
	/* The county of the other village has an empty denominator: no value, not zero. */
	r = result(c, "htn-bp-control", "532901");
	assert_int_equal(r.den, 0);
	assert_false(r.has_value);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_standard_management_rule(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* 4 face-to-face follow-ups: standard. */
	patient(&f, "a", "male", "1960-05-01", V1, "", "", "");
	episode(&f, "a", "htn-management", "2019-01-01", "");
	for (int m = 1; m <= 4; m++) {
		char day[16];
		snprintf(day, sizeof day, "2023-%02d-10", m * 3);
		encounter(&f, "a", "htn-followup", m % 2 ? "AMB" : "HH", day, 0, 0);
	}
	/* 3 face-to-face + 1 phone (VR): phone calls are excluded by default (§3.2). */
	patient(&f, "b", "male", "1960-05-01", V1, "", "", "");
	episode(&f, "b", "htn-management", "2019-01-01", "");
	encounter(&f, "b", "htn-followup", "AMB", "2023-01-10", 0, 0);
	encounter(&f, "b", "htn-followup", "AMB", "2023-04-10", 0, 0);
	encounter(&f, "b", "htn-followup", "VR", "2023-07-10", 0, 0);
	encounter(&f, "b", "htn-followup", "AMB", "2023-10-10", 0, 0);
	/* SMI: 4 follow-ups but one gap over 92 days fails the spacing rule. */
	patient(&f, "s", "female", "1980-05-01", V1, "", "", "");
	episode(&f, "s", "smi-management", "2018-01-01", "");
	encounter(&f, "s", "smi-followup", "HH", "2023-01-10", 0, 0);
	encounter(&f, "s", "smi-followup", "HH", "2023-03-10", 0, 0);
	encounter(&f, "s", "smi-followup", "HH", "2023-09-10", 0, 0);
	encounter(&f, "s", "smi-followup", "HH", "2023-11-10", 0, 0);
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_result_t r = result(c, "htn-standard-management", "532900");
	assert_int_equal(r.den, 2);
	assert_int_equal(r.num, 1);
	r = result(c, "smi-standard-management", "532900");
	assert_int_equal(r.den, 1);
	assert_int_equal(r.num, 0);
	r = result(c, "smi-management", "532900"); /* 在管 ÷ 在册: any follow-up */
	assert_int_equal(r.num, 1);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_age_at_reference_date(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	patient(&f, "old", "male", "1958-12-31", V1, "", "", "");   /* 65 on 2023-12-31 */
	patient(&f, "young", "male", "1959-01-01", V1, "", "", ""); /* 64 */
	encounter(&f, "old", "elderly-check", "AMB", "2023-05-01", 0, 0);
	encounter(&f, "young", "elderly-check", "AMB", "2023-05-01", 0, 0);
	patient(&f, "dead", "female", "1940-01-01", V1, "", "", "2023-08-01"); /* not 常住 on the reference date */
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_result_t r = result(c, "elderly-health-management", "532900");
	assert_int_equal(r.den, 1);
	assert_int_equal(r.num, 1);
	r = result(c, "family-doctor-coverage", "532900"); /* residents: old and young */
	assert_int_equal(r.den, 2);
	assert_int_equal(r.num, 0);
	assert_true(r.has_value && r.value == 0.0); /* a real zero: the denominator is not empty */
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_deaths_and_moves(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* Died in June after a follow-up: managed (the default rule of §3.1), counted in V1. */
	patient(&f, "dead", "male", "1950-01-01", V1, "", "", "2023-06-15");
	episode(&f, "dead", "htn-management", "2015-01-01", "2023-06-15");
	encounter(&f, "dead", "htn-followup", "AMB", "2023-02-01", 130, 80);
	/* Moved from V1 to V2 in April (two current addresses with periods): counted in V2 at the reference date. */
	add(&f, "{\"resourceType\":\"Patient\",\"id\":\"mv\",\"extension\":[{\"url\":\"https://jianlian.example/fhir/"
		"StructureDefinition/cn-residence-status\",\"valueCoding\":{\"code\":\"registered-resident\"}}],"
		"\"gender\":\"female\",\"birthDate\":\"1955-01-01\",\"address\":[{\"extension\":[{\"url\":\"https://"
		"jianlian.example/fhir/StructureDefinition/cn-division-code\",\"valueCoding\":{\"code\":\"" V1 "\"}},{"
		"\"url\":\"https://jianlian.example/fhir/StructureDefinition/cn-address-category\",\"valueCoding\":{"
		"\"code\":\"current\"}}],\"period\":{\"end\":\"2023-04-01\"}},{\"extension\":[{\"url\":\"https://"
		"jianlian.example/fhir/StructureDefinition/cn-division-code\",\"valueCoding\":{\"code\":\"" V2 "\"}},{"
		"\"url\":\"https://jianlian.example/fhir/StructureDefinition/cn-address-category\",\"valueCoding\":{"
		"\"code\":\"current\"}}],\"period\":{\"start\":\"2023-04-02\"}}]}");
	episode(&f, "mv", "htn-management", "2015-01-01", "");
	encounter(&f, "mv", "htn-followup", "AMB", "2023-02-01", 150, 95);
	/* Moved out of the region in March after a follow-up in February: counted where they lived. */
	patient(&f, "out", "male", "1950-01-01", V2, "", "2023-03-01", "");
	episode(&f, "out", "htn-management", "2015-01-01", "");
	encounter(&f, "out", "htn-followup", "AMB", "2023-02-01", 130, 80);
	/* Moved out in January before any record: not counted. */
	patient(&f, "gone", "male", "1950-01-01", V2, "", "2023-01-05", "");
	episode(&f, "gone", "htn-management", "2015-01-01", "");
	encounter(&f, "gone", "htn-followup", "AMB", "2023-02-01", 130, 80);
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_result_t r = result(c, "htn-bp-control", "532930");
	assert_int_equal(r.den, 1); /* dead */
	assert_int_equal(r.num, 1);
	r = result(c, "htn-bp-control", "532901");
	assert_int_equal(r.den, 2); /* mv (now in V2) and out */
	assert_int_equal(r.num, 1);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_births_and_infant_deaths(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* 妇幼 window for 2023: 2022-10-01 … 2023-09-30. */
	patient(&f, "b1", "male", "2022-11-01", V1, "2022-11-01", "", "2023-01-15"); /* infant and neonatal? no: 75 days */
	patient(&f, "b2", "female", "2023-03-01", V1, "2023-03-01", "", "2023-03-10"); /* neonatal death */
	patient(&f, "b3", "female", "2023-05-01", V1, "2023-05-01", "", "");
	patient(&f, "b4", "male", "2023-10-02", V1, "2023-10-02", "", ""); /* after the window */
	patient(&f, "k", "male", "2020-01-01", V1, "", "", "2023-02-01");  /* aged 3: under-5 death only */
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_result_t r = result(c, "infant-mortality", "532900");
	assert_int_equal(r.den, 3);
	assert_int_equal(r.num, 2);
	assert_true(fabs(r.value - 666.6667) < 1e-3);
	r = result(c, "neonatal-mortality", "532900");
	assert_int_equal(r.num, 1);
	r = result(c, "under5-mortality", "532900");
	assert_int_equal(r.num, 3);
	/* Exact Poisson interval, per 1000 live births. */
	double lo, hi;
	jl_stats_poisson(3, &lo, &hi);
	assert_true(fabs(r.lo - lo / 3 * 1000) < 1e-6 && fabs(r.hi - hi / 3 * 1000) < 1e-6);
	r = result(c, "tb-management", "532900"); /* no cases: no value */
	assert_false(r.has_value);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_intervals(void **state)
{
	double lo, hi;
	jl_stats_wilson(8, 10, &lo, &hi); /* Wilson (1927) / Newcombe (1998) method 3: 0.4902-0.9433 */
	assert_true(fabs(lo - 0.4902) < 1e-4 && fabs(hi - 0.9433) < 1e-4);
	jl_stats_wilson(0, 10, &lo, &hi);
	assert_true(lo == 0 && fabs(hi - 0.2775) < 1e-4);
	jl_stats_poisson(0, &lo, &hi); /* Garwood: 0-3.689 */
	assert_true(lo == 0 && fabs(hi - 3.6889) < 1e-3);
	jl_stats_poisson(5, &lo, &hi); /* 1.6235-11.6683 */
	assert_true(fabs(lo - 1.6235) < 1e-3 && fabs(hi - 11.6683) < 1e-3);
}

/* Preston, Heuveline & Guillot (2001), Box 3.1: Austria, males, 1992 (UN 1994 data, the book's a_x). */
static void test_lifetable_preston(void **state)
{
	static const double pop[] = {47925, 189127, 234793, 238790, 254996, 326831, 355086, 324222, 269963, 261971,
				     238011, 261612, 181385, 187962, 153832, 105169, 73694,  57512,  32248};
	static const double deaths[] = {419, 70, 36, 46, 249, 420, 403, 441, 508, 769, 1154, 1866, 2043, 3496, 4366, 4337,
					5279, 6460, 6146};
	static const double ax[] = {0.068, 1.626, 2.5,   3.143, 2.724, 2.520, 2.481, 2.601, 2.701, 2.663,
				    2.698, 2.676, 2.645, 2.624, 2.619, 2.593, 2.518, 2.423, 5.247};
	static const double lx[] = {100000, 99133, 98986, 98910, 98815, 98334, 97704, 97151, 96492, 95588,
				    94195,  91937, 88711, 83845, 76377, 66225, 53803, 37441, 21134};
	static const double Lx[] = {99192,  396183, 494741, 494375, 492980, 490106, 487127, 484175, 480384, 474686,
				    465777, 452188, 432096, 401480, 357713, 301224, 228404, 145182, 110889};
	jl_lifetable_t t;
	jl_stats_lifetable(deaths, pop, 1, ax, &t);
	assert_true(t.ok);
	double T = 0;
	for (int g = 0; g < JL_LT_GROUPS; g++) {
		assert_true(fabs(t.l[g] - lx[g]) <= 1.0);  /* the book rounds to whole persons */
		assert_true(fabs(t.L[g] - Lx[g]) <= 10.0); /* L for the open group from the rounded l */
		T += Lx[g];
	}
	assert_true(fabs(t.e0 - T / 100000) < 0.01); /* e0 = 72.90 in the book */
	assert_true(t.e0_lo < t.e0 && t.e0 < t.e0_hi && t.e0_hi - t.e0_lo < 0.5);
	/* §5.1 defaults: a0 from Coale–Demeny for males: 0.045 + 2.684 M0. */
	jl_stats_lifetable(deaths, pop, 1, NULL, &t);
	assert_true(fabs(t.a[0] - (0.045 + 2.684 * 419.0 / 47925)) < 1e-12);
	assert_true(fabs(t.e0 - 72.9) < 0.3);
}

static void test_ncd_probability(void **state)
{
	double pop[JL_LT_GROUPS], deaths[JL_LT_GROUPS];
	for (int g = 0; g < JL_LT_GROUPS; g++) {
		pop[g] = 10000;
		deaths[g] = 0;
	}
	for (int g = 7; g <= 14; g++)
		deaths[g] = 20; /* M = 0.002 in each band: 5q = 0.01/1.005 */
	double p;
	assert_true(jl_stats_ncd_prob(deaths, pop, &p));
	assert_true(fabs(p - (1 - pow(1 - 0.01 / 1.005, 8))) < 1e-12);
	pop[9] = 0;
	assert_false(jl_stats_ncd_prob(deaths, pop, &p));
}

/* ---- a generated region ---- */

static jl_rc gen_put(void *arg, jl_gen_rt type, jl_str_t json)
{
	return jl_facts_add_json(arg, json);
}

static jl_rc gen_truth(void *arg, jl_gen_truth file, jl_str_t line)
{
	return JL_OK;
}

/* What jl_engine_members reports. */
typedef struct who {
	int nden, nnum;
	int64_t num[16];
} who_t;

static void on_who(void *arg, const jl_fact_person_t *p, bool den, bool num)
{
	who_t *w = arg;
	w->nden += den;
	if (num && w->nnum < 16)
		w->num[w->nnum++] = p->h;
}

/* Check-ups of one child on the given days ("" ends the list). */
static void checks(jl_facts_t *f, const char *pid, const char *const *days)
{
	for (; **days; days++)
		encounter(f, pid, "child-health-check", "AMB", *days, 0, 0);
}

/*
 * 3岁以下儿童系统管理率, the 4:2:2 rule (§4.5) appropriate to the age at the
 * reference date (30 September, the 妇幼年报 year): checks at 3, 6, 8, 12,
 * 18, 24, 30, 36 months ± 1 month; due once the window has closed.
 */
static void test_schedule_422(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* 32 months on 2024-09-30: 4 + 2 + 1 (30 months) due, all done: met. */
	patient(&f, "c-full", "female", "2022-01-15", V1, "", "", "");
	checks(&f, "c-full", (const char *const[]){"2022-04-15", "2022-07-15", "2022-09-15", "2023-01-15", "2023-07-15",
						  "2024-01-15", "2024-07-15", ""});
	/* The same child without the 24-month check: 1 of 2 in the 2nd year in 2024; in 2023 only 18 was due. */
	patient(&f, "c-miss-y2", "male", "2022-01-15", V1, "", "", "");
	checks(&f, "c-miss-y2", (const char *const[]){"2022-04-15", "2022-07-15", "2022-09-15", "2023-01-15",
						     "2023-07-15", "2024-07-15", ""});
	/*
	 * 15 months: the 满月 check (1 month) and one at 10 months fall in no
	 * window, so only 3 of the 4 first-year checks count: not met.
	 */
	patient(&f, "c-outside", "male", "2023-06-10", V2, "", "", "");
	checks(&f, "c-outside", (const char *const[]){"2023-07-10", "2023-09-10", "2023-12-10", "2024-04-10",
						     "2024-06-10", ""});
	/* 15 months, the four first-year checks; too young for any of the 2nd year's: met. */
	patient(&f, "c-young-y2", "female", "2023-06-10", V2, "", "", "");
	checks(&f, "c-young-y2", (const char *const[]){"2023-09-12", "2023-12-01", "2024-02-25", "2024-06-20", ""});
	/* 3 months: the 3-month window is still open, nothing due yet: met (noneDue). */
	patient(&f, "c-infant", "male", "2024-07-01", V1, "", "", "");
	/* 7 months: 3 and 6 due, only 3 done (the 8-month window is open): not met. */
	patient(&f, "c-open", "female", "2024-02-20", V1, "", "", "");
	checks(&f, "c-open", (const char *const[]){"2024-05-18", ""});
	/* Exactly 3 on 2024-09-30: not under 3 then; 2 years old on 2023-09-30, with no check. */
	patient(&f, "c-three", "male", "2021-09-30", V1, "", "", "");
	assert_int_equal(jl_facts_finish(&f), JL_OK);

	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2024, &c), JL_OK);
	jl_result_t r = result(c, "child-under3-system-management", "532900");
	assert_int_equal(r.den, 6);
	assert_int_equal(r.num, 3); /* c-full, c-young-y2, c-infant */
	r = result(c, "child-under3-system-management", "532901"); /* V2's county: c-outside, c-young-y2 */
	assert_int_equal(r.den, 2);
	assert_int_equal(r.num, 1);
	/* Who was counted: the same people, by name. */
	who_t who = {0};
	jl_engine_members(c, ind("child-under3-system-management"), (uint32_t)jl_regions_find(&REG, jl_cstr("532900")),
			  on_who, &who);
	assert_int_equal(who.nden, 6);
	assert_int_equal(who.nnum, 3);
	const char *met[] = {"c-full", "c-young-y2", "c-infant"};
	for (int k = 0; k < 3; k++) {
		int64_t h = jl_store_target2(JL_STR("Patient"), jl_cstr(met[k]));
		bool found = false;
		for (int j = 0; j < who.nnum; j++)
			found |= who.num[j] == h;
		assert_true(found);
	}
	jl_engine_free(c);

	/* Age at the 2023 reference date: c-miss-y2 had all that was due then; c-three missed everything. */
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	r = result(c, "child-under3-system-management", "532900");
	assert_int_equal(r.den, 5); /* c-full, c-miss-y2, c-outside, c-young-y2, c-three */
	assert_int_equal(r.num, 4); /* the two 3-month-olds have nothing due yet */
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

/* A schedule rule is checked like every other: the message names the element. */
static void test_schedule_catalog_errors(void **state)
{
	static const char *const bad[][2] = {
	    {"\"ageMonths\": [3, 6, 8, 12], \"perYear\": [4, 2]", "indicators[0].numerator.perYear"},
	    {"\"ageMonths\": [6, 3], \"perYear\": [2]", "indicators[0].numerator.ageMonths"},
	    {"\"perYear\": [1]", "indicators[0].numerator.ageMonths"},
	    {"\"ageMonths\": [3], \"perYear\": [1], \"noneDue\": \"maybe\"", "indicators[0].numerator.noneDue"},
	    {"\"ageMonths\": [3], \"perYear\": [1], \"toleranceMonths\": 9", "indicators[0].numerator.toleranceMonths"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char json[1024];
		snprintf(json, sizeof json,
			 "{\"ageBands\": [0], \"indicators\": [{\"id\": \"x\", \"name\": \"x\", \"denominator\": "
			 "{\"population\": \"residents\", \"ageMax\": 3}, \"numerator\": {\"rule\": \"schedule\", "
			 "\"kinds\": [\"enc:child-health-check\"], %s}}]}",
			 bad[i][0]);
		jl_catalog_t c;
		jl_diag_t d;
		jl_diag_init(&d, A);
		assert_int_equal(jl_catalog_load(A, jl_cstr(json), &c, &d), JL_EINVALID);
		assert_true(d.n >= 1);
		assert_string_equal(d.items[0].expr, bad[i][1]);
	}
}

/* A summary MeasureReport of an aggregate indicator (as posted by a region). */
static void aggregate(jl_facts_t *f, const char *id, const char *measure, const char *region, int year, const char *value)
{
	add(f,
	    "{\"resourceType\":\"MeasureReport\",\"id\":\"%s\",\"status\":\"complete\",\"type\":\"summary\","
	    "\"measure\":\"https://jianlian.example/fhir/Measure/%s\",\"subject\":{\"identifier\":{\"value\":\"%s\"}},"
	    "\"period\":{\"start\":\"%d-01-01\",\"end\":\"%d-12-31\"},\"group\":[{\"measureScore\":{\"value\":%s}}]}",
	    id, measure, region, year, year, value);
}

/*
 * Targets against the previous year (§7): annual_change (the plan's
 * child-myopia row, −0.5 percentage points a year from 52.7 in 2020; and a
 * regional +10 row on a count indicator) with the on-track path, and
 * increasing.
 */
static void test_annual_change_targets(void **state)
{
	jl_catalog_t cat;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_catalog_load(A, JL_STR_NULL, &cat, &d), JL_OK);
	const char *rows = "{\"targets\": ["
			   "{\"indicator\": \"elderly-health-management\", \"region\": \"532930\", \"year\": 2025, "
			   "\"kind\": \"annual_change\", \"value\": 10, \"baseline\": 30, \"baselineYear\": 2022},"
			   "{\"indicator\": \"elderly-health-management\", \"region\": \"532900\", \"year\": 2025, "
			   "\"kind\": \"increasing\"}]}";
	assert_int_equal(jl_catalog_add_targets(A, &cat, jl_cstr(rows), &d), JL_OK);
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &cat, &REG), JL_OK);
	aggregate(&f, "m1", "child-myopia", "532900", 2023, "52.0");
	aggregate(&f, "m2", "child-myopia", "532900", 2024, "51.6"); /* −0.4: missed; path 50.7: off track */
	aggregate(&f, "m3", "child-myopia", "532901", 2023, "50.2");
	aggregate(&f, "m4", "child-myopia", "532901", 2024, "49.7"); /* exactly −0.5: met; on track */
	aggregate(&f, "m5", "child-myopia", "532922", 2024, "50.1"); /* no 2023 report: met unknown */
	/* Two residents of 65+ in V1 (洱源县 532930): one checked in 2023, both in 2024. */
	patient(&f, "e1", "male", "1950-03-01", V1, "", "", "");
	patient(&f, "e2", "female", "1951-03-01", V1, "", "", "");
	encounter(&f, "e1", "elderly-check", "AMB", "2023-04-01", 0, 0);
	encounter(&f, "e1", "elderly-check", "AMB", "2024-04-01", 0, 0);
	encounter(&f, "e2", "elderly-check", "AMB", "2024-05-01", 0, 0);
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2024, &c), JL_OK);
	assert_non_null(c->prev);
	int32_t pref = jl_regions_find(&REG, jl_cstr("532900")), dali = jl_regions_find(&REG, jl_cstr("532901"));
	int32_t eryuan = jl_regions_find(&REG, jl_cstr("532930")), yangbi = jl_regions_find(&REG, jl_cstr("532922"));
	uint32_t my = ind("child-myopia"), el = ind("elderly-health-management");
	jl_result_t r;
	jl_engine_result(c, my, (uint32_t)pref, 0, -1, &r);
	assert_int_equal(r.target->kind, JL_T_ANNUAL);
	assert_true(r.has_prev && fabs(r.prev_value - 52.0) < 1e-4);
	assert_true(fabs(r.change - -0.4) < 1e-9);
	assert_true(r.has_gap && fabs(r.gap - 0.1) < 1e-9);
	assert_int_equal(r.met, 0);
	assert_true(r.has_path && fabs(r.path - 50.7) < 1e-9); /* 52.7 − 0.5 × 4 */
	assert_int_equal(r.on_track, 0);
	jl_engine_result(c, my, (uint32_t)dali, 0, -1, &r);
	assert_true(fabs(r.change - -0.5) < 1e-9);
	assert_int_equal(r.met, 1); /* "0.5个百分点以上": −0.5 itself is enough */
	assert_true(fabs(r.gap) < 1e-9);
	assert_int_equal(r.on_track, 1);
	jl_engine_result(c, my, (uint32_t)yangbi, 0, -1, &r);
	assert_false(r.has_prev);
	assert_false(r.has_gap);
	assert_int_equal(r.met, -1);
	assert_int_equal(r.on_track, 1); /* 50.1 is below the 50.7 path even without last year */

	jl_engine_result(c, el, (uint32_t)eryuan, 0, -1, &r); /* 50 % → 100 %: +50 pp ≥ +10; path 30 + 10 × 2 */
	assert_int_equal(r.target->kind, JL_T_ANNUAL);
	assert_true(r.has_prev && fabs(r.prev_value - 50.0) < 1e-9 && fabs(r.change - 50.0) < 1e-9);
	assert_true(fabs(r.gap - 40.0) < 1e-9);
	assert_int_equal(r.met, 1);
	assert_true(fabs(r.path - 50.0) < 1e-9);
	assert_int_equal(r.on_track, 1);
	jl_engine_result(c, el, (uint32_t)pref, 0, -1, &r); /* increasing: 100 > 50 */
	assert_int_equal(r.target->kind, JL_T_INCREASING);
	assert_int_equal(r.met, 1);
	assert_false(r.has_gap);
	jl_engine_result(c, el, (uint32_t)dali, 0, -1, &r); /* nobody there: no value, nothing judged */
	assert_false(r.has_value);
	assert_int_equal(r.met, -1);
	/* stable (保持稳定) with a tolerance: within it of the baseline. */
	const char *stable = "{\"targets\": [{\"indicator\": \"child-myopia\", \"region\": \"532901\", \"year\": 2025, "
			     "\"kind\": \"stable\", \"baseline\": 50.0, \"baselineYear\": 2020, \"tolerance\": 0.3}, "
			     "{\"indicator\": \"child-myopia\", \"region\": \"532922\", \"year\": 2025, "
			     "\"kind\": \"stable\", \"baseline\": 50.5, \"baselineYear\": 2020, \"tolerance\": 0.3}]}";
	assert_int_equal(jl_catalog_add_targets(A, &cat, jl_cstr(stable), &d), JL_OK);
	jl_engine_result(c, my, (uint32_t)dali, 0, -1, &r); /* 49.7: 0.3 below 50.0, just within */
	assert_int_equal(r.target->kind, JL_T_STABLE);
	assert_true(r.has_gap && fabs(r.gap - -0.3) < 1e-9);
	assert_int_equal(r.met, 1);
	double line;
	assert_true(jl_engine_target_line(&r, &line) && line == 50.0);
	jl_engine_result(c, my, (uint32_t)yangbi, 0, -1, &r); /* 50.1: 0.4 below 50.5, outside */
	assert_int_equal(r.met, 0);
	assert_true(fabs(r.gap - -0.4) < 1e-9);
	/* A tolerance belongs to a stable row; the message names the row's element. */
	jl_diag_init(&d, A);
	assert_int_equal(jl_catalog_add_targets(A, &cat, jl_cstr("{\"targets\": [{\"indicator\": \"child-myopia\", "
							 "\"region\": \"532901\", \"year\": 2025, \"kind\": \"le\", "
							 "\"value\": 50, \"tolerance\": 1}]}"), &d),
			 JL_EINVALID);
	assert_string_equal(d.items[0].expr, "targets[0].tolerance");
	/* An indicator without such targets is not computed for the previous year. */
	assert_true(c->prev->slot[ind("htn-bp-control")] < 0);
	jl_engine_free(c);

	/* 2023 against 2022: e1 alone checked in 2023, nobody in 2022 → 0 % → 50 %: increasing, met. */
	assert_int_equal(jl_engine_compute(&f, 2023, &c), JL_OK);
	jl_engine_result(c, el, (uint32_t)pref, 0, -1, &r);
	assert_true(r.has_prev && r.prev_value == 0.0);
	assert_int_equal(r.met, 1);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

/* A subject list is refused, before any store access, for a non-count indicator or too many people. */
static void test_subject_list_limits(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	for (int k = 0; k <= JL_MEASURE_MAX_SUBJECTS; k++) {
		char id[16];
		snprintf(id, sizeof id, "r%d", k);
		patient(&f, id, k % 2 ? "male" : "female", "1980-01-01", k % 2 ? V1 : V2, "", "", "");
	}
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2024, &c), JL_OK);
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	uint32_t pref = (uint32_t)jl_regions_find(&REG, jl_cstr("532900"));
	assert_int_equal(jl_measure_subject_list(c, ind("ehr-coverage"), pref, NULL, 0, a, &w, &d), JL_ETOOBIG);
	assert_string_equal(d.items[0].expr, "subject");
	jl_diag_init(&d, a);
	assert_int_equal(jl_measure_subject_list(c, ind("life-expectancy"), pref, NULL, 0, a, &w, &d), JL_EINVALID);
	assert_string_equal(d.items[0].expr, "reportType");
	assert_int_equal(b.n, 0); /* nothing written */
	jl_buf_dispose(&b);
	jl_arena_free(a);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

/* ---- cubes sized by the populated villages ---- */

#define V3 "532901102001" /* 大理市, another township than V2's */
#define V4 "532932101001" /* 鹤庆县: lived in only before 2024 */

/* Everything the outputs say of one node: its JSON, each indicator's MeasureReport, and (prefecture) the report. */
static void outputs(const jl_cube_t *c, uint32_t node, jl_buf_t *out)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_engine_json(c, node, NULL, &w);
	for (uint32_t i = 0; i < CAT.ninds && REG.nodes[node].level <= JL_REG_COUNTY; i++) {
		jl_jw_init(&w, &b, 0);
		jl_measure_report(c, i, node, 1700000000000000, &w);
	}
	if (REG.nodes[node].level == JL_REG_PREFECTURE)
		assert_int_equal(jl_report_html(&c, 1, node, &b), JL_OK);
	assert_int_equal(jl_buf_status(&b), JL_OK);
	*out = b;
}

static void sum_children(const jl_cube_t *c, uint32_t i, uint32_t node, int64_t *num, int64_t *den)
{
	*num = *den = 0;
	for (uint32_t k = REG.nodes[node].child0; k < REG.nodes[node].child0 + REG.nodes[node].nchild; k++) {
		jl_result_t r;
		jl_engine_result(c, i, k, 0, -1, &r);
		*num += r.num;
		*den += r.den;
	}
}

static void test_populated_villages(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	/* 大理市: three residents in V2 (two of them 65+, one checked), two in V3 (one 65+ and checked). */
	patient(&f, "a", "male", "1950-03-01", V2, "", "", "");
	encounter(&f, "a", "elderly-check", "AMB", "2024-05-01", 0, 0);
	patient(&f, "b", "female", "1940-03-01", V2, "", "", "");
	patient(&f, "c", "female", "1990-03-01", V2, "", "", "");
	patient(&f, "d", "male", "1955-03-01", V3, "", "", "");
	encounter(&f, "d", "elderly-check", "AMB", "2024-06-01", 0, 0);
	/* e lived in 鹤庆县 (V4) until mid-2020, in V3 since: V4 is populated but has nobody in 2024. */
	add(&f, "{\"resourceType\":\"Patient\",\"id\":\"e\",\"extension\":[{\"url\":\"https://jianlian.example/fhir/"
		"StructureDefinition/cn-residence-status\",\"valueCoding\":{\"code\":\"registered-resident\"}}],"
		"\"gender\":\"male\",\"birthDate\":\"2000-01-01\",\"address\":[{\"extension\":[{\"url\":\"https://"
		"jianlian.example/fhir/StructureDefinition/cn-division-code\",\"valueCoding\":{\"code\":\"" V4 "\"}},{"
		"\"url\":\"https://jianlian.example/fhir/StructureDefinition/cn-address-category\",\"valueCoding\":{"
		"\"code\":\"current\"}}],\"period\":{\"end\":\"2020-06-30\"}},{\"extension\":[{\"url\":\"https://"
		"jianlian.example/fhir/StructureDefinition/cn-division-code\",\"valueCoding\":{\"code\":\"" V3 "\"}},{"
		"\"url\":\"https://jianlian.example/fhir/StructureDefinition/cn-address-category\",\"valueCoding\":{"
		"\"code\":\"current\"}}],\"period\":{\"start\":\"2020-07-01\"}}]}");
	/* 洱源县 (V1): one 65+ resident without a check, one who died in August (in the life table only). */
	patient(&f, "g", "female", "1958-03-01", V1, "", "", "");
	patient(&f, "h", "male", "1985-03-01", V1, "", "", "2024-08-01");
	/* Outside the hierarchy (Kunming): dropped, populates nothing. */
	patient(&f, "k", "male", "1980-03-01", "530102001001", "", "", "");
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	assert_int_equal(f.npersons, 7); /* k lives outside */
	assert_int_equal(f.npopulated, 4); /* V1, V2, V3, V4 of the prefecture's 1,159 */
	assert_true(REG.nvillages > 1000);
	jl_cube_t *c;
	assert_int_equal(jl_engine_compute(&f, 2024, &c), JL_OK);
	assert_int_equal(c->nv, 4);

	/* The expected numbers. */
	jl_result_t r = result(c, "family-doctor-coverage", "532900"); /* residents on 2024-12-31 */
	assert_int_equal(r.den, 6);
	assert_int_equal(r.num, 0);
	assert_true(r.has_value && r.value == 0.0);
	assert_int_equal(result(c, "family-doctor-coverage", "532901").den, 5);
	assert_int_equal(result(c, "family-doctor-coverage", "532901003").den, 3);
	assert_int_equal(result(c, "family-doctor-coverage", "532901102").den, 2);
	assert_int_equal(result(c, "family-doctor-coverage", V3).den, 2);
	assert_int_equal(result(c, "family-doctor-coverage", "532930").den, 1);
	r = result(c, "elderly-health-management", "532900");
	assert_int_equal(r.den, 4);
	assert_int_equal(r.num, 2);
	assert_true(fabs(r.value - 50.0) < 1e-9);
	r = result(c, "elderly-health-management", "532901");
	assert_int_equal(r.den, 3);
	assert_int_equal(r.num, 2);
	r = result(c, "elderly-health-management", "532930");
	assert_int_equal(r.den, 1);
	assert_true(r.has_value && r.value == 0.0);
	r = result(c, "life-expectancy", "532900"); /* mid-year population, deaths */
	assert_int_equal(r.den, 7);
	assert_int_equal(r.num, 1);
	r = result(c, "life-expectancy", "532930");
	assert_int_equal(r.den, 2);
	assert_int_equal(r.num, 1);
	/* Empty: a county nobody lives in (an empty range), and one lived in only before the year. */
	const char *empty[] = {"532922", "532932", "532922101", "532922101001", "532901004"};
	for (int k = 0; k < 5; k++)
		for (uint32_t i = 0; i < CAT.ninds; i++) {
			if (CAT.inds[i].method == JL_METHOD_AGGREGATE)
				continue;
			int32_t node = jl_regions_find(&REG, jl_cstr(empty[k]));
			assert_true(node >= 0);
			jl_engine_result(c, i, (uint32_t)node, 0, -1, &r);
			assert_int_equal(r.den, 0);
			assert_int_equal(r.num, 0);
			assert_false(r.has_value);
		}

	/* Roll-up: at every node, the children's numerators and denominators sum to the node's. */
	for (uint32_t i = 0; i < CAT.ninds; i++) {
		if (CAT.inds[i].method == JL_METHOD_AGGREGATE)
			continue;
		for (uint32_t k = 1; k < REG.n; k++) {
			if (REG.nodes[k].level == JL_REG_VILLAGE || !REG.nodes[k].nchild)
				continue;
			jl_engine_result(c, i, k, 0, -1, &r);
			int64_t sn, sd;
			sum_children(c, i, k, &sn, &sd);
			assert_int_equal(sn, r.num);
			assert_int_equal(sd, r.den);
		}
	}

	/*
	 * The same outputs, byte for byte, as a cube with a cell for every
	 * village of the hierarchy (the layout before cubes were sized by the
	 * populated villages: the identity rank).
	 */
	uint32_t *all = jl_malloc(JL_MEM_MISC, ((size_t)REG.nvillages + 1) * sizeof *all);
	assert_non_null(all);
	for (uint32_t v = 0; v <= REG.nvillages; v++)
		all[v] = v;
	jl_facts_t whole = f; /* shares f's rows; only its rank differs */
	whole.vrank = all;
	whole.npopulated = REG.nvillages;
	jl_cube_t *w;
	assert_int_equal(jl_engine_compute(&whole, 2024, &w), JL_OK);
	assert_int_equal(w->nv, REG.nvillages);
	assert_true(jl_engine_bytes(w) > 100 * jl_engine_bytes(c));
	w->computed_us = c->computed_us;
	if (w->prev)
		w->prev->computed_us = c->prev->computed_us;
	for (uint32_t k = 0; k < REG.n; k++) {
		jl_buf_t ba, bb;
		outputs(c, k, &ba);
		outputs(w, k, &bb);
		assert_true(ba.n == bb.n && !memcmp(ba.p, bb.p, ba.n));
		jl_buf_dispose(&ba);
		jl_buf_dispose(&bb);
	}
	jl_engine_free(w);
	jl_free(JL_MEM_MISC, all);

	/* Nobody at all: no cells, every indicator without a value. */
	jl_facts_t none;
	assert_int_equal(jl_facts_init(&none, &CAT, &REG), JL_OK);
	assert_int_equal(jl_facts_finish(&none), JL_OK);
	assert_int_equal(none.npopulated, 0);
	jl_cube_t *z;
	assert_int_equal(jl_engine_compute(&none, 2024, &z), JL_OK);
	assert_int_equal(z->nv, 0);
	for (uint32_t i = 0; i < CAT.ninds; i++) {
		jl_engine_result(z, i, 1, 0, -1, &r);
		assert_int_equal(r.den, 0);
		assert_false(r.has_value);
	}
	jl_engine_free(z);
	jl_facts_dispose(&none);
	jl_engine_free(c);
	jl_facts_dispose(&f);
}

static void test_generated_region(void **state)
{
	jl_facts_t f;
	assert_int_equal(jl_facts_init(&f, &CAT, &REG), JL_OK);
	jl_gen_cfg_t cfg = {.region = 532900, .residents = 2000, .year_from = 2020, .year_to = 2025, .seed = 7};
	jl_gen_sink_t sink = {.put = gen_put, .truth = gen_truth, .arg = &f};
	jl_gen_stats_t st;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_OK);
	assert_int_equal(jl_facts_finish(&f), JL_OK);
	assert_int_equal(f.skipped, 0);
	int64_t num[8] = {0}, den[8] = {0};
	const char *ids[] = {"htn-standard-management", "htn-bp-control", "elderly-health-management", "hepb-birth-dose"};
	for (int32_t y = 2021; y <= 2024; y++) {
		jl_cube_t *c;
		assert_int_equal(jl_engine_compute(&f, y, &c), JL_OK);
		for (int k = 0; k < 4; k++) {
			jl_result_t r = result(c, ids[k], "532900");
			num[k] += r.num;
			den[k] += r.den;
		}
		/* Roll-up: counties sum to the prefecture, townships to their county, for every count indicator. */
		int32_t pref = jl_regions_find(&REG, jl_cstr("532900"));
		for (uint32_t i = 0; i < CAT.ninds; i++) {
			if (CAT.inds[i].method != JL_METHOD_COUNT)
				continue;
			jl_result_t top;
			jl_engine_result(c, i, (uint32_t)pref, 0, -1, &top);
			int64_t sn = 0, sd = 0;
			for (uint32_t k = REG.nodes[pref].child0; k < REG.nodes[pref].child0 + REG.nodes[pref].nchild; k++) {
				jl_result_t r;
				jl_engine_result(c, i, k, 0, -1, &r);
				sn += r.num;
				sd += r.den;
				int64_t tn = 0, td = 0;
				for (uint32_t t = REG.nodes[k].child0; t < REG.nodes[k].child0 + REG.nodes[k].nchild; t++) {
					jl_result_t rt;
					jl_engine_result(c, i, t, 0, -1, &rt);
					tn += rt.num;
					td += rt.den;
				}
				assert_int_equal(tn, r.num);
				assert_int_equal(td, r.den);
			}
			assert_int_equal(sn, top.num);
			assert_int_equal(sd, top.den);
			/* Strata too: male + female (+ unknown) and the age bands add up. */
			jl_result_t m, fe;
			jl_engine_result(c, i, (uint32_t)pref, 1, -1, &m);
			jl_engine_result(c, i, (uint32_t)pref, 2, -1, &fe);
			assert_true(m.den + fe.den <= top.den);
			int64_t bd = 0;
			for (uint32_t b = 0; b < CAT.nbands; b++) {
				jl_result_t rb;
				jl_engine_result(c, i, (uint32_t)pref, 0, (int)b, &rb);
				bd += rb.den;
			}
			assert_int_equal(bd, top.den);
		}
		jl_engine_free(c);
	}
	/* docs/gen.md, "Rates achieved": configured 0.718, 0.665, 0.668 (county-weighted), HepB ≥ 0.9. */
	double htn = (double)num[0] / (double)den[0], bp = (double)num[1] / (double)den[1];
	double eld = (double)num[2] / (double)den[2], hepb = (double)num[3] / (double)den[3];
	printf("# generated region 2021-2024: htn-standard %.3f (%lld), bp-control %.3f, elderly %.3f (%lld), hepb %.3f (%lld)\n",
	       htn, (long long)den[0], bp, eld, (long long)den[2], hepb, (long long)den[3]);
	assert_true(fabs(htn - 0.718) < 0.07);
	assert_true(fabs(bp - 0.665) < 0.08);
	assert_true(fabs(eld - 0.668) < 0.06);
	assert_true(hepb >= 0.9);
	jl_facts_dispose(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_htn_control_lost_followup),
		cmocka_unit_test(test_standard_management_rule),
		cmocka_unit_test(test_age_at_reference_date),
		cmocka_unit_test(test_deaths_and_moves),
		cmocka_unit_test(test_births_and_infant_deaths),
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_lifetable_preston),
		cmocka_unit_test(test_ncd_probability),
		cmocka_unit_test(test_schedule_422),
		cmocka_unit_test(test_schedule_catalog_errors),
		cmocka_unit_test(test_annual_change_targets),
		cmocka_unit_test(test_subject_list_limits),
		cmocka_unit_test(test_populated_villages),
		cmocka_unit_test(test_generated_region),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
