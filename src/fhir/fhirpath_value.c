/*
 * fhirpath_value — FHIRPath values: exact decimals, dates and times with
 * their precision, quantities with UCUM and calendar units, the System
 * value of a FHIR node, type names and type tests, conversions and text
 * forms.
 *
 * Decimals are exact (a 128-bit mantissa and a decimal scale), because
 * FHIRPath equality is exact (1.8 - 1.2 = 0.6 must hold) and precision is
 * part of the value (1.587.lowBoundary() depends on the three digits).
 * Division keeps at least 8 places. Dates compare precision by precision;
 * where one value stops before the other could decide, the answer is
 * unknown (empty), as the specification requires.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "fhir/fhirpath_int.h"
#include "fhir/ucum.h"

/* ------------------------------------------------------------------ decimals */

static bool pow10_(int k, __int128 *out)
{
	__int128 r = 1;
	if (k < 0 || k > 38)
		return false;
	for (int i = 0; i < k; i++)
		r *= 10;
	*out = r;
	return true;
}

/* m · 10^k, false on overflow. */
static bool shift_up(__int128 m, int k, __int128 *out)
{
	__int128 p;
	if (!pow10_(k, &p))
		return m == 0 ? (*out = 0, true) : false;
	return !__builtin_mul_overflow(m, p, out);
}

/* m / 10^k rounded half away from zero. */
static __int128 shift_down_round(__int128 m, int k)
{
	if (k <= 0)
		return m;
	if (k > 38)
		return 0;
	__int128 p;
	pow10_(k, &p);
	__int128 q = m / p, r = m % p;
	if (r < 0)
		r = -r;
	if (r * 2 >= p)
		q += m < 0 ? -1 : 1;
	return q;
}

bool jl__fp_dec_parse(jl_str_t s, fp_dec_t *out)
{
	size_t i = 0;
	bool neg = false, any = false;
	__int128 m = 0;
	int scale = 0;
	if (!s.p)
		return false;
	if (i < s.n && (s.p[i] == '-' || s.p[i] == '+'))
		neg = s.p[i++] == '-';
	/* Digits beyond what the mantissa holds are dropped (and rounded away). */
	int dropped = 0;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
		any = true;
		if (dropped || __builtin_mul_overflow(m, 10, &m) || __builtin_add_overflow(m, s.p[i] - '0', &m)) {
			return false;
		}
	}
	if (i < s.n && s.p[i] == '.') {
		i++;
		bool frac = false;
		for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
			frac = true;
			if (scale >= FP_DEC_MAX_SCALE) {
				dropped++;
				continue;
			}
			if (__builtin_mul_overflow(m, 10, &m) || __builtin_add_overflow(m, s.p[i] - '0', &m))
				return false;
			scale++;
		}
		if (!frac)
			return false;
	}
	if (!any)
		return false;
	if (i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
		i++;
		bool eneg = false;
		int e = 0;
		if (i < s.n && (s.p[i] == '-' || s.p[i] == '+'))
			eneg = s.p[i++] == '-';
		if (i >= s.n)
			return false;
		for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
			if ((e = e * 10 + (s.p[i] - '0')) > 100)
				return false;
		scale += eneg ? e : -e;
		if (scale < 0) {
			if (!shift_up(m, -scale, &m))
				return false;
			scale = 0;
		}
		if (scale > FP_DEC_MAX_SCALE) {
			m = shift_down_round(m, scale - FP_DEC_MAX_SCALE);
			scale = FP_DEC_MAX_SCALE;
		}
	}
	if (i != s.n)
		return false;
	out->m = neg ? -m : m;
	out->scale = scale;
	return true;
}

/* Writes v into b (>= 48 bytes + scale); returns the length. */
static size_t dec_fmt(fp_dec_t v, char *b)
{
	char digs[64];
	int nd = 0;
	unsigned __int128 u = v.m < 0 ? (unsigned __int128)(-(v.m + 1)) + 1 : (unsigned __int128)v.m;
	do {
		digs[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	while (nd <= v.scale)
		digs[nd++] = '0';
	size_t o = 0;
	if (v.m < 0)
		b[o++] = '-';
	for (int i = nd - 1; i >= 0; i--) {
		b[o++] = digs[i];
		if (i == v.scale && i > 0)
			b[o++] = '.';
	}
	return o;
}

jl_str_t jl__fp_dec_text(jl_arena_t *a, fp_dec_t v)
{
	char b[96];
	size_t n = dec_fmt(v, b);
	return jl_arena_str(a, jl_str(b, n));
}

double jl__fp_dec_double(fp_dec_t v)
{
	char b[100];
	size_t n = dec_fmt(v, b);
	b[n] = 0;
	return strtod(b, NULL);
}

int jl__fp_dec_cmp(fp_dec_t a, fp_dec_t b)
{
	int sa = (a.m > 0) - (a.m < 0), sb = (b.m > 0) - (b.m < 0);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	__int128 pa = 1, pb = 1;
	pow10_(a.scale, &pa);
	pow10_(b.scale, &pb);
	__int128 qa = a.m / pa, qb = b.m / pb;
	if (qa != qb)
		return qa < qb ? -1 : 1;
	__int128 ra = a.m % pa, rb = b.m % pb;
	int s = a.scale > b.scale ? a.scale : b.scale;
	shift_up(ra, s - a.scale, &ra);
	shift_up(rb, s - b.scale, &rb);
	return ra < rb ? -1 : ra > rb;
}

static bool align(fp_dec_t *a, fp_dec_t *b)
{
	int s = a->scale > b->scale ? a->scale : b->scale;
	if (!shift_up(a->m, s - a->scale, &a->m) || !shift_up(b->m, s - b->scale, &b->m))
		return false;
	a->scale = b->scale = s;
	return true;
}

bool jl__fp_dec_add(fp_dec_t a, fp_dec_t b, fp_dec_t *out)
{
	if (!align(&a, &b) || __builtin_add_overflow(a.m, b.m, &out->m))
		return false;
	out->scale = a.scale;
	return true;
}

bool jl__fp_dec_sub(fp_dec_t a, fp_dec_t b, fp_dec_t *out)
{
	if (!align(&a, &b) || __builtin_sub_overflow(a.m, b.m, &out->m))
		return false;
	out->scale = a.scale;
	return true;
}

fp_dec_t jl__fp_dec_trim(fp_dec_t a)
{
	while (a.scale > 0 && a.m % 10 == 0) {
		a.m /= 10;
		a.scale--;
	}
	return a;
}

bool jl__fp_dec_mul(fp_dec_t a, fp_dec_t b, fp_dec_t *out)
{
	fp_dec_t r;
	if (__builtin_mul_overflow(a.m, b.m, &r.m)) {
		a = jl__fp_dec_trim(a);
		b = jl__fp_dec_trim(b);
		if (__builtin_mul_overflow(a.m, b.m, &r.m))
			return false;
	}
	r.scale = a.scale + b.scale;
	if (r.scale > FP_DEC_MAX_SCALE) {
		r.m = shift_down_round(r.m, r.scale - FP_DEC_MAX_SCALE);
		r.scale = FP_DEC_MAX_SCALE;
	}
	*out = r;
	return true;
}

bool jl__fp_dec_div(fp_dec_t a, fp_dec_t b, fp_dec_t *out)
{
	if (b.m == 0)
		return false;
	/* Result places: at least 8, more when the operands have more. */
	int s = 8;
	if (a.scale > s)
		s = a.scale;
	if (b.scale > s)
		s = b.scale;
	for (; s >= 0; s--) {
		/* q = a.m · 10^(s + b.scale - a.scale + 1) / b.m, then round off the extra digit. */
		int k = s + b.scale - a.scale + 1;
		__int128 num = a.m, den = b.m;
		if (k >= 0) {
			if (!shift_up(num, k, &num))
				continue;
		} else if (!shift_up(den, -k, &den)) {
			out->m = 0;
			out->scale = 0;
			return true;
		}
		__int128 q = num / den;
		__int128 r = q % 10;
		q /= 10;
		if (r >= 5)
			q++;
		else if (r <= -5)
			q--;
		*out = jl__fp_dec_trim((fp_dec_t){q, s});
		return true;
	}
	return false;
}

bool jl__fp_dec_rescale(fp_dec_t a, int scale, fp_dec_t *out)
{
	if (scale < 0 || scale > FP_DEC_MAX_SCALE)
		return false;
	if (scale >= a.scale) {
		if (!shift_up(a.m, scale - a.scale, &out->m))
			return false;
	} else {
		out->m = shift_down_round(a.m, a.scale - scale);
	}
	out->scale = scale;
	return true;
}

fp_dec_t jl__fp_dec_trunc(fp_dec_t a, int scale)
{
	if (scale >= a.scale)
		return a;
	__int128 p;
	if (!pow10_(a.scale - scale, &p))
		return (fp_dec_t){0, scale};
	return (fp_dec_t){a.m / p, scale};
}

bool jl__fp_dec_from_double(double d, fp_dec_t *out)
{
	char b[64];
	if (!isfinite(d))
		return false;
	int n = snprintf(b, sizeof b, "%.15g", d);
	if (n <= 0 || (size_t)n >= sizeof b)
		return false;
	if (!jl__fp_dec_parse(jl_str(b, (size_t)n), out))
		return false;
	*out = jl__fp_dec_trim(*out);
	return true;
}

/* ------------------------------------------------------------------ dates and times */

static int rd2(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }
static bool dig(char c) { return c >= '0' && c <= '9'; }

static bool parse_clock(jl_str_t s, size_t *ip, fp_dt_t *v)
{
	size_t i = *ip;
	if (i + 2 > s.n || !dig(s.p[i]) || !dig(s.p[i + 1]))
		return false;
	v->h = rd2(s.p + i);
	i += 2;
	v->prec = P_HOUR;
	if (i < s.n && s.p[i] == ':') {
		if (i + 3 > s.n || !dig(s.p[i + 1]) || !dig(s.p[i + 2]))
			return false;
		v->mi = rd2(s.p + i + 1);
		i += 3;
		v->prec = P_MINUTE;
		if (i < s.n && s.p[i] == ':') {
			if (i + 3 > s.n || !dig(s.p[i + 1]) || !dig(s.p[i + 2]))
				return false;
			v->s = rd2(s.p + i + 1);
			i += 3;
			v->prec = P_SECOND;
			if (i < s.n && s.p[i] == '.') {
				i++;
				size_t f = i;
				int ms = 0;
				while (i < s.n && dig(s.p[i])) {
					if (i - f < 3)
						ms = ms * 10 + (s.p[i] - '0');
					i++;
				}
				if (i == f || i - f > 9)
					return false;
				for (size_t k = i - f; k < 3; k++)
					ms *= 10;
				v->ms = ms;
				v->frac_digits = (int)(i - f);
				v->prec = P_MILLI;
			}
		}
	}
	if (v->h > 23 || v->mi > 59 || v->s > 59)
		return false;
	*ip = i;
	return true;
}

bool jl__fp_dt_parse(jl_str_t s, uint8_t kind, fp_dt_t *out)
{
	fp_dt_t v = {0};
	size_t i = 0;
	v.kind = kind;
	v.mo = v.d = 1;
	if (!s.p)
		return false;
	if (kind == JL_FP_TIME) {
		if (!parse_clock(s, &i, &v) || i != s.n)
			return false;
		*out = v;
		return true;
	}
	if (s.n < 4 || !dig(s.p[0]) || !dig(s.p[1]) || !dig(s.p[2]) || !dig(s.p[3]))
		return false;
	v.y = rd2(s.p) * 100 + rd2(s.p + 2);
	i = 4;
	v.prec = P_YEAR;
	if (i < s.n && s.p[i] == '-') {
		if (i + 3 > s.n || !dig(s.p[i + 1]) || !dig(s.p[i + 2]))
			return false;
		v.mo = rd2(s.p + i + 1);
		i += 3;
		v.prec = P_MONTH;
		if (v.mo < 1 || v.mo > 12)
			return false;
		if (i < s.n && s.p[i] == '-') {
			if (i + 3 > s.n || !dig(s.p[i + 1]) || !dig(s.p[i + 2]))
				return false;
			v.d = rd2(s.p + i + 1);
			i += 3;
			v.prec = P_DAY;
			if (v.d < 1 || v.d > jl_days_in_month(v.y, v.mo))
				return false;
		}
	}
	if (i < s.n && s.p[i] == 'T' && kind == JL_FP_DATETIME) {
		i++;
		if (i == s.n) {
			*out = v;
			return true;
		}
		if (v.prec != P_DAY || !parse_clock(s, &i, &v))
			return false;
		if (i < s.n && s.p[i] == 'Z') {
			v.has_tz = true;
			i++;
		} else if (i < s.n && (s.p[i] == '+' || s.p[i] == '-')) {
			if (i + 6 > s.n || !dig(s.p[i + 1]) || !dig(s.p[i + 2]) || s.p[i + 3] != ':' || !dig(s.p[i + 4]) ||
			    !dig(s.p[i + 5]))
				return false;
			int hh = rd2(s.p + i + 1), mm = rd2(s.p + i + 4);
			if (hh > 14 || mm > 59)
				return false;
			v.tz = (hh * 60 + mm) * (s.p[i] == '-' ? -1 : 1);
			v.has_tz = true;
			i += 6;
		}
	}
	if (i != s.n)
		return false;
	*out = v;
	return true;
}

jl_str_t jl__fp_dt_text(jl_arena_t *a, const fp_dt_t *v)
{
	char b[64];
	int n = 0;
	if (v->kind != JL_FP_TIME) {
		n += snprintf(b + n, sizeof b - (size_t)n, "%04d", v->y);
		if (v->prec >= P_MONTH)
			n += snprintf(b + n, sizeof b - (size_t)n, "-%02d", v->mo);
		if (v->prec >= P_DAY)
			n += snprintf(b + n, sizeof b - (size_t)n, "-%02d", v->d);
		if (v->prec >= P_HOUR)
			b[n++] = 'T';
	}
	if (v->prec >= P_HOUR)
		n += snprintf(b + n, sizeof b - (size_t)n, "%02d", v->h);
	if (v->prec >= P_MINUTE)
		n += snprintf(b + n, sizeof b - (size_t)n, ":%02d", v->mi);
	if (v->prec >= P_SECOND)
		n += snprintf(b + n, sizeof b - (size_t)n, ":%02d", v->s);
	if (v->prec >= P_MILLI)
		n += snprintf(b + n, sizeof b - (size_t)n, ".%03d", v->ms);
	if (v->kind == JL_FP_DATETIME && v->has_tz && v->prec >= P_HOUR) {
		if (v->tz == 0)
			b[n++] = 'Z';
		else {
			int t = v->tz < 0 ? -v->tz : v->tz;
			n += snprintf(b + n, sizeof b - (size_t)n, "%c%02d:%02d", v->tz < 0 ? '-' : '+', t / 60, t % 60);
		}
	}
	return jl_arena_str(a, jl_str(b, (size_t)n));
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

/* Milliseconds since the epoch of the wall-clock value (time zone not applied). */
static int64_t wall_ms(const fp_dt_t *v)
{
	int64_t days = v->kind == JL_FP_TIME ? 0 : jl_days_from_civil(v->y, v->mo, v->d);
	return ((days * 24 + v->h) * 60 + v->mi) * 60000 + (int64_t)v->s * 1000 + v->ms;
}

static void from_wall_ms(fp_dt_t *v, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
	int64_t r = t - days * 86400000;
	if (v->kind != JL_FP_TIME)
		civil_from_days(days, &v->y, &v->mo, &v->d);
	v->h = (int)(r / 3600000);
	v->mi = (int)(r / 60000 % 60);
	v->s = (int)(r / 1000 % 60);
	v->ms = (int)(r % 1000);
}

bool jl__fp_dt_add(fp_dt_t *v, int unit, int64_t n)
{
	if (n > 1000000000000000LL || n < -1000000000000000LL)
		return false;
	if (unit == P_YEAR || unit == P_MONTH) {
		int64_t months = (int64_t)v->y * 12 + (v->mo - 1) + (unit == P_YEAR ? n * 12 : n);
		if (months < 0 || months >= 10000 * 12)
			return false;
		v->y = (int)(months / 12);
		v->mo = (int)(months % 12) + 1;
		int dim = jl_days_in_month(v->y, v->mo);
		if (v->d > dim)
			v->d = dim;
		return true;
	}
	static const int64_t unit_ms[] = {[P_DAY] = 86400000, [P_HOUR] = 3600000, [P_MINUTE] = 60000,
					  [P_SECOND] = 1000, [P_MILLI] = 1};
	if (unit < P_DAY || unit > P_MILLI)
		return false;
	int64_t t, d;
	if (__builtin_mul_overflow(n, unit_ms[unit], &d) || __builtin_add_overflow(wall_ms(v), d, &t))
		return false;
	if (v->kind == JL_FP_TIME) {
		t %= 86400000;
		if (t < 0)
			t += 86400000;
	}
	from_wall_ms(v, t);
	return v->kind == JL_FP_TIME || (v->y >= 1 && v->y <= 9999);
}

/* The precision class used in comparisons: seconds and milliseconds are one. */
static int pclass(int p) { return p == P_MILLI ? P_SECOND : p; }

/* [lo, hi) in ms UTC that the value may denote; a value without a zone may be at any offset. */
static void dt_span(const fp_dt_t *v, int64_t *lo, int64_t *hi)
{
	fp_dt_t s = *v, e;
	if (s.prec < P_MONTH)
		s.mo = 1;
	if (s.prec < P_DAY)
		s.d = 1;
	if (s.prec < P_HOUR)
		s.h = 0;
	if (s.prec < P_MINUTE)
		s.mi = 0;
	if (s.prec < P_SECOND)
		s.s = 0;
	if (s.prec < P_MILLI)
		s.ms = 0;
	e = s;
	int unit = s.prec == P_SECOND ? P_SECOND : s.prec;
	jl__fp_dt_add(&e, unit, 1);
	*lo = wall_ms(&s);
	*hi = wall_ms(&e);
	if (v->has_tz) {
		*lo -= (int64_t)v->tz * 60000;
		*hi -= (int64_t)v->tz * 60000;
	} else {
		*lo -= 14 * 3600000LL;
		*hi += 12 * 3600000LL;
	}
}

int jl__fp_dt_cmp(const fp_dt_t *a0, const fp_dt_t *b0)
{
	fp_dt_t a = *a0, b = *b0;
	if ((a.kind == JL_FP_TIME) != (b.kind == JL_FP_TIME))
		return 3;
	bool timed = a.prec >= P_HOUR || b.prec >= P_HOUR;
	if (a.kind != JL_FP_TIME && timed && a.has_tz != b.has_tz) {
		int64_t alo, ahi, blo, bhi;
		dt_span(&a, &alo, &ahi);
		dt_span(&b, &blo, &bhi);
		if (ahi <= blo)
			return -1;
		if (alo >= bhi)
			return 1;
		return 2;
	}
	if (a.has_tz && b.has_tz && a.kind != JL_FP_TIME) {
		/* Both to UTC. */
		int ap = a.prec, bp = b.prec;
		jl__fp_dt_add(&a, P_MINUTE, -a.tz);
		jl__fp_dt_add(&b, P_MINUTE, -b.tz);
		a.prec = ap;
		b.prec = bp;
	}
	int lo = a.kind == JL_FP_TIME ? P_HOUR : P_YEAR;
	int pa = pclass(a.prec), pb = pclass(b.prec);
	int pmin = pa < pb ? pa : pb;
	for (int p = lo; p <= pmin; p++) {
		int64_t x, y;
		switch (p) {
		case P_YEAR: x = a.y; y = b.y; break;
		case P_MONTH: x = a.mo; y = b.mo; break;
		case P_DAY: x = a.d; y = b.d; break;
		case P_HOUR: x = a.h; y = b.h; break;
		case P_MINUTE: x = a.mi; y = b.mi; break;
		default: x = a.s * 1000 + a.ms; y = b.s * 1000 + b.ms; break;
		}
		if (x != y)
			return x < y ? -1 : 1;
	}
	return pa == pb ? 0 : 2;
}

/* ------------------------------------------------------------------ items */

jl_rc jl__fp_mk_dec(fp_ev_t *ev, fp_dec_t v, jl_fp_item_t *out)
{
	jl_str_t t = jl__fp_dec_text(ev->a, v);
	if (!t.p)
		return jl__fp_err(ev, NULL, JL_ENOMEM, "out of memory");
	*out = (jl_fp_item_t){.kind = JL_FP_DECIMAL, .s = t, .d = jl__fp_dec_double(v)};
	return JL_OK;
}

jl_rc jl__fp_mk_dt(fp_ev_t *ev, const fp_dt_t *v, jl_fp_item_t *out)
{
	jl_str_t t = jl__fp_dt_text(ev->a, v);
	if (!t.p)
		return jl__fp_err(ev, NULL, JL_ENOMEM, "out of memory");
	*out = (jl_fp_item_t){.kind = v->kind, .s = t};
	return JL_OK;
}

jl_rc jl__fp_mk_qty(fp_ev_t *ev, fp_dec_t v, jl_str_t unit, jl_fp_item_t *out)
{
	jl_str_t t = jl__fp_dec_text(ev->a, v);
	if (!t.p)
		return jl__fp_err(ev, NULL, JL_ENOMEM, "out of memory");
	*out = (jl_fp_item_t){.kind = JL_FP_QUANTITY, .num = t, .s = unit, .d = jl__fp_dec_double(v)};
	return JL_OK;
}

bool jl__fp_num(const jl_fp_item_t *it, fp_dec_t *out)
{
	if (it->kind == JL_FP_INTEGER) {
		*out = jl__fp_dec_int(it->i);
		return true;
	}
	if (it->kind == JL_FP_DECIMAL)
		return jl__fp_dec_parse(it->s, out);
	return false;
}

bool jl__fp_qty_of(const jl_fp_item_t *it, fp_qty_t *q)
{
	if (it->kind != JL_FP_QUANTITY || !jl__fp_dec_parse(it->num, &q->v))
		return false;
	q->unit = it->s;
	return true;
}

static bool is_quantity_type(const jl_fhir_type_t *t)
{
	static const char *const names[] = {"Quantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity",
					    "SimpleQuantity"};
	if (!t || t->kind != JL_FHIR_COMPLEX)
		return false;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(t->name, names[i]))
			return true;
	return false;
}

static jl_str_t member_str(const jl_json_t *o, const char *key)
{
	const jl_json_t *v = jl_json_get(o, key);
	return jl_json_str(v);
}

bool jl__fp_value(fp_ev_t *ev, const jl_fp_item_t *it, jl_fp_item_t *out)
{
	(void)ev;
	if (it->kind != JL_FP_NODE) {
		*out = *it;
		return true;
	}
	const jl_json_t *v = it->node;
	if (!v)
		return false;
	const jl_fhir_type_t *t = it->type;
	if (v->type == JL_JSON_OBJECT) {
		if (!is_quantity_type(t))
			return false;
		const jl_json_t *val = jl_json_get(v, "value");
		if (!val || val->type != JL_JSON_NUMBER)
			return false;
		jl_str_t code = member_str(v, "code"), unit = member_str(v, "unit"), sys = member_str(v, "system");
		jl_str_t u = code.n && (!sys.n || jl_str_eqc(sys, "http://unitsofmeasure.org")) ? code : unit.n ? unit : code;
		if (!u.n)
			u = JL_STR("1");
		fp_dec_t dv;
		jl_str_t num = jl_json_str(val);
		if (!jl__fp_dec_parse(num, &dv))
			return false;
		*out = (jl_fp_item_t){.kind = JL_FP_QUANTITY, .num = num, .s = u, .d = jl__fp_dec_double(dv)};
		return true;
	}
	int prim = t && t->kind == JL_FHIR_PRIMITIVE ? t->prim : JL_PRIM_NONE;
	switch (v->type) {
	case JL_JSON_TRUE:
	case JL_JSON_FALSE:
		*out = jl__fp_bool(v->type == JL_JSON_TRUE);
		return true;
	case JL_JSON_NUMBER: {
		jl_str_t s = jl_json_str(v);
		int64_t i;
		bool intish = prim == JL_PRIM_INTEGER || prim == JL_PRIM_UNSIGNEDINT || prim == JL_PRIM_POSITIVEINT ||
			      (prim == JL_PRIM_NONE && !memchr(s.p, '.', s.n) && !memchr(s.p, 'e', s.n) &&
			       !memchr(s.p, 'E', s.n));
		if (intish && jl_str_to_i64(s, &i)) {
			*out = jl__fp_int(i);
			return true;
		}
		fp_dec_t dv;
		if (!jl__fp_dec_parse(s, &dv))
			return false;
		*out = (jl_fp_item_t){.kind = JL_FP_DECIMAL, .s = s, .d = jl__fp_dec_double(dv)};
		return true;
	}
	case JL_JSON_STRING: {
		jl_str_t s = jl_json_str(v);
		uint8_t k = JL_FP_STRING;
		fp_dt_t dt;
		if (prim == JL_PRIM_DATE)
			k = JL_FP_DATE;
		else if (prim == JL_PRIM_DATETIME || prim == JL_PRIM_INSTANT)
			k = JL_FP_DATETIME;
		else if (prim == JL_PRIM_TIME)
			k = JL_FP_TIME;
		if (k != JL_FP_STRING && !jl__fp_dt_parse(s, k, &dt))
			k = JL_FP_STRING; /* an invalid date stays a string */
		*out = (jl_fp_item_t){.kind = k, .s = s};
		return true;
	}
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ quantities */

static const struct {
	const char *word;
	const char *ucum; /* the definite-duration equivalent; NULL for year/month */
	int unit, mult;
} calendar[] = {
	{"year", NULL, P_YEAR, 1},          {"years", NULL, P_YEAR, 1},
	{"month", NULL, P_MONTH, 1},        {"months", NULL, P_MONTH, 1},
	{"week", "wk", P_DAY, 7},           {"weeks", "wk", P_DAY, 7},
	{"day", "d", P_DAY, 1},             {"days", "d", P_DAY, 1},
	{"hour", "h", P_HOUR, 1},           {"hours", "h", P_HOUR, 1},
	{"minute", "min", P_MINUTE, 1},     {"minutes", "min", P_MINUTE, 1},
	{"second", "s", P_SECOND, 1},       {"seconds", "s", P_SECOND, 1},
	{"millisecond", "ms", P_MILLI, 1},  {"milliseconds", "ms", P_MILLI, 1},
};

static int calendar_index(jl_str_t u)
{
	for (size_t i = 0; i < sizeof calendar / sizeof *calendar; i++)
		if (jl_str_eqc(u, calendar[i].word))
			return (int)i;
	return -1;
}

int jl__fp_time_unit(jl_str_t unit, int *mult, bool *ucum_calendar)
{
	int c = calendar_index(unit);
	*ucum_calendar = false;
	*mult = 1;
	if (c >= 0) {
		*mult = calendar[c].mult;
		return calendar[c].unit;
	}
	if (jl_str_eqc(unit, "a") || jl_str_eqc(unit, "mo")) {
		*ucum_calendar = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof calendar / sizeof *calendar; i++)
		if (calendar[i].ucum && jl_str_eqc(unit, calendar[i].ucum)) {
			*mult = calendar[i].mult;
			return calendar[i].unit;
		}
	return 0;
}

/*
 * A unit as UCUM: calendar words of a week or less are their UCUM units;
 * "year"/"month" form their own dimension (12 months a year) that UCUM 'a'
 * and 'mo' do not convert into — FHIRPath keeps calendar and UCUM years apart.
 */
static bool unit_of(jl_str_t u, jl_ucum_unit_t *out)
{
	int c = calendar_index(u);
	if (c >= 0 && !calendar[c].ucum) {
		memset(out, 0, sizeof *out);
		out->dim[JL_UCUM_NDIM - 1] = 100; /* a dimension no UCUM unit has */
		out->num = calendar[c].unit == P_YEAR ? 12 : 1;
		out->den = 1;
		return true;
	}
	if (c >= 0)
		u = jl_cstr(calendar[c].ucum);
	return jl_ucum_parse(u, out);
}

/* v in unit `from` expressed in unit `to` (same dimensions). */
static bool convert(fp_dec_t v, const jl_ucum_unit_t *from, const jl_ucum_unit_t *to, fp_dec_t *out)
{
	/* ratio = (from.num · to.den) / (from.den · to.num) · 10^(from.exp10 - to.exp10) */
	__int128 n = (__int128)from->num * to->den, d = (__int128)from->den * to->num;
	int e = from->exp10 - to->exp10;
	fp_dec_t r = v, nd = {n, 0}, dd = {d, 0};
	if (!jl__fp_dec_mul(r, nd, &r))
		return false;
	if (e > 0) {
		if (!shift_up(r.m, e, &r.m)) {
			/* Lower the scale first. */
			if (r.scale >= e) {
				r.scale -= e;
			} else
				return false;
		}
	} else if (e < 0) {
		if (r.scale - e > FP_DEC_MAX_SCALE) {
			r.m = shift_down_round(r.m, r.scale - e - FP_DEC_MAX_SCALE);
			r.scale = FP_DEC_MAX_SCALE;
		} else
			r.scale -= e;
	}
	if (d != 1) {
		fp_dec_t q;
		if (!jl__fp_dec_div(r, dd, &q))
			return false;
		r = q;
	}
	*out = r;
	return true;
}

int jl__fp_qty_cmp(const fp_qty_t *a, const fp_qty_t *b, bool equiv)
{
	fp_dec_t x = a->v, y = b->v;
	jl_ucum_unit_t ua, ub;
	bool same = jl_str_eq(a->unit, b->unit);
	if (!same) {
		/* Calendar words and their UCUM equivalents of a week or less are the same unit. */
		if (!unit_of(a->unit, &ua) || !unit_of(b->unit, &ub) || !jl_ucum_comparable(&ua, &ub))
			return 2;
		if (!convert(y, &ub, &ua, &y))
			return 2;
	}
	if (equiv) {
		int s = x.scale < y.scale ? x.scale : y.scale;
		if (!jl__fp_dec_rescale(x, s, &x) || !jl__fp_dec_rescale(y, s, &y))
			return 2;
	}
	return jl__fp_dec_cmp(x, y);
}

bool jl__fp_units_comparable(jl_str_t a, jl_str_t b)
{
	jl_ucum_unit_t ua, ub;
	if (jl_str_eq(a, b))
		return true;
	return unit_of(a, &ua) && unit_of(b, &ub) && jl_ucum_comparable(&ua, &ub);
}

/* The UCUM text of a unit for composing units in * and /. */
static jl_str_t ucum_text(jl_str_t u)
{
	int c = calendar_index(u);
	if (c >= 0 && calendar[c].ucum)
		return jl_cstr(calendar[c].ucum);
	return u;
}

static jl_str_t compose(jl_arena_t *a, jl_str_t x, char op, jl_str_t y)
{
	bool px = op == '/' && memchr(x.p, '/', x.n), py = memchr(y.p, '/', y.n) || memchr(y.p, '.', y.n);
	size_t n = x.n + y.n + 5;
	char *b = jl_arena_alloc_bytes(a, n);
	if (!b)
		return JL_STR_NULL;
	size_t o = 0;
	if (px)
		b[o++] = '(';
	memcpy(b + o, x.p, x.n);
	o += x.n;
	if (px)
		b[o++] = ')';
	b[o++] = op;
	if (py)
		b[o++] = '(';
	memcpy(b + o, y.p, y.n);
	o += y.n;
	if (py)
		b[o++] = ')';
	return jl_str(b, o);
}

bool jl__fp_qty_arith(jl_arena_t *a, int op, const fp_qty_t *x, const fp_qty_t *y, fp_qty_t *out)
{
	jl_ucum_unit_t ux, uy;
	out->nomem = false;
	if (op == OP_ADD || op == OP_SUB) {
		fp_dec_t w = y->v;
		if (!jl_str_eq(x->unit, y->unit)) {
			if (!unit_of(x->unit, &ux) || !unit_of(y->unit, &uy) || !jl_ucum_comparable(&ux, &uy) ||
			    !convert(w, &uy, &ux, &w))
				return false;
		}
		out->unit = x->unit;
		return op == OP_ADD ? jl__fp_dec_add(x->v, w, &out->v) : jl__fp_dec_sub(x->v, w, &out->v);
	}
	jl_str_t xu = ucum_text(x->unit), yu = ucum_text(y->unit);
	if (!unit_of(xu, &ux) || !unit_of(yu, &uy))
		return false;
	if (op == OP_MUL) {
		if (!jl__fp_dec_mul(x->v, y->v, &out->v))
			return false;
		out->unit = jl_str_eqc(yu, "1") ? xu : jl_str_eqc(xu, "1") ? yu : compose(a, xu, '.', yu);
	} else {
		if (!jl__fp_dec_div(x->v, y->v, &out->v))
			return false;
		out->unit = jl_str_eqc(yu, "1") ? xu : jl_str_eq(xu, yu) ? JL_STR("1") : compose(a, xu, '/', yu);
	}
	if (!out->unit.p) {
		out->unit = JL_STR("");
		out->nomem = true;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ types */

static const struct {
	const char *name;
	uint8_t kind;
} system_types[] = {
	{"Boolean", JL_FP_BOOLEAN}, {"Integer", JL_FP_INTEGER}, {"Decimal", JL_FP_DECIMAL},
	{"String", JL_FP_STRING},   {"Date", JL_FP_DATE},       {"DateTime", JL_FP_DATETIME},
	{"Time", JL_FP_TIME},       {"Quantity", JL_FP_QUANTITY},
};

static uint8_t system_kind(jl_str_t name)
{
	for (size_t i = 0; i < sizeof system_types / sizeof *system_types; i++)
		if (jl_str_eqc(name, system_types[i].name))
			return system_types[i].kind;
	return 0;
}

bool jl__fp_tspec(jl_str_t name, fp_tspec_t *out)
{
	memset(out, 0, sizeof *out);
	out->name = name;
	if (jl_str_starts(name, "System.")) {
		/* An unknown System type matches nothing (System.Patient). */
		out->sys = system_kind(jl_str(name.p + 7, name.n - 7));
		return true;
	}
	if (jl_str_starts(name, "FHIR.")) {
		out->fhir = jl_fhir_type(jl_str(name.p + 5, name.n - 5));
		return out->fhir != NULL;
	}
	out->fhir = jl_fhir_type(name);
	out->sys = system_kind(name);
	return out->fhir || out->sys;
}

static const jl_fhir_type_t *type_named(const char *name)
{
	return jl_fhir_type(jl_cstr(name));
}

/* The type a constraint profiles (Age → Quantity), or NULL. */
static const jl_fhir_type_t *constraint_base(const jl_fhir_type_t *t)
{
	return t != type_named("Quantity") && is_quantity_type(t) ? type_named("Quantity") : NULL;
}

/* The type t specialises (code → string, Patient → DomainResource), or NULL. */
static const jl_fhir_type_t *parent_type(const jl_fhir_type_t *t)
{
	switch (t->kind) {
	case JL_FHIR_PRIMITIVE:
		switch (t->prim) {
		case JL_PRIM_CODE: case JL_PRIM_ID: case JL_PRIM_MARKDOWN: return type_named("string");
		case JL_PRIM_URL: case JL_PRIM_CANONICAL: case JL_PRIM_UUID: case JL_PRIM_OID: return type_named("uri");
		case JL_PRIM_UNSIGNEDINT: case JL_PRIM_POSITIVEINT: return type_named("integer");
		default: return type_named("Element");
		}
	case JL_FHIR_COMPLEX: {
		const jl_fhir_type_t *b = constraint_base(t);
		return b ? b : type_named("Element");
	}
	case JL_FHIR_BACKBONE:
		return type_named("BackboneElement");
	case JL_FHIR_RESOURCE:
		for (uint16_t i = 0; i < t->nelems; i++)
			if (!strcmp(t->elems[i].name, "text"))
				return type_named("DomainResource");
		return type_named("Resource");
	default:
		if (!strcmp(t->name, "DomainResource"))
			return type_named("Resource");
		if (!strcmp(t->name, "BackboneElement"))
			return type_named("Element");
		return NULL;
	}
}

bool jl__fp_is_type(const jl_fp_item_t *it, const fp_tspec_t *ts, bool exact)
{
	if (it->kind != JL_FP_NODE)
		return ts->sys && ts->sys == it->kind;
	const jl_fhir_type_t *t = it->type, *want = ts->fhir;
	if (!t || !want)
		return false;
	if (t == want)
		return true;
	/* Concrete resources and backbone elements have no subtypes; kinds do not mix. */
	if (want->kind == JL_FHIR_RESOURCE || want->kind == JL_FHIR_BACKBONE ||
	    (want->kind != JL_FHIR_ABSTRACT && want->kind != t->kind))
		return false;
	if (exact) {
		if (constraint_base(t) == want)
			return true;
		if (want->kind != JL_FHIR_ABSTRACT)
			return false;
	}
	for (int guard = 0; t && guard < 8; guard++) {
		t = parent_type(t);
		if (t == want)
			return true;
	}
	return false;
}

const char *jl_fp_type_name(const jl_fp_item_t *it)
{
	switch (it->kind) {
	case JL_FP_NODE: return it->type ? it->type->name : "";
	case JL_FP_BOOLEAN: return "Boolean";
	case JL_FP_INTEGER: return "Integer";
	case JL_FP_DECIMAL: return "Decimal";
	case JL_FP_STRING: return "String";
	case JL_FP_DATE: return "Date";
	case JL_FP_DATETIME: return "DateTime";
	case JL_FP_TIME: return "Time";
	case JL_FP_QUANTITY: return "Quantity";
	default: return "";
	}
}

/* ------------------------------------------------------------------ conversions */

static bool str_ieq(jl_str_t s, const char *c)
{
	size_t n = strlen(c);
	if (s.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = s.p[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != c[i])
			return false;
	}
	return true;
}

bool jl__fp_to_boolean(const jl_fp_item_t *v, bool *out)
{
	fp_dec_t d;
	switch (v->kind) {
	case JL_FP_BOOLEAN:
		*out = v->i != 0;
		return true;
	case JL_FP_INTEGER:
		if (v->i != 0 && v->i != 1)
			return false;
		*out = v->i == 1;
		return true;
	case JL_FP_DECIMAL:
		if (!jl__fp_dec_parse(v->s, &d))
			return false;
		if (jl__fp_dec_cmp(d, jl__fp_dec_int(1)) == 0)
			*out = true;
		else if (d.m == 0)
			*out = false;
		else
			return false;
		return true;
	case JL_FP_STRING:
		if (str_ieq(v->s, "true") || str_ieq(v->s, "t") || str_ieq(v->s, "yes") || str_ieq(v->s, "y") ||
		    jl_str_eqc(v->s, "1") || jl_str_eqc(v->s, "1.0"))
			*out = true;
		else if (str_ieq(v->s, "false") || str_ieq(v->s, "f") || str_ieq(v->s, "no") || str_ieq(v->s, "n") ||
			 jl_str_eqc(v->s, "0") || jl_str_eqc(v->s, "0.0"))
			*out = false;
		else
			return false;
		return true;
	default:
		return false;
	}
}

bool jl__fp_to_integer(const jl_fp_item_t *v, int64_t *out)
{
	switch (v->kind) {
	case JL_FP_INTEGER:
		*out = v->i;
		return true;
	case JL_FP_BOOLEAN:
		*out = v->i ? 1 : 0;
		return true;
	case JL_FP_STRING: {
		jl_str_t s = v->s;
		if (s.n && s.p[0] == '+')
			s = jl_str(s.p + 1, s.n - 1);
		if (!s.n || (s.p[0] == '-' && s.n == 1))
			return false;
		for (size_t i = s.p[0] == '-'; i < s.n; i++)
			if (!dig(s.p[i]))
				return false;
		return jl_str_to_i64(s, out);
	}
	default:
		return false;
	}
}

bool jl__fp_to_decimal(const jl_fp_item_t *v, fp_dec_t *out)
{
	switch (v->kind) {
	case JL_FP_INTEGER:
	case JL_FP_DECIMAL:
		return jl__fp_num(v, out);
	case JL_FP_BOOLEAN:
		*out = (fp_dec_t){v->i ? 10 : 0, 1};
		return true;
	case JL_FP_STRING: {
		jl_str_t s = v->s;
		/* (\+|-)?\d+(\.\d+)? — no exponent. */
		size_t i = s.n && (s.p[0] == '+' || s.p[0] == '-');
		if (i == s.n)
			return false;
		for (size_t k = i; k < s.n; k++)
			if (!dig(s.p[k]) && s.p[k] != '.')
				return false;
		return jl__fp_dec_parse(s.n && s.p[0] == '+' ? jl_str(s.p + 1, s.n - 1) : s, out);
	}
	default:
		return false;
	}
}

bool jl__fp_to_dt(const jl_fp_item_t *v, uint8_t kind, fp_dt_t *out)
{
	if (v->kind == JL_FP_STRING)
		return jl__fp_dt_parse(v->s, kind, out);
	if (v->kind == JL_FP_TIME)
		return kind == JL_FP_TIME && jl__fp_dt_parse(v->s, kind, out);
	if (v->kind != JL_FP_DATE && v->kind != JL_FP_DATETIME)
		return false;
	if (kind == JL_FP_TIME || !jl__fp_dt_parse(v->s, v->kind, out))
		return false;
	out->kind = kind;
	if (kind == JL_FP_DATE && out->prec > P_DAY) {
		out->prec = P_DAY;
		out->has_tz = false;
	}
	return true;
}

/* "1.5 'mg'", "3 days", "2" (unit '1'). */
static bool parse_quantity_text(jl_str_t s, fp_qty_t *q)
{
	size_t i = 0;
	while (i < s.n && s.p[i] != ' ')
		i++;
	jl_fp_item_t num = jl__fp_str(jl_str(s.p, i));
	if (!jl__fp_to_decimal(&num, &q->v))
		return false;
	while (i < s.n && s.p[i] == ' ')
		i++;
	jl_str_t u = jl_str(s.p + i, s.n - i);
	if (!u.n) {
		q->unit = JL_STR("1");
		return true;
	}
	if (u.n >= 2 && u.p[0] == '\'' && u.p[u.n - 1] == '\'') {
		q->unit = jl_str(u.p + 1, u.n - 2);
		return q->unit.n > 0 && !memchr(q->unit.p, '\'', q->unit.n);
	}
	if (calendar_index(u) >= 0) {
		q->unit = u;
		return true;
	}
	return false;
}

bool jl__fp_to_quantity(jl_arena_t *a, const jl_fp_item_t *v, fp_qty_t *out)
{
	(void)a;
	switch (v->kind) {
	case JL_FP_QUANTITY:
		return jl__fp_qty_of(v, out);
	case JL_FP_INTEGER:
	case JL_FP_DECIMAL:
	case JL_FP_BOOLEAN:
		if (!jl__fp_to_decimal(v, &out->v))
			return false;
		out->unit = JL_STR("1");
		return true;
	case JL_FP_STRING:
		return parse_quantity_text(v->s, out);
	default:
		return false;
	}
}

bool jl_fp_to_string(jl_arena_t *a, const jl_fp_item_t *it, jl_str_t *out)
{
	*out = JL_STR_NULL;
	switch (it->kind) {
	case JL_FP_NODE: {
		const jl_json_t *v = it->node;
		if (!v)
			return false;
		if (v->type == JL_JSON_STRING || v->type == JL_JSON_NUMBER) {
			*out = jl_json_str(v);
			return true;
		}
		if (v->type == JL_JSON_TRUE || v->type == JL_JSON_FALSE) {
			*out = v->type == JL_JSON_TRUE ? JL_STR("true") : JL_STR("false");
			return true;
		}
		if (is_quantity_type(it->type)) {
			jl_fp_item_t q;
			return jl__fp_value(NULL, it, &q) && jl_fp_to_string(a, &q, out);
		}
		return false;
	}
	case JL_FP_BOOLEAN:
		*out = it->i ? JL_STR("true") : JL_STR("false");
		return true;
	case JL_FP_INTEGER: {
		char b[24];
		int n = snprintf(b, sizeof b, "%lld", (long long)it->i);
		*out = jl_arena_str(a, jl_str(b, (size_t)n));
		return out->p != NULL;
	}
	case JL_FP_QUANTITY: {
		bool cal = calendar_index(it->s) >= 0;
		size_t n = it->num.n + it->s.n + 3;
		char *b = jl_arena_alloc_bytes(a, n);
		if (!b)
			return false;
		size_t o = 0;
		memcpy(b, it->num.p, it->num.n);
		o = it->num.n;
		b[o++] = ' ';
		if (!cal)
			b[o++] = '\'';
		memcpy(b + o, it->s.p, it->s.n);
		o += it->s.n;
		if (!cal)
			b[o++] = '\'';
		*out = jl_str(b, o);
		return true;
	}
	default:
		*out = it->s;
		return it->s.p != NULL || it->kind == JL_FP_STRING;
	}
}
