/*
 * Unit tests for ingest: batches commit, bad resources are skipped with a
 * reason, ids are kept (or assigned), re-ingesting adds versions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>

#include "ingest/ingest.h"
#include "search/defs.h"

static void test_batches_and_rejections(void **state)
{
	(void)state;
	char dir[] = "/tmp/jl-ingest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_cfg_t sc = {.dir = dir};
	jl_store_t *s;
	assert_int_equal(jl_store_open("sqlite", &sc, &s, &d), JL_OK);
	jl_ingest_cfg_t cfg = {.store = s, .batch = 7};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	char buf[256];
	for (int i = 0; i < 50; i++) {
		int n = snprintf(buf, sizeof buf, "{\"resourceType\":\"Patient\",\"id\":\"p%d\",\"gender\":\"%s\"}", i,
				 i % 10 == 3 ? "bogus" : "female");
		jl_diag_init(&d, a);
		jl_rc rc = jl_ingest_add(g, jl_str(buf, (size_t)n), &d);
		if (i % 10 == 3) {
			assert_int_equal(rc, JL_EINVALID);
			assert_string_equal(d.items[0].expr, "Patient.gender");
		} else {
			assert_int_equal(rc, JL_OK);
		}
	}
	jl_diag_init(&d, a);
	assert_int_equal(jl_ingest_add(g, JL_STR("{\"resourceType\":\"Patient\""), &d), JL_EINVAL);
	assert_int_equal(jl_ingest_add(g, JL_STR("{\"resourceType\":\"Nope\",\"id\":\"x\"}"), &d), JL_EINVAL);
	assert_int_equal(jl_ingest_add(g, JL_STR("{\"resourceType\":\"Patient\"}"), &d), JL_EINVALID);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	const jl_ingest_stats_t *st = jl_ingest_stats(g);
	assert_int_equal(st->added, 45);
	assert_int_equal(st->written, 45);
	assert_int_equal(st->rejected, 8);
	jl_version_t v;
	assert_int_equal(jl_store_read(s, a, JL_STR("Patient"), JL_STR("p49"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 1);
	assert_int_equal(jl_store_read(s, a, JL_STR("Patient"), JL_STR("p3"), 0, &v), JL_ENOTFOUND);
	/* Again: update semantics add a version. */
	assert_int_equal(jl_ingest_add(g, JL_STR("{\"resourceType\":\"Patient\",\"id\":\"p49\"}"), &d), JL_OK);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_store_read(s, a, JL_STR("Patient"), JL_STR("p49"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 2);
	jl_ingest_free(g);
	/* assign_ids gives a resource without one a fresh id. */
	cfg.assign_ids = true;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	assert_int_equal(jl_ingest_add(g, JL_STR("{\"resourceType\":\"Patient\"}"), &d), JL_OK);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->written, 1);
	jl_ingest_free(g);
	jl_store_close(s);
	jl_arena_free(a);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- pipelining, settings, stale batches ---- */

typedef struct fx {
	char dir[64];
	jl_arena_t *a;
	jl_store_t *s;
	jl_search_defs_t *defs;
} fx_t;

static void fx_open(fx_t *f)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/jl-ingest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	jl_store_cfg_t sc = {.dir = f->dir};
	assert_int_equal(jl_store_open("sqlite", &sc, &f->s, &d), JL_OK);
	assert_int_equal(jl_search_defs_new(&f->defs, f->s, &d), JL_OK);
}

static void fx_close(fx_t *f)
{
	jl_search_defs_free(f->defs);
	jl_store_close(f->s);
	jl_arena_free(f->a);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

static int64_t db_int(const fx_t *f, const char *sql)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static jl_rc add_patient(jl_ingest_t *g, jl_arena_t *a, const char *id, const char *gender)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf,
			 "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"gender\":\"%s\",\"name\":[{\"family\":\"Li\"}]}", id,
			 gender);
	jl_diag_t d;
	jl_diag_init(&d, a);
	return jl_ingest_add(g, jl_str(buf, (size_t)n), &d);
}

typedef struct marks {
	int calls;
	uint32_t sizes[8];
	int64_t queued;
} marks_t;

static jl_rc count_batch(void *arg, jl_ingest_t *g, uint32_t resources)
{
	marks_t *m = arg;
	if (m->calls < 8)
		m->sizes[m->calls] = resources;
	m->calls++;
	char v[32];
	int n = snprintf(v, sizeof v, "%lld", (long long)m->queued);
	return jl_ingest_mark(g, JL_STR("test:queued"), jl_str(v, (size_t)n));
}

/* on_batch sees exactly the resources queued before the add that triggers it, and its settings commit with them. */
static void test_marks_commit_with_batch(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	marks_t m = {0};
	jl_ingest_cfg_t cfg = {.store = f.s, .defs = f.defs, .batch = 3, .assume_new = true, .on_batch = count_batch, .arg = &m};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	char id[16];
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof id, "m%d", i);
		assert_int_equal(add_patient(g, f.a, id, "female"), JL_OK);
		m.queued++;
	}
	/* Two full batches went at the 4th and 7th add; the last one goes with the flush. */
	assert_int_equal(m.calls, 2);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(m.calls, 3);
	assert_int_equal(m.sizes[0], 3);
	assert_int_equal(m.sizes[1], 3);
	assert_int_equal(m.sizes[2], 1);
	jl_str_t v;
	assert_int_equal(f.s->ops->meta_get(f.s, f.a, "test:queued", &v), JL_OK);
	assert_true(jl_str_eqc(v, "7"));
	const jl_ingest_stats_t *st = jl_ingest_stats(g);
	assert_int_equal(st->written, 7);
	assert_int_equal(st->batches, 3);
	/* A flush with nothing queued still lets on_batch record (e.g. trailing rejected lines). */
	m.queued = 8;
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(f.s->ops->meta_get(f.s, f.a, "test:queued", &v), JL_OK);
	assert_true(jl_str_eqc(v, "8"));
	/* Marks are only taken from inside on_batch. */
	assert_int_equal(jl_ingest_mark(g, JL_STR("test:x"), JL_STR("1")), JL_EINVAL);
	jl_ingest_free(g);
	fx_close(&f);
}

/*
 * assume_new skips reading stored versions; a resource that existed makes
 * the store refuse the batch (ESTALE) and the batch is prepared again with
 * reads: versions continue and the old version's index rows are gone.
 */
static void test_assume_new_rewrites_stale(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	jl_ingest_cfg_t cfg = {.store = f.s, .defs = f.defs, .batch = 4, .assume_new = true};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	assert_int_equal(add_patient(g, f.a, "old", "female"), JL_OK);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->retried, 0);
	/* The same id again, among new ones, and a twin resource written fresh for comparison. */
	assert_int_equal(add_patient(g, f.a, "n1", "female"), JL_OK);
	assert_int_equal(add_patient(g, f.a, "old", "male"), JL_OK);
	assert_int_equal(add_patient(g, f.a, "twin", "male"), JL_OK);
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->retried, 1);
	assert_int_equal(jl_ingest_stats(g)->written, 4);
	jl_version_t v;
	assert_int_equal(jl_store_read(f.s, f.a, JL_STR("Patient"), JL_STR("old"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 2);
	/* Rows may be staged (sqlite_stage.h): merged, the tables are the whole index. */
	assert_int_equal(jl_store_finish_load(f.s), JL_OK);
	int64_t rows_old = db_int(&f, "SELECT count(*) FROM ix_token WHERE rid = (SELECT rid FROM res WHERE lid = 'old')");
	int64_t rows_twin = db_int(&f, "SELECT count(*) FROM ix_token WHERE rid = (SELECT rid FROM res WHERE lid = 'twin')");
	assert_true(rows_twin > 0);
	assert_int_equal(rows_old, rows_twin);
	assert_int_equal(db_int(&f, "SELECT count(*) FROM ix_string WHERE rid = (SELECT rid FROM res WHERE lid = 'old')"),
			 db_int(&f, "SELECT count(*) FROM ix_string WHERE rid = (SELECT rid FROM res WHERE lid = 'twin')"));
	jl_ingest_free(g);
	fx_close(&f);
}

/* The same resource in consecutive batches (one in flight while the next fills) gets 1, 2, 3 … in input order. */
static void test_repeats_across_batches(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	jl_ingest_cfg_t cfg = {.store = f.s, .defs = f.defs, .batch = 2, .assume_new = true};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	static const char *const genders[] = {"female", "male", "other", "unknown", "female", "male", "other"};
	char id[16];
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof id, "x%d", i % 2);
		assert_int_equal(add_patient(g, f.a, id, genders[i]), JL_OK);
		assert_int_equal(add_patient(g, f.a, "same", genders[i]), JL_OK);
	}
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->written, 14);
	assert_int_equal(jl_ingest_stats(g)->failed, 0);
	jl_version_t v;
	assert_int_equal(jl_store_read(f.s, f.a, JL_STR("Patient"), JL_STR("same"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 7);
	assert_non_null(memmem(v.body.p, v.body.n, "\"other\"", 7));
	assert_int_equal(jl_store_read(f.s, f.a, JL_STR("Patient"), JL_STR("x0"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 4);
	/* One version's rows only: the index of "same" matches a fresh resource of the same content. */
	assert_int_equal(
		db_int(&f, "SELECT count(*) FROM ix_token WHERE rid = (SELECT rid FROM res WHERE lid = 'same')"),
		db_int(&f, "SELECT count(*) FROM ix_token WHERE rid = (SELECT rid FROM res WHERE lid = 'x0')"));
	jl_ingest_free(g);
	fx_close(&f);
}

/* A batch also ends when the memory it holds reaches batch_bytes, whatever its count. */
static void test_batch_bytes(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	marks_t m = {0};
	jl_ingest_cfg_t cfg = {.store = f.s, .defs = f.defs, .batch = 1000, .batch_bytes = 16384, .assume_new = true,
			       .on_batch = count_batch, .arg = &m};
	jl_ingest_t *g;
	assert_int_equal(jl_ingest_new(&cfg, &g), JL_OK);
	char id[16];
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof id, "b%d", i);
		assert_int_equal(add_patient(g, f.a, id, "male"), JL_OK);
		m.queued++;
	}
	assert_int_equal(jl_ingest_flush(g), JL_OK);
	assert_int_equal(jl_ingest_stats(g)->written, 200);
	assert_true(m.calls > 3);
	for (int i = 0; i < 3; i++)
		assert_true(m.sizes[i] > 1 && m.sizes[i] < 200);
	jl_ingest_free(g);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_and_rejections),
		cmocka_unit_test(test_marks_commit_with_batch),
		cmocka_unit_test(test_assume_new_rewrites_stale),
		cmocka_unit_test(test_repeats_across_batches),
		cmocka_unit_test(test_batch_bytes),
	};
	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
