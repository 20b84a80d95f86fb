/*
 * str — string helpers and the capped growable buffer.
 */
#include "base/str.h"

#include <stdio.h>

int jl_str_cmp(jl_str_t a, jl_str_t b)
{
	size_t n = a.n < b.n ? a.n : b.n;
	int c = n ? memcmp(a.p, b.p, n) : 0;
	if (c)
		return c;
	return a.n < b.n ? -1 : a.n > b.n;
}

bool jl_str_ieqc(jl_str_t a, const char *c)
{
	size_t n = strlen(c);
	if (a.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.p[i], y = (unsigned char)c[i];
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return false;
	}
	return true;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool jl_base64_decode(jl_str_t in, char *out, size_t *n)
{
	*n = 0;
	if (in.n % 4)
		return false;
	size_t k = 0;
	for (size_t i = 0; i < in.n; i += 4) {
		int v[4];
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in.p[i + j];
			/* '=' only as the last one or two characters of the input */
			if (c == '=' && i + 4 == in.n && j >= 2 && (j == 3 || in.p[i + 3] == '=')) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad || (v[j] = b64_value(c)) < 0)
				return false;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[k++] = (char)(w >> 16);
		if (pad < 2)
			out[k++] = (char)(w >> 8);
		if (pad < 1)
			out[k++] = (char)w;
	}
	*n = k;
	return true;
}

bool jl_str_to_i64(jl_str_t s, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	if (s.n && s.p[0] == '-') {
		neg = 1;
		i = 1;
		lim += 1;
	}
	if (i == s.n || s.n - i > 19)
		return false;
	for (; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return false;
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

jl_str_t jl_str_trim(jl_str_t s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

void jl_buf_init(jl_buf_t *b, jl_mem_sub sub, size_t max)
{
	b->p = NULL;
	b->n = b->cap = 0;
	b->max = max ? max : ((size_t)1 << 30);
	b->sub = sub;
	b->err = 0;
}

void jl_buf_dispose(jl_buf_t *b)
{
	jl_free(b->sub, b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

char *jl_buf_take(jl_buf_t *b, size_t *n)
{
	char *p = b->p;
	if (n)
		*n = b->n;
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void jl_buf_clear(jl_buf_t *b)
{
	b->n = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = 0;
}

jl_rc jl_buf_reserve(jl_buf_t *b, size_t n)
{
	if (b->err)
		return (jl_rc)b->err;
	if (b->n + n + 1 <= b->cap)
		return JL_OK;
	if (n > b->max || b->n + n > b->max) {
		b->err = JL_ETOOBIG;
		return JL_ETOOBIG;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + n + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	char *p = jl_realloc(b->sub, b->p, cap);
	if (!p) {
		b->err = JL_ENOMEM;
		return JL_ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return JL_OK;
}

jl_rc jl_buf_append(jl_buf_t *b, const void *p, size_t n)
{
	jl_rc rc = jl_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
	return JL_OK;
}

jl_rc jl_buf_printf(jl_buf_t *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	jl_rc rc = k < 0 ? JL_EINTERNAL : jl_buf_reserve(b, (size_t)k);
	if (!rc) {
		vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap2);
		b->n += (size_t)k;
	}
	va_end(ap2);
	return rc;
}
