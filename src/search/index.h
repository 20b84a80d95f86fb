/*
 * index — search index extraction: a resource in, the rows of the typed
 * index tables out (one set per current version, written by the store in
 * the same transaction as the version).
 *
 * Every row is keyed by k = hash(resource type, parameter, …): token rows
 * carry the code in the key (k = hash(T, P, code)) and its system in a
 * column, so a token condition is one B-tree range; range-like rows (date, number, quantity)
 * carry [lo, hi); string and uri rows carry their (folded) text for prefix
 * scans; reference rows carry the hash of the target ("Patient/123").
 * Key derivations are in docs/internals/search.md, and query.c derives the
 * same keys from search values — both go through the jl_ix_key_* helpers
 * below so they cannot drift apart.
 *
 * Extraction evaluates each parameter's compiled FHIRPath expression
 * (compiled once in jl_search_defs_t) and runs on the request's thread,
 * outside the store's write lock.
 */
#ifndef JL_SEARCH_INDEX_H
#define JL_SEARCH_INDEX_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/json.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"
#include "fhir/searchparam.h"
#include "search/defs.h"
#include "store/store.h"

/*
 * Extracts the index rows of a resource of type `type`. Rows live in a.
 * Problems evaluating one parameter are reported as warnings in d (if not
 * NULL) and that parameter is skipped; the call fails only on ENOMEM.
 */
jl_rc jl_index_extract(const jl_search_defs_t *defs, jl_arena_t *a, const jl_json_t *res,
		       const jl_fhir_type_t *type, jl_ix_rows_t *out, jl_diag_t *d) JL_MUST_USE;

/*
 * Fills a write's index fields: the rows of the new version (extracted from
 * `res`; NULL for a DELETE) and those of the version it replaces, read back
 * from the store and extracted again (none when the resource is absent,
 * or deleted, or w->kind is CREATE). Call again after the store answers
 * JL_ESTALE. Everything is allocated in a.
 */
jl_rc jl_index_prepare_write(const jl_search_defs_t *defs, jl_store_t *s, jl_arena_t *a, jl_write_t *w,
			     const jl_json_t *res) JL_MUST_USE;
/* Only the replaced version's rows (after JL_ESTALE, when the new rows are already set). */
jl_rc jl_index_refresh_old(const jl_search_defs_t *defs, jl_store_t *s, jl_arena_t *a, jl_write_t *w) JL_MUST_USE;

/*
 * The sort key of a stored version for a token or reference parameter (a
 * jl_sq_key_fn; arg is the jl_search_defs_t): its lowest code, identifier
 * value or reference for an ascending sort, the highest for a descending
 * one, compared as bytes.
 */
jl_rc jl_index_sort_key(const void *arg, jl_arena_t *a, const jl_version_t *v, jl_str_t param, bool desc,
			jl_str_t *key) JL_MUST_USE;

/* ---- keys (shared with query.c) ---- */

/* A token value: system may be empty ("no system"). */
int64_t jl_ix_key_token_any(jl_str_t type, jl_str_t param, jl_str_t code);     /* code, any system */
/* sys|code (|code when sys is empty): composite components only; token rows hold the system in a column */
int64_t jl_ix_key_token_sys(jl_str_t type, jl_str_t param, jl_str_t sys, jl_str_t code);
int64_t jl_ix_key_token_sysonly(jl_str_t type, jl_str_t param, jl_str_t sys); /* sys| */
/*
 * The system of a token row (jl_ix_row_t.s; its key is jl_ix_key_token_any): 0 for none, otherwise a
 * 30-bit hash of the system shifted left by one, so the low bit (JL_IX_TOKEN_DUP) is free.
 */
int64_t jl_ix_token_system(jl_str_t sys);
int64_t jl_ix_key_token_oftype(jl_str_t type, jl_str_t param, jl_str_t tsys, jl_str_t tcode, jl_str_t value);
int64_t jl_ix_key_ref_identifier(jl_str_t type, jl_str_t param, jl_str_t sys, jl_str_t value); /* :identifier */
/* The key of a parameter's rows in a non-token table (string, uri, ref, date, number, quantity-any). */
int64_t jl_ix_key_param(jl_str_t type, jl_str_t param);
int64_t jl_ix_key_text(jl_str_t type, jl_str_t param);                        /* token texts (TEXT rows) */
int64_t jl_ix_key_text_value(jl_str_t type, jl_str_t param, jl_str_t folded); /* TOKEN rows of one text */
int64_t jl_ix_key_exact(jl_str_t type, jl_str_t param);                       /* string rows as written (:exact) */
/*
 * Ends a folded string row whose text was written differently (see
 * string_value in index.c). A control character no validated FHIR string
 * holds, and search values holding one are refused.
 */
#define JL_IX_FOLDED_MARK '\x01'
/* A quantity unit as stored in its row (jl_ix_row_t us, uc, uu): sys|code, or code alone (sys empty); never 0. */
int64_t jl_ix_unit(jl_str_t sys, jl_str_t code);

/* A composite key: the parameter's key, the earlier components' keys, and the last part. */
int64_t jl_ix_key_combo(int64_t base, const int64_t *parts, size_t n, int64_t last);

/* The implicit range of a decimal written as text ("1.50" → [1.495, 1.505)). false if not a number. */
bool jl_ix_decimal_range(jl_str_t text, double *lo, double *hi, double *value);

#endif
