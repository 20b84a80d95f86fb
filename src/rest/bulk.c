/*
 * bulk — $export jobs over HTTP (see bulk.h).
 *
 * A small table of jobs under one mutex. A kick-off adds a job in state
 * RUNNING and wakes a worker (there are cfg.max_jobs workers, so an
 * accepted job starts at once; a kick-off beyond that is answered 429).
 * The worker runs the export engine (search/export.c) into the job's
 * directory, then records the outcome in DIR/<id>/job.json — written to a
 * temporary name, fsync'd and renamed — and only then shows it to the
 * status URL, so what a client reads has reached the disk. A janitor
 * thread removes a job and its files `ttl` after it ended.
 *
 * Handlers touch a job only under the mutex (a DELETE or the janitor may
 * free it as soon as the mutex is released); the worker running a job
 * owns its arena and result until it publishes the outcome.
 *
 * Restart: job.json says "in-progress" for a job that was running when
 * the process died (or was stopped); start-up turns those into failed
 * jobs with a message and removes their partial files.
 */
#include "rest/bulk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/time.h"
#include "rest/jobs.h"
#include "rest/outcome.h"
#include "search/export.h"

#define RETRY_BUSY_S "30"       /* Retry-After when no job can start */
#define JANITOR_NS 500000000LL  /* how often expired jobs are looked for */
#define JOB_FILE "job.json"
#define JOB_FILE_MAX ((size_t)16 << 20)

typedef struct job {
	jl_job_t base;             /* first: the table holds jobs as jl_job_t (state etc. under mu) */
	bool claimed;              /* a worker runs it */
	uint8_t level;
	jl_str_t group_id;
	jl_str_t *types;
	uint32_t ntypes;
	int64_t since_us;
	jl_export_filter_t *filters; /* _typeFilter, parsed in mem */
	uint32_t nfilters;
	jl_export_element_t *elements; /* _elements, parsed in mem */
	uint32_t nelements;
	const char **notes;        /* kick-off warnings, written to the error file */
	uint32_t nnotes;
	char *request;             /* the kick-off URL, for the manifest */
	char type[65];             /* the type being exported, under mu */
	_Atomic int64_t done, estimate;
	jl_arena_t *mem;           /* everything the job holds */
	jl_export_result_t res;    /* DONE */
	struct jl_bulk *b;
} job_t;

struct jl_bulk {
	jl_bulk_cfg_t cfg;
	char *dir;
	jl_store_t *store;
	jl_log_t *log;
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* a job to run, or stopping (CLOCK_MONOTONIC: the janitor waits timed) */
	jl_jobs_t tab;
	bool stopping;
	pthread_t *workers;
	uint32_t nworkers;
	pthread_t janitor;
	bool janitor_up;
};

static const jl_job_kind_t export_kind;

void jl_bulk_cfg_defaults(jl_bulk_cfg_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->ttl_s = 3600;
	cfg->max_jobs = 2;
	cfg->max_file_bytes = (uint64_t)1 << 30;
}

/* ---- files ---- */

static void job_path(const jl_bulk_t *b, const char *id, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s%s%s", b->dir, id, name ? "/" : "", name ? name : "");
}

/* Removes a job directory's files; keeps job.json when keep_state. */
static void clear_dir(const jl_bulk_t *b, const char *id, bool keep_state)
{
	char dir[4096], p[4096];
	job_path(b, id, NULL, dir, sizeof dir);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && !(keep_state && !strcmp(e->d_name, JOB_FILE)) &&
			    snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
				unlink(p);
		closedir(d);
	}
	if (!keep_state) {
		job_path(b, id, JOB_FILE ".tmp", p, sizeof p);
		unlink(p);
		rmdir(dir);
	}
}

static void job_free(job_t *j)
{
	if (j)
		jl_arena_free(j->mem);
}

static void write_files(jl_jw_t *w, const jl_export_file_t *f, size_t n)
{
	jl_jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "type");
		jl_jw_strc(w, f[i].type);
		jl_jw_keyc(w, "file");
		jl_jw_strc(w, f[i].name);
		jl_jw_keyc(w, "count");
		jl_jw_int(w, f[i].count);
		jl_jw_keyc(w, "bytes");
		jl_jw_int(w, f[i].bytes);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
}

/* Records a job's state in DIR/<id>/job.json, atomically and durably. */
static jl_rc save_job(const jl_bulk_t *b, const job_t *j, int state)
{
	static const char *const names[] = {[JL_JOB_RUNNING] = "in-progress", [JL_JOB_DONE] = "completed",
					    [JL_JOB_FAILED] = "failed"};
	jl_buf_t buf;
	jl_buf_init(&buf, JL_MEM_MISC, JOB_FILE_MAX);
	jl_jw_t w;
	jl_jw_init(&w, &buf, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "id");
	jl_jw_strc(&w, j->base.id);
	jl_jw_keyc(&w, "state");
	jl_jw_strc(&w, names[state]);
	jl_jw_keyc(&w, "request");
	jl_jw_strc(&w, j->request);
	jl_jw_keyc(&w, "ended");
	jl_jw_int(&w, state == JL_JOB_RUNNING ? 0 : j->base.ended_us);
	if (state == JL_JOB_FAILED) {
		jl_jw_keyc(&w, "message");
		jl_jw_strc(&w, j->base.message ? j->base.message : "failed");
	}
	if (state == JL_JOB_DONE) {
		jl_jw_keyc(&w, "transactionTime");
		jl_jw_int(&w, j->res.snapshot_us);
		jl_jw_keyc(&w, "output");
		write_files(&w, j->res.files, j->res.nfiles);
		jl_jw_keyc(&w, "error");
		write_files(&w, j->res.errors, j->res.nerrors);
	}
	jl_jw_obj_end(&w);
	char tmp[4096], path[4096];
	job_path(b, j->base.id, JOB_FILE ".tmp", tmp, sizeof tmp);
	job_path(b, j->base.id, JOB_FILE, path, sizeof path);
	jl_rc rc = jl_buf_status(&buf);
	int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!rc && (fd < 0 || write(fd, buf.p, buf.n) != (ssize_t)buf.n || fsync(fd) != 0))
		rc = JL_EIO;
	if (fd >= 0 && close(fd) != 0)
		rc = JL_EIO;
	if (!rc && rename(tmp, path) != 0)
		rc = JL_EIO;
	if (!rc) {
		job_path(b, j->base.id, NULL, path, sizeof path);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	if (rc)
		jl_log_msg(b->log, JL_LOG_ERROR, "export %s: cannot record the job state: %s", j->base.id, strerror(errno));
	jl_buf_dispose(&buf);
	return rc;
}

/* ---- the job table (callers hold mu) ---- */

/* The job of a table entry: job_t starts with its jl_job_t. */
static job_t *job_of(jl_job_t *j)
{
	return (job_t *)j;
}

static job_t *find_locked(jl_bulk_t *b, jl_str_t id)
{
	return job_of(jl_jobs_find_locked(&b->tab, id));
}

static void unlink_locked(jl_bulk_t *b, job_t *j)
{
	jl_jobs_remove_locked(&b->tab, &j->base);
}

/* ---- workers ---- */

static void on_progress(void *arg, const jl_export_progress_t *p)
{
	job_t *j = arg;
	atomic_store(&j->done, p->done);
	atomic_store(&j->estimate, p->estimate);
	pthread_mutex_lock(&j->b->mu);
	snprintf(j->type, sizeof j->type, "%.*s", (int)(p->type.n > 64 ? 64 : p->type.n), p->type.p);
	pthread_mutex_unlock(&j->b->mu);
}

static void run_job(jl_bulk_t *b, job_t *j)
{
	char dir[4096];
	job_path(b, j->base.id, NULL, dir, sizeof dir);
	jl_export_spec_t spec = {
		.level = j->level, .group_id = j->group_id, .types = j->types, .ntypes = j->ntypes,
		.since_us = j->since_us, .filters = j->filters, .nfilters = j->nfilters, .elements = j->elements,
		.nelements = j->nelements, .notes = j->notes, .nnotes = j->nnotes,
		.dir = dir, .max_file_bytes = b->cfg.max_file_bytes, .sync = true,
		.progress = on_progress, .progress_arg = j, .cancel = &j->base.cancel,
	};
	jl_diag_t d;
	jl_diag_init(&d, j->mem);
	int64_t t0 = jl_mono_ns();
	jl_rc rc = jl_export_run(b->store, j->mem, &spec, &j->res, &d);
	int state = rc ? JL_JOB_FAILED : JL_JOB_DONE;
	pthread_mutex_lock(&b->mu);
	bool deleted = j->base.deleted, stopping = b->stopping;
	pthread_mutex_unlock(&b->mu);
	if (deleted) {
		clear_dir(b, j->base.id, false);
		pthread_mutex_lock(&b->mu);
		unlink_locked(b, j);
		pthread_mutex_unlock(&b->mu);
		jl_log_msg(b->log, JL_LOG_INFO, "export %s: cancelled by its client; files removed", j->base.id);
		job_free(j);
		return;
	}
	if (rc) {
		j->base.message = rc == JL_EBUSY && stopping
				     ? "The server stopped while this export ran; start the export again"
				     : jl_arena_printf(j->mem, "The export failed: %s",
						       d.n && d.items[0].diag ? d.items[0].diag : jl_rc_name(rc));
		clear_dir(b, j->base.id, true);
		jl_log_msg(b->log, JL_LOG_WARN, "export %s: failed (%s)", j->base.id, jl_rc_name(rc));
	} else {
		jl_log_msg(b->log, JL_LOG_INFO, "export %s: %lld resources in %zu files, %.1f s", j->base.id,
			   (long long)j->res.resources, j->res.nfiles, (double)(jl_mono_ns() - t0) / 1e9);
	}
	j->base.ended_us = jl_now_us();
	if (save_job(b, j, state) != JL_OK && state == JL_JOB_DONE) {
		/* Unrecorded, a restart would lose it: say so now rather than then. */
		state = JL_JOB_FAILED;
		j->base.message = "The export's state could not be recorded on disk";
		clear_dir(b, j->base.id, true);
	}
	pthread_mutex_lock(&b->mu);
	j->base.state = state;
	bool gone = j->base.deleted; /* a DELETE while the state was being recorded */
	if (gone)
		unlink_locked(b, j);
	pthread_mutex_unlock(&b->mu);
	if (gone) {
		clear_dir(b, j->base.id, false);
		job_free(j);
	}
}

static void *worker_main(void *arg)
{
	jl_bulk_t *b = arg;
	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		job_t *j = NULL;
		for (uint32_t i = 0; i < b->tab.n && !j; i++)
			if (b->tab.jobs[i]->state == JL_JOB_RUNNING && !job_of(b->tab.jobs[i])->claimed)
				j = job_of(b->tab.jobs[i]);
		if (!j) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		j->claimed = true;
		pthread_mutex_unlock(&b->mu);
		run_job(b, j);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* Removes the jobs that ended more than ttl ago, with their files. */
static void sweep(jl_bulk_t *b)
{
	jl_job_t *gone[JL_JOBS_MAX];
	uint32_t n = jl_jobs_take_expired(&b->tab, gone);
	for (uint32_t i = 0; i < n; i++) {
		clear_dir(b, gone[i]->id, false);
		jl_log_msg(b->log, JL_LOG_INFO, "export %s: expired; files removed", gone[i]->id);
		job_free(job_of(gone[i]));
	}
}

static void *janitor_main(void *arg)
{
	jl_bulk_t *b = arg;
	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		pthread_mutex_unlock(&b->mu);
		sweep(b);
		pthread_mutex_lock(&b->mu);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += JANITOR_NS;
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		if (!b->stopping)
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* ---- start-up: the jobs a previous run left ---- */

static job_t *job_new(jl_bulk_t *b, const char *id)
{
	jl_arena_t *mem = jl_arena_new(8192, 0);
	job_t *j = mem ? jl_arena_calloc(mem, 1, sizeof *j) : NULL;
	if (!j) {
		jl_arena_free(mem);
		return NULL;
	}
	j->mem = mem;
	j->b = b;
	snprintf(j->base.id, sizeof j->base.id, "%s", id);
	return j;
}

static jl_rc load_files(job_t *j, const jl_json_t *arr, jl_export_file_t **out, size_t *n)
{
	*n = 0;
	*out = NULL;
	if (!jl_json_is(arr, JL_JSON_ARRAY))
		return JL_EINVAL;
	*out = jl_arena_calloc(j->mem, arr->n ? arr->n : 1, sizeof **out);
	if (!*out)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < arr->n; i++) {
		const jl_json_t *f = &arr->u.a[i];
		jl_str_t type = jl_json_str(jl_json_get(f, "type")), name = jl_json_str(jl_json_get(f, "file"));
		int64_t count, bytes;
		if (!type.n || !name.n || jl_str_chr(name, '/') || !jl_str_to_i64(jl_json_str(jl_json_get(f, "count")), &count) ||
		    !jl_str_to_i64(jl_json_str(jl_json_get(f, "bytes")), &bytes))
			return JL_EINVAL;
		(*out)[i] = (jl_export_file_t){.type = jl_arena_strndup(j->mem, type.p, type.n),
					       .name = jl_arena_strndup(j->mem, name.p, name.n),
					       .count = count, .bytes = bytes};
		if (!(*out)[i].type || !(*out)[i].name)
			return JL_ENOMEM;
		(*n)++;
	}
	return JL_OK;
}

/* Reads DIR/<id>/job.json into a job; an interrupted job becomes a failed one. */
static jl_rc adopt(jl_bulk_t *b, const char *id, job_t **out)
{
	char path[4096];
	job_path(b, id, JOB_FILE, path, sizeof path);
	*out = NULL;
	job_t *j = job_new(b, id);
	if (!j)
		return JL_ENOMEM;
	jl_rc rc = JL_EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {0};
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > JOB_FILE_MAX ||
	    !(text = jl_arena_alloc_bytes(j->mem, (size_t)st.st_size)) ||
	    read(fd, text, (size_t)st.st_size) != st.st_size ||
	    jl_json_parse(j->mem, text, (size_t)st.st_size, &o, &v, &e) != JL_OK)
		goto out;
	jl_str_t state = jl_json_str(jl_json_get(v, "state"));
	jl_str_t request = jl_json_str(jl_json_get(v, "request"));
	j->request = jl_arena_strndup(j->mem, request.p, request.n);
	if (!j->request || !jl_str_to_i64(jl_json_str(jl_json_get(v, "ended")), &j->base.ended_us))
		goto out;
	if (jl_str_eqc(state, "completed")) {
		j->base.state = JL_JOB_DONE;
		if (!jl_str_to_i64(jl_json_str(jl_json_get(v, "transactionTime")), &j->res.snapshot_us) ||
		    load_files(j, jl_json_get(v, "output"), &j->res.files, &j->res.nfiles) != JL_OK ||
		    load_files(j, jl_json_get(v, "error"), &j->res.errors, &j->res.nerrors) != JL_OK)
			goto out;
	} else if (jl_str_eqc(state, "failed")) {
		jl_str_t m = jl_json_str(jl_json_get(v, "message"));
		j->base.state = JL_JOB_FAILED;
		j->base.message = jl_arena_strndup(j->mem, m.p, m.n);
	} else if (jl_str_eqc(state, "in-progress")) {
		j->base.state = JL_JOB_FAILED;
		j->base.message = "The server stopped while this export ran; start the export again";
		j->base.ended_us = jl_now_us();
		clear_dir(b, id, true);
		if (save_job(b, j, JL_JOB_FAILED) != JL_OK)
			goto out;
		jl_log_msg(b->log, JL_LOG_WARN, "export %s: interrupted by a restart; marked failed", id);
	} else {
		goto out;
	}
	rc = JL_OK;
	*out = j;
	j = NULL;
out:
	if (fd >= 0)
		close(fd);
	job_free(j);
	return rc;
}

/* Adopts every job directory; unreadable ones (a crash while a job was created) are removed. */
static void adopt_all(jl_bulk_t *b)
{
	DIR *d = opendir(b->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!jl_jobs_is_id(e->d_name))
			continue;
		job_t *j = NULL;
		if (b->tab.n < JL_JOBS_MAX && adopt(b, e->d_name, &j) == JL_OK) {
			(void)jl_jobs_add_locked(&b->tab, &j->base);
		} else {
			jl_log_msg(b->log, JL_LOG_WARN, "export %s: no usable job state; removed", e->d_name);
			clear_dir(b, e->d_name, false);
		}
	}
	closedir(d);
}

/* ---- start and stop ---- */

jl_rc jl_bulk_start(const jl_bulk_cfg_t *cfg, jl_store_t *store, jl_log_t *log, jl_bulk_t **out, jl_diag_t *d)
{
	*out = NULL;
	jl_bulk_t *b = jl_calloc(JL_MEM_MISC, 1, sizeof *b);
	if (!b)
		return JL_ENOMEM;
	b->cfg = *cfg;
	if (!b->cfg.max_jobs)
		b->cfg.max_jobs = 2;
	if (b->cfg.ttl_s <= 0)
		b->cfg.ttl_s = 3600;
	b->store = store;
	b->log = log;
	b->dir = jl_strndup(JL_MEM_MISC, cfg->dir, strlen(cfg->dir));
	jl_jobs_init(&b->tab, &export_kind, &b->mu, b->cfg.ttl_s, b);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	bool sync_ok = pthread_mutex_init(&b->mu, NULL) == 0 && pthread_cond_init(&b->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!b->dir || !sync_ok) {
		jl_free(JL_MEM_MISC, b->dir);
		jl_free(JL_MEM_MISC, b);
		return JL_ENOMEM;
	}
	if (mkdir(b->dir, 0700) != 0 && errno != EEXIST) {
		jl_diag_err(d, "exception", NULL, "cannot create the export directory %s: %s", b->dir, strerror(errno));
		jl_bulk_free(b);
		return JL_EIO;
	}
	adopt_all(b);
	b->workers = jl_calloc(JL_MEM_MISC, b->cfg.max_jobs, sizeof *b->workers);
	if (!b->workers) {
		jl_bulk_free(b);
		return JL_ENOMEM;
	}
	for (; b->nworkers < b->cfg.max_jobs; b->nworkers++)
		if (pthread_create(&b->workers[b->nworkers], NULL, worker_main, b) != 0)
			break;
	b->janitor_up = b->nworkers == b->cfg.max_jobs && pthread_create(&b->janitor, NULL, janitor_main, b) == 0;
	if (!b->janitor_up) {
		jl_diag_err(d, "exception", NULL, "cannot start the export threads");
		jl_bulk_stop(b);
		jl_bulk_free(b);
		return JL_ENOMEM;
	}
	*out = b;
	return JL_OK;
}

void jl_bulk_stop(jl_bulk_t *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	bool was = b->stopping;
	b->stopping = true;
	for (uint32_t i = 0; i < b->tab.n; i++)
		atomic_store(&b->tab.jobs[i]->cancel, true);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (was)
		return;
	for (uint32_t i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	if (b->janitor_up)
		pthread_join(b->janitor, NULL);
	b->nworkers = 0;
	b->janitor_up = false;
	/* Accepted but never started (every worker was stopping): failed, like the interrupted ones. */
	pthread_mutex_lock(&b->mu);
	for (uint32_t i = 0; i < b->tab.n; i++) {
		job_t *j = job_of(b->tab.jobs[i]);
		if (j->base.state != JL_JOB_RUNNING)
			continue;
		if (j->base.deleted) {
			clear_dir(b, j->base.id, false);
			b->tab.jobs[i--] = b->tab.jobs[--b->tab.n];
			job_free(j);
			continue;
		}
		j->base.message = "The server stopped before this export could run; start the export again";
		j->base.ended_us = jl_now_us();
		clear_dir(b, j->base.id, true);
		(void)save_job(b, j, JL_JOB_FAILED);
		j->base.state = JL_JOB_FAILED;
	}
	pthread_mutex_unlock(&b->mu);
}

void jl_bulk_free(jl_bulk_t *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->tab.n; i++)
		job_free(job_of(b->tab.jobs[i]));
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	jl_free(JL_MEM_MISC, b->workers);
	jl_free(JL_MEM_MISC, b->dir);
	jl_free(JL_MEM_MISC, b);
}

/* ---- kick-off ---- */

/* The Parameters body of a POST kick-off, as name/value pairs appended to *out. */
static jl_rc body_params(jl_arena_t *a, jl_str_t body, jl_kv_t **out, size_t *n, jl_diag_t *d)
{
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {0};
	if (jl_json_parse(a, body.p, body.n, &o, &v, &e) != JL_OK) {
		jl_diag_err(d, "structure", NULL, "The body is not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return JL_EINVAL;
	}
	if (!jl_str_eqc(jl_json_str(jl_json_get(v, "resourceType")), "Parameters")) {
		jl_diag_err(d, "structure", "resourceType", "A POST kick-off takes a Parameters resource");
		return JL_EINVAL;
	}
	const jl_json_t *params = jl_json_get(v, "parameter");
	if (params && !jl_json_is(params, JL_JSON_ARRAY)) {
		jl_diag_err(d, "structure", "Parameters.parameter", "parameter must be an array");
		return JL_EINVAL;
	}
	uint32_t np = params ? params->n : 0;
	jl_kv_t *all = jl_arena_calloc(a, *n + np + 1, sizeof *all);
	if (!all)
		return JL_ENOMEM;
	if (*n)
		memcpy(all, *out, *n * sizeof *all);
	*out = all;
	for (uint32_t i = 0; i < np; i++) {
		const jl_json_t *p = &params->u.a[i];
		jl_str_t name = jl_json_str(jl_json_get(p, "name"));
		const jl_json_t *val = NULL;
		static const char *const kinds[] = {"valueString", "valueInstant", "valueCode", "valueDateTime"};
		for (size_t t = 0; t < sizeof kinds / sizeof *kinds && !val; t++)
			val = jl_json_get(p, kinds[t]);
		if (!name.n || (!jl_json_is(val, JL_JSON_STRING) && !jl_str_eqc(name, "patient"))) {
			char *where = jl_arena_printf(a, "Parameters.parameter[%u]", i);
			jl_diag_err(d, "structure", where, "Each parameter needs a name and a string, code or instant value");
			return JL_EINVAL;
		}
		all[(*n)++] = (jl_kv_t){name, jl_json_str(val)};
	}
	return JL_OK;
}

/* Appends s to a growable list of strings in arena memory. */
static jl_rc push_str(jl_arena_t *a, jl_str_t **v, uint32_t *n, jl_str_t s)
{
	jl_str_t *nv = jl_arena_alloc(a, (*n + 1) * sizeof *nv);
	if (!nv)
		return JL_ENOMEM;
	if (*n)
		memcpy(nv, *v, *n * sizeof *nv);
	nv[(*n)++] = s;
	*v = nv;
	return JL_OK;
}

/* One parameter: applied, or a problem (error, or a warning under lenient handling). */
static void param(jl_arena_t *a, jl_kv_t p, const jl__bulk_opts_t *o, jl__bulk_kick_t *k, jl_diag_t *d)
{
	int shown = (int)(p.v.n > 100 ? 100 : p.v.n);
	/* _typeFilter, _elements and includeAssociatedData: refused when not honoured, unless lenient (the IG) */
	bool strict = !o->lenient;
	if (jl_str_eqc(p.k, "_outputFormat")) {
		if (!jl_str_eqc(p.v, "application/fhir+ndjson") && !jl_str_eqc(p.v, "application/ndjson") &&
		    !jl_str_eqc(p.v, "ndjson"))
			jl_diag_err(d, "not-supported", "_outputFormat",
				    "_outputFormat \"%.*s\" is not offered: only application/fhir+ndjson", shown, p.v.p);
	} else if (jl_str_eqc(p.k, "_type")) {
		jl_str_t *t;
		uint32_t n;
		if (jl_export_split_types(a, p.v, &t, &n) != JL_OK) {
			jl_diag_err(d, "invalid", "_type", "_type takes resource type names separated by commas");
			return;
		}
		jl_str_t *all = jl_arena_alloc(a, (k->ntypes + n) * sizeof *all);
		if (!all) {
			jl_diag_err(d, "exception", NULL, "Out of memory");
			return;
		}
		if (k->ntypes)
			memcpy(all, k->types, k->ntypes * sizeof *all);
		memcpy(all + k->ntypes, t, n * sizeof *all);
		if (jl_export_check_types(o->level, t, n, d) == JL_OK &&
		    jl_export_check_types(o->level, all, k->ntypes + n, d) == JL_OK) {
			k->types = all;
			k->ntypes += n;
		}
	} else if (jl_str_eqc(p.k, "_since")) {
		if (k->since_seen)
			jl_diag_err(d, "invalid", "_since", "_since is given twice");
		else if (!jl_export_parse_since(p.v, &k->since_us))
			jl_diag_err(d, "invalid", "_since",
				    "_since \"%.*s\" is not an instant (e.g. 2025-01-01T00:00:00+08:00)", shown, p.v.p);
		k->since_seen = true;
	} else if (jl_str_eqc(p.k, "_typeFilter")) {
		jl_rc rc = jl_export_parse_filters(a, o->level, p.v, strict, o->search, &k->filters, &k->nfilters, d);
		if (rc != JL_EINVAL && rc != JL_ETOOBIG && (rc || push_str(a, &k->filter_values, &k->nfilter_values, p.v)))
			jl_diag_err(d, "exception", NULL, "Out of memory");
	} else if (jl_str_eqc(p.k, "_elements")) {
		jl_rc rc = jl_export_parse_elements(a, p.v, strict, &k->elements, &k->nelements, d);
		if (rc != JL_EINVAL && rc != JL_ETOOBIG && (rc || push_str(a, &k->element_values, &k->nelement_values, p.v)))
			jl_diag_err(d, "exception", NULL, "Out of memory");
	} else if (jl_str_eqc(p.k, "includeAssociatedData")) {
		/* No Provenance is kept, so there is nothing associated to add. */
		jl_diag_add(d, strict ? JL_SEV_ERROR : JL_SEV_WARNING, "not-supported", "includeAssociatedData",
			    "includeAssociatedData \"%.*s\" is not supported: this server keeps no Provenance to add%s",
			    shown, p.v.p, strict ? "" : "; it was ignored");
	} else if (jl__api_format_param(p.k)) {
		/* they shape the OperationOutcome of this answer: negotiated already */
	} else if (jl_str_eqc(p.k, "patient")) {
		/* Ignoring it would export every patient's data where a few were asked for. */
		jl_diag_err(d, "not-supported", "patient", "The patient parameter is not supported: export a Group instead");
	} else {
		jl_diag_add(d, o->strict ? JL_SEV_ERROR : JL_SEV_WARNING, "not-supported", NULL,
			    "%.*s is not supported by this server's $export%s", (int)(p.k.n > 64 ? 64 : p.k.n), p.k.p,
			    o->strict ? "" : "; it was ignored");
	}
}

void jl__bulk_params(jl_arena_t *a, const jl_kv_t *query, size_t nquery, jl_str_t body, const jl__bulk_opts_t *o,
		     jl__bulk_kick_t *k, jl_diag_t *d)
{
	memset(k, 0, sizeof *k);
	jl_kv_t *ps = jl_arena_calloc(a, nquery + 1, sizeof *ps);
	size_t n = nquery;
	if (!ps) {
		jl_diag_err(d, "exception", NULL, "Out of memory");
		return;
	}
	if (nquery)
		memcpy(ps, query, nquery * sizeof *ps);
	if (body.n && body_params(a, body, &ps, &n, d) != JL_OK) {
		if (!d->nerrors)
			jl_diag_err(d, "exception", NULL, "Out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		param(a, ps[i], o, k, d);
}

/*
 * Copies what the job runs with into its own memory: _type, and the
 * _typeFilter and _elements values parsed again there (the request's
 * memory goes with the request). The kick-off's warnings (lenient
 * handling) become lines of the job's error file.
 */
static jl_rc keep_params(job_t *j, const jl__bulk_kick_t *k, const jl__bulk_opts_t *o, const jl_diag_t *d)
{
	jl_diag_t again;
	jl_diag_init(&again, j->mem);
	j->types = k->ntypes ? jl_arena_alloc(j->mem, k->ntypes * sizeof *j->types) : NULL;
	if (k->ntypes && !j->types)
		return JL_ENOMEM;
	for (uint32_t i = 0; i < k->ntypes; i++)
		if (!(j->types[i] = jl_arena_str(j->mem, k->types[i])).p)
			return JL_ENOMEM;
	j->ntypes = k->ntypes;
	for (uint32_t i = 0; i < k->nfilter_values; i++)
		if (jl_export_parse_filters(j->mem, o->level, jl_arena_str(j->mem, k->filter_values[i]), !o->lenient, o->search,
					    &j->filters, &j->nfilters, &again) != JL_OK)
			return JL_ENOMEM; /* it parsed once already: only memory can fail */
	for (uint32_t i = 0; i < k->nelement_values; i++)
		if (jl_export_parse_elements(j->mem, jl_arena_str(j->mem, k->element_values[i]), !o->lenient, &j->elements,
					     &j->nelements, &again) != JL_OK)
			return JL_ENOMEM;
	size_t nw = 0;
	for (size_t i = 0; i < d->n; i++)
		nw += d->items[i].sev == JL_SEV_WARNING;
	j->notes = nw ? jl_arena_alloc(j->mem, nw * sizeof *j->notes) : NULL;
	if (nw && !j->notes)
		return JL_ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].sev == JL_SEV_WARNING &&
		    !(j->notes[j->nnotes++] = jl_arena_strdup(j->mem, d->items[i].diag ? d->items[i].diag : "warning")))
			return JL_ENOMEM;
	return JL_OK;
}

/* Creates the job (directory, job.json, table entry) and wakes a worker; refuses when full. */
static void start_job(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, job_t *j,
		      jl_diag_t *d)
{
	jl_bulk_t *b = api->bulk;
	char dir[4096];
	job_path(b, j->base.id, NULL, dir, sizeof dir);
	if (mkdir(dir, 0700) != 0 || save_job(b, j, JL_JOB_RUNNING) != JL_OK) {
		clear_dir(b, j->base.id, false);
		job_free(j);
		jl__api_fail(req, resp, out, JL_EIO, NULL, "The export could not be started: its files cannot be written");
		return;
	}
	pthread_mutex_lock(&b->mu);
	const char *full = b->stopping ? "The server is stopping; try again after it restarts"
			   : jl_jobs_running_locked(&b->tab) >= b->cfg.max_jobs
				   ? "As many exports as this server runs at once are running; try again later"
			   : b->tab.n == JL_JOBS_MAX
				   ? "Too many finished exports are kept; delete those you have downloaded (DELETE their status URL)"
				   : NULL;
	if (!full) {
		j->base.state = JL_JOB_RUNNING;
		(void)jl_jobs_add_locked(&b->tab, &j->base);
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (full) {
		clear_dir(b, j->base.id, false);
		job_free(j);
		jl_jobs_refuse(req, resp, out, b->stopping ? 503 : 429, RETRY_BUSY_S, full);
		return;
	}
	char *loc = jl_arena_printf(req->ctx->arena, "%.*s/$export-poll-status?_jobId=%s", JL_STR_FMT(req->base), j->base.id);
	jl_diag_add(d, JL_SEV_INFO, "informational", NULL, "Export %s accepted; poll %s", j->base.id, loc ? loc : "");
	jl_rest_outcome(resp, 202, d, out->pretty);
	if (loc)
		jl_http_set_header(resp, req->ctx->arena, "Content-Location", jl_cstr(loc));
}

void jl__api_export(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, uint8_t level,
		    jl_str_t group_id)
{
	jl_arena_t *a = req->ctx->arena;
	if (!api->bulk || atomic_load(&api->draining)) {
		jl_jobs_refuse(req, resp, out, 503, RETRY_BUSY_S,
		       api->bulk ? "The server is stopping; try again after it restarts" : "Bulk export is not enabled");
		return;
	}
	const char *pref = jl_http_header(req, "Prefer");
	if (!pref || !jl_jobs_prefers(pref, "respond-async")) {
		jl__api_fail(req, resp, out, JL_EINVAL, NULL,
			     "$export runs asynchronously: send the header \"Prefer: respond-async\"");
		return;
	}
	jl_search_cfg_t scfg = {.defs = api->defs, .base = req->base, .page_default = api->cfg.page_default,
				.page_max = api->cfg.page_max};
	jl__bulk_opts_t o = {.level = level, .strict = jl_jobs_prefers(pref, "handling=strict"),
			     .lenient = jl_jobs_prefers(pref, "handling=lenient"), .search = &scfg};
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl__bulk_kick_t k;
	jl__bulk_params(a, req->query, req->nquery, req->method == JL_M_POST ? req->body : JL_STR_NULL, &o, &k, &d);
	if (d.nerrors) {
		jl_rest_outcome(resp, 400, &d, out->pretty);
		return;
	}
	if (level == JL_EXPORT_GROUP) {
		jl_version_t g;
		jl_rc rc = jl_store_read(api->store, a, JL_STR("Group"), group_id, 0, &g);
		if (rc || g.deleted) {
			jl__api_fail(req, resp, out, rc ? rc : JL_EGONE, NULL, "Group/%.*s is %s", JL_STR_FMT(group_id),
				     rc == JL_ENOTFOUND ? "not known" : rc ? "unreadable" : "deleted");
			return;
		}
	}
	char id[33];
	jl_jobs_new_id(id);
	job_t *j = job_new(api->bulk, id);
	if (!j || keep_params(j, &k, &o, &d) != JL_OK) {
		job_free(j);
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	j->level = level;
	j->since_us = k.since_us;
	j->group_id = jl_arena_str(j->mem, group_id);
	jl_str_t path = jl_str(req->path.p + 5, req->path.n - 5); /* after /fhir */
	j->request = jl_arena_printf(j->mem, "%.*s%.*s%s%.*s", JL_STR_FMT(req->base), JL_STR_FMT(path),
				     req->raw_query.n ? "?" : "", JL_STR_FMT(req->raw_query));
	if (!j->request || (group_id.n && !j->group_id.p)) {
		job_free(j);
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	start_job(api, req, resp, out, j, &d);
}

/* ---- status ---- */

static void answer_done(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			const jl_job_t *base)
{
	const job_t *j = (const job_t *)base;
	char *prefix = jl_arena_printf(req->ctx->arena, "%.*s/$export-file/%s/", JL_STR_FMT(req->base), j->base.id);
	jl_buf_clear(&resp->body);
	if (!prefix || jl_export_manifest(&resp->body, &j->res, jl_cstr(j->request), jl_cstr(prefix)) != JL_OK) {
		jl__api_fail(req, resp, out, JL_ENOMEM, NULL, "Out of memory");
		return;
	}
	jl_jobs_expires(t, req, resp, j->base.ended_us);
	resp->status = 200;
	resp->content_type = "application/json; charset=utf-8";
}

static char *progress(jl_http_req_t *req, const jl_job_t *base)
{
	const job_t *j = (const job_t *)base;
	int64_t done = atomic_load(&j->done), est = atomic_load(&j->estimate);
	/* The estimate counts every live resource of the types: exact only for a whole-system export. */
	bool exact = j->level == JL_EXPORT_SYSTEM && !j->since_us && !j->nfilters;
	return est > 0 ? jl_arena_printf(req->ctx->arena, "exporting%s%s: %lld of %s%lld resources (%lld%%)",
					 j->type[0] ? " " : "", j->type, (long long)done, exact ? "" : "at most ",
					 (long long)est, (long long)(done >= est ? 99 : done * 100 / est))
		       : jl_arena_printf(req->ctx->arena, "exporting%s%s: %lld resources", j->type[0] ? " " : "",
					 j->type, (long long)done);
}

static void discard(jl_jobs_t *t, jl_job_t *j)
{
	clear_dir(t->owner, j->id, false);
	job_free(job_of(j));
}

static const jl_job_kind_t export_kind = {
	.noun = "Export", .what = "export", .gone_word = "cancelled",
	.cancel_tail = " and its files are deleted",
	.answer_done = answer_done, .progress = progress, .discard = discard,
};

void jl__api_export_status(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out)
{
	jl_bulk_t *b = api->bulk;
	const jl_str_t *id = jl_http_param(req, "_jobId");
	if (!b || !id || !id->n) {
		jl__api_fail(req, resp, out, b ? JL_EINVAL : JL_ENOTFOUND, b ? "_jobId" : NULL,
			     b ? "The status URL needs _jobId (as given in Content-Location)" : "Bulk export is not enabled");
		return;
	}
	jl_jobs_status(&b->tab, req, resp, out, *id);
}

/* ---- files ---- */

static const jl_export_file_t *listed(const job_t *j, jl_str_t name)
{
	for (size_t i = 0; i < j->res.nfiles; i++)
		if (jl_str_eqc(name, j->res.files[i].name))
			return &j->res.files[i];
	for (size_t i = 0; i < j->res.nerrors; i++)
		if (jl_str_eqc(name, j->res.errors[i].name))
			return &j->res.errors[i];
	return NULL;
}

bool jl__api_export_file(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, jl_str_t rest)
{
	static const char prefix[] = "/$export-file/";
	if (!jl_str_starts(rest, prefix))
		return false;
	jl_out_t plain = {0};
	jl_bulk_t *b = api->bulk;
	jl_str_t tail = jl_str(rest.p + sizeof prefix - 1, rest.n - (sizeof prefix - 1));
	const char *slash = jl_str_chr(tail, '/');
	jl_str_t id = slash ? jl_str(tail.p, (size_t)(slash - tail.p)) : tail;
	jl_str_t name = slash ? jl_str(slash + 1, tail.n - id.n - 1) : JL_STR_NULL;
	if (!jl_jobs_file_method(req, resp, "Export files"))
		return true;
	int fd = -1;
	int64_t size = 0;
	if (b && name.n) {
		pthread_mutex_lock(&b->mu);
		job_t *j = find_locked(b, id);
		const jl_export_file_t *f = j && j->base.state == JL_JOB_DONE ? listed(j, name) : NULL;
		char path[4096];
		if (f) {
			job_path(b, j->base.id, f->name, path, sizeof path);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			size = f->bytes;
		}
		pthread_mutex_unlock(&b->mu);
	}
	if (!jl_jobs_send_file(resp, fd, size, "application/fhir+ndjson"))
		jl__api_fail(req, resp, &plain, JL_ENOTFOUND, NULL,
			     "No such export file (files are kept %lld s after their export ended)",
			     b ? (long long)b->cfg.ttl_s : 0LL);
	return true;
}
