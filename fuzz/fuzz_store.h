/*
 * fuzz_store — the small seeded store that the search and bulk-parameter
 * fuzz targets run against, made once in LLVMFuzzerInitialize. Aborts on
 * any failure: a target without its store would fuzz nothing.
 */
#ifndef JL_FUZZ_STORE_H
#define JL_FUZZ_STORE_H

#include <stdlib.h>

#include "ingest/ingest.h"

/* dir: a mkdtemp template, filled in; the store and the definitions live as long as the process. */
static inline void fuzz_seeded_store(char *dir, const char *const *seed, size_t n, jl_store_t **store,
				     jl_search_defs_t **defs)
{
	if (!mkdtemp(dir))
		abort();
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_cfg_t cfg = {.dir = dir, .max_cursors = 4};
	if (jl_store_open("sqlite", &cfg, store, &d) || jl_search_defs_new(defs, NULL, NULL))
		abort();
	jl_ingest_cfg_t ic = {.store = *store, .defs = *defs, .batch = 100};
	jl_ingest_t *g;
	if (jl_ingest_new(&ic, &g))
		abort();
	for (size_t i = 0; i < n; i++)
		if (jl_ingest_add(g, jl_cstr(seed[i]), &d))
			abort();
	if (jl_ingest_flush(g))
		abort();
	jl_ingest_free(g);
	jl_arena_free(a);
}

#endif
