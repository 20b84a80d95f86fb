/*
 * query — parsing FHIR search parameters into the store's query model.
 * Each parameter becomes one AND condition; its comma-separated values the
 * OR terms of that condition. Index keys are derived with the same helpers
 * extraction uses (search/index.h), so a value matches exactly the rows a
 * resource holding that value was given.
 */
#include "search/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/text.h"
#include "base/time.h"
#include "fhir/model.h"
#include "search/index.h"

typedef struct pctx {
	jl_arena_t *a;
	const jl_search_defs_t *defs;
	jl_str_t base;       /* absolute references under it are local */
	jl_diag_t *d;
	bool strict;
	jl_rc rc;            /* first error (strict) or ENOMEM */
	int depth;
} pctx_t;

/* Reports a problem with a parameter: an error (strict) or a warning (lenient). */
/* The index of v in names (NULL entries never match), or -1. */
static int keyword(jl_str_t v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && jl_str_eqc(v, names[i]))
			return (int)i;
	return -1;
}

static void problem(pctx_t *p, jl_str_t name, const char *code, const char *fmt, ...) JL_PRINTF(4, 5);
static void problem(pctx_t *p, jl_str_t name, const char *code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->d)
		jl_diag_add(p->d, p->strict ? JL_SEV_ERROR : JL_SEV_WARNING, code, NULL,
			    "Search parameter '%.*s': %s%s", (int)(name.n > 100 ? 100 : name.n), name.p, msg,
			    p->strict ? "" : " (ignored)");
	if (p->strict && !p->rc)
		p->rc = JL_EINVAL;
}

jl_rc jl_search_split(jl_arena_t *a, jl_str_t v, char sep, jl_str_t **parts, uint32_t *n)
{
	uint32_t cap = 1;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] == '\\')
			i++;
		else if (v.p[i] == sep)
			cap++;
	}
	jl_str_t *out = jl_arena_alloc(a, cap * sizeof *out);
	char *buf = jl_arena_alloc_bytes(a, v.n + 1);
	if (!out || !buf)
		return JL_ENOMEM;
	uint32_t k = 0;
	size_t w = 0, start = 0;
	for (size_t i = 0; i <= v.n; i++) {
		if (i == v.n || v.p[i] == sep) {
			out[k++] = jl_str(buf + start, w - start);
			start = w;
			continue;
		}
		if (v.p[i] == '\\' && i + 1 < v.n)
			i++;
		buf[w++] = v.p[i];
	}
	*parts = out;
	*n = k;
	return JL_OK;
}

/* Splits at the first unescaped `sep`; the halves keep their escapes. */
static bool cut(jl_str_t s, char sep, jl_str_t *left, jl_str_t *right)
{
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '\\') {
			i++;
			continue;
		}
		if (s.p[i] == sep) {
			*left = jl_str(s.p, i);
			*right = jl_str(s.p + i + 1, s.n - i - 1);
			return true;
		}
	}
	return false;
}

/* Removes escapes from a value part. */
static jl_str_t unescape(pctx_t *p, jl_str_t s)
{
	if (!jl_str_chr(s, '\\'))
		return s;
	char *o = jl_arena_alloc_bytes(p->a, s.n + 1);
	if (!o) {
		p->rc = JL_ENOMEM;
		return JL_STR_NULL;
	}
	size_t w = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '\\' && i + 1 < s.n)
			i++;
		o[w++] = s.p[i];
	}
	return jl_str(o, w);
}

/* ---- terms --------------------------------------------------------------------- */

typedef struct terms {
	jl_sq_term_t *t;
	uint32_t n, cap;
} terms_t;

static jl_sq_term_t *term(pctx_t *p, terms_t *ts)
{
	if (ts->n == ts->cap) {
		uint32_t cap = ts->cap ? ts->cap * 2 : 4;
		jl_sq_term_t *t = jl_arena_alloc(p->a, cap * sizeof *t);
		if (!t) {
			p->rc = JL_ENOMEM;
			return NULL;
		}
		if (ts->n)
			memcpy(t, ts->t, ts->n * sizeof *t);
		ts->t = t;
		ts->cap = cap;
	}
	jl_sq_term_t *t = &ts->t[ts->n++];
	memset(t, 0, sizeof *t);
	return t;
}

static jl_sq_term_t *key_term(pctx_t *p, terms_t *ts, uint8_t table, int64_t k)
{
	jl_sq_term_t *t = term(p, ts);
	if (t) {
		t->kind = JL_SQ_KEY;
		t->table = table;
		t->k = k;
	}
	return t;
}

/* system|code and |code (system 0): the code's rows, those of that system only. */
static void sys_term(pctx_t *p, terms_t *ts, int64_t k, int64_t system)
{
	jl_sq_term_t *t = key_term(p, ts, JL_IX_TOKEN, k);
	if (t) {
		t->sys = true;
		t->s = system;
	}
}

/* Reads an optional two-letter prefix; returns the op and advances v. */
static jl_sq_op prefix(jl_str_t *v)
{
	static const struct {
		const char *s;
		jl_sq_op op;
	} pf[] = {{"eq", JL_SQ_EQ}, {"ne", JL_SQ_NE}, {"gt", JL_SQ_GT}, {"lt", JL_SQ_LT}, {"ge", JL_SQ_GE},
		  {"le", JL_SQ_LE}, {"sa", JL_SQ_SA}, {"eb", JL_SQ_EB}, {"ap", JL_SQ_AP}};
	if (v->n >= 3)
		for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++)
			if (v->p[0] == pf[i].s[0] && v->p[1] == pf[i].s[1]) {
				v->p += 2;
				v->n -= 2;
				return pf[i].op;
			}
	return JL_SQ_EQ;
}

static bool parse_date(jl_str_t v, int64_t *a, int64_t *b)
{
	jl_datetime_t dt;
	if (!jl_datetime_parse(v, true, &dt))
		return false;
	jl_datetime_range(&dt, a, b);
	return true;
}

/* "ap": widened by 10% of the distance from now (dates) or of the value (numbers), per R4. */
static void widen_date(int64_t *a, int64_t *b)
{
	int64_t now = jl_now_us(), mid = *a / 2 + *b / 2;
	int64_t g = llabs(mid - now) / 10;
	if (g < 86400000000LL)
		g = 86400000000LL; /* at least a day */
	*a -= g;
	*b += g;
}

static void date_term(pctx_t *p, terms_t *ts, jl_str_t name, jl_str_t v, int64_t k, uint8_t kind)
{
	jl_sq_op op = prefix(&v);
	int64_t a, b;
	if (!parse_date(v, &a, &b)) {
		problem(p, name, "value", "'%.*s' is not a date (yyyy[-mm[-dd[Thh:mm[:ss[.fff]][zone]]]])",
			(int)(v.n > 60 ? 60 : v.n), v.p);
		return;
	}
	if (op == JL_SQ_AP)
		widen_date(&a, &b);
	jl_sq_term_t *t = term(p, ts);
	if (t) {
		t->kind = kind;
		t->table = JL_IX_DATE;
		t->op = op;
		t->k = k;
		t->ia = a;
		t->ib = b;
	}
}

static bool number_range(jl_str_t v, jl_sq_op op, double *a, double *b)
{
	double val;
	if (!jl_ix_decimal_range(v, a, b, &val))
		return false;
	if (op == JL_SQ_AP) {
		double g = fabs(val) * 0.1;
		if (g < *b - *a)
			g = *b - *a;
		*a = val - g;
		*b = val + g;
	}
	return true;
}

static jl_sq_term_t *range_term(pctx_t *p, terms_t *ts, uint8_t table, int64_t k, jl_sq_op op, double a, double b)
{
	jl_sq_term_t *t = term(p, ts);
	if (t) {
		t->kind = JL_SQ_RANGE;
		t->table = table;
		t->op = op;
		t->k = k;
		t->da = a;
		t->db = b;
	}
	return t;
}

static void text_term(pctx_t *p, terms_t *ts, uint8_t table, int64_t k, uint8_t match, jl_str_t v)
{
	jl_sq_term_t *t = term(p, ts);
	if (t) {
		t->kind = JL_SQ_TEXT;
		t->table = table;
		t->k = k;
		t->match = match;
		t->v = v;
	}
}

/* ---- per type ------------------------------------------------------------------------ */

typedef struct pinfo {
	jl_str_t type;       /* resource type searched */
	jl_str_t name;       /* parameter as written (for messages) */
	jl_str_t code;
	jl_str_t mod;        /* modifier, empty when none */
	const jl_searchparam_t *sp;
} pinfo_t;

static void token_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	jl_str_t sys, code;
	if (jl_str_eqc(pi->mod, "text")) {
		jl_str_t f;
		if (jl_text_fold(p->a, unescape(p, v), &f) != JL_OK) {
			problem(p, pi->name, "value", "the value is not valid text");
			return;
		}
		text_term(p, ts, JL_IX_TEXT, jl_ix_key_text(pi->type, pi->code), JL_SQ_TEXT_PREFIX, f);
		return;
	}
	if (jl_str_eqc(pi->mod, "of-type")) {
		jl_str_t *parts;
		uint32_t n;
		if (jl_search_split(p->a, v, '|', &parts, &n) || n != 3 || !parts[2].n) {
			problem(p, pi->name, "value", ":of-type takes system|code|value");
			return;
		}
		key_term(p, ts, JL_IX_TOKEN, jl_ix_key_token_oftype(pi->type, pi->code, parts[0], parts[1], parts[2]));
		return;
	}
	if (cut(v, '|', &sys, &code)) {
		sys = unescape(p, sys);
		code = unescape(p, code);
		if (!code.n && sys.n)
			key_term(p, ts, JL_IX_TOKEN, jl_ix_key_token_sysonly(pi->type, pi->code, sys));
		else if (code.n)
			sys_term(p, ts, jl_ix_key_token_any(pi->type, pi->code, code), jl_ix_token_system(sys));
		else
			problem(p, pi->name, "value", "'|' alone is not a token");
	} else {
		key_term(p, ts, JL_IX_TOKEN, jl_ix_key_token_any(pi->type, pi->code, unescape(p, v)));
	}
}

/* FHIR strings hold no control character but tab, CR and LF (and the index marks folded rows with one). */
static bool has_control(jl_str_t v)
{
	for (size_t i = 0; i < v.n; i++)
		if ((unsigned char)v.p[i] < 0x20 && v.p[i] != '\t' && v.p[i] != '\r' && v.p[i] != '\n')
			return true;
	return false;
}

static void string_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	v = unescape(p, v);
	jl_str_t f;
	if (has_control(v) || jl_text_fold(p->a, v, &f) != JL_OK) {
		problem(p, pi->name, "value", "the value is not valid text");
		return;
	}
	if (jl_str_eqc(pi->mod, "exact")) {
		/* text that is its own folded form is indexed once, under the parameter's key (index.c) */
		int64_t k = jl_str_eq(f, v) ? jl_ix_key_param(pi->type, pi->code) : jl_ix_key_exact(pi->type, pi->code);
		text_term(p, ts, JL_IX_STRING, k, JL_SQ_TEXT_EXACT, v);
		return;
	}
	text_term(p, ts, JL_IX_STRING, jl_ix_key_param(pi->type, pi->code),
		  jl_str_eqc(pi->mod, "contains") ? JL_SQ_TEXT_CONTAINS : JL_SQ_TEXT_PREFIX, f);
}

static void uri_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	uint8_t m = jl_str_eqc(pi->mod, "below")   ? JL_SQ_TEXT_PREFIX
		    : jl_str_eqc(pi->mod, "above") ? JL_SQ_TEXT_ABOVE
						   : JL_SQ_TEXT_EXACT;
	text_term(p, ts, JL_IX_URI, jl_ix_key_param(pi->type, pi->code), m, unescape(p, v));
}

static void number_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	jl_sq_op op = prefix(&v);
	double a, b;
	if (!number_range(v, op, &a, &b)) {
		problem(p, pi->name, "value", "'%.*s' is not a number", (int)(v.n > 60 ? 60 : v.n), v.p);
		return;
	}
	range_term(p, ts, JL_IX_NUMBER, jl_ix_key_param(pi->type, pi->code), op, a, b);
}

/* [prefix]number[|system|code] for a quantity, under `base` (the parameter key, or a composite prefix). */
static void quantity_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v, const int64_t *pre, size_t np)
{
	jl_sq_op op = prefix(&v);
	jl_str_t *parts;
	uint32_t n;
	double a, b;
	if (jl_search_split(p->a, v, '|', &parts, &n) || (n != 1 && n != 3) || !number_range(parts[0], op, &a, &b)) {
		problem(p, pi->name, "value", "a quantity is [prefix]number[|system|code]");
		return;
	}
	int64_t base = jl_ix_key_param(pi->type, pi->code);
	jl_sq_term_t *t = range_term(p, ts, JL_IX_QUANTITY, np ? jl_ix_key_combo(base, pre, np, 0) : base, op, a, b);
	if (t && n == 3 && parts[2].n) {
		/* system|code must match the row's system|code; ||code matches its code or its human unit */
		if (parts[1].n)
			t->us = jl_ix_unit(parts[1], parts[2]);
		else
			t->uc = jl_ix_unit(JL_STR_NULL, parts[2]);
	}
}

static void query_cond(pctx_t *p, jl_sq_query_t *q, jl_str_t type, jl_str_t name, jl_str_t value);

typedef void (*value_fn)(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v);

/*
 * A value of a derived parameter (defs.h) becomes the same value on each of
 * its sources, as terms of the same condition: OR'ed, and under :not negated
 * together. A value the first source refuses is reported once.
 */
static void each_source(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v, value_fn fn)
{
	const jl_searchparam_t *const *src;
	uint8_t n = jl_search_defs_sources(p->defs, pi->sp, &src);
	if (!n) {
		fn(p, ts, pi, v);
		return;
	}
	for (uint8_t i = 0; i < n && !p->rc; i++) {
		uint32_t before = ts->n;
		pinfo_t q = *pi;
		q.code = jl_cstr(src[i]->code);
		q.sp = src[i];
		fn(p, ts, &q, v);
		if (ts->n == before)
			return;
	}
}

/* Targets of a reference value: "Type/id", absolute URLs as given, a bare id for each allowed type. */
static void reference_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	v = unescape(p, v);
	/* An absolute reference to this server is the relative one it stands for. */
	if (p->base.n && v.n > p->base.n + 1 && memcmp(v.p, p->base.p, p->base.n) == 0 && v.p[p->base.n] == '/')
		v = jl_str(v.p + p->base.n + 1, v.n - p->base.n - 1);
	if (jl_str_eqc(pi->mod, "identifier")) {
		jl_str_t sys, val;
		if (!cut(v, '|', &sys, &val)) {
			sys = JL_STR_NULL;
			val = v;
		}
		key_term(p, ts, JL_IX_TOKEN, jl_ix_key_ref_identifier(pi->type, pi->code, sys, val));
		return;
	}
	jl_sq_term_t *t = term(p, ts);
	if (!t)
		return;
	t->kind = JL_SQ_REF;
	t->k = jl_ix_key_param(pi->type, pi->code);
	const char *slash = jl_str_chr(v, '/');
	if (pi->mod.n) { /* :Type */
		jl_str_t id = v;
		if (slash) {
			jl_str_t tp = jl_str(v.p, (size_t)(slash - v.p));
			if (!jl_str_eq(tp, pi->mod)) {
				problem(p, pi->name, "value", "the value names another type than the :%.*s modifier",
					JL_STR_FMT(pi->mod));
				return;
			}
			id = jl_str(slash + 1, v.n - tp.n - 1);
		}
		int64_t *tg = jl_arena_alloc(p->a, sizeof *tg);
		if (!tg) {
			p->rc = JL_ENOMEM;
			return;
		}
		tg[0] = jl_store_target2(pi->mod, id);
		t->targets = tg;
		t->ntargets = 1;
	} else if (slash || jl_str_chr(v, ':')) {
		int64_t *tg = jl_arena_alloc(p->a, sizeof *tg);
		if (!tg) {
			p->rc = JL_ENOMEM;
			return;
		}
		tg[0] = jl_store_target(v);
		t->targets = tg;
		t->ntargets = 1;
	} else {
		/* a bare id: any of the parameter's target types (all resource types when it lists none) */
		uint32_t n = pi->sp->ntargets ? pi->sp->ntargets : jl_fhir_nresources;
		int64_t *tg = jl_arena_alloc(p->a, n * sizeof *tg);
		if (!tg) {
			p->rc = JL_ENOMEM;
			return;
		}
		for (uint32_t i = 0; i < n; i++)
			tg[i] = jl_store_target2(jl_cstr(pi->sp->ntargets ? pi->sp->targets[i]
									  : jl_fhir_types[jl_fhir_resources[i]].name),
						 v);
		t->targets = tg;
		t->ntargets = n;
	}
}

/* A chain: ref[:Type].rest=value → terms over each target type that has the chained parameter. */
static void chain(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t rest, jl_str_t value)
{
	if (++p->depth > 4) {
		problem(p, pi->name, "too-costly", "chains nest at most 4 deep");
		return;
	}
	jl_str_t code = rest, tail;
	if (!cut(rest, '.', &code, &tail)) {
		const char *colon = jl_str_chr(rest, ':');
		code = colon ? jl_str(rest.p, (size_t)(colon - rest.p)) : rest;
	}
	uint32_t found = 0;
	uint32_t n = pi->sp->ntargets;
	for (uint32_t i = 0; i < n; i++) {
		jl_str_t tt = jl_cstr(pi->sp->targets[i]);
		if (pi->mod.n && !jl_str_eq(tt, pi->mod))
			continue;
		if (!jl_search_param(p->defs, tt, code))
			continue;
		jl_sq_query_t *sub = jl_arena_calloc(p->a, 1, sizeof *sub);
		if (!sub) {
			p->rc = JL_ENOMEM;
			return;
		}
		sub->type = tt;
		query_cond(p, sub, tt, rest, value);
		if (p->rc)
			return;
		if (!sub->nconds)
			continue;
		jl_sq_term_t *t = term(p, ts);
		if (!t)
			return;
		t->kind = JL_SQ_CHAIN;
		t->k = jl_ix_key_param(pi->type, pi->code);
		t->sub = sub;
		found++;
	}
	if (!found)
		problem(p, pi->name, "not-found", "no target type of '%.*s' has a search parameter '%.*s'",
			JL_STR_FMT(pi->code), JL_STR_FMT(code));
	p->depth--;
}

/* The token keys a composite component value offers (the first components of a composite). */
static bool comp_key(pctx_t *p, const pinfo_t *pi, uint8_t type, jl_str_t v, int64_t *k)
{
	if (type == JL_SP_TOKEN) {
		jl_str_t sys, code;
		if (cut(v, '|', &sys, &code))
			*k = jl_ix_key_token_sys(pi->type, pi->code, unescape(p, sys), unescape(p, code));
		else
			*k = jl_ix_key_token_any(pi->type, pi->code, unescape(p, v));
		return true;
	}
	if (type == JL_SP_REFERENCE) {
		*k = jl_store_target(unescape(p, v));
		return true;
	}
	return false;
}

static void composite_value(pctx_t *p, terms_t *ts, const pinfo_t *pi, jl_str_t v)
{
	const jl_searchparam_t *sp = pi->sp;
	jl_str_t *parts;
	uint32_t n;
	if (jl_search_split(p->a, v, '$', &parts, &n)) {
		p->rc = JL_ENOMEM;
		return;
	}
	/* the parts keep their inner escapes: split removed them, so re-read from the raw text */
	jl_str_t raw[4];
	uint32_t nr = 0;
	jl_str_t rest = v, l, r;
	while (nr < 3 && cut(rest, '$', &l, &r)) {
		raw[nr++] = l;
		rest = r;
	}
	raw[nr++] = rest;
	if (nr != sp->ncomponents || sp->ncomponents < 2 || sp->ncomponents > 3) {
		problem(p, pi->name, "value", "a composite value has %u parts separated by '$'", (unsigned)sp->ncomponents);
		return;
	}
	(void)parts;
	(void)n;
	int64_t pre[2];
	size_t np = 0;
	for (uint32_t i = 0; i + 1 < nr; i++)
		if (!comp_key(p, pi, sp->components[i].type, raw[i], &pre[np++])) {
			problem(p, pi->name, "not-supported", "composites whose part %u is a %s are not supported", i + 1,
				jl_sp_type_name((jl_sp_type)sp->components[i].type));
			return;
		}
	int64_t base = jl_ix_key_param(pi->type, pi->code);
	jl_str_t last = raw[nr - 1];
	switch (sp->components[nr - 1].type) {
	case JL_SP_TOKEN:
	case JL_SP_REFERENCE: {
		int64_t k;
		comp_key(p, pi, sp->components[nr - 1].type, last, &k);
		key_term(p, ts, JL_IX_COMPOSITE, jl_ix_key_combo(base, pre, np, k));
		break;
	}
	case JL_SP_QUANTITY:
	case JL_SP_NUMBER:
		quantity_value(p, ts, pi, last, pre, np);
		break;
	case JL_SP_DATE:
		date_term(p, ts, pi->name, last, jl_ix_key_combo(base, pre, np, 0), JL_SQ_RANGE);
		break;
	case JL_SP_STRING: {
		jl_str_t f;
		if (jl_text_fold(p->a, unescape(p, last), &f) == JL_OK)
			text_term(p, ts, JL_IX_STRING, jl_ix_key_combo(base, pre, np, 0), JL_SQ_TEXT_PREFIX, f);
		break;
	}
	default:
		problem(p, pi->name, "not-supported", "this composite is not supported");
	}
}

static bool modifier_ok(const jl_searchparam_t *sp, jl_str_t mod)
{
	if (!mod.n || jl_str_eqc(mod, "missing"))
		return true;
	switch (sp->type) {
	case JL_SP_STRING: return jl_str_eqc(mod, "exact") || jl_str_eqc(mod, "contains");
	case JL_SP_TOKEN: return jl_str_eqc(mod, "text") || jl_str_eqc(mod, "not") || jl_str_eqc(mod, "of-type");
	case JL_SP_URI: return jl_str_eqc(mod, "above") || jl_str_eqc(mod, "below");
	case JL_SP_REFERENCE: return jl_str_eqc(mod, "identifier") || jl_fhir_resource(mod) != NULL;
	default: return false;
	}
}

static jl_sq_cond_t *add_cond(pctx_t *p, jl_sq_query_t *q)
{
	jl_sq_cond_t *c = jl_arena_alloc(p->a, (q->nconds + 1) * sizeof *c);
	if (!c) {
		p->rc = JL_ENOMEM;
		return NULL;
	}
	if (q->nconds)
		memcpy(c, q->conds, q->nconds * sizeof *c);
	memset(&c[q->nconds], 0, sizeof *c);
	q->conds = c;
	return &c[q->nconds++];
}

static void missing(pctx_t *p, jl_sq_query_t *q, const pinfo_t *pi, jl_str_t v)
{
	bool yes = jl_str_eqc(v, "true");
	if (!yes && !jl_str_eqc(v, "false")) {
		problem(p, pi->name, "value", ":missing takes true or false");
		return;
	}
	int pos = jl_search_param_pos(p->defs, pi->type, pi->sp);
	if (pos < 0) {
		problem(p, pi->name, "not-supported", ":missing is not available for this parameter");
		return;
	}
	terms_t ts = {0};
	jl_sq_term_t *t = term(p, &ts);
	jl_sq_cond_t *c = t ? add_cond(p, q) : NULL;
	if (!c)
		return;
	t->kind = JL_SQ_PRESENT;
	t->bit = (uint16_t)pos;
	c->terms = ts.t;
	c->nterms = ts.n;
	c->negate = yes;
}

/* _has:Type:ref:name=value (name may itself be a _has). */
static void has(pctx_t *p, jl_sq_query_t *q, jl_str_t type, jl_str_t name, jl_str_t value)
{
	jl_str_t rest = jl_str(name.p + 5, name.n - 5), src, ref, inner;
	if (!cut(rest, ':', &src, &rest) || !cut(rest, ':', &ref, &inner) || !inner.n) {
		problem(p, name, "invalid", "_has takes _has:Type:reference:parameter");
		return;
	}
	if (!jl_fhir_resource(src)) {
		problem(p, name, "not-found", "'%.*s' is not a resource type", JL_STR_FMT(src));
		return;
	}
	const jl_searchparam_t *rp = jl_search_param(p->defs, src, ref);
	if (!rp || rp->type != JL_SP_REFERENCE) {
		problem(p, name, "not-found", "%.*s has no reference parameter '%.*s'", JL_STR_FMT(src), JL_STR_FMT(ref));
		return;
	}
	if (++p->depth > 4) {
		problem(p, name, "too-costly", "_has nests at most 4 deep");
		return;
	}
	jl_sq_query_t *sub = jl_arena_calloc(p->a, 1, sizeof *sub);
	if (!sub) {
		p->rc = JL_ENOMEM;
		return;
	}
	sub->type = src;
	query_cond(p, sub, src, inner, value);
	p->depth--;
	if (p->rc || !sub->nconds)
		return;
	terms_t ts = {0};
	jl_sq_term_t *t = term(p, &ts);
	jl_sq_cond_t *c = t ? add_cond(p, q) : NULL;
	if (!c)
		return;
	t->kind = JL_SQ_HAS;
	t->k = jl_ix_key_param(src, ref);
	t->sub = sub;
	c->terms = ts.t;
	c->nterms = ts.n;
	(void)type;
}

/* One search parameter (name=value) on `type` becomes one condition of q. */
static void query_cond(pctx_t *p, jl_sq_query_t *q, jl_str_t type, jl_str_t name, jl_str_t value)
{
	if (jl_str_starts(name, "_has:")) {
		has(p, q, type, name, value);
		return;
	}
	pinfo_t pi = {.type = type, .name = name};
	jl_str_t head = name, chainrest = JL_STR_NULL;
	bool chained = cut(name, '.', &head, &chainrest);
	const char *colon = jl_str_chr(head, ':');
	pi.code = colon ? jl_str(head.p, (size_t)(colon - head.p)) : head;
	pi.mod = colon ? jl_str(colon + 1, head.n - pi.code.n - 1) : JL_STR_NULL;
	if (jl_str_eqc(pi.code, "_id")) {
		jl_str_t *ids;
		uint32_t n;
		if (pi.mod.n || chained) {
			problem(p, name, "not-supported", "_id takes no modifier");
			return;
		}
		if (jl_search_split(p->a, value, ',', &ids, &n)) {
			p->rc = JL_ENOMEM;
			return;
		}
		terms_t ts = {0};
		jl_sq_term_t *t = term(p, &ts);
		jl_sq_cond_t *c = t ? add_cond(p, q) : NULL;
		if (!c)
			return;
		t->kind = JL_SQ_ID;
		t->vs = ids;
		t->nvs = n;
		c->terms = ts.t;
		c->nterms = ts.n;
		return;
	}
	pi.sp = jl_search_param(p->defs, type.n ? type : JL_STR("Resource"), pi.code);
	if (!pi.sp) {
		problem(p, name, "not-found", "%.*s has no search parameter '%.*s'", type.n ? (int)type.n : 8,
			type.n ? type.p : "Resource", JL_STR_FMT(pi.code));
		return;
	}
	if (pi.sp->type == JL_SP_SPECIAL || (!pi.sp->expression && !jl_str_eqc(pi.code, "_lastUpdated"))) {
		problem(p, name, "not-supported", "this server does not support '%.*s'", JL_STR_FMT(pi.code));
		return;
	}
	if (chained) {
		if (pi.sp->type != JL_SP_REFERENCE) {
			problem(p, name, "invalid", "only reference parameters can be chained");
			return;
		}
		if (pi.mod.n && !jl_fhir_resource(pi.mod)) {
			problem(p, name, "invalid", "'%.*s' is not a resource type", JL_STR_FMT(pi.mod));
			return;
		}
		terms_t ts = {0};
		chain(p, &ts, &pi, chainrest, value);
		if (p->rc || !ts.n)
			return;
		jl_sq_cond_t *c = add_cond(p, q);
		if (c) {
			c->terms = ts.t;
			c->nterms = ts.n;
		}
		return;
	}
	if (!modifier_ok(pi.sp, pi.mod)) {
		problem(p, name, "not-supported", "the modifier ':%.*s' is not supported on a %s parameter",
			JL_STR_FMT(pi.mod), jl_sp_type_name((jl_sp_type)pi.sp->type));
		return;
	}
	if (jl_str_eqc(pi.mod, "missing")) {
		missing(p, q, &pi, value);
		return;
	}
	jl_str_t *vals;
	uint32_t nv;
	/* Split on unescaped commas but keep the escapes: the type parsers need them for | and $. */
	{
		uint32_t cap = 1;
		for (size_t i = 0; i < value.n; i++) {
			if (value.p[i] == '\\')
				i++;
			else if (value.p[i] == ',')
				cap++;
		}
		vals = jl_arena_alloc(p->a, cap * sizeof *vals);
		if (!vals) {
			p->rc = JL_ENOMEM;
			return;
		}
		nv = 0;
		jl_str_t rest = value, l, r;
		while (cut(rest, ',', &l, &r)) {
			vals[nv++] = l;
			rest = r;
		}
		vals[nv++] = rest;
	}
	terms_t ts = {0};
	for (uint32_t i = 0; i < nv && !p->rc; i++) {
		jl_str_t v = vals[i];
		if (!v.n) {
			problem(p, name, "value", "empty value");
			continue;
		}
		if (jl_str_eqc(pi.code, "_lastUpdated")) {
			date_term(p, &ts, name, v, 0, JL_SQ_UPDATED);
			continue;
		}
		switch (pi.sp->type) {
		case JL_SP_TOKEN: each_source(p, &ts, &pi, v, token_value); break;
		case JL_SP_STRING: string_value(p, &ts, &pi, v); break;
		case JL_SP_URI: uri_value(p, &ts, &pi, v); break;
		case JL_SP_DATE: date_term(p, &ts, name, v, jl_ix_key_param(type, pi.code), JL_SQ_RANGE); break;
		case JL_SP_NUMBER: number_value(p, &ts, &pi, v); break;
		case JL_SP_QUANTITY: quantity_value(p, &ts, &pi, v, NULL, 0); break;
		case JL_SP_REFERENCE: reference_value(p, &ts, &pi, v); break;
		case JL_SP_COMPOSITE: each_source(p, &ts, &pi, v, composite_value); break;
		default: problem(p, name, "not-supported", "unsupported parameter type");
		}
	}
	if (p->rc || !ts.n)
		return;
	jl_sq_cond_t *c = add_cond(p, q);
	if (c) {
		c->terms = ts.t;
		c->nterms = ts.n;
		c->negate = jl_str_eqc(pi.mod, "not");
	}
}

/* ---- result parameters ----------------------------------------------------------------- */

static void sorts(pctx_t *p, jl_search_req_t *r, jl_str_t type, jl_str_t name, jl_str_t v)
{
	jl_str_t *keys;
	uint32_t n;
	if (jl_search_split(p->a, v, ',', &keys, &n)) {
		p->rc = JL_ENOMEM;
		return;
	}
	jl_sq_sort_t *s = jl_arena_calloc(p->a, n, sizeof *s);
	if (!s) {
		p->rc = JL_ENOMEM;
		return;
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		jl_str_t key = keys[i];
		bool desc = key.n && key.p[0] == '-';
		if (desc) {
			key.p++;
			key.n--;
		}
		s[k].desc = desc;
		if (jl_str_eqc(key, "_id")) {
			s[k++].by = JL_SQ_SORT_ID;
			continue;
		}
		if (jl_str_eqc(key, "_lastUpdated")) {
			s[k++].by = JL_SQ_SORT_UPDATED;
			continue;
		}
		const jl_searchparam_t *sp = type.n ? jl_search_param(p->defs, type, key) : NULL;
		if (!sp) {
			problem(p, name, "not-found", "cannot sort by '%.*s': not a search parameter of %.*s", JL_STR_FMT(key),
				type.n ? (int)type.n : 6, type.n ? type.p : "system");
			continue;
		}
		s[k].k = jl_ix_key_param(type, key);
		switch (sp->type) {
		case JL_SP_DATE: s[k].by = JL_SQ_SORT_DATE, s[k].table = JL_IX_DATE; break;
		case JL_SP_NUMBER: s[k].by = JL_SQ_SORT_NUMBER, s[k].table = JL_IX_NUMBER; break;
		case JL_SP_QUANTITY: s[k].by = JL_SQ_SORT_NUMBER, s[k].table = JL_IX_QUANTITY; break;
		case JL_SP_STRING: s[k].by = JL_SQ_SORT_TEXT, s[k].table = JL_IX_STRING; break;
		case JL_SP_URI: s[k].by = JL_SQ_SORT_TEXT, s[k].table = JL_IX_URI; break;
		case JL_SP_TOKEN:
		case JL_SP_REFERENCE:
			/* The index holds hashes of these: the store computes keys from the matches. */
			s[k].by = JL_SQ_SORT_KEY;
			s[k].param = jl_arena_str(p->a, key);
			s[k].key = jl_index_sort_key;
			s[k].key_arg = p->defs;
			break;
		default:
			problem(p, name, "not-supported", "sorting by a %s parameter ('%.*s') is not supported",
				jl_sp_type_name((jl_sp_type)sp->type), JL_STR_FMT(key));
			continue;
		}
		k++;
	}
	r->q.sorts = s;
	r->q.nsorts = k;
}

static void include(pctx_t *p, jl_search_req_t *r, jl_str_t type, jl_str_t name, jl_str_t v, bool rev, bool iterate)
{
	jl_str_t *parts;
	uint32_t n;
	if (jl_search_split(p->a, v, ':', &parts, &n)) {
		p->rc = JL_ENOMEM;
		return;
	}
	jl_include_t inc = {.rev = rev, .iterate = iterate};
	if (n == 1 && jl_str_eqc(parts[0], "*")) {
		inc.source = JL_STR("*");
	} else if (n >= 2 && n <= 3) {
		inc.source = parts[0];
		if (!jl_fhir_resource(inc.source)) {
			problem(p, name, "not-found", "'%.*s' is not a resource type", JL_STR_FMT(inc.source));
			return;
		}
		if (!jl_str_eqc(parts[1], "*")) {
			inc.param = jl_search_param(p->defs, inc.source, parts[1]);
			if (!inc.param || inc.param->type != JL_SP_REFERENCE) {
				problem(p, name, "not-found", "%.*s has no reference parameter '%.*s'", JL_STR_FMT(inc.source),
					JL_STR_FMT(parts[1]));
				return;
			}
		}
		if (n == 3) {
			inc.target = parts[2];
			if (!jl_fhir_resource(inc.target)) {
				problem(p, name, "not-found", "'%.*s' is not a resource type", JL_STR_FMT(inc.target));
				return;
			}
		}
	} else {
		problem(p, name, "invalid", "takes SourceType:parameter[:TargetType] or *");
		return;
	}
	if (!rev && type.n && !jl_str_eqc(inc.source, "*") && !jl_str_eq(inc.source, type) && !iterate) {
		problem(p, name, "invalid", "_include must start at the searched type %.*s (or use :iterate)",
			JL_STR_FMT(type));
		return;
	}
	jl_include_t *in = jl_arena_alloc(p->a, (r->nincludes + 1) * sizeof *in);
	if (!in) {
		p->rc = JL_ENOMEM;
		return;
	}
	if (r->nincludes)
		memcpy(in, r->includes, r->nincludes * sizeof *in);
	in[r->nincludes++] = inc;
	r->includes = in;
}

static bool applied(pctx_t *p, jl_search_req_t *r, jl_str_t k, jl_str_t v)
{
	jl_search_pair_t *a = jl_arena_alloc(p->a, (r->napplied + 1) * sizeof *a);
	if (!a) {
		p->rc = JL_ENOMEM;
		return false;
	}
	if (r->napplied)
		memcpy(a, r->applied, r->napplied * sizeof *a);
	a[r->napplied].k = k;
	a[r->napplied].v = v;
	r->applied = a;
	r->napplied++;
	return true;
}

/* Parameters the REST layer handles, or that only shape the transport. */
static bool transport_param(jl_str_t k)
{
	return jl_str_eqc(k, "_format") || jl_str_eqc(k, "_pretty");
}

jl_rc jl_search_parse(jl_arena_t *a, jl_str_t type, const jl_search_pair_t *params, size_t n, bool strict,
		      const jl_search_cfg_t *cfg, jl_search_req_t *r, jl_diag_t *d)
{
	pctx_t p = {.a = a, .d = d, .strict = strict, .base = cfg->base, .defs = cfg->defs};
	memset(r, 0, sizeof *r);
	r->q.type = type;
	r->q.count = cfg->page_default ? cfg->page_default : 20;
	jl_str_t *types = NULL;
	uint32_t ntypes = 0;
	for (size_t i = 0; i < n && !p.rc; i++) {
		jl_str_t k = params[i].k, v = params[i].v;
		uint32_t before_conds = r->q.nconds;
		if (transport_param(k))
			continue;
		if (jl_str_eqc(k, "_count")) {
			int64_t c;
			if (!jl_str_to_i64(v, &c) || c < 0) {
				problem(&p, k, "value", "_count is a non-negative integer");
				continue;
			}
			uint32_t max = cfg->page_max ? cfg->page_max : 1000;
			r->q.count = (uint32_t)(c > max ? max : c);
		} else if (jl_str_eqc(k, "_total")) {
			static const char *const totals[] = {[JL_TOTAL_NONE] = "none", [JL_TOTAL_ESTIMATE] = "estimate",
							      [JL_TOTAL_ACCURATE] = "accurate"};
			int t = keyword(v, totals, sizeof totals / sizeof totals[0]);
			if (t <= 0) {
				problem(&p, k, "value", "_total is none, estimate or accurate");
				continue;
			}
			r->total = (jl_total_mode)t;
		} else if (jl_str_eqc(k, "_summary")) {
			static const char *const summaries[] = {
				[JL_SUMMARY_FALSE] = "false", [JL_SUMMARY_TRUE] = "true", [JL_SUMMARY_TEXT] = "text",
				[JL_SUMMARY_DATA] = "data",   [JL_SUMMARY_COUNT] = "count"};
			int m = keyword(v, summaries, sizeof summaries / sizeof summaries[0]);
			if (m < 0) {
				problem(&p, k, "value", "_summary is true, text, data, count or false");
				continue;
			}
			r->summary = (jl_summary_mode)m;
		} else if (jl_str_eqc(k, "_elements")) {
			jl_str_t *el;
			uint32_t ne;
			if (jl_search_split(a, v, ',', &el, &ne)) {
				p.rc = JL_ENOMEM;
				break;
			}
			r->elements = el;
			r->nelements = ne;
		} else if (jl_str_eqc(k, "_sort")) {
			sorts(&p, r, type, k, v);
		} else if (jl_str_eqc(k, "_include") || jl_str_eqc(k, "_revinclude") || jl_str_eqc(k, "_include:iterate") ||
			   jl_str_eqc(k, "_revinclude:iterate") || jl_str_eqc(k, "_include:recurse") ||
			   jl_str_eqc(k, "_revinclude:recurse")) {
			include(&p, r, type, k, v, jl_str_starts(k, "_revinclude"), jl_str_chr(k, ':') != NULL);
		} else if (jl_str_eqc(k, "_debug")) {
			if (!jl_str_eqc(v, "plan")) {
				problem(&p, k, "value", "_debug takes 'plan'");
				continue;
			}
			r->explain = true;
			continue; /* not shown in links */
		} else if (jl_str_eqc(k, "_page")) {
			const char *dot = jl_str_chr(v, '.');
			int64_t pg;
			if (!dot || !jl_str_to_i64(jl_str(dot + 1, v.n - (size_t)(dot - v.p) - 1), &pg) || pg < 0 ||
			    pg > 1000000) {
				problem(&p, k, "value", "not a page cursor of this server");
				continue;
			}
			r->cursor = jl_str(v.p, (size_t)(dot - v.p));
			r->page = (uint32_t)pg;
			continue;
		} else if (jl_str_eqc(k, "_type")) {
			if (type.n) {
				problem(&p, k, "invalid", "_type is for system-level search only");
				continue;
			}
			if (jl_search_split(a, v, ',', &types, &ntypes)) {
				p.rc = JL_ENOMEM;
				break;
			}
			for (uint32_t t = 0; t < ntypes; t++)
				if (!jl_fhir_resource(types[t])) {
					problem(&p, k, "not-found", "'%.*s' is not a resource type", JL_STR_FMT(types[t]));
					ntypes = 0;
				}
			if (!ntypes)
				continue;
		} else if (jl_str_eqc(k, "_contained") || jl_str_eqc(k, "_containedType") || jl_str_eqc(k, "_text") ||
			   jl_str_eqc(k, "_content") || jl_str_eqc(k, "_list") || jl_str_eqc(k, "_query") ||
			   jl_str_eqc(k, "_filter")) {
			problem(&p, k, "not-supported", "this server does not support it");
			continue;
		} else {
			query_cond(&p, &r->q, type, k, v);
			if (r->q.nconds == before_conds)
				continue; /* nothing applied (lenient skip) */
		}
		if (!p.rc && !applied(&p, r, k, v))
			break;
	}
	if (ntypes && !p.rc) {
		terms_t ts = {0};
		jl_sq_term_t *t = term(&p, &ts);
		jl_sq_cond_t *c = t ? add_cond(&p, &r->q) : NULL;
		if (c) {
			t->kind = JL_SQ_TYPE;
			t->vs = types;
			t->nvs = ntypes;
			c->terms = ts.t;
			c->nterms = ts.n;
		}
	}
	if (r->summary == JL_SUMMARY_COUNT)
		r->q.count = 0;
	r->q.total = r->total == JL_TOTAL_ACCURATE || r->summary == JL_SUMMARY_COUNT;
	r->q.estimate = r->total == JL_TOTAL_ESTIMATE;
	r->q.explain = r->explain;
	return p.rc;
}
