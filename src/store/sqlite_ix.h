/*
 * sqlite_ix — internal to the SQLite backend, shared by its files: writing
 * and removing search index rows (one prepared INSERT and DELETE per index
 * table, owned by the writer connection), body decoding, and the search
 * executor's entry points (sqlite_search.c). See docs/internals/search.md.
 */
#ifndef JL_STORE_SQLITE_IX_H
#define JL_STORE_SQLITE_IX_H

#include <sqlite3.h>

#include "store/store.h"

#include <zstd.h>

#define BODY_MAX ((size_t)64 << 20) /* largest body stored, and the decompression cap */
enum { ENC_RAW = 0, ENC_ZSTD = 1, ENC_ZDICT = 2 /* zstd with the built-in dictionary (store/zdict.h) */ };

/* A stored body back to its bytes (arena copy); *dctx is created on first need. JL_EIO if corrupt. */
jl_rc jl__sq_decode(ZSTD_DCtx **dctx, jl_arena_t *a, int enc, const void *p, size_t n, jl_str_t *out);

/*
 * A queued row with its sort key by value: (k, second) in the order of the
 * table's primary key, second being the next key column (reference target,
 * date lo, the first 8 bytes of a text) or 0 where rid follows k. Sorting
 * is stable, and rows are queued in rid order, so rid order is kept within
 * equal keys.
 */
typedef struct jl__ixrow {
	uint64_t k;          /* k with the sign bit flipped: unsigned order = SQLite's integer order */
	uint64_t second;
	int64_t rid;
	/* the row's other columns, copied while the row is in cache: the insert reads them in key order */
	union {
		int64_t i;
		double d;
	} a, b;
	union {
		struct {
			const char *p;
			size_t n;
		} v;                   /* STRING, URI */
		int64_t u[3];          /* QUANTITY: us, uc, uu */
	} c;
} jl__ixrow_t;

typedef struct jl__sqix jl__sqix_t;

/* Prepares the statements on the writer connection. */
jl_rc jl__sqix_new(sqlite3 *db, jl__sqix_t **out) JL_MUST_USE;
void jl__sqix_free(jl__sqix_t *x);
/*
 * Index rows are inserted at the end of a group, all at once and sorted by
 * key, so each B-tree is walked in order instead of at random: defer()
 * queues a write's rows (they must stay valid until the group ends),
 * mark()/truncate() drop those of a call that rolled back, flush() inserts
 * the queue (duplicates are ignored), clear() forgets it after a failure.
 */
jl_rc jl__sqix_defer(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows);
typedef struct jl__sqix_mark {
	size_t n[JL_IX_NTABLES];
} jl__sqix_mark_t;
jl__sqix_mark_t jl__sqix_mark(const jl__sqix_t *x);
void jl__sqix_truncate(jl__sqix_t *x, jl__sqix_mark_t mark);
jl_rc jl__sqix_flush(jl__sqix_t *x, int *src);
void jl__sqix_clear(jl__sqix_t *x);
/*
 * For staging (sqlite_stage.h): take() sorts a table's queue and hands it
 * over (valid until the next defer; the queue is then empty); insert()
 * inserts rows of a table sorted by key, as flush() does a queue.
 */
jl_rc jl__sqix_take(jl__sqix_t *x, int table, const jl__ixrow_t **rows, size_t *n);
/* A text's sort key as queued rows carry it: its first 8 bytes, big-endian, zero-padded. */
uint64_t jl__sqix_text_key(const char *p, size_t n);
/* A failed sqlite3_step's code as ours (BUSY/LOCKED, NOMEM, else EIO); *src keeps SQLite's. */
jl_rc jl__sq_rc(int e, int *src);
jl_rc jl__sqix_insert(jl__sqix_t *x, int table, const jl__ixrow_t *rows, size_t n, int *src);
/*
 * res.present as stored: the bitmap's bytes in little-endian order (bit i is byte i / 8, as jl_bit in
 * sqlite_search.c reads it), without its trailing zero bytes — most resources need 1 or 2 of the 32,
 * where whole 64-bit words took 8. Returns the length, 0 when no bit is set.
 */
int jl__sq_present_bytes(const uint64_t present[4], unsigned char out[32]);
/* Removes exactly the given rows of rid. */
jl_rc jl__sqix_remove(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows, int *src);

/* The (k, rid) probe indexes of tables keyed by value (a bulk merge drops and rebuilds them: sqlite_stage.c). */
#define JL__SQIX_DATE_R "CREATE INDEX ix_date_r ON ix_date(k, rid)"
#define JL__SQIX_STRING_R "CREATE INDEX ix_string_r ON ix_string(k, rid)"
#define JL__SQIX_URI_R "CREATE INDEX ix_uri_r ON ix_uri(k, rid)"

/* The DDL of the index tables and their probe indexes (part of schema version 1). */
#define JL__SQIX_SCHEMA \
	"CREATE TABLE ix_token(k INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(k, rid)) WITHOUT ROWID;" \
	"CREATE TABLE ix_string(k INTEGER NOT NULL, v TEXT NOT NULL, rid INTEGER NOT NULL," \
	" PRIMARY KEY(k, v, rid)) WITHOUT ROWID;" \
	"CREATE TABLE ix_uri(k INTEGER NOT NULL, v TEXT NOT NULL, rid INTEGER NOT NULL," \
	" PRIMARY KEY(k, v, rid)) WITHOUT ROWID;" \
	"CREATE TABLE ix_ref(k INTEGER NOT NULL, target INTEGER NOT NULL, rid INTEGER NOT NULL," \
	" PRIMARY KEY(k, target, rid)) WITHOUT ROWID;" \
	"CREATE TABLE ix_date(k INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, rid INTEGER NOT NULL," \
	" PRIMARY KEY(k, lo, hi, rid)) WITHOUT ROWID;" \
	JL__SQIX_DATE_R ";" \
	"CREATE TABLE ix_number(k INTEGER NOT NULL, rid INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL," \
	" PRIMARY KEY(k, rid, lo, hi)) WITHOUT ROWID;" \
	JL__SQIX_QUANTITY \
	"CREATE TABLE ix_composite(k INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(k, rid)) WITHOUT ROWID;"

/*
 * The quantity table since schema version 4: one row per value, the unit as
 * three hashes (system|code, code, human unit; 0 when absent) instead of a
 * row per unit form — a vital sign made 24 rows across four parameters, now 6.
 */
#define JL__SQIX_QUANTITY \
	"CREATE TABLE ix_quantity(k INTEGER NOT NULL, rid INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL," \
	" us INTEGER NOT NULL, uc INTEGER NOT NULL, uu INTEGER NOT NULL," \
	" PRIMARY KEY(k, rid, lo, hi, us, uc, uu)) WITHOUT ROWID;"

/*
 * The token table since schema version 5: a code's row carries its system
 * (s, 4 bytes) instead of a second row under a system|code key — one row
 * per coding fewer (search/index.h, jl_ix_token_system). Token texts
 * (:text) moved from string rows to ix_text, each text once per parameter
 * with the key of its token rows (t).
 */
#define JL__SQIX_TOKEN \
	"CREATE TABLE ix_token(k INTEGER NOT NULL, rid INTEGER NOT NULL, s INTEGER NOT NULL," \
	" PRIMARY KEY(k, rid, s)) WITHOUT ROWID;" \
	"CREATE TABLE ix_text(k INTEGER NOT NULL, v TEXT NOT NULL, t INTEGER NOT NULL," \
	" PRIMARY KEY(k, v, t)) WITHOUT ROWID;"

/* Schema version 2: the probe indexes of the text tables (entries also carry v: they cover the probe). */
#define JL__SQIX_SCHEMA_2 JL__SQIX_STRING_R ";" JL__SQIX_URI_R ";"

/* The index rebuild, run on the writer connection (see jl_store_ops_t.reindex). */
jl_rc jl__sqix_reindex(sqlite3 *db, jl__sqix_t *x, ZSTD_DCtx **dctx, jl_reindex_fn fn, void *arg,
		       jl_progress_fn progress, void *parg);

/* ---- search (sqlite_search.c) ---- */
typedef struct jl__sqs jl__sqs_t;
jl_rc jl__sqs_new(const char *path, const jl_store_cfg_t *cfg, jl__sqs_t **out) JL_MUST_USE;
void jl__sqs_free(jl__sqs_t *x);
/* JL_ESTALE (and nothing else gives it): the snapshot held staged index runs; merge them, search again. */
jl_rc jl__sqs_search(jl__sqs_t *x, jl_arena_t *a, const jl_sq_query_t *q, jl_sq_page_t *out, jl_diag_t *d);
jl_rc jl__sqs_page(jl__sqs_t *x, jl_arena_t *a, jl_str_t cursor, uint32_t page, jl_sq_page_t *out);
jl_rc jl__sqs_meta_get(jl__sqs_t *x, jl_arena_t *a, const char *key, jl_str_t *value);
jl_rc jl__sqs_meta_set(jl__sqs_t *x, const char *key, jl_str_t value);
/*
 * The export scan (jl_store_ops_t.scan) on a search connection: its statement builder, its decompressor.
 * *staged: it did not start because its snapshot held staged index runs (sqlite_stage.h).
 */
jl_rc jl__sqs_scan(jl__sqs_t *x, const jl_scan_query_t *q, jl_scan_fn fn, void *arg, bool *staged);

#endif
