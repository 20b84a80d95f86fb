/*
 * reader — NDJSON input, plain or gzip-compressed. Lines are cut from a
 * window buffer that is refilled with large reads; a line is handed out as
 * a slice of the window (no copy). The window grows for a long line up to
 * JL_IMPORT_ITEM_MAX and shrinks back after it; a longer line is skipped
 * and reported, and reading goes on with the next line.
 */
#include "ingest/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "base/alloc.h"

#define WINDOW (1u << 20) /* usual window; reads are this large */

struct jl_import_reader {
	const jl_import_format_t *fmt;
	int fd;              /* plain */
	gzFile gz;           /* .gz */
	char *buf;
	size_t cap, len, pos; /* window: bytes [pos, len) not yet handed out */
	int64_t base;        /* content offset of buf[0] */
	int64_t line;        /* lines consumed */
	bool eof;
	bool bom_checked;
};

/* ---- sources ---- */

/* Reads up to n bytes: count, 0 at the end, -1 on error (described in d). */
static ssize_t src_read(jl_import_reader_t *r, char *p, size_t n, jl_diag_t *d)
{
	if (r->gz) {
		int k = gzread(r->gz, p, (unsigned)(n > (1u << 30) ? (1u << 30) : n));
		if (k < 0) {
			int zerr;
			const char *m = gzerror(r->gz, &zerr);
			jl_diag_err(d, "exception", NULL, "The gzip data is corrupt or truncated (%s)", m ? m : "zlib error");
			return -1;
		}
		if (k == 0) {
			/* gzread reports a truncated stream as an error only through gzerror. */
			int zerr = Z_OK;
			const char *m = gzerror(r->gz, &zerr);
			if (zerr != Z_OK && zerr != Z_STREAM_END) {
				jl_diag_err(d, "exception", NULL, "The gzip data is corrupt or truncated (%s)", m ? m : "zlib error");
				return -1;
			}
		}
		return k;
	}
	for (;;) {
		ssize_t k = read(r->fd, p, n);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		jl_diag_err(d, "exception", NULL, "The file could not be read: %s", strerror(errno));
		return -1;
	}
}

static void reader_free(jl_import_reader_t *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz);
	if (r->fd >= 0)
		close(r->fd);
	jl_free(JL_MEM_MISC, r->buf);
	jl_free(JL_MEM_MISC, r);
}

static jl_rc open_common(const jl_import_format_t *fmt, const char *path, int64_t offset, int64_t line,
			 jl_import_reader_t **out, jl_diag_t *d)
{
	jl_rc rc = JL_OK;
	*out = NULL;
	jl_import_reader_t *r = jl_calloc(JL_MEM_MISC, 1, sizeof *r);
	if (!r)
		return JL_ENOMEM;
	r->fmt = fmt;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = errno == ENOENT ? JL_ENOTFOUND : JL_EIO;
		jl_diag_err(d, rc == JL_ENOTFOUND ? "not-found" : "exception", NULL, "Cannot open the file: %s",
			    strerror(errno));
		goto out;
	}
	r->cap = WINDOW;
	r->buf = jl_malloc(JL_MEM_MISC, r->cap);
	if (!r->buf) {
		rc = JL_ENOMEM;
		goto out;
	}
	if (!strcmp(fmt->name, "ndjson.gz")) {
		r->gz = gzdopen(r->fd, "rb");
		if (!r->gz) {
			rc = JL_ENOMEM;
			goto out;
		}
		r->fd = -1; /* gzclose closes it */
		gzbuffer(r->gz, 256 * 1024);
		/* Seeking forward in a gzip stream decompresses up to the offset. */
		if (offset > 0 && gzseek64(r->gz, offset, SEEK_SET) != offset) {
			rc = JL_EIO;
			jl_diag_err(d, "exception", NULL, "Cannot resume at byte %lld of the decompressed content",
				    (long long)offset);
			goto out;
		}
	} else if (offset > 0 && lseek(r->fd, offset, SEEK_SET) != offset) {
		rc = JL_EIO;
		jl_diag_err(d, "exception", NULL, "Cannot resume at byte %lld: %s", (long long)offset, strerror(errno));
		goto out;
	}
	r->base = offset;
	r->line = line;
	r->bom_checked = offset > 0;
out:
	if (rc) {
		reader_free(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

/* ---- lines ---- */

/* Makes room after the unread bytes: moves them to the start, grows the window if it is full. */
static jl_rc make_room(jl_import_reader_t *r)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += (int64_t)r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len < r->cap)
		return JL_OK;
	if (r->cap >= JL_IMPORT_ITEM_MAX)
		return JL_ETOOBIG;
	size_t cap = r->cap * 2 < JL_IMPORT_ITEM_MAX ? r->cap * 2 : JL_IMPORT_ITEM_MAX;
	char *b = jl_realloc(JL_MEM_MISC, r->buf, cap);
	if (!b)
		return JL_ENOMEM;
	r->buf = b;
	r->cap = cap;
	return JL_OK;
}

/* After a long line the window goes back to its usual size, so memory stays bounded. */
static void shrink(jl_import_reader_t *r)
{
	if (r->cap <= WINDOW || r->len - r->pos > WINDOW / 2)
		return;
	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->base += (int64_t)r->pos;
	r->len -= r->pos;
	r->pos = 0;
	char *b = jl_realloc(JL_MEM_MISC, r->buf, WINDOW);
	if (b) {
		r->buf = b;
		r->cap = WINDOW;
	}
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Discards the rest of an over-long line: up to and including its newline, or the end. */
static jl_rc skip_line(jl_import_reader_t *r, jl_diag_t *d)
{
	for (;;) {
		char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		if (nl) {
			r->pos = (size_t)(nl - r->buf) + 1;
			return JL_OK;
		}
		r->base += (int64_t)r->len;
		r->pos = r->len = 0;
		if (r->eof)
			return JL_OK;
		ssize_t k = src_read(r, r->buf, r->cap, d);
		if (k < 0)
			return JL_EIO;
		if (k == 0)
			r->eof = true;
		r->len = (size_t)k;
	}
}

static jl_rc nd_next(jl_import_reader_t *r, jl_import_item_t *it, jl_diag_t *d)
{
	for (;;) {
		char *p = r->buf + r->pos;
		size_t avail = r->len - r->pos;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		if (nl || (r->eof && avail)) {
			size_t n = nl ? (size_t)(nl - p) : avail;
			size_t used = nl ? n + 1 : n;
			r->line++;
			r->pos += used;
			it->line = r->line;
			it->end_line = r->line;
			it->end = r->base + (int64_t)r->pos;
			if (n && p[n - 1] == '\r')
				n--;
			if (it->line == 1 && !r->bom_checked && n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
				p += 3; /* a UTF-8 byte order mark is not part of the first resource */
				n -= 3;
			}
			r->bom_checked = true;
			if (blank(p, n))
				continue; /* blank lines separate nothing in NDJSON; they are skipped */
			it->kind = JL_IMPORT_RESOURCE;
			it->text = jl_str(p, n);
			if (r->cap > WINDOW)
				shrink(r);
			return JL_OK;
		}
		if (r->eof)
			return JL_ENOTFOUND;
		jl_rc rc = make_room(r);
		if (rc == JL_ETOOBIG) {
			r->line++;
			it->line = r->line;
			it->end_line = r->line;
			jl_diag_err(d, "too-long", NULL, "The line is longer than %zu bytes", (size_t)JL_IMPORT_ITEM_MAX - 1);
			rc = skip_line(r, d);
			it->end = r->base + (int64_t)r->pos;
			shrink(r);
			return rc ? rc : JL_ETOOBIG;
		}
		if (rc)
			return rc;
		ssize_t k = src_read(r, r->buf + r->len, r->cap - r->len, d);
		if (k < 0)
			return JL_EIO;
		if (k == 0)
			r->eof = true;
		r->len += (size_t)k;
	}
}

static int64_t nd_consumed(const jl_import_reader_t *r)
{
	if (r->gz)
		return (int64_t)gzoffset64(r->gz);
	return r->base + (int64_t)r->pos;
}

static void nd_close(jl_import_reader_t *r)
{
	reader_free(r);
}

/*
 * ".json": one JSON document per file — a Bundle (Synthea writes one
 * transaction Bundle per patient) or a single resource — handed out whole
 * as one JL_IMPORT_BUNDLE item (import.c's hook tells the two apart). The
 * item is the file, so a resumed import either skips it or reads it again.
 * A document without "resourceType" yields nothing: it is not FHIR.
 */
static jl_rc js_next(jl_import_reader_t *r, jl_import_item_t *it, jl_diag_t *d)
{
	if (r->eof)
		return JL_ENOTFOUND;
	for (;;) {
		if (r->len == r->cap) {
			if (r->cap >= JL_IMPORT_ITEM_MAX) {
				r->eof = true;
				it->line = 1;
				it->end_line = r->line + 1;
				it->end = r->base + (int64_t)r->len; /* an approximation: the item is skipped whole */
				jl_diag_err(d, "too-long", NULL, "The file is larger than %zu bytes", (size_t)JL_IMPORT_ITEM_MAX - 1);
				return JL_ETOOBIG;
			}
			jl_rc rc = make_room(r);
			if (rc)
				return rc;
		}
		ssize_t k = src_read(r, r->buf + r->len, r->cap - r->len, d);
		if (k < 0)
			return JL_EIO;
		if (k == 0)
			break;
		r->len += (size_t)k;
	}
	r->eof = true;
	const char *p = r->buf;
	size_t n = r->len;
	if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
		p += 3;
		n -= 3;
	}
	int64_t lines = 0;
	for (size_t i = 0; i < r->len; i++)
		lines += r->buf[i] == '\n';
	/* No "resourceType" anywhere: not FHIR (e.g. the manifest.json beside generated NDJSON). */
	if (blank(p, n) || !memmem(p, n, "\"resourceType\"", 14))
		return JL_ENOTFOUND;
	it->kind = JL_IMPORT_BUNDLE;
	it->text = jl_str(p, n);
	it->line = 1;
	it->end_line = r->line + (lines ? lines : 1);
	it->end = r->base + (int64_t)r->len;
	r->pos = r->len;
	return JL_OK;
}

static jl_rc nd_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d);
static jl_rc gz_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d);
static jl_rc js_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d);

/* The formats, longest suffix first. */
static const jl_import_format_t formats[] = {
	{"ndjson.gz", ".ndjson.gz", gz_open, nd_next, nd_consumed, nd_close},
	{"ndjson.gz", ".jsonl.gz", gz_open, nd_next, nd_consumed, nd_close},
	{"ndjson", ".ndjson", nd_open, nd_next, nd_consumed, nd_close},
	{"ndjson", ".jsonl", nd_open, nd_next, nd_consumed, nd_close},
	{"json", ".json", js_open, js_next, nd_consumed, nd_close},
};

static jl_rc js_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d)
{
	jl_rc rc = open_common(&formats[4], path, offset, line, out, d);
	if (!rc && offset > 0)
		(*out)->eof = true; /* the one item was committed: nothing is left */
	return rc;
}

static jl_rc nd_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d)
{
	return open_common(&formats[2], path, offset, line, out, d);
}

static jl_rc gz_open(const char *path, int64_t offset, int64_t line, jl_import_reader_t **out, jl_diag_t *d)
{
	return open_common(&formats[0], path, offset, line, out, d);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

const jl_import_format_t *jl_import_format_for(const char *path)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (ends_with(path, formats[i].suffix))
			return &formats[i];
	return NULL;
}

bool jl_import_wanted(const char *name)
{
	return name[0] != '.' && jl_import_format_for(name) != NULL;
}
