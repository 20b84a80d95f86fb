/*
 * div — inflates the embedded division list and keeps what the generator
 * needs. The blob is linked in with the assembler's .incbin (path relative
 * to the repository root, where make runs the compiler); divisions.gen.h
 * changes whenever the data does, so this object is rebuilt with it.
 */
#include "registry/div.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "base/alloc.h"
#include "registry/divisions.gen.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	".globl jl_gen_div_blob\n"
	"jl_gen_div_blob:\n"
	".incbin \"data/divisions.tsv.gz\"\n"
	".globl jl_gen_div_blob_end\n"
	"jl_gen_div_blob_end:\n"
	".byte 0\n"
	".previous\n");
extern const unsigned char jl_gen_div_blob[];
extern const unsigned char jl_gen_div_blob_end[];

static jl_rc inflate_all(char **out, size_t *n)
{
	size_t in_n = (size_t)(jl_gen_div_blob_end - jl_gen_div_blob);
	if (in_n != JL_GEN_DIV_GZ_SIZE)
		return JL_EIO;
	size_t cap = JL_GEN_DIV_TEXT_SIZE + 1;
	char *buf = jl_malloc(JL_MEM_MISC, cap);
	if (!buf)
		return JL_ENOMEM;
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		jl_free(JL_MEM_MISC, buf);
		return JL_ENOMEM;
	}
	z.next_in = (unsigned char *)jl_gen_div_blob;
	z.avail_in = (uInt)in_n;
	z.next_out = (unsigned char *)buf;
	z.avail_out = (uInt)cap;
	int zr = inflate(&z, Z_FINISH);
	size_t got = z.total_out;
	inflateEnd(&z);
	if (zr != Z_STREAM_END || got != JL_GEN_DIV_TEXT_SIZE) {
		jl_free(JL_MEM_MISC, buf);
		return JL_EIO;
	}
	buf[got] = 0;
	*out = buf;
	*n = got;
	return JL_OK;
}

static uint64_t parse_digits(const char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	return v;
}

/* Growable arrays on the jl_malloc heap, copied into the arena at the end. */
typedef struct vec {
	void *p;
	size_t n, cap, elem;
} vec_t;

static void *vec_push(vec_t *v)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 256;
		void *np = jl_realloc(JL_MEM_MISC, v->p, nc * v->elem);
		if (!np)
			return NULL;
		v->p = np;
		v->cap = nc;
	}
	void *e = (char *)v->p + v->n * v->elem;
	v->n++;
	memset(e, 0, v->elem);
	return e;
}

static void *vec_to_arena(jl_arena_t *a, vec_t *v)
{
	void *p = jl_arena_alloc(a, v->n ? v->n * v->elem : 1);
	if (p && v->n)
		memcpy(p, v->p, v->n * v->elem);
	return p;
}

jl_rc jl_geo_load(jl_arena_t *a, uint32_t pref_code, jl_geo_t *g, jl_diag_t *d)
{
	memset(g, 0, sizeof *g);
	char *text = NULL;
	size_t n = 0;
	jl_rc rc = inflate_all(&text, &n);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "The embedded division list is damaged (%s)", jl_rc_name(rc));
		return rc;
	}
	vec_t vc = {.elem = sizeof(jl_geo_county_t)}, vt = {.elem = sizeof(jl_geo_town_t)},
	      vv = {.elem = sizeof(jl_geo_village_t)}, vn = {.elem = sizeof(jl_geo_natcounty_t)};
	uint64_t code[6] = {0};
	const char *names[4] = {"", "", "", ""}; /* current province, prefecture */
	uint32_t want_pref = pref_code / 100; /* 4 digits */
	const char *p = text, *end = text + n;
	rc = JL_OK;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (*p == '#') {
			g->source = jl_arena_strndup(a, p + 1, (size_t)(nl - p - 1));
			p = nl + 1;
			continue;
		}
		const char *tab = memchr(p, '\t', (size_t)(nl - p));
		if (!tab || *p < '1' || *p > '5') {
			rc = JL_EIO;
			break;
		}
		int lvl = *p - '0';
		static const int suf[6] = {0, 2, 2, 2, 3, 3};
		if (tab - p - 1 != suf[lvl]) {
			rc = JL_EIO;
			break;
		}
		uint64_t s = parse_digits(p + 1, (size_t)suf[lvl]);
		code[lvl] = lvl == 1 ? s : code[lvl - 1] * (lvl <= 3 ? 100 : 1000) + s;
		const char *name = tab + 1;
		size_t nn = (size_t)(nl - name);
		bool in_pref = lvl >= 2 && code[2] == want_pref;
		if (lvl <= 2 || lvl == 3 || in_pref) {
			char *nm = jl_arena_strndup(a, name, nn);
			if (!nm) {
				rc = JL_ENOMEM;
				break;
			}
			if (lvl <= 2)
				names[lvl] = nm;
			if (lvl == 2 && in_pref) {
				g->prov_name = names[1];
				g->pref_name = nm;
			}
			if (lvl == 3) {
				jl_geo_natcounty_t *c = vec_push(&vn);
				if (!c) {
					rc = JL_ENOMEM;
					break;
				}
				c->code = (uint32_t)code[3];
				c->prov = names[1];
				c->pref = names[2];
				c->name = nm;
			}
			if (lvl == 3 && in_pref) {
				jl_geo_county_t *c = vec_push(&vc);
				if (!c) {
					rc = JL_ENOMEM;
					break;
				}
				c->code = (uint32_t)code[3];
				c->name = nm;
				c->town0 = (uint32_t)vt.n;
			} else if (lvl == 4 && in_pref && vc.n) {
				jl_geo_town_t *t = vec_push(&vt);
				if (!t) {
					rc = JL_ENOMEM;
					break;
				}
				t->code = code[4];
				t->name = nm;
				t->county = (uint32_t)vc.n - 1;
				t->vill0 = (uint32_t)vv.n;
				t->street = (code[4] % 1000) < 100;
				((jl_geo_county_t *)vc.p)[vc.n - 1].ntown++;
			} else if (lvl == 5 && in_pref && vt.n) {
				jl_geo_village_t *v = vec_push(&vv);
				if (!v) {
					rc = JL_ENOMEM;
					break;
				}
				v->code = code[5];
				v->name = nm;
				v->town = (uint32_t)vt.n - 1;
				v->urban = (code[5] % 1000) < 200;
				((jl_geo_town_t *)vt.p)[vt.n - 1].nvill++;
			}
		}
		p = nl + 1;
	}
	if (rc == JL_EIO)
		jl_diag_err(d, "exception", NULL, "The embedded division list is malformed");
	else if (rc == JL_OK && (!g->pref_name || !vv.n)) {
		jl_diag_err(d, "not-found", NULL, "No prefecture-level division %06u with villages in the NBS 2023 list",
			    pref_code);
		rc = JL_ENOTFOUND;
	}
	if (rc == JL_OK) {
		g->pref_code = pref_code;
		g->counties = vec_to_arena(a, &vc);
		g->towns = vec_to_arena(a, &vt);
		g->villages = vec_to_arena(a, &vv);
		g->nat = vec_to_arena(a, &vn);
		if (!g->counties || !g->towns || !g->villages || !g->nat)
			rc = JL_ENOMEM;
		g->ncounties = (uint32_t)vc.n;
		g->ntowns = (uint32_t)vt.n;
		g->nvillages = (uint32_t)vv.n;
		g->nnat = (uint32_t)vn.n;
		/* Counties without townships (rare) are dropped from sampling by weight 0 later. */
	}
	jl_free(JL_MEM_MISC, vc.p);
	jl_free(JL_MEM_MISC, vt.p);
	jl_free(JL_MEM_MISC, vv.p);
	jl_free(JL_MEM_MISC, vn.p);
	jl_free(JL_MEM_MISC, text);
	return rc;
}
