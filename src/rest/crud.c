/*
 * crud — the instance interactions: create, read, vread, update, delete.
 *
 * A write goes: negotiate → parse → validate (nothing stored on any
 * failure) → encode the stored body → one store write (one transaction,
 * group-committed with concurrent writers) → answer with Location, ETag,
 * Last-Modified and the body that Prefer asks for. The returned
 * representation is assembled from the stored body and the version the
 * store assigned, so it is exactly what a later read will return.
 */
#include <stdio.h>

#include "base/rand.h"
#include "base/time.h"
#include "fhir/resource.h"
#include "rest/api.h"
#include "rest/monitor.h"
#include "rest/outcome.h"

static void location(jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t type, jl_str_t id, int64_t ver)
{
	char *loc = jl_arena_printf(req->ctx->arena, "%.*s/%.*s/%.*s/_history/%lld", JL_STR_FMT(req->base),
				    JL_STR_FMT(type), JL_STR_FMT(id), (long long)ver);
	if (loc)
		jl_http_set_header(resp, req->ctx->arena, "Location", jl_cstr(loc));
}

/* Body of a successful write, as Prefer asks. */
static void write_answer(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, int status,
			 const jl_write_t *w, const char *what)
{
	resp->status = status;
	jl__api_version_headers(req, resp, w->ver, w->updated_us);
	jl_buf_clear(&resp->body);
	if (out->ret == JL_RET_MINIMAL) {
		resp->content_type = NULL;
		return;
	}
	if (out->ret == JL_RET_OUTCOME) {
		jl_diag_t d;
		jl_diag_init(&d, req->ctx->arena);
		jl_diag_add(&d, JL_SEV_INFO, "informational", NULL, "%s %.*s/%.*s, version %lld", what,
			    JL_STR_FMT(w->type), JL_STR_FMT(w->id), (long long)w->ver);
		jl_rest_outcome(resp, status, &d, out->pretty);
		return;
	}
	jl_rc rc = jl_fhir_body_assemble(&resp->body, w->type, w->id, w->ver, w->updated_us, w->body, w->body_meta);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL, "The response could not be built (the write succeeded)");
		return;
	}
	jl__api_finish_json(req, resp, out);
}

static void store_failure(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc,
			  const jl_target_t *t)
{
	switch (rc) {
	case JL_ENOTFOUND:
		jl__api_fail(req, resp, out, rc, NULL, "%.*s/%.*s does not exist", JL_STR_FMT(t->type_name),
			     JL_STR_FMT(t->id));
		break;
	case JL_ETIMEOUT:
		jl__api_fail(req, resp, out, rc, NULL, "The store could not take the write before the deadline");
		break;
	case JL_EBUSY:
		jl__api_fail(req, resp, out, rc, NULL, "The server is shutting down or busy; retry later");
		break;
	default:
		jl__api_fail(req, resp, out, rc, NULL, "The store failed (%s); nothing was written",
			     jl_rc_name(rc));
	}
}

void jl__api_read(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t)
{
	jl_version_t v;
	jl_rc rc = jl_store_read(api->store, req->ctx->arena, t->type_name, t->id, t->vid, &v);
	if (rc == JL_ENOTFOUND) {
		if (t->vid)
			jl__api_fail(req, resp, out, rc, NULL, "%.*s/%.*s has no version %lld", JL_STR_FMT(t->type_name),
				     JL_STR_FMT(t->id), (long long)t->vid);
		else
			jl__api_fail(req, resp, out, rc, NULL, "%.*s/%.*s is not known", JL_STR_FMT(t->type_name),
				     JL_STR_FMT(t->id));
		return;
	}
	if (rc) {
		store_failure(req, resp, out, rc, t);
		return;
	}
	if (v.deleted) {
		jl__api_fail(req, resp, out, JL_EGONE, NULL, "%.*s/%.*s was deleted (version %lld)",
			     JL_STR_FMT(t->type_name), JL_STR_FMT(t->id), (long long)v.ver);
		jl__api_version_headers(req, resp, v.ver, v.updated_us);
		return;
	}
	/* Conditional read: If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
	const char *inm = jl_http_header(req, "If-None-Match");
	const char *ims = jl_http_header(req, "If-Modified-Since");
	bool not_modified = false;
	if (inm)
		not_modified = jl__api_etag_version(inm) == v.ver;
	else if (ims) {
		/* HTTP dates have whole seconds: compare the version's second with the given one. */
		int64_t since;
		not_modified = jl_time_parse_http(ims, &since) && v.updated_us / 1000000 <= since / 1000000;
	}
	if (not_modified) {
		resp->status = 304;
		resp->no_body = true;
		jl__api_version_headers(req, resp, v.ver, v.updated_us);
		return;
	}
	resp->status = 200;
	jl__api_send_version(req, resp, out, &v);
}

/* Encodes the validated resource into the write's body (request arena). */
jl_rc jl__api_encode(jl_http_req_t *req, const jl_json_t *res, jl_write_t *w)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	uint32_t meta_len = 0;
	jl_rc rc = jl_fhir_body_encode(res, &b, &meta_len);
	if (!rc) {
		w->body = jl_arena_str(req->ctx->arena, jl_buf_str(&b));
		w->body_meta = meta_len;
		if (!w->body.p)
			rc = JL_ENOMEM;
	}
	jl_buf_dispose(&b);
	return rc;
}

/* A write in flight: what its continuation needs, in the request arena. */
typedef struct wop {
	jl_write_t w;
	jl_target_t t;
	jl_out_t out;
	int retries;          /* after JL_ESTALE (a concurrent write changed the version we indexed from) */
	const char *if_match; /* header text, for messages */
	bool from_body;       /* if_match came from the body's meta.versionId */
} wop_t;

static wop_t *wop_new(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_target_t *t)
{
	wop_t *op = jl_arena_calloc(req->ctx->arena, 1, sizeof *op);
	if (!op) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return NULL;
	}
	op->t = *t;
	op->out = *out;
	return op;
}

/* Takes If-Match into op->w.if_match; false (answer sent) when it is not a version ETag. */
static bool take_if_match(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, wop_t *op)
{
	op->if_match = jl_http_header(req, "If-Match");
	if (!op->if_match)
		return true;
	op->w.if_match = jl__api_etag_version(op->if_match);
	if (op->w.if_match)
		return true;
	jl__api_fail(req, resp, out, JL_EINVAL, NULL, "If-Match must be a version ETag such as W/\"3\"");
	return false;
}

static void if_match_failed(jl_http_req_t *req, jl_http_resp_t *resp, const wop_t *op)
{
	jl__api_fail(req, resp, &op->out, JL_EPRECOND, NULL, "If-Match %s does not match the current version of %.*s/%.*s",
		     op->if_match, JL_STR_FMT(op->t.type_name), JL_STR_FMT(op->t.id));
}

/*
 * A concurrent write replaced the version whose index rows this write was
 * to remove: index the replaced version again and resubmit (a few times).
 */
static bool retry_stale(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, wop_t *op, jl_rc rc,
			jl_api_cont_fn cont)
{
	if (rc != JL_ESTALE || op->retries++ >= 5)
		return false;
	if (jl_index_refresh_old(api->defs, api->store, req->ctx->arena, &op->w) != JL_OK)
		return false;
	jl__api_write(api, req, resp, &op->w, 1, cont, op);
	return true;
}

/* Index rows for a write (new version from res; NULL for a delete). */
static bool index_write(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, wop_t *op, const jl_json_t *res)
{
	jl_rc rc = jl_index_prepare_write(api->defs, api->store, req->ctx->arena, &op->w, res);
	if (rc)
		store_failure(req, resp, &op->out, rc, &op->t);
	return rc == JL_OK;
}

static void created(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	wop_t *op = state;
	if (retry_stale(api, req, resp, op, rc, created))
		return;
	if (rc) {
		store_failure(req, resp, &op->out, rc, &op->t);
		return;
	}
	location(req, resp, op->w.type, op->w.id, op->w.ver);
	write_answer(req, resp, &op->out, 201, &op->w, "Created");
}

void jl__api_send_existing(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_version_t *v)
{
	location(req, resp, v->type, v->id, v->ver);
	resp->status = 200;
	if (out->ret == JL_RET_MINIMAL) {
		jl__api_version_headers(req, resp, v->ver, v->updated_us);
		resp->content_type = NULL;
		return;
	}
	if (out->ret == JL_RET_OUTCOME) {
		jl__api_version_headers(req, resp, v->ver, v->updated_us);
		jl_diag_t d;
		jl_diag_init(&d, req->ctx->arena);
		jl_diag_add(&d, JL_SEV_INFO, "informational", NULL,
			    "%.*s/%.*s already matches the condition; nothing was created", JL_STR_FMT(v->type),
			    JL_STR_FMT(v->id));
		jl_rest_outcome(resp, 200, &d, out->pretty);
		return;
	}
	jl__api_send_version(req, resp, out, v);
}

/* An id for a new resource: the one a transaction assigned to this entry, else a fresh UUIDv7. */
static jl_str_t new_id(jl_http_req_t *req)
{
	jl_str_t pre = req->txn ? jl__txn_assigned_id(req->txn) : JL_STR_NULL;
	if (pre.n)
		return pre;
	char *id = jl_arena_alloc_bytes(req->ctx->arena, 37);
	if (!id)
		return JL_STR_NULL;
	jl_uuid_v7(jl_now_us(), id);
	return jl_str(id, 36);
}

/* Condition failure as an answer: the search's own issues when it has them. */
static void cond_failed(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc,
			const jl_diag_t *d, const char *what)
{
	if (d->n) {
		jl_rest_outcome(resp, jl_rest_status(rc), d, out->pretty);
		return;
	}
	if (rc == JL_ETIMEOUT)
		jl__api_fail(req, resp, out, rc, NULL,
			     "Another request on the same condition did not finish before this request's deadline");
	else
		jl__api_fail(req, resp, out, rc, NULL, "The condition of the %s could not be evaluated (%s)", what,
			     jl_rc_name(rc));
}

/*
 * Takes the condition's stripe and runs it (max + 1 matches at most).
 * false: answered (error).
 */
static bool run_condition(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			  jl_str_t type, jl_str_t criteria, uint32_t max, jl_sq_page_t *pg, const char *what)
{
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_rc rc = jl__api_cond_lock(api, req, jl__api_cond_stripe(type, criteria));
	if (!rc)
		rc = jl__api_match(api, req, type, criteria, max, pg, &d);
	if (rc)
		cond_failed(req, resp, out, rc, &d, what);
	return rc == JL_OK;
}

static void too_many(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_str_t criteria,
		     const char *what, uint32_t max)
{
	jl__api_fail(req, resp, out, JL_EPRECOND, NULL,
		     "The %s's criteria \"%.*s\" match more than %u resource%s; make them more selective", what,
		     (int)(criteria.n > 200 ? 200 : criteria.n), criteria.p, max, max == 1 ? "" : "s");
}

void jl__api_create(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		    const jl_target_t *t)
{
	jl_json_t *res;
	if (jl__api_parse_resource(api, req, resp, out, t, &res))
		return;
	/* Aggregate inputs of the plan indicators are checked before they are stored (rest/monitor.c). */
	if (jl_str_eqc(t->type_name, "MeasureReport") && !jl__api_monitor_check(api, req, resp, out, res))
		return;
	const char *ine = jl_http_header(req, "If-None-Exist");
	if (ine) {
		jl_str_t crit;
		if (!jl__api_criteria(jl_cstr(ine), t->type_name, &crit)) {
			jl__api_fail(req, resp, out, JL_EINVAL, NULL,
				     "If-None-Exist must hold search criteria for %.*s (e.g. identifier=system|value)",
				     JL_STR_FMT(t->type_name));
			return;
		}
		jl_sq_page_t pg;
		if (!run_condition(api, req, resp, out, t->type_name, crit, 1, &pg, "conditional create"))
			return;
		if (pg.n > 1) {
			too_many(req, resp, out, crit, "conditional create", 1);
			return;
		}
		if (pg.n == 1) {
			jl__api_send_existing(req, resp, out, &pg.items[0]);
			return;
		}
	}
	wop_t *op = wop_new(req, resp, out, t);
	if (!op)
		return;
	/* R4 create: the server assigns the id and ignores one in the body. */
	jl_str_t id = new_id(req);
	if (!id.n) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	op->w = (jl_write_t){.kind = JL_WRITE_CREATE, .type = t->type_name, .id = id};
	jl_rc rc = jl__api_encode(req, res, &op->w);
	if (rc) {
		store_failure(req, resp, out, rc, t);
		return;
	}
	if (index_write(api, req, resp, op, res))
		jl__api_write(api, req, resp, &op->w, 1, created, op);
}

static void updated(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	wop_t *op = state;
	const jl_target_t *t = &op->t;
	if (retry_stale(api, req, resp, op, rc, updated))
		return;
	if (rc == JL_EPRECOND && op->from_body) {
		jl__api_fail(req, resp, &op->out, JL_ECONFLICT, "meta.versionId",
			     "Version conflict: the body is based on version %lld, which is not the current version of "
			     "%.*s/%.*s; read it again and reapply the change",
			     (long long)op->w.if_match, JL_STR_FMT(t->type_name), JL_STR_FMT(t->id));
		return;
	}
	if (rc == JL_EPRECOND) {
		if_match_failed(req, resp, op);
		return;
	}
	if (rc) {
		store_failure(req, resp, &op->out, rc, t);
		return;
	}
	if (op->w.created)
		location(req, resp, op->w.type, op->w.id, op->w.ver);
	write_answer(req, resp, &op->out, op->w.created ? 201 : 200, &op->w, op->w.created ? "Created" : "Updated");
}

/* Update of t->id with a parsed, validated body. */
static void update_res(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		       const jl_target_t *t, jl_json_t *res)
{
	if (jl_str_eqc(t->type_name, "MeasureReport") && !jl__api_monitor_check(api, req, resp, out, res))
		return;
	jl_str_t body_id = jl_json_str(jl_json_get(res, "id"));
	if (!body_id.n) {
		jl__api_fail(req, resp, out, JL_EINVAL, "id", "An update must carry the resource id (%.*s) in the body",
			     JL_STR_FMT(t->id));
		return;
	}
	if (!jl_str_eq(body_id, t->id)) {
		jl__api_fail(req, resp, out, JL_EINVAL, "id",
			     "The id in the body (%.*s) does not match the id in the URL (%.*s)",
			     (int)(body_id.n > 64 ? 64 : body_id.n), body_id.p, JL_STR_FMT(t->id));
		return;
	}
	wop_t *op = wop_new(req, resp, out, t);
	if (!op)
		return;
	op->w = (jl_write_t){.kind = JL_WRITE_UPDATE, .create_ok = true, .type = t->type_name, .id = t->id};
	if (!take_if_match(req, resp, out, op))
		return;
	if (!op->if_match) {
		/* A body based on an older version than the current one would overwrite
		 * changes its sender never saw: refuse it as a conflict (RFC 9110 15.5.10).
		 * For an absent or deleted resource there is nothing to overwrite. */
		op->w.if_match = jl_fhir_meta_version(res);
		op->w.if_match_live = true;
		op->from_body = op->w.if_match > 0;
	}
	jl_rc rc = jl__api_encode(req, res, &op->w);
	if (rc) {
		store_failure(req, resp, out, rc, t);
		return;
	}
	if (index_write(api, req, resp, op, res))
		jl__api_write(api, req, resp, &op->w, 1, updated, op);
}

void jl__api_update(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		    const jl_target_t *t)
{
	jl_json_t *res;
	if (jl__api_parse_resource(api, req, resp, out, t, &res))
		return;
	update_res(api, req, resp, out, t, res);
}

/*
 * PUT [type]?criteria (R4 http.html 3.1.0.4.3): no match — create (with the
 * body's id as update-as-create, else a new id); one match — update it (a
 * body id must be that one); more — 412.
 */
void jl__api_cond_update(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			 const jl_target_t *t)
{
	jl_json_t *res;
	if (jl__api_parse_resource(api, req, resp, out, t, &res))
		return;
	jl_sq_page_t pg;
	if (!run_condition(api, req, resp, out, t->type_name, req->raw_query, 1, &pg, "conditional update"))
		return;
	if (pg.n > 1) {
		too_many(req, resp, out, req->raw_query, "conditional update", 1);
		return;
	}
	jl_target_t tt = *t;
	jl_str_t body_id = jl_json_str(jl_json_get(res, "id"));
	if (pg.n == 1) {
		if (body_id.n && !jl_str_eq(body_id, pg.items[0].id)) {
			jl__api_fail(req, resp, out, JL_EINVAL, "id",
				     "The body's id (%.*s) is not that of the resource the criteria match (%.*s)",
				     (int)(body_id.n > 64 ? 64 : body_id.n), body_id.p, JL_STR_FMT(pg.items[0].id));
			return;
		}
		tt.id = pg.items[0].id;
	} else {
		tt.id = body_id.n ? body_id : new_id(req);
		if (!tt.id.n) {
			jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
			return;
		}
	}
	if (!body_id.n && jl_json_obj_set(req->ctx->arena, res, jl_str("id", 2), jl_json_mkstr(tt.id))) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	update_res(api, req, resp, out, &tt, res);
}

static void deleted(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	wop_t *op = state;
	const jl_target_t *t = &op->t;
	if (retry_stale(api, req, resp, op, rc, deleted))
		return;
	if (rc == JL_EPRECOND) {
		if_match_failed(req, resp, op);
		return;
	}
	if (rc) {
		store_failure(req, resp, &op->out, rc, t);
		return;
	}
	jl__api_version_headers(req, resp, op->w.ver, op->w.updated_us);
	if (op->out.ret == JL_RET_OUTCOME) {
		jl_diag_t d;
		jl_diag_init(&d, req->ctx->arena);
		jl_diag_add(&d, JL_SEV_INFO, "informational", NULL,
			    op->w.noop ? "%.*s/%.*s was already deleted" : "Deleted %.*s/%.*s", JL_STR_FMT(t->type_name),
			    JL_STR_FMT(t->id));
		jl_rest_outcome(resp, 200, &d, op->out.pretty);
		return;
	}
	resp->status = 204;
	resp->no_body = true;
	resp->content_type = NULL;
}

void jl__api_delete(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		    const jl_target_t *t)
{
	wop_t *op = wop_new(req, resp, out, t);
	if (!op)
		return;
	op->w = (jl_write_t){.kind = JL_WRITE_DELETE, .type = t->type_name, .id = t->id};
	if (!take_if_match(req, resp, out, op))
		return;
	if (index_write(api, req, resp, op, NULL))
		jl__api_write(api, req, resp, &op->w, 1, deleted, op);
}

/* A conditional delete in flight: its writes are contiguous, for one atomic store call. */
typedef struct cdel {
	jl_write_t *w;
	size_t n;
	jl_target_t t;
	jl_out_t out;
	bool retried;
} cdel_t;

/* PATCH [type]?criteria: the one match is patched; none 404, more 412. */
void jl__api_cond_patch(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_target_t *t)
{
	jl_sq_page_t pg;
	if (!run_condition(api, req, resp, out, t->type_name, req->raw_query, 1, &pg, "conditional patch"))
		return;
	if (pg.n > 1) {
		too_many(req, resp, out, req->raw_query, "conditional patch", 1);
		return;
	}
	if (!pg.n) {
		jl__api_fail(req, resp, out, JL_ENOTFOUND, NULL, "No %.*s matches the criteria; nothing was patched",
			     JL_STR_FMT(t->type_name));
		return;
	}
	jl_target_t tt = *t;
	tt.id = pg.items[0].id;
	jl__api_patch(api, req, resp, out, &tt);
}

/* The answer to a conditional delete: 204, or an outcome that counts what went. */
static void cond_deleted(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	cdel_t *c = state;
	if (rc == JL_ESTALE && !c->retried) {
		/* a concurrent write changed a match: index again and resubmit, once */
		c->retried = true;
		for (size_t i = 0; i < c->n; i++)
			if (jl_index_refresh_old(api->defs, api->store, req->ctx->arena, &c->w[i]) != JL_OK) {
				store_failure(req, resp, &c->out, JL_ENOMEM, &c->t);
				return;
			}
		jl__api_write(api, req, resp, c->w, c->n, cond_deleted, c);
		return;
	}
	if (rc) {
		store_failure(req, resp, &c->out, rc, &c->t);
		return;
	}
	if (c->out.ret == JL_RET_OUTCOME) {
		jl_diag_t d;
		jl_diag_init(&d, req->ctx->arena);
		jl_diag_add(&d, JL_SEV_INFO, "informational", NULL, "Deleted %zu %.*s resource%s", c->n,
			    JL_STR_FMT(c->t.type_name), c->n == 1 ? "" : "s");
		jl_rest_outcome(resp, 200, &d, c->out.pretty);
		return;
	}
	if (c->n == 1)
		jl__api_version_headers(req, resp, c->w[0].ver, c->w[0].updated_us);
	resp->status = 204;
	resp->no_body = true;
	resp->content_type = NULL;
}

/*
 * DELETE [type]?criteria: no match — 404; up to cond_delete_max matches —
 * all deleted in one transaction; more — 412.
 */
void jl__api_cond_delete(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			 const jl_target_t *t)
{
	uint32_t max = api->cfg.cond_delete_max ? api->cfg.cond_delete_max : 1;
	if (max >= api->cfg.page_max)
		max = api->cfg.page_max - 1;
	jl_sq_page_t pg;
	if (!run_condition(api, req, resp, out, t->type_name, req->raw_query, max, &pg, "conditional delete"))
		return;
	if (pg.n > max) {
		too_many(req, resp, out, req->raw_query, "conditional delete", max);
		return;
	}
	if (!pg.n) {
		jl__api_fail(req, resp, out, JL_ENOTFOUND, NULL, "No %.*s matches the criteria; nothing was deleted",
			     JL_STR_FMT(t->type_name));
		return;
	}
	cdel_t *c = jl_arena_calloc(req->ctx->arena, 1, sizeof *c);
	jl_write_t *w = c ? jl_arena_calloc(req->ctx->arena, pg.n, sizeof *w) : NULL;
	if (!w) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	*c = (cdel_t){.w = w, .n = pg.n, .t = *t, .out = *out};
	for (size_t i = 0; i < pg.n; i++) {
		w[i] = (jl_write_t){.kind = JL_WRITE_DELETE, .type = t->type_name, .id = pg.items[i].id};
		jl_rc rc = jl_index_prepare_write(api->defs, api->store, req->ctx->arena, &w[i], NULL);
		if (rc) {
			store_failure(req, resp, out, rc, t);
			return;
		}
	}
	jl__api_write(api, req, resp, w, pg.n, cond_deleted, c);
}

/* ---- shared with rest/patch.c (same answers as an update) ---- */

void jl__api_write_answer(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, int status,
			  const jl_write_t *w, const char *what)
{
	write_answer(req, resp, out, status, w, what);
}

void jl__api_store_failure(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_rc rc,
			   const jl_target_t *t)
{
	store_failure(req, resp, out, rc, t);
}
