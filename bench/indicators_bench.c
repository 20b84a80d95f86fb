/*
 * indicators_bench — the plan-indicator engine on a data directory
 * (normally made by `jianlian gen --residents N --into DATA`): the facts
 * build (one scan of the store; resources/s), the whole catalogue for the
 * prefecture and every county of one year (cube + JSON of each), and the
 * latency of an answer from the indicator cache (monitor/cache.h: the
 * snapshot check, the view and the cached JSON, as GET /monitor/indicators
 * does minus HTTP). Medians of the runs; no assertion on time.
 *
 *   build/bench/indicators_bench DATA [--runs N] [--region 532900] [--year 2024]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/time.h"
#include "monitor/cache.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *region = "532900";
	int runs = 3, year = 2024;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--region") && i + 1 < argc)
			region = argv[++i];
		else if (!strcmp(argv[i], "--year") && i + 1 < argc)
			year = (int)strtol(argv[++i], NULL, 10);
		else if (!data && argv[i][0] != '-')
			data = argv[i];
		else {
			fprintf(stderr, "usage: indicators_bench DATA [--runs N] [--region CODE] [--year YYYY]\n");
			return 2;
		}
	}
	if (!data || runs < 1 || runs > 50) {
		fprintf(stderr, "usage: indicators_bench DATA [--runs N] [--region CODE] [--year YYYY]\n");
		return 2;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	jl_store_cfg_t cfg = {.dir = data, .readers = 2};
	if (jl_store_open("sqlite", &cfg, &s, &d)) {
		fprintf(stderr, "indicators_bench: cannot open %s\n", data);
		return 1;
	}
	jl_catalog_t cat;
	jl_regions_t reg;
	if (jl_catalog_load(a, JL_STR_NULL, &cat, &d) || jl_regions_load(a, jl_regions_pref_of(jl_cstr(region)), &reg, &d)) {
		fprintf(stderr, "indicators_bench: catalogue or region %s\n", region);
		return 1;
	}
	double facts_s[50], all_s[50], rate[50];
	int64_t resources = 0, persons = 0;
	uint32_t counties = 0;
	for (int r = 0; r < runs; r++) {
		jl_facts_t f;
		if (jl_facts_init(&f, &cat, &reg))
			return 1;
		int64_t t0 = jl_mono_ns();
		if (jl_facts_scan(&f, s, &d)) {
			fprintf(stderr, "indicators_bench: scan failed\n");
			return 1;
		}
		int64_t t1 = jl_mono_ns();
		/* The whole catalogue for the prefecture and each county: the cube, then each region's JSON. */
		jl_cube_t *c;
		if (jl_engine_compute(&f, year, &c))
			return 1;
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		counties = 0;
		for (uint32_t k = 0; k < reg.n; k++) {
			if (reg.nodes[k].level != JL_REG_PREFECTURE && reg.nodes[k].level != JL_REG_COUNTY)
				continue;
			counties += reg.nodes[k].level == JL_REG_COUNTY;
			jl_buf_clear(&b);
			jl_jw_t w;
			jl_jw_init(&w, &b, 0);
			jl_engine_json(c, k, NULL, &w);
		}
		int64_t t2 = jl_mono_ns();
		jl_buf_dispose(&b);
		jl_engine_free(c);
		facts_s[r] = (double)(t1 - t0) / 1e9;
		all_s[r] = (double)(t2 - t1) / 1e9;
		rate[r] = (double)f.resources / facts_s[r];
		resources = f.resources;
		persons = f.npersons;
		printf("run %d: facts %.3f s (%lld resources, %.0f resources/s), catalogue for the prefecture and %u counties "
		       "%.3f s\n",
		       r + 1, facts_s[r], (long long)f.resources, rate[r], counties, all_s[r]);
		jl_facts_dispose(&f);
	}
	/* Cache hits: the first answer builds, the next ones are served from the cache. */
	jl_mcache_t *mc;
	if (jl_mcache_new(s, NULL, &mc, &d))
		return 1;
	enum { HITS = 300 };
	static double lat[HITS];
	size_t bytes = 0;
	for (int i = 0; i <= HITS; i++) {
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		int64_t t0 = jl_mono_ns();
		jl_mview_t v;
		if (jl_mcache_get(mc, jl_cstr(region), year, &v, &d) || jl_mcache_json(&v, &b))
			return 1;
		jl_mcache_put(&v);
		int64_t t1 = jl_mono_ns();
		bytes = b.n;
		jl_buf_dispose(&b);
		if (i)
			lat[i - 1] = (double)(t1 - t0) / 1e3;
	}
	jl_mcache_counters_t k;
	jl_mcache_counters(mc, &k);
	double hit_med = median(lat, HITS), hit_p99 = lat[HITS * 99 / 100];
	printf("cache: %lld facts build(s), %lld cube build(s), %d hits of %zu bytes: median %.1f us, p99 %.1f us\n",
	       (long long)k.facts_builds, (long long)k.cube_builds, HITS, bytes, hit_med, hit_p99);
	printf("indicators-result: resources=%lld residents=%lld counties=%u facts_s=%.3f resources_per_s=%.0f "
	       "catalog_all_counties_s=%.3f cache_hit_us=%.1f cache_hit_p99_us=%.1f\n",
	       (long long)resources, (long long)persons, counties, median(facts_s, runs), median(rate, runs),
	       median(all_s, runs), hit_med, hit_p99);
	jl_mcache_free(mc);
	jl_store_close(s);
	jl_arena_free(a);
	return 0;
}
