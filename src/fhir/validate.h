/*
 * validate — structural validation of a FHIR R4 resource (JSON tree) against
 * the generated model: known element names, JSON shape (array or single),
 * cardinality, choice types, primitive formats, required bindings, nested
 * resources (contained, Bundle.entry.resource, Parameters) by their own
 * type, and the basic narrative rules. Every problem becomes an issue with
 * the FHIRPath of the element (e.g. "Patient.name[0].given[1]").
 *
 * FHIRPath invariants (dom-2, ele-1 …) beyond the few listed in
 * docs/internals/validation.md are not evaluated here yet.
 *
 * Thread-safe; allocates only through the diag's arena.
 */
#ifndef JL_FHIR_VALIDATE_H
#define JL_FHIR_VALIDATE_H

#include "base/err.h"
#include "base/json.h"
#include "fhir/model.h"

/*
 * Validates `res` as a resource of type `type` (when NULL, the type named by
 * its resourceType). Returns JL_OK when no error-level issue was found,
 * JL_EINVALID otherwise (issues in d), JL_ENOMEM if the diag could not be
 * allocated at all.
 */
jl_rc jl_fhir_validate(const jl_json_t *res, const jl_fhir_type_t *type, jl_diag_t *d);

/* Format check of one primitive value given as JSON. Adds an issue at expr on failure. */
bool jl_fhir_check_primitive(jl_fhir_prim prim, const jl_json_t *v, jl_diag_t *d, const char *expr);

/* Whether s is a valid FHIR id ([A-Za-z0-9\-\.]{1,64}). */
bool jl_fhir_is_id(jl_str_t s);

#endif
