/*
 * bundle — batch and transaction Bundles at POST [base] (R4 http.html
 * §3.1.0.11).
 *
 * Every entry is dispatched as the request it describes through the same
 * router as a real request (jl__api_route), so an entry behaves exactly like
 * the interaction it names — validation, If-Match, conditional forms,
 * PATCH, Prefer — and its response is turned into the entry's response.
 *
 * Batch: entries run one after the other, each its own transaction; one
 * entry's failure is its own response and the others go on.
 *
 * Transaction: all or nothing, in one database transaction.
 *   1. The Bundle is parsed and validated as a whole (a bad entry is named
 *      by its index before anything runs).
 *   2. The stripes of every condition in it are taken (rest/conditional.c).
 *   3. Ids are settled: each POST gets its new id up front; conditional
 *      creates (ifNoneExist) and conditional updates are resolved by search,
 *      in dependency order when their criteria name another entry's
 *      fullUrl (a cycle is refused). Every fullUrl then maps to Type/id.
 *   4. References are rewritten: every string equal to a mapped fullUrl
 *      (urn:uuid:, urn:oid:, or an absolute URL) becomes Type/id, and every
 *      conditional reference (Type?criteria) is resolved by search — no
 *      match is an error, more than one a 412.
 *   5. Entries are dispatched in the specification's order (DELETE, POST,
 *      PUT/PATCH); their writes are collected instead of committed
 *      (jl__txn_collect). Any entry that fails ends the transaction with
 *      that entry's outcome, naming it; nothing is written.
 *   6. The collected writes commit as one store call (atomic, durable,
 *      group-committed with other requests), then the entries' own
 *      continuations build their responses, then GET/HEAD entries run
 *      against the new state.
 * Two entries that write the same resource are refused (the result would
 * depend on an order the specification does not fix).
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/rand.h"
#include "base/time.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "rest/api.h"
#include "rest/encoding.h"
#include "rest/outcome.h"

enum { PHASE_DELETE, PHASE_POST, PHASE_PUT, PHASE_GET, PHASE_COUNT };

typedef struct ent ent_t;
typedef struct txn txn_t;

/* A write an entry asked for, held until the transaction commits. */
typedef struct collected {
	jl_write_t *w;
	size_t n;
	jl_api_cont_fn cont;
	void *state;
} collected_t;

/* What a transaction entry's request carries (req->txn): NULL for batch entries. */
struct jl_txn_entry {
	ent_t *ent;
};

struct ent {
	txn_t *x;
	size_t idx;
	const jl_json_t *json;    /* Bundle.entry[idx] */
	jl_json_t *resource;      /* entry.resource (rewritten in place) */
	jl_method method;
	jl_str_t method_name;
	jl_str_t url;             /* request.url relative to the base */
	jl_str_t path, query;     /* url split at '?' */
	jl_str_t type, id;        /* from the path */
	jl_str_t full_url;
	jl_str_t if_none_exist, if_match, if_none_match, if_modified_since;
	bool conditional;         /* PUT/DELETE/PATCH by criteria, or POST with ifNoneExist */
	bool resolved;            /* its id (or existing match) is settled */
	bool skip;                /* conditional create matched: nothing to write */
	jl_version_t existing;    /* that match */
	jl_str_t new_id;          /* POST, or a conditional update that creates */
	jl_str_t content_type;    /* of the dispatched body */
	jl_str_t body;
	struct jl_txn_entry link;
	jl_http_req_t req;
	jl_http_resp_t resp;
	collected_t col;
	bool dispatched;
};

struct txn {
	jl_api_t *api;
	jl_http_req_t *req;       /* the POST of the Bundle */
	jl_http_resp_t *resp;
	jl_out_t out;
	bool transaction;
	ent_t *ents;
	size_t n;
	jl_str_t *map_from, *map_to; /* fullUrl → Type/id */
	size_t nmap;
	jl_write_t *all;          /* every collected write, contiguous, in dispatch order */
	size_t nall;
	const jl_write_t *extra;  /* the caller's writes to commit with the transaction (jl_api_post_bundle) */
	size_t nextra;
	int retries;
	int64_t started_ns;
};

/* ---- failing ------------------------------------------------------------ */

static void fail(txn_t *x, jl_rc rc, const char *expr, const char *fmt, ...) JL_PRINTF(4, 5);

static void fail(txn_t *x, jl_rc rc, const char *expr, const char *fmt, ...)
{
	jl_diag_t d;
	jl_diag_init(&d, x->req->ctx->arena);
	va_list ap;
	va_start(ap, fmt);
	jl_diag_vadd(&d, JL_SEV_ERROR, jl_rest_issue_code(rc), expr, fmt, ap);
	va_end(ap);
	jl_rest_outcome(x->resp, jl_rest_status(rc), &d, x->out.pretty);
}

static const char *entry_expr(txn_t *x, size_t idx, const char *rest)
{
	return jl_arena_printf(x->req->ctx->arena, "Bundle.entry[%zu]%s", idx, rest);
}

/* ---- reading the Bundle --------------------------------------------------- */

static jl_str_t jstr(const jl_json_t *o, const char *k)
{
	return jl_json_str(jl_json_get(o, k));
}

/* request.url relative to our base: "Patient/1", "Patient?x=y", "metadata" … */
static bool relative_url(txn_t *x, jl_str_t url, jl_str_t *rel)
{
	jl_str_t base = x->req->base;
	if (base.n && url.n > base.n && memcmp(url.p, base.p, base.n) == 0 && url.p[base.n] == '/')
		url = jl_str(url.p + base.n + 1, url.n - base.n - 1);
	else if (jl_str_starts(url, "http://") || jl_str_starts(url, "https://"))
		return false;
	while (url.n && url.p[0] == '/') {
		url.p++;
		url.n--;
	}
	*rel = url;
	return true;
}

static bool read_entry(txn_t *x, ent_t *e)
{
	const jl_json_t *rq = jl_json_get(e->json, "request");
	if (!jl_json_is(rq, JL_JSON_OBJECT)) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".request"),
		     "Entry %zu has no request (a %s entry needs request.method and request.url)", e->idx,
		     x->transaction ? "transaction" : "batch");
		return false;
	}
	e->method_name = jstr(rq, "method");
	e->method = jl_http_method(e->method_name);
	if (e->method != JL_M_GET && e->method != JL_M_HEAD && e->method != JL_M_POST && e->method != JL_M_PUT &&
	    e->method != JL_M_DELETE && e->method != JL_M_PATCH) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".request.method"),
		     "Entry %zu: request.method must be GET, HEAD, POST, PUT, DELETE or PATCH", e->idx);
		return false;
	}
	if (!relative_url(x, jstr(rq, "url"), &e->url) || !e->url.n) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".request.url"),
		     "Entry %zu: request.url must be a URL relative to this server's base (e.g. Patient/123)",
		     e->idx);
		return false;
	}
	const char *q = jl_str_chr(e->url, '?');
	e->path = q ? jl_str(e->url.p, (size_t)(q - e->url.p)) : e->url;
	e->query = q ? jl_str(q + 1, (size_t)(e->url.p + e->url.n - q - 1)) : JL_STR_NULL;
	const char *slash = jl_str_chr(e->path, '/');
	e->type = slash ? jl_str(e->path.p, (size_t)(slash - e->path.p)) : e->path;
	if (slash) {
		jl_str_t rest = jl_str(slash + 1, (size_t)(e->path.p + e->path.n - slash - 1));
		const char *s2 = jl_str_chr(rest, '/');
		e->id = s2 ? jl_str(rest.p, (size_t)(s2 - rest.p)) : rest;
	}
	e->if_none_exist = jstr(rq, "ifNoneExist");
	e->if_match = jstr(rq, "ifMatch");
	e->if_none_match = jstr(rq, "ifNoneMatch");
	e->if_modified_since = jstr(rq, "ifModifiedSince");
	e->full_url = jstr(e->json, "fullUrl");
	e->resource = (jl_json_t *)jl_json_get(e->json, "resource");
	bool writes = e->method == JL_M_POST || e->method == JL_M_PUT || e->method == JL_M_PATCH;
	if (writes && !jl_json_is(e->resource, JL_JSON_OBJECT)) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".resource"), "Entry %zu: a %.*s needs a resource", e->idx,
		     JL_STR_FMT(e->method_name));
		return false;
	}
	if ((e->method == JL_M_POST || e->method == JL_M_PUT) &&
	    !jl_str_eq(jstr(e->resource, "resourceType"), e->type)) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".resource.resourceType"),
		     "Entry %zu: the resource is not a %.*s, which request.url names", e->idx, JL_STR_FMT(e->type));
		return false;
	}
	e->conditional = (e->method == JL_M_POST && e->if_none_exist.n) ||
			 ((e->method == JL_M_PUT || e->method == JL_M_DELETE || e->method == JL_M_PATCH) &&
			  !e->id.n && e->query.n);
	jl_str_t crit;
	if (e->conditional && !jl__api_criteria(e->method == JL_M_POST ? e->if_none_exist : e->query, e->type, &crit)) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, e->method == JL_M_POST ? ".request.ifNoneExist" : ".request.url"),
		     "Entry %zu: the condition must be search criteria on %.*s", e->idx, JL_STR_FMT(e->type));
		return false;
	}
	if (!jl_fhir_resource(e->type) && e->method != JL_M_GET && e->method != JL_M_HEAD) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".request.url"), "Entry %zu: \"%.*s\" is not a resource type",
		     e->idx, (int)(e->type.n > 64 ? 64 : e->type.n), e->type.p);
		return false;
	}
	return true;
}

/* ---- the fullUrl map --------------------------------------------------------- */

static jl_str_t mapped(const txn_t *x, jl_str_t s)
{
	for (size_t i = 0; i < x->nmap; i++)
		if (jl_str_eq(x->map_from[i], s))
			return x->map_to[i];
	return JL_STR_NULL;
}

static void map_add(txn_t *x, jl_str_t from, jl_str_t type, jl_str_t id)
{
	if (!from.n)
		return;
	x->map_from[x->nmap] = from;
	x->map_to[x->nmap++] = jl_str(jl_arena_printf(x->req->ctx->arena, "%.*s/%.*s", JL_STR_FMT(type), JL_STR_FMT(id)),
				      type.n + 1 + id.n);
}

/*
 * Criteria with every fullUrl of this Bundle they mention replaced by its
 * Type/id. *blocked: one of them is not settled yet (a dependency).
 */
static jl_str_t subst_criteria(txn_t *x, jl_str_t crit, bool *blocked)
{
	*blocked = false;
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	size_t i = 0;
	bool changed = false;
	while (i < crit.n) {
		/* values run from '=' or ',' or '|' to '&' or ',' */
		size_t s = i;
		while (i < crit.n && crit.p[i] != '&' && crit.p[i] != ',' && crit.p[i] != '=' && crit.p[i] != '|')
			i++;
		jl_str_t tok = jl_str(crit.p + s, i - s);
		jl_str_t to = mapped(x, tok);
		if (to.n) {
			jl_buf_append(&b, to.p, to.n);
			changed = true;
		} else {
			if (jl_str_starts(tok, "urn:uuid:") || jl_str_starts(tok, "urn:oid:"))
				for (size_t k = 0; k < x->n; k++)
					if (jl_str_eq(x->ents[k].full_url, tok) && !x->ents[k].resolved)
						*blocked = true;
			jl_buf_append(&b, tok.p, tok.n);
		}
		if (i < crit.n)
			jl_buf_putc(&b, crit.p[i++]);
	}
	jl_str_t out = crit;
	if (changed)
		out = jl_arena_str(x->req->ctx->arena, jl_buf_str(&b));
	jl_buf_dispose(&b);
	return out;
}

/* ---- step 3: settling ids ------------------------------------------------------- */

static jl_str_t fresh_id(txn_t *x)
{
	char *id = jl_arena_alloc_bytes(x->req->ctx->arena, 37);
	if (!id)
		return JL_STR_NULL;
	jl_uuid_v7(jl_now_us(), id);
	return jl_str(id, 36);
}

/* Runs an entry's condition. false: answered. */
static bool match_entry(txn_t *x, ent_t *e, jl_str_t crit, uint32_t max, jl_sq_page_t *pg)
{
	jl_diag_t d;
	jl_diag_init(&d, x->req->ctx->arena);
	jl_rc rc = jl__api_match(x->api, x->req, e->type, crit, max, pg, &d);
	if (rc) {
		if (d.n)
			fail(x, rc, entry_expr(x, e->idx, ".request"), "Entry %zu: the condition failed: %s", e->idx,
			     d.items[0].diag);
		else
			fail(x, rc, entry_expr(x, e->idx, ".request"), "Entry %zu: the condition could not run (%s)",
			     e->idx, jl_rc_name(rc));
		return false;
	}
	if (pg->n > max) {
		fail(x, JL_EPRECOND, entry_expr(x, e->idx, ".request"),
		     "Entry %zu: the criteria \"%.*s\" match more than one %.*s; make them more selective", e->idx,
		     (int)(crit.n > 200 ? 200 : crit.n), crit.p, JL_STR_FMT(e->type));
		return false;
	}
	return true;
}

/* Settles one conditional POST or PUT; false: answered (error). */
static bool settle_conditional(txn_t *x, ent_t *e, jl_str_t crit)
{
	jl_sq_page_t pg;
	if (!match_entry(x, e, crit, 1, &pg))
		return false;
	if (e->method == JL_M_POST) {
		if (pg.n == 1) {
			e->skip = true;
			e->existing = pg.items[0];
			map_add(x, e->full_url, e->type, pg.items[0].id);
		} else {
			map_add(x, e->full_url, e->type, e->new_id);
		}
		return true;
	}
	/* conditional update: the match, the body's id, or a new one */
	jl_str_t body_id = jstr(e->resource, "id");
	if (pg.n == 1 && body_id.n && !jl_str_eq(body_id, pg.items[0].id)) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".resource.id"),
		     "Entry %zu: the resource's id is not that of the resource the criteria match", e->idx);
		return false;
	}
	e->id = pg.n == 1 ? pg.items[0].id : body_id.n ? body_id : e->new_id;
	map_add(x, e->full_url, e->type, e->id);
	/* dispatched as PUT Type/id, whose body must carry the id */
	if (!body_id.n && jl_json_obj_set(x->req->ctx->arena, e->resource, jl_str("id", 2), jl_json_mkstr(e->id))) {
		fail(x, JL_ENOMEM, NULL, "Out of memory");
		return false;
	}
	return true;
}

static bool settle_ids(txn_t *x)
{
	for (size_t i = 0; i < x->n; i++) {
		ent_t *e = &x->ents[i];
		if (e->method == JL_M_POST || (e->method == JL_M_PUT && e->conditional)) {
			e->new_id = fresh_id(x);
			if (!e->new_id.n) {
				fail(x, JL_ENOMEM, NULL, "Out of memory");
				return false;
			}
		}
		e->resolved = !(e->conditional && (e->method == JL_M_POST || e->method == JL_M_PUT));
		if (!e->resolved)
			continue;
		if (e->method == JL_M_POST)
			map_add(x, e->full_url, e->type, e->new_id);
		else if (e->method == JL_M_PUT)
			map_add(x, e->full_url, e->type, e->id);
	}
	/* Conditional entries whose criteria name other entries wait for them. */
	for (;;) {
		bool progress = false, pending = false;
		for (size_t i = 0; i < x->n; i++) {
			ent_t *e = &x->ents[i];
			if (e->resolved)
				continue;
			bool blocked;
			jl_str_t crit = e->method == JL_M_POST ? e->if_none_exist : e->query;
			jl__api_criteria(crit, e->type, &crit);
			crit = subst_criteria(x, crit, &blocked);
			if (blocked) {
				pending = true;
				continue;
			}
			if (!settle_conditional(x, e, crit))
				return false;
			e->resolved = true;
			progress = true;
		}
		if (!pending)
			return true;
		if (!progress)
			break;
	}
	for (size_t i = 0; i < x->n; i++)
		if (!x->ents[i].resolved) {
			fail(x, JL_EINVAL, entry_expr(x, i, ".request"),
			     "Entry %zu: its condition depends on another entry whose condition depends on it "
			     "(circular conditional references)",
			     i);
			return false;
		}
	return true;
}

/* ---- step 4: rewriting references ------------------------------------------------- */

typedef struct rw {
	txn_t *x;
	ent_t *e;
	jl_buf_t path;    /* FHIRPath-like location for messages */
	bool failed;
} rw_t;

/* Resolves a conditional reference "Type?criteria"; false: answered. */
static bool conditional_ref(rw_t *r, jl_json_t *v, jl_str_t ref)
{
	txn_t *x = r->x;
	const char *q = jl_str_chr(ref, '?');
	jl_str_t type = jl_str(ref.p, (size_t)(q - ref.p));
	jl_str_t crit = jl_str(q + 1, (size_t)(ref.p + ref.n - q - 1));
	bool blocked;
	crit = subst_criteria(x, crit, &blocked);
	jl_diag_t d;
	jl_diag_init(&d, x->req->ctx->arena);
	jl_sq_page_t pg;
	jl_rc rc = jl__api_match(x->api, x->req, type, crit, 1, &pg, &d);
	const char *expr = entry_expr(x, r->e->idx, jl_arena_printf(x->req->ctx->arena, ".resource%.*s",
								    JL_STR_FMT(jl_buf_str(&r->path))));
	int show = (int)(ref.n > 200 ? 200 : ref.n);
	if (rc) {
		fail(x, rc, expr, "Entry %zu: the conditional reference \"%.*s\" could not be resolved: %s", r->e->idx,
		     show, ref.p, d.n ? d.items[0].diag : jl_rc_name(rc));
		return false;
	}
	if (pg.n != 1) {
		fail(x, pg.n ? JL_EPRECOND : JL_ENOTFOUND, expr,
		     pg.n ? "Entry %zu: the conditional reference \"%.*s\" matches more than one resource"
			  : "Entry %zu: the conditional reference \"%.*s\" matches no resource",
		     r->e->idx, show, ref.p);
		return false;
	}
	char *s = jl_arena_printf(x->req->ctx->arena, "%.*s/%.*s", JL_STR_FMT(type), JL_STR_FMT(pg.items[0].id));
	if (!s)
		return false;
	*v = jl_json_mkstr(jl_cstr(s));
	return true;
}

static bool is_conditional_ref(jl_str_t s)
{
	const char *q = jl_str_chr(s, '?');
	if (!q || q == s.p)
		return false;
	jl_str_t type = jl_str(s.p, (size_t)(q - s.p));
	return jl_fhir_resource(type) != NULL;
}

static void rewrite_value(rw_t *r, jl_json_t *v, bool is_reference)
{
	if (r->failed)
		return;
	size_t mark = r->path.n;
	if (v->type == JL_JSON_STRING) {
		jl_str_t s = jl_json_str(v);
		jl_str_t to = mapped(r->x, s);
		if (to.n)
			*v = jl_json_mkstr(to);
		else if (is_reference && is_conditional_ref(s) && !conditional_ref(r, v, s))
			r->failed = true;
	} else if (v->type == JL_JSON_ARRAY) {
		for (uint32_t i = 0; i < v->n && !r->failed; i++) {
			jl_buf_printf(&r->path, "[%u]", i);
			rewrite_value(r, &v->u.a[i], is_reference);
			r->path.n = mark;
		}
	} else if (v->type == JL_JSON_OBJECT) {
		for (uint32_t i = 0; i < v->n && !r->failed; i++) {
			jl_json_member_t *m = &v->u.o[i];
			jl_buf_printf(&r->path, ".%.*s", JL_STR_FMT(m->key));
			rewrite_value(r, &m->v, jl_str_eqc(m->key, "reference"));
			r->path.n = mark;
		}
	}
}

static bool rewrite(txn_t *x, ent_t *e)
{
	if (!e->resource)
		return true;
	rw_t r = {.x = x, .e = e};
	jl_buf_init(&r.path, JL_MEM_HTTP, 0);
	for (uint32_t i = 0; i < e->resource->n && !r.failed; i++) {
		jl_json_member_t *m = &e->resource->u.o[i];
		if (jl_str_eqc(m->key, "id") || jl_str_eqc(m->key, "resourceType"))
			continue;
		jl_buf_clear(&r.path);
		jl_buf_printf(&r.path, ".%.*s", JL_STR_FMT(m->key));
		rewrite_value(&r, &m->v, false);
	}
	jl_buf_dispose(&r.path);
	return !r.failed;
}

/* ---- dispatching an entry as a request ------------------------------------------------ */

jl_str_t jl__txn_assigned_id(const struct jl_txn_entry *t)
{
	const ent_t *e = t->ent;
	return e->method == JL_M_POST ? e->new_id : JL_STR_NULL;
}

jl_json_t *jl__txn_resource(const struct jl_txn_entry *t)
{
	const ent_t *e = t->ent;
	/* a PATCH's resource is the patch, not the result */
	return e->method == JL_M_POST || e->method == JL_M_PUT ? e->resource : NULL;
}

static const char *hdr(ent_t *e, jl_str_t v)
{
	return v.n ? jl_arena_strndup(e->req.ctx->arena, v.p, v.n) : NULL;
}

/* Headers of an entry's request: its own from entry.request, the Bundle request's for the rest. */
static const char *child_header(void *impl, const char *name)
{
	ent_t *e = impl;
	if (!strcasecmp(name, "Content-Type"))
		return hdr(e, e->content_type);
	if (!strcasecmp(name, "If-Match"))
		return hdr(e, e->if_match);
	if (!strcasecmp(name, "If-None-Match"))
		return hdr(e, e->if_none_match);
	if (!strcasecmp(name, "If-Modified-Since"))
		return hdr(e, e->if_modified_since);
	if (!strcasecmp(name, "If-None-Exist"))
		return e->x->transaction ? NULL : hdr(e, e->if_none_exist); /* a transaction settled it */
	if (!strcasecmp(name, "Accept") || !strcasecmp(name, "Content-Encoding") ||
	    !strcasecmp(name, "Accept-Encoding") || !strcasecmp(name, "Content-Length"))
		return NULL;
	return jl_http_header(e->x->req, name); /* Prefer, identity, request id */
}

/* The body an entry sends: its resource (rewritten), or the patch a Binary carries. */
static bool entry_body(txn_t *x, ent_t *e)
{
	e->content_type = jl_str("application/fhir+json", 21);
	if (!e->resource)
		return true;
	if (e->method == JL_M_PATCH && jl_str_eqc(jstr(e->resource, "resourceType"), "Binary")) {
		/* JSON Patch travels as a Binary (R4 http.html §3.1.0.6.1) */
		e->content_type = jstr(e->resource, "contentType");
		jl_str_t data = jstr(e->resource, "data");
		size_t cap = data.n / 4 * 3 + 3;
		char *out = jl_arena_alloc_bytes(x->req->ctx->arena, cap + 1);
		size_t n;
		if (!out || !jl_base64_decode(data, out, &n)) {
			fail(x, JL_EINVAL, entry_expr(x, e->idx, ".resource.data"),
			     "Entry %zu: the Binary's data is not valid base64", e->idx);
			return false;
		}
		e->body = jl_str(out, n);
		return true;
	}
	if (x->transaction && (e->method == JL_M_POST || e->method == JL_M_PUT))
		return true; /* handed over parsed (jl__txn_resource) */
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	jl_rc rc = jl_json_write(&b, e->resource, 0);
	if (!rc)
		e->body = jl_arena_str(x->req->ctx->arena, jl_buf_str(&b));
	jl_buf_dispose(&b);
	if (rc || !e->body.p) {
		fail(x, JL_ENOMEM, NULL, "Out of memory");
		return false;
	}
	return true;
}

/* The path an entry is dispatched to (the settled id for a conditional update). */
static jl_str_t entry_path(txn_t *x, ent_t *e)
{
	if (e->method == JL_M_PUT && e->conditional && x->transaction)
		return jl_str(jl_arena_printf(x->req->ctx->arena, "/%.*s/%.*s", JL_STR_FMT(e->type), JL_STR_FMT(e->id)),
			      e->type.n + e->id.n + 2);
	return jl_str(jl_arena_printf(x->req->ctx->arena, "/%.*s", JL_STR_FMT(e->path)), e->path.n + 1);
}

/* Runs an entry through the router. false: out of memory or bad escapes (answered). */
static bool dispatch(txn_t *x, ent_t *e)
{
	jl_arena_t *a = x->req->ctx->arena;
	jl_http_req_t *r = &e->req;
	memset(r, 0, sizeof *r);
	r->ctx = x->req->ctx;
	r->method = e->method;
	r->method_name = e->method_name;
	r->base = x->req->base;
	r->header = child_header;
	r->impl = e;
	r->body = e->body;
	if (x->transaction && e->method != JL_M_GET && e->method != JL_M_HEAD) {
		e->link.ent = e;
		r->txn = &e->link;
	}
	jl_str_t rel = entry_path(x, e);
	bool settled_put = e->method == JL_M_PUT && e->conditional && x->transaction;
	jl_str_t query = settled_put ? JL_STR_NULL : e->query;
	if (!jl_http_unescape(a, rel, false, &rel) || jl_http_parse_query(a, query, r) != JL_OK) {
		fail(x, JL_EINVAL, entry_expr(x, e->idx, ".request.url"), "Entry %zu: request.url has a malformed %%-escape",
		     e->idx);
		return false;
	}
	r->raw_query = query;
	r->path = jl_str(jl_arena_printf(a, "/fhir%.*s", JL_STR_FMT(rel)), rel.n + 5);
	memset(&e->resp, 0, sizeof e->resp);
	jl_buf_init(&e->resp.body, JL_MEM_HTTP, 0);
	e->resp.status = 500;
	jl__api_route(x->api, r, &e->resp, rel);
	e->dispatched = true;
	jl__api_cond_unlock(x->api, r); /* a batch entry's condition, answered without a write */
	return true;
}

void jl__txn_collect(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_write_t *w, size_t n,
		     jl_api_cont_fn cont, void *state)
{
	ent_t *e = req->txn->ent;
	(void)api;
	(void)resp;
	e->col = (collected_t){.w = w, .n = n, .cont = cont, .state = state};
}

/* ---- entry responses --------------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

static jl_str_t resp_header(const jl_http_resp_t *r, const char *k)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (jl_str_ieqc(r->headers[i].k, k))
			return r->headers[i].v;
	return JL_STR_NULL;
}

static jl_json_t *resp_json(txn_t *x, const jl_http_resp_t *r)
{
	if (!r->body.n || r->no_body)
		return NULL;
	jl_json_t *v;
	jl_json_err_t err;
	jl_json_opts_t o = {.max_depth = 1024, .flags = JL_JSON_ALLOW_DUP_KEYS};
	if (jl_json_parse(x->req->ctx->arena, r->body.p, r->body.n, &o, &v, &err) != JL_OK)
		return NULL;
	return v;
}

/* Location relative to the base, as Bundle responses usually give it. */
static jl_str_t relative_location(txn_t *x, jl_str_t loc)
{
	jl_str_t rel;
	return relative_url(x, loc, &rel) ? rel : loc;
}

static void write_entry_response(txn_t *x, jl_jw_t *w, ent_t *e)
{
	jl_arena_t *a = x->req->ctx->arena;
	const jl_http_resp_t *r = &e->resp;
	jl_json_t *body = resp_json(x, r);
	bool outcome = body && jl_str_eqc(jstr(body, "resourceType"), "OperationOutcome");
	jl_jw_obj_begin(w);
	if (e->full_url.n) {
		jl_jw_keyc(w, "fullUrl");
		jl_jw_str(w, e->full_url);
	}
	if (body && !outcome) {
		jl_jw_keyc(w, "resource");
		jl_jw_value(w, body);
	}
	jl_jw_keyc(w, "response");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "status");
	jl_jw_strc(w, jl_arena_printf(a, "%d %s", r->status, reason(r->status)));
	jl_str_t loc = resp_header(r, "Location");
	if (loc.n) {
		jl_jw_keyc(w, "location");
		jl_jw_str(w, relative_location(x, loc));
	} else if (e->col.n == 1 && r->status < 300 && e->col.w[0].kind != JL_WRITE_DELETE) {
		/* an update answers without Location; the entry still says where the version is */
		const jl_write_t *cw = &e->col.w[0];
		jl_jw_keyc(w, "location");
		jl_jw_strc(w, jl_arena_printf(a, "%.*s/%.*s/_history/%lld", JL_STR_FMT(cw->type), JL_STR_FMT(cw->id),
					      (long long)cw->ver));
	}
	jl_str_t etag = resp_header(r, "ETag");
	if (etag.n) {
		jl_jw_keyc(w, "etag");
		jl_jw_str(w, etag);
	}
	jl_str_t lm = jstr(jl_json_get(body, "meta"), "lastUpdated");
	char ib[40];
	if (!lm.n && e->col.n && r->status < 300)
		lm = jl_str(ib, jl_time_fmt_instant(e->col.w[0].updated_us, ib));
	if (lm.n) {
		jl_jw_keyc(w, "lastModified");
		jl_jw_str(w, lm);
	}
	if (outcome) {
		jl_jw_keyc(w, "outcome");
		jl_jw_value(w, body);
	}
	jl_jw_obj_end(w);
	jl_jw_obj_end(w);
}

static void respond_bundle(txn_t *x)
{
	jl_http_resp_t *resp = x->resp;
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, "Bundle");
	char id[37];
	jl_uuid_v7(jl_now_us(), id);
	jl_jw_keyc(&w, "id");
	jl_jw_str(&w, jl_str(id, 36));
	jl_jw_keyc(&w, "type");
	jl_jw_strc(&w, x->transaction ? "transaction-response" : "batch-response");
	jl_jw_keyc(&w, "entry");
	jl_jw_arr_begin(&w);
	for (size_t i = 0; i < x->n; i++)
		write_entry_response(x, &w, &x->ents[i]);
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	if (jl_buf_status(&resp->body)) {
		fail(x, JL_ENOMEM, NULL, "The response Bundle could not be built (the Bundle was processed)");
		return;
	}
	resp->status = 200;
	jl__api_finish_json(x->req, resp, &x->out);
}

/*
 * A transaction ends with the first entry that failed: its outcome, each
 * issue re-addressed to the entry (expressions "Observation.subject" become
 * "Bundle.entry[3].resource.subject") so the client knows which one.
 */
static void entry_failed(txn_t *x, ent_t *e)
{
	jl_arena_t *a = x->req->ctx->arena;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_json_t *oo = resp_json(x, &e->resp);
	const jl_json_t *issues = jl_json_get(oo, "issue");
	for (uint32_t i = 0; jl_json_is(issues, JL_JSON_ARRAY) && i < issues->n; i++) {
		const jl_json_t *is = &issues->u.a[i];
		jl_str_t code = jstr(is, "code");
		jl_str_t diag = jstr(is, "diagnostics");
		const jl_json_t *ex = jl_json_get(is, "expression");
		jl_str_t expr = jl_json_is(ex, JL_JSON_ARRAY) && ex->n ? jl_json_str(&ex->u.a[0]) : JL_STR_NULL;
		const char *where = NULL;
		if (expr.n && jl_str_starts(expr, "patch[")) {
			/* a JSON Patch operation: it lives in the Binary's data (the diagnostics say which) */
			where = entry_expr(x, e->idx, ".resource.data");
		} else if (expr.n) {
			const char *dot = jl_str_chr(expr, '.');
			jl_str_t tail = dot ? jl_str(dot, (size_t)(expr.p + expr.n - dot)) : JL_STR_NULL;
			where = entry_expr(x, e->idx, jl_arena_printf(a, ".resource%.*s", JL_STR_FMT(tail)));
		} else {
			where = entry_expr(x, e->idx, "");
		}
		bool warning = jl_str_eqc(jstr(is, "severity"), "warning") || jl_str_eqc(jstr(is, "severity"), "information");
		jl_diag_add(&d, warning ? JL_SEV_WARNING : JL_SEV_ERROR,
			    code.n ? jl_arena_strndup(a, code.p, code.n) : "processing", where,
			    "Entry %zu (%.*s %.*s): %.*s", e->idx, JL_STR_FMT(e->method_name),
			    (int)(e->url.n > 200 ? 200 : e->url.n), e->url.p, JL_STR_FMT(diag));
	}
	if (!d.n)
		jl_diag_add(&d, JL_SEV_ERROR, "processing", entry_expr(x, e->idx, ""), "Entry %zu (%.*s %.*s) failed with %d",
			    e->idx, JL_STR_FMT(e->method_name), (int)(e->url.n > 200 ? 200 : e->url.n), e->url.p,
			    e->resp.status);
	jl_rest_outcome(x->resp, e->resp.status, &d, x->out.pretty);
}

/* ---- batch ---------------------------------------------------------------------------------- */

/* Resolves an entry's conditional references for a batch: a failure is that entry's own response. */
static void batch_entry(txn_t *x, ent_t *e)
{
	jl_http_resp_t *saved = x->resp;
	jl_out_t out = x->out;
	/* errors of the preparation go into the entry's response, not the Bundle's */
	memset(&e->resp, 0, sizeof e->resp);
	jl_buf_init(&e->resp.body, JL_MEM_HTTP, 0);
	x->resp = &e->resp;
	bool ok = rewrite(x, e) && entry_body(x, e);
	x->resp = saved;
	x->out = out;
	if (ok)
		dispatch(x, e);
	else
		e->dispatched = true;
}

/* ---- transaction ---------------------------------------------------------------------------- */

static int phase(const ent_t *e)
{
	switch (e->method) {
	case JL_M_DELETE: return PHASE_DELETE;
	case JL_M_POST: return PHASE_POST;
	case JL_M_PUT:
	case JL_M_PATCH: return PHASE_PUT;
	default: return PHASE_GET;
	}
}

/* The same resource written twice in one transaction is refused. */
static bool distinct_targets(txn_t *x)
{
	for (size_t i = 0; i < x->n; i++) {
		ent_t *a = &x->ents[i];
		if (!(a->method == JL_M_PUT || a->method == JL_M_DELETE || a->method == JL_M_PATCH) || !a->id.n)
			continue;
		for (size_t j = i + 1; j < x->n; j++) {
			ent_t *b = &x->ents[j];
			if ((b->method == JL_M_PUT || b->method == JL_M_DELETE || b->method == JL_M_PATCH) &&
			    jl_str_eq(a->type, b->type) && jl_str_eq(a->id, b->id)) {
				fail(x, JL_EINVAL, entry_expr(x, j, ".request.url"),
				     "Entries %zu and %zu both change %.*s/%.*s; a transaction may change a resource once",
				     i, j, JL_STR_FMT(a->type), JL_STR_FMT(a->id));
				return false;
			}
		}
	}
	return true;
}

static bool distinct_full_urls(txn_t *x)
{
	for (size_t i = 0; i < x->n; i++) {
		jl_str_t f = x->ents[i].full_url;
		if (!f.n)
			continue;
		for (size_t j = i + 1; j < x->n; j++)
			if (jl_str_eq(f, x->ents[j].full_url)) {
				fail(x, JL_EINVAL, entry_expr(x, j, ".fullUrl"),
				     "Entries %zu and %zu have the same fullUrl \"%.*s\"", i, j,
				     (int)(f.n > 200 ? 200 : f.n), f.p);
				return false;
			}
	}
	return true;
}

/* Takes every condition's stripe at once (taking them one by one could deadlock). */
static bool lock_conditions(txn_t *x)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < x->n; i++) {
		ent_t *e = &x->ents[i];
		if (!e->conditional)
			continue;
		jl_str_t crit;
		jl__api_criteria(e->method == JL_M_POST ? e->if_none_exist : e->query, e->type, &crit);
		mask |= jl__api_cond_stripe(e->type, crit);
	}
	jl_rc rc = jl__api_cond_lock(x->api, x->req, mask);
	if (rc)
		fail(x, rc, NULL, "Other requests on the same conditions did not finish before this request's deadline");
	return rc == JL_OK;
}

static void txn_committed(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc);

/* Gathers the collected writes into one array and commits them. */
static void commit(txn_t *x)
{
	size_t total = x->nextra;
	for (size_t i = 0; i < x->n; i++)
		total += x->ents[i].col.n;
	if (!total) {
		txn_committed(x->api, x->req, x->resp, x, JL_OK);
		return;
	}
	x->all = jl_arena_alloc(x->req->ctx->arena, total * sizeof *x->all);
	if (!x->all) {
		fail(x, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	x->nall = 0;
	for (int ph = PHASE_DELETE; ph < PHASE_GET; ph++)
		for (size_t i = 0; i < x->n; i++) {
			ent_t *e = &x->ents[i];
			if (phase(e) != ph)
				continue;
			for (size_t k = 0; k < e->col.n; k++)
				x->all[x->nall++] = e->col.w[k];
		}
	for (size_t k = 0; k < x->nextra; k++)
		x->all[x->nall++] = x->extra[k];
	jl__api_write(x->api, x->req, x->resp, x->all, x->nall, txn_committed, x);
}

/* The entry whose write failed (the store reports the first failing write); *start: its first write. */
static ent_t *failed_write(txn_t *x, size_t *start)
{
	size_t k = 0;
	for (int ph = PHASE_DELETE; ph < PHASE_GET; ph++)
		for (size_t i = 0; i < x->n; i++) {
			ent_t *e = &x->ents[i];
			if (phase(e) != ph)
				continue;
			for (size_t j = 0; j < e->col.n; j++)
				if (x->all[k + j].rc) {
					*start = k;
					return e;
				}
			k += e->col.n;
		}
	return NULL;
}

static void txn_committed(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, void *state, jl_rc rc)
{
	txn_t *x = state;
	if (rc == JL_ESTALE && x->retries++ < 5) {
		/* a concurrent write replaced a version we indexed from: index again, commit again */
		for (size_t k = 0; k < x->nall; k++)
			if (x->all[k].index && jl_index_refresh_old(api->defs, api->store, req->ctx->arena, &x->all[k]) != JL_OK) {
				fail(x, JL_ENOMEM, NULL, "Out of memory");
				return;
			}
		jl__api_write(api, req, resp, x->all, x->nall, txn_committed, x);
		return;
	}
	if (rc) {
		size_t start = 0;
		ent_t *e = failed_write(x, &start);
		if (e) {
			/* let the entry's own continuation word the failure, then name the entry */
			jl_rc erc = JL_OK;
			for (size_t j = 0; j < e->col.n; j++) {
				e->col.w[j] = x->all[start + j];
				if (!erc)
					erc = e->col.w[j].rc;
			}
			e->req.txn = NULL;
			jl_buf_clear(&e->resp.body);
			e->col.cont(api, &e->req, &e->resp, e->col.state, erc == JL_ESTALE ? JL_EBUSY : erc);
			entry_failed(x, e);
		} else {
			fail(x, rc, NULL, "The transaction could not be committed (%s); nothing was written", jl_rc_name(rc));
		}
		return;
	}
	/* Hand each entry its results and let it build its response. */
	size_t k = 0;
	for (int ph = PHASE_DELETE; ph < PHASE_GET; ph++)
		for (size_t i = 0; i < x->n; i++) {
			ent_t *e = &x->ents[i];
			if (phase(e) != ph || !e->col.n)
				continue;
			for (size_t j = 0; j < e->col.n; j++)
				e->col.w[j] = x->all[k++];
			e->req.txn = NULL; /* a retry inside the continuation would write on its own */
			jl_buf_clear(&e->resp.body);
			e->col.cont(api, &e->req, &e->resp, e->col.state, JL_OK);
		}
	/* Reads see the transaction's result. */
	for (size_t i = 0; i < x->n; i++)
		if (phase(&x->ents[i]) == PHASE_GET && !dispatch(x, &x->ents[i]))
			return;
	respond_bundle(x);
}

static void run_transaction(txn_t *x)
{
	if (!distinct_full_urls(x) || !lock_conditions(x) || !settle_ids(x) || !distinct_targets(x))
		return;
	for (size_t i = 0; i < x->n; i++)
		if (!rewrite(x, &x->ents[i]) || !entry_body(x, &x->ents[i]))
			return;
	for (int ph = PHASE_DELETE; ph < PHASE_GET; ph++)
		for (size_t i = 0; i < x->n; i++) {
			ent_t *e = &x->ents[i];
			if (phase(e) != ph)
				continue;
			if (e->skip) {
				/* a conditional create that matched: the existing resource is the answer */
				memset(&e->resp, 0, sizeof e->resp);
				jl_buf_init(&e->resp.body, JL_MEM_HTTP, 0);
				e->req.ctx = x->req->ctx;
				e->req.base = x->req->base;
				jl__api_send_existing(&e->req, &e->resp, &x->out, &e->existing);
				continue;
			}
			if (!dispatch(x, e))
				return;
			if (!e->col.n && e->resp.status >= 300) {
				entry_failed(x, e);
				return;
			}
		}
	commit(x);
}

/* ---- entry point ------------------------------------------------------------------------------- */

static void free_bodies(void *arg)
{
	txn_t *x = arg;
	for (size_t i = 0; i < x->n; i++)
		if (x->ents[i].dispatched || x->ents[i].skip)
			jl_buf_dispose(&x->ents[i].resp.body);
}

/* A shallow copy of the Bundle whose entries have no resource (to validate the envelope only). */
static const jl_json_t *without_resources(jl_arena_t *a, const jl_json_t *bundle)
{
	const jl_json_t *entries = jl_json_get(bundle, "entry");
	if (!jl_json_is(entries, JL_JSON_ARRAY))
		return bundle;
	jl_json_t *copy = jl_arena_alloc(a, sizeof *copy);
	jl_json_t *ents = jl_arena_alloc(a, sizeof *ents);
	jl_json_t *arr = jl_arena_calloc(a, entries->n ? entries->n : 1, sizeof *arr);
	if (!copy || !ents || !arr)
		return NULL;
	for (uint32_t i = 0; i < entries->n; i++) {
		arr[i] = entries->u.a[i];
		if (arr[i].type != JL_JSON_OBJECT)
			continue;
		/* copy the member array before deleting from it */
		jl_json_member_t *m = jl_arena_alloc(a, (arr[i].n ? arr[i].n : 1) * sizeof *m);
		if (!m)
			return NULL;
		memcpy(m, arr[i].u.o, arr[i].n * sizeof *m);
		arr[i].u.o = m;
		jl_json_obj_del(&arr[i], jl_str("resource", 8));
	}
	*ents = *entries;
	ents->u.a = arr;
	/* the Bundle's own members too: setting "entry" replaces in place */
	jl_json_member_t *bm = jl_arena_alloc(a, bundle->n * sizeof *bm);
	if (!bm)
		return NULL;
	memcpy(bm, bundle->u.o, bundle->n * sizeof *bm);
	*copy = *bundle;
	copy->u.o = bm;
	if (jl_json_obj_set(a, copy, jl_str("entry", 5), *ents))
		return NULL;
	return copy;
}

static bool parse_bundle(jl_api_t *api, txn_t *x, jl_json_t **bundle)
{
	jl_http_req_t *req = x->req;
	const char *ct = jl_http_header(req, "Content-Type");
	jl_rc rc = jl_rest_check_content_type(ct);
	if (rc) {
		fail(x, rc, NULL, "A batch or transaction must be a Bundle in application/fhir+json, not %s",
		     ct ? ct : "without a Content-Type");
		return false;
	}
	jl_json_opts_t o = {.max_depth = api->cfg.max_json_depth};
	jl_json_err_t e;
	rc = jl_json_parse(req->ctx->arena, req->body.p, req->body.n, &o, bundle, &e);
	if (rc) {
		fail(x, rc == JL_EINVAL ? JL_EINVAL : JL_ETOOBIG, NULL, "The body is not valid JSON: %s at line %u, column %u",
		     e.msg, e.line, e.col);
		return false;
	}
	if (!jl_str_eqc(jstr(*bundle, "resourceType"), "Bundle")) {
		fail(x, JL_EINVAL, "resourceType", "POST to the base takes a batch or transaction Bundle");
		return false;
	}
	jl_str_t type = jstr(*bundle, "type");
	x->transaction = jl_str_eqc(type, "transaction");
	if (!x->transaction && !jl_str_eqc(type, "batch")) {
		fail(x, JL_EINVAL, "Bundle.type", "Bundle.type must be batch or transaction here, not \"%.*s\"",
		     (int)(type.n > 40 ? 40 : type.n), type.p);
		return false;
	}
	return true;
}

/*
 * Validates the Bundle (after its entries' requests were read, whose
 * problems are the more basic ones). A batch entry's resource is its own
 * business: it fails alone, when it runs.
 */
static bool validate_bundle(txn_t *x, const jl_json_t *bundle)
{
	jl_diag_t d;
	jl_diag_init(&d, x->req->ctx->arena);
	const jl_json_t *checked = x->transaction ? bundle : without_resources(x->req->ctx->arena, bundle);
	if (!checked) {
		fail(x, JL_ENOMEM, NULL, "Out of memory");
		return false;
	}
	if (jl_fhir_validate(checked, jl_fhir_resource(jl_str("Bundle", 6)), &d)) {
		jl_rest_outcome(x->resp, 422, &d, x->out.pretty);
		return false;
	}
	return true;
}

static void bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		   const jl_write_t *extra, size_t nextra);

void jl__api_bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out)
{
	bundle(api, req, resp, out, NULL, 0);
}

void jl_api_post_bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_write_t *extra,
			size_t nextra)
{
	jl_out_t out = {.ret = JL_RET_MINIMAL};
	const char *pref = jl_http_header(req, "Prefer");
	if (pref && strstr(pref, "return=representation"))
		out.ret = JL_RET_REPRESENTATION;
	resp->status = 500;
	bundle(api, req, resp, &out, extra, nextra);
	jl__api_cond_unlock(api, req);
}

static void bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		   const jl_write_t *extra, size_t nextra)
{
	jl_arena_t *a = req->ctx->arena;
	txn_t *x = jl_arena_calloc(a, 1, sizeof *x);
	if (!x) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	*x = (txn_t){.api = api, .req = req, .resp = resp, .out = *out, .extra = extra, .nextra = nextra};
	jl_json_t *bundle;
	if (!req->body.n) {
		fail(x, JL_EINVAL, NULL, "The request has no body; a batch or transaction Bundle was expected");
		return;
	}
	if (!parse_bundle(api, x, &bundle))
		return;
	const jl_json_t *entries = jl_json_get(bundle, "entry");
	size_t n = jl_json_is(entries, JL_JSON_ARRAY) ? entries->n : 0;
	if (n > api->cfg.bundle_max_entries) {
		fail(x, JL_ETOOBIG, "Bundle.entry", "The Bundle has %zu entries; this server takes at most %u", n,
		     api->cfg.bundle_max_entries);
		return;
	}
	x->ents = jl_arena_calloc(a, n ? n : 1, sizeof *x->ents);
	x->map_from = jl_arena_calloc(a, n ? n : 1, sizeof *x->map_from);
	x->map_to = jl_arena_calloc(a, n ? n : 1, sizeof *x->map_to);
	if (!x->ents || !x->map_from || !x->map_to || jl_arena_on_free(a, free_bodies, x)) {
		fail(x, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	x->n = n;
	for (size_t i = 0; i < n; i++) {
		ent_t *e = &x->ents[i];
		e->x = x;
		e->idx = i;
		e->json = &entries->u.a[i];
		if (!read_entry(x, e))
			return;
	}
	if (!validate_bundle(x, bundle))
		return;
	if (x->transaction) {
		run_transaction(x);
		return;
	}
	for (size_t i = 0; i < n; i++)
		batch_entry(x, &x->ents[i]);
	if (nextra) {
		/* a batch has no single commit: the caller's writes go after its entries, on their own */
		jl_write_t *w = jl_arena_alloc(a, nextra * sizeof *w);
		if (!w) {
			fail(x, JL_ENOMEM, NULL, "Out of memory");
			return;
		}
		memcpy(w, extra, nextra * sizeof *w);
		jl_rc rc = jl_store_write(api->store, w, nextra, req->ctx->deadline_ns);
		if (rc) {
			fail(x, rc, NULL, "The batch's entries ran, but its record could not be written (%s)", jl_rc_name(rc));
			return;
		}
	}
	respond_bundle(x);
}
