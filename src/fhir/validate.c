/*
 * validate — walks a resource's JSON tree alongside the generated type
 * tables. Each object is checked against one jl_fhir_type_t: its members are
 * looked up by JSON name (binary search), counted per element for
 * cardinality and choice exclusivity, and each value is checked by the kind
 * of its type — primitive format, nested object, or nested resource.
 *
 * The FHIRPath of the current element is kept in a fixed buffer that grows
 * and shrinks with the walk; it is copied only when an issue is reported,
 * so a valid resource costs no string building.
 */
#include "fhir/validate.h"

#include <stdio.h>

#include "base/time.h"

#define MAX_ELEMS 512
#define MAX_STRING_CHARS (1024 * 1024) /* R4: strings SHALL NOT exceed 1 MB */

typedef struct vctx {
	jl_diag_t *d;
	char path[1024];
	size_t plen;
	int truncated; /* the path outgrew the buffer; report "..." */
	int depth;
} vctx_t;

static size_t path_push(vctx_t *c, const char *name, size_t n)
{
	size_t saved = c->plen;
	if (c->plen + n + 2 >= sizeof c->path) {
		c->truncated++;
		return saved;
	}
	if (c->plen)
		c->path[c->plen++] = '.';
	memcpy(c->path + c->plen, name, n);
	c->plen += n;
	c->path[c->plen] = 0;
	return saved;
}

static size_t path_index(vctx_t *c, uint32_t i)
{
	size_t saved = c->plen;
	char digits[12];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	if (c->plen + nd + 3 >= sizeof c->path) {
		c->truncated++;
		return saved;
	}
	c->path[c->plen++] = '[';
	while (nd)
		c->path[c->plen++] = digits[--nd];
	c->path[c->plen++] = ']';
	c->path[c->plen] = 0;
	return saved;
}

static void path_pop(vctx_t *c, size_t saved)
{
	if (c->truncated) {
		c->truncated--;
		return;
	}
	c->plen = saved;
	c->path[c->plen] = 0;
}

static void issue(vctx_t *c, const char *code, const char *fmt, ...) JL_PRINTF(3, 4);
static void issue(vctx_t *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jl_diag_vadd(c->d, JL_SEV_ERROR, code, c->path, fmt, ap);
	va_end(ap);
}

/* Shortens user text quoted in a diagnostic. */
static int quote_len(jl_str_t s)
{
	return (int)(s.n > 80 ? 80 : s.n);
}

bool jl_fhir_is_id(jl_str_t s)
{
	if (s.n < 1 || s.n > 64)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* code: [^\s]+(\s[^\s]+)* — no leading, trailing or doubled whitespace. */
static bool valid_code(jl_str_t s)
{
	if (!s.n || is_ws((unsigned char)s.p[0]) || is_ws((unsigned char)s.p[s.n - 1]))
		return false;
	for (size_t i = 1; i < s.n; i++)
		if (is_ws((unsigned char)s.p[i]) && is_ws((unsigned char)s.p[i - 1]))
			return false;
	return true;
}

static bool no_ws(jl_str_t s)
{
	for (size_t i = 0; i < s.n; i++)
		if (is_ws((unsigned char)s.p[i]))
			return false;
	return true;
}

static bool valid_oid(jl_str_t s)
{
	if (!jl_str_starts(s, "urn:oid:"))
		return false;
	size_t i = 8;
	if (i >= s.n || s.p[i] < '0' || s.p[i] > '2')
		return false;
	i++;
	int arcs = 0;
	while (i < s.n) {
		if (s.p[i] != '.' || i + 1 >= s.n)
			return false;
		i++;
		if (s.p[i] == '0') {
			i++;
		} else if (s.p[i] >= '1' && s.p[i] <= '9') {
			while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
				i++;
		} else {
			return false;
		}
		arcs++;
	}
	return arcs >= 1;
}

static bool valid_uuid(jl_str_t s)
{
	if (s.n != 45 || !jl_str_starts(s, "urn:uuid:"))
		return false;
	for (size_t i = 9; i < s.n; i++) {
		size_t k = i - 9;
		char ch = s.p[i];
		if (k == 8 || k == 13 || k == 18 || k == 23) {
			if (ch != '-')
				return false;
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return false;
		}
	}
	return true;
}

/* base64 with optional whitespace: groups of four, '=' padding only at the end. */
static bool valid_base64(jl_str_t s)
{
	size_t n = 0, pad = 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (is_ws(ch))
			continue;
		if (ch == '=') {
			pad++;
			n++;
			continue;
		}
		if (pad)
			return false;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '+' || ch == '/'))
			return false;
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}

/* integer: -?(0|[1-9][0-9]*) within 32 bits. */
static bool int_text(jl_str_t s, int64_t *out)
{
	if (!s.n)
		return false;
	for (size_t i = s.p[0] == '-'; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return jl_str_to_i64(s, out) && *out >= INT32_MIN && *out <= INT32_MAX;
}

/* Counts code points of valid UTF-8 (the parser has validated it). */
static size_t utf8_chars(jl_str_t s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.n; i++)
		n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
	return n;
}

/* Control characters other than tab, CR and LF; eight bytes at a time over the common case. */
static bool has_control(jl_str_t s)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;
	for (; i + 8 <= s.n; i += 8) {
		uint64_t w;
		memcpy(&w, s.p + i, 8);
		if (((w - ones * 0x20) & ~w & highs) == 0)
			continue; /* no byte below 0x20 here */
		for (size_t k = i; k < i + 8; k++) {
			unsigned char ch = (unsigned char)s.p[k];
			if (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n')
				return true;
		}
	}
	for (; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n')
			return true;
	}
	return false;
}

/* Whether s at position k starts with the lowercase ASCII word w, ignoring case. */
static bool ci_prefix(jl_str_t s, size_t k, const char *w)
{
	for (size_t j = 0; w[j]; j++)
		if (k + j >= s.n || (s.p[k + j] | 0x20) != w[j])
			return false;
	return true;
}

/* Whether the tag opening at s[k] ('<') has an attribute named on... (onclick, onerror ...). */
static bool event_attribute(jl_str_t s, size_t k)
{
	char quote = 0;
	for (size_t i = k + 1; i < s.n && (quote || s.p[i] != '>'); i++) {
		char ch = s.p[i];
		if (quote) {
			if (ch == quote)
				quote = 0;
		} else if (ch == '"' || ch == '\'') {
			quote = ch;
		} else if (is_ws((unsigned char)ch) && ci_prefix(s, i + 1, "on")) {
			size_t j = i + 3;
			while (j < s.n && (s.p[j] | 0x20) >= 'a' && (s.p[j] | 0x20) <= 'z')
				j++;
			while (j < s.n && is_ws((unsigned char)s.p[j]))
				j++;
			if (j > i + 3 && j < s.n && s.p[j] == '=')
				return true;
		}
	}
	return false;
}

/*
 * Narrative: a <div> in the XHTML namespace. The full txt-1 allow-list is
 * checked by fhir/xhtml when that module exists; here the shape and the
 * elements that could run code are refused outright.
 */
static const char *xhtml_problem(jl_str_t s)
{
	size_t i = 0;
	while (i < s.n && is_ws((unsigned char)s.p[i]))
		i++;
	if (s.n - i < 6 || memcmp(s.p + i, "<div", 4) != 0 || (s.p[i + 4] != ' ' && s.p[i + 4] != '>' &&
								 s.p[i + 4] != '/' && !is_ws((unsigned char)s.p[i + 4])))
		return "the narrative must be a single XHTML <div> element";
	/* One pass: only '<' (a tag) and 'j' (javascript:) can start a banned shape. */
	static const char *const tags[] = {"script", "iframe", "object", "embed", "form", "input",
					   "frame",  "applet", "base",   "link",  "meta"};
	for (size_t k = i; k < s.n; k++) {
		char ch = s.p[k];
		if (ch == '<') {
			for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++)
				if (ci_prefix(s, k + 1, tags[t]))
					return "the narrative contains an element that could run code";
			if (event_attribute(s, k))
				return "the narrative contains an event-handler attribute (on...=)";
		} else if ((ch | 0x20) == 'j' && ci_prefix(s, k, "javascript:")) {
			return "the narrative contains a URL that could run code";
		}
	}
	return NULL;
}

bool jl_fhir_check_primitive(jl_fhir_prim prim, const jl_json_t *v, jl_diag_t *d, const char *expr)
{
	const char *want = NULL, *bad = NULL;
	jl_str_t s = jl_json_str(v);
	int64_t iv;
	jl_datetime_t dt;
	switch (prim) {
	case JL_PRIM_BOOLEAN:
		if (v->type != JL_JSON_TRUE && v->type != JL_JSON_FALSE)
			want = "a JSON boolean";
		break;
	case JL_PRIM_INTEGER:
	case JL_PRIM_UNSIGNEDINT:
	case JL_PRIM_POSITIVEINT:
		if (v->type != JL_JSON_NUMBER) {
			want = "a JSON number";
		} else if (!int_text(s, &iv)) {
			bad = "is not a 32-bit integer";
		} else if (prim == JL_PRIM_UNSIGNEDINT && iv < 0) {
			bad = "must not be negative (unsignedInt)";
		} else if (prim == JL_PRIM_POSITIVEINT && iv < 1) {
			bad = "must be at least 1 (positiveInt)";
		}
		break;
	case JL_PRIM_DECIMAL:
		if (v->type != JL_JSON_NUMBER)
			want = "a JSON number";
		break;
	default:
		if (v->type != JL_JSON_STRING) {
			want = "a JSON string";
			break;
		}
		if (s.n == 0) {
			bad = "must not be empty";
			break;
		}
		switch (prim) {
		case JL_PRIM_STRING:
		case JL_PRIM_MARKDOWN:
			if (has_control(s))
				bad = "contains a control character";
			else if (s.n > MAX_STRING_CHARS && utf8_chars(s) > MAX_STRING_CHARS)
				bad = "is longer than 1 MB";
			break;
		case JL_PRIM_CODE:
			if (!valid_code(s))
				bad = "is not a valid code (no leading, trailing or repeated whitespace)";
			break;
		case JL_PRIM_ID:
			if (!jl_fhir_is_id(s))
				bad = "is not a valid id (1-64 of A-Z a-z 0-9 - .)";
			break;
		case JL_PRIM_URI:
		case JL_PRIM_URL:
		case JL_PRIM_CANONICAL:
			if (!no_ws(s))
				bad = "must not contain whitespace";
			break;
		case JL_PRIM_OID:
			if (!valid_oid(s))
				bad = "is not a valid OID (urn:oid:…)";
			break;
		case JL_PRIM_UUID:
			if (!valid_uuid(s))
				bad = "is not a valid UUID (urn:uuid:, lowercase)";
			break;
		case JL_PRIM_BASE64BINARY:
			if (!valid_base64(s))
				bad = "is not valid base64";
			break;
		case JL_PRIM_DATE:
			if (!jl_datetime_parse(s, false, &dt) || dt.prec > JL_DT_DAY)
				bad = "is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD)";
			break;
		case JL_PRIM_DATETIME:
			if (!jl_datetime_parse(s, false, &dt))
				bad = "is not a valid dateTime (a time needs seconds and a zone)";
			break;
		case JL_PRIM_INSTANT:
			if (!jl_datetime_parse(s, false, &dt) || dt.prec < JL_DT_SECOND)
				bad = "is not a valid instant (full date, time and zone)";
			break;
		case JL_PRIM_TIME:
			if (!jl_time_parse(s, &dt))
				bad = "is not a valid time (hh:mm:ss)";
			break;
		case JL_PRIM_XHTML:
			bad = xhtml_problem(s);
			break;
		default:
			break;
		}
	}
	if (want)
		jl_diag_add(d, JL_SEV_ERROR, "structure", expr, "Expected %s, found %s", want,
			    jl_json_type_name((jl_json_type)v->type));
	else if (bad)
		jl_diag_add(d, JL_SEV_ERROR, "value", expr, "The value \"%.*s\" %s", quote_len(s), s.p, bad);
	return !want && !bad;
}

static void validate_object(vctx_t *c, const jl_fhir_type_t *t, const jl_json_t *o);
static void validate_resource(vctx_t *c, const jl_fhir_type_t *want, const jl_json_t *v);

/* Length of an element name without a trailing "[x]". */
static size_t elem_base_len(const jl_fhir_elem_t *e)
{
	size_t n = strlen(e->name);
	return (n > 3 && strcmp(e->name + n - 3, "[x]") == 0) ? n - 3 : n;
}

static bool is_type(const jl_fhir_type_t *t, const char *name)
{
	return strcmp(t->name, name) == 0;
}

/* Required binding on a Coding: a coding whose code is not in a complete value set is an error. */
static bool coding_in(const jl_fhir_valueset_t *vs, const jl_json_t *coding)
{
	jl_str_t code = jl_json_str(jl_json_get(coding, "code"));
	jl_str_t sys = jl_json_str(jl_json_get(coding, "system"));
	return code.n && jl_fhir_vs_contains(vs, sys, code);
}

static void check_binding(vctx_t *c, const jl_fhir_elem_t *e, const jl_fhir_type_t *t, const jl_json_t *v)
{
	const jl_fhir_valueset_t *vs = jl_fhir_binding(e);
	if (!vs || !vs->complete)
		return;
	if (t->kind == JL_FHIR_PRIMITIVE) {
		jl_str_t s = jl_json_str(v);
		if (v->type == JL_JSON_STRING && s.n && !jl_fhir_vs_contains(vs, JL_STR_NULL, s))
			issue(c, "code-invalid", "The code \"%.*s\" is not in the required value set %s",
			      quote_len(s), s.p, vs->url);
	} else if (is_type(t, "Coding")) {
		if (jl_json_get(v, "code") && !coding_in(vs, v))
			issue(c, "code-invalid", "The coding is not in the required value set %s", vs->url);
	} else if (is_type(t, "CodeableConcept")) {
		const jl_json_t *cs = jl_json_get(v, "coding");
		if (!jl_json_is(cs, JL_JSON_ARRAY))
			return; /* text only: nothing coded to check */
		for (uint32_t i = 0; i < cs->n; i++)
			if (coding_in(vs, &cs->u.a[i]))
				return;
		issue(c, "code-invalid", "None of the codings is in the required value set %s", vs->url);
	}
}

static void validate_item(vctx_t *c, const jl_fhir_elem_t *e, const jl_fhir_type_t *t, const jl_json_t *v)
{
	switch (t->kind) {
	case JL_FHIR_PRIMITIVE:
		if (v->type == JL_JSON_OBJECT || v->type == JL_JSON_ARRAY) {
			issue(c, "structure", "Expected a %s value, found %s", t->name,
			      jl_json_type_name((jl_json_type)v->type));
			return;
		}
		if (jl_fhir_check_primitive((jl_fhir_prim)t->prim, v, c->d, c->path))
			check_binding(c, e, t, v);
		return;
	case JL_FHIR_ABSTRACT:
		validate_resource(c, NULL, v);
		return;
	default:
		if (v->type != JL_JSON_OBJECT) {
			issue(c, "structure", "Expected a %s object, found %s", t->name,
			      jl_json_type_name((jl_json_type)v->type));
			return;
		}
		validate_object(c, t, v);
		check_binding(c, e, t, v);
	}
}

/* Members of one object that concern one primitive element: the value and its "_" sibling. */
static const jl_json_t *sibling(const jl_json_t *o, jl_str_t key, bool underscore)
{
	for (uint32_t i = 0; i < o->n; i++) {
		jl_str_t k = o->u.o[i].key;
		if (underscore) {
			if (k.n == key.n + 1 && k.p[0] == '_' && memcmp(k.p + 1, key.p, key.n) == 0)
				return &o->u.o[i].v;
		} else if (jl_str_eq(k, key)) {
			return &o->u.o[i].v;
		}
	}
	return NULL;
}

/* Returns the number of values the element holds (for cardinality). */
static uint32_t validate_member(vctx_t *c, const jl_json_t *o, const jl_fhir_elem_t *e,
				const jl_fhir_type_t *t, jl_str_t key, const jl_json_t *v)
{
	bool prim = t->kind == JL_FHIR_PRIMITIVE;
	if (!(e->flags & JL_EF_ARRAY)) {
		if (v->type == JL_JSON_ARRAY) {
			issue(c, "structure", "The element %s holds one value, not an array", e->name);
			return 1;
		}
		if (v->type == JL_JSON_NULL) {
			issue(c, "structure", "null is not a value (omit the element instead)");
			return 0;
		}
		validate_item(c, e, t, v);
		return 1;
	}
	if (v->type != JL_JSON_ARRAY) {
		issue(c, "structure", "The element %s repeats, so its value must be an array", e->name);
		return 1;
	}
	if (v->n == 0) {
		issue(c, "structure", "Arrays must not be empty (omit the element instead)");
		return 0;
	}
	const jl_json_t *ext = prim ? sibling(o, key, true) : NULL;
	for (uint32_t i = 0; i < v->n; i++) {
		size_t saved = path_index(c, i);
		const jl_json_t *it = &v->u.a[i];
		if (it->type == JL_JSON_NULL) {
			/* A null keeps an array aligned with its "_" twin, which must hold this item. */
			if (!prim || !jl_json_is(ext, JL_JSON_ARRAY) || i >= ext->n ||
			    ext->u.a[i].type == JL_JSON_NULL)
				issue(c, "structure", "null is only allowed where the \"_%.*s\" array has an entry",
				      (int)key.n, key.p);
		} else {
			validate_item(c, e, t, it);
		}
		path_pop(c, saved);
	}
	return v->n;
}

/* The "_name" member: id/extension of primitive values, aligned with the values. */
static uint32_t validate_prim_ext(vctx_t *c, const jl_json_t *o, const jl_fhir_elem_t *e,
				  const jl_fhir_type_t *t, jl_str_t key, const jl_json_t *v)
{
	const jl_json_t *val = sibling(o, key, false);
	if (!(e->flags & JL_EF_ARRAY)) {
		if (v->type != JL_JSON_OBJECT) {
			issue(c, "structure", "Expected an object with id or extension");
			return 1;
		}
		validate_object(c, t, v);
		return 1;
	}
	if (v->type != JL_JSON_ARRAY || v->n == 0) {
		issue(c, "structure", "Expected a non-empty array aligned with \"%.*s\"", (int)key.n, key.p);
		return 1;
	}
	if (jl_json_is(val, JL_JSON_ARRAY) && val->n != v->n)
		issue(c, "structure", "The array must have as many entries as \"%.*s\" (%u, not %u)", (int)key.n,
		      key.p, val->n, v->n);
	for (uint32_t i = 0; i < v->n; i++) {
		const jl_json_t *it = &v->u.a[i];
		size_t saved = path_index(c, i);
		if (it->type == JL_JSON_OBJECT)
			validate_object(c, t, it);
		else if (it->type != JL_JSON_NULL)
			issue(c, "structure", "Expected an object or null");
		else if (!jl_json_is(val, JL_JSON_ARRAY) || i >= val->n || val->u.a[i].type == JL_JSON_NULL)
			issue(c, "structure", "Both the value and its extension are null");
		path_pop(c, saved);
	}
	return v->n;
}

static void validate_object(vctx_t *c, const jl_fhir_type_t *t, const jl_json_t *o)
{
	if (++c->depth > 64) {
		issue(c, "too-costly", "Elements are nested too deeply");
		c->depth--;
		return;
	}
	if (o->n == 0)
		issue(c, "structure", "Objects must not be empty");
	if (t->nelems > MAX_ELEMS) {
		issue(c, "exception", "Type %s has too many elements for the validator", t->name);
		c->depth--;
		return;
	}
	uint32_t counts[MAX_ELEMS];
	uint16_t chosen[MAX_ELEMS]; /* choice elements: 1 + prop index used */
	memset(counts, 0, t->nelems * sizeof counts[0]);
	memset(chosen, 0, t->nelems * sizeof chosen[0]);
	for (uint32_t i = 0; i < o->n; i++) {
		jl_str_t key = o->u.o[i].key;
		const jl_json_t *v = &o->u.o[i].v;
		/* On a resource, resourceType names its type (checked by the caller); elsewhere it
		 * is an ordinary element name (ExampleScenario.instance has one). */
		if (t->kind == JL_FHIR_RESOURCE && jl_str_eqc(key, "resourceType"))
			continue;
		bool under = key.n > 1 && key.p[0] == '_';
		jl_str_t name = under ? jl_str(key.p + 1, key.n - 1) : key;
		const jl_fhir_prop_t *p = jl_fhir_prop(t, name);
		size_t saved = path_push(c, name.p, name.n);
		if (!p || (under && jl_fhir_types[p->type].kind != JL_FHIR_PRIMITIVE)) {
			issue(c, "structure", "Unknown element \"%.*s\" in %s", quote_len(key), key.p, t->name);
			path_pop(c, saved);
			continue;
		}
		const jl_fhir_elem_t *e = jl_fhir_prop_elem(t, p);
		const jl_fhir_type_t *vt = &jl_fhir_types[p->type];
		if (e->flags & JL_EF_CHOICE) {
			/* FHIRPath names a choice as value.ofType(Quantity), not valueQuantity. */
			char seg[160];
			int k = snprintf(seg, sizeof seg, "%.*s.ofType(%s)", (int)elem_base_len(e), e->name, vt->name);
			path_pop(c, saved);
			saved = path_push(c, seg, k > 0 && (size_t)k < sizeof seg ? (size_t)k : 0);
			uint16_t mark = (uint16_t)(p - t->props + 1);
			if (chosen[p->elem] && chosen[p->elem] != mark)
				issue(c, "structure", "Only one type of %s may be given", e->name);
			chosen[p->elem] = mark;
		}
		uint32_t k = under ? validate_prim_ext(c, o, e, vt, name, v) : validate_member(c, o, e, vt, name, v);
		if (k > counts[p->elem])
			counts[p->elem] = k;
		path_pop(c, saved);
	}
	for (uint16_t i = 0; i < t->nelems; i++) {
		const jl_fhir_elem_t *e = &t->elems[i];
		if (counts[i] < e->min) {
			size_t saved = path_push(c, e->name, elem_base_len(e));
			issue(c, "required", "The element %s is required (at least %u) in %s", e->name,
			      (unsigned)e->min, t->name);
			path_pop(c, saved);
		} else if (e->max != JL_FHIR_MANY && counts[i] > e->max) {
			size_t saved = path_push(c, e->name, elem_base_len(e));
			issue(c, "structure", "The element %s allows at most %u values, found %u", e->name,
			      (unsigned)e->max, counts[i]);
			path_pop(c, saved);
		}
	}
	c->depth--;
}

static void validate_resource(vctx_t *c, const jl_fhir_type_t *want, const jl_json_t *v)
{
	if (v->type != JL_JSON_OBJECT) {
		issue(c, "structure", "Expected a resource (JSON object), found %s",
		      jl_json_type_name((jl_json_type)v->type));
		return;
	}
	const jl_json_t *rt = jl_json_get(v, "resourceType");
	if (!want) {
		if (!jl_json_is(rt, JL_JSON_STRING)) {
			issue(c, "required", "A resource must have a resourceType");
			return;
		}
		want = jl_fhir_resource(jl_json_str(rt));
		if (!want) {
			jl_str_t s = jl_json_str(rt);
			issue(c, "not-supported", "Unknown resourceType \"%.*s\"", quote_len(s), s.p);
			return;
		}
	}
	validate_object(c, want, v);
}

jl_rc jl_fhir_validate(const jl_json_t *res, const jl_fhir_type_t *type, jl_diag_t *d)
{
	vctx_t c;
	c.d = d;
	c.plen = 0;
	c.truncated = 0;
	c.depth = 0;
	c.path[0] = 0;
	int before = d->nerrors;
	const jl_json_t *rt = jl_json_get(res, "resourceType");
	if (!type && jl_json_is(rt, JL_JSON_STRING))
		type = jl_fhir_resource(jl_json_str(rt));
	if (type) {
		size_t n = strlen(type->name);
		memcpy(c.path, type->name, n + 1);
		c.plen = n;
	}
	validate_resource(&c, type, res);
	return d->nerrors > before ? JL_EINVALID : JL_OK;
}
