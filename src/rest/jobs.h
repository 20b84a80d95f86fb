/*
 * jobs — what the asynchronous request pattern (bulk $export, $import)
 * needs whatever the job does: a bounded table of jobs under the owner's
 * mutex, random job ids, the status URL's answers (202 with X-Progress and
 * Retry-After while running, 200 when done, an OperationOutcome when
 * failed, 404 for an unknown id, DELETE to cancel or forget), refusals
 * (429/503 with Retry-After), the Prefer header, and serving a job's file
 * from disk. Each job kind keeps its own threads and state on top: a job
 * struct starts with a jl_job_t, and a jl_job_kind_t gives the kind's
 * answers and how a removed job is freed.
 *
 * Thread-safety: functions named _locked need the owner's mutex (the one
 * given to jl_jobs_init); the others take it themselves or touch no job.
 */
#ifndef JL_REST_JOBS_H
#define JL_REST_JOBS_H

#include <pthread.h>
#include <stdatomic.h>

#include "rest/api.h"

#define JL_JOBS_MAX 64 /* jobs kept at once, finished ones included */

enum { JL_JOB_RUNNING = 1, JL_JOB_DONE, JL_JOB_FAILED };

/* The head of every job struct. state, deleted and ended_us are under the table's mutex. */
typedef struct jl_job {
	char id[33];               /* 32 lower-case hex digits */
	int state;                 /* JL_JOB_* */
	bool deleted;              /* DELETE while running: whoever runs it removes it when it stops */
	atomic_bool cancel;        /* asks the running work to stop */
	int64_t ended_us;          /* wall clock, when it became DONE or FAILED */
	const char *message;       /* FAILED: why (owned by the job) */
} jl_job_t;

typedef struct jl_jobs jl_jobs_t;

/* What differs between kinds of job; every callback is called without the mutex unless it says so. */
typedef struct jl_job_kind {
	const char *noun;          /* "Export": starts answers */
	const char *what;          /* "export": within them */
	const char *gone_word;     /* the 404 hint: "a <gone_word> one is gone" */
	const char *cancel_tail;   /* DELETE's answer: "<noun> <id> is cancelled<cancel_tail>" */
	/* Under the mutex: answers a finished job's status (200 and the body). */
	void (*answer_done)(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			    const jl_job_t *j);
	/* Under the mutex: the X-Progress text of a running job (in req's arena), NULL for none. */
	char *(*progress)(jl_http_req_t *req, const jl_job_t *j);
	/* Frees a job taken out of the table, with its files. */
	void (*discard)(jl_jobs_t *t, jl_job_t *j);
} jl_job_kind_t;

struct jl_jobs {
	const jl_job_kind_t *kind;
	pthread_mutex_t *mu;       /* the owner's */
	int64_t ttl_s;
	void *owner;               /* the bulk or imports context, for the callbacks */
	jl_job_t *jobs[JL_JOBS_MAX];
	uint32_t n;
};

/* Prepares an empty table whose jobs are guarded by mu and kept ttl_s after they end. */
void jl_jobs_init(jl_jobs_t *t, const jl_job_kind_t *kind, pthread_mutex_t *mu, int64_t ttl_s, void *owner);

/* Fills id with 32 random hex digits and a NUL. */
void jl_jobs_new_id(char id[33]);
/* Whether s is such an id. */
bool jl_jobs_is_id(const char *s);

/* A job by id; one being deleted (still stopping) is already gone for clients. */
jl_job_t *jl_jobs_find_locked(jl_jobs_t *t, jl_str_t id);
/* Adds j; false when the table is full. */
bool jl_jobs_add_locked(jl_jobs_t *t, jl_job_t *j);
void jl_jobs_remove_locked(jl_jobs_t *t, jl_job_t *j);
uint32_t jl_jobs_running_locked(const jl_jobs_t *t);
/*
 * Takes the jobs that ended at least ttl ago out of the table (takes the
 * mutex) into gone (room for JL_JOBS_MAX); the caller frees them. Returns their number.
 */
uint32_t jl_jobs_take_expired(jl_jobs_t *t, jl_job_t **gone);

/* Whether a Prefer header lists a preference (e.g. "respond-async", "handling=strict"). */
bool jl_jobs_prefers(const char *header, const char *pref);
/* Answers 429 (throttled) or 503 (transient) with msg and Retry-After: retry_s. */
void jl_jobs_refuse(jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, int status, const char *retry_s,
		    const char *msg);
/* Sets Expires to when a job that ended at ended_us is forgotten. */
void jl_jobs_expires(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, int64_t ended_us);
/*
 * The status URL (GET or DELETE) for job id: the kind's answers, 404 for an
 * unknown id; DELETE flags a running job deleted and cancels it (its runner
 * removes it), or removes and discards a finished one.
 */
void jl_jobs_status(jl_jobs_t *t, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out, jl_str_t id);
/* Whether req may read a job's file (GET, HEAD); else answers 405 "<what> are read with GET" and false. */
bool jl_jobs_file_method(jl_http_req_t *req, jl_http_resp_t *resp, const char *what);
/*
 * Answers 200 with the file open at fd (taken over) if it still has the
 * size recorded when the job ended; false otherwise (fd closed, nothing answered).
 */
bool jl_jobs_send_file(jl_http_resp_t *resp, int fd, int64_t size, const char *content_type);

#endif
