/*
 * index — extraction of search index rows from a resource.
 *
 * For each search parameter of the resource's type, the compiled FHIRPath
 * expression yields a collection of elements; each element becomes rows
 * according to the parameter's type and the element's FHIR type (a token
 * parameter over a CodeableConcept gives one row set per coding, over an
 * Identifier one per system|value …). Rows are sorted and made unique at
 * the end, so the same resource always gives the same rows — the store
 * relies on that to remove a version's rows by extracting them again.
 */
#include "search/index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/hash.h"
#include "base/text.h"
#include "base/time.h"
#include "fhir/resource.h"

/* ---- keys ---------------------------------------------------------------- */

static const jl_str_t ANY = {"\x01" "any", 4};
static const jl_str_t SYSONLY = {"\x01" "sys", 4};
static const jl_str_t SYSTEM = {"\x01" "system", 7};
static const jl_str_t OFTYPE = {"\x01" "of-type", 8};
static const jl_str_t IDENT = {"\x01" "identifier", 11};
static const jl_str_t TEXT = {"\x01" "text", 5};
static const jl_str_t UNIT = {"\x01" "unit", 5};
static const jl_str_t EXACT = {"\x01" "exact", 6};

static int64_t h(jl_str_t a, jl_str_t b, jl_str_t c, jl_str_t d, jl_str_t e)
{
	jl_str_t s[5] = {a, b, c, d, e};
	return (int64_t)jl_hash_strs(s, 5);
}

int64_t jl_ix_key_token_any(jl_str_t type, jl_str_t param, jl_str_t code)
{
	return h(type, param, ANY, code, JL_STR_NULL);
}

int64_t jl_ix_key_token_sys(jl_str_t type, jl_str_t param, jl_str_t sys, jl_str_t code)
{
	return h(type, param, sys, code, JL_STR_NULL);
}

int64_t jl_ix_token_system(jl_str_t sys)
{
	if (!sys.n)
		return 0;
	/* 30 bits, shifted past the duplicate flag: SQLite stores the column in 4 bytes (a full hash took
	 * 8), and it only has to tell apart the systems of one code of one parameter. */
	uint64_t v = (uint64_t)h(SYSTEM, sys, JL_STR_NULL, JL_STR_NULL, JL_STR_NULL) & 0x3fffffff;
	return (int64_t)(v ? v : 1) << 1;
}

int64_t jl_ix_key_token_sysonly(jl_str_t type, jl_str_t param, jl_str_t sys)
{
	return h(type, param, SYSONLY, sys, JL_STR_NULL);
}

int64_t jl_ix_key_token_oftype(jl_str_t type, jl_str_t param, jl_str_t tsys, jl_str_t tcode, jl_str_t value)
{
	jl_str_t s[6] = {type, param, OFTYPE, tsys, tcode, value};
	return (int64_t)jl_hash_strs(s, 6);
}

int64_t jl_ix_key_ref_identifier(jl_str_t type, jl_str_t param, jl_str_t sys, jl_str_t value)
{
	return h(type, param, IDENT, sys, value);
}

int64_t jl_ix_key_param(jl_str_t type, jl_str_t param)
{
	return h(type, param, JL_STR_NULL, JL_STR_NULL, JL_STR_NULL);
}

int64_t jl_ix_key_text(jl_str_t type, jl_str_t param)
{
	return h(type, param, TEXT, JL_STR_NULL, JL_STR_NULL);
}

int64_t jl_ix_key_text_value(jl_str_t type, jl_str_t param, jl_str_t folded)
{
	return h(type, param, TEXT, folded, JL_STR_NULL);
}

int64_t jl_ix_key_exact(jl_str_t type, jl_str_t param)
{
	return h(type, param, EXACT, JL_STR_NULL, JL_STR_NULL);
}

int64_t jl_ix_unit(jl_str_t sys, jl_str_t code)
{
	int64_t u = h(UNIT, sys, code, JL_STR_NULL, JL_STR_NULL);
	return u ? u : 1; /* 0 means "no unit" in the rows */
}

bool jl_ix_decimal_range(jl_str_t t, double *lo, double *hi, double *value)
{
	char buf[64];
	if (!t.n || t.n >= sizeof buf)
		return false;
	memcpy(buf, t.p, t.n);
	buf[t.n] = 0;
	char *end;
	double v = strtod(buf, &end);
	if (end != buf + t.n || !isfinite(v))
		return false;
	/* Precision: digits after the point, shifted by the exponent ("1.5e2" is precise to 10). */
	int frac = 0, exp10 = 0;
	const char *dot = memchr(buf, '.', t.n), *e = NULL;
	for (size_t i = 0; i < t.n; i++)
		if (buf[i] == 'e' || buf[i] == 'E')
			e = buf + i;
	if (dot)
		frac = (int)((e ? e : buf + t.n) - dot - 1);
	if (e)
		exp10 = (int)strtol(e + 1, NULL, 10);
	double half = 0.5 * pow(10.0, (double)(exp10 - frac));
	*lo = v - half;
	*hi = v + half;
	if (value)
		*value = v;
	return true;
}

/* ---- extraction ------------------------------------------------------------ */

typedef struct ectx {
	const jl_search_defs_t *defs;
	jl_arena_t *a;
	jl_ix_rows_t *out;
	jl_diag_t *d;
	jl_str_t type;          /* resource type */
	jl_str_t param;         /* parameter code */
	const jl_json_t *res;
	jl_rc rc;               /* first ENOMEM */
	uint32_t pos;           /* parameter position in the type's list */
	uint32_t before;        /* rows before this parameter */
	const jl_searchparam_t *seen[256]; /* the parameter at each position (for derived :missing bits) */
	uint32_t derived[16];   /* positions of derived parameters, their bits set after the others' */
	uint32_t nderived;
} ectx_t;

static jl_ix_row_t *add(ectx_t *c, uint8_t table, int64_t k)
{
	jl_ix_rows_t *o = c->out;
	if (o->n == o->cap) {
		uint32_t cap = o->cap ? o->cap * 2 : 64;
		jl_ix_row_t *r = jl_arena_alloc(c->a, cap * sizeof *r);
		if (!r) {
			c->rc = JL_ENOMEM;
			return NULL;
		}
		if (o->n)
			memcpy(r, o->rows, o->n * sizeof *r);
		o->rows = r;
		o->cap = cap;
	}
	jl_ix_row_t *r = &o->rows[o->n++];
	memset(r, 0, sizeof *r);
	r->table = table;
	r->k = k;
	return r;
}

static jl_str_t member_str(const jl_json_t *o, const char *name)
{
	const jl_json_t *v = jl_json_get(o, name);
	return v && (v->type == JL_JSON_STRING || v->type == JL_JSON_NUMBER) ? jl_str(v->u.s, v->n) : JL_STR_NULL;
}

/*
 * A token's text (display, CodeableConcept.text: :text searches). Most
 * resources share their texts with many others ("blood pressure panel"),
 * so the text is kept once per parameter (a TEXT row, which outlives the
 * resources) under the parameter's key, and the resource gets a token
 * row under a key made of the text: a :text search reads the matching
 * texts, then their token rows. As a string row beside its (k, rid) index
 * entry it took 74 bytes per resource and text; the token row takes 16.
 */
static void add_text(ectx_t *c, jl_str_t text)
{
	if (!text.n)
		return;
	jl_str_t f;
	if (jl_text_fold(c->a, text, &f) != JL_OK || !f.n)
		return;
	int64_t tk = jl_ix_key_text_value(c->type, c->param, f);
	add(c, JL_IX_TOKEN, tk);
	jl_ix_row_t *r = add(c, JL_IX_TEXT, jl_ix_key_text(c->type, c->param));
	if (r) {
		r->v = f;
		r->target = tk;
	}
}

static void token(ectx_t *c, jl_str_t sys, jl_str_t code, jl_str_t text)
{
	if (code.n) {
		/* one row for code, system|code and |code: the system is a column of the code's row */
		jl_ix_row_t *r = add(c, JL_IX_TOKEN, jl_ix_key_token_any(c->type, c->param, code));
		if (r)
			r->s = jl_ix_token_system(sys);
	}
	if (sys.n)
		add(c, JL_IX_TOKEN, jl_ix_key_token_sysonly(c->type, c->param, sys));
	if (text.n)
		add_text(c, text);
}

static void token_coding(ectx_t *c, const jl_json_t *coding)
{
	token(c, member_str(coding, "system"), member_str(coding, "code"), member_str(coding, "display"));
}

static const char *tname(const jl_fp_item_t *it)
{
	return it->type ? it->type->name : "";
}

static bool is_quantity_type(const char *n)
{
	return !strcmp(n, "Quantity") || !strcmp(n, "Age") || !strcmp(n, "Count") || !strcmp(n, "Distance") ||
	       !strcmp(n, "Duration") || !strcmp(n, "SimpleQuantity") || !strcmp(n, "MoneyQuantity");
}

/* The text of a primitive item (JSON string, number or boolean, or a System value). */
static jl_str_t prim_text(const jl_fp_item_t *it)
{
	if (it->kind == JL_FP_NODE) {
		if (!it->node)
			return JL_STR_NULL;
		if (it->node->type == JL_JSON_TRUE)
			return JL_STR("true");
		if (it->node->type == JL_JSON_FALSE)
			return JL_STR("false");
		return jl_json_str(it->node);
	}
	if (it->kind == JL_FP_BOOLEAN)
		return it->i ? JL_STR("true") : JL_STR("false");
	return it->s;
}

static bool is_primitive(const jl_fp_item_t *it)
{
	return it->kind != JL_FP_NODE || (it->node && it->node->type != JL_JSON_OBJECT);
}

static void each_in(ectx_t *c, const jl_json_t *arr, void (*fn)(ectx_t *, const jl_json_t *))
{
	if (jl_json_is(arr, JL_JSON_ARRAY))
		for (uint32_t i = 0; i < arr->n; i++)
			fn(c, &arr->u.a[i]);
}

static void x_token(ectx_t *c, const jl_fp_item_t *it)
{
	const char *n = tname(it);
	const jl_json_t *o = it->node;
	if (is_primitive(it)) {
		token(c, JL_STR_NULL, prim_text(it), JL_STR_NULL);
	} else if (!strcmp(n, "Coding")) {
		token_coding(c, o);
	} else if (!strcmp(n, "CodeableConcept")) {
		each_in(c, jl_json_get(o, "coding"), token_coding);
		add_text(c, member_str(o, "text"));
	} else if (!strcmp(n, "Identifier")) {
		jl_str_t sys = member_str(o, "system"), val = member_str(o, "value");
		token(c, sys, val, JL_STR_NULL);
		const jl_json_t *ty = jl_json_get(o, "type");
		const jl_json_t *tc = jl_json_get(ty, "coding");
		if (val.n && jl_json_is(tc, JL_JSON_ARRAY))
			for (uint32_t i = 0; i < tc->n; i++)
				add(c, JL_IX_TOKEN,
				    jl_ix_key_token_oftype(c->type, c->param, member_str(&tc->u.a[i], "system"),
							   member_str(&tc->u.a[i], "code"), val));
		add_text(c, member_str(ty, "text"));
	} else if (!strcmp(n, "ContactPoint")) {
		token(c, JL_STR_NULL, member_str(o, "value"), JL_STR_NULL);
	}
}

/*
 * A string value: folded for the default and :contains searches, as written
 * for :exact. Most text is its own folded form (Chinese names and addresses
 * are): then the folded row is the written one too and :exact reads it.
 * Otherwise the folded row ends with JL_IX_FOLDED_MARK — after the text, so
 * prefix and contains searches still match it, but an equality with the
 * written form cannot — and the written form gets a row under the :exact key.
 * This halved the string rows of a generated region (two trees each).
 */
static void string_value(ectx_t *c, jl_str_t s)
{
	jl_str_t f;
	if (!s.n || jl_text_fold(c->a, s, &f) != JL_OK || !f.n)
		return;
	jl_ix_row_t *r = add(c, JL_IX_STRING, jl_ix_key_param(c->type, c->param));
	if (!r)
		return;
	if (jl_str_eq(f, s)) {
		r->v = f;
		return;
	}
	char *m = jl_arena_alloc_bytes(c->a, f.n + 1);
	if (!m) {
		c->rc = JL_ENOMEM;
		return;
	}
	memcpy(m, f.p, f.n);
	m[f.n] = JL_IX_FOLDED_MARK;
	r->v = jl_str(m, f.n + 1);
	r = add(c, JL_IX_STRING, jl_ix_key_exact(c->type, c->param));
	if (r)
		r->v = jl_arena_str(c->a, s);
}

static void string_member(ectx_t *c, const jl_json_t *o, const char *name)
{
	const jl_json_t *v = jl_json_get(o, name);
	if (jl_json_is(v, JL_JSON_STRING))
		string_value(c, jl_json_str(v));
	else if (jl_json_is(v, JL_JSON_ARRAY))
		for (uint32_t i = 0; i < v->n; i++)
			if (v->u.a[i].type == JL_JSON_STRING)
				string_value(c, jl_json_str(&v->u.a[i]));
}

static void x_string(ectx_t *c, const jl_fp_item_t *it)
{
	const char *n = tname(it);
	if (is_primitive(it)) {
		string_value(c, prim_text(it));
	} else if (!strcmp(n, "HumanName")) {
		static const char *const parts[] = {"family", "given", "prefix", "suffix", "text"};
		for (size_t i = 0; i < 5; i++)
			string_member(c, it->node, parts[i]);
	} else if (!strcmp(n, "Address")) {
		static const char *const parts[] = {"line", "city", "district", "state", "postalCode", "country", "text"};
		for (size_t i = 0; i < 7; i++)
			string_member(c, it->node, parts[i]);
	}
}

static void x_uri(ectx_t *c, const jl_fp_item_t *it)
{
	if (!is_primitive(it))
		return;
	jl_str_t s = prim_text(it);
	if (!s.n)
		return;
	jl_ix_row_t *r = add(c, JL_IX_URI, jl_ix_key_param(c->type, c->param));
	if (r)
		r->v = jl_arena_str(c->a, s);
}

static void ref_target(ectx_t *c, int64_t k, jl_str_t ref)
{
	jl_ix_row_t *r = add(c, JL_IX_REF, k);
	if (r)
		r->target = jl_store_target(ref);
}

/* Index a reference string: relative, versioned, absolute, canonical (url|version), urn. */
static void ref_string(ectx_t *c, jl_str_t ref)
{
	if (!ref.n || ref.p[0] == '#')
		return; /* contained: local to the resource */
	int64_t k = jl_ix_key_param(c->type, c->param);
	ref_target(c, k, ref);
	const char *bar = jl_str_chr(ref, '|');
	if (bar) /* canonical with a version: also the unversioned URL */
		ref_target(c, k, jl_str(ref.p, (size_t)(bar - ref.p)));
	/* "…/Type/id/_history/v" → also the unversioned form. Absolute URLs are indexed as written: a
	 * search by "Type/id" must not match another server's resource with the same tail. */
	const char *hist = NULL;
	for (size_t i = 0; i + 10 <= ref.n; i++)
		if (memcmp(ref.p + i, "/_history/", 10) == 0)
			hist = ref.p + i;
	jl_str_t base = hist ? jl_str(ref.p, (size_t)(hist - ref.p)) : ref;
	if (hist)
		ref_target(c, k, base);
}

static void x_reference(ectx_t *c, const jl_fp_item_t *it)
{
	const char *n = tname(it);
	if (is_primitive(it)) {
		ref_string(c, prim_text(it)); /* canonical, uri */
	} else if (!strcmp(n, "Reference")) {
		ref_string(c, member_str(it->node, "reference"));
		const jl_json_t *id = jl_json_get(it->node, "identifier");
		jl_str_t val = member_str(id, "value");
		if (val.n)
			add(c, JL_IX_TOKEN, jl_ix_key_ref_identifier(c->type, c->param, member_str(id, "system"), val));
	}
}

static bool date_range(jl_str_t s, int64_t *lo, int64_t *hi)
{
	jl_datetime_t dt;
	if (!jl_datetime_parse(s, false, &dt) && !jl_datetime_parse(s, true, &dt))
		return false;
	jl_datetime_range(&dt, lo, hi);
	return true;
}

static void date_row(ectx_t *c, int64_t k, int64_t lo, int64_t hi)
{
	jl_ix_row_t *r = add(c, JL_IX_DATE, k);
	if (r) {
		r->ilo = lo;
		r->ihi = hi;
	}
}

static void x_date(ectx_t *c, const jl_fp_item_t *it, int64_t k)
{
	const char *n = tname(it);
	int64_t lo, hi, lo2, hi2;
	if (is_primitive(it)) {
		if (date_range(prim_text(it), &lo, &hi))
			date_row(c, k, lo, hi);
	} else if (!strcmp(n, "Period")) {
		jl_str_t s = member_str(it->node, "start"), e = member_str(it->node, "end");
		bool hs = s.n && date_range(s, &lo, &hi2), he = e.n && date_range(e, &lo2, &hi);
		if (hs || he)
			date_row(c, k, hs ? lo : INT64_MIN, he ? hi : INT64_MAX);
	} else if (!strcmp(n, "Timing")) {
		const jl_json_t *ev = jl_json_get(it->node, "event");
		int64_t mlo = INT64_MAX, mhi = INT64_MIN;
		if (jl_json_is(ev, JL_JSON_ARRAY))
			for (uint32_t i = 0; i < ev->n; i++)
				if (date_range(jl_json_str(&ev->u.a[i]), &lo, &hi)) {
					mlo = lo < mlo ? lo : mlo;
					mhi = hi > mhi ? hi : mhi;
				}
		const jl_json_t *bp = jl_json_get(jl_json_get(it->node, "repeat"), "boundsPeriod");
		jl_str_t s = member_str(bp, "start"), e = member_str(bp, "end");
		if (s.n && date_range(s, &lo, &hi))
			mlo = lo < mlo ? lo : mlo;
		if (e.n && date_range(e, &lo, &hi))
			mhi = hi > mhi ? hi : mhi;
		if (mlo <= mhi)
			date_row(c, k, mlo, mhi);
	}
}

static void num_row(ectx_t *c, uint8_t table, int64_t k, double lo, double hi)
{
	jl_ix_row_t *r = add(c, table, k);
	if (r) {
		r->dlo = lo;
		r->dhi = hi;
	}
}

/* Numbers and quantities are indexed as points [v, v]: the precision rules of R4 apply to the search value. */
static void x_number(ectx_t *c, const jl_fp_item_t *it, int64_t k)
{
	double lo, hi, v;
	if (it->kind == JL_FP_INTEGER) {
		num_row(c, JL_IX_NUMBER, k, (double)it->i, (double)it->i);
	} else if (is_primitive(it) && jl_ix_decimal_range(prim_text(it), &lo, &hi, &v)) {
		num_row(c, JL_IX_NUMBER, k, v, v);
	}
}

/*
 * One quantity row per value, under the parameter's key (or a composite's
 * prefix key); the unit goes into the row as three hashes, so a search by
 * unit filters the parameter's rows instead of probing a key per unit form.
 */
static void quantity_rows(ectx_t *c, int64_t kany, const int64_t *prefix, size_t np, double lo, double hi,
			  jl_str_t sys, jl_str_t code, jl_str_t unit);

/* The value of a decimal as text, as a point. */
static bool point(jl_str_t text, double *v)
{
	double lo, hi;
	return jl_ix_decimal_range(text, &lo, &hi, v);
}

static void x_quantity(ectx_t *c, const jl_fp_item_t *it, int64_t kany, const int64_t *prefix, size_t np)
{
	const char *n = tname(it);
	double v;
	if (it->kind == JL_FP_DECIMAL) {
		if (point(it->s, &v))
			quantity_rows(c, kany, prefix, np, v, v, JL_STR_NULL, JL_STR_NULL, JL_STR_NULL);
		return;
	}
	if (it->kind == JL_FP_QUANTITY) {
		/* a System quantity (an expression's result): the value is num, s is its UCUM unit */
		if (point(it->num, &v))
			quantity_rows(c, kany, prefix, np, v, v, it->s.n ? JL_STR("http://unitsofmeasure.org") : JL_STR_NULL,
				      it->s, it->s);
		return;
	}
	if (it->kind == JL_FP_INTEGER) {
		quantity_rows(c, kany, prefix, np, (double)it->i, (double)it->i, JL_STR_NULL, JL_STR_NULL, JL_STR_NULL);
		return;
	}
	if (is_primitive(it)) {
		if (point(prim_text(it), &v))
			quantity_rows(c, kany, prefix, np, v, v, JL_STR_NULL, JL_STR_NULL, JL_STR_NULL);
		return;
	}
	const jl_json_t *o = it->node;
	if (is_quantity_type(n)) {
		if (point(member_str(o, "value"), &v))
			quantity_rows(c, kany, prefix, np, v, v, member_str(o, "system"), member_str(o, "code"),
				      member_str(o, "unit"));
	} else if (!strcmp(n, "Money")) {
		if (point(member_str(o, "value"), &v))
			quantity_rows(c, kany, prefix, np, v, v, JL_STR("urn:iso:std:iso:4217"), member_str(o, "currency"),
				      JL_STR_NULL);
	} else if (!strcmp(n, "Range")) {
		/* A range is indexed as the closed interval [low, high] (open ends are infinite). */
		const jl_json_t *low = jl_json_get(o, "low"), *high = jl_json_get(o, "high");
		double lo = -HUGE_VAL, hi = HUGE_VAL;
		bool hl = point(member_str(low, "value"), &lo);
		bool hh = point(member_str(high, "value"), &hi);
		if (hl || hh) {
			const jl_json_t *u = hl ? low : high;
			quantity_rows(c, kany, prefix, np, lo, hi, member_str(u, "system"), member_str(u, "code"),
				      member_str(u, "unit"));
		}
	}
}

/* A composite key: the parameter's key followed by the earlier components' keys. */
int64_t jl_ix_key_combo(int64_t base, const int64_t *parts, size_t n, int64_t last)
{
	uint64_t hh = jl_hash_bytes(JL_HASH_SEED, &base, sizeof base);
	if (n)
		hh = jl_hash_bytes(hh, parts, n * sizeof *parts);
	return (int64_t)jl_hash_bytes(hh, &last, sizeof last);
}

static void quantity_rows(ectx_t *c, int64_t kany, const int64_t *prefix, size_t np, double lo, double hi,
			  jl_str_t sys, jl_str_t code, jl_str_t unit)
{
	jl_ix_row_t *r = add(c, JL_IX_QUANTITY, np ? jl_ix_key_combo(kany, prefix, np, 0) : kany);
	if (!r)
		return;
	r->dlo = lo;
	r->dhi = hi;
	r->us = sys.n && code.n ? jl_ix_unit(sys, code) : 0;
	r->uc = code.n ? jl_ix_unit(JL_STR_NULL, code) : 0;
	r->uu = unit.n && !jl_str_eq(unit, code) ? jl_ix_unit(JL_STR_NULL, unit) : 0;
}

/* ---- composites ---- */

/*
 * The keys a value offers as a composite component: for codes and
 * identifiers the "code" and "system|code" forms only (a composite query
 * never uses "system|" or :text), for references the target.
 */
static size_t comp_keys(ectx_t *c, const jl_fp_item_t *it, int64_t *out, size_t max)
{
	size_t n = 0;
#define KEY(v) do { if (n < max) out[n++] = (v); } while (0)
	const char *tn = tname(it);
	const jl_json_t *o = it->node;
	if (is_primitive(it)) {
		jl_str_t code = prim_text(it);
		if (code.n) {
			KEY(jl_ix_key_token_any(c->type, c->param, code));
			KEY(jl_ix_key_token_sys(c->type, c->param, JL_STR_NULL, code));
		}
	} else if (!strcmp(tn, "Coding") || !strcmp(tn, "CodeableConcept") || !strcmp(tn, "Identifier")) {
		const jl_json_t *codings = jl_json_get(o, "coding");
		uint32_t m = !strcmp(tn, "CodeableConcept") ? (jl_json_is(codings, JL_JSON_ARRAY) ? codings->n : 0) : 1;
		for (uint32_t i = 0; i < m; i++) {
			const jl_json_t *cd = !strcmp(tn, "CodeableConcept") ? &codings->u.a[i] : o;
			jl_str_t code = member_str(cd, !strcmp(tn, "Identifier") ? "value" : "code");
			if (!code.n)
				continue;
			KEY(jl_ix_key_token_any(c->type, c->param, code));
			KEY(jl_ix_key_token_sys(c->type, c->param, member_str(cd, "system"), code));
		}
	} else if (!strcmp(tn, "Reference")) {
		jl_str_t ref = member_str(o, "reference");
		if (ref.n && ref.p[0] != '#')
			KEY(jl_store_target(ref));
	}
#undef KEY
	return n;
}

static void x_composite(ectx_t *c, const jl_searchparam_t *p, const jl_fp_item_t *it)
{
	if (p->ncomponents < 2 || p->ncomponents > 3 || it->kind != JL_FP_NODE)
		return;
	const jl_fp_expr_t *ce[3];
	for (uint8_t k = 0; k < p->ncomponents; k++)
		ce[k] = jl_search_defs_component(c->defs, p, k);
	int64_t base = jl_ix_key_param(c->type, c->param);
	/* Keys of every component but the last; then each last value under each key combination. */
	int64_t keys[2][16];
	size_t nkeys[2] = {0, 0};
	uint8_t ncomp = p->ncomponents;
	for (uint8_t k = 0; k + 1 < ncomp; k++) {
		jl_fp_coll_t v;
		if (!ce[k] || jl_fp_eval(c->a, ce[k], it->node, it->type, NULL, &v, NULL) != JL_OK)
			return;
		for (size_t i = 0; i < v.n; i++)
			nkeys[k] += comp_keys(c, &v.items[i], keys[k] + nkeys[k], 16 - nkeys[k]);
		if (!nkeys[k])
			return;
	}
	jl_fp_coll_t last;
	if (!ce[ncomp - 1] || jl_fp_eval(c->a, ce[ncomp - 1], it->node, it->type, NULL, &last, NULL) != JL_OK)
		return;
	size_t n1 = ncomp == 3 ? nkeys[1] : 1;
	for (size_t a = 0; a < nkeys[0]; a++)
		for (size_t b = 0; b < n1; b++) {
			int64_t pre[2] = {keys[0][a], ncomp == 3 ? keys[1][b] : 0};
			size_t np = ncomp == 3 ? 2 : 1;
			for (size_t i = 0; i < last.n; i++) {
				const jl_fp_item_t *lv = &last.items[i];
				switch (p->components[ncomp - 1].type) {
				case JL_SP_TOKEN:
				case JL_SP_REFERENCE: {
					int64_t lk[16];
					size_t nl = comp_keys(c, lv, lk, 16);
					for (size_t j = 0; j < nl; j++)
						add(c, JL_IX_COMPOSITE, jl_ix_key_combo(base, pre, np, lk[j]));
					break;
				}
				case JL_SP_QUANTITY:
				case JL_SP_NUMBER:
					x_quantity(c, lv, base, pre, np);
					break;
				case JL_SP_DATE:
					x_date(c, lv, jl_ix_key_combo(base, pre, np, 0));
					break;
				case JL_SP_STRING: {
					jl_str_t f;
					if (is_primitive(lv) && jl_text_fold(c->a, prim_text(lv), &f) == JL_OK) {
						jl_ix_row_t *r = add(c, JL_IX_STRING, jl_ix_key_combo(base, pre, np, 0));
						if (r)
							r->v = f;
					}
					break;
				}
				default:
					break;
				}
			}
		}
}

/* ---- driver ---- */

static int cmp_row(const void *x, const void *y)
{
	const jl_ix_row_t *a = x, *b = y;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (a->ilo != b->ilo)
		return a->ilo < b->ilo ? -1 : 1;
	if (a->ihi != b->ihi)
		return a->ihi < b->ihi ? -1 : 1;
	if (a->dlo != b->dlo)
		return a->dlo < b->dlo ? -1 : 1;
	if (a->dhi != b->dhi)
		return a->dhi < b->dhi ? -1 : 1;
	if (a->us != b->us)
		return a->us < b->us ? -1 : 1;
	if (a->uc != b->uc)
		return a->uc < b->uc ? -1 : 1;
	if (a->uu != b->uu)
		return a->uu < b->uu ? -1 : 1;
	if (a->s != b->s)
		return a->s < b->s ? -1 : 1;
	return jl_str_cmp(a->v, b->v);
}

static void extract_param(const jl_searchparam_t *p, void *arg)
{
	ectx_t *c = arg;
	uint32_t pos = c->pos++;
	if (pos < 256)
		c->seen[pos] = p;
	if (c->rc || p->type == JL_SP_SPECIAL)
		return;
	const jl_searchparam_t *const *src;
	if (pos < 256 && c->nderived < 16 && jl_search_defs_sources(c->defs, p, &src)) {
		c->derived[c->nderived++] = pos; /* rows of its own would repeat its sources' */
		return;
	}
	/* _id and _lastUpdated are answered from the resource table, not from index rows. */
	if (!strcmp(p->code, "_id") || !strcmp(p->code, "_lastUpdated"))
		return;
	const jl_fp_expr_t *e = jl_search_defs_expr(c->defs, p);
	if (!e)
		return;
	jl_fp_coll_t v;
	jl_rc rc = jl_fp_eval(c->a, e, c->res, jl_fhir_resource(c->type), NULL, &v, NULL);
	if (rc == JL_ENOMEM) {
		c->rc = rc;
		return;
	}
	if (rc) {
		if (c->d)
			jl_diag_add(c->d, JL_SEV_WARNING, "processing", NULL, "search parameter %s could not be evaluated (%s)",
				    p->code, jl_rc_name(rc));
		return;
	}
	c->param = jl_cstr(p->code);
	c->before = c->out->n;
	int64_t k = jl_ix_key_param(c->type, c->param);
	for (size_t i = 0; i < v.n && !c->rc; i++) {
		const jl_fp_item_t *it = &v.items[i];
		switch (p->type) {
		case JL_SP_TOKEN: x_token(c, it); break;
		case JL_SP_STRING: x_string(c, it); break;
		case JL_SP_URI: x_uri(c, it); break;
		case JL_SP_REFERENCE: x_reference(c, it); break;
		case JL_SP_DATE: x_date(c, it, k); break;
		case JL_SP_NUMBER: x_number(c, it, k); break;
		case JL_SP_QUANTITY: x_quantity(c, it, k, NULL, 0); break;
		case JL_SP_COMPOSITE: x_composite(c, p, it); break;
		default: break;
		}
	}
	if (c->out->n > c->before && pos < 256)
		c->out->present[pos / 64] |= 1ULL << (pos % 64);
}

/* A derived parameter (defs.h) had a value when one of its sources had. */
static void derived_bits(ectx_t *c)
{
	uint64_t *bits = c->out->present;
	uint32_t n = c->pos < 256 ? c->pos : 256;
	for (uint32_t i = 0; i < c->nderived; i++) {
		uint32_t d = c->derived[i];
		const jl_searchparam_t *const *src;
		uint8_t ns = jl_search_defs_sources(c->defs, c->seen[d], &src);
		for (uint32_t pos = 0; pos < n; pos++)
			for (uint8_t k = 0; k < ns; k++)
				if (c->seen[pos] == src[k] && (bits[pos / 64] >> (pos % 64) & 1))
					bits[d / 64] |= 1ULL << (d % 64);
	}
}

jl_rc jl_index_extract(const jl_search_defs_t *defs, jl_arena_t *a, const jl_json_t *res,
		       const jl_fhir_type_t *type, jl_ix_rows_t *out, jl_diag_t *d)
{
	memset(out, 0, sizeof *out);
	ectx_t c = {.defs = defs, .a = a, .out = out, .d = d, .type = jl_cstr(type->name), .res = res};
	jl_search_each(defs, c.type, extract_param, &c);
	if (c.rc)
		return c.rc;
	derived_bits(&c);
	if (out->n > 1) {
		qsort(out->rows, out->n, sizeof *out->rows, cmp_row);
		uint32_t w = 1;
		for (uint32_t i = 1; i < out->n; i++)
			if (cmp_row(&out->rows[i], &out->rows[w - 1]) != 0)
				out->rows[w++] = out->rows[i];
		out->n = w;
		/* A code in several systems: its rows after the first are flagged, so a search for the code in
		 * any system reads each resource once, in rid order, without DISTINCT (sqlite_search.c). */
		for (uint32_t i = 1; i < out->n; i++)
			if (out->rows[i].table == JL_IX_TOKEN && out->rows[i - 1].table == JL_IX_TOKEN &&
			    out->rows[i].k == out->rows[i - 1].k)
				out->rows[i].s |= JL_IX_TOKEN_DUP;
	}
	return JL_OK;
}


/* A stored version as a tree, exactly as a read would return it. */
static jl_rc version_tree(jl_arena_t *a, const jl_version_t *v, jl_json_t **out)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_STORE, 0);
	jl_rc rc = jl_fhir_body_assemble(&b, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	jl_str_t text = rc ? JL_STR_NULL : jl_arena_str(a, jl_buf_str(&b));
	jl_buf_dispose(&b);
	if (rc)
		return rc;
	if (!text.p)
		return JL_ENOMEM;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 256};
	if (jl_json_parse(a, text.p, text.n, &o, out, &e) != JL_OK)
		return JL_EIO; /* we wrote it: it must parse */
	return JL_OK;
}

jl_rc jl_index_refresh_old(const jl_search_defs_t *defs, jl_store_t *s, jl_arena_t *a, jl_write_t *w)
{
	w->index = true;
	w->ix_old = NULL;
	w->ix_old_ver = 0;
	if (w->kind == JL_WRITE_CREATE)
		return JL_OK;
	jl_version_t v;
	jl_rc rc = jl_store_read(s, a, w->type, w->id, 0, &v);
	if (rc == JL_ENOTFOUND)
		return JL_OK;
	if (rc)
		return rc;
	w->ix_old_ver = v.ver;
	if (v.deleted)
		return JL_OK;
	jl_json_t *old;
	rc = version_tree(a, &v, &old);
	if (rc)
		return rc;
	const jl_fhir_type_t *t = jl_fhir_resource(w->type);
	if (!t)
		return JL_EINVAL;
	jl_ix_rows_t *rows = jl_arena_alloc(a, sizeof *rows);
	if (!rows)
		return JL_ENOMEM;
	rc = jl_index_extract(defs, a, old, t, rows, NULL);
	if (!rc)
		w->ix_old = rows;
	return rc;
}

jl_rc jl_index_prepare_write(const jl_search_defs_t *defs, jl_store_t *s, jl_arena_t *a, jl_write_t *w,
			     const jl_json_t *res)
{
	w->ix = NULL;
	if (res && w->kind != JL_WRITE_DELETE) {
		const jl_fhir_type_t *t = jl_fhir_resource(w->type);
		jl_ix_rows_t *rows = jl_arena_alloc(a, sizeof *rows);
		if (!t || !rows)
			return t ? JL_ENOMEM : JL_EINVAL;
		jl_rc rc = jl_index_extract(defs, a, res, t, rows, NULL);
		if (rc)
			return rc;
		w->ix = rows;
	}
	return jl_index_refresh_old(defs, s, a, w);
}

/* ---- sort keys ------------------------------------------------------------- */

static void key_candidate(jl_str_t v, bool desc, jl_str_t *best)
{
	if (!v.n)
		return;
	int c = best->p ? jl_str_cmp(v, *best) : 0;
	if (!best->p || (desc ? c > 0 : c < 0))
		*best = v;
}

static void key_codings(const jl_json_t *arr, bool desc, jl_str_t *best)
{
	if (jl_json_is(arr, JL_JSON_ARRAY))
		for (uint32_t i = 0; i < arr->n; i++)
			key_candidate(member_str(&arr->u.a[i], "code"), desc, best);
}

/* The values a token or reference element sorts by: codes, identifier and contact values, references. */
static void key_item(const jl_fp_item_t *it, uint8_t sptype, bool desc, jl_str_t *best)
{
	const char *n = tname(it);
	if (is_primitive(it))
		key_candidate(prim_text(it), desc, best);
	else if (!strcmp(n, "Coding"))
		key_candidate(member_str(it->node, "code"), desc, best);
	else if (!strcmp(n, "CodeableConcept"))
		key_codings(jl_json_get(it->node, "coding"), desc, best);
	else if (!strcmp(n, "Identifier") || !strcmp(n, "ContactPoint"))
		key_candidate(member_str(it->node, "value"), desc, best);
	else if (!strcmp(n, "Reference") && sptype == JL_SP_REFERENCE)
		key_candidate(member_str(it->node, "reference"), desc, best);
}

jl_rc jl_index_sort_key(const void *arg, jl_arena_t *a, const jl_version_t *v, jl_str_t param, bool desc,
			jl_str_t *key)
{
	const jl_search_defs_t *defs = arg;
	*key = JL_STR_NULL;
	const jl_searchparam_t *p = jl_search_param(defs, v->type, param);
	const jl_fp_expr_t *e = p ? jl_search_defs_expr(defs, p) : NULL;
	const jl_fhir_type_t *t = jl_fhir_resource(v->type);
	if (!e || !t || v->deleted)
		return JL_OK; /* no expression (or nothing to evaluate): no key, sorts last */
	jl_json_t *res;
	jl_rc rc = version_tree(a, v, &res);
	if (rc)
		return rc;
	jl_fp_coll_t c;
	rc = jl_fp_eval(a, e, res, t, NULL, &c, NULL);
	if (rc)
		return rc == JL_ENOMEM ? rc : JL_OK; /* as extraction does: a failing expression gives no value */
	for (size_t i = 0; i < c.n; i++)
		key_item(&c.items[i], p->type, desc, key);
	return JL_OK;
}
