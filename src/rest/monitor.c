/*
 * monitor (rest) — /monitor/... for the dashboard, $evaluate-measure, the
 * catalogue's Measure resources and the aggregate-input check. The
 * computation and its cache are monitor/'s; this file parses parameters,
 * maps result codes to statuses (through rest/outcome.h) and writes JSON.
 */
#include "rest/monitor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "monitor/cache.h"
#include "monitor/report.h"
#include "monitor/measure.h"
#include "rest/encoding.h"
#include "rest/outcome.h"
#include "search/index.h"

#define TREND_MAX_YEARS 30

static const char *const levels[] = {"", "province", "prefecture", "county", "township", "village"};

static void fail_diag(jl_http_resp_t *resp, jl_rc rc, const jl_diag_t *d)
{
	jl_rest_outcome(resp, jl_rest_status(rc), d, 0);
}

static void fail(jl_http_req_t *req, jl_http_resp_t *resp, jl_rc rc, const char *expr, const char *fmt, const char *arg)
{
	jl_out_t plain = {0};
	jl__api_fail(req, resp, &plain, rc, expr, fmt, arg);
}

/* The parameter's value; NULL (400 sent) when it is missing and required. */
static const jl_str_t *param(jl_http_req_t *req, jl_http_resp_t *resp, const char *name, bool required)
{
	const jl_str_t *v = jl_http_param(req, name);
	if (!v && required)
		fail(req, resp, JL_EINVAL, name, "The parameter %s is required", name);
	return v;
}

/* A reporting year; false (400 sent) when it is not one. */
static bool year_param(jl_http_req_t *req, jl_http_resp_t *resp, const char *name, int32_t *year)
{
	const jl_str_t *v = param(req, resp, name, true);
	if (!v)
		return false;
	int64_t y;
	if (v->n != 4 || !jl_str_to_i64(*v, &y) || y < 1950 || y > 2200) {
		char *msg = jl_arena_printf(req->ctx->arena, "%s must be a year between 1950 and 2200, e.g. 2024 (got \"%.*s\")",
					    name, (int)(v->n > 20 ? 20 : v->n), v->p);
		fail(req, resp, JL_EINVAL, name, "%s", msg ? msg : "bad year");
		return false;
	}
	*year = (int32_t)y;
	return true;
}

/* Only the parameters named (and those starting with "_", e.g. cache busters) are accepted. */
static bool known_params(jl_http_req_t *req, jl_http_resp_t *resp, const char *const *names)
{
	for (size_t i = 0; i < req->nquery; i++) {
		jl_str_t k = req->query[i].k;
		if (k.n && k.p[0] == '_')
			continue;
		bool ok = false;
		for (const char *const *n = names; *n && !ok; n++)
			ok = jl_str_eqc(k, *n);
		if (!ok) {
			char *name = jl_arena_strndup(req->ctx->arena, k.p, k.n > 40 ? 40 : k.n);
			fail(req, resp, JL_EINVAL, name, "Unknown parameter \"%s\"", name ? name : "?");
			return false;
		}
	}
	if (req->query_overflow) {
		fail(req, resp, JL_EINVAL, NULL, "%s", "Too many query parameters");
		return false;
	}
	return true;
}

static void ok_json(jl_http_resp_t *resp)
{
	resp->status = 200;
	resp->content_type = "application/json; charset=utf-8";
}

/* The JSON written into resp->body, or 500 when writing it ran out of memory. */
static void send_json(jl_http_req_t *req, jl_http_resp_t *resp)
{
	if (jl_buf_status(&resp->body)) {
		fail(req, resp, JL_ENOMEM, NULL, "%s", "Out of memory while writing the result");
		return;
	}
	ok_json(resp);
}

/* ---- validators: ETag / If-None-Match ---- */

/*
 * An answer under /monitor (and /report) is a function of the request
 * (path and query), the store's data (each cube's snapshot: the newest
 * last-updated instant, which every write moves, store/sqlite.c), the
 * catalogue and its targets (their texts' hash) and the running program
 * (the instant the catalogue was loaded, so a restart — perhaps with a new
 * engine — changes every validator). The weak ETag hashes exactly these, so
 * it changes whenever the answer can. ("computed" may differ between two
 * answers with the same ETag: the same result, recomputed.)
 */
static uint64_t etag_base(jl_api_t *api, jl_http_req_t *req)
{
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	uint64_t h = jl_hash_bytes(cat->hash, &cat->loaded_us, sizeof cat->loaded_us);
	h = jl_hash_bytes(h, req->path.p, req->path.n);
	for (size_t i = 0; i < req->nquery; i++) {
		h = jl_hash_bytes(h, req->query[i].k.p, req->query[i].k.n);
		h = jl_hash_bytes(h, "=", 1);
		h = jl_hash_bytes(h, req->query[i].v.p, req->query[i].v.n);
		h = jl_hash_bytes(h, "&", 1);
	}
	return h;
}

static uint64_t etag_cube(uint64_t h, const jl_cube_t *c)
{
	h = jl_hash_bytes(h, &c->snapshot_us, sizeof c->snapshot_us);
	return jl_hash_bytes(h, &c->year, sizeof c->year);
}

/* Whether an If-None-Match list ("*", or entity tags) names tag (weak comparison, RFC 9110 13.1.2). */
static bool etag_listed(const char *inm, jl_str_t tag)
{
	jl_str_t opaque = jl_str(tag.p + 2, tag.n - 2); /* without "W/" */
	for (const char *p = inm; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *e = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!e)
			return false;
		if ((size_t)(e + 1 - p) == opaque.n && !memcmp(p, opaque.p, opaque.n))
			return true;
		p = e + 1;
	}
	return false;
}

/*
 * Sets the answer's ETag (and Cache-Control: no-cache, so clients
 * revalidate); when the request's If-None-Match names it, turns the answer
 * into a 304 without a body and returns true.
 */
static bool not_modified(jl_http_req_t *req, jl_http_resp_t *resp, uint64_t h)
{
	char *tag = jl_arena_printf(req->ctx->arena, "W/\"m%016llx\"", (unsigned long long)h);
	if (!tag)
		return false;
	jl_http_set_header(resp, req->ctx->arena, "ETag", jl_cstr(tag));
	jl_http_set_header(resp, req->ctx->arena, "Cache-Control", JL_STR("no-cache"));
	if (!etag_listed(jl_http_header(req, "If-None-Match"), jl_cstr(tag)))
		return false;
	jl_buf_clear(&resp->body);
	resp->status = 304;
	resp->no_body = true;
	return true;
}

/* GET /monitor/indicators?region=&year=[&indicator=] */
static void indicators(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	static const char *const names[] = {"region", "year", "indicator", NULL};
	int32_t year;
	const jl_str_t *region, *only;
	if (!known_params(req, resp, names) || !(region = param(req, resp, "region", true)) ||
	    !year_param(req, resp, "year", &year))
		return;
	only = jl_http_param(req, "indicator");
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	const jl_indicator_t *ind = only ? jl_catalog_find(cat, *only) : NULL;
	if (only && !ind) {
		char *id = jl_arena_strndup(req->ctx->arena, only->p, only->n > 64 ? 64 : only->n);
		fail(req, resp, JL_ENOTFOUND, "indicator", "No indicator \"%s\" in the catalogue", id ? id : "?");
		return;
	}
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_mview_t v;
	jl_rc rc = jl_mcache_get(api->monitor, *region, year, &v, &d);
	if (rc) {
		fail_diag(resp, rc, &d);
		return;
	}
	if (not_modified(req, resp, etag_cube(etag_base(api, req), v.cube))) {
		jl_mcache_put(&v);
		return;
	}
	jl_buf_clear(&resp->body);
	if (ind) { /* one indicator: cheap from the cube, not worth a cache entry */
		jl_jw_t w;
		jl_jw_init(&w, &resp->body, 0);
		jl_engine_json(v.cube, v.node, ind->id, &w);
		rc = jl_buf_status(&resp->body);
	} else {
		rc = jl_mcache_json(&v, &resp->body);
	}
	jl_mcache_put(&v);
	if (rc) {
		fail(req, resp, JL_ENOMEM, NULL, "%s", "Out of memory while writing the result");
		return;
	}
	ok_json(resp);
}

static void node_fields(jl_jw_t *w, const jl_region_node_t *nd)
{
	jl_jw_keyc(w, "code");
	jl_jw_strc(w, nd->code);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, nd->name);
	jl_jw_keyc(w, "level");
	jl_jw_strc(w, levels[nd->level]);
}

/* GET /monitor/regions?code= : the node, its parent and its children (drill-down). */
static void regions(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	static const char *const names[] = {"code", NULL};
	const jl_str_t *code;
	if (!known_params(req, resp, names) || !(code = param(req, resp, "code", true)))
		return;
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_mview_t v;
	jl_rc rc = jl_mcache_region(api->monitor, *code, &v, &d);
	if (rc) {
		fail_diag(resp, rc, &d);
		return;
	}
	if (not_modified(req, resp, etag_base(api, req))) { /* the hierarchy is the program's */
		jl_mcache_put(&v);
		return;
	}
	const jl_region_node_t *nd = &v.reg->nodes[v.node];
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	jl_jw_obj_begin(&w);
	node_fields(&w, nd);
	jl_jw_keyc(&w, "parent");
	if (nd->parent < 0) {
		jl_jw_null(&w);
	} else {
		jl_jw_obj_begin(&w);
		node_fields(&w, &v.reg->nodes[nd->parent]);
		jl_jw_obj_end(&w);
	}
	jl_jw_keyc(&w, "children");
	jl_jw_arr_begin(&w);
	for (uint32_t k = nd->child0; k < nd->child0 + nd->nchild; k++) {
		jl_jw_obj_begin(&w);
		node_fields(&w, &v.reg->nodes[k]);
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_mcache_put(&v);
	send_json(req, resp);
}

static void num(jl_jw_t *w, const char *key, double v)
{
	jl_jw_keyc(w, key);
	jl_jw_fixed(w, v, 4);
}

/* What names an indicator in /monitor answers. */
static void indicator_fields(jl_jw_t *w, const jl_indicator_t *ind)
{
	jl_jw_keyc(w, "id");
	jl_jw_strc(w, ind->id);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, ind->name);
	jl_jw_keyc(w, "nameEn");
	jl_jw_strc(w, ind->name_en ? ind->name_en : "");
	jl_jw_keyc(w, "unit");
	jl_jw_strc(w, ind->unit);
	jl_jw_keyc(w, "direction");
	jl_jw_strc(w, ind->direction == JL_DIR_HIGHER ? "higher" : ind->direction == JL_DIR_LOWER ? "lower" : "none");
}

static void point(jl_jw_t *w, int32_t year, const jl_result_t *r)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "year");
	jl_jw_int(w, year);
	jl_jw_keyc(w, "numerator");
	jl_jw_int(w, r->num);
	jl_jw_keyc(w, "denominator");
	jl_jw_int(w, r->den);
	num(w, "value", r->has_value ? r->value : NAN);
	jl_jw_keyc(w, "ci95");
	if (r->has_value && isfinite(r->lo)) {
		jl_jw_arr_begin(w);
		jl_jw_fixed(w, r->lo, 4);
		jl_jw_fixed(w, r->hi, 4);
		jl_jw_arr_end(w);
	} else {
		jl_jw_null(w);
	}
	double line;
	/* The level the target asks for that year: the bound, or an annual_change's path. */
	num(w, "target", jl_engine_target_line(r, &line) ? line : NAN);
	num(w, "gap", r->has_gap ? r->gap : NAN);
	jl_jw_keyc(w, "met");
	if (r->met < 0)
		jl_jw_null(w);
	else
		jl_jw_bool(w, r->met == 1);
	num(w, "change", r->has_prev ? r->change : NAN);
	jl_jw_keyc(w, "onTrack");
	if (r->on_track < 0)
		jl_jw_null(w);
	else
		jl_jw_bool(w, r->on_track == 1);
	jl_jw_obj_end(w);
}

/* GET /monitor/trend?region=&indicator=&from=&to= */
static void trend(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	static const char *const names[] = {"region", "indicator", "from", "to", NULL};
	const jl_str_t *region, *id;
	int32_t from, to;
	if (!known_params(req, resp, names) || !(region = param(req, resp, "region", true)) ||
	    !(id = param(req, resp, "indicator", true)) || !year_param(req, resp, "from", &from) ||
	    !year_param(req, resp, "to", &to))
		return;
	if (from > to || to - from >= TREND_MAX_YEARS) {
		fail(req, resp, JL_EINVAL, "to", "%s", "to must not be before from, and a trend spans at most 30 years");
		return;
	}
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	const jl_indicator_t *ind = jl_catalog_find(cat, *id);
	if (!ind) {
		char *s = jl_arena_strndup(req->ctx->arena, id->p, id->n > 64 ? 64 : id->n);
		fail(req, resp, JL_ENOTFOUND, "indicator", "No indicator \"%s\" in the catalogue", s ? s : "?");
		return;
	}
	uint32_t i = (uint32_t)(ind - cat->inds);
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	uint64_t tag = etag_base(api, req);
	for (int32_t y = from; y <= to; y++) {
		jl_mview_t v;
		jl_rc rc = jl_mcache_get(api->monitor, *region, y, &v, &d);
		if (rc) {
			jl_buf_clear(&resp->body);
			fail_diag(resp, rc, &d);
			return;
		}
		if (y == from) {
			const jl_region_node_t *nd = &v.reg->nodes[v.node];
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "region");
			jl_jw_obj_begin(&w);
			node_fields(&w, nd);
			jl_jw_obj_end(&w);
			jl_jw_keyc(&w, "indicator");
			jl_jw_obj_begin(&w);
			indicator_fields(&w, ind);
			jl_jw_obj_end(&w);
			jl_jw_keyc(&w, "points");
			jl_jw_arr_begin(&w);
		}
		jl_result_t r;
		jl_engine_result(v.cube, i, v.node, 0, -1, &r);
		point(&w, y, &r);
		tag = etag_cube(tag, v.cube);
		jl_mcache_put(&v);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	if (!not_modified(req, resp, tag))
		send_json(req, resp);
}

/* GET /monitor/catalog */
static void catalog(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	static const char *const names[] = {NULL};
	static const char *const methods[] = {"count", "life-table", "ncd-30-70", "aggregate"};
	if (!known_params(req, resp, names))
		return;
	if (not_modified(req, resp, etag_base(api, req)))
		return;
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "version");
	jl_jw_strc(&w, cat->version);
	jl_jw_keyc(&w, "indicators");
	jl_jw_arr_begin(&w);
	for (uint32_t i = 0; i < cat->ninds; i++) {
		const jl_indicator_t *ind = &cat->inds[i];
		jl_jw_obj_begin(&w);
		indicator_fields(&w, ind);
		jl_jw_keyc(&w, "section");
		jl_jw_strc(&w, ind->section);
		jl_jw_keyc(&w, "method");
		jl_jw_strc(&w, methods[ind->method]);
		jl_jw_keyc(&w, "plan");
		if (ind->plan && *ind->plan)
			jl_jw_strc(&w, ind->plan);
		else
			jl_jw_null(&w);
		jl_jw_keyc(&w, "measure");
		char *url = jl_arena_printf(req->ctx->arena, "%s%s", cat->canonical, ind->id);
		jl_jw_strc(&w, url ? url : "");
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	send_json(req, resp);
}

/* Years the report's trends show, the report year last (as `jianlian report`). */
#define REPORT_YEARS 5

void jl__api_report(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	static const char *const names[] = {"region", "year", NULL};
	if (req->method != JL_M_GET && req->method != JL_M_HEAD) {
		jl_http_set_header(resp, req->ctx->arena, "Allow", jl_cstr("GET, HEAD"));
		fail(req, resp, JL_EMETHOD, NULL, "%s", "Only GET and HEAD are allowed here");
		return;
	}
	if (!api->monitor) {
		fail(req, resp, JL_EBUSY, NULL, "%s", "The indicator service is not running on this server");
		return;
	}
	int32_t year;
	const jl_str_t *region;
	if (!known_params(req, resp, names) || !(region = param(req, resp, "region", true)) ||
	    !year_param(req, resp, "year", &year))
		return;
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_mview_t v[REPORT_YEARS];
	const jl_cube_t *cubes[REPORT_YEARS];
	int held = 0;
	jl_rc rc = JL_OK;
	for (; held < REPORT_YEARS; held++) {
		rc = jl_mcache_get(api->monitor, *region, year - (REPORT_YEARS - 1) + held, &v[held], &d);
		if (rc)
			break;
		cubes[held] = v[held].cube;
	}
	bool same = false;
	if (!rc) {
		uint64_t tag = etag_base(api, req);
		for (int k = 0; k < held; k++)
			tag = etag_cube(tag, cubes[k]);
		same = not_modified(req, resp, tag);
	}
	if (!rc && !same) {
		jl_buf_clear(&resp->body);
		rc = jl_report_html(cubes, REPORT_YEARS, v[0].node, &resp->body);
	}
	for (int k = 0; k < held; k++)
		jl_mcache_put(&v[k]);
	if (rc) {
		if (d.n)
			fail_diag(resp, rc, &d);
		else
			fail(req, resp, rc, NULL, "The report could not be built (%s)", jl_rc_name(rc));
		return;
	}
	if (same)
		return;
	resp->status = 200;
	resp->content_type = "text/html; charset=utf-8";
}

void jl__api_monitor(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp)
{
	jl_str_t p = req->path;
	jl_str_t sub = jl_str(p.p + 8, p.n - 8); /* after "/monitor" */
	static const struct {
		const char *path;
		void (*fn)(jl_api_t *, jl_http_req_t *, jl_http_resp_t *);
	} routes[] = {{"/indicators", indicators}, {"/regions", regions}, {"/trend", trend}, {"/catalog", catalog}};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (!jl_str_eqc(sub, routes[i].path))
			continue;
		if (req->method != JL_M_GET && req->method != JL_M_HEAD) {
			jl_http_set_header(resp, req->ctx->arena, "Allow", jl_cstr("GET, HEAD"));
			fail(req, resp, JL_EMETHOD, NULL, "%s", "Only GET and HEAD are allowed here");
			return;
		}
		if (!api->monitor) {
			fail(req, resp, JL_EBUSY, NULL, "%s", "The indicator service is not running on this server");
			return;
		}
		routes[i].fn(api, req, resp);
		return;
	}
	fail(req, resp, JL_ENOTFOUND, NULL, "%s",
	     "Nothing is served at this path (/monitor/indicators, /monitor/regions, /monitor/trend, /monitor/catalog)");
}

/* ---- $evaluate-measure ---- */

typedef struct eval_params {
	jl_str_t start, end, subject, report_type;
} eval_params_t;

static void take_param(eval_params_t *p, jl_str_t name, jl_str_t v)
{
	if (jl_str_eqc(name, "periodStart"))
		p->start = v;
	else if (jl_str_eqc(name, "periodEnd"))
		p->end = v;
	else if (jl_str_eqc(name, "subject"))
		p->subject = v;
	else if (jl_str_eqc(name, "reportType"))
		p->report_type = v;
}

/* The operation's parameters from the query and, for POST, a Parameters body. false: answered. */
static bool eval_params(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			eval_params_t *p)
{
	memset(p, 0, sizeof *p);
	for (size_t i = 0; i < req->nquery; i++)
		take_param(p, req->query[i].k, req->query[i].v);
	if (req->method != JL_M_POST || !req->body.n)
		return true;
	jl_target_t t = {.type = jl_fhir_resource(jl_cstr("Parameters")), .type_name = jl_cstr("Parameters")};
	jl_json_t *res;
	if (jl__api_parse_resource(api, req, resp, out, &t, &res))
		return false;
	const jl_json_t *ps = jl_json_get(res, "parameter");
	for (uint32_t i = 0; jl_json_is(ps, JL_JSON_ARRAY) && i < ps->n; i++) {
		const jl_json_t *e = &ps->u.a[i];
		jl_str_t name = jl_json_str(jl_json_get(e, "name"));
		static const char *const keys[] = {"valueDate", "valueDateTime", "valueString", "valueCode"};
		for (size_t k = 0; k < 4; k++)
			if (jl_json_get(e, keys[k]))
				take_param(p, name, jl_json_str(jl_json_get(e, keys[k])));
		const jl_json_t *ref = jl_json_get(e, "valueReference");
		if (ref)
			take_param(p, name, jl_json_str(jl_json_get(ref, "reference")));
	}
	return true;
}

/* periodStart/periodEnd: one whole reporting year. */
static bool eval_year(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const eval_params_t *p,
		      int32_t *year)
{
	int32_t ds = 0, de = 0;
	int y = 0, m = 0, d = 0;
	if (!p->start.n || !jl_facts_parse_day(p->start, &ds)) {
		jl__api_fail(req, resp, out, JL_EINVAL, "periodStart",
			     "periodStart is required: the first day of the reporting year (YYYY-01-01)");
		return false;
	}
	jl_facts_civil(ds, &y, &m, &d);
	if (m != 1 || d != 1 || y < 1950 || y > 2200) {
		jl__api_fail(req, resp, out, JL_EINVAL, "periodStart",
			     "Indicators are evaluated per reporting year: periodStart must be YYYY-01-01 (1950-2200)");
		return false;
	}
	bool ok = p->end.n == 4 ? !memcmp(p->end.p, p->start.p, 4)
				: (p->end.n && jl_facts_parse_day(p->end, &de) && de == jl_facts_day(y, 12, 31));
	if (!ok) {
		jl__api_fail(req, resp, out, JL_EINVAL, "periodEnd",
			     "Indicators are evaluated per reporting year: periodEnd must be %04d-12-31", y);
		return false;
	}
	*year = y;
	return true;
}

/* subject: a division code, or Location?identifier=[system|]code. */
static bool eval_subject(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const eval_params_t *p,
			 jl_str_t *code)
{
	jl_str_t s = p->subject;
	if (!s.n) {
		jl__api_fail(req, resp, out, JL_EINVAL, "subject",
			     "subject is required: the region's division code, e.g. subject=532900");
		return false;
	}
	for (size_t i = s.n; i > 0; i--)
		if (s.p[i - 1] == '|' || s.p[i - 1] == '=') {
			s = jl_str(s.p + i, s.n - i);
			break;
		}
	bool digits = s.n == 6 || s.n == 9 || s.n == 12;
	for (size_t i = 0; i < s.n && digits; i++)
		digits = s.p[i] >= '0' && s.p[i] <= '9';
	if (!digits) {
		jl__api_fail(req, resp, out, JL_EINVAL, "subject",
			     "subject must be a division code (6, 9 or 12 digits) or Location?identifier=%s|CODE",
			     JL_MEASURE_DIVISION_SYSTEM);
		return false;
	}
	*code = s;
	return true;
}

void jl__api_evaluate_measure(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			      const jl_target_t *t)
{
	if (!api->monitor) {
		jl__api_fail(req, resp, out, JL_EBUSY, NULL, "The indicator service is not running on this server");
		return;
	}
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	const jl_indicator_t *ind = jl_catalog_find(cat, t->id);
	if (!ind) {
		jl__api_fail(req, resp, out, JL_ENOTFOUND, NULL, "Measure/%.*s is not a measure of the indicator catalogue",
			     JL_STR_FMT(t->id));
		return;
	}
	eval_params_t p;
	int32_t year;
	jl_str_t code;
	if (!eval_params(api, req, resp, out, &p) || !eval_year(req, resp, out, &p, &year) ||
	    !eval_subject(req, resp, out, &p, &code))
		return;
	bool list = jl_str_eqc(p.report_type, "subject-list");
	if (p.report_type.n && !list && !jl_str_eqc(p.report_type, "summary")) {
		jl__api_fail(req, resp, out, JL_EINVAL, "reportType", "reportType must be summary or subject-list");
		return;
	}
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_mview_t v;
	jl_rc rc = jl_mcache_get(api->monitor, code, year, &v, &d);
	if (rc == JL_ENOTFOUND || rc == JL_EINVAL) {
		jl__api_fail(req, resp, out, JL_ENOTFOUND, "subject", "No region has the division code %.*s",
			     JL_STR_FMT(code));
		return;
	}
	if (rc) {
		jl_rest_outcome(resp, jl_rest_status(rc), &d, out->pretty);
		return;
	}
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	if (list) {
		/* the people counted, for the region's own staff: a parameter problem is 400, naming it */
		rc = jl_measure_subject_list(v.cube, (uint32_t)(ind - cat->inds), v.node, api->store, jl_now_us(),
					     req->ctx->arena, &w, &d);
		jl_mcache_put(&v);
		if (rc) {
			jl_buf_clear(&resp->body);
			jl_rest_outcome(resp, rc == JL_EINVALID || rc == JL_ETOOBIG ? 400 : jl_rest_status(rc), &d,
					out->pretty);
			return;
		}
	} else {
		jl_measure_report(v.cube, (uint32_t)(ind - cat->inds), v.node, jl_now_us(), &w);
		jl_mcache_put(&v);
	}
	if (jl_buf_status(&resp->body)) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory while writing the MeasureReport");
		return;
	}
	resp->status = 200;
	jl__api_finish_json(req, resp, out);
}

/* ---- aggregate inputs ---- */

static bool region_known(void *arg, jl_str_t code)
{
	jl_http_req_t *req = ((void **)arg)[1];
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_mview_t v;
	if (jl_mcache_region(((jl_api_t *)((void **)arg)[0])->monitor, code, &v, &d))
		return false;
	jl_mcache_put(&v);
	return true;
}

bool jl__api_monitor_check(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			   const jl_json_t *res)
{
	if (!api->monitor)
		return true;
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	void *arg[2] = {api, req};
	jl_rc rc = jl_measure_check_report(jl_mcache_catalog(api->monitor), res, region_known, arg, &d);
	if (!rc)
		return true;
	jl_rest_outcome(resp, jl_rest_status(rc), &d, out->pretty);
	return false;
}

/* ---- start and stop ---- */

/*
 * The catalogue's Measure resources, written once (one transaction) when
 * the store holds records and a Measure of that id never existed. A fresh,
 * empty data directory stays empty: clients that start from nothing see
 * only what they write.
 */
static jl_rc seed_measures(jl_api_t *api, jl_diag_t *d)
{
	const jl_catalog_t *cat = jl_mcache_catalog(api->monitor);
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_ENOMEM;
	jl_type_count_t *tc;
	size_t ntc;
	bool records = false;
	jl_rc rc = jl_store_counts(api->store, a, &tc, &ntc);
	for (size_t i = 0; !rc && i < ntc; i++)
		records |= !strcmp(tc[i].type, "Patient") && tc[i].live > 0;
	jl_write_t *w = jl_arena_calloc(a, cat->ninds ? cat->ninds : 1, sizeof *w);
	if (!rc && !w)
		rc = JL_ENOMEM;
	size_t n = 0;
	const jl_fhir_type_t *mt = jl_fhir_resource(jl_cstr("Measure"));
	for (uint32_t i = 0; !rc && records && i < cat->ninds; i++) {
		jl_str_t id = jl_cstr(cat->inds[i].id);
		jl_version_t cur;
		jl_rc r = jl_store_read(api->store, a, jl_cstr("Measure"), id, 0, &cur);
		if (r != JL_ENOTFOUND) { /* present (or deliberately deleted): leave it */
			rc = r;
			continue;
		}
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		jl_jw_t jw;
		jl_jw_init(&jw, &b, 0);
		jl_measure_resource(cat, &cat->inds[i], &jw);
		jl_json_t *res = NULL;
		jl_json_err_t e;
		rc = jl_buf_status(&b);
		jl_str_t text = rc ? JL_STR_NULL : jl_arena_str(a, jl_buf_str(&b)); /* the tree points into it */
		jl_buf_dispose(&b);
		if (!rc)
			rc = text.p ? jl_json_parse(a, text.p, text.n, NULL, &res, &e) : JL_ENOMEM;
		if (!rc && jl_fhir_validate(res, mt, d) != JL_OK) {
			jl_diag_err(d, "invalid", "Measure", "The Measure of %s does not validate", id.p);
			rc = JL_EINVALID;
		}
		if (rc)
			break;
		jl_buf_t body;
		jl_buf_init(&body, JL_MEM_MISC, 0);
		uint32_t meta = 0;
		w[n] = (jl_write_t){.kind = JL_WRITE_CREATE, .type = jl_cstr("Measure"), .id = id};
		rc = jl_fhir_body_encode(res, &body, &meta);
		if (!rc) {
			w[n].body = jl_arena_str(a, jl_buf_str(&body));
			w[n].body_meta = meta;
			rc = w[n].body.p ? jl_index_prepare_write(api->defs, api->store, a, &w[n], res) : JL_ENOMEM;
		}
		jl_buf_dispose(&body);
		n++;
	}
	if (!rc && n)
		rc = jl_store_write(api->store, w, n, 0);
	if (rc)
		jl_diag_err(d, "exception", NULL, "The Measure resources of the indicator catalogue could not be written (%s)",
			    jl_rc_name(rc));
	jl_arena_free(a);
	return rc;
}

jl_rc jl_rest_monitor_start(jl_api_t *api, jl_str_t targets_json, jl_diag_t *d)
{
	jl_mcache_cfg_t cfg = {.targets = targets_json};
	jl_mcache_t *c;
	jl_rc rc = jl_mcache_new(api->store, &cfg, &c, d);
	if (rc)
		return rc;
	api->monitor = c;
	return seed_measures(api, d);
}

void jl_rest_monitor_stop(jl_api_t *api)
{
	jl_mcache_free(api->monitor);
	api->monitor = NULL;
}
