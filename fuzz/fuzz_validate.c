/*
 * libFuzzer target: FHIR validation and the stored-body encoding. Inputs
 * that parse as JSON are validated as resources; valid ones are encoded and
 * reassembled, and the result must parse and validate again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/json.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	char *p = jl_malloc(JL_MEM_MISC, size ? size : 1);
	if (!p) {
		jl_arena_free(a);
		return 0;
	}
	if (size)
		memcpy(p, data, size);
	jl_json_t *v;
	jl_json_err_t e;
	if (jl_json_parse(a, p, size, NULL, &v, &e) == JL_OK && v->type == JL_JSON_OBJECT) {
		jl_diag_t d;
		jl_diag_init(&d, a);
		if (jl_fhir_validate(v, NULL, &d) == JL_OK) {
			const jl_json_t *rt = jl_json_get(v, "resourceType");
			jl_buf_t body, full;
			jl_buf_init(&body, JL_MEM_MISC, 0);
			jl_buf_init(&full, JL_MEM_MISC, 0);
			uint32_t ml;
			if (jl_fhir_body_encode(v, &body, &ml) == JL_OK &&
			    jl_fhir_body_assemble(&full, jl_json_str(rt), JL_STR("x"), 1, 0, jl_buf_str(&body), ml) ==
				    JL_OK) {
				jl_json_t *w;
				jl_diag_t d2;
				jl_diag_init(&d2, a);
				if (jl_json_parse(a, full.p, full.n, NULL, &w, &e) != JL_OK ||
				    jl_fhir_validate(w, NULL, &d2) != JL_OK)
					abort();
			}
			jl_buf_dispose(&body);
			jl_buf_dispose(&full);
		}
	}
	jl_free(JL_MEM_MISC, p);
	jl_arena_free(a);
	return 0;
}
