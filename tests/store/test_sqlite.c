/*
 * Unit tests for store/sqlite through the store.h interface: write
 * semantics (versions, conflicts, preconditions, deletes), atomicity of a
 * call, group commit under concurrency, history paging at the three levels,
 * counts, compression, persistence across reopen, corrupt bodies, deadlines,
 * shutdown and allocation failure. Each test gets its own temporary data
 * directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "base/time.h"
#include "base/rand.h"
#include "store/sqlite.h"
#include "store/sqlite_ix.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_vfs.h"
#include "store/store.h"

typedef struct fx {
	char dir[64];
	jl_store_t *s;
	jl_arena_t *a;
} fx_t;

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static jl_store_t *open_cfg(const jl_store_cfg_t *cfg)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	jl_rc rc = jl_store_open("sqlite", cfg, &s, &d);
	if (rc)
		fail_msg("open %s: %s %s", cfg->dir, jl_rc_name(rc), d.n ? d.items[0].diag : "");
	jl_arena_free(a);
	return s;
}

static jl_store_t *open_store(const char *dir, int group_max)
{
	return open_cfg(&(jl_store_cfg_t){.dir = dir, .group_max = group_max});
}

static int setup(void **state)
{
	fx_t *f = jl_calloc(JL_MEM_MISC, 1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/jl-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->s = open_store(f->dir, 0);
	f->a = jl_arena_new(0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	jl_arena_free(f->a);
	rm_rf(f->dir);
	jl_free(JL_MEM_MISC, f);
	return 0;
}

static jl_write_t mk(int kind, const char *type, const char *id, const char *body)
{
	jl_write_t w = {.kind = (uint8_t)kind, .type = jl_cstr(type), .id = jl_cstr(id)};
	if (body)
		w.body = jl_cstr(body);
	return w;
}

static jl_rc put1(jl_store_t *s, jl_write_t *w)
{
	return jl_store_write(s, w, 1, 0);
}

/* Shorthands that must succeed; they return the write's outputs. */
static jl_write_t ok_write(jl_store_t *s, int kind, const char *type, const char *id, const char *body)
{
	jl_write_t w = mk(kind, type, id, body);
	w.create_ok = true;
	jl_rc rc = put1(s, &w);
	if (rc)
		fail_msg("write %s/%s: %s", type, id, jl_rc_name(rc));
	return w;
}

static void expect_body(jl_store_t *s, jl_arena_t *a, const char *type, const char *id, int64_t ver,
			const char *body, bool deleted)
{
	jl_version_t v;
	jl_rc rc = jl_store_read(s, a, jl_cstr(type), jl_cstr(id), ver, &v);
	if (rc)
		fail_msg("read %s/%s v%lld: %s", type, id, (long long)ver, jl_rc_name(rc));
	assert_int_equal(v.deleted, deleted);
	assert_true(jl_str_eqc(v.type, type));
	assert_true(jl_str_eqc(v.id, id));
	if (ver)
		assert_int_equal(v.ver, ver);
	assert_true(jl_str_eqc(v.body, body ? body : ""));
}

/* ---- write semantics ----------------------------------------------------- */

static void test_crud_and_vread(void **state)
{
	fx_t *f = *state;
	jl_write_t w = ok_write(f->s, JL_WRITE_CREATE, "Patient", "a", "{\"v\":1}");
	assert_int_equal(w.ver, 1);
	assert_true(w.created);
	assert_true(w.updated_us > 0);
	int64_t u1 = w.updated_us;

	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("a"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 1);
	assert_int_equal(v.updated_us, u1);
	assert_int_equal(v.method, JL_WRITE_CREATE);
	assert_true(jl_str_eqc(v.body, "{\"v\":1}"));

	w = mk(JL_WRITE_UPDATE, "Patient", "a", "{\"v\":2}");
	w.body_meta = 77;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 2);
	assert_false(w.created);
	assert_true(w.updated_us > u1);

	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("a"), 0, &v), JL_OK);
	assert_int_equal(v.ver, 2);
	assert_int_equal(v.body_meta, 77);
	assert_int_equal(v.method, JL_WRITE_UPDATE);
	expect_body(f->s, f->a, "Patient", "a", 1, "{\"v\":1}", false);
	expect_body(f->s, f->a, "Patient", "a", 2, "{\"v\":2}", false);

	w = ok_write(f->s, JL_WRITE_DELETE, "Patient", "a", NULL);
	assert_int_equal(w.ver, 3);
	assert_false(w.noop);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("a"), 0, &v), JL_OK);
	assert_true(v.deleted);
	assert_int_equal(v.ver, 3);
	assert_int_equal(v.method, JL_WRITE_DELETE);
	assert_int_equal(v.body.n, 0);
	expect_body(f->s, f->a, "Patient", "a", 2, "{\"v\":2}", false);

	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("a"), 4, &v), JL_ENOTFOUND);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("b"), 0, &v), JL_ENOTFOUND);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Nope"), JL_STR("a"), 0, &v), JL_ENOTFOUND);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR(""), 0, &v), JL_EINVAL);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("a"), -1, &v), JL_EINVAL);
}

static void test_errors_and_preconditions(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "x", "{}");
	jl_write_t w = mk(JL_WRITE_CREATE, "Patient", "x", "{}");
	assert_int_equal(put1(f->s, &w), JL_ECONFLICT);
	assert_int_equal(w.rc, JL_ECONFLICT);

	/* Even a deleted resource keeps its id. */
	ok_write(f->s, JL_WRITE_DELETE, "Patient", "x", NULL);
	w = mk(JL_WRITE_CREATE, "Patient", "x", "{}");
	assert_int_equal(put1(f->s, &w), JL_ECONFLICT);

	w = mk(JL_WRITE_UPDATE, "Patient", "absent", "{}");
	assert_int_equal(put1(f->s, &w), JL_ENOTFOUND);
	w = mk(JL_WRITE_UPDATE, "NoSuchType", "absent", "{}");
	assert_int_equal(put1(f->s, &w), JL_ENOTFOUND);
	w = mk(JL_WRITE_UPDATE, "Patient", "absent", "{}");
	w.if_match = 1;
	w.create_ok = true;
	assert_int_equal(put1(f->s, &w), JL_EPRECOND);

	ok_write(f->s, JL_WRITE_CREATE, "Patient", "y", "{}");
	w = mk(JL_WRITE_UPDATE, "Patient", "y", "{\"n\":2}");
	w.if_match = 2;
	assert_int_equal(put1(f->s, &w), JL_EPRECOND);
	w = mk(JL_WRITE_UPDATE, "Patient", "y", "{\"n\":2}");
	w.if_match = 1;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 2);

	w = mk(JL_WRITE_DELETE, "Patient", "y", NULL);
	w.if_match = 1;
	assert_int_equal(put1(f->s, &w), JL_EPRECOND);
	w = mk(JL_WRITE_DELETE, "Patient", "absent", NULL);
	assert_int_equal(put1(f->s, &w), JL_ENOTFOUND);
	w = mk(JL_WRITE_DELETE, "Nope", "absent", NULL);
	assert_int_equal(put1(f->s, &w), JL_ENOTFOUND);

	/* Arguments the store refuses before queueing. */
	char id65[66];
	memset(id65, 'z', 65);
	id65[65] = 0;
	jl_write_t bad[] = {
		mk(JL_WRITE_CREATE, "Patient", "", "{}"),
		mk(JL_WRITE_CREATE, "", "q", "{}"),
		mk(JL_WRITE_CREATE, "Patient", id65, "{}"),
		mk(JL_WRITE_DELETE, "Patient", "y", "{}"),
		mk(9, "Patient", "q", "{}"),
	};
	bad[0].id = jl_str("a\0b", 3); /* embedded NUL */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(put1(f->s, &bad[i]), JL_EINVAL);
		assert_int_equal(bad[i].rc, JL_EINVAL);
	}
	w = mk(JL_WRITE_UPDATE, "Patient", "y", "{}");
	w.if_match = -1;
	assert_int_equal(put1(f->s, &w), JL_EINVAL);
	assert_int_equal(jl_store_write(f->s, NULL, 1, 0), JL_EINVAL);
	assert_int_equal(jl_store_write(f->s, NULL, 0, 0), JL_OK);
}

static void test_create_on_update_and_delete_noop(void **state)
{
	fx_t *f = *state;
	jl_write_t w = mk(JL_WRITE_UPDATE, "Patient", "c1", "{\"a\":1}");
	w.create_ok = true;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 1);
	assert_true(w.created);

	w = ok_write(f->s, JL_WRITE_DELETE, "Patient", "c1", NULL);
	assert_int_equal(w.ver, 2);
	int64_t del_us = w.updated_us;

	w = mk(JL_WRITE_DELETE, "Patient", "c1", NULL);
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_true(w.noop);
	assert_int_equal(w.ver, 2);
	assert_int_equal(w.updated_us, del_us);

	/* Update of a deleted resource revives it as the next version, reported as created. */
	w = mk(JL_WRITE_UPDATE, "Patient", "c1", "{\"a\":3}");
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 3);
	assert_true(w.created);
	expect_body(f->s, f->a, "Patient", "c1", 0, "{\"a\":3}", false);
	expect_body(f->s, f->a, "Patient", "c1", 2, NULL, true);

	/* Versions have no gaps even with refused writes in between. */
	for (int i = 0; i < 5; i++) {
		w = mk(JL_WRITE_UPDATE, "Patient", "c1", "{}");
		w.if_match = 1;
		assert_int_equal(put1(f->s, &w), JL_EPRECOND);
		w = ok_write(f->s, JL_WRITE_UPDATE, "Patient", "c1", "{}");
		assert_int_equal(w.ver, 4 + i);
	}
}

static void test_atomic_call(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "dup", "{}");

	jl_write_t w[3] = {
		mk(JL_WRITE_CREATE, "Patient", "new1", "{}"),
		mk(JL_WRITE_CREATE, "Brandnew", "b1", "{}"), /* inserts a type, then rolls back */
		mk(JL_WRITE_CREATE, "Patient", "dup", "{}"),
	};
	assert_int_equal(jl_store_write(f->s, w, 3, 0), JL_ECONFLICT);
	assert_int_equal(w[0].rc, JL_OK);
	assert_int_equal(w[0].ver, 0);
	assert_int_equal(w[2].rc, JL_ECONFLICT);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("new1"), 0, &v), JL_ENOTFOUND);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Brandnew"), JL_STR("b1"), 0, &v), JL_ENOTFOUND);

	/* The rolled-back type id gets reused by another name; nothing may mix them up. */
	ok_write(f->s, JL_WRITE_CREATE, "Other", "o1", "{\"o\":1}");
	ok_write(f->s, JL_WRITE_CREATE, "Brandnew", "b1", "{\"b\":1}");
	expect_body(f->s, f->a, "Other", "o1", 0, "{\"o\":1}", false);
	expect_body(f->s, f->a, "Brandnew", "b1", 0, "{\"b\":1}", false);

	jl_type_count_t *tc;
	size_t n;
	assert_int_equal(jl_store_counts(f->s, f->a, &tc, &n), JL_OK);
	assert_int_equal(n, 3);
	assert_string_equal(tc[0].type, "Brandnew");
	assert_string_equal(tc[1].type, "Other");
	assert_string_equal(tc[2].type, "Patient");
	assert_int_equal(tc[2].live, 1);
	assert_int_equal(tc[2].versions, 1);

	/* Several writes to one resource in one call see each other. */
	jl_write_t t[3] = {
		mk(JL_WRITE_CREATE, "Patient", "t", "{\"t\":1}"),
		mk(JL_WRITE_UPDATE, "Patient", "t", "{\"t\":2}"),
		mk(JL_WRITE_DELETE, "Patient", "t", NULL),
	};
	assert_int_equal(jl_store_write(f->s, t, 3, 0), JL_OK);
	assert_int_equal(t[0].ver, 1);
	assert_int_equal(t[1].ver, 2);
	assert_int_equal(t[2].ver, 3);
	assert_true(t[0].updated_us < t[1].updated_us && t[1].updated_us < t[2].updated_us);
	expect_body(f->s, f->a, "Patient", "t", 2, "{\"t\":2}", false);
}

/* ---- concurrency --------------------------------------------------------- */

#define NTHREADS 8
#define NWRITES 500
#define NRES 100

typedef struct wres {
	int64_t ver, us;
} wres_t;

typedef struct worker {
	jl_store_t *s;
	int k;
	wres_t r[NWRITES];
	int fails;
} worker_t;

static void *worker_main(void *arg)
{
	worker_t *wk = arg;
	char id[32], body[64];
	for (int j = 0; j < NWRITES; j++) {
		snprintf(id, sizeof id, "t%d-%d", wk->k, j % NRES);
		snprintf(body, sizeof body, "{\"k\":%d,\"j\":%d}", wk->k, j);
		jl_write_t w = mk(j < NRES ? JL_WRITE_CREATE : JL_WRITE_UPDATE, "Observation", id, body);
		if (jl_store_write(wk->s, &w, 1, 0)) {
			wk->fails++;
			continue;
		}
		wk->r[j].ver = w.ver;
		wk->r[j].us = w.updated_us;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_group_commit_concurrency(void **state)
{
	fx_t *f = *state;
	static worker_t wk[NTHREADS];
	pthread_t th[NTHREADS];
	jl__sqlite_counters_t c0, c1;
	jl__store_sqlite_counters(f->s, &c0);
	for (int k = 0; k < NTHREADS; k++) {
		memset(&wk[k], 0, sizeof wk[k]);
		wk[k].s = f->s;
		wk[k].k = k;
		assert_int_equal(pthread_create(&th[k], NULL, worker_main, &wk[k]), 0);
	}
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(th[k], NULL);
	jl__store_sqlite_counters(f->s, &c1);

	int64_t *all = jl_calloc(JL_MEM_MISC, NTHREADS * NWRITES, sizeof *all);
	size_t na = 0;
	char id[32], body[64];
	for (int k = 0; k < NTHREADS; k++) {
		assert_int_equal(wk[k].fails, 0);
		for (int j = 0; j < NWRITES; j++) {
			/* Resource j % NRES got versions 1..5, in this thread's order. */
			assert_int_equal(wk[k].r[j].ver, j / NRES + 1);
			if (j >= NRES)
				assert_true(wk[k].r[j].us > wk[k].r[j - NRES].us);
			all[na++] = wk[k].r[j].us;
			snprintf(id, sizeof id, "t%d-%d", k, j % NRES);
			snprintf(body, sizeof body, "{\"k\":%d,\"j\":%d}", k, j);
			jl_version_t v;
			assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Observation"), jl_cstr(id),
						       wk[k].r[j].ver, &v),
					 JL_OK);
			assert_true(jl_str_eqc(v.body, body));
			assert_int_equal(v.updated_us, wk[k].r[j].us);
		}
		jl_arena_reset(f->a);
	}
	/* Instants are unique across the store. */
	qsort(all, na, sizeof *all, cmp_i64);
	for (size_t i = 1; i < na; i++)
		assert_true(all[i] > all[i - 1]);
	jl_free(JL_MEM_MISC, all);

	int64_t writes = c1.writes - c0.writes, commits = c1.commits - c0.commits;
	assert_int_equal(writes, NTHREADS * NWRITES);
	assert_true(commits < writes);
	assert_true(commits > 0);
	assert_int_equal(jl__store_sqlite_commits(f->s), c1.commits);
	print_message("    %lld writes in %lld commits (largest group %lld)\n", (long long)writes,
		      (long long)commits, (long long)c1.max_group);

	/* System history walks all of it newest first with strictly decreasing instants. */
	jl_hist_query_t q = {.count = 333};
	int64_t seen = 0, prev = INT64_MAX;
	for (;;) {
		jl_hist_page_t p;
		assert_int_equal(jl_store_history(f->s, f->a, &q, &p), JL_OK);
		for (size_t i = 0; i < p.n; i++) {
			assert_true(p.items[i].updated_us < prev);
			prev = p.items[i].updated_us;
		}
		seen += (int64_t)p.n;
		if (!p.more_older)
			break;
		q.before_us = p.items[p.n - 1].updated_us;
		jl_arena_reset(f->a);
	}
	assert_int_equal(seen, NTHREADS * NWRITES);
}

static void *small_writer(void *arg)
{
	worker_t *wk = arg;
	char id[32];
	for (int j = 0; j < 50; j++) {
		snprintf(id, sizeof id, "g%d-%d", wk->k, j);
		jl_write_t w = mk(JL_WRITE_CREATE, "Patient", id, "{}");
		if (jl_store_write(wk->s, &w, 1, 0))
			wk->fails++;
	}
	return NULL;
}

static void test_group_max(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = NULL;
	f->s = open_store(f->dir, 4);
	static worker_t wk[NTHREADS];
	pthread_t th[NTHREADS];
	for (int k = 0; k < NTHREADS; k++) {
		memset(&wk[k], 0, sizeof wk[k]);
		wk[k].s = f->s;
		wk[k].k = k;
		assert_int_equal(pthread_create(&th[k], NULL, small_writer, &wk[k]), 0);
	}
	for (int k = 0; k < NTHREADS; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(wk[k].fails, 0);
	}
	jl__sqlite_counters_t c;
	jl__store_sqlite_counters(f->s, &c);
	assert_true(c.max_group <= 4);

	/* A call larger than group_max still runs, alone and atomically. */
	jl_write_t w[10];
	char ids[10][8];
	for (int i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof ids[i], "big%d", i);
		w[i] = mk(JL_WRITE_CREATE, "Patient", ids[i], "{}");
	}
	assert_int_equal(jl_store_write(f->s, w, 10, 0), JL_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(w[i].ver, 1);
	jl__store_sqlite_counters(f->s, &c);
	assert_int_equal(c.max_group, 10);
}

typedef struct rjob {
	jl_store_t *s;
	int fails;
} rjob_t;

static void *reader_main(void *arg)
{
	rjob_t *j = arg;
	jl_arena_t *a = jl_arena_new(0, 0);
	char id[16], body[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof id, "r%d", i % 20);
		snprintf(body, sizeof body, "{\"r\":%d}", i % 20);
		jl_version_t v;
		if (jl_store_read(j->s, a, JL_STR("Patient"), jl_cstr(id), 0, &v) || !jl_str_eqc(v.body, body))
			j->fails++;
		jl_arena_reset(a);
	}
	jl_arena_free(a);
	return NULL;
}

/* More reading threads than read connections: they take turns, nothing fails. */
static void test_reader_pool_limit(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = NULL;
	jl_store_cfg_t cfg = {.dir = f->dir, .readers = 2};
	assert_int_equal(jl_store_open("sqlite", &cfg, &f->s, NULL), JL_OK);
	char id[16], body[32];
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "r%d", i);
		snprintf(body, sizeof body, "{\"r\":%d}", i);
		ok_write(f->s, JL_WRITE_CREATE, "Patient", id, body);
	}
	rjob_t jobs[6];
	pthread_t th[6];
	for (int k = 0; k < 6; k++) {
		jobs[k] = (rjob_t){.s = f->s};
		assert_int_equal(pthread_create(&th[k], NULL, reader_main, &jobs[k]), 0);
	}
	for (int k = 0; k < 6; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(jobs[k].fails, 0);
	}
}

/* ---- the live-only precondition and the asynchronous write ------------------ */

static void test_if_match_live(void **state)
{
	fx_t *f = *state;
	/* Absent resource: the precondition is moot, the update creates version 1. */
	jl_write_t w = mk(JL_WRITE_UPDATE, "Patient", "live1", "{\"a\":1}");
	w.create_ok = true;
	w.if_match = 7;
	w.if_match_live = true;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 1);
	assert_true(w.created);
	/* Live resource: it must match. */
	w = mk(JL_WRITE_UPDATE, "Patient", "live1", "{\"a\":2}");
	w.create_ok = true;
	w.if_match = 7;
	w.if_match_live = true;
	assert_int_equal(put1(f->s, &w), JL_EPRECOND);
	w.if_match = 1;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 2);
	/* Deleted resource: moot again, the update resurrects it. */
	ok_write(f->s, JL_WRITE_DELETE, "Patient", "live1", NULL);
	w = mk(JL_WRITE_UPDATE, "Patient", "live1", "{\"a\":4}");
	w.create_ok = true;
	w.if_match = 1;
	w.if_match_live = true;
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(w.ver, 4);
	assert_true(w.created);
	/* Without the flag the plain If-Match rule still holds on an absent resource. */
	w = mk(JL_WRITE_UPDATE, "Patient", "absent", "{}");
	w.create_ok = true;
	w.if_match = 1;
	assert_int_equal(put1(f->s, &w), JL_EPRECOND);
}

typedef struct async_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	jl_rc rc[64];
} async_wait_t;

typedef struct async_slot {
	async_wait_t *aw;
	int i;
} async_slot_t;

static void async_done(void *arg, jl_rc rc)
{
	async_slot_t *slot = arg;
	pthread_mutex_lock(&slot->aw->mu);
	slot->aw->rc[slot->i] = rc;
	slot->aw->done++;
	pthread_cond_signal(&slot->aw->cv);
	pthread_mutex_unlock(&slot->aw->mu);
}

static void test_write_async(void **state)
{
	fx_t *f = *state;
	static async_wait_t aw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};
	static async_slot_t slots[64];
	jl_write_t w[64];
	char ids[64][16];
	aw.done = 0;
	for (int i = 0; i < 64; i++) {
		snprintf(ids[i], sizeof ids[i], "async%d", i);
		w[i] = mk(JL_WRITE_CREATE, "Observation", ids[i], "{\"status\":\"final\",\"code\":{\"text\":\"glucose\"}}");
		slots[i].aw = &aw;
		slots[i].i = i;
		aw.rc[i] = JL_EINTERNAL;
	}
	/* One creates a duplicate id so its completion must carry the error. */
	snprintf(ids[63], sizeof ids[63], "async0");
	w[63].id = jl_cstr(ids[63]);
	for (int i = 0; i < 63; i++)
		assert_int_equal(jl_store_write_async(f->s, &w[i], 1, 0, async_done, &slots[i]), JL_OK);
	pthread_mutex_lock(&aw.mu);
	while (aw.done < 63)
		pthread_cond_wait(&aw.cv, &aw.mu);
	pthread_mutex_unlock(&aw.mu);
	assert_int_equal(jl_store_write_async(f->s, &w[63], 1, 0, async_done, &slots[63]), JL_OK);
	pthread_mutex_lock(&aw.mu);
	while (aw.done < 64)
		pthread_cond_wait(&aw.cv, &aw.mu);
	pthread_mutex_unlock(&aw.mu);
	for (int i = 0; i < 63; i++) {
		assert_int_equal(aw.rc[i], JL_OK);
		assert_int_equal(w[i].ver, 1);
		expect_body(f->s, f->a, "Observation", ids[i], 1, "{\"status\":\"final\",\"code\":{\"text\":\"glucose\"}}", false);
	}
	assert_int_equal(aw.rc[63], JL_ECONFLICT);
	assert_int_equal(w[63].rc, JL_ECONFLICT);
	/* Arguments refused up front: nothing queued, no completion. */
	jl_write_t bad = mk(JL_WRITE_CREATE, "Observation", "", "{}");
	assert_int_equal(jl_store_write_async(f->s, &bad, 1, 0, async_done, &slots[0]), JL_EINVAL);
	/* A deadline already passed completes as a timeout or is refused at once. */
	jl_write_t late = mk(JL_WRITE_CREATE, "Observation", "late", "{}");
	assert_int_equal(jl_store_write_async(f->s, &late, 1, jl_mono_ns() - 1, async_done, &slots[0]), JL_ETIMEOUT);
	pthread_mutex_lock(&aw.mu);
	assert_int_equal(aw.done, 64);
	pthread_mutex_unlock(&aw.mu);
}

/* ---- history -------------------------------------------------------------- */

static void expect_page(const jl_hist_page_t *p, const int64_t *want, size_t n, bool older, bool newer)
{
	assert_int_equal(p->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p->items[i].updated_us, want[i]);
	assert_int_equal(p->more_older, older);
	assert_int_equal(p->more_newer, newer);
}

static jl_hist_page_t hist(fx_t *f, const char *type, const char *id, int64_t since, int64_t before,
			   int64_t after, uint32_t count)
{
	jl_hist_query_t q = {.type = type ? jl_cstr(type) : JL_STR_NULL,
			     .id = id ? jl_cstr(id) : JL_STR_NULL,
			     .since_us = since,
			     .before_us = before,
			     .after_us = after,
			     .count = count};
	jl_hist_page_t p;
	jl_rc rc = jl_store_history(f->s, f->a, &q, &p);
	if (rc)
		fail_msg("history: %s", jl_rc_name(rc));
	return p;
}

static void test_history(void **state)
{
	fx_t *f = *state;
	int64_t u[8];
	u[0] = ok_write(f->s, JL_WRITE_CREATE, "Patient", "p1", "{\"p1\":1}").updated_us;
	u[1] = ok_write(f->s, JL_WRITE_CREATE, "Observation", "o1", "{\"o1\":1}").updated_us;
	u[2] = ok_write(f->s, JL_WRITE_UPDATE, "Patient", "p1", "{\"p1\":2}").updated_us;
	u[3] = ok_write(f->s, JL_WRITE_CREATE, "Observation", "o2", "{\"o2\":1}").updated_us;
	u[4] = ok_write(f->s, JL_WRITE_CREATE, "Patient", "p2", "{\"p2\":1}").updated_us;
	u[5] = ok_write(f->s, JL_WRITE_DELETE, "Patient", "p1", NULL).updated_us;
	u[6] = ok_write(f->s, JL_WRITE_UPDATE, "Observation", "o1", "{\"o1\":2}").updated_us;

	/* System level, older pages via before_us. */
	jl_hist_page_t p = hist(f, NULL, NULL, 0, 0, 0, 3);
	expect_page(&p, (int64_t[]){u[6], u[5], u[4]}, 3, true, false);
	assert_int_equal(p.snapshot_us, u[6]);
	assert_int_equal(p.total, -1);
	assert_true(jl_str_eqc(p.items[0].type, "Observation"));
	assert_true(jl_str_eqc(p.items[0].id, "o1"));
	assert_int_equal(p.items[0].ver, 2);
	assert_true(jl_str_eqc(p.items[0].body, "{\"o1\":2}"));
	assert_true(p.items[1].deleted);
	assert_int_equal(p.items[1].method, JL_WRITE_DELETE);
	p = hist(f, NULL, NULL, 0, u[4], 0, 3);
	expect_page(&p, (int64_t[]){u[3], u[2], u[1]}, 3, true, true);
	p = hist(f, NULL, NULL, 0, u[1], 0, 3);
	expect_page(&p, (int64_t[]){u[0]}, 1, false, true);

	/* Newer pages via after_us, still newest first. */
	p = hist(f, NULL, NULL, 0, 0, u[0], 3);
	expect_page(&p, (int64_t[]){u[3], u[2], u[1]}, 3, true, true);
	p = hist(f, NULL, NULL, 0, 0, u[3], 3);
	expect_page(&p, (int64_t[]){u[6], u[5], u[4]}, 3, true, false);
	p = hist(f, NULL, NULL, 0, 0, u[6], 3);
	expect_page(&p, NULL, 0, true, false);

	/* _since is inclusive. */
	p = hist(f, NULL, NULL, u[2], 0, 0, 10);
	expect_page(&p, (int64_t[]){u[6], u[5], u[4], u[3], u[2]}, 5, false, false);
	p = hist(f, NULL, NULL, u[2], u[4], 0, 10);
	expect_page(&p, (int64_t[]){u[3], u[2]}, 2, false, true);
	p = hist(f, NULL, NULL, u[2], 0, u[2], 2);
	expect_page(&p, (int64_t[]){u[4], u[3]}, 2, true, true);

	/* Type level. */
	p = hist(f, "Patient", NULL, 0, 0, 0, 2);
	expect_page(&p, (int64_t[]){u[5], u[4]}, 2, true, false);
	p = hist(f, "Patient", NULL, 0, u[4], 0, 2);
	expect_page(&p, (int64_t[]){u[2], u[0]}, 2, false, true);
	p = hist(f, "Patient", NULL, 0, 0, u[0], 2);
	expect_page(&p, (int64_t[]){u[4], u[2]}, 2, true, true);
	p = hist(f, "Observation", NULL, 0, 0, 0, 10);
	expect_page(&p, (int64_t[]){u[6], u[3], u[1]}, 3, false, false);
	p = hist(f, "Nothing", NULL, 0, 0, 0, 10);
	expect_page(&p, NULL, 0, false, false);

	/* Instance level, with its total. */
	p = hist(f, "Patient", "p1", 0, 0, 0, 2);
	expect_page(&p, (int64_t[]){u[5], u[2]}, 2, true, false);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.items[0].ver, 3);
	assert_int_equal(p.items[1].ver, 2);
	p = hist(f, "Patient", "p1", 0, u[2], 0, 2);
	expect_page(&p, (int64_t[]){u[0]}, 1, false, true);
	p = hist(f, "Patient", "p1", 0, 0, u[0], 1);
	expect_page(&p, (int64_t[]){u[2]}, 1, true, true);
	p = hist(f, "Patient", "p1", u[2], 0, 0, 10);
	expect_page(&p, (int64_t[]){u[5], u[2]}, 2, false, false);
	assert_int_equal(p.total, 2);

	/* An unknown resource has an empty history with total 0 (rest/ answers 404). */
	p = hist(f, "Patient", "nobody", 0, 0, 0, 1);
	expect_page(&p, NULL, 0, false, false);
	assert_int_equal(p.total, 0);
	p = hist(f, "Nothing", "nobody", 0, 0, 0, 1);
	expect_page(&p, NULL, 0, false, false);
	assert_int_equal(p.total, 0);
	jl_hist_query_t q;
	q = (jl_hist_query_t){.id = JL_STR("p1"), .count = 1};
	assert_int_equal(jl_store_history(f->s, f->a, &q, &p), JL_EINVAL);
	q = (jl_hist_query_t){.count = 0};
	assert_int_equal(jl_store_history(f->s, f->a, &q, &p), JL_EINVAL);

	/* Snapshot pinning: later writes stay out of pages bounded by the first page's snapshot. */
	jl_hist_page_t first = hist(f, NULL, NULL, 0, 0, 0, 2);
	int64_t snap = first.snapshot_us;
	assert_int_equal(snap, u[6]);
	u[7] = ok_write(f->s, JL_WRITE_CREATE, "Patient", "late", "{}").updated_us;
	assert_true(u[7] > snap);
	p = hist(f, NULL, NULL, 0, first.items[1].updated_us, 0, 2);
	expect_page(&p, (int64_t[]){u[4], u[3]}, 2, true, true);
	p = hist(f, NULL, NULL, 0, snap + 1, u[4], 5);
	expect_page(&p, (int64_t[]){u[6], u[5]}, 2, true, false);
	p = hist(f, NULL, NULL, 0, snap + 1, 0, 100);
	assert_int_equal(p.n, 7);
	assert_int_equal(p.items[0].updated_us, u[6]);
	p = hist(f, NULL, NULL, 0, 0, 0, 1);
	assert_int_equal(p.snapshot_us, u[7]);
	assert_int_equal(p.items[0].updated_us, u[7]);
}

/* ---- counts, stats, compression, persistence ---------------------------- */

static void expect_count(fx_t *f, const char *type, int64_t live, int64_t versions)
{
	jl_type_count_t *tc;
	size_t n;
	assert_int_equal(jl_store_counts(f->s, f->a, &tc, &n), JL_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(tc[i].type, type) == 0) {
			assert_int_equal(tc[i].live, live);
			assert_int_equal(tc[i].versions, versions);
			return;
		}
	fail_msg("no count for %s", type);
}

static void test_counts_and_stats(void **state)
{
	fx_t *f = *state;
	jl_type_count_t *tc;
	size_t n;
	assert_int_equal(jl_store_counts(f->s, f->a, &tc, &n), JL_OK);
	assert_int_equal(n, 0);
	jl_store_stats_t st;
	assert_int_equal(jl_store_stats(f->s, &st), JL_OK);
	assert_int_equal(st.versions, 0);

	ok_write(f->s, JL_WRITE_CREATE, "Patient", "1", "{}");
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "2", "{}");
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "3", "{}");
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "1", "{}");
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "2", "{}");
	ok_write(f->s, JL_WRITE_DELETE, "Patient", "2", NULL);
	ok_write(f->s, JL_WRITE_DELETE, "Patient", "2", NULL); /* no-op */
	ok_write(f->s, JL_WRITE_UPDATE, "Observation", "1", "{}");
	expect_count(f, "Patient", 2, 4);
	expect_count(f, "Observation", 2, 3);
	ok_write(f->s, JL_WRITE_UPDATE, "Patient", "2", "{}"); /* revived */
	ok_write(f->s, JL_WRITE_UPDATE, "Patient", "4", "{}"); /* created by update */
	expect_count(f, "Patient", 4, 6);
	jl_write_t w = mk(JL_WRITE_CREATE, "Patient", "1", "{}");
	assert_int_equal(put1(f->s, &w), JL_ECONFLICT);
	expect_count(f, "Patient", 4, 6);

	assert_int_equal(jl_store_stats(f->s, &st), JL_OK);
	assert_int_equal(st.versions, 9);
	assert_int_equal(st.resources, 6);
	assert_true(st.bytes > 0);
	/* Every committed call spent time in its group's transaction; the later ones also waited for
	 * the syncer's fsync (the first sync of a WAL file is inline). */
	assert_true(st.calls >= 10);
	assert_true(st.run_ns > 0);
	assert_true(st.sync_ns > 0);
	assert_true(st.queue_ns >= 0);

	jl_diag_t d;
	jl_diag_init(&d, f->a);
	assert_int_equal(jl_store_check(f->s, &d), JL_OK);
	assert_int_equal(d.n, 0);
}

/* enc and stored length of one version, read behind the store's back. */
static void stored_form(fx_t *f, int64_t us, int *enc, int64_t *len)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT enc, length(body) FROM ver WHERE updated = ?", -1, &st,
					    NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, us);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*enc = sqlite3_column_int(st, 0);
	*len = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_compression(void **state)
{
	fx_t *f = *state;
	size_t big = 200000;
	char *text = jl_malloc(JL_MEM_MISC, big + 1);
	for (size_t i = 0; i < big; i++)
		text[i] = "{\"resourceType\":\"Observation\",\"status\":\"final\"},"[i % 48];
	text[big] = 0;
	char *noise = jl_malloc(JL_MEM_MISC, 4096);
	uint32_t x = 12345;
	for (size_t i = 0; i < 4096; i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (char)(x >> 16);
	}

	jl_write_t w = mk(JL_WRITE_CREATE, "Binary", "big", NULL);
	w.body = jl_str(text, big);
	assert_int_equal(put1(f->s, &w), JL_OK);
	int enc;
	int64_t len;
	stored_form(f, w.updated_us, &enc, &len);
	assert_int_equal(enc, 2); /* zstd with the built-in dictionary (store/zdict.h) */
	assert_true(len < (int64_t)big / 10);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Binary"), JL_STR("big"), 0, &v), JL_OK);
	assert_int_equal(v.body.n, big);
	assert_memory_equal(v.body.p, text, big);

	w = mk(JL_WRITE_CREATE, "Binary", "noise", NULL);
	w.body = jl_str(noise, 4096);
	assert_int_equal(put1(f->s, &w), JL_OK);
	stored_form(f, w.updated_us, &enc, &len);
	assert_int_equal(enc, 0);
	assert_int_equal(len, 4096);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Binary"), JL_STR("noise"), 0, &v), JL_OK);
	assert_int_equal(v.body.n, 4096);
	assert_memory_equal(v.body.p, noise, 4096);

	w = mk(JL_WRITE_CREATE, "Binary", "small", "{\"a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	assert_int_equal(put1(f->s, &w), JL_OK);
	stored_form(f, w.updated_us, &enc, &len);
	assert_int_equal(enc, 0);

	/* Embedded NULs survive. */
	w = mk(JL_WRITE_CREATE, "Binary", "nul", NULL);
	w.body = jl_str("a\0b\0c", 5);
	assert_int_equal(put1(f->s, &w), JL_OK);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Binary"), JL_STR("nul"), 0, &v), JL_OK);
	assert_int_equal(v.body.n, 5);
	assert_memory_equal(v.body.p, "a\0b\0c", 5);
	jl_free(JL_MEM_MISC, text);
	jl_free(JL_MEM_MISC, noise);
}

static void test_reopen_persists(void **state)
{
	fx_t *f = *state;
	int64_t last = 0;
	char id[16], body[32];
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof id, "r%d", i % 10);
		snprintf(body, sizeof body, "{\"i\":%d}", i);
		last = ok_write(f->s, i < 10 ? JL_WRITE_CREATE : JL_WRITE_UPDATE, "Patient", id, body).updated_us;
	}
	ok_write(f->s, JL_WRITE_DELETE, "Patient", "r3", NULL);
	jl_store_close(f->s);
	f->s = NULL;
	f->s = open_store(f->dir, 0);

	expect_body(f->s, f->a, "Patient", "r9", 0, "{\"i\":49}", false);
	expect_body(f->s, f->a, "Patient", "r0", 1, "{\"i\":0}", false);
	expect_body(f->s, f->a, "Patient", "r3", 0, NULL, true);
	expect_count(f, "Patient", 9, 51);
	jl_hist_page_t p = hist(f, "Patient", "r5", 0, 0, 0, 10);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.total, 5);

	/* Instants and rids continue after the stored ones. */
	jl_write_t w = ok_write(f->s, JL_WRITE_CREATE, "Patient", "after", "{}");
	assert_true(w.updated_us > last);
	w = ok_write(f->s, JL_WRITE_UPDATE, "Patient", "r1", "{}");
	assert_int_equal(w.ver, 6);
	expect_body(f->s, f->a, "Patient", "after", 0, "{}", false);

	jl_diag_t d;
	jl_diag_init(&d, f->a);
	assert_int_equal(jl_store_check(f->s, &d), JL_OK);

	/* Close leaves no WAL content behind. */
	jl_store_close(f->s);
	f->s = NULL;
	char wal[128];
	snprintf(wal, sizeof wal, "%s/jianlian.db-wal", f->dir);
	FILE *fp = fopen(wal, "rb");
	if (fp) {
		fseek(fp, 0, SEEK_END);
		assert_int_equal(ftell(fp), 0);
		fclose(fp);
	}
	f->s = open_store(f->dir, 0);
	expect_body(f->s, f->a, "Patient", "after", 0, "{}", false);

	/* The schema holds the (still empty) search index tables the search layer fills. */
	char db[128];
	snprintf(db, sizeof db, "%s/jianlian.db", f->dir);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	static const char *const ix[] = {"ix_token",  "ix_string",   "ix_uri",     "ix_ref",
					 "ix_date",   "ix_number",   "ix_quantity", "ix_composite", "ix_text"};
	for (size_t i = 0; i < sizeof ix / sizeof ix[0]; i++) {
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
						    -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_text(st, 1, ix[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
}

static int64_t db_int(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* A schema-1 database (without the text probe indexes) is brought to schema 2 on open, data kept. */
static void test_migration_1_to_2(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "old", "{\"i\":1}");
	jl_store_close(f->s);
	f->s = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX ix_string_r; DROP INDEX ix_uri_r; PRAGMA user_version = 1", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_int(path, "PRAGMA user_version"), 1);

	f->s = open_store(f->dir, 0);
	assert_int_equal(db_int(path, "PRAGMA user_version"), 6); /* and on to 3 (dictionary bodies), 4, 5 and 6 */
	assert_int_equal(db_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
				      " AND name IN ('ix_string_r', 'ix_uri_r')"),
			 2);
	expect_body(f->s, f->a, "Patient", "old", 1, "{\"i\":1}", false);
}

/* Closes the store, runs sql on its database behind its back (an older layout), and reopens it. */
static void rewrite_db(fx_t *f, const char *sql)
{
	jl_store_close(f->s);
	f->s = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->s = open_store(f->dir, 0);
}

/*
 * A schema-3 database (a quantity row per unit form) gets the schema-4 quantity table on open: the
 * old rows go (the search layer's fingerprint names the new layout, so the index is rebuilt), the
 * resources stay.
 */
static void test_migration_3_to_4(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "q", "{\"i\":1}");
	rewrite_db(f, "DROP TABLE ix_quantity;"
		      "CREATE TABLE ix_quantity(k INTEGER NOT NULL, rid INTEGER NOT NULL, lo REAL NOT NULL,"
		      " hi REAL NOT NULL, PRIMARY KEY(k, rid, lo, hi)) WITHOUT ROWID;"
		      "INSERT INTO ix_quantity VALUES (7, 1, 5.0, 5.0), (8, 1, 5.0, 5.0);"
		      "PRAGMA user_version = 3");
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	assert_int_equal(db_int(path, "PRAGMA user_version"), 6);
	assert_int_equal(db_int(path, "SELECT count(*) FROM ix_quantity"), 0);
	assert_int_equal(db_int(path, "SELECT count(*) FROM pragma_table_info('ix_quantity') WHERE name IN ('us', 'uc', 'uu')"),
			 3);
	expect_body(f->s, f->a, "Observation", "q", 1, "{\"i\":1}", false);
}

/*
 * A schema-4 database (a token row per system|code beside the code's, token texts in ix_string) gets
 * the schema-5 token tables on open: the system is a column (s) of the code's row, token texts are
 * in ix_text, the old rows go (the search fingerprint
 * names layout 5, so the index is rebuilt at the next start), the resources stay.
 */
static void test_migration_4_to_5(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "t", "{\"i\":1}");
	rewrite_db(f, "DROP TABLE ix_token; DROP TABLE ix_text;"
		      "CREATE TABLE ix_token(k INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(k, rid)) WITHOUT ROWID;"
		      "INSERT INTO ix_token VALUES (7, 1), (8, 1);"
		      "PRAGMA user_version = 4");
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	assert_int_equal(db_int(path, "PRAGMA user_version"), 6);
	assert_int_equal(db_int(path, "SELECT count(*) FROM ix_token"), 0);
	assert_int_equal(db_int(path, "SELECT count(*) FROM pragma_table_info('ix_token') WHERE name = 's' AND pk = 3"), 1);
	assert_int_equal(db_int(path, "SELECT count(*) FROM ix_text"), 0);
	expect_body(f->s, f->a, "Observation", "t", 1, "{\"i\":1}", false);
}

/* res.present keeps only the bytes up to the last set bit, in the order jl_bit reads them. */
static void test_present_bytes(void **state)
{
	(void)state;
	unsigned char b[32];
	uint64_t none[4] = {0}, low[4] = {0x41, 0, 0, 0}, top[4] = {1ULL << 63, 0, 0, 0}, far[4] = {1, 0, 0, 1ULL << 8};
	assert_int_equal(jl__sq_present_bytes(none, b), 0);
	assert_int_equal(jl__sq_present_bytes(low, b), 1);
	assert_int_equal(b[0], 0x41);
	assert_int_equal(jl__sq_present_bytes(top, b), 8);
	assert_int_equal(b[7], 0x80);
	assert_int_equal(jl__sq_present_bytes(far, b), 26); /* bit 200 */
	assert_int_equal(b[0], 1);
	assert_int_equal(b[25], 1);
	for (int i = 1; i < 25; i++)
		assert_int_equal(b[i], 0);
}

/*
 * The page cache wrapper (sqlite_pcache.h) is in place — the store was this process's first use of
 * SQLite — and a workload of page splits, updates, rollbacks (a failing call in a group) and deletes
 * reads back exactly what was committed.
 */
static void test_page_cache_wrapper(void **state)
{
	fx_t *f = *state;
	assert_true(jl__sqpcache_install());
	char id[32], body[600];
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "p%d", i);
		snprintf(body, sizeof body, "{\"i\":%d,\"pad\":\"%0*d\"}", i, 400 + i % 100, i);
		ok_write(f->s, JL_WRITE_CREATE, "Patient", id, body);
	}
	for (int i = 0; i < 3000; i += 7) {
		snprintf(id, sizeof id, "p%d", i);
		ok_write(f->s, i % 2 ? JL_WRITE_DELETE : JL_WRITE_UPDATE, "Patient", id, i % 2 ? NULL : "{\"u\":1}");
	}
	/* a call that fails after writing rolls back inside its group */
	jl_write_t w[2] = {mk(JL_WRITE_CREATE, "Patient", "rolled", "{}"), mk(JL_WRITE_UPDATE, "Patient", "p1", "{}")};
	w[1].if_match = 99;
	assert_int_not_equal(jl_store_write(f->s, w, 2, 0), JL_OK);
	jl_store_close(f->s);
	f->s = open_store(f->dir, 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "p%d", i);
		if (i % 7 == 0) {
			if (i % 2)
				expect_body(f->s, f->a, "Patient", id, 2, NULL, true);
			else
				expect_body(f->s, f->a, "Patient", id, 2, "{\"u\":1}", false);
		} else {
			snprintf(body, sizeof body, "{\"i\":%d,\"pad\":\"%0*d\"}", i, 400 + i % 100, i);
			expect_body(f->s, f->a, "Patient", id, 1, body, false);
		}
	}
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("rolled"), 0, &v), JL_ENOTFOUND);
}

/*
 * The checkpointer thread (sqlite_ckpt.h) keeps the WAL bounded under a steady writer: ~100 MB of
 * incompressible bodies go through the WAL, which must restart instead of growing with them (it
 * would reach that size if checkpoints never caught up), and every body reads back.
 */
static void test_wal_stays_bounded(void **state)
{
	fx_t *f = *state;
	enum { CALLS = 100, PER = 250, BODY = 4000 };
	static char hex[BODY + 1];
	jl_write_t *w = jl_calloc(JL_MEM_MISC, PER, sizeof *w);
	char (*ids)[16] = jl_calloc(JL_MEM_MISC, PER, sizeof *ids);
	char (*bodies)[BODY + 32] = jl_calloc(JL_MEM_MISC, PER, sizeof *bodies);
	assert_non_null(w);
	assert_non_null(ids);
	assert_non_null(bodies);
	for (int c = 0; c < CALLS; c++) {
		for (int i = 0; i < PER; i++) {
			unsigned char raw[BODY / 2];
			jl_rand_bytes(raw, sizeof raw);
			for (size_t k = 0; k < sizeof raw; k++)
				snprintf(hex + 2 * k, 3, "%02x", raw[k]);
			snprintf(ids[i], sizeof ids[i], "w%d-%d", c, i);
			snprintf(bodies[i], sizeof bodies[i], "{\"h\":\"%s\"}", hex);
			w[i] = mk(JL_WRITE_CREATE, "Binary", ids[i], bodies[i]);
		}
		assert_int_equal(jl_store_write(f->s, w, PER, 0), JL_OK);
	}
	char wal[160];
	snprintf(wal, sizeof wal, "%s/jianlian.db-wal", f->dir);
	struct stat st;
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size < 64 << 20); /* ~100 MB went through it */
	expect_body(f->s, f->a, "Binary", "w99-249", 1, bodies[PER - 1], false);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Binary"), JL_STR("w0-0"), 1, &v), JL_OK);
	assert_int_equal(v.body.n, BODY + 8);
	jl_free(JL_MEM_MISC, w);
	jl_free(JL_MEM_MISC, ids);
	jl_free(JL_MEM_MISC, bodies);
}

/* ---- acknowledged after the fsync (sqlite_sync.h) -------------------------- */

static atomic_int g_hook_entered, g_hook_release, g_hook_fail, g_hook_done;

/* Holds the deferred fsync until the test releases it; fails it when asked. */
static int hold_sync(void)
{
	atomic_store(&g_hook_entered, 1);
	for (int i = 0; i < 20000 && !atomic_load(&g_hook_release); i++)
		usleep(500);
	atomic_store(&g_hook_done, 1);
	return atomic_load(&g_hook_fail);
}

typedef struct {
	jl_store_t *s;
	const char *id;
	jl_rc rc;
	atomic_int returned;
} held_write_t;

static void *held_writer(void *arg)
{
	held_write_t *h = arg;
	jl_write_t w = mk(JL_WRITE_CREATE, "Observation", h->id, "{\"status\":\"final\"}");
	h->rc = put1(h->s, &w);
	atomic_store(&h->returned, 1);
	return NULL;
}

static void test_ack_after_fsync(void **state)
{
	fx_t *f = *state;
	/* The first sync of a WAL file is inline (it also syncs the directory entry). */
	(void)ok_write(f->s, JL_WRITE_CREATE, "Observation", "warm", "{\"status\":\"final\"}");
	atomic_store(&g_hook_entered, 0);
	atomic_store(&g_hook_release, 0);
	atomic_store(&g_hook_fail, 0);
	jl__sqvfs_set_sync_hook(hold_sync);
	held_write_t h = {.s = f->s, .id = "held"};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, held_writer, &h), 0);
	for (int i = 0; i < 20000 && !atomic_load(&g_hook_entered); i++)
		usleep(500);
	assert_true(atomic_load(&g_hook_entered));
	/* Committed and visible, but its fsync has not run: the caller must still be waiting. */
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&h.returned), 0);
	expect_body(f->s, f->a, "Observation", "held", 1, "{\"status\":\"final\"}", false);
	atomic_store(&g_hook_release, 1);
	pthread_join(th, NULL);
	assert_int_equal(h.rc, JL_OK);

	/* durable_later (a bulk load's batch): acknowledged at its commit, while its fsync is still held. */
	atomic_store(&g_hook_release, 0);
	atomic_store(&g_hook_done, 0);
	jl_write_t lz = mk(JL_WRITE_CREATE, "Observation", "lazy", "{\"status\":\"final\"}");
	lz.durable_later = true;
	assert_int_equal(put1(f->s, &lz), JL_OK);
	assert_int_equal(atomic_load(&g_hook_done), 0);
	atomic_store(&g_hook_release, 1);
	for (int i = 0; i < 20000 && !atomic_load(&g_hook_done); i++)
		usleep(500);
	assert_true(atomic_load(&g_hook_done));

	/* A failed fsync: the write is not reported stored, and the store refuses writes from then on. */
	atomic_store(&g_hook_fail, 1);
	jl_write_t w = mk(JL_WRITE_CREATE, "Observation", "lost", "{\"status\":\"final\"}");
	assert_int_equal(put1(f->s, &w), JL_EIO);
	jl__sqvfs_set_sync_hook(NULL);
	w = mk(JL_WRITE_CREATE, "Observation", "after", "{\"status\":\"final\"}");
	assert_int_equal(put1(f->s, &w), JL_EIO);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Observation"), JL_STR("after"), 0, &v), JL_ENOTFOUND);
	/* Reopened, the acknowledged writes are there. */
	jl_store_close(f->s);
	f->s = open_store(f->dir, 0);
	expect_body(f->s, f->a, "Observation", "held", 1, "{\"status\":\"final\"}", false);
	expect_body(f->s, f->a, "Observation", "warm", 1, "{\"status\":\"final\"}", false);
	(void)ok_write(f->s, JL_WRITE_CREATE, "Observation", "again", "{\"status\":\"final\"}");
}

/* ---- ids by target hash ----------------------------------------------------- */

static void test_ids_of(void **state)
{
	fx_t *f = *state;
	(void)ok_write(f->s, JL_WRITE_CREATE, "Patient", "p1", "{\"gender\":\"male\"}");
	(void)ok_write(f->s, JL_WRITE_CREATE, "Patient", "p2", "{\"gender\":\"female\"}");
	(void)ok_write(f->s, JL_WRITE_CREATE, "Patient", "gone", "{}");
	(void)ok_write(f->s, JL_WRITE_DELETE, "Patient", "gone", NULL);
	(void)ok_write(f->s, JL_WRITE_CREATE, "Observation", "p1", "{\"status\":\"final\"}");
	int64_t th[5] = {jl_store_target2(JL_STR("Patient"), JL_STR("p2")), jl_store_target2(JL_STR("Patient"), JL_STR("gone")),
			 jl_store_target2(JL_STR("Patient"), JL_STR("nobody")),
			 jl_store_target2(JL_STR("Observation"), JL_STR("p1")), jl_store_target2(JL_STR("Patient"), JL_STR("p1"))};
	jl_str_t ids[5];
	assert_int_equal(jl_store_ids_of(f->s, f->a, JL_STR("Patient"), th, 5, ids), JL_OK);
	assert_true(jl_str_eqc(ids[0], "p2"));
	assert_int_equal(ids[1].n, 0); /* deleted */
	assert_int_equal(ids[2].n, 0); /* never stored */
	assert_int_equal(ids[3].n, 0); /* another type's hash */
	assert_true(jl_str_eqc(ids[4], "p1"));
	/* A type never stored, and nothing asked. */
	assert_int_equal(jl_store_ids_of(f->s, f->a, JL_STR("Encounter"), th, 5, ids), JL_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ids[i].n, 0);
	assert_int_equal(jl_store_ids_of(f->s, f->a, JL_STR("Patient"), NULL, 0, NULL), JL_OK);
	assert_int_equal(jl_store_ids_of(f->s, f->a, JL_STR(""), th, 5, ids), JL_EINVAL);
}

/* Replaces a stored body (and enc) behind the store's back, with the store closed. */
static void tamper(fx_t *f, const char *id, int enc, const void *body, size_t n)
{
	jl_store_close(f->s);
	f->s = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "UPDATE ver SET enc = ?1, body = ?2 WHERE updated ="
					    " (SELECT updated FROM res WHERE lid = ?3)",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, enc);
	sqlite3_bind_blob(st, 2, body, (int)n, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	f->s = open_store(f->dir, 0);
}

static void test_corrupt_bodies(void **state)
{
	fx_t *f = *state;
	char body[1000];
	for (size_t i = 0; i < sizeof body - 1; i++)
		body[i] = "abcdefgh"[i % 8];
	body[sizeof body - 1] = 0;
	const char *ids[] = {"flip", "trunc", "huge", "enc", "unknownsize"};
	for (size_t i = 0; i < 5; i++)
		ok_write(f->s, JL_WRITE_CREATE, "Binary", ids[i], body);

	/* A valid frame, then damaged. */
	char frame[2048];
	size_t fn = ZSTD_compress(frame, sizeof frame, body, sizeof body - 1, 3);
	assert_false(ZSTD_isError(fn));
	frame[fn / 2] ^= 0x5a;
	frame[fn - 2] ^= 0x33;
	tamper(f, "flip", 1, frame, fn);
	fn = ZSTD_compress(frame, sizeof frame, body, sizeof body - 1, 3);
	tamper(f, "trunc", 1, frame, fn / 2);
	/* A frame that declares more than the cap. */
	size_t hn = ((size_t)64 << 20) + 1;
	char *zeros = jl_calloc(JL_MEM_MISC, 1, hn);
	size_t cap = ZSTD_compressBound(hn);
	char *hz = jl_malloc(JL_MEM_MISC, cap);
	size_t hzn = ZSTD_compress(hz, cap, zeros, hn, 1);
	assert_false(ZSTD_isError(hzn));
	tamper(f, "huge", 1, hz, hzn);
	jl_free(JL_MEM_MISC, zeros);
	jl_free(JL_MEM_MISC, hz);
	tamper(f, "enc", 7, body, 10);
	/* A streamed frame does not declare its size: refused rather than guessed. */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	fn = ZSTD_compress2(cc, frame, sizeof frame, body, sizeof body - 1);
	ZSTD_freeCCtx(cc);
	assert_false(ZSTD_isError(fn));
	tamper(f, "unknownsize", 1, frame, fn);

	for (size_t i = 0; i < 5; i++) {
		jl_version_t v;
		assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Binary"), jl_cstr(ids[i]), 0, &v), JL_EIO);
	}
	jl_hist_page_t p;
	jl_hist_query_t q = {.type = JL_STR("Binary"), .count = 10};
	assert_int_equal(jl_store_history(f->s, f->a, &q, &p), JL_EIO);
}

/* ---- export scan --------------------------------------------------------- */

typedef struct scanned {
	char items[32][48]; /* "Type/id/ver/body" */
	int n;
	int64_t snapshot;
	jl_store_t *s;      /* when set, the callback writes a resource after the first item */
	int stop_after;     /* > 0: the callback fails with JL_ETIMEOUT after this many items */
	int bad_bodies;
} scanned_t;

static jl_rc scan_begin(void *arg, int64_t snapshot_us)
{
	((scanned_t *)arg)->snapshot = snapshot_us;
	return JL_OK;
}

static jl_rc scan_item(void *arg, const jl_version_t *v, jl_rc body_rc)
{
	scanned_t *sc = arg;
	if (body_rc) {
		assert_int_equal(body_rc, JL_EIO);
		assert_int_equal(v->body.n, 0);
		sc->bad_bodies++;
	}
	if (sc->n < 32)
		snprintf(sc->items[sc->n], sizeof sc->items[0], "%.*s/%.*s/%lld/%.*s", JL_STR_FMT(v->type),
			 JL_STR_FMT(v->id), (long long)v->ver, JL_STR_FMT(v->body));
	sc->n++;
	if (sc->s && sc->n == 1) {
		/* Written and committed while the scan runs: outside its snapshot. */
		jl_write_t w = mk(JL_WRITE_CREATE, "Observation", "during", "{\"d\":1}");
		assert_int_equal(jl_store_write(sc->s, &w, 1, 0), JL_OK);
	}
	return sc->stop_after && sc->n >= sc->stop_after ? JL_ETIMEOUT : JL_OK;
}

static void expect_scan(const scanned_t *sc, const char *const *want, int n)
{
	for (int i = 0; i < n && i < sc->n; i++)
		if (strcmp(sc->items[i], want[i]))
			fail_msg("item %d: got %s, want %s", i, sc->items[i], want[i]);
	assert_int_equal(sc->n, n);
}

/* A write with one reference index row (key k, to Patient/<to>), as the search layer would make it. */
static int64_t write_ref(jl_store_t *s, int kind, const char *type, const char *id, const char *body, int64_t k,
			 const char *to, int64_t old_ver)
{
	jl_ix_row_t row = {.table = JL_IX_REF, .k = k, .target = jl_store_target2(JL_STR("Patient"), jl_cstr(to))};
	jl_ix_rows_t rows = {.rows = &row, .n = 1, .cap = 1};
	jl_write_t w = mk(kind, type, id, body);
	w.create_ok = true;
	w.index = true;
	w.ix = &rows;
	w.ix_old = old_ver ? &rows : NULL;
	w.ix_old_ver = old_ver;
	assert_int_equal(jl_store_write(s, &w, 1, 0), JL_OK);
	return w.updated_us;
}

static void test_scan(void **state)
{
	fx_t *f = *state;
	const int64_t SUBJ = 4242, PERF = 4343;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "p1", "{\"a\":1}");
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "p2", "{\"a\":2}");
	write_ref(f->s, JL_WRITE_CREATE, "Observation", "o1", "{\"o\":1}", SUBJ, "p1", 0);
	write_ref(f->s, JL_WRITE_CREATE, "Observation", "o2", "{\"o\":2}", PERF, "p2", 0);
	write_ref(f->s, JL_WRITE_CREATE, "Observation", "o3", "{\"o\":3}", SUBJ, "nobody", 0); /* no such patient */
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "o4", "{\"o\":4}");
	ok_write(f->s, JL_WRITE_DELETE, "Observation", "o4", NULL);
	int64_t u = write_ref(f->s, JL_WRITE_UPDATE, "Observation", "o1", "{\"o\":11}", SUBJ, "p1", 1);
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "p3", "{\"a\":3}");
	int64_t last = ok_write(f->s, JL_WRITE_DELETE, "Patient", "p2", NULL).updated_us;

	/* Every type, in storage (last-updated) order; deleted resources are not exported. */
	scanned_t sc = {0};
	jl_scan_query_t q = {.begin = scan_begin};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Patient/p1/1/{\"a\":1}", "Observation/o2/1/{\"o\":2}",
					   "Observation/o3/1/{\"o\":3}", "Observation/o1/2/{\"o\":11}", "Patient/p3/1/{\"a\":3}"},
		    5);
	assert_int_equal(sc.snapshot, last);

	/* Only the types asked for; _since keeps versions at or after the instant. */
	memset(&sc, 0, sizeof sc);
	jl_scan_type_t t2[] = {{.type = JL_STR("Patient")}, {.type = JL_STR("Observation")}, {.type = JL_STR("Nothing")}};
	q = (jl_scan_query_t){.types = t2, .ntypes = 3, .since_us = u};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Observation/o1/2/{\"o\":11}", "Patient/p3/1/{\"a\":3}"}, 2);

	/* A compartment as REF terms to given patients (the same targets: one index access). */
	int64_t targets[] = {jl_store_target2(JL_STR("Patient"), JL_STR("p1")),
			     jl_store_target2(JL_STR("Patient"), JL_STR("p2"))};
	jl_sq_term_t refs[] = {{.kind = JL_SQ_REF, .k = SUBJ, .targets = targets, .ntargets = 2},
			       {.kind = JL_SQ_REF, .k = PERF, .targets = targets, .ntargets = 2}};
	jl_sq_cond_t cref = {.terms = refs, .nterms = 2};
	jl_scan_type_t t3 = {.type = JL_STR("Observation"), .conds = &cref, .nconds = 1};
	memset(&sc, 0, sizeof sc);
	q = (jl_scan_query_t){.types = &t3, .ntypes = 1};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Observation/o2/1/{\"o\":2}", "Observation/o1/2/{\"o\":11}"}, 2);

	/* Every live patient's compartment, as chained terms: o2's patient was deleted, o3's never existed. */
	jl_sq_query_t patients = {.type = JL_STR("Patient")};
	jl_sq_term_t chains[] = {{.kind = JL_SQ_CHAIN, .k = SUBJ, .sub = &patients},
				 {.kind = JL_SQ_CHAIN, .k = PERF, .sub = &patients}};
	jl_sq_cond_t cchain = {.terms = chains, .nterms = 2};
	t3.conds = &cchain;
	memset(&sc, 0, sizeof sc);
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Observation/o1/2/{\"o\":11}"}, 1);

	/* Conditions per type in one pass: Observations in a patient's compartment, every Patient. */
	jl_scan_type_t t5[] = {{.type = JL_STR("Observation"), .conds = &cchain, .nconds = 1}, {.type = JL_STR("Patient")}};
	memset(&sc, 0, sizeof sc);
	q = (jl_scan_query_t){.types = t5, .ntypes = 2};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Patient/p1/1/{\"a\":1}", "Observation/o1/2/{\"o\":11}", "Patient/p3/1/{\"a\":3}"},
		    3);

	/* One snapshot: a write committed during the scan is not seen by it. */
	memset(&sc, 0, sizeof sc);
	sc.s = f->s;
	jl_scan_type_t t4 = {.type = JL_STR("Observation")};
	q = (jl_scan_query_t){.types = &t4, .ntypes = 1, .begin = scan_begin};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	assert_int_equal(sc.n, 3);
	assert_int_equal(sc.snapshot, last);
	sc.s = NULL;
	sc.n = 0;
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	assert_int_equal(sc.n, 4);

	/* The callback's failure ends the scan and is returned. */
	memset(&sc, 0, sizeof sc);
	sc.stop_after = 2;
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_ETIMEOUT);
	assert_int_equal(sc.n, 2);

	/* Bad queries. */
	jl_scan_type_t bad = {.type = JL_STR_NULL};
	q = (jl_scan_query_t){.types = &bad, .ntypes = 1};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_EINVAL);
	q = (jl_scan_query_t){.since_us = -1};
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_EINVAL);
}

/* ---- staged index runs (bulk loads) ---------------------------------------- */

static jl_store_t *open_bulk(const char *dir, bool bulk)
{
	return open_cfg(&(jl_store_cfg_t){.dir = dir, .bulk = bulk});
}

/* Observations o<i> (i in [from, to)) of patient p<i % 7>, one call of staging writes. */
static void write_staged(jl_store_t *s, int from, int to, bool stage)
{
	int n = to - from;
	jl_write_t *w = jl_calloc(JL_MEM_MISC, (size_t)n, sizeof *w);
	jl_ix_row_t *rows = jl_calloc(JL_MEM_MISC, (size_t)n * 3, sizeof *rows);
	jl_ix_rows_t *sets = jl_calloc(JL_MEM_MISC, (size_t)n, sizeof *sets);
	char (*ids)[16] = jl_calloc(JL_MEM_MISC, (size_t)n, sizeof *ids), (*pats)[16] = jl_calloc(JL_MEM_MISC, (size_t)n, sizeof *pats);
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], sizeof ids[i], "o%d", from + i);
		snprintf(pats[i], sizeof pats[i], "p%d", (from + i) % 7);
		jl_ix_row_t *r = &rows[3 * i];
		r[0] = (jl_ix_row_t){.table = JL_IX_REF, .k = 11, .target = jl_store_target2(JL_STR("Patient"), jl_cstr(pats[i]))};
		r[1] = (jl_ix_row_t){.table = JL_IX_TOKEN, .k = 12, .s = (from + i) % 3};
		r[2] = (jl_ix_row_t){.table = JL_IX_STRING, .k = 13, .v = jl_cstr(ids[i])};
		sets[i] = (jl_ix_rows_t){.rows = r, .n = 3, .cap = 3};
		w[i] = mk(JL_WRITE_CREATE, "Observation", ids[i], "{\"o\":1}");
		w[i].create_ok = true;
		w[i].index = true;
		w[i].stage = stage;
		w[i].ix = &sets[i];
	}
	assert_int_equal(jl_store_write(s, w, (size_t)n, 0), JL_OK);
	jl_free(JL_MEM_MISC, w);
	jl_free(JL_MEM_MISC, rows);
	jl_free(JL_MEM_MISC, sets);
	jl_free(JL_MEM_MISC, ids);
	jl_free(JL_MEM_MISC, pats);
}

/* How many Observations of patient p<pat> a search finds. */
static int64_t count_of(jl_store_t *s, jl_arena_t *a, const char *pat)
{
	int64_t target = jl_store_target2(JL_STR("Patient"), jl_cstr(pat));
	jl_sq_term_t t = {.kind = JL_SQ_REF, .table = JL_IX_REF, .k = 11, .targets = &target, .ntargets = 1};
	jl_sq_cond_t c = {.terms = &t, .nterms = 1};
	jl_sq_query_t q = {.type = JL_STR("Observation"), .conds = &c, .nconds = 1, .total = true, .no_cursor = true};
	jl_sq_page_t page;
	assert_int_equal(jl_store_search(s, a, &q, &page, NULL), JL_OK);
	return page.total;
}

static int64_t stage_rows(fx_t *f)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	return db_int(path, "SELECT count(*) FROM ix_stage");
}

static int64_t th_index(fx_t *f)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	return db_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'res_th'");
}

/* Every index row of the database, in a canonical text (to compare two stores). */
static char *index_dump(const char *dir)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT group_concat(x, ';') FROM (SELECT 't' || k || ',' || rid || ',' || s AS x FROM ix_token"
					    " UNION ALL SELECT 'r' || k || ',' || target || ',' || rid FROM ix_ref"
					    " UNION ALL SELECT 's' || k || ',' || v || ',' || rid FROM ix_string"
					    " UNION ALL SELECT 'sr' || k || ',' || rid FROM ix_string INDEXED BY ix_string_r)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const char *txt = (const char *)sqlite3_column_text(st, 0);
	char *out = jl_strndup(JL_MEM_MISC, txt ? txt : "", txt ? strlen(txt) : 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/*
 * Closes the in-place store p and the fixture's, and checks that the
 * fixture's index, and the crash copy's, are row for row p's; removes the
 * two directories and reopens the fixture's store.
 */
static void same_index(fx_t *f, jl_store_t *p, const char *plain, const char *crash)
{
	jl_store_close(p);
	jl_store_close(f->s);
	f->s = NULL;
	char *want = index_dump(plain), *got = index_dump(f->dir), *crashed = index_dump(crash);
	assert_string_equal(got, want);
	assert_string_equal(crashed, want);
	jl_free(JL_MEM_MISC, want);
	jl_free(JL_MEM_MISC, got);
	jl_free(JL_MEM_MISC, crashed);
	rm_rf(plain);
	rm_rf(crash);
	f->s = open_store(f->dir, 0);
}

/*
 * A bulk store keeps the index rows of staging writes as runs; a search
 * has them merged first; a write that replaces an indexed version merges
 * before removing its old rows; closing merges the rest; and the index
 * ends exactly as in-place writes would have made it.
 */
static void test_staged_index(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = open_bulk(f->dir, true);
	write_staged(f->s, 0, 700, true);
	write_staged(f->s, 700, 1400, true);
	/* two runs of three tables, one chunk or more each, and the row that says res_th is dropped (an empty store) */
	assert_true(stage_rows(f) >= 7);
	assert_int_equal(th_index(f), 0);
	assert_int_equal(count_of(f->s, f->a, "p3"), 200); /* merged for the search, res_th built */
	assert_int_equal(stage_rows(f), 0);
	assert_int_equal(th_index(f), 1);

	/* Not staging (an HTTP write) in a bulk store: in place. Not a bulk store: in place too. */
	write_staged(f->s, 1400, 1407, false);
	assert_int_equal(stage_rows(f), 0);
	write_staged(f->s, 1407, 2100, true);
	assert_true(stage_rows(f) > 0);

	/* o1410 moves from p3 to p5: its old row is staged, so the update merges first and removes it. */
	jl_ix_row_t oldr[3] = {{.table = JL_IX_REF, .k = 11, .target = jl_store_target2(JL_STR("Patient"), JL_STR("p3"))},
			       {.table = JL_IX_TOKEN, .k = 12, .s = 1410 % 3},
			       {.table = JL_IX_STRING, .k = 13, .v = JL_STR("o1410")}};
	jl_ix_row_t newr[3] = {oldr[0], oldr[1], oldr[2]};
	newr[0].target = jl_store_target2(JL_STR("Patient"), JL_STR("p5"));
	jl_ix_rows_t olds = {.rows = oldr, .n = 3, .cap = 3}, news = {.rows = newr, .n = 3, .cap = 3};
	jl_write_t u = mk(JL_WRITE_UPDATE, "Observation", "o1410", "{\"o\":2}");
	u.index = u.stage = true;
	u.ix = &news;
	u.ix_old = &olds;
	u.ix_old_ver = 1;
	assert_int_equal(put1(f->s, &u), JL_OK);
	assert_int_equal(stage_rows(f), 3); /* the earlier runs merged; the update's own rows staged (a chunk per table) */
	assert_int_equal(count_of(f->s, f->a, "p3"), 299);
	assert_int_equal(count_of(f->s, f->a, "p5"), 301);

	/* Runs left at close are merged then; a crash copy (runs committed, never merged) merges at open. */
	write_staged(f->s, 2100, 2800, true);
	char crash[64];
	snprintf(crash, sizeof crash, "/tmp/jl-stagecrash-XXXXXX");
	assert_non_null(mkdtemp(crash));
	char cmd[256];
	snprintf(cmd, sizeof cmd, "cp %s/jianlian.db* %s/", f->dir, crash);
	assert_int_equal(system(cmd), 0);
	jl_store_close(f->s);
	f->s = open_bulk(f->dir, false);
	assert_int_equal(stage_rows(f), 0);
	assert_int_equal(count_of(f->s, f->a, "p3"), 399);
	jl_store_t *c = open_bulk(crash, false);
	assert_int_equal(count_of(c, f->a, "p3"), 399);
	jl_store_close(c);

	/* The same writes in place, in a fresh store: the same index, row for row. */
	char plain[64];
	snprintf(plain, sizeof plain, "/tmp/jl-stageplain-XXXXXX");
	assert_non_null(mkdtemp(plain));
	jl_store_t *p = open_bulk(plain, false);
	write_staged(p, 0, 700, false);
	write_staged(p, 700, 1400, false);
	write_staged(p, 1400, 1407, false);
	write_staged(p, 1407, 2100, false);
	u.stage = false;
	assert_int_equal(put1(p, &u), JL_OK);
	write_staged(p, 2100, 2800, false);
	same_index(f, p, plain, crash);
}

/* Rows of an index table (ref, token, date or string), counted by SQLite directly (staged rows are not there yet). */
static int64_t table_rows(fx_t *f, const char *table)
{
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	return db_int(path, !strcmp(table, "ix_ref")     ? "SELECT count(*) FROM ix_ref"
			    : !strcmp(table, "ix_token") ? "SELECT count(*) FROM ix_token"
			    : !strcmp(table, "ix_date")  ? "SELECT count(*) FROM ix_date"
							 : "SELECT count(*) FROM ix_string");
}

static int64_t merges_of(jl_store_t *s)
{
	jl_store_stats_t st;
	assert_int_equal(jl_store_stats(s, &st), JL_OK);
	return st.merges;
}

/* Waits (up to 10 s) for the writer's merge steps, which follow acknowledged groups, to bring the three tables to n rows. */
static bool wait_rows(fx_t *f, int64_t n)
{
	for (int i = 0; i < 10000; i++) {
		if (table_rows(f, "ix_ref") + table_rows(f, "ix_token") + table_rows(f, "ix_string") == n)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * An ordinary store (HTTP writes, no `stage` asked) stages its index rows
 * while no search is about: a search has them merged and the next groups
 * write in place; enough staged rows are merged between groups, a table a
 * step; a crash copy merges at open; index_in_place turns it off; and the
 * index ends row for row as in-place writes make it.
 */
static void test_staged_writes(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = open_cfg(&(jl_store_cfg_t){.dir = f->dir, .stage_rows = 1000});
	write_staged(f->s, 0, 300, false); /* 900 rows: staged, under the merge threshold */
	assert_true(stage_rows(f) >= 3);
	assert_int_equal(table_rows(f, "ix_ref"), 0);
	assert_int_equal(th_index(f), 1); /* only a bulk load defers res_th */
	assert_int_equal(count_of(f->s, f->a, "p3"), 43);
	assert_int_equal(stage_rows(f), 0);
	assert_int_equal(table_rows(f, "ix_ref"), 300);
	assert_int_equal(merges_of(f->s), 1);
	write_staged(f->s, 300, 310, false); /* a search was served a merge just now: in place */
	assert_int_equal(stage_rows(f), 0);
	assert_int_equal(table_rows(f, "ix_ref"), 310);

	/* A fresh handle stages again; crossing 1,000 rows starts a merge, one table after each group. */
	jl_store_close(f->s);
	f->s = open_cfg(&(jl_store_cfg_t){.dir = f->dir, .stage_rows = 1000});
	write_staged(f->s, 310, 610, false);
	assert_int_equal(table_rows(f, "ix_ref"), 310);
	write_staged(f->s, 610, 710, false); /* 1,200 rows staged, 400 a table: the first table merges after the group */
	assert_true(wait_rows(f, 3 * 310 + 400));
	assert_int_equal(merges_of(f->s), 0);
	jl_write_t m = {.kind = JL_WRITE_META, .id = JL_STR("test:step"), .body = JL_STR("1")};
	assert_int_equal(put1(f->s, &m), JL_OK); /* groups without index rows: a step after each */
	assert_int_equal(put1(f->s, &m), JL_OK);
	assert_true(wait_rows(f, 3 * 710));
	assert_int_equal(merges_of(f->s), 1);
	assert_int_equal(stage_rows(f), 0);
	write_staged(f->s, 710, 712, false);
	assert_true(stage_rows(f) > 0);
	/* Another process staging beside it (an import into a served directory): run numbers never collide. */
	jl_store_t *other = open_bulk(f->dir, true);
	write_staged(other, 712, 720, true);
	write_staged(f->s, 720, 730, false);
	jl_store_close(other); /* merges every run, the first handle's too */
	assert_int_equal(stage_rows(f), 0);
	write_staged(f->s, 730, 732, false);

	/* A crash copy with runs merges them at open. */
	char crash[64], cmd[256];
	snprintf(crash, sizeof crash, "/tmp/jl-stagewcrash-XXXXXX");
	assert_non_null(mkdtemp(crash));
	snprintf(cmd, sizeof cmd, "cp %s/jianlian.db* %s/", f->dir, crash);
	assert_int_equal(system(cmd), 0);
	jl_store_t *c = open_bulk(crash, false);
	assert_int_equal(count_of(c, f->a, "p3"), 105);
	jl_store_close(c);

	/* Open date ranges (a Period without a start or an end) survive the run's delta coding. */
	jl_ix_row_t dr[3] = {{.table = JL_IX_DATE, .k = 14, .ilo = INT64_MIN, .ihi = 1700000000000000},
			     {.table = JL_IX_DATE, .k = 14, .ilo = -5, .ihi = INT64_MAX},
			     {.table = JL_IX_DATE, .k = 15, .ilo = INT64_MIN, .ihi = INT64_MAX}};
	jl_ix_rows_t drs = {.rows = dr, .n = 3, .cap = 3};
	jl_write_t dw = mk(JL_WRITE_CREATE, "Observation", "open-dates", "{\"o\":1}");
	dw.create_ok = dw.index = true;
	dw.ix = &drs;
	assert_int_equal(put1(f->s, &dw), JL_OK);
	assert_int_equal(table_rows(f, "ix_date"), 0); /* staged */
	assert_int_equal(jl_store_finish_load(f->s), JL_OK);
	char dpath[128];
	snprintf(dpath, sizeof dpath, "%s/jianlian.db", f->dir);
	assert_int_equal(db_int(dpath, "SELECT count(*) FROM ix_date WHERE (k = 14 AND lo = -9223372036854775807 - 1"
				       " AND hi = 1700000000000000) OR (k = 14 AND lo = -5 AND hi = 9223372036854775807)"
				       " OR (k = 15 AND lo = -9223372036854775807 - 1 AND hi = 9223372036854775807)"),
			 3);

	/* index_in_place: nothing staged. The same writes give the same index, row for row. */
	char plain[64];
	snprintf(plain, sizeof plain, "/tmp/jl-stagewplain-XXXXXX");
	assert_non_null(mkdtemp(plain));
	jl_store_t *p = open_cfg(&(jl_store_cfg_t){.dir = plain, .index_in_place = true});
	write_staged(p, 0, 300, false);
	char ppath[128];
	snprintf(ppath, sizeof ppath, "%s/jianlian.db", plain);
	assert_int_equal(db_int(ppath, "SELECT count(*) FROM ix_stage"), 0);
	write_staged(p, 300, 310, false);
	write_staged(p, 310, 610, false);
	write_staged(p, 610, 710, false);
	write_staged(p, 710, 712, false);
	write_staged(p, 712, 720, false);
	write_staged(p, 720, 730, false);
	write_staged(p, 730, 732, false);
	same_index(f, p, plain, crash);
}

static jl_rc no_rows(void *arg, jl_arena_t *a, const jl_version_t *v, const jl_ix_rows_t **rows)
{
	(void)arg;
	(void)a;
	(void)v;
	*rows = NULL;
	return JL_OK;
}

/* A damaged run (a crash copy, then a bad chunk) does not stop the store: searches fail, a reindex recovers. */
static void test_staged_damaged(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = open_bulk(f->dir, true);
	write_staged(f->s, 0, 50, true);
	char copy[64], cmd[256], path[128];
	snprintf(copy, sizeof copy, "/tmp/jl-stagebad-XXXXXX");
	assert_non_null(mkdtemp(copy));
	snprintf(cmd, sizeof cmd, "cp %s/jianlian.db* %s/", f->dir, copy);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/jianlian.db", copy);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE ix_stage SET rows = x'ffffffffffffffffffffff' WHERE n > 0", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	jl_store_t *s = open_bulk(copy, false); /* opens (the merge failed and was logged) */
	jl_version_t v;
	assert_int_equal(jl_store_read(s, f->a, JL_STR("Observation"), JL_STR("o7"), 0, &v), JL_OK);
	int64_t target = jl_store_target2(JL_STR("Patient"), JL_STR("p0"));
	jl_sq_term_t t = {.kind = JL_SQ_REF, .table = JL_IX_REF, .k = 11, .targets = &target, .ntargets = 1};
	jl_sq_cond_t c = {.terms = &t, .nterms = 1};
	jl_sq_query_t q = {.type = JL_STR("Observation"), .conds = &c, .nconds = 1, .total = true, .no_cursor = true};
	jl_sq_page_t page;
	assert_int_equal(jl_store_search(s, f->a, &q, &page, NULL), JL_EIO);
	assert_int_equal(s->ops->reindex(s, no_rows, NULL, NULL, NULL), JL_OK);
	assert_int_equal(jl_store_search(s, f->a, &q, &page, NULL), JL_OK);
	assert_int_equal(page.total, 0); /* the rebuild made no rows (no_rows) */
	jl_store_close(s);
	assert_int_equal(db_int(path, "SELECT count(*) FROM ix_stage"), 0);
	assert_int_equal(db_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'res_th'"), 1);
	rm_rf(copy);
}

static void test_scan_corrupt_body(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Binary", "good1", "{\"g\":1}");
	ok_write(f->s, JL_WRITE_CREATE, "Binary", "bad", "{\"b\":1}");
	ok_write(f->s, JL_WRITE_CREATE, "Binary", "good2", "{\"g\":2}");
	tamper(f, "bad", 7, "xx", 2);
	scanned_t sc = {0};
	jl_scan_query_t q = {0};
	/* The corrupt body is reported to the callback, which lets the scan go on. */
	assert_int_equal(jl_store_scan(f->s, &q, scan_item, &sc), JL_OK);
	expect_scan(&sc, (const char *[]){"Binary/good1/1/{\"g\":1}", "Binary/bad/1/", "Binary/good2/1/{\"g\":2}"}, 3);
	assert_int_equal(sc.bad_bodies, 1);
}

/* ---- the body dictionary ------------------------------------------------ */

static void test_dictionary_frames(void **state)
{
	fx_t *f = *state;
	static const char body[] =
		",\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
		"observation-category\",\"code\":\"vital-signs\",\"display\":\"Vital Signs\"}]}],\"code\":{\"coding\":[{"
		"\"system\":\"http://loinc.org\",\"code\":\"8867-4\",\"display\":\"Heart rate\"}]},\"subject\":{"
		"\"reference\":\"Patient/p1\"},\"effectiveDateTime\":\"2024-05-01T08:30:00+08:00\",\"valueQuantity\":{"
		"\"value\":72,\"unit\":\"beats/minute\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}}";
	size_t n = sizeof body - 1;
	/* A small FHIR body: with the dictionary it stores in well under what plain zstd manages. */
	jl_write_t w = ok_write(f->s, JL_WRITE_CREATE, "Observation", "hr", body);
	int enc;
	int64_t len;
	stored_form(f, w.updated_us, &enc, &len);
	assert_int_equal(enc, 2);
	char plain[1024];
	size_t pn = ZSTD_compress(plain, sizeof plain, body, n, 3);
	assert_false(ZSTD_isError(pn));
	assert_true(len * 2 < (int64_t)pn);
	expect_body(f->s, f->a, "Observation", "hr", 1, body, false);
	/* Bodies written before the dictionary (enc 1, plain zstd) stay readable. */
	ok_write(f->s, JL_WRITE_CREATE, "Observation", "old", "{}");
	tamper(f, "old", 1, plain, pn);
	expect_body(f->s, f->a, "Observation", "old", 1, body, false);
	/* A frame under the wrong encoding is corrupt, never misread: plain frame as enc 2, dictionary frame as enc 1. */
	jl_version_t v;
	tamper(f, "old", 2, plain, pn);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Observation"), JL_STR("old"), 0, &v), JL_EIO);
	char path[128], *dict = jl_malloc(JL_MEM_MISC, 4096);
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM ver WHERE enc = 2 LIMIT 1", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	size_t dn = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(dn < 4096);
	memcpy(dict, sqlite3_column_blob(st, 0), dn);
	sqlite3_finalize(st);
	sqlite3_close(db);
	tamper(f, "old", 1, dict, dn);
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Observation"), JL_STR("old"), 0, &v), JL_EIO);
	jl_free(JL_MEM_MISC, dict);
}

/* ---- settings written with a call (JL_WRITE_META) ------------------------ */

static jl_write_t mk_meta(const char *key, const char *value)
{
	jl_write_t w = {.kind = JL_WRITE_META, .id = jl_cstr(key)};
	if (value)
		w.body = jl_cstr(value);
	return w;
}

static void expect_meta(fx_t *f, const char *key, const char *value)
{
	jl_str_t v;
	jl_rc rc = f->s->ops->meta_get(f->s, f->a, key, &v);
	if (!value) {
		assert_int_equal(rc, JL_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, JL_OK);
	assert_true(jl_str_eqc(v, value));
}

static void test_meta_write_atomic(void **state)
{
	fx_t *f = *state;
	/* A setting commits with the resources of its call … */
	jl_write_t w[3] = {mk(JL_WRITE_CREATE, "Patient", "m1", "{}"), mk(JL_WRITE_CREATE, "Patient", "m2", "{}"),
			   mk_meta("import:test", "{\"line\":2}")};
	assert_int_equal(jl_store_write(f->s, w, 3, 0), JL_OK);
	assert_int_equal(w[2].rc, JL_OK);
	assert_int_equal(w[2].ver, 0);
	expect_body(f->s, f->a, "Patient", "m2", 1, "{}", false);
	expect_meta(f, "import:test", "{\"line\":2}");
	/* … and rolls back with them: m1 exists, so this call fails as a whole. */
	jl_write_t x[2] = {mk(JL_WRITE_CREATE, "Patient", "m1", "{}"), mk_meta("import:test", "{\"line\":9}")};
	assert_int_equal(jl_store_write(f->s, x, 2, 0), JL_ECONFLICT);
	expect_meta(f, "import:test", "{\"line\":2}");
	/* A long value reads back as written: settings are never compressed. */
	jl_write_t y[1] = {mk_meta("import:other", "a value of 200 bytes or more is stored as written, never compressed: "
						   "0123456789012345678901234567890123456789012345678901234567890123456789"
						   "0123456789012345678901234567890123456789")};
	assert_int_equal(jl_store_write(f->s, y, 1, 0), JL_OK);
	expect_meta(f, "import:other", y[0].body.p);
	/* An empty value removes the setting; removing an absent one is not an error. */
	jl_write_t z[2] = {mk_meta("import:other", NULL), mk_meta("import:never", NULL)};
	assert_int_equal(jl_store_write(f->s, z, 2, 0), JL_OK);
	expect_meta(f, "import:other", NULL);
	/* Bad settings are refused before anything runs: a key of 65 bytes, a value over 1 MiB, index rows. */
	jl_write_t bad = mk_meta("k23456789012345678901234567890123456789012345678901234567890123456", "v");
	assert_int_equal(put1(f->s, &bad), JL_EINVAL);
	char *big = jl_malloc(JL_MEM_MISC, (1 << 20) + 2);
	memset(big, 'x', (1 << 20) + 1);
	big[(1 << 20) + 1] = 0;
	bad = mk_meta("import:big", big);
	assert_int_equal(put1(f->s, &bad), JL_ETOOBIG);
	jl_free(JL_MEM_MISC, big);
	jl_ix_rows_t rows = {0};
	bad = mk_meta("import:ix", "v");
	bad.index = true;
	bad.ix = &rows;
	assert_int_equal(put1(f->s, &bad), JL_EINVAL);
	expect_meta(f, "import:big", NULL);
	/* Settings survive a reopen (they are in the database, not in memory). */
	jl_store_close(f->s);
	f->s = open_store(f->dir, 0);
	expect_meta(f, "import:test", "{\"line\":2}");
}

static void test_deadline(void **state)
{
	fx_t *f = *state;
	jl_write_t w = mk(JL_WRITE_CREATE, "Patient", "late", "{}");
	assert_int_equal(jl_store_write(f->s, &w, 1, jl_mono_ns() - 1), JL_ETIMEOUT);
	assert_int_equal(w.rc, JL_ETIMEOUT);
	w = mk(JL_WRITE_CREATE, "Patient", "late", "{}");
	assert_int_equal(jl_store_write(f->s, &w, 1, 1), JL_ETIMEOUT);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("late"), 0, &v), JL_ENOTFOUND);
	/* A generous deadline is met. */
	w = mk(JL_WRITE_CREATE, "Patient", "late", "{}");
	assert_int_equal(jl_store_write(f->s, &w, 1, jl_mono_ns() + 10 * 1000000000LL), JL_OK);
}

typedef struct late_call {
	jl_store_t *s;
	jl_rc rc;
} late_call_t;

static void *blocked_writer(void *arg)
{
	late_call_t *c = arg;
	jl_write_t w = mk(JL_WRITE_CREATE, "Patient", "first", "{}");
	c->rc = jl_store_write(c->s, &w, 1, 0);
	return NULL;
}

static void test_deadline_while_queued(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "warm", "{}");
	/* Another process-level connection holds the write lock: the writer stalls in BEGIN IMMEDIATE. */
	char path[128];
	snprintf(path, sizeof path, "%s/jianlian.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	late_call_t first = {.s = f->s};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, blocked_writer, &first), 0);
	usleep(300 * 1000); /* let the writer take "first" and block (generous: sanitizers on a loaded machine) */

	jl_write_t w = mk(JL_WRITE_CREATE, "Patient", "queued", "{}");
	int64_t t0 = jl_mono_ns();
	assert_int_equal(jl_store_write(f->s, &w, 1, t0 + 50 * 1000000LL), JL_ETIMEOUT);
	int64_t waited = jl_mono_ns() - t0;
	assert_true(waited >= 50 * 1000000LL && waited < 2000 * 1000000LL); /* not the 5 s busy timeout */
	assert_int_equal(w.rc, JL_ETIMEOUT);

	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	pthread_join(th, NULL);
	assert_int_equal(first.rc, JL_OK);
	expect_body(f->s, f->a, "Patient", "first", 0, "{}", false);
	jl_version_t v;
	assert_int_equal(jl_store_read(f->s, f->a, JL_STR("Patient"), JL_STR("queued"), 0, &v), JL_ENOTFOUND);
}

/* ---- crash safety --------------------------------------------------------- */

typedef struct ack {
	int32_t k, i;
	int64_t ver;
} ack_t;

typedef struct crasher {
	jl_store_t *s;
	int fd, k;
} crasher_t;

static void *crash_writer(void *arg)
{
	crasher_t *c = arg;
	char id[32], body[96];
	for (int32_t i = 0;; i++) {
		snprintf(id, sizeof id, "c%d-%d", c->k, i % 50);
		snprintf(body, sizeof body, "{\"k\":%d,\"i\":%d}", c->k, i);
		jl_write_t w = mk(JL_WRITE_UPDATE, "Observation", id, body);
		w.create_ok = true;
		if (jl_store_write(c->s, &w, 1, 0))
			_exit(3);
		ack_t a = {c->k, i, w.ver};
		if (write(c->fd, &a, sizeof a) != sizeof a) /* atomic: smaller than PIPE_BUF */
			_exit(4);
	}
	return NULL;
}

/* kill -9 while four threads write: every acknowledged write must be there after reopening. */
static void test_kill9_keeps_acknowledged_writes(void **state)
{
	fx_t *f = *state;
	jl_store_close(f->s);
	f->s = NULL;
	static ack_t acks[200000];
	for (int round = 0; round < 3; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			jl_store_cfg_t cfg = {.dir = f->dir};
			jl_store_t *s;
			if (jl_store_open("sqlite", &cfg, &s, NULL))
				_exit(2);
			static crasher_t c[4];
			pthread_t th[4];
			for (int k = 0; k < 4; k++) {
				c[k] = (crasher_t){.s = s, .fd = p[1], .k = round * 10 + k};
				pthread_create(&th[k], NULL, crash_writer, &c[k]);
			}
			pause();
			_exit(0);
		}
		close(p[1]);
		/* The first acknowledgement, then the kill: on a loaded machine (sanitizers) opening the
		 * store can take longer than the delay, and a round without writes would test nothing. */
		size_t n = 0;
		ssize_t k;
		if (read(p[0], &acks[0], sizeof acks[0]) == sizeof acks[0])
			n = 1;
		usleep((useconds_t)(150 + round * 70) * 1000);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		while (n < sizeof acks / sizeof acks[0] && (k = read(p[0], &acks[n], sizeof acks[0])) == sizeof acks[0])
			n++;
		close(p[0]);
		assert_true(n > 0);

		f->s = open_store(f->dir, 0);
		char id[32], body[96];
		for (size_t i = 0; i < n; i++) {
			snprintf(id, sizeof id, "c%d-%d", acks[i].k, acks[i].i % 50);
			snprintf(body, sizeof body, "{\"k\":%d,\"i\":%d}", acks[i].k, acks[i].i);
			expect_body(f->s, f->a, "Observation", id, acks[i].ver, body, false);
			if (i % 256 == 0)
				jl_arena_reset(f->a);
		}
		jl_diag_t d;
		jl_diag_init(&d, f->a);
		assert_int_equal(jl_store_check(f->s, &d), JL_OK);
		print_message("    round %d: %zu acknowledged writes survived kill -9\n", round, n);
		jl_store_close(f->s);
		f->s = NULL;
		jl_arena_reset(f->a);
	}
}

/* Two writers on one directory (a second process, e.g. a repair tool) keep every invariant. */
static void test_two_handles_one_directory(void **state)
{
	fx_t *f = *state;
	jl_store_t *other = open_store(f->dir, 0);
	int64_t prev = 0;
	char id[16];
	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "x%d", i % 7);
		jl_write_t w = ok_write(i % 2 ? other : f->s, JL_WRITE_UPDATE, i % 3 ? "Patient" : "Group", id, "{}");
		assert_true(w.updated_us > prev);
		prev = w.updated_us;
	}
	jl_store_close(other);
	expect_count(f, "Patient", 7, 26);
	expect_count(f, "Group", 7, 14);
	jl_hist_page_t p = hist(f, NULL, NULL, 0, 0, 0, 100);
	assert_int_equal(p.n, 40);
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	assert_int_equal(jl_store_check(f->s, &d), JL_OK);
}

static void test_quiesce_then_busy(void **state)
{
	fx_t *f = *state;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "q", "{}");
	jl__store_sqlite_quiesce(f->s);
	jl__store_sqlite_quiesce(f->s); /* idempotent */
	jl_write_t w = mk(JL_WRITE_UPDATE, "Patient", "q", "{}");
	assert_int_equal(put1(f->s, &w), JL_EBUSY);
	assert_int_equal(w.rc, JL_EBUSY);
	expect_body(f->s, f->a, "Patient", "q", 0, "{}", false);
}

static void test_read_alloc_failure(void **state)
{
	fx_t *f = *state;
	char body[5000];
	for (size_t i = 0; i < sizeof body - 1; i++)
		body[i] = "{\"x\":[1,2,3]}"[i % 13];
	body[sizeof body - 1] = 0;
	ok_write(f->s, JL_WRITE_CREATE, "Patient", "m", body);
	ok_write(f->s, JL_WRITE_UPDATE, "Patient", "m", body);
	/* A fresh store, so the reader connection itself is allocated under failure too. */
	jl_store_close(f->s);
	f->s = NULL;
	f->s = open_store(f->dir, 0);
	int saw_ok = 0, saw_nomem = 0;
	for (int k = 0; k < 30; k++) {
		jl_arena_t *a = jl_arena_new(256, 0);
		assert_non_null(a);
		jl_version_t v;
		jl_hist_page_t p;
		jl_hist_query_t q = {.type = JL_STR("Patient"), .count = 5};
		jl_mem_fail_after(k, 1);
		jl_rc rc = jl_store_read(f->s, a, JL_STR("Patient"), JL_STR("m"), 0, &v);
		jl_rc hrc = jl_store_history(f->s, a, &q, &p);
		int64_t failures = jl_mem_failures();
		jl_mem_fail_after(-1, 0);
		if (failures) {
			assert_true(rc == JL_ENOMEM || rc == JL_OK);
			assert_true(hrc == JL_ENOMEM || hrc == JL_OK);
			assert_true(rc == JL_ENOMEM || hrc == JL_ENOMEM);
			saw_nomem++;
		} else {
			assert_int_equal(rc, JL_OK);
			assert_int_equal(hrc, JL_OK);
			assert_int_equal(v.body.n, sizeof body - 1);
			assert_int_equal(p.n, 2);
			saw_ok++;
		}
		jl_arena_free(a);
	}
	assert_true(saw_ok > 0 && saw_nomem > 0);
	expect_body(f->s, f->a, "Patient", "m", 0, body, false);
}

static void test_open_errors(void **state)
{
	fx_t *f = *state;
	jl_arena_t *a = f->a;
	jl_diag_t d;
	jl_store_t *s = NULL;
	jl_store_cfg_t cfg = {.dir = f->dir};

	jl_diag_init(&d, a);
	assert_int_equal(jl_store_open("oracle", &cfg, &s, &d), JL_EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_int_equal(jl_store_open("sqlite", NULL, &s, NULL), JL_EINVAL);

	/* A SQLite file that is not ours is refused and left untouched. */
	char dir2[128], path[160];
	snprintf(dir2, sizeof dir2, "%s/foreign", f->dir);
	snprintf(path, sizeof path, "%s/jianlian.db", dir2);
	assert_int_equal(mkdir(dir2, 0700), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cfg.dir = dir2;
	jl_diag_init(&d, a);
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, &d), JL_EINVAL);
	assert_true(d.n >= 1);

	/* A newer schema is refused. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE t; PRAGMA application_id = 1246512194;"
					  " PRAGMA user_version = 99",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	jl_diag_init(&d, a);
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, &d), JL_EUNSUPPORTED);

	/* Not a database at all. */
	FILE *fp = fopen(path, "wb");
	for (int i = 0; i < 200; i++)
		fputs("this is not a database file ", fp);
	fclose(fp);
	jl_diag_init(&d, a);
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, &d), JL_EIO);
	assert_null(s);
	rm_rf(dir2);

	/* A data directory that cannot be created. */
	cfg.dir = "/proc/jl-cannot-create/x";
	jl_diag_init(&d, a);
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, &d), JL_EIO);

	/* Nested directories are created. */
	snprintf(dir2, sizeof dir2, "%s/n1/n2", f->dir);
	cfg.dir = dir2;
	assert_int_equal(jl_store_open("sqlite", &cfg, &s, NULL), JL_OK);
	jl_store_close(s);
	rm_rf(dir2);
	snprintf(dir2, sizeof dir2, "%s/n1", f->dir);
	rm_rf(dir2);
	jl_store_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crud_and_vread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_and_preconditions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_on_update_and_delete_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_pool_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_1_to_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_3_to_4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_4_to_5, setup, teardown),
		cmocka_unit_test(test_present_bytes),
		cmocka_unit_test_setup_teardown(test_page_cache_wrapper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_stays_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_after_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_of, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_corrupt_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_while_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_keeps_acknowledged_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles_one_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiesce_then_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_alloc_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_if_match_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_write_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dictionary_frames, setup, teardown),
	};
	return cmocka_run_group_tests_name("store/sqlite", tests, NULL, NULL);
}
