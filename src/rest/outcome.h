/*
 * outcome — the one place where result codes become HTTP statuses and
 * problems become OperationOutcome resources.
 */
#ifndef JL_REST_OUTCOME_H
#define JL_REST_OUTCOME_H

#include "base/err.h"
#include "rest/http.h"

/* HTTP status for a result code (400, 404, 405, 406, 409, 410, 412, 413, 415, 422, 500, 503 …). */
int jl_rest_status(jl_rc rc);
/* FHIR issue-type code that fits a result code ("not-found", "conflict" …). */
const char *jl_rest_issue_code(jl_rc rc);

/* Writes an OperationOutcome with d's issues as the response body, with the status given. */
void jl_rest_outcome(jl_http_resp_t *resp, int status, const jl_diag_t *d, int pretty);

/* Shorthand: one error issue for rc, formatted, expression optional. */
void jl_rest_fail(jl_http_resp_t *resp, jl_arena_t *a, jl_rc rc, const char *expr, const char *fmt, ...)
	JL_PRINTF(5, 6);

#endif
