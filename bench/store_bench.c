/*
 * store_bench — what the SQLite store costs on this machine:
 *   (a) the ceiling: the same rows inserted with raw SQLite, 1000 per transaction;
 *   (b) write() from 1 and from 16 threads (writes/s, mean group size);
 *   (c) read() by id from 1 and 2 threads (reads/s, p50/p99 latency);
 *   (d) disk bytes per stored version for a ~1 KB FHIR Observation;
 *   (e) zstd cost and ratio on that body at levels 1 and 3 (the policy's input).
 * Short runs are repeated and the median printed.
 *
 *   build/bench/store_bench [SIZE|small|full] [PARTS]
 * SIZE scales every figure (small = 4000, about 10 s; full = 20000); PARTS
 * picks figures, e.g. "cd" to profile the read path alone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <sqlite3.h>
#include <zstd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/rand.h"
#include "base/time.h"
#include "store/sqlite.h"
#include "store/store.h"

#define RUNS 3
#define MAXT 16

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
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

static void tmpdir(char *out, size_t n)
{
	snprintf(out, n, "/tmp/jl-bench-XXXXXX");
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		exit(1);
	}
}

static jl_store_t *open_store(const char *dir, bool no_sync, int readers)
{
	jl_store_cfg_t cfg = {.dir = dir, .no_sync = no_sync, .readers = readers};
	jl_store_t *s = NULL;
	if (jl_store_open("sqlite", &cfg, &s, NULL)) {
		fprintf(stderr, "cannot open store in %s\n", dir);
		exit(1);
	}
	return s;
}

/* A realistic vital-signs Observation (about 1 KB), varied per row as real data is. */
static size_t observation(char *buf, size_t cap, const char *id, uint64_t k)
{
	char pat[37], enc[37], prac[37];
	jl_uuid_v7(1700000000000000 + (int64_t)(k % 5000) * 1000, pat);
	jl_uuid_v7(1700000000000000 + (int64_t)(k * 7 % 100000) * 1000, enc);
	jl_uuid_v7(1700000000000000 + (int64_t)(k % 300) * 1000, prac);
	int n = snprintf(
		buf, cap,
		"{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
		"\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":\"vital-signs\","
		"\"display\":\"Vital Signs\"}],\"text\":\"Vital Signs\"}],\"code\":{\"coding\":[{\"system\":"
		"\"http://loinc.org\",\"code\":\"85354-9\",\"display\":\"Blood pressure panel with all children "
		"optional\"}],\"text\":\"Blood pressure\"},\"subject\":{\"reference\":\"Patient/%s\"},"
		"\"encounter\":{\"reference\":\"Encounter/%s\"},\"effectiveDateTime\":\"2026-%02d-%02dT%02d:%02d:"
		"%02d+08:00\",\"issued\":\"2026-%02d-%02dT%02d:%02d:%02d.%03d+08:00\",\"performer\":[{"
		"\"reference\":\"Practitioner/%s\"}],\"interpretation\":[{\"text\":\"%s\"}],"
		"\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\","
		"\"display\":\"Systolic blood pressure\"}]},\"valueQuantity\":{\"value\":%u,\"unit\":\"mmHg\","
		"\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{"
		"\"system\":\"http://loinc.org\",\"code\":\"8462-4\",\"display\":\"Diastolic blood pressure\"}]},"
		"\"valueQuantity\":{\"value\":%u,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
		"\"code\":\"mm[Hg]\"}}],\"note\":[{\"text\":\"Seated, %u min rest.\"}]}",
		id, pat, enc, (int)(1 + k % 12), (int)(1 + k % 28), (int)(k % 24), (int)(k * 7 % 60),
		(int)(k * 13 % 60), (int)(1 + k % 12), (int)(1 + k % 28), (int)(k % 24), (int)(k * 11 % 60),
		(int)(k * 17 % 60), (int)(k % 1000), prac, k % 7 ? "N" : "H", (unsigned)(95 + k % 70),
		(unsigned)(55 + k * 3 % 45), (unsigned)(k % 15));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A deterministic UUID-shaped id (UUIDv7 has random bits, and the reads must find the rows). */
static void make_id(char *out, uint64_t k)
{
	uint64_t h = k * 0x9e3779b97f4a7c15ull;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%08x-%04x-7%03x-8%03x-%012llx", (unsigned)(0x18c0000 + k / 4096 % 0x1000000),
		 (unsigned)(k % 4096), (unsigned)(h >> 52), (unsigned)((h >> 40) & 0xfff),
		 (unsigned long long)(h & 0xffffffffffffull));
	memcpy(out, tmp, 36);
	out[36] = 0;
}

/* ---- (a) raw SQLite ceiling ------------------------------------------------ */

static double raw_ceiling(int rows)
{
	char dir[64], path[128], body[2048];
	tmpdir(dir, sizeof dir);
	jl_store_close(open_store(dir, false, 1)); /* same schema */
	snprintf(path, sizeof path, "%s/jianlian.db", dir);
	sqlite3 *db;
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-32768;"
			 " INSERT INTO rtype(id, name) VALUES (1, 'Observation')",
		     NULL, NULL, NULL);
	sqlite3_stmt *ri, *vi, *si;
	sqlite3_prepare_v2(db, "INSERT INTO res(type, lid, rid, ver, updated, deleted) VALUES (1, ?1, ?2, 1, ?3, 0)",
			   -1, &ri, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO ver(updated, rid, ver, type, deleted, method, enc, meta, body)"
			       " VALUES (?1, ?2, 1, 1, 0, 1, 1, 0, ?3)",
			   -1, &vi, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO type_stats(type, live, versions) VALUES (1, 1, 1) ON CONFLICT(type)"
			       " DO UPDATE SET live = live + 1, versions = versions + 1",
			   -1, &si, NULL);
	/* Bodies compressed beforehand: the ceiling is the database's share only. */
	char **zb = jl_malloc(JL_MEM_MISC, (size_t)rows * sizeof *zb);
	size_t *zn = jl_malloc(JL_MEM_MISC, (size_t)rows * sizeof *zn);
	char (*ids)[37] = jl_malloc(JL_MEM_MISC, (size_t)rows * sizeof *ids);
	for (int i = 0; i < rows; i++) {
		make_id(ids[i], (uint64_t)i);
		size_t n = observation(body, sizeof body, ids[i], (uint64_t)i);
		zb[i] = jl_malloc(JL_MEM_MISC, ZSTD_compressBound(n));
		zn[i] = ZSTD_compress(zb[i], ZSTD_compressBound(n), body, n, 3);
	}
	int64_t us = jl_now_us(), t0 = jl_mono_ns();
	for (int i = 0; i < rows; i++) {
		if (i % 1000 == 0)
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_text(ri, 1, ids[i], 36, SQLITE_STATIC);
		sqlite3_bind_int64(ri, 2, i + 1);
		sqlite3_bind_int64(ri, 3, us + i);
		sqlite3_step(ri);
		sqlite3_reset(ri);
		sqlite3_bind_int64(vi, 1, us + i);
		sqlite3_bind_int64(vi, 2, i + 1);
		sqlite3_bind_blob(vi, 3, zb[i], (int)zn[i], SQLITE_STATIC);
		sqlite3_step(vi);
		sqlite3_reset(vi);
		sqlite3_step(si);
		sqlite3_reset(si);
		if (i % 1000 == 999 || i == rows - 1)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double secs = (double)(jl_mono_ns() - t0) / 1e9;
	sqlite3_finalize(ri);
	sqlite3_finalize(vi);
	sqlite3_finalize(si);
	sqlite3_close(db);
	for (int i = 0; i < rows; i++)
		jl_free(JL_MEM_MISC, zb[i]);
	jl_free(JL_MEM_MISC, zb);
	jl_free(JL_MEM_MISC, zn);
	jl_free(JL_MEM_MISC, ids);
	rm_rf(dir);
	return rows / secs;
}

/* ---- (b) write() ------------------------------------------------------------ */

typedef struct wjob {
	jl_store_t *s;
	int t, n;
	int fails;
} wjob_t;

static void *write_thread(void *arg)
{
	wjob_t *j = arg;
	char id[37], body[2048];
	for (int i = 0; i < j->n; i++) {
		uint64_t k = (uint64_t)j->t * 1000000 + (uint64_t)i;
		make_id(id, k);
		size_t n = observation(body, sizeof body, id, k);
		jl_write_t w = {.kind = JL_WRITE_CREATE, .type = JL_STR("Observation"), .id = jl_str(id, 36),
				.body = jl_str(body, n)};
		if (jl_store_write(j->s, &w, 1, 0))
			j->fails++;
	}
	return NULL;
}

static void bench_writes(int threads, int total, double *rate, double *group)
{
	double r[RUNS], g[RUNS];
	for (int run = 0; run < RUNS; run++) {
		char dir[64];
		tmpdir(dir, sizeof dir);
		jl_store_t *s = open_store(dir, false, 1);
		wjob_t jobs[MAXT];
		pthread_t th[MAXT];
		jl__sqlite_counters_t c0, c1;
		jl__store_sqlite_counters(s, &c0);
		int64_t t0 = jl_mono_ns();
		for (int t = 0; t < threads; t++) {
			jobs[t] = (wjob_t){.s = s, .t = t, .n = total / threads};
			pthread_create(&th[t], NULL, write_thread, &jobs[t]);
		}
		for (int t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			if (jobs[t].fails)
				fprintf(stderr, "%d writes failed\n", jobs[t].fails);
		}
		double secs = (double)(jl_mono_ns() - t0) / 1e9;
		jl__store_sqlite_counters(s, &c1);
		r[run] = (total / threads * threads) / secs;
		g[run] = (double)(c1.writes - c0.writes) / (double)(c1.commits - c0.commits);
		jl_store_close(s);
		rm_rf(dir);
	}
	*rate = median(r, RUNS);
	*group = median(g, RUNS);
}

/* ---- (c) read() ------------------------------------------------------------- */

typedef struct rjob {
	jl_store_t *s;
	int nres, n, seed;
	int64_t *lat;
	int fails;
} rjob_t;

static void *read_thread(void *arg)
{
	rjob_t *j = arg;
	jl_arena_t *a = jl_arena_new(0, 0);
	char id[37];
	uint32_t x = (uint32_t)j->seed * 2654435761u + 1;
	for (int i = 0; i < j->n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		make_id(id, x % (uint32_t)j->nres);
		jl_version_t v;
		int64_t t0 = jl_mono_ns();
		jl_rc rc = jl_store_read(j->s, a, JL_STR("Observation"), jl_str(id, 36), 0, &v);
		j->lat[i] = jl_mono_ns() - t0;
		if (rc)
			j->fails++;
		jl_arena_reset(a);
	}
	jl_arena_free(a);
	return NULL;
}

static void bench_reads(jl_store_t *s, int nres, int threads, int per_thread, double *rate, double *p50,
			double *p99)
{
	double r[RUNS], a50[RUNS], a99[RUNS];
	int64_t *lat = jl_malloc(JL_MEM_MISC, (size_t)threads * (size_t)per_thread * sizeof *lat);
	for (int run = 0; run < RUNS; run++) {
		rjob_t jobs[MAXT];
		pthread_t th[MAXT];
		int64_t t0 = jl_mono_ns();
		for (int t = 0; t < threads; t++) {
			jobs[t] = (rjob_t){.s = s, .nres = nres, .n = per_thread, .seed = run * 100 + t + 1,
					   .lat = lat + (size_t)t * (size_t)per_thread};
			pthread_create(&th[t], NULL, read_thread, &jobs[t]);
		}
		for (int t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			if (jobs[t].fails)
				fprintf(stderr, "%d reads failed\n", jobs[t].fails);
		}
		double secs = (double)(jl_mono_ns() - t0) / 1e9;
		size_t n = (size_t)threads * (size_t)per_thread;
		qsort(lat, n, sizeof *lat, cmp_i64);
		r[run] = (double)n / secs;
		a50[run] = (double)lat[n / 2] / 1e3;
		a99[run] = (double)lat[n * 99 / 100] / 1e3;
	}
	jl_free(JL_MEM_MISC, lat);
	*rate = median(r, RUNS);
	*p50 = median(a50, RUNS);
	*p99 = median(a99, RUNS);
}

/* ---- (d) disk use ---------------------------------------------------------- */

/* Fills a store with `versions` versions (creates, then updates of random ones). */
static void populate(jl_store_t *s, int nres, int versions)
{
	jl_write_t w[100];
	char ids[100][37], bodies[100][2048];
	uint32_t x = 7;
	for (int i = 0; i < versions; i += 100) {
		int n = versions - i < 100 ? versions - i : 100;
		for (int k = 0; k < n; k++) {
			int v = i + k;
			int r = v;
			if (v >= nres) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				r = (int)(x % (uint32_t)nres);
			}
			make_id(ids[k], (uint64_t)r);
			size_t bn = observation(bodies[k], sizeof bodies[k], ids[k], (uint64_t)v);
			w[k] = (jl_write_t){.kind = JL_WRITE_UPDATE, .create_ok = true, .type = JL_STR("Observation"),
					    .id = jl_str(ids[k], 36), .body = jl_str(bodies[k], bn)};
		}
		/* Writes to the same resource in one call are fine: they apply in order. */
		if (jl_store_write(s, w, (size_t)n, 0)) {
			fprintf(stderr, "populate failed\n");
			exit(1);
		}
	}
}

static int64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* ---- (e) compression -------------------------------------------------------- */

static void bench_zstd(int level, double *us_per, double *ratio, double *us_un)
{
	enum { NB = 1000, REP = 20 };
	char id[37], out[4096], back[2048];
	char (*bodies)[2048] = jl_malloc(JL_MEM_MISC, NB * sizeof *bodies);
	size_t *bn = jl_malloc(JL_MEM_MISC, NB * sizeof *bn);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_DCtx *d = ZSTD_createDCtx();
	size_t in = 0, zs = 0;
	for (int i = 0; i < NB; i++) {
		make_id(id, (uint64_t)i);
		bn[i] = observation(bodies[i], sizeof bodies[i], id, (uint64_t)i);
	}
	int64_t t0 = jl_mono_ns();
	for (int r = 0; r < REP; r++)
		for (int i = 0; i < NB; i++) {
			size_t k = ZSTD_compressCCtx(c, out, sizeof out, bodies[i], bn[i], level);
			in += bn[i];
			zs += k;
		}
	*us_per = (double)(jl_mono_ns() - t0) / 1e3 / (NB * REP);
	*ratio = (double)zs / (double)in;
	size_t k = ZSTD_compressCCtx(c, out, sizeof out, bodies[1], bn[1], level);
	t0 = jl_mono_ns();
	for (int i = 0; i < NB * REP; i++)
		if (ZSTD_decompressDCtx(d, back, sizeof back, out, k) != bn[1])
			abort();
	*us_un = (double)(jl_mono_ns() - t0) / 1e3 / (NB * REP);
	ZSTD_freeCCtx(c);
	ZSTD_freeDCtx(d);
	jl_free(JL_MEM_MISC, bodies);
	jl_free(JL_MEM_MISC, bn);
}

int main(int argc, char **argv)
{
	int size = 4000;
	int64_t v;
	if (argc > 1 && strcmp(argv[1], "full") == 0)
		size = 20000;
	else if (argc > 1 && jl_str_to_i64(jl_cstr(argv[1]), &v) && v > 0 && v <= 10000000)
		size = (int)v;
	const char *parts = argc > 2 ? argv[2] : "abcde";
	char id[37], body[2048];
	make_id(id, 1);
	printf("store_bench: size %d, median of %d runs, ~%zu-byte Observation bodies, sqlite %s, zstd %s\n",
	       size, RUNS, observation(body, sizeof body, id, 1), sqlite3_libversion(), ZSTD_versionString());

	if (strchr(parts, 'e')) {
		double u1, r1, u3, r3, d1, d3;
		bench_zstd(1, &u1, &r1, &d1);
		bench_zstd(3, &u3, &r3, &d3);
		printf("(e) zstd per body: level 1 %.1f us -> %.0f%% (inflate %.1f us); level 3 %.1f us -> %.0f%% "
		       "(inflate %.1f us)\n",
		       u1, r1 * 100, d1, u3, r3 * 100, d3);
	}
	if (strchr(parts, 'a')) {
		double raw[RUNS];
		for (int i = 0; i < RUNS; i++)
			raw[i] = raw_ceiling(size * 5);
		printf("(a) raw SQLite, 1000 rows/commit, synchronous=FULL: %.0f rows/s\n", median(raw, RUNS));
	}
	double rate, group;
	if (strchr(parts, 'b')) {
		bench_writes(1, size / 4, &rate, &group);
		printf("(b) write(), 1 thread:   %.0f writes/s, mean group %.1f\n", rate, group);
		bench_writes(16, size * 2, &rate, &group);
		printf("(b) write(), 16 threads: %.0f writes/s, mean group %.1f\n", rate, group);
	}
	if (!strchr(parts, 'c') && !strchr(parts, 'd'))
		return 0;

	/* (d) then (c) on the same data set: resources updated a few times each. */
	char dir[64], path[128];
	tmpdir(dir, sizeof dir);
	int versions = size * 10, nres = size * 5;
	jl_store_t *s = open_store(dir, true, 4);
	populate(s, nres, versions);
	jl_store_close(s);
	snprintf(path, sizeof path, "%s/jianlian.db", dir);
	int64_t bytes = file_size(path);
	printf("(d) disk: %d versions of %d resources in %.1f MB: %.0f bytes/version (body ~%zu bytes raw)\n",
	       versions, nres, (double)bytes / 1e6, (double)bytes / versions, observation(body, sizeof body, id, 1));

	if (strchr(parts, 'c')) {
		double p50, p99;
		s = open_store(dir, true, 4);
		bench_reads(s, nres, 1, size * 25, &rate, &p50, &p99);
		printf("(c) read(), 1 thread:  %.0f reads/s, p50 %.1f us, p99 %.1f us\n", rate, p50, p99);
		bench_reads(s, nres, 2, size * 25, &rate, &p50, &p99);
		printf("(c) read(), 2 threads: %.0f reads/s, p50 %.1f us, p99 %.1f us\n", rate, p50, p99);
		jl_store_close(s);
	}
	rm_rf(dir);
	return 0;
}
