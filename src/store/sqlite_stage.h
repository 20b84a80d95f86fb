/*
 * sqlite_stage — index rows kept as sorted runs and merged into the index
 * tables in key order (internal to the SQLite backend): a bulk load's, and
 * an ordinary store's writes while no search is about (sqlite.c).
 *
 * Why: a bulk load inserting its index rows in place lands every batch on
 * leaf pages all over trees of a hundred million rows once the store is
 * large, so each resource dirties several pages, written to the WAL by its
 * commit and again by the checkpoint (docs/internals/store.md, "Bulk loads
 * at scale"). Staged, a batch's rows of each table are one sorted run,
 * written as a few compact blobs in ix_stage (sequential pages, a few
 * bytes per row); the merge later reads all runs of a table at once and
 * inserts their rows in key order, so each leaf is written about once.
 *
 * The contract that keeps searches exact: staged rows are not in the index,
 * so nothing may read the index while runs exist. The writer merges before
 * any write that removes index rows (an update or delete: the old rows may
 * be staged), searches check their snapshot for runs and have the writer
 * merge first (sqlite.c), every store merges when it closes, a store that
 * is not bulk when it opens and, once enough rows are staged, a table at a
 * time between groups. Runs commit with their batch, and a merge commits
 * with the removal of the runs it merged: a crash at any point leaves
 * either the runs or their rows, never both, never neither.
 *
 * Writer thread only (the statements are the writer connection's).
 */
#ifndef JL_STORE_SQLITE_STAGE_H
#define JL_STORE_SQLITE_STAGE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/sqlite_ix.h"

/*
 * res_th (a hash per resource, at random in its tree) is dropped by a bulk
 * load into an empty store and built once its load is done, by CREATE
 * INDEX: a row of ix_stage (table MARK_TH) says it is missing, so the same
 * checks that merge runs build it before anyone searches.
 */
#define JL__SQ_RES_TH "CREATE INDEX IF NOT EXISTS res_th ON res(th)"

/* The table of runs (schema version 6): id = table << 56 | run << 24 | chunk. */
#define JL__SQSTAGE_SCHEMA "CREATE TABLE IF NOT EXISTS ix_stage(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, rows BLOB NOT NULL);"

typedef struct jl__sqstage jl__sqstage_t;

/*
 * Prepares the statements and reads whether runs exist. cache_pragma: the
 * statement that sets the connection's page cache back after a merge made
 * it small (a literal, kept).
 */
jl_rc jl__sqstage_new(sqlite3 *db, bool bulk, const char *cache_pragma, jl__sqstage_t **out) JL_MUST_USE;
void jl__sqstage_free(jl__sqstage_t *g);
/* Committed runs may exist (the writer's view). */
bool jl__sqstage_any(const jl__sqstage_t *g);
/*
 * Inside a write transaction: the rows queued in x of every table but TEXT
 * (whose rows are shared and few) become one run per table; x keeps the
 * TEXT rows for jl__sqix_flush.
 */
jl_rc jl__sqstage_put(jl__sqstage_t *g, jl__sqix_t *x, int *src);
/*
 * Inside a write transaction: merges every run into the index tables and
 * deletes the runs. x's queue must be empty (it is used for the inserts).
 */
jl_rc jl__sqstage_merge(jl__sqstage_t *g, jl__sqix_t *x, int *src);
/* After the transaction of put/merge calls committed (true) or rolled back. */
void jl__sqstage_end(jl__sqstage_t *g, bool committed);
/*
 * Outside any transaction: merges every run, one transaction per table,
 * and builds res_th if a load deferred it.
 * When the runs are large beside the database, a table's (k, rid) probe
 * index is dropped and built again after its rows (sorting once beats
 * inserting its rows at random).
 */
jl_rc jl__sqstage_merge_all(jl__sqstage_t *g, jl__sqix_t *x, int *src);
/*
 * Outside any transaction: merges the runs of table t (every run, whoever
 * staged it), in one transaction: a step of a merge spread between groups.
 */
jl_rc jl__sqstage_merge_table(jl__sqstage_t *g, jl__sqix_t *x, int t, int *src);
/* The tables with rows staged through this handle (bit t for table t). */
uint32_t jl__sqstage_tables(const jl__sqstage_t *g);
/* Rows staged through this handle and not merged since (committed ones). */
int64_t jl__sqstage_rows(const jl__sqstage_t *g);
/* Run numbers are used up: put would fail until a merge of everything (merge_all) starts them again. */
bool jl__sqstage_full(const jl__sqstage_t *g);

#endif
