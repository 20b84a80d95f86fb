/*
 * Unit tests for base/json: grammar, UTF-8, escapes, exact numbers,
 * duplicate keys, depth cap, writer round trip, allocation failure.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/json.h"

static jl_rc parse(jl_arena_t *a, const char *s, jl_json_t **v, jl_json_err_t *e)
{
	return jl_json_parse(a, s, strlen(s), NULL, v, e);
}

static char *roundtrip(jl_arena_t *a, const char *s, int pretty)
{
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(parse(a, s, &v, &e), JL_OK);
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	assert_int_equal(jl_json_write(&b, v, pretty), JL_OK);
	char *r = jl_arena_strndup(a, b.p, b.n);
	jl_buf_dispose(&b);
	return r;
}

static void test_valid_documents(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	const char *ok[] = {
		"{}", "[]", "0", "-0", "1.50", "1e10", "-1.5E-3", "\"\"", "true", "false", "null",
		"{\"a\":[1,2,{\"b\":null}]}", " \n\t{ \"x\" : \"y\" } ", "\"\\u00e9\\ud83d\\ude00\"",
		"\"\xe4\xb8\xad\xe6\x96\x87\"", "12345678901234567890123",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		jl_json_t *v;
		jl_json_err_t e;
		jl_rc rc = parse(a, ok[i], &v, &e);
		if (rc)
			fail_msg("rejected %s: %s", ok[i], e.msg);
	}
	jl_arena_free(a);
}

static void test_invalid_documents(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	const char *bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "1e", "-", "tru", "nul",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"",
		"{\"a\" 1}", "{1:2}", "[1 2]", "{} {}", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "\"\xe4\xb8\"", "{\"a\":1,\"a\":2}", "NaN", "[Infinity]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		jl_json_t *v;
		jl_json_err_t e;
		jl_rc rc = parse(a, bad[i], &v, &e);
		if (rc == JL_OK)
			fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
		assert_non_null(e.msg[0] ? e.msg : NULL);
	}
	jl_arena_free(a);
}

static void test_error_position(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(parse(a, "{\n  \"a\": [1,\n  2,,]\n}", &v, &e), JL_EINVAL);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.col, 5);
	jl_arena_free(a);
}

static void test_numbers_keep_text(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	assert_string_equal(roundtrip(a, "{\"v\":1.50,\"w\":1.0e2,\"big\":123456789012345678901234567890}", 0),
			    "{\"v\":1.50,\"w\":1.0e2,\"big\":123456789012345678901234567890}");
	jl_arena_free(a);
}

static void test_strings_with_nul_and_escapes(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(parse(a, "\"a\\u0000b\\n\\\"\\/\"", &v, &e), JL_OK);
	assert_int_equal(v->n, 6);
	assert_memory_equal(v->u.s, "a\0b\n\"/", 6);
	assert_string_equal(roundtrip(a, "\"a\\u0000b\\u001f\\t\\\\\"", 0), "\"a\\u0000b\\u001f\\t\\\\\"");
	assert_string_equal(roundtrip(a, "\"\\u4e2d\"", 0), "\"\xe4\xb8\xad\"");
	jl_arena_free(a);
}

static void test_depth_cap(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	char deep[600];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(jl_json_parse(a, deep, 600, NULL, &v, &e), JL_ETOOBIG);
	jl_json_opts_t o = {.max_depth = 400};
	assert_int_equal(jl_json_parse(a, deep, 600, &o, &v, &e), JL_OK);
	jl_arena_free(a);
}

static void test_duplicates_allowed_by_flag(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {.flags = JL_JSON_ALLOW_DUP_KEYS};
	const char *s = "{\"a\":1,\"a\":2}";
	assert_int_equal(jl_json_parse(a, s, strlen(s), &o, &v, &e), JL_OK);
	/* Large object: duplicate found through the sorted path. */
	char big[4096];
	size_t n = 0;
	big[n++] = '{';
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "\"k%d\":%d,", i, i);
	n += (size_t)snprintf(big + n, sizeof big - n, "\"k7\":0}");
	assert_int_equal(jl_json_parse(a, big, n, NULL, &v, &e), JL_EINVAL);
	jl_arena_free(a);
}

static void test_pretty(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	assert_string_equal(roundtrip(a, "{\"a\":[1,{}],\"b\":{\"c\":\"d\"},\"e\":[]}", 1),
			    "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"d\"\n  },\n  \"e\": []\n}");
	jl_arena_free(a);
}

static void test_accessors_and_edit(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(parse(a, "{\"resourceType\":\"Patient\",\"id\":\"x\"}", &v, &e), JL_OK);
	assert_true(jl_str_eqc(jl_json_str(jl_json_get(v, "resourceType")), "Patient"));
	assert_null(jl_json_get(v, "nope"));
	assert_int_equal(jl_json_obj_set(a, v, JL_STR("id"), jl_json_mkstr(JL_STR("y"))), JL_OK);
	assert_int_equal(jl_json_obj_set(a, v, JL_STR("z"), jl_json_mkstr(JL_STR("1"))), JL_OK);
	jl_json_obj_del(v, JL_STR("resourceType"));
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	assert_int_equal(jl_json_write(&b, v, 0), JL_OK);
	assert_string_equal(b.p, "{\"id\":\"y\",\"z\":\"1\"}");
	jl_buf_dispose(&b);
	jl_json_t *w;
	assert_int_equal(parse(a, "{\"z\":\"1\",\"id\":\"y\"}", &w, &e), JL_OK);
	assert_true(jl_json_equal(v, w));
	jl_arena_free(a);
}

static void test_array_edit(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v, *w;
	jl_json_err_t e;
	assert_int_equal(parse(a, "[\"b\",\"d\"]", &v, &e), JL_OK);
	assert_int_equal(jl_json_arr_insert(a, v, 0, jl_json_mkstr(JL_STR("a"))), JL_OK);
	assert_int_equal(jl_json_arr_insert(a, v, 2, jl_json_mkstr(JL_STR("c"))), JL_OK);
	assert_int_equal(jl_json_arr_insert(a, v, 4, jl_json_mkstr(JL_STR("e"))), JL_OK);
	assert_int_equal(jl_json_arr_insert(a, v, 6, jl_json_mkstr(JL_STR("x"))), JL_EINVAL);
	assert_int_equal(parse(a, "[\"a\",\"b\",\"c\",\"d\",\"e\"]", &w, &e), JL_OK);
	assert_true(jl_json_equal(v, w));
	jl_json_arr_del(v, 0);
	jl_json_arr_del(v, 3);
	jl_json_arr_del(v, 3); /* out of range: no-op */
	assert_int_equal(parse(a, "[\"b\",\"c\",\"d\"]", &w, &e), JL_OK);
	assert_true(jl_json_equal(v, w));
	/* An empty array grows from nothing; a non-array is refused. */
	assert_int_equal(parse(a, "{\"k\":[]}", &w, &e), JL_OK);
	jl_json_t *k = &w->u.o[0].v;
	assert_int_equal(jl_json_arr_insert(a, k, 0, jl_json_mkstr(JL_STR("z"))), JL_OK);
	assert_int_equal(k->n, 1);
	assert_int_equal(jl_json_arr_insert(a, w, 0, jl_json_mkstr(JL_STR("z"))), JL_EINVAL);
	jl_arena_free(a);
}

static void test_alloc_failure(void **state)
{
	(void)state;
	const char *doc = "{\"a\":[1,2,3,{\"b\":\"c\\n\"}],\"d\":{\"e\":[true,false,null]}}";
	/* Fail each allocation in turn: parse must report ENOMEM, never crash or leak. */
	for (int k = 0; k < 40; k++) {
		jl_arena_t *a = jl_arena_new(64, 0);
		assert_non_null(a);
		jl_json_t *v;
		jl_json_err_t e;
		jl_mem_fail_after(k, 1);
		jl_rc rc = jl_json_parse(a, doc, strlen(doc), NULL, &v, &e);
		int64_t failures = jl_mem_failures();
		jl_mem_fail_after(-1, 0);
		if (failures)
			assert_int_equal(rc, JL_ENOMEM);
		else
			assert_int_equal(rc, JL_OK);
		jl_arena_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_documents),
		cmocka_unit_test(test_invalid_documents),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_numbers_keep_text),
		cmocka_unit_test(test_strings_with_nul_and_escapes),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_duplicates_allowed_by_flag),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_accessors_and_edit),
		cmocka_unit_test(test_array_edit),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests_name("base/json", tests, NULL, NULL);
}
