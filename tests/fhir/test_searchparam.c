/*
 * Unit tests for the generated search-parameter and compartment tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fhir/searchparam.h"

static void count(const jl_searchparam_t *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
}

static void test_lookup(void **state)
{
	(void)state;
	assert_int_equal(jl_nsearchparams, 1706);
	const jl_searchparam_t *p = jl_searchparam(JL_STR("Observation"), JL_STR("code"));
	assert_non_null(p);
	assert_int_equal(p->type, JL_SP_TOKEN);
	assert_string_equal(p->expression, "Observation.code");
	p = jl_searchparam(JL_STR("Observation"), JL_STR("subject"));
	assert_int_equal(p->type, JL_SP_REFERENCE);
	assert_true(p->ntargets >= 4);
	p = jl_searchparam(JL_STR("Patient"), JL_STR("_id"));
	assert_non_null(p);
	assert_string_equal(p->base, "Resource");
	p = jl_searchparam(JL_STR("Patient"), JL_STR("_text"));
	assert_string_equal(p->base, "DomainResource");
	assert_null(p->expression);
	assert_null(jl_searchparam(JL_STR("Patient"), JL_STR("nonsense")));
	p = jl_searchparam(JL_STR("Observation"), JL_STR("code-value-quantity"));
	assert_int_equal(p->type, JL_SP_COMPOSITE);
	assert_int_equal(p->ncomponents, 2);
	assert_string_equal(p->components[0].param, "code");
	assert_int_equal(p->components[1].type, JL_SP_QUANTITY);
	/* Multi-base parameters keep only their own branches. */
	p = jl_searchparam(JL_STR("Condition"), JL_STR("code"));
	assert_string_equal(p->expression, "Condition.code");
	int n = 0;
	jl_searchparam_each(JL_STR("Patient"), count, &n);
	assert_true(n > 25);
	/* Every reference parameter names its targets; every non-special parameter but _text/_content/_query has an expression. */
	for (uint32_t i = 0; i < jl_nsearchparams; i++) {
		const jl_searchparam_t *e = &jl_searchparams[i];
		if (!e->expression)
			assert_true(!strcmp(e->code, "_text") || !strcmp(e->code, "_content") || !strcmp(e->code, "_query"));
		if (i)
			assert_true(strcmp(jl_searchparams[i - 1].base, e->base) < 0 ||
				    (strcmp(jl_searchparams[i - 1].base, e->base) == 0 && strcmp(jl_searchparams[i - 1].code, e->code) < 0));
	}
}

static void test_compartments(void **state)
{
	(void)state;
	const jl_compartment_rule_t *r = jl_compartment_rule(JL_STR("Patient"), JL_STR("Observation"));
	assert_non_null(r);
	int subject = 0, performer = 0;
	for (int i = 0; i < r->nparams; i++) {
		subject |= !strcmp(r->params[i], "subject");
		performer |= !strcmp(r->params[i], "performer");
	}
	assert_true(subject && performer);
	assert_null(jl_compartment_rule(JL_STR("Patient"), JL_STR("CodeSystem")));
	assert_non_null(jl_compartment_rule(JL_STR("Encounter"), JL_STR("Observation")));
	assert_null(jl_compartment_rule(JL_STR("Nope"), JL_STR("Observation")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_compartments),
	};
	return cmocka_run_group_tests_name("fhir/searchparam", tests, NULL, NULL);
}
