/*
 * api — the FHIR REST API as a function from request to response: routing
 * of /fhir/…, /healthz and /metrics, content negotiation, and the shared
 * steps of the interactions (rest/crud.c, rest/history.c,
 * rest/capability.c). Nothing here knows libmicrohttpd; rest/server.c
 * adapts it.
 *
 * Thread-safety: jl_api_handle may run on many threads at once; the api
 * state is read-only after init except for atomic counters.
 */
#ifndef JL_REST_API_H
#define JL_REST_API_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/json.h"
#include "base/log.h"
#include "fhir/model.h"
#include "rest/http.h"
#include "rest/metrics.h"
#include "search/index.h"
#include "search/query.h"
#include "store/store.h"

typedef struct jl_api_cfg {
	size_t max_body;               /* request body cap in bytes (default 64 MiB) → 413 */
	uint32_t max_json_depth;       /* default 128 */
	int64_t request_timeout_ms;    /* default 30000 */
	uint32_t page_default;         /* history page size without _count (default 20) */
	uint32_t page_max;             /* largest _count honoured (default 1000) */
	uint32_t include_max;          /* most resources _include/_revinclude add to one page (default 1000) */
	const char *base_url;          /* e.g. "https://fhir.example.cn/fhir"; NULL: from Host */
	const char *admin_token;       /* X-Admin-Token that unlocks admin-only features (_debug=plan); NULL: none */
	uint32_t cond_delete_max;      /* most resources one conditional delete removes (default 1: single) */
	uint32_t bundle_max_entries;   /* most entries in a batch or transaction Bundle (default 10000) */
} jl_api_cfg_t;

/* Condition stripes (rest/conditional.c): a bit per stripe, taken all at once. */
typedef struct jl_cond_locks {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t busy;
} jl_cond_locks_t;

typedef struct jl_api {
	jl_api_cfg_t cfg;
	jl_store_t *store;
	const jl_search_defs_t *defs;  /* compiled search parameters (index extraction) */
	jl_log_t *log;
	jl_metrics_t metrics;
	jl_buf_t capability;           /* CapabilityStatement, compact JSON, built once */
	_Atomic int draining;          /* shutting down: /healthz says so */
	jl_cond_locks_t conds;
	struct jl_bulk *bulk;          /* bulk export jobs (rest/bulk.c); NULL: $export is not offered */
	struct jl_imports *imports;    /* bulk import jobs (rest/import.c); NULL: $import is not offered */
	struct jl_mcache *monitor;     /* plan indicators (rest/monitor.c); NULL: /monitor answers 503 */
} jl_api_t;

void jl_api_cfg_defaults(jl_api_cfg_t *cfg);
jl_rc jl_api_init(jl_api_t *api, const jl_api_cfg_t *cfg, jl_store_t *store, const jl_search_defs_t *defs,
		  jl_log_t *log) JL_MUST_USE;
void jl_api_dispose(jl_api_t *api);
/*
 * Answers one request. resp must be zeroed with its body buffer initialised.
 * When req->pending is set on return, an asynchronous step is under way:
 * the response is not ready until jl_api_continue has run (see http.h).
 */
void jl_api_handle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp);
/* Finishes a request whose asynchronous step completed. */
void jl_api_continue(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp);
/*
 * Runs the batch or transaction Bundle in req->body as POST [base] would,
 * synchronously (req->suspend must be NULL), and commits `extra` writes
 * (e.g. a JL_WRITE_META record of an import's position) in the same store
 * call as a transaction's entries — so both or neither are written. For a
 * batch they are written after its entries, in a call of their own.
 * Prefer: return=minimal unless the request asks otherwise.
 */
void jl_api_post_bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_write_t *extra,
			size_t nextra);

/* ---- shared by the interaction modules (internal) ---- */

typedef struct jl_out {
	int pretty;                    /* _pretty=true */
	bool plain_json;               /* client asked for application/json */
	enum { JL_RET_REPRESENTATION, JL_RET_MINIMAL, JL_RET_OUTCOME } ret; /* Prefer: return= */
} jl_out_t;

typedef struct jl_target {
	const jl_fhir_type_t *type;    /* NULL for system level */
	jl_str_t type_name;
	jl_str_t id;                   /* empty unless instance level */
	int64_t vid;                   /* vread version */
} jl_target_t;

/* Parses the body as a resource of the target type: JSON, resourceType, structure. */
jl_rc jl__api_parse_resource(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			     const jl_target_t *t, jl_json_t **res);
/* Sends a stored version as the response body with ETag/Last-Modified (status set by caller). */
void jl__api_send_version(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_version_t *v);
/* Adds ETag and Last-Modified for a version. */
void jl__api_version_headers(jl_http_req_t *req, jl_http_resp_t *resp, int64_t ver, int64_t updated_us);
/* Error response with one issue. */
void jl__api_fail(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc, const char *expr,
		  const char *fmt, ...) JL_PRINTF(6, 7);
/* What to do once a store write completes (rc is its result). */
typedef void (*jl_api_cont_fn)(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc);
/*
 * Writes w[0..n) as one transaction and then calls cont — later, from the
 * server's thread, when the request can be suspended; at once otherwise.
 * w and state must live in the request arena.
 */
void jl__api_write(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_write_t *w, size_t n,
		   jl_api_cont_fn cont, void *state);
/* Re-serialises a compact JSON body with indentation when out->pretty. */
void jl__api_finish_json(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out);
/* _format and _pretty: they shape the answer, never select or filter anything. */
static inline bool jl__api_format_param(jl_str_t k)
{
	return jl_str_eqc(k, "_format") || jl_str_eqc(k, "_pretty");
}
/* Parses an ETag-style version ("W/\"3\"", "\"3\"", "3"); 0 when malformed. */
int64_t jl__api_etag_version(const char *h);

/* Interactions (rest/crud.c, rest/history.c, rest/capability.c). */
void jl__api_read(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
void jl__api_create(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
void jl__api_update(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
void jl__api_delete(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
/* PATCH (rest/patch.c): JSON Patch or FHIRPath Patch, validated and written like an update. */
void jl__api_patch(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
void jl__api_history(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t);
jl_rc jl__api_build_capability(jl_api_t *api);

/*
 * Conditional interactions (rest/conditional.c). A condition is a search
 * (criteria = a query string, e.g. "identifier=http://x|1") on one type.
 */
void jl__api_cond_update(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			 const jl_target_t *t);
void jl__api_cond_delete(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			 const jl_target_t *t);
void jl__api_cond_patch(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_target_t *t);
/* The stripe bit of a condition. */
uint64_t jl__api_cond_stripe(jl_str_t type, jl_str_t criteria);
/*
 * Takes the stripes in mask for req (which must hold none yet), waiting for
 * other requests to release them (JL_ETIMEOUT at the request's deadline).
 * They are released when the request's write completes, or when its
 * response is ready, whichever comes first.
 */
jl_rc jl__api_cond_lock(jl_api_t *api, jl_http_req_t *req, uint64_t mask) JL_MUST_USE;
void jl__api_cond_unlock(jl_api_t *api, jl_http_req_t *req);
/*
 * Runs a condition: up to max + 1 current versions matching criteria, so
 * that "more than max" can be told. Unknown or malformed parameters are
 * errors (strict handling: a condition that ignored a parameter could match
 * resources the client never meant); issues in d name the parameter.
 */
jl_rc jl__api_match(jl_api_t *api, jl_http_req_t *req, jl_str_t type, jl_str_t criteria, uint32_t max,
		    jl_sq_page_t *out, jl_diag_t *d) JL_MUST_USE;
/* Criteria as clients send them: "Type?a=b", "?a=b" or "a=b" → "a=b" (type checked against expect). */
bool jl__api_criteria(jl_str_t text, jl_str_t expect_type, jl_str_t *criteria);

/* Batch and transaction Bundles at POST [base] (rest/bundle.c). */
void jl__api_bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out);
/* The route of a FHIR request below /fhir (api.c), for Bundle entries dispatched as requests. */
void jl__api_route(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest);
/* A write of a transaction entry: collected by the transaction instead of committed (rest/bundle.c). */
void jl__txn_collect(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_write_t *w, size_t n,
		     jl_api_cont_fn cont, void *state);
/* A transaction entry's resource, already validated with its Bundle (NULL: parse the body). */
jl_json_t *jl__txn_resource(const struct jl_txn_entry *e);
/* The id a transaction assigned to the entry being dispatched (empty: none). */
jl_str_t jl__txn_assigned_id(const struct jl_txn_entry *e);
/* Shared write steps of rest/crud.c: the stored body of a validated resource, and its index rows. */
jl_rc jl__api_encode(jl_http_req_t *req, const jl_json_t *res, jl_write_t *w) JL_MUST_USE;
/* The existing resource a conditional create matched: 200 with it, as Prefer asks. */
void jl__api_send_existing(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_version_t *v);
/* The answer to a successful write, as Prefer asks (status 200/201, `what` for return=OperationOutcome). */
void jl__api_write_answer(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, int status,
			  const jl_write_t *w, const char *what);
/* The answer to a failed store call (404, 503, 500 …) for target t. */
void jl__api_store_failure(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc,
			   const jl_target_t *t);
/* Search (rest/search.c): type, system and compartment level, and Patient/$everything. */
void jl__api_search(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		    const jl_target_t *t, jl_str_t compartment_type);
void jl__api_everything(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_target_t *t);

#endif
