/*
 * store/sqlite — the SQLite backend of the storage interface (store.h).
 *
 * One database file per data directory, in WAL mode with synchronous=FULL:
 * a commit is durable once the WAL is fsync'd, readers see a snapshot and
 * never block the writer. Writes go through one dedicated writer thread that
 * owns the only read-write connection: write() validates and compresses in
 * the caller's thread, queues the call and waits; the writer takes every
 * queued call, runs each inside its own SAVEPOINT of one BEGIN IMMEDIATE
 * transaction and COMMITs once for the whole group — one fsync for many
 * callers, while a failing call rolls back only itself. Reads borrow a
 * read-only connection from a pool; each keeps its prepared statements, a
 * zstd decompression context and a cache of type ids for its lifetime.
 *
 * Schema (version 1; see docs/internals/store.md for why this shape):
 *   rtype(id, name)                          type name <-> small int
 *   res(type, lid, rid, ver, updated, deleted) current state, keyed (type, lid)
 *   ver(updated PK, rid, ver, type, deleted, method, enc, meta, body)
 *                                            every version; its last-updated
 *                                            instant is unique, so it is the rowid
 *   type_stats(type, live, versions)         exact counts for /metrics
 * rid is the stable internal key of a logical resource (search index rows
 * will reference it).
 */
#include "store/sqlite.h"
#include "store/sqlite_ckpt.h"
#include "store/sqlite_ix.h"
#include "store/sqlite_stage.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_sync.h"
#include "store/sqlite_vfs.h"
#include "store/zdict.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zstd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"

#define DB_FILE "jianlian.db"
#define SCHEMA_VERSION 6
/*
 * WAL frames (4 KiB pages) after which the checkpointer copies the WAL into
 * the database. A bulk load (import) writes thousands of resources per
 * commit, each dirtying a few index pages at random: with a small WAL every
 * checkpoint copied those pages again. A 1 GiB WAL checkpoints once per many
 * commits (pages dirtied again meanwhile are copied once): importing 528,584
 * resources (a 720 MB database) read 3.66 → 1.28 GB and wrote 5.60 → 4.00 GB.
 * Commits stay durable (synchronous=FULL); the WAL restarts after a checkpoint.
 */
#define CKPT_PAGES 8000
/* The writer's page cache (KiB), and a bulk load's: a 5 GB import stays under 200 MB of RSS. */
#define WCACHE "PRAGMA cache_size = -98304"
#define WCACHE_BULK "PRAGMA cache_size = -65536"
#define CKPT_BULK 262144
/*
 * Index rows of ordinary writes (HTTP) are staged as runs too, unless a
 * search asked for a merge within SEARCH_QUIET_NS (then they go in place, so
 * searches do not wait for a merge each), and merged, a table per step
 * between groups, once STAGE_ROWS rows are staged. Under 16 HTTP clients
 * creating Observations into a growing store (3 × 15 s, this 2-core VM),
 * merging every ~44 k rows ran 6,640 / 5,680 / 5,230 creates/s (merges of
 * 30-65 ms), every ~175 k rows 6,930 / 6,240 / 5,940 (150-380 ms), every
 * ~520 k rows 7,240 / 6,700 / 6,000 (470-750 ms), against 4,840 / 4,080 /
 * 3,650 in place: each create's rows landed on ~20 different leaves, each
 * written whole to the WAL and again by the checkpoint.
 */
#define STAGE_ROWS 100000
#define SEARCH_QUIET_NS (1000 * 1000000LL)
#define APP_ID 1246512194 /* 0x4a4c4442, "JLDB": marks the file as ours, so we never adopt a foreign one */
#define STR_(x) #x
#define STR(x) STR_(x)
#define NAME_MAX_BYTES 64 /* type names and logical ids (FHIR ids are at most 64) */
#define ZSTD_MIN 128      /* below this a frame header eats most of the gain */
#define ZSTD_LEVEL 3      /* measured: see docs/internals/store.md */
#define HIST_MAX 10000    /* largest history page */
#define BUSY_MS 5000      /* only another process (a backup tool) can hold a lock */
#define GROUP_DEFAULT 512
#define READERS_DEFAULT 16
#define SMALL_CALL 8      /* calls up to this many writes keep their scratch on the stack */
#define META_MAX (1 << 20) /* largest setting value (JL_WRITE_META) */


/* ---- type-id cache ------------------------------------------------------ */

/*
 * rtype ids never change once committed, so each connection may cache
 * name -> id without invalidation (the writer drops its cache when a
 * transaction that inserted a type rolls back). Open addressing over a fixed
 * table; when it is three-quarters full we stop caching and ask the database.
 */
#define TC_SLOTS 256

typedef struct tslot {
	int64_t id; /* 0: empty (rtype ids start at 1) */
	uint32_t h;
	uint8_t n;
	char name[NAME_MAX_BYTES];
} tslot_t;

typedef struct tcache {
	tslot_t slot[TC_SLOTS];
	int used;
} tcache_t;

static uint32_t hash_str(jl_str_t s)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < s.n; i++)
		h = (h ^ (unsigned char)s.p[i]) * 16777619u;
	return h;
}

static int64_t tc_get(const tcache_t *c, jl_str_t name)
{
	uint32_t h = hash_str(name);
	for (uint32_t i = 0; i < TC_SLOTS; i++) {
		const tslot_t *e = &c->slot[(h + i) % TC_SLOTS];
		if (!e->id)
			return 0;
		if (e->h == h && e->n == name.n && memcmp(e->name, name.p, name.n) == 0)
			return e->id;
	}
	return 0;
}

static void tc_put(tcache_t *c, jl_str_t name, int64_t id)
{
	if (c->used >= TC_SLOTS * 3 / 4 || name.n > NAME_MAX_BYTES)
		return;
	uint32_t h = hash_str(name);
	for (uint32_t i = 0; i < TC_SLOTS; i++) {
		tslot_t *e = &c->slot[(h + i) % TC_SLOTS];
		if (e->id)
			continue;
		e->id = id;
		e->h = h;
		e->n = (uint8_t)name.n;
		memcpy(e->name, name.p, name.n);
		c->used++;
		return;
	}
}

static void tc_clear(tcache_t *c)
{
	memset(c, 0, sizeof *c);
}

/* ---- statements --------------------------------------------------------- */

/* Reader statements; the history ones take ?1 lo, ?2 hi (both exclusive), ?3 limit, ?4 key. */
enum {
	R_TYPE,
	R_CUR,
	R_VER,
	R_RES,
	R_SNAP,
	R_H_SYS_D,
	R_H_SYS_A,
	R_H_TYP_D,
	R_H_TYP_A,
	R_H_INS_D,
	R_H_INS_A,
	R_X_SYS,
	R_X_TYP,
	R_X_INS,
	R_N_INS,
	R_COUNTS,
	R_STATS,
	R_PAGES,
	R_IDS,
	R_BEGIN,
	R_COMMIT,
	R_ROLLBACK,
	R_COUNT
};

#define HIST_COLS "v.updated, v.ver, v.deleted, v.method, v.enc, v.meta, v.body, r.lid, t.name"
#define HIST_JOIN " JOIN res r ON r.rid = v.rid JOIN rtype t ON t.id = v.type"

/*
 * INDEXED BY pins the plans we measured: without it a later ANALYZE could
 * make SQLite prefer a rowid range scan of the whole version table for one
 * resource's history.
 */
static const char *const rsql[R_COUNT] = {
	[R_TYPE] = "SELECT id FROM rtype WHERE name = ?1",
	[R_CUR] = "SELECT v.ver, v.updated, v.deleted, v.method, v.enc, v.meta, v.body"
		  " FROM res r JOIN ver v ON v.updated = r.updated WHERE r.type = ?1 AND r.lid = ?2",
	[R_VER] = "SELECT v.ver, v.updated, v.deleted, v.method, v.enc, v.meta, v.body"
		  " FROM res r JOIN ver v INDEXED BY ver_rv ON v.rid = r.rid AND v.ver = ?3"
		  " WHERE r.type = ?1 AND r.lid = ?2",
	[R_RES] = "SELECT rid, ver FROM res WHERE type = ?1 AND lid = ?2",
	[R_SNAP] = "SELECT max(updated) FROM ver",
	[R_H_SYS_D] = "SELECT " HIST_COLS " FROM ver v" HIST_JOIN
		      " WHERE v.updated > ?1 AND v.updated < ?2 ORDER BY v.updated DESC LIMIT ?3",
	[R_H_SYS_A] = "SELECT " HIST_COLS " FROM ver v" HIST_JOIN
		      " WHERE v.updated > ?1 AND v.updated < ?2 ORDER BY v.updated ASC LIMIT ?3",
	[R_H_TYP_D] = "SELECT " HIST_COLS " FROM ver v INDEXED BY ver_type" HIST_JOIN
		      " WHERE v.type = ?4 AND v.updated > ?1 AND v.updated < ?2"
		      " ORDER BY v.updated DESC LIMIT ?3",
	[R_H_TYP_A] = "SELECT " HIST_COLS " FROM ver v INDEXED BY ver_type" HIST_JOIN
		      " WHERE v.type = ?4 AND v.updated > ?1 AND v.updated < ?2"
		      " ORDER BY v.updated ASC LIMIT ?3",
	/* Within one resource version order is instant order; ordering by ver avoids a sort. */
	[R_H_INS_D] = "SELECT " HIST_COLS " FROM ver v INDEXED BY ver_rv" HIST_JOIN
		      " WHERE v.rid = ?4 AND v.updated > ?1 AND v.updated < ?2"
		      " ORDER BY v.ver DESC LIMIT ?3",
	[R_H_INS_A] = "SELECT " HIST_COLS " FROM ver v INDEXED BY ver_rv" HIST_JOIN
		      " WHERE v.rid = ?4 AND v.updated > ?1 AND v.updated < ?2"
		      " ORDER BY v.ver ASC LIMIT ?3",
	[R_X_SYS] = "SELECT 1 FROM ver WHERE updated > ?1 AND updated < ?2 LIMIT 1",
	[R_X_TYP] = "SELECT 1 FROM ver INDEXED BY ver_type WHERE type = ?4 AND updated > ?1 AND updated < ?2"
		    " LIMIT 1",
	[R_X_INS] = "SELECT 1 FROM ver INDEXED BY ver_rv WHERE rid = ?4 AND updated > ?1 AND updated < ?2"
		    " LIMIT 1",
	[R_N_INS] = "SELECT count(*) FROM ver INDEXED BY ver_rv WHERE rid = ?4 AND updated > ?1",
	[R_COUNTS] = "SELECT t.name, s.live, s.versions FROM type_stats s JOIN rtype t ON t.id = s.type"
		     " ORDER BY t.name",
	[R_STATS] = "SELECT coalesce(sum(live), 0), coalesce(sum(versions), 0) FROM type_stats",
	[R_PAGES] = "SELECT c.page_count * s.page_size FROM pragma_page_count() c, pragma_page_size() s",
	/* +type: by res_th (a bulk load may have dropped it for a while: sqlite_stage.h), not by the key's type prefix */
	[R_IDS] = "SELECT lid FROM res WHERE th = ?1 AND +type = ?2 AND deleted = 0",
	[R_BEGIN] = "BEGIN",
	[R_COMMIT] = "COMMIT",
	[R_ROLLBACK] = "ROLLBACK",
};

enum {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_SAVE,
	W_RELEASE,
	W_ROLLBACK_TO,
	W_TYPE_GET,
	W_TYPE_INS,
	W_RES_GET,
	W_RES_INS,
	W_RES_UPD,
	W_VER_INS,
	W_STATS,
	W_MAX,
	W_META_SET,
	W_META_DEL,
	W_COUNT
};

static const char *const wsql[W_COUNT] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_SAVE] = "SAVEPOINT c",
	[W_RELEASE] = "RELEASE c",
	[W_ROLLBACK_TO] = "ROLLBACK TO c",
	[W_TYPE_GET] = "SELECT id FROM rtype WHERE name = ?1",
	[W_TYPE_INS] = "INSERT INTO rtype(name) VALUES (?1)",
	[W_RES_GET] = "SELECT rid, ver, updated, deleted FROM res WHERE type = ?1 AND lid = ?2",
	[W_RES_INS] = "INSERT INTO res(type, lid, rid, ver, updated, deleted, th, present)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[W_RES_UPD] = "UPDATE res SET ver = ?3, updated = ?4, deleted = ?5, present = ?8 WHERE type = ?1 AND lid = ?2",
	[W_VER_INS] = "INSERT INTO ver(updated, rid, ver, type, deleted, method, enc, meta, body)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[W_STATS] = "INSERT INTO type_stats(type, live, versions) VALUES (?1, ?2, ?3)"
		    " ON CONFLICT(type) DO UPDATE SET live = live + excluded.live, versions = versions + excluded.versions",
	[W_MAX] = "SELECT (SELECT coalesce(max(updated), 0) FROM ver), (SELECT coalesce(max(rid), 0) FROM res)",
	[W_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
	[W_META_DEL] = "DELETE FROM meta WHERE key = ?1",
};

/*
 * Migrations: scripts[v] takes a database from user_version v to v + 1 and
 * sets the new version itself, all inside the one migration transaction.
 */
static const char *const migrations[SCHEMA_VERSION] = {
	/* 0 -> 1: the initial schema. */
	"CREATE TABLE rtype(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	/* th: hash of "Type/lid", the form references take (chains and _has join on it);
	 * present: bitmap of the search parameters that had values (for :missing). */
	"CREATE TABLE res(type INTEGER NOT NULL, lid TEXT NOT NULL, rid INTEGER NOT NULL,"
	" ver INTEGER NOT NULL, updated INTEGER NOT NULL, deleted INTEGER NOT NULL,"
	" th INTEGER NOT NULL, present BLOB,"
	" PRIMARY KEY(type, lid)) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX res_rid ON res(rid);"
	JL__SQ_RES_TH ";"
	"CREATE INDEX res_type_rid ON res(type, rid);"
	"CREATE TABLE ver(updated INTEGER PRIMARY KEY, rid INTEGER NOT NULL, ver INTEGER NOT NULL,"
	" type INTEGER NOT NULL, deleted INTEGER NOT NULL, method INTEGER NOT NULL,"
	" enc INTEGER NOT NULL, meta INTEGER NOT NULL, body BLOB NOT NULL);"
	"CREATE UNIQUE INDEX ver_rv ON ver(rid, ver);"
	/* Index entries carry the rowid, so this is an index on (type, updated). */
	"CREATE INDEX ver_type ON ver(type);"
	"CREATE TABLE type_stats(type INTEGER PRIMARY KEY, live INTEGER NOT NULL, versions INTEGER NOT NULL);"
	/* Settings that must match the data, e.g. the fingerprint of the search definitions. */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	JL__SQIX_SCHEMA
	"PRAGMA application_id = " STR(APP_ID) ";"
	"PRAGMA user_version = 1;",
	/* 1 -> 2: (k, rid) access to string and uri rows, so a text condition that does not drive is
	 * one probe per candidate instead of the set of all its matches built for every search. */
	JL__SQIX_SCHEMA_2
	"PRAGMA user_version = 2;",
	/* 2 -> 3: nothing changes in the schema, but bodies may now be stored with the built-in
	 * dictionary (ver.enc = 2): the version keeps builds that cannot read them out. */
	"PRAGMA user_version = 3;",
	/* 3 -> 4: one quantity row per value with the unit in columns (sqlite_ix.h). The old rows cannot be
	 * converted without the resources: the search layer's fingerprint includes its row layout, so the
	 * next start rebuilds the index (or `jianlian reindex` does, under --no-auto-reindex). */
	"DROP TABLE ix_quantity;" JL__SQIX_QUANTITY
	"PRAGMA user_version = 4;",
	/* 4 -> 5: a token row per code with its system in a column, token texts once in ix_text
	 * (sqlite_ix.h); the index is rebuilt as for 4. (IF EXISTS: a file set back to 4 by hand.) */
	"DROP TABLE ix_token; DROP TABLE IF EXISTS ix_text;" JL__SQIX_TOKEN
	"PRAGMA user_version = 5;",
	/* 5 -> 6: index rows of bulk loads staged as sorted runs (sqlite_stage.h; IF NOT EXISTS: a file set back by hand). */
	JL__SQSTAGE_SCHEMA
	"PRAGMA user_version = 6;",
};

/* ---- the handle --------------------------------------------------------- */

typedef struct rconn {
	struct rconn *next; /* free list */
	sqlite3 *db;
	sqlite3_stmt *st[R_COUNT];
	ZSTD_DCtx *dctx; /* created on first compressed body */
	tcache_t types;
} rconn_t;

typedef struct zctx {
	struct zctx *next;
	ZSTD_CCtx *c;
} zctx_t;

/* One type's type_stats change within a call. */
typedef struct tstat {
	int64_t tid, live, versions;
} tstat_t;
#define TSTATS_MAX 32

/* A body as it will be stored: the caller's bytes, or a compressed copy we own. */
typedef struct wbody {
	const void *p;
	size_t n;
	void *owned;
	int enc;
} wbody_t;

enum { CALL_QUEUED, CALL_RUNNING, CALL_DONE };

/* One write() call; lives on the caller's stack while the caller waits. */
struct sq;

typedef struct wcall {
	struct wcall *prev, *next;
	jl_write_t *w;
	size_t n;
	const wbody_t *b;
	int64_t deadline_ns;
	int state;  /* CALL_*, under qmu */
	bool ran;   /* the writer opened a savepoint for it */
	jl_rc rc;
	pthread_cond_t cv;        /* sync calls: the caller waits on it */
	jl_write_done_fn done;    /* async calls: called by the writer instead; the call is heap-owned */
	void *arg;
	jl_rc (*exec)(struct sq *s, void *arg); /* maintenance run alone on the writer (reindex), instead of writes */
	void *exec_arg;
	int64_t t_queued, t_committed; /* monotonic ns: enqueued; its group's COMMIT returned */
} wcall_t;

typedef struct sq {
	jl_store_t base; /* first: the public handle */
	char *path, *wal_path;
	char *dir;       /* the data directory, for files other modules keep beside the database */
	int group_max;
	jl_log_t log;

	/* writer thread state: touched only by the writer after open */
	tstat_t tstats[TSTATS_MAX]; /* type_stats changes of the call being applied, written at its end */
	int ntstats;
	sqlite3 *wdb;
	sqlite3_stmt *ws[W_COUNT];
	jl__sqix_t *wix; /* index row statements */
	jl__sqstage_t *stage; /* staged index runs */
	bool bulk;       /* opened for a bulk load: groups of staging calls stage their index rows */
	bool stage_writes; /* not bulk: groups stage their index rows while no search is near (STAGE_ROWS) */
	int64_t stage_rows; /* a merge starts once this many rows are staged */
	int64_t in_place_until; /* jl_mono_ns: a search had runs merged; groups index in place until then */
	uint32_t merge_tables; /* the merge under way: tables still to merge (bit t: table t) */
	ZSTD_DCtx *wdctx; /* the writer's decompression context (reindex) */
	jl__sqs_t *search; /* search executor: its connections and cursors */
	tcache_t *wtypes;
	int64_t last_us;  /* last instant assigned */
	int64_t next_rid;

	/* the queue */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	pthread_condattr_t cattr; /* CLOCK_MONOTONIC, for callers' deadlines */
	wcall_t *qhead, *qtail;
	bool closing, writer_started, writer_joined;
	pthread_t writer;

	_Atomic int64_t commits, groups, calls, writes, max_group, merges, merge_ns;
	_Atomic int64_t queue_ns, run_ns, sync_ns; /* jl_store_stats_t */

	/* the reader pool */
	pthread_mutex_t pmu;
	pthread_cond_t pcv;
	rconn_t *pfree;
	int popen, pidle, pmax, pwaiting;
	bool closing_readers; /* destroy() waits for reads in flight */

	/* compression contexts for callers' threads */
	pthread_mutex_t zmu;
	zctx_t *zfree;
	ZSTD_CDict *cdict; /* the built-in body dictionary, prepared once (read-only, shared by callers' threads) */

	bool sync_ok; /* mutexes and condvars initialised */
	bool ours;    /* the file passed check_header: we may checkpoint it */
	jl__ckpt_t *ckpt; /* the checkpointer thread (sqlite_ckpt.h) */
	jl__sqsync_t *sync; /* acknowledges groups after their fsync (sqlite_sync.h); NULL without syncs */
} sq_t;

/* ---- small helpers ------------------------------------------------------ */

static jl_rc map_src(int src)
{
	switch (src & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return JL_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return JL_EBUSY;
	case SQLITE_NOMEM:
		return JL_ENOMEM;
	default:
		return JL_EIO;
	}
}

/* Logs a failed SQLite call (the message is SQLite's, never data) and maps its code. */
static jl_rc db_fail(sq_t *s, sqlite3 *db, int src, const char *what)
{
	jl_log_msg(&s->log, JL_LOG_ERROR, "store/sqlite: %s: %s (code %d)%s", what,
		   db ? sqlite3_errmsg(db) : sqlite3_errstr(src), src,
		   (src & 0xff) == SQLITE_FULL ? "; the disk is full" : "");
	return map_src(src);
}

/* d may be NULL: callers that do not want the details pass none. */
#define DIAG(d, code, ...)                                                                                   \
	do {                                                                                                 \
		if (d)                                                                                       \
			jl_diag_err((d), (code), NULL, __VA_ARGS__);                                         \
	} while (0)

static bool name_ok(jl_str_t s)
{
	return s.p && s.n >= 1 && s.n <= NAME_MAX_BYTES && !memchr(s.p, 0, s.n);
}

/* Runs a statement that returns no row we need; resets it. SQLITE_OK or the error. */
static int run(sqlite3_stmt *st)
{
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	return src == SQLITE_DONE || src == SQLITE_ROW ? SQLITE_OK : src;
}

static int bind_str(sqlite3_stmt *st, int i, jl_str_t s)
{
	/* The caller's bytes outlive the statement's use of them: no copy. */
	return sqlite3_bind_text(st, i, s.n ? s.p : "", (int)s.n, SQLITE_STATIC);
}

static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = jl_malloc(JL_MEM_STORE, a + b + 2);
	if (p) {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

/* mkdir -p; returns 0 or an errno. */
static int mkdir_p(const char *dir)
{
	size_t n = strlen(dir);
	int err = 0;
	char *p = jl_strndup(JL_MEM_STORE, dir, n);
	if (!p)
		return ENOMEM;
	for (size_t i = 1; i <= n && !err; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			err = errno;
		p[i] = c;
	}
	struct stat st;
	if (!err && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		err = errno ? errno : ENOTDIR;
	jl_free(JL_MEM_STORE, p);
	return err;
}

/*
 * A new file's directory entry must reach the disk too, or a power loss
 * could lose the file; the same holds for a new directory in its parent.
 */
static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	while (n > 0 && dir[n - 1] != '/')
		n--;
	char *parent = n ? jl_strndup(JL_MEM_STORE, dir, n) : jl_strndup(JL_MEM_STORE, ".", 1);
	if (parent) {
		fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
		jl_free(JL_MEM_STORE, parent);
	}
}

/* ---- compression -------------------------------------------------------- */

static zctx_t *zctx_get(sq_t *s)
{
	pthread_mutex_lock(&s->zmu);
	zctx_t *z = s->zfree;
	if (z)
		s->zfree = z->next;
	pthread_mutex_unlock(&s->zmu);
	if (z)
		return z;
	z = jl_malloc(JL_MEM_STORE, sizeof *z);
	if (!z)
		return NULL;
	z->c = ZSTD_createCCtx();
	if (!z->c) {
		jl_free(JL_MEM_STORE, z);
		return NULL;
	}
	return z;
}

static void zctx_put(sq_t *s, zctx_t *z)
{
	pthread_mutex_lock(&s->zmu);
	z->next = s->zfree;
	s->zfree = z;
	pthread_mutex_unlock(&s->zmu);
}

/* Decides how a body is stored; runs in the caller's thread, never under the write lock. */
static jl_rc encode(sq_t *s, const jl_write_t *w, wbody_t *b)
{
	jl_rc rc = JL_OK;
	void *buf = NULL;
	zctx_t *z = NULL;
	b->p = w->body.p;
	b->n = w->body.n;
	b->enc = ENC_RAW;
	b->owned = NULL;
	if (w->body.n < ZSTD_MIN || w->kind == JL_WRITE_META)
		goto out;
	size_t cap = ZSTD_compressBound(w->body.n);
	buf = jl_malloc(JL_MEM_STORE, cap);
	z = zctx_get(s);
	if (!buf || !z) {
		rc = JL_ENOMEM;
		goto out;
	}
	/* With the dictionary a small body compresses 3-4x better and faster (store/zdict.h). */
	size_t k = s->cdict ? ZSTD_compress_usingCDict(z->c, buf, cap, w->body.p, w->body.n, s->cdict)
			    : ZSTD_compressCCtx(z->c, buf, cap, w->body.p, w->body.n, ZSTD_LEVEL);
	/* Keep it raw unless it saves at least a tenth: decompression is not free. */
	if (ZSTD_isError(k) || k > w->body.n - w->body.n / 10)
		goto out;
	/* The bound is several times the result with the dictionary: a batch keeps only what it stores. */
	void *fit = jl_realloc(JL_MEM_STORE, buf, k ? k : 1);
	if (fit)
		buf = fit;
	b->p = b->owned = buf;
	b->n = k;
	b->enc = s->cdict ? ENC_ZDICT : ENC_ZSTD;
	buf = NULL;
out:
	if (z)
		zctx_put(s, z);
	jl_free(JL_MEM_STORE, buf);
	return rc;
}

/* Copies (or inflates) a stored body into the arena. Corrupt data is JL_EIO, never a crash. */
static jl_rc decode(rconn_t *c, jl_arena_t *a, int enc, const void *p, size_t n, jl_str_t *out)
{
	return jl__sq_decode(&c->dctx, a, enc, p, n, out);
}

/* ---- the reader pool ---------------------------------------------------- */

static void rconn_free(rconn_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < R_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	ZSTD_freeDCtx(c->dctx);
	jl_free(JL_MEM_STORE, c);
}

static jl_rc rconn_open(sq_t *s, rconn_t **out)
{
	jl_rc rc = JL_OK;
	int src;
	rconn_t *c = jl_calloc(JL_MEM_STORE, 1, sizeof *c);
	if (!c) {
		rc = JL_ENOMEM;
		goto out;
	}
	/* NOMUTEX: a pooled connection is used by one thread at a time. */
	src = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(s, c->db, src, "open reader");
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_MS);
	src = sqlite3_exec(c->db, "PRAGMA cache_size = -8192", NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(s, c->db, src, "configure reader");
		goto out;
	}
	for (int i = 0; i < R_COUNT; i++) {
		src = sqlite3_prepare_v3(c->db, rsql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
		if (src != SQLITE_OK) {
			rc = db_fail(s, c->db, src, "prepare reader statement");
			goto out;
		}
	}
out:
	if (rc) {
		rconn_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

/*
 * Borrows a read connection: the most recently returned one (its pages are
 * warm), a new one while fewer than cfg->readers exist, else waits.
 */
static jl_rc pool_get(sq_t *s, rconn_t **out)
{
	jl_rc rc = JL_OK;
	*out = NULL;
	pthread_mutex_lock(&s->pmu);
	while (!s->pfree && s->popen >= s->pmax) {
		s->pwaiting++;
		pthread_cond_wait(&s->pcv, &s->pmu);
		s->pwaiting--;
	}
	if (s->pfree) {
		*out = s->pfree;
		s->pfree = (*out)->next;
		s->pidle--;
		pthread_mutex_unlock(&s->pmu);
		goto out;
	}
	s->popen++;
	pthread_mutex_unlock(&s->pmu);
	rc = rconn_open(s, out);
	if (rc) {
		pthread_mutex_lock(&s->pmu);
		s->popen--;
		pthread_cond_broadcast(&s->pcv);
		pthread_mutex_unlock(&s->pmu);
	}
out:
	return rc;
}

static void pool_put(sq_t *s, rconn_t *c)
{
	/* A connection goes back outside any transaction, or the next user would see an old snapshot. */
	if (!sqlite3_get_autocommit(c->db))
		(void)run(c->st[R_ROLLBACK]);
	pthread_mutex_lock(&s->pmu);
	c->next = s->pfree;
	s->pfree = c;
	s->pidle++;
	if (s->pwaiting || s->closing_readers)
		pthread_cond_broadcast(&s->pcv);
	pthread_mutex_unlock(&s->pmu);
}

/* Type id for a name as seen by this reader; 0 when the type was never stored. */
/*
 * A pooled connection with a read transaction open, so several statements
 * see one snapshot. On failure *c may still be set: the caller returns it.
 */
static jl_rc read_begin(sq_t *s, rconn_t **c, const char *what)
{
	jl_rc rc = pool_get(s, c);
	if (rc)
		return rc;
	int src = run((*c)->st[R_BEGIN]);
	return src == SQLITE_OK ? JL_OK : db_fail(s, (*c)->db, src, what);
}

static jl_rc r_type(sq_t *s, rconn_t *c, jl_str_t name, int64_t *id)
{
	jl_rc rc = JL_OK;
	*id = tc_get(&c->types, name);
	if (*id)
		goto out;
	sqlite3_stmt *st = c->st[R_TYPE];
	bind_str(st, 1, name);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		tc_put(&c->types, name, *id);
	} else if (src != SQLITE_DONE) {
		rc = db_fail(s, c->db, src, "read type");
	}
	sqlite3_reset(st);
out:
	return rc;
}

/* ---- reads -------------------------------------------------------------- */

/* Columns 0..6 of R_CUR/R_VER: ver, updated, deleted, method, enc, meta, body. */
static jl_rc fill_version(rconn_t *c, jl_arena_t *a, sqlite3_stmt *st, int col, jl_version_t *v)
{
	v->ver = sqlite3_column_int64(st, col);
	v->updated_us = sqlite3_column_int64(st, col + 1);
	v->deleted = sqlite3_column_int(st, col + 2) != 0;
	v->method = (uint8_t)sqlite3_column_int(st, col + 3);
	int enc = sqlite3_column_int(st, col + 4);
	v->body_meta = (uint32_t)sqlite3_column_int64(st, col + 5);
	const void *p = sqlite3_column_blob(st, col + 6);
	size_t n = (size_t)sqlite3_column_bytes(st, col + 6);
	return decode(c, a, enc, p, n, &v->body);
}

static jl_rc sq_read(jl_store_t *st_, jl_arena_t *a, jl_str_t type, jl_str_t id, int64_t ver,
		     jl_version_t *out)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	rconn_t *c = NULL;
	sqlite3_stmt *st = NULL;
	int64_t tid;
	if (!out)
		return JL_EINVAL;
	memset(out, 0, sizeof *out);
	if (!a || !name_ok(type) || !name_ok(id) || ver < 0) {
		rc = JL_EINVAL;
		goto out;
	}
	rc = pool_get(s, &c);
	if (rc)
		goto out;
	rc = r_type(s, c, type, &tid);
	if (rc)
		goto out;
	if (!tid) {
		rc = JL_ENOTFOUND;
		goto out;
	}
	/* One statement, so one implicit read transaction: res by (type, lid), then ver. */
	st = c->st[ver ? R_VER : R_CUR];
	sqlite3_bind_int64(st, 1, tid);
	bind_str(st, 2, id);
	if (ver)
		sqlite3_bind_int64(st, 3, ver);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = JL_ENOTFOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = db_fail(s, c->db, src, "read");
		goto out;
	}
	rc = fill_version(c, a, st, 0, out);
	if (rc)
		goto out;
	out->type = jl_arena_str(a, type);
	out->id = jl_arena_str(a, id);
	if (!out->type.p || !out->id.p)
		rc = JL_ENOMEM;
out:
	if (st)
		sqlite3_reset(st);
	if (c)
		pool_put(s, c);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

enum { LV_SYS, LV_TYP, LV_INS };

/* Whether any version of the query's scope has lo < updated < hi. */
static jl_rc hist_exists(sq_t *s, rconn_t *c, int lv, int64_t key, int64_t lo, int64_t hi, bool *yes)
{
	jl_rc rc = JL_OK;
	sqlite3_stmt *st = c->st[lv == LV_SYS ? R_X_SYS : lv == LV_TYP ? R_X_TYP : R_X_INS];
	*yes = false;
	if (lo >= hi - 1)
		goto out;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	if (lv != LV_SYS)
		sqlite3_bind_int64(st, 4, key);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*yes = true;
	else if (src != SQLITE_DONE)
		rc = db_fail(s, c->db, src, "history");
	sqlite3_reset(st);
out:
	return rc;
}

/* Reads one page row: HIST_COLS. */
static jl_rc hist_row(rconn_t *c, jl_arena_t *a, sqlite3_stmt *st, jl_version_t *v)
{
	jl_rc rc;
	v->updated_us = sqlite3_column_int64(st, 0);
	v->ver = sqlite3_column_int64(st, 1);
	v->deleted = sqlite3_column_int(st, 2) != 0;
	v->method = (uint8_t)sqlite3_column_int(st, 3);
	v->body_meta = (uint32_t)sqlite3_column_int64(st, 5);
	rc = decode(c, a, sqlite3_column_int(st, 4), sqlite3_column_blob(st, 6),
		    (size_t)sqlite3_column_bytes(st, 6), &v->body);
	if (rc)
		return rc;
	const char *lid = (const char *)sqlite3_column_text(st, 7);
	const char *name = (const char *)sqlite3_column_text(st, 8);
	if (!lid || !name)
		return JL_EIO;
	v->id = jl_arena_str(a, jl_str(lid, (size_t)sqlite3_column_bytes(st, 7)));
	v->type = jl_arena_str(a, jl_str(name, (size_t)sqlite3_column_bytes(st, 8)));
	return v->id.p && v->type.p ? JL_OK : JL_ENOMEM;
}

static jl_rc sq_history(jl_store_t *st_, jl_arena_t *a, const jl_hist_query_t *q, jl_hist_page_t *out)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	rconn_t *c = NULL;
	sqlite3_stmt *st = NULL;
	int src, lv;
	int64_t key = 0, cur_ver = 0;
	if (!out)
		return JL_EINVAL;
	memset(out, 0, sizeof *out);
	out->total = -1;
	if (!a || !q || q->count < 1 || (q->id.n && !q->type.n) || (q->type.n && !name_ok(q->type)) ||
	    (q->id.n && !name_ok(q->id)) || q->since_us < 0 || q->before_us < 0 || q->after_us < 0) {
		rc = JL_EINVAL;
		goto out;
	}
	if (q->count > HIST_MAX) {
		rc = JL_ETOOBIG;
		goto out;
	}
	lv = q->id.n ? LV_INS : q->type.n ? LV_TYP : LV_SYS;
	/* Everything below reads one snapshot, so the flags and the page agree. */
	rc = read_begin(s, &c, "history begin");
	if (rc)
		goto out;
	st = c->st[R_SNAP];
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = db_fail(s, c->db, src, "history snapshot");
		goto out;
	}
	out->snapshot_us = sqlite3_column_int64(st, 0); /* NULL (empty store) reads as 0 */
	sqlite3_reset(st);
	st = NULL;

	if (lv != LV_SYS) {
		rc = r_type(s, c, q->type, &key);
		if (rc)
			goto out;
		if (!key) {
			/* A type never stored has no history; an unknown resource has total 0. */
			out->total = lv == LV_INS ? 0 : -1;
			goto done;
		}
	}
	if (lv == LV_INS) {
		st = c->st[R_RES];
		sqlite3_bind_int64(st, 1, key);
		bind_str(st, 2, q->id);
		src = sqlite3_step(st);
		if (src == SQLITE_DONE) {
			out->total = 0;
			goto done;
		}
		if (src != SQLITE_ROW) {
			rc = db_fail(s, c->db, src, "history resource");
			goto out;
		}
		key = sqlite3_column_int64(st, 0);
		cur_ver = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		st = NULL;
	}

	/* All bounds as one open interval (lo, hi); since is inclusive, hence - 1. */
	int64_t lo_s = q->since_us > 0 ? q->since_us - 1 : INT64_MIN;
	int64_t hi = q->before_us > 0 ? q->before_us : INT64_MAX;
	bool asc = q->after_us > 0;
	int64_t lo = asc && q->after_us > lo_s ? q->after_us : lo_s;
	static const int pick[3][2] = {
		{R_H_SYS_D, R_H_SYS_A}, {R_H_TYP_D, R_H_TYP_A}, {R_H_INS_D, R_H_INS_A}};

	out->items = jl_arena_calloc(a, q->count, sizeof *out->items);
	if (!out->items) {
		rc = JL_ENOMEM;
		goto out;
	}
	st = c->st[pick[lv][asc]];
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_int64(st, 3, (int64_t)q->count + 1); /* one more tells whether more exist */
	if (lv != LV_SYS)
		sqlite3_bind_int64(st, 4, key);
	bool more = false;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == q->count) {
			more = true;
			break;
		}
		rc = hist_row(c, a, st, &out->items[out->n]);
		if (rc)
			goto out;
		out->n++;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = db_fail(s, c->db, src, "history page");
		goto out;
	}
	sqlite3_reset(st);
	st = NULL;

	if (asc) {
		for (size_t i = 0, j = out->n; i + 1 < j; i++, j--) {
			jl_version_t t = out->items[i];
			out->items[i] = out->items[j - 1];
			out->items[j - 1] = t;
		}
		out->more_newer = more;
		/* Older than the page: below its oldest item, or (empty page) at or below after_us. */
		int64_t bound = out->n ? out->items[out->n - 1].updated_us
				       : (q->after_us < hi ? q->after_us + 1 : hi);
		rc = hist_exists(s, c, lv, key, lo_s, bound, &out->more_older);
	} else {
		out->more_older = more;
		if (out->n)
			rc = hist_exists(s, c, lv, key, out->items[0].updated_us, INT64_MAX, &out->more_newer);
		else if (q->before_us > 0)
			rc = hist_exists(s, c, lv, key, q->before_us - 1 > lo_s ? q->before_us - 1 : lo_s,
					 INT64_MAX, &out->more_newer);
	}
	if (rc)
		goto out;

	if (lv == LV_INS) {
		/* Versions have no gaps, so without _since the total is the current version. */
		if (q->since_us <= 0) {
			out->total = cur_ver;
		} else {
			st = c->st[R_N_INS];
			sqlite3_bind_int64(st, 1, lo_s);
			sqlite3_bind_int64(st, 4, key);
			src = sqlite3_step(st);
			if (src != SQLITE_ROW) {
				rc = db_fail(s, c->db, src, "history total");
				goto out;
			}
			out->total = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			st = NULL;
		}
	}
done:
	src = run(c->st[R_COMMIT]);
	if (src != SQLITE_OK)
		rc = db_fail(s, c->db, src, "history commit");
out:
	if (st)
		sqlite3_reset(st);
	if (c)
		pool_put(s, c); /* rolls back if still in the transaction */
	if (rc) {
		memset(out, 0, sizeof *out);
		out->total = -1;
	}
	return rc;
}

static jl_rc sq_counts(jl_store_t *st_, jl_arena_t *a, jl_type_count_t **out, size_t *n)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	rconn_t *c = NULL;
	sqlite3_stmt *st = NULL;
	jl_type_count_t *v = NULL;
	size_t k = 0, cap = 0;
	int src;
	if (!out || !n)
		return JL_EINVAL;
	*out = NULL;
	*n = 0;
	if (!a) {
		rc = JL_EINVAL;
		goto out;
	}
	rc = pool_get(s, &c);
	if (rc)
		goto out;
	st = c->st[R_COUNTS];
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			jl_type_count_t *nv = jl_arena_alloc(a, ncap * sizeof *nv);
			if (!nv) {
				rc = JL_ENOMEM;
				goto out;
			}
			if (k)
				memcpy(nv, v, k * sizeof *nv);
			v = nv;
			cap = ncap;
		}
		const char *name = (const char *)sqlite3_column_text(st, 0);
		v[k].type = jl_arena_strndup(a, name ? name : "", (size_t)sqlite3_column_bytes(st, 0));
		if (!v[k].type) {
			rc = JL_ENOMEM;
			goto out;
		}
		v[k].live = sqlite3_column_int64(st, 1);
		v[k].versions = sqlite3_column_int64(st, 2);
		k++;
	}
	if (src != SQLITE_DONE) {
		rc = db_fail(s, c->db, src, "counts");
		goto out;
	}
	*out = v;
	*n = k;
out:
	if (st)
		sqlite3_reset(st);
	if (c)
		pool_put(s, c);
	return rc;
}

/* One hash: the id of the live resource of type tid that has it (a 64-bit collision is checked, not assumed away). */
static jl_rc id_of(sq_t *s, rconn_t *c, jl_arena_t *a, jl_str_t type, int64_t tid, int64_t th, jl_str_t *id)
{
	jl_rc rc = JL_OK;
	sqlite3_stmt *st = c->st[R_IDS];
	int src;
	*id = (jl_str_t){0};
	sqlite3_bind_int64(st, 1, th);
	sqlite3_bind_int64(st, 2, tid);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		jl_str_t lid = jl_str((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		if (jl_store_target2(type, lid) != th)
			continue;
		*id = jl_arena_str(a, lid);
		if (!id->p)
			rc = JL_ENOMEM;
		break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = db_fail(s, c->db, src, "ids by hash");
	sqlite3_reset(st);
	return rc;
}

static jl_rc sq_ids_of(jl_store_t *st_, jl_arena_t *a, jl_str_t type, const int64_t *th, size_t n, jl_str_t *ids)
{
	sq_t *s = (sq_t *)st_;
	rconn_t *c = NULL;
	int64_t tid = 0;
	if (!a || !name_ok(type) || (n && (!th || !ids)))
		return JL_EINVAL;
	for (size_t i = 0; i < n; i++)
		ids[i] = (jl_str_t){0};
	jl_rc rc = read_begin(s, &c, "ids by hash"); /* one snapshot for all of them */
	if (!rc)
		rc = r_type(s, c, type, &tid);
	for (size_t i = 0; !rc && tid && i < n; i++)
		rc = id_of(s, c, a, type, tid, th[i], &ids[i]);
	if (c)
		pool_put(s, c);
	return rc;
}

static jl_rc sq_stats(jl_store_t *st_, jl_store_stats_t *out)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	rconn_t *c = NULL;
	sqlite3_stmt *st = NULL;
	int src;
	if (!out)
		return JL_EINVAL;
	memset(out, 0, sizeof *out);
	rc = read_begin(s, &c, "stats begin");
	if (rc)
		goto out;
	st = c->st[R_STATS];
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = db_fail(s, c->db, src, "stats");
		goto out;
	}
	out->resources = sqlite3_column_int64(st, 0);
	out->versions = sqlite3_column_int64(st, 1);
	out->commits = atomic_load(&s->commits);
	out->calls = atomic_load(&s->calls);
	out->max_group = atomic_load(&s->max_group);
	out->queue_ns = atomic_load(&s->queue_ns);
	out->run_ns = atomic_load(&s->run_ns);
	out->sync_ns = atomic_load(&s->sync_ns);
	out->merges = atomic_load(&s->merges);
	out->merge_ns = atomic_load(&s->merge_ns);
	sqlite3_reset(st);
	st = c->st[R_PAGES];
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = db_fail(s, c->db, src, "stats pages");
		goto out;
	}
	out->bytes = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = NULL;
	src = run(c->st[R_COMMIT]);
	if (src != SQLITE_OK) {
		rc = db_fail(s, c->db, src, "stats commit");
		goto out;
	}
	struct stat sb;
	if (stat(s->wal_path, &sb) == 0)
		out->bytes += (int64_t)sb.st_size;
out:
	if (st)
		sqlite3_reset(st);
	if (c)
		pool_put(s, c);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

static jl_rc sq_check(jl_store_t *st_, jl_diag_t *d)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	rconn_t *c = NULL;
	sqlite3_stmt *st = NULL;
	int src, rows = 0;
	rc = pool_get(s, &c);
	if (rc)
		goto out;
	/* Not kept prepared: it runs rarely and reads the whole file. */
	src = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(s, c->db, src, "integrity_check");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		rows++;
		if (m && strcmp(m, "ok") == 0)
			continue;
		rc = JL_EIO;
		DIAG(d, "exception", "database integrity: %s", m ? m : "(null)");
	}
	if (src != SQLITE_DONE) {
		rc = db_fail(s, c->db, src, "integrity_check");
		DIAG(d, "exception", "integrity check failed: %s", sqlite3_errmsg(c->db));
	} else if (!rows) {
		rc = JL_EIO;
	}
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	return rc;
}

/* ---- the writer --------------------------------------------------------- */

static void clear_out(jl_write_t *w)
{
	w->rc = JL_OK;
	w->ver = 0;
	w->updated_us = 0;
	w->created = false;
	w->noop = false;
}

/* A whole call failed: every write carries the code, none carries outputs. */
static void fail_all(jl_write_t *w, size_t n, jl_rc rc)
{
	for (size_t i = 0; i < n; i++) {
		clear_out(&w[i]);
		w[i].rc = rc;
	}
}

/* Instants are unique and increase in commit order even if the clock steps back. */
static int64_t next_instant(sq_t *s)
{
	int64_t now = jl_now_us();
	s->last_us = now > s->last_us ? now : s->last_us + 1;
	return s->last_us;
}

static jl_rc w_type(sq_t *s, jl_str_t name, bool create, int64_t *id, bool *inserted)
{
	jl_rc rc = JL_OK;
	int src;
	sqlite3_stmt *st = s->ws[W_TYPE_GET];
	*id = tc_get(s->wtypes, name);
	if (*id)
		goto out;
	bind_str(st, 1, name);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = db_fail(s, s->wdb, src, "type lookup");
		goto out;
	}
	if (!*id && create) {
		st = s->ws[W_TYPE_INS];
		bind_str(st, 1, name);
		src = run(st);
		if (src != SQLITE_OK) {
			rc = db_fail(s, s->wdb, src, "type insert");
			goto out;
		}
		*id = sqlite3_last_insert_rowid(s->wdb);
		*inserted = true;
	}
	if (*id)
		tc_put(s->wtypes, name, *id);
out:
	return rc;
}

/*
 * type_stats changes are summed per type over a call and written once at
 * its end (inside its savepoint, so they roll back with it): a bulk call of
 * thousands of writes makes a handful of upserts instead of one per write.
 */
static jl_rc stats_flush(sq_t *s)
{
	jl_rc rc = JL_OK;
	for (int i = 0; i < s->ntstats && !rc; i++) {
		sqlite3_stmt *st = s->ws[W_STATS];
		sqlite3_bind_int64(st, 1, s->tstats[i].tid);
		sqlite3_bind_int64(st, 2, s->tstats[i].live);
		sqlite3_bind_int64(st, 3, s->tstats[i].versions);
		int src = run(st);
		if (src != SQLITE_OK)
			rc = db_fail(s, s->wdb, src, "stats update");
	}
	s->ntstats = 0;
	return rc;
}

static jl_rc stats_add(sq_t *s, int64_t tid, int dlive)
{
	int i = 0;
	while (i < s->ntstats && s->tstats[i].tid != tid)
		i++;
	if (i == TSTATS_MAX) {
		jl_rc rc = stats_flush(s);
		if (rc)
			return rc;
		i = 0;
	}
	if (i == s->ntstats)
		s->tstats[s->ntstats++] = (tstat_t){.tid = tid};
	s->tstats[i].live += dlive;
	s->tstats[i].versions++;
	return JL_OK;
}

/* A setting written with the call's other writes (JL_WRITE_META): an empty value removes it. */
static jl_rc apply_meta(sq_t *s, const jl_write_t *w)
{
	sqlite3_stmt *st = s->ws[w->body.n ? W_META_SET : W_META_DEL];
	bind_str(st, 1, w->id);
	if (w->body.n)
		sqlite3_bind_text64(st, 2, w->body.p, w->body.n, SQLITE_STATIC, SQLITE_UTF8);
	int src = run(st);
	return src == SQLITE_OK ? JL_OK : db_fail(s, s->wdb, src, "setting write");
}

/* Applies one write inside the caller's savepoint. Logical refusals write nothing. */
static jl_rc apply(sq_t *s, jl_write_t *w, const wbody_t *b, bool *new_type)
{
	jl_rc rc = JL_OK;
	int src;
	sqlite3_stmt *st;
	int64_t tid, rid = 0, cur = 0, cur_us = 0;
	bool found = false, was_deleted = false;
	int kind = w->kind;
	if (kind == JL_WRITE_META)
		return apply_meta(s, w);

	/* A type row is added only by a write that can create its first resource. */
	bool may_create = kind == JL_WRITE_CREATE ||
			  (kind == JL_WRITE_UPDATE && w->create_ok && (!w->if_match || w->if_match_live));
	rc = w_type(s, w->type, may_create, &tid, new_type);
	if (rc)
		goto out;
	if (tid) {
		st = s->ws[W_RES_GET];
		sqlite3_bind_int64(st, 1, tid);
		bind_str(st, 2, w->id);
		src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			found = true;
			rid = sqlite3_column_int64(st, 0);
			cur = sqlite3_column_int64(st, 1);
			cur_us = sqlite3_column_int64(st, 2);
			was_deleted = sqlite3_column_int(st, 3) != 0;
		}
		sqlite3_reset(st);
		if (src != SQLITE_ROW && src != SQLITE_DONE) {
			rc = db_fail(s, s->wdb, src, "resource lookup");
			goto out;
		}
	}

	switch (kind) {
	case JL_WRITE_CREATE:
		if (found) {
			rc = JL_ECONFLICT;
			goto out;
		}
		break;
	case JL_WRITE_UPDATE:
	case JL_WRITE_DELETE:
		/* If-Match first: a precondition on an absent resource fails as a precondition,
		 * unless it was asked only of a live resource. */
		if (w->if_match > 0 && !(w->if_match_live && (!found || was_deleted)) &&
		    (!found || cur != w->if_match)) {
			rc = JL_EPRECOND;
			goto out;
		}
		if (!found && (kind == JL_WRITE_DELETE || !w->create_ok)) {
			rc = JL_ENOTFOUND;
			goto out;
		}
		if (kind == JL_WRITE_DELETE && was_deleted) {
			w->noop = true;
			w->ver = cur;
			w->updated_us = cur_us;
			goto out;
		}
		break;
	default:
		rc = JL_EINTERNAL; /* validated in write() */
		goto out;
	}

	/* The rows to remove were extracted from the version the caller saw: it must still be current. */
	if (w->index && w->ix_old_ver != (found ? cur : 0)) {
		rc = JL_ESTALE;
		goto out;
	}

	bool del = kind == JL_WRITE_DELETE;
	int64_t ver = found ? cur + 1 : 1;
	int64_t us = next_instant(s);
	int dlive = del ? -1 : (!found || was_deleted) ? 1 : 0;

	if (!found) {
		rid = s->next_rid++;
		st = s->ws[W_RES_INS];
		sqlite3_bind_int64(st, 1, tid);
		bind_str(st, 2, w->id);
		sqlite3_bind_int64(st, 3, rid);
		sqlite3_bind_int64(st, 4, ver);
		sqlite3_bind_int64(st, 5, us);
		sqlite3_bind_int(st, 6, del);
		sqlite3_bind_int64(st, 7, jl_store_target2(w->type, w->id));
	} else {
		st = s->ws[W_RES_UPD];
		sqlite3_bind_int64(st, 1, tid);
		bind_str(st, 2, w->id);
		sqlite3_bind_int64(st, 3, ver);
		sqlite3_bind_int64(st, 4, us);
		sqlite3_bind_int(st, 5, del);
	}
	/* Which search parameters have values: a small bitmap, NULL when none (or not indexed). */
	if (w->index && !del && w->ix) {
		unsigned char pb[32];
		int n = jl__sq_present_bytes(w->ix->present, pb);
		if (n)
			sqlite3_bind_blob(st, 8, pb, n, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 8);
	} else {
		sqlite3_bind_null(st, 8);
	}
	src = run(st);
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "resource write");
		goto out;
	}

	st = s->ws[W_VER_INS];
	sqlite3_bind_int64(st, 1, us);
	sqlite3_bind_int64(st, 2, rid);
	sqlite3_bind_int64(st, 3, ver);
	sqlite3_bind_int64(st, 4, tid);
	sqlite3_bind_int(st, 5, del);
	sqlite3_bind_int(st, 6, kind);
	sqlite3_bind_int(st, 7, b->enc);
	sqlite3_bind_int64(st, 8, w->body_meta);
	/* A NULL pointer would bind SQL NULL; an empty body is a zero-length blob. */
	if (b->n)
		sqlite3_bind_blob64(st, 9, b->p, b->n, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(st, 9, 0);
	src = run(st);
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "version insert");
		goto out;
	}

	rc = stats_add(s, tid, dlive);
	if (rc)
		goto out;

	if (w->index) {
		/* Old rows go now; new ones are queued and inserted, sorted, when the group ends. */
		if (found && !was_deleted && w->ix_old) {
			rc = jl__sqix_remove(s->wix, rid, w->ix_old, &src);
			if (rc) {
				rc = db_fail(s, s->wdb, src, "index rows");
				goto out;
			}
		}
		if (!del && w->ix && (rc = jl__sqix_defer(s->wix, rid, w->ix)) != JL_OK)
			goto out;
	}

	w->ver = ver;
	w->updated_us = us;
	w->created = !found || was_deleted;
out:
	return rc;
}

/*
 * Runs one call inside its own savepoint. Returns false when the enclosing
 * transaction is no longer usable (SQLite rolled it back after an I/O error,
 * or the savepoint itself failed): the whole group then fails.
 */
static bool run_call(sq_t *s, wcall_t *c, bool *group_new_type)
{
	bool new_type = false, ok = true;
	size_t i = 0;
	jl_rc rc = JL_OK;
	int src = run(s->ws[W_SAVE]);
	c->ran = true;
	if (src != SQLITE_OK) {
		c->rc = db_fail(s, s->wdb, src, "savepoint");
		fail_all(c->w, c->n, c->rc);
		ok = false;
		goto out;
	}
	jl__sqix_mark_t mark = jl__sqix_mark(s->wix);
	s->ntstats = 0;
	for (i = 0; i < c->n; i++) {
		rc = apply(s, &c->w[i], &c->b[i], &new_type);
		if (rc)
			break;
	}
	if (!rc && (rc = stats_flush(s)) != JL_OK)
		i = c->n - 1; /* the call fails as a whole; report it on its last write */
	if (rc) {
		s->ntstats = 0;
		jl__sqix_truncate(s->wix, mark); /* its queued index rows roll back with it */
		for (size_t j = 0; j < c->n; j++)
			clear_out(&c->w[j]);
		c->w[i].rc = rc;
		c->rc = rc;
		if (new_type)
			tc_clear(s->wtypes); /* its rtype rows are gone again */
		if (sqlite3_get_autocommit(s->wdb)) {
			ok = false;
			goto out;
		}
		src = run(s->ws[W_ROLLBACK_TO]);
		if (src == SQLITE_OK)
			src = run(s->ws[W_RELEASE]);
		if (src != SQLITE_OK) {
			(void)db_fail(s, s->wdb, src, "rollback to savepoint");
			ok = false;
		}
		goto out;
	}
	src = run(s->ws[W_RELEASE]);
	if (src != SQLITE_OK) {
		c->rc = db_fail(s, s->wdb, src, "release savepoint");
		ok = false;
		goto out;
	}
	*group_new_type |= new_type;
	c->rc = JL_OK;
out:
	return ok;
}

/* A merge of staged index runs failed: SQLite's error, or a run that does not decode (src still OK). */
static void merge_failed(sq_t *s, int src)
{
	if (src != SQLITE_OK)
		(void)db_fail(s, s->wdb, src, "index merge");
	else
		jl_log_msg(&s->log, JL_LOG_ERROR, "store/sqlite: index merge: a staged run is damaged or memory ran out");
}

/* Some write of the group replaces or deletes an indexed version. */
static bool removes_rows(const wcall_t *head)
{
	for (const wcall_t *c = head; c; c = c->next)
		for (size_t i = 0; c->rc != JL_ETIMEOUT && i < c->n; i++)
			if (c->w[i].index && c->w[i].ix_old_ver > 0)
				return true;
	return false;
}

/* Every write of the group that has index rows asks for them to be staged (a bulk load's). */
static bool stages(const wcall_t *head)
{
	for (const wcall_t *c = head; c; c = c->next)
		for (size_t i = 0; c->rc != JL_ETIMEOUT && i < c->n; i++)
			if (c->w[i].index && !c->w[i].stage)
				return false;
	return true;
}

/*
 * The group's index rows become a run instead of going in place: a bulk
 * load's when every write asks so; an ordinary store's unless a search
 * was served a merge a moment ago (those would keep merging), or the group
 * replaces indexed versions (it merged what was staged before removing
 * their rows: in place, the next such group has nothing to merge).
 */
static bool stage_group(const sq_t *s, const wcall_t *head, bool removes)
{
	if (s->bulk)
		return stages(head);
	return s->stage_writes && !removes && !jl__sqstage_full(s->stage) && jl_mono_ns() >= s->in_place_until;
}

/*
 * Runs a group in one transaction. Returns the WAL file whose fsync the
 * commit left to the syncer (the group is acknowledged after it), or NULL:
 * the group is finished (failed, or committed and synced inline).
 */
static sqlite3_file *run_group(sq_t *s, wcall_t *head)
{
	int64_t now = jl_mono_ns(), nw = 0;
	int live = 0, src;
	bool ok = true, new_type = false;
	jl_rc grc = JL_EIO;

	for (wcall_t *c = head; c; c = c->next) {
		c->ran = false;
		if (c->deadline_ns && now >= c->deadline_ns) {
			c->rc = JL_ETIMEOUT;
			fail_all(c->w, c->n, c->rc);
			continue;
		}
		live++;
		nw += (int64_t)c->n;
	}
	if (!live)
		return NULL;

	src = run(s->ws[W_BEGIN]);
	if (src != SQLITE_OK) {
		grc = db_fail(s, s->wdb, src, "begin");
		for (wcall_t *c = head; c; c = c->next)
			if (c->rc != JL_ETIMEOUT) {
				c->rc = grc;
				fail_all(c->w, c->n, grc);
			}
		return NULL;
	}
	/*
	 * Under the write lock, catch up with anything another process (a repair
	 * tool) committed, so instants keep increasing and rids stay unique
	 * whoever wrote last. Two probes per group, not per write.
	 */
	sqlite3_stmt *st = s->ws[W_MAX];
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		int64_t us = sqlite3_column_int64(st, 0), rid = sqlite3_column_int64(st, 1);
		if (us > s->last_us)
			s->last_us = us;
		if (rid >= s->next_rid)
			s->next_rid = rid + 1;
	} else {
		grc = db_fail(s, s->wdb, src, "group start");
		ok = false;
	}
	sqlite3_reset(st);
	/* A write that removes index rows must find them in the index: staged ones are merged first. */
	bool removes = removes_rows(head);
	if (ok && removes && jl__sqstage_any(s->stage) &&
	    jl__sqstage_merge(s->stage, s->wix, &src) != JL_OK) {
		merge_failed(s, src);
		ok = false;
	}
	for (wcall_t *c = head; c && ok; c = c->next)
		if (c->rc != JL_ETIMEOUT)
			ok = run_call(s, c, &new_type);
	if (ok) {
		jl_rc irc = stage_group(s, head, removes) ? jl__sqstage_put(s->stage, s->wix, &src) : JL_OK;
		if (!irc)
			irc = jl__sqix_flush(s->wix, &src);
		if (irc) {
			(void)db_fail(s, s->wdb, src, "index rows");
			ok = false;
		}
	}
	sqlite3_file *wal = NULL;
	if (ok) {
		if (s->sync)
			jl__sqvfs_defer_sync();
		src = run(s->ws[W_COMMIT]);
		if (s->sync)
			wal = jl__sqvfs_deferred();
		if (src != SQLITE_OK) {
			(void)db_fail(s, s->wdb, src, "commit");
			ok = false;
		}
	}
	jl__sqix_clear(s->wix);
	jl__sqstage_end(s->stage, ok);
	atomic_fetch_add(&s->groups, 1);
	atomic_fetch_add(&s->calls, live);
	atomic_fetch_add(&s->writes, nw);
	if (nw > atomic_load(&s->max_group))
		atomic_store(&s->max_group, nw); /* only the writer stores it */
	if (ok) {
		atomic_fetch_add(&s->commits, 1);
		int64_t done = jl_mono_ns(), queued = 0;
		for (wcall_t *c = head; c; c = c->next)
			if (c->rc != JL_ETIMEOUT) {
				c->t_committed = done;
				queued += now - c->t_queued;
			}
		atomic_fetch_add(&s->queue_ns, queued);
		atomic_fetch_add(&s->run_ns, (done - now) * live);
		return wal;
	}
	/* Nothing of this group reached the disk: no caller may be told otherwise. */
	if (!sqlite3_get_autocommit(s->wdb))
		(void)run(s->ws[W_ROLLBACK]);
	tc_clear(s->wtypes);
	for (wcall_t *c = head; c; c = c->next)
		if (c->rc != JL_ETIMEOUT) {
			c->rc = grc;
			fail_all(c->w, c->n, grc);
		}
	return NULL;
}

/* The result of a finished call: JL_OK, or the rc of its first failed write (store.h). */
static jl_rc call_rc(const wcall_t *c)
{
	if (c->rc)
		for (size_t i = 0; i < c->n; i++)
			if (c->w[i].rc)
				return c->w[i].rc;
	return c->rc;
}

static void release_bodies(const wbody_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jl_free(JL_MEM_STORE, b[i].owned);
}

/* An async call lives in one heap block with its bodies right after it. */
static void finish_async(wcall_t *c, jl_rc rc)
{
	jl_write_done_fn done = c->done;
	void *arg = c->arg;
	release_bodies(c->b, c->n);
	jl_free(JL_MEM_STORE, c);
	done(arg, rc);
}

/* Hands finished calls back: synchronous callers wake, asynchronous ones get their completion. */
static void complete_calls(sq_t *s, wcall_t *head)
{
	pthread_mutex_lock(&s->qmu);
	wcall_t *async = NULL;
	for (wcall_t *c = head, *nx; c; c = nx) {
		nx = c->next; /* c belongs to its caller again once it sees DONE */
		c->state = CALL_DONE;
		if (c->done) {
			c->next = async;
			async = c;
		} else {
			pthread_cond_signal(&c->cv);
		}
	}
	/* Completions run outside the queue lock: they wake other threads. */
	pthread_mutex_unlock(&s->qmu);
	for (wcall_t *c = async, *nx; c; c = nx) {
		nx = c->next;
		finish_async(c, call_rc(c));
	}
}

/* Fails every call of a group with rc (nothing of it was written). */
static void fail_group(wcall_t *head, jl_rc rc)
{
	for (wcall_t *c = head; c; c = c->next)
		if (c->rc != JL_ETIMEOUT) {
			c->rc = rc;
			fail_all(c->w, c->n, rc);
		}
}

/* The syncer's completion (sqlite_sync.h): the group's commit is on disk, or its fsync failed. */
static void group_synced(void *arg, void *batch, jl_rc rc)
{
	sq_t *s = arg;
	int64_t now = jl_mono_ns(), waited = 0;
	for (wcall_t *c = batch; c; c = c->next)
		if (c->rc != JL_ETIMEOUT)
			waited += now - c->t_committed;
	atomic_fetch_add(&s->sync_ns, waited);
	if (rc) {
		jl_log_msg(&s->log, JL_LOG_ERROR, "store/sqlite: the WAL fsync failed: writes are refused from now on");
		fail_group(batch, rc); /* committed, but whether it is on disk is unknown: never say stored */
	}
	complete_calls(s, batch);
}

/* Every write of the group may be acknowledged at its commit (store.h, durable_later). */
static bool acks_at_commit(const wcall_t *head)
{
	for (const wcall_t *c = head; c; c = c->next)
		for (size_t i = 0; i < c->n; i++)
			if (!c->w[i].durable_later)
				return false;
	return true;
}

/* The writer's time in a merge (or a step of one) that began at t0, and one merge more once it is whole. */
static void count_merge(sq_t *s, int64_t t0, bool whole)
{
	atomic_fetch_add(&s->merge_ns, jl_mono_ns() - t0);
	if (whole)
		atomic_fetch_add(&s->merges, 1);
}

/*
 * Between groups: once enough rows are staged, merges them a table at a
 * time, so queued writes wait for one table's merge, not for all of them.
 * Searches stay exact meanwhile: runs exist until the last step.
 */
static void merge_step(sq_t *s)
{
	if (s->bulk || !s->stage)
		return;
	if (!s->merge_tables) {
		if (jl__sqstage_rows(s->stage) < s->stage_rows)
			return;
		s->merge_tables = jl__sqstage_tables(s->stage);
	}
	int t = __builtin_ctz(s->merge_tables);
	int64_t t0 = jl_mono_ns();
	int src = SQLITE_OK;
	if (jl__sqstage_merge_table(s->stage, s->wix, t, &src) != JL_OK) {
		merge_failed(s, src);
		/* The runs stay: searches merge them or fail until a reindex. Rows go in place from now on. */
		s->merge_tables = 0;
		s->stage_writes = false;
		return;
	}
	s->merge_tables &= ~(1u << t);
	count_merge(s, t0, !s->merge_tables);
}

static void *writer_main(void *arg)
{
	sq_t *s = arg;
	pthread_mutex_lock(&s->qmu);
	for (;;) {
		while (!s->qhead && !s->closing)
			pthread_cond_wait(&s->qcv, &s->qmu);
		if (!s->qhead)
			break; /* closing, and the queue is drained */
		/* Take every queued call, up to group_max writes (but always at least one call). */
		wcall_t *head = s->qhead, *last = head;
		size_t nw = head->n;
		last->state = CALL_RUNNING;
		/* A maintenance call runs alone; writes queued after it wait for it. */
		while (!head->exec && last->next && !last->next->exec && nw + last->next->n <= (size_t)s->group_max) {
			last = last->next;
			last->state = CALL_RUNNING;
			nw += last->n;
		}
		s->qhead = last->next;
		if (s->qhead)
			s->qhead->prev = NULL;
		else
			s->qtail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->qmu);

		sqlite3_file *wal = NULL;
		if (head->exec)
			head->rc = head->exec(s, head->exec_arg);
		else if (s->sync && jl__sqsync_failed(s->sync))
			fail_group(head, JL_EIO);
		else
			wal = run_group(s, head);
		/* Committed with the fsync left out: acknowledged by the syncer once it is on disk, or now. */
		if (wal && acks_at_commit(head)) {
			complete_calls(s, head);
			jl__sqsync_push(s->sync, wal, NULL);
		} else if (wal) {
			jl__sqsync_push(s->sync, wal, head);
		} else {
			complete_calls(s, head);
		}
		merge_step(s);
		pthread_mutex_lock(&s->qmu);
	}
	pthread_mutex_unlock(&s->qmu);
	return NULL;
}

static jl_rc validate(const jl_write_t *w)
{
	if (w->kind == JL_WRITE_META) /* a setting: a key and a text value, nothing else */
		return name_ok(w->id) && (!w->body.n || w->body.p) && !w->index ? (w->body.n > META_MAX ? JL_ETOOBIG : JL_OK)
										 : JL_EINVAL;
	if (w->kind < JL_WRITE_CREATE || w->kind > JL_WRITE_DELETE || !name_ok(w->type) || !name_ok(w->id) ||
	    w->if_match < 0 || (w->body.n && !w->body.p) || (w->kind == JL_WRITE_DELETE && w->body.n))
		return JL_EINVAL;
	if (w->body.n > BODY_MAX)
		return JL_ETOOBIG;
	return JL_OK;
}

/*
 * Checks and compresses a call's writes into b[0..n) in the caller's thread.
 * On failure the offending write carries the rc; *nb bodies need releasing.
 */
static jl_rc prepare(sq_t *s, jl_write_t *w, size_t n, int64_t deadline_ns, wbody_t *b, size_t *nb)
{
	jl_rc rc;
	size_t i;
	*nb = 0;
	for (i = 0; i < n; i++)
		clear_out(&w[i]);
	for (i = 0; i < n; i++) {
		rc = validate(&w[i]);
		if (rc) {
			w[i].rc = rc;
			return rc;
		}
	}
	if (deadline_ns && jl_mono_ns() >= deadline_ns) {
		fail_all(w, n, JL_ETIMEOUT);
		return JL_ETIMEOUT;
	}
	for (i = 0; i < n; i++) {
		rc = encode(s, &w[i], &b[i]);
		*nb = i;
		if (rc) {
			w[i].rc = rc;
			return rc;
		}
	}
	*nb = n;
	return JL_OK;
}

/* Appends a prepared call to the queue; JL_EBUSY once close() has begun. Call with qmu held. */
static jl_rc enqueue_locked(sq_t *s, wcall_t *c)
{
	if (s->closing) {
		fail_all(c->w, c->n, JL_EBUSY);
		return JL_EBUSY;
	}
	c->state = CALL_QUEUED;
	c->t_queued = jl_mono_ns();
	c->prev = s->qtail;
	c->next = NULL;
	if (s->qtail)
		s->qtail->next = c;
	else
		s->qhead = c;
	s->qtail = c;
	pthread_cond_signal(&s->qcv);
	return JL_OK;
}

static jl_rc sq_write(jl_store_t *st_, jl_write_t *w, size_t n, int64_t deadline_ns)
{
	sq_t *s = (sq_t *)st_;
	jl_rc rc = JL_OK;
	wbody_t small[SMALL_CALL], *b = small;
	wcall_t c;
	bool cv = false;
	size_t nb = 0; /* b[0..nb) may own compressed copies */

	if (!n)
		return JL_OK;
	if (!w)
		return JL_EINVAL;
	if (n > SMALL_CALL) {
		b = jl_calloc(JL_MEM_STORE, n, sizeof *b);
		if (!b) {
			fail_all(w, n, JL_ENOMEM);
			return JL_ENOMEM;
		}
	}
	rc = prepare(s, w, n, deadline_ns, b, &nb);
	if (rc)
		goto out;

	memset(&c, 0, sizeof c);
	c.w = w;
	c.n = n;
	c.b = b;
	c.deadline_ns = deadline_ns;
	if (pthread_cond_init(&c.cv, &s->cattr) != 0) {
		rc = JL_ENOMEM;
		fail_all(w, n, rc);
		goto out;
	}
	cv = true;

	pthread_mutex_lock(&s->qmu);
	rc = enqueue_locked(s, &c);
	if (rc) {
		pthread_mutex_unlock(&s->qmu);
		goto out;
	}
	while (c.state != CALL_DONE) {
		if (!deadline_ns || c.state != CALL_QUEUED) {
			pthread_cond_wait(&c.cv, &s->qmu);
			continue;
		}
		struct timespec ts = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
		int e = pthread_cond_timedwait(&c.cv, &s->qmu, &ts);
		if (e == ETIMEDOUT && c.state == CALL_QUEUED) {
			/* Still queued past its deadline: leave without running. */
			if (c.prev)
				c.prev->next = c.next;
			else
				s->qhead = c.next;
			if (c.next)
				c.next->prev = c.prev;
			else
				s->qtail = c.prev;
			c.state = CALL_DONE;
			c.rc = JL_ETIMEOUT;
			fail_all(w, n, c.rc);
		}
	}
	pthread_mutex_unlock(&s->qmu);
	rc = call_rc(&c);
out:
	if (cv)
		pthread_cond_destroy(&c.cv);
	release_bodies(b, nb);
	if (b != small)
		jl_free(JL_MEM_STORE, b);
	return rc;
}

/*
 * The asynchronous form: the call and its bodies live in one heap block
 * that the writer frees after calling done. A deadline is enforced when the
 * writer picks the call up (run_group), not by a waiting thread.
 */
static jl_rc sq_write_async(jl_store_t *st_, jl_write_t *w, size_t n, int64_t deadline_ns, jl_write_done_fn done,
			    void *arg)
{
	sq_t *s = (sq_t *)st_;
	size_t nb = 0;
	if (!n || !w || !done)
		return JL_EINVAL;
	if (n > (SIZE_MAX - sizeof(wcall_t)) / sizeof(wbody_t))
		return JL_ETOOBIG;
	wcall_t *c = jl_calloc(JL_MEM_STORE, 1, sizeof *c + n * sizeof(wbody_t));
	if (!c) {
		fail_all(w, n, JL_ENOMEM);
		return JL_ENOMEM;
	}
	wbody_t *b = (wbody_t *)(c + 1);
	jl_rc rc = prepare(s, w, n, deadline_ns, b, &nb);
	if (!rc) {
		c->w = w;
		c->n = n;
		c->b = b;
		c->deadline_ns = deadline_ns;
		c->done = done;
		c->arg = arg;
		pthread_mutex_lock(&s->qmu);
		rc = enqueue_locked(s, c);
		pthread_mutex_unlock(&s->qmu);
		if (!rc)
			return JL_OK; /* the writer owns c now */
	}
	release_bodies(b, nb);
	jl_free(JL_MEM_STORE, c);
	return rc;
}

/* ---- open and close ----------------------------------------------------- */

/* Single-row, single-column query on the write connection during open. */
static jl_rc w_query_int(sq_t *s, const char *sql, int64_t *v)
{
	jl_rc rc = JL_OK;
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		rc = db_fail(s, s->wdb, src, sql);
	sqlite3_finalize(st);
	return rc;
}

/* Refuses files that are not ours or come from a newer build, before we change anything in them. */
static jl_rc check_header(sq_t *s, jl_diag_t *d, int64_t *uv)
{
	jl_rc rc = JL_OK;
	int64_t app = 0, objs = 0;
	if ((rc = w_query_int(s, "PRAGMA user_version", uv)) ||
	    (rc = w_query_int(s, "PRAGMA application_id", &app)) ||
	    (rc = w_query_int(s, "SELECT count(*) FROM sqlite_schema", &objs))) {
		DIAG(d, "exception", "cannot read the database header of %s: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	if (app != APP_ID && (app != 0 || objs != 0)) {
		rc = JL_EINVAL;
		DIAG(d, "invalid", "%s is not a Jianlian database", s->path);
		goto out;
	}
	if (*uv > SCHEMA_VERSION) {
		rc = JL_EUNSUPPORTED;
		DIAG(d, "not-supported", "%s has schema version %lld; this build knows up to %d", s->path,
		     (long long)*uv, SCHEMA_VERSION);
	}
out:
	return rc;
}

static jl_rc migrate(sq_t *s, jl_diag_t *d, bool *created)
{
	jl_rc rc = JL_OK;
	int64_t uv = 0;
	int src = sqlite3_exec(s->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	*created = false;
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "begin migration");
		DIAG(d, "exception", "cannot lock the database %s: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	/* Again under the lock: another process may have migrated meanwhile. */
	rc = check_header(s, d, &uv);
	if (rc)
		goto out;
	for (int64_t v = uv; v < SCHEMA_VERSION; v++) {
		src = sqlite3_exec(s->wdb, migrations[v], NULL, NULL, NULL);
		if (src != SQLITE_OK) {
			rc = db_fail(s, s->wdb, src, "migration");
			DIAG(d, "exception", "schema migration failed: %s", sqlite3_errmsg(s->wdb));
			goto out;
		}
	}
	src = sqlite3_exec(s->wdb, "COMMIT", NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "commit migration");
		DIAG(d, "exception", "cannot write the schema: %s", sqlite3_errmsg(s->wdb));
		goto out;
	}
	*created = uv == 0;
out:
	if (rc && !sqlite3_get_autocommit(s->wdb))
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static jl_rc open_writer(sq_t *s, const jl_store_cfg_t *cfg, jl_diag_t *d)
{
	jl_rc rc = JL_OK;
	bool created = false;
	/* WAL appends gathered into one write per commit (sqlite_vfs.h); without syncs there is no commit point. */
	int src = sqlite3_open_v2(s->path, &s->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				  cfg->no_sync ? NULL : jl__sqvfs_name());
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "open");
		DIAG(d, "exception", "cannot open %s: %s", s->path, s->wdb ? sqlite3_errmsg(s->wdb) : "");
		goto out;
	}
	sqlite3_extended_result_codes(s->wdb, 1);
	sqlite3_busy_timeout(s->wdb, BUSY_MS);
	int64_t uv = 0;
	rc = check_header(s, d, &uv);
	if (rc)
		goto out;
	s->ours = true;
	/*
	 * WAL: readers keep a snapshot while the writer appends. synchronous=FULL
	 * fsyncs the WAL at every commit, which is what makes an acknowledged
	 * write survive power loss. temp_store=MEMORY keeps the savepoint
	 * journals of a group off the disk. journal_size_limit truncates the WAL
	 * after a burst instead of keeping it at its peak size.
	 */
	int64_t wal = 0;
	sqlite3_stmt *st = NULL;
	src = sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (src == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		wal = m && strcmp(m, "wal") == 0;
	}
	sqlite3_finalize(st);
	if (!wal) {
		rc = JL_EIO;
		DIAG(d, "exception", "cannot put %s in WAL mode: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	src = sqlite3_exec(s->wdb,
			   cfg->no_sync ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = FULL", NULL, NULL,
			   NULL);
	if (src == SQLITE_OK)
		src = sqlite3_exec(s->wdb,
				   "PRAGMA temp_store = MEMORY; " WCACHE "; PRAGMA journal_size_limit = 67108864",
				   NULL, NULL, NULL);
	/* A bulk load's writer cache (its commits touch index pages all over the trees): see CKPT_BULK. */
	if (src == SQLITE_OK && cfg->bulk)
		src = sqlite3_exec(s->wdb, WCACHE_BULK, NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		rc = db_fail(s, s->wdb, src, "configure");
		DIAG(d, "exception", "cannot configure %s: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	rc = migrate(s, d, &created);
	if (rc)
		goto out;
	if (created)
		fsync_dir(cfg->dir);
	rc = jl__ckpt_start(s->wdb, s->path, cfg->bulk ? CKPT_BULK : CKPT_PAGES, !cfg->no_sync, &s->ckpt);
	if (rc) {
		DIAG(d, "exception", "cannot start the checkpointer of %s", s->path);
		goto out;
	}
	if (!cfg->no_sync && (rc = jl__sqsync_start(group_synced, s, &s->sync))) {
		DIAG(d, "exception", "cannot start the syncer of %s", s->path);
		goto out;
	}
	for (int i = 0; i < W_COUNT; i++) {
		src = sqlite3_prepare_v3(s->wdb, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i], NULL);
		if (src != SQLITE_OK) {
			rc = db_fail(s, s->wdb, src, "prepare");
			DIAG(d, "exception", "cannot prepare statements: %s", sqlite3_errmsg(s->wdb));
			goto out;
		}
	}
	rc = jl__sqix_new(s->wdb, &s->wix);
	if (!rc)
		rc = jl__sqstage_new(s->wdb, cfg->bulk, cfg->bulk ? WCACHE_BULK : WCACHE, &s->stage);
	if (rc) {
		DIAG(d, "exception", "cannot prepare index statements: %s", sqlite3_errmsg(s->wdb));
		goto out;
	}
	s->bulk = cfg->bulk;
	s->stage_writes = !cfg->bulk && !cfg->index_in_place;
	s->stage_rows = cfg->stage_rows ? (int64_t)cfg->stage_rows : STAGE_ROWS;
	/* Instants continue after the newest stored one, whatever the clock says now. */
	int64_t max_rid = 0;
	if ((rc = w_query_int(s, "SELECT coalesce(max(updated), 0) FROM ver", &s->last_us)) ||
	    (rc = w_query_int(s, "SELECT coalesce(max(rid), 0) FROM res", &max_rid))) {
		DIAG(d, "exception", "cannot read %s: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	s->next_rid = max_rid + 1;
	/*
	 * Runs left by a process that did not close (killed, power loss): merged
	 * before anyone searches. Runs that cannot be merged (a damaged file) do
	 * not stop the store: reads work, searches fail until a reindex.
	 */
	if (!cfg->bulk && jl__sqstage_any(s->stage)) {
		int64_t t0 = jl_mono_ns();
		if (jl__sqstage_merge_all(s->stage, s->wix, &src) != JL_OK) {
			merge_failed(s, src);
			DIAG(d, "exception", "cannot merge the staged index rows of %s: searches fail until `jianlian reindex`",
			     s->path);
		} else {
			jl_log_msg(&s->log, JL_LOG_INFO, "merged the index rows left staged in %lld ms",
				   (long long)((jl_mono_ns() - t0) / 1000000));
		}
	}
out:
	return rc;
}

static void destroy(sq_t *s)
{
	if (!s)
		return;
	/* Cursors hold read transactions: end them before the final checkpoint. */
	jl__sqs_free(s->search);
	s->search = NULL;
	pthread_mutex_lock(&s->pmu);
	s->closing_readers = true;
	while (s->pidle < s->popen) /* reads in flight finish first */
		pthread_cond_wait(&s->pcv, &s->pmu);
	rconn_t *c = s->pfree;
	s->pfree = NULL;
	s->popen = s->pidle = 0;
	pthread_mutex_unlock(&s->pmu);
	while (c) {
		rconn_t *nx = c->next;
		rconn_free(c);
		c = nx;
	}
	/* Staged runs are merged now: after the writer and the readers, while the checkpointer runs. */
	int msrc = SQLITE_OK;
	if (s->wdb && s->ours && s->stage && jl__sqstage_merge_all(s->stage, s->wix, &msrc) != JL_OK)
		merge_failed(s, msrc);
	jl__ckpt_stop(s->ckpt);
	s->ckpt = NULL;
	if (s->wdb) {
		for (int i = 0; i < W_COUNT; i++)
			sqlite3_finalize(s->ws[i]);
		jl__sqstage_free(s->stage);
		jl__sqix_free(s->wix);
		ZSTD_freeDCtx(s->wdctx);
		/* Fold the WAL back into the main file so the directory is one file at rest. */
		int src = s->ours ? sqlite3_exec(s->wdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL)
				  : SQLITE_OK;
		if (src != SQLITE_OK)
			(void)db_fail(s, s->wdb, src, "checkpoint at close");
		src = sqlite3_close(s->wdb);
		if (src != SQLITE_OK)
			(void)db_fail(s, s->wdb, src, "close");
	}
	ZSTD_freeCDict(s->cdict);
	while (s->zfree) {
		zctx_t *nx = s->zfree->next;
		ZSTD_freeCCtx(s->zfree->c);
		jl_free(JL_MEM_STORE, s->zfree);
		s->zfree = nx;
	}
	if (s->sync_ok) {
		pthread_mutex_destroy(&s->qmu);
		pthread_cond_destroy(&s->qcv);
		pthread_condattr_destroy(&s->cattr);
		pthread_mutex_destroy(&s->pmu);
		pthread_cond_destroy(&s->pcv);
		pthread_mutex_destroy(&s->zmu);
	}
	jl_free(JL_MEM_STORE, s->wtypes);
	jl_free(JL_MEM_STORE, s->path);
	jl_free(JL_MEM_STORE, s->wal_path);
	jl_free(JL_MEM_STORE, s->dir);
	jl_free(JL_MEM_STORE, s);
}

void jl__store_sqlite_quiesce(jl_store_t *st_)
{
	sq_t *s = (sq_t *)st_;
	if (!s)
		return;
	pthread_mutex_lock(&s->qmu);
	s->closing = true;
	pthread_cond_signal(&s->qcv);
	bool join = s->writer_started && !s->writer_joined;
	s->writer_joined = true;
	pthread_mutex_unlock(&s->qmu);
	if (join)
		pthread_join(s->writer, NULL);
	/* After the writer: the groups it committed last are acknowledged once synced. */
	jl__sqsync_stop(s->sync);
	s->sync = NULL;
}

static void sq_close(jl_store_t *st_)
{
	if (!st_)
		return;
	jl__store_sqlite_quiesce(st_);
	destroy((sq_t *)st_);
}

static jl_rc init_sync(sq_t *s)
{
	bool m1 = false, c1 = false, a1 = false, m2 = false, c2 = false, m3 = false;
	if (!(m1 = !pthread_mutex_init(&s->qmu, NULL)) || !(c1 = !pthread_cond_init(&s->qcv, NULL)) ||
	    !(a1 = !pthread_condattr_init(&s->cattr)) ||
	    pthread_condattr_setclock(&s->cattr, CLOCK_MONOTONIC) != 0 ||
	    !(m2 = !pthread_mutex_init(&s->pmu, NULL)) || !(c2 = !pthread_cond_init(&s->pcv, NULL)) ||
	    !(m3 = !pthread_mutex_init(&s->zmu, NULL))) {
		if (m1)
			pthread_mutex_destroy(&s->qmu);
		if (c1)
			pthread_cond_destroy(&s->qcv);
		if (a1)
			pthread_condattr_destroy(&s->cattr);
		if (m2)
			pthread_mutex_destroy(&s->pmu);
		if (c2)
			pthread_cond_destroy(&s->pcv);
		return JL_ENOMEM;
	}
	s->sync_ok = true;
	return JL_OK;
}

jl_rc jl__store_sqlite_open(const jl_store_cfg_t *cfg, jl_store_t **out, jl_diag_t *d)
{
	jl_rc rc = JL_OK;
	sq_t *s = NULL;
	int e;
	if (!out)
		return JL_EINVAL;
	*out = NULL;
	(void)jl__sqpcache_install(); /* before SQLite's first use in this process; harmless later */
	if (!cfg || !cfg->dir || !cfg->dir[0] || cfg->readers < 0 || cfg->group_max < 0) {
		rc = JL_EINVAL;
		DIAG(d, "invalid", "store configuration: a data directory is required");
		goto out;
	}
	s = jl_calloc(JL_MEM_STORE, 1, sizeof *s);
	if (!s || init_sync(s)) {
		rc = JL_ENOMEM;
		goto out;
	}
	s->base.ops = &jl_store_sqlite_ops;
	s->group_max = cfg->group_max ? cfg->group_max : GROUP_DEFAULT;
	s->pmax = cfg->readers ? cfg->readers : READERS_DEFAULT;
	jl_log_init(&s->log, 2, JL_LOG_WARN);
	s->path = path_join(cfg->dir, DB_FILE);
	s->wal_path = path_join(cfg->dir, DB_FILE "-wal");
	s->dir = jl_strndup(JL_MEM_STORE, cfg->dir, strlen(cfg->dir));
	s->wtypes = jl_calloc(JL_MEM_STORE, 1, sizeof *s->wtypes);
	size_t dn;
	uint32_t did;
	const void *dict = jl__zdict(&dn, &did);
	s->cdict = dict ? ZSTD_createCDict(dict, dn, ZSTD_LEVEL) : NULL;
	if (!s->path || !s->wal_path || !s->wtypes || !s->cdict) {
		rc = JL_ENOMEM;
		goto out;
	}
	e = mkdir_p(cfg->dir);
	if (e) {
		rc = e == ENOMEM ? JL_ENOMEM : JL_EIO;
		DIAG(d, "exception", "cannot create the data directory %s: %s", cfg->dir, strerror(e));
		goto out;
	}
	rc = open_writer(s, cfg, d);
	if (rc)
		goto out;
	rc = jl__sqs_new(s->path, cfg, &s->search);
	if (rc) {
		DIAG(d, "exception", "cannot set up search");
		goto out;
	}
	e = pthread_create(&s->writer, NULL, writer_main, s);
	if (e) {
		rc = JL_ENOMEM;
		DIAG(d, "exception", "cannot start the writer thread: %s", strerror(e));
		goto out;
	}
	s->writer_started = true;
	*out = &s->base;
out:
	if (rc && s) {
		if (!s->sync_ok) {
			jl_free(JL_MEM_STORE, s);
		} else {
			jl__store_sqlite_quiesce(&s->base);
			destroy(s);
		}
	}
	return rc;
}

void jl__store_sqlite_counters(jl_store_t *st_, jl__sqlite_counters_t *out)
{
	sq_t *s = (sq_t *)st_;
	out->commits = atomic_load(&s->commits);
	out->groups = atomic_load(&s->groups);
	out->calls = atomic_load(&s->calls);
	out->writes = atomic_load(&s->writes);
	out->max_group = atomic_load(&s->max_group);
}

int64_t jl__store_sqlite_commits(jl_store_t *st_)
{
	return atomic_load(&((sq_t *)st_)->commits);
}

typedef struct reindex_job {
	jl_reindex_fn fn;
	void *arg;
	jl_progress_fn progress;
	void *parg;
} reindex_job_t;

static jl_rc run_reindex(sq_t *s, void *arg)
{
	reindex_job_t *j = arg;
	tc_clear(s->wtypes);
	/*
	 * Staged runs first: the rebuild empties the index tables, but a deferred
	 * res_th must come back. Runs that cannot be merged are dropped: the
	 * rebuild makes their rows again.
	 */
	int src = SQLITE_OK;
	if (jl__sqstage_merge_all(s->stage, s->wix, &src) != JL_OK) {
		merge_failed(s, src);
		if ((src = sqlite3_exec(s->wdb, "DELETE FROM ix_stage; " JL__SQ_RES_TH, NULL, NULL, NULL)) != SQLITE_OK)
			return db_fail(s, s->wdb, src, "index runs dropped");
		(void)jl__sqstage_merge_all(s->stage, s->wix, &src); /* nothing left: the stage's state follows */
	}
	return jl__sqix_reindex(s->wdb, s->wix, &s->wdctx, j->fn, j->arg, j->progress, j->parg);
}

/* Runs fn alone on the writer thread and waits for it (like a write call). */
static jl_rc writer_exec(sq_t *s, jl_rc (*fn)(sq_t *, void *), void *arg)
{
	wcall_t c;
	memset(&c, 0, sizeof c);
	c.exec = fn;
	c.exec_arg = arg;
	if (pthread_cond_init(&c.cv, &s->cattr) != 0)
		return JL_ENOMEM;
	pthread_mutex_lock(&s->qmu);
	jl_rc rc = JL_OK;
	if (s->closing) {
		rc = JL_EBUSY;
	} else {
		c.state = CALL_QUEUED;
		c.prev = s->qtail;
		if (s->qtail)
			s->qtail->next = &c;
		else
			s->qhead = &c;
		s->qtail = &c;
		pthread_cond_signal(&s->qcv);
		while (c.state != CALL_DONE)
			pthread_cond_wait(&c.cv, &s->qmu);
		rc = c.rc;
	}
	pthread_mutex_unlock(&s->qmu);
	pthread_cond_destroy(&c.cv);
	return rc;
}

static jl_rc sq_reindex(jl_store_t *st_, jl_reindex_fn fn, void *arg, jl_progress_fn progress, void *parg)
{
	reindex_job_t j = {fn, arg, progress, parg};
	return writer_exec((sq_t *)st_, run_reindex, &j);
}

static jl_rc run_merge(sq_t *s, void *arg)
{
	(void)arg;
	int src = SQLITE_OK;
	int64_t t0 = jl_mono_ns();
	jl_rc rc = jl__sqstage_merge_all(s->stage, s->wix, &src);
	if (rc) {
		merge_failed(s, src);
		return rc;
	}
	/* Searches are about: the next groups index in place, so the search that asked finds no runs again. */
	s->in_place_until = jl_mono_ns() + SEARCH_QUIET_NS;
	s->merge_tables = 0;
	count_merge(s, t0, true);
	return JL_OK;
}

/*
 * Reads of the index retried after the writer merged the staged runs their
 * snapshot held (JL_ESTALE from the executor). Another process staging
 * again each time could starve them: JL_EBUSY after a few rounds.
 */
#define STAGED_RETRIES 4

static jl_rc sq_search(jl_store_t *st_, jl_arena_t *a, const jl_sq_query_t *q, jl_sq_page_t *out, jl_diag_t *d)
{
	sq_t *s = (sq_t *)st_;
	for (int i = 0; i < STAGED_RETRIES; i++) {
		jl_rc rc = jl__sqs_search(s->search, a, q, out, d);
		if (rc != JL_ESTALE || (rc = writer_exec(s, run_merge, NULL)) != JL_OK)
			return rc;
	}
	return JL_EBUSY;
}

static jl_rc sq_search_page(jl_store_t *st_, jl_arena_t *a, jl_str_t cursor, uint32_t page, jl_sq_page_t *out)
{
	return jl__sqs_page(((sq_t *)st_)->search, a, cursor, page, out);
}

static jl_rc sq_meta_get(jl_store_t *st_, jl_arena_t *a, const char *key, jl_str_t *value)
{
	return jl__sqs_meta_get(((sq_t *)st_)->search, a, key, value);
}

static jl_rc sq_meta_set(jl_store_t *st_, const char *key, jl_str_t value)
{
	return jl__sqs_meta_set(((sq_t *)st_)->search, key, value);
}

static jl_rc sq_scan(jl_store_t *st_, const jl_scan_query_t *q, jl_scan_fn fn, void *arg)
{
	sq_t *s = (sq_t *)st_;
	for (int i = 0; i < STAGED_RETRIES; i++) {
		bool staged;
		jl_rc rc = jl__sqs_scan(s->search, q, fn, arg, &staged);
		if (!staged || (rc = writer_exec(s, run_merge, NULL)) != JL_OK)
			return rc;
	}
	return JL_EBUSY;
}

static jl_rc sq_finish_load(jl_store_t *st_)
{
	return writer_exec((sq_t *)st_, run_merge, NULL);
}

static const char *sq_dir(jl_store_t *st_)
{
	return ((sq_t *)st_)->dir;
}

const jl_store_ops_t jl_store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.write = sq_write,
	.write_async = sq_write_async,
	.read = sq_read,
	.history = sq_history,
	.counts = sq_counts,
	.stats = sq_stats,
	.check = sq_check,
	.search = sq_search,
	.search_page = sq_search_page,
	.reindex = sq_reindex,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
	.scan = sq_scan,
	.ids_of = sq_ids_of,
	.dir = sq_dir,
	.finish_load = sq_finish_load,
};
