/*
 * libFuzzer target: PATCH (fhir/patch). The input is a document and a
 * patch separated by the first NUL byte ("DOC\0PATCH"); without a NUL the
 * whole input is the patch and the document is a fixed Patient with
 * primitive extensions, choices, lists and a contained resource. Whatever
 * parses is patched both as a JSON Patch and as a FHIRPath Patch.
 *
 * Invariants (abort on violation): a failed patch leaves the caller's
 * tree as it was (same root, same content, so nothing was edited in
 * place); a successful one yields a tree that serialises and parses back
 * equal, and leaves the original untouched too. Crashes, sanitizer
 * reports and runaway memory are bugs: hostile patches end in an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/patch.h"
#include "fhir/validate.h"

static const char patient[] =
	"{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"3\"},"
	"\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Acme\"}],"
	"\"identifier\":[{\"use\":\"official\",\"system\":\"urn:s\",\"value\":\"12\"},{\"value\":\"13\"}],"
	"\"active\":true,\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\",null,\"James\"],"
	"\"_given\":[null,{\"extension\":[{\"url\":\"http://x/n\",\"valueString\":\"J\"}]},{\"id\":\"g\"}]}],"
	"\"gender\":\"male\",\"birthDate\":\"1974-12-25\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x/t\","
	"\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},\"deceasedBoolean\":false,"
	"\"contact\":[{\"name\":{\"text\":\"a\"},\"gender\":\"female\"}],"
	"\"managingOrganization\":{\"reference\":\"#o1\"}}";

static jl_json_t *parse(jl_arena_t *a, const char *p, size_t n)
{
	jl_json_t *v;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = 64};
	return jl_json_parse(a, p, n, &o, &v, &e) == JL_OK ? v : NULL;
}

static void check(jl_arena_t *a, jl_rc rc, const jl_json_t *orig, const jl_json_t *after, const jl_json_t *fresh)
{
	/* The caller's tree is never edited, whatever the outcome. */
	if (!jl_json_equal(orig, fresh))
		abort();
	if (rc) {
		if (after != orig)
			abort();
		return;
	}
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	if (jl_json_write(&b, after, 0) == JL_OK) {
		jl_json_t *back;
		jl_json_err_t e;
		jl_json_opts_t o = {.max_depth = JL_PATCH_MAX_DEPTH};
		if (jl_json_parse(a, b.p, b.n, &o, &back, &e) != JL_OK || !jl_json_equal(after, back))
			abort();
	}
	jl_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jl_arena_t *a = jl_arena_new(4096, 256u << 20);
	if (!a)
		return 0;
	/* Heap copy that ends where the input ends, so ASan sees any over-read. */
	char *p = jl_malloc(JL_MEM_MISC, size ? size : 1);
	if (!p) {
		jl_arena_free(a);
		return 0;
	}
	if (size)
		memcpy(p, data, size);
	const char *nul = size ? memchr(p, 0, size) : NULL;
	const char *doc_text = nul ? p : patient;
	size_t doc_n = nul ? (size_t)(nul - p) : sizeof patient - 1;
	const char *patch_text = nul ? nul + 1 : p;
	size_t patch_n = nul ? size - doc_n - 1 : size;
	jl_json_t *doc = parse(a, doc_text, doc_n), *patch = parse(a, patch_text, patch_n);
	jl_json_t *fresh = parse(a, doc_text, doc_n);
	if (doc && patch && fresh) {
		for (int kind = 0; kind < 2; kind++) {
			jl_diag_t d;
			jl_diag_init(&d, a);
			jl_json_t *r = doc;
			jl_rc rc = kind ? jl_patch_fhirpath(a, &r, patch, &d) : jl_patch_json(a, &r, patch, &d);
			check(a, rc, doc, r, fresh);
			if (!rc && kind) {
				jl_diag_t vd;
				jl_diag_init(&vd, a);
				(void)jl_fhir_validate(r, NULL, &vd);
			}
		}
	}
	jl_free(JL_MEM_MISC, p);
	jl_arena_free(a);
	return 0;
}
