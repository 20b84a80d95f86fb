/*
 * libFuzzer target: URL decoding and query-string splitting (every request
 * URL passes through these), and the Accept-header quality parser.
 */
#include <stdint.h>
#include <stdlib.h>

#include "rest/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jl_arena_t *a = jl_arena_new(4096, 16u << 20);
	if (!a)
		return 0;
	char *p = jl_malloc(JL_MEM_MISC, size + 1);
	if (!p) {
		jl_arena_free(a);
		return 0;
	}
	if (size)
		memcpy(p, data, size);
	p[size] = 0;
	jl_http_req_t req;
	memset(&req, 0, sizeof req);
	jl_str_t out;
	(void)jl_http_unescape(a, jl_str(p, size), false, &out);
	if (jl_http_parse_query(a, jl_str(p, size), &req) == JL_OK)
		for (size_t i = 0; i < req.nquery; i++)
			if (req.query[i].k.n > size || req.query[i].v.n > size)
				abort();
	(void)jl_http_accept_q(p, "application/fhir+json");
	jl_free(JL_MEM_MISC, p);
	jl_arena_free(a);
	return 0;
}
