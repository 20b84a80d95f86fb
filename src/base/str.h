/*
 * str — length-carrying strings (jl_str_t) and growable byte buffers
 * (jl_buf_t). Wire data is never NUL-terminated: JSON strings may hold
 * "\u0000", so every string in the program carries its length.
 *
 * A jl_buf_t grows on the jl_malloc heap up to its cap; passing the cap is an
 * error (JL_ETOOBIG), never a silent realloc. The buffer keeps a NUL after
 * its contents so that text may be handed to C APIs, but that NUL is not
 * part of the length.
 */
#ifndef JL_BASE_STR_H
#define JL_BASE_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"

typedef struct jl_str {
	const char *p;
	size_t n;
} jl_str_t;

#define JL_STR(lit) ((jl_str_t){(lit), sizeof(lit) - 1})
#define JL_STR_NULL ((jl_str_t){NULL, 0})
/* printf with "%.*s" */
#define JL_STR_FMT(s) (int)(s).n, (s).p

static inline jl_str_t jl_str(const char *p, size_t n) { return (jl_str_t){p, n}; }
static inline jl_str_t jl_cstr(const char *s) { return (jl_str_t){s, s ? strlen(s) : 0}; }
static inline bool jl_str_eq(jl_str_t a, jl_str_t b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline bool jl_str_eqc(jl_str_t a, const char *c)
{
	size_t n = strlen(c);
	return a.n == n && memcmp(a.p, c, n) == 0;
}
static inline bool jl_str_starts(jl_str_t a, const char *c)
{
	size_t n = strlen(c);
	return a.n >= n && memcmp(a.p, c, n) == 0;
}
/* The first c in s, or NULL; safe on an empty string whose pointer is NULL (memchr is not). */
static inline const char *jl_str_chr(jl_str_t s, char c)
{
	return s.n ? (const char *)memchr(s.p, c, s.n) : NULL;
}
int jl_str_cmp(jl_str_t a, jl_str_t b);
/* ASCII case-insensitive equality (HTTP tokens). */
bool jl_str_ieqc(jl_str_t a, const char *c);
/* Parses a whole decimal integer (optional '-'), no spaces; false on garbage or overflow. */
bool jl_str_to_i64(jl_str_t s, int64_t *out);
/*
 * Decodes standard base64 (RFC 4648 §4, padding required, no whitespace)
 * into out, which must hold in.n / 4 * 3 bytes; false on any bad input.
 */
bool jl_base64_decode(jl_str_t in, char *out, size_t *n);
/* Trims ASCII spaces and tabs on both ends. */
jl_str_t jl_str_trim(jl_str_t s);

typedef struct jl_buf {
	char *p;
	size_t n, cap, max; /* max: hard limit in bytes (0 = 1 GiB) */
	jl_mem_sub sub;
	int err; /* sticky: a failed append makes every later one fail too */
} jl_buf_t;

void jl_buf_init(jl_buf_t *b, jl_mem_sub sub, size_t max);
void jl_buf_dispose(jl_buf_t *b);
/* Gives the bytes to the caller (free with jl_free(b->sub, p)); the buffer becomes empty. */
char *jl_buf_take(jl_buf_t *b, size_t *n);
void jl_buf_clear(jl_buf_t *b);
/* Ensures room for `n` more bytes. JL_ETOOBIG past max, JL_ENOMEM. */
jl_rc jl_buf_reserve(jl_buf_t *b, size_t n);
jl_rc jl_buf_append(jl_buf_t *b, const void *p, size_t n);
jl_rc jl_buf_printf(jl_buf_t *b, const char *fmt, ...) JL_PRINTF(2, 3);
static inline jl_rc jl_buf_puts(jl_buf_t *b, const char *s) { return jl_buf_append(b, s, strlen(s)); }
static inline jl_rc jl_buf_putc(jl_buf_t *b, char c)
{
	if (b->n + 1 < b->cap && !b->err) {
		b->p[b->n++] = c;
		b->p[b->n] = 0;
		return JL_OK;
	}
	return jl_buf_append(b, &c, 1);
}
static inline jl_rc jl_buf_status(const jl_buf_t *b) { return (jl_rc)b->err; }
static inline jl_str_t jl_buf_str(const jl_buf_t *b) { return (jl_str_t){b->p, b->n}; }

#endif
