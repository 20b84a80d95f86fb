/*
 * test_defs — derived search parameters (search/defs.h): which R4
 * parameters are unions of others, and that nothing else is taken for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "search/defs.h"

static jl_search_defs_t *defs;

static int setup(void **state)
{
	(void)state;
	return jl_search_defs_new(&defs, NULL, NULL) == JL_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	jl_search_defs_free(defs);
	return 0;
}

static void expect_sources(const char *type, const char *code, const char *a, const char *b)
{
	const jl_searchparam_t *p = jl_search_param(defs, jl_cstr(type), jl_cstr(code));
	assert_non_null(p);
	const jl_searchparam_t *const *src;
	uint8_t n = jl_search_defs_sources(defs, p, &src);
	if (!a) {
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(n, 2);
	assert_string_equal(src[0]->code, a);
	assert_string_equal(src[1]->code, b);
	assert_string_equal(src[0]->base, type);
}

static void test_observation_unions(void **state)
{
	(void)state;
	expect_sources("Observation", "combo-code", "code", "component-code");
	expect_sources("Observation", "combo-value-concept", "value-concept", "component-value-concept");
	expect_sources("Observation", "combo-code-value-quantity", "code-value-quantity", "component-code-value-quantity");
	expect_sources("Observation", "combo-code-value-concept", "code-value-concept", "component-code-value-concept");
	expect_sources("Observation", "combo-data-absent-reason", "data-absent-reason", "component-data-absent-reason");
	/* quantities keep their rows (they sort by them); plain parameters are not unions */
	expect_sources("Observation", "combo-value-quantity", NULL, NULL);
	expect_sources("Observation", "code", NULL, NULL);
	expect_sources("Observation", "subject", NULL, NULL);
	expect_sources("Patient", "name", NULL, NULL);
}

/* Every derived parameter's sources share its base and type and have rows of their own. */
static void test_sources_are_sound(void **state)
{
	(void)state;
	uint32_t derived = 0;
	for (uint32_t i = 0; i < jl_nsearchparams; i++) {
		const jl_searchparam_t *p = &jl_searchparams[i], *const *src;
		uint8_t n = jl_search_defs_sources(defs, p, &src);
		if (!n)
			continue;
		derived++;
		assert_true(p->type == JL_SP_TOKEN || p->type == JL_SP_COMPOSITE);
		for (uint8_t k = 0; k < n; k++) {
			const jl_searchparam_t *const *s2;
			assert_string_equal(src[k]->base, p->base);
			assert_int_equal(src[k]->type, p->type);
			assert_int_equal(jl_search_defs_sources(defs, src[k], &s2), 0);
			assert_non_null(strstr(p->expression, src[k]->expression));
		}
	}
	printf("derived search parameters: %u of %u\n", derived, jl_nsearchparams);
	assert_true(derived >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observation_unions),
		cmocka_unit_test(test_sources_are_sound),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
