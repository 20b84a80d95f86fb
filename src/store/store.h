/*
 * store — the storage interface: resource versions (and, from the search
 * issue on, their index rows) behind a struct of function pointers, so that
 * SQLite (store/sqlite.c, the embedded default) and PostgreSQL (later) are
 * interchangeable and pass one test suite.
 *
 * What is stored: every version of every resource — (type, logical id,
 * version, last-updated µs, deleted flag, the method that made it, body).
 * The body is opaque bytes to the store (fhir/resource.c defines them); a
 * backend may compress it and must give back the same bytes.
 *
 * Guarantees every backend gives:
 * - One call to write() is one atomic transaction: all its writes commit or
 *   none does. When write() returns JL_OK the data is durable (fsync'd).
 * - Concurrent write() calls are grouped into one database commit (group
 *   commit) without weakening the above: each call is isolated from the
 *   others' failures.
 * - Versions of a resource are 1, 2, 3 … with no gaps. last-updated instants
 *   are strictly increasing across the whole store in commit order, so an
 *   instant identifies a version and orders history.
 * - Reads see a consistent committed snapshot and never block writers.
 *
 * Thread-safety: every operation may be called from any thread at once.
 */
#ifndef JL_STORE_STORE_H
#define JL_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/str.h"

typedef struct jl_store jl_store_t;

typedef enum jl_write_kind {
	JL_WRITE_CREATE = 1, /* new resource with a new id; JL_ECONFLICT if the id exists */
	JL_WRITE_UPDATE = 2, /* next version; creates version 1 when absent and create_ok */
	JL_WRITE_DELETE = 3, /* tombstone version; no-op when already deleted */
	/*
	 * Sets the store setting named `id` to `body` (an empty body removes it),
	 * in the same transaction as the call's other writes; `type` is unused.
	 * Bulk import records how far each input has been committed this way, so
	 * a restart resumes exactly after the last committed batch.
	 */
	JL_WRITE_META = 4,
} jl_write_kind;

/*
 * Search index rows (computed by search/index.c, stored by the backend in
 * the same transaction as the version they index).
 */
typedef enum jl_ix_table {
	JL_IX_TOKEN = 0, /* (k, rid, s) */
	JL_IX_STRING,    /* (k, v folded, rid) */
	JL_IX_URI,       /* (k, v, rid) */
	JL_IX_REF,       /* (k, target, rid) */
	JL_IX_DATE,      /* (k, lo µs, hi µs, rid) — [lo, hi) */
	JL_IX_NUMBER,    /* (k, lo, hi, rid) — implicit precision range */
	JL_IX_QUANTITY,  /* (k, rid, lo, hi, unit hashes us, uc, uu) */
	JL_IX_COMPOSITE, /* (k, rid) */
	JL_IX_TEXT,      /* (k, v folded, target): a parameter's token texts, each once; never removed */
	JL_IX_NTABLES
} jl_ix_table;

typedef struct jl_ix_row {
	uint8_t table;
	int64_t k;
	int64_t target;      /* REF; TEXT: the token key of the resources with that text */
	int64_t ilo, ihi;    /* DATE */
	double dlo, dhi;     /* NUMBER, QUANTITY */
	jl_str_t v;          /* STRING (folded), URI */
	/* QUANTITY: hashes of the unit as system|code, as code alone and as the human unit (0: absent) */
	int64_t us, uc, uu;
	/*
	 * TOKEN: the coding's system (jl_ix_token_system, search/index.h; 0: no system), its low bit
	 * JL_IX_TOKEN_DUP on every row of a key but the first of the resource. The key of a code is
	 * the same for every system, so one row answers code, system|code and |code.
	 */
	int64_t s;
} jl_ix_row_t;
#define JL_IX_TOKEN_DUP 1

typedef struct jl_ix_rows {
	jl_ix_row_t *rows;   /* sorted and unique after extraction */
	uint32_t n, cap;
	uint64_t present[4]; /* bit i: parameter i of the type's list had a value (for :missing) */
} jl_ix_rows_t;

typedef struct jl_store_cfg {
	const char *dir;     /* data directory; created if missing */
	uint32_t cursor_ttl_ms; /* idle life of a search cursor (0 = 5 minutes) */
	uint32_t max_cursors;   /* cursors kept at once; the oldest goes first (0 = 64) */
	int readers;         /* read connections kept (0 = 16) */
	int group_max;       /* most writes per group commit (0 = 512) */
	bool no_sync;        /* skip fsync on commit (benchmarks of the ceiling only) */
	bool bulk;           /* opened for a bulk import: 64 MiB writer cache, checkpoints every 1 GiB of WAL,
	                        index rows of staging writes kept as runs and merged when it closes */
	/*
	 * Not bulk: groups keep their index rows as staged runs while no search
	 * is about, merged between groups once stage_rows are staged (0 =
	 * 100,000), and whenever a search or export needs the index exact
	 * (docs/internals/store.md, "Staged index runs"). index_in_place turns
	 * that off: every group writes its rows into the index tables.
	 */
	bool index_in_place;
	uint32_t stage_rows;
} jl_store_cfg_t;

typedef struct jl_write {
	/* in */
	uint8_t kind;        /* jl_write_kind */
	bool create_ok;      /* UPDATE may create the resource (client-assigned id) */
	jl_str_t type;       /* resource type name, e.g. "Patient" */
	jl_str_t id;         /* logical id */
	int64_t if_match;    /* > 0: the current version must be this one, else JL_EPRECOND */
	bool if_match_live;  /* apply if_match only when the resource exists and is not deleted
	                        (a body's meta.versionId: stale for a live resource, moot otherwise) */
	jl_str_t body;       /* opaque body bytes (empty for DELETE) */
	uint32_t body_meta;  /* an opaque number stored with the body (fhir/resource.c uses it) */
	/*
	 * Search index maintenance (when `index`): the rows of the new version
	 * (none for a DELETE) replace those of the version it supersedes, which
	 * the caller extracted itself from version ix_old_ver (0: absent). If
	 * that is no longer the current version when the write is applied, the
	 * write fails with JL_ESTALE: re-read, re-extract, retry.
	 */
	bool index;
	/*
	 * A bulk load's write: in a store opened with `bulk`, the index rows of
	 * a group whose every indexed write asks so are kept as sorted runs and
	 * merged into the index later, in key order (sqlite_stage.h). Searches
	 * never see the difference: they have the runs merged first.
	 */
	bool stage;
	/*
	 * Acknowledged when committed, the fsync following on the store's own
	 * schedule (within two groups; at the latest at close): for a load that
	 * records its position in the same transactions, so that a crash loses
	 * a suffix it redoes. A group is acknowledged early only if every write
	 * of it asks so; a later fsync failure refuses every write after it.
	 */
	bool durable_later;
	const jl_ix_rows_t *ix;
	const jl_ix_rows_t *ix_old;
	int64_t ix_old_ver;
	/* out */
	jl_rc rc;            /* this write's outcome */
	int64_t ver;         /* version written (for a no-op delete: the current version) */
	int64_t updated_us;  /* its last-updated instant */
	bool created;        /* the resource did not exist or was deleted before */
	bool noop;           /* DELETE of an absent-or-deleted resource wrote nothing */
} jl_write_t;

typedef struct jl_version {
	jl_str_t type, id;   /* arena-owned copies */
	int64_t ver;
	int64_t updated_us;
	bool deleted;
	uint8_t method;      /* jl_write_kind that made this version */
	jl_str_t body;       /* decoded body (empty for a deletion), arena-owned */
	uint32_t body_meta;
} jl_version_t;

/* History: newest first. Instants are unique, so they serve as the cursor. */
typedef struct jl_hist_query {
	jl_str_t type;       /* empty: whole store */
	jl_str_t id;         /* set (with type): one resource */
	int64_t since_us;    /* > 0: only versions with updated >= since_us (_since) */
	int64_t before_us;   /* > 0: only versions with updated <  before_us (cursor, snapshot) */
	int64_t after_us;    /* > 0: the page just newer than after_us (previous link); still newest first */
	uint32_t count;      /* page size, >= 1 */
} jl_hist_query_t;

typedef struct jl_hist_page {
	jl_version_t *items; /* arena-owned, newest first */
	size_t n;
	bool more_older;     /* versions older than the last item match */
	bool more_newer;     /* versions newer than the first item match */
	int64_t snapshot_us; /* newest instant visible to the query's snapshot (for pinning) */
	int64_t total;       /* number of matching versions if cheap (instance history), else -1 */
} jl_hist_page_t;

typedef struct jl_type_count {
	const char *type;    /* arena-owned */
	int64_t live;        /* resources whose current version is not deleted */
	int64_t versions;    /* all versions ever written */
} jl_type_count_t;

typedef struct jl_store_stats {
	int64_t bytes;       /* database size on disk (main file + WAL) */
	int64_t versions;
	int64_t resources;
	/* since the store was opened */
	int64_t commits;     /* database transactions committed (one per group of write() calls) */
	int64_t calls;       /* write() calls committed */
	int64_t max_group;   /* the most write() calls one commit carried */
	/* where committed calls spent their time, summed over calls (divide by calls for a mean): */
	int64_t queue_ns;    /* queued, until their group started */
	int64_t run_ns;      /* their group's statements and COMMIT (with the fsync when it is inline) */
	int64_t sync_ns;     /* after COMMIT, until the fsync that made them durable returned */
	int64_t merges;      /* merges of staged index rows finished (between groups, or for a search) */
	int64_t merge_ns;    /* time the writer spent merging */
} jl_store_stats_t;

/*
 * Completion of write_async: runs on the store's writer thread, once, with
 * the same result write() would have returned. Keep it short (wake the
 * waiting party) and do not call the store from it.
 */
typedef void (*jl_write_done_fn)(void *arg, jl_rc rc);

/*
 * Search, as the search layer hands it to a backend: a conjunction of
 * conditions, each a disjunction of terms over the index tables (or the
 * resource table), plus sort keys and a page size. The backend chooses the
 * order of evaluation (most selective first, from statistics it keeps),
 * runs the query on one snapshot, and keeps that snapshot for the later
 * pages of the same search (a cursor) so pages never repeat or skip a
 * resource while others write.
 */
typedef enum jl_sq_op {
	JL_SQ_EQ = 1, JL_SQ_NE, JL_SQ_GT, JL_SQ_LT, JL_SQ_GE, JL_SQ_LE, JL_SQ_SA, JL_SQ_EB, JL_SQ_AP,
} jl_sq_op;

typedef enum jl_sq_match {
	JL_SQ_TEXT_EXACT = 1, /* v equals */
	JL_SQ_TEXT_PREFIX,    /* v starts with */
	JL_SQ_TEXT_CONTAINS,  /* v contains */
	JL_SQ_TEXT_ABOVE,     /* v is a prefix of the value given (uri :above) */
} jl_sq_match;

typedef enum jl_sq_kind {
	JL_SQ_KEY = 1, /* a TOKEN or COMPOSITE row with key k */
	JL_SQ_RANGE,   /* a DATE, NUMBER or QUANTITY row with key k whose [lo,hi) meets op against [a,b) */
	JL_SQ_TEXT,    /* a STRING or URI row with key k whose v matches; TEXT: a token row under the target of one */
	JL_SQ_REF,     /* a REF row with key k whose target is one of targets */
	JL_SQ_CHAIN,   /* a REF row with key k whose target is a resource matching sub */
	JL_SQ_HAS,     /* this resource is the target of a REF row with key k of a resource matching sub */
	JL_SQ_ID,      /* the logical id is one of vs */
	JL_SQ_UPDATED, /* the last-updated instant meets op against [a,b) */
	JL_SQ_PRESENT, /* search parameter number `bit` of the type had a value */
	JL_SQ_TYPE,    /* the resource type is one of vs (system-level search) */
} jl_sq_kind;

struct jl_sq_query;

typedef struct jl_sq_term {
	uint8_t kind;        /* jl_sq_kind */
	uint8_t table;       /* jl_ix_table for KEY, RANGE, TEXT */
	uint8_t op;          /* jl_sq_op for RANGE and UPDATED */
	uint8_t match;       /* jl_sq_match for TEXT */
	uint16_t bit;        /* PRESENT */
	int64_t k;
	int64_t ia, ib;      /* DATE, UPDATED bounds: the search value's [a, b) in µs */
	double da, db;       /* NUMBER, QUANTITY bounds */
	int64_t us, uc;      /* QUANTITY unit: the row's us must equal us (system|code), or its uc or uu equal uc (||code); 0: any */
	bool sys;            /* TOKEN KEY: only rows whose system is s (jl_ix_row_t.s without JL_IX_TOKEN_DUP) */
	int64_t s;
	jl_str_t v;          /* TEXT */
	const jl_str_t *vs;  /* ID, TYPE */
	uint32_t nvs;
	const int64_t *targets; /* REF */
	uint32_t ntargets;
	const struct jl_sq_query *sub; /* CHAIN, HAS */
} jl_sq_term_t;

typedef struct jl_sq_cond {
	const jl_sq_term_t *terms; /* OR */
	uint32_t nterms;
	bool negate;         /* NOT (…): :not, :missing=true, ne */
} jl_sq_cond_t;

typedef enum jl_sq_sort_by {
	JL_SQ_SORT_ID = 1, JL_SQ_SORT_UPDATED, JL_SQ_SORT_DATE, JL_SQ_SORT_NUMBER, JL_SQ_SORT_TEXT,
	JL_SQ_SORT_KEY, /* a key computed from each matching version by the caller's function */
} jl_sq_sort_by;

/*
 * A sort key computed from a stored version (tokens and references, whose
 * index rows hold hashes, not values): the lowest value of the parameter
 * for an ascending sort, the highest for a descending one; JL_STR_NULL when
 * the version has none (it sorts last). The key must be arena-owned or
 * static. Such sorts read every match once, so the backend caps how many
 * matches it sorts this way (JL_ETOOBIG beyond).
 */
typedef jl_rc (*jl_sq_key_fn)(const void *arg, jl_arena_t *a, const jl_version_t *v, jl_str_t param, bool desc,
			      jl_str_t *key);

typedef struct jl_sq_sort {
	uint8_t by;          /* jl_sq_sort_by */
	uint8_t table;       /* DATE, NUMBER, QUANTITY, STRING, URI for the parameter sorts */
	bool desc;
	int64_t k;
	jl_str_t param;      /* KEY: the parameter's code, passed to key() */
	jl_sq_key_fn key;    /* KEY */
	const void *key_arg;
} jl_sq_sort_t;

typedef struct jl_sq_query {
	jl_str_t type;       /* empty: every type */
	const jl_sq_cond_t *conds; /* AND */
	uint32_t nconds;
	const jl_sq_sort_t *sorts;
	uint32_t nsorts;
	uint32_t count;      /* page size; 0: no items (count only) */
	bool total;          /* compute the exact number of matches */
	bool estimate;       /* the planner's estimate is wanted (page.estimate) even without a choice to make */
	bool explain;        /* describe the plan in page.plan */
	bool no_cursor;      /* one page only: do not keep a snapshot for later pages */
} jl_sq_query_t;

typedef struct jl_sq_page {
	jl_version_t *items; /* current versions as of the snapshot, in order */
	size_t n;
	int64_t total;       /* exact when asked, else -1 */
	int64_t estimate;    /* the planner's estimate of the matches */
	bool more;           /* a next page exists */
	uint32_t page;       /* this page's number, from 0 */
	jl_str_t cursor;     /* opaque id for other pages; empty when everything fit one page */
	jl_str_t plan;       /* explain: the plan in words and SQL */
} jl_sq_page_t;

/*
 * Export scan (bulk data export): the current, non-deleted version of every
 * resource a query selects, handed to a callback one at a time, all read
 * from one snapshot of the store, in storage order — by last-updated
 * instant, the types interleaved — so a backend can read its bodies in one
 * sequential pass. Nothing is materialised beyond the row at hand, so
 * memory stays bounded whatever the data size.
 */
typedef struct jl_scan_type {
	jl_str_t type;             /* resource type name */
	const jl_sq_cond_t *conds; /* AND of ORs, as in a search (e.g. a compartment); NULL: every resource */
	uint32_t nconds;
} jl_scan_type_t;

/*
 * Called once per resource. v (and everything it points to) is valid only
 * during the call. body_rc is JL_OK, or JL_EIO when the stored body could
 * not be decoded (v->body is then empty): the callback decides whether that
 * ends the scan. Any other return than JL_OK stops the scan, and the scan
 * returns that code.
 */
typedef jl_rc (*jl_scan_fn)(void *arg, const jl_version_t *v, jl_rc body_rc);

typedef struct jl_scan_query {
	/* The types wanted, each with its conditions; NULL (ntypes 0): every type. A type may be listed
	 * several times: a resource of it is taken when it meets the conditions of any of its entries. */
	const jl_scan_type_t *types;
	uint32_t ntypes;
	int64_t since_us;            /* > 0: only resources whose current version has updated >= since_us */
	/* Called once, before the first resource, with the snapshot's newest instant (0: empty store). */
	jl_rc (*begin)(void *arg, int64_t snapshot_us);
} jl_scan_query_t;

/* Rebuilding the search index: the rows of one live version (NULL: none). */
typedef jl_rc (*jl_reindex_fn)(void *arg, jl_arena_t *a, const jl_version_t *v, const jl_ix_rows_t **rows);
typedef void (*jl_progress_fn)(void *arg, int64_t done, int64_t total);

typedef struct jl_store_ops {
	const char *name;
	/* Waits for queued writes, checkpoints and closes. NULL-safe. */
	void (*close)(jl_store_t *s);
	/*
	 * Applies w[0..n) atomically (see above). Returns JL_OK when all
	 * committed; otherwise the rc of the first write that failed (also in
	 * its w[i].rc) and nothing of this call is written. deadline_ns
	 * (monotonic, 0 = none): JL_ETIMEOUT if the batch could not start by then.
	 * JL_EBUSY after close began.
	 */
	jl_rc (*write)(jl_store_t *s, jl_write_t *w, size_t n, int64_t deadline_ns);
	/*
	 * The same without waiting: JL_OK means queued, and done(arg, rc) will
	 * be called exactly once when the call has committed or failed; w[0..n)
	 * (and the bytes its bodies point to) must stay valid until then. Any
	 * other return means nothing was queued and done will not be called.
	 * A call still queued at its deadline completes with JL_ETIMEOUT.
	 */
	jl_rc (*write_async)(jl_store_t *s, jl_write_t *w, size_t n, int64_t deadline_ns, jl_write_done_fn done,
			     void *arg);
	/*
	 * One version: ver = 0 for the current one. JL_ENOTFOUND when the
	 * resource (or that version) never existed; a deleted version is
	 * returned with deleted = true (the caller answers 410).
	 */
	jl_rc (*read)(jl_store_t *s, jl_arena_t *a, jl_str_t type, jl_str_t id, int64_t ver,
		      jl_version_t *out);
	jl_rc (*history)(jl_store_t *s, jl_arena_t *a, const jl_hist_query_t *q, jl_hist_page_t *out);
	/* Live and total version counts per resource type (kept up to date by writes; O(types)). */
	jl_rc (*counts)(jl_store_t *s, jl_arena_t *a, jl_type_count_t **out, size_t *n);
	jl_rc (*stats)(jl_store_t *s, jl_store_stats_t *out);
	/* Full integrity check of the database (PRAGMA integrity_check for SQLite). */
	jl_rc (*check)(jl_store_t *s, jl_diag_t *d);
	/*
	 * Runs a search and returns its first page. When more pages exist,
	 * page.cursor names a snapshot kept for cursor_ttl_ms after its last use.
	 * JL_ETOOBIG when a cap of the backend is hit (described in d).
	 */
	jl_rc (*search)(jl_store_t *s, jl_arena_t *a, const jl_sq_query_t *q, jl_sq_page_t *out, jl_diag_t *d);
	/* Another page of a search by its cursor. JL_EGONECURSOR when it expired or never existed. */
	jl_rc (*search_page)(jl_store_t *s, jl_arena_t *a, jl_str_t cursor, uint32_t page, jl_sq_page_t *out);
	/* Stored value of a setting (JL_ENOTFOUND if unset), and setting one (a write of its own). */
	/*
	 * Rebuilds the search index: empties every index table, then asks fn
	 * for the rows of each live resource's current version and stores
	 * them, in batches of one transaction each. Runs on the writer; other
	 * writes wait for it. Cursors opened before it see the old index.
	 */
	jl_rc (*reindex)(jl_store_t *s, jl_reindex_fn fn, void *arg, jl_progress_fn progress, void *parg);
	jl_rc (*meta_get)(jl_store_t *s, jl_arena_t *a, const char *key, jl_str_t *value);
	jl_rc (*meta_set)(jl_store_t *s, const char *key, jl_str_t value);
	/*
	 * Export scan (see jl_scan_query_t). Holds one read connection and its
	 * snapshot for the whole scan; writers are not blocked, but the WAL
	 * cannot be checkpointed past the snapshot until the scan ends.
	 * JL_EINVAL for a bad query, JL_ETOOBIG when conditions exceed the
	 * backend's limits, JL_EIO, or the callback's code.
	 */
	jl_rc (*scan)(jl_store_t *s, const jl_scan_query_t *q, jl_scan_fn fn, void *arg);
	/*
	 * Logical ids by target hash (jl_store_target2), in one snapshot:
	 * ids[i] is the id of the live resource of `type` whose hash is th[i],
	 * or empty when there is none. For modules that keep hashes instead of
	 * ids (monitor/facts). JL_EINVAL, JL_ENOMEM, JL_EIO.
	 */
	jl_rc (*ids_of)(jl_store_t *s, jl_arena_t *a, jl_str_t type, const int64_t *th, size_t n, jl_str_t *ids);
	/*
	 * The data directory, where modules may keep derived files beside the
	 * database (monitor/project's facts projection); NULL for a backend
	 * without one (or when the op is not set). Valid until close.
	 */
	const char *(*dir)(jl_store_t *s);
	/*
	 * Completes the index work a bulk load deferred (the SQLite backend:
	 * merges the staged runs, sqlite_stage.h), so that it is paid inside
	 * the load rather than by the first search or at close. JL_OK when
	 * there is none; NULL for a backend that defers nothing.
	 */
	jl_rc (*finish_load)(jl_store_t *s);
} jl_store_ops_t;

/* Every backend's handle starts with this. */
struct jl_store {
	const jl_store_ops_t *ops;
};

/*
 * The target hash of a reference as the index stores it: of "Patient/123",
 * "Patient/123/_history/2", an absolute URL or a canonical. target2 hashes
 * "type/id"; every resource carries it (res.th) so references join to it.
 */
int64_t jl_store_target(jl_str_t ref);
int64_t jl_store_target2(jl_str_t type, jl_str_t id);

/* Opens the backend named `backend` ("sqlite"). Problems are described in d. */
jl_rc jl_store_open(const char *backend, const jl_store_cfg_t *cfg, jl_store_t **out, jl_diag_t *d)
	JL_MUST_USE;

static inline void jl_store_close(jl_store_t *s)
{
	if (s)
		s->ops->close(s);
}
static inline jl_rc jl_store_write(jl_store_t *s, jl_write_t *w, size_t n, int64_t deadline_ns)
{
	return s->ops->write(s, w, n, deadline_ns);
}
static inline jl_rc jl_store_write_async(jl_store_t *s, jl_write_t *w, size_t n, int64_t deadline_ns,
					jl_write_done_fn done, void *arg)
{
	return s->ops->write_async(s, w, n, deadline_ns, done, arg);
}
static inline jl_rc jl_store_read(jl_store_t *s, jl_arena_t *a, jl_str_t type, jl_str_t id,
				  int64_t ver, jl_version_t *out)
{
	return s->ops->read(s, a, type, id, ver, out);
}
static inline const char *jl_store_dir(jl_store_t *s)
{
	return s->ops->dir ? s->ops->dir(s) : NULL;
}

static inline jl_rc jl_store_history(jl_store_t *s, jl_arena_t *a, const jl_hist_query_t *q,
				     jl_hist_page_t *out)
{
	return s->ops->history(s, a, q, out);
}
static inline jl_rc jl_store_counts(jl_store_t *s, jl_arena_t *a, jl_type_count_t **out, size_t *n)
{
	return s->ops->counts(s, a, out, n);
}
static inline jl_rc jl_store_stats(jl_store_t *s, jl_store_stats_t *out)
{
	return s->ops->stats(s, out);
}
static inline jl_rc jl_store_check(jl_store_t *s, jl_diag_t *d)
{
	return s->ops->check(s, d);
}
static inline jl_rc jl_store_search(jl_store_t *s, jl_arena_t *a, const jl_sq_query_t *q, jl_sq_page_t *out,
				    jl_diag_t *d)
{
	return s->ops->search(s, a, q, out, d);
}
static inline jl_rc jl_store_scan(jl_store_t *s, const jl_scan_query_t *q, jl_scan_fn fn, void *arg)
{
	return s->ops->scan(s, q, fn, arg);
}
static inline jl_rc jl_store_finish_load(jl_store_t *s)
{
	return s->ops->finish_load ? s->ops->finish_load(s) : JL_OK;
}
static inline jl_rc jl_store_ids_of(jl_store_t *s, jl_arena_t *a, jl_str_t type, const int64_t *th, size_t n,
				    jl_str_t *ids)
{
	return s->ops->ids_of(s, a, type, th, n, ids);
}
static inline jl_rc jl_store_search_page(jl_store_t *s, jl_arena_t *a, jl_str_t cursor, uint32_t page,
					 jl_sq_page_t *out)
{
	return s->ops->search_page(s, a, cursor, page, out);
}

#endif
