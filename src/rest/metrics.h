/*
 * metrics — request counters and a latency histogram, lock-free (relaxed
 * atomics), rendered as Prometheus text together with what the store knows
 * (resources by type, database size) and memory by subsystem.
 */
#ifndef JL_REST_METRICS_H
#define JL_REST_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "store/store.h"

#define JL_METRICS_BUCKETS 14

typedef struct jl_metrics {
	_Atomic uint64_t by_status[600];
	_Atomic uint64_t hist[JL_METRICS_BUCKETS + 1]; /* last = +Inf */
	_Atomic uint64_t sum_us;
	_Atomic uint64_t count;
	_Atomic int64_t inflight;
	_Atomic uint64_t bytes_out;
	int64_t started_us;
} jl_metrics_t;

void jl_metrics_init(jl_metrics_t *m);
/* Records one finished request. Thread-safe. */
void jl_metrics_observe(jl_metrics_t *m, int status, int64_t dur_ns, uint64_t bytes);
/* Appends the Prometheus exposition (text format 0.0.4). store may be NULL. */
jl_rc jl_metrics_render(jl_metrics_t *m, jl_store_t *store, jl_arena_t *a, jl_buf_t *out);

#endif
