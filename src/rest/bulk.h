/*
 * bulk — FHIR Bulk Data Access (the IG's asynchronous request pattern) over
 * HTTP: $export kick-off at system, Patient and Group level, status polling
 * (202 with X-Progress, then 200 with the manifest), cancellation by
 * DELETE, and download of the NDJSON files. Exports run on background
 * threads (search/export.c does the work); each job keeps its files and
 * its state under DIR/<job id>/ until `ttl` after it ended, so a restart
 * still serves finished jobs and reports interrupted ones as failed.
 *
 * URLs (under /fhir): $export, Patient/$export, Group/{id}/$export (GET or
 * POST); $export-poll-status?_jobId=ID (GET, DELETE);
 * $export-file/ID/<Type>-<n>.ndjson (GET, HEAD). See docs/api.md.
 *
 * Thread-safety: the handlers may run on any number of threads at once.
 */
#ifndef JL_REST_BULK_H
#define JL_REST_BULK_H

#include "base/log.h"
#include "rest/api.h"
#include "search/export.h"
#include "store/store.h"

typedef struct jl_bulk jl_bulk_t;

typedef struct jl_bulk_cfg {
	const char *dir;           /* where jobs keep their files, e.g. DATA/export (created if missing) */
	int64_t ttl_s;             /* a job's files and status are kept this long after it ended (default 3600) */
	uint32_t max_jobs;         /* exports running at once (default 2); kick-offs beyond get 429 */
	uint64_t max_file_bytes;   /* NDJSON files are split at this size (default 1 GiB) */
} jl_bulk_cfg_t;

void jl_bulk_cfg_defaults(jl_bulk_cfg_t *cfg);

/*
 * Opens the job directory, adopts the jobs a previous run left there
 * (finished ones are served until they expire; ones that were running are
 * marked failed) and starts the worker threads. Problems in d.
 */
jl_rc jl_bulk_start(const jl_bulk_cfg_t *cfg, jl_store_t *store, jl_log_t *log, jl_bulk_t **out, jl_diag_t *d)
	JL_MUST_USE;
/*
 * Cancels running exports (they are recorded as failed, their partial
 * files removed) and stops the threads. Kick-offs are refused from then on
 * (503); status and files stay readable until jl_bulk_free. NULL-safe.
 */
void jl_bulk_stop(jl_bulk_t *b);
/* Frees everything; call after jl_bulk_stop once no request can reach b. NULL-safe. */
void jl_bulk_free(jl_bulk_t *b);

/* How a kick-off's parameters are read. */
typedef struct jl__bulk_opts {
	uint8_t level;                 /* jl_export_level */
	bool strict;                   /* Prefer: handling=strict — unknown parameters are errors */
	bool lenient;                  /* Prefer: handling=lenient — unusable _typeFilter, _elements, */
	                               /*   includeAssociatedData are warnings (and ignored), not errors */
	const jl_search_cfg_t *search; /* for _typeFilter queries */
} jl__bulk_opts_t;

/* A kick-off's parameters, checked; arena memory. */
typedef struct jl__bulk_kick {
	jl_str_t *types;
	uint32_t ntypes;
	int64_t since_us;
	bool since_seen;
	jl_export_filter_t *filters;
	uint32_t nfilters;
	jl_export_element_t *elements;
	uint32_t nelements;
	jl_str_t *filter_values, *element_values; /* the raw values, to parse again into a job's memory */
	uint32_t nfilter_values, nelement_values;
} jl__bulk_kick_t;

/*
 * Reads the parameters of an $export kick-off: the decoded query pairs, and
 * for a POST the Parameters body (empty: none). Every problem is an issue
 * in d (errors make the kick-off a 400; warnings are kept for the job's
 * error file). The parser behind jl__api_export, on its own for the fuzz
 * target. Thread-safe.
 */
void jl__bulk_params(jl_arena_t *a, const jl_kv_t *query, size_t nquery, jl_str_t body, const jl__bulk_opts_t *o,
		     jl__bulk_kick_t *k, jl_diag_t *d);

/* Handlers, called by api.c's routing (level: jl_export_level). */
void jl__api_export(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, uint8_t level,
		    jl_str_t group_id);
void jl__api_export_status(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out);
/* Serves rest (the path after /fhir) if it is a file URL, before content negotiation; false otherwise. */
bool jl__api_export_file(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest);

#endif
