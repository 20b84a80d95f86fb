/*
 * Unit tests for base/time: the FHIR date-time grammar, precision ranges,
 * instant formatting and HTTP dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/rand.h"
#include "base/time.h"

static void test_datetime_grammar(void **state)
{
	(void)state;
	jl_datetime_t dt;
	const char *ok[] = {"2024", "2024-02", "2024-02-29", "2024-02-29T23:59:59Z", "2024-01-01T00:00:00.123+08:00",
			    "0001-01-01", "2024-12-31T10:00:00-14:00"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!jl_datetime_parse(jl_cstr(ok[i]), false, &dt))
			fail_msg("rejected %s", ok[i]);
	const char *bad[] = {"24", "2023-02-29", "2024-13", "2024-00-10", "2024-1-1", "2024-01-01T10:00Z",
			     "2024-01-01T10:00:00", "2024-01-01T24:00:00Z", "2024-01-01T10:00:60Z", "2024-01-01 10:00:00Z",
			     "2024-01-01T10:00:00+15:00", "2024-01-01T10:00:00.Z", "0000", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (jl_datetime_parse(jl_cstr(bad[i]), false, &dt))
			fail_msg("accepted %s", bad[i]);
	assert_true(jl_datetime_parse(JL_STR("2024-01-01T10:00"), true, &dt));
	assert_int_equal(dt.prec, JL_DT_MINUTE);
	assert_true(jl_time_parse(JL_STR("23:59:59.5"), &dt));
	assert_false(jl_time_parse(JL_STR("23:59"), &dt));
}

static void test_ranges(void **state)
{
	(void)state;
	jl_datetime_t dt;
	int64_t lo, hi;
	/* A year, a month in a leap year, a day, a second with a zone, a fraction. */
	assert_true(jl_datetime_parse(JL_STR("2024"), false, &dt));
	jl_datetime_range(&dt, &lo, &hi);
	assert_int_equal(lo, 1704067200LL * 1000000);
	assert_int_equal(hi, 1735689600LL * 1000000);
	assert_true(jl_datetime_parse(JL_STR("2024-02"), false, &dt));
	jl_datetime_range(&dt, &lo, &hi);
	assert_int_equal(hi - lo, 29LL * 86400 * 1000000);
	assert_true(jl_datetime_parse(JL_STR("2024-03-01T08:00:00+08:00"), false, &dt));
	jl_datetime_range(&dt, &lo, &hi);
	assert_int_equal(lo, 1709251200LL * 1000000); /* 2024-03-01T00:00:00Z */
	assert_int_equal(hi - lo, 1000000);
	assert_true(jl_datetime_parse(JL_STR("2024-03-01T00:00:00.12Z"), false, &dt));
	jl_datetime_range(&dt, &lo, &hi);
	assert_int_equal(lo, 1709251200LL * 1000000 + 120000);
	assert_int_equal(hi - lo, 10000);
}

static void test_formats(void **state)
{
	(void)state;
	char b[32];
	assert_int_equal(jl_time_fmt_instant(1709251200LL * 1000000 + 123456, b), 24);
	assert_string_equal(b, "2024-03-01T00:00:00.123Z");
	jl_time_fmt_http(784111777LL * 1000000, b);
	assert_string_equal(b, "Sun, 06 Nov 1994 08:49:37 GMT");
	int64_t us;
	assert_true(jl_time_parse_http("Sun, 06 Nov 1994 08:49:37 GMT", &us));
	assert_int_equal(us, 784111777LL * 1000000);
	assert_true(jl_time_parse_http("Sunday, 06-Nov-94 08:49:37 GMT", &us));
	assert_int_equal(us, 784111777LL * 1000000);
	assert_true(jl_time_parse_http("Sun Nov  6 08:49:37 1994", &us));
	assert_int_equal(us, 784111777LL * 1000000);
	assert_false(jl_time_parse_http("Sun, 06 Nov 1994 08:49:37 PST", &us));
	assert_false(jl_time_parse_http("Sun, 31 Feb 1994 08:49:37 GMT", &us));
	assert_false(jl_time_parse_http("yesterday", &us));
	assert_false(jl_time_parse_http("Sun, 06 Nov 1994 08:49:37 GMT trailing", &us));
}

/* Instants against the C library's calendar (gmtime_r), before and after 1970, at the ends of days and years. */
static void test_instant_against_libc(void **state)
{
	(void)state;
	static const int64_t fixed[] = {0, -1, 999999, -86400000000LL, 253402300799999999LL, -62135596800000000LL,
					951782400000000LL, 4107542399999000LL};
	for (int i = 0; i < 20000; i++) {
		int64_t us;
		if (i < (int)(sizeof fixed / sizeof *fixed)) {
			us = fixed[i];
		} else {
			uint64_t r;
			jl_rand_bytes(&r, sizeof r);
			us = (int64_t)(r % 8000000000000000ULL) - 2208988800000000LL; /* 1900 .. 2223 */
		}
		int64_t s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
		int ms = (int)((us - s * 1000000) / 1000);
		time_t t = (time_t)s;
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		char want[64], got[32];
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
		size_t n = jl_time_fmt_instant(us, got);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(got, want, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datetime_grammar),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_instant_against_libc),
	};
	return cmocka_run_group_tests_name("base/time", tests, NULL, NULL);
}
