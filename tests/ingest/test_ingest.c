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

#include "ingest/ingest.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_and_rejections),
	};
	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
