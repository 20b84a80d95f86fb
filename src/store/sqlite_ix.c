/*
 * sqlite_ix — index rows in SQLite. Each table's primary key serves the
 * "driver" access of a search (k, then value order); the (k, rid) indexes
 * serve the "filter" access, probing one candidate resource at a time.
 * Token and composite tables need no second index: their primary key is
 * already (k, rid).
 */
#include "store/sqlite_ix.h"

#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"

static const char *const ins_sql[JL_IX_NTABLES] = {
	[JL_IX_TOKEN] = "INSERT OR IGNORE INTO ix_token(k, rid) VALUES (?1, ?2)",
	[JL_IX_STRING] = "INSERT OR IGNORE INTO ix_string(k, v, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_URI] = "INSERT OR IGNORE INTO ix_uri(k, v, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_REF] = "INSERT OR IGNORE INTO ix_ref(k, target, rid) VALUES (?1, ?3, ?2)",
	[JL_IX_DATE] = "INSERT OR IGNORE INTO ix_date(k, lo, hi, rid) VALUES (?1, ?3, ?4, ?2)",
	[JL_IX_NUMBER] = "INSERT OR IGNORE INTO ix_number(k, lo, hi, rid) VALUES (?1, ?3, ?4, ?2)",
	[JL_IX_QUANTITY] = "INSERT OR IGNORE INTO ix_quantity(k, lo, hi, rid) VALUES (?1, ?3, ?4, ?2)",
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

struct jl__sqix {
	sqlite3_stmt *ins[JL_IX_NTABLES];
	sqlite3_stmt *del[JL_IX_NTABLES];
};

void jl__sqix_free(jl__sqix_t *x)
{
	if (!x)
		return;
	for (int i = 0; i < JL_IX_NTABLES; i++) {
		sqlite3_finalize(x->ins[i]);
		sqlite3_finalize(x->del[i]);
	}
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
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (e != SQLITE_DONE && e != SQLITE_OK) {
			*src = e;
			return e == SQLITE_BUSY || e == SQLITE_LOCKED ? JL_EBUSY : JL_EIO;
		}
	}
	return JL_OK;
}

jl_rc jl__sqix_add(jl__sqix_t *x, int64_t rid, const jl_ix_rows_t *rows, int *src)
{
	return run_rows(x->ins, rid, rows, src);
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
