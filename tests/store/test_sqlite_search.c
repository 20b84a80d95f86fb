/*
 * Unit tests for store/sqlite_search's planner internals (the file is
 * included to reach its statics, as STYLE.md allows): the estimate cache's
 * slot of a term. Searches themselves are tested end to end in
 * tests/http/search*.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "store/sqlite_search.c"

#define DAY_US 86400000000LL

static jl_sq_term_t date_term(int64_t k, uint8_t op, int64_t day)
{
	return (jl_sq_term_t){.kind = JL_SQ_RANGE, .table = JL_IX_DATE, .op = op, .k = k, .ia = day * DAY_US,
			      .ib = (day + 1) * DAY_US};
}

/* Date terms of one parameter that differ only in their day bounds spread over all the slots (they
 * all shared one; and no key was even, so half the slots stayed empty). */
static void date_terms_spread(void **state)
{
	(void)state;
	static bool used[EST_SLOTS];
	int distinct = 0;
	for (int64_t d = 0; d < 1000; d++) {
		jl_sq_term_t t = date_term(0x1234567, JL_SQ_GE, 19000 + d);
		uint64_t slot = term_key(&t) % EST_SLOTS;
		distinct += !used[slot];
		used[slot] = true;
	}
	/* 1,000 random keys in 8,192 slots take about 940 distinct ones */
	assert_true(distinct > 900);
}

/* The key is a function of the term: equal terms share it, a different prefix or parameter does not. */
static void keys_tell_terms_apart(void **state)
{
	(void)state;
	jl_sq_term_t a = date_term(77, JL_SQ_GE, 19500), b = date_term(77, JL_SQ_GE, 19500);
	jl_sq_term_t lt = date_term(77, JL_SQ_LT, 19500), other = date_term(78, JL_SQ_GE, 19500);
	assert_int_equal(term_key(&a), term_key(&b));
	assert_int_not_equal(term_key(&a), term_key(&lt));
	assert_int_not_equal(term_key(&a), term_key(&other));
	int64_t targets[2] = {101, 202};
	jl_sq_term_t r1 = {.kind = JL_SQ_REF, .table = JL_IX_REF, .k = 5, .targets = targets, .ntargets = 1};
	jl_sq_term_t r2 = r1;
	r2.targets = targets + 1;
	assert_int_not_equal(term_key(&r1), term_key(&r2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(date_terms_spread),
		cmocka_unit_test(keys_tell_terms_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
