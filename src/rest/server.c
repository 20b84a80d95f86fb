/*
 * server — libmicrohttpd glue.
 *
 * Request life cycle in MHD terms:
 *   uri_log      first sight of a request: allocate its state and arena,
 *                keep the raw URI (MHD does not otherwise give the raw query)
 *   access #1    nothing queued yet (queueing now would make MHD 0.9.75 close
 *                the connection); refuse an oversized Content-Length early
 *   access #k    body chunks appended under the cap
 *   access last  build jl_http_req_t, jl_api_handle, queue the response
 *   completed    access log line, metrics, free the arena
 */
#include "rest/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/rand.h"
#include "base/time.h"
#include "rest/outcome.h"

struct jl_server {
	jl_api_t *api;
	jl_server_cfg_t cfg;
	struct MHD_Daemon *d;
	uint16_t port;
	/*
	 * Set when shutdown begins. MHD must not be stopped while a connection
	 * is suspended, so from then on requests run their writes synchronously
	 * and close their connection. A request reads this after it was counted
	 * in flight (both seq_cst), so the drain loop sees either its count or
	 * it sees the flag.
	 */
	_Atomic int draining;
};

typedef struct req_state {
	jl_server_t *srv;
	struct MHD_Connection *conn;
	jl_reqctx_t ctx;
	jl_str_t uri;        /* raw, as sent */
	jl_buf_t body;
	jl_http_req_t req;   /* live across an asynchronous step */
	jl_http_resp_t resp;
	bool started, too_big, answered, in_api;
	int status;
	uint64_t bytes;
	jl_method method;
	char method_name[12];
} req_state_t;

void jl_server_cfg_defaults(jl_server_cfg_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->host = "127.0.0.1";
	cfg->port = 8080;
	cfg->conn_timeout_s = 60;
	cfg->max_conns = 1024;
	cfg->access_log = true;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	jl_server_t *srv = cls;
	req_state_t *r = jl_calloc(JL_MEM_HTTP, 1, sizeof *r);
	if (!r)
		return NULL;
	/* The request arena may hold a parsed body several times its size; cap it. */
	size_t cap = srv->api->cfg.max_body * 8 + ((size_t)64 << 20);
	r->ctx.arena = jl_arena_new(32768, cap);
	if (!r->ctx.arena) {
		jl_free(JL_MEM_HTTP, r);
		return NULL;
	}
	r->srv = srv;
	r->conn = conn;
	r->ctx.start_ns = jl_mono_ns();
	if (srv->api->cfg.request_timeout_ms > 0)
		r->ctx.deadline_ns = r->ctx.start_ns + srv->api->cfg.request_timeout_ms * 1000000;
	r->uri = jl_arena_str(r->ctx.arena, jl_cstr(uri ? uri : "/"));
	jl_buf_init(&r->body, JL_MEM_HTTP, srv->api->cfg.max_body);
	jl_buf_init(&r->resp.body, JL_MEM_HTTP, 0);
	atomic_fetch_add(&srv->api->metrics.inflight, 1);
	return r;
}

static const char *header_of(void *impl, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)impl, MHD_HEADER_KIND, name);
}

/* Accepts a client-supplied identifier only if it is short and plain. */
static jl_str_t safe_token(jl_arena_t *a, const char *v, size_t max)
{
	if (!v)
		return JL_STR_NULL;
	size_t n = strlen(v);
	if (n == 0 || n > max)
		return JL_STR_NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.' || c == ':' || c == '|' || c == '/' || c == '@'))
			return JL_STR_NULL;
	}
	return jl_arena_str(a, jl_str(v, n));
}

static void fill_context(req_state_t *r)
{
	jl_arena_t *a = r->ctx.arena;
	jl_str_t rid = safe_token(a, header_of(r->conn, "X-Request-Id"), 64);
	if (rid.n) {
		memcpy(r->ctx.request_id, rid.p, rid.n);
		r->ctx.request_id[rid.n] = 0;
	} else {
		jl_request_id(r->ctx.request_id);
	}
	r->ctx.client = safe_token(a, header_of(r->conn, "X-Client-Id"), 128);
	if (!r->ctx.client.n)
		r->ctx.client = JL_STR("anonymous");
	r->ctx.institution = safe_token(a, header_of(r->conn, "X-Institution"), 128);
	r->ctx.purpose = safe_token(a, header_of(r->conn, "X-Purpose-Of-Use"), 64);
}

/* Base URL for absolute links: configured, else from a well-formed Host header. */
static jl_str_t base_url(req_state_t *r)
{
	if (r->srv->api->cfg.base_url)
		return jl_cstr(r->srv->api->cfg.base_url);
	const char *host = header_of(r->conn, "Host");
	jl_str_t h = safe_token(r->ctx.arena, host, 255);
	for (size_t i = 0; i < h.n; i++)
		if (h.p[i] == '/' || h.p[i] == '@' || h.p[i] == '|')
			h = JL_STR_NULL;
	char *s = jl_arena_printf(r->ctx.arena, "http://%.*s/fhir", h.n ? (int)h.n : 9, h.n ? h.p : "localhost");
	return s ? jl_cstr(s) : JL_STR("/fhir");
}

static void free_body(void *p)
{
	jl_free(JL_MEM_HTTP, p);
}

static enum MHD_Result queue(req_state_t *r, jl_http_resp_t *resp)
{
	struct MHD_Response *mr;
	size_t n = 0;
	char *body = jl_buf_take(&resp->body, &n);
	if (resp->file) {
		/* MHD reads the file as it sends (and answers HEAD without it), then closes it. */
		jl_free(JL_MEM_HTTP, body);
		n = resp->file_size;
		resp->file = false;
		mr = MHD_create_response_from_fd64(n, resp->file_fd);
		if (!mr)
			close(resp->file_fd);
	} else if (body && n && !resp->no_body) {
		mr = MHD_create_response_from_buffer_with_free_callback(n, body, free_body);
	} else {
		jl_free(JL_MEM_HTTP, body);
		n = 0;
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!mr)
		return MHD_NO;
	if (resp->content_type && n)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->nheaders; i++) {
		char k[64];
		snprintf(k, sizeof k, "%.*s", JL_STR_FMT(resp->headers[i].k));
		MHD_add_response_header(mr, k, resp->headers[i].v.p);
	}
	MHD_add_response_header(mr, "X-Request-Id", r->ctx.request_id);
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	if (atomic_load(&r->srv->draining))
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	r->status = resp->status;
	r->bytes = n;
	r->answered = true;
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	return ok;
}

static enum MHD_Result answer_error(req_state_t *r, jl_rc rc, const char *msg)
{
	jl_http_resp_t resp;
	memset(&resp, 0, sizeof resp);
	jl_buf_init(&resp.body, JL_MEM_HTTP, 0);
	jl_rest_fail(&resp, r->ctx.arena, rc, NULL, "%s", msg);
	return queue(r, &resp);
}

static void suspend_conn(void *impl)
{
	MHD_suspend_connection((struct MHD_Connection *)impl);
}

static void resume_conn(void *impl)
{
	MHD_resume_connection((struct MHD_Connection *)impl);
}

/* Queues the response unless the API is waiting for an asynchronous step. */
static enum MHD_Result answer(req_state_t *r)
{
	if (r->req.pending)
		return MHD_YES; /* suspended; resumed when the step completes */
	return queue(r, &r->resp);
}

static enum MHD_Result handle(req_state_t *r)
{
	jl_http_req_t *req = &r->req;
	memset(req, 0, sizeof *req);
	req->ctx = &r->ctx;
	req->method_name = jl_str(r->method_name, strlen(r->method_name));
	req->method = r->method;
	req->header = header_of;
	req->impl = r->conn;
	if (!atomic_load(&r->srv->draining)) {
		req->suspend = suspend_conn;
		req->resume = resume_conn;
	}
	/* Split the raw URI: path (percent-decoded) and query (kept raw, decoded per parameter). */
	const char *q = jl_str_chr(r->uri, '?');
	jl_str_t rawpath = q ? jl_str(r->uri.p, (size_t)(q - r->uri.p)) : r->uri;
	req->raw_query = q ? jl_str(q + 1, r->uri.n - rawpath.n - 1) : JL_STR_NULL;
	if (!jl_http_unescape(r->ctx.arena, rawpath, false, &req->path) ||
	    jl_http_parse_query(r->ctx.arena, req->raw_query, req) != JL_OK)
		return answer_error(r, JL_EINVAL, "The URL has an invalid percent-escape");
	if (req->query_overflow)
		return answer_error(r, JL_ETOOBIG, "Too many query parameters");
	req->body = jl_buf_str(&r->body);
	req->base = base_url(r);
	r->in_api = true;
	jl_api_handle(r->srv->api, req, &r->resp);
	return answer(r);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)version;
	(void)method;
	req_state_t *r = *con_cls;
	if (!r)
		return MHD_NO; /* uri_log failed: out of memory */
	if (!r->started) {
		r->started = true;
		snprintf(r->method_name, sizeof r->method_name, "%s", method);
		r->method = jl_http_method(jl_cstr(method));
		fill_context(r);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t len;
		if (cl && jl_str_to_i64(jl_cstr(cl), &len) && (uint64_t)len > r->srv->api->cfg.max_body) {
			r->too_big = true;
			return answer_error(r, JL_ETOOBIG, "The request body is larger than the server's limit");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && jl_buf_append(&r->body, upload, *upload_size) != JL_OK)
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->in_api) {
		/* Resumed after an asynchronous step. */
		if (r->req.pending)
			jl_api_continue(r->srv->api, &r->req, &r->resp);
		return answer(r);
	}
	if (r->too_big)
		return answer_error(r, JL_ETOOBIG, "The request body is larger than the server's limit");
	return handle(r);
}

/* Appends the path and the query's parameter names (never their values: they may be personal data). */
static void log_target(jl_buf_t *b, jl_str_t uri)
{
	const char *q = jl_str_chr(uri, '?');
	size_t pn = q ? (size_t)(q - uri.p) : uri.n;
	jl_buf_t t;
	jl_buf_init(&t, JL_MEM_HTTP, 4096);
	jl_buf_append(&t, uri.p, pn > 1024 ? 1024 : pn);
	if (q) {
		jl_buf_putc(&t, '?');
		size_t i = pn + 1;
		bool in_value = false;
		for (; i < uri.n && t.n < 2048; i++) {
			char c = uri.p[i];
			if (c == '&') {
				in_value = false;
				jl_buf_putc(&t, '&');
			} else if (c == '=') {
				if (!in_value)
					jl_buf_putc(&t, '=');
				in_value = true;
			} else if (!in_value) {
				jl_buf_putc(&t, c);
			}
		}
	}
	jl_json_quote(b, jl_buf_str(&t));
	jl_buf_dispose(&t);
}

static void access_log(req_state_t *r, int64_t dur_ns, bool completed)
{
	char ts[32];
	jl_time_fmt_instant(jl_now_us(), ts);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_HTTP, 8192);
	jl_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"info\",\"event\":\"request\",\"rid\":", ts);
	jl_json_quote(&b, jl_cstr(r->ctx.request_id));
	jl_buf_puts(&b, ",\"method\":");
	jl_json_quote(&b, jl_cstr(r->method_name));
	jl_buf_puts(&b, ",\"path\":");
	log_target(&b, r->uri);
	jl_buf_printf(&b, ",\"status\":%d,\"bytes\":%llu,\"ms\":%.3f", r->status, (unsigned long long)r->bytes,
		      (double)dur_ns / 1e6);
	jl_buf_puts(&b, ",\"client\":");
	jl_json_quote(&b, r->ctx.client);
	if (r->ctx.institution.n) {
		jl_buf_puts(&b, ",\"institution\":");
		jl_json_quote(&b, r->ctx.institution);
	}
	if (r->ctx.purpose.n) {
		jl_buf_puts(&b, ",\"purpose\":");
		jl_json_quote(&b, r->ctx.purpose);
	}
	if (!completed)
		jl_buf_puts(&b, ",\"aborted\":true");
	jl_buf_putc(&b, '}');
	if (!jl_buf_status(&b))
		jl_log_line(r->srv->api->log, jl_buf_str(&b));
	jl_buf_dispose(&b);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	req_state_t *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	int64_t dur = jl_mono_ns() - r->ctx.start_ns;
	jl_server_t *srv = r->srv;
	if (!r->answered)
		r->status = 499; /* client went away before an answer (nginx's convention) */
	jl_metrics_observe(&srv->api->metrics, r->status, dur, r->bytes);
	if (srv->cfg.access_log)
		access_log(r, dur, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	jl_buf_dispose(&r->body);
	jl_buf_dispose(&r->resp.body);
	if (r->resp.file)
		close(r->resp.file_fd); /* a file response never handed to MHD */
	jl_arena_free(r->ctx.arena);
	atomic_fetch_sub(&srv->api->metrics.inflight, 1);
	jl_free(JL_MEM_HTTP, r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	jl_server_t *srv = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	jl_log_msg(srv->api->log, JL_LOG_WARN, "http: %s", msg);
}

jl_rc jl_server_start(jl_api_t *api, const jl_server_cfg_t *cfg, jl_server_t **out, jl_diag_t *d)
{
	*out = NULL;
	jl_server_t *s = jl_calloc(JL_MEM_HTTP, 1, sizeof *s);
	if (!s)
		return JL_ENOMEM;
	s->api = api;
	s->cfg = *cfg;
	/* Writes never block a worker (they suspend the connection), so one thread per core serves best. */
	unsigned threads = cfg->threads;
	if (!threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 1 ? (unsigned)ncpu : 2;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO |
			 MHD_ALLOW_SUSPEND_RESUME;
	const char *host = cfg->host && strcmp(cfg->host, "localhost") != 0 ? cfg->host : "127.0.0.1";
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		jl_diag_err(d, "invalid", NULL, "--host %s is not an IPv4 or IPv6 address", host);
		jl_free(JL_MEM_HTTP, s);
		return JL_EINVAL;
	}
	s->d = MHD_start_daemon(flags, cfg->port, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
				cfg->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns,
				MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!s->d) {
		jl_diag_err(d, "exception", NULL, "Cannot listen on %s port %u: %s", host, (unsigned)cfg->port,
			    strerror(errno));
		jl_free(JL_MEM_HTTP, s);
		return JL_EIO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	*out = s;
	return JL_OK;
}

uint16_t jl_server_port(const jl_server_t *s)
{
	return s->port;
}

bool jl_server_stop(jl_server_t *s, int grace_ms)
{
	if (!s)
		return true;
	atomic_store(&s->draining, 1);
	MHD_socket lsock = MHD_quiesce_daemon(s->d);
	int64_t until = jl_mono_ns() + (int64_t)grace_ms * 1000000;
	while (atomic_load(&s->api->metrics.inflight) > 0 && jl_mono_ns() < until)
		usleep(5000);
	if (atomic_load(&s->api->metrics.inflight) > 0) {
		/* A request still waits for the store: stopping MHD now would abort the process. */
		jl_log_msg(s->api->log, JL_LOG_ERROR, "shutdown: %lld request(s) still in flight after %d ms",
			   (long long)atomic_load(&s->api->metrics.inflight), grace_ms);
		return false;
	}
	MHD_stop_daemon(s->d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	jl_free(JL_MEM_HTTP, s);
	return true;
}
