/*
 * monitor (rest) — the HTTP face of the plan indicators (monitor/): the
 * dashboard API under /monitor/ (indicators, regions, trend, catalogue;
 * plain JSON, docs/api.md), Measure/{id}/$evaluate-measure (a FHIR
 * MeasureReport), the Measure resources of the catalogue, and the check
 * of aggregate-input MeasureReports before they are written.
 *
 * Everything reads through the indicator cache (monitor/cache.h) that
 * jl_rest_monitor_start attaches to the API; without it the endpoints
 * answer 503 and MeasureReports are written unchecked.
 *
 * Thread-safety: the handlers run on any server thread at once.
 */
#ifndef JL_REST_MONITOR_H
#define JL_REST_MONITOR_H

#include "rest/api.h"

/*
 * Attaches the indicator cache (catalogue built in, targets from
 * targets_json when not empty) and, when the store already holds records,
 * writes the catalogue's Measure resources that do not exist yet (ids =
 * indicator ids). Start-up code: problems are issues in d.
 */
jl_rc jl_rest_monitor_start(jl_api_t *api, jl_str_t targets_json, jl_diag_t *d) JL_MUST_USE;
/* Detaches and frees the cache (after the server stopped). */
void jl_rest_monitor_stop(jl_api_t *api);

/* GET /monitor/… (path with the prefix). */
void jl__api_monitor(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp);
/* GET /report?region=&year=: the annual report (monitor/report.c) from the cache, as HTML. */
void jl__api_report(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp);

/* Measure/{id}/$evaluate-measure, GET or POST (a Parameters body). */
void jl__api_evaluate_measure(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			      const jl_target_t *t);

/*
 * The extra check of a MeasureReport about to be written (create, update
 * or patch, alone or in a batch/transaction entry): one that reports a catalogue aggregate-input measure must name
 * a known region, cover one whole calendar year and carry a value in the
 * indicator's range. false: the answer (422 naming the element) is sent.
 */
bool jl__api_monitor_check(jl_api_t *api, jl_http_req_t *req, jl_http_resp_t *resp, const jl_out_t *out,
			   const jl_json_t *res);

#endif
