/*
 * defs — the registry of search parameters: the generated table plus
 * custom SearchParameter resources, with compiled expressions, and the
 * index rebuild that a change of definitions requires.
 */
#include "search/defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "fhir/resource.h"
#include "search/index.h"

struct jl_search_defs {
	jl_arena_t *a;
	const jl_fp_expr_t **expr;      /* parallel to jl_searchparams */
	const jl_fp_expr_t **comp;      /* component expressions, flattened */
	uint32_t *comp_first;           /* index into comp for each parameter */
	jl_searchparam_t *custom;       /* sorted by (base, code) */
	const jl_fp_expr_t **cexpr;     /* parallel to custom */
	uint32_t ncustom;
	uint64_t fingerprint;
	/* derived parameters (see jl_search_defs_sources): parallel to jl_searchparams */
	const jl_searchparam_t **src;   /* flattened */
	uint32_t *src_first;
	uint8_t *nsrc;
};

static uint64_t fp_str(uint64_t fp, const char *s)
{
	return jl_hash_bytes(fp, s ? s : "", s ? strlen(s) + 1 : 0);
}

/* Whether two composites have the same components (types and expressions). */
static bool same_components(const jl_searchparam_t *a, const jl_searchparam_t *b)
{
	if (a->ncomponents != b->ncomponents)
		return false;
	for (uint8_t i = 0; i < a->ncomponents; i++)
		if (a->components[i].type != b->components[i].type || !a->components[i].expression ||
		    !b->components[i].expression || strcmp(a->components[i].expression, b->components[i].expression))
			return false;
	return true;
}

/* The generated parameter of p's base and type, other than p, whose expression is exactly e[0..n). */
static const jl_searchparam_t *param_with_expression(const jl_searchparam_t *p, const char *e, size_t n)
{
	for (uint32_t i = 0; i < jl_nsearchparams; i++) {
		const jl_searchparam_t *q = &jl_searchparams[i];
		if (q != p && q->type == p->type && q->expression && strlen(q->expression) == n &&
		    !memcmp(q->expression, e, n) && !strcmp(q->base, p->base) &&
		    (p->type != JL_SP_COMPOSITE || same_components(p, q)))
			return q;
	}
	return NULL;
}

#define MAX_SOURCES 4

/*
 * The sources of p when its expression is a union "E1 | E2 …" of other
 * parameters' expressions (outside parentheses): Observation's combo-code is
 * code | component-code. Only tokens and composites qualify: a condition on
 * them is the same condition on each source, OR'ed, whatever the modifier,
 * while number, date and string parameters can also sort by their own rows.
 */
static uint8_t find_sources(const jl_searchparam_t *p, const jl_searchparam_t **out)
{
	if ((p->type != JL_SP_TOKEN && p->type != JL_SP_COMPOSITE) || !p->expression)
		return 0;
	const char *e = p->expression, *start = e;
	uint8_t n = 0;
	int depth = 0;
	for (const char *c = e;; c++) {
		if (*c == '(')
			depth++;
		else if (*c == ')')
			depth--;
		bool end = !*c;
		if (!end && !(depth == 0 && c[0] == ' ' && c[1] == '|' && c[2] == ' '))
			continue;
		if (n == MAX_SOURCES)
			return 0;
		const jl_searchparam_t *q = param_with_expression(p, start, (size_t)(c - start));
		if (!q)
			return 0;
		out[n++] = q;
		if (end)
			break;
		start = c + 3;
		c += 2;
	}
	return n > 1 ? n : 0;
}

static jl_rc derive(jl_search_defs_t *defs)
{
	defs->src_first = jl_arena_calloc(defs->a, jl_nsearchparams, sizeof *defs->src_first);
	defs->nsrc = jl_arena_calloc(defs->a, jl_nsearchparams, sizeof *defs->nsrc);
	if (!defs->src_first || !defs->nsrc)
		return JL_ENOMEM;
	uint32_t total = 0, cap = 0;
	for (uint32_t i = 0; i < jl_nsearchparams; i++) {
		const jl_searchparam_t *found[MAX_SOURCES];
		uint8_t n = find_sources(&jl_searchparams[i], found);
		if (!n)
			continue;
		if (total + n > cap) {
			cap = cap ? cap * 2 : 64;
			const jl_searchparam_t **src = jl_arena_alloc(defs->a, cap * sizeof *src);
			if (!src)
				return JL_ENOMEM;
			if (total)
				memcpy(src, defs->src, total * sizeof *src);
			defs->src = src;
		}
		defs->src_first[i] = total;
		defs->nsrc[i] = n;
		for (uint8_t k = 0; k < n; k++)
			defs->src[total++] = found[k];
	}
	/* A source must have rows itself: a union of unions keeps its own rows (none in R4 today). */
	for (bool changed = true; changed;) {
		changed = false;
		for (uint32_t i = 0; i < jl_nsearchparams; i++)
			for (uint8_t k = 0; k < defs->nsrc[i]; k++)
				if (defs->nsrc[defs->src[defs->src_first[i] + k] - jl_searchparams]) {
					defs->nsrc[i] = 0;
					changed = true;
					break;
				}
	}
	return JL_OK;
}

static jl_rc compile_static(jl_search_defs_t *defs, jl_diag_t *d)
{
	jl_arena_t *a = defs->a;
	uint32_t ncomp = 0;
	for (uint32_t i = 0; i < jl_nsearchparams; i++)
		ncomp += jl_searchparams[i].ncomponents;
	defs->expr = jl_arena_calloc(a, jl_nsearchparams, sizeof *defs->expr);
	defs->comp = jl_arena_calloc(a, ncomp + 1, sizeof *defs->comp);
	defs->comp_first = jl_arena_calloc(a, jl_nsearchparams, sizeof *defs->comp_first);
	if (!defs->expr || !defs->comp || !defs->comp_first)
		return JL_ENOMEM;
	/* The rows' layout is part of what the stored index was built with: 2 = quantity units in columns,
	 * 3 = a string's :exact row only when its folded form differs, 4 = no rows for derived parameters,
	 * 5 = a token's system in a column of its code's row. */
	uint64_t layout = 5;
	uint64_t fp = jl_hash_bytes(JL_HASH_SEED, &layout, sizeof layout);
	uint32_t c = 0;
	for (uint32_t i = 0; i < jl_nsearchparams; i++) {
		const jl_searchparam_t *p = &jl_searchparams[i];
		fp = fp_str(fp_str(fp_str(fp, p->base), p->code), p->expression);
		if (p->expression) {
			jl_fp_expr_t *e = NULL;
			if (jl_fp_compile(a, jl_cstr(p->expression), &e, NULL) == JL_OK)
				defs->expr[i] = e;
			else if (d)
				jl_diag_add(d, JL_SEV_WARNING, "not-supported", NULL,
					    "search parameter %s.%s is not indexed: its expression does not compile", p->base,
					    p->code);
		}
		defs->comp_first[i] = c;
		for (uint8_t k = 0; k < p->ncomponents; k++, c++) {
			jl_fp_expr_t *e = NULL;
			if (jl_fp_compile(a, jl_cstr(p->components[k].expression), &e, NULL) == JL_OK)
				defs->comp[c] = e;
		}
	}
	defs->fingerprint = fp;
	return JL_OK;
}

static int cmp_custom(const void *x, const void *y)
{
	const jl_searchparam_t *a = x, *b = y;
	int c = strcmp(a->base, b->base);
	return c ? c : strcmp(a->code, b->code);
}

static jl_sp_type sp_type_of(jl_str_t s)
{
	static const char *const names[] = {"number", "date", "string", "token", "reference", "composite",
					    "quantity", "uri", "special"};
	for (int i = 0; i < 9; i++)
		if (jl_str_eqc(s, names[i]))
			return (jl_sp_type)(i + 1);
	return 0;
}

/* Adds the custom parameters among the stored SearchParameter resources. */
static jl_rc load_custom(jl_search_defs_t *defs, jl_store_t *store, jl_diag_t *d)
{
	jl_arena_t *tmp = jl_arena_new(1 << 16, 0);
	if (!tmp)
		return JL_ENOMEM;
	jl_sq_query_t q = {.type = JL_STR("SearchParameter"), .count = 10000, .no_cursor = true};
	jl_sq_page_t pg;
	jl_rc rc = jl_store_search(store, tmp, &q, &pg, NULL);
	size_t cap = 0;
	for (size_t i = 0; !rc && i < pg.n; i++) {
		const jl_version_t *v = &pg.items[i];
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		jl_json_t *sp = NULL;
		jl_json_err_t e;
		if (jl_fhir_body_assemble(&b, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta) == JL_OK) {
			jl_str_t text = jl_arena_str(tmp, jl_buf_str(&b));
			if (text.p && jl_json_parse(tmp, text.p, text.n, NULL, &sp, &e) != JL_OK)
				sp = NULL;
		}
		jl_buf_dispose(&b);
		if (!sp)
			continue;
		jl_str_t code = jl_json_str(jl_json_get(sp, "code"));
		jl_str_t expr = jl_json_str(jl_json_get(sp, "expression"));
		jl_str_t status = jl_json_str(jl_json_get(sp, "status"));
		jl_sp_type type = sp_type_of(jl_json_str(jl_json_get(sp, "type")));
		const jl_json_t *bases = jl_json_get(sp, "base");
		if (!code.n || !expr.n || !jl_json_is(bases, JL_JSON_ARRAY) || jl_str_eqc(status, "retired"))
			continue;
		for (uint32_t k = 0; k < bases->n; k++) {
			jl_str_t base = jl_json_str(&bases->u.a[k]);
			if (jl_searchparam(base, code))
				continue; /* the specification already defines it (the official resources are stored too) */
			if (!type || type == JL_SP_COMPOSITE || type == JL_SP_SPECIAL || !jl_fhir_type(base)) {
				if (d)
					jl_diag_add(d, JL_SEV_WARNING, "not-supported", NULL,
						    "custom search parameter %.*s.%.*s is left out: unsupported type or base",
						    JL_STR_FMT(base), JL_STR_FMT(code));
				continue;
			}
			jl_fp_expr_t *ce = NULL;
			if (jl_fp_compile(defs->a, expr, &ce, NULL) != JL_OK) {
				if (d)
					jl_diag_add(d, JL_SEV_WARNING, "invalid", NULL,
						    "custom search parameter %.*s.%.*s is left out: its expression does not compile",
						    JL_STR_FMT(base), JL_STR_FMT(code));
				continue;
			}
			if (defs->ncustom == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				jl_searchparam_t *np = jl_arena_alloc(defs->a, ncap * sizeof *np);
				const jl_fp_expr_t **ne = jl_arena_alloc(defs->a, ncap * sizeof *ne);
				if (!np || !ne) {
					rc = JL_ENOMEM;
					break;
				}
				if (defs->ncustom) {
					memcpy(np, defs->custom, defs->ncustom * sizeof *np);
					memcpy(ne, defs->cexpr, defs->ncustom * sizeof *ne);
				}
				defs->custom = np;
				defs->cexpr = ne;
				cap = ncap;
			}
			jl_searchparam_t *p = &defs->custom[defs->ncustom];
			memset(p, 0, sizeof *p);
			p->code = jl_arena_strndup(defs->a, code.p, code.n);
			p->base = jl_arena_strndup(defs->a, base.p, base.n);
			jl_str_t url = jl_json_str(jl_json_get(sp, "url"));
			p->url = jl_arena_strndup(defs->a, url.p ? url.p : "", url.n);
			p->expression = jl_arena_strndup(defs->a, expr.p, expr.n);
			p->type = (uint8_t)type;
			const jl_json_t *tg = jl_json_get(sp, "target");
			if (jl_json_is(tg, JL_JSON_ARRAY) && tg->n) {
				const char **t = jl_arena_alloc(defs->a, tg->n * sizeof *t);
				for (uint32_t j = 0; t && j < tg->n && j < 255; j++) {
					jl_str_t s = jl_json_str(&tg->u.a[j]);
					t[j] = jl_arena_strndup(defs->a, s.p ? s.p : "", s.n);
				}
				p->targets = t;
				p->ntargets = t ? (uint8_t)(tg->n > 255 ? 255 : tg->n) : 0;
			}
			if (!p->code || !p->base || !p->url || !p->expression) {
				rc = JL_ENOMEM;
				break;
			}
			/* keep the compiled tree in step with the entry while sorting */
			defs->cexpr[defs->ncustom] = ce;
			defs->ncustom++;
		}
	}
	jl_arena_free(tmp);
	if (rc)
		return rc;
	/* Sort entries and their expressions together: sort an index, then permute. */
	if (defs->ncustom > 1) {
		typedef struct pair {
			jl_searchparam_t p;
			const jl_fp_expr_t *e;
		} pair_t;
		pair_t *pairs = jl_arena_alloc(defs->a, defs->ncustom * sizeof *pairs);
		if (!pairs)
			return JL_ENOMEM;
		for (uint32_t i = 0; i < defs->ncustom; i++) {
			pairs[i].p = defs->custom[i];
			pairs[i].e = defs->cexpr[i];
		}
		qsort(pairs, defs->ncustom, sizeof *pairs, cmp_custom); /* p is the first member */
		for (uint32_t i = 0; i < defs->ncustom; i++) {
			defs->custom[i] = pairs[i].p;
			defs->cexpr[i] = pairs[i].e;
		}
	}
	for (uint32_t i = 0; i < defs->ncustom; i++) {
		const jl_searchparam_t *p = &defs->custom[i];
		defs->fingerprint = fp_str(fp_str(fp_str(defs->fingerprint, p->base), p->code), p->expression);
		defs->fingerprint = jl_hash_bytes(defs->fingerprint, &p->type, 1);
	}
	return JL_OK;
}

jl_rc jl_search_defs_new(jl_search_defs_t **out, jl_store_t *store, jl_diag_t *d)
{
	*out = NULL;
	jl_arena_t *a = jl_arena_new(1 << 20, 0);
	if (!a)
		return JL_ENOMEM;
	jl_search_defs_t *defs = jl_arena_calloc(a, 1, sizeof *defs);
	if (!defs) {
		jl_arena_free(a);
		return JL_ENOMEM;
	}
	defs->a = a;
	jl_rc rc = compile_static(defs, d);
	if (!rc)
		rc = derive(defs);
	if (!rc && store)
		rc = load_custom(defs, store, d);
	if (rc) {
		jl_arena_free(a);
		return rc;
	}
	*out = defs;
	return JL_OK;
}

void jl_search_defs_free(jl_search_defs_t *defs)
{
	if (defs)
		jl_arena_free(defs->a);
}

static const jl_searchparam_t *find_custom(const jl_search_defs_t *defs, jl_str_t base, jl_str_t code)
{
	uint32_t lo = 0, hi = defs->ncustom;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const jl_searchparam_t *p = &defs->custom[mid];
		int c = jl_str_cmp(base, jl_cstr(p->base));
		if (!c)
			c = jl_str_cmp(code, jl_cstr(p->code));
		if (!c)
			return p;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const jl_searchparam_t *jl_search_param(const jl_search_defs_t *defs, jl_str_t type, jl_str_t code)
{
	const jl_searchparam_t *p = jl_searchparam(type, code);
	if (p || !defs || !defs->ncustom)
		return p;
	p = find_custom(defs, type, code);
	if (!p)
		p = find_custom(defs, JL_STR("DomainResource"), code);
	if (!p)
		p = find_custom(defs, JL_STR("Resource"), code);
	return p;
}

static void each_custom(const jl_search_defs_t *defs, jl_str_t base, void (*fn)(const jl_searchparam_t *, void *),
			void *arg)
{
	for (uint32_t i = 0; i < defs->ncustom; i++)
		if (jl_str_eqc(base, defs->custom[i].base))
			fn(&defs->custom[i], arg);
}

void jl_search_each(const jl_search_defs_t *defs, jl_str_t type, void (*fn)(const jl_searchparam_t *p, void *arg),
		    void *arg)
{
	jl_searchparam_each(type, fn, arg);
	if (!defs || !defs->ncustom)
		return;
	each_custom(defs, type, fn, arg);
	if (!jl_str_eqc(type, "Resource") && !jl_str_eqc(type, "DomainResource")) {
		each_custom(defs, JL_STR("DomainResource"), fn, arg);
		each_custom(defs, JL_STR("Resource"), fn, arg);
	}
}

typedef struct pos_find {
	const jl_searchparam_t *p;
	int pos, i;
} pos_find_t;

static void find_pos(const jl_searchparam_t *p, void *arg)
{
	pos_find_t *f = arg;
	if (p == f->p)
		f->pos = f->i;
	f->i++;
}

int jl_search_param_pos(const jl_search_defs_t *defs, jl_str_t type, const jl_searchparam_t *p)
{
	pos_find_t f = {.p = p, .pos = -1};
	jl_search_each(defs, type, find_pos, &f);
	return f.pos < 256 ? f.pos : -1;
}

const jl_fp_expr_t *jl_search_defs_expr(const jl_search_defs_t *defs, const jl_searchparam_t *p)
{
	if (p >= jl_searchparams && p < jl_searchparams + jl_nsearchparams)
		return defs->expr[p - jl_searchparams];
	if (defs->ncustom && p >= defs->custom && p < defs->custom + defs->ncustom)
		return defs->cexpr[p - defs->custom];
	return NULL;
}

const jl_fp_expr_t *jl_search_defs_component(const jl_search_defs_t *defs, const jl_searchparam_t *p, uint8_t i)
{
	if (p < jl_searchparams || p >= jl_searchparams + jl_nsearchparams || i >= p->ncomponents)
		return NULL;
	return defs->comp[defs->comp_first[p - jl_searchparams] + i];
}

uint8_t jl_search_defs_sources(const jl_search_defs_t *defs, const jl_searchparam_t *p,
			       const jl_searchparam_t *const **out)
{
	if (!defs || !defs->nsrc || p < jl_searchparams || p >= jl_searchparams + jl_nsearchparams)
		return 0;
	uint32_t i = (uint32_t)(p - jl_searchparams);
	*out = defs->src + defs->src_first[i];
	return defs->nsrc[i];
}

uint64_t jl_search_defs_fingerprint(const jl_search_defs_t *defs)
{
	return defs->fingerprint;
}

uint32_t jl_search_defs_ncustom(const jl_search_defs_t *defs)
{
	return defs->ncustom;
}

/* ---- rebuilding ---- */

static jl_rc reindex_one(void *arg, jl_arena_t *a, const jl_version_t *v, const jl_ix_rows_t **rows)
{
	const jl_search_defs_t *defs = arg;
	*rows = NULL;
	const jl_fhir_type_t *t = jl_fhir_resource(v->type);
	if (!t)
		return JL_OK; /* a type this build does not know: nothing to index */
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_STORE, 0);
	jl_rc rc = jl_fhir_body_assemble(&b, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	jl_str_t text = rc ? JL_STR_NULL : jl_arena_str(a, jl_buf_str(&b));
	jl_buf_dispose(&b);
	if (rc)
		return rc;
	if (!text.p)
		return JL_ENOMEM;
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 256};
	if (jl_json_parse(a, text.p, text.n, &o, &res, &e) != JL_OK)
		return JL_EIO;
	jl_ix_rows_t *r = jl_arena_alloc(a, sizeof *r);
	if (!r)
		return JL_ENOMEM;
	rc = jl_index_extract(defs, a, res, t, r, NULL);
	if (!rc)
		*rows = r;
	return rc;
}

static jl_rc stamp(const jl_search_defs_t *defs, jl_store_t *s)
{
	char fp[24];
	int n = snprintf(fp, sizeof fp, "%016llx", (unsigned long long)defs->fingerprint);
	return s->ops->meta_set(s, JL_SEARCH_FINGERPRINT_KEY, jl_str(fp, (size_t)n));
}

jl_rc jl_search_reindex(const jl_search_defs_t *defs, jl_store_t *s, void (*progress)(void *, int64_t, int64_t),
			void *arg)
{
	jl_rc rc = s->ops->reindex(s, reindex_one, (void *)defs, progress, arg);
	return rc ? rc : stamp(defs, s);
}

jl_rc jl_search_check_index(const jl_search_defs_t *defs, jl_store_t *s)
{
	jl_arena_t *a = jl_arena_new(4096, 0);
	if (!a)
		return JL_ENOMEM;
	jl_str_t got;
	jl_rc rc = s->ops->meta_get(s, a, JL_SEARCH_FINGERPRINT_KEY, &got);
	char want[24];
	int n = snprintf(want, sizeof want, "%016llx", (unsigned long long)defs->fingerprint);
	if (rc == JL_ENOTFOUND) {
		/* never stamped: fine when there is nothing indexed yet */
		jl_store_stats_t st;
		rc = jl_store_stats(s, &st);
		if (!rc)
			rc = st.resources == 0 && st.versions == 0 ? stamp(defs, s) : JL_ESTALE;
	} else if (!rc) {
		rc = jl_str_eq(got, jl_str(want, (size_t)n)) ? JL_OK : JL_ESTALE;
	}
	jl_arena_free(a);
	return rc;
}
