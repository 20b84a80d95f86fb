/*
 * indicators_bench — the plan-indicator engine and its facts projection
 * (monitor/project.h). Two modes:
 *
 *   build/bench/indicators_bench DATA [--runs N] [--region 532900] [--year 2024] [--writes N]
 *
 * on a data directory (normally made by `jianlian gen --residents N --into
 * DATA`): (a) the projection built from the store (one scan; resources/s)
 * and written to a file in a temporary directory, then loaded back;
 * (b) the incremental refresh after N writes (N existing resources written
 * again as new versions with the same content, so the data's meaning is
 * unchanged), twice (the first also builds the rows' key index): versions
 * read, refresh time, then the first cache answer
 * after the writes (refresh + facts + cube + JSON); the whole catalogue for
 * the prefecture and every county of one year from the projection (facts
 * finished + cube + JSON of each); and an answer from the indicator cache
 * (monitor/cache.h: the snapshot check, the view and the cached JSON, as
 * GET /monitor/indicators does minus HTTP).
 *
 *   build/bench/indicators_bench --gen RESIDENTS [--keep DIR] [--runs N] [--region 532900] [--year 2024]
 *
 * (c) without a store: the generator (src/gen) feeds each resource to the
 * same per-resource fact extraction the store scan uses (jl_facts_add_resource),
 * so the projection holds a region of RESIDENTS people (with --keep, written
 * to DIR/indicators.facts, and loaded from there by later runs instead of
 * generating again); then the whole catalogue for the prefecture and every
 * county of one year is evaluated from it (facts finished + cube + JSON of
 * each), RUNS times; then the same for the whole province (its hierarchy
 * loaded once; every prefecture and county), RUNS times. Printed besides the
 * times: the cube's populated villages and size, the slowest single region's
 * JSON from a built cube, and the peak resident set after each part.
 *
 * Medians of the runs; no assertion on time (scripts/bench.sh compares).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/time.h"
#include "fhir/resource.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "monitor/cache.h"
#include "monitor/project.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n) (v is left as it was). */
static double median(const double *v, int n)
{
	double *s = jl_malloc(JL_MEM_MISC, (size_t)n * sizeof *s);
	if (!s)
		return -1;
	memcpy(s, v, (size_t)n * sizeof *v);
	qsort(s, (size_t)n, sizeof *s, cmp_d);
	double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	jl_free(JL_MEM_MISC, s);
	return m;
}

/* CPU time of this process (ns): on a busy shared machine it says what wall time cannot. */
static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double secs(int64_t t0, int64_t t1)
{
	return (double)(t1 - t0) / 1e9;
}

/* What evaluate_all saw besides the time: the cube's size and the slowest JSON of one region. */
typedef struct eval_info {
	uint32_t counties;
	uint32_t villages;     /* the cube's (populated) villages */
	size_t cube_bytes;
	double json_max_s;     /* the slowest single region's JSON from the cube (a cache miss with the cube built) */
} eval_info_t;

/* The whole catalogue for the province or prefecture and each county from finished facts: the cube, then each JSON. */
static int evaluate_all(const jl_facts_t *f, const jl_regions_t *reg, int year, eval_info_t *info)
{
	jl_cube_t *c;
	if (jl_engine_compute(f, year, &c))
		return -1;
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	memset(info, 0, sizeof *info);
	info->villages = c->nv;
	info->cube_bytes = jl_engine_bytes(c);
	for (uint32_t k = 0; k < reg->n; k++) {
		if (reg->nodes[k].level > JL_REG_COUNTY || (reg->nodes[k].level == JL_REG_PROVINCE && reg->nodes[0].nchild == 1))
			continue; /* a prefecture's hierarchy: its province node is the prefecture again */
		info->counties += reg->nodes[k].level == JL_REG_COUNTY;
		jl_buf_clear(&b);
		jl_jw_t w;
		jl_jw_init(&w, &b, 0);
		int64_t t0 = jl_mono_ns();
		jl_engine_json(c, k, NULL, &w);
		double t = (double)(jl_mono_ns() - t0) / 1e9;
		if (t > info->json_max_s)
			info->json_max_s = t;
	}
	int rc = jl_buf_status(&b) ? -1 : 0;
	jl_buf_dispose(&b);
	jl_engine_free(c);
	return rc;
}

/* The peak resident set so far (VmHWM, MB); -1 when /proc says nothing. */
static double peak_rss_mb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	double kb = -1;
	while (fp && fgets(line, sizeof line, fp))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtod(line + 6, NULL);
	if (fp)
		fclose(fp);
	return kb < 0 ? -1 : kb / 1024;
}

/* ---- (c): the generator straight into the projection's rows ---- */

typedef struct gen_sink {
	jl_facts_t *f;
	jl_arena_t *a;
	char *copy;
	size_t cap;
} gen_sink_t;

static jl_rc gen_put(void *arg, jl_gen_rt type, jl_str_t json)
{
	gen_sink_t *g = arg;
	if (json.n + 1 > g->cap) { /* the parser works in place: a copy, reused */
		g->cap = (json.n + 1) * 2;
		jl_free(JL_MEM_MISC, g->copy);
		g->copy = jl_malloc(JL_MEM_MISC, g->cap);
		if (!g->copy)
			return JL_ENOMEM;
	}
	memcpy(g->copy, json.p, json.n);
	jl_arena_reset(g->a);
	jl_json_t *root;
	jl_json_err_t e;
	jl_rc rc = jl_json_parse(g->a, g->copy, json.n, NULL, &root, &e);
	return rc ? rc : jl_facts_add_resource(g->f, root, 0);
}

static jl_rc gen_truth(void *arg, jl_gen_truth file, jl_str_t line)
{
	return JL_OK;
}

static uint32_t cfg_region(const char *region)
{
	return jl_regions_pref_of(jl_cstr(region));
}

/*
 * The rows of a generated region: loaded from keep/indicators.facts when a
 * usable projection is there (made by an earlier run), else generated and
 * then, with keep, written there.
 */
static jl_proj_t *gen_rows(int64_t residents, const char *region, const char *keep, const jl_catalog_t *cat,
			   jl_diag_t *d)
{
	jl_proj_t *p;
	int64_t t0 = jl_mono_ns();
	if (jl_proj_open(keep, cat, &p))
		return NULL;
	int64_t t1 = jl_mono_ns();
	if (!jl_proj_pending(p)) {
		printf("projection of %llu rows loaded from %s/%s in %.2f s (read and checked)\n",
		       (unsigned long long)jl_facts_nrows(jl_proj_rows(p)), keep, JL_PROJ_FILE, secs(t0, t1));
		return p;
	}
	jl_facts_t rows;
	if (jl_facts_init(&rows, cat, NULL))
		return NULL;
	gen_sink_t g = {.f = &rows, .a = jl_arena_new(1 << 16, 0)};
	jl_gen_cfg_t cfg = {.region = cfg_region(region), .residents = residents, .year_from = 2020,
			    .year_to = 2025, .seed = 1};
	jl_gen_sink_t sink = {.put = gen_put, .truth = gen_truth, .arg = &g};
	jl_gen_stats_t st;
	t0 = jl_mono_ns();
	if (!g.a || jl_gen_run(&cfg, &sink, &st, d)) {
		fprintf(stderr, "indicators_bench: generation failed\n");
		return NULL;
	}
	t1 = jl_mono_ns();
	jl_free(JL_MEM_MISC, g.copy);
	jl_arena_free(g.a);
	printf("gen -> facts rows: %lld resources, %llu rows in %.1f s (%.0f resources/s, generation and extraction)\n",
	       (long long)rows.resources, (unsigned long long)jl_facts_nrows(&rows), secs(t0, t1),
	       (double)rows.resources / secs(t0, t1));
	if (jl_proj_adopt(p, &rows, 1))
		return NULL;
	if (keep) {
		int64_t w0 = jl_mono_ns();
		if (jl_proj_save(p, d))
			return NULL;
		printf("projection written to %s/%s in %.2f s\n", keep, JL_PROJ_FILE, secs(w0, jl_mono_ns()));
	}
	return p;
}

/* Medians of RUNS evaluations of one hierarchy from the projection. */
typedef struct run_meds {
	double finish_s, catalog_s, total_s, cpu_s;
	uint32_t npersons, nevs;
	eval_info_t info;
} run_meds_t;

/* RUNS times: the facts finished for reg from the projection, then evaluate_all; each run and the cube printed. */
static int eval_runs(jl_proj_t *p, const jl_regions_t *reg, int year, int runs, const char *what, const char *scope,
		     run_meds_t *m)
{
	double fin[64], all[64], tot[64], cpu[64];
	memset(m, 0, sizeof *m);
	for (int r = 0; r < runs; r++) {
		jl_facts_t f;
		int64_t c0 = cpu_ns(), a0 = jl_mono_ns();
		if (jl_proj_facts(p, reg, &f))
			return -1;
		int64_t a1 = jl_mono_ns(), c1 = cpu_ns();
		if (evaluate_all(&f, reg, year, &m->info))
			return -1;
		int64_t a2 = jl_mono_ns(), c2 = cpu_ns();
		fin[r] = secs(a0, a1);
		all[r] = secs(a1, a2);
		tot[r] = secs(a0, a2);
		cpu[r] = secs(c0, c2);
		m->npersons = f.npersons;
		m->nevs = f.nevs;
		printf("%s run %d: facts finished %.3f s (cpu %.3f; %u residents, %u events), catalogue for the %s and %u "
		       "counties %.3f s (cpu %.3f), total %.3f s (cpu %.3f)\n",
		       what, r + 1, fin[r], secs(c0, c1), f.npersons, f.nevs, scope, m->info.counties, all[r], secs(c1, c2),
		       tot[r], cpu[r]);
		jl_facts_dispose(&f);
	}
	m->finish_s = median(fin, runs);
	m->catalog_s = median(all, runs);
	m->total_s = median(tot, runs);
	m->cpu_s = median(cpu, runs);
	printf("%s cube: %u of %u villages populated, %.1f MB (previous year's included); slowest region's JSON %.1f ms; "
	       "peak RSS so far %.0f MB\n",
	       what, m->info.villages, reg->nvillages, (double)m->info.cube_bytes / 1e6, m->info.json_max_s * 1e3,
	       peak_rss_mb());
	return 0;
}

static int bench_gen(int64_t residents, int runs, const char *region, const char *keep, int year,
		     const jl_catalog_t *cat, const jl_regions_t *reg, jl_diag_t *d)
{
	jl_proj_t *p = gen_rows(residents, region, keep, cat, d);
	run_meds_t m;
	if (!p || eval_runs(p, reg, year, runs, "prefecture", "prefecture", &m))
		return 1;
	printf("indicators-gen-result: residents=%lld rows=%llu persons=%u events=%u counties=%u finish_s=%.3f "
	       "catalog_all_counties_s=%.3f evaluate_s=%.3f evaluate_cpu_s=%.3f cube_mb=%.1f\n",
	       (long long)residents, (unsigned long long)jl_facts_nrows(jl_proj_rows(p)), m.npersons, m.nevs,
	       m.info.counties, m.finish_s, m.catalog_s, m.total_s, m.cpu_s, (double)m.info.cube_bytes / 1e6);
	/* The same rows for the whole province: every prefecture (one with data) and every county. */
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_regions_t prov;
	int64_t p0 = jl_mono_ns(), c0 = cpu_ns();
	if (!a || jl_regions_load_province(a, cfg_region(region) / 10000 * 10000, &prov, d))
		return 1;
	int64_t p1 = jl_mono_ns(), c1 = cpu_ns();
	printf("province %s: hierarchy of %u prefectures, %u villages loaded %.3f s (cpu %.3f)\n", prov.nodes[0].code,
	       prov.nodes[0].nchild, prov.nvillages, secs(p0, p1), secs(c0, c1));
	if (eval_runs(p, &prov, year, runs, "province", "province, its prefectures", &m))
		return 1;
	printf("indicators-province-result: prefectures=%u villages=%u populated=%u counties=%u hierarchy_s=%.3f "
	       "finish_s=%.3f catalog_all_s=%.3f evaluate_s=%.3f evaluate_cpu_s=%.3f cube_mb=%.1f\n",
	       prov.nodes[0].nchild, prov.nvillages, m.info.villages, m.info.counties, secs(p0, p1), m.finish_s,
	       m.catalog_s, m.total_s, m.cpu_s, (double)m.info.cube_bytes / 1e6);
	jl_arena_free(a);
	jl_proj_free(p);
	return 0;
}

/* ---- (a), (b) and the cache on a store ---- */

/* Writes n existing resources again, unchanged (new versions): what a refresh must then read. */
static int rewrite(jl_store_t *s, int n, jl_diag_t *d)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_hist_query_t q = {.type = jl_cstr("Encounter"), .count = (uint32_t)n};
	jl_hist_page_t pg;
	if (!a || jl_store_history(s, a, &q, &pg))
		return -1;
	jl_ingest_cfg_t ic = {.store = s, .batch = 1000};
	jl_ingest_t *g;
	if (jl_ingest_new(&ic, &g))
		return -1;
	int done = 0;
	for (size_t i = 0; i < pg.n; i++) {
		jl_version_t cur;
		if (jl_store_read(s, a, pg.items[i].type, pg.items[i].id, 0, &cur) || cur.deleted)
			continue;
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		if (!jl_fhir_body_assemble(&b, cur.type, cur.id, cur.ver, cur.updated_us, cur.body, cur.body_meta) &&
		    !jl_ingest_add(g, jl_str(b.p, b.n), d))
			done++;
		jl_buf_dispose(&b);
	}
	int rc = jl_ingest_flush(g) ? -1 : done;
	jl_ingest_free(g);
	jl_arena_free(a);
	return rc;
}

static int bench_store(const char *data, int runs, const char *region, int year, int writes, const jl_catalog_t *cat,
		       const jl_regions_t *reg, jl_diag_t *d)
{
	jl_store_t *s = NULL;
	jl_store_cfg_t cfg = {.dir = data, .readers = 2};
	if (jl_store_open("sqlite", &cfg, &s, d)) {
		fprintf(stderr, "indicators_bench: cannot open %s\n", data);
		return 1;
	}
	char tmp[] = "/tmp/jl-ind-bench-XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	double build[64], rate[64], load[64], all[64];
	int64_t resources = 0, rows = 0, persons = 0;
	eval_info_t info = {0};
	for (int r = 0; r < runs; r++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", tmp, JL_PROJ_FILE);
		unlink(path);
		jl_proj_t *p;
		jl_proj_stats_t st;
		int64_t t0 = jl_mono_ns();
		if (jl_proj_open(tmp, cat, &p) || jl_proj_refresh(p, s, &st, d))
			return 1;
		int64_t t1 = jl_mono_ns();
		jl_proj_free(p);
		int64_t t2 = jl_mono_ns();
		if (jl_proj_open(tmp, cat, &p) || jl_proj_pending(p))
			return 1;
		int64_t t3 = jl_mono_ns();
		jl_facts_t f;
		if (jl_proj_facts(p, reg, &f) || evaluate_all(&f, reg, year, &info))
			return 1;
		int64_t t4 = jl_mono_ns();
		build[r] = secs(t0, t1);
		rate[r] = (double)st.scanned / build[r];
		load[r] = secs(t2, t3);
		all[r] = secs(t3, t4);
		resources = st.scanned;
		rows = st.rows;
		persons = f.npersons;
		printf("run %d: projection built %.3f s (%lld resources, %.0f resources/s, %lld rows, file written), loaded "
		       "%.3f s; catalogue for the prefecture and %u counties from it %.3f s\n",
		       r + 1, build[r], (long long)st.scanned, rate[r], (long long)st.rows, load[r], info.counties, all[r]);
		jl_facts_dispose(&f);
		jl_proj_free(p);
	}
	/* (b) The refresh after `writes` writes, then the first cache answer after more writes. */
	jl_proj_t *p;
	jl_proj_stats_t st;
	if (jl_proj_open(tmp, cat, &p) || jl_proj_refresh(p, s, &st, d))
		return 1;
	/* The first refresh with something to apply also builds the key index of the rows; the next ones do not. */
	double refresh[2];
	int done = 0;
	for (int k = 0; k < 2; k++) {
		done = rewrite(s, writes, d);
		if (done < 0)
			return 1;
		int64_t t0 = jl_mono_ns();
		if (jl_proj_refresh(p, s, &st, d))
			return 1;
		refresh[k] = secs(t0, jl_mono_ns());
		printf("refresh after %d writes: %lld versions read, %.4f s%s%s (%lld resources of the eight types in the "
		       "store)\n",
		       done, (long long)st.versions, refresh[k], k ? "" : ", key index built", st.saved ? ", file rewritten" : "",
		       (long long)resources);
	}
	double refresh_s = refresh[1];
	jl_proj_free(p);
	char path[128];
	snprintf(path, sizeof path, "%s/%s", tmp, JL_PROJ_FILE);
	unlink(path);
	rmdir(tmp);

	/* The cache: the first answer builds (or reads the data directory's projection), the next ones hit. */
	jl_mcache_t *mc;
	if (jl_mcache_new(s, NULL, &mc, d))
		return 1;
	enum { HITS = 300 };
	static double lat[HITS];
	size_t bytes = 0;
	for (int i = 0; i <= HITS; i++) {
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		int64_t a0 = jl_mono_ns();
		jl_mview_t v;
		if (jl_mcache_get(mc, jl_cstr(region), year, &v, d) || jl_mcache_json(&v, &b))
			return 1;
		jl_mcache_put(&v);
		int64_t a1 = jl_mono_ns();
		bytes = b.n;
		jl_buf_dispose(&b);
		if (i)
			lat[i - 1] = (double)(a1 - a0) / 1e3;
	}
	/* After writes: the refresh reads only them, then facts, cube and JSON are made again. */
	if (rewrite(s, writes, d) < 0)
		return 1;
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	int64_t w0 = jl_mono_ns();
	jl_mview_t v;
	if (jl_mcache_get(mc, jl_cstr(region), year, &v, d) || jl_mcache_json(&v, &b))
		return 1;
	jl_mcache_put(&v);
	int64_t w1 = jl_mono_ns();
	jl_buf_dispose(&b);
	jl_mcache_counters_t k;
	jl_mcache_counters(mc, &k);
	double hit_med = median(lat, HITS), hit_p99;
	qsort(lat, HITS, sizeof *lat, cmp_d);
	hit_p99 = lat[HITS * 99 / 100];
	printf("cache: %lld projection rebuild(s), %lld versions read, %lld facts, %lld cube build(s); %d hits of %zu "
	       "bytes: median %.1f us, p99 %.1f us; first answer after %d writes %.3f s\n",
	       (long long)k.proj_rebuilds, (long long)k.proj_versions, (long long)k.facts_builds, (long long)k.cube_builds,
	       HITS, bytes, hit_med, hit_p99, writes, secs(w0, w1));
	printf("indicators-result: resources=%lld rows=%lld residents=%lld counties=%u projection_build_s=%.3f "
	       "resources_per_s=%.0f projection_load_s=%.3f catalog_all_counties_s=%.3f writes=%d refresh_first_s=%.4f refresh_s=%.4f "
	       "first_answer_after_writes_s=%.3f cache_hit_us=%.1f cache_hit_p99_us=%.1f\n",
	       (long long)resources, (long long)rows, (long long)persons, info.counties, median(build, runs), median(rate, runs),
	       median(load, runs), median(all, runs), done, refresh[0], refresh_s, secs(w0, w1), hit_med, hit_p99);
	jl_mcache_free(mc);
	jl_store_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *region = "532900", *keep = NULL;
	int runs = 3, year = 2024, writes = 1000;
	int64_t gen = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--region") && i + 1 < argc)
			region = argv[++i];
		else if (!strcmp(argv[i], "--year") && i + 1 < argc)
			year = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--writes") && i + 1 < argc)
			writes = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep = argv[++i];
		else if (!strcmp(argv[i], "--gen") && i + 1 < argc)
			gen = strtoll(argv[++i], NULL, 10);
		else if (!data && argv[i][0] != '-')
			data = argv[i];
		else
			data = NULL, runs = 0, i = argc;
	}
	if ((!data == !gen) || runs < 1 || runs > 50 || writes < 1 || writes > 10000 || gen < 0) {
		fprintf(stderr, "usage: indicators_bench DATA [--runs N] [--region CODE] [--year YYYY] [--writes N]\n"
				"       indicators_bench --gen RESIDENTS [--keep DIR] [--runs N] [--region CODE] [--year YYYY]\n");
		return 2;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_catalog_t cat;
	jl_regions_t reg;
	if (jl_catalog_load(a, JL_STR_NULL, &cat, &d) || jl_regions_load(a, jl_regions_pref_of(jl_cstr(region)), &reg, &d)) {
		fprintf(stderr, "indicators_bench: catalogue or region %s\n", region);
		return 1;
	}
	int rc = gen ? bench_gen(gen, runs, region, keep, year, &cat, &reg, &d)
		     : bench_store(data, runs, region, year, writes, &cat, &reg, &d);
	jl_arena_free(a);
	return rc;
}
