/*
 * import_bench — bulk import of an NDJSON directory on this machine:
 *   (a) the import as `jianlian import` runs it: every search index, the
 *       error file, position records (resources/s, bytes on disk per
 *       resource, peak RSS, CPU seconds of the reading thread and of the
 *       store's writer thread);
 *   (b) ceilings in the same run: the same pipeline without search indexes,
 *       and the reading thread's work alone (read, parse, validate, index
 *       extraction, body encoding; no store).
 * Each figure is the median of RUNS runs into fresh data directories.
 *
 *   build/bench/import_bench DIR [RUNS] [BATCH] [--only a]
 * DIR holds NDJSON files (`jianlian gen --out DIR`). Prints one
 * "import-result:" line of key=value pairs for scripts/bench.sh.
 */
#include <dirent.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "ingest/import.h"
#include "ingest/reader.h"
#include "search/defs.h"
#include "search/index.h"

#define MAXRUNS 9

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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

/* CPU seconds of this process's threads: the calling thread, and all the others together. */
static void thread_cpu(double *self, double *others)
{
	*self = *others = 0;
	long hz = sysconf(_SC_CLK_TCK);
	pid_t me = (pid_t)syscall(SYS_gettid);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[320], buf[1024];
		snprintf(p, sizeof p, "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		/* Fields after the command (in parentheses): state is 3rd, utime 14th, stime 15th. */
		char *q = strrchr(buf, ')');
		unsigned long ut = 0, st = 0;
		if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			continue;
		double s = (double)(ut + st) / (double)hz;
		if (strtol(e->d_name, NULL, 10) == me)
			*self += s;
		else
			*others += s;
	}
	if (d)
		closedir(d);
}

typedef struct result {
	double secs, rate, bytes_per, main_cpu, writer_cpu;
	int64_t resources, rejected;
} result_t;

static int64_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* One import into a fresh directory; with_index false: no search indexing (the ceiling). */
static int run_import(const char *src, uint32_t batch, bool with_index, result_t *r)
{
	char data[] = "/tmp/jl-import-bench-XXXXXX";
	if (!mkdtemp(data))
		return 1;
	char errors[128];
	snprintf(errors, sizeof errors, "%s/errors.ndjson", data);
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	jl_search_defs_t *defs = NULL;
	jl_import_t *im = NULL;
	int rc = 1;
	jl_store_cfg_t sc = {.dir = data, .readers = 2, .bulk = true}; /* as `jianlian import` opens it */
	/* As `jianlian import` does: the (empty) index is marked as built with these definitions. */
	if (jl_store_open("sqlite", &sc, &s, &d) != JL_OK || (with_index && jl_search_defs_new(&defs, s, &d) != JL_OK) ||
	    (with_index && jl_search_check_index(defs, s) != JL_OK && jl_search_reindex(defs, s, NULL, NULL) != JL_OK)) {
		fprintf(stderr, "import_bench: cannot open a store in %s\n", data);
		goto out;
	}
	jl_import_cfg_t cfg = {.store = s, .defs = defs, .batch = batch, .errors_path = errors};
	if (jl_import_new(&cfg, &im) != JL_OK || jl_import_add_path(im, src, &d) != JL_OK) {
		fprintf(stderr, "import_bench: cannot read %s\n", src);
		goto out;
	}
	double c0_self, c0_other, c1_self, c1_other;
	thread_cpu(&c0_self, &c0_other);
	int64_t t0 = jl_mono_ns();
	jl_rc irc = jl_import_run(im, &d);
	int64_t t1 = jl_mono_ns();
	thread_cpu(&c1_self, &c1_other);
	if (irc) {
		fprintf(stderr, "import_bench: the import failed (%s)\n", jl_rc_name(irc));
		goto out;
	}
	const jl_import_stats_t *st = jl_import_stats(im);
	r->resources = st->written;
	r->rejected = st->rejected;
	r->secs = (double)(t1 - t0) / 1e9;
	r->rate = (double)st->read / r->secs;
	r->main_cpu = c1_self - c0_self;
	r->writer_cpu = c1_other - c0_other;
	jl_import_free(im);
	im = NULL;
	jl_store_close(s); /* checkpoints: the database is one file again */
	s = NULL;
	char db[128];
	snprintf(db, sizeof db, "%s/jianlian.db", data);
	r->bytes_per = (double)file_size(db) / (double)(r->resources ? r->resources : 1);
	rc = 0;
out:
	jl_import_free(im);
	jl_store_close(s);
	jl_search_defs_free(defs);
	jl_arena_free(a);
	rm_rf(data);
	return rc;
}

/* The reading thread's work alone: every line read, parsed, validated, indexed and encoded; nothing stored. */
static int run_prepare_only(const char *src, result_t *r)
{
	jl_arena_t *a = jl_arena_new(0, 0), *scratch = jl_arena_new(1 << 16, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	char data[] = "/tmp/jl-import-bench-XXXXXX";
	jl_store_t *s = NULL;
	jl_search_defs_t *defs = NULL;
	jl_import_t *lister = NULL;
	jl_buf_t body;
	jl_buf_init(&body, JL_MEM_MISC, 0);
	int rc = 1;
	jl_store_cfg_t sc = {.dir = data};
	if (!mkdtemp(data) || jl_store_open("sqlite", &sc, &s, &d) != JL_OK || jl_search_defs_new(&defs, s, &d) != JL_OK)
		goto out;
	jl_import_cfg_t cfg = {0};
	if (jl_import_new(&cfg, &lister) != JL_OK || jl_import_add_path(lister, src, &d) != JL_OK)
		goto out;
	int64_t n = 0, t0 = jl_mono_ns();
	for (size_t i = 0; i < jl_import_nfiles(lister); i++) {
		const char *path = jl_import_file(lister, i)->path;
		const jl_import_format_t *fmt = jl_import_format_for(path);
		jl_import_reader_t *rd;
		if (fmt->open(path, 0, 0, &rd, &d) != JL_OK)
			goto out;
		jl_import_item_t it;
		while (fmt->next(rd, &it, &d) == JL_OK) {
			jl_json_t *res;
			jl_json_err_t e;
			jl_json_opts_t o = {.max_depth = 128};
			if (jl_json_parse(scratch, it.text.p, it.text.n, &o, &res, &e) == JL_OK) {
				const jl_fhir_type_t *t = jl_fhir_resource(jl_json_str(jl_json_get(res, "resourceType")));
				jl_ix_rows_t rows;
				uint32_t ml;
				jl_buf_clear(&body);
				if (t && jl_fhir_validate(res, t, &d) == JL_OK &&
				    jl_index_extract(defs, scratch, res, t, &rows, NULL) == JL_OK &&
				    jl_fhir_body_encode(res, &body, &ml) == JL_OK)
					n++;
			}
			jl_diag_init(&d, a);
			jl_arena_reset(scratch);
		}
		fmt->close(rd);
	}
	r->secs = (double)(jl_mono_ns() - t0) / 1e9;
	r->resources = n;
	r->rate = (double)n / r->secs;
	rc = 0;
out:
	jl_import_free(lister);
	jl_search_defs_free(defs);
	jl_store_close(s);
	jl_buf_dispose(&body);
	jl_arena_free(scratch);
	jl_arena_free(a);
	rm_rf(data);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: import_bench DIR [RUNS] [BATCH] [--only a]\n");
		return 2;
	}
	const char *src = argv[1];
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	uint32_t batch = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
	bool only_a = argc > 4 && !strcmp(argv[4], "--only");
	if (runs < 1 || runs > MAXRUNS)
		runs = 3;
	printf("machine: %ld cores (nproc); figures from a shared machine vary by ±20 %%\n", sysconf(_SC_NPROCESSORS_ONLN));
	double rate[MAXRUNS], bpr[MAXRUNS], mcpu[MAXRUNS], wcpu[MAXRUNS], secs[MAXRUNS];
	int64_t resources = 0;
	for (int i = 0; i < runs; i++) {
		result_t r;
		if (run_import(src, batch, true, &r))
			return 1;
		rate[i] = r.rate;
		bpr[i] = r.bytes_per;
		mcpu[i] = r.main_cpu;
		wcpu[i] = r.writer_cpu;
		secs[i] = r.secs;
		resources = r.resources;
		printf("  (a) run %d: %lld resources in %.2f s = %.0f/s, %.0f bytes/resource, CPU: reading thread %.2f s, "
		       "writer %.2f s\n",
		       i + 1, (long long)r.resources, r.secs, r.rate, r.bytes_per, r.main_cpu, r.writer_cpu);
		fflush(stdout);
	}
	double a_rate = median(rate, runs), a_bpr = median(bpr, runs), a_m = median(mcpu, runs),
	       a_w = median(wcpu, runs), a_s = median(secs, runs);
	double b_rate = 0, b_w = 0, c_rate = 0;
	if (!only_a) {
		for (int i = 0; i < runs; i++) {
			result_t r;
			if (run_import(src, batch, false, &r))
				return 1;
			rate[i] = r.rate;
			wcpu[i] = r.writer_cpu;
			printf("  (b) run %d, no search index: %.0f/s, writer %.2f s\n", i + 1, r.rate, r.writer_cpu);
		}
		b_rate = median(rate, runs);
		b_w = median(wcpu, runs);
		for (int i = 0; i < runs; i++) {
			result_t r;
			if (run_prepare_only(src, &r))
				return 1;
			rate[i] = r.rate;
			printf("  (c) run %d, reading thread alone (no store): %.0f/s\n", i + 1, r.rate);
		}
		c_rate = median(rate, runs);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("import-result: resources=%lld secs=%.2f rate=%.0f bytes_per_resource=%.0f main_cpu=%.2f writer_cpu=%.2f "
	       "noindex_rate=%.0f noindex_writer_cpu=%.2f prepare_rate=%.0f peak_rss_mb=%ld\n",
	       (long long)resources, a_s, a_rate, a_bpr, a_m, a_w, b_rate, b_w, c_rate, ru.ru_maxrss / 1024);
	return 0;
}
