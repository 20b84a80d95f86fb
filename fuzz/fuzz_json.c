/*
 * libFuzzer target: the JSON parser. Any input must either parse, or fail
 * with an error and position — never crash, leak or read out of bounds. A
 * parsed tree must serialise and re-parse to an equal tree.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	/* Copy into a heap block that ends where the input ends, so ASan sees any over-read. */
	char *p = jl_malloc(JL_MEM_MISC, size ? size : 1);
	if (!p) {
		jl_arena_free(a);
		return 0;
	}
	if (size)
		memcpy(p, data, size);
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 64};
	if (jl_json_parse(a, p, size, &o, &v, &e) == JL_OK) {
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		if (jl_json_write(&b, v, size & 1) == JL_OK) {
			jl_json_t *w;
			if (jl_json_parse(a, b.p, b.n, &o, &w, &e) != JL_OK || !jl_json_equal(v, w))
				abort();
		}
		jl_buf_dispose(&b);
	}
	jl_free(JL_MEM_MISC, p);
	jl_arena_free(a);
	return 0;
}
