/*
 * fw — FHIR value writers for the generator.
 */
#include "gen/fw.h"

#include <stdio.h>

#include "base/time.h"

jl_ymd_t jl_ymd(int day)
{
	/* Inverse of days-from-civil (Hinnant's algorithm). */
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	return (jl_ymd_t){(int)(y + (m <= 2)), (int)m, (int)d};
}

int jl_day(int y, int m, int d)
{
	return (int)jl_days_from_civil(y, m, d);
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void jl_fmt_date(int day, char *out)
{
	jl_ymd_t t = jl_ymd(day);
	put2(out, t.y / 100);
	put2(out + 2, t.y % 100);
	out[4] = '-';
	put2(out + 5, t.m);
	out[7] = '-';
	put2(out + 8, t.d);
	out[10] = 0;
}

void fw_key_str(jl_jw_t *w, const char *k, const char *v)
{
	jl_jw_keyc(w, k);
	jl_jw_strc(w, v);
}

void fw_key_date(jl_jw_t *w, const char *k, int day)
{
	char b[11];
	jl_fmt_date(day, b);
	jl_jw_keyc(w, k);
	jl_jw_str(w, jl_str(b, 10));
}

void fw_key_dt(jl_jw_t *w, const char *k, int day, int min)
{
	char b[32];
	jl_fmt_date(day, b);
	b[10] = 'T';
	put2(b + 11, min / 60 % 24);
	b[13] = ':';
	put2(b + 14, min % 60);
	memcpy(b + 16, ":00+08:00", 9);
	jl_jw_keyc(w, k);
	jl_jw_str(w, jl_str(b, 25));
}

void fw_ref(jl_jw_t *w, const char *k, const char *type, const char *id)
{
	char b[128];
	int n = snprintf(b, sizeof b, "%s/%s", type, id);
	jl_jw_keyc(w, k);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "reference");
	jl_jw_str(w, jl_str(b, (size_t)n));
	jl_jw_obj_end(w);
}

void fw_coding(jl_jw_t *w, const char *sys, const char *code, const char *display)
{
	jl_jw_obj_begin(w);
	fw_key_str(w, "system", sys);
	fw_key_str(w, "code", code);
	if (display)
		fw_key_str(w, "display", display);
	jl_jw_obj_end(w);
}

static void cc(jl_jw_t *w, const char *sys, const char *code, const char *display)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "coding");
	jl_jw_arr_begin(w);
	fw_coding(w, sys, code, display);
	jl_jw_arr_end(w);
	if (display)
		fw_key_str(w, "text", display);
	jl_jw_obj_end(w);
}

void fw_cc(jl_jw_t *w, const char *k, const char *sys, const char *code, const char *display)
{
	jl_jw_keyc(w, k);
	cc(w, sys, code, display);
}

void fw_cc_arr(jl_jw_t *w, const char *k, const char *sys, const char *code, const char *display)
{
	jl_jw_keyc(w, k);
	jl_jw_arr_begin(w);
	cc(w, sys, code, display);
	jl_jw_arr_end(w);
}

void fw_ident(jl_jw_t *w, const char *use, const char *sys, const char *value)
{
	jl_jw_obj_begin(w);
	if (use)
		fw_key_str(w, "use", use);
	fw_key_str(w, "system", sys);
	fw_key_str(w, "value", value);
	jl_jw_obj_end(w);
}

void fw_period(jl_jw_t *w, const char *k, int start, int end)
{
	jl_jw_keyc(w, k);
	jl_jw_obj_begin(w);
	fw_key_date(w, "start", start);
	if (end)
		fw_key_date(w, "end", end);
	jl_jw_obj_end(w);
}

void fw_num(jl_jw_t *w, double v, int dec)
{
	char b[40];
	int n = snprintf(b, sizeof b, "%.*f", dec, v);
	jl_jw_num(w, jl_str(b, (size_t)n));
}

void fw_qty(jl_jw_t *w, const char *k, double v, int dec, const char *unit)
{
	jl_jw_keyc(w, k);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "value");
	fw_num(w, v, dec);
	fw_key_str(w, "unit", unit);
	fw_key_str(w, "system", SYS_UCUM);
	fw_key_str(w, "code", unit);
	jl_jw_obj_end(w);
}

void fw_begin(jl_jw_t *w, const char *type, const char *id)
{
	jl_jw_obj_begin(w);
	fw_key_str(w, "resourceType", type);
	fw_key_str(w, "id", id);
}
