/*
 * fhirpath — a FHIRPath (N1, as used by FHIR R4) compiler and evaluator over
 * our JSON trees, typed by the generated model.
 *
 * Large enough to evaluate every R4 search-parameter expression (paths,
 * where(), ofType(), as/is, resolve() is X, |, exists(), first(),
 * extension(url) …) and the official FHIRPath test suite
 * (tests/fhir/test_fhirpath.c reports the pass count).
 *
 * An expression is compiled once (search parameters: at start) into an
 * immutable tree that any number of threads may evaluate at once. Each
 * evaluation allocates only from the arena it is given.
 */
#ifndef JL_FHIR_FHIRPATH_H
#define JL_FHIR_FHIRPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/json.h"
#include "fhir/model.h"

typedef struct jl_fp_expr jl_fp_expr_t; /* compiled expression; opaque, immutable */

typedef enum jl_fp_kind {
	JL_FP_NODE = 0,   /* an element of the input: a JSON value with its FHIR type */
	JL_FP_BOOLEAN,    /* System.Boolean */
	JL_FP_INTEGER,    /* System.Integer */
	JL_FP_DECIMAL,    /* System.Decimal (text kept: precision matters) */
	JL_FP_STRING,     /* System.String */
	JL_FP_DATE,       /* System.Date */
	JL_FP_DATETIME,   /* System.DateTime */
	JL_FP_TIME,       /* System.Time */
	JL_FP_QUANTITY,   /* System.Quantity (value + unit) */
} jl_fp_kind;

/* One item of a collection. */
typedef struct jl_fp_item {
	uint8_t kind;                 /* jl_fp_kind */
	const jl_fhir_type_t *type;   /* NODE: its FHIR type (NULL when not known) */
	const jl_json_t *node;        /* NODE: the value (a FHIR primitive's JSON scalar, or an object) */
	const jl_json_t *ext;         /* NODE of a primitive: its "_name" sibling (id/extension), or NULL */
	jl_str_t s;                   /* STRING, DECIMAL text, DATE/DATETIME/TIME text, QUANTITY unit */
	int64_t i;                    /* INTEGER; BOOLEAN (0/1) */
	double d;                     /* DECIMAL and QUANTITY value as a double (s keeps the text) */
} jl_fp_item_t;

typedef struct jl_fp_coll {
	jl_fp_item_t *items;          /* arena-owned */
	size_t n;
} jl_fp_coll_t;

typedef struct jl_fp_env {
	/*
	 * resolve(): given a reference string ("Patient/123", "#contained",
	 * "urn:uuid:…", an absolute URL), return the resource it points to, or
	 * NULL. May itself be NULL: then resolve() yields, for a relative or
	 * absolute RESTful reference, a stand-in that knows only its resource
	 * type — enough for `resolve() is Patient`, which is all R4 search
	 * parameters ask of it. Contained references ("#id") are resolved
	 * within %resource either way.
	 */
	const jl_json_t *(*resolve)(void *arg, jl_str_t reference);
	void *resolve_arg;
	int64_t now_us;               /* now() and today() (0: the real clock) */
} jl_fp_env_t;

/*
 * Compiles src. JL_EINVAL with an issue naming the position on a syntax
 * error; JL_EUNSUPPORTED for a function this evaluator does not implement
 * (the issue names it). The tree lives in a.
 */
jl_rc jl_fp_compile(jl_arena_t *a, jl_str_t src, jl_fp_expr_t **out, jl_diag_t *d) JL_MUST_USE;

/*
 * Evaluates e with `input` (a resource, or any JSON value of type
 * input_type) as the context and %resource. The result collection and
 * everything it points to live in a (or in the input tree). Errors:
 * JL_EINVALID for a run-time error the spec defines (e.g. single() on
 * many items), JL_ENOMEM, JL_ETOOBIG (recursion or size caps).
 */
jl_rc jl_fp_eval(jl_arena_t *a, const jl_fp_expr_t *e, const jl_json_t *input, const jl_fhir_type_t *input_type,
		 const jl_fp_env_t *env, jl_fp_coll_t *out, jl_diag_t *d) JL_MUST_USE;

/* The expression's source text. */
jl_str_t jl_fp_source(const jl_fp_expr_t *e);

/* Convenience for tests and tools: compile and evaluate, with %resource = input. */
jl_rc jl_fp_eval_text(jl_arena_t *a, jl_str_t src, const jl_json_t *input, const jl_fp_env_t *env,
		      jl_fp_coll_t *out, jl_diag_t *d) JL_MUST_USE;

#endif
