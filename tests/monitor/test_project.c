/*
 * Unit tests of the persistent facts projection (monitor/project): on a
 * generated region loaded into a real store, the whole catalogue evaluated
 * from the projection equals the one evaluated from a full scan — after the
 * build, after creates, updates and deletes read incrementally, and after
 * a reload from the file; a missing, damaged, truncated or foreign file, a
 * changed catalogue and a replaced store are rebuilt, never answered from;
 * a province evaluates with every prefecture in it; and the server cache
 * refreshes incrementally.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fhir/resource.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "monitor/cache.h"
#include "monitor/project.h"

static jl_arena_t *A;
static jl_catalog_t CAT;
static jl_regions_t REG, PROV;
static jl_store_t *S;
static char DIR_[64] = "/tmp/jl-proj-XXXXXX";
static char PATH[128];

static jl_rc gen_put(void *arg, jl_gen_rt type, jl_str_t json)
{
	jl_diag_t d;
	jl_diag_init(&d, A);
	return jl_ingest_add(arg, json, &d);
}

static jl_rc gen_truth(void *arg, jl_gen_truth file, jl_str_t line)
{
	return JL_OK;
}

/* A store in a temporary directory holding a generated region (fills it when region != 0). */
static jl_store_t *open_store(char *dir, uint64_t seed)
{
	assert_non_null(mkdtemp(dir));
	jl_diag_t d;
	jl_diag_init(&d, A);
	jl_store_cfg_t sc = {.dir = dir, .readers = 2};
	jl_store_t *s = NULL;
	assert_int_equal(jl_store_open("sqlite", &sc, &s, &d), JL_OK);
	jl_ingest_cfg_t ic = {.store = s, .batch = 2000, .assume_new = true};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&ic, &g), JL_OK);
	jl_gen_cfg_t cfg = {.region = 532900, .residents = 400, .year_from = 2022, .year_to = 2024, .seed = seed};
	jl_gen_sink_t sink = {.put = gen_put, .truth = gen_truth, .arg = g};
	jl_gen_stats_t st;
	assert_int_equal(jl_gen_run(&cfg, &sink, &st, &d), JL_OK);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->rejected, 0);
	jl_ingest_free(g);
	return s;
}

static int setup(void **state)
{
	A = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, A);
	if (jl_catalog_load(A, JL_STR_NULL, &CAT, &d) || jl_regions_load(A, 532900, &REG, &d) ||
	    jl_regions_load_province(A, 530000, &PROV, &d))
		return -1;
	S = open_store(DIR_, 11);
	snprintf(PATH, sizeof PATH, "%s/%s", DIR_, JL_PROJ_FILE);
	return 0;
}

static void rm_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
}

static int teardown(void **state)
{
	jl_store_close(S);
	rm_dir(DIR_);
	jl_arena_free(A);
	return 0;
}

/* The JSON of a node with the "computed" instant blanked (the only field that may differ). */
static char *json_of(const jl_cube_t *c, uint32_t node, size_t *n)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_engine_json(c, node, NULL, &w);
	assert_int_equal(jl_buf_status(&b), JL_OK);
	char *p = jl_buf_take(&b, n);
	char *k = strstr(p, "\"computed\":\"");
	assert_non_null(k);
	for (k += 12; *k && *k != '"'; k++)
		*k = 'x';
	return p;
}

/* Every year's cube and the JSON of every county and the prefecture (or province) are the same. */
static void assert_same(const jl_facts_t *x, const jl_facts_t *y)
{
	assert_int_equal(x->npersons, y->npersons);
	assert_int_equal(x->nevs, y->nevs);
	assert_int_equal(x->naggr, y->naggr);
	assert_int_equal(x->snapshot_us, y->snapshot_us);
	assert_memory_equal(x->inst, y->inst, x->reg->n * sizeof *x->inst);
	for (int32_t year = 2022; year <= 2024; year++) {
		jl_cube_t *a, *b;
		assert_int_equal(jl_engine_compute(x, year, &a), JL_OK);
		assert_int_equal(jl_engine_compute(y, year, &b), JL_OK);
		size_t ncells = (size_t)CAT.ninds * a->nv * 3 * a->nb, nlt = (size_t)a->nv * 3 * 3 * JL_LT_GROUPS;
		assert_memory_equal(a->cells, b->cells, ncells * sizeof *a->cells);
		assert_memory_equal(a->lt, b->lt, nlt * sizeof *a->lt);
		for (uint32_t k = 0; k < x->reg->n; k++) {
			if (x->reg->nodes[k].level > JL_REG_COUNTY)
				continue;
			size_t na, nb;
			char *ja = json_of(a, k, &na), *jb = json_of(b, k, &nb);
			assert_int_equal(na, nb);
			assert_memory_equal(ja, jb, na);
			jl_free(JL_MEM_MISC, ja);
			jl_free(JL_MEM_MISC, jb);
		}
		jl_engine_free(a);
		jl_engine_free(b);
	}
}

/* The scan path's facts for a hierarchy. */
static void scan_facts(const jl_regions_t *reg, jl_facts_t *f)
{
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_facts_init(f, &CAT, reg), JL_OK);
	assert_int_equal(jl_facts_scan(f, S, &d), JL_OK);
}

static void assert_proj_equals_scan(const jl_proj_t *p, const jl_regions_t *reg)
{
	jl_facts_t fp, fs;
	assert_int_equal(jl_proj_facts(p, reg, &fp), JL_OK);
	scan_facts(reg, &fs);
	assert_true(fs.npersons > 300);
	assert_true(fs.nevs > 1000);
	assert_same(&fp, &fs);
	jl_facts_dispose(&fp);
	jl_facts_dispose(&fs);
}

static jl_proj_t *refresh(const char *dir, const jl_catalog_t *cat, jl_proj_stats_t *st)
{
	jl_proj_t *p;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_proj_open(dir, cat, &p), JL_OK);
	assert_int_equal(jl_proj_refresh(p, S, st, &d), JL_OK);
	return p;
}

static void test_build_equals_scan(void **state)
{
	unlink(PATH);
	jl_proj_stats_t st;
	jl_proj_t *p = refresh(DIR_, &CAT, &st);
	assert_true(st.rebuilt);
	assert_string_equal(st.why, "no projection file");
	assert_true(st.saved);
	assert_int_equal(access(PATH, R_OK), 0);
	assert_proj_equals_scan(p, &REG);
	jl_proj_free(p);
	/* Reopened: nothing new, nothing read, the same answers. */
	p = refresh(DIR_, &CAT, &st);
	assert_false(st.rebuilt);
	assert_int_equal(st.versions, 0);
	assert_proj_equals_scan(p, &REG);
	jl_proj_free(p);
}

/* ---- writes ---- */

static char *replace(const char *s, const char *from, const char *to)
{
	const char *hit = strstr(s, from);
	assert_non_null(hit);
	size_t n = strlen(s) + strlen(to) + 1;
	char *out = jl_arena_alloc(A, n);
	snprintf(out, n, "%.*s%s%s", (int)(hit - s), s, to, hit + strlen(from));
	return out;
}

/* Current versions of a type whose JSON contains `must` (newest first), as JSON text. */
static uint32_t pick(const char *type, const char *must, char **out, uint32_t max)
{
	jl_hist_query_t q = {.type = jl_cstr(type), .count = 2000};
	jl_hist_page_t pg;
	assert_int_equal(jl_store_history(S, A, &q, &pg), JL_OK);
	uint32_t n = 0;
	for (size_t i = 0; i < pg.n && n < max; i++) {
		jl_version_t cur;
		assert_int_equal(jl_store_read(S, A, pg.items[i].type, pg.items[i].id, 0, &cur), JL_OK);
		if (cur.deleted || cur.ver != pg.items[i].ver)
			continue;
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		assert_int_equal(jl_fhir_body_assemble(&b, cur.type, cur.id, cur.ver, cur.updated_us, cur.body, cur.body_meta),
				 JL_OK);
		jl_buf_putc(&b, 0);
		if (strstr(b.p, must))
			out[n++] = jl_arena_strndup(A, b.p, b.n - 1);
		jl_buf_dispose(&b);
	}
	return n;
}

static void put_all(char **json, uint32_t n)
{
	jl_ingest_cfg_t ic = {.store = S, .batch = 100};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&ic, &g), JL_OK);
	for (uint32_t i = 0; i < n; i++) {
		jl_diag_t d;
		jl_diag_init(&d, A);
		assert_int_equal(jl_ingest_add(g, jl_cstr(json[i]), &d), JL_OK);
	}
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	jl_ingest_free(g);
}

static void del(const char *type, const char *json)
{
	const char *id = strstr(json, "\"id\":\"") + 6;
	jl_write_t w = {.kind = JL_WRITE_DELETE, .type = jl_cstr(type), .id = jl_str(id, (size_t)(strchr(id, '"') - id))};
	assert_int_equal(jl_store_write(S, &w, 1, 0), JL_OK);
}

static char *aggregate(const char *id, const char *value)
{
	char *s = jl_arena_alloc(A, 1024);
	snprintf(s, 1024,
		 "{\"resourceType\":\"MeasureReport\",\"id\":\"%s\",\"status\":\"complete\",\"type\":\"summary\","
		 "\"measure\":\"%shealth-literacy\",\"subject\":{\"identifier\":{\"system\":"
		 "\"https://jianlian.example/fhir/CodeSystem/cn-division-gbt2260\",\"value\":\"532901\"}},"
		 "\"period\":{\"start\":\"2024-01-01\",\"end\":\"2024-12-31\"},\"group\":[{\"measureScore\":{\"value\":%s,"
		 "\"unit\":\"%%\"}}]}",
		 id, CAT.canonical, value);
	return s;
}

static void test_incremental_writes(void **state)
{
	jl_proj_stats_t st;
	jl_proj_t *p = refresh(DIR_, &CAT, &st); /* built by the test before, or now */
	/* Creates: a copy of a resident under a new id, with a copy of a register episode; two aggregate reports. */
	char *pats[8], *eocs[4], *encs[12], *obs[6], *w[16];
	assert_int_equal(pick("Patient", "cn-residence-status", pats, 8), 8);
	assert_int_equal(pick("EpisodeOfCare", "\"status\":\"active\"", eocs, 4), 4);
	assert_int_equal(pick("Encounter", "\"status\":\"finished\"", encs, 12), 12);
	assert_int_equal(pick("Observation", "valueQuantity", obs, 6), 6);
	uint32_t n = 0;
	const char *pid = strstr(pats[0], "\"id\":\"") + 6;
	char old_id[80], old_ref[96];
	snprintf(old_id, sizeof old_id, "\"id\":\"%.*s\"", (int)(strchr(pid, '"') - pid), pid);
	w[n++] = replace(pats[0], old_id, "\"id\":\"proj-new-1\"");
	const char *eid = strstr(eocs[0], "\"id\":\"") + 6, *pref = strstr(eocs[0], "\"Patient/") + 1;
	snprintf(old_id, sizeof old_id, "\"id\":\"%.*s\"", (int)(strchr(eid, '"') - eid), eid);
	snprintf(old_ref, sizeof old_ref, "%.*s", (int)(strchr(pref, '"') - pref), pref);
	w[n++] = replace(replace(eocs[0], old_id, "\"id\":\"proj-new-eoc\""), old_ref, "Patient/proj-new-1");
	w[n++] = aggregate("proj-agg-1", "27.5");
	w[n++] = aggregate("proj-agg-2", "24.1");
	/* Updates: sex of residents, encounters no longer finished, an episode closed. */
	for (int i = 1; i < 4; i++)
		w[n++] = strstr(pats[i], "\"gender\":\"male\"") ? replace(pats[i], "\"gender\":\"male\"", "\"gender\":\"female\"")
								 : replace(pats[i], "\"gender\":\"female\"", "\"gender\":\"male\"");
	for (int i = 0; i < 4; i++)
		w[n++] = replace(encs[i], "\"status\":\"finished\"", "\"status\":\"cancelled\"");
	w[n++] = replace(eocs[1], "\"status\":\"active\"", "\"status\":\"entered-in-error\"");
	put_all(w, n);
	/* Deletes: encounters, measurements, a resident, the newer report. */
	for (int i = 4; i < 12; i++)
		del("Encounter", encs[i]);
	for (int i = 0; i < 6; i++)
		del("Observation", obs[i]);
	del("Patient", pats[7]);
	del("MeasureReport", aggregate("proj-agg-2", "0"));
	int64_t writes = (int64_t)n + 8 + 6 + 1 + 1;

	jl_diag_t d0;
	jl_diag_init(&d0, A);
	assert_int_equal(jl_proj_refresh(p, S, &st, &d0), JL_OK);
	assert_false(st.rebuilt);
	assert_int_equal(st.versions, writes); /* proportional to the writes, not to the store */
	assert_false(st.saved);                /* too few to rewrite the file */
	assert_proj_equals_scan(p, &REG);
	jl_facts_t f;
	assert_int_equal(jl_proj_facts(p, &REG, &f), JL_OK);
	assert_int_equal(f.naggr, 1);
	assert_string_equal(f.aggr[0].id, "proj-agg-1"); /* the later one was deleted */
	jl_facts_dispose(&f);
	jl_proj_free(p);

	/* A new process: the file is at the old watermark, the same versions are read again. */
	p = refresh(DIR_, &CAT, &st);
	assert_false(st.rebuilt);
	assert_int_equal(st.versions, writes);
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_proj_save(p, &d), JL_OK);
	jl_proj_free(p);
	p = refresh(DIR_, &CAT, &st);
	assert_int_equal(st.versions, 0);
	assert_proj_equals_scan(p, &REG);
	jl_proj_free(p);
}

/* ---- crash and rebuild ---- */

static long file_size(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fclose(fp);
	return n;
}

static void damage(const char *path, long at, bool truncate_there)
{
	if (truncate_there) {
		assert_int_equal(truncate(path, at), 0);
		return;
	}
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, at, SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, at, SEEK_SET);
	fputc(c ^ 0x5a, fp);
	fclose(fp);
}

static void expect_rebuild(const char *dir, const jl_catalog_t *cat, const char *why)
{
	jl_proj_t *p;
	assert_int_equal(jl_proj_open(dir, cat, &p), JL_OK);
	assert_string_equal(jl_proj_pending(p), why);
	jl_proj_stats_t st;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_proj_refresh(p, S, &st, &d), JL_OK);
	assert_true(st.rebuilt);
	assert_string_equal(st.why, why);
	if (cat == &CAT)
		assert_proj_equals_scan(p, &REG);
	jl_proj_free(p);
}

static void test_crash_and_rebuild(void **state)
{
	jl_proj_stats_t st;
	jl_proj_free(refresh(DIR_, &CAT, &st));
	long n = file_size(PATH);
	damage(PATH, n / 2, false); /* a flipped byte among the rows */
	expect_rebuild(DIR_, &CAT, "projection file damaged");
	damage(PATH, 20, false); /* in the header */
	expect_rebuild(DIR_, &CAT, "projection file damaged");
	damage(PATH, n - 100, true); /* a torn write */
	expect_rebuild(DIR_, &CAT, "projection file damaged");
	unlink(PATH);
	expect_rebuild(DIR_, &CAT, "no projection file");
	/* A leftover temporary file of a crashed writer is ignored. */
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.99999.tmp", PATH);
	FILE *fp = fopen(tmp, "wb");
	assert_non_null(fp);
	fputs("half", fp);
	fclose(fp);
	jl_proj_free(refresh(DIR_, &CAT, &st));
	assert_false(st.rebuilt);
	unlink(tmp);

	/* Another catalogue (its canonical differs): rebuilt for it, and the file then serves it. */
	jl_str_t text = jl_catalog_builtin();
	char *other = replace(jl_arena_strndup(A, text.p, text.n), "https://jianlian.example/fhir/Measure/",
			      "https://other.example/fhir/Measure/");
	jl_catalog_t cat2;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_catalog_load(A, jl_cstr(other), &cat2, &d), JL_OK);
	assert_true(jl_facts_fingerprint(&cat2) != jl_facts_fingerprint(&CAT));
	expect_rebuild(DIR_, &cat2, "catalogue changed");
	expect_rebuild(DIR_, &CAT, "catalogue changed");

	/* The file copied next to another store (restored, re-created): never answered from. */
	char dir2[64] = "/tmp/jl-proj2-XXXXXX";
	jl_store_t *keep = S;
	jl_store_t *s2 = open_store(dir2, 12);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", PATH, dir2);
	assert_int_equal(system(cmd), 0);
	S = s2;
	jl_proj_t *p;
	assert_int_equal(jl_proj_open(dir2, &CAT, &p), JL_OK);
	assert_null(jl_proj_pending(p));
	assert_int_equal(jl_proj_refresh(p, S, &st, &d), JL_OK);
	assert_true(st.rebuilt);
	assert_string_equal(st.why, "the store was replaced");
	assert_proj_equals_scan(p, &REG);
	jl_proj_free(p);
	S = keep;
	jl_store_close(s2);
	rm_dir(dir2);
}

/* ---- province ---- */

static void test_province(void **state)
{
	/* The hierarchy: 16 prefectures of Yunnan, villages in code order, every node's range inside its parent's. */
	assert_int_equal(PROV.nodes[0].level, JL_REG_PROVINCE);
	assert_string_equal(PROV.nodes[0].code, "530000");
	assert_int_equal(PROV.nodes[0].nchild, 16);
	assert_int_equal(PROV.nodes[0].nvill, PROV.nvillages);
	for (uint32_t v = 1; v < PROV.nvillages; v++)
		assert_true(strcmp(PROV.nodes[PROV.village_node[v - 1]].code, PROV.nodes[PROV.village_node[v]].code) < 0);
	for (uint32_t k = 1; k < PROV.n; k++) {
		const jl_region_node_t *nd = &PROV.nodes[k], *up = &PROV.nodes[nd->parent];
		assert_int_equal(nd->level, up->level + 1);
		assert_true(nd->vill0 >= up->vill0 && nd->vill0 + nd->nvill <= up->vill0 + up->nvill);
		assert_true(k >= up->child0 && k < up->child0 + up->nchild);
	}
	/* Not a province, or no such province: not found, said in the diagnostics, nothing crashes. */
	jl_regions_t none;
	const uint32_t bad[] = {990000, 530100, 0, 9990000};
	for (int i = 0; i < 4; i++) {
		jl_diag_t d;
		jl_diag_init(&d, A);
		assert_int_equal(jl_regions_load_province(A, bad[i], &none, &d), JL_ENOTFOUND);
		assert_int_equal(d.nerrors, 1);
		assert_string_equal(d.items[0].expr, "region");
	}
	int32_t pref = jl_regions_find(&PROV, jl_cstr("532900"));
	assert_true(pref > 0);
	assert_int_equal(PROV.nodes[pref].nvill, REG.nvillages);
	assert_true(jl_regions_find(&PROV, jl_cstr("530102")) > 0); /* a county of Kunming */
	assert_int_equal(jl_regions_locate(&PROV, jl_cstr("532901003016")), (int32_t)PROV.village_node[PROV.nodes[pref].vill0 +
		(uint32_t)jl_regions_village(&REG, 532901003016ull)]);

	/* Evaluated from the projection: the province equals the scan, and equals its one prefecture with data. */
	jl_proj_stats_t st;
	jl_proj_t *p = refresh(DIR_, &CAT, &st);
	assert_proj_equals_scan(p, &PROV);
	jl_facts_t fp, fr;
	assert_int_equal(jl_proj_facts(p, &PROV, &fp), JL_OK);
	assert_int_equal(jl_proj_facts(p, &REG, &fr), JL_OK);
	jl_cube_t *cp, *cr;
	assert_int_equal(jl_engine_compute(&fp, 2024, &cp), JL_OK);
	assert_int_equal(jl_engine_compute(&fr, 2024, &cr), JL_OK);
	/* The province cube has cells for the populated villages only: the same as its one prefecture with data. */
	assert_true(fp.npopulated > 0 && fp.npopulated <= REG.nvillages);
	assert_int_equal(fp.npopulated, fr.npopulated);
	assert_int_equal(cp->nv, cr->nv);
	assert_int_equal(jl_engine_bytes(cp), jl_engine_bytes(cr));
	int32_t other = jl_regions_find(&PROV, jl_cstr("530100"));
	for (uint32_t i = 0; i < CAT.ninds; i++) {
		if (CAT.inds[i].method != JL_METHOD_COUNT)
			continue;
		jl_result_t a, b, c, o;
		jl_engine_result(cp, i, 0, 0, -1, &a);
		jl_engine_result(cp, i, (uint32_t)pref, 0, -1, &b);
		jl_engine_result(cr, i, 1, 0, -1, &c);
		jl_engine_result(cp, i, (uint32_t)other, 0, -1, &o);
		assert_int_equal(a.num, c.num);
		assert_int_equal(a.den, c.den);
		assert_int_equal(b.num, c.num);
		assert_int_equal(b.den, c.den);
		assert_int_equal(o.den, 0); /* a prefecture without data: evaluated, no value */
		assert_false(o.has_value);
	}
	jl_engine_free(cp);
	jl_engine_free(cr);
	jl_facts_dispose(&fp);
	jl_facts_dispose(&fr);
	jl_proj_free(p);
}

/* ---- the server cache ---- */

static void test_cache_refreshes_incrementally(void **state)
{
	jl_mcache_t *c;
	jl_diag_t d;
	jl_diag_init(&d, A);
	assert_int_equal(jl_mcache_new(S, NULL, &c, &d), JL_OK);
	jl_mview_t v;
	assert_int_equal(jl_mcache_get(c, jl_cstr("530000"), 2024, &v, &d), JL_OK);
	assert_int_equal(v.reg->nodes[v.node].level, JL_REG_PROVINCE);
	jl_result_t before;
	jl_engine_result(v.cube, 0, v.node, 0, -1, &before);
	jl_mcache_put(&v);
	assert_int_equal(jl_mcache_get(c, jl_cstr("532901"), 2024, &v, &d), JL_OK);
	jl_mcache_put(&v);
	jl_mcache_counters_t k;
	jl_mcache_counters(c, &k);
	assert_int_equal(k.proj_rebuilds, 0); /* the file of the earlier tests */
	assert_int_equal(k.facts_builds, 2);  /* the province and the prefecture */
	/* One resident deleted: one version read, and the province answers without them. */
	char *pats[1];
	assert_int_equal(pick("Patient", "cn-residence-status", pats, 1), 1);
	del("Patient", pats[0]);
	assert_int_equal(jl_mcache_get(c, jl_cstr("530000"), 2024, &v, &d), JL_OK);
	jl_result_t after;
	jl_engine_result(v.cube, 0, v.node, 0, -1, &after);
	jl_mcache_put(&v);
	jl_mcache_counters(c, &k);
	assert_int_equal(k.proj_rebuilds, 0);
	assert_true(k.proj_versions >= 1 && k.proj_versions <= 40); /* only what was written since */
	assert_true(after.den <= before.den);
	jl_mcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_equals_scan),
		cmocka_unit_test(test_incremental_writes),
		cmocka_unit_test(test_crash_and_rebuild),
		cmocka_unit_test(test_province),
		cmocka_unit_test(test_cache_refreshes_incrementally),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
