/*
 * defs — the search parameters this server indexes: the generated R4 ones
 * (fhir/searchparam.h) plus custom SearchParameter resources stored in the
 * data directory, each with its FHIRPath compiled once. Built at start,
 * read-only afterwards, shared by every thread.
 *
 * A fingerprint of all definitions is stored with the index: when it
 * changes (a custom SearchParameter was added, or the software brought
 * other definitions) the index must be rebuilt (jl_search_reindex,
 * `jianlian reindex`), because rows are removed by extracting them again.
 */
#ifndef JL_SEARCH_DEFS_H
#define JL_SEARCH_DEFS_H

#include <stdint.h>

#include "base/err.h"
#include "fhir/fhirpath.h"
#include "fhir/searchparam.h"
#include "store/store.h"

typedef struct jl_search_defs jl_search_defs_t;

/*
 * Compiles the generated parameters and, when store is given, adds the
 * custom SearchParameter resources it holds (active or draft, with a base,
 * a code, an expression and a type other than composite or special, whose
 * (base, code) is not already defined). Problems with a custom parameter
 * are warnings in d; that parameter is left out.
 */
jl_rc jl_search_defs_new(jl_search_defs_t **out, jl_store_t *store, jl_diag_t *d) JL_MUST_USE;
void jl_search_defs_free(jl_search_defs_t *defs);

/* The parameter `code` of `type` (its own, custom, then Resource's and DomainResource's); NULL if none. */
const jl_searchparam_t *jl_search_param(const jl_search_defs_t *defs, jl_str_t type, jl_str_t code);
/* Every parameter of a type, generated then custom, in a stable order. */
void jl_search_each(const jl_search_defs_t *defs, jl_str_t type, void (*fn)(const jl_searchparam_t *p, void *arg),
		    void *arg);
/* A parameter's position in its type's list (the bit of jl_ix_rows_t.present); -1 past 255. */
int jl_search_param_pos(const jl_search_defs_t *defs, jl_str_t type, const jl_searchparam_t *p);
/* The compiled expression of a parameter (NULL when it has none or it did not compile). */
const jl_fp_expr_t *jl_search_defs_expr(const jl_search_defs_t *defs, const jl_searchparam_t *p);
/* The compiled expression of component i of a composite parameter. */
const jl_fp_expr_t *jl_search_defs_component(const jl_search_defs_t *defs, const jl_searchparam_t *p, uint8_t i);
/*
 * A derived parameter: one whose expression is the union of other
 * parameters' expressions (Observation's combo-code = code | component-code,
 * combo-code-value-quantity = code-value-quantity | component-code-value-quantity).
 * It has no index rows of its own (only its :missing bit): a condition on it
 * is the same condition on each source, OR'ed. Returns the number of sources
 * (0: not derived) and points *out at them. Tokens and composites only.
 */
uint8_t jl_search_defs_sources(const jl_search_defs_t *defs, const jl_searchparam_t *p,
			       const jl_searchparam_t *const **out);
uint64_t jl_search_defs_fingerprint(const jl_search_defs_t *defs);
uint32_t jl_search_defs_ncustom(const jl_search_defs_t *defs);

/* The meta key under which the store keeps the fingerprint its index was built with. */
#define JL_SEARCH_FINGERPRINT_KEY "search.fingerprint"

/*
 * Rebuilds every index row of every live resource with these definitions
 * (in batches, one transaction each) and records the fingerprint.
 * progress (may be NULL) is called now and then.
 */
jl_rc jl_search_reindex(const jl_search_defs_t *defs, jl_store_t *s, void (*progress)(void *arg, int64_t done, int64_t total),
			void *arg) JL_MUST_USE;

/*
 * At start: JL_OK when the stored index matches these definitions (an empty
 * store is stamped now); JL_ESTALE when it was built with others (or by a
 * version that did not record them) and must be rebuilt.
 */
jl_rc jl_search_check_index(const jl_search_defs_t *defs, jl_store_t *s) JL_MUST_USE;

#endif
