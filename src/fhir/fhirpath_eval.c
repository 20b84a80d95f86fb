/*
 * fhirpath_eval — the FHIRPath evaluator: walks the compiled tree over a
 * JSON resource, typing every node from the generated model as it goes.
 *
 * Navigation is where the time goes (an index extraction evaluates ~20
 * paths per write), so a member step is one pass over the JSON object's
 * members: the exact name, a choice element's typed names ("value" finds
 * valueQuantity, typed Quantity), and a primitive's "_name" sibling (its id
 * and extensions). The element type comes from jl_fhir_prop() (binary
 * search); a Resource-typed slot (contained, Bundle.entry.resource) takes
 * the type its resourceType names. Collections are arrays in the
 * evaluation's arena; nothing here allocates elsewhere.
 *
 * Operators follow the specification's collection rules: empty operands
 * propagate, more than one item where one is expected is an error, and
 * and/or/xor/implies are three-valued. Equality (=) may be unknown (dates
 * of different precision, quantities in incomparable units): the result is
 * then empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/time.h"
#include "fhir/fhirpath_int.h"

jl_rc jl__fp_err(fp_ev_t *ev, const fp_node_t *n, jl_rc rc, const char *fmt, ...)
{
	if (ev->d) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		if (n)
			jl_diag_err(ev->d, rc == JL_ENOMEM ? "exception" : rc == JL_ETOOBIG ? "too-costly" : "processing",
				    NULL, "FHIRPath evaluation error at offset %u (%.*s): %s", n->pos,
				    (int)(ev->src.n - n->pos > 40 ? 40 : ev->src.n - n->pos), ev->src.p + n->pos, msg);
		else
			jl_diag_err(ev->d, rc == JL_ENOMEM ? "exception" : "processing", NULL,
				    "FHIRPath evaluation error: %s", msg);
	}
	return rc;
}

jl_rc jl__fp_push(fp_ev_t *ev, fp_vec_t *v, const jl_fp_item_t *it)
{
	if (v->n == v->cap) {
		if (v->n >= FP_MAX_ITEMS)
			return jl__fp_err(ev, NULL, JL_ETOOBIG, "a collection exceeds %u items", FP_MAX_ITEMS);
		size_t cap = v->cap ? v->cap * 2 : 4;
		jl_fp_item_t *p = jl_arena_alloc(ev->a, cap * sizeof *p);
		if (!p)
			return jl__fp_err(ev, NULL, JL_ENOMEM, "out of memory");
		if (v->n)
			memcpy(p, v->p, v->n * sizeof *p);
		v->p = p;
		v->cap = cap;
	}
	v->p[v->n++] = *it;
	return JL_OK;
}

static inline jl_fp_coll_t as_coll(const fp_vec_t *v)
{
	return (jl_fp_coll_t){v->p, v->n};
}

static inline jl_fp_coll_t one(const jl_fp_item_t *it)
{
	return (jl_fp_coll_t){(jl_fp_item_t *)it, 1};
}

static jl_rc single_item(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, jl_fp_coll_t *out)
{
	jl_fp_item_t *p = jl_arena_alloc(ev->a, sizeof *p);
	if (!p)
		return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
	*p = *it;
	*out = (jl_fp_coll_t){p, 1};
	return JL_OK;
}

/* ------------------------------------------------------------------ navigation */

static const jl_fhir_type_t *resource_type_of(const jl_json_t *v)
{
	if (!v || v->type != JL_JSON_OBJECT)
		return NULL;
	/* resourceType is nearly always the first member. */
	for (uint32_t i = 0; i < v->n; i++)
		if (jl_str_eqc(v->u.o[i].key, "resourceType"))
			return jl_fhir_resource(jl_json_str(&v->u.o[i].v));
	return NULL;
}

jl_fp_item_t jl__fp_node(const jl_fhir_type_t *t, const jl_json_t *v, const jl_json_t *ext)
{
	if (v && v->type == JL_JSON_OBJECT && (!t || t->kind == JL_FHIR_ABSTRACT)) {
		const jl_fhir_type_t *r = resource_type_of(v);
		if (r)
			t = r;
	}
	if (ext && ext->type != JL_JSON_OBJECT)
		ext = NULL;
	return (jl_fp_item_t){.kind = JL_FP_NODE, .type = t, .node = v, .ext = ext};
}

static jl_fp_item_t untyped(const jl_json_t *val);

/* Appends the items a member value holds (one, or each of an array), paired with their "_name" data. */
static jl_rc emit(fp_ev_t *ev, fp_vec_t *v, const jl_fhir_type_t *t, const jl_json_t *val, const jl_json_t *ext)
{
	jl_rc rc;
	if (val && val->type == JL_JSON_ARRAY) {
		for (uint32_t i = 0; i < val->n; i++) {
			const jl_json_t *x = ext && ext->type == JL_JSON_ARRAY && i < ext->n ? &ext->u.a[i] : NULL;
			const jl_json_t *e = &val->u.a[i];
			if (e->type == JL_JSON_NULL) {
				if (!x || x->type != JL_JSON_OBJECT)
					continue;
				e = NULL;
			}
			jl_fp_item_t it = !t && e && !x ? untyped(e) : jl__fp_node(t, e, x);
			if ((rc = jl__fp_push(ev, v, &it)))
				return rc;
		}
		return JL_OK;
	}
	if (!val) {
		/* Only "_name": primitives that carry just an id or extensions. */
		if (!ext)
			return JL_OK;
		if (ext->type == JL_JSON_ARRAY) {
			for (uint32_t i = 0; i < ext->n; i++) {
				if (ext->u.a[i].type != JL_JSON_OBJECT)
					continue;
				jl_fp_item_t it = jl__fp_node(t, NULL, &ext->u.a[i]);
				if ((rc = jl__fp_push(ev, v, &it)))
					return rc;
			}
			return JL_OK;
		}
		if (ext->type != JL_JSON_OBJECT)
			return JL_OK;
	}
	if (val && val->type == JL_JSON_NULL)
		return JL_OK;
	jl_fp_item_t it = !t && val && !ext ? untyped(val) : jl__fp_node(t, val, ext);
	return jl__fp_push(ev, v, &it);
}

/* An untyped JSON scalar (a member the model does not know, type() results) as a System value. */
static jl_fp_item_t untyped(const jl_json_t *val)
{
	jl_fp_item_t it = jl__fp_node(NULL, val, NULL), sv;
	if (val->type != JL_JSON_OBJECT && val->type != JL_JSON_ARRAY && jl__fp_value(NULL, &it, &sv))
		return sv;
	return it;
}

static const jl_json_t *find_key(const jl_json_t *o, const char *prefix, jl_str_t name)
{
	size_t pn = strlen(prefix);
	for (uint32_t i = 0; i < o->n; i++) {
		jl_str_t k = o->u.o[i].key;
		if (k.n == pn + name.n && memcmp(k.p, prefix, pn) == 0 && memcmp(k.p + pn, name.p, name.n) == 0)
			return &o->u.o[i].v;
	}
	return NULL;
}

static bool choice_of(const jl_fhir_elem_t *e, jl_str_t stem)
{
	size_t n = strlen(e->name);
	return (e->flags & JL_EF_CHOICE) && n == stem.n + 3 && memcmp(e->name, stem.p, stem.n) == 0;
}

jl_rc jl__fp_member(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, jl_str_t name, fp_vec_t *v)
{
	if (it->kind != JL_FP_NODE)
		return JL_OK;
	const jl_json_t *o = it->node;
	const jl_fhir_type_t *t = it->type;
	if (!o || o->type != JL_JSON_OBJECT) {
		/* A primitive's id and extensions live in its "_name" sibling. */
		if (!it->ext || !(jl_str_eqc(name, "extension") || jl_str_eqc(name, "id")))
			return JL_OK;
		o = it->ext;
		t = jl_fhir_type(JL_STR("Element"));
	}
	const jl_json_t *exact = NULL, *uext = NULL;
	struct {
		const jl_json_t *val;
		jl_str_t key;
		uint16_t type;
	} ch[4];
	int nch = 0;
	bool under = false;
	for (uint32_t i = 0; i < o->n; i++) {
		jl_str_t k = o->u.o[i].key;
		if (k.n < name.n) {
			under |= k.n && k.p[0] == '_';
			continue;
		}
		if (k.p[0] == '_') {
			under = true;
			if (k.n == name.n + 1 && memcmp(k.p + 1, name.p, name.n) == 0)
				uext = &o->u.o[i].v;
			continue;
		}
		if (memcmp(k.p, name.p, name.n) != 0)
			continue;
		if (k.n == name.n) {
			exact = &o->u.o[i].v;
		} else if (t && k.p[name.n] >= 'A' && k.p[name.n] <= 'Z' && nch < 4) {
			const jl_fhir_prop_t *p = jl_fhir_prop(t, k);
			if (p && choice_of(jl_fhir_prop_elem(t, p), name)) {
				ch[nch].val = &o->u.o[i].v;
				ch[nch].key = k;
				ch[nch].type = p->type;
				nch++;
			}
		}
	}
	jl_rc rc;
	if (exact || uext) {
		const jl_fhir_type_t *et = NULL;
		if (t) {
			const jl_fhir_prop_t *p = jl_fhir_prop(t, name);
			if (p) {
				if (jl_fhir_prop_elem(t, p)->flags & JL_EF_CHOICE)
					return jl__fp_err(ev, n, JL_EINVALID,
							  "%.*s is a choice element's JSON name: use its FHIRPath name",
							  JL_STR_FMT(name));
				et = &jl_fhir_types[p->type];
			} else if (ev->flags & JL_FP_STRICT) {
				return jl__fp_err(ev, n, JL_EINVALID, "%s has no element %.*s", t->name, JL_STR_FMT(name));
			}
		}
		if ((rc = emit(ev, v, et, exact, uext)))
			return rc;
	}
	for (int i = 0; i < nch; i++) {
		const jl_json_t *x = under ? find_key(o, "_", ch[i].key) : NULL;
		if ((rc = emit(ev, v, &jl_fhir_types[ch[i].type], ch[i].val, x)))
			return rc;
	}
	return JL_OK;
}

jl_rc jl__fp_children(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, fp_vec_t *v)
{
	if (it->kind != JL_FP_NODE)
		return JL_OK;
	const jl_json_t *o = it->node;
	const jl_fhir_type_t *t = it->type;
	if (!o || o->type != JL_JSON_OBJECT) {
		if (!it->ext)
			return JL_OK;
		o = it->ext;
		t = jl_fhir_type(JL_STR("Element"));
	}
	jl_rc rc;
	for (uint32_t i = 0; i < o->n; i++) {
		jl_str_t k = o->u.o[i].key;
		const jl_json_t *val = &o->u.o[i].v, *ext = NULL;
		if (jl_str_eqc(k, "resourceType"))
			continue;
		if (k.n && k.p[0] == '_') {
			/* Only when there is no value member to pair it with. */
			jl_str_t base = jl_str(k.p + 1, k.n - 1);
			if (find_key(o, "", base))
				continue;
			ext = val;
			val = NULL;
			k = base;
		} else {
			ext = find_key(o, "_", k);
		}
		const jl_fhir_prop_t *p = t ? jl_fhir_prop(t, k) : NULL;
		if ((rc = emit(ev, v, p ? &jl_fhir_types[p->type] : NULL, val, ext)))
			return rc;
		if ((rc = jl__fp_step(ev, n, 1)))
			return rc;
	}
	return JL_OK;
}

/* ------------------------------------------------------------------ equality and order */

static bool is_object(const jl_fp_item_t *it)
{
	return it->kind == JL_FP_NODE && it->node && it->node->type == JL_JSON_OBJECT;
}

static int num_pair(const jl_fp_item_t *a, const jl_fp_item_t *b, fp_dec_t *x, fp_dec_t *y)
{
	return jl__fp_num(a, x) && jl__fp_num(b, y);
}

static bool is_num(const jl_fp_item_t *it)
{
	return it->kind == JL_FP_INTEGER || it->kind == JL_FP_DECIMAL;
}

static bool is_dt(const jl_fp_item_t *it)
{
	return it->kind == JL_FP_DATE || it->kind == JL_FP_DATETIME || it->kind == JL_FP_TIME;
}

/* A number as a quantity of unit '1', for number-vs-quantity comparisons. */
static bool qty_or_num(const jl_fp_item_t *it, fp_qty_t *q)
{
	if (it->kind == JL_FP_QUANTITY)
		return jl__fp_qty_of(it, q);
	if (jl__fp_num(it, &q->v)) {
		q->unit = JL_STR("1");
		return true;
	}
	return false;
}

int jl__fp_equal(fp_ev_t *ev, const jl_fp_item_t *a0, const jl_fp_item_t *b0)
{
	jl_fp_item_t a, b;
	bool va = jl__fp_value(ev, a0, &a), vb = jl__fp_value(ev, b0, &b);
	if (!va || !vb) {
		if (is_object(a0) && is_object(b0))
			return jl_json_equal(a0->node, b0->node);
		return 0;
	}
	if (is_num(&a) && is_num(&b)) {
		fp_dec_t x, y;
		if (!num_pair(&a, &b, &x, &y))
			return 0;
		return jl__fp_dec_cmp(x, y) == 0;
	}
	if (a.kind == JL_FP_QUANTITY || b.kind == JL_FP_QUANTITY) {
		fp_qty_t x, y;
		if (!qty_or_num(&a, &x) || !qty_or_num(&b, &y))
			return 0;
		int c = jl__fp_qty_cmp(&x, &y, false);
		return c == 2 ? -1 : c == 0;
	}
	if (is_dt(&a) && is_dt(&b)) {
		fp_dt_t x, y;
		if (!jl__fp_dt_parse(a.s, a.kind, &x) || !jl__fp_dt_parse(b.s, b.kind, &y))
			return 0;
		int c = jl__fp_dt_cmp(&x, &y);
		return c == 3 ? 0 : c == 2 ? -1 : c == 0;
	}
	if (a.kind != b.kind)
		return 0;
	switch (a.kind) {
	case JL_FP_BOOLEAN:
		return a.i == b.i;
	case JL_FP_STRING:
		return jl_str_eq(a.s, b.s);
	default:
		return 0;
	}
}

/* Case-insensitive comparison with whitespace runs collapsed and ends trimmed. */
static bool str_equiv(jl_str_t a, jl_str_t b)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a.n && (a.p[i] == ' ' || a.p[i] == '\t' || a.p[i] == '\n' || a.p[i] == '\r'))
			i++;
		while (j < b.n && (b.p[j] == ' ' || b.p[j] == '\t' || b.p[j] == '\n' || b.p[j] == '\r'))
			j++;
		if (i == a.n || j == b.n)
			return i == a.n && j == b.n;
		/* Compare one word. */
		while (i < a.n && j < b.n && !(a.p[i] == ' ' || a.p[i] == '\t' || a.p[i] == '\n' || a.p[i] == '\r')) {
			char x = a.p[i], y = b.p[j];
			if (x >= 'A' && x <= 'Z')
				x = (char)(x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (char)(y - 'A' + 'a');
			if (x != y)
				return false;
			i++;
			j++;
		}
		bool ea = i == a.n || a.p[i] == ' ' || a.p[i] == '\t' || a.p[i] == '\n' || a.p[i] == '\r';
		bool eb = j == b.n || b.p[j] == ' ' || b.p[j] == '\t' || b.p[j] == '\n' || b.p[j] == '\r';
		if (ea != eb)
			return false;
	}
}

bool jl__fp_equiv(fp_ev_t *ev, const jl_fp_item_t *a0, const jl_fp_item_t *b0)
{
	jl_fp_item_t a, b;
	bool va = jl__fp_value(ev, a0, &a), vb = jl__fp_value(ev, b0, &b);
	if (!va || !vb) {
		if (is_object(a0) && is_object(b0))
			return jl_json_equal(a0->node, b0->node);
		return false;
	}
	if (is_num(&a) && is_num(&b)) {
		fp_dec_t x, y;
		if (!num_pair(&a, &b, &x, &y))
			return false;
		int s = x.scale < y.scale ? x.scale : y.scale;
		return jl__fp_dec_rescale(x, s, &x) && jl__fp_dec_rescale(y, s, &y) && jl__fp_dec_cmp(x, y) == 0;
	}
	if (a.kind == JL_FP_QUANTITY || b.kind == JL_FP_QUANTITY) {
		fp_qty_t x, y;
		return qty_or_num(&a, &x) && qty_or_num(&b, &y) && jl__fp_qty_cmp(&x, &y, true) == 0;
	}
	if (is_dt(&a) && is_dt(&b)) {
		fp_dt_t x, y;
		if (!jl__fp_dt_parse(a.s, a.kind, &x) || !jl__fp_dt_parse(b.s, b.kind, &y))
			return false;
		int px = x.prec == P_MILLI ? P_SECOND : x.prec, py = y.prec == P_MILLI ? P_SECOND : y.prec;
		return px == py && jl__fp_dt_cmp(&x, &y) == 0;
	}
	if (a.kind != b.kind)
		return false;
	if (a.kind == JL_FP_BOOLEAN)
		return a.i == b.i;
	if (a.kind == JL_FP_STRING)
		return str_equiv(a.s, b.s);
	return false;
}

int jl__fp_compare(fp_ev_t *ev, const jl_fp_item_t *a0, const jl_fp_item_t *b0)
{
	jl_fp_item_t a, b;
	if (!jl__fp_value(ev, a0, &a) || !jl__fp_value(ev, b0, &b))
		return 3;
	if (is_num(&a) && is_num(&b)) {
		fp_dec_t x, y;
		if (!num_pair(&a, &b, &x, &y))
			return 3;
		return jl__fp_dec_cmp(x, y);
	}
	if (a.kind == JL_FP_QUANTITY || b.kind == JL_FP_QUANTITY) {
		fp_qty_t x, y;
		if (!qty_or_num(&a, &x) || !qty_or_num(&b, &y))
			return 3;
		return jl__fp_qty_cmp(&x, &y, false);
	}
	if (is_dt(&a) && is_dt(&b)) {
		fp_dt_t x, y;
		if (!jl__fp_dt_parse(a.s, a.kind, &x) || !jl__fp_dt_parse(b.s, b.kind, &y))
			return 3;
		return jl__fp_dt_cmp(&x, &y);
	}
	if (a.kind == JL_FP_STRING && b.kind == JL_FP_STRING) {
		size_t m = a.s.n < b.s.n ? a.s.n : b.s.n;
		int c = m ? memcmp(a.s.p, b.s.p, m) : 0;
		if (c)
			return c < 0 ? -1 : 1;
		return a.s.n < b.s.n ? -1 : a.s.n > b.s.n;
	}
	return 3;
}

/* ------------------------------------------------------------------ sets of items */

/* A structural hash matching jl_json_equal (member order ignored, numbers by text). */
static uint64_t json_hash(const jl_json_t *v, int depth)
{
	uint64_t h = JL_HASH_SEED + v->type;
	if (depth > 64)
		return h;
	switch (v->type) {
	case JL_JSON_STRING:
	case JL_JSON_NUMBER:
		return jl_hash_bytes(h, v->u.s, v->n);
	case JL_JSON_ARRAY:
		for (uint32_t i = 0; i < v->n; i++) {
			uint64_t e = json_hash(&v->u.a[i], depth + 1);
			h = jl_hash_bytes(h, &e, sizeof e);
		}
		return h;
	case JL_JSON_OBJECT: {
		uint64_t sum = 0;
		for (uint32_t i = 0; i < v->n; i++) {
			uint64_t k = jl_hash_bytes(JL_HASH_SEED, v->u.o[i].key.p, v->u.o[i].key.n);
			uint64_t e = json_hash(&v->u.o[i].v, depth + 1);
			sum += (k * 0x100000001b3ULL) ^ e;
		}
		return jl_hash_bytes(h, &sum, sizeof sum);
	}
	default:
		return h;
	}
}

uint64_t jl__fp_hash(fp_ev_t *ev, const jl_fp_item_t *it)
{
	jl_fp_item_t v;
	if (!jl__fp_value(ev, it, &v)) {
		if (is_object(it))
			return json_hash(it->node, 0);
		/* Never equal to anything: any hash will do. */
		return (uint64_t)(uintptr_t)it->ext * 0x9E3779B97F4A7C15ULL;
	}
	uint64_t tag = v.kind;
	switch (v.kind) {
	case JL_FP_BOOLEAN:
		tag = 100 + (uint64_t)v.i;
		return jl_hash_bytes(JL_HASH_SEED, &tag, sizeof tag);
	case JL_FP_STRING:
		return jl_hash_bytes(JL_HASH_SEED + 7, v.s.p, v.s.n);
	case JL_FP_INTEGER:
	case JL_FP_DECIMAL: {
		/* Equal numbers hash equally: 1 = 1.0 = 1.00. */
		fp_dec_t d;
		if (!jl__fp_num(&v, &d))
			return 11;
		d = jl__fp_dec_trim(d);
		uint64_t parts[3] = {(uint64_t)d.m, (uint64_t)(d.m >> 64), (uint64_t)d.scale};
		return jl_hash_bytes(JL_HASH_SEED + 3, parts, sizeof parts);
	}
	default:
		/* Dates (zones, precisions) and quantities (units) share a bucket per kind. */
		return jl_hash_bytes(JL_HASH_SEED + 5, &tag, sizeof tag);
	}
}

bool jl__fp_hset_has(fp_ev_t *ev, const fp_hset_t *s, const jl_fp_item_t *items, const jl_fp_item_t *it, uint64_t h)
{
	if (!s->tab)
		return false;
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		uint32_t p = s->tab[i];
		if (!p)
			return false;
		const jl_fp_item_t *x = &items[p - 1];
		if ((x->kind == JL_FP_NODE && it->kind == JL_FP_NODE && x->node == it->node && x->ext == it->ext &&
		     x->node) ||
		    jl__fp_equal(ev, x, it) == 1)
			return true;
		ev->steps++;
	}
}

static void hset_put(fp_hset_t *s, uint32_t pos1, uint64_t h)
{
	size_t i = h & s->mask;
	while (s->tab[i])
		i = (i + 1) & s->mask;
	s->tab[i] = pos1;
}

jl_rc jl__fp_hset_add(fp_ev_t *ev, fp_hset_t *s, const jl_fp_item_t *items, size_t pos, uint64_t h)
{
	if (!s->tab || (s->n + 1) * 2 > s->mask + 1) {
		size_t cap = s->tab ? (s->mask + 1) * 2 : 16;
		uint32_t *tab = jl_arena_calloc(ev->a, cap, sizeof *tab);
		if (!tab)
			return jl__fp_err(ev, NULL, JL_ENOMEM, "out of memory");
		fp_hset_t ns = {tab, cap - 1, s->n};
		for (size_t i = 0; s->tab && i <= s->mask; i++)
			if (s->tab[i])
				hset_put(&ns, s->tab[i], jl__fp_hash(ev, &items[s->tab[i] - 1]));
		*s = ns;
	}
	hset_put(s, (uint32_t)(pos + 1), h);
	s->n++;
	return JL_OK;
}

/* ------------------------------------------------------------------ operators */

/* The three-valued Boolean of a collection: -1 empty, 0 false, 1 true (a single non-Boolean is true). */
static jl_rc to_bool(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *c, int *out)
{
	if (c->n == 0) {
		*out = -1;
		return JL_OK;
	}
	if (c->n > 1)
		return jl__fp_err(ev, n, JL_EINVALID, "a Boolean is expected, not a collection of %zu items", c->n);
	const jl_fp_item_t *it = &c->items[0];
	if (it->kind == JL_FP_BOOLEAN)
		*out = it->i != 0;
	else if (it->kind == JL_FP_NODE && it->node &&
		 (it->node->type == JL_JSON_TRUE || it->node->type == JL_JSON_FALSE))
		*out = it->node->type == JL_JSON_TRUE;
	else
		*out = 1;
	return JL_OK;
}

static jl_rc bool_result(fp_ev_t *ev, const fp_node_t *n, int v, jl_fp_coll_t *out)
{
	static const jl_fp_item_t t = {.kind = JL_FP_BOOLEAN, .i = 1}, f = {.kind = JL_FP_BOOLEAN, .i = 0};
	(void)ev;
	(void)n;
	if (v < 0)
		*out = (jl_fp_coll_t){NULL, 0};
	else
		*out = one(v ? &t : &f);
	return JL_OK;
}

static jl_rc eval_logic(fp_ev_t *ev, const fp_node_t *n, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_fp_coll_t l, r;
	int a, b, v;
	jl_rc rc;
	if ((rc = jl__fp_eval_node(ev, n->left, sc, &l)) || (rc = to_bool(ev, n->left, &l, &a)))
		return rc;
	/* Short cuts where the right operand cannot change the answer. */
	if ((n->op == OP_AND && a == 0) || (n->op == OP_OR && a == 1))
		return bool_result(ev, n, a, out);
	if (n->op == OP_IMPLIES && a == 0)
		return bool_result(ev, n, 1, out);
	if ((rc = jl__fp_eval_node(ev, n->right, sc, &r)) || (rc = to_bool(ev, n->right, &r, &b)))
		return rc;
	switch (n->op) {
	case OP_AND: v = a == 0 || b == 0 ? 0 : a == 1 && b == 1 ? 1 : -1; break;
	case OP_OR: v = a == 1 || b == 1 ? 1 : a == 0 && b == 0 ? 0 : -1; break;
	case OP_XOR: v = a < 0 || b < 0 ? -1 : a != b; break;
	default: /* implies */ v = a == 1 ? b : a == 0 ? 1 : b == 1 ? 1 : -1; break;
	}
	return bool_result(ev, n, v, out);
}

/* Whether c holds an item equal to it (=). */
static bool contains_item(fp_ev_t *ev, const jl_fp_coll_t *c, const jl_fp_item_t *it)
{
	for (size_t i = 0; i < c->n; i++)
		if (jl__fp_equal(ev, &c->items[i], it) == 1)
			return true;
	return false;
}

jl_rc jl__fp_union(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *a, const jl_fp_coll_t *b, jl_fp_coll_t *out)
{
	fp_vec_t v = {0};
	fp_hset_t set = {0};
	jl_rc rc;
	const jl_fp_coll_t *src[2] = {a, b};
	/* Most unions in search parameters join a few items: no table for those. */
	if (a->n + b->n <= 1) {
		*out = a->n ? *a : *b;
		return JL_OK;
	}
	if (a->n + b->n <= 8) {
		for (int k = 0; k < 2; k++)
			for (size_t i = 0; i < src[k]->n; i++) {
				const jl_fp_item_t *it = &src[k]->items[i];
				bool dup = false;
				for (size_t j = 0; j < v.n && !dup; j++)
					dup = (it->kind == JL_FP_NODE && v.p[j].kind == JL_FP_NODE && it->node == v.p[j].node &&
					       it->ext == v.p[j].ext && it->node) ||
					      jl__fp_equal(ev, &v.p[j], it) == 1;
				if (!dup && (rc = jl__fp_push(ev, &v, it)))
					return rc;
			}
		*out = as_coll(&v);
		return JL_OK;
	}
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < src[k]->n; i++) {
			const jl_fp_item_t *it = &src[k]->items[i];
			uint64_t h = jl__fp_hash(ev, it);
			if ((rc = jl__fp_step(ev, n, 1)))
				return rc;
			if (jl__fp_hset_has(ev, &set, v.p, it, h))
				continue;
			if ((rc = jl__fp_push(ev, &v, it)) || (rc = jl__fp_hset_add(ev, &set, v.p, v.n - 1, h)))
				return rc;
		}
	*out = as_coll(&v);
	return JL_OK;
}

static jl_rc eval_equality(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *l, const jl_fp_coll_t *r,
			   jl_fp_coll_t *out)
{
	jl_rc rc;
	int v;
	bool neg = n->op == OP_NE || n->op == OP_NEQUIV;
	if ((rc = jl__fp_step(ev, n, l->n * (r->n + 1))))
		return rc;
	if (n->op == OP_EQ || n->op == OP_NE) {
		if (!l->n || !r->n)
			return bool_result(ev, n, -1, out);
		if (l->n != r->n) {
			v = 0;
		} else {
			v = 1;
			for (size_t i = 0; i < l->n && v; i++) {
				int e = jl__fp_equal(ev, &l->items[i], &r->items[i]);
				if (e == 0)
					v = 0;
				else if (e < 0)
					v = -1;
			}
			if (v < 0)
				return bool_result(ev, n, -1, out);
		}
	} else {
		if (l->n != r->n) {
			v = 0;
		} else {
			v = 1;
			for (size_t i = 0; i < l->n && v; i++) {
				bool found = false;
				for (size_t j = 0; j < r->n && !found; j++)
					found = jl__fp_equiv(ev, &l->items[i], &r->items[j]);
				v = found;
			}
		}
	}
	return bool_result(ev, n, neg ? !v : v, out);
}

static jl_rc singleton(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *c, const char *what)
{
	if (c->n > 1)
		return jl__fp_err(ev, n, JL_EINVALID, "%s expects a single item, not %zu", what, c->n);
	return JL_OK;
}

static jl_rc eval_compare(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *l, const jl_fp_coll_t *r,
			  jl_fp_coll_t *out)
{
	jl_rc rc;
	if ((rc = singleton(ev, n, l, "a comparison")) || (rc = singleton(ev, n, r, "a comparison")))
		return rc;
	if (!l->n || !r->n)
		return bool_result(ev, n, -1, out);
	int c = jl__fp_compare(ev, &l->items[0], &r->items[0]);
	if (c == 3)
		return jl__fp_err(ev, n, JL_EINVALID, "cannot compare %s with %s", jl_fp_type_name(&l->items[0]),
				  jl_fp_type_name(&r->items[0]));
	if (c == 2)
		return bool_result(ev, n, -1, out);
	int v;
	switch (n->op) {
	case OP_LT: v = c < 0; break;
	case OP_GT: v = c > 0; break;
	case OP_LE: v = c <= 0; break;
	default: v = c >= 0; break;
	}
	return bool_result(ev, n, v, out);
}

static jl_rc date_arith(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *d, const jl_fp_item_t *q, bool sub,
			jl_fp_coll_t *out)
{
	fp_dt_t v;
	fp_qty_t qq;
	int mult;
	bool ucal;
	if (!jl__fp_dt_parse(d->s, d->kind, &v) || !jl__fp_qty_of(q, &qq))
		return jl__fp_err(ev, n, JL_EINVALID, "bad date or quantity");
	int unit = jl__fp_time_unit(qq.unit, &mult, &ucal);
	if (!unit)
		return jl__fp_err(ev, n, JL_EINVALID, "%.*s is not a unit of time that dates can add%s",
				  JL_STR_FMT(qq.unit), ucal ? " (use a calendar duration: year, month)" : "");
	if (v.kind == JL_FP_TIME && unit < P_HOUR)
		return jl__fp_err(ev, n, JL_EINVALID, "a time cannot add %.*s", JL_STR_FMT(qq.unit));
	/* The decimal part of the quantity is ignored. */
	fp_dec_t w = jl__fp_dec_trunc(qq.v, 0);
	if (w.m > 1000000000000LL || w.m < -1000000000000LL)
		return bool_result(ev, n, -1, out);
	/* |k| < 10^13; the conversions below run in 128 bits. */
	__int128 k = w.m * mult;
	if (sub)
		k = -k;
	/* Units finer than the value's precision are converted to it (truncating). */
	int prec = v.prec;
	if (unit > prec) {
		static const int64_t ms[] = {[P_DAY] = 86400000, [P_HOUR] = 3600000, [P_MINUTE] = 60000,
					     [P_SECOND] = 1000, [P_MILLI] = 1};
		if (prec >= P_DAY) {
			k = k * ms[unit] / ms[prec];
			unit = prec;
		} else if (unit == P_MONTH) {
			k = k / 12;
			unit = P_YEAR;
		} else {
			/* Days and finer onto months or years: 30-day months, 365-day years. */
			k = k * ms[unit] / 86400000 / (prec == P_MONTH ? 30 : 365);
			unit = prec;
		}
	}
	if (k > INT64_MAX / 2 || k < -(INT64_MAX / 2) || !jl__fp_dt_add(&v, unit, (int64_t)k))
		return bool_result(ev, n, -1, out);
	jl_fp_item_t r;
	jl_rc rc = jl__fp_mk_dt(ev, &v, &r);
	return rc ? rc : single_item(ev, n, &r, out);
}

static jl_rc eval_arith(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *l, const jl_fp_coll_t *r,
			jl_fp_coll_t *out)
{
	jl_rc rc;
	jl_fp_item_t a, b, res;
	if (n->op == OP_CONCAT) {
		jl_str_t x = JL_STR(""), y = JL_STR("");
		if ((rc = singleton(ev, n, l, "&")) || (rc = singleton(ev, n, r, "&")))
			return rc;
		if (l->n && (!jl__fp_value(ev, &l->items[0], &a) || a.kind != JL_FP_STRING))
			return jl__fp_err(ev, n, JL_EINVALID, "& needs strings");
		if (r->n && (!jl__fp_value(ev, &r->items[0], &b) || b.kind != JL_FP_STRING))
			return jl__fp_err(ev, n, JL_EINVALID, "& needs strings");
		if (l->n)
			x = a.s;
		if (r->n)
			y = b.s;
		if (x.n + y.n > FP_MAX_STRING)
			return jl__fp_err(ev, n, JL_ETOOBIG, "string longer than %u bytes", FP_MAX_STRING);
		{
			char *p = jl_arena_alloc_bytes(ev->a, x.n + y.n + 1);
			if (!p)
				return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
			if (x.n)
				memcpy(p, x.p, x.n);
			if (y.n)
				memcpy(p + x.n, y.p, y.n);
			if ((rc = jl__fp_step(ev, n, (x.n + y.n) / 64)))
				return rc;
			res = jl__fp_str(jl_str(p, x.n + y.n));
		}
		return single_item(ev, n, &res, out);
	}
	if ((rc = singleton(ev, n, l, "arithmetic")) || (rc = singleton(ev, n, r, "arithmetic")))
		return rc;
	if (!l->n || !r->n)
		return bool_result(ev, n, -1, out);
	if (!jl__fp_value(ev, &l->items[0], &a) || !jl__fp_value(ev, &r->items[0], &b))
		return jl__fp_err(ev, n, JL_EINVALID, "arithmetic on a %s", jl_fp_type_name(&l->items[0]));
	int op = n->op;
	if (op == OP_ADD && a.kind == JL_FP_STRING && b.kind == JL_FP_STRING) {
		jl_str_t x = a.s, y = b.s;
		if (x.n + y.n > FP_MAX_STRING)
			return jl__fp_err(ev, n, JL_ETOOBIG, "string longer than %u bytes", FP_MAX_STRING);
		char *p = jl_arena_alloc_bytes(ev->a, x.n + y.n + 1);
		if (!p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		if (x.n)
			memcpy(p, x.p, x.n);
		if (y.n)
			memcpy(p + x.n, y.p, y.n);
		res = jl__fp_str(jl_str(p, x.n + y.n));
		return single_item(ev, n, &res, out);
	}
	if ((op == OP_ADD || op == OP_SUB) && is_dt(&a) && b.kind == JL_FP_QUANTITY)
		return date_arith(ev, n, &a, &b, op == OP_SUB, out);
	if (is_num(&a) && is_num(&b)) {
		if (a.kind == JL_FP_INTEGER && b.kind == JL_FP_INTEGER && op != OP_DIV) {
			int64_t x = a.i, y = b.i, z;
			bool ovf = false;
			switch (op) {
			case OP_ADD: ovf = __builtin_add_overflow(x, y, &z); break;
			case OP_SUB: ovf = __builtin_sub_overflow(x, y, &z); break;
			case OP_MUL: ovf = __builtin_mul_overflow(x, y, &z); break;
			case OP_IDIV:
				if (y == 0 || (x == INT64_MIN && y == -1))
					return bool_result(ev, n, -1, out);
				z = x / y;
				break;
			default: /* mod */
				if (y == 0 || (x == INT64_MIN && y == -1))
					return bool_result(ev, n, -1, out);
				z = x % y;
				break;
			}
			if (ovf)
				return bool_result(ev, n, -1, out);
			res = jl__fp_int(z);
			return single_item(ev, n, &res, out);
		}
		fp_dec_t x, y, z;
		if (!num_pair(&a, &b, &x, &y))
			return bool_result(ev, n, -1, out);
		bool ok;
		switch (op) {
		case OP_ADD: ok = jl__fp_dec_add(x, y, &z); break;
		case OP_SUB: ok = jl__fp_dec_sub(x, y, &z); break;
		case OP_MUL: ok = jl__fp_dec_mul(x, y, &z); break;
		case OP_DIV: ok = jl__fp_dec_div(x, y, &z); break;
		case OP_IDIV:
			ok = jl__fp_dec_div(x, y, &z);
			if (ok) {
				z = jl__fp_dec_trunc(z, 0);
				if (z.m > INT64_MAX || z.m < INT64_MIN)
					return bool_result(ev, n, -1, out);
				res = jl__fp_int((int64_t)z.m);
				return single_item(ev, n, &res, out);
			}
			break;
		default: /* mod: x - y·trunc(x/y) */
			ok = jl__fp_dec_div(x, y, &z);
			if (ok) {
				fp_dec_t t;
				z = jl__fp_dec_trunc(z, 0);
				ok = jl__fp_dec_mul(y, z, &t) && jl__fp_dec_sub(x, t, &z);
			}
			break;
		}
		if (!ok)
			return bool_result(ev, n, -1, out);
		if ((rc = jl__fp_mk_dec(ev, z, &res)))
			return rc;
		return single_item(ev, n, &res, out);
	}
	if ((a.kind == JL_FP_QUANTITY || b.kind == JL_FP_QUANTITY) && op != OP_IDIV && op != OP_MOD) {
		fp_qty_t x, y, z;
		if (!qty_or_num(&a, &x) || !qty_or_num(&b, &y))
			return jl__fp_err(ev, n, JL_EINVALID, "arithmetic on %s and %s", jl_fp_type_name(&a),
					  jl_fp_type_name(&b));
		if (!jl__fp_qty_arith(ev->a, op, &x, &y, &z)) {
			if (z.nomem)
				return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
			if (op == OP_ADD || op == OP_SUB)
				return jl__fp_err(ev, n, JL_EINVALID, "units %.*s and %.*s cannot be added",
						  JL_STR_FMT(x.unit), JL_STR_FMT(y.unit));
			return bool_result(ev, n, -1, out);
		}
		if ((rc = jl__fp_mk_qty(ev, z.v, z.unit, &res)))
			return rc;
		return single_item(ev, n, &res, out);
	}
	return jl__fp_err(ev, n, JL_EINVALID, "operator not defined for %s and %s", jl_fp_type_name(&a),
			  jl_fp_type_name(&b));
}

static jl_rc eval_bin(fp_ev_t *ev, const fp_node_t *n, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_fp_coll_t l, r;
	jl_rc rc;
	switch (n->op) {
	case OP_AND:
	case OP_OR:
	case OP_XOR:
	case OP_IMPLIES:
		return eval_logic(ev, n, sc, out);
	default:
		break;
	}
	if ((rc = jl__fp_eval_node(ev, n->left, sc, &l)) || (rc = jl__fp_eval_node(ev, n->right, sc, &r)))
		return rc;
	switch (n->op) {
	case OP_UNION:
		return jl__fp_union(ev, n, &l, &r, out);
	case OP_EQ:
	case OP_NE:
	case OP_EQUIV:
	case OP_NEQUIV:
		return eval_equality(ev, n, &l, &r, out);
	case OP_LT:
	case OP_GT:
	case OP_LE:
	case OP_GE:
		return eval_compare(ev, n, &l, &r, out);
	case OP_IN:
	case OP_CONTAINS: {
		const jl_fp_coll_t *x = n->op == OP_IN ? &l : &r, *c = n->op == OP_IN ? &r : &l;
		if ((rc = singleton(ev, n, x, n->op == OP_IN ? "in" : "contains")))
			return rc;
		if (!x->n)
			return bool_result(ev, n, -1, out);
		if ((rc = jl__fp_step(ev, n, c->n)))
			return rc;
		return bool_result(ev, n, contains_item(ev, c, &x->items[0]), out);
	}
	default:
		return eval_arith(ev, n, &l, &r, out);
	}
}

static jl_rc eval_neg(fp_ev_t *ev, const fp_node_t *n, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_fp_coll_t c;
	jl_fp_item_t v, res;
	jl_rc rc;
	if ((rc = jl__fp_eval_node(ev, n->left, sc, &c)) || (rc = singleton(ev, n, &c, "unary minus")))
		return rc;
	if (!c.n) {
		*out = c;
		return JL_OK;
	}
	if (!jl__fp_value(ev, &c.items[0], &v))
		return jl__fp_err(ev, n, JL_EINVALID, "unary %c on a %s", n->kind == N_NEG ? '-' : '+',
				  jl_fp_type_name(&c.items[0]));
	if (v.kind != JL_FP_INTEGER && v.kind != JL_FP_DECIMAL && v.kind != JL_FP_QUANTITY)
		return jl__fp_err(ev, n, JL_EINVALID, "unary %c on a %s", n->kind == N_NEG ? '-' : '+',
				  jl_fp_type_name(&v));
	if (n->kind == N_POS)
		return single_item(ev, n, &v, out);
	if (v.kind == JL_FP_INTEGER) {
		if (v.i == INT64_MIN)
			return bool_result(ev, n, -1, out);
		res = jl__fp_int(-v.i);
	} else {
		fp_dec_t d;
		if (!jl__fp_dec_parse(v.kind == JL_FP_DECIMAL ? v.s : v.num, &d))
			return jl__fp_err(ev, n, JL_EINVALID, "bad number");
		d.m = -d.m;
		if ((rc = v.kind == JL_FP_DECIMAL ? jl__fp_mk_dec(ev, d, &res) : jl__fp_mk_qty(ev, d, v.s, &res)))
			return rc;
	}
	return single_item(ev, n, &res, out);
}

static jl_rc eval_var(fp_ev_t *ev, const fp_node_t *n, jl_fp_coll_t *out)
{
	static const jl_fp_item_t ucum = {.kind = JL_FP_STRING, .s = {"http://unitsofmeasure.org", 25}};
	static const jl_fp_item_t sct = {.kind = JL_FP_STRING, .s = {"http://snomed.info/sct", 22}};
	static const jl_fp_item_t loinc = {.kind = JL_FP_STRING, .s = {"http://loinc.org", 16}};
	jl_str_t nm = n->name;
	if (ev->env)
		for (size_t i = 0; i < ev->env->nvars; i++)
			if (jl_str_eq(ev->env->vars[i].name, nm)) {
				*out = ev->env->vars[i].value;
				return JL_OK;
			}
	if (jl_str_eqc(nm, "resource") || jl_str_eqc(nm, "context") || jl_str_eqc(nm, "rootResource")) {
		*out = ev->has_root ? one(&ev->root) : (jl_fp_coll_t){NULL, 0};
		return JL_OK;
	}
	if (jl_str_eqc(nm, "ucum")) {
		*out = one(&ucum);
		return JL_OK;
	}
	if (jl_str_eqc(nm, "sct")) {
		*out = one(&sct);
		return JL_OK;
	}
	if (jl_str_eqc(nm, "loinc")) {
		*out = one(&loinc);
		return JL_OK;
	}
	const char *base = jl_str_starts(nm, "vs-")    ? "http://hl7.org/fhir/ValueSet/"
			   : jl_str_starts(nm, "ext-") ? "http://hl7.org/fhir/StructureDefinition/"
						       : NULL;
	if (base) {
		size_t skip = nm.p[0] == 'v' ? 3 : 4, bl = strlen(base);
		char *p = jl_arena_alloc_bytes(ev->a, bl + nm.n - skip);
		if (!p)
			return jl__fp_err(ev, n, JL_ENOMEM, "out of memory");
		memcpy(p, base, bl);
		memcpy(p + bl, nm.p + skip, nm.n - skip);
		jl_fp_item_t it = jl__fp_str(jl_str(p, bl + nm.n - skip));
		return single_item(ev, n, &it, out);
	}
	return jl__fp_err(ev, n, JL_EINVALID, "unknown external constant %%%.*s", JL_STR_FMT(nm));
}

jl_rc jl__fp_eval_node(fp_ev_t *ev, const fp_node_t *n, const fp_scope_t *sc, jl_fp_coll_t *out)
{
	jl_rc rc;
	jl_fp_coll_t c;
	if ((rc = jl__fp_step(ev, n, 1)))
		return rc;
	*out = (jl_fp_coll_t){NULL, 0};
	switch (n->kind) {
	case N_EMPTY:
		return JL_OK;
	case N_LIT:
		*out = one(&n->lit);
		return JL_OK;
	case N_THIS:
		if (sc->self)
			*out = one(sc->self);
		return JL_OK;
	case N_INDEX:
		if (sc->index >= 0) {
			jl_fp_item_t it = jl__fp_int(sc->index);
			return single_item(ev, n, &it, out);
		}
		return JL_OK;
	case N_TOTAL:
		if (sc->total)
			*out = *sc->total;
		return JL_OK;
	case N_VAR:
		return eval_var(ev, n, out);
	case N_IDENT: {
		const jl_fp_item_t *self = sc->self;
		if (!self)
			return JL_OK;
		if (n->ts.fhir) {
			/* A type name: the context if it is of that type. */
			if (self->kind == JL_FP_NODE && jl__fp_is_type(self, &n->ts, false))
				*out = one(self);
			else if (ev->flags & JL_FP_STRICT)
				return jl__fp_err(ev, n, JL_EINVALID, "the context is not a %.*s", JL_STR_FMT(n->name));
			return JL_OK;
		}
		fp_vec_t v = {0};
		if ((rc = jl__fp_member(ev, n, self, n->name, &v)))
			return rc;
		*out = as_coll(&v);
		return JL_OK;
	}
	case N_MEMBER: {
		if ((rc = jl__fp_eval_node(ev, n->left, sc, &c)))
			return rc;
		fp_vec_t v = {0};
		for (size_t i = 0; i < c.n; i++)
			if ((rc = jl__fp_member(ev, n, &c.items[i], n->name, &v)))
				return rc;
		if ((rc = jl__fp_step(ev, n, c.n + v.n)))
			return rc;
		*out = as_coll(&v);
		return JL_OK;
	}
	case N_INDEXER: {
		jl_fp_coll_t ix;
		if ((rc = jl__fp_eval_node(ev, n->left, sc, &c)) || (rc = jl__fp_eval_node(ev, n->right, sc, &ix)))
			return rc;
		if ((rc = singleton(ev, n, &ix, "an index")))
			return rc;
		if (!ix.n)
			return JL_OK;
		jl_fp_item_t iv;
		if (!jl__fp_value(ev, &ix.items[0], &iv) || iv.kind != JL_FP_INTEGER)
			return jl__fp_err(ev, n, JL_EINVALID, "an index must be an Integer");
		if (iv.i >= 0 && (uint64_t)iv.i < c.n)
			*out = one(&c.items[iv.i]);
		return JL_OK;
	}
	case N_NEG:
	case N_POS:
		return eval_neg(ev, n, sc, out);
	case N_BIN:
		return eval_bin(ev, n, sc, out);
	case N_IS: {
		if ((rc = jl__fp_eval_node(ev, n->left, sc, &c)) || (rc = singleton(ev, n, &c, "is")))
			return rc;
		if (!c.n)
			return JL_OK;
		return bool_result(ev, n, jl__fp_is_type(&c.items[0], &n->ts, false), out);
	}
	case N_AS: {
		if ((rc = jl__fp_eval_node(ev, n->left, sc, &c)))
			return rc;
		/* Lenient over collections, as R4 search parameters use it ((x.value as Quantity)). */
		fp_vec_t v = {0};
		for (size_t i = 0; i < c.n; i++)
			if (jl__fp_is_type(&c.items[i], &n->ts, true) && (rc = jl__fp_push(ev, &v, &c.items[i])))
				return rc;
		*out = as_coll(&v);
		return JL_OK;
	}
	case N_CALL: {
		jl_fp_coll_t in = {NULL, 0};
		if (n->left) {
			if ((rc = jl__fp_eval_node(ev, n->left, sc, &in)))
				return rc;
		} else if (sc->self) {
			in = one(sc->self);
		}
		return jl__fp_call(ev, n, &in, sc, out);
	}
	default:
		return jl__fp_err(ev, n, JL_EINTERNAL, "bad node kind %d", n->kind);
	}
}

/* ------------------------------------------------------------------ static checks (strict modes) */

static const jl_fhir_elem_t *elem_named(const jl_fhir_type_t *t, jl_str_t name, bool *choice)
{
	for (uint16_t i = 0; i < t->nelems; i++) {
		const jl_fhir_elem_t *e = &t->elems[i];
		if (jl_str_eqc(name, e->name)) {
			*choice = false;
			return e;
		}
		if (choice_of(e, name)) {
			*choice = true;
			return e;
		}
	}
	return NULL;
}

/* The type a member step yields, or NULL when unknown; an error for a name the type cannot have. */
static jl_rc check_member(fp_ev_t *ev, const fp_node_t *n, const jl_fhir_type_t *t, const jl_fhir_type_t **out)
{
	*out = NULL;
	if (!t || t->kind == JL_FHIR_ABSTRACT)
		return JL_OK;
	if (t->kind == JL_FHIR_PRIMITIVE) {
		if (jl_str_eqc(n->name, "extension") || jl_str_eqc(n->name, "id"))
			return JL_OK;
		return jl__fp_err(ev, n, JL_EINVALID, "%s has no element %.*s", t->name, JL_STR_FMT(n->name));
	}
	bool choice;
	const jl_fhir_elem_t *e = elem_named(t, n->name, &choice);
	if (!e)
		return jl__fp_err(ev, n, JL_EINVALID, "%s has no element %.*s", t->name, JL_STR_FMT(n->name));
	if (!choice)
		*out = &jl_fhir_types[e->type];
	return JL_OK;
}

static bool unordered(const fp_node_t *n)
{
	return n && n->kind == N_CALL && (n->fn == F_CHILDREN || n->fn == F_DESCENDANTS);
}

/* Walks the tree with the static type of $this; *out: the static type of n's result (NULL: unknown). */
static jl_rc check(fp_ev_t *ev, const fp_node_t *n, const jl_fhir_type_t *self, const jl_fhir_type_t **out)
{
	const jl_fhir_type_t *lt = NULL, *dummy;
	jl_rc rc;
	*out = NULL;
	if (!n)
		return JL_OK;
	if ((ev->flags & JL_FP_CHECK_ORDER) && unordered(n->left) &&
	    ((n->kind == N_CALL && (n->fn == F_FIRST || n->fn == F_LAST || n->fn == F_TAIL || n->fn == F_SKIP ||
				    n->fn == F_TAKE || n->fn == F_SINGLE)) ||
	     n->kind == N_INDEXER))
		return jl__fp_err(ev, n, JL_EINVALID, "an order-dependent function on an unordered collection");
	if (!(ev->flags & JL_FP_STRICT)) {
		/* Only the order check: walk everything. */
		if ((rc = check(ev, n->left, NULL, &dummy)) || (rc = check(ev, n->right, NULL, &dummy)))
			return rc;
		for (int i = 0; i < n->nargs; i++)
			if ((rc = check(ev, n->args[i], NULL, &dummy)))
				return rc;
		return JL_OK;
	}
	switch (n->kind) {
	case N_IDENT:
		if (n->ts.fhir) {
			fp_tspec_t ts = n->ts;
			jl_fp_item_t probe = {.kind = JL_FP_NODE, .type = self};
			if (self && !jl__fp_is_type(&probe, &ts, false))
				return jl__fp_err(ev, n, JL_EINVALID, "the context is a %s, not a %.*s", self->name,
						  JL_STR_FMT(n->name));
			*out = self ? self : n->ts.fhir;
			return JL_OK;
		}
		return check_member(ev, n, self, out);
	case N_THIS:
		*out = self;
		return JL_OK;
	case N_MEMBER:
		if ((rc = check(ev, n->left, self, &lt)))
			return rc;
		return check_member(ev, n, lt, out);
	case N_AS:
		if ((rc = check(ev, n->left, self, &lt)))
			return rc;
		*out = n->ts.fhir;
		return JL_OK;
	case N_CALL: {
		if ((rc = check(ev, n->left, self, &lt)))
			return rc;
		const jl_fhir_type_t *in = n->left ? lt : self;
		for (int i = 0; i < n->nargs; i++) {
			if (n->fn == F_IS || n->fn == F_AS || n->fn == F_OFTYPE)
				continue;
			bool lam = (jl__fp_fns[n->fn].lambda >> i) & 1;
			if ((rc = check(ev, n->args[i], lam ? in : self, &dummy)))
				return rc;
		}
		switch (n->fn) {
		case F_WHERE: case F_FIRST: case F_LAST: case F_TAIL: case F_SKIP: case F_TAKE: case F_SINGLE:
		case F_DISTINCT: case F_TRACE:
			*out = in;
			break;
		case F_AS: case F_OFTYPE:
			*out = n->ts.fhir;
			break;
		default:
			break;
		}
		return JL_OK;
	}
	default:
		if ((rc = check(ev, n->left, self, &lt)) || (rc = check(ev, n->right, self, &dummy)))
			return rc;
		if (n->kind == N_INDEXER)
			*out = lt;
		return JL_OK;
	}
}

/* ------------------------------------------------------------------ entry points */

jl_rc jl_fp_eval(jl_arena_t *a, const jl_fp_expr_t *e, const jl_json_t *input, const jl_fhir_type_t *input_type,
		 const jl_fp_env_t *env, jl_fp_coll_t *out, jl_diag_t *d)
{
	fp_ev_t ev = {.a = a, .env = env, .d = d, .src = e->src};
	jl_fp_coll_t r;
	jl_rc rc;
	out->items = NULL;
	out->n = 0;
	ev.flags = env ? env->flags : 0;
	ev.now_us = env && env->now_us ? env->now_us : 0;
	if (input) {
		ev.root = jl__fp_node(input_type, input, NULL);
		ev.has_root = true;
	}
	fp_scope_t sc = {.self = ev.has_root ? &ev.root : NULL, .index = -1};
	if (ev.flags & (JL_FP_STRICT | JL_FP_CHECK_ORDER)) {
		const jl_fhir_type_t *st;
		if ((rc = check(&ev, e->root, ev.has_root ? ev.root.type : NULL, &st)))
			return rc;
	}
	if ((rc = jl__fp_eval_node(&ev, e->root, &sc, &r)))
		return rc;
	/* The caller gets its own array (the result may point at literals of the shared tree). */
	if (r.n) {
		jl_fp_item_t *p = jl_arena_alloc(a, r.n * sizeof *p);
		if (!p)
			return jl__fp_err(&ev, NULL, JL_ENOMEM, "out of memory");
		memcpy(p, r.items, r.n * sizeof *p);
		/* A literal or computed item that refers to the root is fine: it lives in the input tree. */
		out->items = p;
		out->n = r.n;
	}
	return JL_OK;
}

jl_rc jl_fp_eval_text(jl_arena_t *a, jl_str_t src, const jl_json_t *input, const jl_fp_env_t *env,
		      jl_fp_coll_t *out, jl_diag_t *d)
{
	jl_fp_expr_t *e;
	jl_rc rc = jl_fp_compile(a, src, &e, d);
	if (rc) {
		out->items = NULL;
		out->n = 0;
		return rc;
	}
	return jl_fp_eval(a, e, input, NULL, env, out, d);
}
