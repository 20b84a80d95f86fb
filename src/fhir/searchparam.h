/*
 * searchparam — the R4 search parameters as generated tables
 * (tools/gen_search_params.mjs → searchparams.gen.c, from the official
 * Bundle-searchParams.json), and the compartment definitions.
 *
 * One entry per (resource type, code): a parameter the specification
 * defines for several bases ("clinical-code" on 20 types) becomes 20
 * entries, each with the FHIRPath expression cut down to the branches that
 * start at its own type, so extraction never evaluates another type's
 * branches. Parameters of Resource and DomainResource (_id, _lastUpdated,
 * _tag, _profile, _security, _source, _text, _content, _query) are entries
 * of "Resource"/"DomainResource" and apply to every type.
 *
 * Read-only, thread-safe.
 */
#ifndef JL_FHIR_SEARCHPARAM_H
#define JL_FHIR_SEARCHPARAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "fhir/model.h"

typedef enum jl_sp_type {
	JL_SP_NUMBER = 1,
	JL_SP_DATE,
	JL_SP_STRING,
	JL_SP_TOKEN,
	JL_SP_REFERENCE,
	JL_SP_COMPOSITE,
	JL_SP_QUANTITY,
	JL_SP_URI,
	JL_SP_SPECIAL,
} jl_sp_type;

typedef struct jl_sp_component {
	const char *param;       /* the component's own parameter code, e.g. "code", "value-quantity" */
	uint8_t type;            /* its jl_sp_type */
	const char *expression;  /* relative to the composite's value, e.g. "value.as(Quantity)" */
} jl_sp_component_t;

typedef struct jl_searchparam {
	const char *code;        /* "subject" */
	const char *base;        /* "Observation", or "Resource"/"DomainResource" for the common ones */
	const char *url;         /* canonical URL of the definition */
	uint8_t type;            /* jl_sp_type */
	const char *expression;  /* FHIRPath for this base only; NULL when the spec gives none (_text …) */
	const char *const *targets; /* reference: allowed target types */
	uint8_t ntargets;
	const jl_sp_component_t *components; /* composite */
	uint8_t ncomponents;
} jl_searchparam_t;

extern const jl_searchparam_t jl_searchparams[];   /* sorted by (base, code) */
extern const uint32_t jl_nsearchparams;

/*
 * The parameter `code` of resource type `type` (its own, then Resource's and
 * DomainResource's); NULL if none. type = "Resource" finds only the common ones.
 */
const jl_searchparam_t *jl_searchparam(jl_str_t type, jl_str_t code);
/* Every parameter of a type, in code order, including the common ones: calls fn for each. */
void jl_searchparam_each(jl_str_t type, void (*fn)(const jl_searchparam_t *p, void *arg), void *arg);
const char *jl_sp_type_name(jl_sp_type t);

/* Compartments (CompartmentDefinition-*.json): which parameters link a resource type to one. */
typedef struct jl_compartment_rule {
	const char *resource;    /* e.g. "Observation" */
	const char *const *params; /* e.g. {"subject", "performer"}; "{def}" means the compartment resource itself */
	uint8_t nparams;
} jl_compartment_rule_t;

typedef struct jl_compartment {
	const char *code;        /* "Patient", "Encounter", "RelatedPerson", "Practitioner", "Device" */
	const jl_compartment_rule_t *rules; /* sorted by resource */
	uint16_t nrules;
} jl_compartment_t;

extern const jl_compartment_t jl_compartments[];
extern const uint8_t jl_ncompartments;

/* The rule for a resource type in a compartment; NULL when the type is not in it. */
const jl_compartment_rule_t *jl_compartment_rule(jl_str_t compartment, jl_str_t resource);

#endif
