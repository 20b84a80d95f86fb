/*
 * cache — prefecture slots, each with its hierarchy and its current
 * snapshot; a snapshot holds the facts and up to JL_MCACHE_YEARS cubes,
 * each with the JSON rendered per node on demand. One mutex guards the
 * bookkeeping (slots, reference counts, "building" flags); the scans, the
 * cube computations and the JSON rendering run outside it, so a request
 * that hits the cache never waits behind a build of another prefecture or
 * year.
 */
#include "monitor/cache.h"

#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/time.h"
#include "monitor/project.h"

typedef struct year {
	int32_t year;        /* 0: empty slot */
	jl_cube_t *cube;     /* NULL while building */
	bool building;
	int refs;            /* views */
	int64_t last_use;
	jl_str_t *json;      /* per node, rendered on demand; NULL until the first */
} year_t;

typedef struct snap {
	int refs;            /* views, + 1 while it is its prefecture's current snapshot */
	int64_t commits, versions; /* the key: store counters read before the scan */
	jl_facts_t facts;
	year_t years[JL_MCACHE_YEARS];
} snap_t;

typedef struct pref {
	uint32_t code;       /* 0: empty slot */
	jl_arena_t *arena;   /* the hierarchy */
	jl_regions_t reg;
	snap_t *cur;
	bool building;       /* a thread is scanning the store for it */
	int users;           /* views holding its hierarchy */
	int64_t last_use;
} pref_t;

struct jl_mcache {
	jl_store_t *store;
	jl_arena_t *arena;   /* the catalogue */
	jl_catalog_t cat;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* a build finished */
	pref_t prefs[JL_MCACHE_PREFS];
	int64_t tick;
	jl_mcache_counters_t k;
	/*
	 * The facts projection (monitor/project) every slot finishes its facts
	 * from; build_mu serialises its refreshes and reads. proj_commits and
	 * proj_versions: the store counters it was last refreshed at.
	 */
	pthread_mutex_t build_mu;
	jl_proj_t *proj;
	int64_t proj_commits, proj_versions;
};

jl_rc jl_mcache_new(jl_store_t *s, const jl_mcache_cfg_t *cfg, jl_mcache_t **out, jl_diag_t *d)
{
	*out = NULL;
	jl_mcache_t *c = jl_calloc(JL_MEM_MISC, 1, sizeof *c);
	if (!c)
		return JL_ENOMEM;
	c->store = s;
	c->arena = jl_arena_new(0, 0);
	if (!c->arena) {
		jl_free(JL_MEM_MISC, c);
		return JL_ENOMEM;
	}
	jl_rc rc = jl_catalog_load(c->arena, cfg ? cfg->catalog : JL_STR_NULL, &c->cat, d);
	if (!rc && cfg && cfg->targets.n)
		rc = jl_catalog_add_targets(c->arena, &c->cat, cfg->targets, d);
	if (rc) {
		jl_arena_free(c->arena);
		jl_free(JL_MEM_MISC, c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->build_mu, NULL);
	c->proj_commits = c->proj_versions = -1;
	*out = c;
	return JL_OK;
}

static void year_clear(const jl_regions_t *reg, year_t *y)
{
	if (y->json) {
		for (uint32_t i = 0; i < reg->n; i++)
			jl_free(JL_MEM_MISC, (void *)y->json[i].p);
		jl_free(JL_MEM_MISC, y->json);
	}
	jl_engine_free(y->cube);
	memset(y, 0, sizeof *y);
}

static void snap_unref(const jl_regions_t *reg, snap_t *s)
{
	if (!s || --s->refs > 0)
		return;
	for (int i = 0; i < JL_MCACHE_YEARS; i++)
		year_clear(reg, &s->years[i]);
	jl_facts_dispose(&s->facts);
	jl_free(JL_MEM_MISC, s);
}

static void pref_clear(pref_t *p)
{
	snap_unref(&p->reg, p->cur);
	jl_arena_free(p->arena);
	memset(p, 0, sizeof *p);
}

void jl_mcache_free(jl_mcache_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < JL_MCACHE_PREFS; i++)
		if (c->prefs[i].code)
			pref_clear(&c->prefs[i]);
	if (c->proj) { /* what was applied since the last write of the file need not be read again */
		jl_arena_t *a = jl_arena_new(0, 0);
		if (a) {
			jl_diag_t d;
			jl_diag_init(&d, a);
			jl_rc rc = jl_proj_save(c->proj, &d);
			(void)rc; /* a failed write only means the next start reads those versions again */
			jl_arena_free(a);
		}
		jl_proj_free(c->proj);
	}
	pthread_mutex_destroy(&c->build_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	jl_arena_free(c->arena);
	jl_free(JL_MEM_MISC, c);
}

const jl_catalog_t *jl_mcache_catalog(const jl_mcache_t *c)
{
	return &c->cat;
}

void jl_mcache_counters(jl_mcache_t *c, jl_mcache_counters_t *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->k;
	pthread_mutex_unlock(&c->mu);
}

/*
 * The slot of prefecture `code` (mutex held), loading its hierarchy into a
 * free slot or in place of the least recently used idle one. The hierarchy
 * is loaded before anything is dropped, so an unknown code evicts nothing.
 */
static jl_rc pref_locked(jl_mcache_t *c, uint32_t code, pref_t **out, jl_diag_t *d)
{
	pref_t *empty = NULL, *lru = NULL;
	for (int i = 0; i < JL_MCACHE_PREFS; i++) {
		pref_t *p = &c->prefs[i];
		if (p->code == code) {
			p->last_use = ++c->tick;
			*out = p;
			return JL_OK;
		}
		if (!p->code)
			empty = p;
		else if (!p->users && !p->building && (!lru || p->last_use < lru->last_use))
			lru = p;
	}
	pref_t *p = empty ? empty : lru;
	if (!p) {
		jl_diag_err(d, "transient", NULL, "Every prefecture slot of the indicator cache is in use; retry later");
		return JL_EBUSY;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_ENOMEM;
	jl_regions_t reg;
	jl_rc rc = jl_regions_load_any(a, code, &reg, d);
	if (rc) {
		jl_arena_free(a);
		return rc;
	}
	if (p->code)
		pref_clear(p);
	p->code = code;
	p->arena = a;
	p->reg = reg;
	p->last_use = ++c->tick;
	*out = p;
	return JL_OK;
}

/* Takes the hierarchy of `code` into v (mutex held). */
static jl_rc region_locked(jl_mcache_t *c, jl_str_t code, jl_mview_t *v, jl_diag_t *d)
{
	uint32_t pc = jl_regions_pref_of(code);
	if (!pc || (code.n != 6 && code.n != 9 && code.n != 12)) {
		jl_diag_err(d, "value", "region", "\"%.*s\" is not a division code (6, 9 or 12 digits)",
			    (int)(code.n > 20 ? 20 : code.n), code.p);
		return JL_EINVAL;
	}
	/* A province code gets a slot of its own: the whole province, every prefecture in it. */
	pref_t *p = NULL;
	jl_rc rc = pref_locked(c, pc, &p, d);
	if (rc == JL_ENOTFOUND || (!rc && jl_regions_find(&p->reg, code) < 0)) {
		jl_diag_err(d, "not-found", "region", "No region has the division code %.*s", JL_STR_FMT(code));
		return JL_ENOTFOUND;
	}
	if (rc)
		return rc;
	memset(v, 0, sizeof *v);
	v->c_ = c;
	v->pref_ = p;
	v->reg = &p->reg;
	v->node = (uint32_t)jl_regions_find(&p->reg, code);
	p->users++;
	return JL_OK;
}

jl_rc jl_mcache_region(jl_mcache_t *c, jl_str_t code, jl_mview_t *v, jl_diag_t *d)
{
	pthread_mutex_lock(&c->mu);
	jl_rc rc = region_locked(c, code, v, d);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/*
 * Brings the projection up to the counters read before (refreshing only
 * what was written since), then finishes its rows for p's hierarchy into
 * a new snapshot (no mutex held; build_mu taken).
 */
static jl_rc snap_build(jl_mcache_t *c, pref_t *p, int64_t commits, int64_t versions, snap_t **out,
			jl_proj_stats_t *ps, jl_diag_t *d)
{
	snap_t *s = jl_calloc(JL_MEM_MISC, 1, sizeof *s);
	if (!s)
		return JL_ENOMEM;
	s->commits = commits;
	s->versions = versions;
	pthread_mutex_lock(&c->build_mu);
	jl_rc rc = c->proj ? JL_OK : jl_proj_open(jl_store_dir(c->store), &c->cat, &c->proj);
	if (!rc && (c->proj_commits < commits || c->proj_versions < versions)) {
		rc = jl_proj_refresh(c->proj, c->store, ps, d);
		if (!rc) {
			c->proj_commits = commits;
			c->proj_versions = versions;
		}
	}
	if (!rc)
		rc = jl_proj_facts(c->proj, &p->reg, &s->facts);
	pthread_mutex_unlock(&c->build_mu);
	if (rc) {
		jl_free(JL_MEM_MISC, s);
		return rc;
	}
	*out = s;
	return JL_OK;
}

/*
 * The current snapshot of p, referenced for the caller (mutex held; it is
 * released while scanning). Fresh when it was keyed at or after the
 * counters read just now; while another thread rebuilds, the older one.
 */
static jl_rc snap_locked(jl_mcache_t *c, pref_t *p, int64_t commits, int64_t versions, snap_t **out, jl_diag_t *d)
{
	for (;;) {
		snap_t *s = p->cur;
		if (s && s->commits >= commits && s->versions >= versions) {
			s->refs++;
			*out = s;
			return JL_OK;
		}
		if (!p->building)
			break;
		if (s) {
			c->k.stale_served++;
			s->refs++;
			*out = s;
			return JL_OK;
		}
		pthread_cond_wait(&c->cv, &c->mu);
	}
	p->building = true;
	pthread_mutex_unlock(&c->mu);
	int64_t t0 = jl_mono_ns();
	snap_t *ns = NULL;
	jl_proj_stats_t ps = {0};
	jl_rc rc = snap_build(c, p, commits, versions, &ns, &ps, d);
	int64_t t1 = jl_mono_ns();
	pthread_mutex_lock(&c->mu);
	p->building = false;
	pthread_cond_broadcast(&c->cv);
	if (rc)
		return rc;
	c->k.facts_builds++;
	c->k.last_facts_ns = t1 - t0;
	c->k.proj_rebuilds += ps.rebuilt;
	c->k.proj_versions += ps.versions;
	snap_unref(&p->reg, p->cur);
	p->cur = ns;
	ns->refs = 2; /* the prefecture's and the caller's */
	*out = ns;
	return JL_OK;
}

/* The year slot of `year` in s with its cube, referenced (mutex held; released while computing). */
static jl_rc year_locked(jl_mcache_t *c, snap_t *s, int32_t year, year_t **out)
{
	for (;;) {
		year_t *found = NULL, *empty = NULL, *lru = NULL;
		for (int i = 0; i < JL_MCACHE_YEARS; i++) {
			year_t *y = &s->years[i];
			if (y->year == year)
				found = y;
			else if (!y->year)
				empty = y;
			else if (!y->refs && !y->building && (!lru || y->last_use < lru->last_use))
				lru = y;
		}
		if (found && found->building) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		if (found) {
			found->refs++;
			found->last_use = ++c->tick;
			*out = found;
			return JL_OK;
		}
		year_t *y = empty ? empty : lru;
		if (!y) /* every slot held by a view: wait for one to be released */
			return JL_EBUSY;
		if (y == lru)
			year_clear(s->facts.reg, y);
		y->year = year;
		y->building = true;
		pthread_mutex_unlock(&c->mu);
		int64_t t0 = jl_mono_ns();
		jl_cube_t *cube = NULL;
		jl_rc rc = jl_engine_compute(&s->facts, year, &cube);
		int64_t t1 = jl_mono_ns();
		pthread_mutex_lock(&c->mu);
		y->building = false;
		pthread_cond_broadcast(&c->cv);
		if (rc) {
			y->year = 0;
			return rc;
		}
		c->k.cube_builds++;
		c->k.last_cube_ns = t1 - t0;
		y->cube = cube;
	}
}

jl_rc jl_mcache_get(jl_mcache_t *c, jl_str_t code, int32_t year, jl_mview_t *v, jl_diag_t *d)
{
	jl_store_stats_t st;
	/* Read before the scan starts: a commit after this makes the key stale, never the data. */
	jl_rc rc = jl_store_stats(c->store, &st);
	if (rc) {
		jl_diag_err(d, "exception", NULL, "The store could not be read (%s)", jl_rc_name(rc));
		return rc;
	}
	pthread_mutex_lock(&c->mu);
	rc = region_locked(c, code, v, d);
	if (rc)
		goto out;
	pref_t *p = v->pref_;
	snap_t *s = NULL;
	rc = snap_locked(c, p, st.commits, st.versions, &s, d);
	if (rc)
		goto fail;
	year_t *y = NULL;
	rc = year_locked(c, s, year, &y);
	if (rc) {
		if (rc == JL_EBUSY)
			jl_diag_err(d, "transient", NULL, "Every year slot of the indicator cache is in use; retry later");
		snap_unref(&p->reg, s);
		goto fail;
	}
	v->snap_ = s;
	v->year_ = y;
	v->cube = y->cube;
	c->k.requests++;
	goto out;
fail:
	p->users--;
	memset(v, 0, sizeof *v);
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void jl_mcache_put(jl_mview_t *v)
{
	if (!v || !v->c_)
		return;
	jl_mcache_t *c = v->c_;
	pthread_mutex_lock(&c->mu);
	pref_t *p = v->pref_;
	if (v->year_)
		((year_t *)v->year_)->refs--;
	if (v->snap_)
		snap_unref(&p->reg, v->snap_);
	p->users--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	memset(v, 0, sizeof *v);
}

jl_rc jl_mcache_json(jl_mview_t *v, jl_buf_t *out)
{
	jl_mcache_t *c = v->c_;
	year_t *y = v->year_;
	pthread_mutex_lock(&c->mu);
	jl_str_t hit = y->json ? y->json[v->node] : JL_STR_NULL;
	if (hit.p)
		c->k.json_hits++;
	pthread_mutex_unlock(&c->mu);
	if (hit.p) /* immutable once installed, and the view keeps it alive */
		return jl_buf_append(out, hit.p, hit.n);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_engine_json(v->cube, v->node, NULL, &w);
	jl_rc rc = jl_buf_status(&b);
	if (!rc)
		rc = jl_buf_append(out, b.p, b.n);
	if (rc) {
		jl_buf_dispose(&b);
		return rc;
	}
	size_t n;
	char *p = jl_buf_take(&b, &n);
	pthread_mutex_lock(&c->mu);
	c->k.json_misses++;
	if (!y->json)
		y->json = jl_calloc(JL_MEM_MISC, v->reg->n, sizeof *y->json);
	if (y->json && !y->json[v->node].p) {
		y->json[v->node] = jl_str(p, n);
		p = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	jl_free(JL_MEM_MISC, p); /* another thread installed the same JSON first */
	return JL_OK;
}
