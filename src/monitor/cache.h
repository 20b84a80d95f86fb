/*
 * cache — indicator results for a running server: the facts of each
 * prefecture or province (finished from the persistent facts projection,
 * monitor/project, kept in the data directory), the cube of each reporting
 * year computed from them, and the rendered JSON of each (region, year),
 * all keyed by the store snapshot they were computed from.
 *
 * Freshness: the snapshot key is the store's commit counter and version
 * count (jl_store_stats), read before the projection is refreshed, so data
 * committed after the key was read makes the key older than the store and
 * the next request refreshes. Nothing is refreshed in the background: the
 * first request after a write pays for reading the versions written since
 * (not the whole store), finishing the facts and computing the cube.
 *
 * Concurrency: any number of threads may ask at once. One thread builds a
 * prefecture's facts (or a year's cube) while the others wait for it —
 * unless an older snapshot exists, which they are served meanwhile (the
 * "previous result"). Views hold references, so nothing a view points to
 * is freed while it is held.
 *
 * Bounds: at most JL_MCACHE_PREFS prefectures (the least recently used idle
 * one is dropped) and JL_MCACHE_YEARS cubes per snapshot (likewise).
 */
#ifndef JL_MONITOR_CACHE_H
#define JL_MONITOR_CACHE_H

#include "base/str.h"
#include "monitor/engine.h"
#include "store/store.h"

#define JL_MCACHE_PREFS 4
#define JL_MCACHE_YEARS 8

typedef struct jl_mcache jl_mcache_t;

typedef struct jl_mcache_cfg {
	jl_str_t catalog;  /* catalogue JSON; empty: the built-in data/indicators.json */
	jl_str_t targets;  /* extra target rows ({"targets": […]}); empty: none */
} jl_mcache_cfg_t;

/* What a view holds: one region of one year's cube on one snapshot. Read-only. */
typedef struct jl_mview {
	const jl_regions_t *reg;
	const jl_cube_t *cube;
	uint32_t node;
	/* internal */
	jl_mcache_t *c_;
	void *pref_, *snap_, *year_;
} jl_mview_t;

typedef struct jl_mcache_counters {
	int64_t requests;     /* jl_mcache_get calls that succeeded */
	int64_t facts_builds; /* facts finished from the projection (after a refresh when the store moved) */
	int64_t proj_rebuilds; /* full scans of the store (no usable projection file, catalogue changed …) */
	int64_t proj_versions; /* versions read incrementally from the store's history */
	int64_t cube_builds;  /* cubes computed */
	int64_t json_hits, json_misses;
	int64_t stale_served; /* answers from an older snapshot while a rebuild ran */
	int64_t last_facts_ns, last_cube_ns; /* durations of the last builds */
} jl_mcache_counters_t;

/*
 * Loads the catalogue (and targets) and prepares an empty cache over s,
 * which must outlive it. Problems with the catalogue or targets are issues
 * in d naming the element: JL_EINVAL / JL_EINVALID. JL_ENOMEM.
 */
jl_rc jl_mcache_new(jl_store_t *s, const jl_mcache_cfg_t *cfg, jl_mcache_t **out, jl_diag_t *d) JL_MUST_USE;
/* Frees everything; no view may be held any more. NULL-safe. */
void jl_mcache_free(jl_mcache_t *c);

/* The catalogue (read-only, lives as long as the cache). */
const jl_catalog_t *jl_mcache_catalog(const jl_mcache_t *c);

/*
 * The hierarchy holding a division code and the code's node in it (codes
 * of 6, 9 or 12 digits; a province code, e.g. 530000, gets the whole
 * province with every prefecture in it), as a view without a cube: it keeps the hierarchy
 * alive until jl_mcache_put. JL_EINVAL for a malformed code, JL_ENOTFOUND
 * for an unknown one, JL_EBUSY when every prefecture slot is in use; the
 * issue in d names "region".
 */
jl_rc jl_mcache_region(jl_mcache_t *c, jl_str_t code, jl_mview_t *v, jl_diag_t *d) JL_MUST_USE;

/*
 * A view of region `code` in `year`, computing the facts and the cube
 * first when the store has committed since (waits for another thread that
 * is computing them). Release it with jl_mcache_put. Errors as
 * jl_mcache_region, plus JL_EIO (store) and JL_ENOMEM, described in d.
 */
jl_rc jl_mcache_get(jl_mcache_t *c, jl_str_t code, int32_t year, jl_mview_t *v, jl_diag_t *d) JL_MUST_USE;
void jl_mcache_put(jl_mview_t *v);

/*
 * The JSON of the whole catalogue at the view's region and year
 * (jl_engine_json, compact), rendered once per snapshot and then served
 * from the cache; appended to out. JL_ENOMEM.
 */
jl_rc jl_mcache_json(jl_mview_t *v, jl_buf_t *out) JL_MUST_USE;

void jl_mcache_counters(jl_mcache_t *c, jl_mcache_counters_t *out);

#endif
