/*
 * reindex — `jianlian reindex --data DIR`, and the start-up check that
 * serve and gen share: the stored search index must have been built with
 * the current search definitions (generated plus custom SearchParameter
 * resources); when it was not, it is rebuilt (or, for serve with
 * --no-auto-reindex, refused).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "cli/cli.h"
#include "search/defs.h"

typedef struct progress {
	int64_t start_ns, last_ns;
	bool tty;
} progress_t;

static void show(void *arg, int64_t done, int64_t total)
{
	progress_t *p = arg;
	int64_t now = jl_mono_ns();
	if (done && done != total && now - p->last_ns < (p->tty ? 200000000 : 5000000000LL))
		return;
	p->last_ns = now;
	double secs = (double)(now - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0;
	fprintf(stderr, "%sjianlian: reindexing %lld/%lld resources (%.0f/s, %.0f s left)%s", p->tty ? "\r" : "",
		(long long)done, (long long)total, rate, eta, p->tty && done != total ? "" : "\n");
	fflush(stderr);
}

int jl_cli_prepare_index(jl_store_t *s, jl_search_defs_t **defs, bool auto_reindex, bool quiet)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	int rc = JL_EXIT_FAIL;
	if (jl_search_defs_new(defs, s, &d) != JL_OK) {
		fprintf(stderr, "jianlian: cannot compile the search parameters\n");
		goto out;
	}
	if (!quiet)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "jianlian: %s\n", d.items[i].diag);
	jl_rc st = jl_search_check_index(*defs, s);
	if (st == JL_OK) {
		rc = JL_EXIT_OK;
		goto out;
	}
	if (st != JL_ESTALE) {
		fprintf(stderr, "jianlian: cannot read the index state (%s)\n", jl_rc_name(st));
		goto out;
	}
	if (!auto_reindex) {
		fprintf(stderr, "jianlian: the search index was built with other search parameters "
				"(a custom SearchParameter was added, or the software changed): run `jianlian reindex`\n");
		goto out;
	}
	fprintf(stderr, "jianlian: the search definitions changed (%u custom parameters): rebuilding the index\n",
		jl_search_defs_ncustom(*defs));
	progress_t p = {.start_ns = jl_mono_ns(), .tty = isatty(2)};
	if (jl_search_reindex(*defs, s, show, &p) != JL_OK) {
		fprintf(stderr, "jianlian: reindexing failed\n");
		goto out;
	}
	rc = JL_EXIT_OK;
out:
	jl_arena_free(a);
	return rc;
}

int jl_cmd_reindex(int argc, char **argv)
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
			printf("Usage: jianlian reindex [--data DIR]\n\n"
			       "Rebuilds the search index of a data directory (default ./var/jianlian) with the\n"
			       "current search parameters: the R4 ones and the custom SearchParameter resources\n"
			       "stored in it (active or draft). Run it after adding a SearchParameter; the server\n"
			       "also does it at start when it finds the definitions changed.\n"
			       "Exit codes: 0 done, 1 failure, 2 usage error.\n");
			return JL_EXIT_OK;
		default:
			fprintf(stderr, "jianlian reindex: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return JL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jianlian reindex: unexpected argument '%s'\n", argv[optind]);
		return JL_EXIT_USAGE;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	jl_search_defs_t *defs = NULL;
	int rc = JL_EXIT_FAIL;
	jl_store_cfg_t cfg = {.dir = data};
	if (jl_store_open("sqlite", &cfg, &s, &d) != JL_OK) {
		fprintf(stderr, "jianlian reindex: cannot open %s\n", data);
		jl_cli_print_diag(&d);
		goto out;
	}
	if (jl_search_defs_new(&defs, s, &d) != JL_OK) {
		fprintf(stderr, "jianlian reindex: cannot compile the search parameters\n");
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "jianlian reindex: %s\n", d.items[i].diag);
	progress_t p = {.start_ns = jl_mono_ns(), .tty = isatty(2)};
	if (jl_search_reindex(defs, s, show, &p) != JL_OK) {
		fprintf(stderr, "jianlian reindex: failed\n");
		goto out;
	}
	printf("reindexed %s with %u custom search parameter(s) in %.1f s\n", data, jl_search_defs_ncustom(defs),
	       (double)(jl_mono_ns() - p.start_ns) / 1e9);
	rc = JL_EXIT_OK;
out:
	jl_search_defs_free(defs);
	jl_store_close(s);
	jl_arena_free(a);
	return rc;
}
