/*
 * export — the bulk export engine (see export.h).
 *
 * One store scan (store.h jl_store_scan) reads every selected resource from
 * one snapshot, in storage order (the types interleaved, so the store reads
 * its bodies in one sequential pass); each version is assembled into its
 * JSON form straight into the write buffer of its type's current file, one
 * line each. So every type being exported has one file open, with a buffer
 * of a quarter MiB at most. A file is closed and the next one of the type's
 * series opened when the next line would take it past the size limit, so a
 * file always ends with a whole line.
 *
 * Which resources: the system level takes every live resource of the
 * types asked for. The Patient and Group levels take the Patient
 * compartment (CompartmentDefinition-patient, fhir/searchparam.h): for each
 * type of the compartment, the resources that refer, through one of the
 * type's compartment parameters, to a patient of the set — every live
 * Patient, or the live Patients a Group lists as member.entity. The set is
 * a search sub-query (a chain for "refers to", a reverse chain for "is a
 * member of"), so the store evaluates it from the reference index, as it
 * does for a chained search: nothing is gathered here.
 *
 * A version whose stored body cannot be decoded is left out and reported
 * as one OperationOutcome line in the error series; the export goes on.
 */
#include "search/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/searchparam.h"
#include "search/index.h"

#define FILE_MAX_DEFAULT ((uint64_t)1 << 30)
#define FLUSH_AT ((size_t)256 << 10)      /* write(2) in chunks of about 256 KiB, per open file */
#define BUF_MAX (((size_t)64 << 20) + FLUSH_AT * 2) /* a 64 MiB body plus what is pending */
#define DROP_EVERY ((uint64_t)8 << 20)  /* output pushed out of the page cache in 8 MiB stretches */
#define PROGRESS_EVERY 4096
#define CANCEL_EVERY 256
#define FILTER_MAX_PARAMS 32  /* parameters of one _typeFilter query (with a compartment: < the scan's 64) */
#define SUBSETTED_SYSTEM "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

/* One series of files: <type>-1.ndjson, <type>-2.ndjson … */
typedef struct series {
	const char *type;      /* arena copy */
	int fd;                /* -1: no file open */
	uint32_t seq;
	bool err;              /* the error series: its files are listed in out->errors */
	size_t ix;             /* the current file's entry in out->files (or errors) */
	const char *name;      /* of the current file */
	int64_t count, bytes;  /* of the current file, including what is buffered */
	uint64_t written, dropped; /* bytes of the current file written, and dropped from the page cache */
	const jl_str_t *keep;  /* _elements that apply to the type (none: whole resources) */
	uint32_t nkeep;
	const struct jl_fhir_type *ftype; /* the type's model, when subsetting */
	jl_buf_t buf;
} series_t;

typedef struct run {
	const jl_export_spec_t *spec;
	jl_arena_t *a;
	jl_diag_t *d;
	jl_export_result_t *out;
	size_t files_cap, errors_cap;
	series_t **series;     /* one per type met so far, and the error series */
	uint32_t nseries, series_cap;
	series_t *last;        /* the series of the previous row (rows of a type come in runs) */
	series_t *err;
	jl_export_progress_t prog;
	uint64_t max_bytes;
	const jl_str_t *order;  /* the manifest's type order (NULL: by name) */
	uint32_t norder;
	jl_arena_t *tmp;       /* one resource being subsetted (_elements), reset after each */
	jl_buf_t scratch;
} run_t;

static const char *const OUTCOME_TYPE = "OperationOutcome";

/* ---- types ---- */

static const jl_compartment_t *patient_compartment(void)
{
	for (uint8_t i = 0; i < jl_ncompartments; i++)
		if (!strcmp(jl_compartments[i].code, "Patient"))
			return &jl_compartments[i];
	return NULL;
}

jl_rc jl_export_check_types(uint8_t level, const jl_str_t *types, uint32_t n, jl_diag_t *d)
{
	int bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		jl_str_t t = types[i];
		int shown = (int)(t.n > 64 ? 64 : t.n);
		if (!t.n || !jl_fhir_resource(t)) {
			jl_diag_err(d, "value", "_type", "\"%.*s\" is not a FHIR R4 resource type", shown, t.p);
			bad++;
			continue;
		}
		bool dup = false;
		for (uint32_t j = 0; j < i; j++)
			dup |= jl_str_eq(types[j], t);
		if (dup) {
			jl_diag_err(d, "value", "_type", "%.*s is listed twice", shown, t.p);
			bad++;
		} else if (level != JL_EXPORT_SYSTEM && !jl_compartment_rule(JL_STR("Patient"), t)) {
			jl_diag_err(d, "value", "_type",
				    "%.*s is not in the Patient compartment, so a Patient or Group export has none", shown,
				    t.p);
			bad++;
		}
	}
	return bad ? JL_EINVAL : JL_OK;
}

bool jl_export_parse_since(jl_str_t s, int64_t *us)
{
	jl_datetime_t dt;
	int64_t hi;
	if (!jl_datetime_parse(s, false, &dt) || dt.prec < JL_DT_SECOND || !dt.has_tz)
		return false;
	jl_datetime_range(&dt, us, &hi);
	return *us > 0;
}

jl_rc jl_export_split_types(jl_arena_t *a, jl_str_t list, jl_str_t **out, uint32_t *n)
{
	if (!list.p)
		list = JL_STR(""); /* a parameter without a value */
	uint32_t k = 1;
	for (size_t i = 0; i < list.n; i++)
		k += list.p[i] == ',';
	*out = jl_arena_calloc(a, k, sizeof **out);
	*n = 0;
	if (!*out)
		return JL_ENOMEM;
	size_t from = 0;
	for (size_t i = 0; i <= list.n; i++) {
		if (i < list.n && list.p[i] != ',')
			continue;
		jl_str_t t = jl_str_trim(jl_str(list.p + from, i - from));
		if (!t.n)
			return JL_EINVAL;
		(*out)[(*n)++] = t;
		from = i + 1;
	}
	return JL_OK;
}

/* ---- _typeFilter ---- */

/* Whether s holds "Type?" at i (after spaces): an upper-case letter, letters, a question mark. */
static bool query_at(jl_str_t s, size_t i)
{
	while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\n'))
		i++;
	if (i >= s.n || s.p[i] < 'A' || s.p[i] > 'Z')
		return false;
	for (i++; i < s.n; i++) {
		char c = s.p[i];
		if (c == '?')
			return true;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return false;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * Percent-decodes a part of a filter's query; false on a malformed escape.
 * A '+' stays a '+': the outer decoding already made form spaces of the
 * client's, and what is left is most often a time zone ("ge2024-05-01T00:00:00+08:00")
 * from a client that encoded the query once.
 */
static bool unescape(jl_arena_t *a, jl_str_t s, jl_str_t *out)
{
	if (!memchr(s.p, '%', s.n)) {
		*out = s;
		return true;
	}
	char *o = jl_arena_alloc_bytes(a, s.n + 1);
	size_t n = 0;
	if (!o)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		int h, l;
		if (s.p[i] != '%') {
			o[n++] = s.p[i];
		} else if (i + 2 < s.n && (h = hexval(s.p[i + 1])) >= 0 && (l = hexval(s.p[i + 2])) >= 0) {
			o[n++] = (char)(h << 4 | l);
			i += 2;
		} else {
			return false;
		}
	}
	o[n] = 0;
	*out = jl_str(o, n);
	return true;
}

/* Search result parameters: they shape a result page, and the IG forbids them in a filter. */
static bool result_param(jl_str_t k)
{
	static const char *const names[] = {"_sort", "_count", "_include", "_revinclude", "_summary", "_elements",
					    "_total", "_contained", "_containedType", "_page", "_debug", "_format",
					    "_pretty", "_type"};
	const char *colon = jl_str_chr(k, ':');
	jl_str_t base = colon ? jl_str(k.p, (size_t)(colon - k.p)) : k;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (jl_str_eqc(base, names[i]))
			return true;
	return false;
}

/* An issue about query q of _typeFilter: an error when strict, else a warning saying what was done. */
static void JL_PRINTF(5, 6) filter_issue(jl_diag_t *d, bool strict, const char *code, jl_str_t q, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jl_diag_add(d, strict ? JL_SEV_ERROR : JL_SEV_WARNING, code, "_typeFilter", "_typeFilter \"%.*s%s\": %s",
		    (int)(q.n > 120 ? 120 : q.n), q.p, q.n > 120 ? "…" : "", msg);
}

static jl_rc add_filter(jl_arena_t *a, jl_export_filter_t **out, uint32_t *n, jl_export_filter_t f)
{
	if (*n >= JL_EXPORT_MAX_FILTERS)
		return JL_ETOOBIG;
	jl_export_filter_t *v = jl_arena_alloc(a, (*n + 1) * sizeof *v);
	if (!v)
		return JL_ENOMEM;
	if (*n)
		memcpy(v, *out, *n * sizeof *v);
	v[(*n)++] = f;
	*out = v;
	return JL_OK;
}

/* The query's parameters, decoded; unusable ones are issues (and skipped when lenient). */
static jl_rc filter_pairs(jl_arena_t *a, jl_str_t q, jl_str_t params, bool strict, jl_search_pair_t **out, size_t *n,
			  jl_diag_t *d)
{
	size_t cap = 1;
	for (size_t i = 0; i < params.n; i++)
		cap += params.p[i] == '&';
	*n = 0;
	if (cap > FILTER_MAX_PARAMS) {
		filter_issue(d, strict, "too-costly", q, "more than %d parameters%s", FILTER_MAX_PARAMS,
			     strict ? "" : "; the type is exported unfiltered by this query");
		return JL_OK;
	}
	if (!(*out = jl_arena_calloc(a, cap, sizeof **out)))
		return JL_ENOMEM;
	size_t from = 0;
	for (size_t i = 0; i <= params.n; i++) {
		if (i < params.n && params.p[i] != '&')
			continue;
		jl_str_t part = jl_str(params.p + from, i - from);
		from = i + 1;
		if (!part.n)
			continue;
		const char *eq = jl_str_chr(part, '=');
		jl_str_t k = eq ? jl_str(part.p, (size_t)(eq - part.p)) : part, v = eq ? jl_str(eq + 1, part.n - k.n - 1) : JL_STR_NULL;
		int kn = (int)(k.n > 64 ? 64 : k.n);
		if (!eq || !k.n) {
			filter_issue(d, strict, "invalid", q, "\"%.*s\" is not name=value%s", kn, k.p, strict ? "" : "; skipped");
		} else if (!unescape(a, k, &(*out)[*n].k) || !unescape(a, v, &(*out)[*n].v)) {
			filter_issue(d, strict, "invalid", q, "%.*s has a malformed %%-escape%s", kn, k.p, strict ? "" : "; skipped");
		} else if (result_param((*out)[*n].k)) {
			filter_issue(d, strict, "not-supported", q, "%.*s is a search result parameter, which cannot filter an export%s",
				     kn, k.p, strict ? "" : "; skipped");
		} else {
			(*n)++;
		}
	}
	return JL_OK;
}

/* One query "Type?params". */
static jl_rc parse_filter(jl_arena_t *a, uint8_t level, jl_str_t q, bool strict, const jl_search_cfg_t *cfg,
			  jl_export_filter_t **out, uint32_t *n, jl_diag_t *d)
{
	const char *qm = jl_str_chr(q, '?');
	jl_str_t type = qm ? jl_str(q.p, (size_t)(qm - q.p)) : q;
	int tn = (int)(type.n > 64 ? 64 : type.n);
	const char *drop = strict ? "" : "; this query was ignored";
	if (!qm) {
		filter_issue(d, strict, "invalid", q, "not a search query: write Type?parameters%s", drop);
		return JL_OK;
	}
	if (!jl_fhir_resource(type)) {
		filter_issue(d, strict, "value", q, "\"%.*s\" is not a FHIR R4 resource type%s", tn, type.p, drop);
		return JL_OK;
	}
	if (level != JL_EXPORT_SYSTEM && !jl_compartment_rule(JL_STR("Patient"), type)) {
		filter_issue(d, strict, "value", q, "%.*s is not in the Patient compartment, so a Patient or Group export has none%s",
			     tn, type.p, drop);
		return JL_OK;
	}
	int errors = d->nerrors;
	jl_search_pair_t *pairs = NULL;
	size_t np = 0;
	jl_str_t params = jl_str(qm + 1, q.n - type.n - 1);
	jl_rc rc = filter_pairs(a, q, params, strict, &pairs, &np, d);
	if (rc)
		return rc;
	if (!np && d->nerrors == errors && strict) {
		filter_issue(d, strict, "invalid", q, "no search parameters: a filter must select something");
		return JL_OK;
	}
	jl_export_filter_t f = {.type = jl_arena_str(a, type)};
	if (!f.type.p)
		return JL_ENOMEM;
	if (np && d->nerrors == errors) {
		jl_diag_t sd;
		jl_search_req_t sr;
		jl_diag_init(&sd, a);
		rc = jl_search_parse(a, type, pairs, np, strict, cfg, &sr, &sd);
		for (size_t i = 0; i < sd.n; i++)
			filter_issue(d, strict && sd.items[i].sev <= JL_SEV_ERROR,
				     sd.items[i].code ? sd.items[i].code : "invalid", q, "%s",
				     sd.items[i].diag ? sd.items[i].diag : "not usable");
		if (rc == JL_ENOMEM)
			return rc;
		if (rc && (!strict || d->nerrors == errors))
			filter_issue(d, strict, "invalid", q, "cannot be used (%s)%s", jl_rc_name(rc),
				     strict ? "" : "; the type is exported unfiltered by this query");
		if (!rc) {
			f.conds = sr.q.conds;
			f.nconds = sr.q.nconds;
		}
	}
	if (d->nerrors != errors)
		return JL_OK;
	return add_filter(a, out, n, f);
}

jl_rc jl_export_parse_filters(jl_arena_t *a, uint8_t level, jl_str_t value, bool strict, const jl_search_cfg_t *cfg,
			      jl_export_filter_t **out, uint32_t *n, jl_diag_t *d)
{
	int errors = d->nerrors;
	jl_str_t v = jl_str_trim(value);
	if (!v.n) {
		filter_issue(d, strict, "invalid", v, "empty: give one or more queries Type?parameters");
		return strict ? JL_EINVAL : JL_OK;
	}
	size_t from = 0;
	for (size_t i = 0; i <= v.n; i++) {
		if (i < v.n && !(v.p[i] == ',' && query_at(v, i + 1)))
			continue;
		jl_rc rc = parse_filter(a, level, jl_str_trim(jl_str(v.p + from, i - from)), strict, cfg, out, n, d);
		from = i + 1;
		if (rc == JL_ETOOBIG)
			jl_diag_err(d, "too-costly", "_typeFilter", "At most %d _typeFilter queries per export",
				    JL_EXPORT_MAX_FILTERS);
		if (rc)
			return rc;
	}
	return d->nerrors != errors ? JL_EINVAL : JL_OK;
}

/* ---- _elements ---- */

/* Whether t has a root element called name ("value" names value[x]; a JSON name such as "valueQuantity" works too). */
static bool has_element(const jl_fhir_type_t *t, jl_str_t name)
{
	for (uint16_t i = 0; i < t->nelems; i++) {
		const char *e = t->elems[i].name;
		size_t en = strlen(e);
		if (jl_str_eqc(name, e) || (t->elems[i].flags & JL_EF_CHOICE && en == name.n + 3 && !memcmp(e, name.p, name.n)))
			return true;
	}
	return jl_fhir_prop(t, name) != NULL;
}

static bool any_has_element(jl_str_t name)
{
	for (uint16_t i = 0; i < jl_fhir_nresources; i++)
		if (has_element(&jl_fhir_types[jl_fhir_resources[i]], name))
			return true;
	return false;
}

jl_rc jl_export_parse_elements(jl_arena_t *a, jl_str_t value, bool strict, jl_export_element_t **out, uint32_t *n,
			       jl_diag_t *d)
{
	jl_str_t *items;
	uint32_t k;
	int errors = d->nerrors;
	jl_sev sev = strict ? JL_SEV_ERROR : JL_SEV_WARNING;
	const char *skip = strict ? "" : "; it was ignored";
	if (jl_export_split_types(a, value, &items, &k) != JL_OK) {
		if (!items)
			return JL_ENOMEM;
		jl_diag_add(d, sev, "invalid", "_elements", "_elements takes element names separated by commas%s", skip);
		return strict ? JL_EINVAL : JL_OK;
	}
	if (*n + k > JL_EXPORT_MAX_ELEMENTS) {
		jl_diag_err(d, "too-costly", "_elements", "At most %d _elements entries per export", JL_EXPORT_MAX_ELEMENTS);
		return JL_ETOOBIG;
	}
	jl_export_element_t *v = jl_arena_alloc(a, (*n + k) * sizeof *v);
	if (!v)
		return JL_ENOMEM;
	if (*n)
		memcpy(v, *out, *n * sizeof *v);
	for (uint32_t i = 0; i < k; i++) {
		jl_str_t it = items[i];
		int shown = (int)(it.n > 100 ? 100 : it.n);
		const char *dot = jl_str_chr(it, '.');
		jl_export_element_t e = {.type = dot ? jl_str(it.p, (size_t)(dot - it.p)) : JL_STR_NULL,
					 .name = dot ? jl_str(dot + 1, it.n - (size_t)(dot - it.p) - 1) : it};
		const jl_fhir_type_t *t = e.type.n ? jl_fhir_resource(e.type) : NULL;
		if (e.type.n && !t)
			jl_diag_add(d, sev, "value", "_elements", "\"%.*s\": %.*s is not a FHIR R4 resource type%s", shown, it.p,
				    (int)(e.type.n > 64 ? 64 : e.type.n), e.type.p, skip);
		else if (!e.name.n || jl_str_chr(e.name, '.'))
			jl_diag_add(d, sev, "value", "_elements",
				    "\"%.*s\": only root elements can be chosen (Type.element or element)%s", shown, it.p, skip);
		else if (t ? !has_element(t, e.name) : !any_has_element(e.name))
			jl_diag_add(d, sev, "value", "_elements", "\"%.*s\" is not an element of %s%s", shown, it.p,
				    t ? t->name : "any resource type", skip);
		else
			v[(*n)++] = e;
	}
	*out = v;
	return d->nerrors != errors ? JL_EINVAL : JL_OK;
}

/* ---- which resources ---- */

/* The patients whose compartments are exported: every live Patient, or a Group's members. */
static jl_sq_query_t *patient_set(jl_arena_t *a, const jl_export_spec_t *spec)
{
	jl_sq_query_t *q = jl_arena_calloc(a, 1, sizeof *q);
	if (!q)
		return NULL;
	q->type = JL_STR("Patient");
	if (spec->level != JL_EXPORT_GROUP)
		return q;
	/* Patient?_has:Group:member:_id=<group> */
	jl_sq_query_t *g = jl_arena_calloc(a, 1, sizeof *g);
	jl_sq_term_t *t = jl_arena_calloc(a, 2, sizeof *t);
	jl_sq_cond_t *c = jl_arena_calloc(a, 2, sizeof *c);
	jl_str_t *id = jl_arena_alloc(a, sizeof *id);
	if (!g || !t || !c || !id)
		return NULL;
	*id = spec->group_id;
	t[0] = (jl_sq_term_t){.kind = JL_SQ_ID, .vs = id, .nvs = 1};
	c[0] = (jl_sq_cond_t){.terms = &t[0], .nterms = 1};
	*g = (jl_sq_query_t){.type = JL_STR("Group"), .conds = &c[0], .nconds = 1};
	t[1] = (jl_sq_term_t){.kind = JL_SQ_HAS, .k = jl_ix_key_param(JL_STR("Group"), JL_STR("member")), .sub = g};
	c[1] = (jl_sq_cond_t){.terms = &t[1], .nterms = 1};
	q->conds = &c[1];
	q->nconds = 1;
	return q;
}

/*
 * The compartment condition of one type: it refers to a patient of the set
 * by one of its compartment parameters. The Patient type itself is the set
 * (at Group level Patients linked to a member are not added: "link" would
 * make every member's other records a second hop away).
 */
static jl_rc compartment_conds(jl_arena_t *a, jl_str_t type, const jl_sq_query_t *set, const jl_sq_cond_t **conds,
			       uint32_t *nconds)
{
	const jl_compartment_rule_t *rule = jl_compartment_rule(JL_STR("Patient"), type);
	if (!rule)
		return JL_EINVAL;
	if (jl_str_eqc(type, "Patient")) {
		*conds = set->conds;
		*nconds = set->nconds;
		return JL_OK;
	}
	jl_sq_term_t *t = jl_arena_calloc(a, rule->nparams ? rule->nparams : 1, sizeof *t);
	jl_sq_cond_t *c = jl_arena_calloc(a, 1, sizeof *c);
	if (!t || !c)
		return JL_ENOMEM;
	uint32_t n = 0;
	for (uint8_t i = 0; i < rule->nparams; i++) {
		if (!strcmp(rule->params[i], "{def}"))
			continue;
		t[n++] = (jl_sq_term_t){.kind = JL_SQ_CHAIN, .k = jl_ix_key_param(type, jl_cstr(rule->params[i])),
					.sub = set};
	}
	*c = (jl_sq_cond_t){.terms = t, .nterms = n};
	*conds = c;
	*nconds = 1;
	return JL_OK;
}

static bool listed(const jl_str_t *v, uint32_t n, jl_str_t s)
{
	for (uint32_t i = 0; i < n; i++)
		if (jl_str_eq(v[i], s))
			return true;
	return false;
}

/*
 * The types an export walks, in manifest order: _type, then the types of
 * filters _type does not list. Without _type: none (every stored type)
 * when nothing is filtered at the system level; else every type of the
 * level, by name. *order says whether the list is the manifest's order.
 */
static jl_rc walk_types(jl_arena_t *a, const jl_export_spec_t *spec, jl_str_t **out, uint32_t *n, bool *order)
{
	const jl_compartment_t *comp = patient_compartment();
	uint32_t cap = spec->ntypes ? spec->ntypes + spec->nfilters
		       : spec->level == JL_EXPORT_SYSTEM ? (spec->nfilters ? jl_fhir_nresources : 0)
		       : comp ? comp->nrules : 0;
	*out = jl_arena_calloc(a, cap ? cap : 1, sizeof **out);
	*n = 0;
	*order = spec->ntypes > 0;
	if (!*out)
		return JL_ENOMEM;
	if (!cap)
		return spec->level == JL_EXPORT_SYSTEM ? JL_OK : JL_EINTERNAL;
	if (spec->ntypes) {
		for (uint32_t i = 0; i < spec->ntypes; i++)
			(*out)[(*n)++] = spec->types[i];
		for (uint32_t i = 0; i < spec->nfilters; i++)
			if (!listed(*out, *n, spec->filters[i].type))
				(*out)[(*n)++] = spec->filters[i].type;
	} else if (spec->level == JL_EXPORT_SYSTEM) {
		for (uint16_t i = 0; i < jl_fhir_nresources; i++)
			(*out)[(*n)++] = jl_cstr(jl_fhir_types[jl_fhir_resources[i]].name);
	} else {
		for (uint32_t i = 0; i < comp->nrules; i++)
			(*out)[(*n)++] = jl_cstr(comp->rules[i].resource);
	}
	return JL_OK;
}

/* Conditions a AND b, in arena memory. */
static jl_rc both(jl_arena_t *a, const jl_sq_cond_t *x, uint32_t nx, const jl_sq_cond_t *y, uint32_t ny,
		  jl_scan_type_t *t)
{
	if (!nx || !ny) {
		t->conds = nx ? x : y;
		t->nconds = nx ? nx : ny;
		return JL_OK;
	}
	jl_sq_cond_t *c = jl_arena_alloc(a, (nx + ny) * sizeof *c);
	if (!c)
		return JL_ENOMEM;
	memcpy(c, x, nx * sizeof *c);
	memcpy(c + nx, y, ny * sizeof *c);
	t->conds = c;
	t->nconds = nx + ny;
	return JL_OK;
}

/*
 * The scan's list of types with their conditions: each type's level
 * condition (none, or the compartment), and AND one of its filters — one
 * entry per filter, which the store ORs. *n = 0: every stored type.
 */
static jl_rc scan_types(jl_arena_t *a, const jl_export_spec_t *spec, const jl_str_t *walk, uint32_t nwalk,
			jl_scan_type_t **out, uint32_t *n)
{
	const jl_sq_query_t *set = spec->level == JL_EXPORT_SYSTEM ? NULL : patient_set(a, spec);
	*out = jl_arena_calloc(a, nwalk + spec->nfilters + 1, sizeof **out);
	*n = 0;
	if (!*out || (spec->level != JL_EXPORT_SYSTEM && !set))
		return JL_ENOMEM;
	for (uint32_t i = 0; i < nwalk; i++) {
		const jl_sq_cond_t *lc = NULL;
		uint32_t nlc = 0;
		jl_rc rc = set ? compartment_conds(a, walk[i], set, &lc, &nlc) : JL_OK;
		if (rc)
			return rc;
		bool filtered = false;
		for (uint32_t f = 0; f < spec->nfilters; f++) {
			if (!jl_str_eq(spec->filters[f].type, walk[i]))
				continue;
			filtered = true;
			jl_scan_type_t *t = &(*out)[(*n)++];
			t->type = walk[i];
			if ((rc = both(a, lc, nlc, spec->filters[f].conds, spec->filters[f].nconds, t)) != JL_OK)
				return rc;
		}
		if (!filtered)
			(*out)[(*n)++] = (jl_scan_type_t){.type = walk[i], .conds = lc, .nconds = nlc};
	}
	return JL_OK;
}

/* Live resources of the types (all when n = 0): the progress denominator. */
static int64_t estimate(jl_store_t *s, jl_arena_t *a, const jl_scan_type_t *t, uint32_t n)
{
	jl_type_count_t *tc;
	size_t k;
	int64_t sum = 0;
	if (jl_store_counts(s, a, &tc, &k) != JL_OK)
		return -1;
	for (size_t i = 0; i < k; i++) {
		bool in = !n;
		for (uint32_t j = 0; j < n && !in; j++)
			in = jl_str_eqc(t[j].type, tc[i].type);
		if (in)
			sum += tc[i].live;
	}
	return sum;
}

/* ---- files ---- */

static jl_rc io_fail(run_t *r, const char *what, const char *name)
{
	jl_diag_err(r->d, "exception", NULL, "export: cannot %s %s/%s: %s", what, r->spec->dir, name, strerror(errno));
	return JL_EIO;
}

static jl_rc write_all(run_t *r, series_t *s, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(s->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return io_fail(r, "write", s->name);
		p += k;
		n -= (size_t)k;
	}
	return JL_OK;
}

static jl_rc add_file(run_t *r, series_t *s)
{
	jl_export_file_t **v = s->err ? &r->out->errors : &r->out->files;
	size_t *n = s->err ? &r->out->nerrors : &r->out->nfiles;
	size_t *cap = s->err ? &r->errors_cap : &r->files_cap;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		jl_export_file_t *nv = jl_arena_alloc(r->a, ncap * sizeof *nv);
		if (!nv)
			return JL_ENOMEM;
		if (*n)
			memcpy(nv, *v, *n * sizeof *nv);
		*v = nv;
		*cap = ncap;
	}
	s->ix = *n;
	(*v)[(*n)++] = (jl_export_file_t){.type = s->type, .name = s->name, .count = s->count, .bytes = s->bytes};
	return JL_OK;
}

static jl_rc file_open(run_t *r, series_t *s)
{
	s->seq++;
	s->name = jl_arena_printf(r->a, "%s-%u.ndjson", s->type, s->seq);
	char *path = s->name ? jl_arena_printf(r->a, "%s/%s", r->spec->dir, s->name) : NULL;
	s->count = s->bytes = 0;
	s->written = s->dropped = 0;
	/* Listed before it exists, so a caller cleaning up after a failure finds it. */
	jl_rc rc = path ? add_file(r, s) : JL_ENOMEM;
	if (rc)
		return rc;
	s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return s->fd < 0 ? io_fail(r, "create", s->name) : JL_OK;
}

/*
 * Output is written once and not read back here: every DROP_EVERY bytes the
 * previous stretch is pushed to the disk and dropped from the page cache,
 * so gigabytes of NDJSON do not evict the database pages the scan reads.
 */
static void drop_written(series_t *s)
{
	if (s->written - s->dropped < 2 * DROP_EVERY)
		return;
	off_t from = (off_t)s->dropped, len = (off_t)DROP_EVERY;
	(void)sync_file_range(s->fd, from + len, (off_t)(s->written - s->dropped) - len, SYNC_FILE_RANGE_WRITE);
	(void)sync_file_range(s->fd, from, len,
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(s->fd, from, len, POSIX_FADV_DONTNEED);
	s->dropped += DROP_EVERY;
}

/* Writes the first n buffered bytes to the current file and keeps the rest buffered. */
static jl_rc flush(run_t *r, series_t *s, size_t n)
{
	if (!n)
		return JL_OK;
	jl_rc rc = write_all(r, s, s->buf.p, n);
	if (rc)
		return rc;
	s->written += n;
	drop_written(s);
	memmove(s->buf.p, s->buf.p + n, s->buf.n - n);
	s->buf.n -= n;
	return JL_OK;
}

/* Closes the current file (its bytes already written) and records its final size. */
static jl_rc file_end(run_t *r, series_t *s)
{
	jl_rc rc = JL_OK;
	if (r->spec->sync && fsync(s->fd) != 0)
		rc = io_fail(r, "sync", s->name);
	if (close(s->fd) != 0 && !rc)
		rc = io_fail(r, "close", s->name);
	s->fd = -1;
	jl_export_file_t *f = &(s->err ? r->out->errors : r->out->files)[s->ix];
	f->count = s->count;
	f->bytes = s->bytes;
	return rc;
}

static jl_rc file_close(run_t *r, series_t *s)
{
	if (s->fd < 0)
		return JL_OK;
	jl_rc rc = flush(r, s, s->buf.n);
	jl_rc erc = file_end(r, s);
	return rc ? rc : erc;
}

/* The _elements entries that apply to a type: those of the type and the bare ones. */
static jl_rc choose_elements(run_t *r, series_t *s, jl_str_t type)
{
	const jl_export_spec_t *spec = r->spec;
	bool typed = false;
	for (uint32_t i = 0; i < spec->nelements; i++)
		typed |= jl_str_eq(spec->elements[i].type, type) || !spec->elements[i].type.n;
	if (!typed)
		return JL_OK; /* no entry for this type: whole resources */
	jl_str_t *k = jl_arena_alloc(r->a, spec->nelements * sizeof *k);
	if (!k)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < spec->nelements; i++)
		if (!spec->elements[i].type.n || jl_str_eq(spec->elements[i].type, type))
			k[s->nkeep++] = spec->elements[i].name;
	s->keep = k;
	s->ftype = jl_fhir_resource(type);
	return JL_OK;
}

/* The series of a type, opened (with its first file) on the type's first row. */
static jl_rc series_of(run_t *r, jl_str_t type, bool err, series_t **out)
{
	jl_rc rc;
	if (r->last && jl_str_eqc(type, r->last->type) && r->last->err == err) {
		*out = r->last;
		return JL_OK;
	}
	for (uint32_t i = 0; i < r->nseries; i++)
		if (r->series[i]->err == err && jl_str_eqc(type, r->series[i]->type)) {
			*out = r->last = r->series[i];
			return JL_OK;
		}
	if (r->nseries == r->series_cap) {
		uint32_t cap = r->series_cap ? r->series_cap * 2 : 32;
		series_t **v = jl_arena_alloc(r->a, cap * sizeof *v);
		if (!v)
			return JL_ENOMEM;
		if (r->nseries)
			memcpy(v, r->series, r->nseries * sizeof *v);
		r->series = v;
		r->series_cap = cap;
	}
	series_t *s = jl_arena_calloc(r->a, 1, sizeof *s);
	if (!s || !(s->type = jl_arena_strndup(r->a, type.p, type.n)))
		return JL_ENOMEM;
	s->fd = -1;
	s->err = err;
	jl_buf_init(&s->buf, JL_MEM_MISC, BUF_MAX);
	if (!err && (rc = choose_elements(r, s, type)) != JL_OK)
		return rc;
	r->series[r->nseries++] = s;
	*out = r->last = s;
	r->prog.type = jl_cstr(s->type);
	return file_open(r, s);
}

/*
 * A line was appended to the buffer at `start`: moves to the next file of
 * the series first if the line would take the current one past the limit,
 * and writes the buffer out once it holds enough.
 */
static jl_rc series_added(run_t *r, series_t *s, size_t start)
{
	jl_rc rc;
	size_t line = s->buf.n - start;
	if (s->count && (uint64_t)s->bytes + line > r->max_bytes) {
		/* What precedes the line ends the current file; the line starts the next. */
		if ((rc = flush(r, s, start)) != JL_OK || (rc = file_end(r, s)) != JL_OK || (rc = file_open(r, s)) != JL_OK)
			return rc;
	}
	s->count++;
	s->bytes += (int64_t)line;
	return s->buf.n >= FLUSH_AT ? flush(r, s, s->buf.n) : JL_OK;
}

/* ---- the scan's callbacks ---- */

static void report(run_t *r)
{
	if (r->spec->progress)
		r->spec->progress(r->spec->progress_arg, &r->prog);
}

static jl_rc on_begin(void *arg, int64_t snapshot_us)
{
	run_t *r = arg;
	r->out->snapshot_us = snapshot_us;
	return JL_OK;
}

/* One OperationOutcome line in the error series. */
static jl_rc outcome_line(run_t *r, const char *severity, const char *code, const char *msg)
{
	series_t *s;
	jl_rc rc = series_of(r, jl_cstr(OUTCOME_TYPE), true, &s);
	if (rc)
		return rc;
	size_t start = s->buf.n;
	jl_jw_t w;
	jl_jw_init(&w, &s->buf, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, OUTCOME_TYPE);
	jl_jw_keyc(&w, "issue");
	jl_jw_arr_begin(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "severity");
	jl_jw_strc(&w, severity);
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, code);
	jl_jw_keyc(&w, "diagnostics");
	jl_jw_strc(&w, msg);
	jl_jw_obj_end(&w);
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_buf_putc(&s->buf, '\n');
	if ((rc = jl_buf_status(&s->buf)) != JL_OK)
		return rc;
	return series_added(r, s, start);
}

/* A resource left out: one error line. */
static jl_rc problem(run_t *r, const jl_version_t *v)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%.*s/%.*s version %lld is not in this export: its stored body could not be read",
		 JL_STR_FMT(v->type), JL_STR_FMT(v->id), (long long)v->ver);
	r->out->problems++;
	return outcome_line(r, "error", "exception", msg);
}

/* ---- _elements: a resource cut down ---- */

/* Whether member key of a resource of type t stays: always resourceType, id, meta; mandatory or chosen elements. */
static bool keep_member(const series_t *s, jl_str_t key)
{
	if (jl_str_eqc(key, "resourceType") || jl_str_eqc(key, "id") || jl_str_eqc(key, "meta"))
		return true;
	/* "_birthDate" (a primitive's id and extensions) goes with "birthDate" */
	jl_str_t name = key.n > 1 && key.p[0] == '_' ? jl_str(key.p + 1, key.n - 1) : key;
	const jl_fhir_prop_t *p = s->ftype ? jl_fhir_prop(s->ftype, name) : NULL;
	const jl_fhir_elem_t *e = p ? jl_fhir_prop_elem(s->ftype, p) : NULL;
	if (e && e->min > 0)
		return true;
	for (uint32_t i = 0; i < s->nkeep; i++) {
		jl_str_t k = s->keep[i];
		if (jl_str_eq(k, name) ||
		    (e && e->flags & JL_EF_CHOICE && k.n + 3 == strlen(e->name) && !memcmp(e->name, k.p, k.n)))
			return true;
	}
	return false;
}

static void subsetted_tag(jl_jw_t *w)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "system");
	jl_jw_strc(w, SUBSETTED_SYSTEM);
	jl_jw_keyc(w, "code");
	jl_jw_strc(w, "SUBSETTED");
	jl_jw_obj_end(w);
}

/* meta with the SUBSETTED tag added to its tags (R4: a subset must not be taken for the whole resource). */
static void write_meta(jl_jw_t *w, const jl_json_t *meta)
{
	bool tagged = false;
	jl_jw_obj_begin(w);
	for (uint32_t k = 0; meta->type == JL_JSON_OBJECT && k < meta->n; k++) {
		const jl_json_member_t *m = &meta->u.o[k];
		jl_jw_key(w, m->key);
		if (!jl_str_eqc(m->key, "tag") || m->v.type != JL_JSON_ARRAY) {
			jl_jw_value(w, &m->v);
			continue;
		}
		jl_jw_arr_begin(w);
		for (uint32_t j = 0; j < m->v.n; j++)
			jl_jw_value(w, &m->v.u.a[j]);
		subsetted_tag(w);
		jl_jw_arr_end(w);
		tagged = true;
	}
	if (!tagged) {
		jl_jw_keyc(w, "tag");
		jl_jw_arr_begin(w);
		subsetted_tag(w);
		jl_jw_arr_end(w);
	}
	jl_jw_obj_end(w);
}

/* Appends the subset of the assembled resource json to s's buffer. JL_EIO: not a JSON object. */
static jl_rc write_subset(run_t *r, series_t *s, jl_str_t json)
{
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 512};
	jl_arena_reset(r->tmp);
	if (jl_json_parse(r->tmp, json.p, json.n, &o, &res, &e) != JL_OK || res->type != JL_JSON_OBJECT)
		return JL_EIO;
	jl_jw_t w;
	jl_jw_init(&w, &s->buf, 0);
	jl_jw_obj_begin(&w);
	for (uint32_t i = 0; i < res->n; i++) {
		const jl_json_member_t *m = &res->u.o[i];
		if (!keep_member(s, m->key))
			continue;
		jl_jw_key(&w, m->key);
		if (jl_str_eqc(m->key, "meta"))
			write_meta(&w, &m->v);
		else
			jl_jw_value(&w, &m->v);
	}
	jl_jw_obj_end(&w);
	return JL_OK;
}

/* Assembles version v as one line of s: whole, or cut down to the chosen elements. */
static jl_rc assemble(run_t *r, series_t *s, const jl_version_t *v)
{
	if (!s->nkeep)
		return jl_fhir_body_assemble(&s->buf, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	jl_buf_clear(&r->scratch);
	jl_rc rc = jl_fhir_body_assemble(&r->scratch, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	if (!rc)
		rc = jl_buf_status(&r->scratch);
	return rc ? rc : write_subset(r, s, jl_buf_str(&r->scratch));
}

static jl_rc on_version(void *arg, const jl_version_t *v, jl_rc body_rc)
{
	run_t *r = arg;
	series_t *s;
	jl_rc rc;
	if (r->spec->cancel && (r->prog.done % CANCEL_EVERY) == 0 && atomic_load(r->spec->cancel))
		return JL_EBUSY;
	if ((rc = series_of(r, v->type, false, &s)) != JL_OK)
		return rc;
	if (body_rc)
		return problem(r, v);
	size_t start = s->buf.n;
	rc = assemble(r, s, v);
	if (rc == JL_EIO) {
		s->buf.n = start; /* a damaged body (its meta length): leave it out, say so */
		return problem(r, v);
	}
	jl_buf_putc(&s->buf, '\n');
	if (rc || (rc = jl_buf_status(&s->buf)) != JL_OK)
		return rc;
	if ((rc = series_added(r, s, start)) != JL_OK)
		return rc;
	r->out->resources++;
	if (++r->prog.done % PROGRESS_EVERY == 0) {
		r->prog.type = jl_cstr(s->type);
		report(r);
	}
	return JL_OK;
}

/* ---- the run ---- */

static jl_rc check_group(jl_store_t *s, jl_arena_t *a, jl_str_t id, jl_diag_t *d)
{
	jl_version_t g;
	jl_rc rc = jl_store_read(s, a, JL_STR("Group"), id, 0, &g);
	int shown = (int)(id.n > 64 ? 64 : id.n);
	if (rc == JL_ENOTFOUND)
		jl_diag_err(d, "not-found", NULL, "Group/%.*s is not known", shown, id.p);
	else if (!rc && g.deleted)
		jl_diag_err(d, "deleted", NULL, "Group/%.*s was deleted", shown, id.p), rc = JL_EGONE;
	else if (rc)
		jl_diag_err(d, "exception", NULL, "Group/%.*s could not be read (%s)", shown, id.p, jl_rc_name(rc));
	return rc;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Position of a file's type in the output: the walk's order (_type, then filtered types), else by name. */
static int file_order(const run_t *r, const jl_export_file_t *x, const jl_export_file_t *y)
{
	if (!r->order)
		return strcmp(x->type, y->type);
	int64_t rx = -1, ry = -1;
	for (uint32_t i = 0; i < r->norder; i++) {
		if (jl_str_eqc(r->order[i], x->type))
			rx = i;
		if (jl_str_eqc(r->order[i], y->type))
			ry = i;
	}
	return (rx > ry) - (rx < ry);
}

/* Files are listed as they were opened, the types interleaved: group them by type (stable, so by number). */
static void sort_files(const run_t *r, jl_export_file_t *f, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		jl_export_file_t t = f[i];
		size_t j = i;
		for (; j > 0 && file_order(r, &f[j - 1], &t) > 0; j--)
			f[j] = f[j - 1];
		f[j] = t;
	}
}

/* Writes out and closes every open file; the first failure is returned. */
static jl_rc close_all(run_t *r)
{
	jl_rc rc = JL_OK;
	for (uint32_t i = 0; i < r->nseries; i++) {
		jl_rc k = file_close(r, r->series[i]);
		if (!rc)
			rc = k;
	}
	return rc;
}

static void dispose_all(run_t *r)
{
	for (uint32_t i = 0; i < r->nseries; i++) {
		if (r->series[i]->fd >= 0)
			close(r->series[i]->fd);
		jl_buf_dispose(&r->series[i]->buf);
	}
}

jl_rc jl_export_run(jl_store_t *s, jl_arena_t *a, const jl_export_spec_t *spec, jl_export_result_t *out,
		    jl_diag_t *d)
{
	memset(out, 0, sizeof *out);
	run_t r = {.spec = spec, .a = a, .d = d, .out = out,
		   .max_bytes = spec->max_file_bytes ? spec->max_file_bytes : FILE_MAX_DEFAULT};
	jl_buf_init(&r.scratch, JL_MEM_MISC, BUF_MAX);
	jl_scan_type_t *types;
	jl_str_t *walk;
	uint32_t ntypes, nwalk;
	bool ordered;
	jl_rc rc = JL_OK;
	if (!spec->dir || spec->level < JL_EXPORT_SYSTEM || spec->level > JL_EXPORT_GROUP ||
	    (spec->level == JL_EXPORT_GROUP && !spec->group_id.n)) {
		rc = JL_EINVAL;
		jl_diag_err(d, "exception", NULL, "export: incomplete request");
		goto out;
	}
	if (spec->level == JL_EXPORT_GROUP && (rc = check_group(s, a, spec->group_id, d)) != JL_OK)
		goto out;
	if ((rc = walk_types(a, spec, &walk, &nwalk, &ordered)) != JL_OK ||
	    (rc = scan_types(a, spec, walk, nwalk, &types, &ntypes)) != JL_OK ||
	    (spec->nelements && !(r.tmp = jl_arena_new(0, 0)) && (rc = JL_ENOMEM))) {
		jl_diag_err(d, "exception", NULL, "export: cannot prepare the query (%s)", jl_rc_name(rc));
		goto out;
	}
	r.order = ordered ? walk : NULL;
	r.norder = nwalk;
	r.prog.estimate = estimate(s, a, types, ntypes);
	report(&r);
	for (uint32_t i = 0; i < spec->nnotes && !rc; i++)
		rc = outcome_line(&r, "warning", "processing", spec->notes[i]);
	jl_scan_query_t q = {.types = types, .ntypes = ntypes, .since_us = spec->since_us, .begin = on_begin};
	if (!rc)
		rc = jl_store_scan(s, &q, on_version, &r);
	jl_rc crc = close_all(&r);
	if (!rc)
		rc = crc;
	if (rc == JL_EBUSY && spec->cancel && atomic_load(spec->cancel))
		jl_diag_err(d, "processing", NULL, "export: cancelled");
	else if (rc && !d->nerrors)
		jl_diag_err(d, "exception", NULL, "export: reading the store failed (%s)", jl_rc_name(rc));
	if (!rc && spec->sync)
		sync_dir(spec->dir);
	sort_files(&r, out->files, out->nfiles);
	report(&r);
out:
	dispose_all(&r);
	jl_buf_dispose(&r.scratch);
	jl_arena_free(r.tmp);
	return rc;
}

/* ---- the manifest ---- */

static void manifest_files(jl_jw_t *w, const jl_export_file_t *f, size_t n, jl_str_t prefix, jl_buf_t *url)
{
	jl_jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		jl_buf_clear(url);
		jl_buf_append(url, prefix.p, prefix.n);
		jl_buf_puts(url, f[i].name);
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "type");
		jl_jw_strc(w, f[i].type);
		jl_jw_keyc(w, "url");
		jl_jw_str(w, jl_buf_str(url));
		jl_jw_keyc(w, "count");
		jl_jw_int(w, f[i].count);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

jl_rc jl_export_manifest(jl_buf_t *b, const jl_export_result_t *r, jl_str_t request, jl_str_t url_prefix)
{
	char ts[32];
	/* An empty store has no instant of its own: the time of the export stands for it. */
	jl_time_fmt_instant(r->snapshot_us ? r->snapshot_us : jl_now_us(), ts);
	jl_buf_t url;
	jl_buf_init(&url, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, b, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "transactionTime");
	jl_jw_strc(&w, ts);
	jl_jw_keyc(&w, "request");
	jl_jw_str(&w, request);
	jl_jw_keyc(&w, "requiresAccessToken");
	jl_jw_bool(&w, false);
	jl_jw_keyc(&w, "output");
	manifest_files(&w, r->files, r->nfiles, url_prefix, &url);
	jl_jw_keyc(&w, "error");
	manifest_files(&w, r->errors, r->nerrors, url_prefix, &url);
	jl_jw_obj_end(&w);
	jl_rc rc = jl_buf_status(&url);
	jl_buf_dispose(&url);
	return rc ? rc : jl_buf_status(b);
}
