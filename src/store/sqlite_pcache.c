/*
 * sqlite_pcache — pcache1 with cheap truncates (see sqlite_pcache.h).
 */
#include "store/sqlite_pcache.h"

#include <pthread.h>
#include <sqlite3.h>

#include "base/alloc.h"

#define OUTLIERS 8

/* One cache: pcache1's, and what bounds the page numbers it can hold. */
typedef struct wcache {
	sqlite3_pcache *orig;
	unsigned fetched;          /* largest page number fetched since the last real truncate */
	unsigned out[OUTLIERS];    /* renumberings above `fetched`, still possibly cached */
	int nout;
	bool overflow;             /* more than OUTLIERS: no bound, every truncate goes through */
} wcache_t;

static sqlite3_pcache_methods2 g_orig;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok;

static int c_init(void *arg)
{
	(void)arg;
	return g_orig.xInit ? g_orig.xInit(g_orig.pArg) : SQLITE_OK;
}

static void c_shutdown(void *arg)
{
	(void)arg;
	if (g_orig.xShutdown)
		g_orig.xShutdown(g_orig.pArg);
}

static sqlite3_pcache *c_create(int page, int extra, int purgeable)
{
	wcache_t *w = jl_calloc(JL_MEM_STORE, 1, sizeof *w);
	if (!w)
		return NULL;
	w->orig = g_orig.xCreate(page, extra, purgeable);
	if (!w->orig) {
		jl_free(JL_MEM_STORE, w);
		return NULL;
	}
	return (sqlite3_pcache *)w;
}

#define W(p) ((wcache_t *)(p))

static void c_cachesize(sqlite3_pcache *p, int n) { g_orig.xCachesize(W(p)->orig, n); }
static int c_pagecount(sqlite3_pcache *p) { return g_orig.xPagecount(W(p)->orig); }

static sqlite3_pcache_page *c_fetch(sqlite3_pcache *p, unsigned key, int create)
{
	wcache_t *w = W(p);
	sqlite3_pcache_page *pg = g_orig.xFetch(w->orig, key, create);
	if (pg && key > w->fetched)
		w->fetched = key;
	return pg;
}

static void c_unpin(sqlite3_pcache *p, sqlite3_pcache_page *pg, int discard)
{
	g_orig.xUnpin(W(p)->orig, pg, discard);
}

static void forget(wcache_t *w, unsigned key)
{
	for (int i = 0; i < w->nout; i++)
		if (w->out[i] == key) {
			w->out[i] = w->out[--w->nout];
			return;
		}
}

static void c_rekey(sqlite3_pcache *p, sqlite3_pcache_page *pg, unsigned old, unsigned key)
{
	wcache_t *w = W(p);
	g_orig.xRekey(w->orig, pg, old, key);
	forget(w, old);
	if (key > w->fetched) {
		if (w->nout < OUTLIERS)
			w->out[w->nout++] = key;
		else
			w->overflow = true;
	}
}

static void c_truncate(sqlite3_pcache *p, unsigned limit)
{
	wcache_t *w = W(p);
	bool above = w->overflow || w->fetched >= limit;
	for (int i = 0; i < w->nout && !above; i++)
		above = w->out[i] >= limit;
	if (!above)
		return; /* nothing at or above the limit can be cached: pcache1 would only walk its buckets */
	g_orig.xTruncate(w->orig, limit);
	if (limit > 0 && w->fetched >= limit)
		w->fetched = limit - 1;
	for (int i = 0; i < w->nout;)
		if (w->out[i] >= limit)
			w->out[i] = w->out[--w->nout];
		else
			i++;
	w->overflow = false;
}

static void c_destroy(sqlite3_pcache *p)
{
	g_orig.xDestroy(W(p)->orig);
	jl_free(JL_MEM_STORE, p);
}

static void c_shrink(sqlite3_pcache *p) { g_orig.xShrink(W(p)->orig); }

static sqlite3_pcache_methods2 g_wrap = {
	.iVersion = 1,
	.xInit = c_init,
	.xShutdown = c_shutdown,
	.xCreate = c_create,
	.xCachesize = c_cachesize,
	.xPagecount = c_pagecount,
	.xFetch = c_fetch,
	.xUnpin = c_unpin,
	.xRekey = c_rekey,
	.xTruncate = c_truncate,
	.xDestroy = c_destroy,
	.xShrink = c_shrink,
};

static void install_once(void)
{
	if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_orig) != SQLITE_OK || !g_orig.xCreate || !g_orig.xShrink)
		return;
	g_ok = sqlite3_config(SQLITE_CONFIG_PCACHE2, &g_wrap) == SQLITE_OK;
}

bool jl__sqpcache_install(void)
{
	pthread_once(&g_once, install_once);
	return g_ok;
}
