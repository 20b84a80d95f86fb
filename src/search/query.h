/*
 * query — FHIR search parameters (as decoded name/value pairs) to the
 * store's query model (store.h jl_sq_query_t) plus the result options
 * (_count, _sort, _include, _revinclude, _summary, _elements, _total).
 *
 * Semantics per R4 search.html: comma = OR, repeated parameter = AND,
 * escapes \, \$ \| \\; string (starts-with, folded; :exact, :contains),
 * token (system|code forms, :text, :not, :of-type), reference (Type/id, id,
 * absolute, versioned, :[type], :identifier, chains), date/number/quantity
 * prefixes with implicit precision ranges, uri (:above, :below), composite
 * ($), :missing everywhere, _has (nested), _id, _lastUpdated, _type.
 *
 * A parameter this server does not know or cannot honour is an error with
 * strict handling and a warning (and skipped) with lenient handling; either
 * way the issue names the parameter. The applied parameters are listed so
 * the self link can show what was searched.
 */
#ifndef JL_SEARCH_QUERY_H
#define JL_SEARCH_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "fhir/searchparam.h"
#include "search/defs.h"
#include "store/store.h"

typedef struct jl_search_pair {
	jl_str_t k, v; /* percent-decoded name and value */
} jl_search_pair_t;

typedef enum jl_total_mode { JL_TOTAL_DEFAULT = 0, JL_TOTAL_NONE, JL_TOTAL_ESTIMATE, JL_TOTAL_ACCURATE } jl_total_mode;
typedef enum jl_summary_mode {
	JL_SUMMARY_FALSE = 0, JL_SUMMARY_TRUE, JL_SUMMARY_TEXT, JL_SUMMARY_DATA, JL_SUMMARY_COUNT,
} jl_summary_mode;

typedef struct jl_include {
	jl_str_t source;               /* source resource type, or "*" */
	const jl_searchparam_t *param; /* NULL: every reference parameter of the source ("*") */
	jl_str_t target;               /* target type restriction; empty: any */
	bool iterate;
	bool rev;                      /* _revinclude */
} jl_include_t;

typedef struct jl_search_cfg {
	const jl_search_defs_t *defs;  /* the search parameters (generated and custom) */
	jl_str_t base;                 /* this server's base URL: absolute references to it are local */
	uint32_t page_default;         /* _count when not given (default 20) */
	uint32_t page_max;             /* largest _count honoured (default 1000) */
} jl_search_cfg_t;

typedef struct jl_search_req {
	jl_sq_query_t q;               /* what the store runs (type, conditions, sorts, count) */
	jl_total_mode total;
	jl_summary_mode summary;
	const jl_str_t *elements;      /* _elements */
	uint32_t nelements;
	jl_include_t *includes;        /* _include and _revinclude, in order */
	uint32_t nincludes;
	bool explain;                  /* _debug=plan */
	jl_str_t cursor;               /* _page=<cursor>.<n> */
	uint32_t page;
	jl_search_pair_t *applied;     /* parameters applied, for the self link */
	uint32_t napplied;
} jl_search_req_t;

/*
 * Parses the parameters of a search on `type` (empty for a system search).
 * strict: the first problem is an error (JL_EINVAL, issue in d naming the
 * parameter); lenient: problems are warnings in d and the parameter is
 * skipped. Everything is allocated in a.
 */
jl_rc jl_search_parse(jl_arena_t *a, jl_str_t type, const jl_search_pair_t *params, size_t n, bool strict,
		      const jl_search_cfg_t *cfg, jl_search_req_t *out, jl_diag_t *d) JL_MUST_USE;

/* Splits a value on unescaped commas and removes the escapes (\, \$ \| \\). */
jl_rc jl_search_split(jl_arena_t *a, jl_str_t v, char sep, jl_str_t **parts, uint32_t *n) JL_MUST_USE;

#endif
