/*
 * libFuzzer target: the bulk data parameter parsers. The first byte picks
 * the parser and its options:
 *   bit 0 = 0: an $export kick-off. Bits 1-2: level (system, Patient,
 *     Group); bit 3: Prefer handling=strict; bit 4: handling=lenient. The
 *     rest is the query string, then after a NUL byte an optional POST body
 *     (a Parameters resource). Parsed as rest/bulk.c does (_type, _since,
 *     _typeFilter through the search parser, _elements, …); when it is
 *     accepted with filters or elements, the export runs on a small store
 *     made once at start, so the filters' conditions reach the store scan.
 *   bit 0 = 1: an $import kick-off's Parameters body, read as rest/import.c
 *     does against an import directory holding two small files.
 * Any input must end in a result or a clean error, never a crash or a leak.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_store.h"
#include "rest/bulk.h"
#include "rest/http.h"
#include "rest/import.h"
#include "search/export.h"

static jl_store_t *store;
static jl_search_defs_t *defs;
static jl_imports_t *imports;
static char out_dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/jl-fuzz-bulk-XXXXXX";
	static const char *const seed[] = {
		"{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"female\",\"birthDate\":\"1980-01-01\","
		"\"name\":[{\"family\":\"Duan\"}]}",
		"{\"resourceType\":\"Group\",\"id\":\"g1\",\"type\":\"person\",\"actual\":true,"
		"\"member\":[{\"entity\":{\"reference\":\"Patient/p1\"}}]}",
		"{\"resourceType\":\"Observation\",\"id\":\"b1\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
		"\"http://loinc.org\",\"code\":\"8480-6\"}]},\"subject\":{\"reference\":\"Patient/p1\"},"
		"\"effectiveDateTime\":\"2024-01-01\",\"valueQuantity\":{\"value\":120,\"system\":\"http://unitsofmeasure.org\","
		"\"code\":\"mm[Hg]\"}}",
	};
	fuzz_seeded_store(dir, seed, sizeof seed / sizeof seed[0], &store, &defs);
	char p[256], in[128], work[128];
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	snprintf(out_dir, sizeof out_dir, "%s/out", dir);
	snprintf(in, sizeof in, "%s/in", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	if (mkdir(out_dir, 0700) || mkdir(in, 0700))
		abort();
	snprintf(p, sizeof p, "%s/a.ndjson", in);
	write_file(p, "{\"resourceType\":\"Patient\"}\n");
	snprintf(p, sizeof p, "%s/b.jsonl", in);
	write_file(p, "\n");
	jl_imports_cfg_t icfg;
	jl_imports_cfg_defaults(&icfg);
	icfg.dir = in;
	icfg.work = work;
	if (jl_imports_start(&icfg, store, defs, NULL, &imports, &d))
		abort();
	jl_arena_free(a);
	return 0;
}

/* Removes what an export wrote, so that the next one finds the directory empty. */
static void clear_out(void)
{
	DIR *dir = opendir(out_dir);
	struct dirent *e;
	char p[512];
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.' && snprintf(p, sizeof p, "%s/%s", out_dir, e->d_name) < (int)sizeof p)
			unlink(p);
	if (dir)
		closedir(dir);
}

static void export_params(jl_arena_t *a, uint8_t flags, jl_str_t text)
{
	const char *nul = memchr(text.p, 0, text.n);
	jl_str_t query = nul ? jl_str(text.p, (size_t)(nul - text.p)) : text;
	jl_str_t body = nul ? jl_str(nul + 1, text.n - query.n - 1) : JL_STR_NULL;
	jl_http_req_t req = {0};
	if (jl_http_parse_query(a, query, &req) != JL_OK)
		return;
	jl_search_cfg_t scfg = {.defs = defs, .base = JL_STR("http://localhost/fhir"), .page_max = 50};
	jl__bulk_opts_t o = {.level = (uint8_t)(JL_EXPORT_SYSTEM + (flags >> 1 & 3) % 3), .strict = flags & 8,
			     .lenient = flags & 16, .search = &scfg};
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl__bulk_kick_t k;
	jl__bulk_params(a, req.query, req.nquery, body, &o, &k, &d);
	for (size_t i = 0; i < d.n; i++)
		if (!d.items[i].diag || !d.items[i].code)
			abort(); /* every issue says what is wrong */
	if (d.nerrors || (!k.nfilters && !k.nelements))
		return;
	jl_export_spec_t spec = {.level = o.level, .group_id = JL_STR("g1"), .types = k.types, .ntypes = k.ntypes,
				 .since_us = k.since_us, .filters = k.filters, .nfilters = k.nfilters,
				 .elements = k.elements, .nelements = k.nelements, .dir = out_dir};
	jl_export_result_t res;
	jl_rc rc = jl_export_run(store, a, &spec, &res, &d);
	clear_out();
	if (rc && rc != JL_ENOMEM && rc != JL_ETOOBIG && rc != JL_EINVAL)
		abort(); /* a filter the parser accepted must run */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	jl_str_t text = jl_str((const char *)data + 1, size - 1);
	if (data[0] & 1) {
		jl_diag_t d;
		size_t n;
		jl_diag_init(&d, a);
		jl__import_params(imports, a, text, &n, &d);
		if (!d.nerrors && !n)
			abort(); /* accepted means at least one input */
	} else {
		export_params(a, data[0], text);
	}
	jl_arena_free(a);
	return 0;
}
