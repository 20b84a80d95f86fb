/*
 * libFuzzer target: search query strings end to end — URL query splitting,
 * FHIR search parsing (strict and lenient, type and system level), and the
 * store's planner, SQL building and execution against a small database
 * made once at start. Any input must give a result or a clean error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_store.h"
#include "rest/http.h"
#include "search/query.h"

static jl_store_t *store;
static jl_search_defs_t *defs; /* kept for the process's life */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/jl-fuzz-search-XXXXXX";
	static const char *const seed[] = {
		"{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"female\",\"birthDate\":\"1980-01-01\","
		"\"name\":[{\"family\":\"Duan\",\"given\":[\"Lihua\"]}],\"managingOrganization\":{\"reference\":\"Organization/o1\"}}",
		"{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Dali Hospital\"}",
		"{\"resourceType\":\"Observation\",\"id\":\"b1\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
		"\"code\":\"8480-6\"}]},\"subject\":{\"reference\":\"Patient/p1\"},\"effectiveDateTime\":\"2024-01-01\","
		"\"valueQuantity\":{\"value\":120,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}",
	};
	fuzz_seeded_store(dir, seed, sizeof seed / sizeof seed[0], &store, &defs);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const char *const types[] = {"Patient", "Observation", "Organization", ""};
	jl_str_t type = jl_cstr(types[data[0] & 3]);
	bool strict = data[0] & 4;
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	jl_http_req_t req = {0};
	if (jl_http_parse_query(a, jl_str((const char *)data + 1, size - 1), &req) == JL_OK) {
		jl_search_pair_t *pairs = jl_arena_alloc(a, (req.nquery + 1) * sizeof *pairs);
		for (size_t i = 0; pairs && i < req.nquery; i++) {
			pairs[i].k = req.query[i].k;
			pairs[i].v = req.query[i].v;
		}
		jl_diag_t d;
		jl_diag_init(&d, a);
		jl_search_req_t sr;
		jl_search_cfg_t cfg = {.defs = defs, .base = JL_STR("http://localhost/fhir"), .page_max = 50};
		if (pairs && jl_search_parse(a, type, pairs, req.nquery, strict, &cfg, &sr, &d) == JL_OK) {
			sr.q.no_cursor = true;
			jl_sq_page_t pg;
			(void)jl_store_search(store, a, &sr.q, &pg, &d);
		}
	}
	jl_arena_free(a);
	return 0;
}
