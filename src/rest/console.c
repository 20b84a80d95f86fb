/*
 * console — the HTTP side of the embedded web console (see console.h). The
 * files are immutable for the life of the process, so the answer depends
 * only on the path and two request headers.
 */
#include "rest/console.h"

#include <string.h>

#include "rest/outcome.h"
#include "web/assets.h"

bool jl_console_path(jl_str_t path)
{
	return jl_str_eqc(path, "/") || jl_str_starts(path, "/console/");
}

/* Whether an If-None-Match list names this ETag (or is "*"). */
static bool etag_matches(const char *inm, jl_str_t etag)
{
	if (!inm)
		return false;
	if (strchr(inm, '*'))
		return true;
	for (const char *p = strstr(inm, "\""); p; p = strstr(p + 1, "\"")) {
		if ((size_t)strlen(p) >= etag.n && memcmp(p, etag.p, etag.n) == 0)
			return true;
	}
	return false;
}

void jl_console_serve(jl_http_req_t *req, jl_http_resp_t *resp)
{
	jl_arena_t *a = req->ctx->arena;
	if (req->method != JL_M_GET && req->method != JL_M_HEAD) {
		jl_rest_fail(resp, a, JL_EMETHOD, NULL, "The console's files are read with GET or HEAD");
		jl_http_set_header(resp, a, "Allow", JL_STR("GET, HEAD"));
		return;
	}
	jl_asset_t as;
	jl_rc rc = jl_web_asset_find(req->path, &as);
	if (rc) {
		jl_rest_fail(resp, a, rc, NULL,
			     jl_web_assets_built() ? "No console file at this path"
						   : "This build has no web console (built without node)");
		return;
	}
	jl_http_set_header(resp, a, "ETag", as.etag);
	jl_http_set_header(resp, a, "Cache-Control", JL_STR("no-cache"));
	jl_http_set_header(resp, a, "Vary", JL_STR("Accept-Encoding"));
	resp->content_type = jl_arena_strndup(a, as.content_type.p, as.content_type.n);
	if (etag_matches(jl_http_header(req, "If-None-Match"), as.etag)) {
		resp->status = 304;
		resp->no_body = true;
		return;
	}
	jl_str_t body = as.body;
	if (as.gzip.n && jl_http_accept_q(jl_http_header(req, "Accept-Encoding"), "gzip") > 0) {
		body = as.gzip;
		/* rest/encoding.c leaves a body that already has a Content-Encoding alone. */
		jl_http_set_header(resp, a, "Content-Encoding", JL_STR("gzip"));
	}
	resp->status = 200;
	if (jl_buf_append(&resp->body, body.p, body.n))
		jl_rest_fail(resp, a, JL_ENOMEM, NULL, "Out of memory");
}
