/*
 * project — the facts projection file and its refresh from the store.
 *
 * File layout (host byte order; the header names the row sizes and an
 * endianness mark, so a file from another build or machine is rebuilt, not
 * misread): a fixed header, then the five row tables of jl_fact_rows_t
 * back to back (persons, events, causes, institutions, reports). CRC-32
 * (zlib) of the header and of the rows; any mismatch means rebuild.
 */
#include "monitor/project.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/alloc.h"

#define MAGIC "JLFACTS\0"
#define FORMAT 1u
#define ENDIAN 0x01020304u
#define HIST_PAGE 2000   /* versions per history page during a refresh */
#define SAVE_MIN 4096    /* changes that always justify rewriting the file */
#define SCAN_MIN 200000  /* new versions beyond which (and half the rows) a scan is cheaper */

typedef struct header {
	char magic[8];
	uint32_t format, endian;
	uint32_t size[5];        /* sizeof of each row type */
	uint32_t n[5];           /* rows of each table */
	uint64_t catalog_fp;
	int64_t watermark_us;    /* newest version applied */
	int64_t first_us;        /* the store's oldest version: its identity */
	int64_t versions;        /* the store's version count when last refreshed (a hint) */
	int64_t resources, skipped;
	uint32_t rows_crc, head_crc; /* head_crc over the header with head_crc = 0 */
} header_t;

struct jl_proj {
	const jl_catalog_t *cat;
	char *path;              /* NULL: memory only */
	uint64_t fp;
	jl_facts_t rows;         /* rows only (no hierarchy), keyed */
	bool valid;              /* rows reflect the store at watermark_us */
	const char *why;         /* when !valid: why the next refresh rebuilds */
	int64_t watermark_us, first_us, versions;
	int64_t unsaved;         /* changes applied since the file was written */
};

static const uint32_t SIZES[5] = {sizeof(jl_fact_person_t), sizeof(jl_fact_ev_t), sizeof(jl_fact_cause_t),
				  sizeof(jl_fact_org_t), sizeof(jl_fact_aggr_t)};

/* The row tables as (pointer, count) pairs, for reading and writing them alike. */
static void tables(jl_fact_rows_t *r, void ***ptr, uint32_t **n, uint32_t **cap)
{
	ptr[0] = (void **)&r->persons, n[0] = &r->npersons, cap[0] = &r->cap_persons;
	ptr[1] = (void **)&r->evs, n[1] = &r->nevs, cap[1] = &r->cap_evs;
	ptr[2] = (void **)&r->causes, n[2] = &r->ncauses, cap[2] = &r->cap_causes;
	ptr[3] = (void **)&r->orgs, n[3] = &r->norgs, cap[3] = &r->cap_orgs;
	ptr[4] = (void **)&r->reports, n[4] = &r->nreports, cap[4] = &r->cap_reports;
}

static uint32_t crc_of(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) { /* zlib takes an unsigned int length */
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = (uint32_t)crc32(crc, b, k);
		b += k;
		n -= k;
	}
	return crc;
}

static uint32_t head_crc(header_t h)
{
	h.head_crc = 0;
	return crc_of(0, &h, sizeof h);
}

/* Empty rows. The key index is built only when a refresh first has versions to apply (ensure_index). */
static jl_rc rows_reset(jl_proj_t *p)
{
	jl_facts_dispose(&p->rows);
	return jl_facts_init(&p->rows, p->cat, NULL);
}

static jl_rc ensure_index(jl_proj_t *p)
{
	return p->rows.rows.ix_cap ? JL_OK : jl_facts_index(&p->rows);
}

static bool read_all(FILE *fp, void *buf, size_t n)
{
	return !n || fread(buf, 1, n, fp) == n;
}

/* Loads the file into p->rows; false (p->why set) when it is missing or unusable. */
static bool load(jl_proj_t *p, jl_rc *rc)
{
	*rc = JL_OK;
	FILE *fp = fopen(p->path, "rb");
	if (!fp) {
		p->why = errno == ENOENT ? "no projection file" : "projection file unreadable";
		return false;
	}
	header_t h;
	bool ok = false;
	p->why = "projection file damaged";
	if (!read_all(fp, &h, sizeof h) || memcmp(h.magic, MAGIC, 8) || h.head_crc != head_crc(h))
		goto out;
	p->why = "projection file of another format";
	if (h.format != FORMAT || h.endian != ENDIAN || memcmp(h.size, SIZES, sizeof SIZES))
		goto out;
	p->why = "catalogue changed";
	if (h.catalog_fp != p->fp)
		goto out;
	/* The sizes the header announces must be the file's before anything is allocated for them. */
	p->why = "projection file damaged";
	struct stat sb;
	uint64_t want = sizeof h;
	for (int t = 0; t < 5; t++)
		want += (uint64_t)h.n[t] * SIZES[t];
	if (fstat(fileno(fp), &sb) || (uint64_t)sb.st_size != want)
		goto out;
	void **ptr[5];
	uint32_t *n[5], *cap[5], crc = 0;
	tables(&p->rows.rows, ptr, n, cap);
	for (int t = 0; t < 5; t++) {
		size_t bytes = (size_t)h.n[t] * SIZES[t];
		void *buf = jl_malloc(JL_MEM_MISC, bytes + 1);
		if (!buf) {
			*rc = JL_ENOMEM;
			goto out;
		}
		jl_free(JL_MEM_MISC, *ptr[t]);
		*ptr[t] = buf;
		*n[t] = *cap[t] = h.n[t];
		if (!read_all(fp, buf, bytes))
			goto out;
		crc = crc_of(crc, buf, bytes);
	}
	if (crc != h.rows_crc || fgetc(fp) != EOF)
		goto out;
	p->rows.resources = h.resources;
	p->rows.skipped = h.skipped;
	p->rows.snapshot_us = h.watermark_us;
	p->watermark_us = h.watermark_us;
	p->first_us = h.first_us;
	p->versions = h.versions;
	p->why = NULL;
	ok = true;
out:
	fclose(fp);
	return ok;
}

jl_rc jl_proj_open(const char *dir, const jl_catalog_t *cat, jl_proj_t **out)
{
	*out = NULL;
	jl_proj_t *p = jl_calloc(JL_MEM_MISC, 1, sizeof *p);
	if (!p)
		return JL_ENOMEM;
	p->cat = cat;
	p->fp = jl_facts_fingerprint(cat);
	jl_rc rc = jl_facts_init(&p->rows, cat, NULL);
	if (!rc && dir) {
		size_t n = strlen(dir) + sizeof "/" JL_PROJ_FILE;
		p->path = jl_malloc(JL_MEM_MISC, n);
		if (p->path)
			snprintf(p->path, n, "%s/%s", dir, JL_PROJ_FILE);
		else
			rc = JL_ENOMEM;
	}
	if (!rc) {
		p->why = "no projection file";
		if (p->path)
			p->valid = load(p, &rc);
		if (!rc && !p->valid)
			rc = rows_reset(p); /* a half-loaded file leaves nothing behind */
	}
	if (rc) {
		jl_proj_free(p);
		return rc;
	}
	*out = p;
	return JL_OK;
}

void jl_proj_free(jl_proj_t *p)
{
	if (!p)
		return;
	jl_facts_dispose(&p->rows);
	jl_free(JL_MEM_MISC, p->path);
	jl_free(JL_MEM_MISC, p);
}

const char *jl_proj_pending(const jl_proj_t *p)
{
	return p->valid ? NULL : p->why;
}

const jl_facts_t *jl_proj_rows(const jl_proj_t *p)
{
	return &p->rows;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	const char *b = buf;
	while (n) {
		ssize_t w = write(fd, b, n > (1u << 30) ? (1u << 30) : n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* The new file's directory entry must reach the disk too, or a power loss could lose the rename. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof dir)
		return;
	memcpy(dir, slash ? path : ".", slash ? n : 1);
	dir[slash ? n : 1] = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

jl_rc jl_proj_save(jl_proj_t *p, jl_diag_t *d)
{
	if (!p->path || !p->valid || !p->unsaved)
		return JL_OK;
	header_t h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, MAGIC, 8);
	h.format = FORMAT;
	h.endian = ENDIAN;
	memcpy(h.size, SIZES, sizeof SIZES);
	h.catalog_fp = p->fp;
	h.watermark_us = p->watermark_us;
	h.first_us = p->first_us;
	h.versions = p->versions;
	h.resources = p->rows.resources;
	h.skipped = p->rows.skipped;
	void **ptr[5];
	uint32_t *n[5], *cap[5];
	tables(&p->rows.rows, ptr, n, cap);
	for (int t = 0; t < 5; t++) {
		h.n[t] = *n[t];
		h.rows_crc = crc_of(h.rows_crc, *ptr[t], (size_t)*n[t] * SIZES[t]);
	}
	h.head_crc = head_crc(h);
	/* A name of our own: a server and a CLI run on the same directory never write one file together. */
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", p->path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write_all(fd, &h, sizeof h);
	for (int t = 0; ok && t < 5; t++)
		ok = write_all(fd, *ptr[t], (size_t)*n[t] * SIZES[t]);
	ok = ok && fsync(fd) == 0;
	int err = errno;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, p->path) == 0;
	if (!ok) {
		unlink(tmp);
		jl_diag_add(d, JL_SEV_WARNING, "exception", NULL, "Could not write the facts projection %s (%s)", p->path,
			    strerror(err ? err : errno));
		return JL_EIO;
	}
	sync_dir(p->path);
	p->unsaved = 0;
	return JL_OK;
}

/* The instant of the store's oldest version (0: empty store): changes only when the store is replaced. */
static jl_rc oldest(jl_store_t *s, jl_arena_t *a, int64_t *out)
{
	jl_hist_query_t q = {.after_us = 1, .count = 1};
	jl_hist_page_t pg;
	jl_rc rc = jl_store_history(s, a, &q, &pg);
	*out = !rc && pg.n ? pg.items[0].updated_us : 0;
	return rc;
}

static jl_rc rebuild(jl_proj_t *p, jl_store_t *s, jl_arena_t *a, jl_proj_stats_t *st, jl_diag_t *d)
{
	jl_store_stats_t ss;
	jl_rc rc = jl_store_stats(s, &ss);
	if (!rc)
		rc = rows_reset(p);
	if (!rc)
		rc = jl_facts_scan_rows(&p->rows, s, d);
	if (!rc)
		rc = oldest(s, a, &p->first_us);
	if (rc) {
		p->valid = false;
		p->why = "the last rebuild failed";
		return rc;
	}
	st->rebuilt = true;
	st->why = p->why;
	st->scanned = p->rows.resources;
	p->watermark_us = p->rows.snapshot_us;
	p->versions = ss.versions;
	p->valid = true;
	p->why = NULL;
	p->unsaved = (int64_t)jl_facts_nrows(&p->rows) + 1;
	return JL_OK;
}

/* Applies the versions newer than the watermark, oldest first. JL_ESTALE: the store is behind the file. */
static jl_rc apply_history(jl_proj_t *p, jl_store_t *s, jl_arena_t *a, jl_proj_stats_t *st)
{
	jl_buf_t buf;
	jl_buf_init(&buf, JL_MEM_MISC, 0);
	jl_arena_t *pa = jl_arena_new(1 << 16, 0);
	jl_rc rc = pa ? JL_OK : JL_ENOMEM;
	for (bool more = true, first = true; !rc && more; first = false) {
		jl_arena_reset(a);
		jl_hist_query_t q = {.after_us = p->watermark_us > 0 ? p->watermark_us : 1, .count = HIST_PAGE};
		jl_hist_page_t pg;
		rc = jl_store_history(s, a, &q, &pg);
		if (rc)
			break;
		if (first && pg.snapshot_us < p->watermark_us) {
			rc = JL_ESTALE;
			break;
		}
		if (pg.n)
			rc = ensure_index(p);
		for (size_t i = pg.n; i-- > 0 && !rc;) { /* the page is newest first */
			const jl_version_t *v = &pg.items[i];
			if (jl_facts_type_used(v->type)) {
				rc = jl_facts_remove(&p->rows, jl_store_target2(v->type, v->id));
				if (!rc && !v->deleted)
					rc = jl_facts_add_version(&p->rows, pa, &buf, v);
			}
			p->watermark_us = v->updated_us;
			st->versions++;
			p->unsaved++;
		}
		more = pg.more_newer && pg.n;
	}
	jl_arena_free(pa);
	jl_buf_dispose(&buf);
	p->rows.snapshot_us = p->watermark_us;
	return rc;
}

jl_rc jl_proj_refresh(jl_proj_t *p, jl_store_t *s, jl_proj_stats_t *st, jl_diag_t *d)
{
	jl_proj_stats_t dummy;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof *st);
	jl_arena_t *a = jl_arena_new(1 << 16, 0);
	if (!a)
		return JL_ENOMEM;
	jl_rc rc = JL_OK;
	if (p->valid) {
		/* Another store in the same directory (restored, re-created) cannot be caught up from history. */
		int64_t first = 0;
		jl_store_stats_t ss;
		rc = oldest(s, a, &first);
		if (!rc)
			rc = jl_store_stats(s, &ss);
		if (rc)
			goto out;
		uint64_t nrows = jl_facts_nrows(&p->rows);
		if (first != p->first_us) {
			p->valid = false;
			p->why = "the store was replaced";
		} else if (ss.versions - p->versions > SCAN_MIN && (uint64_t)(ss.versions - p->versions) > nrows / 2) {
			p->valid = false;
			p->why = "more written since than a scan costs";
		} else {
			rc = apply_history(p, s, a, st);
			if (rc == JL_ESTALE) {
				p->valid = false;
				p->why = "the store is older than the projection";
				rc = JL_OK;
			} else if (!rc) {
				p->versions = ss.versions;
			}
		}
	}
	if (!rc && !p->valid)
		rc = rebuild(p, s, a, st, d);
	if (rc) {
		if (d && !d->nerrors)
			jl_diag_err(d, "exception", NULL, "Refreshing the facts projection failed (%s)", jl_rc_name(rc));
		/* Rows half-way through a page are still right up to the watermark; keep them. */
		goto out;
	}
	uint64_t nrows = jl_facts_nrows(&p->rows);
	if (p->path && (p->unsaved >= SAVE_MIN || (p->unsaved > 0 && (uint64_t)p->unsaved * 32 >= nrows) || st->rebuilt))
		st->saved = jl_proj_save(p, d) == JL_OK;
	st->rows = (int64_t)nrows;
	st->watermark_us = p->watermark_us;
out:
	jl_arena_free(a);
	return rc;
}

jl_rc jl_proj_adopt(jl_proj_t *p, jl_facts_t *rows, int64_t watermark_us)
{
	jl_facts_dispose(&p->rows);
	p->rows = *rows;
	memset(rows, 0, sizeof *rows);
	p->rows.snapshot_us = watermark_us;
	p->watermark_us = watermark_us;
	p->first_us = -1; /* no store: the first refresh against one rebuilds */
	p->versions = 0;
	p->valid = true;
	p->why = NULL;
	p->unsaved = (int64_t)jl_facts_nrows(&p->rows) + 1;
	return JL_OK;
}

jl_rc jl_proj_facts(const jl_proj_t *p, const jl_regions_t *reg, jl_facts_t *out)
{
	jl_rc rc = jl_facts_init(out, p->cat, reg);
	if (!rc)
		rc = jl_facts_finish_from(out, &p->rows);
	if (rc)
		jl_facts_dispose(out);
	return rc;
}
