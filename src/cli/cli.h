/*
 * cli — the jianlian subcommands. Each returns a process exit code:
 *   0 success, 1 the work failed (I/O, corrupt data, cannot bind),
 *   2 usage error (unknown option, bad value) — scripts can rely on these.
 */
#ifndef JL_CLI_CLI_H
#define JL_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

enum { JL_EXIT_OK = 0, JL_EXIT_FAIL = 1, JL_EXIT_USAGE = 2 };

int jl_cmd_serve(int argc, char **argv);
int jl_cmd_check(int argc, char **argv);
int jl_cmd_reindex(int argc, char **argv);

struct jl_store;
struct jl_search_defs;
/*
 * Compiles the search definitions (with the store's custom ones) into *defs
 * and makes sure the store's index was built with them, rebuilding it when
 * auto_reindex (else failing with advice). Returns an exit code.
 */
int jl_cli_prepare_index(struct jl_store *s, struct jl_search_defs **defs, bool auto_reindex, bool quiet);
int jl_cmd_gen(int argc, char **argv);
/* `jianlian import`: also exits 3 when it completed but rejected some lines. */
int jl_cmd_import(int argc, char **argv);
int jl_cmd_export(int argc, char **argv);
int jl_cmd_indicators(int argc, char **argv);
/* `jianlian report`: the annual report of a region (HTML, PDF through Chromium). */
int jl_cmd_report(int argc, char **argv);

/* "64M", "1G", "512k", "1000" → bytes; false on garbage or overflow. */
bool jl_cli_parse_size(const char *s, uint64_t *out);
/* Prints the issues of d to stderr as "jianlian: <message>" lines. */
void jl_cli_print_diag(const jl_diag_t *d);
/*
 * Opens the store of an existing data directory for reading (a command that
 * reads never creates one). Problems are printed as "jianlian <cmd>: …".
 * Returns an exit code; *s is NULL unless JL_EXIT_OK.
 */
int jl_cli_open_data(const char *cmd, const char *data, struct jl_store **s);
/*
 * The whole of a small file (at most 64 MiB), NUL-terminated, from
 * jl_malloc (free with jl_free(JL_MEM_MISC, …)); *n its length. NULL when
 * it cannot be read or is larger.
 */
char *jl_cli_read_file(const char *path, size_t *n);
/*
 * The facts of reg from the data directory's projection (monitor/project.h),
 * refreshed first; with verbose, what the refresh read goes to stderr as
 * "jianlian <cmd>: …". Problems are printed. In cli/indicators.c.
 */
struct jl_catalog;
struct jl_regions;
struct jl_facts;
jl_rc jl_cli_project_facts(const char *cmd, bool verbose, struct jl_store *s, const char *data,
			   const struct jl_catalog *cat, const struct jl_regions *reg, struct jl_facts *f, jl_diag_t *d);
/* A calendar year (1950–2200) given as option --<flag>; false, with a message, otherwise. */
bool jl_cli_parse_year(const char *cmd, const char *flag, const char *arg, int32_t *year);

#endif
