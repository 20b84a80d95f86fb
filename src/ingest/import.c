/*
 * import — the bulk import engine: input files → reader items → ingest,
 * with the position of every touched file recorded in the same
 * transaction as each batch, and an error file kept consistent with those
 * records. See import.h for the contract and docs/api.md ("Bulk import")
 * for the user's view.
 *
 * Consistency of the error file: error lines are buffered and written to
 * the file (and fdatasync'd) just before the batch whose position covers
 * them is handed to the store, and each position record carries the error
 * file's size at that point. A resumed run truncates the error file to the
 * largest recorded size, so lines of items that were read but never
 * committed are reported once, by the run that commits them.
 */
#include "ingest/import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/time.h"

#define IDENT_SPAN 65536     /* bytes hashed at each end of a file for its identity */
#define MARK_PREFIX "import:"
#define MAX_DIRTY 15         /* files one batch may record (ingest takes 16 settings) */
#define ERRBUF_FLUSH 65536
#define PROGRESS_NS 200000000LL
#define BATCH_DEFAULT 5000
/*
 * A batch also ends at 16 MB of bodies and index rows (~2,400 Patients, ~4,300 Observations):
 * two batches, the writer's sorted copy of one and its 32 MB page cache keep a multi-gigabyte
 * import near 120 MB of RSS.
 */
#define BATCH_BYTES ((size_t)16 << 20)

typedef struct ifile {
	jl_import_file_t pub;
	char *path;           /* opened */
	char *label;          /* shown in the error file and the records (pub.path) */
	const jl_import_format_t *fmt;
	char key[40];         /* store setting holding this file's position */
	int64_t offset;       /* content offset after the last item queued or rejected */
	int64_t accepted;     /* items queued (committed once their batch is) */
	int64_t start_consumed; /* bytes on disk already behind us when this run opened it */
	bool dirty;           /* position changed since the last record */
} ifile_t;

struct jl_import {
	jl_import_cfg_t cfg;
	ifile_t *files;
	size_t n, cap;
	jl_arena_t *a;        /* paths, keys, error texts */
	jl_arena_t *scratch;  /* per item diagnostics */
	jl_ingest_t *g;
	int errfd;
	jl_buf_t errbuf;      /* error lines not yet in the file */
	int64_t err_written;  /* bytes in the error file */
	bool err_unsynced;
	jl_buf_t mark;
	int ndirty;
	int64_t t0_ns, last_progress_ns;
	int64_t bytes_total, bytes_before; /* progress: total to read; bytes of files finished this run */
	ifile_t *cur;
	jl_import_reader_t *reader;
	jl_import_stats_t st;
};

jl_rc jl_import_new(const jl_import_cfg_t *cfg, jl_import_t **out)
{
	*out = NULL;
	jl_import_t *im = jl_calloc(JL_MEM_STORE, 1, sizeof *im);
	if (!im)
		return JL_ENOMEM;
	im->cfg = *cfg;
	if (!im->cfg.batch)
		im->cfg.batch = BATCH_DEFAULT;
	im->errfd = -1;
	im->a = jl_arena_new(0, 0);
	im->scratch = jl_arena_new(0, 0);
	jl_buf_init(&im->errbuf, JL_MEM_STORE, 0);
	jl_buf_init(&im->mark, JL_MEM_STORE, 0);
	if (!im->a || !im->scratch) {
		jl_import_free(im);
		return JL_ENOMEM;
	}
	*out = im;
	return JL_OK;
}

void jl_import_free(jl_import_t *im)
{
	if (!im)
		return;
	if (im->reader)
		im->cur->fmt->close(im->reader);
	jl_ingest_free(im->g);
	if (im->errfd >= 0)
		close(im->errfd);
	jl_buf_dispose(&im->errbuf);
	jl_buf_dispose(&im->mark);
	jl_free(JL_MEM_STORE, im->files);
	jl_arena_free(im->a);
	jl_arena_free(im->scratch);
	jl_free(JL_MEM_STORE, im);
}

const jl_import_stats_t *jl_import_stats(const jl_import_t *im)
{
	return &im->st;
}

size_t jl_import_nfiles(const jl_import_t *im)
{
	return im->n;
}

const jl_import_file_t *jl_import_file(const jl_import_t *im, size_t i)
{
	return i < im->n ? &im->files[i].pub : NULL;
}

/* ---- inputs ---- */

static jl_rc add_file(jl_import_t *im, const char *path, const char *label, const jl_import_format_t *fmt)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 16;
		ifile_t *f = jl_realloc(JL_MEM_STORE, im->files, cap * sizeof *f);
		if (!f)
			return JL_ENOMEM;
		im->files = f;
		im->cap = cap;
	}
	ifile_t *f = &im->files[im->n];
	memset(f, 0, sizeof *f);
	f->path = jl_arena_strdup(im->a, path);
	f->label = label ? jl_arena_strdup(im->a, label) : f->path;
	if (!f->path || !f->label)
		return JL_ENOMEM;
	f->pub.path = f->label;
	f->pub.format = fmt->name;
	f->fmt = fmt;
	im->n++;
	return JL_OK;
}

/*
 * Synthea's output directory holds the hospitals and practitioners that
 * every patient Bundle refers to (by conditional reference): they go first.
 */
static int load_rank(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strncmp(base, "hospitalInformation", 19) == 0 ? 0 : strncmp(base, "practitionerInformation", 23) == 0 ? 1 : 2;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int rx = load_rank(x), ry = load_rank(y);
	return rx != ry ? rx - ry : strcmp(x, y);
}

static jl_rc add_dir(jl_import_t *im, const char *path, jl_diag_t *d)
{
	jl_rc rc = JL_OK;
	DIR *dir = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	if (!dir) {
		jl_diag_err(d, "exception", NULL, "%s: cannot read the directory: %s", path, strerror(errno));
		return JL_EIO;
	}
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (!jl_import_wanted(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = jl_arena_alloc(im->scratch, cap * sizeof *nv);
			if (!nv) {
				rc = JL_ENOMEM;
				goto out;
			}
			if (n)
				memcpy(nv, names, n * sizeof *nv);
			names = nv;
		}
		size_t pl = strlen(path);
		names[n] = jl_arena_printf(im->scratch, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/", e->d_name);
		if (!names[n]) {
			rc = JL_ENOMEM;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		struct stat sb;
		if (stat(names[i], &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		rc = add_file(im, names[i], NULL, jl_import_format_for(names[i]));
	}
	if (!rc && !n)
		jl_diag_add(d, JL_SEV_WARNING, "informational", NULL, "%s: no .ndjson, .ndjson.gz or .jsonl files", path);
out:
	closedir(dir);
	jl_arena_reset(im->scratch);
	return rc;
}

jl_rc jl_import_add_path(jl_import_t *im, const char *path, jl_diag_t *d)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		jl_diag_err(d, "not-found", NULL, "%s: %s", path, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? JL_ENOTFOUND : JL_EIO;
	}
	if (S_ISDIR(sb.st_mode))
		return add_dir(im, path, d);
	const jl_import_format_t *fmt = jl_import_format_for(path);
	if (!fmt) {
		jl_diag_err(d, "not-supported", NULL,
			    "%s: not an input format this import reads (.ndjson, .ndjson.gz, .jsonl, .jsonl.gz)", path);
		return JL_EUNSUPPORTED;
	}
	return add_file(im, path, NULL, fmt);
}

jl_rc jl_import_add_file(jl_import_t *im, const char *path, const char *label, jl_diag_t *d)
{
	const jl_import_format_t *fmt = jl_import_format_for(path);
	if (!fmt) {
		jl_diag_err(d, "not-supported", NULL, "%s: not an input format this import reads", label ? label : path);
		return JL_EUNSUPPORTED;
	}
	return add_file(im, path, label, fmt);
}

/* ---- identity and position records ---- */

/* Size and a hash of both ends: the same bytes under another name are the same input. */
static jl_rc identify(jl_import_t *im, ifile_t *f, jl_diag_t *d)
{
	jl_rc rc = JL_OK;
	char *buf = NULL;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		jl_diag_err(d, "exception", NULL, "%s: cannot open: %s", f->label, strerror(errno));
		rc = JL_EIO;
		goto out;
	}
	buf = jl_malloc(JL_MEM_STORE, IDENT_SPAN);
	if (!buf) {
		rc = JL_ENOMEM;
		goto out;
	}
	int64_t size = (int64_t)sb.st_size;
	uint64_t h = jl_hash_bytes(JL_HASH_SEED, &size, sizeof size);
	int64_t at[2] = {0, size > IDENT_SPAN ? size - IDENT_SPAN : 0};
	for (int i = 0; i < 2; i++) {
		ssize_t k = pread(fd, buf, IDENT_SPAN, at[i]);
		if (k < 0) {
			jl_diag_err(d, "exception", NULL, "%s: cannot read: %s", f->label, strerror(errno));
			rc = JL_EIO;
			goto out;
		}
		h = jl_hash_bytes(h, buf, (size_t)k);
	}
	f->pub.size = size;
	snprintf(f->key, sizeof f->key, MARK_PREFIX "%016llx", (unsigned long long)h);
out:
	jl_free(JL_MEM_STORE, buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int64_t jnum(const jl_json_t *o, const char *k)
{
	int64_t v = 0;
	const jl_json_t *x = jl_json_get(o, k);
	if (x && x->type == JL_JSON_NUMBER && jl_str_to_i64(jl_json_str(x), &v) && v >= 0)
		return v;
	return 0;
}

/* Reads what an earlier run committed of this file; *errors: the error file size it recorded, if same file. */
static jl_rc load_mark(jl_import_t *im, ifile_t *f, int64_t *errors)
{
	jl_str_t v;
	jl_rc rc = im->cfg.store->ops->meta_get(im->cfg.store, im->scratch, f->key, &v);
	if (rc == JL_ENOTFOUND)
		return JL_OK;
	if (rc)
		return rc;
	jl_json_t *o;
	jl_json_err_t e;
	jl_json_opts_t opts = {.max_depth = 8};
	if (jl_json_parse(im->scratch, v.p, v.n, &opts, &o, &e) != JL_OK || o->type != JL_JSON_OBJECT)
		return JL_OK; /* not ours to understand: start the file afresh */
	if (jnum(o, "size") != f->pub.size)
		return JL_OK;
	f->offset = jnum(o, "offset");
	f->pub.lines = jnum(o, "line");
	f->pub.read = jnum(o, "read");
	f->pub.rejected = jnum(o, "rejected");
	f->accepted = jnum(o, "written");
	f->pub.written = f->accepted;
	f->pub.done = jl_json_get(o, "done") && jl_json_get(o, "done")->type == JL_JSON_TRUE;
	f->pub.skipped = f->pub.done;
	f->pub.resumed_line = f->pub.done ? 0 : f->pub.lines;
	jl_str_t ef = jl_json_str(jl_json_get(o, "errfile"));
	if (im->cfg.errors_path && jl_str_eqc(ef, im->cfg.errors_path))
		*errors = jnum(o, "errors");
	return JL_OK;
}

/* The position record of a file, as of the items queued so far, into im->mark. */
static jl_rc build_mark(jl_import_t *im, ifile_t *f)
{
	jl_buf_clear(&im->mark);
	jl_jw_t w;
	jl_jw_init(&w, &im->mark, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "path");
	jl_jw_strc(&w, f->label);
	jl_jw_keyc(&w, "size");
	jl_jw_int(&w, f->pub.size);
	jl_jw_keyc(&w, "offset");
	jl_jw_int(&w, f->offset);
	jl_jw_keyc(&w, "line");
	jl_jw_int(&w, f->pub.lines);
	jl_jw_keyc(&w, "read");
	jl_jw_int(&w, f->pub.read);
	jl_jw_keyc(&w, "written");
	jl_jw_int(&w, f->accepted);
	jl_jw_keyc(&w, "rejected");
	jl_jw_int(&w, f->pub.rejected);
	if (im->cfg.errors_path) {
		jl_jw_keyc(&w, "errfile");
		jl_jw_strc(&w, im->cfg.errors_path);
		jl_jw_keyc(&w, "errors");
		jl_jw_int(&w, im->err_written);
	}
	jl_jw_keyc(&w, "done");
	jl_jw_bool(&w, f->pub.done);
	jl_jw_obj_end(&w);
	return jl_buf_status(&im->mark);
}

static jl_rc mark_file(jl_import_t *im, jl_ingest_t *g, ifile_t *f)
{
	jl_rc rc = build_mark(im, f);
	return rc ? rc : jl_ingest_mark(g, jl_cstr(f->key), jl_buf_str(&im->mark));
}

/*
 * A Bundle item writes through the hook in a transaction of its own, which
 * must carry the file's position after the item (so that a crash leaves
 * either both or neither): what came before is committed first, then the
 * record is built as if the item had been taken.
 */
static jl_rc take_bundle(jl_import_t *im, ifile_t *f, const jl_import_item_t *it, jl_diag_t *d)
{
	jl_rc rc = jl_ingest_flush(im->g);
	if (rc)
		return rc;
	ifile_t after = *f;
	after.offset = it->end;
	after.pub.lines = it->end_line;
	after.pub.read++;
	after.accepted++;
	rc = build_mark(im, &after);
	if (rc)
		return rc;
	jl_str_t value = jl_arena_str(im->scratch, jl_buf_str(&im->mark));
	if (!value.p)
		return JL_ENOMEM;
	return im->cfg.bundle(im->cfg.bundle_arg, im->g, it->text, jl_cstr(f->key), value, d);
}

/* ---- the error file ---- */

static jl_rc err_write_out(jl_import_t *im)
{
	size_t off = 0;
	while (off < im->errbuf.n) {
		ssize_t k = write(im->errfd, im->errbuf.p + off, im->errbuf.n - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return JL_EIO;
		}
		off += (size_t)k;
	}
	im->err_written += (int64_t)im->errbuf.n;
	if (im->errbuf.n)
		im->err_unsynced = true;
	jl_buf_clear(&im->errbuf);
	return JL_OK;
}

/* Before a batch commits, the error lines it covers must be on disk (its record names their end). */
static jl_rc on_batch(void *arg, jl_ingest_t *g, uint32_t resources)
{
	jl_import_t *im = arg;
	(void)resources;
	if (im->errfd >= 0) {
		if (err_write_out(im) != JL_OK)
			return JL_EIO;
		if (im->err_unsynced && fdatasync(im->errfd) != 0)
			return JL_EIO;
		im->err_unsynced = false;
	}
	for (size_t i = 0; i < im->n; i++) {
		ifile_t *f = &im->files[i];
		if (!f->dirty)
			continue;
		jl_rc rc = mark_file(im, g, f);
		if (rc)
			return rc;
		f->dirty = false;
	}
	im->ndirty = 0;
	return JL_OK;
}

/* A message without the values it quotes: "The value \"1980-13-45\" is not…" → "The value \"…\" is not…". */
static void redacted(jl_buf_t *b, const char *msg)
{
	const char *p = msg;
	while (*p) {
		const char *q = strchr(p, '"');
		if (!q) {
			jl_buf_puts(b, p);
			return;
		}
		jl_buf_append(b, p, (size_t)(q - p));
		jl_buf_puts(b, "\"…\"");
		const char *end = strchr(q + 1, '"');
		if (!end)
			return;
		p = end + 1;
	}
}

static void put_str(jl_jw_t *w, jl_buf_t *tmp, const char *msg)
{
	jl_buf_clear(tmp);
	redacted(tmp, msg);
	jl_jw_str(w, jl_buf_str(tmp));
}

/* One line of the error file for a bad item: where, and what is wrong — never the content. */
static void report(jl_import_t *im, const ifile_t *f, int64_t line, const jl_diag_t *d, const char *fallback)
{
	if (im->errfd < 0)
		return;
	jl_buf_t tmp;
	jl_buf_init(&tmp, JL_MEM_STORE, 0);
	jl_jw_t w;
	jl_jw_init(&w, &im->errbuf, 0);
	const jl_issue_t *first = NULL;
	for (size_t i = 0; i < d->n && !first; i++)
		if (d->items[i].sev <= JL_SEV_ERROR)
			first = &d->items[i];
	if (im->cfg.errors_format == JL_IMPORT_ERR_OUTCOME) {
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "resourceType");
		jl_jw_strc(&w, "OperationOutcome");
		jl_jw_keyc(&w, "issue");
		jl_jw_arr_begin(&w);
		for (size_t i = 0; i < d->n || (!d->n && i == 0); i++) {
			const jl_issue_t *it = d->n ? &d->items[i] : NULL;
			if (it && it->sev > JL_SEV_ERROR)
				continue;
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "severity");
			jl_jw_strc(&w, "error");
			jl_jw_keyc(&w, "code");
			jl_jw_strc(&w, it ? it->code : "processing");
			jl_jw_keyc(&w, "diagnostics");
			jl_buf_clear(&tmp);
			jl_buf_printf(&tmp, "%s line %lld: ", f->label, (long long)line);
			redacted(&tmp, it ? it->diag : fallback);
			jl_jw_str(&w, jl_buf_str(&tmp));
			if (it && it->expr) {
				jl_jw_keyc(&w, "expression");
				jl_jw_arr_begin(&w);
				jl_jw_strc(&w, it->expr);
				jl_jw_arr_end(&w);
			}
			jl_jw_obj_end(&w);
		}
		jl_jw_arr_end(&w);
		jl_jw_obj_end(&w);
	} else {
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "file");
		jl_jw_strc(&w, f->label);
		jl_jw_keyc(&w, "line");
		jl_jw_int(&w, line);
		jl_jw_keyc(&w, "code");
		jl_jw_strc(&w, first ? first->code : "processing");
		jl_jw_keyc(&w, "reason");
		put_str(&w, &tmp, first ? first->diag : fallback);
		jl_jw_keyc(&w, "expression");
		if (first && first->expr)
			jl_jw_strc(&w, first->expr);
		else
			jl_jw_null(&w);
		/* Further problems of the same item, if any. */
		bool more = false;
		for (size_t i = 0; i < d->n; i++) {
			const jl_issue_t *it = &d->items[i];
			if (it == first || it->sev > JL_SEV_ERROR)
				continue;
			if (!more) {
				jl_jw_keyc(&w, "more");
				jl_jw_arr_begin(&w);
				more = true;
			}
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "reason");
			put_str(&w, &tmp, it->diag);
			jl_jw_keyc(&w, "expression");
			if (it->expr)
				jl_jw_strc(&w, it->expr);
			else
				jl_jw_null(&w);
			jl_jw_obj_end(&w);
		}
		if (more)
			jl_jw_arr_end(&w);
		jl_jw_obj_end(&w);
	}
	jl_buf_putc(&im->errbuf, '\n');
	jl_buf_dispose(&tmp);
	if (im->errbuf.n >= ERRBUF_FLUSH)
		(void)err_write_out(im); /* a failure shows again, and is reported, at the next batch */
}

/* Opens the error file, keeping only what committed batches recorded (`keep` bytes). */
static jl_rc open_errors(jl_import_t *im, int64_t keep, jl_diag_t *d)
{
	if (!im->cfg.errors_path)
		return JL_OK;
	im->errfd = open(im->cfg.errors_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	struct stat sb;
	if (im->errfd < 0 || fstat(im->errfd, &sb) != 0) {
		jl_diag_err(d, "exception", NULL, "cannot write the error file %s: %s", im->cfg.errors_path,
			    strerror(errno));
		return JL_EIO;
	}
	if (keep > (int64_t)sb.st_size)
		keep = (int64_t)sb.st_size; /* lines lost (another file of that name?): append after what is there */
	if (ftruncate(im->errfd, keep) != 0 || lseek(im->errfd, keep, SEEK_SET) != keep) {
		jl_diag_err(d, "exception", NULL, "cannot write the error file %s: %s", im->cfg.errors_path,
			    strerror(errno));
		return JL_EIO;
	}
	im->err_written = keep;
	return JL_OK;
}

/* ---- progress ---- */

static void progress(jl_import_t *im, bool final, bool indexing)
{
	if (!im->cfg.progress)
		return;
	int64_t now = jl_mono_ns();
	if (!final && !indexing && now - im->last_progress_ns < PROGRESS_NS)
		return;
	im->last_progress_ns = now;
	const jl_ingest_stats_t *gs = im->g ? jl_ingest_stats(im->g) : NULL;
	jl_import_progress_t p = {
		.bytes_done = im->bytes_before,
		.bytes_total = im->bytes_total,
		.read = im->st.read,
		.written = gs ? gs->written : 0,
		.rejected = im->st.rejected,
		.elapsed_ns = now - im->t0_ns,
		.file = final || !im->cur ? NULL : im->cur->path,
		.indexing = indexing,
		.final = final,
	};
	if (im->reader && im->cur)
		p.bytes_done += im->cur->fmt->consumed(im->reader) - im->cur->start_consumed;
	im->cfg.progress(im->cfg.progress_arg, &p);
}

/* ---- the run ---- */

static bool cancelled(const jl_import_t *im)
{
	return im->cfg.cancel && atomic_load(im->cfg.cancel);
}

/* The file's position moves past an item (accepted or not): its record is due with the next batch. */
static void touch(jl_import_t *im, ifile_t *f)
{
	if (!f->dirty) {
		f->dirty = true;
		im->ndirty++;
	}
}

static void advance(jl_import_t *im, ifile_t *f, const jl_import_item_t *it)
{
	f->offset = it->end;
	f->pub.lines = it->end_line;
	touch(im, f);
}

/* One item: into the current batch, or into the error file. JL_OK unless the import must stop. */
static jl_rc take_item(jl_import_t *im, ifile_t *f, const jl_import_item_t *it)
{
	jl_diag_t d;
	jl_diag_init(&d, im->scratch);
	jl_rc rc;
	if (it->kind == JL_IMPORT_BUNDLE && im->cfg.bundle)
		rc = take_bundle(im, f, it, &d);
	else if (it->kind == JL_IMPORT_BUNDLE) {
		jl_diag_err(&d, "not-supported", NULL, "Bundle files are not imported by this version");
		rc = JL_EINVAL;
	} else
		rc = jl_ingest_add(im->g, it->text, &d);
	f->pub.read++;
	im->st.read++;
	if (rc == JL_OK) {
		f->accepted++;
	} else if (rc == JL_EINVAL || rc == JL_EINVALID || rc == JL_ETOOBIG) {
		f->pub.rejected++;
		im->st.rejected++;
		report(im, f, it->line, &d, "The resource was rejected");
		rc = JL_OK;
	}
	advance(im, f, it);
	jl_arena_reset(im->scratch);
	return rc;
}

/* Reads one file to its end (or until the import must stop). A file-level problem fails only the file. */
static jl_rc run_file(jl_import_t *im, ifile_t *f, jl_diag_t *d)
{
	jl_diag_t fd;
	jl_diag_init(&fd, im->a);
	/* A batch records at most MAX_DIRTY files: end it early when many small files pass by. */
	if (im->ndirty >= MAX_DIRTY) {
		jl_rc rc = jl_ingest_cut(im->g);
		if (rc)
			return rc;
	}
	jl_rc rc = f->fmt->open(f->path, f->offset, f->pub.lines, &im->reader, &fd);
	if (rc) {
		f->pub.error = fd.n ? fd.items[0].diag : "cannot open";
		goto failed;
	}
	im->cur = f;
	f->start_consumed = f->fmt->consumed(im->reader);
	im->bytes_total -= f->start_consumed;
	int64_t k = 0;
	for (;;) {
		if (cancelled(im)) {
			rc = JL_EBUSY;
			break;
		}
		jl_import_item_t it;
		jl_diag_init(&fd, im->scratch);
		rc = f->fmt->next(im->reader, &it, &fd);
		if (rc == JL_ENOTFOUND) {
			rc = JL_OK;
			f->pub.done = true;
			touch(im, f);
			break;
		}
		if (rc == JL_ETOOBIG) {
			f->pub.read++;
			f->pub.rejected++;
			im->st.read++;
			im->st.rejected++;
			report(im, f, it.line, &fd, "The line is too long");
			advance(im, f, &it);
			jl_arena_reset(im->scratch);
			continue;
		}
		if (rc) {
			f->pub.error = jl_arena_strdup(im->a, fd.n ? fd.items[0].diag : "read error");
			break;
		}
		rc = take_item(im, f, &it);
		if (rc)
			break;
		if ((++k & 255) == 0)
			progress(im, false, false);
	}
	im->bytes_before += f->fmt->consumed(im->reader) - f->start_consumed;
	f->fmt->close(im->reader);
	im->reader = NULL;
	im->cur = NULL;
	if (!f->pub.error)
		return rc;
failed:
	/* The file stops here; what was read of it stays recorded, the next run retries from there. */
	im->st.files_failed++;
	{
		jl_diag_t rd;
		jl_diag_init(&rd, im->scratch);
		jl_diag_err(&rd, "exception", NULL, "%s", f->pub.error ? f->pub.error : "cannot read");
		report(im, f, f->pub.lines + 1, &rd, "cannot read");
		jl_arena_reset(im->scratch);
	}
	jl_diag_err(d, "exception", NULL, "%s: %s", f->label, f->pub.error ? f->pub.error : "cannot read");
	return JL_OK;
}

/* Identity, duplicates and earlier progress of every file; the error file's committed size. */
static jl_rc prepare_files(jl_import_t *im, int64_t *keep, jl_diag_t *d)
{
	*keep = 0;
	for (size_t i = 0; i < im->n; i++) {
		ifile_t *f = &im->files[i];
		jl_diag_t fd;
		jl_diag_init(&fd, im->a);
		jl_rc rc = identify(im, f, &fd);
		if (rc == JL_ENOMEM)
			return rc;
		if (rc) {
			/* Gone or unreadable since it was listed: this file fails, the others go on. */
			f->pub.error = fd.n ? fd.items[0].diag : "cannot read";
			snprintf(f->key, sizeof f->key, "%s", "");
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (im->files[j].key[0] && !strcmp(im->files[j].key, f->key))
				f->pub.duplicate = true;
		if (f->pub.duplicate)
			continue;
		int64_t errors = 0;
		if (!im->cfg.restart) {
			rc = load_mark(im, f, &errors);
			jl_arena_reset(im->scratch);
			if (rc) {
				jl_diag_err(d, "exception", NULL, "cannot read the import records of the store (%s)",
					    jl_rc_name(rc));
				return rc;
			}
		}
		if (errors > *keep)
			*keep = errors;
		if (!f->pub.skipped)
			im->bytes_total += f->pub.size;
	}
	return JL_OK;
}

jl_rc jl_import_run(jl_import_t *im, jl_diag_t *d)
{
	jl_rc rc;
	int64_t keep;
	im->t0_ns = jl_mono_ns();
	if (!im->cfg.store || im->g)
		return JL_EINVAL; /* a store is needed, and an import runs once */
	rc = prepare_files(im, &keep, d);
	if (!rc)
		rc = open_errors(im, keep, d);
	if (rc)
		goto out;
	jl_ingest_cfg_t gc = {
		.store = im->cfg.store,
		.defs = im->cfg.defs,
		.batch = im->cfg.batch,
		.batch_bytes = BATCH_BYTES,
		.assume_new = true,
		.on_batch = on_batch,
		.arg = im,
	};
	rc = jl_ingest_new(&gc, &im->g);
	if (rc)
		goto out;
	for (size_t i = 0; i < im->n && !rc; i++) {
		ifile_t *f = &im->files[i];
		if (f->pub.skipped || f->pub.duplicate)
			continue;
		im->st.files++;
		if (f->pub.error) {
			im->st.files_failed++;
			jl_diag_err(d, "exception", NULL, "%s", f->pub.error);
			continue;
		}
		rc = run_file(im, f, d);
	}
	/* Whatever was read is committed with its records, also when stopping early. */
	jl_rc frc = jl_ingest_flush(im->g);
	if (!rc)
		rc = frc;
	/* The index work the store deferred for the load (staged rows merged in key order) is part of it. */
	if (!rc) {
		progress(im, false, true);
		rc = jl_store_finish_load(im->cfg.store);
	}
	if (!rc && im->errfd >= 0 && (err_write_out(im) != JL_OK || fdatasync(im->errfd) != 0))
		rc = JL_EIO;
	const jl_ingest_stats_t *gs = jl_ingest_stats(im->g);
	im->st.written = gs->written;
	im->st.retried = gs->retried;
	for (size_t i = 0; i < im->n; i++)
		if (!im->files[i].pub.duplicate)
			im->files[i].pub.written = im->files[i].accepted;
	if (rc == JL_EBUSY && cancelled(im))
		jl_diag_err(d, "exception", NULL, "the import was cancelled; what was read is committed");
	else if (rc)
		jl_diag_err(d, "exception", NULL, "the import stopped: %s; what committed before is kept",
			    jl_rc_name(rc));
	else if (im->st.files_failed)
		rc = JL_EIO;
out:
	im->st.errors_bytes = im->err_written;
	im->st.elapsed_ns = jl_mono_ns() - im->t0_ns;
	if (im->g)
		progress(im, true, false);
	return rc;
}
