/*
 * time — clocks, the FHIR/ISO-8601 date-time grammar, and instants.
 *
 * Instants are int64 microseconds since the Unix epoch (UTC). Parsing keeps
 * the precision the text was written with, because FHIR gives partial dates
 * meaning: "2020-03" is the whole of March, not its first microsecond.
 */
#ifndef JL_BASE_TIME_H
#define JL_BASE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

int64_t jl_now_us(void);    /* wall clock, µs since epoch */
int64_t jl_mono_ns(void);   /* monotonic clock, ns */

/* "2026-11-22T15:45:44.123Z" (millisecond precision); returns length (24). out >= 32 bytes. */
size_t jl_time_fmt_instant(int64_t us, char *out);
/* RFC 7231 HTTP date "Sun, 22 Nov 2026 15:45:44 GMT"; out >= 32 bytes. */
size_t jl_time_fmt_http(int64_t us, char *out);

/*
 * Parses an HTTP date (RFC 9110 5.6.7): the preferred IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete RFC 850
 * ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994")
 * forms that recipients must also accept. Sets *us (µs since epoch).
 */
bool jl_time_parse_http(const char *s, int64_t *us);

typedef enum jl_dt_prec {
	JL_DT_NONE = 0,
	JL_DT_YEAR,
	JL_DT_MONTH,
	JL_DT_DAY,
	JL_DT_MINUTE, /* hh:mm (allowed only in search, not in FHIR values) */
	JL_DT_SECOND,
	JL_DT_FRACTION,
} jl_dt_prec;

typedef struct jl_datetime {
	int year, month, day, hour, minute, second;
	int frac_us;       /* fraction in µs (truncated beyond 6 digits) */
	int frac_digits;   /* digits as written */
	int tz_min;        /* offset east of UTC in minutes */
	bool has_tz;
	jl_dt_prec prec;
} jl_datetime_t;

/*
 * Parses YYYY[-MM[-DD[Thh:mm[:ss[.f+]][Z|(+|-)hh:mm]]]] strictly: calendar
 * validity (leap years), ranges (hour 00-23, tz within ±14:00, second 60
 * not allowed), no spaces. `allow_minute` accepts a time without seconds.
 * Returns false on any deviation.
 */
bool jl_datetime_parse(jl_str_t s, bool allow_minute, jl_datetime_t *out);
/* Parses hh:mm:ss[.f+] (FHIR time). */
bool jl_time_parse(jl_str_t s, jl_datetime_t *out);

/*
 * The interval [lo, hi) in µs UTC covered by a parsed value at its
 * precision. A value without a time zone is taken as UTC (the server's
 * convention; documented in docs/internals/time.md).
 */
void jl_datetime_range(const jl_datetime_t *dt, int64_t *lo, int64_t *hi);

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
int64_t jl_days_from_civil(int y, int m, int d);
bool jl_is_leap(int y);
int jl_days_in_month(int y, int m);

#endif
