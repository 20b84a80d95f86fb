/*
 * util — helpers shared by the subcommands.
 */
#include <stdio.h>

#include "cli/cli.h"

bool jl_cli_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;
	if (!*p)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return false;
	switch (*p) {
	case 0: break;
	case 'k': case 'K': mul = 1024; p++; break;
	case 'm': case 'M': mul = 1024 * 1024; p++; break;
	case 'g': case 'G': mul = 1024ULL * 1024 * 1024; p++; break;
	default: return false;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p || (v && mul > UINT64_MAX / v))
		return false;
	*out = v * mul;
	return true;
}

void jl_cli_print_diag(const jl_diag_t *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "jianlian: %s%s%s\n", d->items[i].diag, d->items[i].expr ? " at " : "",
			d->items[i].expr ? d->items[i].expr : "");
}
