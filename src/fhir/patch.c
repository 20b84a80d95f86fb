/*
 * patch — JSON Patch (RFC 6902) and FHIRPath Patch applied to a JSON tree.
 * See patch.h for the contract and docs/internals/patch.md for the design.
 *
 * Both formats work the same way: copy the document (so a failure half-way
 * leaves the caller's tree untouched), then edit the copy in place, one
 * operation after another, each seeing the result of the one before.
 * Every value that enters the document is copied, with a budget and a
 * depth check, so that a hostile patch (copy the root into itself twenty
 * times) fails cleanly instead of eating the request's memory.
 *
 * FHIRPath Patch needs to know where in the tree an element selected by a
 * FHIRPath expression lives (which object, which member, which array
 * position) to delete or replace it. The evaluator's items point at the
 * very jl_json_t values inside the tree it was given, so a walk that looks
 * for that address finds the element's place and the chain of objects
 * above it (to remove objects a deletion leaves empty). A FHIR primitive
 * lives in two members — "given": [...] and "_given": [...] for its id
 * and extensions — and every edit keeps the two aligned.
 */
#include "fhir/patch.h"

#include <stdio.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "fhir/model.h"

typedef struct pctx {
	jl_arena_t *a;
	jl_diag_t *d;
	size_t budget; /* JSON values that may still be copied or reallocated */
} pctx_t;

static const char *issue_code(jl_rc rc)
{
	switch (rc) {
	case JL_EINVAL: return "invalid";
	case JL_EINVALID: return "processing";
	case JL_EPRECOND: return "processing";
	case JL_ETOOBIG: return "too-costly";
	default: return "exception";
	}
}

static jl_rc JL_PRINTF(4, 5) fail(pctx_t *P, jl_rc rc, const char *expr, const char *fmt, ...)
{
	if (P->d) {
		va_list ap;
		va_start(ap, fmt);
		jl_diag_vadd(P->d, JL_SEV_ERROR, issue_code(rc), expr, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Reports the caps and out-of-memory, which any step may hit. */
static jl_rc fail_cap(pctx_t *P, jl_rc rc, const char *expr)
{
	if (rc == JL_ENOMEM)
		return fail(P, rc, expr, "out of memory while applying the patch");
	if (rc == JL_ETOOBIG)
		return fail(P, rc, expr,
			    "the patch makes the document too large (more than %u levels of nesting, or more than "
			    "%u values copied)",
			    JL_PATCH_MAX_DEPTH, JL_PATCH_MAX_NODES);
	return rc;
}

static bool charge(pctx_t *P, size_t n)
{
	if (P->budget < n)
		return false;
	P->budget -= n;
	return true;
}

/* Deep copy of v into *out, where v will sit at nesting level `depth` (the root is 1). */
static jl_rc copy_value(pctx_t *P, const jl_json_t *v, uint32_t depth, jl_json_t *out)
{
	if (!charge(P, 1))
		return JL_ETOOBIG;
	*out = *v;
	if (v->type != JL_JSON_ARRAY && v->type != JL_JSON_OBJECT)
		return JL_OK;
	if (depth > JL_PATCH_MAX_DEPTH)
		return JL_ETOOBIG;
	if (!v->n)
		return JL_OK;
	jl_rc rc;
	if (v->type == JL_JSON_ARRAY) {
		jl_json_t *items = jl_arena_alloc(P->a, (size_t)v->n * sizeof *items);
		if (!items)
			return JL_ENOMEM;
		for (uint32_t i = 0; i < v->n; i++)
			if ((rc = copy_value(P, &v->u.a[i], depth + 1, &items[i])))
				return rc;
		out->u.a = items;
		return JL_OK;
	}
	jl_json_member_t *m = jl_arena_alloc(P->a, (size_t)v->n * sizeof *m);
	if (!m)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < v->n; i++) {
		m[i].key = v->u.o[i].key; /* keys are never edited in place: sharing is safe */
		if ((rc = copy_value(P, &v->u.o[i].v, depth + 1, &m[i].v)))
			return rc;
	}
	out->u.o = m;
	return JL_OK;
}

/* Editing helpers that charge the budget for the arrays they reallocate. */
static jl_rc obj_set(pctx_t *P, jl_json_t *obj, jl_str_t key, jl_json_t v)
{
	if (!charge(P, (size_t)obj->n + 1))
		return JL_ETOOBIG;
	return jl_json_obj_set(P->a, obj, key, v);
}

static jl_rc arr_insert(pctx_t *P, jl_json_t *arr, uint32_t i, jl_json_t v)
{
	if (!charge(P, (size_t)arr->n + 1))
		return JL_ETOOBIG;
	return jl_json_arr_insert(P->a, arr, i, v);
}

static jl_json_t *member(jl_json_t *obj, jl_str_t key)
{
	if (!obj || obj->type != JL_JSON_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (jl_str_eq(obj->u.o[i].key, key))
			return &obj->u.o[i].v;
	return NULL;
}

static const jl_json_t JSON_NULL = {.type = JL_JSON_NULL};

static char *xprintf(pctx_t *P, const char *fmt, ...) JL_PRINTF(2, 3);
static char *xprintf(pctx_t *P, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = jl_arena_vprintf(P->a, fmt, ap);
	va_end(ap);
	return s;
}

/* Text of a JSON string for a message: at most 80 bytes. */
#define SHOW(s) (int)((s).n > 80 ? 80 : (s).n), (s).p

/* ================================================================== JSON Patch */

typedef struct ptr {
	jl_str_t *tok; /* decoded reference tokens */
	size_t n;
	jl_str_t text;
} ptr_t;

/* Parses an RFC 6901 JSON Pointer. JL_EINVAL on bad syntax. */
static jl_rc parse_ptr(pctx_t *P, jl_str_t s, const char *expr, ptr_t *out)
{
	out->text = s;
	out->n = 0;
	out->tok = NULL;
	if (!s.n)
		return JL_OK;
	if (s.p[0] != '/')
		return fail(P, JL_EINVAL, expr, "\"%.*s\" is not a JSON Pointer: it must be empty or start with '/'",
			    SHOW(s));
	size_t n = 0;
	for (size_t i = 0; i < s.n; i++)
		n += s.p[i] == '/';
	out->tok = jl_arena_alloc(P->a, n * sizeof *out->tok);
	if (!out->tok)
		return fail_cap(P, JL_ENOMEM, expr);
	size_t i = 1;
	for (;;) {
		size_t start = i;
		bool esc = false;
		while (i < s.n && s.p[i] != '/') {
			if (s.p[i] == '~') {
				if (i + 1 >= s.n || (s.p[i + 1] != '0' && s.p[i + 1] != '1'))
					return fail(P, JL_EINVAL, expr,
						    "\"%.*s\" is not a JSON Pointer: '~' must be followed by 0 or 1",
						    SHOW(s));
				esc = true;
				i++;
			}
			i++;
		}
		jl_str_t t = jl_str(s.p + start, i - start);
		if (esc) {
			char *b = jl_arena_alloc_bytes(P->a, t.n ? t.n : 1);
			if (!b)
				return fail_cap(P, JL_ENOMEM, expr);
			size_t k = 0;
			for (size_t j = 0; j < t.n; j++) {
				if (t.p[j] == '~') {
					b[k++] = t.p[j + 1] == '0' ? '~' : '/';
					j++;
				} else {
					b[k++] = t.p[j];
				}
			}
			t = jl_str(b, k);
		}
		out->tok[out->n++] = t;
		if (i >= s.n)
			break;
		i++; /* the '/' */
	}
	return JL_OK;
}

/* An array index token: "0" or digits without a leading zero, below 2^32 - 1. */
static bool arr_index(jl_str_t t, uint32_t *out)
{
	if (!t.n || t.n > 10 || (t.n > 1 && t.p[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(t.p[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The text of the pointer's first k tokens, for messages. */
static jl_str_t ptr_prefix(const ptr_t *p, size_t k)
{
	const char *s = p->text.p;
	size_t i = 0, seen = 0;
	while (i < p->text.n) {
		if (s[i] == '/' && seen++ == k)
			break;
		i++;
	}
	return jl_str(s, i);
}

/*
 * The value the first k tokens of p point at, or NULL (an issue at expr
 * names the first part that does not exist).
 */
static jl_json_t *walk(pctx_t *P, jl_json_t *root, const ptr_t *p, size_t k, const char *expr, const char *what)
{
	jl_json_t *cur = root;
	for (size_t i = 0; i < k; i++) {
		jl_str_t t = p->tok[i];
		jl_json_t *next = NULL;
		uint32_t ix;
		if (cur->type == JL_JSON_OBJECT)
			next = member(cur, t);
		else if (cur->type == JL_JSON_ARRAY && arr_index(t, &ix) && ix < cur->n)
			next = &cur->u.a[ix];
		if (!next) {
			jl_str_t pre = ptr_prefix(p, i + 1);
			if (cur->type == JL_JSON_ARRAY)
				fail(P, JL_EINVALID, expr, "%s %.*s: %.*s does not exist (the array has %u items)", what,
				     SHOW(p->text), SHOW(pre), cur->n);
			else if (cur->type == JL_JSON_OBJECT)
				fail(P, JL_EINVALID, expr,
				     "%s %.*s: %.*s does not exist (missing objects are not created)", what,
				     SHOW(p->text), SHOW(pre));
			else
				fail(P, JL_EINVALID, expr, "%s %.*s: %.*s is a %s, which has no members", what,
				     SHOW(p->text), SHOW(ptr_prefix(p, i)), jl_json_type_name(cur->type));
			return NULL;
		}
		cur = next;
	}
	return cur;
}

/* Adds a copy of v at p (RFC 6902 4.1). */
static jl_rc jp_add(pctx_t *P, jl_json_t **root, const ptr_t *p, const jl_json_t *v, const char *expr)
{
	jl_json_t c;
	jl_rc rc = copy_value(P, v, (uint32_t)p->n + 1, &c);
	if (rc)
		return fail_cap(P, rc, expr);
	if (!p->n) {
		jl_json_t *r = jl_arena_alloc(P->a, sizeof *r);
		if (!r)
			return fail_cap(P, JL_ENOMEM, expr);
		*r = c;
		*root = r;
		return JL_OK;
	}
	jl_json_t *parent = walk(P, *root, p, p->n - 1, expr, "cannot add at");
	if (!parent)
		return JL_EINVALID;
	jl_str_t last = p->tok[p->n - 1];
	if (parent->type == JL_JSON_OBJECT)
		rc = obj_set(P, parent, last, c);
	else if (parent->type == JL_JSON_ARRAY) {
		uint32_t ix = parent->n;
		if (!jl_str_eqc(last, "-") && (!arr_index(last, &ix) || ix > parent->n))
			return fail(P, JL_EINVALID, expr,
				    "cannot add at %.*s: \"%.*s\" is not an index from 0 to %u or \"-\" for this array",
				    SHOW(p->text), SHOW(last), parent->n);
		rc = arr_insert(P, parent, ix, c);
	} else {
		return fail(P, JL_EINVALID, expr, "cannot add at %.*s: %.*s is a %s, not an object or array",
			    SHOW(p->text), SHOW(ptr_prefix(p, p->n - 1)), jl_json_type_name(parent->type));
	}
	return rc ? fail_cap(P, rc, expr) : JL_OK;
}

/* The existing value at p (p non-empty): its container and place. NULL (issue added) if absent. */
static jl_json_t *jp_target(pctx_t *P, jl_json_t *root, const ptr_t *p, const char *expr, const char *what,
			    jl_json_t **parent_out)
{
	jl_json_t *parent = walk(P, root, p, p->n - 1, expr, what);
	if (!parent)
		return NULL;
	jl_str_t last = p->tok[p->n - 1];
	jl_json_t *t = NULL;
	uint32_t ix;
	if (parent->type == JL_JSON_OBJECT)
		t = member(parent, last);
	else if (parent->type == JL_JSON_ARRAY && arr_index(last, &ix) && ix < parent->n)
		t = &parent->u.a[ix];
	if (!t) {
		fail(P, JL_EINVALID, expr, "%s %.*s: no such %s", what, SHOW(p->text),
		     parent->type == JL_JSON_ARRAY ? "array index" : "member");
		return NULL;
	}
	*parent_out = parent;
	return t;
}

static jl_rc jp_remove(pctx_t *P, jl_json_t *root, const ptr_t *p, const char *expr)
{
	if (!p->n)
		return fail(P, JL_EINVALID, expr, "the whole document cannot be removed");
	jl_json_t *parent;
	jl_json_t *t = jp_target(P, root, p, expr, "cannot remove", &parent);
	if (!t)
		return JL_EINVALID;
	if (parent->type == JL_JSON_OBJECT)
		jl_json_obj_del(parent, p->tok[p->n - 1]);
	else
		jl_json_arr_del(parent, (uint32_t)(t - parent->u.a));
	return JL_OK;
}

static jl_rc jp_replace(pctx_t *P, jl_json_t **root, const ptr_t *p, const jl_json_t *v, const char *expr)
{
	if (p->n) {
		jl_json_t *parent;
		jl_json_t *t = jp_target(P, *root, p, expr, "cannot replace", &parent);
		if (!t)
			return JL_EINVALID;
		jl_rc rc = copy_value(P, v, (uint32_t)p->n + 1, t);
		return rc ? fail_cap(P, rc, expr) : JL_OK;
	}
	return jp_add(P, root, p, v, expr);
}

/* ---- RFC 6902 4.6 equality: numbers by value, objects regardless of member order ---- */

/*
 * A JSON number as a decimal: its significant digits (a run of the text,
 * maybe with the '.' inside, leading and trailing zeros excluded) and the
 * power of ten after the last of them. Nothing is allocated, so a `test`
 * can never fail for want of memory.
 */
typedef struct dec {
	bool neg;
	const char *p; /* first significant digit (a '.' may follow among them) */
	size_t n;      /* significant digits (0: the number is zero) */
	int64_t exp;   /* value = digits × 10^exp */
} dec_t;

static void dec_scan(jl_str_t s, dec_t *d)
{
	memset(d, 0, sizeof *d);
	d->neg = s.n && s.p[0] == '-';
	size_t m = d->neg;
	/* The mantissa's digits, in order (the '.' skipped): D in all, F after the point. */
	int64_t k = 0, first = -1, last = -1, frac = 0;
	bool after = false;
	for (; m < s.n && s.p[m] != 'e' && s.p[m] != 'E'; m++) {
		if (s.p[m] == '.') {
			after = true;
			continue;
		}
		if (s.p[m] != '0') {
			if (first < 0) {
				first = k;
				d->p = s.p + m;
			}
			last = k;
		}
		frac += after;
		k++;
	}
	if (first < 0)
		return; /* zero */
	int64_t e = 0;
	if (m < s.n) {
		size_t j = m + 1;
		bool eneg = j < s.n && s.p[j] == '-';
		if (j < s.n && (s.p[j] == '-' || s.p[j] == '+'))
			j++;
		for (; j < s.n; j++)
			if (e < (int64_t)1 << 40)
				e = e * 10 + (s.p[j] - '0');
		if (eneg)
			e = -e;
	}
	d->n = (size_t)(last - first + 1);
	/* value = int(digits) × 10^(e - F); the last significant digit has place 10^(k - 1 - last). */
	d->exp = (k - 1 - last) - frac + e;
}

static bool num_equal(const jl_json_t *x, const jl_json_t *y)
{
	if (x->n == y->n && memcmp(x->u.s, y->u.s, x->n) == 0)
		return true;
	dec_t p, q;
	dec_scan(jl_json_str(x), &p);
	dec_scan(jl_json_str(y), &q);
	if (!p.n || !q.n)
		return p.n == q.n; /* zero (of either sign) equals only zero */
	if (p.neg != q.neg || p.exp != q.exp || p.n != q.n)
		return false;
	const char *a = p.p, *b = q.p;
	for (size_t k = 0; k < p.n; k++, a++, b++) {
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if (*a != *b)
			return false;
	}
	return true;
}

static bool json_eq(const jl_json_t *x, const jl_json_t *y)
{
	if (x->type != y->type)
		return false;
	switch (x->type) {
	case JL_JSON_NUMBER: return num_equal(x, y);
	case JL_JSON_STRING: return x->n == y->n && (!x->n || memcmp(x->u.s, y->u.s, x->n) == 0);
	case JL_JSON_ARRAY:
		if (x->n != y->n)
			return false;
		for (uint32_t i = 0; i < x->n; i++)
			if (!json_eq(&x->u.a[i], &y->u.a[i]))
				return false;
		return true;
	case JL_JSON_OBJECT:
		if (x->n != y->n)
			return false;
		for (uint32_t i = 0; i < x->n; i++) {
			const jl_json_t *o = jl_json_getn(y, x->u.o[i].key);
			if (!o || !json_eq(&x->u.o[i].v, o))
				return false;
		}
		return true;
	default: return true;
	}
}

static jl_rc jp_test(pctx_t *P, jl_json_t *root, const ptr_t *p, const jl_json_t *v, const char *expr)
{
	const jl_json_t *t = root;
	if (p->n) {
		jl_json_t *parent;
		if (!(t = jp_target(P, root, p, expr, "test failed at", &parent)))
			return JL_EPRECOND;
	}
	if (!json_eq(t, v))
		return fail(P, JL_EPRECOND, expr, "test failed: the value at \"%.*s\" is not the one given",
			    SHOW(p->text));
	return JL_OK;
}

/* Whether a is a proper prefix of b (a value cannot move into its own child). */
static bool ptr_proper_prefix(const ptr_t *a, const ptr_t *b)
{
	if (a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!jl_str_eq(a->tok[i], b->tok[i]))
			return false;
	return true;
}

static jl_rc jp_move_copy(pctx_t *P, jl_json_t **root, const ptr_t *from, const ptr_t *to, bool move,
			  const char *expr_from, const char *expr)
{
	const jl_json_t *src = *root;
	jl_json_t *parent;
	if (from->n && !(src = jp_target(P, *root, from, expr_from, move ? "cannot move from" : "cannot copy from",
					 &parent)))
		return JL_EINVALID;
	if (move && ptr_proper_prefix(from, to))
		return fail(P, JL_EINVALID, expr, "cannot move %.*s into its own child %.*s", SHOW(from->text),
			    SHOW(to->text));
	jl_json_t v = *src; /* the node itself: removing it below only moves its siblings */
	if (move) {
		if (jl_str_eq(from->text, to->text))
			return JL_OK;
		jl_rc rc = jp_remove(P, *root, from, expr_from);
		if (rc)
			return rc;
	}
	return jp_add(P, root, to, &v, expr);
}

static const char *const JP_OPS[] = {"add", "remove", "replace", "move", "copy", "test"};
enum { JP_ADD, JP_REMOVE, JP_REPLACE, JP_MOVE, JP_COPY, JP_TEST, JP_NOPS };

static jl_rc jp_apply(pctx_t *P, jl_json_t **root, const jl_json_t *op, size_t i)
{
	const char *ex = xprintf(P, "patch[%zu]", i);
	if (!ex)
		return fail_cap(P, JL_ENOMEM, NULL);
	if (!jl_json_is(op, JL_JSON_OBJECT))
		return fail(P, JL_EINVAL, ex, "each operation must be a JSON object, not a %s",
			    jl_json_type_name(op->type));
	const jl_json_t *name = jl_json_get(op, "op");
	if (!jl_json_is(name, JL_JSON_STRING))
		return fail(P, JL_EINVAL, xprintf(P, "%s.op", ex), "the operation has no \"op\" string");
	int k = 0;
	while (k < JP_NOPS && !jl_str_eqc(jl_json_str(name), JP_OPS[k]))
		k++;
	if (k == JP_NOPS)
		return fail(P, JL_EINVAL, xprintf(P, "%s.op", ex),
			    "\"%.*s\" is not a JSON Patch operation (add, remove, replace, move, copy, test)",
			    SHOW(jl_json_str(name)));
	const char *ex_path = xprintf(P, "%s.path", ex);
	const jl_json_t *path = jl_json_get(op, "path");
	if (!jl_json_is(path, JL_JSON_STRING))
		return fail(P, JL_EINVAL, ex_path, "the %s operation has no \"path\" string", JP_OPS[k]);
	ptr_t pp, fp;
	jl_rc rc;
	if ((rc = parse_ptr(P, jl_json_str(path), ex_path, &pp)))
		return rc;
	const jl_json_t *value = jl_json_get(op, "value");
	if (!value && (k == JP_ADD || k == JP_REPLACE || k == JP_TEST))
		return fail(P, JL_EINVAL, xprintf(P, "%s.value", ex), "the %s operation has no \"value\"",
			    JP_OPS[k]);
	const char *ex_from = xprintf(P, "%s.from", ex);
	if (k == JP_MOVE || k == JP_COPY) {
		const jl_json_t *from = jl_json_get(op, "from");
		if (!jl_json_is(from, JL_JSON_STRING))
			return fail(P, JL_EINVAL, ex_from, "the %s operation has no \"from\" string", JP_OPS[k]);
		if ((rc = parse_ptr(P, jl_json_str(from), ex_from, &fp)))
			return rc;
	}
	switch (k) {
	case JP_ADD: return jp_add(P, root, &pp, value, ex_path);
	case JP_REMOVE: return jp_remove(P, *root, &pp, ex_path);
	case JP_REPLACE: return jp_replace(P, root, &pp, value, ex_path);
	case JP_MOVE: return jp_move_copy(P, root, &fp, &pp, true, ex_from, ex_path);
	case JP_COPY: return jp_move_copy(P, root, &fp, &pp, false, ex_from, ex_path);
	default: return jp_test(P, *root, &pp, value, ex_path);
	}
}

/* A working copy of the document (not charged to the budget: the caller already holds it). */
static jl_rc working_copy(pctx_t *P, const jl_json_t *doc, jl_json_t **out)
{
	jl_json_t *r = jl_arena_alloc(P->a, sizeof *r);
	if (!r)
		return fail_cap(P, JL_ENOMEM, NULL);
	size_t keep = P->budget;
	P->budget = SIZE_MAX;
	jl_rc rc = copy_value(P, doc, 1, r);
	P->budget = keep;
	if (rc == JL_ETOOBIG)
		return fail(P, rc, NULL, "the document nests deeper than %u levels", JL_PATCH_MAX_DEPTH);
	if (rc)
		return fail_cap(P, rc, NULL);
	*out = r;
	return JL_OK;
}

jl_rc jl_patch_json(jl_arena_t *a, jl_json_t **doc, const jl_json_t *ops, jl_diag_t *d)
{
	pctx_t P = {.a = a, .d = d, .budget = JL_PATCH_MAX_NODES};
	if (!jl_json_is(ops, JL_JSON_ARRAY))
		return fail(&P, JL_EINVAL, "patch", "a JSON Patch document must be a JSON array of operations");
	if (ops->n > JL_PATCH_MAX_OPS)
		return fail(&P, JL_ETOOBIG, "patch", "the patch has %u operations; at most %u are accepted", ops->n,
			    JL_PATCH_MAX_OPS);
	jl_json_t *root;
	jl_rc rc = working_copy(&P, *doc, &root);
	for (uint32_t i = 0; !rc && i < ops->n; i++)
		rc = jp_apply(&P, &root, &ops->u.a[i], i);
	if (!rc)
		*doc = root;
	return rc;
}

/* ================================================================== FHIRPath Patch */

/* One step down from an object: member `key` (as in the JSON, so "_given" too), at array index idx or -1. */
typedef struct frame {
	jl_json_t *obj;
	jl_str_t key;
	int64_t idx;
} frame_t;

#define MAX_FRAMES (JL_PATCH_MAX_DEPTH + 4)

/* Where a value sits: the chain of steps from the root. */
typedef struct loc {
	frame_t f[MAX_FRAMES];
	size_t n;
} loc_t;

static jl_json_t *frame_value(const frame_t *f)
{
	jl_json_t *v = member(f->obj, f->key);
	if (v && f->idx >= 0)
		return v->type == JL_JSON_ARRAY && f->idx < v->n ? &v->u.a[f->idx] : NULL;
	return v;
}

/* Depth of the value a location names (the root is 1; an array is a level). */
static uint32_t loc_depth(const loc_t *L)
{
	uint32_t d = 1;
	for (size_t i = 0; i < L->n; i++)
		d += L->f[i].idx >= 0 ? 2 : 1;
	return d;
}

/* Finds the value whose address is target under cur, filling L with the way there. */
static bool find(jl_json_t *cur, const jl_json_t *target, loc_t *L)
{
	if (cur->type != JL_JSON_OBJECT || L->n >= MAX_FRAMES)
		return false;
	for (uint32_t j = 0; j < cur->n; j++) {
		jl_json_t *v = &cur->u.o[j].v;
		frame_t *f = &L->f[L->n];
		*f = (frame_t){cur, cur->u.o[j].key, -1};
		if (v == target) {
			L->n++;
			return true;
		}
		if (v->type == JL_JSON_ARRAY) {
			for (uint32_t i = 0; i < v->n; i++) {
				f->idx = i;
				L->n++;
				if (&v->u.a[i] == target || find(&v->u.a[i], target, L))
					return true;
				L->n--;
			}
		} else if (v->type == JL_JSON_OBJECT) {
			L->n++;
			if (find(v, target, L))
				return true;
			L->n--;
		}
	}
	return false;
}

/* The FHIR type of an object whose declared type is t (an abstract Resource is named by its resourceType). */
static const jl_fhir_type_t *obj_type(const jl_fhir_type_t *t, const jl_json_t *obj)
{
	if ((!t || t->kind == JL_FHIR_ABSTRACT) && obj && obj->type == JL_JSON_OBJECT) {
		const jl_fhir_type_t *r = jl_fhir_resource(jl_json_str(jl_json_get(obj, "resourceType")));
		if (r)
			return r;
	}
	return t;
}

/* The type of the object that holds the location's last step (NULL when the model cannot tell). */
static const jl_fhir_type_t *loc_parent_type(jl_json_t *root, const loc_t *L)
{
	const jl_fhir_type_t *t = obj_type(NULL, root);
	for (size_t i = 0; t && i + 1 < L->n; i++) {
		jl_str_t k = L->f[i].key;
		if (k.n > 1 && k.p[0] == '_')
			k = jl_str(k.p + 1, k.n - 1); /* a primitive's id/extension object: typed as the primitive */
		const jl_fhir_prop_t *p = jl_fhir_prop(t, k);
		t = p ? obj_type(&jl_fhir_types[p->type], L->f[i + 1].obj) : NULL;
	}
	return t;
}

/* ---- a member seen as a list, with the "_name" list of a primitive kept in step ---- */

typedef struct lview {
	jl_json_t *obj;
	jl_str_t key, ukey; /* "given", "_given" */
} lview_t;

static jl_rc lview_init(pctx_t *P, jl_json_t *obj, jl_str_t key, lview_t *lv)
{
	char *u = jl_arena_alloc_bytes(P->a, key.n + 1);
	if (!u)
		return JL_ENOMEM;
	u[0] = '_';
	memcpy(u + 1, key.p, key.n);
	*lv = (lview_t){obj, key, jl_str(u, key.n + 1)};
	return JL_OK;
}

static uint32_t arr_len(const jl_json_t *v)
{
	return v && v->type == JL_JSON_ARRAY ? v->n : 0;
}

static uint32_t list_len(const lview_t *lv)
{
	uint32_t a = arr_len(member(lv->obj, lv->key)), b = arr_len(member(lv->obj, lv->ukey));
	return a > b ? a : b;
}

/* The array member `key`, created if absent, padded with nulls to at least n items. */
static jl_rc list_arr(pctx_t *P, jl_json_t *obj, jl_str_t key, uint32_t n, jl_json_t **out)
{
	jl_json_t *v = member(obj, key);
	jl_rc rc;
	if (!v || v->type != JL_JSON_ARRAY) {
		jl_json_t empty = {.type = JL_JSON_ARRAY};
		if ((rc = obj_set(P, obj, key, empty)))
			return rc;
		v = member(obj, key);
	}
	while (v->n < n)
		if ((rc = arr_insert(P, v, v->n, JSON_NULL)))
			return rc;
	*out = v;
	return JL_OK;
}

static bool all_null(const jl_json_t *v)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (v->u.a[i].type != JL_JSON_NULL)
			return false;
	return true;
}

/* FHIR JSON has no empty arrays, and a "_name" list of nulls says nothing. */
static void list_tidy(const lview_t *lv)
{
	jl_json_t *v = member(lv->obj, lv->key), *x = member(lv->obj, lv->ukey);
	if (x && x->type == JL_JSON_ARRAY && all_null(x)) {
		jl_json_obj_del(lv->obj, lv->ukey);
		x = NULL;
		v = member(lv->obj, lv->key);
	}
	if (v && v->type == JL_JSON_ARRAY && (!v->n || (!x && all_null(v))))
		jl_json_obj_del(lv->obj, lv->key);
}

/* A value to put in the document: the value, and a primitive's "_name" object. */
typedef struct pval {
	jl_json_t v, ext;
	bool has_v, has_ext;
} pval_t;

static jl_rc list_insert(pctx_t *P, const lview_t *lv, uint32_t i, const pval_t *pv)
{
	uint32_t n = list_len(lv);
	jl_json_t *arr;
	jl_rc rc;
	if (pv->has_v || member(lv->obj, lv->key)) {
		if ((rc = list_arr(P, lv->obj, lv->key, n, &arr)) ||
		    (rc = arr_insert(P, arr, i, pv->has_v ? pv->v : JSON_NULL)))
			return rc;
	}
	if (pv->has_ext || member(lv->obj, lv->ukey)) {
		if ((rc = list_arr(P, lv->obj, lv->ukey, n, &arr)) ||
		    (rc = arr_insert(P, arr, i, pv->has_ext ? pv->ext : JSON_NULL)))
			return rc;
	}
	list_tidy(lv);
	return JL_OK;
}

/* Takes item i out of the list (value and "_name" data) into *pv. */
static void list_take(const lview_t *lv, uint32_t i, pval_t *pv)
{
	jl_json_t *v = member(lv->obj, lv->key), *x = member(lv->obj, lv->ukey);
	memset(pv, 0, sizeof *pv);
	if (v && i < arr_len(v)) {
		pv->v = v->u.a[i];
		pv->has_v = pv->v.type != JL_JSON_NULL;
		jl_json_arr_del(v, i);
	}
	if (x && i < arr_len(x)) {
		pv->ext = x->u.a[i];
		pv->has_ext = pv->ext.type != JL_JSON_NULL;
		jl_json_arr_del(x, i);
	}
}

static jl_rc list_set(pctx_t *P, const lview_t *lv, uint32_t i, const pval_t *pv)
{
	uint32_t n = list_len(lv);
	jl_json_t *arr;
	jl_rc rc;
	if (pv->has_v || member(lv->obj, lv->key)) {
		if ((rc = list_arr(P, lv->obj, lv->key, n, &arr)))
			return rc;
		arr->u.a[i] = pv->has_v ? pv->v : JSON_NULL;
	}
	if (pv->has_ext || member(lv->obj, lv->ukey)) {
		if ((rc = list_arr(P, lv->obj, lv->ukey, n, &arr)))
			return rc;
		arr->u.a[i] = pv->has_ext ? pv->ext : JSON_NULL;
	}
	list_tidy(lv);
	return JL_OK;
}

/* Sets a single-valued member and its "_name" companion (absent parts are removed). */
static jl_rc single_set(pctx_t *P, const lview_t *lv, const pval_t *pv)
{
	jl_rc rc;
	if (pv->has_v) {
		if ((rc = obj_set(P, lv->obj, lv->key, pv->v)))
			return rc;
	} else {
		jl_json_obj_del(lv->obj, lv->key);
	}
	if (pv->has_ext)
		return obj_set(P, lv->obj, lv->ukey, pv->ext);
	jl_json_obj_del(lv->obj, lv->ukey);
	return JL_OK;
}

/*
 * Removes what frame f names. For a member "_name" (a primitive's id and
 * extensions) only that object goes; for any other member the element
 * goes whole, with its "_name" data.
 */
static jl_rc remove_at(pctx_t *P, const frame_t *f)
{
	jl_str_t k = f->key;
	bool ext_only = k.n > 1 && k.p[0] == '_';
	lview_t lv;
	jl_rc rc = lview_init(P, f->obj, ext_only ? jl_str(k.p + 1, k.n - 1) : k, &lv);
	if (rc)
		return rc;
	if (f->idx < 0) {
		if (!ext_only)
			jl_json_obj_del(f->obj, lv.key);
		jl_json_obj_del(f->obj, lv.ukey);
		return JL_OK;
	}
	if (ext_only) {
		jl_json_t *x = member(f->obj, lv.ukey);
		if (x && f->idx < arr_len(x))
			x->u.a[f->idx] = JSON_NULL;
		list_tidy(&lv);
		return JL_OK;
	}
	pval_t gone;
	list_take(&lv, (uint32_t)f->idx, &gone);
	list_tidy(&lv);
	return JL_OK;
}

/* After a removal: objects left empty go too, up to (not including) the root. */
static jl_rc prune(pctx_t *P, const loc_t *L)
{
	for (size_t k = L->n; k-- > 1;) {
		if (L->f[k].obj->n)
			break;
		jl_rc rc = remove_at(P, &L->f[k - 1]);
		if (rc)
			return rc;
	}
	return JL_OK;
}

/* ---- the operation record ---- */

enum { FP_ADD, FP_INSERT, FP_DELETE, FP_REPLACE, FP_MOVE, FP_NTYPES };
static const char *const FP_TYPES[] = {"add", "insert", "delete", "replace", "move"};

typedef struct fop {
	int type;
	jl_str_t path, name;
	const jl_json_t *value; /* the "value" part */
	const char *value_expr;
	int64_t index, source, destination; /* -1: absent */
	const char *expr;                   /* "Parameters.parameter[i]" */
} fop_t;

/* The value[x] member of a part: its JSON key and value, its "_value[x]" sibling, and the type X names. */
typedef struct valx {
	jl_str_t key;
	const jl_json_t *v, *ext;
	const jl_fhir_type_t *type;
} valx_t;

static bool is_valuex(jl_str_t k, size_t skip)
{
	return k.n > skip + 5 && memcmp(k.p + skip, "value", 5) == 0 && k.p[skip + 5] >= 'A' && k.p[skip + 5] <= 'Z';
}

static const jl_fhir_type_t *type_of_suffix(jl_str_t x)
{
	const jl_fhir_type_t *t = jl_fhir_type(x);
	if (t && (t->kind == JL_FHIR_COMPLEX || t->kind == JL_FHIR_PRIMITIVE))
		return t;
	char b[64];
	if (!x.n || x.n >= sizeof b)
		return NULL;
	memcpy(b, x.p, x.n);
	b[0] = (char)(b[0] - 'A' + 'a');
	t = jl_fhir_type(jl_str(b, x.n));
	return t && t->kind == JL_FHIR_PRIMITIVE ? t : NULL;
}

/* Finds the part's value[x]; false when it has none. JL_EINVAL (issue added) for an unknown type. */
static jl_rc part_valuex(pctx_t *P, const jl_json_t *part, const char *expr, valx_t *out, bool *found)
{
	memset(out, 0, sizeof *out);
	*found = false;
	for (uint32_t i = 0; i < part->n; i++) {
		jl_str_t k = part->u.o[i].key;
		bool under = k.n && k.p[0] == '_';
		if (!is_valuex(k, under))
			continue;
		jl_str_t base = under ? jl_str(k.p + 1, k.n - 1) : k;
		if (out->key.n && !jl_str_eq(out->key, base))
			return fail(P, JL_EINVAL, expr, "the part has more than one value[x]");
		out->key = base;
		if (under)
			out->ext = &part->u.o[i].v;
		else
			out->v = &part->u.o[i].v;
	}
	if (!out->key.n)
		return JL_OK;
	out->type = type_of_suffix(jl_str(out->key.p + 5, out->key.n - 5));
	if (!out->type)
		return fail(P, JL_EINVAL, expr, "\"%.*s\": \"%.*s\" is not a FHIR data type", SHOW(out->key),
			    SHOW(jl_str(out->key.p + 5, out->key.n - 5)));
	if (out->ext && out->ext->type != JL_JSON_OBJECT)
		return fail(P, JL_EINVAL, expr, "\"_%.*s\" must be an object (id and extension)", SHOW(out->key));
	*found = true;
	return JL_OK;
}

/* The FHIR type a value part states (value[x] or resource); NULL for parts or when it states none. */
static const jl_fhir_type_t *part_stated_type(pctx_t *P, const jl_json_t *part)
{
	valx_t vx;
	bool found;
	jl_diag_t *keep = P->d;
	P->d = NULL; /* errors are reported when the value is built */
	jl_rc rc = part_valuex(P, part, NULL, &vx, &found);
	P->d = keep;
	if (!rc && found)
		return vx.type;
	const jl_json_t *r = jl_json_get(part, "resource");
	return r ? obj_type(NULL, r) : NULL;
}

/* "dateTime" → "DateTime": the suffix of a choice element's JSON name. */
static jl_str_t choice_key(pctx_t *P, jl_str_t stem, const jl_fhir_type_t *t)
{
	size_t tn = strlen(t->name);
	char *b = jl_arena_alloc_bytes(P->a, stem.n + tn);
	if (!b)
		return JL_STR_NULL;
	memcpy(b, stem.p, stem.n);
	memcpy(b + stem.n, t->name, tn);
	if (b[stem.n] >= 'a' && b[stem.n] <= 'z')
		b[stem.n] = (char)(b[stem.n] - 'a' + 'A');
	return jl_str(b, stem.n + tn);
}

/* An element of type t named `name` (its FHIRPath name, or a choice's JSON name). */
typedef struct eref {
	jl_str_t key;               /* JSON member name */
	const jl_fhir_elem_t *elem;
	const jl_fhir_type_t *type; /* the value's type */
} eref_t;

static const jl_fhir_elem_t *choice_elem(const jl_fhir_type_t *t, jl_str_t stem)
{
	for (uint16_t i = 0; i < t->nelems; i++) {
		const jl_fhir_elem_t *e = &t->elems[i];
		size_t n = strlen(e->name);
		if ((e->flags & JL_EF_CHOICE) && n == stem.n + 3 && memcmp(e->name, stem.p, stem.n) == 0)
			return e;
	}
	return NULL;
}

/* Resolves `name` in type t for a value of type vt (NULL: not stated). */
static jl_rc resolve_elem(pctx_t *P, const jl_fhir_type_t *t, jl_str_t name, const jl_fhir_type_t *vt,
			  const char *expr, eref_t *out)
{
	if (!t)
		return fail(P, JL_EINVALID, expr, "the type of the element that would hold \"%.*s\" is not known",
			    SHOW(name));
	const jl_fhir_prop_t *p = jl_fhir_prop(t, name);
	if (p) {
		out->key = name;
		out->elem = jl_fhir_prop_elem(t, p);
		out->type = &jl_fhir_types[p->type];
		return JL_OK;
	}
	const jl_fhir_elem_t *ce = choice_elem(t, name);
	if (!ce)
		return fail(P, JL_EINVALID, expr, "%s has no element \"%.*s\"", t->name, SHOW(name));
	if (!vt)
		return fail(P, JL_EINVALID, expr,
			    "%s.%.*s[x] is a choice: give the value as value[x] so that its type is known", t->name,
			    SHOW(name));
	jl_str_t key = choice_key(P, name, vt);
	if (!key.p)
		return JL_ENOMEM;
	p = jl_fhir_prop(t, key);
	if (!p || jl_fhir_prop_elem(t, p) != ce)
		return fail(P, JL_EINVALID, expr, "%s.%.*s[x] does not allow the type %s", t->name, SHOW(name),
			    vt->name);
	out->key = key;
	out->elem = ce;
	out->type = vt;
	return JL_OK;
}

static jl_rc part_value(pctx_t *P, const jl_json_t *part, const jl_fhir_type_t *t, uint32_t depth,
			const char *expr, pval_t *out);

/* Builds an object of type t from nested parts (each names one of t's elements). */
static jl_rc parts_object(pctx_t *P, const jl_json_t *parts, const jl_fhir_type_t *t, uint32_t depth,
			  const char *expr, jl_json_t *out)
{
	if (!t || t->kind == JL_FHIR_PRIMITIVE)
		return fail(P, JL_EINVALID, expr, "a value given as parts needs a complex type, not %s",
			    t ? t->name : "an unknown one");
	if (depth > JL_PATCH_MAX_DEPTH)
		return fail_cap(P, JL_ETOOBIG, expr);
	if (!jl_json_is(parts, JL_JSON_ARRAY))
		return fail(P, JL_EINVAL, expr, "\"part\" must be an array");
	*out = (jl_json_t){.type = JL_JSON_OBJECT};
	if (!charge(P, 1))
		return fail_cap(P, JL_ETOOBIG, expr);
	for (uint32_t i = 0; i < parts->n; i++) {
		const jl_json_t *sp = &parts->u.a[i];
		const char *ex = xprintf(P, "%s.part[%u]", expr, i);
		if (!ex)
			return fail_cap(P, JL_ENOMEM, expr);
		if (!jl_json_is(sp, JL_JSON_OBJECT))
			return fail(P, JL_EINVAL, ex, "a part must be an object");
		jl_str_t name = jl_json_str(jl_json_get(sp, "name"));
		if (!jl_json_is(jl_json_get(sp, "name"), JL_JSON_STRING) || !name.n)
			return fail(P, JL_EINVAL, ex, "the part has no name");
		eref_t er;
		jl_rc rc = resolve_elem(P, t, name, part_stated_type(P, sp), ex, &er);
		if (rc)
			return rc;
		bool many = er.elem->flags & JL_EF_ARRAY;
		pval_t pv;
		if ((rc = part_value(P, sp, er.type, depth + 1 + many, ex, &pv)))
			return rc;
		lview_t lv;
		if ((rc = lview_init(P, out, er.key, &lv)))
			return fail_cap(P, rc, ex);
		if (many)
			rc = list_insert(P, &lv, list_len(&lv), &pv);
		else if (member(out, lv.key) || member(out, lv.ukey))
			return fail(P, JL_EINVALID, ex, "%s.%.*s occurs at most once, but is given twice", t->name,
				    SHOW(name));
		else
			rc = single_set(P, &lv, &pv);
		if (rc)
			return fail_cap(P, rc, ex);
	}
	return JL_OK;
}

/* The value a part gives (value[x], resource or nested parts), for an element of type t at `depth`. */
static jl_rc part_value(pctx_t *P, const jl_json_t *part, const jl_fhir_type_t *t, uint32_t depth,
			const char *expr, pval_t *out)
{
	memset(out, 0, sizeof *out);
	valx_t vx;
	bool found;
	jl_rc rc = part_valuex(P, part, expr, &vx, &found);
	if (rc)
		return rc;
	if (found) {
		if (vx.v && (rc = copy_value(P, vx.v, depth, &out->v)))
			return fail_cap(P, rc, expr);
		if (vx.ext && (rc = copy_value(P, vx.ext, depth, &out->ext)))
			return fail_cap(P, rc, expr);
		out->has_v = vx.v && vx.v->type != JL_JSON_NULL;
		out->has_ext = vx.ext != NULL;
		if (!out->has_v && !out->has_ext)
			return fail(P, JL_EINVAL, expr, "\"%.*s\" is null", SHOW(vx.key));
		return JL_OK;
	}
	const jl_json_t *r = jl_json_get(part, "resource");
	if (r) {
		if (!jl_json_is(r, JL_JSON_OBJECT))
			return fail(P, JL_EINVAL, expr, "\"resource\" must be an object");
		if ((rc = copy_value(P, r, depth, &out->v)))
			return fail_cap(P, rc, expr);
		out->has_v = true;
		return JL_OK;
	}
	const jl_json_t *parts = jl_json_get(part, "part");
	if (parts) {
		out->has_v = true;
		return parts_object(P, parts, t, depth, expr, &out->v);
	}
	return fail(P, JL_EINVAL, expr, "the value has no value[x], resource or part");
}

/* ---- parsing an operation ---- */

static jl_rc part_string(pctx_t *P, const jl_json_t *part, const char *expr, const char *what, jl_str_t *out)
{
	for (uint32_t i = 0; i < part->n; i++) {
		jl_str_t k = part->u.o[i].key;
		if (is_valuex(k, 0) && part->u.o[i].v.type == JL_JSON_STRING) {
			*out = jl_json_str(&part->u.o[i].v);
			if (out->n)
				return JL_OK;
		}
	}
	return fail(P, JL_EINVAL, expr, "the %s part needs a non-empty string value (valueString or valueCode)", what);
}

static jl_rc part_int(pctx_t *P, const jl_json_t *part, const char *expr, const char *what, int64_t *out)
{
	const jl_json_t *v = jl_json_get(part, "valueInteger");
	if (!v)
		v = jl_json_get(part, "valueUnsignedInt");
	if (!jl_json_is(v, JL_JSON_NUMBER) || !jl_str_to_i64(jl_json_str(v), out) || *out < 0 ||
	    *out >= UINT32_MAX)
		return fail(P, JL_EINVAL, expr, "the %s part needs a valueInteger of 0 or more", what);
	return JL_OK;
}

static jl_rc parse_op(pctx_t *P, const jl_json_t *param, uint32_t i, fop_t *op)
{
	memset(op, 0, sizeof *op);
	op->type = -1;
	op->index = op->source = op->destination = -1;
	op->expr = xprintf(P, "Parameters.parameter[%u]", i);
	if (!op->expr)
		return fail_cap(P, JL_ENOMEM, NULL);
	if (!jl_json_is(param, JL_JSON_OBJECT))
		return fail(P, JL_EINVAL, op->expr, "a parameter must be an object");
	jl_str_t pname = jl_json_str(jl_json_get(param, "name"));
	if (!jl_str_eqc(pname, "operation"))
		return fail(P, JL_EINVAL, op->expr, "a FHIRPath Patch has only parameters named \"operation\", not \"%.*s\"",
			    SHOW(pname));
	const jl_json_t *parts = jl_json_get(param, "part");
	if (!jl_json_is(parts, JL_JSON_ARRAY))
		return fail(P, JL_EINVAL, op->expr, "the operation has no parts (type, path …)");
	unsigned seen = 0;
	static const char *const names[] = {"type", "path", "name", "value", "index", "source", "destination"};
	for (uint32_t j = 0; j < parts->n; j++) {
		const jl_json_t *part = &parts->u.a[j];
		const char *ex = xprintf(P, "%s.part[%u]", op->expr, j);
		if (!ex)
			return fail_cap(P, JL_ENOMEM, op->expr);
		if (!jl_json_is(part, JL_JSON_OBJECT))
			return fail(P, JL_EINVAL, ex, "a part must be an object");
		jl_str_t name = jl_json_str(jl_json_get(part, "name"));
		unsigned k = 0;
		while (k < 7 && !jl_str_eqc(name, names[k]))
			k++;
		if (k == 7)
			return fail(P, JL_EINVAL, ex,
				    "\"%.*s\" is not a part of an operation (type, path, name, value, index, source, "
				    "destination)",
				    SHOW(name));
		if (seen & (1u << k))
			return fail(P, JL_EINVAL, ex, "the %s part is given twice", names[k]);
		seen |= 1u << k;
		jl_rc rc = JL_OK;
		jl_str_t s;
		switch (k) {
		case 0:
			if ((rc = part_string(P, part, ex, "type", &s)))
				return rc;
			for (op->type = 0; op->type < FP_NTYPES && !jl_str_eqc(s, FP_TYPES[op->type]); op->type++)
				;
			if (op->type == FP_NTYPES)
				return fail(P, JL_EINVAL, ex,
					    "\"%.*s\" is not a FHIRPath Patch operation (add, insert, delete, replace, move)",
					    SHOW(s));
			break;
		case 1: rc = part_string(P, part, ex, "path", &op->path); break;
		case 2: rc = part_string(P, part, ex, "name", &op->name); break;
		case 3:
			op->value = part;
			op->value_expr = ex;
			break;
		case 4: rc = part_int(P, part, ex, "index", &op->index); break;
		case 5: rc = part_int(P, part, ex, "source", &op->source); break;
		default: rc = part_int(P, part, ex, "destination", &op->destination); break;
		}
		if (rc)
			return rc;
	}
	if (op->type < 0)
		return fail(P, JL_EINVAL, op->expr, "the operation has no type part");
	/* Parts each type needs: bit k of names[]. */
	static const unsigned need[] = {0x0F, 0x1B, 0x03, 0x0B, 0x63};
	unsigned missing = need[op->type] & ~seen;
	if (missing) {
		unsigned k = 0;
		while (!(missing & (1u << k)))
			k++;
		return fail(P, JL_EINVAL, op->expr, "the %s operation needs a %s part", FP_TYPES[op->type], names[k]);
	}
	return JL_OK;
}

/* ---- evaluating paths ---- */

static jl_rc compile_path(pctx_t *P, jl_str_t path, const fop_t *op, jl_fp_expr_t **out)
{
	jl_diag_t sd;
	jl_diag_init(&sd, P->a);
	jl_rc rc = jl_fp_compile(P->a, path, out, &sd);
	if (rc == JL_ENOMEM)
		return fail_cap(P, rc, op->expr);
	if (rc)
		return fail(P, JL_EINVAL, op->expr, "path \"%.*s\" is not a FHIRPath expression we can run: %s",
			    SHOW(path), sd.n && sd.items[0].diag ? sd.items[0].diag : jl_rc_name(rc));
	return JL_OK;
}

static jl_rc eval_expr(pctx_t *P, jl_json_t *root, const jl_fp_expr_t *e, const fop_t *op, jl_fp_coll_t *out)
{
	jl_diag_t sd;
	jl_diag_init(&sd, P->a);
	jl_fp_env_t env = {.flags = JL_FP_STRICT};
	jl_rc rc = jl_fp_eval(P->a, e, root, NULL, &env, out, &sd);
	if (rc == JL_ENOMEM)
		return fail_cap(P, rc, op->expr);
	if (rc)
		return fail(P, JL_EINVALID, op->expr, "path \"%.*s\" could not be evaluated: %s",
			    SHOW(jl_fp_source(e)), sd.n && sd.items[0].diag ? sd.items[0].diag : jl_rc_name(rc));
	return JL_OK;
}

/*
 * Evaluates e and requires one element of the document; fills L with its
 * place (n = 0: the root) and *via_ext when the element is a primitive
 * that has only its "_name" object.
 */
static jl_rc select_one(pctx_t *P, jl_json_t *root, const jl_fp_expr_t *e, const fop_t *op, const char *verb,
			loc_t *L, const jl_fp_item_t **item_out)
{
	jl_fp_coll_t c;
	jl_rc rc = eval_expr(P, root, e, op, &c);
	if (rc)
		return rc;
	jl_str_t src = jl_fp_source(e);
	if (c.n == 0)
		return fail(P, JL_EINVALID, op->expr, "No content found at %.*s when %s", SHOW(src), verb);
	if (c.n > 1)
		return fail(P, JL_EINVALID, op->expr, "%.*s matches %zu elements; %s needs exactly one", SHOW(src),
			    c.n, verb);
	const jl_fp_item_t *it = &c.items[0];
	const jl_json_t *target = it->kind == JL_FP_NODE ? (it->node ? it->node : it->ext) : NULL;
	L->n = 0;
	if (!target || (target != root && !find(root, target, L)))
		return fail(P, JL_EINVALID, op->expr, "%.*s selects a computed value, not an element of the resource",
			    SHOW(src));
	*item_out = it;
	return JL_OK;
}

/* A location whose last step is a "_name" member (a primitive with only id/extensions): the primitive's own. */
static void to_element(loc_t *L)
{
	frame_t *f = &L->f[L->n - 1];
	if (f->key.n > 1 && f->key.p[0] == '_')
		f->key = jl_str(f->key.p + 1, f->key.n - 1);
}

/* The "_name" object of the primitive at L, created when absent. */
static jl_rc ext_object(pctx_t *P, const loc_t *L, jl_json_t **out)
{
	const frame_t *f = &L->f[L->n - 1];
	lview_t lv;
	jl_rc rc = lview_init(P, f->obj, f->key, &lv);
	if (rc)
		return rc;
	jl_json_t empty = {.type = JL_JSON_OBJECT};
	if (f->idx < 0) {
		jl_json_t *x = member(f->obj, lv.ukey);
		if (!x || x->type != JL_JSON_OBJECT) {
			if ((rc = obj_set(P, f->obj, lv.ukey, empty)))
				return rc;
			x = member(f->obj, lv.ukey);
		}
		*out = x;
		return JL_OK;
	}
	jl_json_t *arr;
	if ((rc = list_arr(P, f->obj, lv.ukey, list_len(&lv), &arr)))
		return rc;
	if (arr->u.a[f->idx].type != JL_JSON_OBJECT)
		arr->u.a[f->idx] = empty;
	*out = &arr->u.a[f->idx];
	return JL_OK;
}

/* ---- the five operations ---- */

static jl_rc op_add(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e)
{
	loc_t L;
	const jl_fp_item_t *it;
	jl_rc rc = select_one(P, root, e, op, "adding", &L, &it);
	if (rc)
		return rc;
	jl_json_t *c = root;
	const jl_fhir_type_t *t = obj_type(it->type, it->node);
	uint32_t depth = loc_depth(&L);
	if (L.n) {
		to_element(&L);
		c = frame_value(&L.f[L.n - 1]);
	}
	if (!c || c->type != JL_JSON_OBJECT) {
		/* A primitive: only its id and extensions can be added, in its "_name" object. */
		if (!jl_str_eqc(op->name, "extension") && !jl_str_eqc(op->name, "id"))
			return fail(P, JL_EINVALID, op->expr, "%.*s is a primitive value: only id and extension can be added to it",
				    SHOW(jl_fp_source(e)));
		if ((rc = ext_object(P, &L, &c)))
			return fail_cap(P, rc, op->expr);
	}
	eref_t er;
	if ((rc = resolve_elem(P, t, op->name, part_stated_type(P, op->value), op->expr, &er)))
		return rc;
	bool many = er.elem->flags & JL_EF_ARRAY;
	pval_t pv;
	if ((rc = part_value(P, op->value, er.type, depth + 1 + many, op->value_expr, &pv)))
		return rc;
	lview_t lv;
	if ((rc = lview_init(P, c, er.key, &lv)))
		return fail_cap(P, rc, op->expr);
	if (many)
		rc = list_insert(P, &lv, list_len(&lv), &pv);
	else if (member(c, lv.key) || member(c, lv.ukey))
		return fail(P, JL_EINVALID, op->expr, "%.*s already has %.*s, which occurs at most once: use replace",
			    SHOW(jl_fp_source(e)), SHOW(op->name));
	else
		rc = single_set(P, &lv, &pv);
	return rc ? fail_cap(P, rc, op->expr) : JL_OK;
}

static jl_rc op_delete(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e)
{
	jl_fp_coll_t c;
	jl_rc rc = eval_expr(P, root, e, op, &c);
	if (rc || c.n == 0)
		return rc; /* deleting nothing is not an error */
	loc_t L;
	const jl_fp_item_t *it;
	if ((rc = select_one(P, root, e, op, "deleting", &L, &it)))
		return rc;
	if (!L.n)
		return fail(P, JL_EINVALID, op->expr, "the resource itself cannot be deleted by a patch");
	to_element(&L);
	if ((rc = remove_at(P, &L.f[L.n - 1])) || (rc = prune(P, &L)))
		return fail_cap(P, rc, op->expr);
	return JL_OK;
}

static jl_rc op_replace(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e)
{
	loc_t L;
	const jl_fp_item_t *it;
	jl_rc rc = select_one(P, root, e, op, "replacing", &L, &it);
	if (rc)
		return rc;
	if (!L.n)
		return fail(P, JL_EINVALID, op->expr, "the resource itself cannot be replaced by a patch (use update)");
	to_element(&L);
	frame_t *f = &L.f[L.n - 1];
	const jl_fhir_type_t *pt = loc_parent_type(root, &L);
	const jl_fhir_prop_t *p = pt ? jl_fhir_prop(pt, f->key) : NULL;
	if (!p)
		return fail(P, JL_EINVALID, op->expr, "the type of %.*s is not known", SHOW(jl_fp_source(e)));
	const jl_fhir_elem_t *el = jl_fhir_prop_elem(pt, p);
	jl_str_t key = f->key;
	const jl_fhir_type_t *vt = &jl_fhir_types[p->type];
	if (el->flags & JL_EF_CHOICE) {
		/* Observation.value: valueQuantity may become valueString. */
		eref_t er;
		jl_str_t stem = jl_str(el->name, strlen(el->name) - 3);
		if ((rc = resolve_elem(P, pt, stem, part_stated_type(P, op->value), op->expr, &er)))
			return rc;
		key = er.key;
		vt = er.type;
	}
	vt = obj_type(vt, frame_value(f));
	pval_t pv;
	if ((rc = part_value(P, op->value, vt, loc_depth(&L), op->value_expr, &pv)))
		return rc;
	lview_t lv;
	if ((rc = lview_init(P, f->obj, key, &lv)))
		return fail_cap(P, rc, op->expr);
	if (!jl_str_eq(key, f->key)) {
		lview_t old;
		if ((rc = lview_init(P, f->obj, f->key, &old)))
			return fail_cap(P, rc, op->expr);
		jl_json_obj_del(f->obj, old.key);
		jl_json_obj_del(f->obj, old.ukey);
	}
	rc = f->idx >= 0 ? list_set(P, &lv, (uint32_t)f->idx, &pv) : single_set(P, &lv, &pv);
	return rc ? fail_cap(P, rc, op->expr) : JL_OK;
}

/* insert and move name a list by "X.name": X must be one object; the list may be empty. */
static jl_rc select_list(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e, const char *verb,
			 lview_t *lv, eref_t *er, uint32_t *depth)
{
	jl_fp_expr_t *pe;
	jl_str_t name;
	jl_rc rc = jl_fp_split_member(P->a, e, &pe, &name);
	if (rc == JL_ENOMEM)
		return fail_cap(P, rc, op->expr);
	if (rc)
		return fail(P, JL_EINVALID, op->expr, "%s needs a path to a list that ends in its name (Patient.identifier), not \"%.*s\"",
			    verb, SHOW(jl_fp_source(e)));
	loc_t L;
	const jl_fp_item_t *it;
	if ((rc = select_one(P, root, pe, op, verb, &L, &it)))
		return rc;
	jl_json_t *c = root;
	if (L.n)
		c = frame_value(&L.f[L.n - 1]);
	if (!c || c->type != JL_JSON_OBJECT)
		return fail(P, JL_EINVALID, op->expr, "%.*s is a primitive value, which holds no list", SHOW(jl_fp_source(pe)));
	const jl_fhir_type_t *vt = op->value ? part_stated_type(P, op->value) : NULL;
	if ((rc = resolve_elem(P, obj_type(it->type, c), name, vt, op->expr, er)))
		return rc;
	if (!(er->elem->flags & JL_EF_ARRAY))
		return fail(P, JL_EINVALID, op->expr, "%.*s is not a list (it occurs at most once)",
			    SHOW(jl_fp_source(e)));
	if ((rc = lview_init(P, c, er->key, lv)))
		return fail_cap(P, rc, op->expr);
	*depth = loc_depth(&L) + 2;
	return JL_OK;
}

static jl_rc op_insert(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e)
{
	lview_t lv;
	eref_t er;
	uint32_t depth;
	jl_rc rc = select_list(P, root, op, e, "inserting", &lv, &er, &depth);
	if (rc)
		return rc;
	uint32_t n = list_len(&lv);
	if (op->index > n)
		return fail(P, JL_EINVALID, op->expr, "index %lld is out of range: %.*s has %u items",
			    (long long)op->index, SHOW(jl_fp_source(e)), n);
	pval_t pv;
	if ((rc = part_value(P, op->value, er.type, depth, op->value_expr, &pv)))
		return rc;
	rc = list_insert(P, &lv, (uint32_t)op->index, &pv);
	return rc ? fail_cap(P, rc, op->expr) : JL_OK;
}

static jl_rc op_move(pctx_t *P, jl_json_t *root, const fop_t *op, const jl_fp_expr_t *e)
{
	lview_t lv;
	eref_t er;
	uint32_t depth;
	jl_rc rc = select_list(P, root, op, e, "moving", &lv, &er, &depth);
	if (rc)
		return rc;
	uint32_t n = list_len(&lv);
	if (op->source >= n || op->destination >= n)
		return fail(P, JL_EINVALID, op->expr, "source %lld and destination %lld must be below %u, the number of items in %.*s",
			    (long long)op->source, (long long)op->destination, n, SHOW(jl_fp_source(e)));
	pval_t pv;
	list_take(&lv, (uint32_t)op->source, &pv);
	/* Keep the slots of a primitive list aligned: a taken null stays a null. */
	rc = list_insert(P, &lv, (uint32_t)op->destination, &pv);
	return rc ? fail_cap(P, rc, op->expr) : JL_OK;
}

static jl_rc fp_apply(pctx_t *P, jl_json_t *root, const jl_json_t *param, uint32_t i)
{
	fop_t op;
	jl_rc rc = parse_op(P, param, i, &op);
	if (rc)
		return rc;
	jl_fp_expr_t *e;
	if ((rc = compile_path(P, op.path, &op, &e)))
		return rc;
	switch (op.type) {
	case FP_ADD: return op_add(P, root, &op, e);
	case FP_INSERT: return op_insert(P, root, &op, e);
	case FP_DELETE: return op_delete(P, root, &op, e);
	case FP_REPLACE: return op_replace(P, root, &op, e);
	default: return op_move(P, root, &op, e);
	}
}

jl_rc jl_patch_fhirpath(jl_arena_t *a, jl_json_t **doc, const jl_json_t *params, jl_diag_t *d)
{
	pctx_t P = {.a = a, .d = d, .budget = JL_PATCH_MAX_NODES};
	if (!jl_json_is(params, JL_JSON_OBJECT) ||
	    !jl_str_eqc(jl_json_str(jl_json_get(params, "resourceType")), "Parameters"))
		return fail(&P, JL_EINVAL, "Parameters", "a FHIRPath Patch must be a Parameters resource");
	if (!jl_json_is(*doc, JL_JSON_OBJECT) || !obj_type(NULL, *doc))
		return fail(&P, JL_EINVAL, NULL, "the document to patch is not a FHIR resource");
	const jl_json_t *ps = jl_json_get(params, "parameter");
	if (ps && !jl_json_is(ps, JL_JSON_ARRAY))
		return fail(&P, JL_EINVAL, "Parameters.parameter", "\"parameter\" must be an array");
	uint32_t n = ps ? ps->n : 0;
	if (n > JL_PATCH_MAX_OPS)
		return fail(&P, JL_ETOOBIG, "Parameters.parameter",
			    "the patch has %u operations; at most %u are accepted", n, JL_PATCH_MAX_OPS);
	jl_json_t *root;
	jl_rc rc = working_copy(&P, *doc, &root);
	for (uint32_t i = 0; !rc && i < n; i++)
		rc = fp_apply(&P, root, &ps->u.a[i], i);
	if (!rc)
		*doc = root;
	return rc;
}
