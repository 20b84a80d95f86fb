/*
 * server — the HTTP server: libmicrohttpd in epoll mode with a thread pool,
 * adapted to jl_api_handle. Owns the per-request context and arena, body
 * accumulation under the size cap, the JSON access log (one line per
 * request, no personal data) and graceful shutdown.
 */
#ifndef JL_REST_SERVER_H
#define JL_REST_SERVER_H

#include <stdint.h>

#include "rest/api.h"

typedef struct jl_server_cfg {
	const char *host;          /* IPv4 or IPv6 literal, "localhost", or "0.0.0.0"/"::" */
	uint16_t port;             /* 0: any free port (see jl_server_port) */
	unsigned threads;          /* worker threads (0: one per core, at least 2) */
	unsigned conn_timeout_s;   /* idle connection timeout (default 60) */
	unsigned max_conns;        /* simultaneous connections (default 1024) */
	bool access_log;           /* one JSON line per request (default on) */
} jl_server_cfg_t;

typedef struct jl_server jl_server_t;

void jl_server_cfg_defaults(jl_server_cfg_t *cfg);
/* Starts listening. JL_EIO (with a diag) if the address cannot be bound. */
jl_rc jl_server_start(jl_api_t *api, const jl_server_cfg_t *cfg, jl_server_t **out, jl_diag_t *d) JL_MUST_USE;
/* The port actually bound. */
uint16_t jl_server_port(const jl_server_t *s);
/*
 * Graceful stop: stop accepting, let in-flight requests finish (up to
 * grace_ms), then close every connection and free the server. Returns
 * false — leaving the server running and allocated — when requests were
 * still waiting for the store at the end of the grace period: the caller
 * should then exit without closing the store.
 */
bool jl_server_stop(jl_server_t *s, int grace_ms);

#endif
