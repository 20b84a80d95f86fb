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

/*
 * One item of a collection.
 *
 * DATE/DATETIME/TIME text is the literal without '@' (and without the 'T'
 * of a time): "2014-01", "2014-01-01T08:05:00.000+08:00", "10:30". A
 * QUANTITY's unit is a UCUM code ("mg", "wk") or a calendar-duration word
 * ("week", "days", "month").
 */
typedef struct jl_fp_item {
	uint8_t kind;                 /* jl_fp_kind */
	const jl_fhir_type_t *type;   /* NODE: its FHIR type (NULL when not known) */
	const jl_json_t *node;        /* NODE: the value (a FHIR primitive's JSON scalar, or an object);
	                                 NULL for a primitive that has only an id/extensions ("_name") */
	const jl_json_t *ext;         /* NODE of a primitive: its "_name" sibling (id/extension), or NULL */
	jl_str_t s;                   /* STRING, DECIMAL text, DATE/DATETIME/TIME text, QUANTITY unit */
	int64_t i;                    /* INTEGER; BOOLEAN (0/1) */
	double d;                     /* DECIMAL and QUANTITY value as a double (s keeps the text) */
	jl_str_t num;                 /* QUANTITY: the value as decimal text ("1.50": precision kept) */
} jl_fp_item_t;

typedef struct jl_fp_coll {
	jl_fp_item_t *items;          /* arena-owned */
	size_t n;
} jl_fp_coll_t;

/* An external constant (%name) the caller supplies. */
typedef struct jl_fp_var {
	jl_str_t name;                /* without the '%' */
	jl_fp_coll_t value;
} jl_fp_var_t;

enum {
	JL_FP_STRICT = 1,      /* unknown element names on typed input, a type name at the start of a
	                          path that does not match the input, and members of a type the input
	                          cannot have ((x as Period).unit on a Quantity) are errors */
	JL_FP_CHECK_ORDER = 2, /* order-dependent functions (first(), skip(), [] …) applied directly to
	                          the unordered result of children()/descendants() are errors */
};

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
	uint32_t flags;               /* JL_FP_* */
	const jl_fp_var_t *vars;      /* %name constants beyond the built-in ones; may be NULL */
	size_t nvars;
	/* trace(name [, projection]): called with the traced collection; may be NULL. */
	void (*trace)(void *arg, jl_str_t name, const jl_fp_coll_t *c);
	void *trace_arg;
} jl_fp_env_t;

/*
 * Compiles src. JL_EINVAL with an issue naming the position on a syntax
 * error (also an unknown function or type name); JL_EUNSUPPORTED for a
 * function this evaluator does not implement (the issue names it);
 * JL_ETOOBIG for text over 64 KiB or nesting deeper than 200; JL_ENOMEM.
 * The tree lives in a; d may be NULL. Thread-safe (no shared state).
 */
jl_rc jl_fp_compile(jl_arena_t *a, jl_str_t src, jl_fp_expr_t **out, jl_diag_t *d) JL_MUST_USE;

/*
 * Evaluates e with `input` (a resource, or any JSON value of type
 * input_type) as the context and %resource. input_type may be NULL: a
 * resource is then typed by its resourceType. input may be NULL (an empty
 * context). env may be NULL (defaults). The result collection and
 * everything it points to live in a (or in the input tree). Errors:
 * JL_EINVALID for a run-time error the spec defines (e.g. single() on
 * many items, comparing a string with a number, valueQuantity written for
 * value); JL_EUNSUPPORTED (conformsTo() a profile we do not have);
 * JL_ENOMEM; JL_ETOOBIG (caps: 2^20 items in a collection, 16 MiB in a
 * string, 2·10^7 evaluation steps). Any number of threads may evaluate the
 * same compiled expression at once, each with its own arena.
 */
jl_rc jl_fp_eval(jl_arena_t *a, const jl_fp_expr_t *e, const jl_json_t *input, const jl_fhir_type_t *input_type,
		 const jl_fp_env_t *env, jl_fp_coll_t *out, jl_diag_t *d) JL_MUST_USE;

/* The expression's source text. */
jl_str_t jl_fp_source(const jl_fp_expr_t *e);

/*
 * Splits a path that ends in an element name ("Patient.name[0].given")
 * into the expression before the last '.' (*parent, sharing e's tree; its
 * source text is the prefix) and that name (*name). For FHIRPath Patch,
 * whose insert and move name a list that may be empty. JL_EINVAL when e
 * does not end in ".name"; JL_ENOMEM.
 */
jl_rc jl_fp_split_member(jl_arena_t *a, const jl_fp_expr_t *e, jl_fp_expr_t **parent, jl_str_t *name) JL_MUST_USE;

/*
 * The type name of an item: the FHIR type of a NODE ("code", "HumanName",
 * "Patient"; "" when not known), or the System type ("Boolean", "Integer",
 * "Decimal", "String", "Date", "DateTime", "Time", "Quantity"). Static text.
 */
const char *jl_fp_type_name(const jl_fp_item_t *it);

/*
 * The item as a string, as toString() defines it (a FHIR primitive NODE
 * gives its value; a Quantity "1.5 'mg'"; a date "2014-01-05"). Complex
 * nodes have no string form: *out is JL_STR_NULL and the result false. The
 * text lives in a or in the input tree.
 */
bool jl_fp_to_string(jl_arena_t *a, const jl_fp_item_t *it, jl_str_t *out);

/* Convenience for tests and tools: compile and evaluate, with %resource = input. */
jl_rc jl_fp_eval_text(jl_arena_t *a, jl_str_t src, const jl_json_t *input, const jl_fp_env_t *env,
		      jl_fp_coll_t *out, jl_diag_t *d) JL_MUST_USE;

#endif
