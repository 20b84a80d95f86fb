/*
 * model — the FHIR R4 (4.0.1) type system as compact read-only C tables,
 * generated from the official StructureDefinitions by tools/gen_fhir_defs.mjs
 * into defs.gen.c (committed; do not edit by hand), plus lookups over them.
 *
 * Every type the JSON of a resource can hold is one jl_fhir_type_t:
 * primitives ("string", "dateTime"), complex data types ("HumanName",
 * "Quantity", and constrained ones such as "Age" or "SimpleQuantity"),
 * resources ("Patient"), the abstract bases ("Resource", "DomainResource",
 * "Element", "BackboneElement") and one synthetic type per backbone element
 * ("Patient.contact", "Questionnaire.item"). contentReference elements point
 * at the backbone type they name, so recursion (Questionnaire.item.item) is a
 * cycle in the table, not an expansion.
 *
 * Inherited elements are flattened: a type's elems hold everything it can
 * carry (Resource.id, meta, … DomainResource.text, contained, extension …).
 *
 * All tables are immutable and safe to read from any thread.
 */
#ifndef JL_FHIR_MODEL_H
#define JL_FHIR_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

typedef enum jl_fhir_kind {
	JL_FHIR_PRIMITIVE = 1, /* boolean, string, dateTime … (JSON scalars) */
	JL_FHIR_COMPLEX,       /* data types: HumanName, Quantity, Age … */
	JL_FHIR_RESOURCE,      /* concrete resources: Patient … (145 in R4) */
	JL_FHIR_BACKBONE,      /* synthetic: "Patient.contact" */
	JL_FHIR_ABSTRACT,      /* Resource, DomainResource, Element, BackboneElement */
} jl_fhir_kind;

typedef enum jl_fhir_prim {
	JL_PRIM_NONE = 0,
	JL_PRIM_BOOLEAN,
	JL_PRIM_INTEGER,
	JL_PRIM_STRING,
	JL_PRIM_DECIMAL,
	JL_PRIM_URI,
	JL_PRIM_URL,
	JL_PRIM_CANONICAL,
	JL_PRIM_BASE64BINARY,
	JL_PRIM_INSTANT,
	JL_PRIM_DATE,
	JL_PRIM_DATETIME,
	JL_PRIM_TIME,
	JL_PRIM_CODE,
	JL_PRIM_OID,
	JL_PRIM_ID,
	JL_PRIM_MARKDOWN,
	JL_PRIM_UNSIGNEDINT,
	JL_PRIM_POSITIVEINT,
	JL_PRIM_UUID,
	JL_PRIM_XHTML,
} jl_fhir_prim;

#define JL_FHIR_MANY UINT16_MAX /* max cardinality "*" */

enum {
	JL_EF_CHOICE = 1,   /* name ends in [x]; the allowed types are in jl_fhir_choice */
	JL_EF_SUMMARY = 2,  /* isSummary */
	JL_EF_MODIFIER = 4, /* isModifier */
	JL_EF_ARRAY = 8,    /* max > 1: the JSON value is an array */
};

typedef struct jl_fhir_elem {
	const char *name;  /* as defined, without the parent path: "status", "value[x]" */
	uint16_t min, max; /* max: JL_FHIR_MANY for "*" */
	uint16_t type;     /* not a choice: index of the value's type in jl_fhir_types;
	                      choice: index of the first entry in jl_fhir_choice */
	uint16_t nchoice;  /* choice: number of allowed types; else 0 */
	uint16_t binding;  /* 0 = none, else 1 + index into jl_fhir_valuesets (required bindings only) */
	uint8_t flags;     /* JL_EF_* */
} jl_fhir_elem_t;

/*
 * One JSON property name a type accepts. A choice element contributes one
 * property per allowed type ("valueQuantity", "valueString", …); the "_name"
 * sibling of a primitive is not listed (the validator strips the '_').
 */
typedef struct jl_fhir_prop {
	const char *json; /* "valueQuantity" */
	uint16_t elem;    /* index into the owning type's elems */
	uint16_t type;    /* concrete type of the value (index into jl_fhir_types) */
} jl_fhir_prop_t;

typedef struct jl_fhir_type {
	const char *name;              /* "Patient", "HumanName", "string", "Patient.contact" */
	uint8_t kind;                  /* jl_fhir_kind */
	uint8_t prim;                  /* jl_fhir_prim (primitives only) */
	uint16_t nelems, nprops;
	const jl_fhir_elem_t *elems;   /* definition order, inherited elements first */
	const jl_fhir_prop_t *props;   /* sorted by json name (bytewise strcmp) */
} jl_fhir_type_t;

typedef struct jl_fhir_code {
	const char *code;
	uint16_t sys; /* index into the value set's systems */
} jl_fhir_code_t;

/*
 * The expansion of a value set named by a required binding. When the value
 * set draws on a code system that cannot be enumerated here (BCP-47, MIME
 * types, UCUM …), `complete` is 0 and a validator must not reject codes
 * that are merely absent from `codes`.
 */
typedef struct jl_fhir_valueset {
	const char *url;              /* canonical URL (without |version) */
	const char *const *systems;   /* code system URLs */
	const jl_fhir_code_t *codes;  /* sorted by code (strcmp), then sys */
	uint32_t ncodes;
	uint16_t nsys;
	uint8_t complete;
} jl_fhir_valueset_t;

extern const jl_fhir_type_t jl_fhir_types[];
extern const uint16_t jl_fhir_ntypes;
extern const uint16_t jl_fhir_choice[];           /* choice type lists (type indices) */
extern const jl_fhir_valueset_t jl_fhir_valuesets[];
extern const uint16_t jl_fhir_nvaluesets;
extern const uint16_t jl_fhir_resources[];        /* concrete resource types, sorted by name */
extern const uint16_t jl_fhir_nresources;         /* 145 */
extern const char jl_fhir_version[];              /* "4.0.1" */

/* Any type by name ("Patient", "HumanName", "Patient.contact", "string"); NULL if unknown. */
const jl_fhir_type_t *jl_fhir_type(jl_str_t name);
/* A concrete resource type by name; NULL if unknown or abstract. */
const jl_fhir_type_t *jl_fhir_resource(jl_str_t name);
/* Index of a type in jl_fhir_types. */
uint16_t jl_fhir_type_index(const jl_fhir_type_t *t);
/* The property a JSON member name denotes in type t; NULL if t has none. Binary search. */
const jl_fhir_prop_t *jl_fhir_prop(const jl_fhir_type_t *t, jl_str_t json);
static inline const jl_fhir_elem_t *jl_fhir_prop_elem(const jl_fhir_type_t *t, const jl_fhir_prop_t *p)
{
	return &t->elems[p->elem];
}
/* The value set of a required binding (elem->binding != 0). */
static inline const jl_fhir_valueset_t *jl_fhir_binding(const jl_fhir_elem_t *e)
{
	return e->binding ? &jl_fhir_valuesets[e->binding - 1] : NULL;
}
/*
 * Whether code (in system, or in any of the value set's systems when
 * system is empty) is in the value set. For an incomplete value set this
 * answers only for the enumerated part.
 */
bool jl_fhir_vs_contains(const jl_fhir_valueset_t *vs, jl_str_t system, jl_str_t code);

#endif
