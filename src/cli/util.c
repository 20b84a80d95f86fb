/*
 * util — helpers shared by the subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "store/store.h"

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

int jl_cli_open_data(const char *cmd, const char *data, jl_store_t **s)
{
	*s = NULL;
	char db[4096];
	struct stat st;
	/* Without this check the store would create an empty directory where a typo was meant. */
	snprintf(db, sizeof db, "%s/jianlian.db", data);
	if (stat(db, &st) != 0) {
		fprintf(stderr, "jianlian %s: %s is not a Jianlian data directory (no jianlian.db)\n", cmd, data);
		return JL_EXIT_FAIL;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_cfg_t cfg = {.dir = data, .readers = 2};
	int ex = JL_EXIT_OK;
	if (jl_store_open("sqlite", &cfg, s, &d) != JL_OK) {
		fprintf(stderr, "jianlian %s: cannot open %s\n", cmd, data);
		jl_cli_print_diag(&d);
		*s = NULL;
		ex = JL_EXIT_FAIL;
	}
	jl_arena_free(a);
	return ex;
}

char *jl_cli_read_file(const char *path, size_t *n)
{
	*n = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	char *buf = NULL;
	long len = -1;
	if (fseek(fp, 0, SEEK_END) == 0)
		len = ftell(fp);
	if (len >= 0 && len < (64 << 20) && fseek(fp, 0, SEEK_SET) == 0)
		buf = jl_malloc(JL_MEM_MISC, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		jl_free(JL_MEM_MISC, buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf) {
		buf[len] = 0;
		*n = (size_t)len;
	}
	return buf;
}

bool jl_cli_parse_year(const char *cmd, const char *flag, const char *arg, int32_t *year)
{
	char *end = NULL;
	long y = strtol(arg, &end, 10);
	if (end == arg || *end || y < 1950 || y > 2200) {
		fprintf(stderr, "jianlian %s: --%s must be a year, e.g. 2024 (got '%s')\n", cmd, flag, arg);
		return false;
	}
	*year = (int32_t)y;
	return true;
}
