/*
 * outcome — statuses and OperationOutcome bodies.
 */
#include "rest/outcome.h"

#include "base/json.h"

int jl_rest_status(jl_rc rc)
{
	switch (rc) {
	case JL_OK: return 200;
	case JL_EINVAL: return 400;
	case JL_EINVALID: return 422;
	case JL_ENOTFOUND: return 404;
	case JL_EGONE: return 410;
	case JL_ECONFLICT: return 409;
	case JL_EPRECOND: return 412;
	case JL_ETOOBIG: return 413;
	case JL_EUNSUPPORTED: return 415;
	case JL_EMETHOD: return 405;
	case JL_ENOTACCEPT: return 406;
	case JL_EBUSY: return 503;
	case JL_ETIMEOUT: return 503;
	case JL_ESTALE: return 503;
	case JL_EGONECURSOR: return 410;
	case JL_EFORBIDDEN: return 403;
	default: return 500;
	}
}

const char *jl_rest_issue_code(jl_rc rc)
{
	switch (rc) {
	case JL_EINVAL: return "invalid";
	case JL_EINVALID: return "invalid";
	case JL_ENOTFOUND: return "not-found";
	case JL_EGONE: return "deleted";
	case JL_ECONFLICT: return "conflict";
	case JL_EPRECOND: return "conflict";
	case JL_ETOOBIG: return "too-long";
	case JL_EUNSUPPORTED: return "not-supported";
	case JL_EMETHOD: return "not-supported";
	case JL_ENOTACCEPT: return "not-supported";
	case JL_EBUSY: return "transient";
	case JL_ETIMEOUT: return "timeout";
	case JL_ESTALE: return "transient";
	case JL_EGONECURSOR: return "expired";
	case JL_EFORBIDDEN: return "forbidden";
	default: return "exception";
	}
}

void jl_rest_outcome(jl_http_resp_t *resp, int status, const jl_diag_t *d, int pretty)
{
	jl_buf_clear(&resp->body);
	jl_jw_t w;
	jl_jw_init(&w, &resp->body, pretty);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, "OperationOutcome");
	jl_jw_keyc(&w, "issue");
	jl_jw_arr_begin(&w);
	for (size_t i = 0; i < d->n; i++) {
		const jl_issue_t *it = &d->items[i];
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "severity");
		jl_jw_strc(&w, jl_sev_name(it->sev));
		jl_jw_keyc(&w, "code");
		jl_jw_strc(&w, it->code ? it->code : "processing");
		if (it->diag) {
			jl_jw_keyc(&w, "diagnostics");
			jl_jw_strc(&w, it->diag);
		}
		if (it->expr && it->expr[0]) {
			jl_jw_keyc(&w, "expression");
			jl_jw_arr_begin(&w);
			jl_jw_strc(&w, it->expr);
			jl_jw_arr_end(&w);
		}
		jl_jw_obj_end(&w);
	}
	if (d->n == 0 || d->truncated) {
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "severity");
		jl_jw_strc(&w, d->n ? "warning" : (status >= 400 ? "error" : "information"));
		jl_jw_keyc(&w, "code");
		jl_jw_strc(&w, d->n ? "too-costly" : (status >= 400 ? "exception" : "informational"));
		jl_jw_keyc(&w, "diagnostics");
		jl_jw_strc(&w, d->n ? "More issues were found than are listed" : "No details");
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	resp->status = status;
	resp->content_type = "application/fhir+json; charset=utf-8";
}

void jl_rest_fail(jl_http_resp_t *resp, jl_arena_t *a, jl_rc rc, const char *expr, const char *fmt, ...)
{
	jl_diag_t d;
	jl_diag_init(&d, a);
	va_list ap;
	va_start(ap, fmt);
	jl_diag_vadd(&d, rc == JL_OK ? JL_SEV_INFO : JL_SEV_ERROR, jl_rest_issue_code(rc), expr, fmt, ap);
	va_end(ap);
	jl_rest_outcome(resp, jl_rest_status(rc), &d, 0);
}
