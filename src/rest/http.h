/*
 * http — the request and response as the REST handlers see them, apart from
 * the HTTP library: the server (rest/server.c) fills a jl_http_req_t from
 * libmicrohttpd and sends the jl_http_resp_t back; unit tests build them by
 * hand. Also the URL decoding and header parsing the handlers share.
 *
 * Everything in a request lives in its context's arena; the response body
 * is a jl_buf_t on the heap handed to the HTTP library without copying.
 */
#ifndef JL_REST_HTTP_H
#define JL_REST_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/err.h"
#include "base/str.h"

typedef struct jl_kv {
	jl_str_t k, v;
} jl_kv_t;

typedef enum jl_method {
	JL_M_OTHER = 0,
	JL_M_GET,
	JL_M_HEAD,
	JL_M_POST,
	JL_M_PUT,
	JL_M_DELETE,
	JL_M_PATCH,
	JL_M_OPTIONS,
} jl_method;

#define JL_HTTP_MAX_QUERY 100
#define JL_HTTP_MAX_HEADERS 24

typedef struct jl_http_resp {
	int status;
	jl_buf_t body;
	const char *content_type;    /* static string or arena-owned */
	jl_kv_t headers[JL_HTTP_MAX_HEADERS];
	size_t nheaders;
	bool no_body;                /* 204/304 and HEAD */
	/* A file as the body instead (bulk export downloads): sent from the descriptor, which the
	 * server closes once sent; body must then be empty. */
	bool file;
	int file_fd;
	uint64_t file_size;
} jl_http_resp_t;

typedef struct jl_http_req {
	jl_reqctx_t *ctx;
	jl_method method;
	jl_str_t method_name;
	jl_str_t path;          /* percent-decoded path, without the query */
	jl_str_t raw_query;     /* as sent, without '?' */
	jl_kv_t *query;         /* decoded parameters in order ('+' is a space) */
	size_t nquery;
	bool query_overflow;    /* more than JL_HTTP_MAX_QUERY parameters */
	jl_str_t body;
	jl_str_t base;          /* "http://host:port/fhir": base for absolute URLs */
	/* Header lookup (case-insensitive); NULL when absent. */
	const char *(*header)(void *impl, const char *name);
	void *impl;
	/*
	 * Asynchronous steps. The server sets suspend/resume (NULL: run every
	 * step synchronously, as unit tests do). A handler that starts an
	 * asynchronous step sets pending and a continuation; resume may be
	 * called from any thread once async_rc is set, and the server then
	 * calls jl_api_continue on one of its own threads.
	 */
	void (*suspend)(void *impl);
	void (*resume)(void *impl);
	bool pending;
	jl_rc async_rc;
	void *cont; /* the API's continuation record (rest/api.c) */
	/*
	 * API state that rides with the request (rest/conditional.c,
	 * rest/bundle.c): the condition stripes it holds until its write has
	 * committed, and — for an entry of a transaction Bundle — the
	 * transaction that collects its writes instead of committing them.
	 */
	uint64_t cond_locks;
	struct jl_txn_entry *txn;
} jl_http_req_t;


static inline const char *jl_http_header(const jl_http_req_t *r, const char *name)
{
	return r->header ? r->header(r->impl, name) : NULL;
}

jl_method jl_http_method(jl_str_t name);

/* Decodes %XX (and '+' as space when plus_space); false on a bad escape. Output in arena. */
bool jl_http_unescape(jl_arena_t *a, jl_str_t in, bool plus_space, jl_str_t *out);

/* Splits a raw query into decoded key/value pairs (arena). JL_EINVAL on a bad escape. */
jl_rc jl_http_parse_query(jl_arena_t *a, jl_str_t raw, jl_http_req_t *req) JL_MUST_USE;

/* First query parameter with that name, or NULL. */
const jl_str_t *jl_http_param(const jl_http_req_t *r, const char *name);

/* Adds a response header (value copied into the request arena). */
void jl_http_set_header(jl_http_resp_t *resp, jl_arena_t *a, const char *k, jl_str_t v);

/* Quality a comma-separated header list (Accept, Accept-Encoding) gives to a token; -1 if absent. */
double jl_http_accept_q(const char *header, const char *token);

#endif
