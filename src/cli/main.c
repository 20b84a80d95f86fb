/*
 * main — the jianlian command: global options and dispatch to subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "base/version.h"
#include "cli/cli.h"
#include "fhir/model.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: jianlian <command> [options]\n"
		   "\n"
		   "健联 Jianlian — regional health information platform (FHIR R4 %s)\n"
		   "\n"
		   "Commands:\n"
		   "  serve     serve the FHIR REST API over HTTP\n"
		   "  check     check a data directory's integrity\n"
		   "  reindex   rebuild the search index (after adding a SearchParameter)\n"
		   "  gen       generate a synthetic region (FHIR R4 NDJSON or straight into a data directory)\n"
		   "  import    bulk import of FHIR NDJSON files (.ndjson, .ndjson.gz), resumable\n"
		   "  export    bulk export of a data directory as FHIR NDJSON (like $export)\n"
		   "  indicators  plan indicators of a region and year against targets (JSON or table)\n"
		   "  report    annual monitoring report of a region (self-contained HTML, PDF)\n"
		   "\n"
		   "Options:\n"
		   "  --version   print the version and exit\n"
		   "  --help      print this help and exit\n"
		   "\n"
		   "Run `jianlian <command> --help` for a command's options.\n"
		   "Exit codes: 0 success, 1 failure, 2 usage error.\n",
		jl_fhir_version);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return JL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("jianlian %s (FHIR %s)\n", JL_VERSION, jl_fhir_version);
		return JL_EXIT_OK;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return JL_EXIT_OK;
	}
	if (!strcmp(cmd, "serve"))
		return jl_cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return jl_cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "reindex"))
		return jl_cmd_reindex(argc - 1, argv + 1);
	if (!strcmp(cmd, "gen"))
		return jl_cmd_gen(argc - 1, argv + 1);
	if (!strcmp(cmd, "import"))
		return jl_cmd_import(argc - 1, argv + 1);
	if (!strcmp(cmd, "export"))
		return jl_cmd_export(argc - 1, argv + 1);
	if (!strcmp(cmd, "indicators"))
		return jl_cmd_indicators(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return jl_cmd_report(argc - 1, argv + 1);
	fprintf(stderr, "jianlian: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return JL_EXIT_USAGE;
}
