/*
 * encoding — content types and gzip (zlib).
 */
#include "rest/encoding.h"

#include <zlib.h>

#define GZIP_MIN 1024 /* smaller bodies fit in a packet or two anyway */

jl_rc jl_rest_check_content_type(const char *ct)
{
	if (!ct)
		return JL_EUNSUPPORTED;
	jl_str_t s = jl_cstr(ct);
	const char *semi = jl_str_chr(s, ';');
	jl_str_t mt = jl_str_trim(jl_str(s.p, semi ? (size_t)(semi - s.p) : s.n));
	if (!jl_str_ieqc(mt, "application/fhir+json") && !jl_str_ieqc(mt, "application/json") &&
	    !jl_str_ieqc(mt, "application/json+fhir"))
		return JL_EUNSUPPORTED;
	/* A declared FHIR version other than 4.0 is a different format. */
	const char *fv = strstr(ct, "fhirVersion=");
	if (fv && strncmp(fv + 12, "4.0", 3) != 0)
		return JL_EUNSUPPORTED;
	return JL_OK;
}

jl_rc jl_rest_decode_body(jl_http_req_t *req, size_t max)
{
	const char *ce = jl_http_header(req, "Content-Encoding");
	if (!ce || !*ce || jl_str_ieqc(jl_str_trim(jl_cstr(ce)), "identity"))
		return JL_OK;
	jl_str_t c = jl_str_trim(jl_cstr(ce));
	int wbits;
	if (jl_str_ieqc(c, "gzip"))
		wbits = 15 + 16;
	else if (jl_str_ieqc(c, "deflate"))
		wbits = 15;
	else
		return JL_EUNSUPPORTED;
	if (!req->body.n)
		return JL_OK;
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, wbits) != Z_OK)
		return JL_ENOMEM;
	jl_buf_t out;
	jl_buf_init(&out, JL_MEM_HTTP, max);
	z.next_in = (Bytef *)req->body.p;
	z.avail_in = (uInt)req->body.n;
	jl_rc rc = JL_OK;
	for (;;) {
		rc = jl_buf_reserve(&out, 65536);
		if (rc)
			break;
		z.next_out = (Bytef *)out.p + out.n;
		z.avail_out = (uInt)(out.cap - out.n - 1);
		int zr = inflate(&z, Z_NO_FLUSH);
		out.n = (size_t)((char *)z.next_out - out.p);
		if (out.n > max) {
			rc = JL_ETOOBIG;
			break;
		}
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
			rc = JL_EINVAL;
			break;
		}
	}
	inflateEnd(&z);
	if (!rc) {
		jl_str_t copy = jl_arena_str(req->ctx->arena, jl_buf_str(&out));
		if (!copy.p && out.n)
			rc = JL_ETOOBIG;
		else
			req->body = copy;
	}
	jl_buf_dispose(&out);
	return rc;
}

void jl_rest_compress_response(jl_http_req_t *req, jl_http_resp_t *resp)
{
	if (resp->no_body || resp->body.n < GZIP_MIN)
		return;
	if (jl_http_accept_q(jl_http_header(req, "Accept-Encoding"), "gzip") <= 0)
		return;
	/* A body sent already encoded (the console's pre-compressed files) is left as it is. */
	for (size_t i = 0; i < resp->nheaders; i++)
		if (jl_str_eqc(resp->headers[i].k, "Content-Encoding"))
			return;
	z_stream z;
	memset(&z, 0, sizeof z);
	/* Level 1: most of gzip's gain on JSON for a fraction of the CPU. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	jl_buf_t out;
	jl_buf_init(&out, JL_MEM_HTTP, 0);
	uLong bound = deflateBound(&z, (uLong)resp->body.n);
	if (jl_buf_reserve(&out, bound + 16) == JL_OK) {
		z.next_in = (Bytef *)resp->body.p;
		z.avail_in = (uInt)resp->body.n;
		z.next_out = (Bytef *)out.p;
		z.avail_out = (uInt)(out.cap - 1);
		if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
			out.n = z.total_out;
			jl_buf_dispose(&resp->body);
			resp->body = out;
			out.p = NULL;
			jl_http_set_header(resp, req->ctx->arena, "Content-Encoding", JL_STR("gzip"));
		}
	}
	jl_http_set_header(resp, req->ctx->arena, "Vary", JL_STR("Accept-Encoding"));
	deflateEnd(&z);
	jl_buf_dispose(&out);
}
