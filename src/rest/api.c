/*
 * api — routing and content negotiation for the FHIR REST API, plus the
 * small endpoints (/healthz, /metrics, /). The interactions themselves are
 * in crud.c, history.c and capability.c.
 *
 * Order of checks for a FHIR request, so that the most fundamental problem
 * is the one reported: unacceptable output format (406), route and method
 * (404/405), then the interaction's own checks (415, 400, 422, 412 …).
 */
#include "rest/api.h"
#include "rest/console.h"
#include "rest/bulk.h"
#include "rest/import.h"
#include "rest/monitor.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/time.h"
#include "base/version.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "rest/encoding.h"
#include "rest/outcome.h"

void jl_api_cfg_defaults(jl_api_cfg_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_body = (size_t)64 << 20;
	cfg->max_json_depth = 128;
	cfg->request_timeout_ms = 30000;
	cfg->page_default = 20;
	cfg->page_max = 1000;
	cfg->include_max = 1000;
	cfg->cond_delete_max = 1;
	cfg->bundle_max_entries = 10000;
}

jl_rc jl_api_init(jl_api_t *api, const jl_api_cfg_t *cfg, jl_store_t *store, const jl_search_defs_t *defs,
		  jl_log_t *log)
{
	memset(api, 0, sizeof *api);
	api->cfg = *cfg;
	api->store = store;
	api->defs = defs;
	api->log = log;
	jl_metrics_init(&api->metrics);
	jl_buf_init(&api->capability, JL_MEM_MISC, 0);
	/* Stripe waits time out at the request deadline, a monotonic instant. */
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&api->conds.cv, &ca))
		return JL_ENOMEM;
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&api->conds.mu, NULL);
	return jl__api_build_capability(api);
}

void jl_api_dispose(jl_api_t *api)
{
	jl_buf_dispose(&api->capability);
	pthread_cond_destroy(&api->conds.cv);
	pthread_mutex_destroy(&api->conds.mu);
}

void jl__api_fail(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc, const char *expr,
		  const char *fmt, ...)
{
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	va_list ap;
	va_start(ap, fmt);
	jl_diag_vadd(&d, JL_SEV_ERROR, jl_rest_issue_code(rc), expr, fmt, ap);
	va_end(ap);
	jl_rest_outcome(resp, jl_rest_status(rc), &d, out ? out->pretty : 0);
}

int64_t jl__api_etag_version(const char *h)
{
	if (!h)
		return 0;
	jl_str_t s = jl_str_trim(jl_cstr(h));
	if (jl_str_starts(s, "W/")) {
		s.p += 2;
		s.n -= 2;
	}
	if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"') {
		s.p++;
		s.n -= 2;
	}
	int64_t v;
	if (!jl_str_to_i64(s, &v) || v < 1)
		return 0;
	return v;
}

void jl__api_version_headers(jl_http_req_t *req, jl_http_resp_t *resp, int64_t ver, int64_t updated_us)
{
	char b[40];
	int n = snprintf(b, sizeof b, "W/\"%lld\"", (long long)ver);
	jl_http_set_header(resp, req->ctx->arena, "ETag", jl_str(b, (size_t)n));
	size_t k = jl_time_fmt_http(updated_us, b);
	jl_http_set_header(resp, req->ctx->arena, "Last-Modified", jl_str(b, k));
}

void jl__api_finish_json(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out)
{
	resp->content_type = out->plain_json ? "application/json; charset=utf-8"
					     : "application/fhir+json; charset=utf-8";
	if (!out->pretty || !resp->body.n)
		return;
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 1024, .flags = JL_JSON_ALLOW_DUP_KEYS};
	if (jl_json_parse(req->ctx->arena, resp->body.p, resp->body.n, &o, &v, &e) != JL_OK)
		return; /* keep the compact form rather than fail a good response */
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	if (jl_json_write(&b, v, 1) == JL_OK) {
		jl_buf_dispose(&resp->body);
		resp->body = b;
	} else {
		jl_buf_dispose(&b);
	}
}

void jl__api_send_version(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_version_t *v)
{
	jl_buf_clear(&resp->body);
	jl_rc rc = jl_fhir_body_assemble(&resp->body, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL, "The stored version could not be read back");
		return;
	}
	jl__api_version_headers(req, resp, v->ver, v->updated_us);
	jl__api_finish_json(req, resp, out);
}

jl_rc jl__api_parse_resource(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			     const jl_target_t *t, jl_json_t **res)
{
	jl_arena_t *a = req->ctx->arena;
	/* A transaction entry's resource was parsed and validated with its Bundle. */
	jl_json_t *pre = req->txn ? jl__txn_resource(req->txn) : NULL;
	if (pre && jl_str_eq(jl_json_str(jl_json_get(pre, "resourceType")), t->type_name)) {
		*res = pre;
		return JL_OK;
	}
	const char *ct = jl_http_header(req, "Content-Type");
	jl_rc rc = jl_rest_check_content_type(ct);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL,
			     "The request body must be application/fhir+json (FHIR 4.0), not %s",
			     ct ? ct : "without a Content-Type");
		return rc;
	}
	if (!req->body.n) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "The request has no body; a %.*s resource was expected",
			     JL_STR_FMT(t->type_name));
		return JL_EINVAL;
	}
	jl_json_opts_t o = {.max_depth = api->cfg.max_json_depth};
	jl_json_err_t e;
	rc = jl_json_parse(a, req->body.p, req->body.n, &o, res, &e);
	if (rc == JL_ENOMEM) {
		jl__api_fail(req, resp, out, JL_ETOOBIG, NULL, "The resource is too large to process");
		return JL_ETOOBIG;
	}
	if (rc) {
		jl__api_fail(req, resp, out, rc == JL_ETOOBIG ? JL_ETOOBIG : JL_EINVAL, NULL,
			     "The body is not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return rc == JL_ETOOBIG ? JL_ETOOBIG : JL_EINVAL;
	}
	if ((*res)->type != JL_JSON_OBJECT) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "The body must be a JSON object (a FHIR resource)");
		return JL_EINVAL;
	}
	const jl_json_t *rt = jl_json_get(*res, "resourceType");
	if (!jl_json_is(rt, JL_JSON_STRING)) {
		jl__api_fail(req, resp, out, JL_EINVAL, "resourceType", "The resource has no resourceType");
		return JL_EINVAL;
	}
	if (!jl_str_eq(jl_json_str(rt), t->type_name)) {
		jl_str_t got = jl_json_str(rt);
		jl__api_fail(req, resp, out, JL_EINVAL, "resourceType",
			     "resourceType \"%.*s\" does not match the URL, which expects %.*s",
			     (int)(got.n > 64 ? 64 : got.n), got.p, JL_STR_FMT(t->type_name));
		return JL_EINVAL;
	}
	jl_diag_t d;
	jl_diag_init(&d, a);
	rc = jl_fhir_validate(*res, t->type, &d);
	if (rc) {
		jl_rest_outcome(resp, 422, &d, out->pretty);
		return JL_EINVALID;
	}
	return JL_OK;
}

/* ---- negotiation ---- */

static bool is_json_format(jl_str_t f)
{
	jl_str_t mt = f;
	const char *semi = jl_str_chr(f, ';');
	if (semi)
		mt.n = (size_t)(semi - f.p);
	mt = jl_str_trim(mt);
	return jl_str_ieqc(mt, "json") || jl_str_ieqc(mt, "application/json") ||
	       jl_str_ieqc(mt, "application/fhir+json") || jl_str_ieqc(mt, "application/json+fhir");
}

/* Decides the output format. JL_ENOTACCEPT when the client accepts nothing we produce. */
static jl_rc negotiate(jl_http_req_t *req, jl_out_t *out, jl_str_t *bad)
{
	memset(out, 0, sizeof *out);
	const jl_str_t *p = jl_http_param(req, "_pretty");
	out->pretty = p && jl_str_eqc(*p, "true");
	const jl_str_t *f = jl_http_param(req, "_format");
	if (f) {
		if (!is_json_format(*f)) {
			*bad = *f;
			return JL_ENOTACCEPT;
		}
		out->plain_json = jl_str_ieqc(jl_str_trim(*f), "application/json");
	} else {
		const char *acc = jl_http_header(req, "Accept");
		if (acc && *acc) {
			double fj = jl_http_accept_q(acc, "application/fhir+json");
			double j = jl_http_accept_q(acc, "application/json");
			double j2 = jl_http_accept_q(acc, "application/json+fhir");
			double app = jl_http_accept_q(acc, "application/*");
			double any = jl_http_accept_q(acc, "*/*");
			if (fj <= 0 && j <= 0 && j2 <= 0 && app <= 0 && any <= 0) {
				*bad = jl_cstr(acc);
				return JL_ENOTACCEPT;
			}
			out->plain_json = j > 0 && j > fj && j > j2;
		}
	}
	out->ret = JL_RET_REPRESENTATION;
	const char *pref = jl_http_header(req, "Prefer");
	if (pref) {
		if (strstr(pref, "return=minimal"))
			out->ret = JL_RET_MINIMAL;
		else if (strstr(pref, "return=OperationOutcome"))
			out->ret = JL_RET_OUTCOME;
	}
	return JL_OK;
}

/* ---- routing ---- */

#define MAX_SEGS 6

static size_t split_path(jl_str_t path, jl_str_t *seg, size_t max, bool *overflow)
{
	size_t n = 0;
	size_t i = 0;
	*overflow = false;
	while (i < path.n) {
		while (i < path.n && path.p[i] == '/')
			i++;
		if (i >= path.n)
			break;
		size_t s = i;
		while (i < path.n && path.p[i] != '/')
			i++;
		if (n == max) {
			*overflow = true;
			return n;
		}
		seg[n++] = jl_str(path.p + s, i - s);
	}
	return n;
}

static void method_not_allowed(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			       const char *allow)
{
	jl_http_set_header(resp, req->ctx->arena, "Allow", jl_cstr(allow));
	jl__api_fail(req, resp, out, JL_EMETHOD, NULL, "%.*s is not allowed here (allowed: %s)",
		     JL_STR_FMT(req->method_name), allow);
}

static bool is_get(const jl_http_req_t *req)
{
	return req->method == JL_M_GET || req->method == JL_M_HEAD;
}

/* A query beyond the output-format parameters: the criteria of a conditional update or delete. */
static bool has_criteria(const jl_http_req_t *req)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (!jl__api_format_param(req->query[i].k))
			return true;
	return false;
}

void jl__api_route(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest)
{
	jl_out_t out;
	jl_str_t bad = JL_STR_NULL;
	/* Export files are NDJSON: served before negotiation, which knows FHIR JSON only. */
	if (jl__api_export_file(api, req, resp, rest))
		return;
	if (jl__api_import_errors(api, req, resp, rest))
		return;
	if (negotiate(req, &out, &bad)) {
		jl_out_t plain = {0};
		jl__api_fail(req, resp, &plain, JL_ENOTACCEPT, NULL,
			     "This server answers in FHIR JSON only (application/fhir+json); \"%.*s\" cannot be served",
			     (int)(bad.n > 100 ? 100 : bad.n), bad.p);
		return;
	}
	jl_str_t seg[MAX_SEGS];
	bool overflow;
	size_t n = split_path(rest, seg, MAX_SEGS, &overflow);
	jl_target_t t = {0};
	if (overflow || n > 4) {
		jl__api_fail(req, resp, &out, JL_ENOTFOUND, NULL, "No FHIR interaction has this path");
		return;
	}
	if (n == 0) {
		if (is_get(req))
			jl__api_search(api, req, resp, &out, &t, JL_STR_NULL);
		else if (req->method == JL_M_POST)
			jl__api_bundle(api, req, resp, &out);
		else
			method_not_allowed(req, resp, &out, "GET, HEAD, POST");
		return;
	}
	if (jl_str_eqc(seg[0], "_search") && n == 1) {
		if (req->method == JL_M_POST || is_get(req))
			jl__api_search(api, req, resp, &out, &t, JL_STR_NULL);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	if (jl_str_eqc(seg[0], "metadata") && n == 1) {
		if (!is_get(req)) {
			method_not_allowed(req, resp, &out, "GET, HEAD");
			return;
		}
		jl_buf_clear(&resp->body);
		jl_buf_append(&resp->body, api->capability.p, api->capability.n);
		resp->status = 200;
		jl__api_finish_json(req, resp, &out);
		return;
	}
	if (n == 1 && (jl_str_eqc(seg[0], "$export") || jl_str_eqc(seg[0], "$export-poll-status"))) {
		bool kick = jl_str_eqc(seg[0], "$export");
		if (kick && (is_get(req) || req->method == JL_M_POST))
			jl__api_export(api, req, resp, &out, JL_EXPORT_SYSTEM, JL_STR_NULL);
		else if (!kick && (is_get(req) || req->method == JL_M_DELETE))
			jl__api_export_status(api, req, resp, &out);
		else
			method_not_allowed(req, resp, &out, kick ? "GET, POST" : "GET, HEAD, DELETE");
		return;
	}
	if (n == 1 && (jl_str_eqc(seg[0], "$import") || jl_str_eqc(seg[0], "$import-poll-status"))) {
		bool kick = jl_str_eqc(seg[0], "$import");
		if (kick && req->method == JL_M_POST)
			jl__api_import(api, req, resp, &out);
		else if (!kick && (is_get(req) || req->method == JL_M_DELETE))
			jl__api_import_status(api, req, resp, &out);
		else
			method_not_allowed(req, resp, &out, kick ? "POST" : "GET, HEAD, DELETE");
		return;
	}
	if (jl_str_eqc(seg[0], "_history") && n == 1) {
		if (!is_get(req)) {
			method_not_allowed(req, resp, &out, "GET, HEAD");
			return;
		}
		jl__api_history(api, req, resp, &out, &t);
		return;
	}
	t.type = jl_fhir_resource(seg[0]);
	t.type_name = seg[0];
	if (!t.type) {
		jl__api_fail(req, resp, &out, JL_ENOTFOUND, NULL, "\"%.*s\" is not a FHIR R4 resource type",
			     (int)(seg[0].n > 64 ? 64 : seg[0].n), seg[0].p);
		return;
	}
	if (n == 1) {
		if (req->method == JL_M_POST)
			jl__api_create(api, req, resp, &out, &t);
		else if (is_get(req))
			jl__api_search(api, req, resp, &out, &t, JL_STR_NULL);
		else if (req->method == JL_M_PUT && has_criteria(req))
			jl__api_cond_update(api, req, resp, &out, &t);
		else if (req->method == JL_M_DELETE && has_criteria(req))
			jl__api_cond_delete(api, req, resp, &out, &t);
		else if (req->method == JL_M_PATCH && has_criteria(req))
			jl__api_cond_patch(api, req, resp, &out, &t);
		else if (req->method == JL_M_PUT || req->method == JL_M_DELETE || req->method == JL_M_PATCH)
			jl__api_fail(req, resp, &out, JL_EINVAL, NULL,
				     "A conditional %.*s needs search criteria in the URL (e.g. ?identifier=system|value)",
				     JL_STR_FMT(req->method_name));
		else
			method_not_allowed(req, resp, &out, "GET, HEAD, POST, PUT, PATCH, DELETE");
		return;
	}
	if (jl_str_eqc(seg[1], "_search") && n == 2) {
		if (req->method == JL_M_POST || is_get(req))
			jl__api_search(api, req, resp, &out, &t, JL_STR_NULL);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	if (jl_str_eqc(seg[1], "_history") && n == 2) {
		if (is_get(req))
			jl__api_history(api, req, resp, &out, &t);
		else
			method_not_allowed(req, resp, &out, "GET, HEAD");
		return;
	}
	if (n == 2 && jl_str_eqc(seg[1], "$export") && jl_str_eqc(seg[0], "Patient")) {
		if (is_get(req) || req->method == JL_M_POST)
			jl__api_export(api, req, resp, &out, JL_EXPORT_PATIENT, JL_STR_NULL);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	t.id = seg[1];
	if (!jl_fhir_is_id(t.id)) {
		jl__api_fail(req, resp, &out, JL_EINVAL, NULL,
			     "\"%.*s\" is not a valid resource id (1-64 characters of A-Z a-z 0-9 - .)",
			     (int)(t.id.n > 64 ? 64 : t.id.n), t.id.p);
		return;
	}
	if (n == 2) {
		switch (req->method) {
		case JL_M_GET:
		case JL_M_HEAD: jl__api_read(api, req, resp, &out, &t); break;
		case JL_M_PUT: jl__api_update(api, req, resp, &out, &t); break;
		case JL_M_PATCH: jl__api_patch(api, req, resp, &out, &t); break;
		case JL_M_DELETE: jl__api_delete(api, req, resp, &out, &t); break;
		default: method_not_allowed(req, resp, &out, "GET, HEAD, PUT, PATCH, DELETE");
		}
		return;
	}
	if (n == 3 && jl_str_eqc(seg[2], "$export") && jl_str_eqc(seg[0], "Group")) {
		if (is_get(req) || req->method == JL_M_POST)
			jl__api_export(api, req, resp, &out, JL_EXPORT_GROUP, t.id);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	if (n == 3 && jl_str_eqc(seg[2], "$evaluate-measure") && jl_str_eqc(seg[0], "Measure")) {
		if (is_get(req) || req->method == JL_M_POST)
			jl__api_evaluate_measure(api, req, resp, &out, &t);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	if (n == 3 && jl_str_eqc(seg[2], "$everything")) {
		if (is_get(req) || req->method == JL_M_POST)
			jl__api_everything(api, req, resp, &out, &t);
		else
			method_not_allowed(req, resp, &out, "GET, POST");
		return;
	}
	if (n == 3 && jl_fhir_resource(seg[2])) {
		/* compartment search: /Patient/123/Observation?… */
		if (is_get(req))
			jl__api_search(api, req, resp, &out, &t, seg[2]);
		else
			method_not_allowed(req, resp, &out, "GET, HEAD");
		return;
	}
	if (!jl_str_eqc(seg[2], "_history")) {
		jl__api_fail(req, resp, &out, JL_ENOTFOUND, NULL, "No FHIR interaction has this path");
		return;
	}
	if (!is_get(req)) {
		method_not_allowed(req, resp, &out, "GET, HEAD");
		return;
	}
	if (n == 3) {
		jl__api_history(api, req, resp, &out, &t);
		return;
	}
	if (!jl_str_to_i64(seg[3], &t.vid) || t.vid < 1) {
		jl__api_fail(req, resp, &out, JL_EINVAL, NULL, "\"%.*s\" is not a version id (a positive integer)",
			     (int)(seg[3].n > 32 ? 32 : seg[3].n), seg[3].p);
		return;
	}
	jl__api_read(api, req, resp, &out, &t);
}

static void health(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	int draining = atomic_load(&api->draining);
	resp->status = draining ? 503 : 200;
	resp->content_type = "application/json";
	jl_buf_printf(&resp->body, "{\"status\":\"%s\",\"version\":\"%s\",\"fhirVersion\":\"%s\"}",
		      draining ? "draining" : "ok", JL_VERSION, jl_fhir_version);
	(void)req;
}

/* What a suspended request resumes with. */
typedef struct pending {
	jl_api_cont_fn fn;
	void *state;
	jl_api_t *api;
} pending_t;

static void on_written(void *arg, jl_rc rc)
{
	jl_http_req_t *req = arg;
	pending_t *p = req->cont;
	/* The write is durable (or failed): a later request on the same condition may search now. */
	jl__api_cond_unlock(p->api, req);
	req->async_rc = rc;
	req->resume(req->impl);
}

void jl__api_write(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_write_t *w, size_t n,
		   jl_api_cont_fn cont, void *state)
{
	if (req->txn) {
		jl__txn_collect(api, req, resp, w, n, cont, state);
		return;
	}
	if (!req->suspend) {
		jl_rc rc = jl_store_write(api->store, w, n, req->ctx->deadline_ns);
		jl__api_cond_unlock(api, req);
		cont(api, req, resp, state, rc);
		return;
	}
	pending_t *p = jl_arena_alloc(req->ctx->arena, sizeof *p);
	if (!p) {
		cont(api, req, resp, state, JL_ENOMEM);
		return;
	}
	p->fn = cont;
	p->state = state;
	p->api = api;
	/* Suspend before queueing: the completion may resume the connection at once. */
	req->pending = true;
	req->cont = p;
	req->suspend(req->impl);
	jl_rc rc = jl_store_write_async(api->store, w, n, req->ctx->deadline_ns, on_written, req);
	if (rc)
		on_written(req, rc); /* nothing was queued: resume with the error */
}

/* Last steps of every response. */
static void finish(jl_http_req_t *req, jl_http_resp_t *resp)
{
	if (req->method == JL_M_HEAD)
		resp->no_body = true;
	jl_rest_compress_response(req, resp);
}

void jl_api_continue(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	pending_t *p = req->cont;
	req->pending = false;
	req->cont = NULL;
	p->fn(api, req, resp, p->state, req->async_rc);
	if (!req->pending) {
		jl__api_cond_unlock(api, req);
		finish(req, resp);
	}
}

void jl_api_handle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	jl_str_t path = req->path;
	resp->status = 500;
	if (jl_str_starts(path, "/fhir") && (path.n == 5 || path.p[5] == '/')) {
		jl_rc rc = jl_rest_decode_body(req, api->cfg.max_body);
		if (rc) {
			jl_out_t plain = {0};
			jl__api_fail(req, resp, &plain, rc, NULL,
				     rc == JL_ETOOBIG ? "The request body is larger than the limit of %zu bytes"
						      : "The request body could not be decoded (Content-Encoding)",
				     api->cfg.max_body);
		} else {
			jl__api_route(api, req, resp, jl_str(path.p + 5, path.n - 5));
		}
	} else if (jl_str_eqc(path, "/healthz")) {
		health(api, req, resp);
	} else if (jl_str_starts(path, "/monitor/")) {
		jl__api_monitor(api, req, resp);
	} else if (jl_str_eqc(path, "/report")) {
		jl__api_report(api, req, resp);
	} else if (jl_str_eqc(path, "/metrics")) {
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4";
		jl_metrics_render(&api->metrics, api->store, req->ctx->arena, &resp->body);
	} else if (jl_console_path(path)) {
		jl_console_serve(req, resp);
	} else {
		jl_out_t plain = {0};
		jl__api_fail(req, resp, &plain, JL_ENOTFOUND, NULL, "Nothing is served at this path");
	}
	if (!req->pending) {
		jl__api_cond_unlock(api, req); /* a condition answered without a write */
		finish(req, resp);
	}
}
