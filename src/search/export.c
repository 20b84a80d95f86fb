/*
 * export — the bulk export engine (see export.h).
 *
 * One store scan (store.h jl_store_scan) reads every selected resource from
 * one snapshot, in storage order (the types interleaved, so the store reads
 * its bodies in one sequential pass); each version is assembled into its
 * JSON form straight into the write buffer of its type's current file, one
 * line each. So every type being exported has one file open, with a buffer
 * of a quarter MiB at most. A file is closed and the next one of the type's
 * series opened when the next line would take it past the size limit, so a
 * file always ends with a whole line.
 *
 * Which resources: the system level takes every live resource of the
 * types asked for. The Patient and Group levels take the Patient
 * compartment (CompartmentDefinition-patient, fhir/searchparam.h): for each
 * type of the compartment, the resources that refer, through one of the
 * type's compartment parameters, to a patient of the set — every live
 * Patient, or the live Patients a Group lists as member.entity. The set is
 * a search sub-query (a chain for "refers to", a reverse chain for "is a
 * member of"), so the store evaluates it from the reference index, as it
 * does for a chained search: nothing is gathered here.
 *
 * A version whose stored body cannot be decoded is left out and reported
 * as one OperationOutcome line in the error series; the export goes on.
 */
#include "search/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/searchparam.h"
#include "search/index.h"

#define FILE_MAX_DEFAULT ((uint64_t)1 << 30)
#define FLUSH_AT ((size_t)256 << 10)      /* write(2) in chunks of about 256 KiB, per open file */
#define BUF_MAX (((size_t)64 << 20) + FLUSH_AT * 2) /* a 64 MiB body plus what is pending */
#define DROP_EVERY ((uint64_t)8 << 20)  /* output pushed out of the page cache in 8 MiB stretches */
#define PROGRESS_EVERY 4096
#define CANCEL_EVERY 256

/* One series of files: <type>-1.ndjson, <type>-2.ndjson … */
typedef struct series {
	const char *type;      /* arena copy */
	int fd;                /* -1: no file open */
	uint32_t seq;
	bool err;              /* the error series: its files are listed in out->errors */
	size_t ix;             /* the current file's entry in out->files (or errors) */
	const char *name;      /* of the current file */
	int64_t count, bytes;  /* of the current file, including what is buffered */
	uint64_t written, dropped; /* bytes of the current file written, and dropped from the page cache */
	jl_buf_t buf;
} series_t;

typedef struct run {
	const jl_export_spec_t *spec;
	jl_arena_t *a;
	jl_diag_t *d;
	jl_export_result_t *out;
	size_t files_cap, errors_cap;
	series_t **series;     /* one per type met so far, and the error series */
	uint32_t nseries, series_cap;
	series_t *last;        /* the series of the previous row (rows of a type come in runs) */
	series_t *err;
	jl_export_progress_t prog;
	uint64_t max_bytes;
} run_t;

static const char *const OUTCOME_TYPE = "OperationOutcome";

/* ---- types ---- */

static const jl_compartment_t *patient_compartment(void)
{
	for (uint8_t i = 0; i < jl_ncompartments; i++)
		if (!strcmp(jl_compartments[i].code, "Patient"))
			return &jl_compartments[i];
	return NULL;
}

jl_rc jl_export_check_types(uint8_t level, const jl_str_t *types, uint32_t n, jl_diag_t *d)
{
	int bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		jl_str_t t = types[i];
		int shown = (int)(t.n > 64 ? 64 : t.n);
		if (!t.n || !jl_fhir_resource(t)) {
			jl_diag_err(d, "value", "_type", "\"%.*s\" is not a FHIR R4 resource type", shown, t.p);
			bad++;
			continue;
		}
		bool dup = false;
		for (uint32_t j = 0; j < i; j++)
			dup |= jl_str_eq(types[j], t);
		if (dup) {
			jl_diag_err(d, "value", "_type", "%.*s is listed twice", shown, t.p);
			bad++;
		} else if (level != JL_EXPORT_SYSTEM && !jl_compartment_rule(JL_STR("Patient"), t)) {
			jl_diag_err(d, "value", "_type",
				    "%.*s is not in the Patient compartment, so a Patient or Group export has none", shown,
				    t.p);
			bad++;
		}
	}
	return bad ? JL_EINVAL : JL_OK;
}

bool jl_export_parse_since(jl_str_t s, int64_t *us)
{
	jl_datetime_t dt;
	int64_t hi;
	if (!jl_datetime_parse(s, false, &dt) || dt.prec < JL_DT_SECOND || !dt.has_tz)
		return false;
	jl_datetime_range(&dt, us, &hi);
	return *us > 0;
}

jl_rc jl_export_split_types(jl_arena_t *a, jl_str_t list, jl_str_t **out, uint32_t *n)
{
	uint32_t k = 1;
	for (size_t i = 0; i < list.n; i++)
		k += list.p[i] == ',';
	*out = jl_arena_calloc(a, k, sizeof **out);
	*n = 0;
	if (!*out)
		return JL_ENOMEM;
	size_t from = 0;
	for (size_t i = 0; i <= list.n; i++) {
		if (i < list.n && list.p[i] != ',')
			continue;
		jl_str_t t = jl_str_trim(jl_str(list.p + from, i - from));
		if (!t.n)
			return JL_EINVAL;
		(*out)[(*n)++] = t;
		from = i + 1;
	}
	return JL_OK;
}

/* ---- which resources ---- */

/* The patients whose compartments are exported: every live Patient, or a Group's members. */
static jl_sq_query_t *patient_set(jl_arena_t *a, const jl_export_spec_t *spec)
{
	jl_sq_query_t *q = jl_arena_calloc(a, 1, sizeof *q);
	if (!q)
		return NULL;
	q->type = JL_STR("Patient");
	if (spec->level != JL_EXPORT_GROUP)
		return q;
	/* Patient?_has:Group:member:_id=<group> */
	jl_sq_query_t *g = jl_arena_calloc(a, 1, sizeof *g);
	jl_sq_term_t *t = jl_arena_calloc(a, 2, sizeof *t);
	jl_sq_cond_t *c = jl_arena_calloc(a, 2, sizeof *c);
	jl_str_t *id = jl_arena_alloc(a, sizeof *id);
	if (!g || !t || !c || !id)
		return NULL;
	*id = spec->group_id;
	t[0] = (jl_sq_term_t){.kind = JL_SQ_ID, .vs = id, .nvs = 1};
	c[0] = (jl_sq_cond_t){.terms = &t[0], .nterms = 1};
	*g = (jl_sq_query_t){.type = JL_STR("Group"), .conds = &c[0], .nconds = 1};
	t[1] = (jl_sq_term_t){.kind = JL_SQ_HAS, .k = jl_ix_key_param(JL_STR("Group"), JL_STR("member")), .sub = g};
	c[1] = (jl_sq_cond_t){.terms = &t[1], .nterms = 1};
	q->conds = &c[1];
	q->nconds = 1;
	return q;
}

/*
 * The compartment condition of one type: it refers to a patient of the set
 * by one of its compartment parameters. The Patient type itself is the set
 * (at Group level Patients linked to a member are not added: "link" would
 * make every member's other records a second hop away).
 */
static jl_rc compartment_type(jl_arena_t *a, jl_str_t type, const jl_sq_query_t *set, jl_scan_type_t *out)
{
	const jl_compartment_rule_t *rule = jl_compartment_rule(JL_STR("Patient"), type);
	*out = (jl_scan_type_t){.type = type};
	if (!rule)
		return JL_EINVAL;
	if (jl_str_eqc(type, "Patient")) {
		out->conds = set->conds;
		out->nconds = set->nconds;
		return JL_OK;
	}
	jl_sq_term_t *t = jl_arena_calloc(a, rule->nparams ? rule->nparams : 1, sizeof *t);
	jl_sq_cond_t *c = jl_arena_calloc(a, 1, sizeof *c);
	if (!t || !c)
		return JL_ENOMEM;
	uint32_t n = 0;
	for (uint8_t i = 0; i < rule->nparams; i++) {
		if (!strcmp(rule->params[i], "{def}"))
			continue;
		t[n++] = (jl_sq_term_t){.kind = JL_SQ_CHAIN, .k = jl_ix_key_param(type, jl_cstr(rule->params[i])),
					.sub = set};
	}
	*c = (jl_sq_cond_t){.terms = t, .nterms = n};
	out->conds = c;
	out->nconds = 1;
	return JL_OK;
}

/* The scan's list of types with their conditions. *n = 0 (system level, no _type): every stored type. */
static jl_rc scan_types(jl_arena_t *a, const jl_export_spec_t *spec, jl_scan_type_t **out, uint32_t *n)
{
	*out = NULL;
	*n = 0;
	if (spec->level == JL_EXPORT_SYSTEM) {
		if (!spec->ntypes)
			return JL_OK;
		jl_scan_type_t *t = jl_arena_calloc(a, spec->ntypes, sizeof *t);
		if (!t)
			return JL_ENOMEM;
		for (uint32_t i = 0; i < spec->ntypes; i++)
			t[i].type = spec->types[i];
		*out = t;
		*n = spec->ntypes;
		return JL_OK;
	}
	const jl_compartment_t *comp = patient_compartment();
	const jl_sq_query_t *set = patient_set(a, spec);
	uint32_t k = spec->ntypes ? spec->ntypes : comp ? comp->nrules : 0;
	jl_scan_type_t *t = jl_arena_calloc(a, k ? k : 1, sizeof *t);
	if (!comp || !set || !t)
		return comp ? JL_ENOMEM : JL_EINTERNAL;
	for (uint32_t i = 0; i < k; i++) {
		jl_str_t type = spec->ntypes ? spec->types[i] : jl_cstr(comp->rules[i].resource);
		jl_rc rc = compartment_type(a, type, set, &t[i]);
		if (rc)
			return rc;
	}
	*out = t;
	*n = k;
	return JL_OK;
}

/* Live resources of the types (all when n = 0): the progress denominator. */
static int64_t estimate(jl_store_t *s, jl_arena_t *a, const jl_scan_type_t *t, uint32_t n)
{
	jl_type_count_t *tc;
	size_t k;
	int64_t sum = 0;
	if (jl_store_counts(s, a, &tc, &k) != JL_OK)
		return -1;
	for (size_t i = 0; i < k; i++) {
		bool in = !n;
		for (uint32_t j = 0; j < n && !in; j++)
			in = jl_str_eqc(t[j].type, tc[i].type);
		if (in)
			sum += tc[i].live;
	}
	return sum;
}

/* ---- files ---- */

static jl_rc io_fail(run_t *r, const char *what, const char *name)
{
	jl_diag_err(r->d, "exception", NULL, "export: cannot %s %s/%s: %s", what, r->spec->dir, name, strerror(errno));
	return JL_EIO;
}

static jl_rc write_all(run_t *r, series_t *s, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(s->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return io_fail(r, "write", s->name);
		p += k;
		n -= (size_t)k;
	}
	return JL_OK;
}

static jl_rc add_file(run_t *r, series_t *s)
{
	jl_export_file_t **v = s->err ? &r->out->errors : &r->out->files;
	size_t *n = s->err ? &r->out->nerrors : &r->out->nfiles;
	size_t *cap = s->err ? &r->errors_cap : &r->files_cap;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		jl_export_file_t *nv = jl_arena_alloc(r->a, ncap * sizeof *nv);
		if (!nv)
			return JL_ENOMEM;
		if (*n)
			memcpy(nv, *v, *n * sizeof *nv);
		*v = nv;
		*cap = ncap;
	}
	s->ix = *n;
	(*v)[(*n)++] = (jl_export_file_t){.type = s->type, .name = s->name, .count = s->count, .bytes = s->bytes};
	return JL_OK;
}

static jl_rc file_open(run_t *r, series_t *s)
{
	s->seq++;
	s->name = jl_arena_printf(r->a, "%s-%u.ndjson", s->type, s->seq);
	char *path = s->name ? jl_arena_printf(r->a, "%s/%s", r->spec->dir, s->name) : NULL;
	s->count = s->bytes = 0;
	s->written = s->dropped = 0;
	/* Listed before it exists, so a caller cleaning up after a failure finds it. */
	jl_rc rc = path ? add_file(r, s) : JL_ENOMEM;
	if (rc)
		return rc;
	s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return s->fd < 0 ? io_fail(r, "create", s->name) : JL_OK;
}

/*
 * Output is written once and not read back here: every DROP_EVERY bytes the
 * previous stretch is pushed to the disk and dropped from the page cache,
 * so gigabytes of NDJSON do not evict the database pages the scan reads.
 */
static void drop_written(series_t *s)
{
	if (s->written - s->dropped < 2 * DROP_EVERY)
		return;
	off_t from = (off_t)s->dropped, len = (off_t)DROP_EVERY;
	(void)sync_file_range(s->fd, from + len, (off_t)(s->written - s->dropped) - len, SYNC_FILE_RANGE_WRITE);
	(void)sync_file_range(s->fd, from, len,
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(s->fd, from, len, POSIX_FADV_DONTNEED);
	s->dropped += DROP_EVERY;
}

/* Writes the first n buffered bytes to the current file and keeps the rest buffered. */
static jl_rc flush(run_t *r, series_t *s, size_t n)
{
	if (!n)
		return JL_OK;
	jl_rc rc = write_all(r, s, s->buf.p, n);
	if (rc)
		return rc;
	s->written += n;
	drop_written(s);
	memmove(s->buf.p, s->buf.p + n, s->buf.n - n);
	s->buf.n -= n;
	return JL_OK;
}

/* Closes the current file (its bytes already written) and records its final size. */
static jl_rc file_end(run_t *r, series_t *s)
{
	jl_rc rc = JL_OK;
	if (r->spec->sync && fsync(s->fd) != 0)
		rc = io_fail(r, "sync", s->name);
	if (close(s->fd) != 0 && !rc)
		rc = io_fail(r, "close", s->name);
	s->fd = -1;
	jl_export_file_t *f = &(s->err ? r->out->errors : r->out->files)[s->ix];
	f->count = s->count;
	f->bytes = s->bytes;
	return rc;
}

static jl_rc file_close(run_t *r, series_t *s)
{
	if (s->fd < 0)
		return JL_OK;
	jl_rc rc = flush(r, s, s->buf.n);
	jl_rc erc = file_end(r, s);
	return rc ? rc : erc;
}

/* The series of a type, opened (with its first file) on the type's first row. */
static jl_rc series_of(run_t *r, jl_str_t type, bool err, series_t **out)
{
	if (r->last && jl_str_eqc(type, r->last->type) && r->last->err == err) {
		*out = r->last;
		return JL_OK;
	}
	for (uint32_t i = 0; i < r->nseries; i++)
		if (r->series[i]->err == err && jl_str_eqc(type, r->series[i]->type)) {
			*out = r->last = r->series[i];
			return JL_OK;
		}
	if (r->nseries == r->series_cap) {
		uint32_t cap = r->series_cap ? r->series_cap * 2 : 32;
		series_t **v = jl_arena_alloc(r->a, cap * sizeof *v);
		if (!v)
			return JL_ENOMEM;
		if (r->nseries)
			memcpy(v, r->series, r->nseries * sizeof *v);
		r->series = v;
		r->series_cap = cap;
	}
	series_t *s = jl_arena_calloc(r->a, 1, sizeof *s);
	if (!s || !(s->type = jl_arena_strndup(r->a, type.p, type.n)))
		return JL_ENOMEM;
	s->fd = -1;
	s->err = err;
	jl_buf_init(&s->buf, JL_MEM_MISC, BUF_MAX);
	r->series[r->nseries++] = s;
	*out = r->last = s;
	r->prog.type = jl_cstr(s->type);
	return file_open(r, s);
}

/*
 * A line was appended to the buffer at `start`: moves to the next file of
 * the series first if the line would take the current one past the limit,
 * and writes the buffer out once it holds enough.
 */
static jl_rc series_added(run_t *r, series_t *s, size_t start)
{
	jl_rc rc;
	size_t line = s->buf.n - start;
	if (s->count && (uint64_t)s->bytes + line > r->max_bytes) {
		/* What precedes the line ends the current file; the line starts the next. */
		if ((rc = flush(r, s, start)) != JL_OK || (rc = file_end(r, s)) != JL_OK || (rc = file_open(r, s)) != JL_OK)
			return rc;
	}
	s->count++;
	s->bytes += (int64_t)line;
	return s->buf.n >= FLUSH_AT ? flush(r, s, s->buf.n) : JL_OK;
}

/* ---- the scan's callbacks ---- */

static void report(run_t *r)
{
	if (r->spec->progress)
		r->spec->progress(r->spec->progress_arg, &r->prog);
}

static jl_rc on_begin(void *arg, int64_t snapshot_us)
{
	run_t *r = arg;
	r->out->snapshot_us = snapshot_us;
	return JL_OK;
}

/* One OperationOutcome line in the error series for a resource left out. */
static jl_rc problem(run_t *r, const jl_version_t *v)
{
	series_t *s;
	jl_rc rc = series_of(r, jl_cstr(OUTCOME_TYPE), true, &s);
	if (rc)
		return rc;
	size_t start = s->buf.n;
	jl_jw_t w;
	jl_jw_init(&w, &s->buf, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, OUTCOME_TYPE);
	jl_jw_keyc(&w, "issue");
	jl_jw_arr_begin(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "severity");
	jl_jw_strc(&w, "error");
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, "exception");
	jl_jw_keyc(&w, "diagnostics");
	char msg[256];
	snprintf(msg, sizeof msg, "%.*s/%.*s version %lld is not in this export: its stored body could not be read",
		 JL_STR_FMT(v->type), JL_STR_FMT(v->id), (long long)v->ver);
	jl_jw_strc(&w, msg);
	jl_jw_obj_end(&w);
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_buf_putc(&s->buf, '\n');
	if ((rc = jl_buf_status(&s->buf)) != JL_OK)
		return rc;
	r->out->problems++;
	return series_added(r, s, start);
}

static jl_rc on_version(void *arg, const jl_version_t *v, jl_rc body_rc)
{
	run_t *r = arg;
	series_t *s;
	jl_rc rc;
	if (r->spec->cancel && (r->prog.done % CANCEL_EVERY) == 0 && atomic_load(r->spec->cancel))
		return JL_EBUSY;
	if ((rc = series_of(r, v->type, false, &s)) != JL_OK)
		return rc;
	if (body_rc)
		return problem(r, v);
	size_t start = s->buf.n;
	rc = jl_fhir_body_assemble(&s->buf, v->type, v->id, v->ver, v->updated_us, v->body, v->body_meta);
	if (rc == JL_EIO) {
		s->buf.n = start; /* a damaged body (its meta length): leave it out, say so */
		return problem(r, v);
	}
	jl_buf_putc(&s->buf, '\n');
	if (rc || (rc = jl_buf_status(&s->buf)) != JL_OK)
		return rc;
	if ((rc = series_added(r, s, start)) != JL_OK)
		return rc;
	r->out->resources++;
	if (++r->prog.done % PROGRESS_EVERY == 0) {
		r->prog.type = jl_cstr(s->type);
		report(r);
	}
	return JL_OK;
}

/* ---- the run ---- */

static jl_rc check_group(jl_store_t *s, jl_arena_t *a, jl_str_t id, jl_diag_t *d)
{
	jl_version_t g;
	jl_rc rc = jl_store_read(s, a, JL_STR("Group"), id, 0, &g);
	int shown = (int)(id.n > 64 ? 64 : id.n);
	if (rc == JL_ENOTFOUND)
		jl_diag_err(d, "not-found", NULL, "Group/%.*s is not known", shown, id.p);
	else if (!rc && g.deleted)
		jl_diag_err(d, "deleted", NULL, "Group/%.*s was deleted", shown, id.p), rc = JL_EGONE;
	else if (rc)
		jl_diag_err(d, "exception", NULL, "Group/%.*s could not be read (%s)", shown, id.p, jl_rc_name(rc));
	return rc;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Position of a file's type in the output: the order of _type, else by name. */
static int file_order(const jl_export_spec_t *spec, const jl_export_file_t *x, const jl_export_file_t *y)
{
	if (!spec->ntypes)
		return strcmp(x->type, y->type);
	int64_t rx = -1, ry = -1;
	for (uint32_t i = 0; i < spec->ntypes; i++) {
		if (jl_str_eqc(spec->types[i], x->type))
			rx = i;
		if (jl_str_eqc(spec->types[i], y->type))
			ry = i;
	}
	return (rx > ry) - (rx < ry);
}

/* Files are listed as they were opened, the types interleaved: group them by type (stable, so by number). */
static void sort_files(const jl_export_spec_t *spec, jl_export_file_t *f, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		jl_export_file_t t = f[i];
		size_t j = i;
		for (; j > 0 && file_order(spec, &f[j - 1], &t) > 0; j--)
			f[j] = f[j - 1];
		f[j] = t;
	}
}

/* Writes out and closes every open file; the first failure is returned. */
static jl_rc close_all(run_t *r)
{
	jl_rc rc = JL_OK;
	for (uint32_t i = 0; i < r->nseries; i++) {
		jl_rc k = file_close(r, r->series[i]);
		if (!rc)
			rc = k;
	}
	return rc;
}

static void dispose_all(run_t *r)
{
	for (uint32_t i = 0; i < r->nseries; i++) {
		if (r->series[i]->fd >= 0)
			close(r->series[i]->fd);
		jl_buf_dispose(&r->series[i]->buf);
	}
}

jl_rc jl_export_run(jl_store_t *s, jl_arena_t *a, const jl_export_spec_t *spec, jl_export_result_t *out,
		    jl_diag_t *d)
{
	memset(out, 0, sizeof *out);
	run_t r = {.spec = spec, .a = a, .d = d, .out = out,
		   .max_bytes = spec->max_file_bytes ? spec->max_file_bytes : FILE_MAX_DEFAULT};
	jl_scan_type_t *types;
	uint32_t ntypes;
	jl_rc rc = JL_OK;
	if (!spec->dir || spec->level < JL_EXPORT_SYSTEM || spec->level > JL_EXPORT_GROUP ||
	    (spec->level == JL_EXPORT_GROUP && !spec->group_id.n)) {
		rc = JL_EINVAL;
		jl_diag_err(d, "exception", NULL, "export: incomplete request");
		goto out;
	}
	if (spec->level == JL_EXPORT_GROUP && (rc = check_group(s, a, spec->group_id, d)) != JL_OK)
		goto out;
	if ((rc = scan_types(a, spec, &types, &ntypes)) != JL_OK) {
		jl_diag_err(d, "exception", NULL, "export: cannot prepare the query (%s)", jl_rc_name(rc));
		goto out;
	}
	r.prog.estimate = estimate(s, a, types, ntypes);
	report(&r);
	jl_scan_query_t q = {.types = types, .ntypes = ntypes, .since_us = spec->since_us, .begin = on_begin};
	rc = jl_store_scan(s, &q, on_version, &r);
	jl_rc crc = close_all(&r);
	if (!rc)
		rc = crc;
	if (rc == JL_EBUSY && spec->cancel && atomic_load(spec->cancel))
		jl_diag_err(d, "processing", NULL, "export: cancelled");
	else if (rc && !d->nerrors)
		jl_diag_err(d, "exception", NULL, "export: reading the store failed (%s)", jl_rc_name(rc));
	if (!rc && spec->sync)
		sync_dir(spec->dir);
	sort_files(spec, out->files, out->nfiles);
	report(&r);
out:
	dispose_all(&r);
	return rc;
}

/* ---- the manifest ---- */

static void manifest_files(jl_jw_t *w, const jl_export_file_t *f, size_t n, jl_str_t prefix, jl_buf_t *url)
{
	jl_jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		jl_buf_clear(url);
		jl_buf_append(url, prefix.p, prefix.n);
		jl_buf_puts(url, f[i].name);
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "type");
		jl_jw_strc(w, f[i].type);
		jl_jw_keyc(w, "url");
		jl_jw_str(w, jl_buf_str(url));
		jl_jw_keyc(w, "count");
		jl_jw_int(w, f[i].count);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

jl_rc jl_export_manifest(jl_buf_t *b, const jl_export_result_t *r, jl_str_t request, jl_str_t url_prefix)
{
	char ts[32];
	/* An empty store has no instant of its own: the time of the export stands for it. */
	jl_time_fmt_instant(r->snapshot_us ? r->snapshot_us : jl_now_us(), ts);
	jl_buf_t url;
	jl_buf_init(&url, JL_MEM_MISC, 0);
	jl_jw_t w;
	jl_jw_init(&w, b, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "transactionTime");
	jl_jw_strc(&w, ts);
	jl_jw_keyc(&w, "request");
	jl_jw_str(&w, request);
	jl_jw_keyc(&w, "requiresAccessToken");
	jl_jw_bool(&w, false);
	jl_jw_keyc(&w, "output");
	manifest_files(&w, r->files, r->nfiles, url_prefix, &url);
	jl_jw_keyc(&w, "error");
	manifest_files(&w, r->errors, r->nerrors, url_prefix, &url);
	jl_jw_obj_end(&w);
	jl_rc rc = jl_buf_status(&url);
	jl_buf_dispose(&url);
	return rc ? rc : jl_buf_status(b);
}
