/*
 * ids — check characters of the citizen ID, the organisation code and the
 * USCC, exactly as identifiers.md §1.2, §2.1 and §2.2 state them.
 */
#include "gen/ids.h"

#include <string.h>

char jl_cnid_check(const char *id)
{
	static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char m[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
	int s = 0;
	for (int i = 0; i < 17; i++) {
		if (id[i] < '0' || id[i] > '9')
			return 0;
		s += (id[i] - '0') * w[i];
	}
	return m[s % 11];
}

bool jl_cnid_valid(const char *id)
{
	if (strlen(id) != 18)
		return false;
	char c = jl_cnid_check(id);
	return c && c == id[17];
}

static int org_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 55;
	return -1;
}

char jl_orgcode_check(const char *body)
{
	static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
	int s = 0;
	for (int i = 0; i < 8; i++) {
		int v = org_val(body[i]);
		if (v < 0)
			return 0;
		s += v * w[i];
	}
	int c = 11 - s % 11;
	return c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
}

static const char uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_val(char c)
{
	const char *p = c ? strchr(uscc_alpha, c) : NULL;
	return p ? (int)(p - uscc_alpha) : -1;
}

char jl_uscc_check(const char *code)
{
	int s = 0, w = 1;
	for (int i = 0; i < 17; i++) {
		int v = uscc_val(code[i]);
		if (v < 0)
			return 0;
		s += v * w;
		w = w * 3 % 31;
	}
	return uscc_alpha[(31 - s % 31) % 31];
}

bool jl_uscc_valid(const char *code)
{
	if (strlen(code) != 18)
		return false;
	char c = jl_uscc_check(code);
	if (!c || c != code[17])
		return false;
	char oc = jl_orgcode_check(code + 8);
	return oc && oc == code[16];
}
