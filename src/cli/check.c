/*
 * check — `jianlian check --data DIR`: runs the store's full integrity check
 * and prints what it counts. Exit 0 when intact, 1 when not.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

int jl_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *data = "var/jianlian";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'H':
			printf("Usage: jianlian check [--data DIR]\n\n"
			       "Checks the integrity of a data directory (default ./var/jianlian) and prints\n"
			       "its counts. Exit codes: 0 intact, 1 damaged or unreadable, 2 usage error.\n");
			return JL_EXIT_OK;
		default:
			fprintf(stderr, "jianlian check: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return JL_EXIT_USAGE;
		}
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	int rc = JL_EXIT_FAIL;
	jl_store_cfg_t cfg = {.dir = data, .readers = 1};
	if (jl_store_open("sqlite", &cfg, &s, &d) != JL_OK) {
		fprintf(stderr, "jianlian check: cannot open %s\n", data);
		jl_cli_print_diag(&d);
		goto out;
	}
	if (jl_store_check(s, &d) != JL_OK) {
		fprintf(stderr, "jianlian check: %s is damaged\n", data);
		jl_cli_print_diag(&d);
		goto out;
	}
	jl_store_stats_t st;
	if (jl_store_stats(s, &st) == JL_OK)
		printf("ok: %lld resources, %lld versions, %lld bytes\n", (long long)st.resources,
		       (long long)st.versions, (long long)st.bytes);
	rc = JL_EXIT_OK;
out:
	jl_store_close(s);
	jl_arena_free(a);
	return rc;
}
