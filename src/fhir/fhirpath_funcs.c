/*
 * fhirpath_funcs — the FHIRPath function library (the table is
 * fhirpath_fn.h): existence, filtering, subsetting, combining, conversion,
 * strings, math, tree navigation, utility, types, and the FHIR additions
 * (extension(), hasValue(), getValue(), resolve(), conformsTo()).
 *
 * Arguments marked as lambdas in the table are evaluated once per input
 * item with $this/$index bound to it; the others are evaluated once, in the
 * scope the call appears in (so name.given.combine(name.family) reads
 * name.family from the same $this as name.given).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "fhir/fhirpath_int.h"

#define EMPTY ((jl_fp_coll_t){NULL, 0})

static jl_rc ret1(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, jl_fp_coll_t *out)
{
	jl_fp_item_t *p = jl_arena_alloc(ev->a, sizeof *p);
	if (!p)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	*p = *it;
	*out = (jl_fp_coll_t){p, 1};
	return JL_OK;
}

static jl_rc retb(fp_ev_t *ev, const fp_node_t *n, bool b, jl_fp_coll_t *out)
{
	jl_fp_item_t it = jl__fp_bool(b);
	return ret1(ev, n, &it, out);
}

static jl_rc reti(fp_ev_t *ev, const fp_node_t *n, int64_t i, jl_fp_coll_t *out)
{
	jl_fp_item_t it = jl__fp_int(i);
	return ret1(ev, n, &it, out);
}

static jl_rc rets(fp_ev_t *ev, const fp_node_t *n, jl_str_t s, jl_fp_coll_t *out)
{
	if (!s.p && s.n)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	jl_fp_item_t it = jl__fp_str(s.p ? s : JL_STR(""));
	return ret1(ev, n, &it, out);
}

static jl_rc retd(fp_ev_t *ev, const fp_node_t *n, fp_dec_t d, jl_fp_coll_t *out)
{
	jl_fp_item_t it;
	jl_rc rc = jl__fp_mk_dec(ev, d, &it);
	return rc ? rc : ret1(ev, n, &it, out);
}

/* Evaluates argument i in the caller's scope. */
static jl_rc arg(fp_ev_t *ev, const fp_node_t *n, int i, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	return jl__fp_eval_node(ev, n->args[i], sc, out);
}

/* Evaluates argument i with $this = item k of in. */
static jl_rc lambda(fp_ev_t *ev, const fp_node_t *n, int i, const jl_fp_coll_t *in, size_t k, const fp_scope_t *sc,
		    jl_fp_coll_t *out)
{
	fp_scope_t s = {.self = &in->items[k], .index = (int64_t)k, .total = sc->total};
	return jl__fp_eval_node(ev, n->args[i], &s, out);
}

static jl_rc to_bool(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *c, int *out)
{
	if (c->n == 0) {
		*out = -1;
		return JL_OK;
	}
	if (c->n > 1)
		return jl__fp_err(ev, n, JL_EINVALID, "a Boolean is expected, not %zu items", c->n);
	const jl_fp_item_t *it = &c->items[0];
	if (it->kind == JL_FP_BOOLEAN)
		*out = it->i != 0;
	else if (it->kind == JL_FP_NODE && it->node &&
		 (it->node->type == JL_JSON_TRUE || it->node->type == JL_JSON_FALSE))
		*out = it->node->type == JL_JSON_TRUE;
	else
		*out = 1;
	return JL_OK;
}

/* A strictly Boolean item (allTrue() and friends): -1 when it is not one. */
static int strict_bool(const jl_fp_item_t *it)
{
	if (it->kind == JL_FP_BOOLEAN)
		return it->i != 0;
	if (it->kind == JL_FP_NODE && it->node && (it->node->type == JL_JSON_TRUE || it->node->type == JL_JSON_FALSE))
		return it->node->type == JL_JSON_TRUE;
	return -1;
}

/* The input as one System value: *v set, or *none when the input is empty. */
static jl_rc in_value(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_item_t *v, bool *none)
{
	*none = false;
	if (in->n == 0) {
		*none = true;
		return JL_OK;
	}
	if (in->n > 1)
		return jl__fp_err(ev, n, JL_EINVALID, "%s() expects a single item, not %zu", jl__fp_fns[n->fn].name, in->n);
	if (!jl__fp_value(ev, &in->items[0], v))
		*none = true;
	return JL_OK;
}

/* A singleton string: input or argument. Non-strings are an error; empty sets *none. */
static jl_rc want_str(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *c, jl_str_t *s, bool *none)
{
	jl_fp_item_t v;
	jl_rc rc = in_value(ev, n, c, &v, none);
	if (rc || *none) {
		if (!rc && c->n == 1 && c->items[0].kind == JL_FP_NODE && c->items[0].node &&
		    c->items[0].node->type == JL_JSON_OBJECT)
			return jl__fp_err(ev, n, JL_EINVALID, "%s() needs a string, not a %s", jl__fp_fns[n->fn].name,
					  jl_fp_type_name(&c->items[0]));
		return rc;
	}
	if (v.kind != JL_FP_STRING)
		return jl__fp_err(ev, n, JL_EINVALID, "%s() needs a string, not a %s", jl__fp_fns[n->fn].name,
				  jl_fp_type_name(&v));
	*s = v.s;
	return JL_OK;
}

static jl_rc arg_str(fp_ev_t *ev, const fp_node_t *n, int i, const fp_scope_t *sc, jl_str_t *s, bool *none)
{
	jl_fp_coll_t c;
	jl_rc rc = arg(ev, n, i, sc, &c);
	return rc ? rc : want_str(ev, n, &c, s, none);
}

static jl_rc arg_int(fp_ev_t *ev, const fp_node_t *n, int i, const fp_scope_t *sc, int64_t *out, bool *none)
{
	jl_fp_coll_t c;
	jl_fp_item_t v;
	jl_rc rc = arg(ev, n, i, sc, &c);
	if (rc || (rc = in_value(ev, n, &c, &v, none)) || *none)
		return rc;
	if (v.kind != JL_FP_INTEGER)
		return jl__fp_err(ev, n, JL_EINVALID, "%s() needs an Integer argument", jl__fp_fns[n->fn].name);
	*out = v.i;
	return JL_OK;
}

/* A set over the items of c. */
static jl_rc set_of(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *c, fp_hset_t *s)
{
	jl_rc rc;
	*s = (fp_hset_t){0};
	for (size_t i = 0; i < c->n; i++)
		if ((rc = jl__fp_hset_add(ev, s, c->items, i, jl__fp_hash(ev, &c->items[i]))) || (rc = jl__fp_step(ev, n, 1)))
			return rc;
	return JL_OK;
}

static bool in_set(fp_ev_t *ev, const fp_hset_t *s, const jl_fp_coll_t *c, const jl_fp_item_t *it)
{
	return jl__fp_hset_has(ev, s, c->items, it, jl__fp_hash(ev, it));
}

/* Appends it to v unless v (indexed by s) has an equal item; *added says which. */
static jl_rc add_new(fp_ev_t *ev, fp_vec_t *v, fp_hset_t *s, const jl_fp_item_t *it, bool *added)
{
	uint64_t h = jl__fp_hash(ev, it);
	jl_rc rc;
	*added = false;
	if (jl__fp_hset_has(ev, s, v->p, it, h))
		return JL_OK;
	if ((rc = jl__fp_push(ev, v, it)) || (rc = jl__fp_hset_add(ev, s, v->p, v->n - 1, h)))
		return rc;
	*added = true;
	return JL_OK;
}

static jl_rc distinct(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_coll_t *out)
{
	fp_vec_t v = {0};
	fp_hset_t s = {0};
	jl_rc rc;
	bool added;
	for (size_t i = 0; i < in->n; i++)
		if ((rc = jl__fp_step(ev, n, 1)) || (rc = add_new(ev, &v, &s, &in->items[i], &added)))
			return rc;
	*out = (jl_fp_coll_t){v.p, v.n};
	return JL_OK;
}

/* ------------------------------------------------------------------ UTF-8 helpers */

/* Byte offset of code point k in s (s.n if past the end). */
static size_t cp_offset(jl_str_t s, int64_t k)
{
	size_t i = 0;
	while (i < s.n && k > 0) {
		i++;
		while (i < s.n && ((unsigned char)s.p[i] & 0xc0) == 0x80)
			i++;
		k--;
	}
	return i;
}

static int64_t cp_count(jl_str_t s, size_t upto)
{
	int64_t k = 0;
	for (size_t i = 0; i < upto && i < s.n; i++)
		if (((unsigned char)s.p[i] & 0xc0) != 0x80)
			k++;
	return k;
}

static const char *find(jl_str_t hay, jl_str_t needle, size_t from)
{
	if (needle.n == 0)
		return hay.p + from;
	if (from > hay.n || needle.n > hay.n - from)
		return NULL;
	for (size_t i = from; i + needle.n <= hay.n; i++)
		if (hay.p[i] == needle.p[0] && memcmp(hay.p + i, needle.p, needle.n) == 0)
			return hay.p + i;
	return NULL;
}

typedef struct sbuf {
	char *p;
	size_t n, cap;
	bool err, nomem;
} sbuf_t;

static void sb_put(fp_ev_t *ev, sbuf_t *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->n + n > FP_MAX_STRING) {
		b->err = true;
		return;
	}
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->n + n)
			cap *= 2;
		char *p = jl_arena_alloc_bytes(ev->a, cap);
		if (!p) {
			b->err = b->nomem = true;
			return;
		}
		if (b->n)
			memcpy(p, b->p, b->n);
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
}

static jl_rc sb_done(fp_ev_t *ev, const fp_node_t *n, sbuf_t *b, jl_fp_coll_t *out)
{
	if (b->nomem)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	if (b->err)
		return jl__fp_err(ev, n, JL_ETOOBIG, "string result longer than %u bytes", FP_MAX_STRING);
	return rets(ev, n, b->n ? jl_str(b->p, b->n) : JL_STR(""), out);
}

/* ------------------------------------------------------------------ encodings */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void enc_b64(fp_ev_t *ev, sbuf_t *b, jl_str_t s, const char *alpha)
{
	for (size_t i = 0; i < s.n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s.p[i] << 16;
		size_t k = s.n - i;
		if (k > 1)
			v |= (uint32_t)(unsigned char)s.p[i + 1] << 8;
		if (k > 2)
			v |= (unsigned char)s.p[i + 2];
		char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], k > 1 ? alpha[(v >> 6) & 63] : '=',
			     k > 2 ? alpha[v & 63] : '='};
		sb_put(ev, b, q, 4);
	}
}

static bool dec_b64(fp_ev_t *ev, sbuf_t *b, jl_str_t s, bool url)
{
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		int v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == (url ? '-' : '+'))
			v = 62;
		else if (c == (url ? '_' : '/'))
			v = 63;
		else if (c == '=')
			break;
		else
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char ch = (char)((acc >> bits) & 0xff);
			sb_put(ev, b, &ch, 1);
		}
	}
	return true;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static jl_rc fn_encode(fp_ev_t *ev, const fp_node_t *n, jl_str_t s, jl_str_t how, jl_fp_coll_t *out)
{
	sbuf_t b = {0};
	bool enc = n->fn == F_ENCODE;
	if (jl_str_eqc(how, "hex")) {
		if (enc) {
			static const char hx[] = "0123456789abcdef";
			for (size_t i = 0; i < s.n; i++) {
				char q[2] = {hx[(unsigned char)s.p[i] >> 4], hx[(unsigned char)s.p[i] & 15]};
				sb_put(ev, &b, q, 2);
			}
		} else {
			if (s.n % 2)
				return jl__fp_err(ev, n, JL_EINVALID, "bad hex");
			for (size_t i = 0; i < s.n; i += 2) {
				int h = hexv(s.p[i]), l = hexv(s.p[i + 1]);
				if (h < 0 || l < 0)
					return jl__fp_err(ev, n, JL_EINVALID, "bad hex");
				char ch = (char)(h * 16 + l);
				sb_put(ev, &b, &ch, 1);
			}
		}
	} else if (jl_str_eqc(how, "base64") || jl_str_eqc(how, "urlbase64")) {
		bool url = how.p[0] == 'u';
		if (enc)
			enc_b64(ev, &b, s, url ? b64url : b64);
		else if (!dec_b64(ev, &b, s, url))
			return jl__fp_err(ev, n, JL_EINVALID, "bad base64");
	} else {
		return jl__fp_err(ev, n, JL_EINVALID, "unknown encoding %.*s", JL_STR_FMT(how));
	}
	return sb_done(ev, n, &b, out);
}

static jl_rc fn_escape(fp_ev_t *ev, const fp_node_t *n, jl_str_t s, jl_str_t how, jl_fp_coll_t *out)
{
	sbuf_t b = {0};
	bool esc = n->fn == F_ESCAPE;
	bool html = jl_str_eqc(how, "html");
	if (!html && !jl_str_eqc(how, "json"))
		return jl__fp_err(ev, n, JL_EINVALID, "unknown escape target %.*s", JL_STR_FMT(how));
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (esc && html) {
			const char *r = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
				      : c == '\'' ? "&#39;" : NULL;
			if (r)
				sb_put(ev, &b, r, strlen(r));
			else
				sb_put(ev, &b, &c, 1);
		} else if (esc) {
			char q[8];
			int k = 0;
			switch (c) {
			case '"': k = snprintf(q, sizeof q, "\\\""); break;
			case '\\': k = snprintf(q, sizeof q, "\\\\"); break;
			case '\n': k = snprintf(q, sizeof q, "\\n"); break;
			case '\r': k = snprintf(q, sizeof q, "\\r"); break;
			case '\t': k = snprintf(q, sizeof q, "\\t"); break;
			case '\f': k = snprintf(q, sizeof q, "\\f"); break;
			case '\b': k = snprintf(q, sizeof q, "\\b"); break;
			default:
				if ((unsigned char)c < 0x20)
					k = snprintf(q, sizeof q, "\\u%04x", (unsigned char)c);
				else
					q[k++] = c;
			}
			sb_put(ev, &b, q, (size_t)k);
		} else if (html) {
			static const struct {
				const char *ent;
				char c;
			} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}};
			bool done = false;
			if (c == '&') {
				for (size_t k = 0; k < sizeof ents / sizeof *ents && !done; k++) {
					size_t el = strlen(ents[k].ent);
					if (i + el <= s.n && memcmp(s.p + i, ents[k].ent, el) == 0) {
						sb_put(ev, &b, &ents[k].c, 1);
						i += el - 1;
						done = true;
					}
				}
			}
			if (!done)
				sb_put(ev, &b, &c, 1);
		} else {
			if (c != '\\' || i + 1 >= s.n) {
				sb_put(ev, &b, &c, 1);
				continue;
			}
			char e = s.p[++i], r;
			switch (e) {
			case 'n': r = '\n'; break;
			case 'r': r = '\r'; break;
			case 't': r = '\t'; break;
			case 'f': r = '\f'; break;
			case 'b': r = '\b'; break;
			case 'u':
				if (i + 4 < s.n && hexv(s.p[i + 1]) >= 0 && hexv(s.p[i + 2]) >= 0 && hexv(s.p[i + 3]) >= 0 &&
				    hexv(s.p[i + 4]) >= 0) {
					uint32_t cp = (uint32_t)(hexv(s.p[i + 1]) << 12 | hexv(s.p[i + 2]) << 8 |
								 hexv(s.p[i + 3]) << 4 | hexv(s.p[i + 4]));
					char u[4];
					size_t k = 0;
					if (cp < 0x80)
						u[k++] = (char)cp;
					else if (cp < 0x800) {
						u[k++] = (char)(0xc0 | (cp >> 6));
						u[k++] = (char)(0x80 | (cp & 0x3f));
					} else {
						u[k++] = (char)(0xe0 | (cp >> 12));
						u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
						u[k++] = (char)(0x80 | (cp & 0x3f));
					}
					sb_put(ev, &b, u, k);
					i += 4;
					continue;
				}
				r = e;
				break;
			default: r = e; break;
			}
			sb_put(ev, &b, &r, 1);
		}
	}
	return sb_done(ev, n, &b, out);
}

/* ------------------------------------------------------------------ regular expressions */

static jl_rc regex(fp_ev_t *ev, const fp_node_t *n, jl_str_t pat, bool full, fp_re_t **re)
{
	const char *why = NULL;
	if (full) {
		char *p = jl_arena_alloc_bytes(ev->a, pat.n + 8);
		if (!p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		memcpy(p, "^(?:", 4);
		memcpy(p + 4, pat.p, pat.n);
		memcpy(p + 4 + pat.n, ")$", 2);
		pat = jl_str(p, pat.n + 6);
	}
	jl_rc rc = jl__fp_re_compile(ev->a, pat, re, &why);
	if (rc == JL_ENOMEM)
		return jl__fp_err(ev, n, rc, "out of memory");
	if (rc)
		return jl__fp_err(ev, n, rc, "bad regular expression: %s", why ? why : "?");
	return JL_OK;
}

static jl_rc fn_replace_matches(fp_ev_t *ev, const fp_node_t *n, jl_str_t s, jl_str_t pat, jl_str_t sub,
				jl_fp_coll_t *out)
{
	fp_re_t *re;
	jl_rc rc;
	if (!pat.n)
		return rets(ev, n, s, out);
	if ((rc = regex(ev, n, pat, false, &re)))
		return rc;
	sbuf_t b = {0};
	long caps[20];
	int ng = jl__fp_re_ngroups(re);
	size_t at = 0;
	while (at <= s.n) {
		int m = jl__fp_re_exec(re, s, at, false, caps, 20, &ev->steps);
		if (m < 0)
			return jl__fp_err(ev, n, JL_ETOOBIG, "regular expression too costly");
		if (!m)
			break;
		size_t ms = (size_t)caps[0], me = (size_t)caps[1];
		sb_put(ev, &b, s.p + at, ms - at);
		for (size_t i = 0; i < sub.n; i++) {
			if (sub.p[i] == '$' && i + 1 < sub.n && sub.p[i + 1] >= '0' && sub.p[i + 1] <= '9') {
				int g = sub.p[++i] - '0';
				if (g <= ng && caps[2 * g] >= 0)
					sb_put(ev, &b, s.p + caps[2 * g], (size_t)(caps[2 * g + 1] - caps[2 * g]));
				continue;
			}
			sb_put(ev, &b, &sub.p[i], 1);
		}
		if (me == ms) {
			/* An empty match: copy one character and move on. */
			if (ms >= s.n)
				break;
			size_t k = ms + 1;
			while (k < s.n && ((unsigned char)s.p[k] & 0xc0) == 0x80)
				k++;
			sb_put(ev, &b, s.p + ms, k - ms);
			at = k;
		} else {
			at = me;
		}
		if ((rc = jl__fp_step(ev, n, 1)))
			return rc;
	}
	if (at < s.n)
		sb_put(ev, &b, s.p + at, s.n - at);
	return sb_done(ev, n, &b, out);
}

/* ------------------------------------------------------------------ math */

static jl_rc fn_math(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_fp_item_t v;
	bool none;
	jl_rc rc;
	if ((rc = in_value(ev, n, in, &v, &none)) || none)
		return rc;
	if (n->fn == F_ABS && v.kind == JL_FP_QUANTITY) {
		fp_qty_t q;
		if (!jl__fp_qty_of(&v, &q))
			return JL_OK;
		if (q.v.m < 0)
			q.v.m = -q.v.m;
		jl_fp_item_t r;
		return (rc = jl__fp_mk_qty(ev, q.v, q.unit, &r)) ? rc : ret1(ev, n, &r, out);
	}
	fp_dec_t d;
	if (!jl__fp_num(&v, &d))
		return jl__fp_err(ev, n, JL_EINVALID, "%s() needs a number, not a %s", jl__fp_fns[n->fn].name,
				  jl_fp_type_name(&v));
	switch (n->fn) {
	case F_ABS:
		if (v.kind == JL_FP_INTEGER)
			return v.i == INT64_MIN ? JL_OK : reti(ev, n, v.i < 0 ? -v.i : v.i, out);
		if (d.m < 0)
			d.m = -d.m;
		return retd(ev, n, d, out);
	case F_CEILING:
	case F_FLOOR:
	case F_TRUNCATE: {
		fp_dec_t t = jl__fp_dec_trunc(d, 0);
		bool frac = jl__fp_dec_cmp(t, d) != 0;
		if (frac && n->fn == F_CEILING && d.m > 0)
			t.m++;
		if (frac && n->fn == F_FLOOR && d.m < 0)
			t.m--;
		if (t.m > INT64_MAX || t.m < INT64_MIN)
			return JL_OK;
		return reti(ev, n, (int64_t)t.m, out);
	}
	case F_ROUND: {
		int64_t p = 0;
		if (n->nargs) {
			if ((rc = arg_int(ev, n, 0, sc, &p, &none)) || none)
				return rc;
			if (p < 0)
				return jl__fp_err(ev, n, JL_EINVALID, "round() needs a precision >= 0");
		}
		fp_dec_t r;
		if (p > FP_DEC_MAX_SCALE || !jl__fp_dec_rescale(d, (int)p, &r))
			return JL_OK;
		return retd(ev, n, r, out);
	}
	case F_POWER: {
		jl_fp_coll_t c;
		jl_fp_item_t e;
		if ((rc = arg(ev, n, 0, sc, &c)) || (rc = in_value(ev, n, &c, &e, &none)) || none)
			return rc;
		fp_dec_t ed;
		if (!jl__fp_num(&e, &ed))
			return jl__fp_err(ev, n, JL_EINVALID, "power() needs a number");
		if (v.kind == JL_FP_INTEGER && e.kind == JL_FP_INTEGER && e.i >= 0) {
			/* Square and multiply; overflow is empty. */
			int64_t r = 1, b = v.i, k = e.i;
			while (k) {
				if ((k & 1) && __builtin_mul_overflow(r, b, &r))
					return JL_OK;
				k >>= 1;
				if (k && __builtin_mul_overflow(b, b, &b))
					return JL_OK;
			}
			return reti(ev, n, r, out);
		}
		double x = pow(jl__fp_dec_double(d), jl__fp_dec_double(ed));
		fp_dec_t r;
		if (!jl__fp_dec_from_double(x, &r))
			return JL_OK;
		return retd(ev, n, r, out);
	}
	default: {
		double x = jl__fp_dec_double(d), r;
		switch (n->fn) {
		case F_EXP: r = exp(x); break;
		case F_LN: r = log(x); break;
		case F_SQRT: r = sqrt(x); break;
		default: { /* log(base) */
			jl_fp_coll_t c;
			jl_fp_item_t b;
			fp_dec_t bd;
			if ((rc = arg(ev, n, 0, sc, &c)) || (rc = in_value(ev, n, &c, &b, &none)) || none)
				return rc;
			if (!jl__fp_num(&b, &bd))
				return jl__fp_err(ev, n, JL_EINVALID, "log() needs a number");
			r = log(x) / log(jl__fp_dec_double(bd));
			break;
		}
		}
		fp_dec_t rd;
		if (!jl__fp_dec_from_double(r, &rd))
			return JL_OK;
		return retd(ev, n, rd, out);
	}
	}
}

/* ------------------------------------------------------------------ boundaries and precision */

/* The low (or high) boundary of a decimal known to d.scale places, at p places. */
static bool dec_boundary(fp_dec_t d, int p, bool high, fp_dec_t *out, bool *neg_zero)
{
	bool neg = d.m < 0;
	if (neg) {
		d.m = -d.m;
		high = !high;
	}
	fp_dec_t half = {5, d.scale + 1}, x;
	if (d.scale + 1 > FP_DEC_MAX_SCALE)
		return false;
	if (!(high ? jl__fp_dec_add(d, half, &x) : jl__fp_dec_sub(d, half, &x)))
		return false;
	if (high) {
		if (!jl__fp_dec_rescale(x, p, &x))
			return false;
	} else {
		x = jl__fp_dec_trunc(x, p);
		if (x.scale < p && !jl__fp_dec_rescale(x, p, &x))
			return false;
	}
	*neg_zero = neg && x.m == 0;
	if (neg)
		x.m = -x.m;
	*out = x;
	return true;
}

static const int dt_digits[] = {[P_YEAR] = 4, [P_MONTH] = 6, [P_DAY] = 8, [P_HOUR] = 10,
				[P_MINUTE] = 12, [P_SECOND] = 14, [P_MILLI] = 17};
static const int tm_digits[] = {[P_HOUR] = 2, [P_MINUTE] = 4, [P_SECOND] = 6, [P_MILLI] = 9};

static jl_rc fn_boundary(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
			 jl_fp_coll_t *out)
{
	jl_fp_item_t v;
	bool none, high = n->fn == F_HIGHBOUNDARY;
	jl_rc rc;
	int64_t p = -1;
	if ((rc = in_value(ev, n, in, &v, &none)) || none)
		return rc;
	if (n->nargs && ((rc = arg_int(ev, n, 0, sc, &p, &none)) || none))
		return rc;
	if (v.kind == JL_FP_INTEGER || v.kind == JL_FP_DECIMAL || v.kind == JL_FP_QUANTITY) {
		fp_dec_t d, r;
		bool nz;
		if (!(v.kind == JL_FP_QUANTITY ? jl__fp_dec_parse(v.num, &d) : jl__fp_num(&v, &d)))
			return JL_OK;
		if (p < 0 && n->nargs)
			return JL_OK;
		if (p < 0)
			p = 8;
		if (p > 28 || !dec_boundary(d, (int)p, high, &r, &nz))
			return JL_OK;
		jl_str_t t = jl__fp_dec_text(ev->a, r);
		if (!t.p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		if (nz) {
			char *b = jl_arena_alloc_bytes(ev->a, t.n + 1);
			if (!b)
				return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
			b[0] = '-';
			memcpy(b + 1, t.p, t.n);
			t = jl_str(b, t.n + 1);
		}
		jl_fp_item_t res = v.kind == JL_FP_QUANTITY
					   ? (jl_fp_item_t){.kind = JL_FP_QUANTITY, .num = t, .s = v.s, .d = jl__fp_dec_double(r)}
					   : (jl_fp_item_t){.kind = JL_FP_DECIMAL, .s = t, .d = jl__fp_dec_double(r)};
		return ret1(ev, n, &res, out);
	}
	if (v.kind != JL_FP_DATE && v.kind != JL_FP_DATETIME && v.kind != JL_FP_TIME)
		return jl__fp_err(ev, n, JL_EINVALID, "%s() on a %s", jl__fp_fns[n->fn].name, jl_fp_type_name(&v));
	fp_dt_t d;
	if (!jl__fp_dt_parse(v.s, v.kind, &d))
		return JL_OK;
	const int *digs = v.kind == JL_FP_TIME ? tm_digits : dt_digits;
	int target = 0;
	if (p < 0 && !n->nargs)
		target = v.kind == JL_FP_DATE ? P_DAY : P_MILLI;
	for (int k = v.kind == JL_FP_TIME ? P_HOUR : P_YEAR; k <= P_MILLI && !target; k++)
		if (digs[k] == p)
			target = k;
	if (!target || (v.kind == JL_FP_DATE && target > P_DAY))
		return JL_OK;
	/* An hour without minutes is taken as hh:00 (a FHIR time has minutes). */
	if (d.prec == P_HOUR) {
		d.prec = P_MINUTE;
		d.mi = 0;
	}
	if (d.prec < P_MONTH)
		d.mo = high ? 12 : 1;
	if (d.prec < P_DAY)
		d.d = high ? jl_days_in_month(d.y, d.mo) : 1;
	if (d.prec < P_HOUR)
		d.h = high ? 23 : 0;
	if (d.prec < P_MINUTE)
		d.mi = high ? 59 : 0;
	if (d.prec < P_SECOND)
		d.s = high ? 59 : 0;
	if (d.prec < P_MILLI)
		d.ms = high ? 999 : 0;
	if (v.kind == JL_FP_DATETIME && !d.has_tz && target >= P_HOUR) {
		d.has_tz = true;
		d.tz = high ? -12 * 60 : 14 * 60;
	}
	d.prec = target;
	jl_fp_item_t r;
	return (rc = jl__fp_mk_dt(ev, &d, &r)) ? rc : ret1(ev, n, &r, out);
}

static jl_rc fn_precision(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_coll_t *out)
{
	jl_fp_item_t v;
	bool none;
	jl_rc rc;
	if ((rc = in_value(ev, n, in, &v, &none)) || none)
		return rc;
	fp_dec_t d;
	fp_dt_t t;
	switch (v.kind) {
	case JL_FP_INTEGER:
		return reti(ev, n, 0, out);
	case JL_FP_DECIMAL:
		return jl__fp_num(&v, &d) ? reti(ev, n, d.scale, out) : JL_OK;
	case JL_FP_DATE:
	case JL_FP_DATETIME:
		return jl__fp_dt_parse(v.s, v.kind, &t) ? reti(ev, n, dt_digits[t.prec], out) : JL_OK;
	case JL_FP_TIME:
		return jl__fp_dt_parse(v.s, v.kind, &t) ? reti(ev, n, tm_digits[t.prec], out) : JL_OK;
	default:
		return JL_OK;
	}
}

/* ------------------------------------------------------------------ sort */

typedef struct sortkey {
	jl_fp_item_t *k; /* keys of one item (NULL entries: empty) */
} sortkey_t;

typedef struct sortctx {
	fp_ev_t *ev;
	const fp_node_t *n;
	int nkeys;
	const bool *desc;
	bool err;
} sortctx_t;

static int sort_cmp(sortctx_t *c, const jl_fp_item_t *a, const jl_fp_item_t *b)
{
	for (int k = 0; k < c->nkeys; k++) {
		const jl_fp_item_t *x = &a[k], *y = &b[k];
		int r;
		bool ex = x->kind == 0xff, ey = y->kind == 0xff;
		if (ex || ey) {
			/* Empty keys come first, in either direction. */
			if (ex != ey)
				return ex ? -1 : 1;
			r = 0;
		} else {
			r = jl__fp_compare(c->ev, x, y);
			if (r == 3) {
				c->err = true;
				r = 0;
			}
			if (r == 2)
				r = 0;
		}
		if (r)
			return c->desc[k] ? -r : r;
	}
	return 0;
}

static jl_rc fn_sort(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	size_t m = in->n;
	int nk = n->nargs ? n->nargs : 1;
	bool desc[8] = {0};
	jl_rc rc;
	if (m == 0)
		return JL_OK;
	/* keys[i * nk + k]; kind 0xff marks an empty key. */
	jl_fp_item_t *keys = jl_arena_alloc(ev->a, m * (size_t)nk * sizeof *keys);
	size_t *idx = jl_arena_alloc(ev->a, 2 * m * sizeof *idx);
	if (!keys || !idx)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	for (size_t i = 0; i < m; i++) {
		idx[i] = i;
		for (int k = 0; k < nk; k++) {
			jl_fp_item_t *slot = &keys[i * (size_t)nk + (size_t)k];
			if (!n->nargs) {
				*slot = in->items[i];
				continue;
			}
			const fp_node_t *e = n->args[k];
			if (e->kind == N_NEG) {
				desc[k] = true;
				e = e->left;
			}
			fp_scope_t s = {.self = &in->items[i], .index = (int64_t)i, .total = sc->total};
			jl_fp_coll_t c;
			if ((rc = jl__fp_eval_node(ev, e, &s, &c)))
				return rc;
			if (c.n > 1)
				return jl__fp_err(ev, n, JL_EINVALID, "a sort key must be a single item");
			if (c.n)
				*slot = c.items[0];
			else
				slot->kind = 0xff;
		}
	}
	if ((rc = jl__fp_step(ev, n, m * 20)))
		return rc;
	/* Bottom-up merge sort of indices: stable. */
	sortctx_t cx = {ev, n, nk, desc, false};
	size_t *a = idx, *b = idx + m;
	for (size_t w = 1; w < m; w *= 2) {
		for (size_t lo = 0; lo < m; lo += 2 * w) {
			size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				b[o++] = sort_cmp(&cx, &keys[a[j] * (size_t)nk], &keys[a[i] * (size_t)nk]) < 0 ? a[j++] : a[i++];
			while (i < mid)
				b[o++] = a[i++];
			while (j < hi)
				b[o++] = a[j++];
		}
		size_t *t = a;
		a = b;
		b = t;
	}
	if (cx.err)
		return jl__fp_err(ev, n, JL_EINVALID, "sort keys of different types");
	jl_fp_item_t *r = jl_arena_alloc(ev->a, m * sizeof *r);
	if (!r)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	for (size_t i = 0; i < m; i++)
		r[i] = in->items[a[i]];
	*out = (jl_fp_coll_t){r, m};
	return JL_OK;
}

/* ------------------------------------------------------------------ FHIR */

static jl_json_t *mkobj2(jl_arena_t *a, const char *k1, jl_str_t v1, const char *k2, jl_str_t v2)
{
	jl_json_t *o = jl_arena_alloc(a, sizeof *o);
	jl_json_member_t *m = jl_arena_alloc(a, 2 * sizeof *m);
	if (!o || !m)
		return NULL;
	m[0].key = jl_cstr(k1);
	m[0].v = jl_json_mkstr(v1);
	m[1].key = jl_cstr(k2);
	m[1].v = jl_json_mkstr(v2);
	o->type = JL_JSON_OBJECT;
	o->n = v2.p ? 2 : 1;
	o->u.o = m;
	return o;
}

/* Finds a resource in %resource for a reference: contained "#id", or a Bundle entry. */
static const jl_json_t *resolve_local(fp_ev_t *ev, jl_str_t ref)
{
	if (!ev->has_root || !ev->root.node || ev->root.node->type != JL_JSON_OBJECT)
		return NULL;
	const jl_json_t *root = ev->root.node;
	if (ref.n && ref.p[0] == '#') {
		jl_str_t id = jl_str(ref.p + 1, ref.n - 1);
		if (!id.n)
			return root;
		const jl_json_t *c = jl_json_get(root, "contained");
		if (c && c->type == JL_JSON_ARRAY)
			for (uint32_t i = 0; i < c->n; i++)
				if (jl_str_eq(jl_json_str(jl_json_get(&c->u.a[i], "id")), id))
					return &c->u.a[i];
		return NULL;
	}
	if (!jl_str_eqc(jl_json_str(jl_json_get(root, "resourceType")), "Bundle"))
		return NULL;
	const jl_json_t *entries = jl_json_get(root, "entry");
	if (!entries || entries->type != JL_JSON_ARRAY)
		return NULL;
	for (uint32_t i = 0; i < entries->n; i++) {
		const jl_json_t *e = &entries->u.a[i], *r = jl_json_get(e, "resource");
		if (!r)
			continue;
		jl_str_t full = jl_json_str(jl_json_get(e, "fullUrl"));
		if (full.n && jl_str_eq(full, ref))
			return r;
		/* "Type/id" against the entry's resource. */
		jl_str_t rt = jl_json_str(jl_json_get(r, "resourceType")), id = jl_json_str(jl_json_get(r, "id"));
		if (rt.n && id.n && ref.n == rt.n + 1 + id.n && memcmp(ref.p, rt.p, rt.n) == 0 && ref.p[rt.n] == '/' &&
		    memcmp(ref.p + rt.n + 1, id.p, id.n) == 0)
			return r;
	}
	return NULL;
}

/* A stand-in for a RESTful reference ([base/]Type/id[/_history/v]): {resourceType, id}. */
static const jl_json_t *stand_in(fp_ev_t *ev, jl_str_t ref, bool *nomem)
{
	size_t end = ref.n;
	for (size_t i = 0; i < ref.n; i++)
		if (ref.p[i] == '?' || ref.p[i] == '#' || ref.p[i] == '|') {
			end = i;
			break;
		}
	jl_str_t segs[6];
	int ns = 0;
	size_t s = end;
	/* The last segments, right to left. */
	while (s > 0 && ns < 6) {
		size_t e = s;
		while (s > 0 && ref.p[s - 1] != '/')
			s--;
		segs[ns++] = jl_str(ref.p + s, e - s);
		if (s == 0)
			break;
		s--;
	}
	int k = 0;
	if (ns >= 4 && jl_str_eqc(segs[1], "_history"))
		k = 2;
	if (ns < k + 2)
		return NULL;
	jl_str_t type = segs[k + 1], id = segs[k];
	if (!id.n || !jl_fhir_resource(type))
		return NULL;
	const jl_json_t *o = mkobj2(ev->a, "resourceType", type, "id", id);
	*nomem = !o;
	return o;
}

static jl_rc fn_resolve(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_coll_t *out)
{
	fp_vec_t v = {0};
	jl_rc rc;
	for (size_t i = 0; i < in->n; i++) {
		const jl_fp_item_t *it = &in->items[i];
		jl_str_t ref = JL_STR_NULL;
		if (it->kind == JL_FP_NODE && it->node && it->node->type == JL_JSON_OBJECT) {
			ref = jl_json_str(jl_json_get(it->node, "reference"));
		} else {
			jl_fp_item_t sv;
			if (jl__fp_value(ev, it, &sv) && sv.kind == JL_FP_STRING)
				ref = sv.s;
		}
		if (!ref.n)
			continue;
		const jl_json_t *r = resolve_local(ev, ref);
		if (!r && ref.p[0] != '#') {
			bool nomem = false;
			r = ev->env && ev->env->resolve ? ev->env->resolve(ev->env->resolve_arg, ref) : stand_in(ev, ref, &nomem);
			if (nomem)
				return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		}
		if (!r)
			continue;
		jl_fp_item_t x = jl__fp_node(NULL, r, NULL);
		if ((rc = jl__fp_push(ev, &v, &x)))
			return rc;
	}
	*out = (jl_fp_coll_t){v.p, v.n};
	return JL_OK;
}

static jl_rc fn_type(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_coll_t *out)
{
	fp_vec_t v = {0};
	jl_rc rc;
	for (size_t i = 0; i < in->n; i++) {
		const jl_fp_item_t *it = &in->items[i];
		bool fhir = it->kind == JL_FP_NODE;
		jl_json_t *o = mkobj2(ev->a, "namespace", fhir ? JL_STR("FHIR") : JL_STR("System"), "name",
				      jl_cstr(jl_fp_type_name(it)));
		if (!o)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		jl_fp_item_t x = jl__fp_node(NULL, o, NULL);
		if ((rc = jl__fp_push(ev, &v, &x)))
			return rc;
	}
	*out = (jl_fp_coll_t){v.p, v.n};
	return JL_OK;
}

static jl_rc fn_extension(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
			  jl_fp_coll_t *out)
{
	jl_str_t url;
	bool none;
	jl_rc rc;
	if ((rc = arg_str(ev, n, 0, sc, &url, &none)) || none)
		return rc;
	fp_vec_t exts = {0}, v = {0};
	for (size_t i = 0; i < in->n; i++)
		if ((rc = jl__fp_member(ev, n, &in->items[i], JL_STR("extension"), &exts)))
			return rc;
	for (size_t i = 0; i < exts.n; i++) {
		const jl_json_t *o = exts.p[i].node;
		if (o && jl_str_eq(jl_json_str(jl_json_get(o, "url")), url) && (rc = jl__fp_push(ev, &v, &exts.p[i])))
			return rc;
	}
	*out = (jl_fp_coll_t){v.p, v.n};
	return JL_OK;
}

static jl_rc now_us(fp_ev_t *ev, int64_t *us)
{
	if (!ev->now_us)
		ev->now_us = jl_now_us();
	*us = ev->now_us;
	return JL_OK;
}

static jl_rc fn_clock(fp_ev_t *ev, const fp_node_t *n, jl_fp_coll_t *out)
{
	int64_t us;
	jl_rc rc = now_us(ev, &us);
	if (rc)
		return rc;
	int64_t ms = us / 1000;
	fp_dt_t d = {.kind = JL_FP_DATETIME, .y = 1970, .mo = 1, .d = 1, .prec = P_MILLI, .has_tz = true};
	if (!jl__fp_dt_add(&d, P_MILLI, ms))
		return JL_OK;
	d.prec = P_MILLI;
	if (n->fn == F_TODAY) {
		d.kind = JL_FP_DATE;
		d.prec = P_DAY;
		d.has_tz = false;
	} else if (n->fn == F_TIMEOFDAY) {
		d.kind = JL_FP_TIME;
	}
	jl_fp_item_t r;
	return (rc = jl__fp_mk_dt(ev, &d, &r)) ? rc : ret1(ev, n, &r, out);
}

/* ------------------------------------------------------------------ conversions */

static jl_rc fn_convert(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
			jl_fp_coll_t *out)
{
	jl_fp_item_t v, r;
	bool none, ok = false, test = false;
	jl_rc rc;
	if ((rc = in_value(ev, n, in, &v, &none)))
		return rc;
	if (none && in->n == 0)
		return JL_OK;
	switch (n->fn) {
	case F_CONVBOOLEAN: case F_CONVINTEGER: case F_CONVDECIMAL: case F_CONVSTRING: case F_CONVDATE:
	case F_CONVDATETIME: case F_CONVTIME: case F_CONVQUANTITY:
		test = true;
		break;
	default:
		break;
	}
	if (!none) {
		switch (n->fn) {
		case F_TOBOOLEAN: case F_CONVBOOLEAN: {
			bool b;
			if ((ok = jl__fp_to_boolean(&v, &b)))
				r = jl__fp_bool(b);
			break;
		}
		case F_TOINTEGER: case F_CONVINTEGER: {
			int64_t i;
			if ((ok = jl__fp_to_integer(&v, &i)))
				r = jl__fp_int(i);
			break;
		}
		case F_TODECIMAL: case F_CONVDECIMAL: {
			fp_dec_t d;
			if ((ok = jl__fp_to_decimal(&v, &d)) && !test && (rc = jl__fp_mk_dec(ev, d, &r)))
				return rc;
			break;
		}
		case F_TOSTRING: case F_CONVSTRING: {
			jl_str_t s;
			if ((ok = jl_fp_to_string(ev->a, &v, &s)))
				r = jl__fp_str(s);
			else if (v.kind == JL_FP_INTEGER || v.kind == JL_FP_QUANTITY)
				return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
			break;
		}
		case F_TODATE: case F_CONVDATE: case F_TODATETIME: case F_CONVDATETIME: case F_TOTIME: case F_CONVTIME: {
			uint8_t kind = n->fn == F_TODATE || n->fn == F_CONVDATE       ? JL_FP_DATE
				       : n->fn == F_TODATETIME || n->fn == F_CONVDATETIME ? JL_FP_DATETIME
										   : JL_FP_TIME;
			fp_dt_t d;
			if ((ok = jl__fp_to_dt(&v, kind, &d)) && !test) {
				if (v.kind == JL_FP_STRING || v.kind != kind) {
					if ((rc = jl__fp_mk_dt(ev, &d, &r)))
						return rc;
				} else {
					r = v;
				}
			}
			break;
		}
		default: { /* quantity */
			fp_qty_t q;
			ok = jl__fp_to_quantity(ev->a, &v, &q);
			if (ok && n->nargs) {
				jl_str_t unit;
				bool un;
				if ((rc = arg_str(ev, n, 0, sc, &unit, &un)))
					return rc;
				if (un)
					return JL_OK;
				if (!jl_str_eq(unit, q.unit)) {
					fp_qty_t one = {.v = {1, 0}, .unit = unit}, tmp;
					/* Convert by dividing through a unit quantity of the target. */
					ok = jl__fp_units_comparable(q.unit, unit) &&
					     jl__fp_qty_arith(ev->a, OP_ADD, &one, &q, &tmp) &&
					     jl__fp_dec_sub(tmp.v, one.v, &q.v);
					q.unit = unit;
				}
			}
			if (ok && !test && (rc = jl__fp_mk_qty(ev, q.v, q.unit, &r)))
				return rc;
			break;
		}
		}
	}
	if (test)
		return retb(ev, n, ok, out);
	return ok ? ret1(ev, n, &r, out) : JL_OK;
}

/* ------------------------------------------------------------------ the dispatcher */

static jl_rc fn_strings(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
			jl_fp_coll_t *out)
{
	jl_str_t s, a1 = JL_STR_NULL, a2 = JL_STR_NULL;
	bool none;
	jl_rc rc;
	if ((rc = want_str(ev, n, in, &s, &none)) || none)
		return rc;
	switch (n->fn) {
	case F_LENGTH:
		return reti(ev, n, cp_count(s, s.n), out);
	case F_UPPER:
	case F_LOWER: {
		char *p = jl_arena_alloc_bytes(ev->a, s.n + 1);
		if (!p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		for (size_t i = 0; i < s.n; i++) {
			char c = s.p[i];
			if (n->fn == F_UPPER && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			else if (n->fn == F_LOWER && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			p[i] = c;
		}
		return rets(ev, n, jl_str(p, s.n), out);
	}
	case F_TRIM: {
		size_t b = 0, e = s.n;
		while (b < e && (s.p[b] == ' ' || s.p[b] == '\t' || s.p[b] == '\n' || s.p[b] == '\r'))
			b++;
		while (e > b && (s.p[e - 1] == ' ' || s.p[e - 1] == '\t' || s.p[e - 1] == '\n' || s.p[e - 1] == '\r'))
			e--;
		return rets(ev, n, jl_str(s.p + b, e - b), out);
	}
	case F_TOCHARS: {
		fp_vec_t v = {0};
		for (size_t i = 0; i < s.n;) {
			size_t k = i + 1;
			while (k < s.n && ((unsigned char)s.p[k] & 0xc0) == 0x80)
				k++;
			jl_fp_item_t c = jl__fp_str(jl_str(s.p + i, k - i));
			if ((rc = jl__fp_push(ev, &v, &c)))
				return rc;
			i = k;
		}
		*out = (jl_fp_coll_t){v.p, v.n};
		return JL_OK;
	}
	case F_SUBSTRING: {
		int64_t start, len = INT64_MAX;
		if ((rc = arg_int(ev, n, 0, sc, &start, &none)) || none)
			return rc;
		if (n->nargs > 1) {
			bool ln;
			if ((rc = arg_int(ev, n, 1, sc, &len, &ln)))
				return rc;
			if (ln)
				len = INT64_MAX;
		}
		int64_t total = cp_count(s, s.n);
		if (start < 0 || start >= total)
			return JL_OK;
		if (len < 0)
			len = 0;
		size_t b = cp_offset(s, start), e = len >= total - start ? s.n : cp_offset(s, start + len);
		return rets(ev, n, jl_str(s.p + b, e - b), out);
	}
	default:
		break;
	}
	/* One string argument. */
	if ((rc = arg_str(ev, n, 0, sc, &a1, &none)) || none)
		return rc;
	switch (n->fn) {
	case F_INDEXOF:
	case F_LASTINDEXOF: {
		const char *p = NULL;
		if (n->fn == F_INDEXOF)
			p = find(s, a1, 0);
		else
			for (size_t from = 0; from <= s.n;) {
				const char *q = find(s, a1, from);
				if (!q)
					break;
				p = q;
				from = (size_t)(q - s.p) + 1;
			}
		return reti(ev, n, p ? cp_count(s, (size_t)(p - s.p)) : -1, out);
	}
	case F_STARTSWITH:
		return retb(ev, n, a1.n <= s.n && memcmp(s.p, a1.p, a1.n) == 0, out);
	case F_ENDSWITH:
		return retb(ev, n, a1.n <= s.n && memcmp(s.p + s.n - a1.n, a1.p, a1.n) == 0, out);
	case F_CONTAINS:
		return retb(ev, n, find(s, a1, 0) != NULL, out);
	case F_MATCHES:
	case F_MATCHESFULL: {
		fp_re_t *re;
		long caps[2];
		if ((rc = regex(ev, n, a1, n->fn == F_MATCHESFULL, &re)))
			return rc;
		int m = jl__fp_re_exec(re, s, 0, false, caps, 2, &ev->steps);
		if (m < 0)
			return jl__fp_err(ev, n, JL_ETOOBIG, "regular expression too costly");
		return retb(ev, n, m > 0, out);
	}
	case F_SPLIT: {
		fp_vec_t v = {0};
		size_t at = 0;
		for (;;) {
			const char *q = a1.n ? find(s, a1, at) : NULL;
			size_t e = q ? (size_t)(q - s.p) : s.n;
			jl_fp_item_t c = jl__fp_str(jl_str(s.p + at, e - at));
			if ((rc = jl__fp_push(ev, &v, &c)))
				return rc;
			if (!q)
				break;
			at = e + a1.n;
		}
		*out = (jl_fp_coll_t){v.p, v.n};
		return JL_OK;
	}
	case F_ENCODE:
	case F_DECODE:
		return fn_encode(ev, n, s, a1, out);
	case F_ESCAPE:
	case F_UNESCAPE:
		return fn_escape(ev, n, s, a1, out);
	default:
		break;
	}
	/* Two string arguments. */
	if ((rc = arg_str(ev, n, 1, sc, &a2, &none)) || none)
		return rc;
	if (n->fn == F_REPLACEMATCHES)
		return fn_replace_matches(ev, n, s, a1, a2, out);
	/* replace(): literal; an empty pattern goes between every character. */
	sbuf_t b = {0};
	if (!a1.n) {
		sb_put(ev, &b, a2.p, a2.n);
		for (size_t i = 0; i < s.n;) {
			size_t k = i + 1;
			while (k < s.n && ((unsigned char)s.p[k] & 0xc0) == 0x80)
				k++;
			sb_put(ev, &b, s.p + i, k - i);
			sb_put(ev, &b, a2.p, a2.n);
			i = k;
		}
	} else {
		size_t at = 0;
		for (;;) {
			const char *q = find(s, a1, at);
			if (!q)
				break;
			sb_put(ev, &b, s.p + at, (size_t)(q - s.p) - at);
			sb_put(ev, &b, a2.p, a2.n);
			at = (size_t)(q - s.p) + a1.n;
		}
		sb_put(ev, &b, s.p + at, s.n - at);
	}
	return sb_done(ev, n, &b, out);
}

static jl_rc fn_join(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_str_t sep = JL_STR("");
	bool none;
	jl_rc rc;
	if (n->nargs && ((rc = arg_str(ev, n, 0, sc, &sep, &none)) || none))
		return rc;
	sbuf_t b = {0};
	for (size_t i = 0; i < in->n; i++) {
		jl_fp_item_t v;
		if (!jl__fp_value(ev, &in->items[i], &v) || v.kind != JL_FP_STRING)
			return jl__fp_err(ev, n, JL_EINVALID, "join() needs strings");
		if (i)
			sb_put(ev, &b, sep.p, sep.n);
		sb_put(ev, &b, v.s.p, v.s.n);
	}
	return sb_done(ev, n, &b, out);
}

static jl_rc fn_repeat(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
		       jl_fp_coll_t *out)
{
	fp_vec_t res = {0};
	fp_hset_t seen = {0};
	jl_fp_coll_t cur = *in;
	jl_rc rc;
	while (cur.n) {
		fp_vec_t next = {0};
		for (size_t i = 0; i < cur.n; i++) {
			jl_fp_coll_t c;
			if ((rc = lambda(ev, n, 0, &cur, i, sc, &c)))
				return rc;
			for (size_t k = 0; k < c.n; k++) {
				bool added;
				if ((rc = jl__fp_step(ev, n, 1)) || (rc = add_new(ev, &res, &seen, &c.items[k], &added)))
					return rc;
				if (added && (rc = jl__fp_push(ev, &next, &c.items[k])))
					return rc;
			}
		}
		cur = (jl_fp_coll_t){next.p, next.n};
	}
	*out = (jl_fp_coll_t){res.p, res.n};
	return JL_OK;
}

static jl_rc fn_descendants(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, jl_fp_coll_t *out)
{
	fp_vec_t res = {0};
	jl_rc rc;
	for (size_t i = 0; i < in->n; i++)
		if ((rc = jl__fp_children(ev, n, &in->items[i], &res)))
			return rc;
	if (n->fn == F_DESCENDANTS)
		for (size_t i = 0; i < res.n; i++) /* res grows as we go: breadth first */
			if ((rc = jl__fp_children(ev, n, &res.p[i], &res)))
				return rc;
	*out = (jl_fp_coll_t){res.p, res.n};
	return JL_OK;
}

jl_rc jl__fp_call(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_rc rc;
	jl_fp_coll_t c;
	int b;
	*out = EMPTY;
	switch (n->fn) {
	/* existence */
	case F_EMPTY:
		return retb(ev, n, in->n == 0, out);
	case F_EXISTS:
	case F_ALL:
		for (size_t i = 0; i < in->n; i++) {
			if (!n->nargs)
				return retb(ev, n, true, out);
			if ((rc = lambda(ev, n, 0, in, i, sc, &c)) || (rc = to_bool(ev, n, &c, &b)))
				return rc;
			if (n->fn == F_EXISTS && b == 1)
				return retb(ev, n, true, out);
			if (n->fn == F_ALL && b != 1)
				return retb(ev, n, false, out);
		}
		return retb(ev, n, n->fn == F_ALL, out);
	case F_ALLTRUE:
	case F_ANYTRUE:
	case F_ALLFALSE:
	case F_ANYFALSE: {
		bool want = n->fn == F_ALLTRUE || n->fn == F_ANYTRUE, all = n->fn == F_ALLTRUE || n->fn == F_ALLFALSE;
		for (size_t i = 0; i < in->n; i++) {
			int v = strict_bool(&in->items[i]);
			if (v < 0)
				return jl__fp_err(ev, n, JL_EINVALID, "%s() over a non-Boolean item", jl__fp_fns[n->fn].name);
			if (all && v != want)
				return retb(ev, n, false, out);
			if (!all && v == want)
				return retb(ev, n, true, out);
		}
		return retb(ev, n, all, out);
	}
	case F_SUBSETOF:
	case F_SUPERSETOF: {
		if ((rc = arg(ev, n, 0, sc, &c)))
			return rc;
		const jl_fp_coll_t *x = n->fn == F_SUBSETOF ? in : &c, *y = n->fn == F_SUBSETOF ? &c : in;
		fp_hset_t ys;
		if ((rc = set_of(ev, n, y, &ys)))
			return rc;
		for (size_t i = 0; i < x->n; i++)
			if (!in_set(ev, &ys, y, &x->items[i]))
				return retb(ev, n, false, out);
		return retb(ev, n, true, out);
	}
	case F_COUNT_:
		return reti(ev, n, (int64_t)in->n, out);
	case F_DISTINCT:
		return distinct(ev, n, in, out);
	case F_ISDISTINCT:
		if ((rc = distinct(ev, n, in, &c)))
			return rc;
		return retb(ev, n, c.n == in->n, out);
	/* filtering */
	case F_WHERE:
	case F_SELECT: {
		fp_vec_t v = {0};
		for (size_t i = 0; i < in->n; i++) {
			if ((rc = lambda(ev, n, 0, in, i, sc, &c)))
				return rc;
			if (n->fn == F_SELECT) {
				for (size_t k = 0; k < c.n; k++)
					if ((rc = jl__fp_push(ev, &v, &c.items[k])))
						return rc;
				continue;
			}
			if ((rc = to_bool(ev, n, &c, &b)))
				return rc;
			if (b == 1 && (rc = jl__fp_push(ev, &v, &in->items[i])))
				return rc;
		}
		*out = (jl_fp_coll_t){v.p, v.n};
		return JL_OK;
	}
	case F_REPEAT:
		return fn_repeat(ev, n, in, sc, out);
	case F_OFTYPE:
	case F_AS: {
		if (n->fn == F_AS && in->n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "as() expects a single item, not %zu", in->n);
		fp_vec_t v = {0};
		for (size_t i = 0; i < in->n; i++)
			if (jl__fp_is_type(&in->items[i], &n->ts, true) && (rc = jl__fp_push(ev, &v, &in->items[i])))
				return rc;
		*out = (jl_fp_coll_t){v.p, v.n};
		return JL_OK;
	}
	case F_IS:
		if (in->n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "is() expects a single item, not %zu", in->n);
		if (!in->n)
			return JL_OK;
		return retb(ev, n, jl__fp_is_type(&in->items[0], &n->ts, false), out);
	/* subsetting */
	case F_SINGLE:
		if (in->n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "single() on %zu items", in->n);
		*out = *in;
		return JL_OK;
	case F_FIRST:
		if (in->n)
			*out = (jl_fp_coll_t){in->items, 1};
		return JL_OK;
	case F_LAST:
		if (in->n)
			*out = (jl_fp_coll_t){in->items + in->n - 1, 1};
		return JL_OK;
	case F_TAIL:
		if (in->n > 1)
			*out = (jl_fp_coll_t){in->items + 1, in->n - 1};
		return JL_OK;
	case F_SKIP:
	case F_TAKE: {
		int64_t k;
		bool none;
		if ((rc = arg_int(ev, n, 0, sc, &k, &none)))
			return rc;
		if (none)
			return n->fn == F_SKIP ? (*out = *in, JL_OK) : JL_OK;
		if (!in->n)
			return JL_OK;
		if (k < 0)
			k = 0;
		size_t m = (uint64_t)k > in->n ? in->n : (size_t)k;
		*out = n->fn == F_SKIP ? (jl_fp_coll_t){in->items + m, in->n - m} : (jl_fp_coll_t){in->items, m};
		if (!out->n)
			*out = EMPTY;
		return JL_OK;
	}
	case F_INTERSECT:
	case F_EXCLUDE: {
		fp_hset_t cs, vs = {0};
		if ((rc = arg(ev, n, 0, sc, &c)) || (rc = set_of(ev, n, &c, &cs)))
			return rc;
		fp_vec_t v = {0};
		for (size_t i = 0; i < in->n; i++) {
			bool inother = in_set(ev, &cs, &c, &in->items[i]), added;
			if ((rc = jl__fp_step(ev, n, 1)))
				return rc;
			if (n->fn == F_INTERSECT && inother && (rc = add_new(ev, &v, &vs, &in->items[i], &added)))
				return rc;
			if (n->fn == F_EXCLUDE && !inother && (rc = jl__fp_push(ev, &v, &in->items[i])))
				return rc;
		}
		*out = (jl_fp_coll_t){v.p, v.n};
		return JL_OK;
	}
	case F_UNION:
		if ((rc = arg(ev, n, 0, sc, &c)))
			return rc;
		return jl__fp_union(ev, n, in, &c, out);
	case F_COMBINE: {
		if ((rc = arg(ev, n, 0, sc, &c)))
			return rc;
		if (!c.n) {
			*out = *in;
			return JL_OK;
		}
		if (!in->n) {
			*out = c;
			return JL_OK;
		}
		if (in->n + c.n > FP_MAX_ITEMS)
			return jl__fp_err(ev, n, JL_ETOOBIG, "a collection exceeds %u items", FP_MAX_ITEMS);
		jl_fp_item_t *p = jl_arena_alloc(ev->a, (in->n + c.n) * sizeof *p);
		if (!p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		memcpy(p, in->items, in->n * sizeof *p);
		memcpy(p + in->n, c.items, c.n * sizeof *p);
		*out = (jl_fp_coll_t){p, in->n + c.n};
		return JL_OK;
	}
	/* conversion */
	case F_IIF: {
		if (in->n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "iif() on %zu items", in->n);
		fp_scope_t s = *sc;
		if (in->n) {
			s.self = &in->items[0];
		} else if (n->left) {
			s.self = NULL;
		}
		if ((rc = jl__fp_eval_node(ev, n->args[0], &s, &c)))
			return rc;
		if (c.n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "iif() criterion is a collection of %zu items", c.n);
		if (c.n && strict_bool(&c.items[0]) < 0)
			return jl__fp_err(ev, n, JL_EINVALID, "iif() criterion is not a Boolean");
		b = c.n ? strict_bool(&c.items[0]) : 0;
		if (b == 1)
			return jl__fp_eval_node(ev, n->args[1], &s, out);
		if (n->nargs > 2)
			return jl__fp_eval_node(ev, n->args[2], &s, out);
		return JL_OK;
	}
	case F_TOBOOLEAN: case F_CONVBOOLEAN: case F_TOINTEGER: case F_CONVINTEGER: case F_TODECIMAL:
	case F_CONVDECIMAL: case F_TOSTRING: case F_CONVSTRING: case F_TODATE: case F_CONVDATE: case F_TODATETIME:
	case F_CONVDATETIME: case F_TOTIME: case F_CONVTIME: case F_TOQUANTITY: case F_CONVQUANTITY:
		return fn_convert(ev, n, in, sc, out);
	/* strings */
	case F_INDEXOF: case F_LASTINDEXOF: case F_SUBSTRING: case F_STARTSWITH: case F_ENDSWITH: case F_CONTAINS:
	case F_UPPER: case F_LOWER: case F_REPLACE: case F_MATCHES: case F_MATCHESFULL: case F_REPLACEMATCHES:
	case F_LENGTH: case F_TOCHARS: case F_TRIM: case F_SPLIT: case F_ENCODE: case F_DECODE: case F_ESCAPE:
	case F_UNESCAPE:
		return fn_strings(ev, n, in, sc, out);
	case F_JOIN:
		return fn_join(ev, n, in, sc, out);
	/* math */
	case F_ABS: case F_CEILING: case F_EXP: case F_FLOOR: case F_LN: case F_LOG: case F_POWER: case F_ROUND:
	case F_SQRT: case F_TRUNCATE:
		return fn_math(ev, n, in, sc, out);
	case F_LOWBOUNDARY:
	case F_HIGHBOUNDARY:
		return fn_boundary(ev, n, in, sc, out);
	case F_PRECISION:
		return fn_precision(ev, n, in, out);
	case F_COMPARABLE: {
		jl_fp_item_t a, q;
		bool none;
		if ((rc = in_value(ev, n, in, &a, &none)) || none)
			return rc;
		if ((rc = arg(ev, n, 0, sc, &c)) || (rc = in_value(ev, n, &c, &q, &none)) || none)
			return rc;
		if (a.kind != JL_FP_QUANTITY || q.kind != JL_FP_QUANTITY)
			return jl__fp_err(ev, n, JL_EINVALID, "comparable() needs quantities");
		return retb(ev, n, jl__fp_units_comparable(a.s, q.s), out);
	}
	/* tree */
	case F_CHILDREN:
	case F_DESCENDANTS:
		return fn_descendants(ev, n, in, out);
	/* utility */
	case F_TRACE: {
		jl_str_t name;
		bool none;
		if ((rc = arg_str(ev, n, 0, sc, &name, &none)))
			return rc;
		jl_fp_coll_t shown = *in;
		if (n->nargs > 1) {
			fp_vec_t v = {0};
			for (size_t i = 0; i < in->n; i++) {
				if ((rc = lambda(ev, n, 1, in, i, sc, &c)))
					return rc;
				for (size_t k = 0; k < c.n; k++)
					if ((rc = jl__fp_push(ev, &v, &c.items[k])))
						return rc;
			}
			shown = (jl_fp_coll_t){v.p, v.n};
		}
		if (ev->env && ev->env->trace)
			ev->env->trace(ev->env->trace_arg, none ? JL_STR("") : name, &shown);
		*out = *in;
		return JL_OK;
	}
	case F_NOW:
	case F_TODAY:
	case F_TIMEOFDAY:
		return fn_clock(ev, n, out);
	case F_NOT:
		if ((rc = to_bool(ev, n, in, &b)))
			return rc;
		return b < 0 ? JL_OK : retb(ev, n, !b, out);
	case F_AGGREGATE: {
		jl_fp_coll_t total = EMPTY;
		if (n->nargs > 1 && (rc = arg(ev, n, 1, sc, &total)))
			return rc;
		for (size_t i = 0; i < in->n; i++) {
			fp_scope_t s = {.self = &in->items[i], .index = (int64_t)i, .total = &total};
			jl_fp_coll_t r;
			if ((rc = jl__fp_eval_node(ev, n->args[0], &s, &r)))
				return rc;
			total = r;
		}
		*out = total;
		return JL_OK;
	}
	case F_SORT:
		return fn_sort(ev, n, in, sc, out);
	case F_TYPE:
		return fn_type(ev, n, in, out);
	/* FHIR */
	case F_EXTENSION:
		return fn_extension(ev, n, in, sc, out);
	case F_HASVALUE:
		return retb(ev, n,
			    in->n == 1 && in->items[0].kind == JL_FP_NODE && in->items[0].node &&
				    in->items[0].node->type != JL_JSON_OBJECT && in->items[0].node->type != JL_JSON_ARRAY &&
				    in->items[0].node->type != JL_JSON_NULL,
			    out);
	case F_GETVALUE: {
		jl_fp_item_t v;
		if (in->n != 1 || in->items[0].kind != JL_FP_NODE || !in->items[0].node ||
		    in->items[0].node->type == JL_JSON_OBJECT || !jl__fp_value(ev, &in->items[0], &v))
			return JL_OK;
		return ret1(ev, n, &v, out);
	}
	case F_RESOLVE:
		return fn_resolve(ev, n, in, out);
	case F_CONFORMSTO: {
		static const char sd[] = "http://hl7.org/fhir/StructureDefinition/";
		jl_str_t url;
		bool none;
		if ((rc = arg_str(ev, n, 0, sc, &url, &none)) || none)
			return rc;
		fp_tspec_t ts = {0};
		if (jl_str_starts(url, sd))
			ts.fhir = jl_fhir_type(jl_str(url.p + sizeof sd - 1, url.n - (sizeof sd - 1)));
		if (!ts.fhir)
			return jl__fp_err(ev, n, JL_EUNSUPPORTED,
					  "conformsTo() knows only the core StructureDefinitions, not %.*s", JL_STR_FMT(url));
		if (in->n > 1)
			return jl__fp_err(ev, n, JL_EINVALID, "conformsTo() on %zu items", in->n);
		if (!in->n)
			return JL_OK;
		return retb(ev, n, jl__fp_is_type(&in->items[0], &ts, false), out);
	}
	default:
		return jl__fp_err(ev, n, JL_EUNSUPPORTED, "function %s() is not supported", jl__fp_fns[n->fn].name);
	}
}
