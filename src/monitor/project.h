/*
 * project — the persistent facts projection: the rows of monitor/facts
 * (persons of the resident register, the events the catalogue refers to,
 * causes of death, institutions, aggregate reports) kept in one file of the
 * data directory (DIR/indicators.facts), so that evaluating indicators no
 * longer parses the store.
 *
 * The file records the store watermark it reflects (the last-updated
 * instant of the newest version applied, plus the instant of the store's
 * oldest version as its identity) and the catalogue fingerprint it was
 * built for (jl_facts_fingerprint). A refresh reads only the versions newer
 * than the watermark (store history, oldest first: creates, updates and
 * deletes; a deleted or superseded resource's row goes away) and applies
 * them; it rebuilds from one scan of the store when there is no usable file
 * (missing, damaged, another format or catalogue, another store) or when
 * more was written since than a scan costs. The file is written whole to a
 * temporary name, fsync'd and renamed over the old one, so a crash leaves
 * either file complete; it is rewritten after a build and once enough
 * changes have accumulated (a smaller backlog is simply read again from
 * the store next time: the file is correct at its own watermark).
 *
 * The rows do not depend on the hierarchy: jl_proj_facts finishes them
 * for any prefecture or province (monitor/region).
 *
 * Not thread-safe: one thread at a time per projection (monitor/cache
 * serialises refreshes and jl_proj_facts). Different processes may share a
 * data directory: each writes its own temporary file and renames it.
 */
#ifndef JL_MONITOR_PROJECT_H
#define JL_MONITOR_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "monitor/facts.h"

#define JL_PROJ_FILE "indicators.facts"

typedef struct jl_proj jl_proj_t;

typedef struct jl_proj_stats {
	bool rebuilt;            /* a full scan of the store ran */
	const char *why;         /* why it rebuilt (static text), NULL otherwise */
	int64_t versions;        /* versions read from history (incremental) */
	int64_t scanned;         /* resources read by the full scan */
	bool saved;              /* the file was rewritten */
	int64_t rows;            /* rows held afterwards */
	int64_t watermark_us;
} jl_proj_stats_t;

/*
 * Opens the projection of a data directory for a catalogue (which must
 * outlive it), loading DIR/indicators.facts when it is usable; otherwise
 * the next refresh rebuilds (jl_proj_pending says why). dir NULL: kept in
 * memory only. JL_ENOMEM only: a bad file is never an error.
 */
jl_rc jl_proj_open(const char *dir, const jl_catalog_t *cat, jl_proj_t **out) JL_MUST_USE;
void jl_proj_free(jl_proj_t *p);

/* Why the next refresh will rebuild (static text), or NULL when it will be incremental. */
const char *jl_proj_pending(const jl_proj_t *p);

/*
 * Brings the projection up to the store's newest committed version (see
 * above); st (may be NULL) says what it did. JL_EIO (store; described in
 * d) or JL_ENOMEM; a failed file write is only logged in d as a warning
 * (the rows in memory are right; the next run reads more history).
 */
jl_rc jl_proj_refresh(jl_proj_t *p, jl_store_t *s, jl_proj_stats_t *st, jl_diag_t *d) JL_MUST_USE;

/*
 * Writes the file now when changes were applied since it was last written
 * (temporary file, fsync, rename). JL_EIO (a warning in d).
 */
jl_rc jl_proj_save(jl_proj_t *p, jl_diag_t *d) JL_MUST_USE;

/*
 * Finishes the rows for one hierarchy into out (which the caller disposes
 * with jl_facts_dispose); reg must outlive out. JL_ENOMEM.
 */
jl_rc jl_proj_facts(const jl_proj_t *p, const jl_regions_t *reg, jl_facts_t *out) JL_MUST_USE;

/*
 * Replaces the rows with `rows` (made with the same catalogue, no
 * hierarchy), taking them over (rows is left empty), as reflecting a store
 * up to watermark_us: for benchmarks and tools that make rows without a
 * store (the generator). A later refresh against a store rebuilds (its
 * identity is unknown). JL_ENOMEM.
 */
jl_rc jl_proj_adopt(jl_proj_t *p, jl_facts_t *rows, int64_t watermark_us) JL_MUST_USE;

/* The rows (read-only; valid until the next refresh). */
const jl_facts_t *jl_proj_rows(const jl_proj_t *p);

#endif
