/*
 * assets — finds a console file in the embedded pack (format in
 * tools/build_console.mjs: a text index of tab-separated lines, an empty
 * line, then the bodies). The Makefile passes the pack's path as
 * JL_WEB_PACK and makes this object depend on it; make cannot see through
 * .incbin otherwise. Without it (builds that skip the console) the pack is
 * empty and every lookup says "not found".
 */
#include "web/assets.h"

#include <string.h>

#ifdef JL_WEB_PACK
__asm__(".section .rodata\n"
	".globl jl_web_pack\n"
	"jl_web_pack:\n"
	".incbin \"" JL_WEB_PACK "\"\n"
	".globl jl_web_pack_end\n"
	"jl_web_pack_end:\n"
	".byte 0\n"
	".previous\n");
extern const char jl_web_pack[];
extern const char jl_web_pack_end[];
#else
static const char jl_web_pack[] = "";
static const char *const jl_web_pack_end = jl_web_pack;
#endif

bool jl_web_assets_built(void)
{
	return &jl_web_pack_end[0] > &jl_web_pack[0];
}

/* The next tab-separated field of a line; false at the end of the line. */
static bool field(const char **p, const char *end, jl_str_t *out)
{
	const char *s = *p;
	const char *e = s;
	while (e < end && *e != '\t' && *e != '\n')
		e++;
	*out = jl_str(s, (size_t)(e - s));
	*p = e < end && *e == '\t' ? e + 1 : e;
	return e > s;
}

static bool to_size(jl_str_t s, size_t *out)
{
	size_t v = 0;
	if (!s.n || s.n > 12)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (size_t)(s.p[i] - '0');
	}
	*out = v;
	return true;
}

jl_rc jl_web_asset_find(jl_str_t path, jl_asset_t *out)
{
	const char *p = &jl_web_pack[0], *end = &jl_web_pack_end[0];
	const char *data = memmem(p, (size_t)(end - p), "\n\n", 2);
	if (!data)
		return JL_ENOTFOUND;
	data += 2;
	size_t total = (size_t)(end - data);
	while (p < data - 1) {
		const char *eol = memchr(p, '\n', (size_t)(data - p));
		jl_str_t f[7];
		int n = 0;
		while (n < 7 && field(&p, eol, &f[n]))
			n++;
		p = eol + 1;
		if (n != 7 || !jl_str_eq(f[0], path))
			continue;
		size_t off, len, goff, glen;
		/* The pack is ours, but a truncated one must not read past its end. */
		if (!to_size(f[3], &off) || !to_size(f[4], &len) || !to_size(f[5], &goff) || !to_size(f[6], &glen) ||
		    off > total || len > total - off || goff > total || glen > total - goff)
			return JL_EIO;
		out->path = f[0];
		out->content_type = f[1];
		out->etag = f[2];
		out->body = jl_str(data + off, len);
		out->gzip = jl_str(data + goff, glen);
		return JL_OK;
	}
	return JL_ENOTFOUND;
}
