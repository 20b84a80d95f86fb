/*
 * http — request helpers shared by the handlers: methods, URL decoding,
 * query splitting, header lists with quality values.
 */
#include "rest/http.h"

#include <stdlib.h>

jl_method jl_http_method(jl_str_t m)
{
	if (jl_str_eqc(m, "GET")) return JL_M_GET;
	if (jl_str_eqc(m, "HEAD")) return JL_M_HEAD;
	if (jl_str_eqc(m, "POST")) return JL_M_POST;
	if (jl_str_eqc(m, "PUT")) return JL_M_PUT;
	if (jl_str_eqc(m, "DELETE")) return JL_M_DELETE;
	if (jl_str_eqc(m, "PATCH")) return JL_M_PATCH;
	if (jl_str_eqc(m, "OPTIONS")) return JL_M_OPTIONS;
	return JL_M_OTHER;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool jl_http_unescape(jl_arena_t *a, jl_str_t in, bool plus_space, jl_str_t *out)
{
	/* Fast path: nothing to decode, share the input. */
	size_t i;
	for (i = 0; i < in.n; i++)
		if (in.p[i] == '%' || (plus_space && in.p[i] == '+'))
			break;
	if (i == in.n) {
		*out = in;
		return true;
	}
	char *o = jl_arena_alloc_bytes(a, in.n + 1);
	if (!o)
		return false;
	size_t n = 0;
	for (i = 0; i < in.n; i++) {
		unsigned char c = (unsigned char)in.p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= in.n || (h = hexval((unsigned char)in.p[i + 1])) < 0 ||
			    (l = hexval((unsigned char)in.p[i + 2])) < 0)
				return false;
			o[n++] = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+' && plus_space) {
			o[n++] = ' ';
		} else {
			o[n++] = (char)c;
		}
	}
	o[n] = 0;
	*out = jl_str(o, n);
	return true;
}

jl_rc jl_http_parse_query(jl_arena_t *a, jl_str_t raw, jl_http_req_t *req)
{
	req->nquery = 0;
	req->query_overflow = false;
	req->query = NULL;
	if (!raw.n)
		return JL_OK;
	size_t cap = 1;
	for (size_t i = 0; i < raw.n; i++)
		cap += raw.p[i] == '&';
	if (cap > JL_HTTP_MAX_QUERY) {
		cap = JL_HTTP_MAX_QUERY;
		req->query_overflow = true;
	}
	req->query = jl_arena_alloc(a, cap * sizeof *req->query);
	if (!req->query)
		return JL_ENOMEM;
	size_t s = 0;
	while (s <= raw.n && req->nquery < cap) {
		size_t e = s;
		while (e < raw.n && raw.p[e] != '&')
			e++;
		if (e > s) {
			jl_str_t part = jl_str(raw.p + s, e - s), k, v = JL_STR_NULL;
			const char *eq = memchr(part.p, '=', part.n);
			k = eq ? jl_str(part.p, (size_t)(eq - part.p)) : part;
			if (eq)
				v = jl_str(eq + 1, part.n - k.n - 1);
			jl_kv_t *kv = &req->query[req->nquery];
			if (!jl_http_unescape(a, k, true, &kv->k) || !jl_http_unescape(a, v, true, &kv->v))
				return JL_EINVAL;
			req->nquery++;
		}
		s = e + 1;
	}
	return JL_OK;
}

const jl_str_t *jl_http_param(const jl_http_req_t *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (jl_str_eqc(r->query[i].k, name))
			return &r->query[i].v;
	return NULL;
}

void jl_http_set_header(jl_http_resp_t *resp, jl_arena_t *a, const char *k, jl_str_t v)
{
	if (resp->nheaders >= JL_HTTP_MAX_HEADERS)
		return;
	jl_str_t copy = jl_arena_str(a, v);
	if (!copy.p)
		return;
	resp->headers[resp->nheaders].k = jl_cstr(k);
	resp->headers[resp->nheaders].v = copy;
	resp->nheaders++;
}

/* Token equality ignoring ASCII case, for a token of length n. */
static bool tok_eq(const char *p, size_t n, const char *tok)
{
	return jl_str_ieqc(jl_str(p, n), tok);
}

double jl_http_accept_q(const char *h, const char *token)
{
	if (!h)
		return -1;
	double best = -1;
	const char *p = h;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ',' && *p != ';')
			p++;
		size_t n = (size_t)(p - s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		double q = 1.0;
		while (*p == ';') {
			p++;
			while (*p == ' ')
				p++;
			if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
				char *end;
				q = strtod(p + 2, &end);
				p = end;
			}
			while (*p && *p != ',' && *p != ';')
				p++;
		}
		if (tok_eq(s, n, token) && q > best)
			best = q;
		if (*p == ',')
			p++;
	}
	return best;
}
