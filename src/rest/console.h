/*
 * console — serves the web console's embedded files (web/assets.h) at "/"
 * and under "/console/": Content-Type from the pack, ETag with
 * If-None-Match (304), the pre-compressed gzip body when the client accepts
 * it, Cache-Control "no-cache" so a new binary's files are picked up on the
 * next revalidation.
 */
#ifndef JL_REST_CONSOLE_H
#define JL_REST_CONSOLE_H

#include "rest/http.h"

/* True for the paths this module answers ("/", "/console/..."). */
bool jl_console_path(jl_str_t path);

/* Answers req (GET or HEAD) from the embedded assets; errors as OperationOutcomes. Thread-safe. */
void jl_console_serve(jl_http_req_t *req, jl_http_resp_t *resp);

#endif
