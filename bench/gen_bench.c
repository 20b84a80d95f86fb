/*
 * gen_bench — speed and memory of the region generator without I/O: the
 * resources are counted and dropped. Prints residents/s, resources/s, MB/s
 * of NDJSON and the peak RSS. `jianlian gen --out` adds the file writes
 * (measured figures in docs/gen.md).
 *
 *   build/bench/gen_bench [residents (default 100000)] [years, e.g. 2021-2025]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "base/time.h"
#include "gen/gen.h"

typedef struct count {
	int64_t bytes;
} count_t;

static jl_rc put(void *arg, jl_gen_rt type, jl_str_t json)
{
	(void)type;
	((count_t *)arg)->bytes += (int64_t)json.n + 1;
	return JL_OK;
}

int main(int argc, char **argv)
{
	int64_t n = 100000;
	int y0 = 2021, y1 = 2025;
	if (argc > 1 && (!jl_str_to_i64(jl_cstr(argv[1]), &n) || n < 1)) {
		fprintf(stderr, "usage: gen_bench [residents] [FIRST-LAST]\n");
		return 2;
	}
	if (argc > 2 && sscanf(argv[2], "%d-%d", &y0, &y1) != 2) {
		fprintf(stderr, "usage: gen_bench [residents] [FIRST-LAST]\n");
		return 2;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	count_t c = {0};
	jl_gen_cfg_t cfg = {.region = 532900, .residents = n, .year_from = y0, .year_to = y1, .seed = 1};
	jl_gen_sink_t sink = {.put = put, .arg = &c};
	jl_gen_stats_t st;
	int64_t t0 = jl_mono_ns();
	jl_rc rc = jl_gen_run(&cfg, &sink, &st, &d);
	double secs = (double)(jl_mono_ns() - t0) / 1e9;
	if (rc) {
		fprintf(stderr, "gen_bench: failed (%s)\n", jl_rc_name(rc));
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("gen-result: residents=%lld years=%d-%d resources=%lld seconds=%.2f residents_per_s=%.0f "
	       "resources_per_s=%.0f mb_per_s=%.0f peak_rss_mb=%ld\n",
	       (long long)n, y0, y1, (long long)st.resources, secs, (double)n / secs, (double)st.resources / secs,
	       (double)c.bytes / 1e6 / secs, ru.ru_maxrss / 1024);
	jl_arena_free(a);
	return 0;
}
