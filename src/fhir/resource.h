/*
 * resource — the stored form of a resource version, and its reassembly.
 *
 * A version is stored without what the server owns — resourceType, id,
 * meta.versionId and meta.lastUpdated — which live in the store's columns.
 * The body is two runs of members, each serialised compactly as
 * `,"key":value`: first the other members of meta (profile, tag, security,
 * source …), then the resource's remaining members in their original order.
 * `meta_len` is the byte length of the first run. Reading splices the
 * server's fields back in front:
 *
 *   {"resourceType":T,"id":I,"meta":{"versionId":V,"lastUpdated":U<meta run>}<rest run>}
 *
 * so a read is one memcpy-sized job, the server's fields can never disagree
 * with the columns, and nothing needs parsing on the read path.
 */
#ifndef JL_FHIR_RESOURCE_H
#define JL_FHIR_RESOURCE_H

#include <stdint.h>

#include "base/json.h"
#include "base/str.h"

/* Encodes a (validated) resource tree into out; sets *meta_len. Errors: JL_ENOMEM, JL_ETOOBIG. */
jl_rc jl_fhir_body_encode(const jl_json_t *res, jl_buf_t *out, uint32_t *meta_len) JL_MUST_USE;

/* Appends the full resource JSON of a stored version to out. JL_EIO if meta_len exceeds the body. */
jl_rc jl_fhir_body_assemble(jl_buf_t *out, jl_str_t type, jl_str_t id, int64_t ver, int64_t updated_us,
			    jl_str_t body, uint32_t meta_len) JL_MUST_USE;

/* meta.versionId of a resource tree as a number; 0 when absent or not a positive integer. */
int64_t jl_fhir_meta_version(const jl_json_t *res);

#endif
