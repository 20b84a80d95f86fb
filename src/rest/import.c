/*
 * import (REST) — $import jobs: kick-off (parameters, the input directory
 * rule), one background thread per running job (ingest/import.c does the
 * work), status, cancellation and the error file. Jobs are kept in a small
 * table under one mutex; a job's counters are updated by its thread through
 * the import's progress callback and read by status requests.
 *
 * Each job is also recorded in WORK/<id>.json (inputs, state, counts),
 * written atomically and durably at the kick-off and when the job ends,
 * next to its error file WORK/<id>.ndjson. Start-up adopts them: finished
 * jobs are served until they expire; a job that was running when the
 * process stopped or died runs again — the store's per-file positions make
 * it continue after the last committed batch, and its error file is cut
 * back to what those positions cover — unless its inputs are no longer
 * under the import directory, when it is reported failed with the reason.
 */
#include "rest/import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "ingest/import.h"
#include "rest/jobs.h"
#include "rest/outcome.h"

#define MAX_INPUTS 1000       /* input parameters of one kick-off */
#define STATE_MAX ((size_t)4 << 20) /* a job's state file: 1000 inputs of a few hundred bytes */
#define RETRY_BUSY_S "30"
#define ERRORS_PREFIX "/$import-errors/"

typedef struct input {
	char *url;            /* as the client wrote it */
	char *path;           /* resolved, under the import directory */
	char *type;           /* input.type, if given */
	int64_t read, written, rejected;
	char *error;          /* the input could not be read to its end */
} input_t;

typedef struct job {
	jl_job_t base;        /* first: the table holds jobs as jl_job_t (state etc. under m->mu) */
	struct jl_imports *m;
	jl_arena_t *mem;      /* everything below */
	char *request;
	char *errors_path;
	input_t *in;
	size_t nin;
	int64_t start_us;
	jl_import_progress_t prog; /* under m->mu */
	int64_t errors_bytes;
	int64_t errors_lines; /* items this job reported (the error file's lines) */
	char *state_path;     /* WORK/<id>.json */
} job_t;

struct jl_imports {
	jl_imports_cfg_t cfg;
	char *dir;            /* realpath of cfg.dir, or NULL */
	char *work;
	jl_store_t *store;
	const jl_search_defs_t *defs;
	jl_log_t *log;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	jl_jobs_t tab;
	uint32_t running;
	bool stopping;
};

void jl_imports_cfg_defaults(jl_imports_cfg_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->ttl_s = 3600;
	cfg->max_jobs = 1;
	cfg->batch = 5000;
}

/* ---- the job table ---- */

/* Frees a job's memory; its files stay (they outlive the process). */
static void job_free(job_t *j)
{
	if (!j)
		return;
	jl_arena_free(j->mem);
	jl_free(JL_MEM_MISC, j);
}

/* Removes a job's files, then frees it: a job deleted by its client, expired, or never started. */
static void job_discard(job_t *j)
{
	if (!j)
		return;
	if (j->state_path)
		unlink(j->state_path);
	if (j->errors_path)
		unlink(j->errors_path);
	job_free(j);
}

/* ---- the state file ---- */

static const char *const STATE_NAMES[] = {[JL_JOB_RUNNING] = "in-progress", [JL_JOB_DONE] = "completed",
					  [JL_JOB_FAILED] = "failed"};

/* Writes path with the bytes of b: to a temporary name, fsync'd, renamed, the directory fsync'd. */
static jl_rc write_durably(const char *dir, const char *path, const jl_buf_t *b)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return JL_ETOOBIG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	jl_rc rc = fd < 0 || write(fd, b->p, b->n) != (ssize_t)b->n || fsync(fd) != 0 ? JL_EIO : JL_OK;
	if (fd >= 0 && close(fd) != 0)
		rc = JL_EIO;
	if (!rc && rename(tmp, path) != 0)
		rc = JL_EIO;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return JL_OK;
}

/* Records a job (in state `state`) in its state file. The caller holds mu or owns the job. */
static jl_rc save_state(const jl_imports_t *m, const job_t *j, int state)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, STATE_MAX);
	jl_jw_t w;
	jl_jw_init(&w, &b, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "id");
	jl_jw_strc(&w, j->base.id);
	jl_jw_keyc(&w, "state");
	jl_jw_strc(&w, STATE_NAMES[state]);
	jl_jw_keyc(&w, "request");
	jl_jw_strc(&w, j->request);
	jl_jw_keyc(&w, "start");
	jl_jw_int(&w, j->start_us);
	jl_jw_keyc(&w, "ended");
	jl_jw_int(&w, state == JL_JOB_RUNNING ? 0 : j->base.ended_us);
	if (state == JL_JOB_FAILED) {
		jl_jw_keyc(&w, "message");
		jl_jw_strc(&w, j->base.message ? j->base.message : "failed");
	}
	jl_jw_keyc(&w, "errorsBytes");
	jl_jw_int(&w, j->errors_bytes);
	jl_jw_keyc(&w, "errorsLines");
	jl_jw_int(&w, j->errors_lines);
	jl_jw_keyc(&w, "input");
	jl_jw_arr_begin(&w);
	for (size_t i = 0; i < j->nin; i++) {
		const input_t *in = &j->in[i];
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "url");
		jl_jw_strc(&w, in->url);
		jl_jw_keyc(&w, "path");
		jl_jw_strc(&w, in->path);
		if (in->type) {
			jl_jw_keyc(&w, "type");
			jl_jw_strc(&w, in->type);
		}
		jl_jw_keyc(&w, "read");
		jl_jw_int(&w, in->read);
		jl_jw_keyc(&w, "written");
		jl_jw_int(&w, in->written);
		jl_jw_keyc(&w, "rejected");
		jl_jw_int(&w, in->rejected);
		if (in->error) {
			jl_jw_keyc(&w, "error");
			jl_jw_strc(&w, in->error);
		}
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_rc rc = jl_buf_status(&b);
	if (!rc)
		rc = write_durably(m->work, j->state_path, &b);
	if (rc && m->log)
		jl_log_msg(m->log, JL_LOG_ERROR, "import %s: cannot record the job state (%s)", j->base.id, jl_rc_name(rc));
	jl_buf_dispose(&b);
	return rc;
}

/* The job of a table entry: job_t starts with its jl_job_t. */
static job_t *job_of(jl_job_t *j)
{
	return (job_t *)j;
}

static job_t *find_locked(jl_imports_t *m, jl_str_t id)
{
	return job_of(jl_jobs_find_locked(&m->tab, id));
}

/* Finished jobs older than the ttl go (with their error files). */
static void sweep(jl_imports_t *m)
{
	jl_job_t *gone[JL_JOBS_MAX];
	uint32_t n = jl_jobs_take_expired(&m->tab, gone);
	for (uint32_t i = 0; i < n; i++)
		job_discard(job_of(gone[i]));
}

static const jl_job_kind_t import_kind;
static void adopt_all(jl_imports_t *m);

jl_rc jl_imports_start(const jl_imports_cfg_t *cfg, jl_store_t *store, const jl_search_defs_t *defs, jl_log_t *log,
		       jl_imports_t **out, jl_diag_t *d)
{
	*out = NULL;
	jl_imports_t *m = jl_calloc(JL_MEM_MISC, 1, sizeof *m);
	if (!m)
		return JL_ENOMEM;
	m->cfg = *cfg;
	if (!m->cfg.ttl_s)
		m->cfg.ttl_s = 3600;
	if (!m->cfg.max_jobs)
		m->cfg.max_jobs = 1;
	m->store = store;
	m->defs = defs;
	jl_jobs_init(&m->tab, &import_kind, &m->mu, m->cfg.ttl_s, m);
	m->log = log;
	jl_rc rc = JL_OK;
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		jl_free(JL_MEM_MISC, m);
		return JL_ENOMEM;
	}
	if (pthread_cond_init(&m->cv, NULL) != 0) {
		pthread_mutex_destroy(&m->mu);
		jl_free(JL_MEM_MISC, m);
		return JL_ENOMEM;
	}
	if (cfg->dir) {
		char real[PATH_MAX];
		struct stat sb;
		if (!realpath(cfg->dir, real) || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			jl_diag_err(d, "exception", NULL, "--import-dir %s is not a directory", cfg->dir);
			rc = JL_EINVAL;
			goto out;
		}
		m->dir = jl_strndup(JL_MEM_MISC, real, strlen(real));
	}
	m->work = cfg->work ? jl_strndup(JL_MEM_MISC, cfg->work, strlen(cfg->work)) : NULL;
	if ((cfg->dir && !m->dir) || !m->work) {
		rc = cfg->work ? JL_ENOMEM : JL_EINVAL;
		goto out;
	}
	if (mkdir(m->work, 0700) != 0 && errno != EEXIST) {
		jl_diag_err(d, "exception", NULL, "cannot create %s: %s", m->work, strerror(errno));
		rc = JL_EIO;
		goto out;
	}
	adopt_all(m);
out:
	if (rc) {
		jl_imports_free(m);
		return rc;
	}
	*out = m;
	return JL_OK;
}

void jl_imports_stop(jl_imports_t *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = true;
	for (uint32_t i = 0; i < m->tab.n; i++)
		if (m->tab.jobs[i]->state == JL_JOB_RUNNING)
			atomic_store(&m->tab.jobs[i]->cancel, true);
	while (m->running)
		pthread_cond_wait(&m->cv, &m->mu);
	pthread_mutex_unlock(&m->mu);
}

void jl_imports_free(jl_imports_t *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->tab.n; i++)
		job_free(job_of(m->tab.jobs[i]));
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	jl_free(JL_MEM_MISC, m->dir);
	jl_free(JL_MEM_MISC, m->work);
	jl_free(JL_MEM_MISC, m);
}

/* ---- the background run ---- */

static void on_progress(void *arg, const jl_import_progress_t *p)
{
	job_t *j = arg;
	pthread_mutex_lock(&j->m->mu);
	j->prog = *p;
	j->prog.file = NULL; /* the import's string: not kept past the call */
	pthread_mutex_unlock(&j->m->mu);
}

/*
 * Records how a job ended: counts per input, the error file, the state —
 * on disk first, then for the status URL. A job the server's stop
 * interrupted stays "in-progress" on disk, so the next start resumes it.
 */
static void finish_job(job_t *j, jl_import_t *im, jl_rc rc, const jl_diag_t *d)
{
	jl_imports_t *m = j->m;
	bool stopped = rc && (!im || jl_import_stats(im)->files_failed == 0);
	pthread_mutex_lock(&m->mu);
	bool deleted = j->base.deleted; /* a later DELETE only removes what is saved below */
	bool interrupted = m->stopping && !deleted && atomic_load(&j->base.cancel);
	pthread_mutex_unlock(&m->mu);
	/* The counts are the inputs' totals over every run of the job (a resumed one included). */
	j->errors_lines = 0;
	for (size_t i = 0; im && i < j->nin && i < jl_import_nfiles(im); i++) {
		/* Inputs and import files correspond one to one: each input is one file. */
		const jl_import_file_t *f = jl_import_file(im, i);
		j->in[i].read = f->read;
		j->in[i].written = f->written;
		j->in[i].rejected = f->rejected;
		j->errors_lines += f->rejected + (f->error != NULL);
		if (f->error)
			j->in[i].error = jl_arena_strdup(j->mem, f->error);
		else if (!f->done && !f->skipped && !f->duplicate)
			stopped = true;
	}
	if (im) {
		j->errors_bytes = jl_import_stats(im)->errors_bytes;
		j->prog.written = jl_import_stats(im)->written;
	}
	int state = JL_JOB_DONE;
	const char *message = NULL;
	if (stopped || !im) {
		state = JL_JOB_FAILED;
		message = jl_arena_printf(j->mem, "%s",
					  interrupted ? "The server stopped while this import ran; it resumes when the server restarts"
					  : atomic_load(&j->base.cancel) ? "The import was cancelled; what was read is committed"
					  : d->n			 ? d->items[d->n - 1].diag
									 : "The import stopped");
	}
	j->base.ended_us = jl_now_us();
	j->base.message = message;
	if (!interrupted && !deleted && save_state(m, j, state) != JL_OK && state == JL_JOB_DONE) {
		/* Unrecorded, a restart would run it again: harmless (it resumes as complete), but say so. */
		state = JL_JOB_FAILED;
		j->base.message = "The import committed, but its state could not be recorded on disk";
	}
	pthread_mutex_lock(&m->mu);
	j->base.state = state;
	job_t *gone = NULL;
	if (j->base.deleted) {
		jl_jobs_remove_locked(&m->tab, &j->base);
		gone = j;
	}
	m->running--;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	job_discard(gone);
}

static void *run_job(void *arg)
{
	job_t *j = arg;
	jl_imports_t *m = j->m;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_import_t *im = NULL;
	jl_import_cfg_t cfg = {
		.store = m->store,
		.defs = m->defs,
		.batch = m->cfg.batch,
		.errors_path = j->errors_path,
		.errors_format = JL_IMPORT_ERR_OUTCOME,
		.progress = on_progress,
		.progress_arg = j,
		.cancel = &j->base.cancel,
	};
	jl_rc rc = a ? jl_import_new(&cfg, &im) : JL_ENOMEM;
	for (size_t i = 0; !rc && i < j->nin; i++)
		rc = jl_import_add_file(im, j->in[i].path, j->in[i].url, &d);
	if (!rc)
		rc = jl_import_run(im, &d);
	if (rc && m->log)
		jl_log_msg(m->log, JL_LOG_WARN, "import %s: %s", j->base.id, d.n ? d.items[d.n - 1].diag : jl_rc_name(rc));
	finish_job(j, im, rc, &d);
	jl_import_free(im);
	jl_arena_free(a);
	return NULL;
}

/* ---- kick-off ---- */

/* A parameter's value of any primitive kind, as text. */
static jl_str_t pvalue(const jl_json_t *p)
{
	static const char *const kinds[] = {"valueUri", "valueUrl", "valueCode", "valueString", "valueCanonical"};
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		const jl_json_t *v = jl_json_get(p, kinds[i]);
		if (jl_json_is(v, JL_JSON_STRING))
			return jl_json_str(v);
	}
	return JL_STR_NULL;
}

/*
 * An input URL to a path under the import directory: "file:///abs/path",
 * "/abs/path" or a path relative to the directory. The resolved path (no
 * symbolic link, no "..") must lie inside the directory and be a file this
 * import reads, or a directory of such files. NULL with a reason otherwise.
 */
static char *resolve(jl_imports_t *m, jl_arena_t *a, jl_str_t url, const char **why)
{
	*why = NULL;
	if (!m->dir) {
		*why = "this server reads no input files (it was started without --import-dir)";
		return NULL;
	}
	jl_str_t p = url;
	if (jl_str_starts(p, "file://")) {
		p.p += 7;
		p.n -= 7;
		if (!p.n || p.p[0] != '/') {
			*why = "a file URL must be file:///absolute/path";
			return NULL;
		}
	} else if (jl_str_chr(p, ':') && !jl_str_chr(jl_str(p.p, (size_t)(jl_str_chr(p, ':') - p.p)), '/')) {
		*why = "only file paths and file:// URLs are read (no http, s3 …)";
		return NULL;
	}
	if (!p.n || p.n >= PATH_MAX || memchr(p.p, 0, p.n)) {
		*why = "the path is empty or too long";
		return NULL;
	}
	char *joined = p.p[0] == '/' ? jl_arena_strndup(a, p.p, p.n)
				     : jl_arena_printf(a, "%s/%.*s", m->dir, JL_STR_FMT(p));
	char real[PATH_MAX];
	if (!joined || !realpath(joined, real)) {
		*why = "no such file";
		return NULL;
	}
	size_t dn = strlen(m->dir);
	if (strncmp(real, m->dir, dn) != 0 || (real[dn] != '/' && real[dn] != 0)) {
		*why = "the file is not under the server's import directory";
		return NULL;
	}
	struct stat sb;
	if (stat(real, &sb) != 0 || (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))) {
		*why = "not a file or directory";
		return NULL;
	}
	if (S_ISREG(sb.st_mode) && !jl_import_format_for(real)) {
		*why = "not a format this import reads (.ndjson, .ndjson.gz, .jsonl, .jsonl.gz)";
		return NULL;
	}
	return jl_arena_strdup(a, real);
}

typedef struct kick {
	input_t in[MAX_INPUTS];
	size_t nin;
} kick_t;

/* Reads the Parameters: inputFormat, input (type, url), and the accepted extras. Problems go to d. */
static void read_params(jl_imports_t *m, jl_arena_t *a, const jl_json_t *res, kick_t *k, jl_diag_t *d)
{
	const jl_json_t *params = jl_json_get(res, "parameter");
	for (uint32_t i = 0; jl_json_is(params, JL_JSON_ARRAY) && i < params->n; i++) {
		const jl_json_t *p = &params->u.a[i];
		jl_str_t name = jl_json_str(jl_json_get(p, "name"));
		char *where = jl_arena_printf(a, "Parameters.parameter[%u]", i);
		if (jl_str_eqc(name, "inputFormat")) {
			jl_str_t v = pvalue(p);
			if (!jl_str_eqc(v, "application/fhir+ndjson") && !jl_str_eqc(v, "application/ndjson") &&
			    !jl_str_eqc(v, "ndjson"))
				jl_diag_err(d, "not-supported", where,
					    "inputFormat \"%.*s\" is not read: only application/fhir+ndjson",
					    (int)(v.n > 64 ? 64 : v.n), v.p);
		} else if (jl_str_eqc(name, "storageDetail")) {
			const jl_json_t *parts = jl_json_get(p, "part");
			for (uint32_t j = 0; jl_json_is(parts, JL_JSON_ARRAY) && j < parts->n; j++) {
				jl_str_t v = pvalue(&parts->u.a[j]);
				if (jl_str_eqc(jl_json_str(jl_json_get(&parts->u.a[j], "name")), "type") &&
				    !jl_str_eqc(v, "file"))
					jl_diag_err(d, "not-supported", where,
						    "storageDetail type \"%.*s\" is not supported: inputs are files on the "
						    "server (type file)",
						    (int)(v.n > 32 ? 32 : v.n), v.p);
			}
		} else if (jl_str_eqc(name, "inputSource") || jl_str_eqc(name, "mode")) {
			/* informational: where the data came from, initial or incremental load */
		} else if (jl_str_eqc(name, "input")) {
			if (k->nin == MAX_INPUTS) {
				jl_diag_err(d, "too-costly", where, "At most %d inputs per $import", MAX_INPUTS);
				continue;
			}
			input_t *in = &k->in[k->nin];
			memset(in, 0, sizeof *in);
			const jl_json_t *parts = jl_json_get(p, "part");
			jl_str_t url = JL_STR_NULL, type = JL_STR_NULL;
			uint32_t url_at = 0;
			for (uint32_t j = 0; jl_json_is(parts, JL_JSON_ARRAY) && j < parts->n; j++) {
				jl_str_t pn = jl_json_str(jl_json_get(&parts->u.a[j], "name"));
				if (jl_str_eqc(pn, "url")) {
					url = pvalue(&parts->u.a[j]);
					url_at = j;
				} else if (jl_str_eqc(pn, "type")) {
					type = pvalue(&parts->u.a[j]);
				}
			}
			if (type.n && !jl_fhir_resource(type)) {
				jl_diag_err(d, "value", where, "input type \"%.*s\" is not a FHIR R4 resource type",
					    (int)(type.n > 64 ? 64 : type.n), type.p);
				continue;
			}
			if (!url.n) {
				jl_diag_err(d, "required", where, "Each input needs a url part (a file under the import directory)");
				continue;
			}
			const char *why;
			char *path = resolve(m, a, url, &why);
			if (!path) {
				char *at = jl_arena_printf(a, "Parameters.parameter[%u].part[%u]", i, url_at);
				jl_diag_err(d, "value", at, "input url \"%.*s\" is refused: %s", (int)(url.n > 200 ? 200 : url.n),
					    url.p, why);
				continue;
			}
			in->url = jl_arena_strndup(a, url.p, url.n);
			in->path = path;
			in->type = type.n ? jl_arena_strndup(a, type.p, type.n) : NULL;
			k->nin++;
		} else {
			jl_diag_err(d, "not-supported", where, "Parameter \"%.*s\" is not supported by $import",
				    (int)(name.n > 64 ? 64 : name.n), name.p);
		}
	}
	if (!k->nin && !d->nerrors)
		jl_diag_err(d, "required", "Parameters.parameter", "$import needs at least one input (with a url part)");
}

/* A directory input stands for its files; each becomes one input so that results are per file. */
static jl_rc expand(jl_arena_t *a, kick_t *k, input_t **out, size_t *n, jl_diag_t *d)
{
	size_t cap = 0;
	*n = 0;
	*out = NULL;
	for (size_t i = 0; i < k->nin; i++) {
		jl_import_cfg_t cfg = {0};
		jl_import_t *im;
		if (jl_import_new(&cfg, &im) != JL_OK)
			return JL_ENOMEM;
		jl_rc rc = jl_import_add_path(im, k->in[i].path, d);
		size_t nf = jl_import_nfiles(im);
		for (size_t f = 0; !rc && f < nf; f++) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				input_t *v = jl_arena_alloc(a, cap * sizeof *v);
				if (!v) {
					rc = JL_ENOMEM;
					break;
				}
				if (*n)
					memcpy(v, *out, *n * sizeof *v);
				*out = v;
			}
			input_t *in = &(*out)[(*n)++];
			*in = k->in[i];
			const char *path = jl_import_file(im, f)->path;
			in->path = jl_arena_strdup(a, path);
			if (nf > 1 || strcmp(path, k->in[i].path) != 0)
				in->url = jl_arena_printf(a, "%s%s%s", k->in[i].url,
							  k->in[i].url[strlen(k->in[i].url) - 1] == '/' ? "" : "/",
							  strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
			if (!in->path || !in->url)
				rc = JL_ENOMEM;
		}
		jl_import_free(im);
		if (rc)
			return rc;
	}
	return JL_OK;
}

/* A job with room for nin inputs and its file names; id NULL: a new one. */
static job_t *job_make(jl_imports_t *m, const char *id, size_t nin)
{
	job_t *j = jl_calloc(JL_MEM_MISC, 1, sizeof *j);
	if (!j)
		return NULL;
	j->m = m;
	j->mem = jl_arena_new(0, 0);
	if (id)
		snprintf(j->base.id, sizeof j->base.id, "%s", id);
	else
		jl_jobs_new_id(j->base.id);
	j->in = j->mem ? jl_arena_calloc(j->mem, nin ? nin : 1, sizeof *j->in) : NULL;
	j->nin = nin;
	j->errors_path = j->in ? jl_arena_printf(j->mem, "%s/%s.ndjson", m->work, j->base.id) : NULL;
	j->state_path = j->in ? jl_arena_printf(j->mem, "%s/%s.json", m->work, j->base.id) : NULL;
	if (!j->errors_path || !j->state_path) {
		j->errors_path = j->state_path = NULL;
		job_free(j);
		return NULL;
	}
	return j;
}

/* The inputs a kick-off's Parameters name, each directory expanded to its files; problems in d. */
static void inputs_of(jl_imports_t *m, jl_arena_t *a, const jl_json_t *res, input_t **in, size_t *nin, jl_diag_t *d)
{
	*in = NULL;
	*nin = 0;
	kick_t *k = jl_arena_alloc(a, sizeof *k);
	if (!k) {
		jl_diag_err(d, "exception", NULL, "Out of memory");
		return;
	}
	k->nin = 0;
	read_params(m, a, res, k, d);
	if (!d->nerrors && expand(a, k, in, nin, d) != JL_OK && !d->nerrors)
		jl_diag_err(d, "exception", NULL, "The inputs could not be listed");
	if (!d->nerrors && !*nin)
		jl_diag_err(d, "required", "Parameters.parameter", "The inputs name no .ndjson, .ndjson.gz or .jsonl file");
}

void jl__import_params(jl_imports_t *m, jl_arena_t *a, jl_str_t body, size_t *ninputs, jl_diag_t *d)
{
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {0};
	input_t *in;
	*ninputs = 0;
	if (jl_json_parse(a, body.p, body.n, &o, &res, &e) != JL_OK) {
		jl_diag_err(d, "structure", NULL, "The body is not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return;
	}
	if (res->type != JL_JSON_OBJECT || !jl_str_eqc(jl_json_str(jl_json_get(res, "resourceType")), "Parameters")) {
		jl_diag_err(d, "structure", "resourceType", "$import takes a Parameters resource");
		return;
	}
	inputs_of(m, a, res, &in, ninputs, d);
}

static job_t *job_new(jl_imports_t *m, jl_http_req_t *req, const input_t *in, size_t nin)
{
	job_t *j = job_make(m, NULL, nin);
	if (!j)
		return NULL;
	bool ok = true;
	for (size_t i = 0; i < nin; i++) {
		j->in[i].url = jl_arena_strdup(j->mem, in[i].url);
		j->in[i].path = jl_arena_strdup(j->mem, in[i].path);
		j->in[i].type = in[i].type ? jl_arena_strdup(j->mem, in[i].type) : NULL;
		ok = ok && j->in[i].url && j->in[i].path && (!in[i].type || j->in[i].type);
	}
	j->start_us = jl_now_us();
	jl_str_t path = jl_str(req->path.p + 5, req->path.n - 5); /* after /fhir */
	j->request = jl_arena_printf(j->mem, "%.*s%.*s", JL_STR_FMT(req->base), JL_STR_FMT(path));
	if (!ok || !j->request) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* Starts j's thread (the caller holds mu, or is start-up): RUNNING and counted. False: no thread. */
static bool start_locked(jl_imports_t *m, job_t *j)
{
	pthread_t th;
	pthread_attr_t attr;
	bool started = pthread_attr_init(&attr) == 0;
	if (started) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		j->base.state = JL_JOB_RUNNING;
		started = pthread_create(&th, &attr, run_job, j) == 0;
		pthread_attr_destroy(&attr);
	}
	if (started)
		m->running++;
	return started;
}

/* ---- start-up: the jobs a previous run left ---- */

/* A state file's integer member (written by jl_jw_int); false when missing or not one. */
static bool get_i64(const jl_json_t *v, const char *key, int64_t *out)
{
	return jl_str_to_i64(jl_json_str(jl_json_get(v, key)), out);
}

/* A state file's string member, copied into the job's memory (NULL when missing). */
static char *get_str(job_t *j, const jl_json_t *v, const char *key)
{
	const jl_json_t *s = jl_json_get(v, key);
	if (!jl_json_is(s, JL_JSON_STRING))
		return NULL;
	jl_str_t t = jl_json_str(s);
	return jl_arena_strndup(j->mem, t.p, t.n);
}

/* Reads WORK/<id>.json into a job (state as recorded). JL_EINVAL: not a state file this program wrote. */
static jl_rc load_state(jl_imports_t *m, const char *id, job_t **out)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.json", m->work, id);
	*out = NULL;
	jl_arena_t *a = jl_arena_new(0, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	jl_json_t *v = NULL;
	jl_json_err_t e;
	jl_json_opts_t o = {0};
	job_t *j = NULL;
	jl_rc rc = JL_EINVAL;
	if (!a || fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > STATE_MAX ||
	    !(text = jl_arena_alloc_bytes(a, (size_t)st.st_size)) || read(fd, text, (size_t)st.st_size) != st.st_size ||
	    jl_json_parse(a, text, (size_t)st.st_size, &o, &v, &e) != JL_OK)
		goto out;
	const jl_json_t *inputs = jl_json_get(v, "input");
	if (!jl_json_is(inputs, JL_JSON_ARRAY) || !inputs->n || inputs->n > 1u << 20 ||
	    !(j = job_make(m, id, inputs->n)))
		goto out;
	jl_str_t state = jl_json_str(jl_json_get(v, "state"));
	j->base.state = jl_str_eqc(state, "completed") ? JL_JOB_DONE
			: jl_str_eqc(state, "failed")	 ? JL_JOB_FAILED
			: jl_str_eqc(state, "in-progress") ? JL_JOB_RUNNING
							   : 0;
	j->request = get_str(j, v, "request");
	j->base.message = get_str(j, v, "message");
	if (!j->base.state || !j->request || !get_i64(v, "start", &j->start_us) || !get_i64(v, "ended", &j->base.ended_us) ||
	    !get_i64(v, "errorsBytes", &j->errors_bytes) || !get_i64(v, "errorsLines", &j->errors_lines))
		goto out;
	for (uint32_t i = 0; i < inputs->n; i++) {
		const jl_json_t *in = &inputs->u.a[i];
		input_t *t = &j->in[i];
		t->url = get_str(j, in, "url");
		t->path = get_str(j, in, "path");
		t->type = get_str(j, in, "type");
		t->error = get_str(j, in, "error");
		if (!t->url || !t->path || (t->type && !jl_fhir_resource(jl_cstr(t->type))) || !get_i64(in, "read", &t->read) ||
		    !get_i64(in, "written", &t->written) || !get_i64(in, "rejected", &t->rejected))
			goto out;
	}
	*out = j;
	j = NULL;
	rc = JL_OK;
out:
	if (fd >= 0)
		close(fd);
	job_free(j);
	jl_arena_free(a);
	return rc;
}

/* NULL when every input of j is still a file under the import directory; else the first that is not. */
static const char *gone_input(const jl_imports_t *m, const job_t *j)
{
	size_t dn = m->dir ? strlen(m->dir) : 0;
	for (size_t i = 0; i < j->nin; i++) {
		char real[PATH_MAX];
		struct stat sb;
		if (!m->dir || !realpath(j->in[i].path, real) || strncmp(real, m->dir, dn) != 0 || real[dn] != '/' ||
		    stat(real, &sb) != 0 || !S_ISREG(sb.st_mode))
			return j->in[i].url;
	}
	return NULL;
}

/*
 * An interrupted job: runs again (the store's positions make it resume
 * after what committed), or fails with the reason when it cannot.
 */
static void resume(jl_imports_t *m, job_t *j)
{
	const char *gone = gone_input(m, j);
	if (!gone && m->running < m->cfg.max_jobs && start_locked(m, j)) {
		if (m->log)
			jl_log_msg(m->log, JL_LOG_INFO, "import %s: interrupted by a restart; resuming", j->base.id);
		return;
	}
	j->base.state = JL_JOB_FAILED;
	j->base.ended_us = jl_now_us();
	j->base.message =
		gone ? jl_arena_printf(j->mem,
				       "The server restarted while this import ran, and input \"%s\" is no longer a file "
				       "under its import directory; what was read is committed, kick off again to go on",
				       gone)
		     : "The server restarted while this import ran, and another import resumed first; what was read is "
		       "committed, kick off again to go on";
	(void)save_state(m, j, JL_JOB_FAILED);
	if (m->log)
		jl_log_msg(m->log, JL_LOG_WARN, "import %s: interrupted by a restart; cannot resume (%s)", j->base.id,
			   gone ? "an input is gone" : "another import runs");
}

/* Whether name is "<job id><suffix>"; the id is copied out. */
static bool job_file(const char *name, const char *suffix, char id[33])
{
	size_t n = strlen(name), k = strlen(suffix);
	if (n != 32 + k || strcmp(name + 32, suffix) != 0)
		return false;
	memcpy(id, name, 32);
	id[32] = 0;
	return jl_jobs_is_id(id);
}

/*
 * Adopts the state files of WORK: finished jobs are served until they
 * expire, interrupted ones resume. Files of no usable job (an unreadable
 * state file, an error file without one, a temporary file) are removed.
 */
static void adopt_all(jl_imports_t *m)
{
	DIR *dir = opendir(m->work);
	struct dirent *e;
	char id[33], p[PATH_MAX];
	job_t *resumed[JL_JOBS_MAX];
	uint32_t nres = 0;
	while (dir && (e = readdir(dir)) != NULL) {
		job_t *j = NULL;
		if (!job_file(e->d_name, ".json", id))
			continue;
		if (m->tab.n < JL_JOBS_MAX && load_state(m, id, &j) == JL_OK) {
			(void)jl_jobs_add_locked(&m->tab, &j->base);
			if (j->base.state == JL_JOB_RUNNING)
				resumed[nres++] = j;
			continue;
		}
		if (m->log)
			jl_log_msg(m->log, JL_LOG_WARN, "import %s: no usable job state; its files are removed", id);
		snprintf(p, sizeof p, "%s/%s.json", m->work, id);
		unlink(p);
	}
	if (dir)
		rewinddir(dir);
	while (dir && (e = readdir(dir)) != NULL) {
		bool known = (job_file(e->d_name, ".ndjson", id) || job_file(e->d_name, ".json", id)) &&
			     jl_jobs_find_locked(&m->tab, jl_cstr(id));
		size_t n = strlen(e->d_name);
		bool ours = (n > 7 && !strcmp(e->d_name + n - 7, ".ndjson")) || (n > 9 && !strcmp(e->d_name + n - 9, ".json.tmp")) ||
			    job_file(e->d_name, ".json", id);
		if (ours && !known && snprintf(p, sizeof p, "%s/%s", m->work, e->d_name) < (int)sizeof p)
			unlink(p);
	}
	if (dir)
		closedir(dir);
	for (uint32_t i = 0; i < nres; i++)
		resume(m, resumed[i]);
}

void jl__api_import(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out)
{
	jl_imports_t *m = api->imports;
	jl_arena_t *a = req->ctx->arena;
	if (!m || atomic_load(&api->draining)) {
		jl_jobs_refuse(req, resp, out, 503, RETRY_BUSY_S, m ? "The server is stopping; try again after it restarts" : "Bulk import is not enabled");
		return;
	}
	sweep(m);
	const char *pref = jl_http_header(req, "Prefer");
	if (!pref || !jl_jobs_prefers(pref, "respond-async")) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL, "$import runs asynchronously: send the header \"Prefer: respond-async\"");
		return;
	}
	jl_target_t t = {.type = jl_fhir_resource(JL_STR("Parameters")), .type_name = JL_STR("Parameters")};
	jl_json_t *res;
	if (jl__api_parse_resource(api, req, resp, out, &t, &res) != JL_OK)
		return; /* answered: 400, 415 or 422 */
	jl_diag_t d;
	jl_diag_init(&d, a);
	input_t *in = NULL;
	size_t nin = 0;
	inputs_of(m, a, res, &in, &nin, &d);
	if (d.nerrors) {
		jl_rest_outcome(resp, 400, &d, out->pretty);
		return;
	}
	job_t *j = job_new(m, req, in, nin);
	if (!j) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	/* Recorded before it runs: a restart from here on resumes it. */
	if (save_state(m, j, JL_JOB_RUNNING) != JL_OK) {
		job_discard(j);
		jl__api_fail(req, resp, out, JL_EIO, NULL, "The import could not be started: its state cannot be written");
		return;
	}
	pthread_mutex_lock(&m->mu);
	const char *full = m->stopping		       ? "The server is stopping; try again after it restarts"
			   : m->running >= m->cfg.max_jobs ? "An import is running; try again when it has finished"
			   : m->tab.n == JL_JOBS_MAX	       ? "Too many finished imports are kept; delete some (DELETE their status URL)"
							       : NULL;
	if (!full) {
		/* In the table before its thread can end (finish_job looks for it there when deleted). */
		(void)jl_jobs_add_locked(&m->tab, &j->base);
		if (!start_locked(m, j)) {
			jl_jobs_remove_locked(&m->tab, &j->base);
			full = "The import could not be started (no thread)";
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (full) {
		job_discard(j);
		jl_jobs_refuse(req, resp, out, m->stopping ? 503 : 429, RETRY_BUSY_S, full);
		return;
	}
	char *loc = jl_arena_printf(a, "%.*s/$import-poll-status?_jobId=%s", JL_STR_FMT(req->base), j->base.id);
	jl_diag_add(&d, JL_SEV_INFO, "informational", NULL, "Import %s accepted (%zu input file%s); poll %s", j->base.id, nin,
		    nin == 1 ? "" : "s", loc ? loc : "");
	jl_rest_outcome(resp, 202, &d, out->pretty);
	if (loc)
		jl_http_set_header(resp, a, "Content-Location", jl_cstr(loc));
}

/* ---- status ---- */

static char *progress(jl_http_req_t *req, const jl_job_t *base)
{
	const jl_import_progress_t *p = &((const job_t *)base)->prog;
	int pct = p->bytes_total > 0 ? (int)(p->bytes_done * 100 / p->bytes_total) : 0;
	return jl_arena_printf(req->ctx->arena, "importing: %d%% (%lld resources read, %lld written, %lld rejected)",
			       pct > 99 ? 99 : pct, (long long)p->read, (long long)p->written, (long long)p->rejected);
}

static void answer_done(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_job_t *base)
{
	const job_t *j = (const job_t *)base;
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, 0);
	char ts[40];
	jl_time_fmt_instant(j->start_us, ts);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "transactionTime");
	jl_jw_strc(&w, ts);
	jl_jw_keyc(&w, "request");
	jl_jw_strc(&w, j->request);
	jl_jw_keyc(&w, "requiresAccessToken");
	jl_jw_bool(&w, false);
	jl_jw_keyc(&w, "output");
	jl_jw_arr_begin(&w);
	for (size_t i = 0; i < j->nin; i++) {
		const input_t *in = &j->in[i];
		jl_jw_obj_begin(&w);
		if (in->type) {
			jl_jw_keyc(&w, "type");
			jl_jw_strc(&w, in->type);
		}
		jl_jw_keyc(&w, "inputUrl");
		jl_jw_strc(&w, in->url);
		jl_jw_keyc(&w, "count");
		jl_jw_int(&w, in->written);
		jl_jw_keyc(&w, "read");
		jl_jw_int(&w, in->read);
		jl_jw_keyc(&w, "rejected");
		jl_jw_int(&w, in->rejected);
		if (in->error) {
			jl_jw_keyc(&w, "failed");
			jl_jw_strc(&w, in->error);
		}
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_keyc(&w, "error");
	jl_jw_arr_begin(&w);
	if (j->errors_bytes) {
		char *url = jl_arena_printf(req->ctx->arena, "%.*s" ERRORS_PREFIX "%s.ndjson", JL_STR_FMT(req->base), j->base.id);
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "type");
		jl_jw_strc(&w, "OperationOutcome");
		jl_jw_keyc(&w, "url");
		jl_jw_strc(&w, url ? url : "");
		jl_jw_keyc(&w, "count");
		jl_jw_int(&w, j->errors_lines);
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_jobs_expires(t, req, resp, j->base.ended_us);
	resp->status = 200;
	resp->content_type = "application/json; charset=utf-8";
}

void jl__api_import_status(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out)
{
	jl_imports_t *m = api->imports;
	const jl_str_t *id = jl_http_param(req, "_jobId");
	if (!m || !id || !id->n) {
		jl__api_fail(req, resp, out, m ? JL_EINVAL : JL_ENOTFOUND, m ? "_jobId" : NULL,
			     m ? "The status URL needs _jobId (as given in Content-Location)" : "Bulk import is not enabled");
		return;
	}
	sweep(m);
	jl_jobs_status(&m->tab, req, resp, out, *id);
}

static void discard(jl_jobs_t *t, jl_job_t *j)
{
	job_discard(job_of(j));
}

static const jl_job_kind_t import_kind = {
	.noun = "Import", .what = "import", .gone_word = "deleted",
	.cancel_tail = " (what was read is committed) and its status deleted",
	.answer_done = answer_done, .progress = progress, .discard = discard,
};

/* ---- the error file ---- */

bool jl__api_import_errors(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest)
{
	if (!jl_str_starts(rest, ERRORS_PREFIX))
		return false;
	jl_out_t plain = {0};
	jl_imports_t *m = api->imports;
	jl_str_t name = jl_str(rest.p + sizeof ERRORS_PREFIX - 1, rest.n - (sizeof ERRORS_PREFIX - 1));
	if (!jl_jobs_file_method(req, resp, "Import error files"))
		return true;
	int fd = -1;
	int64_t size = 0;
	if (m && name.n > 7 && !memcmp(name.p + name.n - 7, ".ndjson", 7)) {
		jl_str_t id = jl_str(name.p, name.n - 7);
		pthread_mutex_lock(&m->mu);
		job_t *j = find_locked(m, id);
		if (j && j->base.state != JL_JOB_RUNNING) {
			fd = open(j->errors_path, O_RDONLY | O_CLOEXEC);
			size = j->errors_bytes;
		}
		pthread_mutex_unlock(&m->mu);
	}
	if (!jl_jobs_send_file(resp, fd, size, "application/fhir+ndjson"))
		jl__api_fail(req, resp, &plain, JL_ENOTFOUND, NULL,
			     "No such import error file (kept %lld s after the import ended)",
			     m ? (long long)m->cfg.ttl_s : 0LL);
	return true;
}
