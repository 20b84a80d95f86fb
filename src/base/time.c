/*
 * time — clocks and the ISO-8601 subset FHIR uses. The civil-date
 * arithmetic is the classic days-from-civil algorithm (era of 400 years).
 */
#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t jl_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t jl_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool jl_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int jl_days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m < 1 || m > 12)
		return 0;
	return m == 2 && jl_is_leap(y) ? 29 : dm[m - 1];
}

int64_t jl_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* v (>= 0) as exactly n decimal digits at p, zero-padded. */
static void put_digits(char *p, int v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t jl_time_fmt_instant(int64_t us, char *out)
{
	int64_t days = floordiv(us, 86400000000LL);
	int64_t rem = us - days * 86400000000LL;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	int64_t secs = rem / 1000000;
	int ms = (int)(rem % 1000000 / 1000);
	if (y < 0 || y > 9999) {
		int k = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(secs / 3600),
				 (int)(secs / 60 % 60), (int)(secs % 60), ms);
		return (size_t)k;
	}
	/* By hand: every entry of a search Bundle has one (meta.lastUpdated), and snprintf's
	 * format parsing was 2-4 % of the server's time in the mixed search workload. */
	memcpy(out, "0000-00-00T00:00:00.000Z", 25);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (int)(secs / 3600), 2);
	put_digits(out + 14, (int)(secs / 60 % 60), 2);
	put_digits(out + 17, (int)(secs % 60), 2);
	put_digits(out + 20, ms, 3);
	return 24;
}

size_t jl_time_fmt_http(int64_t us, char *out)
{
	static const char *const wd[7] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const mn[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t days = floordiv(us, 86400000000LL);
	int64_t secs = floordiv(us, 1000000) - days * 86400;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	int k = snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[((days % 7) + 7) % 7], d,
			 mn[m - 1], y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	return (size_t)k;
}

/* Reads exactly n digits at s[*i]. */
static bool digits(jl_str_t s, size_t *i, int n, int *out)
{
	int v = 0;
	if (*i + (size_t)n > s.n)
		return false;
	for (int k = 0; k < n; k++) {
		unsigned d = (unsigned char)s.p[*i + (size_t)k] - '0';
		if (d > 9)
			return false;
		v = v * 10 + (int)d;
	}
	*i += (size_t)n;
	*out = v;
	return true;
}

static bool expect(jl_str_t s, size_t *i, char c)
{
	if (*i < s.n && s.p[*i] == c) {
		(*i)++;
		return true;
	}
	return false;
}

/* hh:mm[:ss[.f+]] at s[*i]; sets fields and precision. */
static bool parse_clock(jl_str_t s, size_t *i, bool allow_minute, jl_datetime_t *dt)
{
	if (!digits(s, i, 2, &dt->hour) || !expect(s, i, ':') || !digits(s, i, 2, &dt->minute))
		return false;
	if (dt->hour > 23 || dt->minute > 59)
		return false;
	dt->prec = JL_DT_MINUTE;
	if (!expect(s, i, ':'))
		return allow_minute;
	if (!digits(s, i, 2, &dt->second) || dt->second > 59)
		return false;
	dt->prec = JL_DT_SECOND;
	if (expect(s, i, '.')) {
		int n = 0, us = 0;
		while (*i < s.n && s.p[*i] >= '0' && s.p[*i] <= '9') {
			if (n < 6)
				us = us * 10 + (s.p[*i] - '0');
			n++;
			(*i)++;
		}
		if (n == 0)
			return false;
		for (int k = n; k < 6; k++)
			us *= 10;
		dt->frac_us = us;
		dt->frac_digits = n;
		dt->prec = JL_DT_FRACTION;
	}
	return true;
}

bool jl_datetime_parse(jl_str_t s, bool allow_minute, jl_datetime_t *dt)
{
	size_t i = 0;
	memset(dt, 0, sizeof *dt);
	dt->month = dt->day = 1;
	if (!digits(s, &i, 4, &dt->year) || dt->year < 1)
		return false;
	dt->prec = JL_DT_YEAR;
	if (i == s.n)
		return true;
	if (!expect(s, &i, '-') || !digits(s, &i, 2, &dt->month) || dt->month < 1 || dt->month > 12)
		return false;
	dt->prec = JL_DT_MONTH;
	if (i == s.n)
		return true;
	if (!expect(s, &i, '-') || !digits(s, &i, 2, &dt->day) || dt->day < 1 ||
	    dt->day > jl_days_in_month(dt->year, dt->month))
		return false;
	dt->prec = JL_DT_DAY;
	if (i == s.n)
		return true;
	if (!expect(s, &i, 'T') || !parse_clock(s, &i, allow_minute, dt))
		return false;
	if (i == s.n)
		return allow_minute; /* a FHIR dateTime with a time must carry a zone */
	if (s.p[i] == 'Z') {
		i++;
		dt->has_tz = true;
	} else if (s.p[i] == '+' || s.p[i] == '-') {
		int sign = s.p[i] == '-' ? -1 : 1, h, m;
		i++;
		if (!digits(s, &i, 2, &h) || !expect(s, &i, ':') || !digits(s, &i, 2, &m) || m > 59 ||
		    h * 60 + m > 14 * 60)
			return false;
		dt->tz_min = sign * (h * 60 + m);
		dt->has_tz = true;
	} else {
		return false;
	}
	return i == s.n;
}

bool jl_time_parse(jl_str_t s, jl_datetime_t *dt)
{
	size_t i = 0;
	memset(dt, 0, sizeof *dt);
	if (!parse_clock(s, &i, false, dt))
		return false;
	return i == s.n;
}

void jl_datetime_range(const jl_datetime_t *dt, int64_t *lo, int64_t *hi)
{
	int64_t day = jl_days_from_civil(dt->year, dt->month, dt->day);
	int64_t base = day * 86400000000LL;
	int64_t t = base + ((int64_t)dt->hour * 3600 + dt->minute * 60 + dt->second) * 1000000LL +
		    dt->frac_us - (int64_t)dt->tz_min * 60000000LL;
	switch (dt->prec) {
	case JL_DT_YEAR:
		*lo = jl_days_from_civil(dt->year, 1, 1) * 86400000000LL;
		*hi = jl_days_from_civil(dt->year + 1, 1, 1) * 86400000000LL;
		break;
	case JL_DT_MONTH:
		*lo = base;
		*hi = base + (int64_t)jl_days_in_month(dt->year, dt->month) * 86400000000LL;
		break;
	case JL_DT_DAY:
		*lo = base;
		*hi = base + 86400000000LL;
		break;
	case JL_DT_MINUTE:
		*lo = t;
		*hi = t + 60000000LL;
		break;
	case JL_DT_SECOND:
		*lo = t;
		*hi = t + 1000000LL;
		break;
	case JL_DT_FRACTION: {
		int64_t unit = 1;
		for (int k = dt->frac_digits; k < 6; k++)
			unit *= 10;
		*lo = t;
		*hi = t + unit;
		break;
	}
	default:
		*lo = *hi = 0;
	}
}

static int month_of(const char *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (strncmp(m, names + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

bool jl_time_parse_http(const char *s, int64_t *us)
{
	char wd[16], mon[4], zone[4];
	int d, y, h, mi, sec, n = 0;
	if (!s)
		return false;
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &d, mon, &y, &h, &mi, &sec, zone, &n) == 8 &&
	    strcmp(zone, "GMT") == 0) {
	} else if (sscanf(s, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wd, &d, mon, &y, &h, &mi, &sec, zone,
			  &n) == 8 &&
		   strcmp(zone, "GMT") == 0) {
		y += y < 70 ? 2000 : 1900; /* RFC 850's two-digit year, read the usual way */
	} else if (sscanf(s, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &h, &mi, &sec, &y, &n) == 7) {
	} else {
		return false;
	}
	int m = month_of(mon);
	if (!m || d < 1 || d > jl_days_in_month(y, m) || h > 23 || mi > 59 || sec > 60 || y < 1970 || s[n] != 0)
		return false;
	*us = (jl_days_from_civil(y, m, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec) * 1000000;
	return true;
}
