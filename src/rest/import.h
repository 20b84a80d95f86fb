/*
 * import (REST) — `POST /fhir/$import`, bulk import over HTTP following the
 * asynchronous pattern of the Bulk Data import draft: a Parameters body
 * names NDJSON inputs (input.url: a file path or file:// URL under the one
 * directory the server was given with `serve --import-dir`; nothing else is
 * ever read), the import runs in the background through ingest/import.c,
 * and a status URL answers 202 with X-Progress while it runs, then 200 with
 * the counts per input and the error file (OperationOutcome NDJSON).
 *
 * URLs (under /fhir): $import (POST, Prefer: respond-async);
 * $import-poll-status?_jobId=ID (GET; DELETE cancels: what was read is
 * committed, and a new kick-off of the same inputs resumes after it);
 * $import-errors/ID.ndjson (GET). Each job is recorded on disk (WORK/ID.json
 * beside its error file), so its status URL outlives a restart: a finished
 * job is served until it expires, and one that was running when the server
 * stopped or died runs again at start-up, continuing after the last batch
 * it committed (the store keeps each input's position), or is reported
 * failed with the reason (an input no longer under --import-dir).
 *
 * Thread-safety: the handlers may run on any number of threads at once.
 */
#ifndef JL_REST_IMPORT_H
#define JL_REST_IMPORT_H

#include "base/log.h"
#include "rest/api.h"
#include "store/store.h"

typedef struct jl_imports jl_imports_t;

typedef struct jl_imports_cfg {
	const char *dir;       /* inputs must be under this directory (NULL: $import accepts no input) */
	const char *work;      /* where jobs keep their error files, e.g. DATA/import (created if missing) */
	int64_t ttl_s;         /* a finished job's status and error file are kept this long (default 3600) */
	uint32_t max_jobs;     /* imports running at once (default 1; they share one store writer) */
	uint32_t batch;        /* resources per transaction (default 5000) */
} jl_imports_cfg_t;

void jl_imports_cfg_defaults(jl_imports_cfg_t *cfg);
/*
 * Checks the directories, prepares the job table, adopts the jobs recorded
 * in cfg->work and resumes the interrupted ones. Problems in d.
 */
jl_rc jl_imports_start(const jl_imports_cfg_t *cfg, jl_store_t *store, const jl_search_defs_t *defs, jl_log_t *log,
		       jl_imports_t **out, jl_diag_t *d) JL_MUST_USE;
/*
 * Stops running imports (each commits what it read and stays recorded as
 * in progress, to resume at the next start) and waits for them; kick-offs
 * get 503 afterwards. NULL-safe.
 */
void jl_imports_stop(jl_imports_t *m);
/* Frees everything; call after jl_imports_stop once no request can reach m. NULL-safe. */
void jl_imports_free(jl_imports_t *m);

/*
 * Reads an $import kick-off's Parameters body (JSON text) as the handler
 * does — inputFormat, storageDetail, input (type, url: resolved under the
 * import directory, a directory expanded to its files) — with every problem
 * an issue in d, and *ninputs the input files found. Starts nothing. The
 * parser behind jl__api_import, on its own for the fuzz target. Thread-safe.
 */
void jl__import_params(jl_imports_t *m, jl_arena_t *a, jl_str_t body, size_t *ninputs, jl_diag_t *d);

/* Handlers, called by api.c's routing. */
void jl__api_import(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out);
void jl__api_import_status(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out);
/* Serves rest (the path after /fhir) if it is an import error file URL, before negotiation; false otherwise. */
bool jl__api_import_errors(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest);

#endif
