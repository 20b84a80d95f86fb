/*
 * fhirpath_int — what the FHIRPath compiler and evaluator files share:
 * the AST, the function table, exact decimals, date/time values, and the
 * evaluation context. Not a public interface (fhirpath.h is); names are
 * jl__fp_* for non-static functions shared between the files:
 *
 *   fhirpath_parse.c   lexer, parser, type specifiers, compile
 *   fhirpath_eval.c    the evaluator: navigation, operators, equality, order
 *   fhirpath_value.c   decimals, date/time, quantities, conversions, text forms
 *   fhirpath_funcs.c   the function library
 *   fhirpath_regex.c   the regular expressions of matches()/replaceMatches()
 */
#ifndef JL_FHIR_FHIRPATH_INT_H
#define JL_FHIR_FHIRPATH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "fhir/fhirpath.h"

/* Caps: input that exceeds them is an error (JL_ETOOBIG), never a crash. */
#define FP_MAX_SRC (64u * 1024)      /* expression length */
#define FP_MAX_DEPTH 200             /* parser nesting; bounds evaluator recursion too */
#define FP_MAX_ITEMS (1u << 20)      /* items in one collection */
#define FP_MAX_STEPS 20000000u       /* evaluation work units per jl_fp_eval */
#define FP_MAX_STRING (16u << 20)    /* bytes of one string built during evaluation */

/* ------------------------------------------------------------------ AST */

typedef enum fp_nkind {
	N_EMPTY = 1,  /* {} */
	N_LIT,        /* literal item */
	N_THIS,       /* $this */
	N_INDEX,      /* $index */
	N_TOTAL,      /* $total */
	N_VAR,        /* %name */
	N_IDENT,      /* identifier at the start of a path (member of $this, or a type filter) */
	N_MEMBER,     /* left.name */
	N_CALL,       /* [left.]fn(args) */
	N_INDEXER,    /* left[right] */
	N_NEG,        /* -left */
	N_POS,        /* +left */
	N_BIN,        /* left op right */
	N_IS,         /* left is type */
	N_AS,         /* left as type */
} fp_nkind;

typedef enum fp_op {
	OP_MUL = 1, OP_DIV, OP_IDIV, OP_MOD,
	OP_ADD, OP_SUB, OP_CONCAT,
	OP_UNION,
	OP_LT, OP_GT, OP_LE, OP_GE,
	OP_EQ, OP_EQUIV, OP_NE, OP_NEQUIV,
	OP_IN, OP_CONTAINS,
	OP_AND,
	OP_OR, OP_XOR,
	OP_IMPLIES,
} fp_op;

/* A resolved type specifier. */
typedef struct fp_tspec {
	const jl_fhir_type_t *fhir; /* FHIR type, or NULL */
	uint8_t sys;                /* System type as a jl_fp_kind (JL_FP_BOOLEAN …), or 0 */
	jl_str_t name;              /* as written, for messages */
} fp_tspec_t;

typedef struct fp_node fp_node_t;
struct fp_node {
	uint8_t kind;       /* fp_nkind */
	uint8_t op;         /* N_BIN: fp_op */
	uint16_t fn;        /* N_CALL: fp_fn */
	uint16_t nargs;
	uint16_t h;         /* height of the subtree (capped: bounds evaluator recursion) */
	uint32_t pos;       /* byte offset in the source, for messages */
	fp_node_t *left;    /* input / left operand; NULL for a call without a focus */
	fp_node_t *right;   /* N_BIN, N_INDEXER */
	fp_node_t **args;   /* N_CALL */
	jl_str_t name;      /* N_IDENT, N_MEMBER, N_VAR, N_CALL (function name) */
	fp_tspec_t ts;      /* N_IS, N_AS, is()/as()/ofType(); N_IDENT: ts.fhir = the type the name denotes */
	jl_fp_item_t lit;   /* N_LIT */
};

struct jl_fp_expr {
	fp_node_t *root;
	jl_str_t src;
};

/* ------------------------------------------------------------------ functions */

typedef enum fp_fn {
	F_NONE = 0,
#define FP_FN(id, name, min, max, lambda) id,
#include "fhir/fhirpath_fn.h"
#undef FP_FN
	F_COUNT
} fp_fn;

typedef struct fp_fninfo {
	const char *name;
	uint8_t min, max;   /* argument count */
	uint8_t lambda;     /* bit i: argument i is evaluated per input item ($this, $index) */
} fp_fninfo_t;

extern const fp_fninfo_t jl__fp_fns[F_COUNT];

/* ------------------------------------------------------------------ values */

/* An exact decimal: m / 10^scale. */
typedef struct fp_dec {
	__int128 m;
	int scale;
} fp_dec_t;

#define FP_DEC_MAX_SCALE 36

bool jl__fp_dec_parse(jl_str_t s, fp_dec_t *out);
jl_str_t jl__fp_dec_text(jl_arena_t *a, fp_dec_t v); /* p NULL on ENOMEM */
double jl__fp_dec_double(fp_dec_t v);
int jl__fp_dec_cmp(fp_dec_t a, fp_dec_t b);
bool jl__fp_dec_add(fp_dec_t a, fp_dec_t b, fp_dec_t *out);
bool jl__fp_dec_sub(fp_dec_t a, fp_dec_t b, fp_dec_t *out);
bool jl__fp_dec_mul(fp_dec_t a, fp_dec_t b, fp_dec_t *out);
/* Division to at least 8 places, trailing zeros dropped; false on /0 or overflow. */
bool jl__fp_dec_div(fp_dec_t a, fp_dec_t b, fp_dec_t *out);
bool jl__fp_dec_rescale(fp_dec_t a, int scale, fp_dec_t *out); /* rounds half away from zero */
fp_dec_t jl__fp_dec_trunc(fp_dec_t a, int scale);                /* toward zero */
bool jl__fp_dec_from_double(double d, fp_dec_t *out);
fp_dec_t jl__fp_dec_trim(fp_dec_t a);                             /* drop trailing zeros */
static inline fp_dec_t jl__fp_dec_int(int64_t i) { return (fp_dec_t){(__int128)i, 0}; }

/* Date/time precisions, finest last. */
enum { P_YEAR = 1, P_MONTH, P_DAY, P_HOUR, P_MINUTE, P_SECOND, P_MILLI };

typedef struct fp_dt {
	int y, mo, d, h, mi, s, ms;
	int prec;        /* P_* (a TIME starts at P_HOUR) */
	int frac_digits; /* digits of the fraction as written (P_MILLI) */
	int tz;          /* offset east of UTC in minutes */
	bool has_tz;
	uint8_t kind;    /* JL_FP_DATE, JL_FP_DATETIME, JL_FP_TIME */
} fp_dt_t;

/* Parses the text of a DATE/DATETIME/TIME (without '@'; a TIME without 'T'). */
bool jl__fp_dt_parse(jl_str_t s, uint8_t kind, fp_dt_t *out);
jl_str_t jl__fp_dt_text(jl_arena_t *a, const fp_dt_t *v);
/* Compares: -1/0/1, or 2 when the precisions make it unknowable. */
int jl__fp_dt_cmp(const fp_dt_t *a, const fp_dt_t *b);
/* Adds n units (P_YEAR … P_MILLI); false when the result is out of range. */
bool jl__fp_dt_add(fp_dt_t *v, int unit, int64_t n);

/* ------------------------------------------------------------------ evaluation */

typedef struct fp_vec {
	jl_fp_item_t *p;
	size_t n, cap;
} fp_vec_t;

typedef struct fp_scope {
	const jl_fp_item_t *self;  /* $this (NULL: empty) */
	int64_t index;             /* $index (-1: none) */
	const jl_fp_coll_t *total; /* $total (NULL: none) */
} fp_scope_t;

typedef struct fp_ev {
	jl_arena_t *a;
	const jl_fp_env_t *env;
	jl_diag_t *d;
	jl_str_t src;
	jl_fp_item_t root;         /* %resource, %context */
	bool has_root;
	uint64_t steps;
	int64_t now_us;
	uint32_t flags;
} fp_ev_t;

jl_rc jl__fp_err(fp_ev_t *ev, const fp_node_t *n, jl_rc rc, const char *fmt, ...) JL_PRINTF(4, 5);
jl_rc jl__fp_push(fp_ev_t *ev, fp_vec_t *v, const jl_fp_item_t *it) JL_MUST_USE;
jl_rc jl__fp_eval_node(fp_ev_t *ev, const fp_node_t *n, const fp_scope_t *sc, jl_fp_coll_t *out) JL_MUST_USE;
jl_rc jl__fp_call(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *in, const fp_scope_t *sc,
		  jl_fp_coll_t *out) JL_MUST_USE;
static inline jl_rc jl__fp_step(fp_ev_t *ev, const fp_node_t *n, uint64_t k)
{
	ev->steps += k;
	if (ev->steps > FP_MAX_STEPS)
		return jl__fp_err(ev, n, JL_ETOOBIG, "evaluation exceeds %u steps", FP_MAX_STEPS);
	return JL_OK;
}

/*
 * A set of items under FHIRPath equality, for union, distinct() and the
 * like: a hash of each item's value (equal items hash equally) indexes an
 * open-addressing table of positions in an item array the caller owns.
 */
typedef struct fp_hset {
	uint32_t *tab; /* position + 1; 0 = free */
	size_t mask, n;
} fp_hset_t;

uint64_t jl__fp_hash(fp_ev_t *ev, const jl_fp_item_t *it);
/* Whether items[] (indexed by the set) holds an item equal to it (hash h). */
bool jl__fp_hset_has(fp_ev_t *ev, const fp_hset_t *s, const jl_fp_item_t *items, const jl_fp_item_t *it, uint64_t h);
/* Adds position pos of items[] (hash h); grows the table as needed. */
jl_rc jl__fp_hset_add(fp_ev_t *ev, fp_hset_t *s, const jl_fp_item_t *items, size_t pos, uint64_t h) JL_MUST_USE;

/* a | b: the items of both, without duplicates (=). */
jl_rc jl__fp_union(fp_ev_t *ev, const fp_node_t *n, const jl_fp_coll_t *a, const jl_fp_coll_t *b,
		   jl_fp_coll_t *out) JL_MUST_USE;

/* Children of a NODE (children()), appended to v. */
jl_rc jl__fp_children(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, fp_vec_t *v) JL_MUST_USE;
/* Member `name` of each item (path navigation). */
jl_rc jl__fp_member(fp_ev_t *ev, const fp_node_t *n, const jl_fp_item_t *it, jl_str_t name, fp_vec_t *v) JL_MUST_USE;
/* A NODE for a JSON value of a known (or resolvable: resourceType) type. */
jl_fp_item_t jl__fp_node(const jl_fhir_type_t *t, const jl_json_t *v, const jl_json_t *ext);

/* The System value of an item: NODE primitives (and Quantity) converted, others unchanged.
 * false when the item has no System value (a complex node, a primitive without value). */
bool jl__fp_value(fp_ev_t *ev, const jl_fp_item_t *it, jl_fp_item_t *out);

/* Equality (=): 1 true, 0 false, -1 unknown (empty). Equivalence (~): true/false. */
int jl__fp_equal(fp_ev_t *ev, const jl_fp_item_t *a, const jl_fp_item_t *b);
bool jl__fp_equiv(fp_ev_t *ev, const jl_fp_item_t *a, const jl_fp_item_t *b);
/* Order: -1/0/1; 2 unknown (empty); 3 not comparable (an error). */
int jl__fp_compare(fp_ev_t *ev, const jl_fp_item_t *a, const jl_fp_item_t *b);

/* Type tests. exact: as()/ofType() (constraints such as Age count as their base);
 * otherwise is() (specialisations such as code → string count too). */
bool jl__fp_is_type(const jl_fp_item_t *it, const fp_tspec_t *ts, bool exact);
/* Resolves a type name ("Patient", "FHIR.string", "System.Boolean"); false if unknown. */
bool jl__fp_tspec(jl_str_t name, fp_tspec_t *out);

/* Quantities. */
typedef struct fp_qty {
	fp_dec_t v;
	jl_str_t unit;
	bool nomem; /* jl__fp_qty_arith failed for want of memory */
} fp_qty_t;
bool jl__fp_qty_of(const jl_fp_item_t *it, fp_qty_t *q); /* a QUANTITY item */
jl_rc jl__fp_mk_qty(fp_ev_t *ev, fp_dec_t v, jl_str_t unit, jl_fp_item_t *out) JL_MUST_USE;
/* Compares quantities: -1/0/1, 2 when the units are not comparable. equiv: round to the least precision. */
int jl__fp_qty_cmp(const fp_qty_t *a, const fp_qty_t *b, bool equiv);
/* a op b for + - * /; false when not defined (units) or overflow. */
bool jl__fp_qty_arith(jl_arena_t *a, int op, const fp_qty_t *x, const fp_qty_t *y, fp_qty_t *out);
/* A calendar unit word or a UCUM time unit as a date/time precision unit (P_*) times *mult
 * (7 for weeks); 0 if neither. *ucum_calendar: 'a'/'mo' (not usable in date arithmetic). */
int jl__fp_time_unit(jl_str_t unit, int *mult, bool *ucum_calendar);
/* Whether two units can be compared (comparable()). */
bool jl__fp_units_comparable(jl_str_t a, jl_str_t b);

/* Items of System kinds. */
static inline jl_fp_item_t jl__fp_bool(bool b) { return (jl_fp_item_t){.kind = JL_FP_BOOLEAN, .i = b}; }
static inline jl_fp_item_t jl__fp_int(int64_t i) { return (jl_fp_item_t){.kind = JL_FP_INTEGER, .i = i}; }
static inline jl_fp_item_t jl__fp_str(jl_str_t s) { return (jl_fp_item_t){.kind = JL_FP_STRING, .s = s}; }
jl_rc jl__fp_mk_dec(fp_ev_t *ev, fp_dec_t v, jl_fp_item_t *out) JL_MUST_USE;
jl_rc jl__fp_mk_dt(fp_ev_t *ev, const fp_dt_t *v, jl_fp_item_t *out) JL_MUST_USE;
/* The decimal value of an INTEGER or DECIMAL item. */
bool jl__fp_num(const jl_fp_item_t *it, fp_dec_t *out);

/* Conversions (toX()/convertsToX()): false when not convertible. */
bool jl__fp_to_boolean(const jl_fp_item_t *v, bool *out);
bool jl__fp_to_integer(const jl_fp_item_t *v, int64_t *out);
bool jl__fp_to_decimal(const jl_fp_item_t *v, fp_dec_t *out);
bool jl__fp_to_dt(const jl_fp_item_t *v, uint8_t kind, fp_dt_t *out);
bool jl__fp_to_quantity(jl_arena_t *a, const jl_fp_item_t *v, fp_qty_t *out);

/* Regular expressions (fhirpath_regex.c). */
typedef struct fp_re fp_re_t;
jl_rc jl__fp_re_compile(jl_arena_t *a, jl_str_t pattern, fp_re_t **out, const char **why) JL_MUST_USE;
/* Leftmost match at or after `from`: caps[0..1] the match, caps[2k..2k+1] group k (-1 unset). */
int jl__fp_re_exec(const fp_re_t *re, jl_str_t s, size_t from, bool anchored, long *caps, int ncaps,
		   uint64_t *steps);
int jl__fp_re_ngroups(const fp_re_t *re);

#endif
