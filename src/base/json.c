/*
 * json — parser and writer. The parser is recursive descent with a depth
 * cap; children of an array or object are collected on a scratch stack and
 * copied into one contiguous arena array when the container closes, so the
 * tree has O(1) indexing and good locality without a pre-pass.
 *
 * Strings are scanned eight bytes at a time (SWAR) for the only bytes that
 * need attention: '"', '\\', control characters and non-ASCII. ASCII runs
 * therefore cost about one load and a few ALU ops per eight bytes.
 */
#include "base/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

typedef struct parser {
	const unsigned char *p, *start, *end;
	jl_arena_t *a;
	uint32_t depth, max_depth, flags;
	jl_json_t *vs; /* value scratch stack (arrays) */
	size_t vn, vcap;
	jl_json_member_t *ms; /* member scratch stack (objects) */
	size_t mn, mcap;
	jl_rc rc;
	jl_json_err_t *e;
} parser_t;

static int fail(parser_t *P, jl_rc rc, const unsigned char *at, const char *msg)
{
	if (P->rc == JL_OK) {
		P->rc = rc;
		if (P->e) {
			size_t off = (size_t)(at - P->start);
			uint32_t line = 1, col = 1;
			for (const unsigned char *q = P->start; q < at; q++) {
				if (*q == '\n') {
					line++;
					col = 1;
				} else
					col++;
			}
			P->e->off = off;
			P->e->line = line;
			P->e->col = col;
			snprintf(P->e->msg, sizeof P->e->msg, "%s", msg);
		}
	}
	return -1;
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* Validates one UTF-8 sequence starting at p (first byte >= 0x80). Returns its length or 0. */
static inline int utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (end - p < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0; /* > U+10FFFF */
		return 4;
	}
	return 0;
}

/* Nonzero when the 8 bytes in w hold '"', '\\', a byte < 0x20 or a byte >= 0x80. */
static inline uint64_t special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"');
	uint64_t b = w ^ (ONES * '\\');
	uint64_t hq = (q - ONES) & ~q;
	uint64_t hb = (b - ONES) & ~b;
	uint64_t lo = (w - ONES * 0x20) & ~w;
	return (hq | hb | lo | w) & HIGHS;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the SWAR string scan assumes a little-endian machine"
#endif

/*
 * First byte in [p, end) that special8 flags, or end. The lowest flagged
 * bit of each test is exact (the borrow in x - ONES only corrupts higher
 * bytes), so counting trailing zeros finds the first special byte.
 */
static inline const unsigned char *scan_run(const unsigned char *p, const unsigned char *end)
{
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t m = special8(w);
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80)
		p++;
	return p;
}

/* Next '"' or '\\' in [p, end), or end. */
static inline const unsigned char *scan_quote(const unsigned char *p, const unsigned char *end)
{
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
		uint64_t m = (((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * Decodes a string that has escapes. s is just after the opening quote and
 * [s, bs) is already known clean; bs is the first backslash.
 */
static int decode_escaped(parser_t *P, const unsigned char *s, const unsigned char *bs, jl_str_t *out)
{
	const unsigned char *end = P->end, *q = bs;
	/* Find the closing quote: a backslash always consumes the next byte. */
	for (;;) {
		q = scan_quote(q, end);
		if (q >= end)
			return fail(P, JL_EINVAL, s - 1, "unterminated string");
		if (*q == '"')
			break;
		q += 2;
	}
	unsigned char *o = jl_arena_alloc_bytes(P->a, (size_t)(q - s) + 1);
	if (!o)
		return fail(P, JL_ENOMEM, s, "out of memory");
	memcpy(o, s, (size_t)(bs - s));
	unsigned char *w = o + (bs - s);
	const unsigned char *p = bs;
	while (p < q) {
		unsigned c = *p;
		if (c == '\\') {
			unsigned e = p[1];
			p += 2;
			switch (e) {
			case '"': *w++ = '"'; break;
			case '\\': *w++ = '\\'; break;
			case '/': *w++ = '/'; break;
			case 'b': *w++ = '\b'; break;
			case 'f': *w++ = '\f'; break;
			case 'n': *w++ = '\n'; break;
			case 'r': *w++ = '\r'; break;
			case 't': *w++ = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (q - p < 4 || hex4(p, &cp))
					return fail(P, JL_EINVAL, p - 2, "bad \\u escape");
				p += 4;
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) ||
					    lo < 0xDC00 || lo > 0xDFFF)
						return fail(P, JL_EINVAL, p - 6, "unpaired UTF-16 surrogate in \\u escape");
					p += 6;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
					return fail(P, JL_EINVAL, p - 6, "unpaired UTF-16 surrogate in \\u escape");
				}
				w += put_utf8(w, cp);
				break;
			}
			default:
				return fail(P, JL_EINVAL, p - 2, "invalid escape in string");
			}
		} else if (c < 0x20) {
			return fail(P, JL_EINVAL, p, "control character in string (must be escaped)");
		} else if (c >= 0x80) {
			int k = utf8_seq(p, q);
			if (!k)
				return fail(P, JL_EINVAL, p, "invalid UTF-8 in string");
			memcpy(w, p, (size_t)k);
			w += k;
			p += k;
		} else {
			/* A clean run up to the next byte that needs a look. */
			const unsigned char *r = scan_run(p, q);
			if (r == p)
				r = p + 1; /* a '"' inside cannot happen before q; defensive */
			memcpy(w, p, (size_t)(r - p));
			w += r - p;
			p = r;
		}
	}
	*w = 0;
	out->p = (const char *)o;
	out->n = (size_t)(w - o);
	P->p = q + 1;
	return 0;
}

/* P->p is just after the opening quote. */
static int parse_string(parser_t *P, jl_str_t *out)
{
	const unsigned char *s = P->p, *p = s, *end = P->end;
	for (;;) {
		p = scan_run(p, end);
		if (p >= end)
			return fail(P, JL_EINVAL, s - 1, "unterminated string");
		unsigned c = *p;
		if (c == '"') {
			out->p = (const char *)s;
			out->n = (size_t)(p - s);
			P->p = p + 1;
			return 0;
		}
		if (c == '\\')
			return decode_escaped(P, s, p, out);
		if (c < 0x20)
			return fail(P, JL_EINVAL, p, "control character in string (must be escaped)");
		int k = utf8_seq(p, end);
		if (!k)
			return fail(P, JL_EINVAL, p, "invalid UTF-8 in string");
		p += k;
	}
}

static int parse_number(parser_t *P, jl_json_t *v)
{
	const unsigned char *s = P->p, *p = s, *end = P->end;
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return fail(P, JL_EINVAL, s, "invalid number");
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail(P, JL_EINVAL, s, "invalid number");
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(P, JL_EINVAL, p, "invalid number: digit expected after '.'");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(P, JL_EINVAL, p, "invalid number: digit expected in exponent");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == '+' || *p == '-' || *p == 'x'))
		return fail(P, JL_EINVAL, p, "invalid number (leading zeros are not allowed)");
	v->type = JL_JSON_NUMBER;
	v->n = (uint32_t)(p - s);
	v->u.s = (const char *)s;
	P->p = p;
	return 0;
}

static int lit(parser_t *P, const char *word, size_t n, jl_json_type t, jl_json_t *v)
{
	if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0)
		return fail(P, JL_EINVAL, P->p, "invalid literal");
	P->p += n;
	v->type = t;
	v->n = 0;
	v->u.s = NULL;
	return 0;
}

static int parse_value(parser_t *P, jl_json_t *v);

static int push_value(parser_t *P, const jl_json_t *v)
{
	if (P->vn == P->vcap) {
		size_t cap = P->vcap ? P->vcap * 2 : 64;
		jl_json_t *n = jl_realloc(JL_MEM_JSON, P->vs, cap * sizeof *n);
		if (!n)
			return fail(P, JL_ENOMEM, P->p, "out of memory");
		P->vs = n;
		P->vcap = cap;
	}
	P->vs[P->vn++] = *v;
	return 0;
}

static int push_member(parser_t *P, jl_str_t k, const jl_json_t *v)
{
	if (P->mn == P->mcap) {
		size_t cap = P->mcap ? P->mcap * 2 : 64;
		jl_json_member_t *n = jl_realloc(JL_MEM_JSON, P->ms, cap * sizeof *n);
		if (!n)
			return fail(P, JL_ENOMEM, P->p, "out of memory");
		P->ms = n;
		P->mcap = cap;
	}
	P->ms[P->mn].key = k;
	P->ms[P->mn].v = *v;
	P->mn++;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const jl_str_t *x = a, *y = b;
	return jl_str_cmp(*x, *y);
}

/* Returns the index of a duplicated key among m[0..n), or -1. */
static long find_dup(parser_t *P, const jl_json_member_t *m, size_t n)
{
	if (n <= 24) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (m[i].key.n == m[j].key.n && jl_str_eq(m[i].key, m[j].key))
					return (long)i;
		return -1;
	}
	jl_str_t *k = jl_malloc(JL_MEM_JSON, n * sizeof *k);
	if (!k) {
		fail(P, JL_ENOMEM, P->p, "out of memory");
		return -2;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = m[i].key;
	qsort(k, n, sizeof *k, cmp_key);
	long r = -1;
	for (size_t i = 1; i < n && r < 0; i++)
		if (jl_str_eq(k[i], k[i - 1])) {
			for (size_t j = 0; j < n; j++)
				if (jl_str_eq(m[j].key, k[i]))
					r = (long)j;
		}
	jl_free(JL_MEM_JSON, k);
	return r;
}

static int parse_object(parser_t *P, jl_json_t *v)
{
	const unsigned char *open = P->p;
	if (++P->depth > P->max_depth)
		return fail(P, JL_ETOOBIG, open, "nesting too deep");
	P->p++;
	size_t base = P->mn;
	P->p = skip_ws(P->p, P->end);
	if (P->p < P->end && *P->p == '}') {
		P->p++;
		goto done;
	}
	for (;;) {
		P->p = skip_ws(P->p, P->end);
		if (P->p >= P->end || *P->p != '"')
			return fail(P, JL_EINVAL, P->p, "expected a string key");
		P->p++;
		jl_str_t key;
		if (parse_string(P, &key))
			return -1;
		P->p = skip_ws(P->p, P->end);
		if (P->p >= P->end || *P->p != ':')
			return fail(P, JL_EINVAL, P->p, "expected ':' after key");
		P->p++;
		jl_json_t val;
		if (parse_value(P, &val) || push_member(P, key, &val))
			return -1;
		P->p = skip_ws(P->p, P->end);
		if (P->p < P->end && *P->p == ',') {
			P->p++;
			continue;
		}
		if (P->p < P->end && *P->p == '}') {
			P->p++;
			break;
		}
		return fail(P, JL_EINVAL, P->p, "expected ',' or '}' in object");
	}
done:;
	size_t n = P->mn - base;
	v->type = JL_JSON_OBJECT;
	v->n = (uint32_t)n;
	v->u.o = NULL;
	if (n) {
		if (!(P->flags & JL_JSON_ALLOW_DUP_KEYS) && n > 1) {
			long d = find_dup(P, P->ms + base, n);
			if (d == -2)
				return -1;
			if (d >= 0) {
				char msg[100];
				jl_str_t k = P->ms[base + (size_t)d].key;
				snprintf(msg, sizeof msg, "duplicate key \"%.*s\"", (int)(k.n > 60 ? 60 : k.n),
					 k.p);
				return fail(P, JL_EINVAL, open, msg);
			}
		}
		jl_json_member_t *m = jl_arena_alloc(P->a, n * sizeof *m);
		if (!m)
			return fail(P, JL_ENOMEM, P->p, "out of memory");
		memcpy(m, P->ms + base, n * sizeof *m);
		v->u.o = m;
	}
	P->mn = base;
	P->depth--;
	return 0;
}

static int parse_array(parser_t *P, jl_json_t *v)
{
	if (++P->depth > P->max_depth)
		return fail(P, JL_ETOOBIG, P->p, "nesting too deep");
	P->p++;
	size_t base = P->vn;
	P->p = skip_ws(P->p, P->end);
	if (P->p < P->end && *P->p == ']') {
		P->p++;
		goto done;
	}
	for (;;) {
		jl_json_t val;
		if (parse_value(P, &val) || push_value(P, &val))
			return -1;
		P->p = skip_ws(P->p, P->end);
		if (P->p < P->end && *P->p == ',') {
			P->p++;
			continue;
		}
		if (P->p < P->end && *P->p == ']') {
			P->p++;
			break;
		}
		return fail(P, JL_EINVAL, P->p, "expected ',' or ']' in array");
	}
done:;
	size_t n = P->vn - base;
	v->type = JL_JSON_ARRAY;
	v->n = (uint32_t)n;
	v->u.a = NULL;
	if (n) {
		jl_json_t *a = jl_arena_alloc(P->a, n * sizeof *a);
		if (!a)
			return fail(P, JL_ENOMEM, P->p, "out of memory");
		memcpy(a, P->vs + base, n * sizeof *a);
		v->u.a = a;
	}
	P->vn = base;
	P->depth--;
	return 0;
}

static int parse_value(parser_t *P, jl_json_t *v)
{
	P->p = skip_ws(P->p, P->end);
	if (P->p >= P->end)
		return fail(P, JL_EINVAL, P->p, "unexpected end of input");
	switch (*P->p) {
	case '{': return parse_object(P, v);
	case '[': return parse_array(P, v);
	case '"': {
		P->p++;
		jl_str_t s;
		if (parse_string(P, &s))
			return -1;
		v->type = JL_JSON_STRING;
		v->n = (uint32_t)s.n;
		v->u.s = s.p;
		return 0;
	}
	case 't': return lit(P, "true", 4, JL_JSON_TRUE, v);
	case 'f': return lit(P, "false", 5, JL_JSON_FALSE, v);
	case 'n': return lit(P, "null", 4, JL_JSON_NULL, v);
	default:
		if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9'))
			return parse_number(P, v);
		return fail(P, JL_EINVAL, P->p, "unexpected character");
	}
}

jl_rc jl_json_parse(jl_arena_t *a, const char *p, size_t n, const jl_json_opts_t *o,
		    jl_json_t **out, jl_json_err_t *e)
{
	parser_t P = {0};
	P.start = P.p = (const unsigned char *)p;
	P.end = P.p + n;
	P.a = a;
	P.max_depth = (o && o->max_depth) ? o->max_depth : 128;
	P.flags = o ? o->flags : 0;
	P.e = e;
	*out = NULL;
	if (e) {
		e->off = 0;
		e->line = e->col = 0;
		e->msg[0] = 0;
	}
	if (n > UINT32_MAX) {
		fail(&P, JL_ETOOBIG, P.p, "document larger than 4 GiB");
		return P.rc;
	}
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		P.p += 3; /* RFC 8259 lets a parser ignore a byte order mark */
	jl_json_t *root = jl_arena_alloc(a, sizeof *root);
	if (!root) {
		fail(&P, JL_ENOMEM, P.p, "out of memory");
	} else if (parse_value(&P, root) == 0) {
		P.p = skip_ws(P.p, P.end);
		if (P.p != P.end)
			fail(&P, JL_EINVAL, P.p, "unexpected data after the JSON value");
	}
	jl_free(JL_MEM_JSON, P.vs);
	jl_free(JL_MEM_JSON, P.ms);
	if (P.rc == JL_OK)
		*out = root;
	return P.rc;
}

const jl_json_t *jl_json_getn(const jl_json_t *obj, jl_str_t key)
{
	if (!obj || obj->type != JL_JSON_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (jl_str_eq(obj->u.o[i].key, key))
			return &obj->u.o[i].v;
	return NULL;
}

const jl_json_t *jl_json_get(const jl_json_t *obj, const char *key)
{
	return jl_json_getn(obj, jl_cstr(key));
}

const char *jl_json_type_name(jl_json_type t)
{
	static const char *const names[] = {"null", "false", "true", "number", "string", "array", "object"};
	return (unsigned)t <= JL_JSON_OBJECT ? names[t] : "?";
}

jl_json_t jl_json_mkstr(jl_str_t s)
{
	jl_json_t v;
	v.type = JL_JSON_STRING;
	v.n = (uint32_t)s.n;
	v.u.s = s.p;
	return v;
}

jl_rc jl_json_obj_set(jl_arena_t *a, jl_json_t *obj, jl_str_t key, jl_json_t v)
{
	if (obj->type != JL_JSON_OBJECT)
		return JL_EINVAL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (jl_str_eq(obj->u.o[i].key, key)) {
			obj->u.o[i].v = v;
			return JL_OK;
		}
	jl_json_member_t *m = jl_arena_alloc(a, (obj->n + 1) * sizeof *m);
	if (!m)
		return JL_ENOMEM;
	if (obj->n)
		memcpy(m, obj->u.o, obj->n * sizeof *m);
	m[obj->n].key = key;
	m[obj->n].v = v;
	obj->u.o = m;
	obj->n++;
	return JL_OK;
}

void jl_json_obj_del(jl_json_t *obj, jl_str_t key)
{
	if (!obj || obj->type != JL_JSON_OBJECT)
		return;
	for (uint32_t i = 0; i < obj->n; i++)
		if (jl_str_eq(obj->u.o[i].key, key)) {
			memmove(&obj->u.o[i], &obj->u.o[i + 1], (obj->n - i - 1) * sizeof obj->u.o[0]);
			obj->n--;
			return;
		}
}

jl_rc jl_json_arr_insert(jl_arena_t *a, jl_json_t *arr, uint32_t i, jl_json_t v)
{
	if (!arr || arr->type != JL_JSON_ARRAY || i > arr->n)
		return JL_EINVAL;
	if (arr->n == UINT32_MAX)
		return JL_ETOOBIG;
	jl_json_t *items = jl_arena_alloc(a, ((size_t)arr->n + 1) * sizeof *items);
	if (!items)
		return JL_ENOMEM;
	if (i)
		memcpy(items, arr->u.a, (size_t)i * sizeof *items);
	items[i] = v;
	if (arr->n > i)
		memcpy(items + i + 1, arr->u.a + i, (size_t)(arr->n - i) * sizeof *items);
	arr->u.a = items;
	arr->n++;
	return JL_OK;
}

void jl_json_arr_del(jl_json_t *arr, uint32_t i)
{
	if (!arr || arr->type != JL_JSON_ARRAY || i >= arr->n)
		return;
	memmove(&arr->u.a[i], &arr->u.a[i + 1], (size_t)(arr->n - i - 1) * sizeof arr->u.a[0]);
	arr->n--;
}

bool jl_json_equal(const jl_json_t *a, const jl_json_t *b)
{
	if (a->type != b->type || a->n != b->n)
		return false;
	switch (a->type) {
	case JL_JSON_STRING:
	case JL_JSON_NUMBER:
		return a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0;
	case JL_JSON_ARRAY:
		for (uint32_t i = 0; i < a->n; i++)
			if (!jl_json_equal(&a->u.a[i], &b->u.a[i]))
				return false;
		return true;
	case JL_JSON_OBJECT:
		for (uint32_t i = 0; i < a->n; i++) {
			const jl_json_t *o = jl_json_getn(b, a->u.o[i].key);
			if (!o || !jl_json_equal(&a->u.o[i].v, o))
				return false;
		}
		return true;
	default:
		return true;
	}
}

/* ---- writer ---- */

static const char hexd[] = "0123456789abcdef";

/* Nonzero when w holds '"', '\\' or a control byte (non-ASCII passes through). */
static inline uint64_t needs_escape8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"');
	uint64_t b = w ^ (ONES * '\\');
	uint64_t hq = (q - ONES) & ~q;
	uint64_t hb = (b - ONES) & ~b;
	uint64_t lo = (w - ONES * 0x20) & ~w;
	return (hq | hb | lo) & HIGHS;
}

void jl_json_quote(jl_buf_t *b, jl_str_t s)
{
	/* Worst case every byte becomes \u00XX: reserve once, write without checks. */
	if (s.n > (SIZE_MAX - 2) / 6 || jl_buf_reserve(b, s.n * 6 + 2))
		return;
	char *o = b->p + b->n;
	const unsigned char *p = (const unsigned char *)s.p, *end = p + s.n;
	*o++ = '"';
	while (p < end) {
		const unsigned char *run = p;
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (needs_escape8(w))
				break;
			p += 8;
		}
		while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
			p++;
		if (p > run) {
			memcpy(o, run, (size_t)(p - run));
			o += p - run;
		}
		if (p >= end)
			break;
		unsigned c = *p++;
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o++ = '"';
	b->n = (size_t)(o - b->p);
	b->p[b->n] = 0;
}

void jl_jw_init(jl_jw_t *w, jl_buf_t *b, int pretty)
{
	memset(w, 0, sizeof *w);
	w->b = b;
	w->pretty = pretty;
}

static void indent(jl_jw_t *w)
{
	jl_buf_putc(w->b, '\n');
	for (int i = 0; i < w->depth; i++)
		jl_buf_append(w->b, "  ", 2);
}

/* Emits the separator before a value (or key) at the current depth. */
static void before_value(jl_jw_t *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->need_comma)
		jl_buf_putc(w->b, ',');
	if (w->pretty && w->depth > 0)
		indent(w);
	w->need_comma = 1;
}

static void open_container(jl_jw_t *w, char c)
{
	before_value(w);
	jl_buf_putc(w->b, c);
	w->depth++;
	w->need_comma = 0;
}

/* The closed container is itself a value of its parent, so a comma follows it. */
static void close_container(jl_jw_t *w, char c)
{
	int had = w->need_comma;
	w->depth--;
	if (w->pretty && had)
		indent(w);
	jl_buf_putc(w->b, c);
	w->need_comma = 1;
}

void jl_jw_obj_begin(jl_jw_t *w) { open_container(w, '{'); }
void jl_jw_obj_end(jl_jw_t *w) { close_container(w, '}'); }
void jl_jw_arr_begin(jl_jw_t *w) { open_container(w, '['); }
void jl_jw_arr_end(jl_jw_t *w) { close_container(w, ']'); }

void jl_jw_key(jl_jw_t *w, jl_str_t k)
{
	before_value(w);
	jl_json_quote(w->b, k);
	if (w->pretty)
		jl_buf_append(w->b, ": ", 2);
	else
		jl_buf_putc(w->b, ':');
	w->after_key = 1;
}

void jl_jw_keyc(jl_jw_t *w, const char *k) { jl_jw_key(w, jl_cstr(k)); }

void jl_jw_str(jl_jw_t *w, jl_str_t s)
{
	before_value(w);
	jl_json_quote(w->b, s);
}

void jl_jw_strc(jl_jw_t *w, const char *s) { jl_jw_str(w, jl_cstr(s)); }

void jl_jw_int(jl_jw_t *w, int64_t v)
{
	before_value(w);
	jl_buf_printf(w->b, "%lld", (long long)v);
}

void jl_jw_bool(jl_jw_t *w, bool v)
{
	before_value(w);
	if (v)
		jl_buf_append(w->b, "true", 4);
	else
		jl_buf_append(w->b, "false", 5);
}

void jl_jw_null(jl_jw_t *w)
{
	before_value(w);
	jl_buf_append(w->b, "null", 4);
}

void jl_jw_fixed(jl_jw_t *w, double v, int decimals)
{
	if (!isfinite(v)) {
		jl_jw_null(w);
		return;
	}
	char b[64];
	int n = snprintf(b, sizeof b, "%.*f", decimals, v);
	jl_jw_num(w, jl_str(b, n > 0 && (size_t)n < sizeof b ? (size_t)n : 0));
}

void jl_jw_num(jl_jw_t *w, jl_str_t text)
{
	before_value(w);
	jl_buf_append(w->b, text.p, text.n);
}

void jl_jw_raw(jl_jw_t *w, jl_str_t json)
{
	before_value(w);
	jl_buf_append(w->b, json.p, json.n);
}

void jl_jw_value(jl_jw_t *w, const jl_json_t *v)
{
	switch (v->type) {
	case JL_JSON_NULL: jl_jw_null(w); break;
	case JL_JSON_FALSE: jl_jw_bool(w, false); break;
	case JL_JSON_TRUE: jl_jw_bool(w, true); break;
	case JL_JSON_NUMBER: jl_jw_num(w, jl_str(v->u.s, v->n)); break;
	case JL_JSON_STRING: jl_jw_str(w, jl_str(v->u.s, v->n)); break;
	case JL_JSON_ARRAY:
		jl_jw_arr_begin(w);
		for (uint32_t i = 0; i < v->n; i++)
			jl_jw_value(w, &v->u.a[i]);
		jl_jw_arr_end(w);
		break;
	case JL_JSON_OBJECT:
		jl_jw_obj_begin(w);
		for (uint32_t i = 0; i < v->n; i++) {
			jl_jw_key(w, v->u.o[i].key);
			jl_jw_value(w, &v->u.o[i].v);
		}
		jl_jw_obj_end(w);
		break;
	}
}

jl_rc jl_json_write(jl_buf_t *b, const jl_json_t *v, int pretty)
{
	jl_jw_t w;
	jl_jw_init(&w, b, pretty);
	jl_jw_value(&w, v);
	return jl_buf_status(b);
}
