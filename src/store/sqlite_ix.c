/*
 * sqlite_ix — index rows in SQLite. Each table's primary key serves the
 * "driver" access of a search (k, then value order); the (k, rid) indexes
 * serve the "filter" access, probing one candidate resource at a time.
 * Token and composite tables need no second index: their primary keys
 * start with (k, rid).
 */
#include "store/sqlite_ix.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "store/zdict.h"

/*
 * Rows are inserted one table at a time by a single INSERT … SELECT over
 * the eponymous virtual table jl_ixrows, which walks the group's sorted
 * rows of that table: one statement run per table and group instead of a
 * bind/step/reset per row (the per-row statement overhead was about half
 * of the writer's index time).
 */
static const char *const ins_sql[JL_IX_NTABLES] = {
	[JL_IX_TOKEN] = "INSERT OR IGNORE INTO ix_token(k, rid, s) SELECT k, rid, a FROM jl_ixrows",
	[JL_IX_STRING] = "INSERT OR IGNORE INTO ix_string(k, v, rid) SELECT k, a, rid FROM jl_ixrows",
	[JL_IX_URI] = "INSERT OR IGNORE INTO ix_uri(k, v, rid) SELECT k, a, rid FROM jl_ixrows",
	[JL_IX_REF] = "INSERT OR IGNORE INTO ix_ref(k, target, rid) SELECT k, a, rid FROM jl_ixrows",
	[JL_IX_DATE] = "INSERT OR IGNORE INTO ix_date(k, lo, hi, rid) SELECT k, a, b, rid FROM jl_ixrows",
	[JL_IX_NUMBER] = "INSERT OR IGNORE INTO ix_number(k, rid, lo, hi) SELECT k, rid, a, b FROM jl_ixrows",
	[JL_IX_QUANTITY] = "INSERT OR IGNORE INTO ix_quantity(k, rid, lo, hi, us, uc, uu) SELECT k, rid, a, b, us, uc, uu FROM jl_ixrows",
	[JL_IX_COMPOSITE] = "INSERT OR IGNORE INTO ix_composite(k, rid) SELECT k, rid FROM jl_ixrows",
	[JL_IX_TEXT] = "INSERT OR IGNORE INTO ix_text(k, v, t) SELECT k, a, b FROM jl_ixrows",
};

static const char *const del_sql[JL_IX_NTABLES] = {
	[JL_IX_TOKEN] = "DELETE FROM ix_token WHERE k = ?1 AND rid = ?2 AND s = ?3",
	[JL_IX_STRING] = "DELETE FROM ix_string WHERE k = ?1 AND v = ?3 AND rid = ?2",
	[JL_IX_URI] = "DELETE FROM ix_uri WHERE k = ?1 AND v = ?3 AND rid = ?2",
	[JL_IX_REF] = "DELETE FROM ix_ref WHERE k = ?1 AND target = ?3 AND rid = ?2",
	[JL_IX_DATE] = "DELETE FROM ix_date WHERE k = ?1 AND lo = ?3 AND hi = ?4 AND rid = ?2",
	[JL_IX_NUMBER] = "DELETE FROM ix_number WHERE k = ?1 AND lo = ?3 AND hi = ?4 AND rid = ?2",
	[JL_IX_QUANTITY] = ("DELETE FROM ix_quantity WHERE k = ?1 AND rid = ?2 AND lo = ?3 AND hi = ?4"
			    " AND us = ?5 AND uc = ?6 AND uu = ?7"),
	[JL_IX_COMPOSITE] = "DELETE FROM ix_composite WHERE k = ?1 AND rid = ?2",
	/* TEXT rows are shared by every resource with the text: kept (a text no resource has left
	 * finds no token row), until a reindex clears them */
	[JL_IX_TEXT] = NULL,
};

typedef struct ptable {
	jl__ixrow_t *q;
	size_t n, cap;
} ptable_t;

struct jl__sqix {
	sqlite3_stmt *ins[JL_IX_NTABLES];
	sqlite3_stmt *del[JL_IX_NTABLES];
	ptable_t t[JL_IX_NTABLES]; /* rows to insert at the end of the group, per table */
	jl__ixrow_t *tmp;            /* radix sort scratch */
	size_t tmpcap;
	uint32_t *hist;            /* radix histograms */
	int cur;                   /* the table jl_ixrows walks */
	const jl__ixrow_t *rows;   /* and the rows it walks (a table's queue, or merged staged rows) */
	size_t nrows;
};

/* ---- the jl_ixrows virtual table ---- */

typedef struct ixvtab {
	sqlite3_vtab base;
	jl__sqix_t *x;
} ixvtab_t;

typedef struct ixcur {
	sqlite3_vtab_cursor base;
	size_t i;
} ixcur_t;

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
	(void)argc;
	(void)argv;
	(void)err;
	int e = sqlite3_declare_vtab(db, "CREATE TABLE x(k INTEGER, rid INTEGER, a, b, us INTEGER, uc INTEGER, uu INTEGER)");
	if (e != SQLITE_OK)
		return e;
	ixvtab_t *v = sqlite3_malloc(sizeof *v);
	if (!v)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof *v);
	v->x = aux;
	*out = &v->base;
	return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

static int vt_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	(void)v;
	info->estimatedCost = 1000;
	return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	(void)v;
	ixcur_t *c = sqlite3_malloc(sizeof *c);
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof *c);
	*out = &c->base;
	return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *c, int idx, const char *idxs, int argc, sqlite3_value **argv)
{
	(void)idx;
	(void)idxs;
	(void)argc;
	(void)argv;
	((ixcur_t *)c)->i = 0;
	return SQLITE_OK;
}

static int vt_next(sqlite3_vtab_cursor *c)
{
	((ixcur_t *)c)->i++;
	return SQLITE_OK;
}

static jl__sqix_t *vt_x(sqlite3_vtab_cursor *c)
{
	return ((ixvtab_t *)c->pVtab)->x;
}

static int vt_eof(sqlite3_vtab_cursor *c)
{
	jl__sqix_t *x = vt_x(c);
	return ((ixcur_t *)c)->i >= x->nrows;
}

static int vt_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	jl__sqix_t *x = vt_x(c);
	const jl__ixrow_t *p = &x->rows[((ixcur_t *)c)->i];
	switch (col) {
	case 0: sqlite3_result_int64(ctx, (int64_t)(p->k ^ (1ULL << 63))); break;
	case 1: sqlite3_result_int64(ctx, p->rid); break;
	case 2:
		switch (x->cur) {
		case JL_IX_STRING:
		case JL_IX_TEXT:
		case JL_IX_URI: sqlite3_result_text64(ctx, p->c.v.p ? p->c.v.p : "", p->c.v.n, SQLITE_STATIC, SQLITE_UTF8); break;
		case JL_IX_TOKEN:
		case JL_IX_REF:
		case JL_IX_DATE: sqlite3_result_int64(ctx, p->a.i); break;
		default: sqlite3_result_double(ctx, p->a.d); break;
		}
		break;
	case 3:
		if (x->cur == JL_IX_DATE || x->cur == JL_IX_TEXT)
			sqlite3_result_int64(ctx, p->b.i);
		else
			sqlite3_result_double(ctx, p->b.d);
		break;
	default: /* us, uc, uu: read by the quantity insert only */
		sqlite3_result_int64(ctx, x->cur == JL_IX_QUANTITY ? p->c.u[col - 4] : 0);
		break;
	}
	return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *id)
{
	*id = (sqlite3_int64)((ixcur_t *)c)->i;
	return SQLITE_OK;
}

static const sqlite3_module ixrows_module = {
	.iVersion = 0,
	.xCreate = NULL, /* eponymous only: usable by name, never created */
	.xConnect = vt_connect,
	.xBestIndex = vt_best_index,
	.xDisconnect = vt_disconnect,
	.xDestroy = vt_disconnect,
	.xOpen = vt_open,
	.xClose = vt_close,
	.xFilter = vt_filter,
	.xNext = vt_next,
	.xEof = vt_eof,
	.xColumn = vt_column,
	.xRowid = vt_rowid,
};

/* ---- life cycle ---- */

void jl__sqix_free(jl__sqix_t *x)
{
	if (!x)
		return;
	for (int i = 0; i < JL_IX_NTABLES; i++) {
		sqlite3_finalize(x->ins[i]);
		sqlite3_finalize(x->del[i]);
		jl_free(JL_MEM_STORE, x->t[i].q);
	}
	jl_free(JL_MEM_STORE, x->tmp);
	jl_free(JL_MEM_STORE, x->hist);
	jl_free(JL_MEM_STORE, x);
}

jl_rc jl__sqix_new(sqlite3 *db, jl__sqix_t **out)
{
	jl__sqix_t *x = jl_calloc(JL_MEM_STORE, 1, sizeof *x);
	*out = NULL;
	if (!x)
		return JL_ENOMEM;
	if (sqlite3_create_module_v2(db, "jl_ixrows", &ixrows_module, x, NULL) != SQLITE_OK) {
		jl__sqix_free(x);
		return JL_EIO;
	}
	for (int i = 0; i < JL_IX_NTABLES; i++)
		if (sqlite3_prepare_v3(db, ins_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &x->ins[i], NULL) != SQLITE_OK ||
		    (del_sql[i] && sqlite3_prepare_v3(db, del_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &x->del[i], NULL) != SQLITE_OK)) {
			jl__sqix_free(x);
			return JL_EIO;
		}
	*out = x;
	return JL_OK;
}

static int bind_row(sqlite3_stmt *st, int64_t rid, const jl_ix_row_t *r)
{
	sqlite3_bind_int64(st, 1, r->k);
	sqlite3_bind_int64(st, 2, rid);
	switch (r->table) {
	case JL_IX_STRING:
	case JL_IX_URI:
		return sqlite3_bind_text64(st, 3, r->v.p ? r->v.p : "", r->v.n, SQLITE_STATIC, SQLITE_UTF8);
	case JL_IX_TOKEN:
		return sqlite3_bind_int64(st, 3, r->s);
	case JL_IX_REF:
		return sqlite3_bind_int64(st, 3, r->target);
	case JL_IX_DATE:
		sqlite3_bind_int64(st, 3, r->ilo);
		return sqlite3_bind_int64(st, 4, r->ihi);
	case JL_IX_QUANTITY:
		sqlite3_bind_int64(st, 5, r->us);
		sqlite3_bind_int64(st, 6, r->uc);
		sqlite3_bind_int64(st, 7, r->uu);
		sqlite3_bind_double(st, 3, r->dlo);
		return sqlite3_bind_double(st, 4, r->dhi);
	case JL_IX_NUMBER:
		sqlite3_bind_double(st, 3, r->dlo);
		return sqlite3_bind_double(st, 4, r->dhi);
	default:
		return SQLITE_OK;
	}
}

static jl_rc run_rows(sqlite3_stmt *const *stmts, int64_t rid, const jl_ix_rows_t *rows, int *src)
{
	for (uint32_t i = 0; i < rows->n; i++) {
		const jl_ix_row_t *r = &rows->rows[i];
		if (r->table >= JL_IX_NTABLES)
			return JL_EINVAL;
		sqlite3_stmt *st = stmts[r->table];
		if (!st)
			continue; /* a table whose rows are never removed (TEXT) */
		int e = bind_row(st, rid, r);
		if (e == SQLITE_OK)
			e = sqlite3_step(st);
		sqlite3_reset(st); /* every parameter is bound again for the next row: no clearing */
		if (e != SQLITE_DONE && e != SQLITE_OK) {
			*src = e;
			return e == SQLITE_BUSY || e == SQLITE_LOCKED ? JL_EBUSY : JL_EIO;
		}
	}
	return JL_OK;
}

/* ---- the queue ---- */

static uint64_t flip(int64_t v)
{
	return (uint64_t)v ^ (1ULL << 63);
}

uint64_t jl__sqix_text_key(const char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < n ? (unsigned char)p[i] : 0);
	return v;
}

jl_rc jl__sq_rc(int e, int *src)
{
	*src = e;
	return e == SQLITE_BUSY || e == SQLITE_LOCKED ? JL_EBUSY : e == SQLITE_NOMEM ? JL_ENOMEM : JL_EIO;
}

static uint64_t second_key(const jl_ix_row_t *r)
{
	switch (r->table) {
	case JL_IX_REF: return flip(r->target);
	case JL_IX_DATE: return flip(r->ilo);
	case JL_IX_STRING:
	case JL_IX_TEXT:
	case JL_IX_URI: return jl__sqix_text_key(r->v.p, r->v.n);
	default: return 0; /* (k, rid …): rid order is queue order */
	}
}

jl_rc jl__sqix_defer(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows)
{
	for (uint32_t i = 0; i < rows->n; i++)
		if (rows->rows[i].table >= JL_IX_NTABLES)
			return JL_EINVAL;
	for (uint32_t i = 0; i < rows->n; i++) {
		const jl_ix_row_t *r = &rows->rows[i];
		ptable_t *t = &x->t[r->table];
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 1024;
			jl__ixrow_t *q = jl_realloc(JL_MEM_STORE, t->q, cap * sizeof *q);
			if (!q)
				return JL_ENOMEM; /* rows queued so far go with the call's rollback (mark/truncate) */
			t->q = q;
			t->cap = cap;
		}
		jl__ixrow_t *p = &t->q[t->n++];
		p->k = flip(r->k);
		p->second = second_key(r);
		p->rid = rid;
		switch (r->table) {
		case JL_IX_TOKEN: p->a.i = r->s; break;
		case JL_IX_REF: p->a.i = r->target; break;
		case JL_IX_DATE:
			p->a.i = r->ilo;
			p->b.i = r->ihi;
			break;
		case JL_IX_STRING:
		case JL_IX_URI:
			p->c.v.p = r->v.p;
			p->c.v.n = r->v.n;
			break;
		case JL_IX_TEXT:
			p->c.v.p = r->v.p;
			p->c.v.n = r->v.n;
			p->b.i = r->target;
			break;
		case JL_IX_QUANTITY:
			p->c.u[0] = r->us;
			p->c.u[1] = r->uc;
			p->c.u[2] = r->uu;
			p->a.d = r->dlo;
			p->b.d = r->dhi;
			break;
		default:
			p->a.d = r->dlo;
			p->b.d = r->dhi;
			break;
		}
	}
	return JL_OK;
}

jl__sqix_mark_t jl__sqix_mark(const jl__sqix_t *x)
{
	jl__sqix_mark_t m;
	for (int i = 0; i < JL_IX_NTABLES; i++)
		m.n[i] = x->t[i].n;
	return m;
}

void jl__sqix_truncate(jl__sqix_t *x, jl__sqix_mark_t m)
{
	for (int i = 0; i < JL_IX_NTABLES; i++)
		if (m.n[i] < x->t[i].n)
			x->t[i].n = m.n[i];
}

void jl__sqix_clear(jl__sqix_t *x)
{
	for (int i = 0; i < JL_IX_NTABLES; i++)
		x->t[i].n = 0;
}

/* 16-bit digit d (0 = least significant) of the 128-bit key (k, second). */
static unsigned digit(const jl__ixrow_t *p, int d)
{
	return (unsigned)((d < 4 ? p->second >> (16 * d) : p->k >> (16 * (d - 4))) & 0xffff);
}

static int cmp_pending(const void *pa, const void *pb)
{
	const jl__ixrow_t *a = pa, *b = pb;
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	if (a->second != b->second)
		return a->second < b->second ? -1 : 1;
	return 0;
}

/* (k, second, rid): a total order for qsort, which is not stable (rid order is queue order only for creates). */
static int cmp_pending_rid(const void *pa, const void *pb)
{
	const jl__ixrow_t *a = pa, *b = pb;
	int c = cmp_pending(a, b);
	return c ? c : a->rid < b->rid ? -1 : a->rid > b->rid;
}

/*
 * Sorts a table's queue by (k, second), keeping queue order among equals:
 * an LSD radix sort with 16-bit digits (a digit every row shares costs one
 * counting pass and no move), so a group of a million rows sorts in a few
 * passes over memory instead of twenty million comparisons chasing row
 * pointers (that qsort was 10 % of the writer's time on bulk loads). The
 * few rows of a single write take an insertion sort, which is stable too,
 * and the few hundred of an HTTP group commit a qsort by (k, second, rid):
 * each radix pass clears and sums a 65,536-entry histogram, which for 200
 * rows cost more than the whole B-tree insert (6 % of the writer).
 */
#define RADIX_MIN 8192

static jl_rc sort_table(jl__sqix_t *x, ptable_t *t)
{
	size_t n = t->n;
	if (n < 2)
		return JL_OK;
	if (n < 64) {
		/* insertion sort: stable, and cheap for the few rows of a single write */
		for (size_t i = 1; i < n; i++) {
			jl__ixrow_t v = t->q[i];
			size_t j = i;
			while (j > 0 && cmp_pending(&t->q[j - 1], &v) > 0) {
				t->q[j] = t->q[j - 1];
				j--;
			}
			t->q[j] = v;
		}
		return JL_OK;
	}
	if (n < RADIX_MIN) {
		/* The radix sort's eight 256 KiB histograms cost more than comparing a group commit's few hundred rows. */
		qsort(t->q, n, sizeof *t->q, cmp_pending_rid);
		return JL_OK;
	}
	if (x->tmpcap < n) {
		jl__ixrow_t *tmp = jl_realloc(JL_MEM_STORE, x->tmp, n * sizeof *tmp);
		if (!tmp)
			return JL_ENOMEM;
		x->tmp = tmp;
		x->tmpcap = n;
	}
	if (!x->hist && !(x->hist = jl_malloc(JL_MEM_STORE, 65536 * sizeof *x->hist)))
		return JL_ENOMEM;
	jl__ixrow_t *src = t->q, *dst = x->tmp;
	for (int d = 0; d < 8; d++) {
		uint32_t *h = x->hist;
		memset(h, 0, 65536 * sizeof *h);
		for (size_t i = 0; i < n; i++)
			h[digit(&src[i], d)]++;
		if (h[digit(&src[0], d)] == n)
			continue; /* every row has this digit: the pass would change nothing */
		uint32_t sum = 0;
		for (size_t b = 0; b < 65536; b++) {
			uint32_t c = h[b];
			h[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[h[digit(&src[i], d)]++] = src[i];
		jl__ixrow_t *sw = src;
		src = dst;
		dst = sw;
	}
	if (src != t->q)
		memcpy(t->q, src, n * sizeof *src);
	return JL_OK;
}

jl_rc jl__sqix_insert(jl__sqix_t *x, int table, const jl__ixrow_t *rows, size_t n, int *src)
{
	if (!n)
		return JL_OK;
	x->cur = table;
	x->rows = rows;
	x->nrows = n;
	int e = sqlite3_step(x->ins[table]);
	sqlite3_reset(x->ins[table]);
	x->rows = NULL;
	x->nrows = 0;
	return e == SQLITE_DONE ? JL_OK : jl__sq_rc(e, src);
}

jl_rc jl__sqix_take(jl__sqix_t *x, int table, const jl__ixrow_t **rows, size_t *n)
{
	ptable_t *t = &x->t[table];
	*rows = t->q;
	*n = 0;
	jl_rc rc = sort_table(x, t);
	if (rc)
		return rc;
	*n = t->n;
	t->n = 0;
	return JL_OK;
}

jl_rc jl__sqix_flush(jl__sqix_t *x, int *src)
{
	jl_rc rc = JL_OK;
	for (int i = 0; i < JL_IX_NTABLES && !rc; i++) {
		ptable_t *t = &x->t[i];
		if (!t->n)
			continue;
		rc = sort_table(x, t);
		if (!rc)
			rc = jl__sqix_insert(x, i, t->q, t->n, src);
	}
	jl__sqix_clear(x);
	return rc;
}

int jl__sq_present_bytes(const uint64_t present[4], unsigned char out[32])
{
	int n = 0;
	for (int i = 0; i < 32; i++) {
		out[i] = (unsigned char)(present[i / 8] >> (8 * (i % 8)));
		if (out[i])
			n = i + 1;
	}
	return n;
}

jl_rc jl__sqix_remove(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows, int *src)
{
	return run_rows(x->del, rid, rows, src);
}

/*
 * A decompression context with the built-in dictionary attached (its
 * tables are built once per context, 64 KiB each: one per connection).
 * Created on a connection's first compressed body.
 */
static jl_rc dctx_get(ZSTD_DCtx **dctx)
{
	if (*dctx)
		return JL_OK;
	ZSTD_DCtx *c = ZSTD_createDCtx();
	if (!c)
		return JL_ENOMEM;
	size_t n;
	uint32_t id;
	const void *dict = jl__zdict(&n, &id);
	if (dict && ZSTD_isError(ZSTD_DCtx_loadDictionary(c, dict, n))) {
		ZSTD_freeDCtx(c);
		return JL_ENOMEM;
	}
	*dctx = c;
	return JL_OK;
}

jl_rc jl__sq_decode(ZSTD_DCtx **dctx, jl_arena_t *a, int enc, const void *p, size_t n, jl_str_t *out)
{
	*out = jl_str("", 0);
	if (enc == ENC_RAW) {
		if (!n)
			return JL_OK;
		char *q = jl_arena_alloc_bytes(a, n);
		if (!q)
			return JL_ENOMEM;
		memcpy(q, p, n);
		*out = jl_str(q, n);
		return JL_OK;
	}
	if (enc != ENC_ZSTD && enc != ENC_ZDICT)
		return JL_EIO;
	unsigned long long size = p ? ZSTD_getFrameContentSize(p, n) : ZSTD_CONTENTSIZE_ERROR;
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > BODY_MAX)
		return JL_EIO;
	jl_rc rc = dctx_get(dctx);
	if (rc)
		return rc;
	/* The frame must name the dictionary it was made with (a frame without one, enc 1, uses none). */
	size_t dn;
	uint32_t did = 0;
	bool with_dict = enc == ENC_ZDICT;
	if (with_dict && (!jl__zdict(&dn, &did) || ZSTD_getDictID_fromFrame(p, n) != did))
		return JL_EIO;
	char *q = jl_arena_alloc_bytes(a, size ? (size_t)size : 1);
	if (!q)
		return JL_ENOMEM;
	/* The context holds the dictionary (loaded once); a frame made without it is decoded without it. */
	size_t k = with_dict ? ZSTD_decompressDCtx(*dctx, q, (size_t)size, p, n)
			     : ZSTD_decompress_usingDDict(*dctx, q, (size_t)size, p, n, NULL);
	if (ZSTD_isError(k) || k != size)
		return JL_EIO;
	*out = jl_str(q, (size_t)size);
	return JL_OK;
}

#define REINDEX_BATCH 1000

static int exec_ok(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

jl_rc jl__sqix_reindex(sqlite3 *db, jl__sqix_t *x, ZSTD_DCtx **dctx, jl_reindex_fn fn, void *arg,
		       jl_progress_fn progress, void *parg)
{
	static const char scan_sql[] =
		"SELECT r.rid, t.name, r.lid, v.ver, v.updated, v.method, v.enc, v.meta, v.body"
		" FROM res r JOIN ver v ON v.updated = r.updated JOIN rtype t ON t.id = r.type"
		" WHERE r.deleted = 0 AND r.rid > ?1 ORDER BY r.rid LIMIT ?2";
	jl_rc rc = JL_OK;
	sqlite3_stmt *scan = NULL, *pres = NULL, *cnt = NULL;
	jl_arena_t *a = jl_arena_new(1 << 20, 0);
	int64_t *rids = jl_malloc(JL_MEM_STORE, REINDEX_BATCH * sizeof *rids);
	const jl_ix_rows_t **rowsets = jl_malloc(JL_MEM_STORE, REINDEX_BATCH * sizeof *rowsets);
	int64_t total = 0, done = 0, last = 0;
	int e;
	if (!a || !rids || !rowsets) {
		rc = JL_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(db, scan_sql, -1, &scan, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE res SET present = ?2 WHERE rid = ?1", -1, &pres, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM res WHERE deleted = 0", -1, &cnt, NULL) != SQLITE_OK) {
		rc = JL_EIO;
		goto out;
	}
	if (sqlite3_step(cnt) == SQLITE_ROW)
		total = sqlite3_column_int64(cnt, 0);
	sqlite3_reset(cnt);
	/* One transaction empties the index: nothing half-cleared survives a crash. */
	if (exec_ok(db, "BEGIN IMMEDIATE") != SQLITE_OK ||
	    exec_ok(db, "DELETE FROM ix_token; DELETE FROM ix_string; DELETE FROM ix_uri; DELETE FROM ix_ref;"
			" DELETE FROM ix_date; DELETE FROM ix_number; DELETE FROM ix_quantity; DELETE FROM ix_composite;"
			" DELETE FROM ix_text;"
			" UPDATE res SET present = NULL WHERE present IS NOT NULL") != SQLITE_OK ||
	    exec_ok(db, "COMMIT") != SQLITE_OK) {
		rc = JL_EIO;
		goto out;
	}
	if (progress)
		progress(parg, 0, total);
	for (;;) {
		jl_arena_reset(a);
		size_t n = 0;
		sqlite3_bind_int64(scan, 1, last);
		sqlite3_bind_int64(scan, 2, REINDEX_BATCH);
		while (!rc && (e = sqlite3_step(scan)) == SQLITE_ROW) {
			jl_version_t v = {0};
			int64_t rid = sqlite3_column_int64(scan, 0);
			v.type = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(scan, 1), (size_t)sqlite3_column_bytes(scan, 1)));
			v.id = jl_arena_str(a, jl_str((const char *)sqlite3_column_text(scan, 2), (size_t)sqlite3_column_bytes(scan, 2)));
			v.ver = sqlite3_column_int64(scan, 3);
			v.updated_us = sqlite3_column_int64(scan, 4);
			v.method = (uint8_t)sqlite3_column_int(scan, 5);
			v.body_meta = (uint32_t)sqlite3_column_int64(scan, 7);
			rc = jl__sq_decode(dctx, a, sqlite3_column_int(scan, 6), sqlite3_column_blob(scan, 8),
					   (size_t)sqlite3_column_bytes(scan, 8), &v.body);
			if (!rc && (!v.type.p || !v.id.p))
				rc = JL_ENOMEM;
			const jl_ix_rows_t *rows = NULL;
			if (!rc)
				rc = fn(arg, a, &v, &rows);
			if (!rc && rows)
				rc = jl__sqix_defer(x, rid, rows);
			rids[n] = rid;
			rowsets[n] = rows;
			n++;
			last = rid;
		}
		sqlite3_reset(scan);
		if (rc || !n)
			break;
		int src = SQLITE_OK;
		if (exec_ok(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
			rc = JL_EIO;
			break;
		}
		rc = jl__sqix_flush(x, &src);
		for (size_t i = 0; !rc && i < n; i++) {
			const jl_ix_rows_t *r = rowsets[i];
			unsigned char pb[32];
			int nb = r ? jl__sq_present_bytes(r->present, pb) : 0;
			sqlite3_bind_int64(pres, 1, rids[i]);
			if (nb)
				sqlite3_bind_blob(pres, 2, pb, nb, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(pres, 2);
			if (sqlite3_step(pres) != SQLITE_DONE)
				rc = JL_EIO;
			sqlite3_reset(pres);
		}
		if (rc || exec_ok(db, "COMMIT") != SQLITE_OK) {
			exec_ok(db, "ROLLBACK");
			rc = rc ? rc : JL_EIO;
			break;
		}
		done += (int64_t)n;
		if (progress)
			progress(parg, done, total);
	}
	jl__sqix_clear(x);
out:
	sqlite3_finalize(scan);
	sqlite3_finalize(pres);
	sqlite3_finalize(cnt);
	jl_free(JL_MEM_STORE, rids);
	jl_free(JL_MEM_STORE, rowsets);
	jl_arena_free(a);
	return rc;
}
