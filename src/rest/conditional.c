/*
 * conditional — what the conditional interactions (R4 http.html: create
 * with If-None-Exist, update and delete by criteria, conditional references
 * in Bundles) share: running a condition as a search, and serialising the
 * requests that act on the same condition.
 *
 * Why the stripes: two conditional creates with the same criteria arriving
 * together would both find nothing and both create — the duplicate
 * Organization that every Synthea load would otherwise produce. A request
 * that acts on a condition holds its stripe (one of 64, by hash of type and
 * criteria) from before its search until its write has committed, so the
 * second request's search sees the first one's resource. Different criteria
 * that match the same resource are not serialised (docs/api.md says so).
 * Stripes are released on the writer thread when the write completes, never
 * by a continuation that needs a server thread: a server thread blocked on
 * a stripe can then never wait for itself.
 */
#include <errno.h>
#include <time.h>

#include "base/hash.h"
#include "base/time.h"
#include "rest/api.h"

#define STRIPES 64

uint64_t jl__api_cond_stripe(jl_str_t type, jl_str_t criteria)
{
	jl_str_t parts[2] = {type, criteria};
	uint64_t h = jl_hash_strs(parts, 2);
	return (uint64_t)1 << (h % STRIPES);
}

static struct timespec abs_deadline(int64_t deadline_ns)
{
	/* The request deadline is monotonic; condition variables here use CLOCK_MONOTONIC. */
	struct timespec ts = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
	return ts;
}

jl_rc jl__api_cond_lock(jl_api_t *api, jl_http_req_t *req, uint64_t mask)
{
	if (!mask || req->txn)
		return JL_OK; /* a transaction took the stripes of all its entries before it began */
	if (req->cond_locks)
		return JL_EINTERNAL; /* taking stripes in two steps could deadlock */
	jl_cond_locks_t *l = &api->conds;
	int64_t deadline = req->ctx->deadline_ns;
	jl_rc rc = JL_OK;
	pthread_mutex_lock(&l->mu);
	while (l->busy & mask) {
		if (!deadline) {
			pthread_cond_wait(&l->cv, &l->mu);
			continue;
		}
		struct timespec ts = abs_deadline(deadline);
		if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT && (l->busy & mask)) {
			rc = JL_ETIMEOUT;
			break;
		}
	}
	if (!rc) {
		l->busy |= mask;
		req->cond_locks = mask;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void jl__api_cond_unlock(jl_api_t *api, jl_http_req_t *req)
{
	if (!req->cond_locks)
		return;
	jl_cond_locks_t *l = &api->conds;
	pthread_mutex_lock(&l->mu);
	l->busy &= ~req->cond_locks;
	req->cond_locks = 0;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

bool jl__api_criteria(jl_str_t text, jl_str_t expect_type, jl_str_t *criteria)
{
	*criteria = JL_STR_NULL;
	text = jl_str_trim(text);
	const char *q = jl_str_chr(text, '?');
	/* "a=Type?b=c" is criteria whose value is a conditional reference, not "Type?criteria" */
	for (const char *c = text.p; q && c < q; c++)
		if (*c == '=' || *c == '&')
			q = NULL;
	if (q) {
		jl_str_t type = jl_str(text.p, (size_t)(q - text.p));
		/* "[base]/Type?…" is accepted too: compare the last segment. */
		const char *slash = NULL;
		for (size_t i = 0; i < type.n; i++)
			if (type.p[i] == '/')
				slash = type.p + i;
		if (slash)
			type = jl_str(slash + 1, (size_t)(type.p + type.n - slash - 1));
		if (type.n && expect_type.n && !jl_str_eq(type, expect_type))
			return false;
		text = jl_str(q + 1, (size_t)(text.p + text.n - q - 1));
	}
	*criteria = text;
	return text.n > 0;
}

/*
 * A reference parameter whose value is itself a condition — Synthea's
 * "practitioner=Practitioner?identifier=s|v" — is the chain
 * "practitioner:Practitioner.identifier=s|v", which search understands.
 */
static void chain_conditional(jl_arena_t *a, jl_search_pair_t *p)
{
	const char *q = jl_str_chr(p->v, '?');
	if (!q || q == p->v.p)
		return;
	jl_str_t type = jl_str(p->v.p, (size_t)(q - p->v.p));
	jl_str_t rest = jl_str(q + 1, (size_t)(p->v.p + p->v.n - q - 1));
	const char *eq = jl_str_chr(rest, '=');
	if (!jl_fhir_resource(type) || !eq || jl_str_chr(rest, '&') || jl_str_chr(p->k, ':') || jl_str_chr(p->k, '.'))
		return;
	jl_str_t param = jl_str(rest.p, (size_t)(eq - rest.p));
	char *k = jl_arena_printf(a, "%.*s:%.*s.%.*s", JL_STR_FMT(p->k), JL_STR_FMT(type), JL_STR_FMT(param));
	if (!k)
		return;
	p->k = jl_cstr(k);
	p->v = jl_str(eq + 1, (size_t)(rest.p + rest.n - eq - 1));
}

jl_rc jl__api_match(jl_api_t *api, jl_http_req_t *req, jl_str_t type, jl_str_t criteria, uint32_t max,
		    jl_sq_page_t *out, jl_diag_t *d)
{
	jl_arena_t *a = req->ctx->arena;
	jl_http_req_t q = {0};
	if (jl_http_parse_query(a, criteria, &q) != JL_OK) {
		jl_diag_add(d, JL_SEV_ERROR, "invalid", NULL, "The condition \"%.*s\" has a malformed %%-escape",
			    (int)(criteria.n > 200 ? 200 : criteria.n), criteria.p);
		return JL_EINVAL;
	}
	if (q.query_overflow) {
		jl_diag_add(d, JL_SEV_ERROR, "too-costly", NULL, "The condition has more than %d parameters",
			    JL_HTTP_MAX_QUERY);
		return JL_ETOOBIG;
	}
	if (!q.nquery) {
		jl_diag_add(d, JL_SEV_ERROR, "invalid", NULL,
			    "A conditional interaction needs search criteria (none were given)");
		return JL_EINVAL;
	}
	jl_search_pair_t *pairs = jl_arena_alloc(a, q.nquery * sizeof *pairs);
	if (!pairs)
		return JL_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < q.nquery; i++) {
		/* output-format parameters of the request URL are not criteria */
		if (jl__api_format_param(q.query[i].k))
			continue;
		pairs[n].k = q.query[i].k;
		pairs[n].v = q.query[i].v;
		chain_conditional(a, &pairs[n++]);
	}
	if (!n) {
		jl_diag_add(d, JL_SEV_ERROR, "invalid", NULL,
			    "A conditional interaction needs search criteria (none were given)");
		return JL_EINVAL;
	}
	jl_search_cfg_t cfg = {.defs = api->defs, .base = req->base, .page_default = api->cfg.page_default,
			       .page_max = api->cfg.page_max};
	jl_search_req_t sr;
	jl_rc rc = jl_search_parse(a, type, pairs, n, true, &cfg, &sr, d);
	if (rc)
		return rc;
	sr.q.count = max + 1;
	sr.q.sorts = NULL;
	sr.q.nsorts = 0;
	sr.q.total = false;
	sr.q.explain = false;
	sr.q.no_cursor = true;
	return jl_store_search(api->store, a, &sr.q, out, d);
}
