/*
 * ucum — a small reader of UCUM unit codes (unitsofmeasure.org): enough of
 * the grammar (prefixes, atoms, exponents, '.', '/', parentheses, factors
 * such as 10*3, {annotations}) and of the atom table (SI and derived units,
 * time, volume, the common customary units, mm[Hg]) to decide whether two
 * quantities can be compared and to convert one into the other's unit.
 * Used by FHIRPath (quantity equality and arithmetic) and usable by search
 * (quantity normalisation).
 *
 * A unit is a dimension vector over the UCUM base units plus an exact
 * rational scale factor num/den · 10^exp10 to those base units. Units with
 * an offset (Cel, [degF]) and units this table does not know are rejected:
 * callers then compare such quantities only when the codes are identical.
 *
 * Pure functions over constant tables: thread-safe, no allocation.
 */
#ifndef JL_FHIR_UCUM_H
#define JL_FHIR_UCUM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

/* Base dimensions: m, s, g, rad, K, C, cd, arbitrary units ([iU] …). */
#define JL_UCUM_NDIM 8

typedef struct jl_ucum_unit {
	int8_t dim[JL_UCUM_NDIM];
	int64_t num, den; /* factor to base units: num/den · 10^exp10 (den > 0) */
	int32_t exp10;
} jl_ucum_unit_t;

/* Parses a UCUM code ("mg", "kg/m2", "mm[Hg]", "10*3/uL", "{score}", "1"). false if unknown. */
bool jl_ucum_parse(jl_str_t code, jl_ucum_unit_t *out);

/* Whether quantities in a and b can be converted into each other (same dimensions). */
bool jl_ucum_comparable(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b);

/* a·b and a/b; false when a factor overflows. */
bool jl_ucum_mul(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b, jl_ucum_unit_t *out);
bool jl_ucum_div(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b, jl_ucum_unit_t *out);

#endif
