/*
 * store/sqlite — the embedded storage backend: one SQLite database per data
 * directory (DIR/jianlian.db, WAL mode, synchronous=FULL), a dedicated writer
 * thread that groups concurrent write() calls into one commit, and a pool of
 * read-only connections with persistent prepared statements. Bodies are
 * zstd-compressed in the caller's thread when that pays. See
 * docs/internals/store.md for the schema, the group-commit design and the
 * measured figures.
 *
 * Callers normally reach this backend through jl_store_open("sqlite", …);
 * the declarations below are for store.c and for tests and benchmarks.
 */
#ifndef JL_STORE_SQLITE_H
#define JL_STORE_SQLITE_H

#include <stdint.h>

#include "store/store.h"

extern const jl_store_ops_t jl_store_sqlite_ops;

/*
 * Opens (creating the directory and the database when missing) the store in
 * cfg->dir and starts its writer thread. On failure *out is NULL and d (may
 * be NULL) says why: JL_EIO (file system, SQLite), JL_EINVAL (bad cfg, not a
 * Jianlian database), JL_EUNSUPPORTED (schema newer than this build),
 * JL_ENOMEM. Used by jl_store_open.
 */
jl_rc jl__store_sqlite_open(const jl_store_cfg_t *cfg, jl_store_t **out, jl_diag_t *d) JL_MUST_USE;

/* Writer activity since open, for tests, benchmarks and /metrics. Thread-safe. */
typedef struct jl__sqlite_counters {
	int64_t commits;   /* group commits that reached the disk */
	int64_t groups;    /* groups the writer ran (a failed COMMIT counts here only) */
	int64_t calls;     /* write() calls the writer ran */
	int64_t writes;    /* jl_write_t entries in those calls */
	int64_t max_group; /* most writes in one group */
} jl__sqlite_counters_t;

void jl__store_sqlite_counters(jl_store_t *s, jl__sqlite_counters_t *out);
int64_t jl__store_sqlite_commits(jl_store_t *s);

/*
 * First half of close(): stops accepting writes (later ones get JL_EBUSY),
 * finishes the queued ones and stops the writer thread. Reads keep working
 * until close(). Idempotent; close() calls it. For an orderly server
 * shutdown (drain writes while in-flight reads finish) and for tests.
 */
void jl__store_sqlite_quiesce(jl_store_t *s);

#endif
