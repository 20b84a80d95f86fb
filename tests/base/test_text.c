/*
 * Unit tests for base/text (search folding) and base/hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "base/hash.h"
#include "base/text.h"

static const char *fold(jl_arena_t *a, const char *s)
{
	jl_str_t out;
	assert_int_equal(jl_text_fold(a, jl_cstr(s), &out), JL_OK);
	return out.p;
}

static void test_fold(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	assert_string_equal(fold(a, "Zoë"), "zoe");
	assert_string_equal(fold(a, "ZOE"), "zoe");
	assert_string_equal(fold(a, "\xef\xbd\x9a\xef\xbd\x8f\xef\xbd\x85"), "zoe"); /* full-width ｚｏｅ */
	assert_string_equal(fold(a, "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\xef\xbc\x91"), "abc1"); /* ＡＢＣ１ */
	assert_string_equal(fold(a, "  王\xe3\x80\x80 小明  "), "王 小明"); /* ideographic space */
	assert_string_equal(fold(a, "Straße"), "strasse");
	assert_string_equal(fold(a, "Ĉapelo-Müller"), "capelo-muller");
	assert_string_equal(fold(a, "plain text"), "plain text");
	assert_string_equal(fold(a, ""), "");
	jl_str_t out;
	assert_int_equal(jl_text_fold(a, JL_STR("\xff\xfe"), &out), JL_EINVAL);
	jl_arena_free(a);
}

static void test_hash(void **state)
{
	(void)state;
	/* Stable values: index keys depend on them (changing the function needs a reindex). */
	assert_true(jl_hash4(JL_STR("Patient"), JL_STR("name"), JL_STR(""), JL_STR("")) !=
		    jl_hash4(JL_STR("Patient"), JL_STR("nam"), JL_STR("e"), JL_STR("")));
	assert_true(jl_hash4(JL_STR("a"), JL_STR("bc"), JL_STR_NULL, JL_STR_NULL) !=
		    jl_hash4(JL_STR("ab"), JL_STR("c"), JL_STR_NULL, JL_STR_NULL));
	assert_int_equal(jl_hash4(JL_STR("x"), JL_STR("y"), JL_STR(""), JL_STR("")),
			 jl_hash4(JL_STR("x"), JL_STR("y"), JL_STR(""), JL_STR("")));
	/* Rough avalanche check: one bit of input flips about half the output bits. */
	int total = 0;
	for (int i = 0; i < 64; i++) {
		uint64_t v = 0x0123456789abcdefULL, w = v ^ (1ULL << i);
		uint64_t h1 = jl_hash_bytes(JL_HASH_SEED, &v, 8), h2 = jl_hash_bytes(JL_HASH_SEED, &w, 8);
		total += __builtin_popcountll(h1 ^ h2);
	}
	assert_true(total > 64 * 24 && total < 64 * 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests_name("base/text", tests, NULL, NULL);
}
