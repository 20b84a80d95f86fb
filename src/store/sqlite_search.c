/*
 * sqlite_search — runs backend-neutral searches (store.h jl_sq_query_t) on
 * SQLite: plans, builds one parameterised SQL statement, keeps snapshots
 * for paging.
 *
 * Plan. Every positive condition is estimated by counting its index rows
 * up to a cap (the counts are cached for a few seconds: the statistics the
 * store keeps). The smallest drives the query — its index range is scanned
 * — and every other condition becomes a filter probed per candidate
 * through the (k, rid) access path of its table, so one condition costs
 * one B-tree probe per candidate. Without a positive condition the
 * resource table of the type drives. A single token driver (or a reference
 * to one target) delivers rows in rid order, so the default order (rid)
 * needs no sort and LIMIT stops the scan early.
 *
 * Paging. The first page runs in a read transaction; if more pages exist,
 * that transaction stays open as the cursor's snapshot (its connection is
 * set aside), and later pages run the same statement with an OFFSET on the
 * same snapshot: pages can neither repeat nor skip a resource, whatever is
 * written meanwhile. Cursors expire after an idle time and are capped in
 * number (the oldest idle one goes first).
 *
 * Only values are bound as parameters; the SQL text holds nothing but our
 * own fragments and numbers of parameters.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/rand.h"
#include "base/time.h"
#include "store/sqlite_ix.h"

#define EST_CAP 1000         /* rows counted per condition when estimating */
#define EST_TTL_NS 10000000000LL
#define EST_SLOTS 8192      /* a mixed workload has a few thousand distinct terms */
#define MAX_BINDS 30000
#define MAX_DEPTH 6          /* chains and _has nested this deep at most */
#define MAX_KEYSORT 100000   /* matches sorted by a computed key (token, reference) at most */

static const char *const tables[JL_IX_NTABLES] = {
	"ix_token", "ix_string", "ix_uri", "ix_ref", "ix_date", "ix_number", "ix_quantity", "ix_composite", "ix_text",
};

/* ---- connections ------------------------------------------------------------ */

#define STMT_CACHE 32        /* prepared statements kept per connection */
/*
 * Pages read through a memory map instead of pread(): a page this connection's
 * cache does not hold costs a mapping fault once, not a system call and a 4 KiB
 * copy each time. Every search connection starts a cursor's life cold (a parked
 * one gives its cache back), and with pread the mixed workload at 1.8 M
 * resources spent 18 % of the server's time reading pages; with the map it ran
 * at 4.5-4.6 k req/s against 3.0-3.6 k on the same busy machine. Safe with our
 * file: it never shrinks (auto_vacuum is off and nothing vacuums), so a mapped
 * page never disappears under a reader. SQLite caps the map (2 GiB in Debian's
 * build); pages beyond it are read as before.
 */
#define MMAP_SEARCH 2147418112
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct cached_stmt {
	sqlite3_stmt *st;    /* NULL: free slot (or taken out while in use) */
	uint64_t h;          /* hash of the SQL text */
	size_t n;
	uint64_t used;       /* last use, for eviction */
} cached_stmt_t;

#define TNAMES 256           /* type names cached per connection (type ids are small) */

typedef struct tname {
	uint8_t n;           /* 0: not cached yet */
	char s[64];
} tname_t;

typedef struct sconn {
	struct sconn *next;
	sqlite3 *db;
	sqlite3_stmt *load;      /* a version by rid (key-sorted pages) */
	sqlite3_stmt *load_ver;  /* a version by its instant (pages that name it) */
	sqlite3_stmt *tname_st;
	sqlite3_stmt *begin, *commit; /* every search is a read transaction: no parse for each */
	sqlite3_stmt *staged;    /* are index runs waiting for their merge (sqlite_stage.h)? */
	tname_t *tnames;         /* by type id; rtype rows never change once committed */
	ZSTD_DCtx *dctx;
	/* Searches of one shape produce the same SQL text with other values bound:
	 * keeping their statements saves SQLite's parse and plan on every request. */
	cached_stmt_t cache[STMT_CACHE];
	uint64_t tick;
} sconn_t;

typedef struct bindv {
	char t; /* 'i' int64, 'd' double, 's' text, 'p' pointer (a key sort's context) */
	int64_t i;
	double d;
	jl_str_t s;
	void *p;
} bindv_t;

/* What jl_sortkey() needs: the sort, the connection's decompressor, scratch memory. */
typedef struct keyctx {
	const jl_sq_sort_t *s;
	ZSTD_DCtx **dctx;
	jl_arena_t *scratch;
	jl_rc rc;            /* the first failure, reported instead of SQLite's */
} keyctx_t;

#define KEYCTX_TAG "jl_sortkey"

typedef struct cursor {
	char id[33];
	sconn_t *c;            /* holds the open read transaction */
	char *sql;             /* page statement; its last two parameters are LIMIT and OFFSET */
	int64_t *rids;         /* or, for key sorts, every match in order (pages are slices) */
	size_t nrids;
	bindv_t *binds;        /* copies (text owned by `mem`) */
	uint32_t nb;
	uint32_t count;
	int64_t estimate, total;
	int64_t last_ns;
	bool busy;
	jl_arena_t *mem;
} cursor_t;

typedef struct est_slot {
	uint64_t key;
	int64_t n;
	int64_t cap;         /* what it was counted up to */
	int64_t at_ns;
} est_slot_t;

struct jl__sqs {
	char *path;
	pthread_mutex_t mu;    /* pool, cursors, estimates */
	sconn_t *pool;
	cursor_t **cur;
	uint32_t ncur, maxcur;
	int64_t ttl_ns;
	est_slot_t est[EST_SLOTS];
};

static const char load_sql[] =
	"SELECT t.name, r.lid, v.ver, v.updated, v.deleted, v.method, v.enc, v.meta, v.body"
	" FROM res r JOIN ver v ON v.updated = r.updated JOIN rtype t ON t.id = r.type WHERE r.rid = ?1";
/* The instant is the version table's rowid: one seek, where load_sql takes four. */
static const char load_ver_sql[] = "SELECT ver, deleted, method, enc, meta, body FROM ver WHERE updated = ?1";
static const char tname_sql[] = "SELECT name FROM rtype WHERE id = ?1";

/* jl_bit(blob, n): whether bit n of a little-endian 64-bit word array is set. */
static void sql_bit(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const unsigned char *b = sqlite3_value_blob(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	int64_t bit = sqlite3_value_int64(argv[1]);
	int res = 0;
	if (b && bit >= 0 && bit / 8 < n) {
		/* words are stored little-endian: bit i of word w is byte w*8 + i/8 */
		res = (b[bit / 8] >> (bit % 8)) & 1;
	}
	sqlite3_result_int(ctx, res);
}

/*
 * jl_sortkey(ctx, type, lid, ver, updated, meta, enc, body): the sort key of
 * one version, computed by the caller's function (see jl_sq_key_fn).
 */
static void sql_sortkey(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	keyctx_t *k = sqlite3_value_pointer(argv[0], KEYCTX_TAG);
	if (!k) {
		sqlite3_result_error(ctx, "jl_sortkey: no context", -1);
		return;
	}
	if (!k->scratch && !(k->scratch = jl_arena_new(16384, 0))) {
		k->rc = JL_ENOMEM;
		sqlite3_result_error_nomem(ctx);
		return;
	}
	jl_version_t v = {
		.type = jl_str((const char *)sqlite3_value_text(argv[1]), (size_t)sqlite3_value_bytes(argv[1])),
		.id = jl_str((const char *)sqlite3_value_text(argv[2]), (size_t)sqlite3_value_bytes(argv[2])),
		.ver = sqlite3_value_int64(argv[3]),
		.updated_us = sqlite3_value_int64(argv[4]),
		.body_meta = (uint32_t)sqlite3_value_int64(argv[5]),
	};
	jl_str_t key = JL_STR_NULL;
	jl_rc rc = jl__sq_decode(k->dctx, k->scratch, sqlite3_value_int(argv[6]), sqlite3_value_blob(argv[7]),
				 (size_t)sqlite3_value_bytes(argv[7]), &v.body);
	if (!rc)
		rc = k->s->key(k->s->key_arg, k->scratch, &v, k->s->param, k->s->desc, &key);
	if (rc) {
		if (!k->rc)
			k->rc = rc;
		sqlite3_result_error(ctx, "jl_sortkey: the key could not be computed", -1);
	} else if (key.p) {
		sqlite3_result_text64(ctx, key.p, key.n, SQLITE_TRANSIENT, SQLITE_UTF8);
	} else {
		sqlite3_result_null(ctx);
	}
	jl_arena_reset(k->scratch);
}

static void conn_free(sconn_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_finalize(c->load);
	sqlite3_finalize(c->load_ver);
	sqlite3_finalize(c->tname_st);
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->commit);
	sqlite3_finalize(c->staged);
	jl_free(JL_MEM_STORE, c->tnames);
	sqlite3_close(c->db);
	ZSTD_freeDCtx(c->dctx);
	jl_free(JL_MEM_STORE, c);
}

static jl_rc conn_open(jl__sqs_t *x, sconn_t **out)
{
	sconn_t *c = jl_calloc(JL_MEM_STORE, 1, sizeof *c);
	*out = NULL;
	if (!c)
		return JL_ENOMEM;
	if (sqlite3_open_v2(x->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA cache_size = -16384; PRAGMA mmap_size = " STR(MMAP_SEARCH), NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_create_function(c->db, "jl_bit", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_bit, NULL,
				    NULL) != SQLITE_OK ||
	    sqlite3_create_function(c->db, "jl_sortkey", 8, SQLITE_UTF8, NULL, sql_sortkey, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, load_sql, -1, SQLITE_PREPARE_PERSISTENT, &c->load, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, load_ver_sql, -1, SQLITE_PREPARE_PERSISTENT, &c->load_ver, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, tname_sql, -1, SQLITE_PREPARE_PERSISTENT, &c->tname_st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &c->begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &c->commit, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "SELECT 1 FROM ix_stage LIMIT 1", -1, SQLITE_PREPARE_PERSISTENT, &c->staged,
			       NULL) != SQLITE_OK) {
		conn_free(c);
		return JL_EIO;
	}
	sqlite3_busy_timeout(c->db, 5000);
	*out = c;
	return JL_OK;
}

static int conn_begin(sconn_t *c)
{
	int e = sqlite3_step(c->begin);
	sqlite3_reset(c->begin);
	return e == SQLITE_DONE ? SQLITE_OK : e;
}

/* Ends the connection's read transaction, if one is open. */
static void conn_end(sconn_t *c)
{
	if (!sqlite3_get_autocommit(c->db)) {
		sqlite3_step(c->commit);
		sqlite3_reset(c->commit);
	}
}

/* A prepared statement for sql (n bytes): from the connection's cache, taken out until stmt_put. */
static int stmt_get(sconn_t *c, const char *sql, size_t n, sqlite3_stmt **out)
{
	uint64_t h = jl_hash_bytes(JL_HASH_SEED, sql, n);
	for (int i = 0; i < STMT_CACHE; i++) {
		cached_stmt_t *e = &c->cache[i];
		if (e->st && e->h == h && e->n == n && memcmp(sqlite3_sql(e->st), sql, n) == 0) {
			*out = e->st;
			e->st = NULL;
			return SQLITE_OK;
		}
	}
	return sqlite3_prepare_v3(c->db, sql, (int)n, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

/* Gives a statement back to the cache (reset, its values unbound), evicting the least recently used. */
static void stmt_put(sconn_t *c, sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st); /* a key sort's context pointer must not outlive its request */
	const char *sql = sqlite3_sql(st);
	size_t n = strlen(sql);
	int slot = 0;
	for (int i = 0; i < STMT_CACHE; i++) {
		if (!c->cache[i].st) {
			slot = i;
			break;
		}
		if (c->cache[i].used < c->cache[slot].used)
			slot = i;
	}
	cached_stmt_t *e = &c->cache[slot];
	sqlite3_finalize(e->st);
	*e = (cached_stmt_t){.st = st, .h = jl_hash_bytes(JL_HASH_SEED, sql, n), .n = n, .used = ++c->tick};
}

static jl_rc conn_get(jl__sqs_t *x, sconn_t **out)
{
	pthread_mutex_lock(&x->mu);
	sconn_t *c = x->pool;
	if (c)
		x->pool = c->next;
	pthread_mutex_unlock(&x->mu);
	if (c) {
		*out = c;
		return JL_OK;
	}
	return conn_open(x, out);
}

static void conn_put(jl__sqs_t *x, sconn_t *c)
{
	conn_end(c);
	pthread_mutex_lock(&x->mu);
	c->next = x->pool;
	x->pool = c;
	pthread_mutex_unlock(&x->mu);
}

jl_rc jl__sqs_new(const char *path, const jl_store_cfg_t *cfg, jl__sqs_t **out)
{
	jl__sqs_t *x = jl_calloc(JL_MEM_STORE, 1, sizeof *x);
	*out = NULL;
	if (!x)
		return JL_ENOMEM;
	x->path = jl_strndup(JL_MEM_STORE, path, strlen(path));
	x->maxcur = cfg->max_cursors ? cfg->max_cursors : 64;
	x->ttl_ns = (int64_t)(cfg->cursor_ttl_ms ? cfg->cursor_ttl_ms : 300000) * 1000000;
	x->cur = jl_calloc(JL_MEM_STORE, x->maxcur, sizeof *x->cur);
	if (!x->path || !x->cur || pthread_mutex_init(&x->mu, NULL) != 0) {
		jl_free(JL_MEM_STORE, x->path);
		jl_free(JL_MEM_STORE, x->cur);
		jl_free(JL_MEM_STORE, x);
		return JL_ENOMEM;
	}
	*out = x;
	return JL_OK;
}

static void cursor_free(cursor_t *k)
{
	if (!k)
		return;
	if (k->c) {
		conn_end(k->c);
		conn_free(k->c);
	}
	jl_arena_free(k->mem);
	jl_free(JL_MEM_STORE, k);
}

void jl__sqs_free(jl__sqs_t *x)
{
	if (!x)
		return;
	for (uint32_t i = 0; i < x->ncur; i++)
		cursor_free(x->cur[i]);
	sconn_t *c = x->pool;
	while (c) {
		sconn_t *nx = c->next;
		conn_free(c);
		c = nx;
	}
	pthread_mutex_destroy(&x->mu);
	jl_free(JL_MEM_STORE, x->cur);
	jl_free(JL_MEM_STORE, x->path);
	jl_free(JL_MEM_STORE, x);
}

/* ---- SQL building ---------------------------------------------------------------- */

typedef struct sqlb {
	jl_buf_t sql;
	bindv_t *b;
	uint32_t n, cap;
	jl_arena_t *a;
	jl_rc rc;
	int depth;
	int alias;             /* counter for subquery aliases */
	sconn_t *c;            /* the connection the statement is for (key sorts use its decompressor) */
	const char *rid;       /* the candidate's rid column for filters: the driver's when there is one,
				  so they run before the resource row is looked up */
} sqlb_t;

static void free_keyctx(void *arg)
{
	keyctx_t *k = arg;
	jl_arena_free(k->scratch);
}

static void put(sqlb_t *q, const char *s)
{
	jl_buf_puts(&q->sql, s);
}

static void putf(sqlb_t *q, const char *fmt, ...) JL_PRINTF(2, 3);
static void putf(sqlb_t *q, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	jl_buf_puts(&q->sql, tmp);
}

static bindv_t *nb(sqlb_t *q)
{
	if (q->n == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 32;
		if (cap > MAX_BINDS) {
			q->rc = JL_ETOOBIG;
			return NULL;
		}
		bindv_t *b = jl_arena_alloc(q->a, cap * sizeof *b);
		if (!b) {
			q->rc = JL_ENOMEM;
			return NULL;
		}
		if (q->n)
			memcpy(b, q->b, q->n * sizeof *b);
		q->b = b;
		q->cap = cap;
	}
	bindv_t *v = &q->b[q->n++];
	memset(v, 0, sizeof *v);
	putf(q, "?%u", q->n);
	return v;
}

static void bi(sqlb_t *q, int64_t v)
{
	bindv_t *b = nb(q);
	if (b) {
		b->t = 'i';
		b->i = v;
	}
}

static void bp(sqlb_t *q, void *p)
{
	bindv_t *b = nb(q);
	if (b) {
		b->t = 'p';
		b->p = p;
	}
}

static void bd(sqlb_t *q, double v)
{
	bindv_t *b = nb(q);
	if (b) {
		b->t = 'd';
		b->d = v;
	}
}

static void bs(sqlb_t *q, jl_str_t v)
{
	bindv_t *b = nb(q);
	if (b) {
		b->t = 's';
		b->s = v;
	}
}

static void query_rids(sqlb_t *q, const jl_sq_query_t *sq);

/*
 * Range predicates. Dates are half-open [lo, hi) ranges; numbers and
 * quantities are closed [lo, hi] (a single value is [v, v]). The search
 * value is [a, b). R4 "search prefixes": eq = contained, gt = intersects
 * the range above, ge = gt or eq, sa = wholly above, ap = overlaps a
 * widened range (widened by the caller).
 */
static void value_pred(sqlb_t *q, const char *x, const jl_sq_term_t *t)
{
	bool date = t->table == JL_IX_DATE;
#define A() (date ? bi(q, t->ia) : bd(q, t->da))
#define B() (date ? bi(q, t->ib) : bd(q, t->db))
	switch (t->op) {
	case JL_SQ_EQ:
	case JL_SQ_NE:
		put(q, t->op == JL_SQ_NE ? "NOT (" : "(");
		putf(q, "%s.lo >= ", x), A();
		putf(q, date ? " AND %s.lo < " : " AND %s.lo < ", x), B();
		putf(q, date ? " AND %s.hi <= " : " AND %s.hi < ", x), B();
		put(q, ")");
		break;
	case JL_SQ_GT:
		putf(q, date ? "%s.hi > " : "%s.hi >= ", x), B();
		break;
	case JL_SQ_LT:
		putf(q, "%s.lo < ", x), A();
		break;
	case JL_SQ_GE:
		putf(q, date ? "(%s.hi > " : "(%s.hi >= ", x), B();
		putf(q, " OR (%s.lo >= ", x), A();
		putf(q, date ? " AND %s.hi <= " : " AND %s.hi < ", x), B();
		put(q, "))");
		break;
	case JL_SQ_LE:
		putf(q, "(%s.lo < ", x), A();
		putf(q, " OR (%s.lo >= ", x), A();
		putf(q, date ? " AND %s.hi <= " : " AND %s.hi < ", x), B();
		put(q, "))");
		break;
	case JL_SQ_SA:
		putf(q, "%s.lo >= ", x), B();
		break;
	case JL_SQ_EB:
		putf(q, date ? "%s.hi <= " : "%s.hi < ", x), A();
		break;
	case JL_SQ_AP:
		putf(q, date ? "(%s.hi > " : "(%s.hi >= ", x), A();
		putf(q, " AND %s.lo < ", x), B();
		put(q, ")");
		break;
	default:
		put(q, "0");
	}
#undef A
#undef B
}

/* A range predicate, and for a quantity with a unit the unit's: outside the value test, so `ne` keeps the unit. */
static void range_pred(sqlb_t *q, const char *x, const jl_sq_term_t *t)
{
	if (t->table != JL_IX_QUANTITY || (!t->us && !t->uc)) {
		value_pred(q, x, t);
		return;
	}
	if (t->us)
		putf(q, "(%s.us = ", x), bi(q, t->us);
	else
		putf(q, "((%s.uc = ", x), bi(q, t->uc), putf(q, " OR %s.uu = ", x), bi(q, t->uc), put(q, ")");
	put(q, " AND "), value_pred(q, x, t), put(q, ")");
}

static void text_pred(sqlb_t *q, const char *x, const jl_sq_term_t *t)
{
	switch (t->match) {
	case JL_SQ_TEXT_EXACT:
		putf(q, "%s.v = ", x), bs(q, t->v);
		break;
	case JL_SQ_TEXT_PREFIX:
		/* A range, so the index serves it: v >= p AND v < p + U+10FFFF. */
		putf(q, "%s.v >= ", x), bs(q, t->v);
		putf(q, " AND %s.v < ", x);
		{
			char *hi = jl_arena_alloc_bytes(q->a, t->v.n + 4);
			if (!hi) {
				q->rc = JL_ENOMEM;
				return;
			}
			memcpy(hi, t->v.p, t->v.n);
			memcpy(hi + t->v.n, "\xf4\x8f\xbf\xbf", 4);
			bs(q, jl_str(hi, t->v.n + 4));
		}
		break;
	case JL_SQ_TEXT_CONTAINS:
		putf(q, "instr(%s.v, ", x), bs(q, t->v), put(q, ") > 0");
		break;
	case JL_SQ_TEXT_ABOVE:
		/* the stored URI is a prefix of the given one */
		put(q, "substr("), bs(q, t->v), putf(q, ", 1, length(%s.v)) = %s.v", x, x);
		break;
	default:
		put(q, "0");
	}
}

static void id_list(sqlb_t *q, const jl_str_t *vs, uint32_t n)
{
	put(q, "(");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			put(q, ", ");
		bs(q, vs[i]);
	}
	put(q, ")");
}

static void target_list(sqlb_t *q, const int64_t *t, uint32_t n)
{
	put(q, "(");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			put(q, ", ");
		bi(q, t[i]);
	}
	if (!n)
		put(q, "NULL");
	put(q, ")");
}

/* The th values of the resources a sub-query matches. */
static void sub_targets(sqlb_t *q, const jl_sq_query_t *sub)
{
	if (++q->depth > MAX_DEPTH) {
		q->rc = JL_ETOOBIG;
		return;
	}
	int a = ++q->alias;
	putf(q, "(SELECT s%d.th FROM res s%d WHERE s%d.rid IN (", a, a, a);
	query_rids(q, sub);
	put(q, "))");
	q->depth--;
}

/*
 * A token term's system (system|code, |code): the code's rows of that system, flagged as duplicates
 * or not. A range, not IN: a probe by (k, rid) is then one seek, where IN made two (a tenth slower).
 */
static void token_sys(sqlb_t *q, const char *x, const jl_sq_term_t *t)
{
	if (t->table != JL_IX_TOKEN || !t->sys)
		return;
	putf(q, " AND %s.s BETWEEN ", x), bi(q, t->s), put(q, " AND "), bi(q, t->s | JL_IX_TOKEN_DUP);
}

/* SQL boolean: the resource r (alias `r`) satisfies term t. */
static void term_filter(sqlb_t *q, const jl_sq_term_t *t)
{
	int a = ++q->alias;
	char x[16];
	snprintf(x, sizeof x, "x%d", a);
	switch (t->kind) {
	case JL_SQ_KEY:
		putf(q, "EXISTS (SELECT 1 FROM %s %s WHERE %s.k = ", tables[t->table], x, x), bi(q, t->k);
		putf(q, " AND %s.rid = %s", x, q->rid), token_sys(q, x, t), put(q, ")");
		break;
	case JL_SQ_RANGE:
		/* dates probe their (k, rid) index; numbers and quantities are keyed (k, rid, lo, hi) */
		if (t->table == JL_IX_DATE)
			putf(q, "EXISTS (SELECT 1 FROM ix_date %s INDEXED BY ix_date_r WHERE %s.k = ", x, x);
		else
			putf(q, "EXISTS (SELECT 1 FROM %s %s WHERE %s.k = ", tables[t->table], x, x);
		bi(q, t->k);
		putf(q, " AND %s.rid = %s AND ", x, q->rid), range_pred(q, x, t), put(q, ")");
		break;
	case JL_SQ_TEXT:
		if (t->table == JL_IX_TEXT) {
			/* the parameter's matching texts, then the candidate's token row under each (CROSS JOIN:
			 * the texts first, whatever the planner thinks) */
			putf(q, "EXISTS (SELECT 1 FROM ix_text %s CROSS JOIN ix_token y%d ON y%d.k = %s.t WHERE %s.k = ", x, a,
			     a, x, x);
			bi(q, t->k);
			putf(q, " AND y%d.rid = %s AND ", a, q->rid), text_pred(q, x, t), put(q, ")");
			break;
		}
		/* the candidate's few rows of the parameter, by (k, rid), then the text test on each */
		putf(q, "EXISTS (SELECT 1 FROM %s %s INDEXED BY %s_r WHERE %s.k = ", tables[t->table], x, tables[t->table], x);
		bi(q, t->k);
		putf(q, " AND %s.rid = %s AND ", x, q->rid), text_pred(q, x, t), put(q, ")");
		break;
	case JL_SQ_REF:
		putf(q, "EXISTS (SELECT 1 FROM ix_ref %s WHERE %s.k = ", x, x), bi(q, t->k);
		putf(q, " AND %s.rid = %s AND %s.target IN ", x, q->rid, x), target_list(q, t->targets, t->ntargets), put(q, ")");
		break;
	case JL_SQ_CHAIN:
		putf(q, "EXISTS (SELECT 1 FROM ix_ref %s WHERE %s.k = ", x, x), bi(q, t->k);
		putf(q, " AND %s.rid = %s AND %s.target IN ", x, q->rid, x), sub_targets(q, t->sub), put(q, ")");
		break;
	case JL_SQ_HAS:
		if (++q->depth > MAX_DEPTH) {
			q->rc = JL_ETOOBIG;
			return;
		}
		putf(q, "r.th IN (SELECT %s.target FROM ix_ref %s WHERE %s.k = ", x, x, x), bi(q, t->k);
		putf(q, " AND %s.rid IN (", x), query_rids(q, t->sub), put(q, "))");
		q->depth--;
		break;
	case JL_SQ_ID:
		put(q, "r.lid IN "), id_list(q, t->vs, t->nvs);
		break;
	case JL_SQ_UPDATED: {
		jl_sq_term_t u = *t;
		u.table = JL_IX_DATE;
		/* the instant is a point: [updated, updated + 1µs) */
		put(q, "EXISTS (SELECT 1 FROM (SELECT r.updated AS lo, r.updated + 1 AS hi) u WHERE ");
		range_pred(q, "u", &u);
		put(q, ")");
		break;
	}
	case JL_SQ_PRESENT:
		putf(q, "jl_bit(r.present, %u)", (unsigned)t->bit);
		break;
	case JL_SQ_TYPE:
		put(q, "r.type IN (SELECT id FROM rtype WHERE name IN "), id_list(q, t->vs, t->nvs), put(q, ")");
		break;
	default:
		put(q, "0");
	}
}

static void cond_filter(sqlb_t *q, const jl_sq_cond_t *c)
{
	put(q, c->negate ? "NOT (" : "(");
	for (uint32_t i = 0; i < c->nterms; i++) {
		if (i)
			put(q, " OR ");
		term_filter(q, &c->terms[i]);
	}
	if (!c->nterms)
		put(q, "0");
	put(q, ")");
}

/* Whether a term can drive (its table's primary key gives its rows). */
static bool drivable(const jl_sq_term_t *t)
{
	return t->kind == JL_SQ_KEY || t->kind == JL_SQ_RANGE || t->kind == JL_SQ_TEXT || t->kind == JL_SQ_REF ||
	       t->kind == JL_SQ_CHAIN || t->kind == JL_SQ_ID;
}

static bool cond_drivable(const jl_sq_cond_t *c)
{
	if (c->negate || !c->nterms)
		return false;
	for (uint32_t i = 0; i < c->nterms; i++)
		if (!drivable(&c->terms[i]))
			return false;
	return true;
}

/* SELECT of the rids one term matches, from its own table (the driver form). */
static void term_rids(sqlb_t *q, const jl_sq_term_t *t, jl_str_t type)
{
	int a = ++q->alias;
	char d[16];
	snprintf(d, sizeof d, "d%d", a);
	switch (t->kind) {
	case JL_SQ_KEY:
		putf(q, "SELECT %s.rid FROM %s %s WHERE %s.k = ", d, tables[t->table], d, d), bi(q, t->k);
		if (t->table == JL_IX_TOKEN && !t->sys)
			putf(q, " AND (%s.s & %d) = 0", d, JL_IX_TOKEN_DUP); /* each resource once, still in rid order */
		token_sys(q, d, t);
		break;
	case JL_SQ_RANGE:
		putf(q, "SELECT %s.rid FROM %s %s WHERE %s.k = ", d, tables[t->table], d, d), bi(q, t->k);
		put(q, " AND "), range_pred(q, d, t);
		break;
	case JL_SQ_TEXT:
		if (t->table == JL_IX_TEXT) {
			/* a resource with two matching texts comes twice: TEXT never drives in rid order */
			putf(q, "SELECT y%d.rid FROM ix_text %s CROSS JOIN ix_token y%d ON y%d.k = %s.t WHERE %s.k = ", a, d, a,
			     a, d, d);
			bi(q, t->k);
			put(q, " AND "), text_pred(q, d, t);
			break;
		}
		putf(q, "SELECT %s.rid FROM %s %s WHERE %s.k = ", d, tables[t->table], d, d), bi(q, t->k);
		put(q, " AND "), text_pred(q, d, t);
		break;
	case JL_SQ_REF:
		putf(q, "SELECT %s.rid FROM ix_ref %s WHERE %s.k = ", d, d, d), bi(q, t->k);
		putf(q, " AND %s.target IN ", d), target_list(q, t->targets, t->ntargets);
		break;
	case JL_SQ_CHAIN:
		putf(q, "SELECT %s.rid FROM ix_ref %s WHERE %s.k = ", d, d, d), bi(q, t->k);
		putf(q, " AND %s.target IN ", d), sub_targets(q, t->sub);
		break;
	case JL_SQ_ID:
		/* (type, lid) is the primary key: one probe per id (and per type, at system level) */
		if (type.n) {
			putf(q, "SELECT %s.rid FROM res %s WHERE %s.type = (SELECT id FROM rtype WHERE name = ", d, d, d);
			bs(q, type), put(q, ")");
		} else {
			putf(q, "SELECT %s.rid FROM res %s WHERE %s.type IN (SELECT id FROM rtype)", d, d, d);
		}
		putf(q, " AND %s.lid IN ", d), id_list(q, t->vs, t->nvs);
		break;
	default:
		put(q, "SELECT NULL WHERE 0");
	}
}

/* Whether every term of c is a reference to the same targets (compartments, $everything). */
static bool same_ref_targets(const jl_sq_cond_t *c)
{
	for (uint32_t i = 0; i < c->nterms; i++) {
		const jl_sq_term_t *t = &c->terms[i], *t0 = &c->terms[0];
		if (t->kind != JL_SQ_REF || t->ntargets != t0->ntargets ||
		    (t->targets != t0->targets && memcmp(t->targets, t0->targets, t->ntargets * sizeof *t->targets)))
			return false;
	}
	return c->nterms > 1;
}

/* The rids of such a condition in one index access: k IN (the parameters) AND target IN (…). */
static void ref_rids_merged(sqlb_t *q, const jl_sq_cond_t *c)
{
	int a = ++q->alias;
	putf(q, "(SELECT DISTINCT d%d.rid FROM ix_ref d%d WHERE d%d.k IN (", a, a, a);
	for (uint32_t i = 0; i < c->nterms; i++) {
		if (i)
			put(q, ", ");
		bi(q, c->terms[i].k);
	}
	putf(q, ") AND d%d.target IN ", a);
	target_list(q, c->terms[0].targets, c->terms[0].ntargets);
	put(q, ")");
}

typedef struct plan {
	int driver;            /* index of the driving condition, -1: the type's resource table */
	bool distinct;         /* the driver can give a resource twice */
	int64_t est[64];       /* estimates per condition (-1: not estimated) */
	int64_t est_cap[64];   /* what each was counted up to: an estimate at its cap is a lower bound */
	int64_t estimate;      /* of the whole query: the driver's */
} plan_t;

/* The driver's rids as `d`. */
static void driver_rids(sqlb_t *q, const jl_sq_query_t *sq, const plan_t *p)
{
	const jl_sq_cond_t *c = &sq->conds[p->driver];
	if (c->nterms == 1) {
		put(q, "(");
		term_rids(q, &c->terms[0], sq->type);
		put(q, ") AS d");
	} else if (same_ref_targets(c)) {
		ref_rids_merged(q, c);
		put(q, " AS d");
	} else {
		put(q, "(");
		for (uint32_t i = 0; i < c->nterms; i++) {
			if (i)
				put(q, " UNION ");
			term_rids(q, &c->terms[i], sq->type);
		}
		put(q, ") AS d");
	}
}

/* " AND " and each condition but the driver as a filter on the candidate's rid (q->rid). */
static void filters(sqlb_t *q, const jl_sq_query_t *sq, const plan_t *p)
{
	for (uint32_t i = 0; i < sq->nconds; i++) {
		if ((int)i == p->driver)
			continue;
		put(q, " AND ");
		cond_filter(q, &sq->conds[i]);
	}
}

/* The FROM and WHERE of a query (as resources `r`), driver chosen in p. */
static void from_where(sqlb_t *q, const jl_sq_query_t *sq, const plan_t *p)
{
	if (p->driver >= 0) {
		driver_rids(q, sq, p);
		put(q, " JOIN res r ON r.rid = d.rid WHERE r.deleted = 0");
	} else {
		put(q, "res r INDEXED BY res_type_rid WHERE r.deleted = 0");
		if (sq->type.n) {
			put(q, " AND r.type = (SELECT id FROM rtype WHERE name = ");
			bs(q, sq->type);
			put(q, ")");
		}
	}
	const char *outer = q->rid;
	q->rid = p->driver >= 0 ? "d.rid" : "r.rid";
	filters(q, sq, p);
	q->rid = outer;
}

/* Whether a term's filter reads index rows by the candidate's rid only, never its resource row. */
static bool rid_filter(const jl_sq_term_t *t)
{
	return t->kind == JL_SQ_KEY || t->kind == JL_SQ_RANGE || t->kind == JL_SQ_TEXT || t->kind == JL_SQ_REF ||
	       t->kind == JL_SQ_CHAIN;
}

/*
 * Whether the page can be cut from the driver's rids before any resource row
 * is read: a driver that must be sorted (a text or date range, several terms),
 * filters on index rows only, the default order. Such a driver produces every
 * candidate before the first page (the 858 rows of family=寸), and the join
 * with the resource table cost two probes (res_rid, then the row by its key)
 * for each one that passed the filters; this way only the page's rows are
 * read. Index rows exist for live current versions only (a version's rows go
 * when it is replaced or deleted), so the deleted test after the cut drops
 * nothing.
 */
static bool late_rows(const jl_sq_query_t *sq, const plan_t *p)
{
	if (p->driver < 0 || !p->distinct || sq->nsorts)
		return false;
	for (uint32_t i = 0; i < sq->nconds; i++)
		for (uint32_t j = 0; (int)i != p->driver && j < sq->conds[i].nterms; j++)
			if (!rid_filter(&sq->conds[i].terms[j]))
				return false;
	return true;
}

/* A nested query (chains, _has): plan it simply — the first drivable condition drives. */
static void query_rids(sqlb_t *q, const jl_sq_query_t *sq)
{
	plan_t p = {.driver = -1};
	for (uint32_t i = 0; i < sq->nconds && p.driver < 0; i++)
		if (cond_drivable(&sq->conds[i]))
			p.driver = (int)i;
	put(q, "SELECT DISTINCT r.rid FROM ");
	from_where(q, sq, &p);
}

static void sort_expr(sqlb_t *q, const jl_sq_sort_t *s)
{
	int a = ++q->alias;
	switch (s->by) {
	case JL_SQ_SORT_ID: put(q, "r.lid"); break;
	case JL_SQ_SORT_UPDATED: put(q, "r.updated"); break;
	case JL_SQ_SORT_KEY: {
		keyctx_t *k = jl_arena_calloc(q->a, 1, sizeof *k);
		if (!k) {
			q->rc = JL_ENOMEM;
			return;
		}
		k->s = s;
		k->dctx = &q->c->dctx;
		if (jl_arena_on_free(q->a, free_keyctx, k) != JL_OK) {
			q->rc = JL_ENOMEM;
			return;
		}
		put(q, "(SELECT jl_sortkey(");
		bp(q, k);
		putf(q, ", t%d.name, r.lid, v%d.ver, v%d.updated, v%d.meta, v%d.enc, v%d.body) FROM ver v%d"
			" JOIN rtype t%d ON t%d.id = r.type WHERE v%d.updated = r.updated)",
		     a, a, a, a, a, a, a, a, a, a);
		break;
	}
	default: {
		const char *col = s->by == JL_SQ_SORT_TEXT ? "v" : s->desc ? "hi" : "lo";
		putf(q, "(SELECT %s(o%d.%s) FROM %s o%d WHERE o%d.k = ", s->desc ? "max" : "min", a, col,
		     tables[s->table], a, a);
		bi(q, s->k);
		putf(q, " AND o%d.rid = r.rid)", a);
	}
	}
}

/* The page statement: rids in order, LIMIT and OFFSET as its last two parameters. */
static void page_sql(sqlb_t *q, const jl_sq_query_t *sq, const plan_t *p)
{
	if (late_rows(sq, p)) {
		/* "+" as below: the GROUP BY's own order, no scan of a (k, rid) index for it */
		put(q, "SELECT r.rid, r.type, r.lid, r.updated FROM (SELECT d.rid AS rid FROM ");
		driver_rids(q, sq, p);
		const char *outer = q->rid;
		q->rid = "d.rid";
		put(q, " WHERE 1");
		filters(q, sq, p);
		q->rid = outer;
		put(q, " GROUP BY +d.rid ORDER BY +d.rid LIMIT ");
		bi(q, 0);
		put(q, " OFFSET ");
		bi(q, 0);
		put(q, ") AS m JOIN res r ON r.rid = m.rid WHERE r.deleted = 0 ORDER BY m.rid");
		return;
	}
	put(q, "SELECT ");
	/* What loading a match needs besides its version row: the type, the id and the instant. A
	 * computed-key sort keeps rids only (its pages are slices of them, loaded by rid). */
	bool key_sort = false;
	for (uint32_t i = 0; i < sq->nsorts; i++)
		key_sort |= sq->sorts[i].by == JL_SQ_SORT_KEY;
	put(q, key_sort ? "r.rid" : "r.rid, r.type, r.lid, r.updated");
	for (uint32_t i = 0; i < sq->nsorts; i++) {
		putf(q, ", ");
		sort_expr(q, &sq->sorts[i]);
		putf(q, " AS s%u", i);
	}
	put(q, " FROM ");
	from_where(q, sq, p);
	/* A driver that can give a resource twice: one row per rid. GROUP BY the rid alone, where
	 * DISTINCT would compare type, id and instant too; "+" as below. */
	if (p->distinct)
		put(q, " GROUP BY +d.rid");
	put(q, " ORDER BY ");
	for (uint32_t i = 0; i < sq->nsorts; i++)
		putf(q, "s%u IS NULL, s%u%s, ", i, i, sq->sorts[i].desc ? " DESC" : "");
	/* The driver's own rid column: a single token driver (or a reference to one target) delivers it
	 * in order, so no sort. Any
	 * other driver is sorted, and "+" keeps SQLite from scanning a (k, rid) index in full just to
	 * get that order instead of the driver's range. */
	put(q, p->driver < 0 ? "r.rid LIMIT " : p->distinct ? "+d.rid LIMIT " : "d.rid LIMIT ");
	bi(q, 0);
	put(q, " OFFSET ");
	bi(q, 0);
}

static void count_sql(sqlb_t *q, const jl_sq_query_t *sq, const plan_t *p)
{
	put(q, "SELECT count(*) FROM (SELECT DISTINCT r.rid FROM ");
	from_where(q, sq, p);
	put(q, ")");
}

/* ---- running ------------------------------------------------------------------------ */

static int bind_all(sqlite3_stmt *st, const bindv_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int e;
		switch (b[i].t) {
		case 'i': e = sqlite3_bind_int64(st, (int)i + 1, b[i].i); break;
		case 'd': e = sqlite3_bind_double(st, (int)i + 1, b[i].d); break;
		case 'p': e = sqlite3_bind_pointer(st, (int)i + 1, b[i].p, KEYCTX_TAG, NULL); break;
		default: e = sqlite3_bind_text64(st, (int)i + 1, b[i].s.p ? b[i].s.p : "", b[i].s.n, SQLITE_STATIC, SQLITE_UTF8);
		}
		if (e != SQLITE_OK)
			return e;
	}
	return SQLITE_OK;
}

static jl_rc sql_fail(sqlite3 *db, int e, jl_diag_t *d, const char *what)
{
	if (d)
		jl_diag_add(d, JL_SEV_ERROR, "exception", NULL, "search %s failed: %s", what, sqlite3_errmsg(db));
	return e == SQLITE_BUSY || e == SQLITE_LOCKED ? JL_EBUSY : e == SQLITE_NOMEM ? JL_ENOMEM : JL_EIO;
}

/* Counts up to cap rows of a single term's driver form. */
static int64_t count_term(sconn_t *c, jl_arena_t *a, const jl_sq_term_t *t, jl_str_t type, int64_t cap)
{
	sqlb_t q = {.a = a};
	jl_buf_init(&q.sql, JL_MEM_STORE, 0);
	put(&q, "SELECT count(*) FROM (");
	term_rids(&q, t, type);
	/* Rows come in order of their start: a range open upwards (ge2023) matches the last rows, so
	 * count those from the end rather than step over every earlier row to reach them. */
	if (t->kind == JL_SQ_RANGE && t->table == JL_IX_DATE &&
	    (t->op == JL_SQ_GT || t->op == JL_SQ_GE || t->op == JL_SQ_SA))
		putf(&q, " ORDER BY d%d.lo DESC", q.alias);
	put(&q, " LIMIT ");
	bi(&q, cap);
	put(&q, ")");
	int64_t n = cap;
	sqlite3_stmt *st = NULL;
	if (!q.rc && !jl_buf_status(&q.sql) && stmt_get(c, q.sql.p, q.sql.n, &st) == SQLITE_OK &&
	    bind_all(st, q.b, q.n) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	stmt_put(c, st);
	jl_buf_dispose(&q.sql);
	return n;
}

static uint64_t term_key(const jl_sq_term_t *t)
{
	uint64_t h = (uint64_t)t->k * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)t->kind << 56) ^ ((uint64_t)t->table << 48) ^
		     ((uint64_t)t->op << 40) ^ ((uint64_t)t->match << 32);
	h ^= (uint64_t)t->ia * 31 + (uint64_t)t->ib * 17;
	h ^= t->sys ? ((uint64_t)t->s + 1) * 0xC2B2AE3D27D4EB4FULL : 0; /* code and system|code share k */
	uint64_t bits;
	memcpy(&bits, &t->da, 8);
	h ^= bits * 7;
	memcpy(&bits, &t->db, 8);
	h ^= bits * 13;
	for (size_t i = 0; i < t->v.n; i++)
		h = (h ^ (unsigned char)t->v.p[i]) * 0x100000001B3ULL;
	for (uint32_t i = 0; i < t->ntargets; i++)
		h = (h ^ (uint64_t)t->targets[i]) * 0x100000001B3ULL;
	/*
	 * The slot is the key's low bits, and the sums above leave them alike for
	 * terms that differ in their bounds only: date bounds are whole days in µs,
	 * multiples of 2^13, so every date term of a parameter fell into one of the
	 * 8,192 slots and each evicted the last (the code+date+date workload
	 * recounted its two dates, up to 1,000 rows each, on every request).
	 * Mix the high bits down (splitmix64's finaliser). Zero marks an empty
	 * slot; "| 1" kept it out but also left the even slots unused.
	 */
	h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
	h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
	h ^= h >> 31;
	return h ? h : 1;
}

/*
 * Rows a term matches, counted up to `cap` (at most EST_CAP), from the cache
 * or counted now. A count below the cap it was made with is exact; one that
 * reached it is only a lower bound, good for any cap up to it. Chains and _has
 * count as unknown-large.
 */
static int64_t estimate_term(jl__sqs_t *x, sconn_t *c, jl_arena_t *a, const jl_sq_term_t *t, jl_str_t type,
			     int64_t cap)
{
	if (t->kind == JL_SQ_CHAIN)
		return EST_CAP / 2; /* usually selective; counting it would run the sub-query */
	if (t->kind == JL_SQ_ID)
		return t->nvs;
	uint64_t key = term_key(t);
	est_slot_t *slot = &x->est[key % EST_SLOTS];
	int64_t now = jl_mono_ns();
	int64_t n = -1;
	pthread_mutex_lock(&x->mu);
	if (slot->key == key && now - slot->at_ns < EST_TTL_NS && (slot->n < slot->cap || slot->cap >= cap))
		n = slot->n < cap ? slot->n : cap;
	pthread_mutex_unlock(&x->mu);
	if (n >= 0)
		return n;
	n = count_term(c, a, t, type, cap);
	pthread_mutex_lock(&x->mu);
	*slot = (est_slot_t){.key = key, .n = n, .cap = cap, .at_ns = now};
	pthread_mutex_unlock(&x->mu);
	return n;
}

/* Which conditions to count first: those that are usually small (references, ids), so the
 * others need counting only up to that size. */
static int est_rank(const jl_sq_cond_t *c)
{
	int r = 0;
	for (uint32_t i = 0; i < c->nterms; i++) {
		int k = c->terms[i].kind == JL_SQ_REF || c->terms[i].kind == JL_SQ_ID ? 0
			: c->terms[i].kind == JL_SQ_KEY					 ? 1
			: c->terms[i].kind == JL_SQ_RANGE				 ? 3
											 : 2;
		if (k > r)
			r = k;
	}
	return r;
}

/*
 * One token or composite key, or a reference to one target: each resource
 * once and in rid order (primary keys (k, rid, s), (k, rid) and (k, target,
 * rid); a token read in any system skips the rows flagged as duplicates).
 */
static bool rid_ordered(const jl_sq_cond_t *c)
{
	return c->nterms == 1 && !c->negate &&
	       (c->terms[0].kind == JL_SQ_KEY || (c->terms[0].kind == JL_SQ_REF && c->terms[0].ntargets == 1));
}

static void make_plan(jl__sqs_t *x, sconn_t *c, jl_arena_t *a, const jl_sq_query_t *sq, plan_t *p)
{
	memset(p, 0, sizeof *p);
	p->driver = -1;
	p->estimate = -1;
	int64_t best = INT64_MAX;
	/* With one candidate there is nothing to choose: estimate only when asked (_total=estimate, plans). */
	int candidates = 0, only = -1;
	for (uint32_t i = 0; i < sq->nconds && i < 64; i++)
		if (cond_drivable(&sq->conds[i]))
			candidates++, only = (int)i;
	if (candidates == 1 && !sq->estimate && !sq->explain) {
		for (uint32_t i = 0; i < sq->nconds && i < 64; i++)
			p->est[i] = -1;
		p->driver = only;
		p->distinct = !rid_ordered(&sq->conds[only]);
		return;
	}
	for (uint32_t i = 0; i < sq->nconds && i < 64; i++)
		p->est[i] = -1;
	/*
	 * A condition is counted only as far as the smallest so far: beyond that it
	 * cannot drive. Counting the usually small ones first keeps the others'
	 * counts short (a date range counted to 1,000 rows costs a fraction of a
	 * millisecond; counted to the 8 Encounters of one patient, almost nothing).
	 */
	for (int rank = 0; rank <= 3; rank++)
		for (uint32_t i = 0; i < sq->nconds && i < 64; i++) {
			if (!cond_drivable(&sq->conds[i]) || est_rank(&sq->conds[i]) != rank)
				continue;
			int64_t cap = best < EST_CAP ? best : EST_CAP, n = 0;
			for (uint32_t k = 0; k < sq->conds[i].nterms && n < cap; k++)
				n += estimate_term(x, c, a, &sq->conds[i].terms[k], sq->type, cap - n);
			p->est[i] = n;
			p->est_cap[i] = cap;
			/* Equal counts tie (the first condition wins, as written) only when both are exact or
			 * both reached EST_CAP; a count cut at a smaller cap is larger than it says. */
			if (n < best || (n == best && (int)i < p->driver && (n < cap || n >= EST_CAP))) {
				best = n;
				p->driver = (int)i;
			}
		}
	/*
	 * When every estimate reached the cap, the counts cannot tell the conditions
	 * apart, but the access paths differ: a single key (token, composite) or a
	 * reference to one target yields
	 * its rows in rid order, the page order, so LIMIT stops the scan after one
	 * page of matches; any other driver must produce all its rows for sorting
	 * first. Without a _sort, the ordered one wins the tie.
	 */
	if (p->driver >= 0 && best >= EST_CAP && !sq->nsorts && !rid_ordered(&sq->conds[p->driver]))
		for (uint32_t i = 0; i < sq->nconds && i < 64; i++)
			if (p->est[i] >= 0 && rid_ordered(&sq->conds[i])) {
				p->driver = (int)i;
				break;
			}
	p->estimate = p->driver >= 0 ? best : -1;
	if (p->driver >= 0)
		p->distinct = !rid_ordered(&sq->conds[p->driver]);
}

/* Loads the current version of rid (as of the connection's snapshot). */
static jl_rc load_version(sconn_t *c, jl_arena_t *a, int64_t rid, jl_version_t *v)
{
	sqlite3_stmt *st = c->load;
	sqlite3_bind_int64(st, 1, rid);
	int e = sqlite3_step(st);
	jl_rc rc = JL_OK;
	if (e == SQLITE_ROW) {
		v->type = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)));
		v->id = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1)));
		v->ver = sqlite3_column_int64(st, 2);
		v->updated_us = sqlite3_column_int64(st, 3);
		v->deleted = sqlite3_column_int(st, 4) != 0;
		v->method = (uint8_t)sqlite3_column_int(st, 5);
		v->body_meta = (uint32_t)sqlite3_column_int64(st, 7);
		rc = jl__sq_decode(&c->dctx, a, sqlite3_column_int(st, 6), sqlite3_column_blob(st, 8),
				   (size_t)sqlite3_column_bytes(st, 8), &v->body);
		if (!rc && (!v->type.p || !v->id.p))
			rc = JL_ENOMEM;
	} else {
		rc = e == SQLITE_DONE ? JL_ENOTFOUND : JL_EIO;
	}
	sqlite3_reset(st);
	return rc;
}

/* One row of a page statement: enough to load the match without looking its resource row up again. */
typedef struct hit {
	int64_t rid, tid, updated;
	jl_str_t lid;        /* in the request's arena */
} hit_t;

/*
 * Runs the page statement with LIMIT `limit` OFFSET `offset`; the rids in
 * order into an arena array, and with `hits` the rows too.
 */
static jl_rc run_rids(sconn_t *c, jl_arena_t *a, const char *sql, bindv_t *b, uint32_t nb, size_t limit,
		      int64_t offset, int64_t **rids, hit_t **hits, size_t *n, jl_diag_t *d)
{
	*n = 0;
	*rids = jl_arena_alloc(a, (limit ? limit : 1) * sizeof **rids);
	if (hits && !(*hits = jl_arena_alloc(a, (limit ? limit : 1) * sizeof **hits)))
		return JL_ENOMEM;
	if (!*rids)
		return JL_ENOMEM;
	sqlite3_stmt *st = NULL;
	int e = stmt_get(c, sql, strlen(sql), &st);
	if (e != SQLITE_OK)
		return sql_fail(c->db, e, d, "prepare");
	b[nb - 2].i = (int64_t)limit;
	b[nb - 1].i = offset;
	e = bind_all(st, b, nb);
	jl_rc rc = JL_OK;
	if (e == SQLITE_OK)
		while (*n < limit && (e = sqlite3_step(st)) == SQLITE_ROW) {
			(*rids)[*n] = sqlite3_column_int64(st, 0);
			if (hits) {
				hit_t *h = &(*hits)[*n];
				h->rid = (*rids)[*n];
				h->tid = sqlite3_column_int64(st, 1);
				h->lid = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(st, 2),
								(size_t)sqlite3_column_bytes(st, 2)));
				h->updated = sqlite3_column_int64(st, 3);
				if (!h->lid.p) {
					rc = JL_ENOMEM;
					break;
				}
			}
			(*n)++;
		}
	if (!rc)
		rc = e == SQLITE_DONE || e == SQLITE_ROW || e == SQLITE_OK ? JL_OK : sql_fail(c->db, e, d, "page");
	stmt_put(c, st);
	return rc;
}

/* The name of type id tid as this connection sees it (committed rtype rows never change). */
static jl_rc type_name(sconn_t *c, jl_arena_t *a, int64_t tid, jl_str_t *out)
{
	if (tid > 0 && tid < TNAMES && c->tnames && c->tnames[tid].n) {
		*out = jl_arena_str(a, jl_str(c->tnames[tid].s, c->tnames[tid].n));
		return out->p ? JL_OK : JL_ENOMEM;
	}
	sqlite3_stmt *st = c->tname_st;
	sqlite3_bind_int64(st, 1, tid);
	int e = sqlite3_step(st);
	jl_rc rc = JL_OK;
	if (e == SQLITE_ROW) {
		jl_str_t name = jl_str((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		*out = jl_arena_str(a, name);
		if (!out->p)
			rc = JL_ENOMEM;
		if (!c->tnames && tid > 0 && tid < TNAMES)
			c->tnames = jl_calloc(JL_MEM_STORE, TNAMES, sizeof *c->tnames);
		if (!rc && c->tnames && tid > 0 && tid < TNAMES && name.n > 0 && name.n <= sizeof c->tnames[tid].s) {
			memcpy(c->tnames[tid].s, name.p, name.n);
			c->tnames[tid].n = (uint8_t)name.n;
		}
	} else {
		rc = JL_EIO; /* a resource row names a type that is not there, or the read failed */
	}
	sqlite3_reset(st);
	return rc;
}

/* Loads a match from its page row: the version row by its instant. */
static jl_rc load_hit(sconn_t *c, jl_arena_t *a, const hit_t *h, jl_version_t *v)
{
	jl_rc rc = type_name(c, a, h->tid, &v->type);
	if (rc)
		return rc;
	v->id = h->lid;
	sqlite3_stmt *st = c->load_ver;
	sqlite3_bind_int64(st, 1, h->updated);
	int e = sqlite3_step(st);
	if (e == SQLITE_ROW) {
		v->ver = sqlite3_column_int64(st, 0);
		v->updated_us = h->updated;
		v->deleted = sqlite3_column_int(st, 1) != 0;
		v->method = (uint8_t)sqlite3_column_int(st, 2);
		v->body_meta = (uint32_t)sqlite3_column_int64(st, 4);
		rc = jl__sq_decode(&c->dctx, a, sqlite3_column_int(st, 3), sqlite3_column_blob(st, 5),
				   (size_t)sqlite3_column_bytes(st, 5), &v->body);
	} else {
		rc = e == SQLITE_DONE ? JL_ENOTFOUND : JL_EIO;
	}
	sqlite3_reset(st);
	return rc;
}

/*
 * Page `page` of `count` items out of n matches (n may hold one more, to tell
 * whether more exist), loaded from their page rows when given, else by rid.
 */
static jl_rc load_items(sconn_t *c, jl_arena_t *a, const int64_t *rids, const hit_t *hits, size_t n, uint32_t count,
			uint32_t page, jl_sq_page_t *out)
{
	out->more = n > count;
	if (out->more)
		n = count;
	out->items = jl_arena_calloc(a, n ? n : 1, sizeof *out->items);
	if (!out->items)
		return JL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		jl_rc rc = hits ? load_hit(c, a, &hits[i], &out->items[i]) : load_version(c, a, rids[i], &out->items[i]);
		if (rc)
			return rc;
	}
	out->n = n;
	out->page = page;
	return JL_OK;
}

/* Runs the page statement for page `page` of `count` items (+1 to learn whether more exist). */
static jl_rc run_page(sconn_t *c, jl_arena_t *a, const char *sql, bindv_t *b, uint32_t nb, uint32_t count,
		      uint32_t page, jl_sq_page_t *out, jl_diag_t *d)
{
	int64_t *rids;
	hit_t *hits = NULL;
	size_t n;
	jl_rc rc = run_rids(c, a, sql, b, nb, (size_t)count + 1, (int64_t)page * count, &rids, &hits, &n, d);
	return rc ? rc : load_items(c, a, rids, hits, n, count, page, out);
}

/* A slice of a cursor's materialised order. */
static jl_rc slice_page(sconn_t *c, jl_arena_t *a, const int64_t *rids, size_t nrids, uint32_t count,
			uint32_t page, jl_sq_page_t *out)
{
	size_t from = (size_t)page * count;
	if (from > nrids)
		from = nrids;
	size_t n = nrids - from;
	if (n > (size_t)count + 1)
		n = (size_t)count + 1;
	return load_items(c, a, rids + from, NULL, n, count, page, out);
}

static jl_rc run_count(sconn_t *c, const char *sql, const bindv_t *b, uint32_t nb, int64_t *out, jl_diag_t *d)
{
	sqlite3_stmt *st = NULL;
	int e = stmt_get(c, sql, strlen(sql), &st);
	if (e == SQLITE_OK)
		e = bind_all(st, b, nb);
	if (e == SQLITE_OK && (e = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	jl_rc rc = e == SQLITE_ROW ? JL_OK : sql_fail(c->db, e, d, "count");
	stmt_put(c, st);
	return rc;
}

static void explain(sconn_t *c, jl_arena_t *a, const jl_sq_query_t *sq, const plan_t *p, const char *sql,
		    const bindv_t *b, uint32_t nb, jl_sq_page_t *out)
{
	jl_buf_t t;
	jl_buf_init(&t, JL_MEM_STORE, 1 << 20);
	if (p->driver >= 0)
		jl_buf_printf(&t, "driver: condition %d (the most selective indexed condition)\n", p->driver + 1);
	else
		jl_buf_printf(&t, "driver: the resource table of the type (no indexed condition)\n");
	for (uint32_t i = 0; i < sq->nconds && i < 64; i++)
		jl_buf_printf(&t, "condition %u: %s%u term(s), estimated rows %s%" PRId64 "%s\n", i + 1,
			      sq->conds[i].negate ? "NOT, " : "", sq->conds[i].nterms,
			      p->est[i] >= 0 && p->est[i] >= p->est_cap[i] ? ">= " : "",
			      p->est[i], (int)i == p->driver ? " — drives" : p->est[i] < 0 ? " (filter only)" : " — filter");
	jl_buf_printf(&t, "sql: %s\nsqlite plan:\n", sql);
	char *eq = jl_arena_printf(a, "EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st = NULL;
	if (eq && sqlite3_prepare_v2(c->db, eq, -1, &st, NULL) == SQLITE_OK && bind_all(st, b, nb) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			jl_buf_printf(&t, "  %s\n", (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	out->plan = jl_arena_str(a, jl_buf_str(&t));
	jl_buf_dispose(&t);
}

/*
 * Drops a cursor; its connection ends the snapshot and goes back to the
 * pool with its page cache and prepared statements (closing it would make
 * the next search open a cold one). Called with mu held.
 */
static void retire_locked(jl__sqs_t *x, cursor_t *k)
{
	sconn_t *c = k->c;
	k->c = NULL;
	if (c) {
		conn_end(c);
		c->next = x->pool;
		x->pool = c;
	}
	cursor_free(k);
}

/* Expires idle cursors; with `room`, also makes room for one more. Called with mu held. */
static void sweep_locked(jl__sqs_t *x, bool room)
{
	int64_t now = jl_mono_ns();
	for (uint32_t i = 0; i < x->ncur;) {
		cursor_t *k = x->cur[i];
		if (!k->busy && now - k->last_ns > x->ttl_ns) {
			retire_locked(x, k);
			x->cur[i] = x->cur[--x->ncur];
		} else {
			i++;
		}
	}
	if (room && x->ncur == x->maxcur) {
		uint32_t old = UINT32_MAX;
		for (uint32_t i = 0; i < x->ncur; i++)
			if (!x->cur[i]->busy && (old == UINT32_MAX || x->cur[i]->last_ns < x->cur[old]->last_ns))
				old = i;
		if (old != UINT32_MAX) {
			retire_locked(x, x->cur[old]);
			x->cur[old] = x->cur[--x->ncur];
		}
	}
}

/* Keeps the connection's open snapshot as a cursor; on success the cursor owns c. */
static jl_rc keep_cursor(jl__sqs_t *x, sconn_t *c, const char *sql, const bindv_t *b, uint32_t nb,
			 const int64_t *rids, size_t nrids, const jl_sq_query_t *sq, jl_arena_t *a, jl_sq_page_t *out)
{
	cursor_t *k = jl_calloc(JL_MEM_STORE, 1, sizeof *k);
	if (!k)
		return JL_ENOMEM;
	k->mem = jl_arena_new(4096, 0);
	k->sql = k->mem ? jl_arena_strdup(k->mem, sql) : NULL;
	k->binds = k->mem ? jl_arena_alloc(k->mem, nb * sizeof *k->binds) : NULL;
	if (!k->sql || !k->binds) {
		cursor_free(k);
		return JL_ENOMEM;
	}
	if (rids) {
		k->rids = jl_arena_alloc(k->mem, (nrids ? nrids : 1) * sizeof *rids);
		if (!k->rids) {
			cursor_free(k);
			return JL_ENOMEM;
		}
		memcpy(k->rids, rids, nrids * sizeof *rids);
		k->nrids = nrids;
	}
	for (uint32_t i = 0; i < nb; i++) {
		k->binds[i] = b[i];
		if (b[i].t == 'p')
			k->binds[i].p = NULL; /* the key sort's context dies with the request: pages are slices */
		if (b[i].t == 's') {
			k->binds[i].s = jl_arena_str(k->mem, b[i].s);
			if (!k->binds[i].s.p && b[i].s.n) {
				cursor_free(k);
				return JL_ENOMEM;
			}
		}
	}
	k->nb = nb;
	k->count = sq->count;
	k->estimate = out->estimate;
	k->total = out->total;
	k->last_ns = jl_mono_ns();
	unsigned char rnd[16];
	jl_rand_bytes(rnd, sizeof rnd);
	for (int i = 0; i < 16; i++)
		snprintf(k->id + 2 * i, 3, "%02x", rnd[i]);
	pthread_mutex_lock(&x->mu);
	sweep_locked(x, true);
	if (x->ncur == x->maxcur) {
		pthread_mutex_unlock(&x->mu);
		cursor_free(k); /* every cursor is in use: no snapshot kept for this one */
		return JL_ETOOBIG;
	}
	k->c = c;
	x->cur[x->ncur++] = k;
	pthread_mutex_unlock(&x->mu);
	/*
	 * The snapshot needs the open transaction, not the cached pages: give them
	 * back, so the connections serving searches reuse that memory instead of
	 * growing the heap (64 parked connections with full caches made the server
	 * 1 GB large and spent a tenth of its time in page faults while they filled).
	 * A later page of this cursor reads its pages again.
	 */
	sqlite3_db_release_memory(c->db);
	out->cursor = jl_arena_str(a, jl_str(k->id, 32));
	return JL_OK;
}

static bool has_key_sort(const jl_sq_query_t *sq)
{
	for (uint32_t i = 0; i < sq->nsorts; i++)
		if (sq->sorts[i].by == JL_SQ_SORT_KEY)
			return true;
	return false;
}

/*
 * The first read of a transaction that reads the index: its snapshot must
 * hold no staged runs (their rows are not in the index yet). JL_ESTALE:
 * have the writer merge them, then search again (sqlite.c).
 */
static jl_rc conn_check_staged(sconn_t *c, jl_diag_t *d)
{
	int e = sqlite3_step(c->staged);
	sqlite3_reset(c->staged);
	if (e == SQLITE_DONE)
		return JL_OK;
	return e == SQLITE_ROW ? JL_ESTALE : sql_fail(c->db, e, d, "index runs");
}

jl_rc jl__sqs_search(jl__sqs_t *x, jl_arena_t *a, const jl_sq_query_t *sq, jl_sq_page_t *out, jl_diag_t *d)
{
	memset(out, 0, sizeof *out);
	out->total = -1;
	out->estimate = -1;
	if (sq->nconds > 64)
		return JL_ETOOBIG;
	sconn_t *c = NULL;
	jl_rc rc = conn_get(x, &c);
	if (rc)
		return rc;
	sqlb_t q = {.a = a, .c = c};
	jl_buf_init(&q.sql, JL_MEM_STORE, 4 << 20);
	int e = conn_begin(c);
	if (e != SQLITE_OK) {
		rc = sql_fail(c->db, e, d, "begin");
		goto out;
	}
	if ((rc = conn_check_staged(c, d)) != JL_OK)
		goto out;
	plan_t p;
	make_plan(x, c, a, sq, &p);
	out->estimate = p.estimate;
	page_sql(&q, sq, &p);
	if (q.rc || jl_buf_status(&q.sql)) {
		rc = q.rc ? q.rc : JL_ETOOBIG;
		if (d)
			jl_diag_add(d, JL_SEV_ERROR, "too-costly", NULL, "the search is too large to run");
		goto out;
	}
	char *sql = jl_arena_strndup(a, q.sql.p, q.sql.n);
	bindv_t *b = q.b;
	uint32_t nbinds = q.n;
	if (!sql) {
		rc = JL_ENOMEM;
		goto out;
	}
	if (sq->explain)
		explain(c, a, sq, &p, sql, b, nbinds, out);
	if (sq->total) {
		sqlb_t cq = {.a = a};
		jl_buf_init(&cq.sql, JL_MEM_STORE, 4 << 20);
		count_sql(&cq, sq, &p);
		rc = cq.rc ? cq.rc : run_count(c, cq.sql.p, cq.b, cq.n, &out->total, d);
		jl_buf_dispose(&cq.sql);
		if (rc)
			goto out;
	}
	int64_t *rids = NULL;
	size_t nrids = 0;
	if (has_key_sort(sq)) {
		/* Computed keys: sort every match once now; later pages are slices of that order. */
		rc = run_rids(c, a, sql, b, nbinds, MAX_KEYSORT + 1, 0, &rids, NULL, &nrids, d);
		if (!rc && nrids > MAX_KEYSORT) {
			rc = JL_ETOOBIG;
			if (d)
				jl_diag_add(d, JL_SEV_ERROR, "too-costly", NULL,
					    "sorting by a token or reference parameter is limited to %d matches; "
					    "narrow the search or sort by another parameter", MAX_KEYSORT);
		}
		if (!rc && sq->count)
			rc = slice_page(c, a, rids, nrids, sq->count, 0, out);
	} else if (sq->count) {
		rc = run_page(c, a, sql, b, nbinds, sq->count, 0, out, d);
	}
	if (rc)
		goto out;
	if (out->more && !sq->no_cursor && keep_cursor(x, c, sql, b, nbinds, rids, nrids, sq, a, out) == JL_OK)
		c = NULL; /* the cursor keeps the connection and its snapshot */
out:
	jl_buf_dispose(&q.sql);
	if (c)
		conn_put(x, c);
	return rc;
}

jl_rc jl__sqs_page(jl__sqs_t *x, jl_arena_t *a, jl_str_t id, uint32_t page, jl_sq_page_t *out)
{
	memset(out, 0, sizeof *out);
	out->total = -1;
	cursor_t *k = NULL;
	pthread_mutex_lock(&x->mu);
	sweep_locked(x, false);
	for (uint32_t i = 0; i < x->ncur; i++)
		if (id.n == 32 && memcmp(x->cur[i]->id, id.p, 32) == 0 && !x->cur[i]->busy) {
			k = x->cur[i];
			k->busy = true;
		}
	pthread_mutex_unlock(&x->mu);
	if (!k)
		return JL_EGONECURSOR;
	/* Page numbers are bounded: OFFSET count*page must stay in range. */
	jl_rc rc = page > 1000000 ? JL_EINVAL
		   : k->rids ? slice_page(k->c, a, k->rids, k->nrids, k->count, page, out)
			     : run_page(k->c, a, k->sql, k->binds, k->nb, k->count, page, out, NULL);
	out->estimate = k->estimate;
	out->total = k->total;
	out->cursor = jl_arena_str(a, jl_str(k->id, 32));
	pthread_mutex_lock(&x->mu);
	k->busy = false;
	k->last_ns = jl_mono_ns();
	pthread_mutex_unlock(&x->mu);
	return rc;
}

jl_rc jl__sqs_meta_get(jl__sqs_t *x, jl_arena_t *a, const char *key, jl_str_t *value)
{
	sconn_t *c = NULL;
	jl_rc rc = conn_get(x, &c);
	if (rc)
		return rc;
	sqlite3_stmt *st = NULL;
	int e = sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
	if (e == SQLITE_OK)
		e = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (e == SQLITE_OK)
		e = sqlite3_step(st);
	if (e == SQLITE_ROW) {
		*value = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)));
		rc = value->p ? JL_OK : JL_ENOMEM;
	} else {
		rc = e == SQLITE_DONE ? JL_ENOTFOUND : JL_EIO;
	}
	sqlite3_finalize(st);
	conn_put(x, c);
	return rc;
}

jl_rc jl__sqs_meta_set(jl__sqs_t *x, const char *key, jl_str_t value)
{
	/* Settings change rarely (start-up, reindex): a short-lived connection of their own. */
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	jl_rc rc = JL_OK;
	if (sqlite3_open_v2(x->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		rc = JL_EIO;
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text64(st, 2, value.p ? value.p : "", value.n, SQLITE_STATIC, SQLITE_UTF8) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = JL_EIO;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* ---- export scan ------------------------------------------------------------------------ */

/* A chain to every live resource of a type ("refers to some Patient"): no condition on the target. */
static bool any_of_type(const jl_sq_term_t *t)
{
	return t->kind == JL_SQ_CHAIN && t->sub && t->sub->type.n && !t->sub->nconds;
}

/*
 * Its rids by joining each reference row to its target: work in proportion
 * to the references of the type, where the chain's generic form would first
 * gather every live resource of the target type — once per parameter.
 */
static void ref_any_rids(sqlb_t *q, const jl_sq_term_t *t)
{
	int a = ++q->alias;
	putf(q, "SELECT d%d.rid FROM ix_ref d%d JOIN res p%d ON p%d.th = d%d.target WHERE d%d.k = ", a, a, a, a, a, a);
	bi(q, t->k);
	putf(q, " AND p%d.type = (SELECT id FROM rtype WHERE name = ", a);
	bs(q, t->sub->type);
	putf(q, ") AND p%d.deleted = 0", a);
}

/*
 * A type's conditions as one SQL boolean on the row (r, v). A condition
 * that can drive a search becomes "r.rid IN (its rids)": an uncorrelated
 * sub-query SQLite evaluates once, the first time a row of the type needs
 * it, into a temporary B-tree (spilled to a temporary file past its cache,
 * so memory stays bounded), then one probe per row — where the same
 * compartment condition as a filter would probe every target for every row.
 */
static void scan_conds(sqlb_t *q, const jl_scan_type_t *t)
{
	put(q, "(1");
	for (uint32_t i = 0; i < t->nconds; i++) {
		const jl_sq_cond_t *c = &t->conds[i];
		put(q, " AND ");
		if (!cond_drivable(c)) {
			cond_filter(q, c);
			continue;
		}
		put(q, "r.rid IN ");
		if (same_ref_targets(c)) {
			ref_rids_merged(q, c);
			continue;
		}
		put(q, "(");
		for (uint32_t k = 0; k < c->nterms; k++) {
			if (k)
				put(q, " UNION ");
			if (any_of_type(&c->terms[k]))
				ref_any_rids(q, &c->terms[k]);
			else
				term_rids(q, &c->terms[k], t->type);
		}
		put(q, ")");
	}
	put(q, ")");
}

/*
 * The scan statement: current versions in storage (last-updated) order,
 * which is the order of the version table itself, so the bodies are read
 * in one sequential pass whatever the number of types (a pass per type
 * would read each page once for every type it holds rows of), and _since
 * is a range of that table. One type reads its own index of the table.
 * ids[i] is the type id of types[i] in this snapshot (0: never stored); a
 * type listed several times takes the rows meeting any of its entries.
 */
static void scan_sql(sqlb_t *q, const jl_scan_type_t *types, const int64_t *ids, uint32_t n, int64_t since_us)
{
	/* A type may be listed more than once (OR'ed filters): first[i] says whether entry i is its type's first. */
	uint32_t live = 0, with_conds = 0, one = 0;
	bool *first = jl_arena_calloc(q->a, n ? n : 1, sizeof *first);
	if (!first) {
		q->rc = JL_ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		first[i] = true;
		for (uint32_t j = 0; j < i && first[i]; j++)
			first[i] = ids[j] != ids[i];
		if (first[i])
			live++, one = i;
		with_conds += types[i].nconds > 0;
	}
	put(q, "SELECT v.type, r.lid, v.ver, v.updated, v.method, v.enc, v.meta, v.body FROM ver v ");
	put(q, live == 1 ? "INDEXED BY ver_type" : "NOT INDEXED");
	/* CROSS JOIN keeps the version table outside: its order is the scan's. */
	put(q, " CROSS JOIN res r INDEXED BY res_rid ON r.rid = v.rid WHERE v.deleted = 0 AND r.updated = v.updated");
	if (since_us > 0)
		put(q, " AND v.updated >= "), bi(q, since_us);
	if (n && live == 1) {
		put(q, " AND v.type = "), bi(q, ids[one]);
	} else if (n) {
		put(q, " AND v.type IN (");
		for (uint32_t i = 0, k = 0; i < n; i++)
			if (first[i])
				put(q, k++ ? ", " : ""), bi(q, ids[i]);
		put(q, ")");
	}
	q->rid = "r.rid";
	if (with_conds) {
		put(q, " AND CASE v.type");
		for (uint32_t i = 0; i < n; i++) {
			if (!first[i])
				continue;
			put(q, " WHEN "), bi(q, ids[i]), put(q, " THEN (");
			scan_conds(q, &types[i]);
			for (uint32_t j = i + 1; j < n; j++)
				if (ids[j] == ids[i])
					put(q, " OR "), scan_conds(q, &types[j]);
			put(q, ")");
		}
		put(q, " ELSE 0 END");
	}
	put(q, " ORDER BY v.updated");
}

/* Type names by id, as of the snapshot (a few hundred at most). */
typedef struct scan_names {
	jl_str_t *name; /* indexed by type id */
	int64_t n;
} scan_names_t;

static jl_rc scan_load_names(sconn_t *c, jl_arena_t *a, scan_names_t *out)
{
	sqlite3_stmt *st = NULL;
	jl_rc rc = JL_OK;
	int e = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(id), 0) FROM rtype", -1, &st, NULL);
	if (e == SQLITE_OK && (e = sqlite3_step(st)) == SQLITE_ROW)
		out->n = sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	st = NULL;
	if (e != SQLITE_ROW)
		return sql_fail(c->db, e, NULL, "scan types");
	if (out->n > 100000)
		return JL_EIO; /* not a table this program wrote */
	out->name = jl_arena_calloc(a, (size_t)out->n, sizeof *out->name);
	if (!out->name)
		return JL_ENOMEM;
	e = sqlite3_prepare_v2(c->db, "SELECT id, name FROM rtype", -1, &st, NULL);
	while (e == SQLITE_OK && (e = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		jl_str_t name = jl_str((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
		if (id < 1 || id >= out->n || !name.p) {
			rc = JL_EIO;
			break;
		}
		if (!(out->name[id] = jl_arena_str(a, name)).p) {
			rc = JL_ENOMEM;
			break;
		}
		e = SQLITE_OK;
	}
	if (!rc && e != SQLITE_DONE)
		rc = sql_fail(c->db, e, NULL, "scan types");
	sqlite3_finalize(st);
	return rc;
}

/* Runs the statement; row memory lives in `row`, reset after each call of fn. */
static jl_rc scan_rows(sconn_t *c, sqlb_t *q, const scan_names_t *names, jl_arena_t *row, jl_scan_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	jl_rc rc = JL_OK;
	int e = sqlite3_prepare_v2(c->db, q->sql.p, (int)q->sql.n, &st, NULL);
	if (e == SQLITE_OK)
		e = bind_all(st, q->b, q->n);
	if (e != SQLITE_OK) {
		rc = sql_fail(c->db, e, NULL, "scan");
		goto out;
	}
	while ((e = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t tid = sqlite3_column_int64(st, 0);
		jl_version_t v = {
			.type = tid > 0 && tid < names->n ? names->name[tid] : JL_STR_NULL,
			.id = jl_str((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1)),
			.ver = sqlite3_column_int64(st, 2),
			.updated_us = sqlite3_column_int64(st, 3),
			.method = (uint8_t)sqlite3_column_int(st, 4),
			.body_meta = (uint32_t)sqlite3_column_int64(st, 6),
		};
		if (!v.type.p || !v.id.p) {
			rc = JL_EIO;
			goto out;
		}
		jl_rc brc = jl__sq_decode(&c->dctx, row, sqlite3_column_int(st, 5), sqlite3_column_blob(st, 7),
					  (size_t)sqlite3_column_bytes(st, 7), &v.body);
		if (brc == JL_ENOMEM) {
			rc = brc;
			goto out;
		}
		if (brc)
			v.body = JL_STR_NULL;
		rc = fn(arg, &v, brc);
		jl_arena_reset(row);
		if (rc)
			goto out;
	}
	if (e != SQLITE_DONE)
		rc = sql_fail(c->db, e, NULL, "scan");
out:
	sqlite3_finalize(st);
	return rc;
}

static bool scan_query_ok(const jl_scan_query_t *sq)
{
	if (sq->since_us < 0 || (sq->ntypes && !sq->types))
		return false;
	for (uint32_t i = 0; i < sq->ntypes; i++)
		if (!sq->types[i].type.n || sq->types[i].type.n > 64 || memchr(sq->types[i].type.p, 0, sq->types[i].type.n) ||
		    sq->types[i].nconds > 64 || (sq->types[i].nconds && !sq->types[i].conds))
			return false;
	return true;
}

jl_rc jl__sqs_scan(jl__sqs_t *x, const jl_scan_query_t *sq, jl_scan_fn fn, void *arg, bool *staged)
{
	*staged = false;
	if (!sq || !fn || !scan_query_ok(sq))
		return JL_EINVAL;
	sconn_t *c = NULL;
	jl_arena_t *a = jl_arena_new(0, 0), *row = jl_arena_new(65536, 0);
	sqlite3_stmt *st = NULL;
	sqlb_t q = {.a = a};
	jl_buf_init(&q.sql, JL_MEM_STORE, 4 << 20);
	jl_rc rc = a && row ? conn_get(x, &c) : JL_ENOMEM;
	if (rc)
		goto out;
	q.c = c;
	/*
	 * An export reads the whole file once: through the map, every page it
	 * touched would stay in the process (RSS 1.66 GB exporting a 5.7 GB
	 * store), so it reads with pread and keeps only the connection's cache.
	 */
	sqlite3_exec(c->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	/* The snapshot starts with the first read of the transaction: this one. */
	int e = conn_begin(c);
	if (e == SQLITE_OK && (rc = conn_check_staged(c, NULL)) != JL_OK) {
		*staged = rc == JL_ESTALE; /* not the callback's code: it has not run yet */
		goto out;
	}
	if (e == SQLITE_OK)
		e = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(updated), 0) FROM ver", -1, &st, NULL);
	if (e == SQLITE_OK)
		e = sqlite3_step(st);
	if (e != SQLITE_ROW) {
		rc = sql_fail(c->db, e, NULL, "scan snapshot");
		goto out;
	}
	int64_t snap = sqlite3_column_int64(st, 0);
	scan_names_t names = {0};
	if ((rc = scan_load_names(c, a, &names)) != JL_OK)
		goto out;
	if (sq->begin && (rc = sq->begin(arg, snap)) != JL_OK)
		goto out;
	int64_t *ids = jl_arena_calloc(a, sq->ntypes ? sq->ntypes : 1, sizeof *ids);
	uint32_t live = 0;
	for (uint32_t i = 0; ids && i < sq->ntypes; i++)
		for (int64_t k = 1; k < names.n && !ids[i]; k++)
			if (jl_str_eq(names.name[k], sq->types[i].type))
				ids[i] = k, live++;
	if (!ids) {
		rc = JL_ENOMEM;
		goto out;
	}
	if (sq->ntypes && !live)
		goto out; /* none of the types was ever stored */
	scan_sql(&q, sq->types, ids, sq->ntypes, sq->since_us);
	if (q.rc || jl_buf_status(&q.sql)) {
		rc = q.rc ? q.rc : JL_ETOOBIG;
		goto out;
	}
	rc = scan_rows(c, &q, &names, row, fn, arg);
out:
	sqlite3_finalize(st);
	jl_buf_dispose(&q.sql);
	if (c) {
		conn_end(c); /* the map comes back for the searches this connection serves next */
		sqlite3_exec(c->db, "PRAGMA mmap_size = " STR(MMAP_SEARCH), NULL, NULL, NULL);
		conn_put(x, c);
	}
	jl_arena_free(row);
	jl_arena_free(a);
	return rc;
}
