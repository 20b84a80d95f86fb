/*
 * ingest — the path every bulk write takes: JSON text → parse → validate →
 * encode the stored body → index rows → batched store writes (many
 * resources per transaction, one fsync per batch). Used by the region
 * generator (`jianlian gen --into`) and by bulk import (ingest/import.h);
 * search indexing plugs in here so every path indexes the same way.
 *
 * Pipelined on two threads: while the store's writer thread commits one
 * batch, the caller's thread parses, validates and indexes the next (two
 * batch buffers, at most one batch in flight). Batches commit in the order
 * they were filled. A batch may carry settings (JL_WRITE_META) that commit
 * atomically with it: bulk import records its position in the input that
 * way (cfg.on_batch).
 *
 * A resource that fails parsing or validation is reported and skipped; the
 * others go on. Resources carry their own ids and are written with update
 * semantics (create-or-update, version by version), so a re-run of the same
 * input adds versions instead of failing.
 *
 * After a store failure (JL_EIO, JL_EBUSY …) the ingest stops: no later
 * batch is ever submitted, so nothing commits past a failed batch, and every
 * later call returns the same code.
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

/*
 * Called on the caller's thread just before a batch is handed to the store
 * (and once more by jl_ingest_flush even when no resource is queued), so
 * the caller can add settings with jl_ingest_mark that commit with it.
 * It runs inside jl_ingest_add *before* that call's resource is queued (a
 * full batch is handed over at the next add), or inside jl_ingest_cut or
 * jl_ingest_flush: the batch holds exactly the resources of earlier calls.
 * `resources` is the number of resources in the batch. A non-OK return
 * stops the ingest with that code.
 */
typedef jl_rc (*jl_ingest_batch_fn)(void *arg, jl_ingest_t *g, uint32_t resources);

typedef struct jl_ingest_cfg {
	jl_store_t *store;
	const jl_search_defs_t *defs; /* search index extraction; NULL: resources are not indexed */
	uint32_t batch;           /* resources per transaction (0 = 1000) */
	size_t batch_bytes;       /* also end a batch once its bodies and index rows take this much (0 = no cap) */
	uint32_t max_depth;       /* JSON nesting cap (0 = 128) */
	bool assign_ids;          /* resources without an id get a UUIDv7 (else they are rejected) */
	/*
	 * Do not read each resource's stored version before writing it: assume
	 * it is new. When one was not, the store refuses the batch (JL_ESTALE),
	 * which is then prepared again with the reads. Fast for loading into an
	 * empty or disjoint store; correct either way.
	 */
	bool assume_new;
	jl_ingest_batch_fn on_batch;
	void *arg;
} jl_ingest_cfg_t;

typedef struct jl_ingest_stats {
	int64_t added;            /* accepted into a batch */
	int64_t rejected;         /* failed parse or validation */
	int64_t written;          /* committed */
	int64_t failed;           /* lost to a failed store write (whole batch) */
	int64_t bytes;            /* JSON bytes accepted */
	int64_t batches;          /* batches committed */
	int64_t retried;          /* batches prepared again after JL_ESTALE */
} jl_ingest_stats_t;

jl_rc jl_ingest_new(const jl_ingest_cfg_t *cfg, jl_ingest_t **out) JL_MUST_USE;
/*
 * Adds one resource. JL_OK: queued (written with its batch). JL_EINVAL /
 * JL_EINVALID: rejected, issues in d (their expressions name the element),
 * nothing queued. Any other code is a store failure of an earlier batch
 * (or ENOMEM): the ingest has stopped.
 */
jl_rc jl_ingest_add(jl_ingest_t *g, jl_str_t json, jl_diag_t *d);
/*
 * From on_batch only: a setting to write in the same transaction as the
 * batch (key 1-64 bytes; an empty value removes the setting). Copied.
 */
jl_rc jl_ingest_mark(jl_ingest_t *g, jl_str_t key, jl_str_t value) JL_MUST_USE;
/* Ends the batch being filled now (it goes to the store; no waiting for it). */
jl_rc jl_ingest_cut(jl_ingest_t *g);
/* Writes what is queued (calling on_batch first) and waits until every batch has committed. */
jl_rc jl_ingest_flush(jl_ingest_t *g);
const jl_ingest_stats_t *jl_ingest_stats(const jl_ingest_t *g);
/* Waits for a batch in flight, then frees; queued resources are dropped (call jl_ingest_flush first). */
void jl_ingest_free(jl_ingest_t *g);

#endif
