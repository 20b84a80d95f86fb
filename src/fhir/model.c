/*
 * model — lookups over the generated FHIR R4 tables in defs.gen.c.
 *
 * Every table the generator writes is sorted for exactly the lookup done
 * on it: jl_fhir_types by name, each type's props by JSON name,
 * jl_fhir_resources by name, each value set's codes by (code, system). So
 * each lookup here is one binary search, with no allocation, no locks and
 * no start-up work; jl_fhir_prop() runs once per JSON member during
 * validation.
 *
 * Names come in as jl_str_t (wire data, not NUL-terminated, may hold NUL
 * bytes) and are compared bytewise against the NUL-terminated table names,
 * which is the order the generator sorted them in (strcmp).
 */
#include "fhir/model.h"

#include <stddef.h>
#include <string.h>

/*
 * Bytewise order of s against the NUL-terminated c, as strcmp would order
 * them if s were terminated: <0, 0, >0. A NUL inside s sorts after the end
 * of c, so such a name never equals a table name.
 */
static int cmp_name(jl_str_t s, const char *c)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char a = (unsigned char)s.p[i], b = (unsigned char)c[i];
		if (b == 0)
			return 1; /* c is a proper prefix of s */
		if (a != b)
			return a < b ? -1 : 1;
	}
	return c[s.n] == 0 ? 0 : -1;
}

const jl_fhir_type_t *jl_fhir_type(jl_str_t name)
{
	size_t lo = 0, hi = jl_fhir_ntypes;

	if (!name.p)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_name(name, jl_fhir_types[mid].name);
		if (c == 0)
			return &jl_fhir_types[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const jl_fhir_type_t *jl_fhir_resource(jl_str_t name)
{
	size_t lo = 0, hi = jl_fhir_nresources;

	if (!name.p)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const jl_fhir_type_t *t = &jl_fhir_types[jl_fhir_resources[mid]];
		int c = cmp_name(name, t->name);
		if (c == 0)
			return t;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

uint16_t jl_fhir_type_index(const jl_fhir_type_t *t)
{
	return (uint16_t)(t - jl_fhir_types);
}

const jl_fhir_prop_t *jl_fhir_prop(const jl_fhir_type_t *t, jl_str_t json)
{
	size_t lo = 0, hi = t ? t->nprops : 0;

	if (!json.p || json.n == 0)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *c = t->props[mid].json;
		/* Most probes differ in the first byte; decide those inline. */
		unsigned char a = (unsigned char)json.p[0], b = (unsigned char)c[0];
		int r = a != b ? (a < b ? -1 : 1) : cmp_name(json, c);
		if (r == 0)
			return &t->props[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Index of a system URL in the value set, or -1. Value sets name few systems. */
static int vs_system(const jl_fhir_valueset_t *vs, jl_str_t system)
{
	for (uint16_t i = 0; i < vs->nsys; i++)
		if (cmp_name(system, vs->systems[i]) == 0)
			return i;
	return -1;
}

bool jl_fhir_vs_contains(const jl_fhir_valueset_t *vs, jl_str_t system, jl_str_t code)
{
	int sys = -1;
	size_t lo = 0, hi;

	if (!vs || !code.p || code.n == 0)
		return false;
	if (system.n) {
		sys = vs_system(vs, system);
		if (sys < 0)
			return false;
	}
	/* Lower bound of code: codes equal to it follow in system order. */
	hi = vs->ncodes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_name(code, vs->codes[mid].code) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < vs->ncodes && cmp_name(code, vs->codes[lo].code) == 0; lo++)
		if (sys < 0 || vs->codes[lo].sys == sys)
			return true;
	return false;
}
