/*
 * searchparam — lookups over the generated search-parameter and
 * compartment tables (binary search on the sorted entries).
 */
#include "fhir/searchparam.h"

#include <string.h>

static int cmp_entry(jl_str_t base, jl_str_t code, const jl_searchparam_t *e)
{
	int c = jl_str_cmp(base, jl_cstr(e->base));
	return c ? c : jl_str_cmp(code, jl_cstr(e->code));
}

static const jl_searchparam_t *find(jl_str_t base, jl_str_t code)
{
	uint32_t lo = 0, hi = jl_nsearchparams;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = cmp_entry(base, code, &jl_searchparams[mid]);
		if (c == 0)
			return &jl_searchparams[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const jl_searchparam_t *jl_searchparam(jl_str_t type, jl_str_t code)
{
	const jl_searchparam_t *p = find(type, code);
	if (!p && !jl_str_eqc(type, "Resource"))
		p = find(JL_STR("DomainResource"), code);
	if (!p)
		p = find(JL_STR("Resource"), code);
	return p;
}

/* First entry of a base in the sorted table. */
static uint32_t first_of(jl_str_t base)
{
	uint32_t lo = 0, hi = jl_nsearchparams;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (jl_str_cmp(jl_cstr(jl_searchparams[mid].base), base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void each_of(jl_str_t base, void (*fn)(const jl_searchparam_t *, void *), void *arg)
{
	for (uint32_t i = first_of(base); i < jl_nsearchparams && jl_str_eqc(base, jl_searchparams[i].base); i++)
		fn(&jl_searchparams[i], arg);
}

void jl_searchparam_each(jl_str_t type, void (*fn)(const jl_searchparam_t *p, void *arg), void *arg)
{
	each_of(type, fn, arg);
	if (!jl_str_eqc(type, "Resource") && !jl_str_eqc(type, "DomainResource")) {
		each_of(JL_STR("DomainResource"), fn, arg);
		each_of(JL_STR("Resource"), fn, arg);
	}
}

const char *jl_sp_type_name(jl_sp_type t)
{
	static const char *const names[] = {"?",         "number",    "date", "string",  "token",
					    "reference", "composite", "quantity", "uri", "special"};
	return (unsigned)t <= JL_SP_SPECIAL ? names[t] : "?";
}

const jl_compartment_rule_t *jl_compartment_rule(jl_str_t compartment, jl_str_t resource)
{
	for (uint8_t i = 0; i < jl_ncompartments; i++) {
		const jl_compartment_t *c = &jl_compartments[i];
		if (!jl_str_eqc(compartment, c->code))
			continue;
		uint16_t lo = 0, hi = c->nrules;
		while (lo < hi) {
			uint16_t mid = (uint16_t)(lo + (hi - lo) / 2);
			int r = jl_str_cmp(resource, jl_cstr(c->rules[mid].resource));
			if (r == 0)
				return &c->rules[mid];
			if (r < 0)
				hi = mid;
			else
				lo = (uint16_t)(mid + 1);
		}
		return NULL;
	}
	return NULL;
}
