/*
 * Unit tests for bulk import (ingest/import.c, ingest/reader.c): NDJSON
 * lines (CRLF, BOM, blank lines, no final newline), gzip input, the error
 * file (where and why, never the content), position records committed with
 * the batches, resuming after a stop at any point without duplicates or
 * lost lines, skipping completed files, directories, and a corrupt .gz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/import.h"
#include "search/defs.h"

typedef struct fx {
	char dir[64];
	char data[96], errors[96];
	jl_arena_t *a;
	jl_store_t *s;
	jl_search_defs_t *defs;
} fx_t;

static void write_file(const fx_t *f, const char *name, const char *text)
{
	char p[160];
	snprintf(p, sizeof p, "%s/%s", f->dir, name);
	FILE *o = fopen(p, "wb");
	assert_non_null(o);
	assert_int_equal(fwrite(text, 1, strlen(text), o), strlen(text));
	fclose(o);
}

static void write_gz(const fx_t *f, const char *name, const char *text, size_t cut)
{
	char p[160];
	snprintf(p, sizeof p, "%s/%s", f->dir, name);
	gzFile z = gzopen(p, "wb");
	assert_non_null(z);
	assert_int_equal(gzwrite(z, text, (unsigned)strlen(text)), (int)strlen(text));
	gzclose(z);
	if (cut) {
		/* A truncated download: the last `cut` bytes are missing. */
		FILE *o = fopen(p, "rb+");
		fseek(o, 0, SEEK_END);
		long n = ftell(o);
		fclose(o);
		assert_int_equal(truncate(p, n - (long)cut), 0);
	}
}

static void fx_open(fx_t *f)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/jl-import-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof f->data, "%s/data", f->dir);
	snprintf(f->errors, sizeof f->errors, "%s/errors.ndjson", f->dir);
	f->a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	jl_store_cfg_t sc = {.dir = f->data};
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

typedef struct run {
	jl_rc rc;
	jl_import_stats_t st;
	jl_import_file_t files[8];
	size_t n;
} run_t;

/* Imports the named inputs (relative to the fixture's directory); cancel may be NULL. */
static run_t import(fx_t *f, const char *const *names, size_t n, uint32_t batch, bool restart, atomic_bool *cancel)
{
	run_t r = {0};
	jl_import_cfg_t cfg = {.store = f->s, .defs = f->defs, .batch = batch, .restart = restart,
			       .errors_path = f->errors, .cancel = cancel};
	jl_import_t *im;
	assert_int_equal(jl_import_new(&cfg, &im), JL_OK);
	jl_diag_t d;
	jl_diag_init(&d, f->a);
	for (size_t i = 0; i < n; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
		assert_int_equal(jl_import_add_path(im, p, &d), JL_OK);
	}
	r.rc = jl_import_run(im, &d);
	r.st = *jl_import_stats(im);
	r.n = jl_import_nfiles(im);
	for (size_t i = 0; i < r.n && i < 8; i++) {
		r.files[i] = *jl_import_file(im, i);
		r.files[i].path = NULL; /* owned by the import */
		r.files[i].error = r.files[i].error ? "error" : NULL;
	}
	jl_import_free(im);
	return r;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *o = fopen(path, "rb");
	if (!o) {
		*n = 0;
		return NULL;
	}
	fseek(o, 0, SEEK_END);
	long k = ftell(o);
	fseek(o, 0, SEEK_SET);
	char *b = jl_malloc(JL_MEM_MISC, (size_t)k + 1);
	assert_int_equal(fread(b, 1, (size_t)k, o), (size_t)k);
	b[k] = 0;
	fclose(o);
	*n = (size_t)k;
	return b;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int64_t version_of(fx_t *f, const char *type, const char *id)
{
	jl_version_t v;
	jl_rc rc = jl_store_read(f->s, f->a, jl_cstr(type), jl_cstr(id), 0, &v);
	return rc == JL_OK ? v.ver : rc == JL_ENOTFOUND ? 0 : -1;
}

static const char lines_a[] =
	"\xEF\xBB\xBF{\"resourceType\":\"Patient\",\"id\":\"a1\",\"gender\":\"female\"}\r\n"
	"{\"resourceType\":\"Patient\",\"id\":\"a2\",\"gender\":\"bogus\"}\n"
	"\n"
	"   \n"
	"{\"resourceType\":\"Patient\",\"id\":\"a3\",\"birthDate\":\"1980-13-45\",\"name\":[{\"family\":\"Secretname\"}]}\n"
	"not json\n"
	"{\"resourceType\":\"Observation\",\"id\":\"a4\",\"status\":\"final\",\"code\":{\"text\":\"bp\"}}"; /* no final newline */

static void test_lines_errors_and_skip(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	write_file(&f, "a.ndjson", lines_a);
	write_gz(&f, "b.ndjson.gz", "{\"resourceType\":\"Patient\",\"id\":\"b1\"}\n{\"resourceType\":\"Patient\",\"id\":\"b2\"}\n", 0);
	const char *names[] = {"a.ndjson", "b.ndjson.gz"};
	run_t r = import(&f, names, 2, 2, false, NULL);
	assert_int_equal(r.rc, JL_OK);
	assert_int_equal(r.st.read, 7);
	assert_int_equal(r.st.written, 4);
	assert_int_equal(r.st.rejected, 3); /* a2, a3, "not json" */
	assert_int_equal(r.files[0].lines, 7);
	assert_true(r.files[0].done && r.files[1].done);
	assert_int_equal(version_of(&f, "Patient", "a1"), 1);
	assert_int_equal(version_of(&f, "Observation", "a4"), 1);
	assert_int_equal(version_of(&f, "Patient", "b2"), 1);
	assert_int_equal(version_of(&f, "Patient", "a2"), 0);
	size_t n;
	char *e = slurp(f.errors, &n);
	assert_int_equal(count_lines(e), 3);
	/* Where and why, with the element's path; never the values (personal data). */
	assert_non_null(strstr(e, "\"line\":2,\"code\":\"code-invalid\""));
	assert_non_null(strstr(e, "\"expression\":\"Patient.gender\""));
	assert_non_null(strstr(e, "\"line\":5,"));
	assert_non_null(strstr(e, "\"expression\":\"Patient.birthDate\""));
	assert_non_null(strstr(e, "\"line\":6,\"code\":\"structure\""));
	assert_null(strstr(e, "bogus"));
	assert_null(strstr(e, "1980-13-45"));
	assert_null(strstr(e, "Secretname"));
	jl_free(JL_MEM_MISC, e);
	/* Again: both files are complete, so nothing is read and nothing changes. */
	r = import(&f, names, 2, 2, false, NULL);
	assert_int_equal(r.rc, JL_OK);
	assert_int_equal(r.st.read, 0);
	assert_true(r.files[0].skipped && r.files[1].skipped);
	assert_int_equal(r.files[0].rejected, 3);
	assert_int_equal(version_of(&f, "Patient", "a1"), 1);
	e = slurp(f.errors, &n);
	assert_int_equal(count_lines(e), 3);
	jl_free(JL_MEM_MISC, e);
	/* --restart imports everything again: update semantics add versions; the error file starts over. */
	r = import(&f, names, 2, 100, true, NULL);
	assert_int_equal(r.st.read, 7);
	assert_int_equal(version_of(&f, "Patient", "a1"), 2);
	e = slurp(f.errors, &n);
	assert_int_equal(count_lines(e), 3);
	jl_free(JL_MEM_MISC, e);
	fx_close(&f);
}

typedef struct canceller {
	atomic_bool *flag;
	long delay_us;
} canceller_t;

static void *cancel_later(void *arg)
{
	canceller_t *c = arg;
	struct timespec ts = {.tv_sec = c->delay_us / 1000000, .tv_nsec = (c->delay_us % 1000000) * 1000};
	nanosleep(&ts, NULL);
	atomic_store(c->flag, true);
	return NULL;
}

/*
 * Stopped at any point (here: cancelled after a varying delay), a re-run
 * continues after what was committed: every good line ends as exactly one
 * version and the error file lists every bad line exactly once.
 */
static void test_resume_after_stop(void **state)
{
	(void)state;
	enum { N = 3000, BAD_EVERY = 97 };
	static const long delays[] = {0, 500, 2000, 8000, 30000};
	for (size_t k = 0; k < sizeof delays / sizeof delays[0]; k++) {
		fx_t f;
		fx_open(&f);
		jl_buf_t b, g;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		jl_buf_init(&g, JL_MEM_MISC, 0);
		int bad = 0;
		for (int i = 1; i <= N; i++) {
			const char *gender = i % BAD_EVERY == 0 ? "nope" : "male";
			bad += i % BAD_EVERY == 0;
			jl_buf_printf(&b, "{\"resourceType\":\"Patient\",\"id\":\"r%d\",\"gender\":\"%s\"}\n", i, gender);
			jl_buf_printf(&g, "{\"resourceType\":\"Patient\",\"id\":\"g%d\",\"gender\":\"%s\"}\n", i, gender);
		}
		write_file(&f, "big.ndjson", b.p);
		write_file(&f, "copy.ndjson", b.p);
		write_gz(&f, "big2.ndjson.gz", g.p, 0);
		jl_buf_dispose(&b);
		jl_buf_dispose(&g);
		const char *names[] = {"big.ndjson", "copy.ndjson", "big2.ndjson.gz"};
		atomic_bool cancel = false;
		canceller_t c = {&cancel, delays[k]};
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
		run_t r = import(&f, names, 3, 64, false, &cancel);
		pthread_join(t, NULL);
		assert_true(r.rc == JL_OK || r.rc == JL_EBUSY);
		/* The copy has the same bytes as the first file: the same input, never read twice. */
		assert_true(r.files[1].duplicate);
		r = import(&f, names, 3, 64, false, NULL);
		assert_int_equal(r.rc, JL_OK);
		for (int j = 0; j < 3; j += 2) {
			assert_true(r.files[j].done);
			assert_int_equal(r.files[j].read, N);
			assert_int_equal(r.files[j].rejected, bad);
			assert_int_equal(r.files[j].written, N - bad);
		}
		for (int i = 1; i <= N; i += 7) {
			char id[16];
			snprintf(id, sizeof id, "r%d", i);
			assert_int_equal(version_of(&f, "Patient", id), i % BAD_EVERY ? 1 : 0);
			snprintf(id, sizeof id, "g%d", i);
			assert_int_equal(version_of(&f, "Patient", id), i % BAD_EVERY ? 1 : 0);
		}
		jl_store_stats_t st;
		assert_int_equal(jl_store_stats(f.s, &st), JL_OK);
		assert_int_equal(st.versions, 2 * (N - bad));
		size_t n;
		char *e = slurp(f.errors, &n);
		assert_int_equal(count_lines(e), 2 * bad);
		for (int i = BAD_EVERY; i <= N; i += BAD_EVERY)
			for (int j = 0; j < 3; j += 2) {
				char want[96];
				snprintf(want, sizeof want, "%s\",\"line\":%d,", names[j], i);
				char *p = strstr(e, want);
				assert_non_null(p);
				assert_null(strstr(p + 1, want)); /* once */
			}
		jl_free(JL_MEM_MISC, e);
		fx_close(&f);
	}
}

/* A directory stands for its NDJSON files in name order; a corrupt .gz fails that file only. */
static void test_directory_and_corrupt_gz(void **state)
{
	(void)state;
	fx_t f;
	fx_open(&f);
	char sub[128];
	snprintf(sub, sizeof sub, "%s/in", f.dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file(&f, "in/2.jsonl", "{\"resourceType\":\"Patient\",\"id\":\"d2\"}\n");
	write_file(&f, "in/1.ndjson", "{\"resourceType\":\"Patient\",\"id\":\"d1\"}\n");
	write_file(&f, "in/notes.txt", "not imported\n");
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	for (int i = 0; i < 2000; i++)
		jl_buf_printf(&b, "{\"resourceType\":\"Patient\",\"id\":\"z%d\",\"gender\":\"other\"}\n", i);
	write_gz(&f, "in/3.ndjson.gz", b.p, 40);
	jl_buf_dispose(&b);
	const char *names[] = {"in"};
	run_t r = import(&f, names, 1, 500, false, NULL);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rc, JL_EIO);
	assert_int_equal(r.st.files_failed, 1);
	assert_true(r.files[0].done && r.files[1].done);
	assert_non_null(r.files[2].error);
	assert_true(r.files[2].read > 0 && r.files[2].read < 2000);
	assert_int_equal(version_of(&f, "Patient", "d1"), 1);
	assert_int_equal(version_of(&f, "Patient", "d2"), 1);
	assert_int_equal(version_of(&f, "Patient", "z0"), 1);
	size_t n;
	char *e = slurp(f.errors, &n);
	assert_non_null(strstr(e, "3.ndjson.gz"));
	assert_non_null(strstr(e, "gzip"));
	jl_free(JL_MEM_MISC, e);
	/* Unknown formats and missing paths are refused when added. */
	jl_import_cfg_t cfg = {.store = f.s};
	jl_import_t *im;
	assert_int_equal(jl_import_new(&cfg, &im), JL_OK);
	jl_diag_t d;
	jl_diag_init(&d, f.a);
	char p[160];
	snprintf(p, sizeof p, "%s/in/notes.txt", f.dir);
	assert_int_equal(jl_import_add_path(im, p, &d), JL_EUNSUPPORTED);
	snprintf(p, sizeof p, "%s/missing.ndjson", f.dir);
	assert_int_equal(jl_import_add_path(im, p, &d), JL_ENOTFOUND);
	assert_int_equal(jl_import_nfiles(im), 0);
	jl_import_free(im);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_errors_and_skip),
		cmocka_unit_test(test_resume_after_stop),
		cmocka_unit_test(test_directory_and_corrupt_gz),
	};
	return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
