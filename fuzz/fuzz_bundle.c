/*
 * libFuzzer target: batch and transaction Bundles end to end — POST /fhir
 * through the API handler (rest/bundle.c: entry reading, fullUrl mapping,
 * conditional resolution, reference rewriting, dispatch of every entry as a
 * request, the transaction's single commit) against a store made once at
 * start. Any input must give a response (a Bundle or an OperationOutcome)
 * and never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "rest/api.h"

static jl_store_t *store;
static jl_search_defs_t *defs; /* kept for the process's life */
static jl_api_t api;
static jl_log_t logger;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/jl-fuzz-bundle-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_cfg_t cfg = {.dir = dir, .max_cursors = 4, .no_sync = true};
	if (jl_store_open("sqlite", &cfg, &store, &d) || jl_search_defs_new(&defs, NULL, NULL))
		abort();
	jl_log_init(&logger, 2, JL_LOG_ERROR);
	jl_api_cfg_t acfg;
	jl_api_cfg_defaults(&acfg);
	acfg.bundle_max_entries = 50;
	acfg.cond_delete_max = 3;
	if (jl_api_init(&api, &acfg, store, defs, &logger))
		abort();
	jl_arena_free(a);
	return 0;
}

static const char *header(void *impl, const char *name)
{
	(void)impl;
	if (!strcasecmp(name, "Content-Type"))
		return "application/fhir+json";
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	jl_reqctx_t ctx = {.client = JL_STR("fuzz"), .arena = a};
	snprintf(ctx.request_id, sizeof ctx.request_id, "fuzz");
	jl_http_req_t req = {.ctx = &ctx, .method = JL_M_POST, .method_name = JL_STR("POST"),
			     .path = JL_STR("/fhir"), .base = JL_STR("http://localhost/fhir"), .header = header,
			     .body = jl_str((const char *)data, size)};
	jl_http_resp_t resp;
	memset(&resp, 0, sizeof resp);
	jl_buf_init(&resp.body, JL_MEM_HTTP, 0);
	jl_api_handle(&api, &req, &resp);
	if (resp.status < 200 || resp.status > 599 || req.pending || req.cond_locks)
		abort(); /* every Bundle is answered, synchronously, with its condition stripes released */
	jl_buf_dispose(&resp.body);
	jl_arena_free(a);
	return 0;
}
