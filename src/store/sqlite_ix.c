/*
 * sqlite_ix — index rows in SQLite. Each table's primary key serves the
 * "driver" access of a search (k, then value order); the (k, rid) indexes
 * serve the "filter" access, probing one candidate resource at a time.
 * Token and composite tables need no second index: their primary key is
 * already (k, rid).
 */
#include "store/sqlite_ix.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"

static const char *const ins_sql[JL_IX_NTABLES] = {
	[JL_IX_TOKEN] = "INSERT OR IGNORE INTO ix_token(k, rid) VALUES (?1, ?2)",
	[JL_IX_STRING] = "INSERT OR IGNORE INTO ix_string(k, v, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_URI] = "INSERT OR IGNORE INTO ix_uri(k, v, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_REF] = "INSERT OR IGNORE INTO ix_ref(k, target, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_DATE] = "INSERT OR IGNORE INTO ix_date(k, lo, hi, rid) VALUES (?1, ?3, ?4, ?2)",
	[JL_IX_NUMBER] = "INSERT OR IGNORE INTO ix_number(k, rid, lo, hi) VALUES (?1, ?2, ?3, ?4)",
	[JL_IX_QUANTITY] = "INSERT OR IGNORE INTO ix_quantity(k, rid, lo, hi) VALUES (?1, ?2, ?3, ?4)",
	[JL_IX_COMPOSITE] = "INSERT OR IGNORE INTO ix_composite(k, rid) VALUES (?1, ?2)",
};

static const char *const del_sql[JL_IX_NTABLES] = {
	[JL_IX_TOKEN] = "DELETE FROM ix_token WHERE k = ?1 AND rid = ?2",
	[JL_IX_STRING] = "DELETE FROM ix_string WHERE k = ?1 AND v = ?3 AND rid = ?2",
	[JL_IX_URI] = "DELETE FROM ix_uri WHERE k = ?1 AND v = ?3 AND rid = ?2",
	[JL_IX_REF] = "DELETE FROM ix_ref WHERE k = ?1 AND target = ?3 AND rid = ?2",
	[JL_IX_DATE] = "DELETE FROM ix_date WHERE k = ?1 AND lo = ?3 AND hi = ?4 AND rid = ?2",
	[JL_IX_NUMBER] = "DELETE FROM ix_number WHERE k = ?1 AND lo = ?3 AND hi = ?4 AND rid = ?2",
	[JL_IX_QUANTITY] = "DELETE FROM ix_quantity WHERE k = ?1 AND lo = ?3 AND hi = ?4 AND rid = ?2",
	[JL_IX_COMPOSITE] = "DELETE FROM ix_composite WHERE k = ?1 AND rid = ?2",
};

typedef struct pending {
	const jl_ix_row_t *row;
	int64_t rid;
} pending_t;

struct jl__sqix {
	sqlite3_stmt *ins[JL_IX_NTABLES];
	sqlite3_stmt *del[JL_IX_NTABLES];
	pending_t *q; /* rows to insert at the end of the group */
	size_t n, cap;
};

void jl__sqix_free(jl__sqix_t *x)
{
	if (!x)
		return;
	for (int i = 0; i < JL_IX_NTABLES; i++) {
		sqlite3_finalize(x->ins[i]);
		sqlite3_finalize(x->del[i]);
	}
	jl_free(JL_MEM_STORE, x->q);
	jl_free(JL_MEM_STORE, x);
}

jl_rc jl__sqix_new(sqlite3 *db, jl__sqix_t **out)
{
	jl__sqix_t *x = jl_calloc(JL_MEM_STORE, 1, sizeof *x);
	*out = NULL;
	if (!x)
		return JL_ENOMEM;
	for (int i = 0; i < JL_IX_NTABLES; i++)
		if (sqlite3_prepare_v3(db, ins_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &x->ins[i], NULL) != SQLITE_OK ||
		    sqlite3_prepare_v3(db, del_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &x->del[i], NULL) != SQLITE_OK) {
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
	case JL_IX_REF:
		return sqlite3_bind_int64(st, 3, r->target);
	case JL_IX_DATE:
		sqlite3_bind_int64(st, 3, r->ilo);
		return sqlite3_bind_int64(st, 4, r->ihi);
	case JL_IX_NUMBER:
	case JL_IX_QUANTITY:
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

jl_rc jl__sqix_defer(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows)
{
	if (x->n + rows->n > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap < x->n + rows->n)
			cap *= 2;
		pending_t *q = jl_realloc(JL_MEM_STORE, x->q, cap * sizeof *q);
		if (!q)
			return JL_ENOMEM;
		x->q = q;
		x->cap = cap;
	}
	for (uint32_t i = 0; i < rows->n; i++) {
		if (rows->rows[i].table >= JL_IX_NTABLES)
			return JL_EINVAL;
		x->q[x->n].row = &rows->rows[i];
		x->q[x->n].rid = rid;
		x->n++;
	}
	return JL_OK;
}

size_t jl__sqix_mark(const jl__sqix_t *x)
{
	return x->n;
}

void jl__sqix_truncate(jl__sqix_t *x, size_t mark)
{
	if (mark < x->n)
		x->n = mark;
}

void jl__sqix_clear(jl__sqix_t *x)
{
	x->n = 0;
}

/* Key order of each table's primary key: table, k, then the rest as the B-tree sorts it. */
static int cmp_pending(const void *pa, const void *pb)
{
	const pending_t *x = pa, *y = pb;
	const jl_ix_row_t *a = x->row, *b = y->row;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	switch (a->table) {
	case JL_IX_REF:
		if (a->target != b->target)
			return a->target < b->target ? -1 : 1;
		break;
	case JL_IX_DATE:
		if (a->ilo != b->ilo)
			return a->ilo < b->ilo ? -1 : 1;
		break;
	case JL_IX_STRING:
	case JL_IX_URI: {
		size_t n = a->v.n < b->v.n ? a->v.n : b->v.n;
		int c = n ? memcmp(a->v.p, b->v.p, n) : 0;
		if (c || a->v.n != b->v.n)
			return c ? c : a->v.n < b->v.n ? -1 : 1;
		break;
	}
	default:
		break;
	}
	return x->rid < y->rid ? -1 : x->rid > y->rid;
}

jl_rc jl__sqix_flush(jl__sqix_t *x, int *src)
{
	jl_rc rc = JL_OK;
	if (x->n > 1)
		qsort(x->q, x->n, sizeof *x->q, cmp_pending);
	for (size_t i = 0; i < x->n && !rc; i++) {
		jl_ix_rows_t one = {.rows = (jl_ix_row_t *)x->q[i].row, .n = 1};
		rc = run_rows(x->ins, x->q[i].rid, &one, src);
	}
	x->n = 0;
	return rc;
}

jl_rc jl__sqix_remove(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows, int *src)
{
	return run_rows(x->del, rid, rows, src);
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
	if (enc != ENC_ZSTD)
		return JL_EIO;
	unsigned long long size = p ? ZSTD_getFrameContentSize(p, n) : ZSTD_CONTENTSIZE_ERROR;
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > BODY_MAX)
		return JL_EIO;
	if (!*dctx && !(*dctx = ZSTD_createDCtx()))
		return JL_ENOMEM;
	char *q = jl_arena_alloc_bytes(a, size ? (size_t)size : 1);
	if (!q)
		return JL_ENOMEM;
	size_t k = ZSTD_decompressDCtx(*dctx, q, (size_t)size, p, n);
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
			int words = 4;
			while (r && words && !r->present[words - 1])
				words--;
			sqlite3_bind_int64(pres, 1, rids[i]);
			if (r && words)
				sqlite3_bind_blob(pres, 2, r->present, words * (int)sizeof(uint64_t), SQLITE_STATIC);
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
