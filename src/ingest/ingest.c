/*
 * ingest — batched, validated writes on two threads. Two batch slots, each
 * with its own arena (bodies, ids, index rows) and write array: the caller
 * fills one while the store commits the other (jl_store_write_async), and a
 * slot is handed over only after the previous one has committed, so
 * batches commit in order and nothing follows a failed batch.
 *
 * A resource's index rows must be extracted against the version the store
 * holds when the batch commits (the rows it replaces). A (type, id) already
 * in the slot being filled, or in the batch in flight, therefore waits for
 * those to commit before it is prepared; each slot keeps a small hash set of
 * its keys for that test.
 */
#include "ingest/ingest.h"

#include <pthread.h>
#include <stdio.h>

#include "base/arena.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/rand.h"
#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

#define MAX_MARKS 16  /* settings one batch may carry */
#define STALE_TRIES 5 /* a batch refused as stale is prepared again at most this often */

typedef struct slot {
	struct jl_ingest *g;
	jl_arena_t *arena;   /* bodies, ids, index rows and marks of this batch */
	jl_write_t *w;       /* batch resources, then up to MAX_MARKS settings */
	uint64_t *set;       /* hashes of the queued (type, id); 0 marks an empty cell */
	uint32_t setmask;
	uint32_t n, nm;
	uint32_t found;      /* resources whose stored version was read and existed */
	bool optimistic;     /* some writes were prepared without reading the stored version */
	bool busy;           /* handed to the store; its completion not yet collected */
	bool done;           /* under mu: the store has called back */
	jl_rc rc;            /* under mu: the store's result */
} slot_t;

struct jl_ingest {
	jl_ingest_cfg_t cfg;
	slot_t slot[2];
	int cur;                  /* the slot being filled */
	jl_arena_t *scratch;      /* one resource's parse tree and extraction, reset per resource */
	jl_arena_t *retry;        /* re-extraction after JL_ESTALE, reset per resource */
	jl_buf_t body;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	jl_rc failed;             /* sticky: the ingest has stopped */
	bool in_on_batch;
	bool read_first;          /* a recent batch was stale: read stored versions until one finds none */
	jl_ingest_stats_t st;
};

/* ---- the key set of a slot ---- */

static uint64_t res_key(jl_str_t type, jl_str_t id)
{
	uint64_t k = jl_hash4(type, id, JL_STR_NULL, JL_STR_NULL);
	return k ? k : 1;
}

static bool set_has(const slot_t *s, uint64_t k)
{
	for (uint32_t i = (uint32_t)k & s->setmask;; i = (i + 1) & s->setmask) {
		if (!s->set[i])
			return false;
		if (s->set[i] == k)
			return true;
	}
}

static void set_add(slot_t *s, uint64_t k)
{
	uint32_t i = (uint32_t)k & s->setmask;
	while (s->set[i] && s->set[i] != k)
		i = (i + 1) & s->setmask;
	s->set[i] = k;
}

static void slot_reset(slot_t *s)
{
	jl_arena_reset(s->arena);
	if (s->n)
		memset(s->set, 0, ((size_t)s->setmask + 1) * sizeof *s->set);
	s->n = s->nm = s->found = 0;
	s->optimistic = false;
}

/* ---- life cycle ---- */

jl_rc jl_ingest_new(const jl_ingest_cfg_t *cfg, jl_ingest_t **out)
{
	*out = NULL;
	if (!cfg->store)
		return JL_EINVAL;
	jl_ingest_t *g = jl_calloc(JL_MEM_STORE, 1, sizeof *g);
	if (!g)
		return JL_ENOMEM;
	g->cfg = *cfg;
	if (!g->cfg.batch)
		g->cfg.batch = 1000;
	if (!g->cfg.max_depth)
		g->cfg.max_depth = 128;
	if (g->cfg.batch > (1u << 24))
		g->cfg.batch = 1u << 24;
	uint32_t setcap = 64;
	while (setcap < 2 * g->cfg.batch)
		setcap *= 2;
	bool ok = pthread_mutex_init(&g->mu, NULL) == 0;
	if (ok && pthread_cond_init(&g->cv, NULL) != 0) {
		pthread_mutex_destroy(&g->mu);
		ok = false;
	}
	if (!ok) {
		jl_free(JL_MEM_STORE, g);
		return JL_ENOMEM;
	}
	g->scratch = jl_arena_new(1 << 16, 0);
	g->retry = jl_arena_new(1 << 16, 0);
	jl_buf_init(&g->body, JL_MEM_STORE, 0);
	ok = g->scratch && g->retry;
	for (int i = 0; i < 2; i++) {
		slot_t *s = &g->slot[i];
		s->g = g;
		s->arena = jl_arena_new(1 << 20, 0);
		s->w = jl_calloc(JL_MEM_STORE, (size_t)g->cfg.batch + MAX_MARKS, sizeof *s->w);
		s->set = jl_calloc(JL_MEM_STORE, setcap, sizeof *s->set);
		s->setmask = setcap - 1;
		ok = ok && s->arena && s->w && s->set;
	}
	*out = g;
	if (!ok) {
		jl_ingest_free(g);
		*out = NULL;
		return JL_ENOMEM;
	}
	return JL_OK;
}

const jl_ingest_stats_t *jl_ingest_stats(const jl_ingest_t *g)
{
	return &g->st;
}

/* ---- batches ---- */

/*
 * Extraction allocates freely (FHIRPath collections, folded text); only the
 * rows themselves stay with the batch, copied compactly, so a batch costs
 * about its bodies plus its rows.
 */
static jl_rc keep_rows(jl_arena_t *a, const jl_ix_rows_t **rows)
{
	const jl_ix_rows_t *src = *rows;
	if (!src)
		return JL_OK;
	jl_ix_rows_t *r = jl_arena_alloc(a, sizeof *r);
	if (!r)
		return JL_ENOMEM;
	*r = *src;
	r->cap = r->n;
	r->rows = NULL;
	if (src->n) {
		r->rows = jl_arena_alloc(a, src->n * sizeof *r->rows);
		if (!r->rows)
			return JL_ENOMEM;
		memcpy(r->rows, src->rows, src->n * sizeof *r->rows);
	}
	for (uint32_t i = 0; i < r->n; i++)
		if (r->rows[i].v.n) {
			r->rows[i].v = jl_arena_str(a, r->rows[i].v);
			if (!r->rows[i].v.p)
				return JL_ENOMEM;
		}
	*rows = r;
	return JL_OK;
}

/* Runs on the store's writer thread: record the result and wake the caller. */
static void on_done(void *arg, jl_rc rc)
{
	slot_t *s = arg;
	pthread_mutex_lock(&s->g->mu);
	s->rc = rc;
	s->done = true;
	pthread_cond_broadcast(&s->g->cv);
	pthread_mutex_unlock(&s->g->mu);
}

/*
 * Another writer (or an earlier line of the same input, when the batch was
 * prepared without reads) changed a resource since its rows were taken:
 * read every resource's stored version again and write the batch again.
 */
static jl_rc rewrite_stale(jl_ingest_t *g, slot_t *s)
{
	jl_rc rc = JL_ESTALE;
	g->read_first = true;
	for (int tries = 0; rc == JL_ESTALE && tries < STALE_TRIES; tries++) {
		g->st.retried++;
		rc = JL_OK;
		for (uint32_t i = 0; i < s->n && !rc; i++) {
			if (!s->w[i].index)
				continue;
			rc = jl_index_refresh_old(g->cfg.defs, g->cfg.store, g->retry, &s->w[i]);
			if (!rc)
				rc = keep_rows(s->arena, &s->w[i].ix_old);
			jl_arena_reset(g->retry);
		}
		if (!rc)
			rc = jl_store_write(g->cfg.store, s->w, s->n + s->nm, 0);
	}
	return rc;
}

/* Waits for a slot handed to the store and settles its outcome; the slot is empty afterwards. */
static jl_rc finish(jl_ingest_t *g, slot_t *s)
{
	if (!s->busy)
		return JL_OK;
	pthread_mutex_lock(&g->mu);
	while (!s->done)
		pthread_cond_wait(&g->cv, &g->mu);
	jl_rc rc = s->rc;
	pthread_mutex_unlock(&g->mu);
	s->busy = false;
	if (rc == JL_ESTALE && g->cfg.defs)
		rc = rewrite_stale(g, s);
	if (rc) {
		g->st.failed += s->n;
		if (!g->failed)
			g->failed = rc;
	} else {
		g->st.written += s->n;
		g->st.batches++;
		/* Reads that found nothing: the input is new again, stop reading first. */
		if (!s->optimistic && !s->found)
			g->read_first = false;
	}
	slot_reset(s);
	return rc;
}

/*
 * Hands the slot being filled to the store (after the one in flight has
 * committed) and switches slots. Batches before the last are acknowledged
 * when they commit, their fsync following on the store's syncer: the
 * writer then has the next batch while the previous one reaches the disk
 * (waiting for each fsync left it idle a fifth of a large load). A crash
 * can only lose a suffix of batches, with the position marks that commit
 * with them (import resumes there); the last batch is acknowledged once
 * durable, and so are, by its fsync, all before it.
 */
static jl_rc submit_batch(jl_ingest_t *g, bool last)
{
	slot_t *c = &g->slot[g->cur], *o = &g->slot[g->cur ^ 1];
	jl_rc rc = finish(g, o);
	if (rc)
		return rc;
	if (g->failed)
		return g->failed;
	if (g->cfg.on_batch) {
		g->in_on_batch = true;
		rc = g->cfg.on_batch(g->cfg.arg, g, c->n);
		g->in_on_batch = false;
		if (rc) {
			g->failed = rc;
			return rc;
		}
	}
	if (!c->n && !c->nm)
		return JL_OK;
	for (size_t i = 0; i < c->n + c->nm; i++)
		c->w[i].durable_later = !last;
	c->busy = true;
	c->done = false;
	rc = jl_store_write_async(g->cfg.store, c->w, c->n + c->nm, 0, on_done, c);
	if (rc) {
		/* Nothing was queued: the batch failed as a whole. */
		c->busy = false;
		g->st.failed += c->n;
		g->failed = rc;
		slot_reset(c);
		return rc;
	}
	g->cur ^= 1;
	return JL_OK;
}

static jl_rc submit(jl_ingest_t *g)
{
	return submit_batch(g, false);
}

jl_rc jl_ingest_mark(jl_ingest_t *g, jl_str_t key, jl_str_t value)
{
	slot_t *c = &g->slot[g->cur];
	if (!g->in_on_batch || !key.n || key.n > 64)
		return JL_EINVAL;
	if (c->nm == MAX_MARKS)
		return JL_ETOOBIG;
	jl_write_t *w = &c->w[c->n + c->nm];
	memset(w, 0, sizeof *w);
	w->kind = JL_WRITE_META;
	w->id = jl_arena_str(c->arena, key);
	w->body = value.n ? jl_arena_str(c->arena, value) : JL_STR_NULL;
	if (!w->id.p || (value.n && !w->body.p))
		return JL_ENOMEM;
	c->nm++;
	return JL_OK;
}

jl_rc jl_ingest_cut(jl_ingest_t *g)
{
	return g->failed ? g->failed : submit(g);
}

jl_rc jl_ingest_flush(jl_ingest_t *g)
{
	jl_rc rc = g->failed ? g->failed : submit_batch(g, true);
	for (int i = 0; i < 2; i++) {
		jl_rc r2 = finish(g, &g->slot[i]);
		if (!rc)
			rc = r2;
	}
	return rc ? rc : g->failed;
}

void jl_ingest_free(jl_ingest_t *g)
{
	if (!g)
		return;
	for (int i = 0; i < 2; i++) {
		slot_t *s = &g->slot[i];
		if (s->busy)
			(void)finish(g, s);
		jl_arena_free(s->arena);
		jl_free(JL_MEM_STORE, s->w);
		jl_free(JL_MEM_STORE, s->set);
	}
	jl_arena_free(g->scratch);
	jl_arena_free(g->retry);
	jl_buf_dispose(&g->body);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	jl_free(JL_MEM_STORE, g);
}

/* ---- one resource ---- */

static jl_rc reject(jl_ingest_t *g, jl_rc rc)
{
	g->st.rejected++;
	jl_arena_reset(g->scratch);
	return rc;
}

/*
 * Makes sure the stored version of key is the one its batch will see: a
 * resource queued in the slot being filled or in flight waits for it to
 * commit. Returns whether it did (the resource must then be read first).
 */
static jl_rc settle_repeat(jl_ingest_t *g, uint64_t key, bool *repeat)
{
	jl_rc rc = JL_OK;
	slot_t *c = &g->slot[g->cur], *o = &g->slot[g->cur ^ 1];
	*repeat = false;
	if (c->n && set_has(c, key)) {
		*repeat = true;
		rc = submit(g);
		if (!rc)
			rc = finish(g, &g->slot[g->cur ^ 1]);
	} else if (o->busy && set_has(o, key)) {
		*repeat = true;
		rc = finish(g, o);
	}
	return rc;
}

/* Index rows of the new version; the replaced version's rows are read back unless assumed absent. */
static jl_rc index_write(jl_ingest_t *g, slot_t *c, jl_write_t *w, const jl_json_t *res,
			 const jl_fhir_type_t *type, bool must_read)
{
	if (!g->cfg.defs)
		return JL_OK;
	jl_rc rc;
	/* A bulk load's rows: staged and merged in key order in a store opened for it (store.h). */
	w->stage = true;
	if (must_read || !g->cfg.assume_new || g->read_first) {
		rc = jl_index_prepare_write(g->cfg.defs, g->cfg.store, g->scratch, w, res);
		if (!rc && w->ix_old_ver)
			c->found++;
		if (!rc)
			rc = keep_rows(c->arena, &w->ix);
		if (!rc)
			rc = keep_rows(c->arena, &w->ix_old);
		return rc;
	}
	jl_ix_rows_t rows;
	rc = jl_index_extract(g->cfg.defs, g->scratch, res, type, &rows, NULL);
	if (rc)
		return rc;
	const jl_ix_rows_t *kept = &rows;
	rc = keep_rows(c->arena, &kept);
	if (rc)
		return rc;
	w->index = true;
	w->ix = kept;
	w->ix_old = NULL;
	w->ix_old_ver = 0;
	c->optimistic = true;
	return JL_OK;
}

jl_rc jl_ingest_add(jl_ingest_t *g, jl_str_t json, jl_diag_t *d)
{
	if (g->failed)
		return g->failed;
	/*
	 * A full batch goes at the next add, so on_batch never sees the resource being added.
	 * Full is a count of resources or, with batch_bytes, the memory it holds: a Patient
	 * carries three times the index rows of an Encounter, so bytes keep memory bounded.
	 */
	const slot_t *cur = &g->slot[g->cur];
	if (cur->n >= g->cfg.batch || (g->cfg.batch_bytes && cur->n && jl_arena_used(cur->arena) >= g->cfg.batch_bytes)) {
		jl_rc src = submit(g);
		if (src)
			return src;
	}
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = g->cfg.max_depth};
	jl_rc rc = jl_json_parse(g->scratch, json.p, json.n, &o, &res, &e);
	if (rc) {
		jl_diag_err(d, "structure", NULL, "Not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return reject(g, rc == JL_ENOMEM ? JL_ENOMEM : JL_EINVAL);
	}
	const jl_fhir_type_t *type = res->type == JL_JSON_OBJECT ? jl_fhir_resource(jl_json_str(jl_json_get(res, "resourceType"))) : NULL;
	if (!type) {
		jl_diag_err(d, "structure", "resourceType", "Not a FHIR R4 resource (missing or unknown resourceType)");
		return reject(g, JL_EINVAL);
	}
	if (jl_fhir_validate(res, type, d) != JL_OK)
		return reject(g, JL_EINVALID);
	jl_str_t id = jl_json_str(jl_json_get(res, "id"));
	char uuid[37];
	if (!id.n) {
		if (!g->cfg.assign_ids) {
			jl_diag_err(d, "required", "id", "The resource has no id");
			return reject(g, JL_EINVALID);
		}
		jl_uuid_v7(jl_now_us(), uuid);
		id = jl_str(uuid, 36);
	}
	jl_buf_clear(&g->body);
	uint32_t meta_len = 0;
	rc = jl_fhir_body_encode(res, &g->body, &meta_len);
	if (rc)
		return reject(g, rc);
	uint64_t key = res_key(jl_cstr(type->name), id);
	bool repeat;
	rc = settle_repeat(g, key, &repeat);
	if (rc) {
		jl_arena_reset(g->scratch);
		return rc; /* a store failure, not this resource's fault */
	}
	slot_t *c = &g->slot[g->cur];
	jl_write_t *w = &c->w[c->n];
	memset(w, 0, sizeof *w);
	w->kind = JL_WRITE_UPDATE;
	w->create_ok = true;
	w->type = jl_cstr(type->name); /* static table string */
	w->id = jl_arena_str(c->arena, id);
	w->body = jl_arena_str(c->arena, jl_buf_str(&g->body));
	w->body_meta = meta_len;
	if (!w->id.p || (!w->body.p && g->body.n))
		return reject(g, JL_ENOMEM);
	rc = index_write(g, c, w, res, type, repeat);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "The resource could not be indexed (%s)", jl_rc_name(rc));
		return reject(g, rc);
	}
	jl_arena_reset(g->scratch);
	set_add(c, key);
	c->n++;
	g->st.added++;
	g->st.bytes += (int64_t)json.n;
	return JL_OK;
}
