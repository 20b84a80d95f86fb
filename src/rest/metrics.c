/*
 * metrics — Prometheus text exposition.
 */
#include "rest/metrics.h"

#include "base/time.h"

/* Upper bounds in seconds, chosen around our latency targets (sub-ms reads, ms writes). */
static const double bounds[JL_METRICS_BUCKETS] = {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
						  0.05,    0.1,    0.25,  0.5,   1.0,   2.5,  10.0};

void jl_metrics_init(jl_metrics_t *m)
{
	memset(m, 0, sizeof *m);
	m->started_us = jl_now_us();
}

void jl_metrics_observe(jl_metrics_t *m, int status, int64_t dur_ns, uint64_t bytes)
{
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&m->by_status[status], 1, memory_order_relaxed);
	double s = (double)dur_ns / 1e9;
	int b = 0;
	while (b < JL_METRICS_BUCKETS && s > bounds[b])
		b++;
	atomic_fetch_add_explicit(&m->hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us, (uint64_t)(dur_ns / 1000), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bytes_out, bytes, memory_order_relaxed);
}

jl_rc jl_metrics_render(jl_metrics_t *m, jl_store_t *store, jl_arena_t *a, jl_buf_t *out)
{
	jl_buf_puts(out, "# HELP jianlian_http_requests_total HTTP requests answered, by status code.\n"
			 "# TYPE jianlian_http_requests_total counter\n");
	for (int s = 100; s < 600; s++) {
		uint64_t n = atomic_load_explicit(&m->by_status[s], memory_order_relaxed);
		if (n)
			jl_buf_printf(out, "jianlian_http_requests_total{code=\"%d\"} %llu\n", s,
				      (unsigned long long)n);
	}
	jl_buf_puts(out, "# HELP jianlian_http_request_duration_seconds Time from request start to response.\n"
			 "# TYPE jianlian_http_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int b = 0; b <= JL_METRICS_BUCKETS; b++) {
		cum += atomic_load_explicit(&m->hist[b], memory_order_relaxed);
		if (b < JL_METRICS_BUCKETS)
			jl_buf_printf(out, "jianlian_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				      bounds[b], (unsigned long long)cum);
		else
			jl_buf_printf(out, "jianlian_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				      (unsigned long long)cum);
	}
	jl_buf_printf(out, "jianlian_http_request_duration_seconds_sum %.6f\n",
		      (double)atomic_load(&m->sum_us) / 1e6);
	jl_buf_printf(out, "jianlian_http_request_duration_seconds_count %llu\n",
		      (unsigned long long)atomic_load(&m->count));
	jl_buf_printf(out, "# HELP jianlian_http_requests_in_flight Requests being processed.\n"
			   "# TYPE jianlian_http_requests_in_flight gauge\njianlian_http_requests_in_flight %lld\n",
		      (long long)atomic_load(&m->inflight));
	jl_buf_printf(out, "# HELP jianlian_http_response_bytes_total Response body bytes sent.\n"
			   "# TYPE jianlian_http_response_bytes_total counter\njianlian_http_response_bytes_total %llu\n",
		      (unsigned long long)atomic_load(&m->bytes_out));
	jl_buf_printf(out, "# HELP jianlian_uptime_seconds Seconds since the server started.\n"
			   "# TYPE jianlian_uptime_seconds gauge\njianlian_uptime_seconds %.0f\n",
		      (double)(jl_now_us() - m->started_us) / 1e6);
	jl_buf_puts(out, "# HELP jianlian_memory_bytes Heap bytes allocated, by subsystem.\n"
			 "# TYPE jianlian_memory_bytes gauge\n");
	for (int s = 0; s < JL_MEM_COUNT; s++)
		jl_buf_printf(out, "jianlian_memory_bytes{subsystem=\"%s\"} %lld\n", jl_mem_sub_name((jl_mem_sub)s),
			      (long long)jl_mem_used((jl_mem_sub)s));
	if (!store)
		return jl_buf_status(out);
	jl_type_count_t *tc;
	size_t n;
	jl_rc rc = jl_store_counts(store, a, &tc, &n);
	if (rc == JL_OK) {
		jl_buf_puts(out, "# HELP jianlian_resources Resources whose current version is not deleted, by type.\n"
				 "# TYPE jianlian_resources gauge\n");
		for (size_t i = 0; i < n; i++)
			jl_buf_printf(out, "jianlian_resources{type=\"%s\"} %lld\n", tc[i].type, (long long)tc[i].live);
		jl_buf_puts(out, "# HELP jianlian_resource_versions Versions stored, by type.\n"
				 "# TYPE jianlian_resource_versions gauge\n");
		for (size_t i = 0; i < n; i++)
			jl_buf_printf(out, "jianlian_resource_versions{type=\"%s\"} %lld\n", tc[i].type,
				      (long long)tc[i].versions);
	}
	jl_store_stats_t st;
	if (jl_store_stats(store, &st) == JL_OK) {
		jl_buf_printf(out, "# HELP jianlian_store_bytes Database size on disk.\n"
				   "# TYPE jianlian_store_bytes gauge\njianlian_store_bytes %lld\n"
				   "# HELP jianlian_store_commits_total Database commits (group commit: one per group of writes).\n"
				   "# TYPE jianlian_store_commits_total counter\njianlian_store_commits_total %lld\n"
				   "# HELP jianlian_store_write_calls_total Write calls committed (requests, batches).\n"
				   "# TYPE jianlian_store_write_calls_total counter\njianlian_store_write_calls_total %lld\n"
				   "# HELP jianlian_store_max_group Most write calls one commit carried.\n"
				   "# TYPE jianlian_store_max_group gauge\njianlian_store_max_group %lld\n",
			      (long long)st.bytes, (long long)st.commits, (long long)st.calls, (long long)st.max_group);
		jl_buf_printf(out, "# HELP jianlian_store_write_seconds_total Time committed write calls spent, summed over calls,"
				   " by stage: queued for the writer, in their group's transaction, waiting for the fsync after it.\n"
				   "# TYPE jianlian_store_write_seconds_total counter\n"
				   "jianlian_store_write_seconds_total{stage=\"queue\"} %.6f\n"
				   "jianlian_store_write_seconds_total{stage=\"run\"} %.6f\n"
				   "jianlian_store_write_seconds_total{stage=\"sync\"} %.6f\n",
			      (double)st.queue_ns / 1e9, (double)st.run_ns / 1e9, (double)st.sync_ns / 1e9);
		jl_buf_printf(out, "# HELP jianlian_store_index_merges_total Merges of staged search index rows into the index.\n"
				   "# TYPE jianlian_store_index_merges_total counter\njianlian_store_index_merges_total %lld\n"
				   "# HELP jianlian_store_index_merge_seconds_total Time the writer spent merging staged index rows.\n"
				   "# TYPE jianlian_store_index_merge_seconds_total counter\n"
				   "jianlian_store_index_merge_seconds_total %.6f\n",
			      (long long)st.merges, (double)st.merge_ns / 1e9);
	}
	return rc ? rc : jl_buf_status(out);
}
