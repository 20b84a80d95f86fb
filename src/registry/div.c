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

/* One prefecture's lists while the text is read. */
typedef struct pref_acc {
	vec_t vc, vt, vv;
	const char *prov_name, *pref_name;
} pref_acc_t;

/*
 * One pass over the inflated list: the prefectures whose 4-digit codes lie
 * in [lo4, lo4 + n) into acc[code - lo4], the national county list into vn.
 * JL_EIO when the text is malformed, JL_ENOMEM.
 */
static jl_rc parse(jl_arena_t *a, const char *text, size_t n, uint32_t lo4, uint32_t nacc, pref_acc_t *acc, vec_t *vn,
		   const char **source)
{
	uint64_t code[6] = {0};
	const char *names[4] = {"", "", "", ""}; /* current province, prefecture */
	const char *p = text, *end = text + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (*p == '#') {
			*source = jl_arena_strndup(a, p + 1, (size_t)(nl - p - 1));
			p = nl + 1;
			continue;
		}
		const char *tab = memchr(p, '\t', (size_t)(nl - p));
		if (!tab || *p < '1' || *p > '5')
			return JL_EIO;
		int lvl = *p - '0';
		static const int suf[6] = {0, 2, 2, 2, 3, 3};
		if (tab - p - 1 != suf[lvl])
			return JL_EIO;
		uint64_t s = parse_digits(p + 1, (size_t)suf[lvl]);
		code[lvl] = lvl == 1 ? s : code[lvl - 1] * (lvl <= 3 ? 100 : 1000) + s;
		const char *name = tab + 1;
		size_t nn = (size_t)(nl - name);
		pref_acc_t *pa = lvl >= 2 && code[2] >= lo4 && code[2] - lo4 < nacc ? &acc[code[2] - lo4] : NULL;
		if (lvl <= 3 || pa) {
			char *nm = jl_arena_strndup(a, name, nn);
			if (!nm)
				return JL_ENOMEM;
			if (lvl <= 2)
				names[lvl] = nm;
			if (lvl == 2 && pa) {
				pa->prov_name = names[1];
				pa->pref_name = nm;
			}
			if (lvl == 3) {
				jl_geo_natcounty_t *c = vec_push(vn);
				if (!c)
					return JL_ENOMEM;
				c->code = (uint32_t)code[3];
				c->prov = names[1];
				c->pref = names[2];
				c->name = nm;
			}
			if (lvl == 3 && pa) {
				jl_geo_county_t *c = vec_push(&pa->vc);
				if (!c)
					return JL_ENOMEM;
				c->code = (uint32_t)code[3];
				c->name = nm;
				c->town0 = (uint32_t)pa->vt.n;
			} else if (lvl == 4 && pa && pa->vc.n) {
				jl_geo_town_t *t = vec_push(&pa->vt);
				if (!t)
					return JL_ENOMEM;
				t->code = code[4];
				t->name = nm;
				t->county = (uint32_t)pa->vc.n - 1;
				t->vill0 = (uint32_t)pa->vv.n;
				t->street = (code[4] % 1000) < 100;
				((jl_geo_county_t *)pa->vc.p)[pa->vc.n - 1].ntown++;
			} else if (lvl == 5 && pa && pa->vt.n) {
				jl_geo_village_t *v = vec_push(&pa->vv);
				if (!v)
					return JL_ENOMEM;
				v->code = code[5];
				v->name = nm;
				v->town = (uint32_t)pa->vt.n - 1;
				v->urban = (code[5] % 1000) < 200;
				((jl_geo_town_t *)pa->vt.p)[pa->vt.n - 1].nvill++;
			}
		}
		p = nl + 1;
	}
	return JL_OK;
}

/* A prefecture's lists into the arena. JL_ENOMEM. */
static jl_rc to_geo(jl_arena_t *a, uint32_t pref_code, pref_acc_t *pa, jl_geo_natcounty_t *nat, uint32_t nnat,
		    const char *source, jl_geo_t *g)
{
	memset(g, 0, sizeof *g);
	g->pref_code = pref_code;
	g->prov_name = pa->prov_name;
	g->pref_name = pa->pref_name;
	g->counties = vec_to_arena(a, &pa->vc);
	g->towns = vec_to_arena(a, &pa->vt);
	g->villages = vec_to_arena(a, &pa->vv);
	g->nat = nat;
	g->nnat = nnat;
	g->source = source;
	g->ncounties = (uint32_t)pa->vc.n;
	g->ntowns = (uint32_t)pa->vt.n;
	g->nvillages = (uint32_t)pa->vv.n;
	/* Counties without townships (rare) are dropped from sampling by weight 0 later. */
	return g->counties && g->towns && g->villages ? JL_OK : JL_ENOMEM;
}

/*
 * The prefectures [lo4, lo4 + nacc) (4-digit codes) that have villages, in
 * code order, into out (at most max; *nout of them) from one inflation and
 * one pass over the list.
 */
static jl_rc load(jl_arena_t *a, uint32_t lo4, uint32_t nacc, jl_geo_t *out, uint32_t max, uint32_t *nout,
		  jl_diag_t *d)
{
	*nout = 0;
	char *text = NULL;
	size_t n = 0;
	jl_rc rc = inflate_all(&text, &n);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "The embedded division list is damaged (%s)", jl_rc_name(rc));
		return rc;
	}
	pref_acc_t *acc = jl_calloc(JL_MEM_MISC, nacc, sizeof *acc);
	vec_t vn = {.elem = sizeof(jl_geo_natcounty_t)};
	const char *source = NULL;
	rc = acc ? JL_OK : JL_ENOMEM;
	for (uint32_t k = 0; acc && k < nacc; k++) {
		acc[k].vc.elem = sizeof(jl_geo_county_t);
		acc[k].vt.elem = sizeof(jl_geo_town_t);
		acc[k].vv.elem = sizeof(jl_geo_village_t);
	}
	if (!rc)
		rc = parse(a, text, n, lo4, nacc, acc, &vn, &source);
	if (rc == JL_EIO)
		jl_diag_err(d, "exception", NULL, "The embedded division list is malformed");
	jl_geo_natcounty_t *nat = rc ? NULL : vec_to_arena(a, &vn);
	if (!rc && !nat)
		rc = JL_ENOMEM;
	for (uint32_t k = 0; !rc && k < nacc && *nout < max; k++)
		if (acc[k].pref_name && acc[k].vv.n)
			rc = to_geo(a, (lo4 + k) * 100, &acc[k], nat, (uint32_t)vn.n, source, &out[(*nout)++]);
	for (uint32_t k = 0; acc && k < nacc; k++) {
		jl_free(JL_MEM_MISC, acc[k].vc.p);
		jl_free(JL_MEM_MISC, acc[k].vt.p);
		jl_free(JL_MEM_MISC, acc[k].vv.p);
	}
	jl_free(JL_MEM_MISC, acc);
	jl_free(JL_MEM_MISC, vn.p);
	jl_free(JL_MEM_MISC, text);
	return rc;
}

jl_rc jl_geo_load(jl_arena_t *a, uint32_t pref_code, jl_geo_t *g, jl_diag_t *d)
{
	memset(g, 0, sizeof *g);
	uint32_t n;
	jl_rc rc = load(a, pref_code / 100, 1, g, 1, &n, d);
	if (rc == JL_OK && !n) {
		jl_diag_err(d, "not-found", NULL, "No prefecture-level division %06u with villages in the NBS 2023 list",
			    pref_code);
		rc = JL_ENOTFOUND;
	}
	return rc;
}

jl_rc jl_geo_load_province(jl_arena_t *a, uint32_t prov_code, jl_geo_t *out, uint32_t max, uint32_t *n,
			   jl_diag_t *d)
{
	*n = 0;
	jl_rc rc = prov_code % 10000 || prov_code < 110000 || prov_code >= 1000000
			   ? JL_OK
			   : load(a, prov_code / 100 + 1, 99, out, max, n, d);
	if (rc == JL_OK && !*n) {
		jl_diag_err(d, "not-found", NULL, "No province %06u with villages in the NBS 2023 list", prov_code);
		rc = JL_ENOTFOUND;
	}
	return rc;
}
