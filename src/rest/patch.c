/*
 * patch — the PATCH interaction: PATCH [base]/Type/id with a JSON Patch
 * (Content-Type application/json-patch+json) or a FHIRPath Patch (a
 * Parameters resource as application/fhir+json or application/json).
 *
 * It is an update whose body the server computes: read the current
 * version → apply the patch (fhir/patch, atomic) → check that resourceType
 * and id are unchanged → validate exactly as an update → one store write
 * conditional on the version that was read (so a concurrent change is
 * never overwritten) → answer as an update does, Prefer included.
 *
 * Status codes (RFC 5789 2.2 and FHIR R4 http.html#patch): 415 for a body
 * type we do not take; 400 for a malformed patch document; 422 when the
 * patch cannot be applied to this resource (a path that does not exist, a
 * failed JSON Patch `test`) or its result is not a valid resource; 404,
 * 410 for an absent or deleted resource; 412 when If-Match names another
 * version; 409 when the resource kept changing between our read and our
 * write. Without If-Match a lost race is not the client's problem: the
 * patch is applied again to the new current version (a few times), which
 * is what the client asked for — its `test` operations still guard it.
 */
#include "fhir/patch.h"

#include <stdio.h>

#include "fhir/resource.h"
#include "fhir/validate.h"
#include "rest/api.h"
#include "rest/encoding.h"
#include "rest/monitor.h"
#include "rest/outcome.h"

typedef enum { FMT_NONE, FMT_JSON_PATCH, FMT_FHIRPATH } patch_fmt;

/* A patch in flight: what its continuation needs, in the request arena. */
typedef struct pop {
	jl_write_t w;
	jl_target_t t;
	jl_out_t out;
	patch_fmt fmt;
	const jl_json_t *patch;
	int retries;          /* after JL_ESTALE */
	int attempts;         /* reads of the current version */
	const char *if_match; /* the client's If-Match, or NULL */
	int64_t if_match_ver;
} pop_t;

#define MAX_ATTEMPTS 4

static void attempt(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, pop_t *op);

static patch_fmt body_format(const char *ct)
{
	if (!ct)
		return FMT_NONE;
	jl_str_t s = jl_cstr(ct);
	const char *semi = jl_str_chr(s, ';');
	jl_str_t mt = jl_str_trim(jl_str(s.p, semi ? (size_t)(semi - s.p) : s.n));
	if (jl_str_ieqc(mt, "application/json-patch+json"))
		return FMT_JSON_PATCH;
	return jl_rest_check_content_type(ct) == JL_OK ? FMT_FHIRPATH : FMT_NONE;
}

/* Parses the request body (the patch document). false: answered. */
static bool parse_body(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		       patch_fmt fmt, jl_json_t **body)
{
	if (!req->body.n) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "The request has no body; a %s was expected",
			     fmt == FMT_JSON_PATCH ? "JSON Patch" : "FHIRPath Patch (Parameters)");
		return false;
	}
	jl_json_opts_t o = {.max_depth = api->cfg.max_json_depth};
	jl_json_err_t e;
	jl_rc rc = jl_json_parse(req->ctx->arena, req->body.p, req->body.n, &o, body, &e);
	if (rc == JL_ENOMEM) {
		jl__api_fail(req, resp, out, JL_ETOOBIG, NULL, "The patch is too large to process");
		return false;
	}
	if (rc) {
		jl__api_fail(req, resp, out, rc == JL_ETOOBIG ? JL_ETOOBIG : JL_EINVAL, NULL,
			     "The patch is not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return false;
	}
	if (fmt == FMT_FHIRPATH && (*body)->type == JL_JSON_ARRAY) {
		jl__api_fail(req, resp, out, JL_EUNSUPPORTED, NULL,
			     "A JSON array is a JSON Patch: send it as application/json-patch+json");
		return false;
	}
	if (fmt == FMT_FHIRPATH) {
		/* The Parameters resource itself must be valid: its value[x] are typed values. */
		jl_diag_t d;
		jl_diag_init(&d, req->ctx->arena);
		if (!jl_str_eqc(jl_json_str(jl_json_get(*body, "resourceType")), "Parameters")) {
			jl__api_fail(req, resp, out, JL_EINVAL, "resourceType",
				     "A FHIR JSON PATCH body must be a Parameters resource (FHIRPath Patch)");
			return false;
		}
		if (jl_fhir_validate(*body, jl_fhir_resource(JL_STR("Parameters")), &d)) {
			jl_rest_outcome(resp, 400, &d, out->pretty);
			return false;
		}
	}
	return true;
}

/* The current version as a tree. false: answered (404, 410, 412, store failure). */
static bool read_current(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, pop_t *op, jl_version_t *v,
			 jl_json_t **res)
{
	const jl_target_t *t = &op->t;
	jl_rc rc = jl_store_read(api->store, req->ctx->arena, t->type_name, t->id, 0, v);
	if (rc == JL_ENOTFOUND) {
		jl__api_fail(req, resp, &op->out, rc, NULL, "%.*s/%.*s is not known: there is nothing to patch",
			     JL_STR_FMT(t->type_name), JL_STR_FMT(t->id));
		return false;
	}
	if (rc) {
		jl__api_store_failure(req, resp, &op->out, rc, t);
		return false;
	}
	if (v->deleted) {
		jl__api_fail(req, resp, &op->out, JL_EGONE, NULL, "%.*s/%.*s was deleted (version %lld); it cannot be patched",
			     JL_STR_FMT(t->type_name), JL_STR_FMT(t->id), (long long)v->ver);
		jl__api_version_headers(req, resp, v->ver, v->updated_us);
		return false;
	}
	if (op->if_match && op->if_match_ver != v->ver) {
		jl__api_fail(req, resp, &op->out, JL_EPRECOND, NULL,
			     "If-Match %s does not match the current version of %.*s/%.*s (%lld)", op->if_match,
			     JL_STR_FMT(t->type_name), JL_STR_FMT(t->id), (long long)v->ver);
		return false;
	}
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	rc = jl_fhir_body_assemble(&b, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	jl_str_t text = rc ? JL_STR_NULL : jl_arena_str(req->ctx->arena, jl_buf_str(&b));
	jl_buf_dispose(&b);
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = api->cfg.max_json_depth};
	if (rc || !text.p || jl_json_parse(req->ctx->arena, text.p, text.n, &o, res, &e)) {
		jl__api_fail(req, resp, &op->out, rc ? rc : JL_ENOMEM, NULL, "The stored version could not be read back");
		return false;
	}
	return true;
}

/* The patched resource must still be this resource. false: answered (422). */
static bool same_identity(jl_http_req_t *req, jl_http_resp_t *resp, const pop_t *op, const jl_json_t *res)
{
	const jl_target_t *t = &op->t;
	if (!jl_json_is(res, JL_JSON_OBJECT)) {
		jl__api_fail(req, resp, &op->out, JL_EINVALID, NULL, "The patch turned the resource into a JSON %s",
			     jl_json_type_name(res->type));
		return false;
	}
	jl_str_t rt = jl_json_str(jl_json_get(res, "resourceType"));
	if (!jl_str_eq(rt, t->type_name)) {
		jl__api_fail(req, resp, &op->out, JL_EINVALID, "resourceType",
			     "A patch cannot change resourceType (%.*s)", JL_STR_FMT(t->type_name));
		return false;
	}
	jl_str_t id = jl_json_str(jl_json_get(res, "id"));
	if (!jl_str_eq(id, t->id)) {
		jl__api_fail(req, resp, &op->out, JL_EINVALID, "id", "A patch cannot change or remove the id (%.*s)",
			     JL_STR_FMT(t->id));
		return false;
	}
	return true;
}

static void patched(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	pop_t *op = state;
	const jl_target_t *t = &op->t;
	/* A concurrent write replaced the version whose index rows we remove: re-extract them and resubmit. */
	if (rc == JL_ESTALE && op->retries++ < 5 &&
	    jl_index_refresh_old(api->defs, api->store, req->ctx->arena, &op->w) == JL_OK) {
		jl__api_write(api, req, resp, &op->w, 1, patched, op);
		return;
	}
	if (rc == JL_EPRECOND && !op->if_match && !req->txn && op->attempts < MAX_ATTEMPTS) {
		attempt(api, req, resp, op);
		return;
	}
	if (rc == JL_EPRECOND) {
		if (op->if_match)
			jl__api_fail(req, resp, &op->out, JL_EPRECOND, NULL,
				     "If-Match %s no longer matches: %.*s/%.*s changed while the patch was applied",
				     op->if_match, JL_STR_FMT(t->type_name), JL_STR_FMT(t->id));
		else
			jl__api_fail(req, resp, &op->out, JL_ECONFLICT, NULL,
				     "%.*s/%.*s changed while the patch was applied (%d times, last to version %lld); "
				     "nothing was written, send the patch again",
				     JL_STR_FMT(t->type_name), JL_STR_FMT(t->id), op->attempts, (long long)op->w.if_match);
		return;
	}
	if (rc) {
		jl__api_store_failure(req, resp, &op->out, rc, t);
		return;
	}
	jl__api_write_answer(req, resp, &op->out, 200, &op->w, "Patched");
}

/* Applies the patch; false: answered (400 malformed, 422 not applicable). */
static bool apply(jl_http_req_t *req, jl_http_resp_t *resp, const pop_t *op, jl_json_t **res)
{
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_rc rc = op->fmt == FMT_JSON_PATCH ? jl_patch_json(req->ctx->arena, res, op->patch, &d)
					     : jl_patch_fhirpath(req->ctx->arena, res, op->patch, &d);
	if (!rc)
		return true;
	/* A failed test and an inapplicable operation are both "unprocessable" (RFC 5789 2.2). */
	int status = rc == JL_EINVAL ? 400 : rc == JL_ENOMEM ? 413 : rc == JL_EINTERNAL ? 500 : 422;
	if (rc == JL_ENOMEM && !d.n)
		jl_diag_add(&d, JL_SEV_ERROR, "too-costly", NULL, "The patch needs more memory than a request may use");
	jl_rest_outcome(resp, status, &d, op->out.pretty);
	return false;
}

void jl__api_patch(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t)
{
	const char *ct = jl_http_header(req, "Content-Type");
	patch_fmt fmt = body_format(ct);
	if (fmt == FMT_NONE) {
		jl__api_fail(req, resp, out, JL_EUNSUPPORTED, NULL,
			     "PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath "
			     "Patch, a Parameters resource), not %s",
			     ct ? ct : "a body without a Content-Type");
		return;
	}
	jl_json_t *patch;
	if (!parse_body(api, req, resp, out, fmt, &patch))
		return;
	pop_t *op = jl_arena_calloc(req->ctx->arena, 1, sizeof *op);
	if (!op) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	op->t = *t;
	op->out = *out;
	op->fmt = fmt;
	op->patch = patch;
	op->if_match = jl_http_header(req, "If-Match");
	if (op->if_match && !(op->if_match_ver = jl__api_etag_version(op->if_match))) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "If-Match must be a version ETag such as W/\"3\"");
		return;
	}
	attempt(api, req, resp, op);
}

/* Read, apply, check, validate, write: once, and again after a lost race. */
static void attempt(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, pop_t *op)
{
	const jl_target_t *t = &op->t;
	jl_version_t cur;
	jl_json_t *res;
	op->attempts++;
	if (!read_current(api, req, resp, op, &cur, &res) || !apply(req, resp, op, &res) ||
	    !same_identity(req, resp, op, res))
		return;
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	if (jl_fhir_validate(res, t->type, &d)) {
		jl_rest_outcome(resp, 422, &d, op->out.pretty);
		return;
	}
	/* Aggregate inputs of the plan indicators are checked as on create and update (rest/monitor.c). */
	if (jl_str_eqc(t->type_name, "MeasureReport") && !jl__api_monitor_check(api, req, resp, &op->out, res))
		return;
	/* Written only over the version the patch was applied to. */
	op->retries = 0;
	op->w = (jl_write_t){.kind = JL_WRITE_UPDATE, .type = t->type_name, .id = t->id, .if_match = cur.ver};
	jl_rc rc = jl__api_encode(req, res, &op->w);
	if (!rc)
		rc = jl_index_prepare_write(api->defs, api->store, req->ctx->arena, &op->w, res);
	if (rc) {
		jl__api_store_failure(req, resp, &op->out, rc, t);
		return;
	}
	jl__api_write(api, req, resp, &op->w, 1, patched, op);
}
