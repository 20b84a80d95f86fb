/*
 * Unit tests for search/export: NDJSON series and their split at the size
 * limit, the line form of a resource, a damaged stored body reported in the
 * error series while the export goes on, _since, cancellation, the _type
 * checks per level, _typeFilter (parsing, OR of a type's queries, a type
 * named only by a filter, notes) and _elements, and the manifest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/time.h"
#include "search/defs.h"
#include "search/export.h"

typedef struct fx {
	char dir[64], out[80];
	jl_store_t *s;
	jl_arena_t *a;
} fx_t;

static void rm_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
			unlink(p);
	if (d)
		closedir(d);
}

static jl_store_t *open_store(const char *dir)
{
	jl_store_cfg_t cfg = {.dir = dir};
	jl_store_t *s = NULL;
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, NULL), JL_OK);
	return s;
}

static int setup(void **state)
{
	fx_t *f = jl_calloc(JL_MEM_MISC, 1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/jl-export-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->out, sizeof f->out, "%s/out", f->dir);
	mkdir(f->out, 0700);
	f->s = open_store(f->dir);
	f->a = jl_arena_new(0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	jl_arena_free(f->a);
	rm_files(f->out);
	rmdir(f->out);
	rm_files(f->dir);
	rmdir(f->dir);
	jl_free(JL_MEM_MISC, f);
	return 0;
}

/* A stored body in the format of fhir/resource.h: no meta run, then the members. */
static int64_t put(fx_t *f, const char *type, const char *id, const char *body)
{
	jl_write_t w = {.kind = JL_WRITE_UPDATE, .create_ok = true, .type = jl_cstr(type), .id = jl_cstr(id),
			.body = jl_cstr(body)};
	assert_int_equal(jl_store_write(f->s, &w, 1, 0), JL_OK);
	return w.updated_us;
}

static char *slurp(fx_t *f, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", f->out, name);
	FILE *fp = fopen(p, "r");
	assert_non_null(fp);
	char *buf = jl_arena_alloc_bytes(f->a, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static jl_rc run(fx_t *f, jl_export_spec_t *spec, jl_export_result_t *res)
{
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	spec->dir = f->out;
	return jl_export_run(f->s, f->a, spec, res, &d);
}

static void test_series_and_split(void **state)
{
	fx_t *f = *state;
	char id[16], body[64];
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "o%d", i);
		snprintf(body, sizeof body, ",\"status\":\"final\",\"n\":%d", i);
		put(f, "Observation", id, body);
	}
	int64_t u = put(f, "Patient", "p1", ",\"gender\":\"female\"");
	jl_export_spec_t spec = {.level = JL_EXPORT_SYSTEM, .max_file_bytes = 400};
	jl_export_result_t res;
	assert_int_equal(run(f, &spec, &res), JL_OK);
	assert_int_equal(res.resources, 11);
	assert_int_equal(res.nerrors, 0);
	assert_int_equal(res.snapshot_us, u);
	/* Observation lines are ~105 bytes: three per 400-byte file, so four files; then Patient. */
	assert_int_equal(res.nfiles, 5);
	int64_t n = 0;
	for (size_t i = 0; i < 4; i++) {
		char want[32];
		snprintf(want, sizeof want, "Observation-%zu.ndjson", i + 1);
		assert_string_equal(res.files[i].name, want);
		assert_string_equal(res.files[i].type, "Observation");
		assert_true(res.files[i].bytes <= 400);
		struct stat st;
		char p[256];
		snprintf(p, sizeof p, "%s/%s", f->out, want);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_size, res.files[i].bytes);
		assert_int_equal(st.st_mode & 0777, 0600);
		n += res.files[i].count;
	}
	assert_int_equal(n, 10);
	assert_string_equal(res.files[4].name, "Patient-1.ndjson");
	char *p1 = slurp(f, "Patient-1.ndjson");
	char want[256];
	char ts[32];
	jl_time_fmt_instant(u, ts);
	snprintf(want, sizeof want,
		 "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"%s\"},"
		 "\"gender\":\"female\"}\n", ts);
	assert_string_equal(p1, want);
	char *o1 = slurp(f, "Observation-1.ndjson");
	assert_non_null(strstr(o1, "\"id\":\"o0\""));
	assert_non_null(strstr(o1, "\"n\":0}\n"));

	/* Again into the same directory: the files exist, and are never overwritten. */
	assert_int_equal(run(f, &spec, &res), JL_EIO);
	rm_files(f->out);

	/* The manifest lists them with the prefix given. */
	jl_buf_t m;
	jl_buf_init(&m, JL_MEM_MISC, 0);
	assert_int_equal(run(f, &spec, &res), JL_OK);
	assert_int_equal(jl_export_manifest(&m, &res, JL_STR("http://x/fhir/$export"), JL_STR("http://x/f/")), JL_OK);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(jl_json_parse(f->a, m.p, m.n, &(jl_json_opts_t){0}, &v, &e), JL_OK);
	assert_true(jl_str_eqc(jl_json_str(jl_json_get(v, "request")), "http://x/fhir/$export"));
	assert_true(jl_json_is(jl_json_get(v, "requiresAccessToken"), JL_JSON_FALSE));
	const jl_json_t *out = jl_json_get(v, "output");
	assert_int_equal(out->n, 5);
	assert_true(jl_str_eqc(jl_json_str(jl_json_get(&out->u.a[4], "url")), "http://x/f/Patient-1.ndjson"));
	assert_true(jl_str_eqc(jl_json_str(jl_json_get(&out->u.a[4], "count")), "1"));
	assert_int_equal(jl_json_get(v, "error")->n, 0);
	jl_buf_dispose(&m);
}

/* Overwrites a stored body with bytes of an unknown encoding. */
static void damage(fx_t *f, const char *id)
{
	jl_store_close(f->s);
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE ver SET enc = 9 WHERE updated = (SELECT updated FROM res WHERE lid = ?1)",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	f->s = open_store(f->dir);
}

static void test_damaged_body_goes_to_errors(void **state)
{
	fx_t *f = *state;
	put(f, "Observation", "a", ",\"status\":\"final\"");
	put(f, "Observation", "bad", ",\"status\":\"final\"");
	put(f, "Observation", "c", ",\"status\":\"final\"");
	damage(f, "bad");
	jl_export_spec_t spec = {.level = JL_EXPORT_SYSTEM, .sync = true};
	jl_export_result_t res;
	assert_int_equal(run(f, &spec, &res), JL_OK);
	assert_int_equal(res.resources, 2);
	assert_int_equal(res.problems, 1);
	assert_int_equal(res.nerrors, 1);
	assert_string_equal(res.errors[0].name, "OperationOutcome-1.ndjson");
	assert_string_equal(res.errors[0].type, "OperationOutcome");
	assert_int_equal(res.errors[0].count, 1);
	char *line = slurp(f, "OperationOutcome-1.ndjson");
	assert_non_null(strstr(line, "\"resourceType\":\"OperationOutcome\""));
	assert_non_null(strstr(line, "Observation/bad version 1 is not in this export"));
	char *obs = slurp(f, "Observation-1.ndjson");
	assert_null(strstr(obs, "\"id\":\"bad\""));
	assert_non_null(strstr(obs, "\"id\":\"c\""));
}

static void on_progress(void *arg, const jl_export_progress_t *p)
{
	(void)p;
	atomic_store((atomic_bool *)arg, true); /* cancel as soon as the export reports anything */
}

static void test_since_types_and_cancel(void **state)
{
	fx_t *f = *state;
	put(f, "Patient", "p1", ",\"gender\":\"male\"");
	int64_t u = put(f, "Patient", "p2", ",\"gender\":\"male\"");
	put(f, "Observation", "o1", ",\"status\":\"final\"");
	jl_str_t types[] = {JL_STR("Patient")};
	jl_export_spec_t spec = {.level = JL_EXPORT_SYSTEM, .types = types, .ntypes = 1, .since_us = u};
	jl_export_result_t res;
	assert_int_equal(run(f, &spec, &res), JL_OK);
	assert_int_equal(res.resources, 1);
	assert_int_equal(res.nfiles, 1);
	assert_non_null(strstr(slurp(f, "Patient-1.ndjson"), "\"id\":\"p2\""));
	rm_files(f->out);

	atomic_bool cancel = false;
	jl_export_spec_t c = {.level = JL_EXPORT_SYSTEM, .cancel = &cancel, .progress = on_progress, .progress_arg = &cancel};
	assert_int_equal(run(f, &c, &res), JL_EBUSY);

	jl_export_spec_t g = {.level = JL_EXPORT_GROUP, .group_id = JL_STR("nobody")};
	assert_int_equal(run(f, &g, &res), JL_ENOTFOUND);
}

static void test_parse_and_check(void **state)
{
	fx_t *f = *state;
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	jl_str_t ok[] = {JL_STR("Patient"), JL_STR("Observation")};
	assert_int_equal(jl_export_check_types(JL_EXPORT_PATIENT, ok, 2, &d), JL_OK);
	jl_str_t org[] = {JL_STR("Organization")};
	assert_int_equal(jl_export_check_types(JL_EXPORT_SYSTEM, org, 1, &d), JL_OK);
	assert_int_equal(jl_export_check_types(JL_EXPORT_GROUP, org, 1, &d), JL_EINVAL);
	jl_str_t bad[] = {JL_STR("Patient"), JL_STR("Patient"), JL_STR("Nope")};
	jl_diag_init(&d, f->a);
	assert_int_equal(jl_export_check_types(JL_EXPORT_SYSTEM, bad, 3, &d), JL_EINVAL);
	assert_int_equal(d.nerrors, 2);
	assert_string_equal(d.items[0].expr, "_type");

	jl_str_t *t;
	uint32_t n;
	assert_int_equal(jl_export_split_types(f->a, JL_STR(" Patient , Observation"), &t, &n), JL_OK);
	assert_int_equal(n, 2);
	assert_true(jl_str_eqc(t[0], "Patient") && jl_str_eqc(t[1], "Observation"));
	assert_int_equal(jl_export_split_types(f->a, JL_STR("Patient,"), &t, &n), JL_EINVAL);
	assert_int_equal(jl_export_split_types(f->a, JL_STR(""), &t, &n), JL_EINVAL);

	int64_t us;
	assert_true(jl_export_parse_since(JL_STR("2024-05-01T08:00:00+08:00"), &us));
	assert_int_equal(us, 1714521600000000LL);
	assert_true(jl_export_parse_since(JL_STR("2024-05-01T00:00:00.5Z"), &us));
	assert_int_equal(us, 1714521600500000LL);
	assert_false(jl_export_parse_since(JL_STR("2024-05-01"), &us));
	assert_false(jl_export_parse_since(JL_STR("2024-05-01T00:00:00"), &us));
	assert_false(jl_export_parse_since(JL_STR("2024-05-01T00:00Z"), &us));
	assert_false(jl_export_parse_since(JL_STR("soon"), &us));
}

/* The filters of value, parsed strictly; JL_OK expected. */
static jl_export_filter_t *filters(fx_t *f, jl_search_defs_t **defs, uint8_t level, const char *value, uint32_t *n)
{
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	if (!*defs)
		assert_int_equal(jl_search_defs_new(defs, f->s, &d), JL_OK);
	jl_search_cfg_t cfg = {.defs = *defs};
	jl_export_filter_t *out = NULL;
	*n = 0;
	assert_int_equal(jl_export_parse_filters(f->a, level, jl_cstr(value), true, &cfg, &out, n, &d), JL_OK);
	return out;
}

static void test_type_filter_parse(void **state)
{
	fx_t *f = *state;
	jl_search_defs_t *defs = NULL;
	uint32_t n;
	/* A comma before "Type?" starts a query; other commas belong to a value. */
	jl_export_filter_t *v = filters(f, &defs, JL_EXPORT_SYSTEM,
					"Observation?status=final,amended&_id=a, Patient?gender=male,Observation?_id=b", &n);
	assert_int_equal(n, 3);
	assert_true(jl_str_eqc(v[0].type, "Observation") && jl_str_eqc(v[1].type, "Patient"));
	assert_int_equal(v[0].nconds, 2);
	assert_int_equal(v[0].conds[0].nterms + v[0].conds[1].nterms, 3); /* status: 2 ORs, _id: 1 */
	/* The query is decoded once more: %7C is the token separator. */
	v = filters(f, &defs, JL_EXPORT_SYSTEM, "Observation?code=http%3A%2F%2Floinc.org%7C8480-6", &n);
	assert_int_equal(n, 1);

	jl_search_cfg_t cfg = {.defs = defs};
	static const char *const bad[] = {"Nope?x=1", "Observation", "Observation?", "Observation?_count=3",
					  "Observation?x=%zz", "Observation?nonsense=1", "=x", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		jl_diag_t d;
		jl_diag_init(&d, f->a);
		jl_export_filter_t *out = NULL;
		n = 0;
		assert_int_equal(jl_export_parse_filters(f->a, JL_EXPORT_SYSTEM, jl_cstr(bad[i]), true, &cfg, &out, &n, &d),
				 JL_EINVAL);
		assert_int_equal(n, 0);
		assert_true(d.nerrors > 0);
		assert_string_equal(d.items[0].expr, "_typeFilter");
	}
	/* Lenient: warnings; an unknown type's query dropped, an unknown parameter skipped. */
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	jl_export_filter_t *out = NULL;
	n = 0;
	assert_int_equal(jl_export_parse_filters(f->a, JL_EXPORT_SYSTEM, JL_STR("Nope?x=1,Observation?nonsense=1&_id=a"),
						 false, &cfg, &out, &n, &d),
			 JL_OK);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].nconds, 1);
	/* Patient level: the compartment rules the types. */
	jl_diag_init(&d, f->a);
	n = 0;
	assert_int_equal(jl_export_parse_filters(f->a, JL_EXPORT_PATIENT, JL_STR("Organization?name=x"), true, &cfg, &out, &n,
						 &d),
			 JL_EINVAL);
	jl_search_defs_free(defs);
}

static void test_type_filter_run(void **state)
{
	fx_t *f = *state;
	jl_search_defs_t *defs = NULL;
	put(f, "Patient", "p1", ",\"gender\":\"male\"");
	put(f, "Patient", "p2", ",\"gender\":\"female\"");
	put(f, "Observation", "o1", ",\"status\":\"final\"");
	put(f, "Observation", "o2", ",\"status\":\"final\"");
	put(f, "Observation", "o3", ",\"status\":\"final\"");
	put(f, "Condition", "c1", ",\"subject\":{\"reference\":\"Patient/p1\"}");
	uint32_t nf;
	/* Two queries of Observation: OR'ed; Condition only in a filter: added after _type, filtered. */
	jl_export_filter_t *flt = filters(f, &defs, JL_EXPORT_SYSTEM, "Observation?_id=o1,Observation?_id=o3,Condition?_id=zz", &nf);
	jl_str_t types[] = {JL_STR("Patient"), JL_STR("Observation")};
	const char *notes[] = {"a warning from the kick-off"};
	jl_export_spec_t spec = {.level = JL_EXPORT_SYSTEM, .types = types, .ntypes = 2, .filters = flt, .nfilters = nf,
				 .notes = notes, .nnotes = 1};
	jl_export_result_t res;
	assert_int_equal(run(f, &spec, &res), JL_OK);
	assert_int_equal(res.resources, 4);
	assert_int_equal(res.nfiles, 2);
	assert_string_equal(res.files[0].type, "Patient");
	assert_string_equal(res.files[1].type, "Observation");
	const char *o = slurp(f, "Observation-1.ndjson");
	assert_non_null(strstr(o, "\"id\":\"o1\""));
	assert_null(strstr(o, "\"id\":\"o2\""));
	assert_non_null(strstr(o, "\"id\":\"o3\""));
	assert_int_equal(res.nerrors, 1);
	assert_int_equal(res.problems, 0);
	assert_non_null(strstr(slurp(f, "OperationOutcome-1.ndjson"), "\"severity\":\"warning\""));
	rm_files(f->out);

	/* No _type: every type, the filtered ones through their filters. */
	flt = filters(f, &defs, JL_EXPORT_SYSTEM, "Observation?_id=o2", &nf);
	jl_export_spec_t all = {.level = JL_EXPORT_SYSTEM, .filters = flt, .nfilters = nf};
	assert_int_equal(run(f, &all, &res), JL_OK);
	assert_int_equal(res.resources, 4); /* Condition, Observation o2, two Patients */
	assert_int_equal(res.nfiles, 3);
	assert_string_equal(res.files[0].type, "Condition"); /* by name */
	rm_files(f->out);

	/* _elements: Patient.gender kept; Condition keeps its mandatory subject; Observation's entry is bare "status". */
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	jl_export_element_t *el = NULL;
	uint32_t ne = 0;
	assert_int_equal(jl_export_parse_elements(f->a, JL_STR("Patient.id,status"), true, &el, &ne, &d), JL_OK);
	assert_int_equal(ne, 2);
	jl_export_spec_t sub = {.level = JL_EXPORT_SYSTEM, .elements = el, .nelements = ne};
	assert_int_equal(run(f, &sub, &res), JL_OK);
	const char *p = slurp(f, "Patient-1.ndjson");
	assert_null(strstr(p, "gender"));
	assert_non_null(strstr(p, "\"code\":\"SUBSETTED\""));
	assert_non_null(strstr(slurp(f, "Observation-1.ndjson"), "\"status\":\"final\""));
	assert_non_null(strstr(slurp(f, "Condition-1.ndjson"), "\"subject\""));
	assert_int_equal(jl_export_parse_elements(f->a, JL_STR("Patient.name.given"), true, &el, &ne, &d), JL_EINVAL);
	assert_int_equal(jl_export_parse_elements(f->a, JL_STR("Patient.nonsense"), false, &el, &ne, &d), JL_OK);
	assert_int_equal(ne, 2); /* lenient: left out */
	jl_search_defs_free(defs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_series_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_body_goes_to_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since_types_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_and_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_filter_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_filter_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
