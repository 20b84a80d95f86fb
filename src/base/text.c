/*
 * text — search folding with utf8proc's non-allocating API: decompose into
 * an arena buffer of code points, drop marks and ignorables, re-encode in
 * place, then collapse whitespace.
 */
#include "base/text.h"

#include <utf8proc.h>

jl_rc jl_text_fold(jl_arena_t *a, jl_str_t in, jl_str_t *out)
{
	/* Decompose (NFKD + case fold, marks and ignorables dropped), then recompose what is left. */
	const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
				       UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP;
	const utf8proc_option_t recompose = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
	*out = JL_STR_NULL;
	if (in.n > (size_t)INT32_MAX / 8)
		return JL_ETOOBIG;
	/* ASCII without upper case or control characters folds to itself but for spaces: fast path. */
	bool plain = true;
	for (size_t i = 0; i < in.n && plain; i++) {
		unsigned char c = (unsigned char)in.p[i];
		plain = c >= 0x20 && c < 0x7F && !(c >= 'A' && c <= 'Z');
	}
	utf8proc_int32_t *cp = NULL;
	utf8proc_ssize_t n;
	char *buf;
	if (plain) {
		buf = jl_arena_strndup(a, in.p, in.n);
		if (!buf)
			return JL_ENOMEM;
		n = (utf8proc_ssize_t)in.n;
	} else {
		/* Decomposition can grow a string; ask for the size first. */
		n = utf8proc_decompose((const utf8proc_uint8_t *)in.p, (utf8proc_ssize_t)in.n, NULL, 0, opts);
		if (n < 0)
			return JL_EINVAL;
		cp = jl_arena_alloc(a, ((size_t)n + 1) * sizeof *cp);
		if (!cp)
			return JL_ENOMEM;
		n = utf8proc_decompose((const utf8proc_uint8_t *)in.p, (utf8proc_ssize_t)in.n, cp, n, opts);
		if (n < 0)
			return JL_EINVAL;
		/* Re-encoding needs 4 bytes per code point at most, and writes over cp. */
		n = utf8proc_reencode(cp, n, recompose);
		if (n < 0)
			return JL_EINVAL;
		buf = (char *)cp;
	}
	/* Collapse whitespace runs to one space and trim. */
	size_t w = 0;
	bool space = true;
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space)
				buf[w++] = ' ';
			space = true;
		} else {
			buf[w++] = c;
			space = false;
		}
	}
	if (w && buf[w - 1] == ' ')
		w--;
	buf[w] = 0;
	*out = jl_str(buf, w);
	return JL_OK;
}
