/*
 * sqlite_stage — staged index runs and their merge (see sqlite_stage.h).
 *
 * A run is one table's rows of one batch, sorted by (k, second) as the
 * writer's queue sorts them, cut into chunks of about CHUNK bytes that
 * hold whole rows. Inside a chunk rows are delta-coded against the row
 * before (the first against zero), with only what cannot be derived:
 *
 *   varint  k − previous k              (unsigned, wrapping)
 *   varint  zigzag(rid − previous rid)
 *   then by table:
 *   TOKEN      varint zigzag(s)
 *   REF        varint second − previous second (0 after a new k); target = second
 *   DATE       the same for lo; varint zigzag(hi − lo)
 *   STRING,URI varint length, bytes; second = their first 8 bytes
 *   NUMBER     lo, hi as 8-byte doubles
 *   QUANTITY   lo, hi as 8-byte doubles; varint zigzag(us, uc, uu)
 *   COMPOSITE  nothing
 *
 * so a row costs 3 to 12 bytes besides its text. The merge keeps one
 * chunk per run in memory and a binary heap of the runs by their current
 * row's (k, second, rid).
 */
#include "store/sqlite_stage.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/str.h"

#define CHUNK 16384          /* target chunk size: one buffer per run while merging */
#define OUT_ROWS 16384       /* merged rows per INSERT statement run */
#define ID_TABLE(t) ((int64_t)(t) << 56)
#define ID_RUN(id) (((id) >> 24) & 0xffffffffLL)
#define RUN_MAX 0xffffffffLL
#define CHUNK_MAX ((1 << 24) - 1)
#define BIG_SHARE 8          /* runs >= 1/8 of the database: rebuild probe indexes instead of inserting into them */
#define MARK_TH_ID 1080863910568919040 /* table 15 << 56: the ix_stage row that says res_th is deferred (sqlite_stage.h) */
#define STR_(x) #x
#define STR(x) STR_(x)
_Static_assert(MARK_TH_ID == ID_TABLE(15), "MARK_TH_ID is spelled out for STR: table 15 << 56");

struct jl__sqstage {
	sqlite3 *db;
	sqlite3_stmt *ins, *get, *list, *del, *last, *dv;
	int64_t next_run;
	int64_t seen_dv;      /* data_version when next_run was last caught up; -1: never */
	const char *cache_pragma;
	bool any, put, merged;
	bool defer_th;       /* a bulk load into an empty store: drop res_th at the first run */
	bool th_marked;      /* committed: res_th is dropped, MARK_TH is in ix_stage */
	bool th_put;         /* this transaction dropped it */
	/* Rows staged per table as this handle counts them: committed, and put by the open transaction. */
	int64_t rows[JL_IX_NTABLES], put_rows[JL_IX_NTABLES];
	jl_buf_t enc;
};

/* ---- varints ---- */

static void put_u(jl_buf_t *b, uint64_t v)
{
	unsigned char t[10];
	int n = 0;
	while (v >= 0x80) {
		t[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (unsigned char)v;
	(void)jl_buf_append(b, t, (size_t)n);
}

static void put_z(jl_buf_t *b, int64_t v)
{
	put_u(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_d(jl_buf_t *b, double d)
{
	(void)jl_buf_append(b, &d, sizeof d);
}

typedef struct rd {
	const unsigned char *p, *end;
	bool bad;
} rd_t;

static uint64_t get_u(rd_t *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t get_z(rd_t *r)
{
	uint64_t u = get_u(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static double get_d(rd_t *r)
{
	double d = 0;
	if (r->end - r->p < (ptrdiff_t)sizeof d) {
		r->bad = true;
		return 0;
	}
	memcpy(&d, r->p, sizeof d);
	r->p += sizeof d;
	return d;
}

/* ---- encoding ---- */

typedef struct prev {
	uint64_t k, second;
	int64_t rid;
} prev_t;

static void enc_row(jl_buf_t *b, int t, const jl__ixrow_t *r, prev_t *pv)
{
	put_u(b, r->k - pv->k);
	if (r->k != pv->k)
		pv->second = 0;
	pv->k = r->k;
	put_z(b, r->rid - pv->rid);
	pv->rid = r->rid;
	switch (t) {
	case JL_IX_TOKEN: put_z(b, r->a.i); break;
	case JL_IX_REF:
		put_u(b, r->second - pv->second);
		pv->second = r->second;
		break;
	case JL_IX_DATE:
		put_u(b, r->second - pv->second);
		pv->second = r->second;
		/* hi − lo wraps for an open range (lo = INT64_MIN: a Period without a start); decoded the same way */
		put_z(b, (int64_t)((uint64_t)r->b.i - (uint64_t)r->a.i));
		break;
	case JL_IX_STRING:
	case JL_IX_URI:
		put_u(b, r->c.v.n);
		(void)jl_buf_append(b, r->c.v.p ? r->c.v.p : "", r->c.v.n);
		break;
	case JL_IX_QUANTITY:
		put_d(b, r->a.d);
		put_d(b, r->b.d);
		for (int i = 0; i < 3; i++)
			put_z(b, r->c.u[i]);
		break;
	case JL_IX_NUMBER:
		put_d(b, r->a.d);
		put_d(b, r->b.d);
		break;
	default: break; /* COMPOSITE */
	}
}

/* Decodes one row; text points into the chunk. False at the end or on a corrupt chunk (r->bad). */
static bool dec_row(rd_t *r, int t, jl__ixrow_t *o, prev_t *pv)
{
	if (r->p >= r->end)
		return false;
	memset(o, 0, sizeof *o);
	o->k = pv->k + get_u(r);
	if (o->k != pv->k)
		pv->second = 0;
	pv->k = o->k;
	o->rid = (int64_t)((uint64_t)pv->rid + (uint64_t)get_z(r)); /* wraps, not UB, on a damaged chunk */
	pv->rid = o->rid;
	switch (t) {
	case JL_IX_TOKEN: o->a.i = get_z(r); break;
	case JL_IX_REF:
	case JL_IX_DATE:
		o->second = pv->second + get_u(r);
		pv->second = o->second;
		o->a.i = (int64_t)(o->second ^ (1ULL << 63));
		if (t == JL_IX_DATE)
			o->b.i = (int64_t)((uint64_t)o->a.i + (uint64_t)get_z(r));
		break;
	case JL_IX_STRING:
	case JL_IX_URI: {
		uint64_t n = get_u(r);
		if (n > (uint64_t)(r->end - r->p)) {
			r->bad = true;
			return false;
		}
		o->c.v.p = (const char *)r->p;
		o->c.v.n = (size_t)n;
		r->p += n;
		o->second = jl__sqix_text_key(o->c.v.p, o->c.v.n);
		break;
	}
	case JL_IX_QUANTITY:
		o->a.d = get_d(r);
		o->b.d = get_d(r);
		for (int i = 0; i < 3; i++)
			o->c.u[i] = get_z(r);
		break;
	case JL_IX_NUMBER:
		o->a.d = get_d(r);
		o->b.d = get_d(r);
		break;
	default: break;
	}
	return !r->bad;
}

static bool staged_table(int t)
{
	return t != JL_IX_TEXT && t < JL_IX_NTABLES;
}

/* ---- life cycle ---- */

void jl__sqstage_free(jl__sqstage_t *g)
{
	if (!g)
		return;
	sqlite3_finalize(g->ins);
	sqlite3_finalize(g->get);
	sqlite3_finalize(g->list);
	sqlite3_finalize(g->del);
	sqlite3_finalize(g->last);
	sqlite3_finalize(g->dv);
	jl_buf_dispose(&g->enc);
	jl_free(JL_MEM_STORE, g);
}

static int64_t query_int(sqlite3 *db, const char *sql);

jl_rc jl__sqstage_new(sqlite3 *db, bool bulk, const char *cache_pragma, jl__sqstage_t **out)
{
	*out = NULL;
	jl__sqstage_t *g = jl_calloc(JL_MEM_STORE, 1, sizeof *g);
	if (!g)
		return JL_ENOMEM;
	g->db = db;
	g->cache_pragma = cache_pragma;
	jl_buf_init(&g->enc, JL_MEM_STORE, BODY_MAX + CHUNK);
	if (sqlite3_prepare_v3(db, "INSERT INTO ix_stage(id, n, rows) VALUES (?1, ?2, ?3)", -1,
			       SQLITE_PREPARE_PERSISTENT, &g->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT rows FROM ix_stage WHERE id = ?1", -1, SQLITE_PREPARE_PERSISTENT, &g->get,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT id, n FROM ix_stage WHERE id >= ?1 AND id < ?2", -1,
			       SQLITE_PREPARE_PERSISTENT, &g->list, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "DELETE FROM ix_stage WHERE id >= ?1 AND id < ?2", -1, SQLITE_PREPARE_PERSISTENT,
			       &g->del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT max(id) FROM ix_stage WHERE id >= ?1 AND id < ?2", -1,
			       SQLITE_PREPARE_PERSISTENT, &g->last, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &g->dv, NULL) != SQLITE_OK) {
		jl__sqstage_free(g);
		return JL_EIO;
	}
	/* Run numbers are caught up with the file at the first put (next_run below): no scan of the runs here. */
	g->next_run = 1;
	g->seen_dv = -1;
	int64_t any = query_int(db, "SELECT EXISTS (SELECT 1 FROM ix_stage)");
	if (any < 0) {
		jl__sqstage_free(g);
		return JL_EIO;
	}
	g->any = any == 1;
	g->th_marked = query_int(db, "SELECT EXISTS (SELECT 1 FROM ix_stage WHERE id = " STR(MARK_TH_ID) ")") == 1;
	g->defer_th = bulk && query_int(db, "SELECT NOT EXISTS (SELECT 1 FROM res)") == 1;
	*out = g;
	return JL_OK;
}

bool jl__sqstage_any(const jl__sqstage_t *g)
{
	return g->any;
}

void jl__sqstage_end(jl__sqstage_t *g, bool committed)
{
	if (committed) {
		g->th_marked |= g->th_put;
		g->any = (g->any && !g->merged) || g->put || g->th_marked;
		for (int t = 0; t < JL_IX_NTABLES; t++)
			g->rows[t] = (g->merged ? 0 : g->rows[t]) + g->put_rows[t];
	}
	memset(g->put_rows, 0, sizeof g->put_rows);
	g->put = g->merged = g->th_put = false;
}

/* Drops res_th for the rest of the load, with the row that says so (inside the first run's transaction). */
static jl_rc defer_th(jl__sqstage_t *g, int *src)
{
	int e = sqlite3_exec(g->db,
			     "DROP INDEX IF EXISTS res_th;"
			     " INSERT OR IGNORE INTO ix_stage(id, n, rows) VALUES (" STR(MARK_TH_ID) ", 0, x'')",
			     NULL, NULL, NULL);
	if (e != SQLITE_OK)
		return jl__sq_rc(e, src);
	g->th_put = true;
	g->defer_th = false; /* once: a load that searched meanwhile keeps its res_th */
	return JL_OK;
}

/* ---- put ---- */

static jl_rc put_chunk(jl__sqstage_t *g, int64_t id, uint32_t n, int *src)
{
	sqlite3_bind_int64(g->ins, 1, id);
	sqlite3_bind_int64(g->ins, 2, n);
	sqlite3_bind_blob64(g->ins, 3, g->enc.p, g->enc.n, SQLITE_STATIC);
	int e = sqlite3_step(g->ins);
	sqlite3_reset(g->ins);
	jl_buf_clear(&g->enc);
	return e == SQLITE_DONE ? JL_OK : jl__sq_rc(e, src);
}

static jl_rc put_run(jl__sqstage_t *g, int t, int64_t run, const jl__ixrow_t *rows, size_t n, int *src)
{
	jl_rc rc = JL_OK;
	int64_t chunk = 0;
	uint32_t in = 0;
	prev_t pv = {0};
	jl_buf_clear(&g->enc);
	for (size_t i = 0; i < n && !rc; i++) {
		enc_row(&g->enc, t, &rows[i], &pv);
		if (jl_buf_status(&g->enc))
			return JL_ENOMEM;
		in++;
		if (g->enc.n >= CHUNK || i + 1 == n) {
			if (chunk > CHUNK_MAX)
				return JL_ETOOBIG;
			rc = put_chunk(g, ID_TABLE(t) | run << 24 | chunk, in, src);
			chunk++;
			in = 0;
			memset(&pv, 0, sizeof pv);
		}
	}
	return rc;
}

/*
 * Past every run number of the tables in the file: another process (an
 * import beside the server) may have staged since this handle counted,
 * and a run number twice would make the insert fail. Under the write lock,
 * so nothing commits between this and the insert. data_version changes
 * only when another connection commits: otherwise the file holds no run
 * this handle did not number, and the probe of each table's rowid range is
 * skipped (it is once per group otherwise: the hot path of HTTP writes).
 */
static jl_rc next_run(jl__sqstage_t *g, int *src)
{
	int e = sqlite3_step(g->dv);
	int64_t dv = e == SQLITE_ROW ? sqlite3_column_int64(g->dv, 0) : -1;
	sqlite3_reset(g->dv);
	if (e != SQLITE_ROW)
		return jl__sq_rc(e, src);
	if (dv == g->seen_dv)
		return g->next_run > RUN_MAX ? JL_ETOOBIG : JL_OK;
	for (int t = 0; t < JL_IX_NTABLES; t++) {
		if (!staged_table(t))
			continue;
		sqlite3_bind_int64(g->last, 1, ID_TABLE(t));
		sqlite3_bind_int64(g->last, 2, ID_TABLE(t + 1));
		e = sqlite3_step(g->last);
		if (e == SQLITE_ROW && sqlite3_column_type(g->last, 0) != SQLITE_NULL &&
		    ID_RUN(sqlite3_column_int64(g->last, 0)) >= g->next_run)
			g->next_run = ID_RUN(sqlite3_column_int64(g->last, 0)) + 1;
		sqlite3_reset(g->last);
		if (e != SQLITE_ROW)
			return jl__sq_rc(e, src);
	}
	g->seen_dv = dv;
	return g->next_run > RUN_MAX ? JL_ETOOBIG : JL_OK;
}

jl_rc jl__sqstage_put(jl__sqstage_t *g, jl__sqix_t *x, int *src)
{
	bool any = false;
	for (int t = 0; t < JL_IX_NTABLES; t++) {
		if (!staged_table(t))
			continue;
		const jl__ixrow_t *rows;
		size_t n;
		jl_rc rc = jl__sqix_take(x, t, &rows, &n);
		if (!rc && n && !any)
			rc = next_run(g, src); /* once, when there is something to stage */
		if (!rc && n)
			rc = put_run(g, t, g->next_run, rows, n, src);
		if (rc)
			return rc;
		g->put_rows[t] += (int64_t)n;
		any |= n > 0;
	}
	if (any) {
		g->next_run++;
		g->put = true;
		if (g->defer_th && !g->th_marked && !g->th_put)
			return defer_th(g, src);
	}
	return JL_OK;
}

/* ---- merge ---- */

typedef struct run {
	int64_t base;         /* id of chunk 0 */
	int64_t nchunks, next; /* chunks, and the next to load */
	unsigned char *buf;
	size_t cap;
	rd_t rd;
	prev_t pv;
	jl__ixrow_t row;      /* current row */
} run_t;

typedef struct merge {
	jl__sqstage_t *g;
	int t;
	run_t *runs;
	size_t nruns;
	uint32_t *heap;       /* run indexes, min-heap by current row */
	size_t nheap;
	int64_t rows;         /* rows the runs say they hold */
} merge_t;

static int row_cmp(const jl__ixrow_t *a, const jl__ixrow_t *b)
{
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	if (a->second != b->second)
		return a->second < b->second ? -1 : 1;
	return (a->rid > b->rid) - (a->rid < b->rid);
}

static bool heap_less(const merge_t *m, uint32_t a, uint32_t b)
{
	return row_cmp(&m->runs[a].row, &m->runs[b].row) < 0;
}

static void heap_down(merge_t *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < m->nheap && heap_less(m, m->heap[l], m->heap[s]))
			s = l;
		if (r < m->nheap && heap_less(m, m->heap[r], m->heap[s]))
			s = r;
		if (s == i)
			return;
		uint32_t tmp = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = tmp;
		i = s;
	}
}

/* Loads the run's next chunk. JL_ENOTFOUND when it has none left. */
static jl_rc load_chunk(merge_t *m, run_t *r, int *src)
{
	if (r->next >= r->nchunks)
		return JL_ENOTFOUND;
	sqlite3_stmt *st = m->g->get;
	sqlite3_bind_int64(st, 1, r->base + r->next);
	int e = sqlite3_step(st);
	jl_rc rc = JL_OK;
	if (e == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		if (n > r->cap) {
			unsigned char *nb = jl_realloc(JL_MEM_STORE, r->buf, n);
			if (!nb)
				rc = JL_ENOMEM;
			else
				r->buf = nb, r->cap = n;
		}
		if (!rc && n)
			memcpy(r->buf, p, n);
		r->rd = (rd_t){r->buf, r->buf + (rc ? 0 : n), false};
		memset(&r->pv, 0, sizeof r->pv);
	} else {
		rc = e == SQLITE_DONE ? JL_EIO : jl__sq_rc(e, src); /* a chunk listed a moment ago is missing */
	}
	sqlite3_reset(st);
	r->next++;
	return rc;
}

/* The run's next row into r->row. JL_ENOTFOUND at its end. */
static jl_rc advance(merge_t *m, run_t *r, int *src)
{
	for (;;) {
		if (dec_row(&r->rd, m->t, &r->row, &r->pv))
			return JL_OK;
		if (r->rd.bad)
			return JL_EIO;
		jl_rc rc = load_chunk(m, r, src);
		if (rc)
			return rc;
	}
}

/* Lists the table's runs: chunk ids of a run are consecutive from run << 24. */
static jl_rc list_runs(merge_t *m, int *src)
{
	sqlite3_stmt *st = m->g->list;
	sqlite3_bind_int64(st, 1, ID_TABLE(m->t));
	sqlite3_bind_int64(st, 2, ID_TABLE(m->t + 1));
	size_t cap = 0;
	jl_rc rc = JL_OK;
	int e;
	while (!rc && (e = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		m->rows += sqlite3_column_int64(st, 1);
		run_t *last = m->nruns ? &m->runs[m->nruns - 1] : NULL;
		if (last && ID_RUN(id) == ID_RUN(last->base)) {
			last->nchunks = (id & CHUNK_MAX) + 1;
			continue;
		}
		if (m->nruns == cap) {
			cap = cap ? cap * 2 : 64;
			run_t *nr = jl_realloc(JL_MEM_STORE, m->runs, cap * sizeof *nr);
			if (!nr) {
				rc = JL_ENOMEM;
				break;
			}
			m->runs = nr;
		}
		run_t *r = &m->runs[m->nruns++];
		memset(r, 0, sizeof *r);
		r->base = id & ~(int64_t)CHUNK_MAX;
		r->nchunks = (id & CHUNK_MAX) + 1;
	}
	if (!rc && e != SQLITE_DONE)
		rc = jl__sq_rc(e, src);
	sqlite3_reset(st);
	return rc;
}

static void merge_free(merge_t *m)
{
	for (size_t i = 0; i < m->nruns; i++)
		jl_free(JL_MEM_STORE, m->runs[i].buf);
	jl_free(JL_MEM_STORE, m->runs);
	jl_free(JL_MEM_STORE, m->heap);
}

/* Emits the merged rows in batches of OUT_ROWS, texts copied (the chunks they point into move on). */
static jl_rc merge_rows(merge_t *m, jl__sqix_t *x, int *src)
{
	jl__ixrow_t *out = jl_malloc(JL_MEM_STORE, OUT_ROWS * sizeof *out);
	jl_arena_t *texts = jl_arena_new(1 << 20, 0);
	jl_rc rc = out && texts ? JL_OK : JL_ENOMEM;
	size_t n = 0;
	while (!rc && m->nheap) {
		run_t *r = &m->runs[m->heap[0]];
		out[n] = r->row;
		if ((m->t == JL_IX_STRING || m->t == JL_IX_URI) && r->row.c.v.n) {
			char *p = jl_arena_alloc_bytes(texts, r->row.c.v.n);
			if (!p) {
				rc = JL_ENOMEM;
				break;
			}
			memcpy(p, r->row.c.v.p, r->row.c.v.n);
			out[n].c.v.p = p;
		}
		n++;
		rc = advance(m, r, src);
		if (rc == JL_ENOTFOUND) {
			rc = JL_OK;
			m->heap[0] = m->heap[--m->nheap];
		}
		if (!rc && m->nheap)
			heap_down(m, 0);
		if (!rc && (n == OUT_ROWS || !m->nheap)) {
			rc = jl__sqix_insert(x, m->t, out, n, src);
			n = 0;
			jl_arena_reset(texts);
		}
	}
	jl_free(JL_MEM_STORE, out);
	jl_arena_free(texts);
	return rc;
}

static jl_rc merge_table(jl__sqstage_t *g, jl__sqix_t *x, int t, int *src)
{
	merge_t m = {.g = g, .t = t};
	jl_rc rc = list_runs(&m, src);
	if (!rc && m.nruns && !(m.heap = jl_malloc(JL_MEM_STORE, m.nruns * sizeof *m.heap)))
		rc = JL_ENOMEM;
	for (size_t i = 0; !rc && i < m.nruns; i++) {
		rc = advance(&m, &m.runs[i], src);
		if (rc == JL_ENOTFOUND)
			rc = JL_OK; /* an empty run (never written so) */
		else if (!rc)
			m.heap[m.nheap++] = (uint32_t)i;
	}
	for (size_t i = m.nheap / 2; !rc && i-- > 0;)
		heap_down(&m, i);
	if (!rc)
		rc = merge_rows(&m, x, src);
	merge_free(&m);
	if (rc)
		return rc;
	sqlite3_bind_int64(g->del, 1, ID_TABLE(t));
	sqlite3_bind_int64(g->del, 2, ID_TABLE(t + 1));
	int e = sqlite3_step(g->del);
	sqlite3_reset(g->del);
	return e == SQLITE_DONE ? JL_OK : jl__sq_rc(e, src);
}

jl_rc jl__sqstage_merge(jl__sqstage_t *g, jl__sqix_t *x, int *src)
{
	if (!g->any && !g->put)
		return JL_OK;
	for (int t = 0; t < JL_IX_NTABLES; t++) {
		if (!staged_table(t))
			continue;
		jl_rc rc = merge_table(g, x, t, src);
		if (rc)
			return rc;
	}
	g->merged = true;
	g->put = false; /* runs of this transaction are merged too */
	memset(g->put_rows, 0, sizeof g->put_rows);
	return JL_OK;
}

/* ---- merge outside a transaction ---- */

/* Nothing is staged (the writer's view after a merge of everything): run numbers start again. */
static void forget_runs(jl__sqstage_t *g)
{
	memset(g->rows, 0, sizeof g->rows);
	g->next_run = 1;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The probe index a table keyed by value carries, with its DDL. */
static const char *probe_index(int t, const char **ddl)
{
	switch (t) {
	case JL_IX_DATE: *ddl = JL__SQIX_DATE_R; return "DROP INDEX ix_date_r";
	case JL_IX_STRING: *ddl = JL__SQIX_STRING_R; return "DROP INDEX ix_string_r";
	case JL_IX_URI: *ddl = JL__SQIX_URI_R; return "DROP INDEX ix_uri_r";
	default: return NULL;
	}
}

static jl_rc merge_one(jl__sqstage_t *g, jl__sqix_t *x, int t, bool rebuild, int *src)
{
	const char *ddl = NULL, *drop = rebuild ? probe_index(t, &ddl) : NULL;
	int e = exec(g->db, "BEGIN IMMEDIATE");
	if (e != SQLITE_OK)
		return jl__sq_rc(e, src);
	jl_rc rc = JL_OK;
	if (drop && (e = exec(g->db, drop)) != SQLITE_OK)
		rc = jl__sq_rc(e, src);
	if (!rc)
		rc = merge_table(g, x, t, src);
	if (!rc && ddl && (e = exec(g->db, ddl)) != SQLITE_OK)
		rc = jl__sq_rc(e, src);
	if (!rc && (e = exec(g->db, "COMMIT")) != SQLITE_OK)
		rc = jl__sq_rc(e, src);
	if (rc)
		exec(g->db, "ROLLBACK");
	return rc;
}

/* The deferred res_th, built in one sort, its marker removed in the same transaction. */
static jl_rc build_th(jl__sqstage_t *g, int *src)
{
	int e = exec(g->db, "BEGIN IMMEDIATE; " JL__SQ_RES_TH "; DELETE FROM ix_stage WHERE id = " STR(MARK_TH_ID) "; COMMIT");
	if (e != SQLITE_OK) {
		exec(g->db, "ROLLBACK");
		return jl__sq_rc(e, src);
	}
	g->th_marked = false;
	return JL_OK;
}

/*
 * The staged tables, the largest first: pages its runs free are reused by
 * the B-trees of the tables merged after it, so the file ends with few
 * free pages. Returns how many; bytes[] gets the tables' staged bytes.
 */
static int merge_order(sqlite3 *db, int order[JL_IX_NTABLES], double bytes[JL_IX_NTABLES])
{
	for (int t = 0; t < JL_IX_NTABLES; t++)
		bytes[t] = -1;
	/* One range per table: a GROUP BY would carry every blob through its sorter (130 MB at 1 M resources). */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT total(length(rows)) FROM ix_stage WHERE id >= ?1 AND id < ?2", -1, &st,
			       NULL) == SQLITE_OK)
		for (int t = 0; t < JL_IX_NTABLES; t++) {
			sqlite3_bind_int64(st, 1, ID_TABLE(t));
			sqlite3_bind_int64(st, 2, ID_TABLE(t + 1));
			if (sqlite3_step(st) == SQLITE_ROW)
				bytes[t] = sqlite3_column_double(st, 0);
			sqlite3_reset(st);
		}
	sqlite3_finalize(st);
	int n = 0;
	for (int t = 0; t < JL_IX_NTABLES; t++)
		if (staged_table(t))
			order[n++] = t; /* a table without runs still merges (nothing): a listing that failed is retried */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && bytes[order[j]] > bytes[order[j - 1]]; j--) {
			int tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	return n;
}

jl_rc jl__sqstage_merge_all(jl__sqstage_t *g, jl__sqix_t *x, int *src)
{
	/* Asked from the table, not g->any: another process (an import beside a server) may have staged. */
	if (query_int(g->db, "SELECT EXISTS (SELECT 1 FROM ix_stage)") == 0) {
		g->any = g->th_marked = false;
		forget_runs(g);
		return JL_OK;
	}
	bool th = query_int(g->db, "SELECT EXISTS (SELECT 1 FROM ix_stage WHERE id = " STR(MARK_TH_ID) ")") == 1;
	int order[JL_IX_NTABLES];
	double bytes[JL_IX_NTABLES], staged = 0;
	int n = merge_order(g->db, order, bytes);
	for (int i = 0; i < n; i++)
		staged += bytes[order[i]] > 0 ? bytes[order[i]] : 0;
	int64_t db = query_int(g->db, "SELECT c.page_count * s.page_size FROM pragma_page_count() c, pragma_page_size() s");
	bool rebuild = db > 0 && staged * BIG_SHARE >= (double)db;
	/*
	 * A rebuild sorts its index on disk (temp_store = FILE) with a helper
	 * thread; each of the two sorts in memory up to the page cache's size,
	 * so the cache is made small meanwhile (peak RSS of a 6 M import: 270
	 * MB with the 64 MiB bulk cache).
	 */
	if (rebuild || th)
		exec(g->db, "PRAGMA temp_store = FILE; PRAGMA threads = 1; PRAGMA cache_size = -16384");
	jl_rc rc = JL_OK;
	for (int i = 0; i < n && !rc; i++)
		rc = merge_one(g, x, order[i], rebuild, src);
	if (!rc && th)
		rc = build_th(g, src);
	if (rebuild || th) {
		exec(g->db, "PRAGMA temp_store = MEMORY; PRAGMA threads = 0");
		exec(g->db, g->cache_pragma);
	}
	if (!rc) {
		g->any = false;
		forget_runs(g);
	}
	return rc;
}

int64_t jl__sqstage_rows(const jl__sqstage_t *g)
{
	int64_t n = 0;
	for (int t = 0; t < JL_IX_NTABLES; t++)
		n += g->rows[t];
	return n;
}

bool jl__sqstage_full(const jl__sqstage_t *g)
{
	return g->next_run > RUN_MAX;
}

uint32_t jl__sqstage_tables(const jl__sqstage_t *g)
{
	uint32_t m = 0;
	for (int t = 0; t < JL_IX_NTABLES; t++)
		if (staged_table(t) && g->rows[t] > 0)
			m |= 1u << t;
	return m;
}

jl_rc jl__sqstage_merge_table(jl__sqstage_t *g, jl__sqix_t *x, int t, int *src)
{
	if (!staged_table(t))
		return JL_EINVAL;
	jl_rc rc = merge_one(g, x, t, false, src);
	if (!rc)
		g->rows[t] = 0;
	return rc;
}
