/*
 * encoding — media types and content codings on the wire: which request
 * bodies we take (FHIR JSON, optionally gzip-compressed, decompressed under
 * the body cap so a small bomb cannot inflate past it), and gzip responses
 * for clients that accept them.
 */
#ifndef JL_REST_ENCODING_H
#define JL_REST_ENCODING_H

#include "rest/http.h"

/* JL_OK for application/fhir+json or application/json (FHIR 4.0); JL_EUNSUPPORTED otherwise. */
jl_rc jl_rest_check_content_type(const char *ct);
/*
 * Replaces req->body with its decoded form when Content-Encoding is gzip or
 * deflate. JL_ETOOBIG past max bytes, JL_EUNSUPPORTED for another coding,
 * JL_EINVAL for corrupt data.
 */
jl_rc jl_rest_decode_body(jl_http_req_t *req, size_t max);
/* Gzips the response body in place when the client accepts gzip and it pays. */
void jl_rest_compress_response(jl_http_req_t *req, jl_http_resp_t *resp);

#endif
