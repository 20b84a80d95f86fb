/*
 * patch — the two PATCH formats a FHIR R4 JSON server accepts, applied to
 * a parsed resource tree:
 *
 *   JSON Patch (RFC 6902, application/json-patch+json): add, remove,
 *   replace, move, copy and test on JSON Pointers (RFC 6901);
 *
 *   FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html): a Parameters
 *   resource whose "operation" parameters add, insert, delete, replace and
 *   move elements named by FHIRPath expressions, typed by the model.
 *
 * XML Patch (RFC 5261) is not supported: this server speaks JSON only.
 *
 * Both are atomic: the patch is applied to a copy of *doc, and *doc is set
 * to the patched copy only when every operation succeeded. Neither
 * validates the result as a resource; the caller does that exactly as for
 * an update (rest/patch.c). Values taken from the patch are copied into
 * the result, so the result does not share nodes with `ops`/`params`
 * (strings may still point into their buffers: keep those alive).
 *
 * Errors (each with one issue in d naming the operation, e.g. expression
 * "patch[2].path" or "Parameters.parameter[1].part[0]", and what is wrong):
 *   JL_EINVAL    the patch document is malformed (not an array of
 *                operation objects, unknown op or type, bad pointer
 *                syntax, missing value, FHIRPath syntax error);
 *   JL_EINVALID  an operation cannot be applied to this document (path
 *                does not exist, index out of range, path matches more
 *                than one element, value of the wrong type for a choice);
 *   JL_EPRECOND  a JSON Patch `test` operation failed;
 *   JL_ETOOBIG   more than JL_PATCH_MAX_OPS operations, or the result
 *                would nest deeper than JL_PATCH_MAX_DEPTH or grow past
 *                the copy budget;
 *   JL_ENOMEM.
 *
 * Thread-safety: no shared state; everything is allocated in a.
 */
#ifndef JL_FHIR_PATCH_H
#define JL_FHIR_PATCH_H

#include "base/arena.h"
#include "base/err.h"
#include "base/json.h"

/* Caps on what one patch may do (hostile input must stay cheap). */
#define JL_PATCH_MAX_OPS 1000u          /* operations in one patch */
#define JL_PATCH_MAX_DEPTH 128u         /* nesting of the result, as the JSON parser's default cap */
#define JL_PATCH_MAX_NODES (4u << 20)   /* JSON values one patch may copy or reallocate */

/* Applies an RFC 6902 JSON Patch (ops: the parsed array) to *doc. */
jl_rc jl_patch_json(jl_arena_t *a, jl_json_t **doc, const jl_json_t *ops, jl_diag_t *d) JL_MUST_USE;

/*
 * Applies a FHIRPath Patch (params: a parsed Parameters resource) to the
 * resource *doc (typed by its resourceType). Paths are evaluated strictly
 * (an unknown element name is an error, not an empty result).
 */
jl_rc jl_patch_fhirpath(jl_arena_t *a, jl_json_t **doc, const jl_json_t *params, jl_diag_t *d) JL_MUST_USE;

#endif
