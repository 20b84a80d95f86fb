/*
 * search — the search interactions over HTTP: GET/POST at type, system and
 * compartment level, and Patient/$everything. Parses the parameters
 * (search/query.c), runs the query on the store (one snapshot, kept as a
 * cursor for later pages), adds _include/_revinclude resources, applies
 * _summary/_elements, and answers a searchset Bundle with self/next/
 * previous/first links. Under lenient handling (the default) parameters
 * that could not be honoured are reported in an OperationOutcome entry and
 * left out of the self link; under `Prefer: handling=strict` they are a 400.
 */
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/rand.h"
#include "base/time.h"
#include "fhir/resource.h"
#include "rest/api.h"
#include "rest/outcome.h"

#define INCLUDE_ROUNDS 4 /* :iterate stops after this many rounds */

typedef struct rset {
	jl_version_t *v;     /* resources of the page: matches first, then includes */
	uint8_t *mode;       /* 'm' match, 'i' include */
	size_t n, cap;
	uint32_t *slot;      /* open addressing over "type/id": index + 1, 0 empty; 2 * cap slots */
} rset_t;

static uint64_t rset_hash(jl_str_t type, jl_str_t id)
{
	return jl_hash_bytes(jl_hash_bytes(JL_HASH_SEED, type.p, type.n), id.p, id.n);
}

/*
 * Where type/id is in the set, or the empty slot it would take. A page holds
 * up to a few thousand resources ($everything, includes): a linear search
 * for each addition made a 200-entry page cost 20,000 comparisons.
 */
static uint32_t *rset_find(const rset_t *s, jl_str_t type, jl_str_t id)
{
	size_t mask = 2 * s->cap - 1;
	for (size_t i = rset_hash(type, id) & mask;; i = (i + 1) & mask) {
		uint32_t k = s->slot[i];
		if (!k || (jl_str_eq(s->v[k - 1].type, type) && jl_str_eq(s->v[k - 1].id, id)))
			return &s->slot[i];
	}
}

static bool rset_has(const rset_t *s, jl_str_t type, jl_str_t id)
{
	return s->cap && *rset_find(s, type, id);
}

static bool rset_add(jl_arena_t *a, rset_t *s, const jl_version_t *v, uint8_t mode)
{
	if (rset_has(s, v->type, v->id))
		return true; /* already there */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		jl_version_t *nv = jl_arena_alloc(a, cap * sizeof *nv);
		uint8_t *nm = jl_arena_alloc(a, cap);
		uint32_t *ns = cap <= UINT32_MAX / 2 ? jl_arena_calloc(a, 2 * cap, sizeof *ns) : NULL;
		if (!nv || !nm || !ns)
			return false;
		if (s->n) {
			memcpy(nv, s->v, s->n * sizeof *nv);
			memcpy(nm, s->mode, s->n);
		}
		s->v = nv;
		s->mode = nm;
		s->slot = ns;
		s->cap = cap;
		for (size_t i = 0; i < s->n; i++)
			*rset_find(s, s->v[i].type, s->v[i].id) = (uint32_t)i + 1;
	}
	s->v[s->n] = *v;
	s->mode[s->n] = mode;
	s->n++;
	*rset_find(s, v->type, v->id) = (uint32_t)s->n;
	return true;
}

/* The pairs of a query string (URL or form body), percent-decoded. */
static jl_rc pairs_of(jl_http_req_t *req, jl_search_pair_t **out, size_t *n)
{
	jl_arena_t *a = req->ctx->arena;
	size_t total = req->nquery;
	jl_http_req_t form = {0};
	bool has_form = false;
	if (req->method == JL_M_POST) {
		const char *ct = jl_http_header(req, "Content-Type");
		if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)
			return JL_EUNSUPPORTED;
		if (jl_http_parse_query(a, req->body, &form) != JL_OK)
			return JL_EINVAL;
		if (form.query_overflow)
			return JL_ETOOBIG;
		has_form = true;
		total += form.nquery;
	}
	jl_search_pair_t *p = jl_arena_alloc(a, (total ? total : 1) * sizeof *p);
	if (!p)
		return JL_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < req->nquery; i++) {
		p[k].k = req->query[i].k;
		p[k++].v = req->query[i].v;
	}
	for (size_t i = 0; has_form && i < form.nquery; i++) {
		p[k].k = form.query[i].k;
		p[k++].v = form.query[i].v;
	}
	*out = p;
	*n = k;
	return JL_OK;
}

static bool strict_handling(jl_http_req_t *req)
{
	const char *pref = jl_http_header(req, "Prefer");
	return pref && strstr(pref, "handling=strict");
}

/* ---- links ---- */

static void put_qvalue(jl_buf_t *b, jl_str_t s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '.' || ch == '_' || ch == '~' || ch == ':' || ch == '|' || ch == ',' || ch == '$')
			jl_buf_putc(b, (char)ch);
		else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			jl_buf_append(b, e, 3);
		}
	}
}

/* base + path + applied parameters [+ _page]. */
static void link_url(jl_buf_t *u, jl_http_req_t *req, jl_str_t path, const jl_search_req_t *sr, jl_str_t cursor,
		     int64_t page)
{
	jl_buf_append(u, req->base.p, req->base.n);
	jl_buf_append(u, path.p, path.n);
	char sep = '?';
	for (uint32_t i = 0; i < sr->napplied; i++) {
		jl_buf_putc(u, sep);
		sep = '&';
		put_qvalue(u, sr->applied[i].k);
		jl_buf_putc(u, '=');
		put_qvalue(u, sr->applied[i].v);
	}
	if (page >= 0 && cursor.n) {
		jl_buf_printf(u, "%c_page=%.*s.%lld", sep, JL_STR_FMT(cursor), (long long)page);
		sep = '&';
	}
}

static void link(jl_jw_t *w, jl_http_req_t *req, jl_str_t path, const jl_search_req_t *sr, const char *rel,
		 jl_str_t cursor, int64_t page)
{
	jl_buf_t u;
	jl_buf_init(&u, JL_MEM_HTTP, 0);
	link_url(&u, req, path, sr, cursor, page);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "relation");
	jl_jw_strc(w, rel);
	jl_jw_keyc(w, "url");
	jl_jw_str(w, jl_buf_str(&u));
	jl_jw_obj_end(w);
	jl_buf_dispose(&u);
}

/* ---- summary and elements ---- */

static bool keep_member(const jl_fhir_type_t *t, jl_str_t key, const jl_search_req_t *sr)
{
	if (jl_str_eqc(key, "resourceType") || jl_str_eqc(key, "id") || jl_str_eqc(key, "meta"))
		return true;
	jl_str_t name = key.n > 1 && key.p[0] == '_' ? jl_str(key.p + 1, key.n - 1) : key;
	const jl_fhir_prop_t *p = jl_fhir_prop(t, name);
	const jl_fhir_elem_t *e = p ? jl_fhir_prop_elem(t, p) : NULL;
	bool mandatory = e && e->min > 0;
	if (sr->nelements) {
		if (mandatory)
			return true;
		for (uint32_t i = 0; i < sr->nelements; i++) {
			jl_str_t el = sr->elements[i];
			/* "value" selects value[x]: compare with the element name, not the JSON name */
			if (jl_str_eq(el, name) ||
			    (e && el.n + 3 == strlen(e->name) && !memcmp(e->name, el.p, el.n) && e->flags & JL_EF_CHOICE))
				return true;
		}
		return false;
	}
	switch (sr->summary) {
	case JL_SUMMARY_TRUE: return e && (e->flags & JL_EF_SUMMARY);
	case JL_SUMMARY_TEXT: return jl_str_eqc(name, "text") || mandatory;
	case JL_SUMMARY_DATA: return !jl_str_eqc(name, "text");
	default: return true;
	}
}

/* Writes a resource, cut down per _summary/_elements and marked SUBSETTED when cut. */
static void write_resource(jl_jw_t *w, jl_http_req_t *req, const jl_version_t *v, const jl_search_req_t *sr,
			   jl_buf_t *scratch)
{
	jl_buf_clear(scratch);
	if (jl_fhir_body_assemble(scratch, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta) != JL_OK)
		return;
	if (!sr->nelements && (sr->summary == JL_SUMMARY_FALSE)) {
		jl_jw_raw(w, jl_buf_str(scratch));
		return;
	}
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 512};
	const jl_fhir_type_t *t = jl_fhir_resource(v->type);
	if (!t || jl_json_parse(req->ctx->arena, scratch->p, scratch->n, &o, &res, &e) != JL_OK) {
		jl_jw_raw(w, jl_buf_str(scratch));
		return;
	}
	jl_jw_obj_begin(w);
	for (uint32_t i = 0; i < res->n; i++) {
		const jl_json_member_t *m = &res->u.o[i];
		if (!keep_member(t, m->key, sr))
			continue;
		jl_jw_key(w, m->key);
		if (!jl_str_eqc(m->key, "meta")) {
			jl_jw_value(w, &m->v);
			continue;
		}
		/* meta gains the SUBSETTED tag (R4 search: summary and elements) */
		jl_jw_obj_begin(w);
		bool tagged = false;
		for (uint32_t k = 0; k < m->v.n; k++) {
			jl_jw_key(w, m->v.u.o[k].key);
			if (jl_str_eqc(m->v.u.o[k].key, "tag") && m->v.u.o[k].v.type == JL_JSON_ARRAY) {
				jl_jw_arr_begin(w);
				for (uint32_t j = 0; j < m->v.u.o[k].v.n; j++)
					jl_jw_value(w, &m->v.u.o[k].v.u.a[j]);
				tagged = true;
			} else {
				jl_jw_value(w, &m->v.u.o[k].v);
				continue;
			}
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "system");
			jl_jw_strc(w, "http://terminology.hl7.org/CodeSystem/v3-ObservationValue");
			jl_jw_keyc(w, "code");
			jl_jw_strc(w, "SUBSETTED");
			jl_jw_obj_end(w);
			jl_jw_arr_end(w);
		}
		if (!tagged) {
			jl_jw_keyc(w, "tag");
			jl_jw_arr_begin(w);
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "system");
			jl_jw_strc(w, "http://terminology.hl7.org/CodeSystem/v3-ObservationValue");
			jl_jw_keyc(w, "code");
			jl_jw_strc(w, "SUBSETTED");
			jl_jw_obj_end(w);
			jl_jw_arr_end(w);
		}
		jl_jw_obj_end(w);
	}
	jl_jw_obj_end(w);
}

/* ---- includes ---- */

/* Reference strings a resource holds in one parameter (its FHIRPath). */
static void refs_of(jl_api_t *api, jl_arena_t *a, const jl_version_t *v, const jl_searchparam_t *p, jl_str_t **out,
		    size_t *n)
{
	*out = NULL;
	*n = 0;
	const jl_fp_expr_t *e = jl_search_defs_expr(api->defs, p);
	const jl_fhir_type_t *t = jl_fhir_resource(v->type);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 0);
	jl_json_t *res;
	jl_json_err_t je;
	jl_json_opts_t o = {.max_depth = 512};
	jl_fp_coll_t c;
	if (!e || !t || jl_fhir_body_assemble(&b, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta) ||
	    jl_json_parse(a, b.p, b.n, &o, &res, &je) != JL_OK || jl_fp_eval(a, e, res, t, NULL, &c, NULL) != JL_OK) {
		jl_buf_dispose(&b);
		return;
	}
	/* the tree points into b: copy the reference strings before b goes */
	jl_str_t *r = jl_arena_alloc(a, (c.n ? c.n : 1) * sizeof *r);
	for (size_t i = 0; r && i < c.n; i++) {
		const jl_fp_item_t *it = &c.items[i];
		jl_str_t s = JL_STR_NULL;
		if (it->kind == JL_FP_NODE && it->node && it->node->type == JL_JSON_OBJECT)
			s = jl_json_str(jl_json_get(it->node, "reference"));
		else if (it->kind == JL_FP_NODE && it->node)
			s = jl_json_str(it->node);
		if (s.n)
			r[(*n)++] = jl_arena_str(a, s);
	}
	*out = r;
	jl_buf_dispose(&b);
}

/* "Type/id" (also "…/Type/id" absolute and "Type/id/_history/n") → type, id. */
static bool split_ref(jl_str_t ref, jl_str_t *type, jl_str_t *id)
{
	const char *hist = NULL;
	for (size_t i = 0; i + 10 <= ref.n; i++)
		if (!memcmp(ref.p + i, "/_history/", 10))
			hist = ref.p + i;
	if (hist)
		ref.n = (size_t)(hist - ref.p);
	size_t e = ref.n, s2 = e;
	while (s2 > 0 && ref.p[s2 - 1] != '/')
		s2--;
	if (s2 < 2)
		return false;
	size_t s1 = s2 - 1;
	while (s1 > 0 && ref.p[s1 - 1] != '/')
		s1--;
	*type = jl_str(ref.p + s1, s2 - 1 - s1);
	*id = jl_str(ref.p + s2, e - s2);
	return id->n && jl_fhir_resource(*type) != NULL;
}

typedef struct incl_ctx {
	jl_api_t *api;
	jl_http_req_t *req;
	rset_t *set;
	size_t from, to;       /* resources this round starts from */
	const jl_include_t *inc;
	size_t added, max;
} incl_ctx_t;

static void include_param(incl_ctx_t *ic, const jl_version_t *v, const jl_searchparam_t *p)
{
	jl_arena_t *a = ic->req->ctx->arena;
	jl_str_t *refs;
	size_t n;
	refs_of(ic->api, a, v, p, &refs, &n);
	for (size_t i = 0; i < n && ic->added < ic->max; i++) {
		jl_str_t type, id;
		if (!split_ref(refs[i], &type, &id))
			continue;
		if (ic->inc->target.n && !jl_str_eq(type, ic->inc->target))
			continue;
		/* Fifty Observations of one page name a dozen patients: read each once. */
		if (rset_has(ic->set, type, id))
			continue;
		jl_version_t got;
		if (jl_store_read(ic->api->store, a, type, id, 0, &got) == JL_OK && !got.deleted) {
			size_t before = ic->set->n;
			if (!rset_add(a, ic->set, &got, 'i'))
				return;
			ic->added += ic->set->n - before;
		}
	}
}

typedef struct each_ref {
	incl_ctx_t *ic;
	const jl_version_t *v;
} each_ref_t;

static void include_every_ref(const jl_searchparam_t *p, void *arg)
{
	each_ref_t *er = arg;
	if (p->type == JL_SP_REFERENCE && p->expression)
		include_param(er->ic, er->v, p);
}

static void forward_include(incl_ctx_t *ic)
{
	for (size_t i = ic->from; i < ic->to && ic->added < ic->max; i++) {
		const jl_version_t *v = &ic->set->v[i];
		if (!jl_str_eqc(ic->inc->source, "*") && !jl_str_eq(ic->inc->source, v->type))
			continue;
		if (ic->inc->param) {
			include_param(ic, v, ic->inc->param);
		} else {
			each_ref_t er = {ic, v};
			jl_search_each(ic->api->defs, v->type, include_every_ref, &er);
		}
	}
}

/* _revinclude=Source:param: the Source resources whose param refers to one of the set's resources. */
static void reverse_include(incl_ctx_t *ic)
{
	jl_arena_t *a = ic->req->ctx->arena;
	if (!ic->inc->param || ic->from >= ic->to)
		return; /* "*" for revinclude would mean every resource type: not supported */
	size_t n = ic->to - ic->from;
	int64_t *targets = jl_arena_alloc(a, n * sizeof *targets);
	jl_sq_term_t *t = jl_arena_calloc(a, 1, sizeof *t);
	jl_sq_cond_t *c = jl_arena_calloc(a, 1, sizeof *c);
	if (!targets || !t || !c)
		return;
	for (size_t i = 0; i < n; i++)
		targets[i] = jl_store_target2(ic->set->v[ic->from + i].type, ic->set->v[ic->from + i].id);
	t->kind = JL_SQ_REF;
	t->k = jl_ix_key_param(ic->inc->source, jl_cstr(ic->inc->param->code));
	t->targets = targets;
	t->ntargets = (uint32_t)n;
	c->terms = t;
	c->nterms = 1;
	jl_sq_query_t q = {.type = ic->inc->source, .conds = c, .nconds = 1,
			   .count = (uint32_t)(ic->max - ic->added), .no_cursor = true};
	jl_sq_page_t pg;
	if (!q.count || jl_store_search(ic->api->store, a, &q, &pg, NULL) != JL_OK)
		return;
	for (size_t i = 0; i < pg.n; i++) {
		size_t before = ic->set->n;
		if (!rset_add(a, ic->set, &pg.items[i], 'i'))
			return;
		ic->added += ic->set->n - before;
	}
}

static void includes(jl_api_t *api, jl_http_req_t *req, const jl_search_req_t *sr, rset_t *set)
{
	incl_ctx_t ic = {.api = api, .req = req, .set = set, .max = api->cfg.include_max};
	/* Round 0 starts from the matches; :iterate rounds from what the previous round added. */
	size_t from = 0, to = set->n;
	for (int round = 0; round < INCLUDE_ROUNDS && from < to; round++) {
		for (uint32_t i = 0; i < sr->nincludes; i++) {
			const jl_include_t *inc = &sr->includes[i];
			if (round > 0 && !inc->iterate)
				continue;
			ic.inc = inc;
			ic.from = from;
			ic.to = to;
			if (inc->rev)
				reverse_include(&ic);
			else
				forward_include(&ic);
		}
		from = to;
		to = set->n;
	}
}

/* ---- the bundle ---- */

static void outcome_entry(jl_jw_t *w, const jl_diag_t *d)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "resource");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "resourceType");
	jl_jw_strc(w, "OperationOutcome");
	jl_jw_keyc(w, "issue");
	jl_jw_arr_begin(w);
	for (size_t i = 0; i < d->n; i++) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "severity");
		jl_jw_strc(w, jl_sev_name(d->items[i].sev));
		jl_jw_keyc(w, "code");
		jl_jw_strc(w, d->items[i].code);
		jl_jw_keyc(w, "diagnostics");
		jl_jw_strc(w, d->items[i].diag);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	jl_jw_keyc(w, "search");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "mode");
	jl_jw_strc(w, "outcome");
	jl_jw_obj_end(w);
	jl_jw_obj_end(w);
}

static void bundle(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_str_t path,
		   const jl_search_req_t *sr, const jl_sq_page_t *pg, const rset_t *set, const jl_diag_t *warn)
{
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, "Bundle");
	jl_jw_keyc(&w, "id");
	char id[37];
	jl_uuid_v7(jl_now_us(), id);
	jl_jw_strc(&w, id);
	jl_jw_keyc(&w, "meta");
	jl_jw_obj_begin(&w);
	char ts[32];
	jl_time_fmt_instant(jl_now_us(), ts);
	jl_jw_keyc(&w, "lastUpdated");
	jl_jw_strc(&w, ts);
	jl_jw_obj_end(&w);
	jl_jw_keyc(&w, "type");
	jl_jw_strc(&w, "searchset");
	int64_t total = pg->total;
	if (total < 0 && sr->total != JL_TOTAL_NONE && !pg->more && pg->page == 0)
		total = (int64_t)pg->n; /* everything fit one page: the total is known for free */
	if (total < 0 && sr->total == JL_TOTAL_ESTIMATE && pg->estimate >= 0 && pg->estimate < 1000)
		total = pg->estimate;
	if (total >= 0) {
		jl_jw_keyc(&w, "total");
		jl_jw_int(&w, total);
	}
	jl_jw_keyc(&w, "link");
	jl_jw_arr_begin(&w);
	link(&w, req, path, sr, "self", pg->cursor, pg->cursor.n ? (int64_t)pg->page : -1);
	if (pg->cursor.n) {
		link(&w, req, path, sr, "first", pg->cursor, 0);
		if (pg->more)
			link(&w, req, path, sr, "next", pg->cursor, (int64_t)pg->page + 1);
		if (pg->page > 0)
			link(&w, req, path, sr, "previous", pg->cursor, (int64_t)pg->page - 1);
	}
	jl_jw_arr_end(&w);
	bool any = set->n || (warn && warn->n);
	if (any) {
		jl_jw_keyc(&w, "entry");
		jl_jw_arr_begin(&w);
		jl_buf_t scratch;
		jl_buf_init(&scratch, JL_MEM_HTTP, 0);
		for (size_t i = 0; i < set->n; i++) {
			const jl_version_t *v = &set->v[i];
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "fullUrl");
			jl_buf_clear(&scratch);
			jl_buf_printf(&scratch, "%.*s/%.*s/%.*s", JL_STR_FMT(req->base), JL_STR_FMT(v->type), JL_STR_FMT(v->id));
			jl_jw_str(&w, jl_buf_str(&scratch));
			jl_jw_keyc(&w, "resource");
			write_resource(&w, req, v, sr, &scratch);
			jl_jw_keyc(&w, "search");
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "mode");
			jl_jw_strc(&w, set->mode[i] == 'm' ? "match" : "include");
			jl_jw_obj_end(&w);
			jl_jw_obj_end(&w);
		}
		jl_buf_dispose(&scratch);
		if (warn && warn->n)
			outcome_entry(&w, warn);
		jl_jw_arr_end(&w);
	}
	jl_jw_obj_end(&w);
	if (jl_buf_status(&resp->body)) {
		jl__api_fail(req, resp, out, JL_ETOOBIG, NULL, "The page is too large; use a smaller _count");
		return;
	}
	resp->status = 200;
	jl__api_finish_json(req, resp, out);
	(void)api;
}

/* The plan (admin only), as an OperationOutcome. */
static void explain_answer(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, const jl_sq_page_t *pg)
{
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_diag_add(&d, JL_SEV_INFO, "informational", NULL, "%.*s", JL_STR_FMT(pg->plan));
	jl_rest_outcome(resp, 200, &d, out->pretty);
}

static bool is_admin(jl_api_t *api, jl_http_req_t *req)
{
	const char *tok = jl_http_header(req, "X-Admin-Token");
	return api->cfg.admin_token && tok && strcmp(tok, api->cfg.admin_token) == 0;
}

/* Adds the compartment condition: the resource refers to Compartment/id by one of the rule's parameters. */
static jl_rc compartment_cond(jl_arena_t *a, jl_sq_query_t *q, jl_str_t comp, jl_str_t id, jl_str_t type)
{
	const jl_compartment_rule_t *rule = jl_compartment_rule(comp, type);
	if (!rule)
		return JL_ENOTFOUND;
	jl_sq_term_t *t = jl_arena_calloc(a, rule->nparams + 1, sizeof *t);
	int64_t *target = jl_arena_alloc(a, sizeof *target);
	jl_sq_cond_t *c = jl_arena_alloc(a, (q->nconds + 1) * sizeof *c);
	if (!t || !target || !c)
		return JL_ENOMEM;
	*target = jl_store_target2(comp, id);
	uint32_t n = 0;
	for (uint8_t i = 0; i < rule->nparams; i++) {
		if (!strcmp(rule->params[i], "{def}")) {
			t[n].kind = JL_SQ_ID;
			t[n].vs = jl_arena_alloc(a, sizeof(jl_str_t));
			if (!t[n].vs)
				return JL_ENOMEM;
			*(jl_str_t *)t[n].vs = id;
			t[n].nvs = 1;
			n++;
			continue;
		}
		t[n].kind = JL_SQ_REF;
		t[n].k = jl_ix_key_param(type, jl_cstr(rule->params[i]));
		t[n].targets = target;
		t[n].ntargets = 1;
		n++;
	}
	if (q->nconds)
		memcpy(c, q->conds, q->nconds * sizeof *c);
	c[q->nconds].terms = t;
	c[q->nconds].nterms = n;
	c[q->nconds].negate = false;
	q->conds = c;
	q->nconds++;
	return JL_OK;
}

static void run(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_str_t path,
		jl_search_req_t *sr, const jl_diag_t *warn, const jl_version_t *first)
{
	jl_arena_t *a = req->ctx->arena;
	jl_sq_page_t pg;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_rc rc;
	if (sr->explain && !is_admin(api, req)) {
		jl__api_fail(req, resp, out, JL_EFORBIDDEN, NULL,
			     "_debug=plan is for administrators: send the server's administrator token as X-Admin-Token");
		return;
	}
	if (sr->cursor.n)
		rc = jl_store_search_page(api->store, a, sr->cursor, sr->page, &pg);
	else
		rc = jl_store_search(api->store, a, &sr->q, &pg, &d);
	if (rc == JL_EGONECURSOR) {
		jl__api_fail(req, resp, out, rc, "_page",
			     "This page link has expired (search snapshots are kept for a few minutes after their last use); "
			     "repeat the search");
		return;
	}
	if (rc) {
		if (d.n)
			jl_rest_outcome(resp, jl_rest_status(rc), &d, out->pretty);
		else
			jl__api_fail(req, resp, out, rc, NULL, "The search failed (%s)", jl_rc_name(rc));
		return;
	}
	if (sr->explain) {
		explain_answer(req, resp, out, &pg);
		return;
	}
	rset_t set = {0};
	if (first && pg.page == 0 && !rset_add(a, &set, first, 'm')) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	for (size_t i = 0; i < pg.n; i++)
		if (!rset_add(a, &set, &pg.items[i], 'm')) {
			jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
			return;
		}
	if (sr->nincludes && sr->summary != JL_SUMMARY_COUNT)
		includes(api, req, sr, &set);
	bundle(api, req, resp, out, path, sr, &pg, &set, warn);
}

static jl_search_cfg_t search_cfg(const jl_api_t *api, const jl_http_req_t *req)
{
	jl_search_cfg_t c = {.defs = api->defs, .base = req->base, .page_default = api->cfg.page_default,
			     .page_max = api->cfg.page_max};
	return c;
}

void jl__api_search(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
		    const jl_target_t *t, jl_str_t ctype)
{
	jl_arena_t *a = req->ctx->arena;
	jl_search_pair_t *pairs;
	size_t n;
	jl_rc rc = pairs_of(req, &pairs, &n);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL,
			     rc == JL_EUNSUPPORTED ? "POST _search takes an application/x-www-form-urlencoded body"
						   : "The search parameters could not be read");
		return;
	}
	/* compartment search: /Patient/123/Observation searches Observation within the compartment */
	jl_str_t type = ctype.n ? ctype : t->type_name;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_search_req_t sr;
	jl_search_cfg_t cfg = search_cfg(api, req);
	rc = jl_search_parse(a, type, pairs, n, strict_handling(req), &cfg, &sr, &d);
	if (rc) {
		if (d.n)
			jl_rest_outcome(resp, jl_rest_status(rc), &d, out->pretty);
		else
			jl__api_fail(req, resp, out, rc, NULL, "The search could not be parsed");
		return;
	}
	if (ctype.n) {
		rc = compartment_cond(a, &sr.q, t->type_name, t->id, ctype);
		if (rc == JL_ENOTFOUND) {
			jl__api_fail(req, resp, out, JL_EINVAL, NULL, "%.*s is not in the %.*s compartment",
				     JL_STR_FMT(ctype), JL_STR_FMT(t->type_name));
			return;
		}
		if (rc) {
			jl__api_fail(req, resp, out, rc, NULL, "Out of memory");
			return;
		}
	}
	/* links point at the GET form of the search */
	jl_str_t path = jl_str(req->path.p + 5, req->path.n - 5);
	if (jl_str_starts(jl_str(path.p + (path.n >= 8 ? path.n - 8 : 0), path.n >= 8 ? 8 : 0), "/_search"))
		path.n -= 8;
	run(api, req, resp, out, path, &sr, &d, NULL);
}

/* Patient/{id}/$everything: the patient, then every resource in its compartment (paged). */
void jl__api_everything(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_target_t *t)
{
	jl_arena_t *a = req->ctx->arena;
	jl_version_t patient;
	jl_rc rc = jl_store_read(api->store, a, t->type_name, t->id, 0, &patient);
	if (rc == JL_ENOTFOUND || (!rc && patient.deleted)) {
		jl__api_fail(req, resp, out, rc ? rc : JL_EGONE, NULL, "%.*s/%.*s is not known", JL_STR_FMT(t->type_name),
			     JL_STR_FMT(t->id));
		return;
	}
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL, "The patient could not be read (%s)", jl_rc_name(rc));
		return;
	}
	jl_search_pair_t *pairs;
	size_t n;
	rc = pairs_of(req, &pairs, &n);
	if (rc) {
		jl__api_fail(req, resp, out, rc, NULL, "The parameters could not be read");
		return;
	}
	/* $everything takes _since, _type, _count and paging; no search parameters. */
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_search_req_t sr;
	jl_search_cfg_t cfg = search_cfg(api, req);
	jl_search_pair_t *keep = jl_arena_alloc(a, (n ? n : 1) * sizeof *keep);
	size_t nk = 0;
	jl_str_t since = JL_STR_NULL;
	for (size_t i = 0; keep && i < n; i++) {
		if (jl_str_eqc(pairs[i].k, "_since"))
			since = pairs[i].v;
		else if (jl_str_eqc(pairs[i].k, "_type") || jl_str_eqc(pairs[i].k, "_count") ||
			 jl_str_eqc(pairs[i].k, "_page") || jl__api_format_param(pairs[i].k))
			keep[nk++] = pairs[i];
		else
			jl_diag_add(&d, JL_SEV_WARNING, "not-supported", NULL, "$everything ignores '%.*s'",
				    JL_STR_FMT(pairs[i].k));
	}
	if (!keep || jl_search_parse(a, JL_STR_NULL, keep, nk, strict_handling(req), &cfg, &sr, &d) != JL_OK) {
		jl_rest_outcome(resp, 400, &d, out->pretty);
		return;
	}
	/* One system-level condition: a reference to the patient through any compartment parameter of any type. */
	const jl_compartment_t *comp = NULL;
	for (uint8_t i = 0; i < jl_ncompartments; i++)
		if (jl_str_eqc(t->type_name, jl_compartments[i].code))
			comp = &jl_compartments[i];
	uint32_t nterms = 0;
	for (uint16_t i = 0; comp && i < comp->nrules; i++)
		nterms += comp->rules[i].nparams;
	jl_sq_term_t *terms = jl_arena_calloc(a, nterms + 1, sizeof *terms);
	int64_t *target = jl_arena_alloc(a, sizeof *target);
	jl_sq_cond_t *conds = jl_arena_alloc(a, (sr.q.nconds + 2) * sizeof *conds);
	if (!comp || !terms || !target || !conds) {
		jl__api_fail(req, resp, out, comp ? JL_ENOMEM : JL_EINVAL, NULL, "$everything is not defined for %.*s",
			     JL_STR_FMT(t->type_name));
		return;
	}
	*target = jl_store_target2(t->type_name, t->id);
	uint32_t k = 0;
	for (uint16_t i = 0; i < comp->nrules; i++)
		for (uint8_t j = 0; j < comp->rules[i].nparams; j++) {
			if (!strcmp(comp->rules[i].params[j], "{def}"))
				continue;
			terms[k].kind = JL_SQ_REF;
			terms[k].k = jl_ix_key_param(jl_cstr(comp->rules[i].resource), jl_cstr(comp->rules[i].params[j]));
			terms[k].targets = target;
			terms[k].ntargets = 1;
			k++;
		}
	if (sr.q.nconds)
		memcpy(conds, sr.q.conds, sr.q.nconds * sizeof *conds);
	conds[sr.q.nconds] = (jl_sq_cond_t){.terms = terms, .nterms = k};
	sr.q.nconds++;
	if (since.n) {
		jl_sq_term_t *u = jl_arena_calloc(a, 1, sizeof *u);
		jl_datetime_t dt;
		if (!u || !jl_datetime_parse(since, false, &dt)) {
			jl__api_fail(req, resp, out, JL_EINVAL, "_since", "_since must be an instant");
			return;
		}
		u->kind = JL_SQ_UPDATED;
		u->op = JL_SQ_GE;
		jl_datetime_range(&dt, &u->ia, &u->ib);
		conds[sr.q.nconds++] = (jl_sq_cond_t){.terms = u, .nterms = 1};
		jl_search_pair_t *ap = jl_arena_alloc(a, (sr.napplied + 1) * sizeof *ap);
		if (ap) {
			if (sr.napplied)
				memcpy(ap, sr.applied, sr.napplied * sizeof *ap);
			ap[sr.napplied++] = (jl_search_pair_t){JL_STR("_since"), since};
			sr.applied = ap;
		}
	}
	sr.q.conds = conds;
	/* The patient itself leads the first page, if _since and _type let it through. */
	bool with_patient = true;
	for (uint32_t i = 0; i < sr.q.nconds; i++) {
		const jl_sq_term_t *u = sr.q.conds[i].terms;
		if (u->kind == JL_SQ_UPDATED && patient.updated_us < u->ia)
			with_patient = false;
		if (u->kind == JL_SQ_TYPE) {
			bool listed = false;
			for (uint32_t j = 0; j < u->nvs; j++)
				listed |= jl_str_eq(u->vs[j], t->type_name);
			with_patient &= listed;
		}
	}
	jl_str_t path = jl_str(req->path.p + 5, req->path.n - 5);
	run(api, req, resp, out, path, &sr, &d, with_patient ? &patient : NULL);
}
