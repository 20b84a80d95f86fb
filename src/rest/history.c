/*
 * history — instance, type and system history as a Bundle of type
 * "history", newest first, paged with links.
 *
 * Paging is keyset paging on the version instants, which the store keeps
 * unique. The first page records the newest instant its snapshot could see;
 * every later page carries that bound in its cursor, so versions written
 * while a client pages never shift the pages it has not read yet and never
 * appear twice. The cursor is ours and opaque to clients:
 * _page=o<µs>.<snapshot µs> (older than) or n<µs>.<snapshot µs> (newer than).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/time.h"
#include "fhir/resource.h"
#include "rest/api.h"
#include "rest/outcome.h"

typedef struct hist_params {
	uint32_t count;
	int64_t since_us;
	jl_str_t since_text;
	char dir;          /* 0 first page, 'o' older, 'n' newer */
	int64_t at_us;     /* cursor instant */
	int64_t snap_us;   /* snapshot bound */
} hist_params_t;

static bool parse_cursor(jl_str_t s, hist_params_t *p)
{
	if (s.n < 4 || (s.p[0] != 'o' && s.p[0] != 'n'))
		return false;
	const char *dot = jl_str_chr(s, '.');
	if (!dot)
		return false;
	jl_str_t a = jl_str(s.p + 1, (size_t)(dot - s.p - 1));
	jl_str_t b = jl_str(dot + 1, s.n - (size_t)(dot - s.p) - 1);
	if (!jl_str_to_i64(a, &p->at_us) || !jl_str_to_i64(b, &p->snap_us) || p->at_us < 0 || p->snap_us < 0)
		return false;
	p->dir = s.p[0];
	return true;
}

static bool parse_params(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			 hist_params_t *p)
{
	memset(p, 0, sizeof *p);
	p->count = api->cfg.page_default;
	const jl_str_t *c = jl_http_param(req, "_count");
	if (c) {
		int64_t n;
		if (!jl_str_to_i64(*c, &n) || n < 0) {
			jl__api_fail(req, resp, out, JL_EINVAL, NULL, "_count must be a non-negative integer");
			return false;
		}
		/* _count=0 asks for no entries; we still answer one so paging works. */
		p->count = n == 0 ? 1 : n > api->cfg.page_max ? api->cfg.page_max : (uint32_t)n;
	}
	const jl_str_t *s = jl_http_param(req, "_since");
	if (s) {
		jl_datetime_t dt;
		int64_t lo, hi;
		if (!jl_datetime_parse(*s, false, &dt)) {
			jl__api_fail(req, resp, out, JL_EINVAL, NULL,
				     "_since must be an instant such as 2026-01-01T00:00:00Z");
			return false;
		}
		jl_datetime_range(&dt, &lo, &hi);
		p->since_us = lo > 0 ? lo : 1;
		p->since_text = *s;
	}
	const jl_str_t *pg = jl_http_param(req, "_page");
	if (pg && !parse_cursor(*pg, p)) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "_page is not a cursor this server issued");
		return false;
	}
	return true;
}

/* Appends s percent-encoded for a query value. */
static void put_qvalue(jl_buf_t *b, jl_str_t s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '.' || ch == '_' || ch == '~' || ch == ':') {
			jl_buf_putc(b, (char)ch);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			jl_buf_append(b, e, 3);
		}
	}
}

static void link(jl_jw_t *w, jl_http_req_t *req, const jl_target_t *t, const hist_params_t *p,
		 const char *rel, char dir, int64_t at_us, int64_t snap_us)
{
	jl_buf_t u;
	jl_buf_init(&u, JL_MEM_HTTP, 0);
	jl_buf_append(&u, req->base.p, req->base.n);
	if (t->type)
		jl_buf_printf(&u, "/%.*s", JL_STR_FMT(t->type_name));
	if (t->id.n)
		jl_buf_printf(&u, "/%.*s", JL_STR_FMT(t->id));
	jl_buf_printf(&u, "/_history?_count=%u", p->count);
	if (p->since_text.n) {
		jl_buf_puts(&u, "&_since=");
		put_qvalue(&u, p->since_text);
	}
	if (dir)
		jl_buf_printf(&u, "&_page=%c%" PRId64 ".%" PRId64, dir, at_us, snap_us);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "relation");
	jl_jw_strc(w, rel);
	jl_jw_keyc(w, "url");
	jl_jw_str(w, jl_buf_str(&u));
	jl_jw_obj_end(w);
	jl_buf_dispose(&u);
}

static void self_link(jl_jw_t *w, jl_http_req_t *req)
{
	jl_buf_t u;
	jl_buf_init(&u, JL_MEM_HTTP, 0);
	jl_buf_append(&u, req->base.p, req->base.n);
	jl_buf_append(&u, req->path.p + 5, req->path.n - 5); /* after "/fhir" */
	if (req->raw_query.n) {
		jl_buf_putc(&u, '?');
		jl_buf_append(&u, req->raw_query.p, req->raw_query.n);
	}
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "relation");
	jl_jw_strc(w, "self");
	jl_jw_keyc(w, "url");
	jl_jw_str(w, jl_buf_str(&u));
	jl_jw_obj_end(w);
	jl_buf_dispose(&u);
}

static void entry(jl_jw_t *w, jl_http_req_t *req, const jl_version_t *v, jl_buf_t *scratch)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "fullUrl");
	jl_buf_clear(scratch);
	jl_buf_printf(scratch, "%.*s/%.*s/%.*s", JL_STR_FMT(req->base), JL_STR_FMT(v->type), JL_STR_FMT(v->id));
	jl_jw_str(w, jl_buf_str(scratch));
	if (!v->deleted) {
		jl_buf_clear(scratch);
		if (jl_fhir_body_assemble(scratch, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta) ==
		    JL_OK) {
			jl_jw_keyc(w, "resource");
			jl_jw_raw(w, jl_buf_str(scratch));
		}
	}
	const char *method = v->deleted ? "DELETE" : v->method == JL_WRITE_CREATE ? "POST" : "PUT";
	const char *status = v->deleted ? "204" : v->method == JL_WRITE_CREATE ? "201" : "200";
	jl_jw_keyc(w, "request");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "method");
	jl_jw_strc(w, method);
	jl_jw_keyc(w, "url");
	jl_buf_clear(scratch);
	if (v->method == JL_WRITE_CREATE && !v->deleted)
		jl_buf_append(scratch, v->type.p, v->type.n);
	else
		jl_buf_printf(scratch, "%.*s/%.*s", JL_STR_FMT(v->type), JL_STR_FMT(v->id));
	jl_jw_str(w, jl_buf_str(scratch));
	jl_jw_obj_end(w);
	jl_jw_keyc(w, "response");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "status");
	jl_jw_strc(w, status);
	char b[40];
	snprintf(b, sizeof b, "W/\"%lld\"", (long long)v->ver);
	jl_jw_keyc(w, "etag");
	jl_jw_strc(w, b);
	jl_time_fmt_instant(v->updated_us, b);
	jl_jw_keyc(w, "lastModified");
	jl_jw_strc(w, b);
	jl_jw_obj_end(w);
	jl_jw_obj_end(w);
}

void jl__api_history(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		     const jl_target_t *t)
{
	hist_params_t p;
	if (!parse_params(api, req, resp, out, &p))
		return;
	jl_hist_query_t q = {.count = p.count, .since_us = p.since_us};
	if (t->type)
		q.type = t->type_name;
	q.id = t->id;
	if (p.dir) {
		q.before_us = p.snap_us + 1;
		if (p.dir == 'o')
			q.before_us = p.at_us < q.before_us ? p.at_us : q.before_us;
		else
			q.after_us = p.at_us;
	}
	jl_hist_page_t pg;
	jl_rc rc = jl_store_history(api->store, req->ctx->arena, &q, &pg);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL, "History could not be read (%s)", jl_rc_name(rc));
		return;
	}
	int64_t snap = p.dir ? p.snap_us : pg.snapshot_us;
	if (t->id.n && pg.total == 0 && !p.since_us && !p.dir) {
		jl__api_fail(req, resp, out, JL_ENOTFOUND, NULL, "%.*s/%.*s is not known", JL_STR_FMT(t->type_name),
			     JL_STR_FMT(t->id));
		return;
	}
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, "Bundle");
	jl_jw_keyc(&w, "type");
	jl_jw_strc(&w, "history");
	if (pg.total >= 0) {
		jl_jw_keyc(&w, "total");
		jl_jw_int(&w, pg.total);
	}
	jl_jw_keyc(&w, "link");
	jl_jw_arr_begin(&w);
	self_link(&w, req);
	if (pg.n && pg.more_older)
		link(&w, req, t, &p, "next", 'o', pg.items[pg.n - 1].updated_us, snap);
	if (pg.n && pg.more_newer)
		link(&w, req, t, &p, "previous", 'n', pg.items[0].updated_us, snap);
	jl_jw_arr_end(&w);
	if (pg.n) {
		jl_buf_t scratch;
		jl_buf_init(&scratch, JL_MEM_HTTP, 0);
		jl_jw_keyc(&w, "entry");
		jl_jw_arr_begin(&w);
		for (size_t i = 0; i < pg.n; i++)
			entry(&w, req, &pg.items[i], &scratch);
		jl_jw_arr_end(&w);
		jl_buf_dispose(&scratch);
	}
	jl_jw_obj_end(&w);
	if (jl_buf_status(&resp->body)) {
		jl__api_fail(req, resp, out, JL_ETOOBIG, NULL, "The history page is too large; use a smaller _count");
		return;
	}
	resp->status = 200;
	jl__api_finish_json(req, resp, out);
}
