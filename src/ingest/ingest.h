/*
 * ingest — the path every bulk write takes: JSON text → parse → validate →
 * encode the stored body → batched store writes (many resources per
 * transaction, one fsync per batch). Used by the region generator
 * (`jianlian gen --into`), and by bulk import when it lands; search
 * indexing plugs in here so every path indexes the same way.
 *
 * A resource that fails parsing or validation is reported (with its
 * position in the input, when the caller gives one) and skipped; the others
 * go on. Resources carry their own ids and are written with update
 * semantics (create-or-update, version by version), so a re-run of the same
 * input adds versions instead of failing.
 *
 * Not thread-safe: one ingest per thread. The store is shared.
 */
#ifndef JL_INGEST_INGEST_H
#define JL_INGEST_INGEST_H

#include <stdint.h>

#include "base/err.h"
#include "base/str.h"
#include "search/index.h"
#include "store/store.h"

typedef struct jl_ingest jl_ingest_t;

typedef struct jl_ingest_cfg {
	jl_store_t *store;
	const jl_search_defs_t *defs; /* search index extraction; NULL: resources are not indexed */
	uint32_t batch;           /* resources per transaction (0 = 1000) */
	uint32_t max_depth;       /* JSON nesting cap (0 = 128) */
	bool assign_ids;          /* resources without an id get a UUIDv7 (else they are rejected) */
} jl_ingest_cfg_t;

typedef struct jl_ingest_stats {
	int64_t added;            /* accepted into a batch */
	int64_t rejected;         /* failed parse or validation */
	int64_t written;          /* committed */
	int64_t failed;           /* lost to a failed store write (whole batch) */
	int64_t bytes;            /* JSON bytes accepted */
} jl_ingest_stats_t;

jl_rc jl_ingest_new(const jl_ingest_cfg_t *cfg, jl_ingest_t **out) JL_MUST_USE;
/*
 * Adds one resource. JL_OK: queued (written at the next full batch or
 * flush). JL_EINVAL / JL_EINVALID: rejected, issues in d (their
 * expressions name the element), nothing queued. A store failure of the
 * batch this call completed is returned as its rc (JL_EIO …).
 */
jl_rc jl_ingest_add(jl_ingest_t *g, jl_str_t json, jl_diag_t *d);
/* Writes what is queued. */
jl_rc jl_ingest_flush(jl_ingest_t *g);
const jl_ingest_stats_t *jl_ingest_stats(const jl_ingest_t *g);
/* Flushes nothing: call jl_ingest_flush first to keep queued resources. */
void jl_ingest_free(jl_ingest_t *g);

#endif
