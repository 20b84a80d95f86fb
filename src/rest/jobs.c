/*
 * jobs — the parts of an asynchronous job that do not depend on its kind
 * (see jobs.h). The table is a plain array: it holds at most JL_JOBS_MAX
 * jobs, and a linear scan of 64 ids costs less than the request around it.
 */
#include "rest/jobs.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rand.h"
#include "base/time.h"
#include "rest/outcome.h"

#define RETRY_POLL_S "2" /* Retry-After while a job runs */

void jl_jobs_init(jl_jobs_t *t, const jl_job_kind_t *kind, pthread_mutex_t *mu, int64_t ttl_s, void *owner)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->mu = mu;
	t->ttl_s = ttl_s;
	t->owner = owner;
}

void jl_jobs_new_id(char id[33])
{
	unsigned char rnd[16];
	jl_rand_bytes(rnd, sizeof rnd);
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

bool jl_jobs_is_id(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n == 32;
}

/* ---- the table ---- */

jl_job_t *jl_jobs_find_locked(jl_jobs_t *t, jl_str_t id)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (jl_str_eqc(id, t->jobs[i]->id) && !t->jobs[i]->deleted)
			return t->jobs[i];
	return NULL;
}

bool jl_jobs_add_locked(jl_jobs_t *t, jl_job_t *j)
{
	if (t->n == JL_JOBS_MAX)
		return false;
	t->jobs[t->n++] = j;
	return true;
}

void jl_jobs_remove_locked(jl_jobs_t *t, jl_job_t *j)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->jobs[i] == j) {
			t->jobs[i] = t->jobs[--t->n];
			return;
		}
}

uint32_t jl_jobs_running_locked(const jl_jobs_t *t)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->n; i++)
		n += t->jobs[i]->state == JL_JOB_RUNNING;
	return n;
}

uint32_t jl_jobs_take_expired(jl_jobs_t *t, jl_job_t **gone)
{
	uint32_t n = 0;
	int64_t now = jl_now_us();
	pthread_mutex_lock(t->mu);
	for (uint32_t i = 0; i < t->n;) {
		jl_job_t *j = t->jobs[i];
		if (j->state != JL_JOB_RUNNING && now - j->ended_us >= t->ttl_s * 1000000) {
			gone[n++] = j;
			t->jobs[i] = t->jobs[--t->n];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(t->mu);
	return n;
}

/* ---- HTTP ---- */

bool jl_jobs_prefers(const char *header, const char *pref)
{
	jl_str_t s = jl_cstr(header);
	size_t from = 0;
	for (size_t i = 0; i <= s.n; i++) {
		if (i < s.n && s.p[i] != ',' && s.p[i] != ';')
			continue;
		if (jl_str_ieqc(jl_str_trim(jl_str(s.p + from, i - from)), pref))
			return true;
		from = i + 1;
	}
	return false;
}

void jl_jobs_refuse(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, int status, const char *retry_s,
		    const char *msg)
{
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_diag_err(&d, status == 429 ? "throttled" : "transient", NULL, "%s", msg);
	jl_rest_outcome(resp, status, &d, out->pretty);
	jl_http_set_header(resp, req->ctx->arena, "Retry-After", jl_cstr(retry_s));
}

void jl_jobs_expires(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, int64_t ended_us)
{
	char date[40];
	size_t n = jl_time_fmt_http(ended_us + t->ttl_s * 1000000, date);
	jl_http_set_header(resp, req->ctx->arena, "Expires", jl_str(date, n));
}

static void answer_running(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_job_t *j)
{
	char *p = t->kind->progress(req, j);
	if (p)
		jl_http_set_header(resp, req->ctx->arena, "X-Progress", jl_cstr(p));
	jl_http_set_header(resp, req->ctx->arena, "Retry-After", JL_STR(RETRY_POLL_S));
	resp->status = 202;
}

void jl_jobs_status(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_str_t id)
{
	const jl_job_kind_t *k = t->kind;
	jl_job_t *gone = NULL;
	pthread_mutex_lock(t->mu);
	jl_job_t *j = jl_jobs_find_locked(t, id);
	if (!j) {
		pthread_mutex_unlock(t->mu);
		jl__api_fail(req, resp, out, JL_ENOTFOUND, "_jobId",
			     "No %s job has this id (finished jobs are kept %lld s; a %s one is gone)", k->what,
			     (long long)t->ttl_s, k->gone_word);
		return;
	}
	if (req->method == JL_M_DELETE) {
		if (j->state == JL_JOB_RUNNING) {
			j->deleted = true; /* its runner removes it when the work has stopped */
			atomic_store(&j->cancel, true);
		} else {
			jl_jobs_remove_locked(t, j);
			gone = j;
		}
	} else if (j->state == JL_JOB_DONE) {
		k->answer_done(t, req, resp, out, j);
	} else if (j->state == JL_JOB_FAILED) {
		jl__api_fail(req, resp, out, JL_EIO, NULL, "%s%s%s", j->message ? j->message : "The ",
			     j->message ? "" : k->what, j->message ? "" : " failed");
	} else {
		answer_running(t, req, resp, j);
	}
	pthread_mutex_unlock(t->mu);
	if (req->method != JL_M_DELETE)
		return;
	if (gone)
		k->discard(t, gone);
	jl_diag_t d;
	jl_diag_init(&d, req->ctx->arena);
	jl_diag_add(&d, JL_SEV_INFO, "informational", NULL, "%s %.*s is cancelled%s", k->noun, JL_STR_FMT(id),
		    k->cancel_tail);
	jl_rest_outcome(resp, 202, &d, out->pretty);
}

bool jl_jobs_file_method(jl_http_req_t *req, jl_http_resp_t *resp, const char *what)
{
	if (req->method == JL_M_GET || req->method == JL_M_HEAD)
		return true;
	jl_out_t plain = {0}; /* files are not negotiated: a plain JSON outcome */
	jl_http_set_header(resp, req->ctx->arena, "Allow", JL_STR("GET, HEAD"));
	jl__api_fail(req, resp, &plain, JL_EMETHOD, NULL, "%s are read with GET", what);
	return false;
}

bool jl_jobs_send_file(jl_http_resp_t *resp, int fd, int64_t size, const char *content_type)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size != size) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	resp->file = true;
	resp->file_fd = fd;
	resp->file_size = (uint64_t)size;
	resp->status = 200;
	resp->content_type = content_type;
	return true;
}
